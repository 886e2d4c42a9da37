#include "shapes.hpp"

#include <algorithm>
#include <cmath>

namespace ideo::tiles::shapes {
namespace {

int to_world_cb(double* x, double* y, void*) {
    const WorldPoint w = lonlat_to_world(*x, *y);
    *x = w.x;
    *y = w.y;
    return 1;
}

// A ring's or line's vertices in tile coordinates, repeated points dropped.
std::vector<TilePoint> tile_points(const GEOSGeometry* g, TileId t, double extent) {
    auto ctx = geos();
    const GEOSCoordSequence* seq = GEOSGeom_getCoordSeq_r(ctx, g);
    unsigned int n = 0;
    GEOSCoordSeq_getSize_r(ctx, seq, &n);
    std::vector<TilePoint> out;
    out.reserve(n);
    for (unsigned int i = 0; i < n; ++i) {
        double x, y;
        GEOSCoordSeq_getXY_r(ctx, seq, i, &x, &y);
        const TilePoint p = to_tile(x, y, t, extent);
        if (out.empty() || out.back().x != p.x || out.back().y != p.y) out.push_back(p);
    }
    return out;
}

void collect_rings(const GEOSGeometry* poly, TileId t, double extent, std::vector<TileRing>& rings) {
    auto ctx = geos();
    auto read_ring = [&](const GEOSGeometry* ring, bool exterior) {
        TileRing r = tile_points(ring, t, extent);
        if (r.size() < 4) return;
        const double a = ring_area(r);
        if (a == 0) return;
        // MVT 2.1: exterior rings positive (clockwise with y down), holes negative.
        if ((exterior && a < 0) || (!exterior && a > 0)) std::reverse(r.begin(), r.end());
        if (!exterior && rings.empty()) return;
        rings.push_back(std::move(r));
    };
    read_ring(GEOSGetExteriorRing_r(ctx, poly), true);
    const int holes = GEOSGetNumInteriorRings_r(ctx, poly);
    for (int i = 0; i < holes; ++i) read_ring(GEOSGetInteriorRingN_r(ctx, poly, i), false);
}

// A clipped line's parts in tile coordinates.
void collect_lines(const GEOSGeometry* g, TileId t, double extent, std::vector<std::vector<TilePoint>>& parts) {
    auto ctx = geos();
    const int type = GEOSGeomTypeId_r(ctx, g);
    if (type == GEOS_MULTILINESTRING || type == GEOS_GEOMETRYCOLLECTION) {
        for (int k = 0, n = GEOSGetNumGeometries_r(ctx, g); k < n; ++k) collect_lines(GEOSGetGeometryN_r(ctx, g, k), t, extent, parts);
        return;
    }
    if (type != GEOS_LINESTRING) return;
    std::vector<TilePoint> line = tile_points(g, t, extent);
    if (line.size() >= 2) parts.push_back(std::move(line));
}

}  // namespace

GEOSContextHandle_t geos() {
    struct Handle {
        GEOSContextHandle_t h = GEOS_init_r();
        ~Handle() { GEOS_finish_r(h); }
    };
    thread_local Handle handle;
    return handle.h;
}

GeomPtr wkb_to_world(std::string_view wkb, GEOSWKBReader* reader) {
    if (wkb.empty()) return nullptr;
    auto ctx = geos();
    GEOSWKBReader* own = reader ? nullptr : GEOSWKBReader_create_r(ctx);
    GeomPtr g(GEOSWKBReader_read_r(ctx, reader ? reader : own, reinterpret_cast<const unsigned char*>(wkb.data()), wkb.size()));
    if (own) GEOSWKBReader_destroy_r(ctx, own);
    if (!g) return nullptr;
    return GeomPtr(GEOSGeom_transformXY_r(ctx, g.get(), to_world_cb, nullptr));
}

GeomPtr simplify_for_zoom(const GEOSGeometry* world, int z, double simplify_px, double extent) {
    if (!world) return nullptr;
    const double tolerance = simplify_px / (static_cast<double>(1u << z) * extent);
    return GeomPtr(GEOSTopologyPreserveSimplify_r(geos(), world, tolerance));
}

WorldPoint label_point(const GEOSGeometry* world) {
    WorldPoint p{NAN, NAN};
    if (!world || GEOSisEmpty_r(geos(), world)) return p;
    auto ctx = geos();
    double x0, y0, x1, y1;
    if (!GEOSGeom_getXMin_r(ctx, world, &x0) || !GEOSGeom_getYMin_r(ctx, world, &y0) || !GEOSGeom_getXMax_r(ctx, world, &x1) ||
        !GEOSGeom_getYMax_r(ctx, world, &y1))
        return p;
    GeomPtr circle(GEOSMaximumInscribedCircle_r(ctx, world, std::max(x1 - x0, y1 - y0) / 100));
    // A polygon GEOS cannot inscribe (invalid input): a point on its surface still lies inside.
    GeomPtr centre(circle ? GEOSGeomGetStartPoint_r(ctx, circle.get()) : GEOSPointOnSurface_r(ctx, world));
    if (centre) {
        GEOSGeomGetX_r(ctx, centre.get(), &p.x);
        GEOSGeomGetY_r(ctx, centre.get(), &p.y);
    }
    return p;
}

bool clip_to_tile(const GEOSGeometry* world, bool line, TileId t, const Envelope& clip, double extent,
                  std::vector<TileRing>& out) {
    auto ctx = geos();
    out.clear();
    GeomPtr clipped(GEOSClipByRect_r(ctx, world, clip.min_x, clip.min_y, clip.max_x, clip.max_y));
    if (!clipped || GEOSisEmpty_r(ctx, clipped.get())) return false;
    if (line) {
        collect_lines(clipped.get(), t, extent, out);
        return !out.empty();
    }
    const int type = GEOSGeomTypeId_r(ctx, clipped.get());
    if (type == GEOS_POLYGON) {
        collect_rings(clipped.get(), t, extent, out);
    } else if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        const int n = GEOSGetNumGeometries_r(ctx, clipped.get());
        for (int k = 0; k < n; ++k) {
            const GEOSGeometry* part = GEOSGetGeometryN_r(ctx, clipped.get(), k);
            if (GEOSGeomTypeId_r(ctx, part) != GEOS_POLYGON) continue;
            std::vector<TileRing> part_rings;
            collect_rings(part, t, extent, part_rings);
            std::move(part_rings.begin(), part_rings.end(), std::back_inserter(out));
        }
    }
    return !out.empty();
}

}  // namespace ideo::tiles::shapes
