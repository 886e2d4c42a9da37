#pragma once
// Geometries as stored and served: ISO WKB in WGS84 (lon, lat), with their envelope.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

namespace ideo {

struct Envelope {
    double min_x = std::numeric_limits<double>::infinity();
    double min_y = std::numeric_limits<double>::infinity();
    double max_x = -std::numeric_limits<double>::infinity();
    double max_y = -std::numeric_limits<double>::infinity();

    bool empty() const { return min_x > max_x; }
    void expand(double x, double y) {
        if (x < min_x) min_x = x;
        if (y < min_y) min_y = y;
        if (x > max_x) max_x = x;
        if (y > max_y) max_y = y;
    }
    void expand(const Envelope& e) {
        if (e.empty()) return;
        expand(e.min_x, e.min_y);
        expand(e.max_x, e.max_y);
    }
    bool intersects(const Envelope& o) const {
        return !(o.min_x > max_x || o.max_x < min_x || o.min_y > max_y || o.max_y < min_y);
    }
    bool contains(double x, double y) const { return x >= min_x && x <= max_x && y >= min_y && y <= max_y; }
};

// A feature's geometry: empty (no location), or WKB (little-endian, 2D) with its envelope.
struct Geometry {
    std::string wkb;    // empty when the record has no location
    Envelope envelope;  // lon/lat bounds; for a point, the point itself

    bool empty() const { return wkb.empty(); }
    bool is_point() const;
    static Geometry point(double lon, double lat);
};

// Appends the geometry as a GeoJSON geometry object ("null" when empty) with the given precision.
void append_geojson(std::string& out, const Geometry& g, int decimals = 7);

// Rewrites one position while a geometry is written (reprojection, axis swap); may throw.
using PositionTransform = std::function<void(double& x, double& y)>;
void append_geojson(std::string& out, const Geometry& g, int decimals, const PositionTransform& transform);
// Appends the geometry as WKT ("POINT (5.1 47.3)"; nothing when empty), positions through transform.
void append_wkt(std::string& out, const Geometry& g, int decimals, const PositionTransform& transform = {});

}  // namespace ideo
