#include "discs.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <numeric>


namespace ideo::deci::geo {
namespace {

constexpr int kDiscSegments = 4 * kQuadrantSegments;

// cos and sin of GEOS's point-buffer vertex angles (OffsetSegmentGenerator::createCircle: angle
// -i * 2π / segments), computed with the same expressions so that the vertices are bit-identical.
struct UnitCircle {
    std::array<double, kDiscSegments> cos{}, sin{};
    UnitCircle() {
        const double step = 2.0 * M_PI / kDiscSegments;
        for (int i = 0; i < kDiscSegments; ++i) {
            const double angle = -i * step;
            cos[static_cast<std::size_t>(i)] = std::cos(angle);
            sin[static_cast<std::size_t>(i)] = std::sin(angle);
        }
    }
};

struct PreparedDeleter {
    void operator()(const GEOSPreparedGeometry* p) const {
        if (p) GEOSPreparedGeom_destroy_r(ctx(), p);
    }
};
using Prepared = std::unique_ptr<const GEOSPreparedGeometry, PreparedDeleter>;

using Ring = std::vector<XY>;
static_assert(sizeof(XY) == 2 * sizeof(double), "XY is read and written as GEOS's x,y buffers");

Ring ring_of(const GEOSGeometry* ring) {
    const GEOSCoordSequence* seq = GEOSGeom_getCoordSeq_r(ctx(), ring);
    unsigned int n = 0;
    if (!seq || !GEOSCoordSeq_getSize_r(ctx(), seq, &n)) return {};
    Ring out(n);
    GEOSCoordSeq_copyToBuffer_r(ctx(), seq, reinterpret_cast<double*>(out.data()), 0, 0);
    return out;
}

// Twice the signed area (shoelace): positive when counter-clockwise.
double signed_area2(const Ring& r) {
    double s = 0;
    for (std::size_t i = 1; i < r.size(); ++i) s += (r[i - 1].x * r[i].y) - (r[i].x * r[i - 1].y);
    return s;
}

// GEOS's overlay results run shells clockwise and holes counter-clockwise: new rings follow suit.
Ring oriented(Ring r, bool counter_clockwise) {
    if ((signed_area2(r) > 0) != counter_clockwise) std::reverse(r.begin(), r.end());
    return r;
}

// Even-odd rule; the points tested here never lie on the ring (groups of discs are disjoint).
bool ring_holds(const Ring& r, XY p) {
    bool in = false;
    for (std::size_t i = 0, j = r.size() - 1; i < r.size(); j = i++)
        if ((r[i].y > p.y) != (r[j].y > p.y) && p.x < (r[j].x - r[i].x) * (p.y - r[i].y) / (r[j].y - r[i].y) + r[i].x)
            in = !in;
    return in;
}

// A polygon of the result being assembled: its shell, then its holes.
struct Part {
    std::vector<Ring> rings;
    Envelope box;  // of the shell
    explicit Part(std::vector<Ring> r) : rings(std::move(r)) {
        for (const XY& p : rings.front()) box.expand(p.x, p.y);
    }
    bool holds(XY p) const {
        if (!box.contains(p.x, p.y) || !ring_holds(rings.front(), p)) return false;
        return std::none_of(rings.begin() + 1, rings.end(), [&](const Ring& h) { return ring_holds(h, p); });
    }
};

std::vector<Ring> rings_of(const GEOSGeometry* polygon) {
    std::vector<Ring> out{ring_of(GEOSGetExteriorRing_r(ctx(), polygon))};
    for (int i = 0, n = GEOSGetNumInteriorRings_r(ctx(), polygon); i < n; ++i)
        out.push_back(ring_of(GEOSGetInteriorRingN_r(ctx(), polygon, i)));
    return out;
}

Geom linear_ring(const Ring& r) {
    GEOSCoordSequence* seq =
        GEOSCoordSeq_copyFromBuffer_r(ctx(), reinterpret_cast<const double*>(r.data()), static_cast<unsigned>(r.size()), 0, 0);
    return Geom(GEOSGeom_createLinearRing_r(ctx(), seq));
}

Geom polygon_of(const Part& part) {
    Geom shell = linear_ring(part.rings.front());
    std::vector<GEOSGeometry*> holes;
    for (std::size_t i = 1; i < part.rings.size(); ++i) holes.push_back(linear_ring(part.rings[i]).release());
    return Geom(GEOSGeom_createPolygon_r(ctx(), shell.release(), holes.data(), static_cast<unsigned>(holes.size())));
}

// The polygons of a polygonal geometry, each its own geometry.
void append_polygons(Geom g, std::vector<Geom>& out) {
    if (GEOSGeomTypeId_r(ctx(), g.get()) == GEOS_POLYGON) {
        out.push_back(std::move(g));
        return;
    }
    for (int i = 0, n = GEOSGetNumGeometries_r(ctx(), g.get()); i < n; ++i)
        if (const GEOSGeometry* part = GEOSGetGeometryN_r(ctx(), g.get(), i); GEOSisEmpty_r(ctx(), part) != 1)
            out.emplace_back(GEOSGeom_clone_r(ctx(), part));
}

// Groups of discs that may overlap (centres within two radii, by a sweep along x): discs of
// different groups never touch, so each group is unioned alone and the groups need no union.
std::vector<std::vector<std::uint32_t>> overlap_groups(const std::vector<XY>& centres, double radius) {
    const std::size_t n = centres.size();
    std::vector<std::uint32_t> parent(n), by_x(n);
    std::iota(parent.begin(), parent.end(), 0u);
    std::iota(by_x.begin(), by_x.end(), 0u);
    std::sort(by_x.begin(), by_x.end(), [&](auto a, auto b) { return centres[a].x < centres[b].x; });
    const auto root = [&](std::uint32_t i) {
        while (parent[i] != i) i = parent[i] = parent[parent[i]];
        return i;
    };
    const double reach = 2 * radius + 0.001;  // a millimetre of slack: touching discs are grouped too
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t b = a + 1; b < n && centres[by_x[b]].x - centres[by_x[a]].x <= reach; ++b) {
            const XY& p = centres[by_x[a]];
            const XY& q = centres[by_x[b]];
            if ((p.x - q.x) * (p.x - q.x) + (p.y - q.y) * (p.y - q.y) <= reach * reach) parent[root(by_x[a])] = root(by_x[b]);
        }
    std::vector<std::vector<std::uint32_t>> groups(n);
    for (std::uint32_t i = 0; i < n; ++i) groups[root(i)].push_back(i);
    std::erase_if(groups, [](const auto& g) { return g.empty(); });
    return groups;
}

// `rest` with every piece of `inside` (polygons strictly inside it, disjoint from each other and
// from its boundary) taken out, without an overlay: each piece becomes a hole of the part of `rest`
// around it and its own holes become parts, containers first so that nested pieces find their
// island. Null when a piece finds no host (left to the overlay).
Geom carve(const GEOSGeometry* rest, const std::vector<Geom>& inside) {
    std::vector<Part> parts;
    for (int i = 0, n = GEOSGetNumGeometries_r(ctx(), rest); i < n; ++i) {
        const GEOSGeometry* p = GEOSGetGeometryN_r(ctx(), rest, i);  // a polygon is its own only part
        if (GEOSisEmpty_r(ctx(), p) == 1) continue;
        if (GEOSGeomTypeId_r(ctx(), p) != GEOS_POLYGON) return nullptr;
        parts.emplace_back(rings_of(p));
    }
    struct Piece {
        double box_area;
        XY probe;  // a point of its interior: on no other ring
        std::vector<Ring> rings;
    };
    std::vector<Piece> pieces;
    for (const auto& g : inside) {
        const Envelope box = envelope_of(g.get());
        const Geom probe(GEOSPointOnSurface_r(ctx(), g.get()));
        double x = 0, y = 0;
        if (!probe || !GEOSGeomGetX_r(ctx(), probe.get(), &x) || !GEOSGeomGetY_r(ctx(), probe.get(), &y)) return nullptr;
        pieces.push_back({(box.max_x - box.min_x) * (box.max_y - box.min_y), {x, y}, rings_of(g.get())});
    }
    std::sort(pieces.begin(), pieces.end(), [](const Piece& a, const Piece& b) { return a.box_area > b.box_area; });
    for (auto& piece : pieces) {
        const auto host = std::find_if(parts.begin(), parts.end(), [&](const Part& p) { return p.holds(piece.probe); });
        if (host == parts.end()) return nullptr;
        host->rings.push_back(oriented(std::move(piece.rings.front()), true));
        for (std::size_t i = 1; i < piece.rings.size(); ++i)
            parts.emplace_back(std::vector<Ring>{oriented(std::move(piece.rings[i]), false)});
    }
    std::vector<Geom> out;
    for (const auto& part : parts) out.push_back(polygon_of(part));
    return out.size() == 1 ? std::move(out.front()) : collection(out, GEOS_MULTIPOLYGON);
}

}  // namespace

Geom disc(XY centre, double radius) {
    static const UnitCircle unit;
    std::array<XY, kDiscSegments + 1> ring;
    ring[0] = {centre.x + radius, centre.y};
    for (std::size_t i = 1; i < kDiscSegments; ++i)
        ring[i] = {centre.x + radius * unit.cos[i], centre.y + radius * unit.sin[i]};
    ring[kDiscSegments] = ring[0];
    GEOSCoordSequence* seq = GEOSCoordSeq_copyFromBuffer_r(ctx(), reinterpret_cast<const double*>(ring.data()),
                                                          static_cast<unsigned>(ring.size()), 0, 0);
    return Geom(GEOSGeom_createPolygon_r(ctx(), GEOSGeom_createLinearRing_r(ctx(), seq), nullptr, 0));
}

Geom outside_discs(const GEOSGeometry* polygon, const std::vector<XY>& centres, double radius) {
    const Prepared prepared(GEOSPrepare_r(ctx(), polygon));
    if (!prepared) return nullptr;
    // Only discs that reach the polygon change the difference (PostGIS's ST_DWithin(pei, commune, r)).
    std::vector<XY> reaching;
    std::vector<Geom> discs;
    for (const XY& c : centres) {
        Geom d = disc(c, radius);
        if (GEOSPreparedIntersects_r(ctx(), prepared.get(), d.get()) != 1) continue;
        reaching.push_back(c);
        discs.push_back(std::move(d));
    }
    // Each group's union; groups strictly inside the polygon are carved in afterwards, without an overlay.
    std::vector<Geom> crossing, inside;
    for (const auto& group : overlap_groups(reaching, radius)) {
        std::vector<Geom> pieces;
        if (group.size() == 1) {
            pieces.push_back(std::move(discs[group.front()]));
        } else {
            std::vector<Geom> members;
            for (const auto i : group) members.push_back(std::move(discs[i]));
            const Geom all = collection(members, GEOS_GEOMETRYCOLLECTION);
            Geom merged(GEOSUnaryUnion_r(ctx(), all.get()));
            if (!merged) return nullptr;
            append_polygons(std::move(merged), pieces);
        }
        for (auto& piece : pieces)
            (GEOSPreparedContainsProperly_r(ctx(), prepared.get(), piece.get()) == 1 ? inside : crossing)
                .push_back(std::move(piece));
    }
    Geom rest;
    if (crossing.empty()) {
        rest.reset(GEOSGeom_clone_r(ctx(), polygon));
    } else {
        const Geom cut = collection(crossing, GEOS_MULTIPOLYGON);
        rest.reset(GEOSDifference_r(ctx(), polygon, cut.get()));
    }
    if (!rest || inside.empty()) return rest;
    if (Geom carved = carve(rest.get(), inside)) return carved;
    const Geom holes = collection(inside, GEOS_MULTIPOLYGON);  // a piece found no host: the plain overlay
    return Geom(GEOSDifference_r(ctx(), rest.get(), holes.get()));
}

}  // namespace ideo::deci::geo
