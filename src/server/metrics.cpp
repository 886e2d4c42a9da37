// Prometheus exposition of the server's counters and the snapshot's gauges.
#include "metrics.hpp"

#include "auth.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>

#include "ideo/catalog/search.hpp"
#include "ideo/server/server.hpp"
#include "services.hpp"

namespace ideo::server {
namespace {

constexpr std::size_t kEndpoints = static_cast<std::size_t>(Endpoint::Metrics) + 1;
constexpr std::array<const char*, 5> kClasses = {"1xx", "2xx", "3xx", "4xx", "5xx"};
// Handling-time buckets, seconds: cached tiles answer in tens of microseconds, extracts in tens of milliseconds.
constexpr std::array<double, 14> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                             0.025,  0.05,    0.1,    0.25,  0.5,    1,     5};

struct EndpointCounters {
    std::array<std::atomic<std::uint64_t>, kClasses.size()> by_class{};
    std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets{};  // the last is +Inf
    std::atomic<std::uint64_t> micros{0};                                   // sum of handling times
    std::atomic<std::uint64_t> bytes{0};
};

struct Registry {
    std::array<EndpointCounters, kEndpoints> endpoints{};
    std::atomic<std::int64_t> in_progress{0};
    const double started = static_cast<double>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
};

Registry& registry() {
    static Registry r;
    return r;
}

void line(std::string& out, const char* name, const std::string& labels, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    out += name;
    if (!labels.empty()) out += '{' + labels + '}';
    out += ' ';
    out += buf;
    out += '\n';
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + ' ' + help + "\n# TYPE " + name + ' ' + type + '\n';
}

// A label value with the exposition format's escapes.
std::string label_value(std::string_view v) {
    std::string out = "\"";
    for (const char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + '"';
}

}  // namespace

const char* endpoint_name(Endpoint e) {
    switch (e) {
        case Endpoint::NotFound: return "not_found";
        case Endpoint::MethodNotAllowed: return "method_not_allowed";
        case Endpoint::Health: return "health";
        case Endpoint::Landing: return "landing";
        case Endpoint::Conformance: return "conformance";
        case Endpoint::Api: return "api";
        case Endpoint::Queryables: return "queryables";
        case Endpoint::Collections: return "collections";
        case Endpoint::Collection: return "collection";
        case Endpoint::Items: return "items";
        case Endpoint::Item: return "item";
        case Endpoint::DeciExtract: return "deci_extract";
        case Endpoint::CollectionTilesets: return "collection_tilesets";
        case Endpoint::CollectionTileset: return "collection_tileset";
        case Endpoint::CollectionTile: return "collection_tile";
        case Endpoint::XyzTile: return "xyz_tile";
        case Endpoint::TileJson: return "tilejson";
        case Endpoint::Style: return "style";
        case Endpoint::TileMatrixSets: return "tile_matrix_sets";
        case Endpoint::TileMatrixSet: return "tile_matrix_set";
        case Endpoint::Glyphs: return "glyphs";
        case Endpoint::Sprite: return "sprite";
        case Endpoint::MapPage: return "map_page";
        case Endpoint::MapEmbed: return "map_embed";
        case Endpoint::MapAsset: return "map_asset";
        case Endpoint::CommuneSearch: return "commune_search";
        case Endpoint::DeciExtractMany: return "deci_extract_many";
        case Endpoint::DeciArrete: return "deci_arrete";
        case Endpoint::DeciCoverage: return "deci_coverage";
        case Endpoint::DeciSchema: return "deci_schema";
        case Endpoint::DeciCommune: return "deci_commune";
        case Endpoint::DeciCheck: return "deci_check";
        case Endpoint::CatalogRecords: return "catalog_records";
        case Endpoint::CatalogRecord: return "catalog_record";
        case Endpoint::CatalogDcat: return "catalog_dcat";
        case Endpoint::WhoAmI: return "whoami";
        case Endpoint::Preflight: return "preflight";
        case Endpoint::AdminHarvest: return "admin_harvest";
        case Endpoint::Metrics: return "metrics";
    }
    return "unknown";
}

RequestTimer::RequestTimer() : start_(std::chrono::steady_clock::now()) { registry().in_progress++; }

RequestTimer::~RequestTimer() { registry().in_progress--; }

double RequestTimer::seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void record_request(Endpoint e, int status, double seconds, std::size_t body_bytes) {
    auto& c = registry().endpoints[static_cast<std::size_t>(e)];
    const std::size_t cls = status >= 100 && status < 600 ? static_cast<std::size_t>(status / 100 - 1) : 4;
    c.by_class[cls].fetch_add(1, std::memory_order_relaxed);
    std::size_t b = 0;
    while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
    c.buckets[b].fetch_add(1, std::memory_order_relaxed);
    c.micros.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
    c.bytes.fetch_add(body_bytes, std::memory_order_relaxed);
}

std::string render_metrics(const index::Snapshot* snapshot, const std::string& extra) {
    Registry& r = registry();
    std::string out;
    out.reserve(16 * 1024);
    header(out, "ideo_http_requests_total", "counter", "Requests answered, by endpoint and status class.");
    for (std::size_t e = 0; e < kEndpoints; ++e)
        for (std::size_t k = 0; k < kClasses.size(); ++k)
            if (const auto n = r.endpoints[e].by_class[k].load(std::memory_order_relaxed))
                line(out, "ideo_http_requests_total",
                     std::string("endpoint=\"") + endpoint_name(static_cast<Endpoint>(e)) + "\",code=\"" + kClasses[k] + '"',
                     static_cast<double>(n));
    header(out, "ideo_http_request_duration_seconds", "histogram", "Time to handle a request (routing to response body), by endpoint.");
    for (std::size_t e = 0; e < kEndpoints; ++e) {
        const auto& c = r.endpoints[e];
        std::uint64_t count = 0;
        for (const auto& b : c.buckets) count += b.load(std::memory_order_relaxed);
        if (count == 0) continue;
        const std::string ep = std::string("endpoint=\"") + endpoint_name(static_cast<Endpoint>(e)) + '"';
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
            cumulative += c.buckets[b].load(std::memory_order_relaxed);
            char le[32];
            if (b < kBuckets.size()) std::snprintf(le, sizeof le, "%g", kBuckets[b]);
            else std::snprintf(le, sizeof le, "+Inf");
            line(out, "ideo_http_request_duration_seconds_bucket", ep + ",le=\"" + le + '"', static_cast<double>(cumulative));
        }
        line(out, "ideo_http_request_duration_seconds_sum", ep, static_cast<double>(c.micros.load(std::memory_order_relaxed)) / 1e6);
        line(out, "ideo_http_request_duration_seconds_count", ep, static_cast<double>(count));
    }
    header(out, "ideo_http_response_bytes_total", "counter", "Response body bytes (after compression), by endpoint.");
    for (std::size_t e = 0; e < kEndpoints; ++e)
        if (const auto n = r.endpoints[e].bytes.load(std::memory_order_relaxed))
            line(out, "ideo_http_response_bytes_total",
                 std::string("endpoint=\"") + endpoint_name(static_cast<Endpoint>(e)) + '"', static_cast<double>(n));
    header(out, "ideo_http_requests_in_progress", "gauge", "Requests being handled now.");
    line(out, "ideo_http_requests_in_progress", "", static_cast<double>(r.in_progress.load()));
    header(out, "ideo_process_start_time_seconds", "gauge", "Start time of the process, Unix seconds.");
    line(out, "ideo_process_start_time_seconds", "", r.started);

    if (snapshot) {
        header(out, "ideo_snapshot_version", "gauge", "Publish counter of the snapshot being served.");
        line(out, "ideo_snapshot_version", "", static_cast<double>(snapshot->version));
        header(out, "ideo_layer_features", "gauge", "Features of each layer in the served snapshot.");
        for (const auto& [id, layer] : snapshot->layers)
            line(out, "ideo_layer_features", "layer=" + label_value(id), static_cast<double>(layer.features.size()));
        header(out, "ideo_catalog_records", "gauge", "Harvested catalogue records listed in the served snapshot.");
        line(out, "ideo_catalog_records", "", snapshot->catalog ? static_cast<double>(snapshot->catalog->records.size()) : 0);
        append_tile_metrics(out, *snapshot);
    }
    out += extra;
    return out;
}

Response metrics(const Request& req, const index::Snapshot* snapshot) {
    // Default deny: the counters tell who uses what; an admin key, the admin token or the metrics token.
    if (req.token == Request::Token::None && req.caller->role != access::Role::Admin) {
        const char* what = "GET /metrics needs an admin key or the metrics token (IDEO_METRICS_TOKEN)";
        return req.caller->anonymous() ? unauthorized(what, false) : forbidden(what);
    }
    Response res;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.headers.emplace_back("Cache-Control", "no-store");
    std::string extra;
    if (req.options && req.options->metrics) extra = req.options->metrics();
    res.body = render_metrics(snapshot, extra);
    return res;
}

}  // namespace ideo::server
