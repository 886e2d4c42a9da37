#include "parameters.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

#include "ideo/core/text.hpp"

namespace ideo::server {
namespace {

// Parameters of the HTTP contract that later issues implement: named as such rather than "unknown".
bool is_planned_parameter(std::string_view name) {
    return name == "bbox-crs" || name == "crs" || name == "filter" || name == "filter-lang" || name == "sortby" ||
           name == "properties" || name == "datetime";
}

void check_format(std::string_view f) {
    if (f != "json" && f != "geojson") throw_bad_parameter("f", "'" + std::string(f) + "' is not served; use json");
}

std::string shown(std::string_view s) {
    std::string out = "'";
    out += s.substr(0, 80);
    if (s.size() > 80) out += "...";
    out += "'";
    return out;
}

std::size_t parse_count(std::string_view name, std::string_view text, long long min, long long max) {
    const auto n = parse_integer(text);
    if (!n || *n < min || *n > max) {
        const std::string range = max == std::numeric_limits<long long>::max()
                                      ? "a whole number >= " + std::to_string(min)
                                      : "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
        throw_bad_parameter(name, "must be " + range + ", got " + shown(text));
    }
    return static_cast<std::size_t>(*n);
}

Envelope parse_bbox(std::string_view text) {
    std::vector<double> v;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find(',', start), text.size());
        const auto d = parse_double(text::trim(text.substr(start, end - start)));
        if (!d) throw_bad_parameter("bbox", "must be 4 comma-separated numbers minx,miny,maxx,maxy, got " + shown(text));
        v.push_back(*d);
        start = end + 1;
    }
    if (v.size() == 6) throw_bad_parameter("bbox", "3D boxes (6 numbers) are not supported; give minx,miny,maxx,maxy");
    if (v.size() != 4)
        throw_bad_parameter("bbox", "must be 4 comma-separated numbers minx,miny,maxx,maxy, got " + shown(text));
    if (v[0] > v[2] || v[1] > v[3])
        throw_bad_parameter("bbox", "minx must not exceed maxx, nor miny maxy, got " + shown(text));
    Envelope e;
    e.min_x = v[0];
    e.min_y = v[1];
    e.max_x = v[2];
    e.max_y = v[3];
    return e;
}

bool is_insee_code(std::string_view s) {
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    // Five characters; Corsica's departments are 2A and 2B.
    return s.size() == 5 && digit(s[0]) && (digit(s[1]) || s[1] == 'A' || s[1] == 'B') && digit(s[2]) &&
           digit(s[3]) && digit(s[4]);
}

bool is_epsg_code(std::string_view s) {
    if (s.size() < 6 || s.size() > 11 || s.substr(0, 5) != "EPSG:") return false;
    for (const char c : s.substr(5))
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace

std::optional<long long> parse_integer(std::string_view s) {
    long long n = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
    return n;
}

std::optional<double> parse_double(std::string_view s) {
    double d = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), d);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
    return d;
}

ItemsParameters parse_items_parameters(const QueryParams& q, const LayerSpec& layer) {
    ItemsParameters p;
    for (const auto& [name, value] : q.entries()) {
        if (name == "limit") {
            p.limit = parse_count("limit", value, 1, static_cast<long long>(max_limit));
        } else if (name == "offset") {
            p.offset = parse_count("offset", value, 0, std::numeric_limits<long long>::max());
        } else if (name == "bbox") {
            p.query.bbox = parse_bbox(value);
        } else if (name == "f") {
            check_format(value);
        } else if (const int field = layer.field_index(name); field >= 0) {
            p.query.filters.push_back(index::PropertyFilter{field, value});
        } else if (is_planned_parameter(name)) {
            throw_bad_parameter(name, "not supported yet");
        } else {
            throw_bad_parameter(name, "unknown parameter for collection '" + layer.id +
                                          "': expected limit, offset, bbox, f or a field of the layer");
        }
    }
    return p;
}

void parse_format_only(const QueryParams& q) {
    for (const auto& [name, value] : q.entries()) {
        if (name == "f") check_format(value);
        else throw_bad_parameter(name, "unknown parameter: only f is accepted here");
    }
}

ExtractParameters parse_extract_parameters(std::string_view insee, std::string_view format, const QueryParams& q) {
    ExtractParameters p;
    if (!is_insee_code(insee)) throw_bad_parameter("insee", shown(insee) + " is not a commune INSEE code");
    if (format != "xlsx")
        throw HttpError(404, "NotFound", "format " + shown(format) + ": no extract in this format (available: xlsx)");
    p.insee = std::string(insee);
    p.format = std::string(format);
    for (const auto& [name, value] : q.entries()) {
        if (name == "crs") {
            if (!is_epsg_code(value)) throw_bad_parameter("crs", "must be an EPSG code such as EPSG:2154, got " + shown(value));
            p.crs = value;
        } else {
            throw_bad_parameter(name, "unknown parameter: only crs is accepted here");
        }
    }
    return p;
}

}  // namespace ideo::server
