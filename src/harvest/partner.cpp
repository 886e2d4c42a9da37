// Partners as data (layers/partners/*.json) and the per-partner run report.
#include "ideo/harvest/partner.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "ideo/core/error.hpp"
#include "ideo/core/json.hpp"

namespace ideo::harvest {
namespace {

namespace fs = std::filesystem;

const std::set<std::string> kProtocols = {"csw", "ckan", "udata", "dcat", "ods", "wfs", "oapif", "file"};

[[noreturn]] void bad(const fs::path& file, const std::string& key, const std::string& why) {
    throw InputError(file.string() + ": key \"" + key + "\": " + why);
}

std::string string_of(const rapidjson::Value& o, const char* key, const fs::path& file, bool required) {
    const auto it = o.FindMember(key);
    if (it == o.MemberEnd() || it->value.IsNull()) {
        if (required) bad(file, key, "missing");
        return {};
    }
    if (!it->value.IsString()) bad(file, key, "expected a string");
    return {it->value.GetString(), it->value.GetStringLength()};
}

double number_of(const rapidjson::Value& o, const char* key, const fs::path& file, double def) {
    const auto it = o.FindMember(key);
    if (it == o.MemberEnd() || it->value.IsNull()) return def;
    if (!it->value.IsNumber() || it->value.GetDouble() < 0) bad(file, key, "expected a number >= 0");
    return it->value.GetDouble();
}

PartnerSpec parse_partner(const std::string& json, const fs::path& file) {
    const rapidjson::Document d = json::parse(json, file.string());
    if (!d.IsObject()) throw InputError(file.string() + ": expected a JSON object describing one partner");
    PartnerSpec p;
    p.file = file;
    p.id = string_of(d, "id", file, false);
    if (p.id.empty()) p.id = file.stem().string();
    p.name = string_of(d, "name", file, false);
    if (p.name.empty()) p.name = p.id;
    p.protocol = string_of(d, "protocol", file, true);
    if (!kProtocols.count(p.protocol)) bad(file, "protocol", "\"" + p.protocol + "\" is not one of csw, ckan, udata, dcat, ods, wfs, oapif, file");
    p.url = string_of(d, "url", file, true);
    // A local path is relative to the partner file, as layer sources are.
    if (p.url.find("://") == std::string::npos && !p.url.empty() && p.url[0] != '/')
        p.url = fs::weakly_canonical(file.parent_path() / p.url).string();
    p.layer = string_of(d, "layer", file, false);
    if ((p.protocol == "wfs" || p.protocol == "oapif" || p.protocol == "file") && p.layer.empty())
        bad(file, "layer", "required for protocol " + p.protocol + " (the layer the data feeds)");
    for (auto [key, flag] : {std::pair{"withdraw_missing", &p.withdraw_missing}, std::pair{"import_linked", &p.import_linked}})
        if (const auto it = d.FindMember(key); it != d.MemberEnd()) {
            if (!it->value.IsBool()) bad(file, key, "expected true or false");
            *flag = it->value.GetBool();
        }
    p.requests_per_second = number_of(d, "requests_per_second", file, 0);
    const double page = number_of(d, "page_size", file, 100);
    if (page < 1 || page > 100000) bad(file, "page_size", "expected 1 to 100000");
    p.page_size = static_cast<int>(page);
    if (const auto it = d.FindMember("options"); it != d.MemberEnd()) {
        if (!it->value.IsObject()) bad(file, "options", "expected an object of strings");
        for (const auto& m : it->value.GetObject()) {
            const std::string k(m.name.GetString(), m.name.GetStringLength());
            if (m.value.IsString()) p.options[k] = std::string(m.value.GetString(), m.value.GetStringLength());
            else if (m.value.IsNumber() || m.value.IsBool()) {
                rapidjson::StringBuffer sb;
                rapidjson::Writer<rapidjson::StringBuffer> w(sb);
                m.value.Accept(w);
                p.options[k] = sb.GetString();
            } else bad(file, "options." + k, "expected a string, number or boolean");
        }
    }
    return p;
}

}  // namespace

std::vector<PartnerSpec> load_partners(const fs::path& dir) {
    std::vector<PartnerSpec> out;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return out;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        out.push_back(parse_partner(json::read_file(f, "the partner file"), f));
        for (std::size_t i = 0; i + 1 < out.size(); ++i)
            if (out[i].id == out.back().id)
                bad(f, "id", "\"" + out.back().id + "\" is already the id of " + out[i].file.string());
    }
    return out;
}

std::vector<PartnerSpec> partners_of_layers(const LayerCatalog& catalog) {
    std::vector<PartnerSpec> out;
    std::map<std::string, const LayerSpec*> owner;
    for (const auto& layer : catalog.layers)
        for (const auto& src : layer.sources) {
            if (const auto [it, fresh] = owner.emplace(src.id, &layer); !fresh)
                throw InputError(layer.file.string() + ": source \"" + src.id + "\" is also a source of " + it->second->file.string() +
                                 ": source ids key the harvest state, give each its own");
            PartnerSpec p;
            p.id = src.id;
            p.name = src.partner.empty() ? src.id : src.partner;
            p.protocol = src.protocol.empty() ? "file" : src.protocol;
            p.url = src.url;
            p.layer = layer.id;
            p.options = src.options;
            p.file = layer.file;
            out.push_back(std::move(p));
        }
    return out;
}

std::string PartnerReport::to_json() const {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    const auto str = [&](const char* k, const std::string& v) {
        w.Key(k);
        w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
    };
    w.StartObject();
    str("partner", partner);
    str("protocol", protocol);
    str("started_at", started_at);
    str("finished_at", finished_at);
    w.Key("added"); w.Uint64(added);
    w.Key("updated"); w.Uint64(updated);
    w.Key("unchanged"); w.Uint64(unchanged);
    w.Key("withdrawn"); w.Uint64(withdrawn);
    w.Key("failed"); w.Uint64(failed);
    if (pages) {
        w.Key("pages"); w.Uint64(pages);
        w.Key("pages_unchanged"); w.Uint64(pages_unchanged);
    }
    w.Key("downloaded_nothing"); w.Bool(downloaded_nothing);
    w.Key("kept_last_good"); w.Bool(kept_last_good);
    w.Key("failures");
    w.StartArray();
    for (const auto& f : failures) w.String(f.c_str(), static_cast<rapidjson::SizeType>(f.size()));
    w.EndArray();
    if (!imports.empty()) {
        w.Key("imports");
        w.StartArray();
        for (const auto& i : imports) {
            w.StartObject();
            str("record", i.record);
            str("layer", i.layer);
            str("distribution", i.distribution);
            str("url", i.url);
            str("status", i.status);
            w.Key("added"); w.Uint64(i.added);
            w.Key("updated"); w.Uint64(i.updated);
            w.Key("unchanged"); w.Uint64(i.unchanged);
            w.Key("withdrawn"); w.Uint64(i.withdrawn);
            w.Key("rejected"); w.Uint64(i.rejected);
            if (!i.reason.empty()) str("reason", i.reason);
            w.EndObject();
        }
        w.EndArray();
    }
    w.EndObject();
    return sb.GetString();
}

}  // namespace ideo::harvest
