#pragma once
// The mayor's download: PEI, ERP and ICPE of a commune, a list of communes (an EPCI) or a
// department in one file, in the format the mayor's office or the planner's GIS reads.
#include <string>
#include <vector>

#include "ideo/index/snapshot.hpp"

namespace ideo::deci {

struct ExtractFile {
    std::string filename;      // DECI_{insee}_{Commune}_{date}.{ext}, DECI_{n}-communes_{date}..., DECI_dept{nn}_{date}...
    std::string content_type;
    std::string bytes;
};

struct ExtractRequest {
    std::string insee;                  // one commune...
    std::vector<std::string> communes;  // ...or a list of INSEE codes (an EPCI)...
    std::string dept;                   // ...or a whole department ("90")
    std::string format = "xlsx";        // xlsx ods csv geojson gpkg shp (= shp.zip) kml
    std::string crs;                    // empty: EPSG:2154, CRS84 for GeoJSON (KML is always WGS84)
};

// The formats, as path extensions (/deci/communes/{insee}/extract.{ext}).
const std::vector<std::string>& extract_formats();
// The CRSs an extract may be asked in.
const std::vector<std::string>& extract_crs_list();

// Throws InputError for an unknown commune, department, format or CRS (the message names it).
ExtractFile build_extract(const index::Snapshot& snapshot, const ExtractRequest& request);

}  // namespace ideo::deci
