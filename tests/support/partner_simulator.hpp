#pragma once
// A partner portal for the tests: a real HTTP/1.1 server (Boost.Beast) on 127.0.0.1, own thread,
// free port, that serves the corpus of ../shared/data with each protocol's paging and
// conditional-GET semantics, and can be told to fail the way real portals do. Given a TLS
// identity (test_pki.hpp makes one), it speaks https:// only, as real partner portals do.
//
//   PartnerSimulator sim;                       // or PartnerSimulator sim(pki.server({"IP:127.0.0.1"}));
//   sim.serve_file("/files/pei.geojson", data("deci/pei-21-sdis21.geojson"));
//   sim.serve_wfs("/wfs", "sdis21:pei", data("deci/pei-21-sdis21.geojson"));
//   sim.route("/csw", [](const SimRequest& r) { return SimResponse{...}; });   // catalogue protocols
//   sim.fail("/wfs", {Fault::Status503, 2});                                    // 503 twice, then OK
//   sim.requests("/files/pei.geojson");                                         // what was asked
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace ideo::test {

struct SimRequest {
    std::string method, target, path, query;     // target = path + "?" + query
    std::map<std::string, std::string> params;   // query parameters, decoded; names as sent
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;

    // "a=1&b=%22x%22" decoded into {a: 1, b: "x"}, as the simulator reads every request's query.
    static std::map<std::string, std::string> parse_query(const std::string& query);
    // A query parameter, its name matched case-insensitively (OGC services ignore case); "" when absent.
    std::string param(const std::string& name) const;
    const std::string* header(const std::string& lower_name) const;
};

struct SimResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

using SimHandler = std::function<SimResponse(const SimRequest&)>;

enum class Fault {
    Status503,         // 503 Service Unavailable
    Stall,             // read the request, answer nothing until the client gives up (or stall_for passes)
    Truncated,         // announce the full Content-Length, send half the body, close
    InvalidBody,       // 200 with the first half of the real body: invalid JSON or XML
    WrongContentType,  // 200 with a portal's HTML maintenance page
    Redirect,          // 302 to `location` (absolute, or relative to the request)
};

struct FaultSpec {
    Fault kind = Fault::Status503;
    int times = -1;         // how many requests fail before the path works again; -1 = always
    std::string location;   // Redirect target
};

struct LoggedRequest {
    std::string method, path, target;
    int status = 0;  // 0 when no answer was sent (stall, truncated)
    bool gzip = false;
};

// A server's certificate chain and private key, PEM files: the simulator then answers over TLS.
struct TlsIdentity {
    std::filesystem::path certificate_chain;  // the server certificate first, then intermediate CAs if any
    std::filesystem::path private_key;
};

class PartnerSimulator {
public:
    // Listening on 127.0.0.1, a free port, from construction on; https:// when given a TLS identity.
    explicit PartnerSimulator(std::optional<TlsIdentity> tls = std::nullopt);
    ~PartnerSimulator();
    PartnerSimulator(const PartnerSimulator&) = delete;
    PartnerSimulator& operator=(const PartnerSimulator&) = delete;

    unsigned short port() const { return port_; }
    // "http://127.0.0.1:PORT" + path ("https://" over TLS); `host` names the same server otherwise ("localhost").
    std::string url(const std::string& path_and_query, const std::string& host = "127.0.0.1") const;

    // The route table: the longest matching path prefix answers. A handler may throw to answer 500.
    void route(const std::string& path_prefix, SimHandler handler);

    // A download with ETag, Last-Modified and 304 on If-None-Match / If-Modified-Since. Serving
    // another file at the same path later is "the partner published a new version".
    void serve_file(const std::string& path, const std::filesystem::path& file, const std::string& content_type = "");
    void serve_bytes(const std::string& path, std::string bytes, const std::string& content_type,
                     const std::string& last_modified = "Mon, 02 Jun 2025 08:00:00 GMT");
    // WFS 2.0 GetFeature (outputFormat application/json), paged by count/startIndex, from a GeoJSON file.
    void serve_wfs(const std::string& path, const std::string& type_name, const std::filesystem::path& geojson);
    // OGC API Features: {path}/collections/{collection}/items, paged by limit/offset with `next` links.
    void serve_oapif(const std::string& path, const std::string& collection, const std::filesystem::path& geojson);

    // Failure modes, by path prefix, switchable while running.
    void fail(const std::string& path_prefix, FaultSpec fault);
    void clear_faults();
    std::chrono::milliseconds stall_for{10000};  // how long a stall lasts at most
    std::atomic<bool> gzip{true};                 // answers over 1 KiB gzip-compressed when the client accepts it

    // What was asked: requests to exactly this path (any query), optionally with this answer status.
    std::size_t requests(const std::string& path, int status = -1) const;
    std::vector<LoggedRequest> log() const;
    void reset_log();

    // Helpers for handlers: a conditional-GET answer (304 when the request's validators match).
    static SimResponse conditional(const SimRequest& req, std::string body, const std::string& content_type,
                                   const std::string& last_modified);
    // A hostile partner's gzip body (send it with "Content-Encoding: gzip": the simulator then leaves it as it
    // is): `head`, `filler` spaces, `tail`, made in a few milliseconds and about a thousandth of its decoded size.
    static std::string gzip_bomb(const std::string& head, std::size_t filler, const std::string& tail);

private:
    struct Route {
        std::string prefix;
        SimHandler handler;
    };
    struct ActiveFault {
        FaultSpec spec;
        int remaining;
    };
    void accept_loop();
    void session(int fd);
    SimResponse dispatch(const SimRequest& req);

    std::unique_ptr<struct SimulatorIo> io_;
    std::string scheme_ = "http";
    unsigned short port_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
    mutable std::mutex mutex_;
    std::vector<std::thread> sessions_;
    std::vector<Route> routes_;
    std::map<std::string, ActiveFault> faults_;
    std::vector<LoggedRequest> log_;
};

}  // namespace ideo::test
