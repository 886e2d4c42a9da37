#pragma once
// Typed parameters of each API verb, parsed and validated from the query string (OSRM's
// *Parameters): a bad value throws HttpError 400 naming the parameter, before any work is done.
#include <cstddef>
#include <optional>
#include <string>

#include "ideo/core/layer.hpp"
#include "ideo/index/snapshot.hpp"
#include "http.hpp"

namespace ideo::server {

inline constexpr std::size_t default_limit = 100;
inline constexpr std::size_t max_limit = 10000;

// GET /collections/{layer}/items
struct ItemsParameters {
    std::size_t limit = default_limit;
    std::size_t offset = 0;
    index::ItemQuery query;  // bbox (CRS84) and property filters
};
ItemsParameters parse_items_parameters(const QueryParams& q, const LayerSpec& layer);

// GET /collections/{layer}/items/{id}, /collections...: only `f`.
void parse_format_only(const QueryParams& q);

// GET /deci/communes/{insee}/extract.{format}
struct ExtractParameters {
    std::string insee;
    std::string format;
    std::string crs = "EPSG:2154";
};
ExtractParameters parse_extract_parameters(std::string_view insee, std::string_view format, const QueryParams& q);

// Strict parsers shared by the verbs: the whole text must be the value.
std::optional<long long> parse_integer(std::string_view s);
std::optional<double> parse_double(std::string_view s);

}  // namespace ideo::server
