// JSON catalogue APIs with RapidJSON: CKAN action API, udata API v1, OpenDataSoft v1 / v2.x.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "ideo/catalog/parse.hpp"
#include "ideo/catalog/rules.hpp"
#include "ideo/core/json.hpp"
#include "ideo/core/text.hpp"

namespace ideo::catalog {
namespace {

using Json = rapidjson::Value;

rapidjson::Document parse_json(std::string_view body, const char* what) {
    rapidjson::Document d;
    if (const auto failed = json::parse(d, body))
        throw ParseError(std::string("invalid ") + what + " JSON at offset " + std::to_string(failed->offset) + ": " + failed->message);
    if (!d.IsObject()) throw ParseError(std::string(what) + ": expected a JSON object at the top level");
    return d;
}

const Json* member(const Json& o, const char* key) {
    if (!o.IsObject()) return nullptr;
    const auto it = o.FindMember(key);
    return it == o.MemberEnd() || it->value.IsNull() ? nullptr : &it->value;
}

std::string str(const Json& o, const char* key) {
    const Json* v = member(o, key);
    if (!v) return {};
    if (v->IsString()) return text::trim(std::string(v->GetString(), v->GetStringLength()));
    if (v->IsInt64()) return std::to_string(v->GetInt64());
    return {};
}

std::string verbatim(const Json& v) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    v.Accept(w);
    return std::string(buf.GetString(), buf.GetSize());
}

std::optional<std::size_t> count(const Json& o, const char* key) {
    const Json* v = member(o, key);
    if (v && v->IsUint64()) return static_cast<std::size_t>(v->GetUint64());
    return std::nullopt;
}

void add_unique(std::vector<std::string>& v, std::string s) {
    s = text::trim(s);
    if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

// A string or an array of strings ("keyword": "a" or ["a", "b"]); comma-separated themes stay whole.
void add_strings(std::vector<std::string>& out, const Json* v) {
    if (!v) return;
    if (v->IsString()) add_unique(out, v->GetString());
    if (v->IsArray())
        for (const auto& e : v->GetArray())
            if (e.IsString()) add_unique(out, e.GetString());
}

// A GeoJSON geometry's envelope (CKAN's "spatial" extra, udata's spatial.geom).
std::optional<Envelope> geojson_bbox(const Json& geom) {
    const Json* coords = member(geom, "coordinates");
    if (!coords) return std::nullopt;
    Envelope e;
    std::vector<const Json*> stack{coords};
    while (!stack.empty()) {
        const Json* c = stack.back();
        stack.pop_back();
        if (!c->IsArray()) continue;
        if (c->Size() >= 2 && (*c)[0].IsNumber() && (*c)[1].IsNumber()) {
            e.expand((*c)[0].GetDouble(), (*c)[1].GetDouble());
            continue;
        }
        for (const auto& x : c->GetArray()) stack.push_back(&x);
    }
    if (e.empty()) return std::nullopt;
    return e;
}

Record ckan_package(const Json& p) {
    Record r;
    r.original_format = "ckan";
    r.original = verbatim(p);
    r.remote_id = str(p, "id");
    if (r.remote_id.empty()) r.remote_id = str(p, "name");
    r.title = str(p, "title");
    r.description = str(p, "notes");
    if (const Json* org = member(p, "organization")) r.publisher = str(*org, "title");
    if (r.publisher.empty()) r.publisher = str(p, "author");
    if (const Json* tags = member(p, "tags"); tags && tags->IsArray())
        for (const auto& t : tags->GetArray()) add_unique(r.keywords, t.IsString() ? t.GetString() : str(t, "name"));
    if (const Json* groups = member(p, "groups"); groups && groups->IsArray())
        for (const auto& g : groups->GetArray()) add_unique(r.topic_categories, str(g, "title"));
    r.issued = str(p, "metadata_created");
    r.modified = str(p, "metadata_modified");
    r.licence = str(p, "license_title");
    if (r.licence.empty()) r.licence = str(p, "license_id");
    if (const Json* extras = member(p, "extras"); extras && extras->IsArray())
        for (const auto& x : extras->GetArray()) {
            const std::string key = str(x, "key");
            if (key == "spatial") {
                rapidjson::Document g;
                const std::string v = str(x, "value");
                if (!json::parse(g, v)) r.bbox = geojson_bbox(g);
            } else if (key == "theme" || key == "inspire_theme") {
                add_unique(r.topic_categories, str(x, "value"));
            }
        }
    if (const Json* res = member(p, "resources"); res && res->IsArray())
        for (const auto& x : res->GetArray()) {
            Distribution d;
            d.url = str(x, "url");
            if (d.url.empty()) continue;
            d.title = str(x, "name");
            d.format = str(x, "format");
            if (d.format.empty()) d.format = str(x, "mimetype");
            d.protocol = str(x, "resource_locator_protocol");
            if (d.protocol.empty() && d.format.rfind("OGC:", 0) == 0) d.protocol = d.format;
            d.layer_name = str(x, "layer_name");
            if (d.layer_name.empty() && !d.protocol.empty()) d.layer_name = str(x, "name");
            normalise_distribution(d);
            r.distributions.push_back(std::move(d));
        }
    return r;
}

Record udata_dataset(const Json& p) {
    Record r;
    r.original_format = "udata";
    r.original = verbatim(p);
    r.remote_id = str(p, "id");
    r.title = str(p, "title");
    r.description = str(p, "description");
    if (const Json* org = member(p, "organization")) r.publisher = str(*org, "name");
    if (r.publisher.empty())
        if (const Json* owner = member(p, "owner"))
            r.publisher = text::trim(str(*owner, "first_name") + " " + str(*owner, "last_name"));
    add_strings(r.keywords, member(p, "tags"));
    r.issued = str(p, "created_at");
    r.modified = str(p, "last_modified");
    if (r.modified.empty()) r.modified = str(p, "last_update");
    r.licence = str(p, "license");
    if (const Json* spatial = member(p, "spatial"))
        if (const Json* geom = member(*spatial, "geom")) r.bbox = geojson_bbox(*geom);
    if (const Json* res = member(p, "resources"); res && res->IsArray())
        for (const auto& x : res->GetArray()) {
            Distribution d;
            d.url = str(x, "url");
            if (d.url.empty()) continue;
            d.title = str(x, "title");
            d.format = str(x, "format");
            if (d.format.empty()) d.format = str(x, "mime");
            normalise_distribution(d);
            r.distributions.push_back(std::move(d));
        }
    return r;
}

// metas of ODS v1 ("metas": {...}) and v2 ("metas": {"default": {...}, "inspire": ...}).
Record ods_dataset(const Json& p) {
    Record r;
    r.original_format = "ods";
    r.original = verbatim(p);
    r.remote_id = str(p, "dataset_id");
    if (r.remote_id.empty()) r.remote_id = str(p, "datasetid");
    const Json* metas = member(p, "metas");
    const Json* m = metas ? member(*metas, "default") : nullptr;
    if (!m) m = metas;
    if (m) {
        r.title = str(*m, "title");
        r.description = str(*m, "description");
        r.publisher = str(*m, "publisher");
        add_strings(r.keywords, member(*m, "keyword"));
        add_strings(r.topic_categories, member(*m, "theme"));
        r.modified = str(*m, "modified");
        r.issued = str(*m, "metadata_processed");
        r.licence = str(*m, "license");
        if (const Json* geo = member(*m, "geographic_area"); geo) r.bbox = geojson_bbox(*geo);
    }
    const Json* inspire = metas ? member(*metas, "inspire") : nullptr;
    if (!inspire)
        if (const Json* interop = member(p, "interop_metas")) inspire = member(*interop, "inspire");
    if (inspire && !r.bbox) {
        auto num = [&](const char* k) { return std::strtod(str(*inspire, k).c_str(), nullptr); };
        const std::string w = str(*inspire, "extend_bounding_box_westbound_longitude");
        if (!w.empty()) {
            Envelope e;
            e.expand(num("extend_bounding_box_westbound_longitude"), num("extend_bounding_box_southbound_latitude"));
            e.expand(num("extend_bounding_box_eastbound_longitude"), num("extend_bounding_box_northbound_latitude"));
            r.bbox = e;
        }
    }
    for (const char* key : {"attachments", "alternative_exports"})
        if (const Json* a = member(p, key); a && a->IsArray())
            for (const auto& x : a->GetArray()) {
                Distribution d;
                d.url = str(x, "url");
                if (d.url.empty()) continue;
                d.title = str(x, "title");
                d.format = str(x, "mimetype");
                normalise_distribution(d);
                r.distributions.push_back(std::move(d));
            }
    if (const Json* links = member(p, "links"); links && links->IsArray())
        for (const auto& l : links->GetArray())
            if (str(l, "rel") == "exports") {
                Distribution d;
                d.url = str(l, "href");
                d.title = "exports";
                d.format = "JSON";
                normalise_distribution(d);
                r.distributions.push_back(std::move(d));
            }
    return r;
}

template <class Build>
void add_records(ParseResult& out, const Json* list, Build build) {
    if (!list || !list->IsArray()) return;
    std::size_t position = 0;
    for (const auto& item : list->GetArray()) {
        ++position;
        if (!item.IsObject()) {
            out.failures.push_back({position, "", "not a JSON object"});
            continue;
        }
        Record r = build(item);
        if (r.remote_id.empty()) out.failures.push_back({position, "", "no identifier"});
        else if (r.title.empty()) out.failures.push_back({position, r.remote_id, "no title"});
        else out.records.push_back(std::move(r));
    }
}

}  // namespace

ParseResult parse_ckan(std::string_view body) {
    const auto d = parse_json(body, "CKAN");
    ParseResult out;
    const Json* result = member(d, "result");
    if (const Json* ok = member(d, "success"); ok && ok->IsBool() && !ok->GetBool()) {
        std::string why;
        if (const Json* e = member(d, "error")) why = str(*e, "message");
        throw ParseError("CKAN answered success=false" + (why.empty() ? "" : ": " + why));
    }
    if (!result) result = &d;  // a bare package (ckanext-dcat fixtures)
    if (result->IsArray()) {  // DKAN answers package_show with a list
        add_records(out, result, ckan_package);
    } else if (const Json* results = member(*result, "results")) {
        out.paging.matched = count(*result, "count");
        add_records(out, results, ckan_package);
    } else if (result->IsObject()) {
        Record r = ckan_package(*result);
        if (r.remote_id.empty() || r.title.empty()) out.failures.push_back({1, r.remote_id, "package without id or title"});
        else out.records.push_back(std::move(r));
    }
    out.paging.returned = out.records.size() + out.failures.size();
    return out;
}

ParseResult parse_udata(std::string_view body) {
    const auto d = parse_json(body, "udata");
    ParseResult out;
    if (const Json* data = member(d, "data")) {
        out.paging.matched = count(d, "total");
        out.paging.next_url = str(d, "next_page");
        add_records(out, data, udata_dataset);
    } else {
        Record r = udata_dataset(d);
        if (r.remote_id.empty() || r.title.empty()) out.failures.push_back({1, r.remote_id, "dataset without id or title"});
        else out.records.push_back(std::move(r));
    }
    out.paging.returned = out.records.size() + out.failures.size();
    return out;
}

ParseResult parse_ods(std::string_view body) {
    const auto d = parse_json(body, "OpenDataSoft");
    ParseResult out;
    if (const Json* results = member(d, "results")) {  // v2.1 catalog/datasets
        out.paging.matched = count(d, "total_count");
        add_records(out, results, ods_dataset);
    } else if (const Json* datasets = member(d, "datasets")) {  // v2.0 ({dataset: {...}}) and v1
        out.paging.matched = count(d, "total_count");
        if (!out.paging.matched) out.paging.matched = count(d, "nhits");
        add_records(out, datasets, [](const Json& item) {
            const Json* inner = member(item, "dataset");
            return ods_dataset(inner ? *inner : item);
        });
    } else {
        Record r = ods_dataset(d);
        if (r.remote_id.empty() || r.title.empty()) out.failures.push_back({1, r.remote_id, "dataset without id or title"});
        else out.records.push_back(std::move(r));
    }
    if (const Json* links = member(d, "links"); links && links->IsArray())
        for (const auto& l : links->GetArray())
            if (str(l, "rel") == "next") out.paging.next_url = str(l, "href");
    out.paging.returned = out.records.size() + out.failures.size();
    return out;
}

}  // namespace ideo::catalog
