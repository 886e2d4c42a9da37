// OGC API Features Parts 1-3: /collections, /collections/{layer}, .../items, .../items/{id},
// in GeoJSON (any served CRS), HTML for people and CSV.
#include <algorithm>
#include <cstdio>
#include <string>

#include "features.hpp"
#include "html.hpp"
#include "ideo/core/error.hpp"
#include "ideo/core/geometry.hpp"
#include "ideo/core/text.hpp"
#include "ideo/index/selection.hpp"
#include "parameters.hpp"
#include "services.hpp"
#include "ideo/index/view.hpp"

namespace ideo::server {

const index::LayerData& find_layer(const index::Snapshot& snapshot, std::string_view id) {
    const index::LayerData* layer = snapshot.layer(id);
    if (!layer && std::find(snapshot.challenged.begin(), snapshot.challenged.end(), id) != snapshot.challenged.end())
        throw HttpError(401, "Unauthorized", "collection '" + std::string(id) + "' needs a credential");
    if (!layer) throw HttpError(404, "NotFound", "collection '" + std::string(id.substr(0, 200)) + "' does not exist");
    return *layer;
}

void require(const Request& req, const LayerSpec& spec, AccessOperation op, std::string_view insee) {
    if (index::may(spec, op, *req.caller, insee)) return;
    const std::string what = std::string(to_string(op)) + " of '" + spec.id + "'" +
                             (insee.empty() ? std::string() : " for commune " + std::string(insee.substr(0, 10)));
    if (!spec.access.challenge) throw HttpError(404, "NotFound", "no " + what);
    if (req.caller->anonymous()) throw HttpError(401, "Unauthorized", what + " needs a credential");
    throw HttpError(403, "Forbidden", what + ": insufficient_scope");
}

std::string collection_path(const index::LayerData& layer) { return "/collections/" + percent_encode(layer.spec.id); }

void append_link(std::string& out, std::string_view href, std::string_view rel, std::string_view type,
                 std::string_view title, bool templated) {
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
    if (templated) out += ",\"templated\":true";
    out += '}';
}

void cacheable(Response& res, const index::Snapshot& snapshot, std::string_view variant) {
    res.headers.emplace_back("ETag", snapshot_etag(snapshot, variant));
    res.headers.emplace_back("Cache-Control", "public, max-age=60");
}

namespace {

constexpr const char* geojson_type = "application/geo+json";
constexpr const char* html_type = "text/html; charset=utf-8";
constexpr const char* csv_type = "text/csv; charset=utf-8";

// The ETag variant of an encoding: one URL, several representations.
std::string_view variant_of(Format f) { return f == Format::Html ? "html" : f == Format::Csv ? "csv" : ""; }

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
    bool first = true;
    for (const auto& c : ingest::served_crs()) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, c.uri);
    }
    out += "],\"storageCrs\":";
    append_json_string(out, crs84_uri);
    out += ",\"links\":[";
    append_link(out, self, "self", "application/json", layer.spec.title);
    out += ',';
    append_link(out, self + "?f=html", "alternate", "text/html", layer.spec.title);
    out += ',';
    append_link(out, self + "/items", "items", geojson_type, layer.spec.title);
    out += ',';
    append_link(out, self + "/items?f=html", "items", "text/html", layer.spec.title);
    out += ',';
    append_link(out, self + "/items?f=csv", "items", "text/csv", layer.spec.title);
    out += ',';
    append_link(out, self + "/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json",
                layer.spec.title);
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

// Every output property of the layer, in schema order, then provenance.
std::vector<int> all_properties(const LayerSpec& spec) {
    std::vector<int> ids;
    for (std::size_t i = 0; i < spec.fields.size(); ++i) ids.push_back(static_cast<int>(i));
    for (const int p : {property_source, property_source_id, property_harvested_at, property_flags}) ids.push_back(p);
    return ids;
}

// One property's value as text (CSV, HTML); flags joined by ';'.
std::string property_text(const Feature& f, int id) {
    switch (id) {
        case property_source: return f.provenance.source;
        case property_source_id: return f.provenance.source_id;
        case property_harvested_at: return f.provenance.harvested_at;
        case property_flags: {
            std::string s;
            for (const auto& flag : f.flags) s += (s.empty() ? "" : ";") + flag;
            return s;
        }
        default: return static_cast<std::size_t>(id) < f.values.size() ? to_text(f.values[static_cast<std::size_t>(id)]) : "";
    }
}

// Writes geometries in the response CRS, at 7 decimals for degrees and 2 for metres.
class GeometryWriter {
public:
    explicit GeometryWriter(const ingest::ServedCrs& crs) : conv_(crs) {
        if (!conv_.identity()) transform_ = [this](double& x, double& y) { conv_.from_crs84(x, y); };
    }
    void geojson(std::string& out, const Feature& f) const { guarded(f, [&] { append_geojson(out, f.geometry, decimals(), transform_); }); }
    void wkt(std::string& out, const Feature& f) const { guarded(f, [&] { append_wkt(out, f.geometry, decimals(), transform_); }); }

private:
    ingest::CrsConverter conv_;
    PositionTransform transform_;
    int decimals() const { return conv_.crs().decimals(); }
    template <class F>
    void guarded(const Feature& f, F&& write) const {
        try {
            write();
        } catch (const Error& e) {
            throw_bad_parameter("crs", "feature '" + f.id + "' cannot be written in " + conv_.crs().uri + ": " + e.what());
        }
    }
};

void append_feature(std::string& out, const LayerSpec& spec, const Feature& f, const std::vector<int>& props,
                    const GeometryWriter& geometry) {
    out += "{\"type\":\"Feature\",\"id\":";
    append_json_string(out, f.id);
    out += ",\"geometry\":";
    geometry.geojson(out, f);
    out += ",\"properties\":{";
    bool first = true;
    for (const int id : props) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, property_name(spec, id));
        out += ':';
        if (id >= 0) {
            if (static_cast<std::size_t>(id) < f.values.size()) append_value(out, f.values[static_cast<std::size_t>(id)]);
            else out += "null";
        } else if (id == property_flags) {
            out += '[';
            for (std::size_t i = 0; i < f.flags.size(); ++i) {
                if (i) out += ',';
                append_json_string(out, f.flags[i]);
            }
            out += ']';
        } else {
            append_json_string(out, property_text(f, id));
        }
    }
    out += "}}";
}

void content_crs(Response& res, const ingest::ServedCrs& crs) { res.headers.emplace_back("Content-Crs", "<" + crs.uri + ">"); }

std::string items_html(const Request& req, const index::LayerData& layer, const std::vector<std::uint32_t>& matches,
                       std::size_t begin, std::size_t end, const std::vector<int>& props, const std::string& next,
                       const std::string& prev) {
    const std::string base = req.base_url() + collection_path(layer);
    std::string body = "<p class=\"muted\">";
    body += std::to_string(matches.size()) + " objets, " + std::to_string(begin + (end > begin)) + " à " + std::to_string(end) +
            " ci-dessous. <a href=\"" + html_escape(base + "/items?f=csv") + "\">CSV</a> · <a href=\"" +
            html_escape(base + "/items?f=json") + "\">GeoJSON</a></p>\n<div class=\"pager\">";
    if (!prev.empty()) body += "<a rel=\"prev\" href=\"" + html_escape(prev) + "\">← précédents</a>";
    if (!next.empty()) body += "<a rel=\"next\" href=\"" + html_escape(next) + "\">suivants →</a>";
    body += "</div>\n<table><thead><tr><th>id</th>";
    for (const int id : props) {
        body += "<th>";
        append_html(body, property_name(layer.spec, id));
        body += "</th>";
    }
    body += "</tr></thead><tbody>\n";
    for (std::size_t i = begin; i < end; ++i) {
        const Feature& f = layer.features[matches[i]];
        body += "<tr><td><a href=\"";
        append_html(body, base + "/items/" + percent_encode(f.id) + "?f=html");
        body += "\">";
        append_html(body, f.id);
        body += "</a></td>";
        for (const int id : props) {
            body += "<td>";
            append_html(body, property_text(f, id));
            body += "</td>";
        }
        body += "</tr>\n";
    }
    body += "</tbody></table>";
    return html_page(layer.spec.title, {{"Accueil", req.base_url() + "/?f=html"}, {"Collections", req.base_url() + "/collections?f=html"},
                                        {layer.spec.title, base + "?f=html"}, {"Objets", ""}},
                     body);
}

std::string collection_html(const Request& req, const index::LayerData& layer) {
    const std::string base = req.base_url() + collection_path(layer);
    std::string body = "<p>";
    append_html(body, layer.spec.description);
    body += "</p><p>" + std::to_string(layer.features.size()) + " objets · <a href=\"" + html_escape(base + "/items?f=html") +
            "\">parcourir</a> · <a href=\"" + html_escape(base + "/items?f=csv") + "\">CSV</a> · <a href=\"" +
            html_escape(base + "/queryables") + "\">queryables</a></p>";
    if (!layer.extent.empty()) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "<p class=\"muted\">Emprise (CRS84) : %.5f, %.5f – %.5f, %.5f</p>", layer.extent.min_x,
                      layer.extent.min_y, layer.extent.max_x, layer.extent.max_y);
        body += buf;
    }
    body += "<table><thead><tr><th>champ</th><th>titre</th><th>type</th></tr></thead><tbody>";
    for (const auto& f : layer.spec.fields) {
        body += "<tr><td>";
        append_html(body, f.name);
        body += "</td><td>";
        append_html(body, f.title);
        body += "</td><td>";
        body += to_string(f.type);
        body += "</td></tr>";
    }
    body += "</tbody></table>";
    return html_page(layer.spec.title, {{"Accueil", req.base_url() + "/?f=html"}, {"Collections", req.base_url() + "/collections?f=html"},
                                        {layer.spec.title, ""}},
                     body);
}

}  // namespace

Response collections(const Request& req, const index::Snapshot& snapshot) {
    const Format format = parse_format_only(req.query, req.header("accept"));
    Response res;
    if (format == Format::Html) {
        std::string body = "<table><thead><tr><th>collection</th><th>description</th><th>objets</th></tr></thead><tbody>";
        for (const auto& [id, layer] : snapshot.layers) {
            body += "<tr><td><a href=\"";
            append_html(body, req.base_url() + collection_path(layer) + "?f=html");
            body += "\">";
            append_html(body, layer.spec.title);
            body += "</a></td><td>";
            append_html(body, layer.spec.description);
            body += "</td><td>" + std::to_string(layer.features.size()) + "</td></tr>";
        }
        body += "</tbody></table>";
        res.content_type = html_type;
        res.body = html_page("Collections", {{"Accueil", req.base_url() + "/?f=html"}, {"Collections", ""}}, body);
        cacheable(res, snapshot, "html");
        return res;
    }
    res.body = "{\"collections\":[";
    bool first = true;
    for (const auto& [id, layer] : snapshot.layers) {
        if (!first) res.body += ',';
        first = false;
        append_collection(res.body, req, layer);
    }
    res.body += "],\"crs\":[";
    first = true;
    for (const auto& c : ingest::served_crs()) {
        if (!first) res.body += ',';
        first = false;
        append_json_string(res.body, c.uri);
    }
    res.body += "],\"links\":[";
    append_link(res.body, req.base_url() + "/collections", "self", "application/json");
    res.body += ',';
    append_link(res.body, req.base_url() + "/collections?f=html", "alternate", "text/html");
    res.body += "]}";
    cacheable(res, snapshot);
    return res;
}

Response collection(const Request& req, const index::Snapshot& snapshot, std::string_view layer_id) {
    const auto& layer = find_layer(snapshot, layer_id);
    const Format format = parse_format_only(req.query, req.header("accept"));
    Response res;
    if (format == Format::Html) {
        res.content_type = html_type;
        res.body = collection_html(req, layer);
    } else {
        append_collection(res.body, req, layer);
    }
    cacheable(res, snapshot, variant_of(format));
    return res;
}

Response items(const Request& req, const index::Snapshot& snapshot, std::string_view layer_id) {
    const auto& layer = find_layer(snapshot, layer_id);
    require(req, layer.spec, AccessOperation::Items);
    const ItemsParameters p = parse_items_parameters(req.query, layer.spec, req.header("accept"));
    const std::vector<std::uint32_t> matches = index::select_items(layer, p.selection(layer.spec));
    const std::vector<int> props = p.properties ? *p.properties : all_properties(layer.spec);
    const GeometryWriter geometry(*p.crs);

    const std::size_t begin = std::min(p.offset, matches.size());
    const std::size_t end = begin + std::min(p.limit, matches.size() - begin);

    // Paging links keep every other parameter of the request (and its apikey), so a client just follows "next".
    const std::string items_url = req.base_url() + collection_path(layer) + "/items";
    auto with_offset = [&](std::size_t offset) { return items_url + "?" + req.link_query("offset", std::to_string(offset)); };
    const std::string next = p.offset + p.limit < matches.size() ? with_offset(p.offset + p.limit) : "";
    const std::string prev = p.offset > 0 ? with_offset(p.offset > p.limit ? p.offset - p.limit : 0) : "";

    Response res;
    if (p.format == Format::Html) {
        res.content_type = html_type;
        res.body = items_html(req, layer, matches, begin, end, props, next, prev);
        cacheable(res, snapshot, "html");
        return res;
    }
    if (p.format == Format::Csv) {
        res.content_type = csv_type;
        res.body = "id";
        for (const int id : props) {
            res.body += ',';
            append_csv(res.body, property_name(layer.spec, id));
        }
        res.body += ",wkt\r\n";
        std::string wkt;
        for (std::size_t i = begin; i < end; ++i) {
            const Feature& f = layer.features[matches[i]];
            append_csv(res.body, f.id);
            for (const int id : props) {
                res.body += ',';
                append_csv(res.body, property_text(f, id));
            }
            res.body += ',';
            wkt.clear();
            geometry.wkt(wkt, f);
            append_csv(res.body, wkt);
            res.body += "\r\n";
        }
        content_crs(res, *p.crs);
        if (!next.empty()) res.headers.emplace_back("Link", "<" + next + ">; rel=\"next\"");
        cacheable(res, snapshot, "csv");
        return res;
    }

    res.content_type = geojson_type;
    res.body = "{\"type\":\"FeatureCollection\",\"features\":[";
    res.body.reserve(256 + (end - begin) * 640);
    for (std::size_t i = begin; i < end; ++i) {
        if (i != begin) res.body += ',';
        append_feature(res.body, layer.spec, layer.features[matches[i]], props, geometry);
    }
    res.body += "],\"numberMatched\":";
    append_json_number(res.body, static_cast<std::int64_t>(matches.size()));
    res.body += ",\"numberReturned\":";
    append_json_number(res.body, static_cast<std::int64_t>(end - begin));
    res.body += ",\"timeStamp\":";
    append_json_string(res.body, text::now_iso8601());
    res.body += ",\"links\":[";
    const std::string self_query = req.link_query();
    append_link(res.body, self_query.empty() ? items_url : items_url + "?" + self_query, "self", geojson_type);
    res.body += ',';
    append_link(res.body, items_url + "?" + req.link_query("f", "html"), "alternate", "text/html");
    if (!next.empty()) {
        res.body += ',';
        append_link(res.body, next, "next", geojson_type);
    }
    if (!prev.empty()) {
        res.body += ',';
        append_link(res.body, prev, "prev", geojson_type);
    }
    res.body += ',';
    append_link(res.body, req.base_url() + collection_path(layer), "collection", "application/json", layer.spec.title);
    res.body += "]}";
    content_crs(res, *p.crs);
    cacheable(res, snapshot);
    return res;
}

Response item(const Request& req, const index::Snapshot& snapshot, std::string_view layer_id, std::string_view id) {
    const auto& layer = find_layer(snapshot, layer_id);
    require(req, layer.spec, AccessOperation::Items);
    const ItemParameters p = parse_item_parameters(req.query, req.header("accept"));
    const auto it = layer.by_id.find(std::string(id));
    if (it == layer.by_id.end() || it->second >= layer.features.size())
        throw HttpError(404, "NotFound",
                        "feature '" + std::string(id.substr(0, 200)) + "' does not exist in collection '" + layer.spec.id + "'");
    const Feature& f = layer.features[it->second];
    const GeometryWriter geometry(*p.crs);
    const std::string collection_url = req.base_url() + collection_path(layer);
    const std::string self = collection_url + "/items/" + percent_encode(id);
    Response res;
    if (p.format == Format::Html) {
        std::string body = "<table><tbody>";
        for (const int pid : all_properties(layer.spec)) {
            body += "<tr><th>";
            append_html(body, property_name(layer.spec, pid));
            body += "</th><td>";
            append_html(body, property_text(f, pid));
            body += "</td></tr>";
        }
        std::string wkt;
        geometry.wkt(wkt, f);
        body += "<tr><th>géométrie</th><td>";
        append_html(body, wkt);
        body += "</td></tr></tbody></table><p><a href=\"" + html_escape(self + "?f=json") + "\">GeoJSON</a></p>";
        res.content_type = html_type;
        res.body = html_page(f.id, {{"Accueil", req.base_url() + "/?f=html"}, {"Collections", req.base_url() + "/collections?f=html"},
                                    {layer.spec.title, collection_url + "?f=html"}, {"Objets", collection_url + "/items?f=html"}, {f.id, ""}},
                             body);
        cacheable(res, snapshot, "html");
        return res;
    }
    res.content_type = geojson_type;
    append_feature(res.body, layer.spec, f, all_properties(layer.spec), geometry);
    // The links go inside the Feature object: drop its closing brace, append, close again.
    res.body.pop_back();
    res.body += ",\"links\":[";
    append_link(res.body, self, "self", geojson_type);
    res.body += ',';
    append_link(res.body, self + "?f=html", "alternate", "text/html");
    res.body += ',';
    append_link(res.body, collection_url, "collection", "application/json", layer.spec.title);
    res.body += "]}";
    content_crs(res, *p.crs);
    cacheable(res, snapshot);
    return res;
}

}  // namespace ideo::server
