// The harvested catalogue over HTTP: search with facets, one record, and the DCAT-AP export.
#include <set>

#include "ideo/catalog/rules.hpp"
#include "ideo/catalog/search.hpp"
#include "parameters.hpp"
#include "services.hpp"

namespace ideo::server {
namespace {

const catalog::Catalog& catalog_of(const index::Snapshot& s) {
    static const catalog::Catalog empty;
    return s.catalog ? *s.catalog : empty;
}

std::size_t integer(const QueryParams& q, const char* name, std::size_t fallback, long long min, long long max) {
    const std::string* v = q.find(name);
    if (!v) return fallback;
    const auto n = parse_integer(*v);
    if (!n || *n < min || *n > max)
        throw_bad_parameter(name, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got '" +
                                      v->substr(0, 40) + "'");
    return static_cast<std::size_t>(*n);
}

std::vector<std::string> list(const QueryParams& q, const char* name) {
    std::vector<std::string> out;
    const std::string* v = q.find(name);
    if (!v) return out;
    if (v->empty()) throw_bad_parameter(name, "must not be empty");
    std::size_t start = 0;
    while (start <= v->size()) {
        const std::size_t comma = v->find(',', start);
        std::string item = v->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!item.empty()) out.push_back(std::move(item));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

std::string with_links(std::string record_json, const std::vector<std::pair<std::string, std::string>>& links) {
    record_json.pop_back();  // the closing brace
    record_json += ",\"links\":[";
    for (std::size_t i = 0; i < links.size(); ++i) {
        if (i) record_json += ',';
        record_json += "{\"rel\":";
        append_json_string(record_json, links[i].first);
        record_json += ",\"href\":";
        append_json_string(record_json, links[i].second);
        record_json += '}';
    }
    return record_json + "]}";
}

std::vector<std::pair<std::string, std::string>> record_links(const Request& req, const catalog::Record& r) {
    std::vector<std::pair<std::string, std::string>> links = {
        {"self", req.base_url() + "/catalog/records/" + percent_encode(r.id)}};
    if (!r.feeds_layer.empty()) links.emplace_back("data", req.base_url() + "/collections/" + r.feeds_layer);
    return links;
}

Response json(std::string body, const index::Snapshot& snapshot, const Request& req, const char* variant) {
    Response res;
    res.body = std::move(body);
    res.headers.emplace_back("ETag", snapshot_etag(snapshot, std::string(variant) + "-" +
                                                                std::to_string(std::hash<std::string>{}(req.path + "?" + req.query.encode()))));
    res.headers.emplace_back("Cache-Control", "public, max-age=60");
    return res;
}

}  // namespace

Response catalog_records(const Request& req, const index::Snapshot& snapshot) {
    const auto& q = req.query;
    reject_unknown_parameters(q, {"q", "theme", "publisher", "keyword", "format", "bbox", "limit", "offset", "f"});
    if (const std::string* f = q.find("f"); f && *f != "json") throw_bad_parameter("f", "only 'json' is served, got '" + f->substr(0, 20) + "'");
    catalog::SearchQuery sq;
    if (const std::string* text = q.find("q")) {
        if (text->size() > 500) throw_bad_parameter("q", "at most 500 characters");
        sq.q = *text;
    }
    sq.themes = list(q, "theme");
    sq.publishers = list(q, "publisher");
    sq.keywords = list(q, "keyword");
    sq.formats = list(q, "format");
    if (const std::string* b = q.find("bbox")) {
        std::vector<double> v;
        for (const auto& part : list(q, "bbox")) {
            const auto d = parse_double(part);
            if (!d) throw_bad_parameter("bbox", "'" + part.substr(0, 30) + "' is not a number");
            v.push_back(*d);
        }
        if (v.size() != 4 || v[0] > v[2] || v[1] > v[3])
            throw_bad_parameter("bbox", "expected minlon,minlat,maxlon,maxlat with min <= max, got '" + b->substr(0, 80) + "'");
        Envelope e;
        e.expand(v[0], v[1]);
        e.expand(v[2], v[3]);
        sq.bbox = e;
    }
    sq.limit = integer(q, "limit", 20, 1, 1000);
    sq.offset = integer(q, "offset", 0, 0, 100000000);

    const catalog::Catalog& cat = catalog_of(snapshot);
    const auto result = catalog::search(cat, sq);
    std::string out = "{\"numberMatched\":" + std::to_string(result.matched) +
                      ",\"numberReturned\":" + std::to_string(result.page.size()) + ",\"records\":[";
    for (std::size_t i = 0; i < result.page.size(); ++i) {
        if (i) out += ',';
        const auto& r = cat.records[result.page[i]];
        out += with_links(catalog::record_to_json(r, false), record_links(req, r));
    }
    out += "],\"facets\":{";
    bool first = true;
    for (const auto& [name, counts] : result.facets) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, name);
        out += ":[";
        for (std::size_t i = 0; i < counts.size(); ++i) {
            if (i) out += ',';
            out += "{\"value\":";
            append_json_string(out, counts[i].value);
            out += ",\"count\":" + std::to_string(counts[i].count) + "}";
        }
        out += ']';
    }
    out += "},\"links\":[";
    const std::string self = req.base_url() + req.path;
    out += "{\"rel\":\"self\",\"href\":";
    append_json_string(out, self + "?" + q.encode());
    out += '}';
    if (sq.offset + result.page.size() < result.matched) {
        out += ",{\"rel\":\"next\",\"href\":";
        append_json_string(out, self + "?" + q.encode_with("offset", std::to_string(sq.offset + sq.limit)));
        out += '}';
    }
    if (sq.offset > 0) {
        out += ",{\"rel\":\"prev\",\"href\":";
        append_json_string(out, self + "?" + q.encode_with("offset", std::to_string(sq.offset > sq.limit ? sq.offset - sq.limit : 0)));
        out += '}';
    }
    out += "]}";
    return json(std::move(out), snapshot, req, "catalog-records");
}

Response catalog_record(const Request& req, const index::Snapshot& snapshot, std::string_view id) {
    reject_unknown_parameters(req.query, {"f"});
    const catalog::Catalog& cat = catalog_of(snapshot);
    const auto it = cat.by_id.find(std::string(id));
    if (it == cat.by_id.end()) throw HttpError(404, "NotFound", "no catalogue record \"" + std::string(id) + "\"");
    const auto& r = cat.records[it->second];
    auto original = cat.original(r);
    if (!original)  // a harvest rewrote it after this snapshot was loaded; the next snapshot serves the new version
        throw HttpError(503, "ServiceUnavailable",
                        "catalogue record \"" + r.id + "\" was harvested again since this snapshot; retry in a few seconds");
    catalog::Record shown = r;  // with its document, which the snapshot leaves in the store
    shown.original = std::move(*original);
    return json(with_links(catalog::record_to_json(shown, true), record_links(req, r)), snapshot, req, "catalog-record");
}

Response catalog_dcat(const Request& req, const index::Snapshot& snapshot) {
    reject_unknown_parameters(req.query, {"page", "page_size"});
    const std::size_t size = integer(req.query, "page_size", 100, 1, 1000);
    const std::size_t page = integer(req.query, "page", 1, 1, 100000000);
    Response res = json(catalog::dcat_jsonld(catalog_of(snapshot), (page - 1) * size, size, req.base_url()), snapshot, req,
                        "catalog-dcat");
    res.content_type = "application/ld+json";
    return res;
}

}  // namespace ideo::server
