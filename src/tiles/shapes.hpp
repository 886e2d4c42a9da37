#pragma once
// GEOS shapes of the tile renderer (private to src/tiles): world coordinates, simplification per
// zoom, clipping to the buffered tile and MVT ring orientation. Every polygon layer (communes, and
// the computed coverage layer) goes through these, so they clip and simplify alike.
#include <geos_c.h>

#include <memory>
#include <string_view>
#include <vector>

#include "ideo/tiles/mvt.hpp"
#include "ideo/tiles/tile.hpp"

namespace ideo::tiles::shapes {

// One GEOS context per thread: GEOS contexts are not to be shared between threads.
GEOSContextHandle_t geos();

struct GeosDeleter {
    void operator()(GEOSGeometry* g) const {
        if (g) GEOSGeom_destroy_r(geos(), g);
    }
};
using GeomPtr = std::unique_ptr<GEOSGeometry, GeosDeleter>;

// std::lround (half away from zero) inline, for finite v below 2^63 in magnitude: v - trunc(v) is exact
// (v itself below 1, Sterbenz's lemma above), so the half is compared exactly.
inline std::int64_t round_half_away(double v) {
    const auto t = static_cast<std::int64_t>(v);  // toward zero
    const double fraction = v - static_cast<double>(t);
    return t + (fraction >= 0.5) - (fraction <= -0.5);
}

// A world point in the tile's integer coordinates (0 to extent inside the tile).
inline TilePoint to_tile(double wx, double wy, TileId t, double extent) {
    const double scale = static_cast<double>(1u << t.z);
    return {static_cast<std::int32_t>(round_half_away((wx * scale - t.x) * extent)),
            static_cast<std::int32_t>(round_half_away((wy * scale - t.y) * extent))};
}

// A WGS84 WKB geometry in world coordinates (Web Mercator scaled to [0, 1]); null when unreadable.
GeomPtr wkb_to_world(std::string_view wkb, GEOSWKBReader* reader = nullptr);

// Topology-preserving simplification by `simplify_px` tile units of zoom z.
GeomPtr simplify_for_zoom(const GEOSGeometry* world, int z, double simplify_px, double extent);

// Where a polygon's label goes: the centre of its largest inscribed circle (the pole of inaccessibility
// MapLibre itself labels polygons at), within 1 % of its size; NaN when there is none.
WorldPoint label_point(const GEOSGeometry* world);

// The part of a world shape inside `clip` (the buffered tile), in tile coordinates: line parts, or
// polygon rings oriented as MVT 2.1 wants them (exterior clockwise, holes after their exterior).
// False when nothing is left.
bool clip_to_tile(const GEOSGeometry* world, bool line, TileId t, const Envelope& clip, double extent,
                  std::vector<TileRing>& out);

}  // namespace ideo::tiles::shapes
