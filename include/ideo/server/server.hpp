#pragma once
// The HTTP server (Boost.Beast): one session per connection, timeouts on every read,
// body and header limits, keep-alive. Handlers are thin: they parse and validate the request
// into a typed query, then call index/, deci/...; they never include GDAL or GEOS.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "ideo/core/access.hpp"
#include "ideo/index/snapshot.hpp"

namespace ideo::server {

struct ServerOptions {
    std::string address = "127.0.0.1";
    unsigned short port = 8080;  // 0 = any free port (the bound port is passed to on_listening)
    unsigned threads = 0;        // I/O threads; 0 = hardware concurrency
    // Heavy requests (extracts, arrêté, coverage, point checks: Route::heavy) are answered by a pool of
    // `workers` threads (0 = hardware concurrency) at a lower scheduling priority, `worker_queue` of them
    // waiting at most: beyond, 503 with Retry-After.
    unsigned workers = 0;
    std::size_t worker_queue = 64;
    std::chrono::seconds read_timeout{30};
    std::size_t header_limit = 16 * 1024;
    std::size_t body_limit = 1024 * 1024;
    std::filesystem::path web_dir;     // static files of the map page (later issues)
    std::filesystem::path styles_dir;  // MapLibre styles (later issues)
    std::filesystem::path fonts_dir;   // fonts of the styles' glyphs (empty: Debian's fonts-dejavu-core)
    // POST /admin/harvest: the bearer token (empty = endpoint disabled) and the hook that starts one
    // harvest in the background and returns its run id (set by `ideo serve`).
    std::string admin_token;
    std::function<std::string()> trigger_harvest;
    // GET /metrics: more lines in the Prometheus text format (the background harvester's state).
    std::function<std::string()> metrics;
    // GET /metrics is for an admin key, the admin token or this token (IDEO_METRICS_TOKEN; empty = none).
    std::string metrics_token;

    // The request's credential (Authorization: Bearer X, else X-API-Key: X, else ?apikey=X) checked once per
    // request: an API key by authenticate_key (set by `ideo serve`: a store lookup behind a KeyCache), a JWT
    // by authenticate_token below. Unset: such credentials are refused (401).
    std::function<access::Authentication(std::string_view key)> authenticate_key;
    // Failed credentials allowed per client address and minute before 429.
    unsigned failures_per_minute = 10;
    // A bearer credential that looks like a JWT (server::looks_like_jwt): its identity or why not, from
    // the OpenID Connect verifier `ideo serve --oidc-issuer` builds (server/oidc.hpp); empty: none.
    std::function<access::Authentication(std::string_view token)> authenticate_token;
};

// Serves until stop() or a SIGINT/SIGTERM. on_listening is called once bound, with the port.
class Server {
public:
    Server(ServerOptions options, index::SnapshotHolder& snapshots);
    ~Server();
    void run(const std::function<void(unsigned short)>& on_listening = {});
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Builds what serving a snapshot's tiles needs (tile-ready coordinates, the layers' interned tile values:
// 0.3 s for 95,000 PEI) before the snapshot is handed to the server, so no tile request waits for it.
void prepare_snapshot(const index::Snapshot& snapshot);

}  // namespace ideo::server
