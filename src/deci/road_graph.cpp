// The road graph of road-mode coverage: built once per snapshot and passable filter, searched with
// a bounded Dijkstra, turned into the strips of the commune within reach along the roads.
#include "road_graph.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <queue>
#include <string>
#include <tuple>
#include <unordered_map>

#include "ideo/core/error.hpp"

namespace ideo::deci {

using geo::Geom;
using geo::collection;

namespace {

struct GraphHolder {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<const RoadGraph>> by_filter;  // key: impassable natures
};

std::shared_ptr<RoadGraph> build_graph(const index::LayerData& roads, const Rules& rules) {
    auto g = std::make_shared<RoadGraph>();
    const int nature = roads.spec.field_index("nature");
    std::unordered_map<std::uint64_t, std::uint32_t> node_of;
    auto node = [&](double x, double y) {
        const auto key = (static_cast<std::uint64_t>(std::llround(x * 100)) << 32) ^ static_cast<std::uint64_t>(std::llround(y * 100));
        auto [it, fresh] = node_of.emplace(key, static_cast<std::uint32_t>(g->nodes.size()));
        if (fresh) g->nodes.push_back({x, y});
        return it->second;
    };
    std::vector<Envelope> boxes;
    auto ctx = geo::ctx();
    for (const Feature& f : roads.features) {
        if (nature >= 0 && static_cast<std::size_t>(nature) < f.values.size()) {
            const std::string n = to_text(f.values[static_cast<std::size_t>(nature)]);
            if (std::find(rules.impassable_natures.begin(), rules.impassable_natures.end(), n) != rules.impassable_natures.end())
                continue;
        }
        const Geom line = geo::wkb_to_l93(f.geometry.wkb);
        if (!line) continue;
        const int parts = GEOSGetNumGeometries_r(ctx, line.get());
        for (int p = 0; p < parts; ++p) {
            const GEOSGeometry* part = GEOSGetGeometryN_r(ctx, line.get(), p);
            const GEOSCoordSequence* seq = GEOSGeom_getCoordSeq_r(ctx, part);
            unsigned int n = 0;
            if (!seq || !GEOSCoordSeq_getSize_r(ctx, seq, &n) || n < 2) continue;
            double px = 0, py = 0;
            GEOSCoordSeq_getXY_r(ctx, seq, 0, &px, &py);
            std::uint32_t prev = node(px, py);
            for (unsigned int i = 1; i < n; ++i) {
                double x = 0, y = 0;
                GEOSCoordSeq_getXY_r(ctx, seq, i, &x, &y);
                const std::uint32_t cur = node(x, y);
                const double len = std::hypot(x - px, y - py);
                if (cur != prev) {
                    g->edges.push_back({prev, cur, len});
                    Envelope e;
                    e.expand(px, py);
                    e.expand(x, y);
                    boxes.push_back(e);
                }
                prev = cur;
                px = x;
                py = y;
            }
        }
    }
    std::vector<std::uint32_t> degree(g->nodes.size() + 1, 0);
    for (const auto& e : g->edges) {
        degree[e.a]++;
        degree[e.b]++;
    }
    g->adj_start.assign(g->nodes.size() + 1, 0);
    for (std::size_t i = 0; i < g->nodes.size(); ++i) g->adj_start[i + 1] = g->adj_start[i] + degree[i];
    g->adj.resize(g->adj_start.back());
    std::vector<std::uint32_t> fill(g->adj_start.begin(), g->adj_start.end() - 1);
    for (std::uint32_t i = 0; i < g->edges.size(); ++i) {
        g->adj[fill[g->edges[i].a]++] = {i, g->edges[i].b};
        g->adj[fill[g->edges[i].b]++] = {i, g->edges[i].a};
    }
    g->tree = index::PackedRTree(boxes);
    return g;
}

}  // namespace

Geom road_covered(const std::vector<geo::XY>& sources, const Rules& rules, const RiskClass& cls, const RoadGraph& g) {
    thread_local RoadGraph::Scratch sc;
    std::unordered_map<std::uint32_t, std::pair<double, double>> reach;  // edge -> (from a, from b) metres
    std::vector<std::tuple<std::uint32_t, double, double>> pieces;        // snapped edges: (edge, from, to)
    for (const auto& source : sources) {
        const auto s = g.snap(source.x, source.y, rules.snap_max_m);
        if (!s) continue;  // a PEI off the network serves no road
        const double budget = cls.distance_m - s->offset;
        if (budget <= 0) continue;
        g.run(*s, budget, sc);
        const double len = g.edges[s->edge].len, at = s->t * len;
        pieces.emplace_back(s->edge, std::max(0.0, at - budget), std::min(len, at + budget));
        for (const auto n : sc.touched) {
            const double left = budget - sc.dist[n];
            for (std::uint32_t i = g.adj_start[n]; i < g.adj_start[n + 1]; ++i) {
                const auto e = g.adj[i].first;
                auto& r = reach[e];
                if (g.edges[e].a == n) r.first = std::max(r.first, std::min(left, g.edges[e].len));
                else r.second = std::max(r.second, std::min(left, g.edges[e].len));
            }
        }
    }
    auto ctx = geo::ctx();
    std::vector<Geom> lines;
    auto add = [&](std::uint32_t e, double from, double to) {
        if (to - from <= 0.01) return;
        const auto& A = g.nodes[g.edges[e].a];
        const auto& B = g.nodes[g.edges[e].b];
        const double len = g.edges[e].len;
        GEOSCoordSequence* seq = GEOSCoordSeq_create_r(ctx, 2, 2);
        GEOSCoordSeq_setXY_r(ctx, seq, 0, A.x + (B.x - A.x) * from / len, A.y + (B.y - A.y) * from / len);
        GEOSCoordSeq_setXY_r(ctx, seq, 1, A.x + (B.x - A.x) * to / len, A.y + (B.y - A.y) * to / len);
        lines.emplace_back(GEOSGeom_createLineString_r(ctx, seq));
    };
    // One set of disjoint intervals per edge: overlapping pieces would defeat the line merge below.
    std::unordered_map<std::uint32_t, std::vector<std::pair<double, double>>> intervals;
    for (const auto& [e, r] : reach) {
        auto& iv = intervals[e];
        if (r.first > 0) iv.emplace_back(0, r.first);
        if (r.second > 0) iv.emplace_back(g.edges[e].len - r.second, g.edges[e].len);
    }
    for (const auto& [e, from, to] : pieces) intervals[e].emplace_back(from, to);
    for (auto& [e, iv] : intervals) {
        std::sort(iv.begin(), iv.end());
        double from = iv.front().first, to = iv.front().second;
        for (const auto& [a, b] : iv) {
            if (a > to) {
                add(e, from, to);
                from = a;
            }
            to = std::max(to, b);
        }
        add(e, from, to);
    }
    if (lines.empty()) return Geom(GEOSGeom_createEmptyPolygon_r(ctx));
    Geom network = collection(lines, GEOS_MULTILINESTRING);
    // Thousands of two-point pieces buffer slowly; merged into long lines first, GEOS nodes far fewer of them.
    Geom merged(GEOSLineMerge_r(ctx, network.get()));
    const GEOSGeometry* source = merged ? merged.get() : network.get();
    std::vector<Geom> strips;  // buffered one by one then cascaded-unioned: far faster than one buffer of the whole
    for (int i = 0, n = GEOSGetNumGeometries_r(ctx, source); i < n; ++i)
        strips.emplace_back(GEOSBuffer_r(ctx, GEOSGetGeometryN_r(ctx, source, i), rules.road_buffer_m, 4));
    Geom all = collection(strips, GEOS_GEOMETRYCOLLECTION);
    return Geom(GEOSUnaryUnion_r(ctx, all.get()));
}

std::shared_ptr<const RoadGraph> road_graph(const index::Snapshot& snapshot, const Rules& rules) {
    const index::LayerData* roads = snapshot.layer("roads");
    if (!roads || roads->features.empty()) return nullptr;
    auto holder = snapshot.attachment<GraphHolder>([] { return std::make_shared<GraphHolder>(); });
    std::string key;
    for (const auto& n : rules.impassable_natures) key += n + '\n';
    std::lock_guard lock(holder->mutex);  // built once per snapshot and passable filter
    auto& slot = holder->by_filter[key];
    if (!slot) slot = build_graph(*roads, rules);
    return slot;
}

std::shared_ptr<const RoadGraph> graph_for(const index::Snapshot& snapshot, const Rules& rules, Mode mode) {
    if (mode != Mode::Road) return nullptr;
    auto g = road_graph(snapshot, rules);
    if (!g) throw InputError("mode 'road': no road layer is loaded (import the roads layer, or use mode=straight)");
    return g;
}

}  // namespace ideo::deci
