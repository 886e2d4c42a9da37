// Risk verdicts: PEI near a place from the snapshot's Lambert-93 PEI index, distances straight or along
// roads, and the rules' verdict (covered, or why not).
#include "verdicts.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <string>

#include "ideo/core/error.hpp"

namespace ideo::deci {

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

std::vector<geo::XY> compliant_locations(const std::vector<Candidate>& pei, const Rules& rules, const RiskClass& cls) {
    std::vector<geo::XY> out;
    for (const auto& c : pei)
        if (pei_shortfall(rules, cls, *c.facts) == Shortfall::None) out.push_back(c.l93);
    return out;
}

namespace {

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

}  // namespace

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

}  // namespace ideo::deci
