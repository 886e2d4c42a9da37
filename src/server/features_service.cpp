// OGC API Features Part 1: /collections, /collections/{layer}, .../items, .../items/{id}.
#include <algorithm>
#include <string>

#include "ideo/core/geometry.hpp"
#include "ideo/core/text.hpp"
#include "parameters.hpp"
#include "services.hpp"

namespace ideo::server {
namespace {

constexpr const char* geojson_type = "application/geo+json";

const index::LayerData& find_layer(const index::Snapshot& snapshot, std::string_view id) {
    const index::LayerData* layer = snapshot.layer(id);
    if (!layer) throw HttpError(404, "NotFound", "collection '" + std::string(id.substr(0, 200)) + "' does not exist");
    return *layer;
}

std::string collection_path(const index::LayerData& layer) { return "/collections/" + percent_encode(layer.spec.id); }

void append_link(std::string& out, std::string_view href, std::string_view rel, std::string_view type,
                 std::string_view title = {}) {
    out += "{\"href\":";
    append_json_string(out, href);
    out += ",\"rel\":";
    append_json_string(out, rel);
    out += ",\"type\":";
    append_json_string(out, type);
    if (!title.empty()) {
        out += ",\"title\":";
        append_json_string(out, title);
    }
    out += '}';
}

void append_collection(std::string& out, const Request& req, const index::LayerData& layer) {
    const std::string self = req.base_url() + collection_path(layer);
    out += "{\"id\":";
    append_json_string(out, layer.spec.id);
    out += ",\"title\":";
    append_json_string(out, layer.spec.title);
    out += ",\"description\":";
    append_json_string(out, layer.spec.description);
    if (!layer.extent.empty()) {
        out += ",\"extent\":{\"spatial\":{\"bbox\":[[";
        append_json_number(out, layer.extent.min_x);
        out += ',';
        append_json_number(out, layer.extent.min_y);
        out += ',';
        append_json_number(out, layer.extent.max_x);
        out += ',';
        append_json_number(out, layer.extent.max_y);
        out += "]],\"crs\":";
        append_json_string(out, crs84_uri);
        out += "}}";
    }
    out += ",\"itemType\":\"feature\",\"crs\":[";
    append_json_string(out, crs84_uri);
    out += "],\"links\":[";
    append_link(out, self, "self", "application/json", layer.spec.title);
    out += ',';
    append_link(out, self + "/items", "items", geojson_type, layer.spec.title);
    out += "]}";
}

void append_value(std::string& out, const Value& v) {
    switch (v.index()) {
        case 1: append_json_number(out, std::get<std::int64_t>(v)); break;
        case 2: append_json_number(out, std::get<double>(v)); break;
        case 3: append_json_string(out, std::get<std::string>(v)); break;
        default: out += "null";
    }
}

void append_feature(std::string& out, const LayerSpec& spec, const Feature& f) {
    out += "{\"type\":\"Feature\",\"id\":";
    append_json_string(out, f.id);
    out += ",\"geometry\":";
    append_geojson(out, f.geometry, 7);
    out += ",\"properties\":{";
    for (std::size_t i = 0; i < spec.fields.size(); ++i) {
        append_json_string(out, spec.fields[i].name);
        out += ':';
        if (i < f.values.size()) append_value(out, f.values[i]);
        else out += "null";
        out += ',';
    }
    out += "\"ideo_source\":";
    append_json_string(out, f.provenance.source);
    out += ",\"ideo_source_id\":";
    append_json_string(out, f.provenance.source_id);
    out += ",\"ideo_harvested_at\":";
    append_json_string(out, f.provenance.harvested_at);
    out += ",\"ideo_flags\":[";
    for (std::size_t i = 0; i < f.flags.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, f.flags[i]);
    }
    out += "]}}";
}

// Everything here derives from the published snapshot: its version is the validator.
void cacheable(Response& res, const index::Snapshot& snapshot) {
    res.headers.emplace_back("ETag", snapshot_etag(snapshot));
    res.headers.emplace_back("Cache-Control", "public, max-age=60");
}

}  // namespace

Response collections(const Request& req, const index::Snapshot& snapshot) {
    parse_format_only(req.query);
    Response res;
    res.body = "{\"collections\":[";
    bool first = true;
    for (const auto& [id, layer] : snapshot.layers) {
        if (!first) res.body += ',';
        first = false;
        append_collection(res.body, req, layer);
    }
    res.body += "],\"links\":[";
    append_link(res.body, req.base_url() + "/collections", "self", "application/json");
    res.body += "]}";
    cacheable(res, snapshot);
    return res;
}

Response collection(const Request& req, const index::Snapshot& snapshot, std::string_view layer_id) {
    const auto& layer = find_layer(snapshot, layer_id);
    parse_format_only(req.query);
    Response res;
    append_collection(res.body, req, layer);
    cacheable(res, snapshot);
    return res;
}

Response items(const Request& req, const index::Snapshot& snapshot, std::string_view layer_id) {
    const auto& layer = find_layer(snapshot, layer_id);
    const ItemsParameters p = parse_items_parameters(req.query, layer.spec);
    const std::vector<std::uint32_t> matches = index::query(layer, p.query);

    const std::size_t begin = std::min(p.offset, matches.size());
    const std::size_t end = begin + std::min(p.limit, matches.size() - begin);

    Response res;
    res.content_type = geojson_type;
    res.body = "{\"type\":\"FeatureCollection\",\"features\":[";
    res.body.reserve(256 + (end - begin) * 640);
    for (std::size_t i = begin; i < end; ++i) {
        if (i != begin) res.body += ',';
        append_feature(res.body, layer.spec, layer.features[matches[i]]);
    }
    res.body += "],\"numberMatched\":";
    append_json_number(res.body, static_cast<std::int64_t>(matches.size()));
    res.body += ",\"numberReturned\":";
    append_json_number(res.body, static_cast<std::int64_t>(end - begin));
    res.body += ",\"timeStamp\":";
    append_json_string(res.body, text::now_iso8601());

    // Paging links keep every other parameter of the request, so a client just follows "next".
    const std::string items_url = req.base_url() + collection_path(layer) + "/items";
    auto with_offset = [&](std::size_t offset) { return items_url + "?" + req.query.encode_with("offset", std::to_string(offset)); };
    res.body += ",\"links\":[";
    append_link(res.body, req.query.empty() ? items_url : items_url + "?" + req.query.encode(), "self", geojson_type);
    if (p.offset + p.limit < matches.size()) {
        res.body += ',';
        append_link(res.body, with_offset(p.offset + p.limit), "next", geojson_type);
    }
    if (p.offset > 0) {
        res.body += ',';
        append_link(res.body, with_offset(p.offset > p.limit ? p.offset - p.limit : 0), "prev", geojson_type);
    }
    res.body += ',';
    append_link(res.body, req.base_url() + collection_path(layer), "collection", "application/json", layer.spec.title);
    res.body += "]}";
    cacheable(res, snapshot);
    return res;
}

Response item(const Request& req, const index::Snapshot& snapshot, std::string_view layer_id, std::string_view id) {
    const auto& layer = find_layer(snapshot, layer_id);
    parse_format_only(req.query);
    const auto it = layer.by_id.find(std::string(id));
    if (it == layer.by_id.end() || it->second >= layer.features.size())
        throw HttpError(404, "NotFound",
                        "feature '" + std::string(id.substr(0, 200)) + "' does not exist in collection '" + layer.spec.id + "'");
    Response res;
    res.content_type = geojson_type;
    append_feature(res.body, layer.spec, layer.features[it->second]);
    // The links go inside the Feature object: drop its closing brace, append, close again.
    res.body.pop_back();
    const std::string self = req.base_url() + collection_path(layer) + "/items/" + percent_encode(id);
    res.body += ",\"links\":[";
    append_link(res.body, self, "self", geojson_type);
    res.body += ',';
    append_link(res.body, req.base_url() + collection_path(layer), "collection", "application/json", layer.spec.title);
    res.body += "]}";
    cacheable(res, snapshot);
    return res;
}

}  // namespace ideo::server
