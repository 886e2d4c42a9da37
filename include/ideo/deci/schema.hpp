#pragma once
// The schéma communal de DECI (issue 18): the fewest actions, then the lowest cost, that bring every
// located ERP and ICPE of a commune within reach of a PEI suited to its risk class. An action upgrades an
// existing PEI (repair, flow raised within what its pipe gives, reserve enlarged) or adds one at a
// candidate position (a hydrant along a road when roads are loaded, else a reserve of the volume needed).
// Weighted set cover: greedy for every commune, exact with COIN-OR CBC up to a size. An estimate for
// planning, not an engineering study.
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ideo/deci/coverage.hpp"
#include "ideo/deci/rules.hpp"
#include "ideo/index/snapshot.hpp"

namespace ideo::deci {

// The label every plan carries.
inline constexpr const char* kSchemaEstimate = "estimation : aide à la planification, pas une étude d'ingénierie";

// A located ERP or ICPE of the commune.
struct SchemaRisk {
    std::string layer, id, name, risk_class;
    double lon = 0, lat = 0;
    bool covered_before = false;  // the coverage verdict before any action
};

// Where an action can take place: an existing PEI, or a position for a new one.
struct SchemaSite {
    std::string origin;  // "pei" (an existing PEI), "risk" (at a risk), "road" (along a road), "grid"
    std::string pei_id;  // origin "pei"
    PeiFacts facts;      // origin "pei"
    std::optional<double> diam_cana;  // origin "pei": the pipe's diameter (mm)
    bool hydrant = false;             // a new PEI here is a hydrant (a pipe along a road), else a reserve
    double lon = 0, lat = 0;
};

// The planning problem: risks, sites and the distance from each risk to each site (metres, along roads
// or straight as the coverage mode measures; infinity when out of reach).
struct SchemaProblem {
    std::string insee, name;
    Mode mode = Mode::Straight;
    std::vector<SchemaRisk> risks;
    std::size_t unlocated = 0;  // ERP and ICPE without coordinates: outside any plan
    std::vector<SchemaSite> sites;
    std::vector<std::vector<double>> distance;  // [risk][site]
};

// One action of a plan.
struct SchemaAction {
    std::string kind;                // "upgrade" | "add"
    std::vector<std::string> works;  // cost items: remise_en_etat, renforcement_debit, agrandissement_reserve_m3, poteau_sur_reseau, reserve_120m3
    std::size_t site = 0;
    std::string type;                // PEI type after the action: the existing one's, "PI" or "CI" for a new one
    double flow_m3h = 0, volume_m3 = 0;  // what the PEI gives after the action (one of them)
    double cost = 0;
    std::vector<std::size_t> risks;  // risks it covers (indices into SchemaProblem::risks), not covered before
    double covered_share_after = 0;  // located risks covered after this step and the ones before it
};

enum class Solver { Greedy, Exact };
const char* to_string(Solver s);
Solver parse_solver(std::string_view s);  // "greedy" | "exact"; throws InputError naming the value

struct SchemaOptions {
    Solver solver = Solver::Greedy;
    std::optional<double> budget;  // euros; the best plan within it
    // The exact solver runs up to this many candidate actions (measured: scripts/bench/schema.sh), greedy above.
    std::size_t exact_max_actions = 4000;
    double exact_seconds = 30;     // CBC's time limit per phase; not proven optimal in time: greedy, said so
};

struct SchemaPlan {
    std::vector<SchemaAction> actions;  // in order of the coverage they add
    Solver solver = Solver::Greedy;     // the one that made the plan
    std::string solver_note;            // why the exact solver was not used, when asked for
    bool optimal = false;               // proven optimal by CBC
    std::size_t candidate_actions = 0;  // size of the set-cover instance
    double total_cost = 0;
    std::size_t risks_total = 0, covered_before = 0, covered_after = 0;
    std::vector<std::size_t> not_covered;  // risks still not covered (budget)
    double seconds = 0;
};

// The problem of a commune: its located risks with their verdicts (commune_coverage), the PEI around it,
// positions at the uncovered risks and every rules.schema_road_step_m along the roads (when loaded) or
// on a rules.schema_grid_step_m grid. Throws InputError for an unknown commune or rules without costs.
SchemaProblem schema_problem(const index::Snapshot& snapshot, const Rules& rules, const std::string& insee, Mode mode);

// The unit costs the planner needs, checked: throws InputError naming the rules and the missing kinds.
void check_schema_costs(const Rules& rules);

// The plan. Throws InputError for a negative budget or rules without costs.
SchemaPlan plan_schema(const SchemaProblem& problem, const Rules& rules, const SchemaOptions& options);

// GeoJSON FeatureCollection of the actions (points) with a "summary" member.
std::string schema_geojson(const SchemaProblem& problem, const SchemaPlan& plan, const Rules& rules,
                           const std::optional<double>& budget);

}  // namespace ideo::deci
