#pragma once
// The one place CRSs and PROJ transformations are set up, for every module that reprojects (ingest,
// index, store, deci): SRS from user input in the traditional GIS axis order (x = easting/longitude),
// transformations cached per thread, and the CRS hints partners leave in column titles ("X (CC46)").
// In index/, the lowest module that links GDAL and that ingest, deci and store may all use; server/ does
// not include it: it converts through ingest/served_crs.hpp.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

// OGR's types, declared only: a module that uses what these functions return includes <ogr_spatialref.h>
// itself (and links GDAL), so this header carries no external library into its includers.
class OGRSpatialReference;
class OGRCoordinateTransformation;

namespace ideo::crs {

inline constexpr const char* kWgs84 = "EPSG:4326";
inline constexpr const char* kLambert93 = "EPSG:2154";

// "EPSG:2154", "OGC:CRS84", a WKT...: always with OAMS_TRADITIONAL_GIS_ORDER (x = easting/longitude).
// Throws InputError naming the CRS when PROJ does not know it.
std::unique_ptr<OGRSpatialReference> make_srs(const std::string& crs);

// A string that make_srs() reads back: "AUTH:CODE" when the SRS has (or is identified with) one, else its WKT.
std::string key_of(const OGRSpatialReference& srs);

// True for a geographic CRS (coordinates are degrees), from its key.
bool is_geographic(const std::string& crs);

// True when both keys designate WGS84 longitude/latitude (EPSG:4326 with lon/lat order, or CRS84).
bool is_wgs84(const std::string& crs);

// The transformation between two CRSs as make_srs() reads them, for the calling thread: an
// OGRCoordinateTransformation is not thread-safe, so use it on that thread only. Cached per thread for
// the thread's life (callers may keep the reference); the first one of a pair is made once per process
// and cloned for each thread. Throws InputError when a CRS is unknown or PROJ has no transformation.
OGRCoordinateTransformation& transformation(const std::string& from, const std::string& to);

// A CRS hinted by a column title: "X (CC46)" -> EPSG:3946, "x_l93"/"Lambert 93" -> EPSG:2154.
std::optional<std::string> hint_from_title(std::string_view title);

}  // namespace ideo::crs
