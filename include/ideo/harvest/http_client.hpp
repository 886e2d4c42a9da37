#pragma once
// The harvester's HTTP client (Boost.Beast, TLS with Boost.Asio SSL over OpenSSL): partner portals
// are slow, paged, sometimes down, sometimes wrong. Timeouts, bounded retries with back-off, a
// request rate, a body limit, redirects, gzip, conditional GET. https:// partners are verified:
// the chain against the system CA store (plus an optional CA file), the name against the URL's host.
// Errors say what failed and why.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ideo/core/error.hpp"

namespace ideo::harvest {

struct HttpRequest {
    std::string method = "GET";
    std::string url;  // http:// or https://
    std::vector<std::pair<std::string, std::string>> headers;  // e.g. If-None-Match, Content-Type
    std::string body;
};

struct HttpResponse {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
    std::string body;       // decompressed when the partner sent gzip
    std::string final_url;  // after redirects

    const std::string* header(std::string_view lower_name) const {
        for (const auto& [k, v] : headers)
            if (k == lower_name) return &v;
        return nullptr;
    }
    // The charset declared by Content-Type ("utf-8", "iso-8859-1"), lower-case; empty when none:
    // bodies stay bytes as sent, callers decode.
    std::string charset() const;
};

struct HttpOptions {
    std::chrono::milliseconds timeout{30000};  // per attempt: connect, send and the whole read
    int max_retries = 3;                        // on connection errors, timeouts, 429 and 5xx
    std::chrono::milliseconds backoff{500};     // doubled at each retry
    std::size_t max_body = 512u << 20;          // as received
    // What a gzip or deflate body may inflate to (never more than max_body): a partner's answer is held
    // whole in memory, and 3 MB of gzip make 3 GB.
    std::size_t max_decoded_body = 64u << 20;
    int max_redirects = 5;
    double requests_per_second = 0;  // per client (one client per partner); 0 = no limit
    std::string user_agent = "ideo-harvester/0.1";
    // PEM file of CA certificates trusted besides the system store (a partner's private PKI); empty = system store only.
    std::string ca_file;
    // An HTTP proxy ("http://host:port") every request goes through: http:// URLs asked in absolute form,
    // https:// ones tunnelled with CONNECT (TLS stays end to end, verified as without a proxy). Empty: the
    // environment's HTTPS_PROXY / HTTP_PROXY (or lower-case), except for NO_PROXY hosts and loopback.
    std::string proxy;
};

// The proxy a request to `url` goes through ("" for none): `configured` when given, else the environment
// (`https_proxy`/`HTTPS_PROXY` for https://, `http_proxy`/`HTTP_PROXY` for http://), unless the host is in
// `no_proxy`/`NO_PROXY` (comma-separated names, each matching itself and its subdomains; "*" for every host)
// or is a loopback address or localhost. Throws FetchError naming a proxy URL that is not http://.
std::string proxy_for(const std::string& url, const std::string& configured);

// A proxy as configured ("host:port" or "http://[user:password@]host:port") as the URL the client uses;
// throws FetchError, credentials left out, for anything but an http:// proxy URL.
std::string normalise_proxy(const std::string& proxy);

// A fetch that failed for good (after retries): the message names the URL and the reason
// ("HTTP 503 after 3 retries", "timed out after 30000 ms", "body exceeds 536870912 bytes",
// "cannot decode the gzip body: decompressed data exceeds 67108864 bytes",
// "certificate verify failed: self-signed certificate").
class FetchError : public Error {
public:
    using Error::Error;
};

class HttpClient {
public:
    explicit HttpClient(HttpOptions options = {});
    ~HttpClient();
    HttpClient(HttpClient&&) noexcept;
    HttpClient& operator=(HttpClient&&) noexcept;
    // Returns 2xx and 304 answers; throws FetchError otherwise. Thread-compatible: one client per partner.
    HttpResponse fetch(const HttpRequest& request);
    const HttpOptions& options() const { return options_; }

private:
    struct Tls;  // the OpenSSL context, made at the first https:// request (its CA store is read once per client)
    Tls& tls();

    HttpOptions options_;
    std::chrono::steady_clock::time_point last_request_{};
    std::unique_ptr<Tls> tls_;
};

}  // namespace ideo::harvest
