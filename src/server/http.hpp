#pragma once
// The server's own HTTP vocabulary, free of Beast: requests as handlers see them, responses,
// query strings, routes and JSON errors. Pure functions, so unit tests need no socket.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ideo/core/access.hpp"
#include "ideo/core/url.hpp"

namespace ideo::server {

struct ServerOptions;

// Longest request target served; longer ones get 414 (the parser's header limit catches far longer).
inline constexpr std::size_t max_target_length = 8 * 1024;

inline constexpr const char* crs84_uri = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

// Query parameters in the order the client sent them, names and values percent-decoded.
class QueryParams {
public:
    using Entry = std::pair<std::string, std::string>;

    void add(std::string name, std::string value) { entries_.emplace_back(std::move(name), std::move(value)); }
    // Takes `name` out (its value, or nullopt when absent).
    std::optional<std::string> take(std::string_view name);
    const std::string* find(std::string_view name) const;
    const std::vector<Entry>& entries() const { return entries_; }
    bool empty() const { return entries_.empty(); }

    // The query string again ("a=1&b=x%20y"), with `name` set to `value` (appended when absent).
    std::string encode_with(std::string_view name, std::string_view value) const;
    std::string encode() const;

private:
    std::vector<Entry> entries_;
};

// A request error answered as {"code": ..., "description": ...} with its status.
class HttpError : public std::runtime_error {
public:
    HttpError(int status, std::string code, const std::string& description)
        : std::runtime_error(description), status_(status), code_(std::move(code)) {}
    int status() const { return status_; }
    const std::string& code() const { return code_; }

private:
    int status_;
    std::string code_;
};

// 400 InvalidParameterValue naming the parameter: "limit: must be an integer from 1 to 10000, got '-1'".
[[noreturn]] void throw_bad_parameter(std::string_view name, std::string_view why);

// Decodes %XX escapes (and '+' as space when form_encoded); throws HttpError 400 on a broken escape.
std::string percent_decode(std::string_view s, bool form_encoded);
// Encodes everything but RFC 3986 unreserved characters.
using url::percent_encode;  // RFC 3986 unreserved characters kept

// Parses "a=1&b=x%20y"; empty pieces are skipped; a repeated name is a 400 naming it.
QueryParams parse_query(std::string_view query);

struct Request {
    std::string method;  // "GET", "HEAD", ...
    std::string path;    // the raw path, before '?'
    QueryParams query;
    std::string host;    // the Host header, for absolute links ("" = relative links)
    std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
    std::string body;
    const ServerOptions* options = nullptr;  // the server's configuration (static folders, admin hooks)
    // Who is asking, decided once per request from its credential (auth.cpp); never null.
    const access::Identity* caller = &access::anonymous();
    // Which of the server's own tokens the credential was: they open /admin/harvest and /metrics, and
    // identify nobody (caller stays anonymous).
    enum class Token { None, Admin, Metrics } token = Token::None;
    // The key the client sent as ?apikey= (taken out of `query`, so no service sees it as a parameter),
    // carried into the links of the answer: QGIS follows them without adding it back.
    std::string apikey;

    // "http://host" or "" when the client sent no Host.
    std::string base_url() const;
    // A request header by lower-case name, or null.
    const std::string* header(std::string_view name) const;
    // The query string of a link to the same resource: `query` with `name` set to `value` (appended when
    // absent; nothing changed when empty), and apikey when the request came with one.
    std::string link_query(std::string_view name = {}, std::string_view value = {}) const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// Splits the target into path and decoded query; 414 for an overlong target, 400 for a broken one.
Request parse_request(std::string_view method, std::string_view target, std::string_view host);

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // beyond the ones every response gets
};

Response json_error(int status, std::string_view code, std::string_view description);
Response error_response(const HttpError& e);

enum class Endpoint { NotFound, MethodNotAllowed, Health, Landing, Conformance, Api, Queryables, Collections, Collection, Items, Item, DeciExtract,
                      CollectionTilesets, CollectionTileset, CollectionTile, XyzTile, TileJson, Style, TileMatrixSets, TileMatrixSet,
                      Glyphs, Sprite,
                      MapPage, MapEmbed, MapAsset, CommuneSearch,
                      DeciExtractMany, DeciArrete, DeciCoverage, DeciSchema, DeciCommune, DeciCheck,
                      CatalogRecords, CatalogRecord, CatalogDcat, WhoAmI, Preflight, AdminHarvest, Metrics };  // Metrics stays last (metrics.cpp sizes its arrays by it)

struct Route {
    Endpoint endpoint = Endpoint::NotFound;
    std::string layer, id;       // /collections/{layer}/items/{id}
    std::string insee, format;   // /deci/communes/{insee}/extract.{format}
    std::string layers;                  // /tiles/{layers}/..., /tiles/{layers}.json: comma-separated
    std::string matrix_set;              // /collections/{layer}/tiles/{matrix_set}/..., /tileMatrixSets/{matrix_set}
    std::string tile_z, tile_x, tile_y;  // raw path segments, validated by the tiles service
    std::string style;                   // /styles/{style}
    std::string sprite;                  // /styles/sprites/{sprite}
    std::string fontstack, glyph_range;  // /fonts/{fontstack}/{glyph_range}
    std::vector<std::string> asset;      // /map/{asset...}: decoded segments below the built page, checked by static_file
    bool heavy = false;  // can take more than a few milliseconds (extracts, arrêté, coverage, check): answered by the worker pool
};

// Matches a path (segments percent-decoded) to an endpoint; GET and HEAD only.
Route route(std::string_view method, std::string_view path);

// JSON output helpers: strings escaped, numbers in their shortest round-trip form, non-finite as null.
void append_json_string(std::string& out, std::string_view s);
void append_json_number(std::string& out, double v);
void append_json_number(std::string& out, std::int64_t v);

}  // namespace ideo::server
