// Points reprojected through the one CRS factory (index/crs).
#include <cmath>

#include <ogr_spatialref.h>
#include <string>

#include "ideo/core/error.hpp"
#include "ideo/index/crs.hpp"
#include "ideo/ingest/ingest.hpp"

namespace ideo::ingest {

Point2 transform_point(const std::string& from_crs, const std::string& to_crs, Point2 p) {
    double x = p.x, y = p.y;
    if (!crs::transformation(from_crs, to_crs).Transform(1, &x, &y) || !std::isfinite(x) || !std::isfinite(y))
        throw Error("cannot transform (" + std::to_string(p.x) + ", " + std::to_string(p.y) + ") from " + from_crs +
                    " to " + to_crs);
    return {x, y};
}

}  // namespace ideo::ingest
