// Vector tiles: OGC API Tiles for one collection, XYZ for one or several layers, TileJSON 3.0,
// the WebMercatorQuad tile matrix set, and the MapLibre styles that point at them.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "ideo/server/server.hpp"
#include "ideo/tiles/cache.hpp"
#include "features.hpp"
#include "ideo/tiles/coverage_layer.hpp"
#include "ideo/tiles/renderer.hpp"
#include "parameters.hpp"
#include "services.hpp"

namespace ideo::server {
namespace {

constexpr const char* kMvtType = "application/vnd.mapbox-vector-tile";
constexpr const char* kWebMercatorQuadUri = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
constexpr const char* kEpsg3857Uri = "http://www.opengis.net/def/crs/EPSG/0/3857";

// Lookups of every snapshot's tile cache since the process started, for /metrics.
tiles::CacheCounters tile_lookups;

// Per-snapshot tile state: the renderer's prepared coordinates and the cache die with the snapshot.
struct TileState {
    tiles::TileRenderer renderer;
    tiles::TileCache cache;

    explicit TileState(const index::Snapshot& s) : renderer(s), cache(cache_bytes(), &tile_lookups) {}

    static std::size_t cache_bytes() {
        const char* mb = std::getenv("IDEO_TILE_CACHE_MB");
        return (mb ? std::strtoull(mb, nullptr, 10) : 256ull) << 20;
    }
};

TileState& tile_state(const index::Snapshot& snapshot) {
    return *snapshot.attachment<TileState>([&] { return std::make_shared<TileState>(snapshot); });
}

}  // namespace

void prepare_snapshot(const index::Snapshot& snapshot) { tile_state(snapshot); }

void append_tile_metrics(std::string& out, const index::Snapshot& snapshot) {
    out += "# HELP ideo_tile_cache_lookups_total Tile cache lookups, by result.\n# TYPE ideo_tile_cache_lookups_total counter\n";
    out += "ideo_tile_cache_lookups_total{result=\"hit\"} " + std::to_string(tile_lookups.hits.load()) + '\n';
    out += "ideo_tile_cache_lookups_total{result=\"miss\"} " + std::to_string(tile_lookups.misses.load()) + '\n';
    const auto state = snapshot.existing_attachment<TileState>();  // never builds the renderer just to report
    out += "# HELP ideo_tile_cache_bytes Bytes held by the served snapshot's tile cache.\n# TYPE ideo_tile_cache_bytes gauge\n";
    out += "ideo_tile_cache_bytes " + std::to_string(state ? state->cache.bytes() : 0) + '\n';
    out += "# HELP ideo_tile_cache_tiles Tiles held by the served snapshot's tile cache.\n# TYPE ideo_tile_cache_tiles gauge\n";
    out += "ideo_tile_cache_tiles " + std::to_string(state ? state->cache.size() : 0) + '\n';
}

namespace {

Response tile_response(const Request& req, const index::Snapshot& snapshot, const std::vector<std::string>& layers,
                       tiles::TileId t) {
    if (!t.valid())
        throw HttpError(404, "NotFound",
                        "tile " + std::to_string(t.z) + "/" + std::to_string(t.x) + "/" + std::to_string(t.y) +
                            " is outside the WebMercatorQuad matrix (zoom 0 to " + std::to_string(tiles::kMaxZoom) + ")");
    for (const auto& l : layers)
        if (const auto* data = snapshot.layer(l)) require(req, data->spec, AccessOperation::Tiles);
    auto& state = tile_state(snapshot);  // per view: one view's tiles never reach another's
    std::string key;
    for (const auto& l : layers) key += l + ',';
    key += std::to_string(t.z) + '/' + std::to_string(t.x) + '/' + std::to_string(t.y);
    const bool gzip_ok = accepts_gzip(req);
    // Rendered once, gzip-compressed once: the first client that accepts gzip pays for it.
    const auto cached = state.cache.get_or_make(key, gzip_ok, [&] { return state.renderer.render(layers, t); });
    return cached_response(*cached, gzip_ok, kMvtType, snapshot_etag(snapshot), "public, max-age=300");
}

const index::LayerData& layer_or_404(const index::Snapshot& snapshot, std::string_view id) {
    const auto* l = snapshot.layer(id);
    if (!l) throw HttpError(404, "NotFound", "unknown collection '" + std::string(id.substr(0, 100)) + "'");
    return *l;
}

void append_bounds(std::string& out, const Envelope& e) {
    out += '[';
    append_json_number(out, e.empty() ? -180.0 : e.min_x);
    out += ',';
    append_json_number(out, e.empty() ? -85.0511 : e.min_y);
    out += ',';
    append_json_number(out, e.empty() ? 180.0 : e.max_x);
    out += ',';
    append_json_number(out, e.empty() ? 85.0511 : e.max_y);
    out += ']';
}

const char* json_type(FieldType t) {
    switch (t) {
        case FieldType::Integer:
        case FieldType::Number:
        case FieldType::Boolean: return "Number";
        default: return "String";
    }
}

// The fields a layer writes in its tiles, as TileJSON vector_layers describes them.
void append_vector_layer(std::string& out, const index::LayerData& l) {
    const auto& ts = l.spec.tiles;
    out += "{\"id\":";
    append_json_string(out, l.spec.id);
    out += ",\"description\":";
    append_json_string(out, l.spec.title);
    out += ",\"minzoom\":" + std::to_string(ts.minzoom) + ",\"maxzoom\":" + std::to_string(ts.maxzoom) + ",\"fields\":{";
    out += "\"id\":\"String\"";
    for (const auto& f : l.spec.fields) {
        const bool shown = ts.properties.empty() ? f.derived == Derived::None
                                                 : std::find(ts.properties.begin(), ts.properties.end(), f.name) != ts.properties.end();
        if (!shown) continue;
        out += ',';
        append_json_string(out, f.name);
        out += ':';
        append_json_string(out, json_type(f.type));
    }
    if (ts.cluster_below >= 0) {
        out += ",\"cluster\":\"Number\",\"point_count\":\"Number\"";
        for (const auto& s : ts.cluster_stats) {
            out += ',';
            append_json_string(out, s.name + "_count");
            out += ":\"Number\",";
            append_json_string(out, s.name + "_share");
            out += ":\"Number\"";
        }
    }
    out += "}}";
}

// The computed coverage layer as TileJSON describes it.
void append_coverage_vector_layer(std::string& out) {
    out += "{\"id\":";
    append_json_string(out, tiles::kCoverageLayer);
    out += ",\"description\":\"Zones non couvertes par un PEI conforme (à vol d'oiseau, règles du département)\"";
    out += ",\"minzoom\":" + std::to_string(tiles::CoverageLayerSettings::minzoom) +
           ",\"maxzoom\":" + std::to_string(tiles::CoverageLayerSettings::maxzoom) + ",\"fields\":{";
    bool first = true;
    for (const auto& [name, type] : tiles::kCoverageFields) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, name);
        out += ':';
        append_json_string(out, type);
    }
    out += "}}";
}

Response json_response(std::string body, const index::Snapshot& snapshot) {
    Response res;
    res.body = std::move(body);
    res.headers.emplace_back("ETag", snapshot_etag(snapshot));
    res.headers.emplace_back("Cache-Control", "public, max-age=60");
    return res;
}

}  // namespace

bool accepts_gzip(const Request& req) {
    const std::string* ae = req.header("accept-encoding");
    return ae && ae->find("gzip") != std::string::npos;
}

Response cached_response(const tiles::CachedTile& cached, bool gzip, std::string content_type, std::string etag,
                         std::string cache_control) {
    Response res;
    res.content_type = std::move(content_type);
    res.headers.emplace_back("ETag", std::move(etag));
    res.headers.emplace_back("Cache-Control", std::move(cache_control));
    if (cached.mvt.empty()) {
        res.status = 204;  // nothing there, always the same answer
        return res;
    }
    if (gzip) {
        res.body = cached.gzip;
        res.headers.emplace_back("Content-Encoding", "gzip");
    } else {
        res.body = cached.mvt;
    }
    return res;
}

Response xyz_tile(const Request& req, const index::Snapshot& snapshot, const Route& r) {
    const XyzTileParameters p = parse_xyz_tile_parameters(snapshot, r);
    return tile_response(req, snapshot, p.layers, p.tile);
}

Response collection_tile(const Request& req, const index::Snapshot& snapshot, const Route& r) {
    layer_or_404(snapshot, r.layer);
    return tile_response(req, snapshot, {r.layer}, parse_collection_tile_parameters(r));
}

Response collection_tilesets(const Request& req, const index::Snapshot& snapshot, const Route& r) {
    const auto& l = layer_or_404(snapshot, r.layer);
    const std::string base = req.base_url() + "/collections/" + percent_encode(l.spec.id) + "/tiles";
    std::string out = "{\"tilesets\":[{\"title\":";
    append_json_string(out, l.spec.title + " (WebMercatorQuad)");
    out += ",\"dataType\":\"vector\",\"crs\":\"";
    out += kEpsg3857Uri;
    out += "\",\"tileMatrixSetURI\":\"";
    out += kWebMercatorQuadUri;
    out += "\",\"links\":[";
    append_link(out, base + "/WebMercatorQuad", "self", "application/json");
    out += ',';
    append_link(out, req.base_url() + "/tileMatrixSets/WebMercatorQuad", "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "application/json");
    out += "]}],\"links\":[";
    append_link(out, base, "self", "application/json");
    out += "]}";
    return json_response(std::move(out), snapshot);
}

Response collection_tileset(const Request& req, const index::Snapshot& snapshot, const Route& r) {
    const auto& l = layer_or_404(snapshot, r.layer);
    check_tile_matrix_set(r.matrix_set);
    const std::string base = req.base_url() + "/collections/" + percent_encode(l.spec.id) + "/tiles/WebMercatorQuad";
    std::string out = "{\"title\":";
    append_json_string(out, l.spec.title);
    out += ",\"dataType\":\"vector\",\"crs\":\"";
    out += kEpsg3857Uri;
    out += "\",\"tileMatrixSetURI\":\"";
    out += kWebMercatorQuadUri;
    out += "\",\"boundingBox\":{\"lowerLeft\":[";
    append_json_number(out, l.extent.empty() ? -180.0 : l.extent.min_x);
    out += ',';
    append_json_number(out, l.extent.empty() ? -85.0511 : l.extent.min_y);
    out += "],\"upperRight\":[";
    append_json_number(out, l.extent.empty() ? 180.0 : l.extent.max_x);
    out += ',';
    append_json_number(out, l.extent.empty() ? 85.0511 : l.extent.max_y);
    out += "],\"crs\":";
    append_json_string(out, crs84_uri);
    out += "},\"layers\":[";
    append_vector_layer(out, l);
    out += "],\"links\":[";
    append_link(out, base, "self", "application/json");
    out += ',';
    append_link(out, req.base_url() + "/tileMatrixSets/WebMercatorQuad", "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "application/json");
    out += ',';
    append_link(out, base + "/{tileMatrix}/{tileRow}/{tileCol}", "item", kMvtType, {}, true);
    out += "]}";
    return json_response(std::move(out), snapshot);
}

Response tilejson(const Request& req, const index::Snapshot& snapshot, const Route& r) {
    const auto layers = parse_tilejson_parameters(snapshot, r);
    Envelope bounds;
    int minzoom = tiles::kMaxZoom, maxzoom = 0;
    for (const auto& id : layers) {
        if (id == tiles::kCoverageLayer) {  // the communes' extent and the computed layer's zooms
            bounds.expand(snapshot.layer("communes")->extent);
            minzoom = std::min(minzoom, tiles::CoverageLayerSettings::minzoom);
            maxzoom = std::max(maxzoom, tiles::CoverageLayerSettings::maxzoom);
            continue;
        }
        const auto* l = snapshot.layer(id);
        bounds.expand(l->extent);
        minzoom = std::min(minzoom, l->spec.tiles.minzoom);
        maxzoom = std::max(maxzoom, l->spec.tiles.maxzoom);
    }
    std::string out = "{\"tilejson\":\"3.0.0\",\"name\":";
    append_json_string(out, r.layers);
    out += ",\"scheme\":\"xyz\",\"tiles\":[";
    append_json_string(out, req.base_url() + "/tiles/" + r.layers + "/{z}/{x}/{y}.mvt");
    out += "],\"minzoom\":" + std::to_string(minzoom) + ",\"maxzoom\":" + std::to_string(maxzoom) + ",\"bounds\":";
    append_bounds(out, bounds);
    out += ",\"center\":[";
    append_json_number(out, bounds.empty() ? 0.0 : (bounds.min_x + bounds.max_x) / 2);
    out += ',';
    append_json_number(out, bounds.empty() ? 0.0 : (bounds.min_y + bounds.max_y) / 2);
    out += ',' + std::to_string(std::max(minzoom, 8)) + "],\"vector_layers\":[";
    for (std::size_t i = 0; i < layers.size(); ++i) {
        if (i) out += ',';
        if (layers[i] == tiles::kCoverageLayer) append_coverage_vector_layer(out);
        else append_vector_layer(out, *snapshot.layer(layers[i]));
    }
    out += "]}";
    return json_response(std::move(out), snapshot);
}

Response tile_matrix_sets(const Request& req, const Route& r) {
    const std::string self = req.base_url() + "/tileMatrixSets/WebMercatorQuad";
    std::string out;
    if (r.endpoint == Endpoint::TileMatrixSets) {
        out = "{\"tileMatrixSets\":[{\"id\":\"WebMercatorQuad\",\"uri\":\"";
        out += kWebMercatorQuadUri;
        out += "\",\"links\":[";
        append_link(out, self, "self", "application/json");
        out += "]}]}";
    } else {
        check_tile_matrix_set(r.matrix_set);
        // OGC 17-083r4 WebMercatorQuad: 256-pixel tiles, origin top-left at the projection's corner.
        constexpr double kOrigin = 20037508.3427892;
        out = "{\"id\":\"WebMercatorQuad\",\"title\":\"Google Maps Compatible for the World\",\"uri\":\"";
        out += kWebMercatorQuadUri;
        out += "\",\"crs\":\"";
        out += kEpsg3857Uri;
        out += "\",\"orderedAxes\":[\"X\",\"Y\"],\"tileMatrices\":[";
        for (int z = 0; z <= tiles::kMaxZoom; ++z) {
            const double cell = 2 * kOrigin / 256.0 / std::pow(2.0, z);
            if (z) out += ',';
            out += "{\"id\":\"" + std::to_string(z) + "\",\"scaleDenominator\":";
            append_json_number(out, cell / 0.00028);
            out += ",\"cellSize\":";
            append_json_number(out, cell);
            out += ",\"cornerOfOrigin\":\"topLeft\",\"pointOfOrigin\":[";
            append_json_number(out, -kOrigin);
            out += ',';
            append_json_number(out, kOrigin);
            const auto n = std::to_string(1ull << z);
            out += "],\"tileWidth\":256,\"tileHeight\":256,\"matrixWidth\":" + n + ",\"matrixHeight\":" + n + "}";
        }
        out += "]}";
    }
    Response res;
    res.body = std::move(out);
    res.headers.emplace_back("Cache-Control", "public, max-age=86400");
    return res;
}

Response style(const Request& req, const Route& r) {
    const std::string id = parse_style_parameters(r);
    const std::filesystem::path dir = req.options && !req.options->styles_dir.empty() ? req.options->styles_dir : "styles";
    std::ifstream in(dir / (id + ".json"), std::ios::binary);
    if (!in) throw HttpError(404, "NotFound", "unknown style '" + id.substr(0, 100) + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    // Styles are stored with "{base}" where this server's own URL goes: tiles resolve wherever it runs.
    std::string body = ss.str();
    const std::string base = req.base_url();
    for (std::size_t pos = 0; (pos = body.find("{base}", pos)) != std::string::npos; pos += base.size())
        body.replace(pos, 6, base);
    Response res;
    res.body = std::move(body);
    res.headers.emplace_back("Cache-Control", "public, max-age=300");
    return res;
}

}  // namespace ideo::server
