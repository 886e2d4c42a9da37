#pragma once
// A normalised feature: values in the order of its layer's fields, geometry, provenance, flags.
#include <string>
#include <vector>

#include "ideo/core/geometry.hpp"
#include "ideo/core/value.hpp"

namespace ideo {

struct Provenance {
    std::string source;        // the source's id in layers/*.json (a partner export)
    std::string source_id;     // the record's id as the partner published it
    std::string harvested_at;  // ISO 8601 UTC, when it was imported
};

struct Feature {
    std::string id;             // the layer's identifier (id_sdis for PEI)
    std::vector<Value> values;  // one per LayerSpec::fields, same order
    Geometry geometry;          // WGS84 lon/lat; empty for records without a location
    Provenance provenance;
    std::vector<std::string> flags;  // data-quality flags kept with the record ("no_coordinates", ...)
};

}  // namespace ideo
