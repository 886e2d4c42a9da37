// Parameters of OGC API Features: items (paging, bbox, CRS, CQL2 filter, datetime, sortby,
// properties, encodings), one item, and the pages that only take `f`.
#include <algorithm>
#include <limits>
#include <vector>

#include "../parameters.hpp"

namespace ideo::server {
namespace {

const std::vector<std::string>& items_formats() {
    static const std::vector<std::string> v{"json", "geojson", "html", "csv"};
    return v;
}
const std::vector<std::string>& page_formats() {
    static const std::vector<std::string> v{"json", "geojson", "html"};
    return v;
}
const std::vector<std::string>& filter_languages() {
    static const std::vector<std::string> v{"cql2-text"};
    return v;
}

using K = ParameterKind;
constexpr Parameter limit{.name = "limit", .description = "items per page", .kind = K::Integer, .min = 1,
                          .max = static_cast<long long>(max_limit), .default_integer = static_cast<long long>(default_limit)};
constexpr Parameter offset{.name = "offset", .description = "items skipped (paging)", .kind = K::Integer, .default_integer = 0};
constexpr Parameter bbox{.name = "bbox", .description = "minx,miny,maxx,maxy in bbox-crs", .kind = K::Bbox};
constexpr Parameter bbox_crs{.name = "bbox-crs", .description = "CRS of bbox", .kind = K::Crs};
constexpr Parameter crs{.name = "crs", .description = "CRS of the response's coordinates", .kind = K::Crs};
constexpr Parameter datetime{.name = "datetime", .description = "instant or interval (a/b, ../b, a/..) on the date field"};
constexpr Parameter filter{.name = "filter", .description = "CQL2 text filter over the queryables"};
constexpr Parameter filter_lang{.name = "filter-lang", .description = "filter language", .kind = K::Choice,
                                .choices = filter_languages, .default_text = "cql2-text"};
constexpr Parameter filter_crs{.name = "filter-crs", .description = "CRS of the filter's geometry literals", .kind = K::Crs};
constexpr Parameter sortby{.name = "sortby", .description = "comma-separated fields, each prefixed by + or -"};
constexpr Parameter properties{.name = "properties", .description = "comma-separated properties to return"};
constexpr Parameter items_f{.name = "f", .description = "encoding", .kind = K::Choice, .choices = items_formats};
constexpr Parameter page_f{.name = "f", .description = "encoding", .kind = K::Choice, .choices = page_formats};
constexpr Parameter feature_id{.name = "featureId", .description = "the feature's identifier", .in = ParameterIn::Path};

constexpr Parameter items_list[] = {limit, offset, bbox, bbox_crs, crs, datetime, filter, filter_lang, filter_crs, sortby, properties, items_f};
constexpr Parameter item_list[] = {feature_id, crs, page_f};
constexpr Parameter format_only_list[] = {page_f};

// `f` wins over Accept; a browser's Accept (text/html before any json) asks for the HTML view.
Format negotiate(const Parameter& f_parameter, const std::string* f, const std::string* accept) {
    const auto& formats = f_parameter.choices();
    const bool csv_allowed = std::find(formats.begin(), formats.end(), "csv") != formats.end();
    if (f) {
        const std::string& chosen = formats[f_parameter.choice(*f)];
        return chosen == "html" ? Format::Html : chosen == "csv" ? Format::Csv : Format::Json;
    }
    if (accept) {
        const auto html = accept->find("text/html");
        const auto json = accept->find("json");
        if (html != std::string::npos && (json == std::string::npos || html < json)) return Format::Html;
        if (csv_allowed && accept->find("text/csv") != std::string::npos && json == std::string::npos) return Format::Csv;
    }
    return Format::Json;
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

std::string property_name(const LayerSpec& layer, int id) {
    switch (id) {
        case property_source: return "ideo_source";
        case property_source_id: return "ideo_source_id";
        case property_harvested_at: return "ideo_harvested_at";
        case property_flags: return "ideo_flags";
        default: return id >= 0 && static_cast<std::size_t>(id) < layer.fields.size() ? layer.fields[static_cast<std::size_t>(id)].name : "";
    }
}

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
    const std::string *bbox_text = nullptr, *filter_text = nullptr, *f = nullptr;
    const ingest::ServedCrs* box_crs = &ingest::crs84();
    const ingest::ServedCrs* literal_crs = &ingest::crs84();
    for (const auto& [name, value] : q.entries()) {
        if (name == limit.name) {
            p.limit = static_cast<std::size_t>(limit.integer(value));
        } else if (name == offset.name) {
            p.offset = static_cast<std::size_t>(offset.integer(value));
        } else if (name == bbox.name) {
            bbox_text = &value;
        } else if (name == bbox_crs.name) {
            box_crs = &bbox_crs.crs(value);
        } else if (name == crs.name) {
            p.crs = &crs.crs(value);
        } else if (name == filter.name) {
            filter_text = &value;
        } else if (name == filter_lang.name) {
            filter_lang.choice(value);
        } else if (name == filter_crs.name) {
            literal_crs = &filter_crs.crs(value);
        } else if (name == datetime.name) {
            p.datetime = parse_datetime(value, layer);
        } else if (name == sortby.name) {
            p.sortby = parse_sortby(value, layer);
        } else if (name == properties.name) {
            p.properties = parse_properties(value, layer);
        } else if (name == items_f.name) {
            f = &value;
        } else if (const int field = layer.field_index(name); field >= 0) {
            p.query.filters.push_back(index::PropertyFilter{field, value});
        } else {
            throw_unknown_parameter(name, items_list, "a field of collection '" + layer.id + "'");
        }
    }
    p.format = negotiate(items_f, f, accept);
    if (bbox_text) {
        const Envelope box = bbox.bbox(*bbox_text);
        p.query.bbox = box_crs == &ingest::crs84() ? box : bbox_to_crs84(box, *box_crs);
    }
    if (filter_text) {
        std::optional<ingest::CrsConverter> conv;
        if (literal_crs != &ingest::crs84()) conv.emplace(*literal_crs);
        index::cql2::ToCrs84 to_crs84;
        if (conv) to_crs84 = [&conv](double& x, double& y) { conv->to_crs84(x, y); };
        try {
            p.filter = index::cql2::parse(*filter_text, layer, to_crs84);
        } catch (const index::cql2::ParseError& e) {
            throw_bad_parameter(filter.name, e.what());
        }
    }
    return p;
}

std::span<const Parameter> items_parameters() { return items_list; }

ItemParameters parse_item_parameters(const QueryParams& q, const std::string* accept) {
    reject_unknown_parameters(q, item_list);
    ItemParameters p;
    if (const std::string* c = crs.find(q)) p.crs = &crs.crs(*c);
    p.format = negotiate(page_f, page_f.find(q), accept);
    return p;
}

std::span<const Parameter> item_parameters() { return item_list; }

Format parse_format_only(const QueryParams& q, const std::string* accept) {
    reject_unknown_parameters(q, format_only_list);
    return negotiate(page_f, page_f.find(q), accept);
}

std::span<const Parameter> format_only_parameters() { return format_only_list; }

}  // namespace ideo::server
