#pragma once
// What both stores (GeoPackage, PostGIS) share (private to store/): how a feature's flags, dates and geometry
// are encoded, the order load() returns, the publish fault hook.
#include <string>
#include <string_view>
#include <vector>

#include "ideo/core/feature.hpp"
#include "ideo/core/text.hpp"
#include "ideo/store/store.hpp"

class OGRGeometry;

namespace ideo::store {

// "YYYY-MM-DD" only (text::parse_iso_date): OGR's own parser takes "31/02/2024" for a date of year 31.
using text::parse_iso_date;

// Data-quality flags as one column: "a;b;c" (empty list: empty string).
std::string join_flags(const std::vector<std::string>& flags);
std::vector<std::string> split_flags(std::string_view s);

// The served form of a stored geometry: 2D ISO WKB (little-endian) and its envelope; empty for null or empty.
Geometry geometry_from_ogr(const OGRGeometry* geom);
// The same from WKB (OGC or ISO, either byte order); an empty Geometry when the bytes are not WKB.
Geometry geometry_from_wkb(std::string_view wkb);

// Ordered by identifier, stable: equal identifiers (one per source) stay in read order. Positions are
// sorted, then each feature moved once (sorting the features themselves moved each of them a dozen times).
std::vector<Feature> sorted_by_id(std::vector<Feature> features);

// PublishOptions' fault hook, called before each feature is written and after the last: throws (or aborts
// the process) once `written` reaches fail_after. `store` names the store in the message.
void inject_writer_fault(const PublishOptions& options, std::size_t written, const std::string& layer,
                         const std::string& store);

}  // namespace ideo::store

namespace ideo::store {

// Whether a stored key hash is the one asked for, in time independent of where they differ (CRYPTO_memcmp).
bool same_key_hash(std::string_view stored, std::string_view asked);

}  // namespace ideo::store
