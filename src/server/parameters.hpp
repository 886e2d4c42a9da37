#pragma once
// Typed parameters of each API verb, parsed and validated from the query string (OSRM's
// *Parameters): a bad value throws HttpError 400 naming the parameter, before any work is done.
#include <cstddef>
#include <initializer_list>
#include <string_view>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ideo/core/layer.hpp"
#include "ideo/index/cql2.hpp"
#include "ideo/index/selection.hpp"
#include "ideo/index/snapshot.hpp"
#include "ideo/ingest/served_crs.hpp"
#include "http.hpp"

namespace ideo::server {

inline constexpr std::size_t default_limit = 100;
inline constexpr std::size_t max_limit = 10000;

// The encodings a client asks for with `f` or Accept.
enum class Format { Json, Html, Csv };

// Output properties beyond the layer's fields (negative ids in ItemsParameters::properties).
inline constexpr int property_source = -1, property_source_id = -2, property_harvested_at = -3, property_flags = -4;
// The name of an output property id: a field name or one of the provenance properties.
std::string property_name(const LayerSpec& layer, int id);

// GET /collections/{layer}/items
struct ItemsParameters {
    std::size_t limit = default_limit;
    std::size_t offset = 0;
    index::ItemQuery query;  // bbox (CRS84, converted from bbox-crs) and property filters
    std::unique_ptr<index::cql2::Expr> filter;  // `filter`, resolved against the layer, literals in CRS84
    std::optional<index::DateRange> datetime;   // on the layer's date_field
    std::vector<index::SortKey> sortby;
    std::optional<std::vector<int>> properties;  // field indices or property_* ids; unset = all
    const ingest::ServedCrs* crs = &ingest::crs84();  // of the response's coordinates
    Format format = Format::Json;

    // The whole selection for index::select_items (points into this object).
    index::ItemSelection selection(const LayerSpec& layer) const;
};
// `accept` is the Accept header, when the client sent one (f= wins over it).
ItemsParameters parse_items_parameters(const QueryParams& q, const LayerSpec& layer, const std::string* accept = nullptr);

// GET /collections/{layer}/items/{id}: `f` and `crs`.
struct ItemParameters {
    const ingest::ServedCrs* crs = &ingest::crs84();
    Format format = Format::Json;
};
ItemParameters parse_item_parameters(const QueryParams& q, const std::string* accept = nullptr);

// GET /, /conformance, /collections...: only `f` (json or html).
Format parse_format_only(const QueryParams& q, const std::string* accept = nullptr);

// GET /deci/communes/{insee}/extract.{format}
struct ExtractParameters {
    std::string insee;
    std::string format;
    std::string crs = "EPSG:2154";  // for GeoJSON, empty = CRS84
};
ExtractParameters parse_extract_parameters(std::string_view insee, std::string_view format, const QueryParams& q);

// A 400 naming the first parameter not in `known`, and listing those that are.
void reject_unknown_parameters(const QueryParams& q, std::initializer_list<std::string_view> known);

// Strict parsers shared by the verbs: the whole text must be the value.
std::optional<long long> parse_integer(std::string_view s);
std::optional<double> parse_double(std::string_view s);

}  // namespace ideo::server
