#include "parameters.hpp"

#include <algorithm>

#include "ideo/deci/extract.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

#include "ideo/core/text.hpp"

namespace ideo::server {
namespace {

// `f` wins over Accept; a browser's Accept (text/html before any json) asks for the HTML view.
Format negotiate(const std::string* f, const std::string* accept, bool csv_allowed) {
    if (f) {
        if (*f == "json" || *f == "geojson") return Format::Json;
        if (*f == "html") return Format::Html;
        if (*f == "csv" && csv_allowed) return Format::Csv;
        throw_bad_parameter("f", "'" + f->substr(0, 40) + "' is not served; use json, html" + (csv_allowed ? " or csv" : ""));
    }
    if (accept) {
        const auto html = accept->find("text/html");
        const auto json = accept->find("json");
        if (html != std::string::npos && (json == std::string::npos || html < json)) return Format::Html;
        if (csv_allowed && accept->find("text/csv") != std::string::npos && json == std::string::npos) return Format::Csv;
    }
    return Format::Json;
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

[[maybe_unused]] bool is_epsg_code(std::string_view s) {
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

std::string property_name(const LayerSpec& layer, int id) {
    switch (id) {
        case property_source: return "ideo_source";
        case property_source_id: return "ideo_source_id";
        case property_harvested_at: return "ideo_harvested_at";
        case property_flags: return "ideo_flags";
        default: return id >= 0 && static_cast<std::size_t>(id) < layer.fields.size() ? layer.fields[static_cast<std::size_t>(id)].name : "";
    }
}

namespace {

const ingest::ServedCrs& parse_crs(std::string_view name, std::string_view value) {
    const ingest::ServedCrs* c = ingest::find_served_crs(value);
    if (!c) {
        std::string list;
        for (const auto& s : ingest::served_crs()) list += (list.empty() ? "" : ", ") + s.uri;
        throw_bad_parameter(name, shown(value) + " is not a served CRS; use one of " + list);
    }
    return *c;
}

// A datetime bound as its day: "2021-03-04" or a timestamp; "" for an open bound.
std::string datetime_bound(std::string_view text, std::string_view whole) {
    if (text.empty() || text == "..") return {};
    if (index::cql2::is_iso_date(text)) return std::string(text);
    if (!index::cql2::normal_timestamp(text).empty()) return std::string(text.substr(0, 10));
    throw_bad_parameter("datetime", "must be a date, a timestamp (2021-03-04T10:00:00Z) or an interval a/b, ../b, a/.., got " +
                                        shown(whole));
}

index::DateRange parse_datetime(std::string_view text, const LayerSpec& layer) {
    if (layer.date_field.empty() || layer.field_index(layer.date_field) < 0)
        throw_bad_parameter("datetime", "collection '" + layer.id + "' has no date to filter on");
    index::DateRange r;
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        if (text.empty() || text == "..") throw_bad_parameter("datetime", "an instant cannot be open, got " + shown(text));
        r.from = r.to = datetime_bound(text, text);
        return r;
    }
    r.from = datetime_bound(text.substr(0, slash), text);
    r.to = datetime_bound(text.substr(slash + 1), text);
    if (r.from.empty() && r.to.empty()) throw_bad_parameter("datetime", "both ends of the interval are open, got " + shown(text));
    if (!r.from.empty() && !r.to.empty() && r.from > r.to)
        throw_bad_parameter("datetime", "the interval starts after it ends, got " + shown(text));
    return r;
}

std::vector<std::string_view> comma_list(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find(',', start), text.size());
        std::string_view item = text.substr(start, end - start);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        out.push_back(item);
        start = end + 1;
    }
    return out;
}

std::vector<index::SortKey> parse_sortby(std::string_view text, const LayerSpec& layer) {
    std::vector<index::SortKey> keys;
    for (std::string_view item : comma_list(text)) {
        index::SortKey k;
        if (!item.empty() && (item.front() == '+' || item.front() == '-')) {
            k.descending = item.front() == '-';
            item.remove_prefix(1);
        }
        if (item.empty()) throw_bad_parameter("sortby", "expected comma-separated fields, each with an optional + or -, got " + shown(text));
        k.field = layer.field_index(item);
        if (k.field < 0)
            throw_bad_parameter("sortby", shown(item) + " is not a field of collection '" + layer.id + "' (see its queryables)");
        keys.push_back(k);
    }
    return keys;
}

std::vector<int> parse_properties(std::string_view text, const LayerSpec& layer) {
    std::vector<int> ids;
    for (const std::string_view item : comma_list(text)) {
        if (item.empty()) continue;
        int id = layer.field_index(item);
        bool found = id >= 0;
        for (const int special : {property_source, property_source_id, property_harvested_at, property_flags})
            if (!found && property_name(layer, special) == item) {
                id = special;
                found = true;
            }
        if (!found)
            throw_bad_parameter("properties", shown(item) + " is not a property of collection '" + layer.id + "'");
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
    return ids;
}

// A bbox given in another CRS, as the CRS84 box that holds its edges (densified: projections bend them).
Envelope bbox_to_crs84(const Envelope& b, const ingest::ServedCrs& crs) {
    const ingest::CrsConverter conv(crs);
    Envelope out;
    for (int i = 0; i <= 8; ++i)
        for (int j = 0; j <= 8; ++j) {
            if (i != 0 && i != 8 && j != 0 && j != 8) continue;
            double x = b.min_x + (b.max_x - b.min_x) * i / 8, y = b.min_y + (b.max_y - b.min_y) * j / 8;
            try {
                conv.to_crs84(x, y);
            } catch (const std::exception& e) {
                throw_bad_parameter("bbox", std::string("cannot be read in bbox-crs ") + crs.uri + ": " + e.what());
            }
            out.expand(x, y);
        }
    return out;
}

}  // namespace

index::ItemSelection ItemsParameters::selection(const LayerSpec& layer) const {
    index::ItemSelection s;
    s.query = query;
    s.filter = filter.get();
    s.datetime = datetime;
    s.date_field = layer.date_field.empty() ? -1 : layer.field_index(layer.date_field);
    s.sortby = sortby;
    return s;
}

ItemsParameters parse_items_parameters(const QueryParams& q, const LayerSpec& layer, const std::string* accept) {
    ItemsParameters p;
    const std::string *bbox = nullptr, *filter = nullptr, *f = nullptr;
    const ingest::ServedCrs* bbox_crs = &ingest::crs84();
    const ingest::ServedCrs* filter_crs = &ingest::crs84();
    for (const auto& [name, value] : q.entries()) {
        if (name == "limit") {
            p.limit = parse_count("limit", value, 1, static_cast<long long>(max_limit));
        } else if (name == "offset") {
            p.offset = parse_count("offset", value, 0, std::numeric_limits<long long>::max());
        } else if (name == "bbox") {
            bbox = &value;
        } else if (name == "bbox-crs") {
            bbox_crs = &parse_crs(name, value);
        } else if (name == "crs") {
            p.crs = &parse_crs(name, value);
        } else if (name == "filter") {
            filter = &value;
        } else if (name == "filter-lang") {
            if (value != "cql2-text") throw_bad_parameter(name, shown(value) + " is not supported; use cql2-text");
        } else if (name == "filter-crs") {
            filter_crs = &parse_crs(name, value);
        } else if (name == "datetime") {
            p.datetime = parse_datetime(value, layer);
        } else if (name == "sortby") {
            p.sortby = parse_sortby(value, layer);
        } else if (name == "properties") {
            p.properties = parse_properties(value, layer);
        } else if (name == "f") {
            f = &value;
        } else if (const int field = layer.field_index(name); field >= 0) {
            p.query.filters.push_back(index::PropertyFilter{field, value});
        } else {
            throw_bad_parameter(name, "unknown parameter for collection '" + layer.id +
                                          "': expected limit, offset, bbox, bbox-crs, crs, datetime, filter, filter-lang, "
                                          "filter-crs, sortby, properties, f or a field of the layer");
        }
    }
    p.format = negotiate(f, accept, true);
    if (bbox) {
        const Envelope box = parse_bbox(*bbox);
        p.query.bbox = bbox_crs == &ingest::crs84() ? box : bbox_to_crs84(box, *bbox_crs);
    }
    if (filter) {
        std::optional<ingest::CrsConverter> conv;
        if (filter_crs != &ingest::crs84()) conv.emplace(*filter_crs);
        index::cql2::ToCrs84 to_crs84;
        if (conv) to_crs84 = [&conv](double& x, double& y) { conv->to_crs84(x, y); };
        try {
            p.filter = index::cql2::parse(*filter, layer, to_crs84);
        } catch (const index::cql2::ParseError& e) {
            throw_bad_parameter("filter", e.what());
        }
    }
    return p;
}

void reject_unknown_parameters(const QueryParams& q, std::initializer_list<std::string_view> known) {
    for (const auto& [name, value] : q.entries())
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            std::string list;
            for (const auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
            throw_bad_parameter(name, "unknown parameter: accepted here: " + list);
        }
}

ItemParameters parse_item_parameters(const QueryParams& q, const std::string* accept) {
    ItemParameters p;
    const std::string* f = nullptr;
    for (const auto& [name, value] : q.entries()) {
        if (name == "f") f = &value;
        else if (name == "crs") p.crs = &parse_crs(name, value);
        else throw_bad_parameter(name, "unknown parameter: only f and crs are accepted here");
    }
    p.format = negotiate(f, accept, false);
    return p;
}

Format parse_format_only(const QueryParams& q, const std::string* accept) {
    const std::string* f = nullptr;
    for (const auto& [name, value] : q.entries()) {
        if (name == "f") f = &value;
        else throw_bad_parameter(name, "unknown parameter: only f is accepted here");
    }
    return negotiate(f, accept, false);
}

ExtractParameters parse_extract_parameters(std::string_view insee, std::string_view format, const QueryParams& q) {
    ExtractParameters p;
    if (!is_insee_code(insee)) throw_bad_parameter("insee", shown(insee) + " is not a commune INSEE code");
    const auto& formats = deci::extract_formats();
    if (format != "shp.zip" && (format == "shp" || std::find(formats.begin(), formats.end(), format) == formats.end()))
        throw HttpError(404, "NotFound", "format " + shown(format) +
                                             ": no extract in this format (available: xlsx, ods, csv, geojson, gpkg, shp.zip, kml)");
    p.insee = std::string(insee);
    p.format = std::string(format);
    if (format == "geojson") p.crs.clear();  // GeoJSON is CRS84 unless asked otherwise
    for (const auto& [name, value] : q.entries()) {
        if (name == "crs") {
            const auto& offered = deci::extract_crs_list();
            if (std::find(offered.begin(), offered.end(), value) == offered.end())
                throw_bad_parameter("crs", "must be one of EPSG:2154, EPSG:3942 to EPSG:3950, EPSG:3857, EPSG:4326, CRS84; got " + shown(value));
            p.crs = value;
        } else {
            throw_bad_parameter(name, "unknown parameter: only crs is accepted here");
        }
    }
    return p;
}

}  // namespace ideo::server
