// The harvested catalogue over HTTP: search with facets, one record, and the DCAT-AP export.
#include <algorithm>
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

void append_string_array(std::string& out, const std::vector<std::string>& values) {
    out += '[';
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, values[i]);
    }
    out += ']';
}

// The search's own account of how the words were met: "all" when every record found holds every word
// (exactly or with one typo), else "partial"; and each word read through a typo, with what it was read as.
void append_match_summary(std::string& out, const catalog::SearchResult& result) {
    if (result.words.empty()) return;
    out += ",\"match\":";
    out += result.matched_all == result.matched ? "\"all\"" : "\"partial\"";
    out += ",\"numberMatchedAllWords\":" + std::to_string(result.matched_all) + ",\"words\":";
    append_string_array(out, result.words);
    if (result.corrections.empty()) return;
    out += ",\"corrections\":{";
    bool first = true;
    for (const auto& [word, as] : result.corrections) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, word);
        out += ':';
        append_string_array(out, as);
    }
    out += '}';
}

// One record's "match": the words it lacks and the ones it holds through a typo; inserted before its links.
std::string with_match(std::string record_json, const catalog::RecordMatch& m) {
    record_json.pop_back();  // the closing brace
    record_json += ",\"match\":{\"missing\":";
    append_string_array(record_json, m.missing);
    record_json += ",\"corrected\":{";
    for (std::size_t i = 0; i < m.corrected.size(); ++i) {
        if (i) record_json += ',';
        append_json_string(record_json, m.corrected[i].first);
        record_json += ':';
        append_json_string(record_json, m.corrected[i].second);
    }
    return record_json + "}}}";
}

}  // namespace

Response catalog_records(const Request& req, const index::Snapshot& snapshot) {
    const auto& q = req.query;
    const catalog::SearchQuery sq = parse_catalog_records_parameters(q);
    const catalog::Catalog& cat = catalog_of(snapshot);
    const auto result = catalog::search(cat, sq);
    std::string out = "{\"numberMatched\":" + std::to_string(result.matched) +
                      ",\"numberReturned\":" + std::to_string(result.page.size());
    append_match_summary(out, result);
    out += ",\"records\":[";
    for (std::size_t i = 0; i < result.page.size(); ++i) {
        if (i) out += ',';
        const auto& r = cat.records[result.page[i]];
        std::string json = catalog::record_to_json(r, false);
        if (i < result.page_matches.size()) json = with_match(std::move(json), result.page_matches[i]);
        out += with_links(std::move(json), record_links(req, r));
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
    parse_catalog_record_parameters(req.query);
    const catalog::Catalog& cat = catalog_of(snapshot);
    const auto it = cat.by_id.find(std::string(id));
    if (it == cat.by_id.end() && std::binary_search(snapshot.challenged_records.begin(), snapshot.challenged_records.end(), id))
        throw HttpError(401, "Unauthorized", "catalogue record \"" + std::string(id.substr(0, 200)) + "\" needs a credential");
    if (it == cat.by_id.end()) throw HttpError(404, "NotFound", "no catalogue record \"" + std::string(id.substr(0, 200)) + "\"");
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
    const DcatParameters p = parse_dcat_parameters(req.query);
    Response res = json(catalog::dcat_jsonld(catalog_of(snapshot), (p.page - 1) * p.page_size, p.page_size, req.base_url()), snapshot, req,
                        "catalog-dcat");
    res.content_type = "application/ld+json";
    return res;
}

}  // namespace ideo::server
