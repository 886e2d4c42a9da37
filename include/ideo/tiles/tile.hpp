#pragma once
// Tile arithmetic of the WebMercatorQuad tile matrix set (the XYZ scheme of web maps).
#include <cmath>
#include <cstdint>

#include "ideo/core/geometry.hpp"

namespace ideo::tiles {

constexpr int kMaxZoom = 22;

struct TileId {
    int z = 0;
    std::uint32_t x = 0, y = 0;

    // Inside the matrix: 0 <= z <= kMaxZoom, x and y below 2^z.
    bool valid() const { return z >= 0 && z <= kMaxZoom && x < (1u << z) && y < (1u << z); }
};

// Normalised world coordinates: Web Mercator scaled to [0, 1], x eastwards, y southwards (tile order).
struct WorldPoint {
    double x, y;
};

inline WorldPoint lonlat_to_world(double lon, double lat) {
    constexpr double kMaxLat = 85.0511287798066;
    if (lat > kMaxLat) lat = kMaxLat;
    if (lat < -kMaxLat) lat = -kMaxLat;
    const double s = std::sin(lat * M_PI / 180.0);
    return {lon / 360.0 + 0.5, 0.5 - std::log((1 + s) / (1 - s)) / (4 * M_PI)};
}

inline void world_to_lonlat(WorldPoint p, double& lon, double& lat) {
    lon = (p.x - 0.5) * 360.0;
    lat = 90.0 - 360.0 * std::atan(std::exp((p.y - 0.5) * 2 * M_PI)) / M_PI;
}

// The tile's bounds in world coordinates, grown by `buffer` tile units of `extent` on every side.
inline Envelope tile_world_bounds(TileId t, double buffer = 0, double extent = 4096) {
    const double size = 1.0 / static_cast<double>(1u << t.z);
    const double b = size * buffer / extent;
    Envelope e;
    e.min_x = t.x * size - b;
    e.min_y = t.y * size - b;
    e.max_x = (t.x + 1) * size + b;
    e.max_y = (t.y + 1) * size + b;
    return e;
}

// The same bounds in lon/lat, for index queries.
inline Envelope tile_lonlat_bounds(TileId t, double buffer = 0, double extent = 4096) {
    const Envelope w = tile_world_bounds(t, buffer, extent);
    Envelope e;
    double lon, lat;
    world_to_lonlat({w.min_x, w.max_y}, lon, lat);
    e.expand(lon, lat);
    world_to_lonlat({w.max_x, w.min_y}, lon, lat);
    e.expand(lon, lat);
    return e;
}

}  // namespace ideo::tiles
