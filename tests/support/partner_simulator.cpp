// The partner simulator: a blocking Beast server, one thread per connection, one request per
// connection (Connection: close), so a fault such as a stall or a truncated body is exact.
// Over TLS the same session runs on an Asio SSL stream after a server handshake.
#include "partner_simulator.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <zlib.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>

#include "ideo/core/gzip.hpp"
#include "ideo/core/text.hpp"

namespace ideo::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct SimulatorIo {
    asio::io_context ioc;
    tcp::acceptor acceptor{ioc};
    std::set<int> open_fds;  // sessions in progress, shut down when the simulator stops
    std::optional<ssl::context> tls;  // set: every connection is TLS
};

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string url_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') out += ' ';
        else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else out += s[i];
    }
    return out;
}

std::string read_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("partner simulator: cannot read " + p.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string http_date(std::time_t t) {
    char buf[64];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

std::time_t parse_http_date(const std::string& s) {
    std::tm tm{};
    if (!strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm)) return -1;
    return timegm(&tm);
}

std::string content_type_of(const std::filesystem::path& p) {
    static const std::map<std::string, std::string> types = {
        {".geojson", "application/geo+json"}, {".json", "application/json"}, {".csv", "text/csv; charset=utf-8"},
        {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}, {".zip", "application/zip"},
        {".xml", "application/xml"}, {".rdf", "application/rdf+xml"}, {".ttl", "text/turtle"},
        {".jsonld", "application/ld+json"}, {".gpkg", "application/geopackage+sqlite3"}};
    const auto it = types.find(lower(p.extension().string()));
    return it == types.end() ? "application/octet-stream" : it->second;
}

const char* reason(int status) {
    switch (status) {
        case 200: return "OK";
        case 302: return "Found";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        default: return "Status";
    }
}

// The features of a GeoJSON file, each already serialised, and its "crs" member if any.
struct FeatureSource {
    std::vector<std::string> features;
    std::string crs;
};

std::shared_ptr<const FeatureSource> load_features(const std::filesystem::path& geojson) {
    const std::string text = read_bytes(geojson);
    rapidjson::Document d;
    d.Parse(text.c_str(), text.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("features"))
        throw std::runtime_error("partner simulator: " + geojson.string() + " is not a GeoJSON FeatureCollection");
    auto src = std::make_shared<FeatureSource>();
    const auto write = [](const rapidjson::Value& v) {
        rapidjson::StringBuffer sb;
        rapidjson::Writer<rapidjson::StringBuffer> w(sb);
        v.Accept(w);
        return std::string(sb.GetString(), sb.GetSize());
    };
    for (const auto& f : d["features"].GetArray()) src->features.push_back(write(f));
    if (d.HasMember("crs")) src->crs = write(d["crs"]);
    return src;
}

std::size_t number_param(const SimRequest& r, const std::string& name, std::size_t def) {
    const std::string v = r.param(name);
    if (v.empty()) return def;
    try {
        return static_cast<std::size_t>(std::stoull(v));
    } catch (const std::exception&) {
        throw std::invalid_argument(name);
    }
}

SimResponse bad_request(const std::string& why) {
    return {400, "application/json", {}, "{\"code\":\"InvalidParameterValue\",\"description\":\"" + why + "\"}"};
}

}  // namespace

std::map<std::string, std::string> SimRequest::parse_query(const std::string& query) {
    std::map<std::string, std::string> params;
    std::stringstream ss(query);
    for (std::string kv; std::getline(ss, kv, '&');) {
        if (kv.empty()) continue;
        const auto eq = kv.find('=');
        params[url_decode(kv.substr(0, eq))] = eq == std::string::npos ? "" : url_decode(kv.substr(eq + 1));
    }
    return params;
}

std::string SimRequest::param(const std::string& name) const {
    const std::string want = lower(name);
    for (const auto& [k, v] : params)
        if (lower(k) == want) return v;
    return {};
}

const std::string* SimRequest::header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
}

PartnerSimulator::PartnerSimulator(std::optional<TlsIdentity> tls) : io_(std::make_unique<SimulatorIo>()) {
    if (tls) {
        auto& ctx = io_->tls.emplace(ssl::context::tls_server);
        ctx.use_certificate_chain_file(tls->certificate_chain.string());
        ctx.use_private_key_file(tls->private_key.string(), ssl::context::pem);
        scheme_ = "https";
    }
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    io_->acceptor.open(ep.protocol());
    io_->acceptor.set_option(asio::socket_base::reuse_address(true));
    io_->acceptor.bind(ep);
    io_->acceptor.listen();
    port_ = io_->acceptor.local_endpoint().port();
    acceptor_ = std::thread([this] { accept_loop(); });
}

PartnerSimulator::~PartnerSimulator() {
    stopping_ = true;
    // Wake the blocking accept with one last connection, then unblock every session's read.
    try {
        asio::io_context ioc;
        tcp::socket s(ioc);
        s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    } catch (const std::exception&) {
    }
    acceptor_.join();
    std::vector<std::thread> sessions;
    {
        std::lock_guard lock(mutex_);
        for (int fd : io_->open_fds) ::shutdown(fd, SHUT_RDWR);
        sessions.swap(sessions_);
    }
    for (auto& t : sessions) t.join();
}

std::string PartnerSimulator::url(const std::string& path_and_query, const std::string& host) const {
    return scheme_ + "://" + host + ":" + std::to_string(port_) + path_and_query;
}

void PartnerSimulator::route(const std::string& path_prefix, SimHandler handler) {
    std::lock_guard lock(mutex_);
    for (auto& r : routes_)
        if (r.prefix == path_prefix) {
            r.handler = std::move(handler);
            return;
        }
    routes_.push_back({path_prefix, std::move(handler)});
}

std::string PartnerSimulator::gzip_bomb(const std::string& head, std::size_t filler, const std::string& tail) {
    // Raw deflate, each part ending on a full flush: the compressed MiB of spaces is then the same bytes every
    // time, repeated instead of compressed again. Header and trailer (CRC-32, size) are RFC 1952's.
    z_stream zs{};
    if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("gzip_bomb: deflateInit2");
    const auto deflated = [&](const std::string& in, int flush) {
        std::string out(deflateBound(&zs, static_cast<uLong>(in.size())) + 64, '\0');
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        zs.avail_in = static_cast<uInt>(in.size());
        zs.next_out = reinterpret_cast<Bytef*>(out.data());
        zs.avail_out = static_cast<uInt>(out.size());
        deflate(&zs, flush);
        out.resize(out.size() - zs.avail_out);
        return out;
    };
    const std::string mib(1u << 20, ' ');
    std::string out("\x1f\x8b\x08\0\0\0\0\0\0\xff", 10);
    out += deflated(head, Z_FULL_FLUSH);
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(head.data()), static_cast<uInt>(head.size()));
    const std::string block = deflated(mib, Z_FULL_FLUSH);
    const uLong block_crc = crc32(0, reinterpret_cast<const Bytef*>(mib.data()), static_cast<uInt>(mib.size()));
    for (std::size_t i = 0; i < filler >> 20; ++i) {
        out += block;
        crc = crc32_combine(crc, block_crc, static_cast<z_off_t>(mib.size()));
    }
    const std::string rest = std::string(filler & ((1u << 20) - 1), ' ') + tail;
    out += deflated(rest, Z_FINISH);
    deflateEnd(&zs);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(rest.data()), static_cast<uInt>(rest.size()));
    const std::uint64_t size = head.size() + filler + tail.size();
    for (int i = 0; i < 4; ++i) out += static_cast<char>((crc >> (8 * i)) & 0xff);
    for (int i = 0; i < 4; ++i) out += static_cast<char>((size >> (8 * i)) & 0xff);
    return out;
}

SimResponse PartnerSimulator::conditional(const SimRequest& req, std::string body, const std::string& content_type,
                                          const std::string& last_modified) {
    const std::string etag = "\"" + std::to_string(std::hash<std::string>{}(body)) + "-" + std::to_string(body.size()) + "\"";
    SimResponse res{200, content_type, {{"ETag", etag}, {"Last-Modified", last_modified}}, {}};
    // If-None-Match wins over If-Modified-Since when both are sent (RFC 9110, 13.2.2).
    if (const auto* inm = req.header("if-none-match")) {
        if (*inm == "*" || inm->find(etag) != std::string::npos) res.status = 304;
    } else if (const auto* ims = req.header("if-modified-since")) {
        const auto since = parse_http_date(*ims), modified = parse_http_date(last_modified);
        if (since >= 0 && modified >= 0 && modified <= since) res.status = 304;
    }
    if (res.status == 200) res.body = std::move(body);
    return res;
}

void PartnerSimulator::serve_bytes(const std::string& path, std::string bytes, const std::string& content_type,
                                   const std::string& last_modified) {
    auto shared = std::make_shared<const std::string>(std::move(bytes));
    route(path, [shared, content_type, last_modified, path](const SimRequest& r) {
        if (r.path != path) return SimResponse{404, "application/json", {}, "{\"code\":\"NotFound\"}"};
        return conditional(r, *shared, content_type, last_modified);
    });
}

void PartnerSimulator::serve_file(const std::string& path, const std::filesystem::path& file,
                                  const std::string& content_type) {
    struct stat st {};
    const std::time_t mtime = ::stat(file.c_str(), &st) == 0 ? st.st_mtime : std::time(nullptr);
    serve_bytes(path, read_bytes(file), content_type.empty() ? content_type_of(file) : content_type, http_date(mtime));
}

void PartnerSimulator::serve_wfs(const std::string& path, const std::string& type_name,
                                 const std::filesystem::path& geojson) {
    auto src = load_features(geojson);
    route(path, [src, type_name](const SimRequest& r) {
        if (lower(r.param("service")) != "wfs") return bad_request("service must be WFS");
        if (lower(r.param("request")) != "getfeature") return bad_request("request " + r.param("request") + " not served");
        const std::string type = r.param("typeNames").empty() ? r.param("typeName") : r.param("typeNames");
        if (type != type_name) return bad_request("unknown typeNames " + type);
        const std::string format = lower(r.param("outputFormat"));
        if (format.find("json") == std::string::npos) return bad_request("outputFormat " + format + " not served");
        std::size_t count = 0, start = 0;
        try {
            count = number_param(r, "count", number_param(r, "maxFeatures", src->features.size()));
            start = number_param(r, "startIndex", 0);
        } catch (const std::invalid_argument& e) {
            return bad_request(std::string(e.what()) + " is not a number");
        }
        const std::size_t end = std::min(src->features.size(), start + count);
        std::string body = "{\"type\":\"FeatureCollection\",";
        if (!src->crs.empty()) body += "\"crs\":" + src->crs + ",";
        // A real WFS stamps every answer: the harvester must not take the stamp for a change.
        body += "\"timeStamp\":\"" + ideo::text::now_iso8601() + "\",\"numberMatched\":" +
                std::to_string(src->features.size()) + ",\"numberReturned\":" +
                std::to_string(end > start ? end - start : 0) + ",\"features\":[";
        for (std::size_t i = start; i < end; ++i) body += (i > start ? "," : "") + src->features[i];
        body += "]}";
        return SimResponse{200, "application/json;charset=UTF-8", {}, std::move(body)};
    });
}

void PartnerSimulator::serve_oapif(const std::string& path, const std::string& collection,
                                   const std::filesystem::path& geojson) {
    auto src = load_features(geojson);
    const std::string items = path + "/collections/" + collection + "/items";
    route(items, [src, items, scheme = scheme_](const SimRequest& r) {
        if (r.path != items) return SimResponse{404, "application/json", {}, "{\"code\":\"NotFound\"}"};
        std::size_t limit = 0, offset = 0;
        try {
            limit = std::min<std::size_t>(number_param(r, "limit", 10), 10000);
            offset = number_param(r, "offset", 0);
        } catch (const std::invalid_argument& e) {
            return bad_request(std::string(e.what()) + " is not a number");
        }
        const std::size_t end = std::min(src->features.size(), offset + limit);
        const std::string* host = r.header("host");
        const std::string base = scheme + "://" + (host ? *host : std::string("127.0.0.1")) + items;
        std::string body = "{\"type\":\"FeatureCollection\",\"numberMatched\":" + std::to_string(src->features.size()) +
                           ",\"numberReturned\":" + std::to_string(end > offset ? end - offset : 0) + ",\"features\":[";
        for (std::size_t i = offset; i < end; ++i) body += (i > offset ? "," : "") + src->features[i];
        body += "],\"links\":[{\"rel\":\"self\",\"type\":\"application/geo+json\",\"href\":\"" + base + "?limit=" +
                std::to_string(limit) + "&offset=" + std::to_string(offset) + "\"}";
        if (end < src->features.size())
            body += ",{\"rel\":\"next\",\"type\":\"application/geo+json\",\"href\":\"" + base + "?limit=" +
                    std::to_string(limit) + "&offset=" + std::to_string(end) + "\"}";
        body += "]}";
        return SimResponse{200, "application/geo+json", {}, std::move(body)};
    });
}

void PartnerSimulator::fail(const std::string& path_prefix, FaultSpec fault) {
    std::lock_guard lock(mutex_);
    faults_[path_prefix] = {fault, fault.times};
}

void PartnerSimulator::clear_faults() {
    std::lock_guard lock(mutex_);
    faults_.clear();
}

std::size_t PartnerSimulator::requests(const std::string& path, int status) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& r : log_)
        if (r.path == path && (status < 0 || r.status == status)) ++n;
    return n;
}

std::vector<LoggedRequest> PartnerSimulator::log() const {
    std::lock_guard lock(mutex_);
    return log_;
}

void PartnerSimulator::reset_log() {
    std::lock_guard lock(mutex_);
    log_.clear();
}

void PartnerSimulator::accept_loop() {
    while (!stopping_) {
        beast::error_code ec;
        tcp::socket s(io_->ioc);
        io_->acceptor.accept(s, ec);
        if (stopping_) break;
        if (ec) continue;
        const int fd = s.release(ec);
        if (ec) continue;
        std::lock_guard lock(mutex_);
        io_->open_fds.insert(fd);
        sessions_.emplace_back([this, fd] { session(fd); });
    }
}

SimResponse PartnerSimulator::dispatch(const SimRequest& req) {
    SimHandler handler;
    {
        std::lock_guard lock(mutex_);
        std::size_t best = 0;
        for (const auto& r : routes_)
            if (req.path.rfind(r.prefix, 0) == 0 && r.prefix.size() >= best) {
                best = r.prefix.size();
                handler = r.handler;
            }
    }
    if (!handler) return {404, "application/json", {}, "{\"code\":\"NotFound\",\"description\":\"no route\"}"};
    try {
        return handler(req);
    } catch (const std::exception& e) {
        return {500, "text/plain", {}, e.what()};
    }
}

void PartnerSimulator::session(int fd) {
    asio::io_context ioc;
    beast::error_code ec;
    tcp::socket sock(ioc, tcp::v4(), fd);
    LoggedRequest logged;
    // Logged before the answer is written: a client that has its answer finds its request counted.
    const auto record = [&] {
        std::lock_guard lock(mutex_);
        if (!logged.path.empty()) log_.push_back(logged);
        logged.path.clear();
    };
    const auto finish = [&] {
        record();
        std::lock_guard lock(mutex_);
        io_->open_fds.erase(fd);
        sock.close(ec);
    };

    std::optional<ssl::stream<tcp::socket&>> tls;
    if (io_->tls) {
        // A client that refuses our certificate ends here: no request is logged, as none was sent.
        tls.emplace(sock, *io_->tls);
        tls->handshake(ssl::stream_base::server, ec);
        if (ec) return finish();
    }
    const auto write = [&](const std::string& bytes) {
        if (tls) asio::write(*tls, asio::buffer(bytes), ec);
        else asio::write(sock, asio::buffer(bytes), ec);
    };

    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    if (tls) http::read(*tls, buffer, parser, ec);
    else http::read(sock, buffer, parser, ec);
    if (ec) return finish();
    const auto& msg = parser.get();

    SimRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    const auto q = req.target.find('?');
    req.path = url_decode(req.target.substr(0, q));
    if (q != std::string::npos) {
        req.query = req.target.substr(q + 1);
        req.params = SimRequest::parse_query(req.query);
    }
    for (const auto& h : msg) req.headers[lower(std::string(h.name_string()))] = std::string(h.value());
    req.body = msg.body();
    logged.method = req.method;
    logged.path = req.path;
    logged.target = req.target;

    std::optional<FaultSpec> fault;
    {
        std::lock_guard lock(mutex_);
        std::size_t best = 0;
        ActiveFault* active = nullptr;
        for (auto& [prefix, f] : faults_)
            if (req.path.rfind(prefix, 0) == 0 && prefix.size() >= best && f.remaining != 0) {
                best = prefix.size();
                active = &f;
            }
        if (active) {
            fault = active->spec;
            if (active->remaining > 0) --active->remaining;
        }
    }

    if (fault && fault->kind == Fault::Stall) {
        // Answer nothing; end when the client gives up (it closes), the stall passes, or the simulator stops.
        const auto until = std::chrono::steady_clock::now() + stall_for;
        while (!stopping_ && std::chrono::steady_clock::now() < until) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 20) > 0) {
                char c;
                if (::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) break;
            }
        }
        return finish();
    }

    SimResponse res;
    if (fault && fault->kind == Fault::Status503) {
        res = SimResponse{503, "application/json", {}, "{\"code\":\"ServiceUnavailable\",\"description\":\"maintenance\"}"};
    } else if (fault && fault->kind == Fault::Redirect) {
        res = SimResponse{302, "text/plain", {{"Location", fault->location}}, "moved"};
    } else if (fault && fault->kind == Fault::WrongContentType) {
        res = SimResponse{200, "text/html; charset=utf-8", {},
               "<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>Portail en maintenance</h1>"
               "<p>Le service sera de retour dans quelques minutes.</p></body></html>"};
    } else {
        res = dispatch(req);
        if (fault && fault->kind == Fault::InvalidBody && res.status == 200) res.body.resize(res.body.size() / 2);
    }

    const bool truncated = fault && fault->kind == Fault::Truncated;
    std::string body = std::move(res.body);
    const auto* accept = req.header("accept-encoding");
    const bool encoded = std::any_of(res.headers.begin(), res.headers.end(), [](const auto& h) { return lower(h.first) == "content-encoding"; });
    if (!truncated && !encoded && gzip && res.status == 200 && body.size() > 1024 && accept && accept->find("gzip") != std::string::npos) {
        body = ideo::gzip_compress(body);
        res.headers.emplace_back("Content-Encoding", "gzip");
        logged.gzip = true;
    }
    std::string head = "HTTP/1.1 " + std::to_string(res.status) + " " + reason(res.status) + "\r\n";
    head += "Server: ideo-partner-simulator\r\nConnection: close\r\n";
    if (res.status != 304) head += "Content-Type: " + res.content_type + "\r\n";
    for (const auto& [k, v] : res.headers) head += k + ": " + v + "\r\n";
    head += "Content-Length: " + std::to_string(res.status == 304 ? 0 : body.size()) + "\r\n\r\n";
    if (res.status == 304) body.clear();
    if (truncated) body.resize(body.size() / 2);  // the announced length stays the full one
    else logged.status = res.status;
    record();
    write(head);
    if (!ec && !body.empty()) write(body);
    // No TLS close_notify: the answer's length is announced, and a truncated body must look truncated.
    sock.shutdown(tcp::socket::shutdown_send, ec);
    finish();
}

}  // namespace ideo::test
