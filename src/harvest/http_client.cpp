// The harvester's HTTP client: one synchronous Beast exchange per attempt, each bounded by a deadline.
// Synchronous is enough: partners are fetched in parallel by the runner, one client per partner.
#include "ideo/harvest/http_client.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <thread>

#include "ideo/core/gzip.hpp"

namespace ideo::harvest {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

struct Url {
    std::string scheme, host, port, target;
};

Url parse_url(const std::string& url) {
    Url u;
    const auto colon = url.find("://");
    if (colon == std::string::npos) throw FetchError(url + ": not an http:// URL");
    u.scheme = lower(url.substr(0, colon));
    const auto host_start = colon + 3;
    const auto path_start = url.find_first_of("/?#", host_start);
    std::string authority = url.substr(host_start, path_start == std::string::npos ? std::string::npos : path_start - host_start);
    if (const auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
    u.target = path_start == std::string::npos ? "/" : url.substr(path_start);
    if (const auto hash = u.target.find('#'); hash != std::string::npos) u.target.resize(hash);
    if (u.target.empty() || u.target[0] == '?') u.target = "/" + u.target;
    const auto port_colon = authority.rfind(':');
    if (port_colon != std::string::npos && authority.find(']') == std::string::npos) {
        u.host = authority.substr(0, port_colon);
        u.port = authority.substr(port_colon + 1);
    } else {
        u.host = authority;
    }
    if (u.host.size() > 2 && u.host.front() == '[') u.host = u.host.substr(1, u.host.size() - 2);
    if (u.scheme != "http")
        throw FetchError(url + ": scheme " + u.scheme + " is not supported by this build (http:// only)");
    if (u.host.empty()) throw FetchError(url + ": no host in the URL");
    if (u.port.empty()) u.port = "80";
    return u;
}

// A failed attempt: `retry` when another attempt may succeed (connection, timeout, 429, 5xx).
struct AttemptError {
    std::string reason;
    bool retry;
    std::chrono::milliseconds retry_after{0};
};

bool retryable_status(int status) { return status == 429 || status >= 500; }

}  // namespace

std::string HttpResponse::charset() const {
    const std::string* ct = header("content-type");
    if (!ct) return {};
    const std::string v = lower(*ct);
    const auto at = v.find("charset=");
    if (at == std::string::npos) return {};
    std::string cs = v.substr(at + 8);
    cs = cs.substr(0, cs.find_first_of("; "));
    cs.erase(std::remove(cs.begin(), cs.end(), '"'), cs.end());
    return cs;
}

std::string resolve_url(const std::string& base, const std::string& ref) {
    if (ref.find("://") != std::string::npos) return ref;
    const auto scheme_end = base.find("://");
    if (scheme_end == std::string::npos) return ref;
    const auto path_start = base.find('/', scheme_end + 3);
    const std::string origin = path_start == std::string::npos ? base : base.substr(0, path_start);
    if (ref.rfind("//", 0) == 0) return base.substr(0, scheme_end + 1) + ref;
    if (!ref.empty() && ref[0] == '/') return origin + ref;
    std::string path = path_start == std::string::npos ? "/" : base.substr(path_start);
    path = path.substr(0, path.find('#'));
    if (!ref.empty() && ref[0] == '?') return origin + path.substr(0, path.find('?')) + ref;
    path = path.substr(0, path.find('?'));
    path = path.substr(0, path.rfind('/') + 1);
    // RFC 3986 5.2.4: "../" and "./" segments removed, so servers see the path they published.
    std::string merged = path + ref, query;
    if (const auto q = merged.find('?'); q != std::string::npos) {
        query = merged.substr(q);
        merged.resize(q);
    }
    std::vector<std::string> segments;
    std::size_t start = 1;
    while (start <= merged.size()) {
        const auto slash = merged.find('/', start);
        const std::string seg = merged.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        const bool last = slash == std::string::npos;
        if (seg == "..") {
            if (!segments.empty()) segments.pop_back();
            if (last) segments.emplace_back();
        } else if (seg == ".") {
            if (last) segments.emplace_back();
        } else {
            segments.push_back(seg);
        }
        if (last) break;
        start = slash + 1;
    }
    std::string out;
    for (const auto& seg : segments) out += "/" + seg;
    return origin + (out.empty() ? "/" : out) + query;
}

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) {}

HttpResponse HttpClient::fetch(const HttpRequest& request) {
    std::string url = request.url;
    const std::string method = request.method.empty() ? "GET" : request.method;
    const auto what = [&] { return method + " " + url + ": "; };
    const auto timeout_text = std::to_string(options_.timeout.count()) + " ms";

    for (int redirects = 0;; ++redirects) {
        const Url u = parse_url(url);
        AttemptError last{"", false};
        std::string redirect_to;
        for (int attempt = 0; attempt <= options_.max_retries; ++attempt) {
            if (attempt > 0) {
                // Exponential back-off, or the partner's own Retry-After when it asks for longer (capped).
                auto wait = options_.backoff * (1 << std::min(attempt - 1, 16));
                wait = std::max(wait, std::min(last.retry_after, std::chrono::milliseconds(60000)));
                std::this_thread::sleep_for(wait);
            }
            if (options_.requests_per_second > 0) {
                const auto gap = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(1.0 / options_.requests_per_second));
                const auto next = last_request_ + gap;
                if (next > std::chrono::steady_clock::now()) std::this_thread::sleep_until(next);
            }
            last_request_ = std::chrono::steady_clock::now();

            asio::io_context ioc;
            beast::tcp_stream stream(ioc);
            http::response_parser<http::string_body> parser;
            parser.body_limit(options_.max_body);
            parser.header_limit(64 * 1024);
            beast::error_code ec;
            try {
                http::request<http::string_body> req{http::string_to_verb(method), u.target, 11};
                if (req.method() == http::verb::unknown) req.method_string(method);
                req.set(http::field::host, u.port == "80" ? u.host : u.host + ":" + u.port);
                req.set(http::field::user_agent, options_.user_agent);
                req.set(http::field::accept_encoding, "gzip");
                req.set(http::field::connection, "close");
                for (const auto& [k, v] : request.headers) req.set(k, v);
                if (!request.body.empty() || method == "POST") {
                    req.body() = request.body;
                    req.prepare_payload();
                }

                tcp::resolver resolver(ioc);
                const auto endpoints = resolver.resolve(u.host, u.port, ec);
                if (ec) throw AttemptError{"cannot resolve " + u.host + ": " + ec.message(), true};
                // One deadline covers the whole attempt: connect, send, and the read of the full answer.
                // Beast enforces it on asynchronous operations only, hence the chain run to completion here.
                beast::flat_buffer buffer;
                const char* stage = "connect";
                stream.expires_after(options_.timeout);
                stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
                    if ((ec = e)) return;
                    stage = "send";
                    http::async_write(stream, req, [&](beast::error_code e2, std::size_t) {
                        if ((ec = e2)) return;
                        stage = "read";
                        http::async_read_header(stream, buffer, parser, [&](beast::error_code e3, std::size_t) {
                            if ((ec = e3)) return;
                            // An announced length over the limit is refused before any of the body is read.
                            if (parser.content_length() && *parser.content_length() > options_.max_body) {
                                ec = http::error::body_limit;
                                return;
                            }
                            http::async_read(stream, buffer, parser, [&](beast::error_code e4, std::size_t) { ec = e4; });
                        });
                    });
                });
                ioc.run();
                const std::string at = stage;
                if (ec == beast::error::timeout) throw AttemptError{"timed out after " + timeout_text + " (" + at + ")", true};
                if (ec == http::error::body_limit)
                    throw AttemptError{"body exceeds " + std::to_string(options_.max_body) + " bytes", false};
                if (at == "connect" && ec) throw AttemptError{"cannot connect to " + u.host + ":" + u.port + ": " + ec.message(), true};
                if (at == "send" && ec) throw AttemptError{"cannot send the request: " + ec.message(), true};
                if (ec == http::error::partial_message || (ec == http::error::end_of_stream && parser.is_header_done()))
                    throw AttemptError{"truncated body: the connection closed before the announced Content-Length", true};
                if (ec) throw AttemptError{"cannot read the answer: " + ec.message(), true};
                if (parser.get().body().size() > options_.max_body)
                    throw AttemptError{"body exceeds " + std::to_string(options_.max_body) + " bytes", false};
            } catch (AttemptError& e) {
                last = std::move(e);
                stream.socket().close(ec);
                if (!last.retry) break;
                continue;
            }
            stream.socket().shutdown(tcp::socket::shutdown_both, ec);

            auto& res = parser.get();
            HttpResponse out;
            out.status = static_cast<int>(res.result_int());
            out.final_url = url;
            for (const auto& h : res) out.headers.emplace_back(lower(std::string(h.name_string())), std::string(h.value()));

            if (out.status >= 300 && out.status < 400 && out.status != 304) {
                const std::string* location = out.header("location");
                if (!location) throw FetchError(what() + "HTTP " + std::to_string(out.status) + " without a Location header");
                if (redirects >= options_.max_redirects)
                    throw FetchError(what() + "more than " + std::to_string(options_.max_redirects) + " redirects");
                redirect_to = resolve_url(url, *location);
                break;
            }
            if (retryable_status(out.status)) {
                last = {"HTTP " + std::to_string(out.status), true};
                if (const std::string* ra = out.header("retry-after"); ra && !ra->empty() && std::isdigit(static_cast<unsigned char>((*ra)[0])))
                    last.retry_after = std::chrono::seconds(std::atoi(ra->c_str()));
                continue;
            }
            if (out.status >= 400 || out.status < 200)
                throw FetchError(what() + "HTTP " + std::to_string(out.status) + " " + std::string(res.reason()));

            out.body = std::move(res.body());
            if (const std::string* enc = out.header("content-encoding")) {
                const std::string e = lower(*enc);
                if (e == "gzip" || e == "x-gzip" || e == "deflate") {
                    try {
                        out.body = gzip_decompress(out.body, options_.max_body);
                    } catch (const std::exception& ex) {
                        throw FetchError(what() + "cannot decode the " + e + " body: " + ex.what());
                    }
                } else if (e != "identity" && !e.empty()) {
                    throw FetchError(what() + "unsupported Content-Encoding " + *enc);
                }
            }
            return out;
        }
        if (!redirect_to.empty()) {
            url = std::move(redirect_to);
            continue;
        }
        if (last.retry && options_.max_retries > 0)
            throw FetchError(what() + last.reason + " after " + std::to_string(options_.max_retries) + " retries");
        throw FetchError(what() + last.reason);
    }
}

}  // namespace ideo::harvest
