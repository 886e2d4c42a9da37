// The schéma communal's problem (the commune's risks with their coverage verdicts, the PEI around them,
// candidate positions at the risks, along the roads or on a grid, distances as coverage measures them)
// and its GeoJSON; the solvers are in schema_solver.cpp.
#include "ideo/deci/schema.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <set>

#include "geo.hpp"
#include "ideo/core/error.hpp"
#include "road_graph.hpp"
#include "verdicts.hpp"

namespace ideo::deci {
namespace {

double reach_of(const Rules& rules) {
    double m = 0;
    for (const auto& c : rules.classes) m = std::max(m, c.distance_m);
    return m;
}

std::optional<double> number_field(const LayerSpec& spec, const Feature& f, const char* name) {
    const int i = spec.field_index(name);
    if (i < 0 || static_cast<std::size_t>(i) >= f.values.size()) return std::nullopt;
    const Value& v = f.values[static_cast<std::size_t>(i)];
    if (const auto* d = std::get_if<double>(&v)) return *d;
    if (const auto* n = std::get_if<std::int64_t>(&v)) return static_cast<double>(*n);
    const std::string t = to_text(v);
    char* end = nullptr;
    const double d = std::strtod(t.c_str(), &end);
    if (!t.empty() && end && *end == '\0') return d;
    return std::nullopt;
}

// Positions for new PEI: one per cell of `step`/2 metres, so dense road vertices do not multiply them.
struct PositionSet {
    double cell;
    std::set<std::pair<long long, long long>> taken;
    bool add(geo::XY p) {
        return taken.emplace(static_cast<long long>(std::floor(p.x / cell)), static_cast<long long>(std::floor(p.y / cell))).second;
    }
};

}  // namespace

SchemaProblem schema_problem(const index::Snapshot& snapshot, const Rules& rules, const std::string& insee, Mode mode) {
    check_schema_costs(rules);
    const index::LayerData* pei_layer = snapshot.layer("pei");
    if (!pei_layer) throw InputError("schéma communal: no pei layer is loaded");
    const index::LayerData* communes = snapshot.layer("communes");
    if (!communes || !communes->by_id.contains(insee))
        throw InputError("commune '" + insee + "': no commune polygon with this INSEE code");
    const auto road_mode_graph = graph_for(snapshot, rules, mode);  // throws in road mode without roads
    const RoadGraph* road = road_mode_graph.get();
    const auto graph = road_graph(snapshot, rules);  // candidates along roads whenever roads are loaded
    // The verdicts coverage gives, without the uncovered area the plan does not need.
    const std::vector<RiskVerdict> verdicts = commune_risk_verdicts(snapshot, rules, insee, road);
    const double reach = reach_of(rules);

    SchemaProblem p;
    p.insee = insee;
    p.name = snapshot.commune_name(insee);
    p.mode = mode;
    std::vector<geo::XY> at;  // risks in Lambert-93
    for (const auto& v : verdicts) {
        const auto xy = v.reason == Shortfall::NoLocation ? std::nullopt : geo::to_l93(v.lon, v.lat);
        if (!xy) {
            p.unlocated++;
            continue;
        }
        p.risks.push_back({v.layer, v.id, v.name, v.risk_class, v.lon, v.lat, v.covered});
        at.push_back(*xy);
    }
    std::vector<std::size_t> open;
    Envelope box;
    for (std::size_t r = 0; r < p.risks.size(); ++r)
        if (!p.risks[r].covered_before) {
            open.push_back(r);
            box.expand(at[r].x, at[r].y);
        }

    std::vector<geo::XY> site_xy;
    auto add_site = [&](SchemaSite s, geo::XY xy) {
        if (s.lon == 0 && s.lat == 0) {
            const auto ll = geo::to_wgs84(xy.x, xy.y);
            if (!ll) return;
            s.lon = ll->x;
            s.lat = ll->y;
        }
        p.sites.push_back(std::move(s));
        site_xy.push_back(xy);
    };
    if (!open.empty()) {
        // Existing PEI near the uncovered risks.
        const auto indexed = pei_index(snapshot, *pei_layer);
        for (const auto& c : pei_near(PeiSource{*pei_layer, *indexed}, box, reach)) {
            SchemaSite s;
            s.origin = "pei";
            s.pei_id = c.feature->id;
            s.facts = *c.facts;
            s.diam_cana = number_field(pei_layer->spec, *c.feature, "diam_cana");
            s.lon = c.feature->geometry.envelope.min_x;
            s.lat = c.feature->geometry.envelope.min_y;
            add_site(std::move(s), c.l93);
        }
        PositionSet taken{(graph ? rules.schema_road_step_m : rules.schema_grid_step_m) / 2, {}};
        // At each uncovered risk a reserve, and a hydrant on the road it lies beside (road distances count from there).
        for (const auto r : open) {
            SchemaSite s;
            s.origin = "risk";
            add_site(s, at[r]);
            if (!graph) continue;
            if (const auto snap = graph->snap(at[r].x, at[r].y, rules.snap_max_m)) {
                const auto& e = graph->edges[snap->edge];
                const auto &A = graph->nodes[e.a], &B = graph->nodes[e.b];
                const geo::XY xy{A.x + snap->t * (B.x - A.x), A.y + snap->t * (B.y - A.y)};
                s.hydrant = true;
                taken.add(xy);
                add_site(std::move(s), xy);
            }
        }
        const Envelope wide{box.min_x - reach, box.min_y - reach, box.max_x + reach, box.max_y + reach};
        auto near_open = [&](geo::XY xy) {
            return std::any_of(open.begin(), open.end(), [&](std::size_t r) {
                return std::hypot(at[r].x - xy.x, at[r].y - xy.y) <= rules.get(p.risks[r].risk_class).distance_m;
            });
        };
        if (graph) {
            // Along the roads every road_step_m (at least the middle of each road part).
            std::vector<std::uint32_t> edges;
            graph->tree.search(wide, edges);
            std::sort(edges.begin(), edges.end());
            for (const auto e : edges) {
                const auto& E = graph->edges[e];
                const auto &A = graph->nodes[E.a], &B = graph->nodes[E.b];
                const int n = std::max(1, static_cast<int>(std::lround(E.len / rules.schema_road_step_m)));
                for (int i = 0; i < n; ++i) {
                    const double t = (i + 0.5) / n;
                    const geo::XY xy{A.x + t * (B.x - A.x), A.y + t * (B.y - A.y)};
                    if (!near_open(xy) || !taken.add(xy)) continue;
                    SchemaSite s;
                    s.origin = "road";
                    s.hydrant = true;
                    add_site(std::move(s), xy);
                }
            }
        } else {
            const double step = rules.schema_grid_step_m;
            for (double x = std::floor(wide.min_x / step) * step; x <= wide.max_x; x += step)
                for (double y = std::floor(wide.min_y / step) * step; y <= wide.max_y; y += step) {
                    const geo::XY xy{x, y};
                    if (!near_open(xy) || !taken.add(xy)) continue;
                    SchemaSite s;
                    s.origin = "grid";
                    add_site(std::move(s), xy);
                }
        }
    }

    // Distances from every uncovered risk to every site, measured as coverage measures them.
    p.distance.assign(p.risks.size(), std::vector<double>(p.sites.size(), RoadGraph::inf));
    std::vector<std::optional<RoadGraph::Snap>> site_snap(p.sites.size());
    if (road)
        for (std::size_t s = 0; s < p.sites.size(); ++s) site_snap[s] = road->snap(site_xy[s].x, site_xy[s].y, rules.snap_max_m);
    RoadGraph::Scratch sc;
    for (const auto r : open) {
        const double limit = rules.get(p.risks[r].risk_class).distance_m;
        std::optional<RoadGraph::Snap> from;
        if (road) from = road->snap(at[r].x, at[r].y, rules.snap_max_m);
        if (from) road->run(*from, limit, sc);
        for (std::size_t s = 0; s < p.sites.size(); ++s) {
            const double straight = std::hypot(site_xy[s].x - at[r].x, site_xy[s].y - at[r].y);
            if (straight > limit) continue;  // a road is never shorter
            if (!from) p.distance[r][s] = straight;
            else if (site_snap[s])
                p.distance[r][s] = from->offset + site_snap[s]->offset + road->distance_to(*from, *site_snap[s], sc);
        }
    }
    return p;
}

namespace {
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
void str(Writer& w, const char* key, const std::string& v) {
    w.Key(key);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}
void num(Writer& w, const char* key, double v, double scale = 100) {
    w.Key(key);
    w.Double(std::round(v * scale) / scale);
}
void risk_ids(Writer& w, const SchemaProblem& p, const std::vector<std::size_t>& list) {
    w.StartArray();
    for (const auto r : list) {
        w.StartObject();
        str(w, "layer", p.risks[r].layer);
        str(w, "id", p.risks[r].id);
        str(w, "name", p.risks[r].name);
        str(w, "risk_class", p.risks[r].risk_class);
        w.EndObject();
    }
    w.EndArray();
}
}  // namespace

std::string schema_geojson(const SchemaProblem& p, const SchemaPlan& plan, const Rules& rules, const std::optional<double>& budget) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    str(w, "type", "FeatureCollection");
    w.Key("features");
    w.StartArray();
    for (std::size_t k = 0; k < plan.actions.size(); ++k) {
        const SchemaAction& a = plan.actions[k];
        const SchemaSite& s = p.sites[a.site];
        w.StartObject();
        str(w, "type", "Feature");
        w.Key("geometry");
        w.StartObject();
        str(w, "type", "Point");
        w.Key("coordinates");
        w.StartArray();
        w.Double(std::round(s.lon * 1e7) / 1e7);
        w.Double(std::round(s.lat * 1e7) / 1e7);
        w.EndArray();
        w.EndObject();
        w.Key("properties");
        w.StartObject();
        w.Key("step");
        w.Uint64(k + 1);
        str(w, "kind", a.kind);
        w.Key("works");
        w.StartArray();
        for (const auto& x : a.works) w.String(x.c_str());
        w.EndArray();
        w.Key("pei");
        if (s.origin == "pei") w.String(s.pei_id.c_str());
        else w.Null();
        str(w, "position", s.origin);
        str(w, "type_pei", a.type);
        if (a.flow_m3h > 0) num(w, "debit", a.flow_m3h);
        else num(w, "volume", a.volume_m3);
        num(w, "cost", a.cost);
        w.Key("risks");
        risk_ids(w, p, a.risks);
        num(w, "covered_share_after", a.covered_share_after, 10000);
        w.EndObject();
        w.EndObject();
    }
    w.EndArray();
    w.Key("summary");
    w.StartObject();
    str(w, "insee", p.insee);
    str(w, "name", p.name);
    str(w, "mode", to_string(p.mode));
    str(w, "distances", approximation_label(p.mode));
    str(w, "rules", rules.id);
    str(w, "solver", to_string(plan.solver));
    if (!plan.solver_note.empty()) str(w, "solver_note", plan.solver_note);
    w.Key("optimal");
    w.Bool(plan.optimal);
    w.Key("candidate_actions");
    w.Uint64(plan.candidate_actions);
    w.Key("budget");
    if (budget) w.Double(*budget);
    else w.Null();
    num(w, "total_cost", plan.total_cost);
    w.Key("actions");
    w.Uint64(plan.actions.size());
    w.Key("risks_total");
    w.Uint64(plan.risks_total);
    w.Key("risks_without_location");
    w.Uint64(p.unlocated);
    w.Key("covered_before");
    w.Uint64(plan.covered_before);
    w.Key("covered_after");
    w.Uint64(plan.covered_after);
    const double total = plan.risks_total ? static_cast<double>(plan.risks_total) : 1.0;
    num(w, "covered_share_before", plan.risks_total ? plan.covered_before / total : 1.0, 10000);
    num(w, "covered_share_after", plan.risks_total ? plan.covered_after / total : 1.0, 10000);
    w.Key("not_covered");
    risk_ids(w, p, plan.not_covered);
    w.Key("costs");
    w.StartObject();
    for (const auto& [k, v] : rules.costs) num(w, k.c_str(), v);
    w.EndObject();
    str(w, "estimate", kSchemaEstimate);
    w.EndObject();
    w.EndObject();
    return buf.GetString();
}

}  // namespace ideo::deci
