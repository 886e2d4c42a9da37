// The catalogue record's JSON form (what the store keeps and the API answers) and its content hash.
#include "ideo/core/catalog_record.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <cstdio>

#include "ideo/core/error.hpp"

namespace ideo::catalog {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void put(Writer& w, const char* key, const std::string& v) {
    w.Key(key);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}
void put(Writer& w, const char* key, const std::vector<std::string>& v) {
    w.Key(key);
    w.StartArray();
    for (const auto& s : v) w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
    w.EndArray();
}

// Without provenance times and hash: what content_hash() digests.
void write_content(Writer& w, const Record& r) {
    put(w, "id", r.id);
    put(w, "title", r.title);
    put(w, "description", r.description);
    put(w, "publisher", r.publisher);
    put(w, "themes", r.themes);
    put(w, "keywords", r.keywords);
    put(w, "topic_categories", r.topic_categories);
    w.Key("bbox");
    if (r.bbox && !r.bbox->empty()) {
        w.StartArray();
        for (double v : {r.bbox->min_x, r.bbox->min_y, r.bbox->max_x, r.bbox->max_y}) w.Double(v);
        w.EndArray();
    } else {
        w.Null();
    }
    put(w, "issued", r.issued);
    put(w, "modified", r.modified);
    put(w, "licence", r.licence);
    w.Key("distributions");
    w.StartArray();
    for (const auto& d : r.distributions) {
        w.StartObject();
        put(w, "url", d.url);
        put(w, "title", d.title);
        put(w, "format", d.format);
        put(w, "protocol", d.protocol);
        put(w, "layer_name", d.layer_name);
        w.EndObject();
    }
    w.EndArray();
    put(w, "partner", r.partner);
    put(w, "remote_id", r.remote_id);
    put(w, "feeds_layer", r.feeds_layer);
    put(w, "original_format", r.original_format);
}

std::string str(const rapidjson::Value& o, const char* key) {
    const auto it = o.FindMember(key);
    return it != o.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                       : std::string();
}
std::vector<std::string> strs(const rapidjson::Value& o, const char* key) {
    std::vector<std::string> out;
    const auto it = o.FindMember(key);
    if (it != o.MemberEnd() && it->value.IsArray())
        for (const auto& v : it->value.GetArray())
            if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
    return out;
}

}  // namespace

std::string content_hash(const Record& r) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    write_content(w, r);
    w.EndObject();
    // FNV-1a 64: change detection between harvests, not security.
    std::uint64_t h = 1469598103934665603ull;
    for (const char* p = buf.GetString(); *p; ++p) {
        h ^= static_cast<unsigned char>(*p);
        h *= 1099511628211ull;
    }
    for (unsigned char c : r.original) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return out;
}

std::string record_to_json(const Record& r, bool with_original) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    write_content(w, r);
    put(w, "harvested_at", r.harvested_at);
    put(w, "content_hash", r.content_hash);
    w.Key("withdrawn");
    w.Bool(r.withdrawn);
    put(w, "withdrawn_at", r.withdrawn_at);
    if (with_original) put(w, "original", r.original);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

Record record_from_json(std::string_view json) {
    rapidjson::Document d;
    d.Parse(json.data(), json.size());
    if (d.HasParseError() || !d.IsObject())
        throw InputError("catalogue record JSON: invalid at offset " + std::to_string(d.GetErrorOffset()));
    Record r;
    r.id = str(d, "id");
    r.title = str(d, "title");
    r.description = str(d, "description");
    r.publisher = str(d, "publisher");
    r.themes = strs(d, "themes");
    r.keywords = strs(d, "keywords");
    r.topic_categories = strs(d, "topic_categories");
    if (auto it = d.FindMember("bbox"); it != d.MemberEnd() && it->value.IsArray() && it->value.Size() == 4) {
        Envelope e;
        e.expand(it->value[0].GetDouble(), it->value[1].GetDouble());
        e.expand(it->value[2].GetDouble(), it->value[3].GetDouble());
        r.bbox = e;
    }
    r.issued = str(d, "issued");
    r.modified = str(d, "modified");
    r.licence = str(d, "licence");
    if (auto it = d.FindMember("distributions"); it != d.MemberEnd() && it->value.IsArray())
        for (const auto& o : it->value.GetArray()) {
            if (!o.IsObject()) continue;
            r.distributions.push_back({str(o, "url"), str(o, "title"), str(o, "format"), str(o, "protocol"),
                                       str(o, "layer_name")});
        }
    r.partner = str(d, "partner");
    r.remote_id = str(d, "remote_id");
    r.feeds_layer = str(d, "feeds_layer");
    r.original_format = str(d, "original_format");
    r.harvested_at = str(d, "harvested_at");
    r.content_hash = str(d, "content_hash");
    if (auto it = d.FindMember("withdrawn"); it != d.MemberEnd() && it->value.IsBool()) r.withdrawn = it->value.GetBool();
    r.withdrawn_at = str(d, "withdrawn_at");
    r.original = str(d, "original");
    return r;
}

}  // namespace ideo::catalog
