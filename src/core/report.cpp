#include "ideo/core/report.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace ideo {

const char* to_string(Outcome o) {
    switch (o) {
        case Outcome::Published: return "published";
        case Outcome::Repaired: return "repaired";
        case Outcome::Flagged: return "flagged";
        case Outcome::Rejected: return "rejected";
        case Outcome::Superseded: return "superseded";
    }
    return "published";
}

std::string Report::to_text() const {
    std::string out;
    out += "layer " + layer + ", source " + source + ", file " + file + "\n";
    out += "  read " + std::to_string(read) + ", published " + std::to_string(published) + " (repaired " +
           std::to_string(repaired) + ", flagged " + std::to_string(flagged) + ", without location " +
           std::to_string(without_location) + "), rejected " + std::to_string(rejected) + ", superseded duplicates " +
           std::to_string(superseded) + "\n";
    for (const auto& w : warnings) out += "  warning: " + w + "\n";
    for (const auto& r : records) {
        out += "  row " + std::to_string(r.row) + " [" + (r.id.empty() ? "no id" : r.id) + "] " + to_string(r.outcome);
        for (size_t i = 0; i < r.reasons.size(); ++i) out += (i ? "; " : ": ") + r.reasons[i];
        out += "\n";
    }
    return out;
}

std::string Report::to_json() const {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    auto str = [&](const char* k, const std::string& v) {
        w.Key(k);
        w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
    };
    w.StartObject();
    str("layer", layer);
    str("source", source);
    str("file", file);
    str("started_at", started_at);
    str("finished_at", finished_at);
    w.Key("counts");
    w.StartObject();
    w.Key("read"); w.Uint64(read);
    w.Key("published"); w.Uint64(published);
    w.Key("repaired"); w.Uint64(repaired);
    w.Key("flagged"); w.Uint64(flagged);
    w.Key("without_location"); w.Uint64(without_location);
    w.Key("rejected"); w.Uint64(rejected);
    w.Key("superseded"); w.Uint64(superseded);
    w.EndObject();
    w.Key("warnings");
    w.StartArray();
    for (const auto& s : warnings) w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
    w.EndArray();
    w.Key("records");
    w.StartArray();
    for (const auto& r : records) {
        w.StartObject();
        w.Key("row"); w.Uint64(r.row);
        str("id", r.id);
        w.Key("outcome"); w.String(to_string(r.outcome));
        w.Key("reasons");
        w.StartArray();
        for (const auto& s : r.reasons) w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
        w.EndArray();
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return {sb.GetString(), sb.GetSize()};
}

}  // namespace ideo
