#pragma once
// Ingest: the only module that knows partner file quirks. Reads a partner file with GDAL/OGR,
// maps its columns onto the layer schema (aliases, code-list synonyms), parses values
// (decimal comma, DD/MM/YYYY dates, Oui/Non), reprojects to WGS84 with PROJ (axis order explicit),
// attributes and checks the commune, applies the defect policy and reports every record.
#include <string>
#include <vector>

#include "ideo/core/feature.hpp"
#include "ideo/core/layer.hpp"
#include "ideo/core/report.hpp"
#include "ideo/index/commune_index.hpp"

namespace ideo::ingest {

struct Result {
    std::vector<Feature> features;        // what to publish
    std::vector<Quarantined> quarantine;  // what was rejected, verbatim
    Report report;
};

// Reads `path` (a local file: .geojson, .json, .zip of a Shapefile, .shp, .xlsx, .ods, .gpkg, .csv)
// as a `source` of `layer`. `communes` may be null (no commune attribution, then no location check).
// Throws InputError naming the file when it cannot be read at all; record defects go to the report.
Result ingest_file(const LayerSpec& layer, const SourceSpec& source, const std::string& path,
                   const index::CommuneIndex* communes);

// Transforms one point between CRSs ("EPSG:2154", "EPSG:4326" as lon/lat...); throws on failure.
struct Point2 {
    double x, y;
};
Point2 transform_point(const std::string& from_crs, const std::string& to_crs, Point2 p);

}  // namespace ideo::ingest
