// The harvester's HTTP client: one synchronous Beast exchange per attempt, each bounded by a deadline.
// Synchronous is enough: partners are fetched in parallel by the runner, one client per partner.
// https:// goes through Boost.Asio SSL (OpenSSL) with SNI, chain and host name verification.
#include "ideo/harvest/http_client.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <thread>

#include "ideo/core/gzip.hpp"
#include "ideo/core/text.hpp"
#include "ideo/core/url.hpp"

namespace ideo::harvest {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct Url {
    std::string scheme, host, port, target;
    std::string userinfo;  // "user:password" before the host, percent-decoded (a proxy's credentials)
    bool tls() const { return scheme == "https"; }
    // The Host header: the port only when it is not the scheme's default.
    std::string host_header() const {
        const bool ipv6 = host.find(':') != std::string::npos;
        const std::string h = ipv6 ? "[" + host + "]" : host;
        return port == (tls() ? "443" : "80") ? h : h + ":" + port;
    }
};

// A URL as it may be printed: without the credentials it may carry.
std::string redacted(const std::string& url) {
    const auto scheme_end = url.find("://");
    const auto from = scheme_end == std::string::npos ? 0 : scheme_end + 3;
    const auto at = url.find('@', from);
    if (at == std::string::npos || url.find_first_of("/?#", from) < at) return url;
    return url.substr(0, from) + "***@" + url.substr(at + 1);
}

// Proxy-Authorization for a proxy URL's credentials (RFC 7617 Basic), empty when it has none.
std::string proxy_authorization(const std::string& userinfo) {
    if (userinfo.empty()) return {};
    std::string b64(4 * ((userinfo.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                  reinterpret_cast<const unsigned char*>(userinfo.data()), static_cast<int>(userinfo.size()));
    b64.resize(static_cast<std::size_t>(n));
    return "Basic " + b64;
}

Url parse_url(const std::string& url) {
    Url u;
    const auto colon = url.find("://");
    if (colon == std::string::npos) throw FetchError(url + ": not an http:// or https:// URL");
    u.scheme = text::ascii_lower(url.substr(0, colon));
    const auto host_start = colon + 3;
    const auto path_start = url.find_first_of("/?#", host_start);
    std::string authority = url.substr(host_start, path_start == std::string::npos ? std::string::npos : path_start - host_start);
    if (const auto at = authority.rfind('@'); at != std::string::npos) {
        u.userinfo = text::percent_decode(authority.substr(0, at));
        authority = authority.substr(at + 1);
    }
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
    if (u.scheme != "http" && u.scheme != "https")
        throw FetchError(url + ": scheme " + u.scheme + " is not supported (http:// and https:// only)");
    if (u.host.empty()) throw FetchError(url + ": no host in the URL");
    if (u.port.empty()) u.port = u.tls() ? "443" : "80";
    return u;
}

// A failed attempt: `retry` when another attempt may succeed (connection, timeout, 429, 5xx).
struct AttemptError {
    std::string reason;
    bool retry;
    std::chrono::milliseconds retry_after{0};
};

bool retryable_status(int status) { return status == 429 || status >= 500; }

bool is_ip_address(const std::string& host) {
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

// OpenSSL 3 reports a peer that closed without close_notify as this error, older ones as stream_truncated.
bool tls_truncated(const beast::error_code& ec) {
    if (ec == ssl::error::stream_truncated) return true;
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
    if (ec.category() == asio::error::get_ssl_category() && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
                                                                 SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return true;
#endif
    return false;
}

// What one attempt shares with its asynchronous steps.
struct Exchange {
    http::request<http::string_body> req;
    http::response_parser<http::string_body> parser;
    beast::flat_buffer buffer;
    std::size_t max_body = 0;
    const char* stage = "connect";
    beast::error_code ec;
    // An https:// request through a proxy: the CONNECT exchange before the TLS handshake.
    http::request<http::empty_body> tunnel_req;
    std::optional<http::response_parser<http::empty_body>> tunnel_res;
    beast::flat_buffer tunnel_buffer;
    int tunnel_status = 0;
};

// Asks the proxy for a tunnel to the request's host (CONNECT host:port), then calls `then` once it answers 2xx.
template <class Then>
void open_tunnel(beast::tcp_stream& stream, Exchange& x, const std::string& authority, const std::string& credentials, Then then) {
    x.stage = "proxy CONNECT";
    x.tunnel_req = http::request<http::empty_body>(http::verb::connect, authority, 11);
    x.tunnel_req.set(http::field::host, authority);
    if (!credentials.empty()) x.tunnel_req.set(http::field::proxy_authorization, credentials);
    x.tunnel_res.emplace();
    x.tunnel_res->skip(true);  // a CONNECT answer has no body: what follows is the tunnel
    http::async_write(stream, x.tunnel_req, [&stream, &x, then](beast::error_code e, std::size_t) {
        if ((x.ec = e)) return;
        http::async_read_header(stream, x.tunnel_buffer, *x.tunnel_res, [&x, then](beast::error_code e2, std::size_t) {
            if ((x.ec = e2)) return;
            x.tunnel_status = static_cast<int>(x.tunnel_res->get().result_int());
            if (x.tunnel_status / 100 != 2) {
                x.ec = asio::error::connection_refused;
                return;
            }
            then();
        });
    });
}

// Once connected (and, for https, after the handshake): send, read the header, refuse an announced
// body over the limit before any of it is read, read the body. Plain TCP and TLS streams alike.
template <class Stream>
void send_and_read(Stream& stream, Exchange& x) {
    x.stage = "send";
    http::async_write(stream, x.req, [&stream, &x](beast::error_code e, std::size_t) {
        if ((x.ec = e)) return;
        x.stage = "read";
        http::async_read_header(stream, x.buffer, x.parser, [&stream, &x](beast::error_code e2, std::size_t) {
            if ((x.ec = e2)) return;
            if (x.parser.content_length() && *x.parser.content_length() > x.max_body) {
                x.ec = http::error::body_limit;
                return;
            }
            http::async_read(stream, x.buffer, x.parser, [&x](beast::error_code e3, std::size_t) { x.ec = e3; });
        });
    });
}

}  // namespace

struct HttpClient::Tls {
    ssl::context context{ssl::context::tls_client};
};

HttpClient::Tls& HttpClient::tls() {
    if (tls_) return *tls_;
    auto t = std::make_unique<Tls>();
    // TLS 1.0 and 1.1 are deprecated (RFC 8996): a partner still on them is refused, not downgraded to.
    SSL_CTX_set_min_proto_version(t->context.native_handle(), TLS1_2_VERSION);
    beast::error_code ec;
    t->context.set_default_verify_paths(ec);  // the system store (ca-certificates on Debian)
    if (ec) throw FetchError("cannot load the system CA certificates: " + ec.message());
    if (!options_.ca_file.empty()) {
        t->context.load_verify_file(options_.ca_file, ec);
        if (ec) throw FetchError(options_.ca_file + ": cannot load the CA file: " + ec.message());
    }
    t->context.set_verify_mode(ssl::verify_peer);
    tls_ = std::move(t);
    return *tls_;
}

std::string HttpResponse::charset() const {
    const std::string* ct = header("content-type");
    if (!ct) return {};
    const std::string v = text::ascii_lower(*ct);
    const auto at = v.find("charset=");
    if (at == std::string::npos) return {};
    std::string cs = v.substr(at + 8);
    cs = cs.substr(0, cs.find_first_of("; "));
    cs.erase(std::remove(cs.begin(), cs.end(), '"'), cs.end());
    return cs;
}

namespace {

std::string environment(const char* name, const char* upper) {
    const char* v = std::getenv(name);
    if (!v || !*v) v = std::getenv(upper);
    return v ? v : "";
}

bool is_loopback(const std::string& host) {
    if (text::ascii_lower(host) == "localhost") return true;
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    return !ec && address.is_loopback();
}

// NO_PROXY: comma-separated hosts (a leading dot or "*." allowed), each matching itself and its subdomains.
bool bypassed(const std::string& host, const std::string& no_proxy) {
    const std::string h = text::ascii_lower(host);
    std::size_t start = 0;
    while (start <= no_proxy.size()) {
        std::size_t end = no_proxy.find(',', start);
        if (end == std::string::npos) end = no_proxy.size();
        std::string entry = text::ascii_lower(text::trim(no_proxy.substr(start, end - start)));
        start = end + 1;
        if (entry == "*") return true;
        if (entry.rfind("*.", 0) == 0) entry.erase(0, 1);
        if (!entry.empty() && entry[0] == '.') entry.erase(0, 1);
        if (entry.empty()) continue;
        if (h == entry || (h.size() > entry.size() && h.compare(h.size() - entry.size(), entry.size(), entry) == 0 &&
                           h[h.size() - entry.size() - 1] == '.'))
            return true;
    }
    return false;
}

// proxy_for, for a URL already parsed.
std::string proxy_of(const Url& u, const std::string& configured) {
    if (!configured.empty()) return normalise_proxy(configured);
    if (is_loopback(u.host)) return {};
    const std::string proxy = u.tls() ? environment("https_proxy", "HTTPS_PROXY") : environment("http_proxy", "HTTP_PROXY");
    if (proxy.empty() || bypassed(u.host, environment("no_proxy", "NO_PROXY"))) return {};
    return normalise_proxy(proxy);
}

}  // namespace

std::string normalise_proxy(const std::string& proxy) {
    std::string out = proxy.find("://") == std::string::npos ? "http://" + proxy : proxy;  // host:port, as curl takes it
    if (out.rfind("http://", 0) != 0 && out.rfind("HTTP://", 0) != 0)
        throw FetchError("proxy " + redacted(out) + ": only http:// proxies are supported");
    try {
        parse_url(out);
    } catch (const FetchError&) {
        throw FetchError("proxy " + redacted(out) + ": not a proxy URL (http://host:port)");
    }
    return out;
}

std::string proxy_for(const std::string& url, const std::string& configured) { return proxy_of(parse_url(url), configured); }

namespace {

// Where one URL's requests go: the partner itself, or the proxy before it.
struct Hop {
    Url url;
    std::optional<Url> via;
    std::string proxy_credentials;  // Proxy-Authorization for the proxy, empty when its URL has none

    const std::string& peer_host() const { return via ? via->host : url.host; }
    const std::string& peer_port() const { return via ? via->port : url.port; }
    std::string peer() const { return std::string(via ? "proxy " : "") + peer_host() + ":" + peer_port(); }
    // What a CONNECT asks the proxy for: host:port, an IPv6 host in brackets.
    std::string authority() const {
        return (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) + ":" + url.port;
    }
};

Hop hop_to(const Url& u, const std::string& configured_proxy) {
    Hop hop{u, std::nullopt, {}};
    if (const std::string proxy = proxy_of(u, configured_proxy); !proxy.empty()) hop.via = parse_url(proxy);
    if (hop.via) hop.proxy_credentials = proxy_authorization(hop.via->userinfo);
    return hop;
}

http::request<http::string_body> request_for(const Hop& hop, const HttpRequest& request, const std::string& method,
                                             const std::string& user_agent) {
    const Url& u = hop.url;
    http::request<http::string_body> req;
    req.version(11);
    // Through a proxy, a plain http:// request names its whole URL (RFC 9112, absolute form).
    req.target(hop.via && !u.tls() ? u.scheme + "://" + u.host_header() + u.target : u.target);
    if (hop.via && !u.tls() && !hop.proxy_credentials.empty()) req.set(http::field::proxy_authorization, hop.proxy_credentials);
    if (http::string_to_verb(method) == http::verb::unknown) req.method_string(method);
    else req.method(http::string_to_verb(method));
    req.set(http::field::host, u.host_header());
    req.set(http::field::user_agent, user_agent);
    req.set(http::field::accept_encoding, "gzip");
    req.set(http::field::connection, "close");
    for (const auto& [k, v] : request.headers) req.set(k, v);
    if (!request.body.empty() || method == "POST") {
        req.body() = request.body;
        req.prepare_payload();
    }
    return req;
}

// SNI names the virtual host (never an IP literal, RFC 6066); the certificate must match the URL's host:
// its DNS names, or its IP addresses when the URL gives one.
void verify_host(beast::ssl_stream<beast::tcp_stream>& secure, const std::string& host) {
    SSL* ssl_handle = secure.native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (is_ip_address(host)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
        SSL_set_tlsext_host_name(ssl_handle, host.c_str());
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    }
}

// Connects to the hop's peer (for https://, through the proxy's tunnel when there is one, then the TLS
// handshake), sends the request and reads the answer: x.ec and x.stage say how far it went.
void connect(asio::io_context& ioc, const Hop& hop, std::optional<beast::tcp_stream>& plain,
             std::optional<beast::ssl_stream<beast::tcp_stream>>& secure, Exchange& x, std::chrono::milliseconds timeout) {
    beast::tcp_stream& tcp_layer = secure ? beast::get_lowest_layer(*secure) : *plain;
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    const auto endpoints = resolver.resolve(hop.peer_host(), hop.peer_port(), ec);
    if (ec) throw AttemptError{std::string("cannot resolve ") + (hop.via ? "proxy " : "") + hop.peer_host() + ": " + ec.message(), true};
    // One deadline covers the whole attempt: connect, TLS handshake, send, and the read of the full
    // answer. Beast enforces it on asynchronous operations only, hence the chain run to completion here.
    tcp_layer.expires_after(timeout);
    const auto handshake_and_send = [&] {
        x.stage = "TLS handshake";
        secure->async_handshake(ssl::stream_base::client, [&](beast::error_code e2) {
            if ((x.ec = e2)) return;
            send_and_read(*secure, x);
        });
    };
    tcp_layer.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
        if ((x.ec = e)) return;
        if (!secure) return send_and_read(*plain, x);
        if (hop.via) return open_tunnel(tcp_layer, x, hop.authority(), hop.proxy_credentials, handshake_and_send);
        handshake_and_send();
    });
    ioc.run();
}

// An exchange that did not end with a whole answer, as the AttemptError saying why (and whether to retry).
void throw_if_failed(const Exchange& x, const Hop& hop, beast::ssl_stream<beast::tcp_stream>* secure,
                     const HttpOptions& o) {
    const beast::error_code ec = x.ec;
    const std::string at = x.stage;
    if (ec == beast::error::timeout)
        throw AttemptError{"timed out after " + std::to_string(o.timeout.count()) + " ms (" + at + ")", true};
    if (ec == http::error::body_limit) throw AttemptError{"body exceeds " + std::to_string(o.max_body) + " bytes", false};
    if (at == "connect" && ec) throw AttemptError{"cannot connect to " + hop.peer() + ": " + ec.message(), true};
    if (at == "proxy CONNECT" && ec) {
        if (x.tunnel_status)
            throw AttemptError{hop.peer() + " refused the tunnel to " + hop.authority() + ": HTTP " + std::to_string(x.tunnel_status),
                               retryable_status(x.tunnel_status)};
        throw AttemptError{hop.peer() + ": no tunnel to " + hop.authority() + ": " + ec.message(), true};
    }
    if (at == "TLS handshake" && ec) {
        // A certificate that fails verification is never accepted, and retrying will not change it.
        const long verify = SSL_get_verify_result(secure->native_handle());
        if (verify != X509_V_OK)
            throw AttemptError{std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify), false};
        const bool protocol = ec.category() == asio::error::get_ssl_category();
        throw AttemptError{"TLS handshake with " + hop.url.host + ":" + hop.url.port + " failed: " + ec.message(), !protocol};
    }
    if (at == "send" && ec) throw AttemptError{"cannot send the request: " + ec.message(), true};
    if (ec == http::error::partial_message || (ec == http::error::end_of_stream && x.parser.is_header_done()) ||
        (tls_truncated(ec) && x.parser.is_header_done()))
        throw AttemptError{"truncated body: the connection closed before the announced Content-Length", true};
    if (ec) throw AttemptError{"cannot read the answer: " + ec.message(), true};
    if (x.parser.get().body().size() > o.max_body) throw AttemptError{"body exceeds " + std::to_string(o.max_body) + " bytes", false};
}

// One attempt on a new connection: the whole answer, or an AttemptError. `tls` is the client's context for https://.
http::response<http::string_body> attempt(const Hop& hop, const HttpRequest& request, const std::string& method,
                                          const HttpOptions& o, ssl::context* tls) {
    asio::io_context ioc;
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    if (tls) secure.emplace(ioc, *tls);
    else plain.emplace(ioc);
    beast::tcp_stream& tcp_layer = secure ? beast::get_lowest_layer(*secure) : *plain;
    Exchange x;
    x.max_body = o.max_body;
    x.parser.body_limit(o.max_body);
    x.parser.header_limit(64 * 1024);
    beast::error_code ec;
    try {
        x.req = request_for(hop, request, method, o.user_agent);
        if (secure) verify_host(*secure, hop.url.host);
        connect(ioc, hop, plain, secure, x, o.timeout);
        throw_if_failed(x, hop, secure ? &*secure : nullptr, o);
    } catch (AttemptError&) {
        tcp_layer.socket().close(ec);
        throw;
    }
    // The whole answer is read and we asked for Connection: close: no TLS close_notify exchange to wait for.
    tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_layer.socket().close(ec);
    return x.parser.release();
}

// Exponential back-off before a retry, or the partner's own Retry-After when it asks for longer (capped);
// then the client's request rate.
void pace(const HttpOptions& o, int attempt_no, const AttemptError& last, std::chrono::steady_clock::time_point& last_request) {
    if (attempt_no > 0) {
        auto wait = o.backoff * (1 << std::min(attempt_no - 1, 16));
        wait = std::max(wait, std::min(last.retry_after, std::chrono::milliseconds(60000)));
        std::this_thread::sleep_for(wait);
    }
    if (o.requests_per_second > 0) {
        const auto gap = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(1.0 / o.requests_per_second));
        const auto next = last_request + gap;
        if (next > std::chrono::steady_clock::now()) std::this_thread::sleep_until(next);
    }
    last_request = std::chrono::steady_clock::now();
}

bool is_redirect(int status) { return status >= 300 && status < 400 && status != 304; }

// Where a 3xx answer to `url` sends us; throws FetchError (after `what`) for a redirect that is not followed.
std::string redirect(const HttpResponse& out, const Url& u, const std::string& url, int redirects, int max_redirects,
                     const std::string& what) {
    const std::string* location = out.header("location");
    if (!location) throw FetchError(what + "HTTP " + std::to_string(out.status) + " without a Location header");
    if (redirects >= max_redirects) throw FetchError(what + "more than " + std::to_string(max_redirects) + " redirects");
    std::string to = url::resolve(url, *location);
    // What TLS guaranteed (whose data, unaltered) would be lost without a word: refused, as the report says.
    if (u.tls() && text::ascii_lower(to).rfind("http://", 0) == 0)
        throw FetchError(what + "refusing the redirect to " + to + " (from https:// down to http://)");
    return to;
}

// The body as sent, inflated when it came gzip- or deflate-encoded: never past the decoded limit (nor max_body).
void decode(HttpResponse& out, const HttpOptions& o, const std::string& what) {
    const std::string* enc = out.header("content-encoding");
    if (!enc) return;
    const std::string e = text::ascii_lower(*enc);
    if (e == "gzip" || e == "x-gzip" || e == "deflate") {
        try {
            out.body = gzip_decompress(out.body, std::min(o.max_body, o.max_decoded_body));
        } catch (const std::exception& ex) {
            throw FetchError(what + "cannot decode the " + e + " body: " + ex.what());
        }
    } else if (e != "identity" && !e.empty()) {
        throw FetchError(what + "unsupported Content-Encoding " + *enc);
    }
}

}  // namespace

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) {}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

HttpResponse HttpClient::fetch(const HttpRequest& request) {
    std::string url = request.url;
    const std::string method = request.method.empty() ? "GET" : request.method;
    const auto what = [&] { return method + " " + url + ": "; };

    for (int redirects = 0;; ++redirects) {
        const Url u = parse_url(url);
        Hop hop;
        ssl::context* context = nullptr;
        try {
            hop = hop_to(u, options_.proxy);
            if (u.tls()) context = &tls().context;  // the CA store or file: not worth a retry
        } catch (FetchError& e) {
            throw FetchError(what() + e.what());
        }
        AttemptError last{"", false};
        std::optional<HttpResponse> redirected;
        for (int attempt_no = 0; attempt_no <= options_.max_retries && !redirected; ++attempt_no) {
            pace(options_, attempt_no, last, last_request_);
            http::response<http::string_body> res;
            try {
                res = attempt(hop, request, method, options_, context);
            } catch (AttemptError& e) {
                last = std::move(e);
                if (!last.retry) break;
                continue;
            }
            HttpResponse out;
            out.status = static_cast<int>(res.result_int());
            out.final_url = url;
            for (const auto& h : res) out.headers.emplace_back(text::ascii_lower(std::string(h.name_string())), std::string(h.value()));
            if (is_redirect(out.status)) {
                redirected = std::move(out);
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
            decode(out, options_, what());
            return out;
        }
        if (redirected) {
            url = redirect(*redirected, u, url, redirects, options_.max_redirects, what());
            continue;
        }
        if (last.retry && options_.max_retries > 0)
            throw FetchError(what() + last.reason + " after " + std::to_string(options_.max_retries) + " retries");
        throw FetchError(what() + last.reason);
    }
}

}  // namespace ideo::harvest
