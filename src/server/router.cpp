// Path dispatch: which service answers a request. Every error becomes a JSON response here.
#include <cstdio>
#include <exception>
#include <optional>
#include <iostream>
#include <random>
#include <string>

#include "auth.hpp"
#include "http.hpp"
#include "metrics.hpp"
#include "services.hpp"

#include <algorithm>
#include <cctype>

#include "ideo/core/gzip.hpp"
#include "ideo/core/text.hpp"
#include "ideo/index/view.hpp"

namespace ideo::server {

Response dispatch(const Request& req, const Route& r, const index::Snapshot* snapshot);

namespace {

bool etag_matches(const std::string& if_none_match, const std::string& etag) {
    if (if_none_match == "*") return true;
    std::size_t pos = 0;
    while (pos < if_none_match.size()) {
        std::size_t end = if_none_match.find(',', pos);
        if (end == std::string::npos) end = if_none_match.size();
        std::string tag = text::trim(std::string_view(if_none_match).substr(pos, end - pos));
        if (tag.rfind("W/", 0) == 0) tag = tag.substr(2);  // weak comparison, as RFC 9110 asks for GET
        if (tag == etag || "W/" + tag == etag) return true;
        pos = end + 1;
    }
    return false;
}

bool compressible(const std::string& content_type) {
    return content_type.find("json") != std::string::npos || content_type.rfind("text/", 0) == 0 ||
           content_type.find("javascript") != std::string::npos || content_type.find("xml") != std::string::npos ||
           content_type.find("vnd.mapbox-vector-tile") != std::string::npos;
}

// The value of header `name` (lower case) in a response being finished, for reading or amending.
std::string* response_header(Response& r, std::string_view name) {
    for (auto& [k, v] : r.headers)
        if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == b;
            }))
            return &v;
    return nullptr;
}

// Conditional GET and compression, the same for every service.
Response finish(const Request& req, Response res) {
    if (res.status == 200) {
        const std::string* etag = response_header(res, "etag");
        const std::string* inm = req.header("if-none-match");
        if (etag && inm && etag_matches(*inm, *etag)) {
            res.status = 304;
            res.body.clear();
            return res;
        }
    }
    const std::string* ae = req.header("accept-encoding");
    if (ae && ae->find("gzip") != std::string::npos && res.body.size() >= 1024 && compressible(res.content_type) &&
        !response_header(res, "content-encoding")) {
        res.body = gzip_compress(res.body, 5);
        res.headers.emplace_back("Content-Encoding", "gzip");
    }
    if (compressible(res.content_type)) res.headers.emplace_back("Vary", "Accept-Encoding");
    return res;
}

// Answers that depend on who asks (RFC 9111): shared caches key them by Authorization, and keep none of
// an identified caller's; extracts are stored nowhere.
// What an answer's caches must know of who asked: an identified caller's answer is private (auth.cpp's
// mark_private, extracts and the order not stored at all); once a layer has an access policy, the public
// answer varies with the credential too, so no cache hands it to, or takes it from, an identified caller.
void mark_caller_dependent(Response& res, const Route& r, const Request& req, const index::Snapshot* snapshot) {
    if (!req.caller->anonymous()) {
        mark_private(res);
        const bool extract = r.endpoint == Endpoint::DeciExtract || r.endpoint == Endpoint::DeciExtractMany ||
                             r.endpoint == Endpoint::DeciArrete;
        if (extract)
            if (std::string* cc = response_header(res, "cache-control")) *cc = "private, no-store";
        return;
    }
    if (!snapshot || std::none_of(snapshot->layers.begin(), snapshot->layers.end(),
                                  [](const auto& l) { return l.second.spec.access.declared; }))
        return;
    if (std::string* vary = response_header(res, "vary")) *vary += ", Authorization, X-API-Key";
    else res.headers.emplace_back("Vary", "Authorization, X-API-Key");
}

}  // namespace

std::string snapshot_etag(const index::Snapshot& snapshot, std::string_view variant) {
    std::string tag = "\"v" + std::to_string(snapshot.version);
    if (!snapshot.view.empty()) tag += "." + snapshot.view;  // one view's answers never match another's
    if (!variant.empty()) {
        tag += '-';
        tag += variant;
    }
    return tag + '"';
}

RoutedRequest route_request(std::string_view method, std::string_view target, Headers headers, std::string body,
                            const ServerOptions* options, std::string_view client, FailureLimiter* limiter,
                            const access::Identity* as) {
    RoutedRequest routed;
    routed.timer = std::make_unique<RequestTimer>();
    std::string_view host;
    for (const auto& [k, v] : headers)
        if (k == "host") host = v;
    try {
        routed.request = parse_request(method, target, host);
        routed.request.headers = std::move(headers);
        routed.request.body = std::move(body);
        routed.request.options = options;
        routed.route = route(routed.request.method, routed.request.path);
        if (as) routed.request.caller = as;
        else routed.refused = authenticate(routed.request, routed.caller, client, limiter);
    } catch (const HttpError& e) {
        routed.refused = error_response(e);
    } catch (const std::exception& e) {  // the key store did not answer: nobody is served as someone else
        std::cerr << "ideo serve: cannot check a credential: " << e.what() << std::endl;
        routed.refused = json_error(503, "ServiceUnavailable", "credentials cannot be checked right now; retry in a moment");
        routed.refused->headers.emplace_back("Retry-After", "2");
    }
    return routed;
}

namespace {

Response internal_error(const RoutedRequest& routed, std::string_view detail) {
    // The client learns an id to quote; the detail (file paths, SQL errors) goes to the log only.
    thread_local std::mt19937_64 random{std::random_device{}()};
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(random()));
    std::cerr << "ideo serve: request " << id << " " << routed.request.method << " " << routed.request.path.substr(0, 200)
              << ": internal error: " << detail << std::endl;
    Response r = json_error(500, "internal_error", std::string("internal error, request id ") + id);
    r.headers.emplace_back("X-Request-Id", id);
    return r;
}

}  // namespace

Response answer(RoutedRequest& routed, const index::Snapshot* snapshot) {
    Response res;
    if (routed.refused) {
        res = std::move(*routed.refused);
    } else {
        try {
            res = finish(routed.request, dispatch(routed.request, routed.route, snapshot));
        } catch (const HttpError& e) {
            res = e.status() == 500 ? internal_error(routed, e.what()) : error_response(e);
            if (e.status() == 401) res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ideo\"");
        } catch (const std::exception& e) {
            res = internal_error(routed, e.what());
        }
    }
    mark_caller_dependent(res, routed.route, routed.request, snapshot);
    record_request(routed.route.endpoint, res.status, routed.timer->seconds(), res.body.size());
    routed.timer.reset();
    return res;
}

Response handle_request(std::string_view method, std::string_view target, Headers headers, std::string body,
                        const index::Snapshot* snapshot, const ServerOptions* options, std::string_view client,
                        FailureLimiter* limiter) {
    RoutedRequest routed = route_request(method, target, std::move(headers), std::move(body), options, client, limiter);
    return answer(routed, snapshot);
}

Response handle_request(std::string_view method, std::string_view target, Headers headers, std::string body,
                        const index::Snapshot* snapshot, const ServerOptions* options, const access::Identity* caller) {
    RoutedRequest routed = route_request(method, target, std::move(headers), std::move(body), options, {}, nullptr,
                                         caller ? caller : &access::anonymous());
    return answer(routed, snapshot);
}

// Which service answers: thrown HttpErrors are rendered by handle_request.
Response dispatch(const Request& req, const Route& r, const index::Snapshot* full) {
    // The one access decision: every service below reads the snapshot as this caller may read it.
    const std::shared_ptr<const index::Snapshot> view = full ? index::view_of(*full, *req.caller) : nullptr;
    const index::Snapshot* snapshot = view.get();
    if (r.endpoint == Endpoint::NotFound)
        throw HttpError(404, "NotFound", "no resource at '" + req.path.substr(0, 200) + "'");
    if (r.endpoint == Endpoint::MethodNotAllowed) {
        Response res = json_error(405, "MethodNotAllowed", "method " + req.method + " not allowed; use GET or HEAD");
        res.headers.emplace_back("Allow", "GET, HEAD");
        return res;
    }
    if (r.endpoint == Endpoint::AdminHarvest) return admin_harvest(req);  // needs no snapshot either
    if (r.endpoint == Endpoint::Metrics) return metrics(req, full);
    if (r.endpoint == Endpoint::WhoAmI) return whoami(req);
    if (r.endpoint == Endpoint::Preflight) return preflight(req);
    // The page itself needs no data: it loads, then asks the API.
    if (r.endpoint == Endpoint::MapPage || r.endpoint == Endpoint::MapEmbed || r.endpoint == Endpoint::MapAsset)
        return static_file(req, r);
    // Fonts and sprites come with the system and the code, not with the data.
    if (r.endpoint == Endpoint::Glyphs) return glyphs(req, r);
    if (r.endpoint == Endpoint::Sprite) return sprite(req, r);
    if (!snapshot) throw HttpError(503, "ServiceUnavailable", "no data loaded yet");
    switch (r.endpoint) {
        case Endpoint::Health: return health(req, *snapshot);
        case Endpoint::Landing: return landing(req, *snapshot);
        case Endpoint::Conformance: return conformance(req, *snapshot);
        case Endpoint::Api: return api(req, *snapshot);
        case Endpoint::Queryables: return queryables(req, *snapshot, r.layer);
        case Endpoint::Collections: return collections(req, *snapshot);
        case Endpoint::Collection: return collection(req, *snapshot, r.layer);
        case Endpoint::Items: return items(req, *snapshot, r.layer);
        case Endpoint::Item: return item(req, *snapshot, r.layer, r.id);
        case Endpoint::DeciExtract: return deci_extract(req, *snapshot, r.insee, r.format);
        case Endpoint::DeciExtractMany: return deci_extract_many(req, *snapshot, r.format);
        case Endpoint::DeciArrete: return deci_arrete(req, *snapshot, r.insee);
        case Endpoint::DeciCoverage: return deci_coverage(req, *snapshot, r.insee);
        case Endpoint::DeciSchema: return deci_schema(req, *snapshot, r.insee);
        case Endpoint::DeciCommune: return deci_commune(req, *snapshot, r.insee);
        case Endpoint::DeciCheck: return deci_check(req, *snapshot);
        case Endpoint::XyzTile: return xyz_tile(req, *snapshot, r);
        case Endpoint::CollectionTile: return collection_tile(req, *snapshot, r);
        case Endpoint::CollectionTilesets: return collection_tilesets(req, *snapshot, r);
        case Endpoint::CollectionTileset: return collection_tileset(req, *snapshot, r);
        case Endpoint::TileJson: return tilejson(req, *snapshot, r);
        case Endpoint::TileMatrixSets:
        case Endpoint::TileMatrixSet: return tile_matrix_sets(req, r);
        case Endpoint::Style: return style(req, r);
        case Endpoint::CommuneSearch: return communes_search(req, *snapshot);
        case Endpoint::CatalogRecords: return catalog_records(req, *snapshot);
        case Endpoint::CatalogRecord: return catalog_record(req, *snapshot, r.id);
        case Endpoint::CatalogDcat: return catalog_dcat(req, *snapshot);
        default: break;
    }
    throw HttpError(404, "NotFound", "no resource at '" + req.path.substr(0, 200) + "'");
}

}  // namespace ideo::server
