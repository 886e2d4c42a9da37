#pragma once
// Prometheus metrics of the server (GET /metrics, text exposition format 0.0.4): requests by
// endpoint and status class, handling-time histograms, bytes sent, plus gauges read from the
// snapshot (version, features per layer, catalogue records, tile cache). Counters are relaxed
// atomics in fixed arrays: recording a request takes no lock and allocates nothing.
#include <chrono>
#include <cstddef>
#include <string>

#include "http.hpp"
#include "ideo/index/snapshot.hpp"

namespace ideo::server {

// The endpoint's label in metrics ("items", "xyz_tile"...).
const char* endpoint_name(Endpoint e);

// Counts a request as in progress for its lifetime and measures its handling time.
class RequestTimer {
public:
    RequestTimer();
    ~RequestTimer();
    RequestTimer(const RequestTimer&) = delete;
    RequestTimer& operator=(const RequestTimer&) = delete;
    double seconds() const;

private:
    std::chrono::steady_clock::time_point start_;
};

// Records one answered request: its endpoint, status, handling time and body size.
void record_request(Endpoint e, int status, double seconds, std::size_t body_bytes);

// The whole exposition. `snapshot` may be null (nothing loaded yet); `extra` is appended as is
// (the harvester's metrics, set by `ideo serve` through ServerOptions::metrics).
std::string render_metrics(const index::Snapshot* snapshot, const std::string& extra);

}  // namespace ideo::server
