// CQL2 evaluation: an Expr tree parsed by cql2_parse.cpp matched against features (LIKE, comparisons,
// spatial predicates with GEOS for non-point geometries), and the bounds a filter's spatial part allows.
#include "ideo/index/cql2.hpp"

#include <geos_c.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ideo::index::cql2 {
namespace {

// SQL LIKE: '%' any run, '_' one character (a whole UTF-8 sequence), '\' escapes the next one.
bool like(std::string_view s, std::string_view p) {
    auto char_len = [](std::string_view t, std::size_t i) -> std::size_t {
        const auto c = static_cast<unsigned char>(t[i]);
        const std::size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return std::min(n, t.size() - i);
    };
    std::size_t si = 0, pi = 0, star_p = std::string_view::npos, star_s = 0;
    while (si < s.size()) {
        if (pi < p.size() && p[pi] == '%') {
            star_p = ++pi;
            star_s = si;
            continue;
        }
        if (pi < p.size() && p[pi] == '_') {
            si += char_len(s, si);
            ++pi;
            continue;
        }
        if (pi < p.size()) {
            std::size_t lit = pi;
            if (p[lit] == '\\' && lit + 1 < p.size()) ++lit;
            if (p[lit] == s[si]) {
                pi = lit + 1;
                ++si;
                continue;
            }
        }
        if (star_p == std::string_view::npos) return false;
        pi = star_p;
        star_s += char_len(s, star_s);
        si = star_s;
    }
    while (pi < p.size() && p[pi] == '%') ++pi;
    return pi == p.size();
}

std::optional<double> numeric(const Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&v)) return *d;
    return std::nullopt;
}

// Compares a non-null value with a literal of a fitting type (checked at parse): <0, 0, >0; nullopt when incomparable.
std::optional<int> compare(const Value& v, const Literal& l) {
    switch (l.kind) {
        case Literal::Kind::Number:
        case Literal::Kind::Boolean: {
            const auto n = numeric(v);
            if (!n) return std::nullopt;
            return *n < l.number ? -1 : *n > l.number ? 1 : 0;
        }
        case Literal::Kind::String:
        case Literal::Kind::Date: {
            const auto* s = std::get_if<std::string>(&v);
            if (!s) return std::nullopt;
            const int c = s->compare(l.text);
            return c < 0 ? -1 : c > 0 ? 1 : 0;
        }
        case Literal::Kind::Timestamp: {
            const auto* s = std::get_if<std::string>(&v);
            if (!s) return std::nullopt;
            // A day is its midnight UTC.
            const std::string t = s->size() == 10 ? *s + "T00:00:00Z" : normal_timestamp(*s);
            const int c = t.compare(l.text);
            return c < 0 ? -1 : c > 0 ? 1 : 0;
        }
    }
    return std::nullopt;
}

bool holds(CompareOp op, int c) {
    switch (op) {
        case CompareOp::Eq: return c == 0;
        case CompareOp::Ne: return c != 0;
        case CompareOp::Lt: return c < 0;
        case CompareOp::Le: return c <= 0;
        case CompareOp::Gt: return c > 0;
        case CompareOp::Ge: return c >= 0;
    }
    return false;
}

// Ray casting over every ring: holes flip the parity back, so a point in a hole is outside.
bool point_in_polygon(double x, double y, const std::vector<std::vector<std::pair<double, double>>>& rings) {
    bool inside = false;
    for (const auto& ring : rings)
        for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
            const auto [xi, yi] = ring[i];
            const auto [xj, yj] = ring[j];
            if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
        }
    return inside;
}

// Exact intersection of a non-point geometry with the literal: GEOS, one prepared literal per thread and filter.
bool geos_intersects(const Geometry& g, const SpatialLiteral& lit, std::uint64_t literal_id) {
    struct Context {
        GEOSContextHandle_t h = GEOS_init_r();
        GEOSWKBReader* reader = GEOSWKBReader_create_r(h);
        std::uint64_t id = 0;
        GEOSGeometry* literal = nullptr;
        const GEOSPreparedGeometry* prepared = nullptr;
        void reset() {
            if (prepared) GEOSPreparedGeom_destroy_r(h, prepared);
            if (literal) GEOSGeom_destroy_r(h, literal);
            prepared = nullptr;
            literal = nullptr;
        }
        ~Context() {
            reset();
            GEOSWKBReader_destroy_r(h, reader);
            GEOS_finish_r(h);
        }
    };
    thread_local Context ctx;
    if (ctx.id != literal_id || !ctx.prepared) {
        ctx.reset();
        std::vector<GEOSGeometry*> rings;
        std::vector<std::vector<std::pair<double, double>>> source = lit.rings;
        if (lit.kind == SpatialLiteral::Kind::BBox) {
            const Envelope& e = lit.envelope;
            source = {{{e.min_x, e.min_y}, {e.max_x, e.min_y}, {e.max_x, e.max_y}, {e.min_x, e.max_y}, {e.min_x, e.min_y}}};
        }
        for (const auto& r : source) {
            GEOSCoordSequence* seq = GEOSCoordSeq_create_r(ctx.h, static_cast<unsigned>(r.size()), 2);
            for (std::size_t i = 0; i < r.size(); ++i) GEOSCoordSeq_setXY_r(ctx.h, seq, static_cast<unsigned>(i), r[i].first, r[i].second);
            rings.push_back(lit.kind == SpatialLiteral::Kind::Point ? GEOSGeom_createPoint_r(ctx.h, seq)
                                                                    : GEOSGeom_createLinearRing_r(ctx.h, seq));
        }
        ctx.literal = lit.kind == SpatialLiteral::Kind::Point
                          ? rings.front()
                          : GEOSGeom_createPolygon_r(ctx.h, rings.front(), rings.data() + 1, static_cast<unsigned>(rings.size() - 1));
        ctx.prepared = ctx.literal ? GEOSPrepare_r(ctx.h, ctx.literal) : nullptr;
        ctx.id = literal_id;
        if (!ctx.prepared) return false;
    }
    GEOSGeometry* feature = GEOSWKBReader_read_r(ctx.h, ctx.reader, reinterpret_cast<const unsigned char*>(g.wkb.data()), g.wkb.size());
    if (!feature) return false;
    const char r = GEOSPreparedIntersects_r(ctx.h, ctx.prepared, feature);
    GEOSGeom_destroy_r(ctx.h, feature);
    return r == 1;
}

bool spatial_matches(const Expr& e, const Feature& f) {
    const Geometry& g = f.geometry;
    const SpatialLiteral& lit = e.spatial;
    if (g.empty() || !g.envelope.intersects(lit.envelope)) return false;
    if (g.is_point()) {
        const double x = g.envelope.min_x, y = g.envelope.min_y;
        switch (lit.kind) {
            case SpatialLiteral::Kind::BBox: return lit.envelope.contains(x, y);
            // Within the 7 decimals we serve: a POINT copied from our output finds its feature.
            case SpatialLiteral::Kind::Point:
                return std::abs(x - lit.rings[0][0].first) <= 1e-7 && std::abs(y - lit.rings[0][0].second) <= 1e-7;
            case SpatialLiteral::Kind::Polygon: return point_in_polygon(x, y, lit.rings);
        }
    }
    if (lit.kind == SpatialLiteral::Kind::BBox && lit.envelope.contains(g.envelope.min_x, g.envelope.min_y) &&
        lit.envelope.contains(g.envelope.max_x, g.envelope.max_y))
        return true;
    return geos_intersects(g, lit, lit.id);
}

}  // namespace

bool matches(const Expr& e, const LayerSpec& layer, const Feature& f) {
    auto value = [&]() -> const Value& {
        static const Value null_value;
        return e.field >= 0 && static_cast<std::size_t>(e.field) < f.values.size() ? f.values[static_cast<std::size_t>(e.field)]
                                                                                     : null_value;
    };
    switch (e.kind) {
        case Expr::Kind::And:
            for (const auto& c : e.children)
                if (!matches(*c, layer, f)) return false;
            return true;
        case Expr::Kind::Or:
            for (const auto& c : e.children)
                if (matches(*c, layer, f)) return true;
            return false;
        case Expr::Kind::Not: return !matches(*e.children.front(), layer, f);
        case Expr::Kind::Constant: return e.constant;
        case Expr::Kind::IsNull: return is_null(value()) != e.negated;
        case Expr::Kind::Compare: {
            const Value& v = value();
            if (is_null(v)) return false;
            const auto c = compare(v, e.values.front());
            return c && holds(e.op, *c);
        }
        case Expr::Kind::Like: {
            const auto* s = std::get_if<std::string>(&value());
            if (!s) return false;
            return like(*s, e.values.front().text) != e.negated;
        }
        case Expr::Kind::In: {
            const Value& v = value();
            if (is_null(v)) return false;
            bool found = false;
            for (const auto& l : e.values)
                if (const auto c = compare(v, l); c && *c == 0) found = true;
            return found != e.negated;
        }
        case Expr::Kind::Between: {
            const Value& v = value();
            if (is_null(v)) return false;
            const auto lo = compare(v, e.values[0]);
            const auto hi = compare(v, e.values[1]);
            if (!lo || !hi) return false;
            return (*lo >= 0 && *hi <= 0) != e.negated;
        }
        case Expr::Kind::Intersects: return spatial_matches(e, f);
    }
    return false;
}

std::optional<Envelope> spatial_bounds(const Expr& e) {
    switch (e.kind) {
        case Expr::Kind::Intersects: return e.spatial.envelope;
        case Expr::Kind::And: {
            std::optional<Envelope> out;
            for (const auto& c : e.children) {
                const auto b = spatial_bounds(*c);
                if (!b) continue;
                if (!out) {
                    out = b;
                    continue;
                }
                out->min_x = std::max(out->min_x, b->min_x);
                out->min_y = std::max(out->min_y, b->min_y);
                out->max_x = std::min(out->max_x, b->max_x);
                out->max_y = std::min(out->max_y, b->max_y);
            }
            return out;
        }
        case Expr::Kind::Or: {
            Envelope out;
            for (const auto& c : e.children) {
                const auto b = spatial_bounds(*c);
                if (!b) return std::nullopt;
                out.expand(*b);
            }
            return out;
        }
        default: return std::nullopt;
    }
}

}  // namespace ideo::index::cql2
