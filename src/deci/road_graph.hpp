#pragma once
// The road network as a graph for road-mode coverage (private to deci/): vertices of passable road
// lines, bounded Dijkstra, and the zones within reach of PEI along the roads.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

#include "geo.hpp"
#include "ideo/deci/coverage.hpp"
#include "ideo/index/rtree.hpp"

namespace ideo::deci {

// The road graph: vertices of passable road lines shared by coordinates (BD TOPO segments meet at
// their ends), undirected because hoses and crews are not bound by one-way streets.
class RoadGraph {
public:
    struct Edge {
        std::uint32_t a, b;
        double len;
    };
    struct Snap {
        std::uint32_t edge = 0;
        double t = 0;       // position along the edge from a, 0..1
        double offset = 0;  // metres from the point to the road
    };

    std::vector<geo::XY> nodes;
    std::vector<Edge> edges;
    std::vector<std::uint32_t> adj_start;                     // CSR: adjacency of node i in [start[i], start[i+1])
    std::vector<std::pair<std::uint32_t, std::uint32_t>> adj;  // (edge, other node)
    index::PackedRTree tree;                                   // edge envelopes in Lambert-93

    std::optional<Snap> snap(double x, double y, double max_m) const {
        std::vector<std::uint32_t> hits;
        tree.search(Envelope{x - max_m, y - max_m, x + max_m, y + max_m}, hits);
        std::optional<Snap> best;
        for (const auto e : hits) {
            const auto& A = nodes[edges[e].a];
            const auto& B = nodes[edges[e].b];
            const double dx = B.x - A.x, dy = B.y - A.y, l2 = dx * dx + dy * dy;
            const double t = l2 > 0 ? std::clamp(((x - A.x) * dx + (y - A.y) * dy) / l2, 0.0, 1.0) : 0.0;
            const double d = std::hypot(A.x + t * dx - x, A.y + t * dy - y);
            if (d <= max_m && (!best || d < best->offset)) best = Snap{e, t, d};
        }
        return best;
    }

    // Bounded Dijkstra from a snapped point: dist[] of every node reached within budget (metres).
    struct Scratch {
        std::vector<double> dist;
        std::vector<std::uint32_t> touched;
    };
    void run(const Snap& s, double budget, Scratch& sc) const {
        for (const auto n : sc.touched) sc.dist[n] = inf;
        sc.touched.clear();
        if (sc.dist.size() < nodes.size()) sc.dist.assign(nodes.size(), inf);
        using Item = std::pair<double, std::uint32_t>;
        std::priority_queue<Item, std::vector<Item>, std::greater<>> q;
        auto relax = [&](std::uint32_t n, double d) {
            if (d > budget || d >= sc.dist[n]) return;
            if (sc.dist[n] == inf) sc.touched.push_back(n);
            sc.dist[n] = d;
            q.emplace(d, n);
        };
        const Edge& e = edges[s.edge];
        relax(e.a, s.t * e.len);
        relax(e.b, (1 - s.t) * e.len);
        while (!q.empty()) {
            const auto [d, n] = q.top();
            q.pop();
            if (d > sc.dist[n]) continue;
            for (std::uint32_t i = adj_start[n]; i < adj_start[n + 1]; ++i) relax(adj[i].second, d + edges[adj[i].first].len);
        }
    }
    // Road distance from the source snap (after run()) to another snapped point, or infinity.
    double distance_to(const Snap& from, const Snap& to, const Scratch& sc) const {
        const Edge& e = edges[to.edge];
        auto at = [&](std::uint32_t n) { return n < sc.dist.size() ? sc.dist[n] : inf; };
        double d = std::min(at(e.a) + to.t * e.len, at(e.b) + (1 - to.t) * e.len);
        if (from.edge == to.edge) d = std::min(d, std::fabs(from.t - to.t) * e.len);
        return d;
    }

    static constexpr double inf = std::numeric_limits<double>::infinity();
};

// Zones within reach along roads of the compliant PEI at `sources`, as a Lambert-93 geometry (may be empty).
geo::Geom road_covered(const std::vector<geo::XY>& sources, const Rules& rules, const RiskClass& cls, const RoadGraph& g);

// The road graph when `mode` is road (throws InputError when no roads layer is loaded), else null.
std::shared_ptr<const RoadGraph> graph_for(const index::Snapshot& snapshot, const Rules& rules, Mode mode);

}  // namespace ideo::deci
