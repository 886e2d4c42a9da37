#include "http.hpp"

#include <charconv>
#include <cmath>

namespace ideo::server {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = s.find(sep, start);
        parts.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    return parts;
}

// A short, printable excerpt of client input for error messages.
std::string excerpt(std::string_view s) {
    std::string out(s.substr(0, 80));
    if (s.size() > 80) out += "...";
    return out;
}

}  // namespace

const std::string* QueryParams::find(std::string_view name) const {
    for (const auto& [k, v] : entries_)
        if (k == name) return &v;
    return nullptr;
}

std::string QueryParams::encode_with(std::string_view name, std::string_view value) const {
    std::string out;
    bool replaced = false;
    for (const auto& [k, v] : entries_) {
        if (!out.empty()) out += '&';
        out += percent_encode(k);
        out += '=';
        if (k == name) {
            out += percent_encode(value);
            replaced = true;
        } else {
            out += percent_encode(v);
        }
    }
    if (!replaced && !name.empty()) {
        if (!out.empty()) out += '&';
        out += percent_encode(name);
        out += '=';
        out += percent_encode(value);
    }
    return out;
}

std::string QueryParams::encode() const { return encode_with({}, {}); }

std::optional<std::string> QueryParams::take(std::string_view name) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->first == name) {
            std::string value = std::move(it->second);
            entries_.erase(it);
            return value;
        }
    return std::nullopt;
}

std::string Request::link_query(std::string_view name, std::string_view value) const {
    std::string out = query.encode_with(name, value);
    if (!apikey.empty()) out += (out.empty() ? "apikey=" : "&apikey=") + percent_encode(apikey);
    return out;
}

void throw_bad_parameter(std::string_view name, std::string_view why) {
    std::string d(name);
    d += ": ";
    d += why;
    throw HttpError(400, "InvalidParameterValue", d);
}

std::string percent_decode(std::string_view s, bool form_encoded) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '%') {
            const bool complete = i + 2 < s.size();
            const int hi = complete ? hex_value(s[i + 1]) : -1;
            const int lo = complete ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                throw HttpError(400, "InvalidRequest", "broken percent-encoding in '" + excerpt(s) + "'");
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && form_encoded) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

QueryParams parse_query(std::string_view query) {
    QueryParams params;
    for (const std::string_view piece : split(query, '&')) {
        if (piece.empty()) continue;
        const std::size_t eq = piece.find('=');
        std::string name = percent_decode(piece.substr(0, eq), true);
        std::string value;
        try {
            if (eq != std::string_view::npos) value = percent_decode(piece.substr(eq + 1), true);
        } catch (const HttpError&) {
            if (name != "apikey") throw;
            throw HttpError(400, "InvalidRequest", "apikey: broken percent-encoding");  // a credential is never echoed
        }
        if (name.empty()) throw HttpError(400, "InvalidParameterValue", "a query parameter has no name");
        if (params.find(name)) throw_bad_parameter(name, "given more than once");
        params.add(std::move(name), std::move(value));
    }
    return params;
}

std::string Request::base_url() const { return host.empty() ? std::string() : "http://" + host; }

Request parse_request(std::string_view method, std::string_view target, std::string_view host) {
    if (target.size() > max_target_length)
        throw HttpError(414, "URITooLong",
                        "request target of " + std::to_string(target.size()) + " bytes exceeds the limit of " +
                            std::to_string(max_target_length));
    if (target.empty() || target.front() != '/')
        throw HttpError(400, "InvalidRequest", "request target must be an absolute path");
    Request r;
    r.method = std::string(method);
    const std::size_t q = target.find('?');
    r.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) r.query = parse_query(target.substr(q + 1));
    // Keep only characters a host[:port] may hold, so a hostile Host header cannot shape our links.
    for (const char c : host) {
        const auto u = static_cast<unsigned char>(c);
        if (is_unreserved(u) || c == ':' || c == '[' || c == ']') r.host += c;
    }
    return r;
}

const std::string* Request::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k == name) return &v;
    return nullptr;
}

Response json_error(int status, std::string_view code, std::string_view description) {
    Response r;
    r.status = status;
    r.body = "{\"code\":";
    append_json_string(r.body, code);
    r.body += ",\"description\":";
    append_json_string(r.body, description);
    r.body += '}';
    return r;
}

Response error_response(const HttpError& e) {
    Response r = json_error(e.status(), e.code(), e.what());
    return r;
}

Route route(std::string_view method, std::string_view path) {
    Route r;
    if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);  // "/collections/" is "/collections"
    if (path.empty() || path.front() != '/') return r;
    if (path == "/") {
        r.endpoint = method == "GET" || method == "HEAD" ? Endpoint::Landing
                     : method == "OPTIONS"                ? Endpoint::Preflight
                                                          : Endpoint::MethodNotAllowed;
        return r;
    }
    std::vector<std::string> seg;
    for (const std::string_view s : split(path.substr(1), '/')) seg.push_back(percent_decode(s, false));
    for (const auto& s : seg)
        if (s.empty()) return r;  // "//" never names a resource

    const auto n = seg.size();
    if (n == 1 && seg[0] == "conformance") {
        r.endpoint = Endpoint::Conformance;
    } else if (n == 1 && seg[0] == "api") {
        r.endpoint = Endpoint::Api;
    } else if (n == 1 && seg[0] == "health") {
        r.endpoint = Endpoint::Health;
    } else if (n == 1 && seg[0] == "metrics") {
        r.endpoint = Endpoint::Metrics;
    } else if (n == 1 && seg[0] == "whoami") {
        r.endpoint = Endpoint::WhoAmI;
    } else if (seg[0] == "collections") {
        if (n == 1) r.endpoint = Endpoint::Collections;
        else if (n == 2) r.endpoint = Endpoint::Collection;
        else if (n == 3 && seg[2] == "items") r.endpoint = Endpoint::Items;
        else if (n == 4 && seg[2] == "items") r.endpoint = Endpoint::Item;
        else if (n == 3 && seg[2] == "queryables") r.endpoint = Endpoint::Queryables;
        else if (n == 3 && seg[2] == "tiles") r.endpoint = Endpoint::CollectionTilesets;
        else if (n == 4 && seg[2] == "tiles") r.endpoint = Endpoint::CollectionTileset;
        else if (n == 7 && seg[2] == "tiles") r.endpoint = Endpoint::CollectionTile;
        if (n >= 4 && seg[2] == "tiles") r.matrix_set = seg[3];
        if (n == 7 && seg[2] == "tiles") {
            r.tile_z = seg[4];
            r.tile_y = seg[5];
            r.tile_x = seg[6];
        }
        if (n >= 2) r.layer = seg[1];
        if (n == 4) r.id = seg[3];
    } else if (seg[0] == "tiles" && n == 2 && seg[1].size() > 5 && seg[1].substr(seg[1].size() - 5) == ".json") {
        r.endpoint = Endpoint::TileJson;
        r.layers = seg[1].substr(0, seg[1].size() - 5);
    } else if (seg[0] == "tiles" && n == 5) {
        r.endpoint = Endpoint::XyzTile;  // /tiles/{layers}/{z}/{x}/{y}.mvt
        r.layers = seg[1];
        r.tile_z = seg[2];
        r.tile_x = seg[3];
        r.tile_y = seg[4];
    } else if (seg[0] == "styles" && n == 2) {
        r.endpoint = Endpoint::Style;
        r.style = seg[1];
    } else if (seg[0] == "styles" && n == 3 && seg[1] == "sprites") {
        r.endpoint = Endpoint::Sprite;  // /styles/sprites/{name}[@2x].{json,png}
        r.sprite = seg[2];
    } else if (seg[0] == "fonts" && n == 3) {
        r.endpoint = Endpoint::Glyphs;  // /fonts/{fontstack}/{start}-{end}.pbf
        r.fontstack = seg[1];
        r.glyph_range = seg[2];
    } else if (seg[0] == "tileMatrixSets" && n <= 2) {
        r.endpoint = n == 1 ? Endpoint::TileMatrixSets : Endpoint::TileMatrixSet;
        if (n == 2) r.matrix_set = seg[1];
    } else if (n == 4 && seg[0] == "deci" && seg[1] == "communes" && seg[3].rfind("extract.", 0) == 0 &&
               seg[3].size() > 8) {
        r.endpoint = Endpoint::DeciExtract;
        r.insee = seg[2];
        r.format = seg[3].substr(8);
    } else if (seg[0] == "deci" && n == 2 && seg[1].rfind("extract.", 0) == 0 && seg[1].size() > 8) {
        r.endpoint = Endpoint::DeciExtractMany;  // /deci/extract.{format}?insee=...|dept=...
        r.format = seg[1].substr(8);
    } else if (seg[0] == "deci" && n == 2 && seg[1] == "check") {
        r.endpoint = Endpoint::DeciCheck;
    } else if (seg[0] == "deci" && n == 3 && seg[1] == "communes") {
        r.endpoint = Endpoint::DeciCommune;
        r.insee = seg[2];
    } else if (seg[0] == "deci" && n == 4 && seg[1] == "communes" && (seg[3] == "arrete.docx" || seg[3] == "coverage" || seg[3] == "schema")) {
        r.endpoint = seg[3] == "coverage" ? Endpoint::DeciCoverage : seg[3] == "schema" ? Endpoint::DeciSchema : Endpoint::DeciArrete;
        r.insee = seg[2];
    } else if (seg[0] == "map") {
        r.endpoint = n == 1 ? Endpoint::MapPage : n == 2 && seg[1] == "embed" ? Endpoint::MapEmbed : Endpoint::MapAsset;
        if (r.endpoint == Endpoint::MapAsset) r.asset.assign(seg.begin() + 1, seg.end());
    } else if (n == 2 && seg[0] == "communes" && seg[1] == "search") {
        r.endpoint = Endpoint::CommuneSearch;
    } else if (seg[0] == "catalog" && n == 2 && seg[1] == "records") {
        r.endpoint = Endpoint::CatalogRecords;
    } else if (seg[0] == "catalog" && n == 3 && seg[1] == "records") {
        r.endpoint = Endpoint::CatalogRecord;
        r.id = seg[2];
    } else if (seg[0] == "catalog" && n == 2 && seg[1] == "dcat.jsonld") {
        r.endpoint = Endpoint::CatalogDcat;
    }
    if (n == 2 && seg[0] == "admin" && seg[1] == "harvest")  // the one POST: it starts work, it reads nothing
        r.endpoint = method == "POST" ? Endpoint::AdminHarvest : method == "OPTIONS" ? Endpoint::Preflight : Endpoint::MethodNotAllowed;
    else if (r.endpoint != Endpoint::NotFound && method == "OPTIONS") r.endpoint = Endpoint::Preflight;  // CORS, before a keyed GET
    else if (r.endpoint != Endpoint::NotFound && method != "GET" && method != "HEAD") r.endpoint = Endpoint::MethodNotAllowed;
    // Files built on request (extracts, the arrêté), coverage, the schéma and point checks (a road graph, distances):
    // off the I/O threads, so tiles and items keep answering while they run.
    switch (r.endpoint) {
        case Endpoint::DeciExtract:
        case Endpoint::DeciExtractMany:
        case Endpoint::DeciArrete:
        case Endpoint::DeciCoverage:
        case Endpoint::DeciSchema:
        case Endpoint::DeciCheck: r.heavy = true; break;
        default: break;
    }
    return r;
}

void append_json_string(std::string& out, std::string_view s) {
    static const char* digits = "0123456789abcdef";
    out += '"';
    for (const char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += "\\u00";
                    out += digits[(c >> 4) & 15];
                    out += digits[c & 15];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

void append_json_number(std::string& out, double v) {
    if (!std::isfinite(v)) {
        out += "null";  // JSON has no NaN or infinity
        return;
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_json_number(std::string& out, std::int64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

}  // namespace ideo::server
