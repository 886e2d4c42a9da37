// Path dispatch: which service answers a request. Every error becomes a JSON response here.
#include <exception>
#include <optional>
#include <string>

#include "auth.hpp"
#include "http.hpp"
#include "metrics.hpp"
#include "services.hpp"

#include <algorithm>
#include <cctype>

#include "ideo/core/gzip.hpp"
#include "ideo/core/text.hpp"

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

const std::string* response_header(const Response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
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

}  // namespace

std::string snapshot_etag(const index::Snapshot& snapshot, std::string_view variant) {
    std::string tag = "\"v" + std::to_string(snapshot.version);
    if (!variant.empty()) {
        tag += '-';
        tag += variant;
    }
    return tag + '"';
}

Response handle_request(std::string_view method, std::string_view target, Headers headers, std::string body,
                        const index::Snapshot* snapshot, const ServerOptions* options, std::string_view client,
                        FailureLimiter* limiter) {
    std::string_view host;
    for (const auto& [k, v] : headers)
        if (k == "host") host = v;
    const RequestTimer timer;
    Request req;
    Route r;
    Response res;
    std::optional<access::Identity> caller;  // req.caller points here once a credential proved who is asking
    try {
        req = parse_request(method, target, host);
        req.headers = std::move(headers);
        req.body = std::move(body);
        req.options = options;
        r = route(req.method, req.path);
        if (auto refused = authenticate(req, caller, client, limiter)) {
            res = std::move(*refused);
        } else {
            res = finish(req, dispatch(req, r, snapshot));
            if (!req.caller->anonymous()) mark_private(res);
        }
    } catch (const HttpError& e) {
        res = error_response(e);
    } catch (const std::exception& e) {
        res = json_error(500, "ServerError", e.what());
    }
    record_request(r.endpoint, res.status, timer.seconds(), res.body.size());
    return res;
}

// Which service answers: thrown HttpErrors are rendered by handle_request.
Response dispatch(const Request& req, const Route& r, const index::Snapshot* snapshot) {
    if (r.endpoint == Endpoint::NotFound)
        throw HttpError(404, "NotFound", "no resource at '" + req.path.substr(0, 200) + "'");
    if (r.endpoint == Endpoint::MethodNotAllowed) {
        Response res = json_error(405, "MethodNotAllowed", "method " + req.method + " not allowed; use GET or HEAD");
        res.headers.emplace_back("Allow", "GET, HEAD");
        return res;
    }
    if (r.endpoint == Endpoint::AdminHarvest) return admin_harvest(req);  // needs no snapshot either
    if (r.endpoint == Endpoint::Metrics) return metrics(req, snapshot);
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
