#pragma once
// GEOS and PROJ plumbing shared by the DECI computations: one GEOS context and one WGS84 <->
// Lambert-93 transformation per thread (neither is thread-safe), RAII geometries.
#include <geos_c.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ideo/core/geometry.hpp"

namespace ideo::deci::geo {

GEOSContextHandle_t ctx();  // the calling thread's GEOS context

struct GeomDeleter {
    void operator()(GEOSGeometry* g) const {
        if (g) GEOSGeom_destroy_r(ctx(), g);
    }
};
using Geom = std::unique_ptr<GEOSGeometry, GeomDeleter>;

struct XY {
    double x, y;
};
std::optional<XY> to_l93(double lon, double lat);
std::optional<XY> to_wgs84(double x, double y);

// A stored WGS84 WKB geometry in Lambert-93 (null when it cannot be read or projected).
Geom wkb_to_l93(const std::string& wkb);
// A Lambert-93 GEOS geometry as WGS84 ISO WKB ("" when empty).
std::string l93_to_wkb(const GEOSGeometry* g);
// Area in m² (0 for null).
double area(const GEOSGeometry* g);
// Bounds of a geometry (empty for null or empty).
Envelope envelope_of(const GEOSGeometry* g);
// A collection of GEOS type `type` taking ownership of `parts` (left empty).
Geom collection(std::vector<Geom>& parts, int type);

}  // namespace ideo::deci::geo
