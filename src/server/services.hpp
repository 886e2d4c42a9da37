#pragma once
// The services the router dispatches to, one file per API verb family. Each parses its
// parameters (parameters.hpp), calls index/ or deci/, and renders the answer; errors are thrown
// as HttpError and rendered by the router.
#include <memory>
#include <optional>
#include <string_view>

#include "http.hpp"
#include "metrics.hpp"
#include "ideo/index/snapshot.hpp"
#include "ideo/tiles/cache.hpp"

namespace ideo::server {

// health_service.cpp
Response health(const Request& req, const index::Snapshot& snapshot);
// metrics.cpp: GET /metrics, Prometheus text format; answers before any snapshot is loaded too.
Response metrics(const Request& req, const index::Snapshot* snapshot);
// tiles_service.cpp: the tile cache's counters and the served snapshot's cache size, for /metrics.
void append_tile_metrics(std::string& out, const index::Snapshot& snapshot);
Response admin_harvest(const Request& req);  // POST /admin/harvest (admin_service.cpp)

// features_service.cpp
Response collections(const Request& req, const index::Snapshot& snapshot);
Response collection(const Request& req, const index::Snapshot& snapshot, std::string_view layer);
Response items(const Request& req, const index::Snapshot& snapshot, std::string_view layer);
Response item(const Request& req, const index::Snapshot& snapshot, std::string_view layer, std::string_view id);

// ogc_service.cpp: landing page, conformance, OpenAPI document, queryables.
Response landing(const Request& req, const index::Snapshot& snapshot);
Response conformance(const Request& req, const index::Snapshot& snapshot);
Response api(const Request& req, const index::Snapshot& snapshot);
Response queryables(const Request& req, const index::Snapshot& snapshot, std::string_view layer);

// deci_service.cpp
Response deci_extract(const Request& req, const index::Snapshot& snapshot, std::string_view insee,
                      std::string_view format);
Response deci_extract_many(const Request& req, const index::Snapshot& snapshot, std::string_view format);
Response deci_arrete(const Request& req, const index::Snapshot& snapshot, std::string_view insee);
Response deci_coverage(const Request& req, const index::Snapshot& snapshot, std::string_view insee);
Response deci_schema(const Request& req, const index::Snapshot& snapshot, std::string_view insee);
Response deci_commune(const Request& req, const index::Snapshot& snapshot, std::string_view insee);
Response deci_check(const Request& req, const index::Snapshot& snapshot);

// tiles_service.cpp: OGC API Tiles, XYZ tiles and TileJSON, tile matrix sets, styles.
Response xyz_tile(const Request& req, const index::Snapshot& snapshot, const Route& r);
Response collection_tile(const Request& req, const index::Snapshot& snapshot, const Route& r);
Response collection_tilesets(const Request& req, const index::Snapshot& snapshot, const Route& r);
Response collection_tileset(const Request& req, const index::Snapshot& snapshot, const Route& r);
Response tilejson(const Request& req, const index::Snapshot& snapshot, const Route& r);
Response tile_matrix_sets(const Request& req, const Route& r);
Response style(const Request& req, const Route& r);
// Whether the client accepts gzip; a cached body (tile, glyph range) as it asks, 204 when empty.
bool accepts_gzip(const Request& req);
Response cached_response(const tiles::CachedTile& cached, bool gzip, std::string content_type, std::string etag,
                         std::string cache_control);

// styles_service.cpp: what a style needs besides tiles: glyph ranges (/fonts) and the sprite.
Response glyphs(const Request& req, const Route& r);
Response sprite(const Request& req, const Route& r);

// communes_service.cpp: GET /communes/search?q=&limit= (name, INSEE code or postcode).
Response communes_search(const Request& req, const index::Snapshot& snapshot);

// catalog_service.cpp: GET /catalog/records (search, filters, facets, paging), /catalog/records/{id},
// /catalog/dcat.jsonld (DCAT-AP JSON-LD, Hydra-paged).
Response catalog_records(const Request& req, const index::Snapshot& snapshot);
Response catalog_record(const Request& req, const index::Snapshot& snapshot, std::string_view id);
Response catalog_dcat(const Request& req, const index::Snapshot& snapshot);

// static_service.cpp: the built map page under /map (ServerOptions::web_dir / "dist").
Response static_file(const Request& req, const Route& r);

class FailureLimiter;
// router.cpp: a request parsed and routed, not answered yet: the transport reads route.heavy to choose
// the thread that answers it (heavy ones go to the worker pool).
struct RoutedRequest {
    Request request;
    Route route;
    std::optional<Response> refused;  // the target did not parse (400, 414), or its credential not (401, 429): the answer
    std::unique_ptr<access::Identity> caller;  // request.caller points here once a credential proved who is asking
    std::unique_ptr<RequestTimer> timer;  // from reading to answering, queue included (metrics)
};
// Never throws: a target that does not parse is kept as `refused`. The credential is checked here, once
// (auth.cpp: `client` is the peer's address, failures counted in `limiter` when given).
RoutedRequest route_request(std::string_view method, std::string_view target, Headers headers, std::string body,
                            const ServerOptions* options, std::string_view client = {}, FailureLimiter* limiter = nullptr,
                            const access::Identity* as = nullptr);
// The answer, errors rendered (a 500 is a generic description with a request id, the details logged to stderr),
// recorded in the metrics; never throws.
Response answer(RoutedRequest& routed, const index::Snapshot* snapshot);

// router.cpp: the whole request, from method, target, headers (lower-case names) and body to a
// response; never throws. snapshot may be null while none is loaded (503). First the credential, then,
// for every service: 304 when the response's ETag matches If-None-Match, gzip when the client accepts
// it, and Cache-Control private with Vary on the credential for a non-anonymous caller.
Response handle_request(std::string_view method, std::string_view target, Headers headers, std::string body,
                        const index::Snapshot* snapshot, const ServerOptions* options = nullptr,
                        std::string_view client = {}, FailureLimiter* limiter = nullptr);
// The same, served as `caller` (already identified: tests, and callers that verified a credential themselves):
// no credential is read from the request.
Response handle_request(std::string_view method, std::string_view target, Headers headers, std::string body,
                        const index::Snapshot* snapshot, const ServerOptions* options, const access::Identity* caller);

// The ETag of everything derived from one published snapshot (collections, items, tiles...).
std::string snapshot_etag(const index::Snapshot& snapshot, std::string_view variant = {});

}  // namespace ideo::server
