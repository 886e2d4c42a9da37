// DECI coverage: straight-line discs or bounded Dijkstra along roads, GEOS in Lambert-93 metres.
#include "ideo/deci/coverage.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <queue>
#include <thread>
#include <atomic>
#include <unordered_map>

#include "discs.hpp"
#include "geo.hpp"
#include "ideo/core/error.hpp"
#include "ideo/index/rtree.hpp"

namespace ideo::deci {

using geo::Geom;
using geo::collection;
using geo::envelope_of;

const char* to_string(Mode m) { return m == Mode::Road ? "road" : "straight"; }

Mode parse_mode(std::string_view s) {
    if (s == "straight") return Mode::Straight;
    if (s == "road") return Mode::Road;
    throw InputError("mode '" + std::string(s) + "': expected straight or road");
}

std::string approximation_label(Mode m) {
    return m == Mode::Straight
               ? "Approximation : distances à vol d'oiseau, qui surestiment la couverture réelle (distances le long des voies plus longues)"
               : "Distances le long des voies praticables (réseau routier chargé) ; zone couverte = bande le long des voies atteintes";
}

// ---------------------------------------------------------------------------------------------
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

// Every PEI of the snapshot in Lambert-93 with its facts, built once per snapshot: queries then
// need neither PROJ nor field parsing per candidate.
struct PeiIndex {
    std::vector<geo::XY> l93;     // per feature; meaningful for the points the tree holds
    std::vector<PeiFacts> facts;  // per feature
    index::PackedRTree tree;      // over the points that project to Lambert-93
};

std::shared_ptr<const PeiIndex> pei_index(const index::Snapshot& snapshot, const index::LayerData& pei) {
    return snapshot.attachment<PeiIndex>([&] {
        auto idx = std::make_shared<PeiIndex>();
        const std::size_t n = pei.features.size();
        idx->l93.resize(n, geo::XY{0, 0});
        idx->facts.reserve(n);
        std::vector<Envelope> points(n);
        for (std::size_t i = 0; i < n; ++i) {
            const Feature& f = pei.features[i];
            idx->facts.push_back(pei_facts(pei.spec, f));
            if (!f.geometry.is_point()) continue;
            const auto p = geo::to_l93(f.geometry.envelope.min_x, f.geometry.envelope.min_y);
            if (!p) continue;
            idx->l93[i] = *p;
            points[i].expand(p->x, p->y);
        }
        idx->tree = index::PackedRTree(points);
        return idx;
    });
}

// A PEI near a place, with what the rules need to know about it.
struct Candidate {
    std::uint32_t index;
    const Feature* feature;
    const PeiFacts* facts;
    geo::XY l93;
};

// The PEI layer with its Lambert-93 index: what every coverage computation reads.
struct PeiSource {
    const index::LayerData& layer;
    const PeiIndex& index;
};

// PEI whose location lies within `radius_m` of a Lambert-93 envelope, in feature order.
std::vector<Candidate> pei_near(const PeiSource& pei, const Envelope& l93_box, double radius_m) {
    std::vector<Candidate> out;
    if (l93_box.empty()) return out;
    std::vector<std::uint32_t> hits;
    pei.index.tree.search(Envelope{l93_box.min_x - radius_m, l93_box.min_y - radius_m, l93_box.max_x + radius_m,
                                   l93_box.max_y + radius_m},
                          hits);
    std::sort(hits.begin(), hits.end());
    out.reserve(hits.size());
    for (const auto i : hits) out.push_back({i, &pei.layer.features[i], &pei.index.facts[i], pei.index.l93[i]});
    return out;
}

// Lambert-93 locations of the candidates that meet the class on their own.
std::vector<geo::XY> compliant_locations(const std::vector<Candidate>& pei, const Rules& rules, const RiskClass& cls) {
    std::vector<geo::XY> out;
    for (const auto& c : pei)
        if (pei_shortfall(rules, cls, *c.facts) == Shortfall::None) out.push_back(c.l93);
    return out;
}

// Zones within reach along roads of the compliant PEI at `sources`, as a Lambert-93 geometry (may be empty).
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

std::shared_ptr<const RoadGraph> graph_for(const index::Snapshot& snapshot, const Rules& rules, Mode mode) {
    if (mode != Mode::Road) return nullptr;
    auto g = road_graph(snapshot, rules);
    if (!g) throw InputError("mode 'road': no road layer is loaded (import the roads layer, or use mode=straight)");
    return g;
}

// The verdict for a risk of class `cls` given the PEI around it and their distances (infinite: unreachable).
RiskVerdict verdict_among(const std::vector<Candidate>& near, const std::vector<double>& dist, const Rules& rules,
                          const RiskClass& cls) {
    RiskVerdict v;
    v.risk_class = cls.id;
    v.located = true;
    const double reach = std::max(cls.distance_m, cls.additional_distance_m);
    std::vector<std::size_t> order(near.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    // Equal distances in feature order: the same PEI is named whatever the search box.
    std::sort(order.begin(), order.end(),
              [&](auto a, auto b) { return dist[a] < dist[b] || (dist[a] == dist[b] && near[a].index < near[b].index); });

    bool unavailable_near = false, weak_near = false, any_near = false;
    double flow_sum = 0;
    std::string first_available;
    for (const auto i : order) {
        if (!std::isfinite(dist[i]) || (dist[i] > reach && !v.nearest_pei.empty())) break;  // nothing farther counts
        const Shortfall s = pei_shortfall(rules, cls, *near[i].facts);
        if (s == Shortfall::None && v.nearest_pei.empty()) {
            v.nearest_pei = near[i].feature->id;
            v.distance_m = dist[i];
        }
        if (dist[i] <= cls.distance_m) {
            any_near = true;
            unavailable_near = unavailable_near || s == Shortfall::Unavailable;
            weak_near = weak_near || s == Shortfall::FlowTooLow;
        }
        // Several PEI may add up (courant important): the first within distance_m, the others within additional_distance_m.
        if (cls.additional_distance_m > 0 && near[i].facts->available) {
            if (first_available.empty() && dist[i] <= cls.distance_m) first_available = near[i].feature->id;
            if (!first_available.empty() && dist[i] <= cls.additional_distance_m)
                flow_sum += pei_flow_contribution(rules, *near[i].facts);
        }
    }
    if (v.distance_m && *v.distance_m <= cls.distance_m) {
        v.covered = true;
    } else if (!first_available.empty() && flow_sum >= cls.flow_m3h) {
        v.covered = true;  // reached by adding flows; the nearest compliant PEI alone may be farther
    } else {
        v.reason = weak_near ? Shortfall::FlowTooLow
                   : unavailable_near ? Shortfall::Unavailable
                   : any_near || !v.nearest_pei.empty() ? Shortfall::TooFar
                   : near.empty() ? Shortfall::NoPei
                                  : Shortfall::TooFar;
    }
    return v;
}

// The verdict for a risk of class `cls` at a Lambert-93 point.
RiskVerdict evaluate(const PeiSource& pei, const Rules& rules, const RoadGraph* graph, geo::XY at,
                     const RiskClass& cls) {
    const double reach = std::max(cls.distance_m, cls.additional_distance_m);
    const double search = std::max(3 * reach, 2000.0);  // far enough to name the nearest PEI of a poorly served risk
    Envelope box;
    box.expand(at.x, at.y);
    std::optional<RoadGraph::Snap> from;
    if (graph) from = graph->snap(at.x, at.y, rules.snap_max_m);
    if (from) {
        const std::vector<Candidate> near = pei_near(pei, box, search);
        std::vector<double> dist(near.size(), RoadGraph::inf);
        thread_local RoadGraph::Scratch sc;
        graph->run(*from, search, sc);
        for (std::size_t i = 0; i < near.size(); ++i)
            if (const auto s = graph->snap(near[i].l93.x, near[i].l93.y, rules.snap_max_m))
                dist[i] = from->offset + s->offset + graph->distance_to(*from, *s, sc);
        RiskVerdict v = verdict_among(near, dist, rules, cls);
        v.distance_mode = "road";
        return v;
    }
    // Straight line: the square of the class's reach holds every PEI that counts, and names the nearest
    // compliant one of most risks; wider squares (3 times, then the whole search) only when it does not.
    RiskVerdict v;
    for (const double half : {reach, std::min(3 * reach, search), search}) {
        const std::vector<Candidate> near = pei_near(pei, box, half);
        std::vector<double> dist(near.size());
        for (std::size_t i = 0; i < near.size(); ++i) dist[i] = std::hypot(near[i].l93.x - at.x, near[i].l93.y - at.y);
        v = verdict_among(near, dist, rules, cls);
        if (v.distance_m && *v.distance_m <= half) break;
    }
    v.distance_mode = "straight";
    return v;
}

std::string field_text(const LayerSpec& spec, const Feature& f, const std::string& field) {
    const int i = field.empty() ? -1 : spec.field_index(field);
    return i >= 0 && static_cast<std::size_t>(i) < f.values.size() ? to_text(f.values[static_cast<std::size_t>(i)]) : "";
}

struct CoverageCache {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<const CommuneCoverage>> results;
};
struct RulesCache {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<const Rules>> by_dept;
};

}  // namespace

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

std::vector<std::string> department_communes(const index::Snapshot& snapshot, const std::string& dept) {
    std::vector<std::string> out;
    if (const auto* communes = snapshot.layer("communes"))
        for (const auto& [code, idx] : communes->by_id)
            if (department_of(code) == dept) out.push_back(code);
    std::sort(out.begin(), out.end());
    return out;
}

CommuneCoverage commune_coverage(const index::Snapshot& snapshot, const Rules& rules, const std::string& insee,
                                 Mode mode) {
    const index::LayerData* communes = snapshot.layer("communes");
    if (!communes || !communes->by_id.contains(insee))
        throw InputError("commune '" + insee + "': no commune polygon with this INSEE code");
    const auto graph = graph_for(snapshot, rules, mode);
    // Projected and made valid once per snapshot by the commune index.
    const GEOSGeometry* polygon = snapshot.communes ? snapshot.communes->l93_polygon(insee) : nullptr;
    if (!polygon) throw Error("commune '" + insee + "': its polygon cannot be read");

    CommuneCoverage out;
    out.insee = insee;
    out.name = snapshot.commune_name(insee);
    out.mode = mode;
    out.rules_id = rules.id;
    const RiskClass& cls = rules.area_class();
    out.risk_class = cls.id;
    out.area_m2 = geo::area(polygon);

    const index::LayerData* pei_layer = snapshot.layer("pei");
    const auto indexed = pei_layer ? pei_index(snapshot, *pei_layer) : nullptr;
    const std::optional<PeiSource> pei = pei_layer ? std::optional<PeiSource>(PeiSource{*pei_layer, *indexed}) : std::nullopt;
    std::vector<Candidate> near;
    if (pei) near = pei_near(*pei, envelope_of(polygon), cls.distance_m);
    if (pei)
        if (const auto it = pei_layer->by_insee.find(insee); it != pei_layer->by_insee.end()) {
            out.pei_total = it->second.size();
            for (const auto i : it->second)
                if (pei_shortfall(rules, cls, indexed->facts[i]) == Shortfall::None) out.pei_compliant++;
        }
    const std::vector<geo::XY> sources = compliant_locations(near, rules, cls);
    Geom uncovered;
    if (graph) {
        const Geom covered = road_covered(sources, rules, cls, *graph);
        if (covered) uncovered.reset(GEOSDifference_r(geo::ctx(), polygon, covered.get()));
    } else {
        uncovered = geo::outside_discs(polygon, sources, cls.distance_m);
    }
    if (!uncovered) throw Error("commune '" + insee + "': GEOS could not compute the uncovered zones");
    const double uncovered_m2 = geo::area(uncovered.get());
    out.covered_m2 = std::max(0.0, out.area_m2 - uncovered_m2);
    out.covered_share = out.area_m2 > 0 ? out.covered_m2 / out.area_m2 : 0;
    out.uncovered_wkb = geo::l93_to_wkb(uncovered.get());

    for (const char* layer_id : {"erp", "icpe"}) {
        const index::LayerData* layer = snapshot.layer(layer_id);
        if (!layer) continue;
        const auto it = layer->by_insee.find(insee);
        if (it == layer->by_insee.end()) continue;
        for (const auto i : it->second) {
            const Feature& f = layer->features[i];
            const RiskClass& rc = risk_class_of(rules, layer->spec, f);
            RiskVerdict v;
            const auto at = f.geometry.empty() ? std::nullopt
                                               : geo::to_l93((f.geometry.envelope.min_x + f.geometry.envelope.max_x) / 2,
                                                             (f.geometry.envelope.min_y + f.geometry.envelope.max_y) / 2);
            if (at && pei) {
                v = evaluate(*pei, rules, graph.get(), *at, rc);
                v.lon = (f.geometry.envelope.min_x + f.geometry.envelope.max_x) / 2;
                v.lat = (f.geometry.envelope.min_y + f.geometry.envelope.max_y) / 2;
            } else {
                v.risk_class = rc.id;
                v.reason = at ? Shortfall::NoPei : Shortfall::NoLocation;
            }
            v.layer = layer_id;
            v.id = f.id;
            v.name = field_text(layer->spec, f, layer->spec.name_field);
            out.risks.push_back(std::move(v));
        }
    }
    return out;
}

std::shared_ptr<const CommuneCoverage> cached_coverage(const index::Snapshot& snapshot, const Rules& rules,
                                                       const std::string& insee, Mode mode) {
    auto cache = snapshot.attachment<CoverageCache>([] { return std::make_shared<CoverageCache>(); });
    const std::string key = rules.id + '|' + to_string(mode) + '|' + insee;
    {
        std::lock_guard lock(cache->mutex);
        if (auto it = cache->results.find(key); it != cache->results.end()) return it->second;
    }
    auto result = std::make_shared<const CommuneCoverage>(commune_coverage(snapshot, rules, insee, mode));
    std::lock_guard lock(cache->mutex);  // computed outside the lock: two racing requests both compute, one wins
    return cache->results.emplace(key, result).first->second;
}

RiskVerdict check_point(const index::Snapshot& snapshot, const Rules& rules, double lon, double lat,
                        const RiskClass& risk, Mode preferred) {
    const auto at = geo::to_l93(lon, lat);
    if (!at) throw InputError("lon/lat: the point cannot be projected to Lambert-93");
    const index::LayerData* pei = snapshot.layer("pei");
    const auto graph = preferred == Mode::Road ? road_graph(snapshot, rules) : nullptr;
    RiskVerdict v;
    if (pei) {
        v = evaluate({*pei, *pei_index(snapshot, *pei)}, rules, graph.get(), *at, risk);
    } else {
        v.risk_class = risk.id;
        v.reason = Shortfall::NoPei;
        v.distance_mode = "straight";
    }
    v.located = true;
    v.lon = lon;
    v.lat = lat;
    return v;
}

namespace {

void write_verdict(rapidjson::Writer<rapidjson::StringBuffer>& w, const RiskVerdict& v) {
    w.Key("risk_class");
    w.String(v.risk_class.c_str());
    w.Key("covered");
    w.Bool(v.covered);
    w.Key("verdict");
    w.String(v.covered ? "covered" : "not_covered");
    w.Key("reason");
    if (v.covered) w.Null();
    else w.String(to_string(v.reason));
    w.Key("nearest_pei");
    if (v.nearest_pei.empty()) w.Null();
    else w.String(v.nearest_pei.c_str());
    w.Key("distance_m");
    if (v.distance_m) w.Double(std::round(*v.distance_m * 10) / 10);
    else w.Null();
    w.Key("distance_mode");
    w.String(v.distance_mode.c_str());
}

}  // namespace

std::string coverage_geojson(const std::vector<CommuneCoverage>& communes) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.SetMaxDecimalPlaces(7);
    double area = 0, covered = 0;
    std::size_t risks = 0, risks_covered = 0;
    std::map<std::string, std::size_t> reasons;
    w.StartObject();
    w.Key("type");
    w.String("FeatureCollection");
    w.Key("features");
    w.StartArray();
    std::string geometry;
    for (const auto& c : communes) {
        area += c.area_m2;
        covered += c.covered_m2;
        w.StartObject();
        w.Key("type");
        w.String("Feature");
        w.Key("geometry");
        geometry.clear();
        Geometry g;
        g.wkb = c.uncovered_wkb;
        append_geojson(geometry, g, 7);
        w.RawValue(geometry.c_str(), geometry.size(), rapidjson::kObjectType);
        w.Key("properties");
        w.StartObject();
        w.Key("kind");
        w.String("uncovered");
        w.Key("insee");
        w.String(c.insee.c_str());
        w.Key("name");
        w.String(c.name.c_str());
        w.Key("risk_class");
        w.String(c.risk_class.c_str());
        w.Key("covered_share");
        w.Double(std::round(c.covered_share * 10000) / 10000);
        w.Key("uncovered_m2");
        w.Double(std::round(c.area_m2 - c.covered_m2));
        w.Key("pei_total");
        w.Uint64(c.pei_total);
        w.Key("pei_compliant");
        w.Uint64(c.pei_compliant);
        w.EndObject();
        w.EndObject();
        for (const auto& v : c.risks) {
            ++risks;
            if (v.covered) ++risks_covered;
            else reasons[to_string(v.reason)]++;
            w.StartObject();
            w.Key("type");
            w.String("Feature");
            w.Key("geometry");
            if (v.located) {
                geometry.clear();
                append_geojson(geometry, Geometry::point(v.lon, v.lat), 7);
                w.RawValue(geometry.c_str(), geometry.size(), rapidjson::kObjectType);
            } else {
                w.Null();
            }
            w.Key("properties");
            w.StartObject();
            w.Key("kind");
            w.String("risk");
            w.Key("insee");
            w.String(c.insee.c_str());
            w.Key("layer");
            w.String(v.layer.c_str());
            w.Key("id");
            w.String(v.id.c_str());
            w.Key("name");
            w.String(v.name.c_str());
            write_verdict(w, v);
            w.EndObject();
            w.EndObject();
        }
    }
    w.EndArray();
    const Mode mode = communes.empty() ? Mode::Straight : communes.front().mode;
    w.Key("summary");
    w.StartObject();
    w.Key("mode");
    w.String(to_string(mode));
    w.Key("approximation");
    w.Bool(mode == Mode::Straight);
    w.Key("label");
    w.String(approximation_label(mode).c_str());
    w.Key("rules");
    w.String(communes.empty() ? "" : communes.front().rules_id.c_str());
    w.Key("communes");
    w.Uint64(communes.size());
    w.Key("area_m2");
    w.Double(std::round(area));
    w.Key("covered_share");
    w.Double(area > 0 ? std::round(covered / area * 10000) / 10000 : 0);
    w.Key("risks");
    w.StartObject();
    w.Key("total");
    w.Uint64(risks);
    w.Key("covered");
    w.Uint64(risks_covered);
    w.Key("not_covered");
    w.StartObject();
    for (const auto& [r, n] : reasons) {
        w.Key(r.c_str());
        w.Uint64(n);
    }
    w.EndObject();
    w.EndObject();
    w.EndObject();
    w.EndObject();
    return sb.GetString();
}

std::string verdict_json(const RiskVerdict& v, const Rules& rules) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.StartObject();
    w.Key("lon");
    w.Double(v.lon);
    w.Key("lat");
    w.Double(v.lat);
    write_verdict(w, v);
    w.Key("rules");
    w.String(rules.id.c_str());
    w.Key("approximation");
    w.Bool(v.distance_mode != "road");
    w.Key("label");
    w.String(approximation_label(v.distance_mode == "road" ? Mode::Road : Mode::Straight).c_str());
    w.EndObject();
    return sb.GetString();
}

CommuneSummary commune_summary(const index::Snapshot& snapshot, const Rules& rules, const std::string& insee,
                               const std::string& today) {
    CommuneSummary s;
    s.insee = insee;
    s.name = snapshot.commune_name(insee);
    const RiskClass& cls = rules.area_class();
    // A date `days` before today, as ISO text: older checks compare lower.
    const auto days_before = [&](int days) {
        std::tm tm{};
        tm.tm_year = std::stoi(today.substr(0, 4)) - 1900;
        tm.tm_mon = std::stoi(today.substr(5, 2)) - 1;
        tm.tm_mday = std::stoi(today.substr(8, 2)) - days;
        tm.tm_hour = 12;
        timegm(&tm);
        char buf[16];
        std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
        return std::string(buf);
    };
    const std::string check_limit = days_before(rules.check_max_age_days);
    if (const auto* pei = snapshot.layer("pei"))
        if (const auto it = pei->by_insee.find(insee); it != pei->by_insee.end())
            for (const auto i : it->second) {
                const Feature& f = pei->features[i];
                const PeiFacts facts = pei_facts(pei->spec, f);
                s.pei_total++;
                if (f.geometry.empty()) s.pei_without_location++;
                const Shortfall sf = pei_shortfall(rules, cls, facts);
                if (facts.available) s.pei_available++;
                else {
                    s.pei_unavailable++;
                    s.unavailable_ids.push_back(f.id);
                }
                if (sf == Shortfall::None) s.pei_compliant++;
                if (sf == Shortfall::FlowTooLow) {
                    s.pei_below_need++;
                    s.below_need_ids.push_back(f.id);
                }
                const std::string ct = field_text(pei->spec, f, "date_ct");
                if (ct.empty() || ct < check_limit) {
                    s.pei_check_overdue++;
                    s.check_overdue_ids.push_back(f.id);
                }
            }
    for (const auto& [id, total, unlocated] : {std::tuple{"erp", &s.erp_total, &s.erp_without_location},
                                               std::tuple{"icpe", &s.icpe_total, &s.icpe_without_location}})
        if (const auto* layer = snapshot.layer(id))
            if (const auto it = layer->by_insee.find(insee); it != layer->by_insee.end())
                for (const auto i : it->second) {
                    (*total)++;
                    if (layer->features[i].geometry.empty()) (*unlocated)++;
                }
    return s;
}

std::filesystem::path rules_dir(const index::Snapshot& snapshot) {
    for (const auto& [id, layer] : snapshot.layers)
        if (!layer.spec.file.empty()) return layer.spec.file.parent_path() / "deci-rules";
    return "layers/deci-rules";
}

std::shared_ptr<const Rules> cached_rules(const index::Snapshot& snapshot, const std::string& dept) {
    auto cache = snapshot.attachment<RulesCache>([] { return std::make_shared<RulesCache>(); });
    std::lock_guard lock(cache->mutex);
    auto& slot = cache->by_dept[dept];
    if (!slot) slot = std::make_shared<const Rules>(load_rules(rules_dir(snapshot), dept));
    return slot;
}

}  // namespace ideo::deci

namespace ideo::deci {

std::vector<CommuneCoverage> communes_coverage(const index::Snapshot& snapshot, const Rules& rules,
                                               const std::vector<std::string>& insee_codes, Mode mode,
                                               unsigned threads) {
    if (mode == Mode::Road) graph_for(snapshot, rules, mode);  // built once, before the workers share it
    std::vector<CommuneCoverage> out(insee_codes.size());
    std::atomic<std::size_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto work = [&] {
        for (std::size_t i; (i = next++) < insee_codes.size();) {
            try {
                out[i] = commune_coverage(snapshot, rules, insee_codes[i], mode);
            } catch (...) {
                std::lock_guard lock(failure_mutex);
                if (!failure) failure = std::current_exception();
            }
        }
    };
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    threads = std::min<unsigned>(threads, static_cast<unsigned>(std::max<std::size_t>(1, insee_codes.size())));
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (failure) std::rethrow_exception(failure);
    return out;
}

}  // namespace ideo::deci
