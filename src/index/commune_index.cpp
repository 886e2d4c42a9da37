#include "ideo/index/commune_index.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include <geos_c.h>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>

#include "ideo/core/error.hpp"

namespace ideo::index {
namespace {

using Transformation = std::unique_ptr<OGRCoordinateTransformation, void (*)(OGRCoordinateTransformation*)>;

Transformation wgs84_to(int epsg) {
    OGRSpatialReference from, to;
    from.importFromEPSG(4326);
    to.importFromEPSG(epsg);
    from.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    to.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformation* ct = OGRCreateCoordinateTransformation(&from, &to);
    if (!ct) throw Error("commune index: no WGS84 to EPSG:" + std::to_string(epsg) + " transformation");
    return Transformation(ct, [](OGRCoordinateTransformation* p) { OGRCoordinateTransformation::DestroyCT(p); });
}

}  // namespace

struct CommuneIndex::Impl {
    struct Commune {
        std::string code, name;
        GEOSGeometry* geometry = nullptr;  // Lambert-93, owned by `geos`
    };

    // What one query needs for itself: prepared geometries cache internal indexes on first use and
    // OGR transformations are not thread-safe, so a context serves one thread at a time (see lease()).
    struct Context {
        GEOSContextHandle_t geos = GEOS_init_r();
        std::vector<const GEOSPreparedGeometry*> prepared;  // per commune, prepared on first need
        Transformation to_l93 = wgs84_to(2154);

        ~Context() {
            for (auto* p : prepared)
                if (p) GEOSPreparedGeom_destroy_r(geos, p);
            GEOS_finish_r(geos);
        }
    };

    GEOSContextHandle_t geos = GEOS_init_r();
    std::vector<Commune> communes;
    std::map<std::string, size_t, std::less<>> by_code;
    GEOSSTRtree* tree = nullptr;
    mutable std::mutex pool_mutex;
    mutable std::vector<std::unique_ptr<Context>> pool;

    ~Impl() {
        pool.clear();
        if (tree) GEOSSTRtree_destroy_r(geos, tree);
        for (auto& c : communes) GEOSGeom_destroy_r(geos, c.geometry);
        GEOS_finish_r(geos);
    }

    // A context for the calling thread, returned to the pool when the lease ends. The shared commune
    // geometries and the built STRtree are only read, which GEOS allows from any handle.
    struct Lease {
        const Impl& impl;
        std::unique_ptr<Context> ctx;
        ~Lease() {
            std::lock_guard lock(impl.pool_mutex);
            impl.pool.push_back(std::move(ctx));
        }
        Context* operator->() const { return ctx.get(); }
    };

    Lease lease() const {
        std::unique_ptr<Context> ctx;
        {
            std::lock_guard lock(pool_mutex);
            if (!pool.empty()) {
                ctx = std::move(pool.back());
                pool.pop_back();
            }
        }
        if (!ctx) {
            ctx = std::make_unique<Context>();
            ctx->prepared.assign(communes.size(), nullptr);
        }
        return Lease{*this, std::move(ctx)};
    }

    const GEOSPreparedGeometry* prepared(Context& ctx, size_t i) const {
        if (!ctx.prepared[i]) ctx.prepared[i] = GEOSPrepare_r(ctx.geos, communes[i].geometry);
        return ctx.prepared[i];
    }

    // (lon, lat) as a Lambert-93 GEOS point of the context, or null when it cannot be projected.
    GEOSGeometry* l93_point(Context& ctx, double lon, double lat) const {
        double x = lon, y = lat;
        if (!ctx.to_l93->Transform(1, &x, &y) || !std::isfinite(x) || !std::isfinite(y)) return nullptr;
        return GEOSGeom_createPointFromXY_r(ctx.geos, x, y);
    }

    bool holds(Context& ctx, size_t i, const GEOSGeometry* point) const {
        const GEOSPreparedGeometry* p = prepared(ctx, i);
        return p && GEOSPreparedIntersects_r(ctx.geos, p, point) == 1;  // the boundary belongs to the commune
    }

    void add(const std::string& code, const std::string& name, GEOSGeometry* g) {
        if (auto it = by_code.find(code); it != by_code.end()) {  // a commune in several features: one geometry
            Commune& c = communes[it->second];
            GEOSGeometry* merged = GEOSUnion_r(geos, c.geometry, g);
            GEOSGeom_destroy_r(geos, g);
            if (merged) {
                GEOSGeom_destroy_r(geos, c.geometry);
                c.geometry = merged;
            }
            return;
        }
        by_code.emplace(code, communes.size());
        communes.push_back({code, name, g});
    }
};

CommuneIndex::CommuneIndex(const std::vector<Feature>& features, int code_field, int name_field)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    const Transformation to_l93 = wgs84_to(2154);
    GEOSWKBReader* reader = GEOSWKBReader_create_r(m.geos);
    for (const Feature& f : features) {
        if (f.geometry.empty() || code_field < 0 || static_cast<size_t>(code_field) >= f.values.size()) continue;
        const std::string code = to_text(f.values[static_cast<size_t>(code_field)]);
        if (code.empty()) continue;
        const std::string name =
            name_field >= 0 && static_cast<size_t>(name_field) < f.values.size() ? to_text(f.values[static_cast<size_t>(name_field)]) : "";
        OGRGeometry* og = nullptr;
        if (OGRGeometryFactory::createFromWkb(f.geometry.wkb.data(), nullptr, &og, f.geometry.wkb.size()) != OGRERR_NONE || !og)
            continue;
        std::unique_ptr<OGRGeometry> owned(og);
        if (owned->transform(to_l93.get()) != OGRERR_NONE) continue;
        std::string wkb(static_cast<size_t>(owned->WkbSize()), '\0');
        owned->exportToWkb(wkbNDR, reinterpret_cast<unsigned char*>(wkb.data()), wkbVariantIso);
        GEOSGeometry* g = GEOSWKBReader_read_r(m.geos, reader, reinterpret_cast<const unsigned char*>(wkb.data()), wkb.size());
        if (!g) continue;
        if (GEOSisValid_r(m.geos, g) != 1) {  // simplified boundaries may self-intersect; prepared predicates need valid input
            if (GEOSGeometry* valid = GEOSMakeValid_r(m.geos, g)) {
                GEOSGeom_destroy_r(m.geos, g);
                g = valid;
            }
        }
        m.add(code, name, g);
    }
    GEOSWKBReader_destroy_r(m.geos, reader);

    m.tree = GEOSSTRtree_create_r(m.geos, 10);
    for (size_t i = 0; i < m.communes.size(); ++i)
        GEOSSTRtree_insert_r(m.geos, m.tree, m.communes[i].geometry, reinterpret_cast<void*>(i));
    // The tree builds itself on its first query: do it now, so concurrent queries only read it.
    GEOSGeometry* probe = GEOSGeom_createPointFromXY_r(m.geos, 0, 0);
    GEOSSTRtree_query_r(m.geos, m.tree, probe, [](void*, void*) {}, nullptr);
    GEOSGeom_destroy_r(m.geos, probe);
}

CommuneIndex::~CommuneIndex() = default;

std::optional<std::string> CommuneIndex::locate(double lon, double lat) const {
    const Impl& m = *impl_;
    auto ctx = m.lease();
    GEOSGeometry* point = m.l93_point(*ctx.ctx, lon, lat);
    if (!point) return std::nullopt;
    std::vector<size_t> candidates;
    GEOSSTRtree_query_r(
        ctx->geos, m.tree, point,
        [](void* item, void* out) { static_cast<std::vector<size_t>*>(out)->push_back(reinterpret_cast<size_t>(item)); },
        &candidates);
    std::sort(candidates.begin(), candidates.end());  // deterministic on shared boundaries: first commune loaded
    std::optional<std::string> found;
    for (size_t i : candidates) {
        if (m.holds(*ctx.ctx, i, point)) {
            found = m.communes[i].code;
            break;
        }
    }
    GEOSGeom_destroy_r(ctx->geos, point);
    return found;
}

std::optional<double> CommuneIndex::distance_m(std::string_view insee, double lon, double lat) const {
    const Impl& m = *impl_;
    const auto it = m.by_code.find(insee);
    if (it == m.by_code.end()) return std::nullopt;
    auto ctx = m.lease();
    GEOSGeometry* point = m.l93_point(*ctx.ctx, lon, lat);
    if (!point) return INFINITY;
    double d = INFINITY;
    if (m.holds(*ctx.ctx, it->second, point)) {
        d = 0;
    } else {
        const GEOSPreparedGeometry* p = m.prepared(*ctx.ctx, it->second);
        if (!p || GEOSPreparedDistance_r(ctx->geos, p, point, &d) != 1)
            if (GEOSDistance_r(ctx->geos, m.communes[it->second].geometry, point, &d) != 1) d = INFINITY;
    }
    GEOSGeom_destroy_r(ctx->geos, point);
    return d;
}

bool CommuneIndex::knows(std::string_view insee) const { return impl_->by_code.contains(insee); }

std::string CommuneIndex::name(std::string_view insee) const {
    const auto it = impl_->by_code.find(insee);
    return it == impl_->by_code.end() ? std::string() : impl_->communes[it->second].name;
}

const GEOSGeometry* CommuneIndex::l93_polygon(std::string_view insee) const {
    const auto it = impl_->by_code.find(insee);
    return it == impl_->by_code.end() ? nullptr : impl_->communes[it->second].geometry;
}

std::size_t CommuneIndex::size() const { return impl_->communes.size(); }

}  // namespace ideo::index
