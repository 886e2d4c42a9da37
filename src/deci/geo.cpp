#include "geo.hpp"

#include <ogr_geometry.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ideo/core/error.hpp"
#include "ideo/index/crs.hpp"

namespace ideo::deci::geo {
namespace {

// The calling thread's WGS84 <-> Lambert-93 transformation (ingest/crs makes and caches it).
OGRCoordinateTransformation& transformation(const char* from, const char* to) {
    try {
        return crs::transformation(from, to);
    } catch (const Error& e) {
        throw Error(std::string("DECI: no WGS84 <-> Lambert-93 transformation (PROJ database?): ") + e.what());
    }
}

struct ThreadState {
    GEOSContextHandle_t geos = GEOS_init_r();
    OGRCoordinateTransformation& to_l93 = transformation(crs::kWgs84, crs::kLambert93);
    OGRCoordinateTransformation& to_wgs84 = transformation(crs::kLambert93, crs::kWgs84);
    ~ThreadState() { GEOS_finish_r(geos); }
};

ThreadState& state() {
    thread_local ThreadState s;
    return s;
}

std::optional<XY> apply(OGRCoordinateTransformation& ct, double x, double y) {
    if (!ct.Transform(1, &x, &y) || !std::isfinite(x) || !std::isfinite(y)) return std::nullopt;
    return XY{x, y};
}

}  // namespace

GEOSContextHandle_t ctx() { return state().geos; }

std::optional<XY> to_l93(double lon, double lat) { return apply(state().to_l93, lon, lat); }
std::optional<XY> to_wgs84(double x, double y) { return apply(state().to_wgs84, x, y); }

Geom wkb_to_l93(const std::string& wkb) {
    if (wkb.empty()) return nullptr;
    OGRGeometry* raw = nullptr;
    if (OGRGeometryFactory::createFromWkb(wkb.data(), nullptr, &raw, wkb.size()) != OGRERR_NONE || !raw) return nullptr;
    std::unique_ptr<OGRGeometry> g(raw);
    if (g->transform(&state().to_l93) != OGRERR_NONE) return nullptr;
    Geom out(g->exportToGEOS(ctx()));
    if (out && GEOSisValid_r(ctx(), out.get()) != 1) out.reset(GEOSMakeValid_r(ctx(), out.get()));  // partner polygons self-touch
    return out;
}

namespace {

// ISO WKB of a Lambert-93 polygon in WGS84, written from GEOS's coordinates with each ring reprojected in
// one call: what OGR's round trip (GEOS -> WKB -> OGR -> transform -> WKB) gives, without the copies.
bool append_polygon_wkb(std::string& out, const GEOSGeometry* polygon) {
    const auto put = [&](const auto& v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
    const int holes = GEOSGetNumInteriorRings_r(ctx(), polygon);
    if (holes < 0) return false;
    put(std::uint8_t{1});
    put(std::uint32_t{3});
    put(static_cast<std::uint32_t>(holes + 1));
    std::vector<double> x, y;
    for (int r = -1; r < holes; ++r) {
        const GEOSGeometry* ring = r < 0 ? GEOSGetExteriorRing_r(ctx(), polygon) : GEOSGetInteriorRingN_r(ctx(), polygon, r);
        const GEOSCoordSequence* seq = ring ? GEOSGeom_getCoordSeq_r(ctx(), ring) : nullptr;
        unsigned int n = 0;
        if (!seq || !GEOSCoordSeq_getSize_r(ctx(), seq, &n)) return false;
        x.resize(n);
        y.resize(n);
        for (unsigned int i = 0; i < n; ++i) GEOSCoordSeq_getXY_r(ctx(), seq, i, &x[i], &y[i]);
        if (n > 0 && !state().to_wgs84.Transform(static_cast<int>(n), x.data(), y.data())) return false;
        put(static_cast<std::uint32_t>(n));
        for (unsigned int i = 0; i < n; ++i) {
            put(x[i]);
            put(y[i]);
        }
    }
    return true;
}

}  // namespace

std::string l93_to_wkb(const GEOSGeometry* g) {
    if (!g || GEOSisEmpty_r(ctx(), g) == 1) return {};
    static_assert(std::endian::native == std::endian::little, "WKB is written in the machine's (little-endian) order");
    const int type = GEOSGeomTypeId_r(ctx(), g);
    if (type == GEOS_POLYGON || type == GEOS_MULTIPOLYGON) {
        std::string wkb;
        bool ok = true;
        if (type == GEOS_POLYGON) {
            ok = append_polygon_wkb(wkb, g);
        } else {
            const int parts = GEOSGetNumGeometries_r(ctx(), g);
            wkb += '\1';
            const auto put = [&](std::uint32_t v) { wkb.append(reinterpret_cast<const char*>(&v), sizeof v); };
            put(6);
            put(static_cast<std::uint32_t>(parts));
            for (int i = 0; i < parts && ok; ++i) ok = append_polygon_wkb(wkb, GEOSGetGeometryN_r(ctx(), g, i));
        }
        return ok ? wkb : std::string();
    }
    std::unique_ptr<OGRGeometry> og(OGRGeometryFactory::createFromGEOS(ctx(), const_cast<GEOSGeometry*>(g)));
    if (!og || og->transform(&state().to_wgs84) != OGRERR_NONE) return {};
    std::string wkb(static_cast<std::size_t>(og->WkbSize()), '\0');
    og->exportToWkb(wkbNDR, reinterpret_cast<unsigned char*>(wkb.data()), wkbVariantIso);
    return wkb;
}

double area(const GEOSGeometry* g) {
    double a = 0;
    if (g) GEOSArea_r(ctx(), g, &a);
    return a;
}

Envelope envelope_of(const GEOSGeometry* g) {
    Envelope e;
    double x0, y0, x1, y1;
    if (g && GEOSGeom_getXMin_r(ctx(), g, &x0) && GEOSGeom_getYMin_r(ctx(), g, &y0) && GEOSGeom_getXMax_r(ctx(), g, &x1) &&
        GEOSGeom_getYMax_r(ctx(), g, &y1)) {
        e.expand(x0, y0);
        e.expand(x1, y1);
    }
    return e;
}

Geom collection(std::vector<Geom>& parts, int type) {
    std::vector<GEOSGeometry*> raw;
    for (auto& p : parts) raw.push_back(p.release());
    parts.clear();
    return Geom(GEOSGeom_createCollection_r(ctx(), type, raw.data(), static_cast<unsigned>(raw.size())));
}

}  // namespace ideo::deci::geo
