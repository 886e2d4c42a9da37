#include "ideo/index/commune_index.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include <geos_c.h>
#include <ogr_geometry.h>

#include "ideo/core/error.hpp"
#include "ideo/index/rtree.hpp"
#include "ideo/index/crs.hpp"

namespace ideo::index {
namespace {

// The calling thread's WGS84 -> Lambert-93 transformation, taken at each use: a Context moves between
// threads (see lease()), an OGR transformation may not.
OGRCoordinateTransformation& to_l93() {
    try {
        return crs::transformation(crs::kWgs84, crs::kLambert93);
    } catch (const Error& e) {
        throw Error(std::string("commune index: ") + e.what());
    }
}

}  // namespace

struct CommuneIndex::Impl {
    // A commune's WGS84 parts are kept as loaded and turned into one valid Lambert-93 GEOS geometry on
    // first use: an import touches the communes of one department, not the 3,700 of the region.
    struct Commune {
        std::string code, name;
        std::vector<std::string> wkb;  // WGS84 parts; cleared once converted
        Envelope lonlat;
        std::once_flag converted;
        GEOSGeometry* geometry = nullptr;  // Lambert-93; null when the parts cannot be read or projected
    };

    // What one query needs for itself: prepared geometries cache internal indexes on first use and
    // OGR transformations are not thread-safe, so a context serves one thread at a time (see lease()).
    struct Context {
        GEOSContextHandle_t geos = GEOS_init_r();
        std::vector<const GEOSPreparedGeometry*> prepared;  // per commune, prepared on first need

        ~Context() {
            for (auto* p : prepared)
                if (p) GEOSPreparedGeom_destroy_r(geos, p);
            GEOS_finish_r(geos);
        }
    };

    GEOSContextHandle_t geos = GEOS_init_r();
    std::vector<std::unique_ptr<Commune>> communes;
    std::map<std::string, size_t, std::less<>> by_code;
    PackedRTree tree;  // lon/lat envelopes, grown by kMargin
    mutable std::mutex pool_mutex;
    mutable std::vector<std::unique_ptr<Context>> pool;

    // Lambert-93 edges are straight between projected vertices, so a point inside may fall a hair outside
    // the lon/lat box of the vertices: 1e-4 degree (about 10 m) covers that curvature with room to spare.
    static constexpr double kMargin = 1e-4;

    ~Impl() {
        pool.clear();
        for (auto& c : communes)
            if (c->geometry) GEOSGeom_destroy_r(geos, c->geometry);
        GEOS_finish_r(geos);
    }

    // A context for the calling thread, returned to the pool when the lease ends. Commune geometries
    // are only read once converted, which GEOS allows from any handle.
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

    // The commune's parts read, projected to Lambert-93, merged and made valid (simplified boundaries may
    // self-intersect; prepared predicates need valid input). Geometries are not bound to the handle that made them.
    static GEOSGeometry* convert(Context& ctx, const std::vector<std::string>& parts) {
        GEOSWKBReader* reader = GEOSWKBReader_create_r(ctx.geos);
        GEOSGeometry* out = nullptr;
        OGRCoordinateTransformation& l93 = to_l93();
        for (const auto& part : parts) {
            OGRGeometry* og = nullptr;
            if (OGRGeometryFactory::createFromWkb(part.data(), nullptr, &og, part.size()) != OGRERR_NONE || !og) continue;
            std::unique_ptr<OGRGeometry> owned(og);
            if (owned->transform(&l93) != OGRERR_NONE) continue;
            std::string wkb(static_cast<size_t>(owned->WkbSize()), '\0');
            owned->exportToWkb(wkbNDR, reinterpret_cast<unsigned char*>(wkb.data()), wkbVariantIso);
            GEOSGeometry* g = GEOSWKBReader_read_r(ctx.geos, reader, reinterpret_cast<const unsigned char*>(wkb.data()), wkb.size());
            if (!g) continue;
            if (GEOSisValid_r(ctx.geos, g) != 1) {
                if (GEOSGeometry* valid = GEOSMakeValid_r(ctx.geos, g)) {
                    GEOSGeom_destroy_r(ctx.geos, g);
                    g = valid;
                }
            }
            if (!out) {
                out = g;
                continue;
            }
            GEOSGeometry* merged = GEOSUnion_r(ctx.geos, out, g);  // a commune in several features: one geometry
            GEOSGeom_destroy_r(ctx.geos, g);
            if (merged) {
                GEOSGeom_destroy_r(ctx.geos, out);
                out = merged;
            }
        }
        GEOSWKBReader_destroy_r(ctx.geos, reader);
        return out;
    }

    const GEOSGeometry* geometry(Context& ctx, size_t i) const {
        Commune& c = *communes[i];
        std::call_once(c.converted, [&] {
            c.geometry = convert(ctx, c.wkb);
            c.wkb = {};
        });
        return c.geometry;
    }

    const GEOSPreparedGeometry* prepared(Context& ctx, size_t i) const {
        if (!ctx.prepared[i])
            if (const GEOSGeometry* g = geometry(ctx, i)) ctx.prepared[i] = GEOSPrepare_r(ctx.geos, g);
        return ctx.prepared[i];
    }

    // (lon, lat) as a Lambert-93 GEOS point of the context, or null when it cannot be projected.
    GEOSGeometry* l93_point(Context& ctx, double lon, double lat) const {
        double x = lon, y = lat;
        if (!to_l93().Transform(1, &x, &y) || !std::isfinite(x) || !std::isfinite(y)) return nullptr;
        return GEOSGeom_createPointFromXY_r(ctx.geos, x, y);
    }

    bool holds(Context& ctx, size_t i, const GEOSGeometry* point) const {
        const GEOSPreparedGeometry* p = prepared(ctx, i);
        return p && GEOSPreparedIntersects_r(ctx.geos, p, point) == 1;  // the boundary belongs to the commune
    }
};

CommuneIndex::CommuneIndex(const std::vector<Feature>& features, int code_field, int name_field)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    for (const Feature& f : features) {
        if (f.geometry.empty() || code_field < 0 || static_cast<size_t>(code_field) >= f.values.size()) continue;
        const std::string code = to_text(f.values[static_cast<size_t>(code_field)]);
        if (code.empty()) continue;
        auto [it, fresh] = m.by_code.emplace(code, m.communes.size());
        if (fresh) {
            m.communes.push_back(std::make_unique<Impl::Commune>());
            m.communes.back()->code = code;
            if (name_field >= 0 && static_cast<size_t>(name_field) < f.values.size())
                m.communes.back()->name = to_text(f.values[static_cast<size_t>(name_field)]);
        }
        Impl::Commune& c = *m.communes[it->second];
        c.wkb.push_back(f.geometry.wkb);
        c.lonlat.expand(f.geometry.envelope.min_x - Impl::kMargin, f.geometry.envelope.min_y - Impl::kMargin);
        c.lonlat.expand(f.geometry.envelope.max_x + Impl::kMargin, f.geometry.envelope.max_y + Impl::kMargin);
    }
    std::vector<Envelope> boxes;
    boxes.reserve(m.communes.size());
    for (const auto& c : m.communes) boxes.push_back(c->lonlat);
    m.tree = PackedRTree(boxes);
}

CommuneIndex::~CommuneIndex() = default;

std::optional<std::string> CommuneIndex::locate(double lon, double lat) const {
    const Impl& m = *impl_;
    std::vector<std::uint32_t> candidates;
    Envelope at;
    at.expand(lon, lat);
    m.tree.search(at, candidates);
    if (candidates.empty()) return std::nullopt;
    std::sort(candidates.begin(), candidates.end());  // deterministic on shared boundaries: first commune loaded
    auto ctx = m.lease();
    GEOSGeometry* point = m.l93_point(*ctx.ctx, lon, lat);
    if (!point) return std::nullopt;
    std::optional<std::string> found;
    for (const auto i : candidates) {
        if (m.holds(*ctx.ctx, i, point)) {
            found = m.communes[i]->code;
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
        const GEOSGeometry* g = m.geometry(*ctx.ctx, it->second);
        if (!p || GEOSPreparedDistance_r(ctx->geos, p, point, &d) != 1)
            if (!g || GEOSDistance_r(ctx->geos, g, point, &d) != 1) d = INFINITY;
    }
    GEOSGeom_destroy_r(ctx->geos, point);
    return d;
}

bool CommuneIndex::knows(std::string_view insee) const { return impl_->by_code.contains(insee); }

std::string CommuneIndex::name(std::string_view insee) const {
    const auto it = impl_->by_code.find(insee);
    return it == impl_->by_code.end() ? std::string() : impl_->communes[it->second]->name;
}

const GEOSGeometry* CommuneIndex::l93_polygon(std::string_view insee) const {
    const Impl& m = *impl_;
    const auto it = m.by_code.find(insee);
    if (it == m.by_code.end()) return nullptr;
    auto ctx = m.lease();  // converted on first use, like every commune
    return m.geometry(*ctx.ctx, it->second);
}

std::size_t CommuneIndex::size() const { return impl_->communes.size(); }

}  // namespace ideo::index
