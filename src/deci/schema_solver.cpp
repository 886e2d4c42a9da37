// The schéma communal as weighted set cover: the candidate actions of every site (one per level of need
// the rules know), a greedy solver with clean-up, and an exact one with COIN-OR CBC solved in phases
// (most risks covered within the budget, then fewest actions, then lowest cost).
#include <coin/Cbc_C_Interface.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>

#include "ideo/core/error.hpp"
#include "ideo/deci/schema.hpp"

namespace ideo::deci {

const char* to_string(Solver s) { return s == Solver::Exact ? "exact" : "greedy"; }

Solver parse_solver(std::string_view s) {
    if (s == "greedy") return Solver::Greedy;
    if (s == "exact") return Solver::Exact;
    throw InputError("solver '" + std::string(s) + "': expected greedy or exact");
}

namespace {

const char* const kCostKinds[] = {"remise_en_etat", "renforcement_debit", "agrandissement_reserve_m3", "poteau_sur_reseau",
                                  "reserve_120m3"};

bool listed(const std::vector<std::string>& list, const std::string& s) { return std::find(list.begin(), list.end(), s) != list.end(); }

// A candidate action: what a site becomes, its cost and the risks (not covered before) it covers.
struct Option {
    SchemaAction action;
    std::vector<std::size_t> covers;  // sorted
};

// The largest flow a hydrant on a pipe of `diameter` mm gives (the table's entry at or below it), 0 when unknown.
double pipe_flow(const Rules& rules, const std::optional<double>& diameter) {
    if (!diameter || rules.pipe_flow_m3h.empty()) return 0;
    auto it = rules.pipe_flow_m3h.upper_bound(*diameter + 1e-9);
    return it == rules.pipe_flow_m3h.begin() ? 0 : std::prev(it)->second;
}

double max_pipe_flow(const Rules& rules) {
    double m = 0;
    for (const auto& [d, f] : rules.pipe_flow_m3h) m = std::max(m, f);
    return m;
}

// What the site gives after an action that brings it to `level`'s need, or nothing when it cannot.
std::optional<SchemaAction> action_at(const SchemaSite& site, const RiskClass& level, const Rules& rules) {
    SchemaAction a;
    const auto& cost = rules.costs;
    if (site.origin == "pei") {
        a.kind = "upgrade";
        a.type = site.facts.type;
        const bool reserve = listed(rules.reserve_types, site.facts.type) ||
                             (!listed(rules.hydrant_types, site.facts.type) && !site.facts.debit);
        if (!site.facts.available) {
            a.works.push_back("remise_en_etat");
            a.cost += cost.at("remise_en_etat");
        }
        if (reserve) {
            const double have = site.facts.volume.value_or(0);
            a.volume_m3 = std::max(have, level.volume_m3);
            if (have < level.volume_m3) {
                a.works.push_back("agrandissement_reserve_m3");
                a.cost += cost.at("agrandissement_reserve_m3") * (level.volume_m3 - have);
            }
        } else {
            const double have = site.facts.debit.value_or(0);
            a.flow_m3h = std::max(have, level.flow_m3h);
            if (have < level.flow_m3h) {
                if (pipe_flow(rules, site.diam_cana) < level.flow_m3h) return std::nullopt;  // the pipe cannot give it
                a.works.push_back("renforcement_debit");
                a.cost += cost.at("renforcement_debit");
            }
        }
        if (a.works.empty()) return std::nullopt;  // already meets the level: nothing to do
        return a;
    }
    a.kind = "add";
    if (site.hydrant && level.flow_m3h <= max_pipe_flow(rules)) {
        a.type = "PI";
        a.flow_m3h = level.flow_m3h;
        a.works.push_back("poteau_sur_reseau");
        a.cost = cost.at("poteau_sur_reseau");
    } else {
        a.type = "CI";
        a.volume_m3 = level.volume_m3;
        a.works.push_back("reserve_120m3");
        a.cost = cost.at("reserve_120m3") * level.volume_m3 / 120.0;
    }
    return a;
}

// Whether a PEI giving `a` meets the need of class `cls`.
bool meets(const SchemaAction& a, const RiskClass& cls) {
    return a.flow_m3h > 0 ? a.flow_m3h >= cls.flow_m3h : a.volume_m3 >= cls.volume_m3;
}

// Every useful candidate action: one per site and level, those covering nothing or dominated (a subset
// of another's risks at no lower cost) left out.
std::vector<Option> candidate_options(const SchemaProblem& p, const Rules& rules, const std::vector<std::size_t>& targets) {
    std::vector<const RiskClass*> cls(p.risks.size());
    for (std::size_t r = 0; r < p.risks.size(); ++r) cls[r] = &rules.get(p.risks[r].risk_class);
    std::vector<Option> out;
    for (std::size_t s = 0; s < p.sites.size(); ++s) {
        std::vector<std::size_t> previous;
        for (const RiskClass& level : rules.classes) {
            auto a = action_at(p.sites[s], level, rules);
            if (!a) continue;
            a->site = s;
            Option o{std::move(*a), {}};
            for (const auto r : targets)
                if (p.distance[r][s] <= cls[r]->distance_m && meets(o.action, *cls[r])) o.covers.push_back(r);
            if (o.covers.empty() || o.covers == previous) continue;  // a higher level that adds nothing
            previous = o.covers;
            out.push_back(std::move(o));
        }
    }
    // Dominance: larger sets first, then cheaper; an option inside a kept one's set at no lower cost goes.
    std::stable_sort(out.begin(), out.end(), [](const Option& a, const Option& b) {
        return a.covers.size() != b.covers.size() ? a.covers.size() > b.covers.size() : a.action.cost < b.action.cost;
    });
    std::vector<Option> kept;
    for (auto& o : out) {
        const bool dominated = std::any_of(kept.begin(), kept.end(), [&](const Option& k) {
            return k.action.cost <= o.action.cost && std::includes(k.covers.begin(), k.covers.end(), o.covers.begin(), o.covers.end());
        });
        if (!dominated) kept.push_back(std::move(o));
    }
    return kept;
}

// Greedy: the affordable option covering most uncovered risks (then the cheapest), until none adds any;
// then actions whose risks others cover are dropped, and each one is replaced by the cheapest option
// covering the risks it alone covers.
std::vector<std::size_t> greedy(const std::vector<Option>& options, std::size_t n_risks, std::optional<double> budget) {
    std::vector<char> covered(n_risks, 0);
    std::vector<std::size_t> chosen;
    double spent = 0;
    for (;;) {
        std::size_t best = options.size(), best_gain = 0;
        for (std::size_t j = 0; j < options.size(); ++j) {
            if (budget && spent + options[j].action.cost > *budget + 1e-9) continue;
            std::size_t gain = 0;
            for (const auto r : options[j].covers) gain += covered[r] ? 0 : 1;
            if (gain > best_gain || (gain == best_gain && gain > 0 && options[j].action.cost < options[best].action.cost)) {
                best = j;
                best_gain = gain;
            }
        }
        if (best_gain == 0) break;
        chosen.push_back(best);
        spent += options[best].action.cost;
        for (const auto r : options[best].covers) covered[r] = 1;
    }
    // Clean-up on the chosen set: count of chosen actions covering each risk.
    std::vector<int> times(n_risks, 0);
    for (const auto j : chosen)
        for (const auto r : options[j].covers) times[r]++;
    for (std::size_t k = chosen.size(); k-- > 0;) {
        const auto& c = options[chosen[k]].covers;
        if (std::all_of(c.begin(), c.end(), [&](std::size_t r) { return times[r] > 1; })) {
            for (const auto r : c) times[r]--;
            chosen.erase(chosen.begin() + static_cast<std::ptrdiff_t>(k));
        }
    }
    for (auto& j : chosen) {
        std::vector<std::size_t> alone;
        for (const auto r : options[j].covers)
            if (times[r] == 1) alone.push_back(r);
        std::size_t cheapest = j;
        for (std::size_t i = 0; i < options.size(); ++i)
            if (options[i].action.cost < options[cheapest].action.cost &&
                std::includes(options[i].covers.begin(), options[i].covers.end(), alone.begin(), alone.end()))
                cheapest = i;
        if (cheapest == j) continue;
        for (const auto r : options[j].covers) times[r]--;
        for (const auto r : options[cheapest].covers) times[r]++;
        j = cheapest;
    }
    return chosen;
}

// One CBC solve over the options (x_j) and, under a budget, the risks (y_r, covered or not):
// minimises obj_x·x + obj_y·y subject to the cover rows and `extra` rows; null when not proven optimal.
struct Row {
    std::vector<double> x_coef, y_coef;  // dense over options / risks (empty: none)
    char sense;
    double rhs;
};
std::optional<std::vector<double>> cbc_solve(const std::vector<Option>& options, const std::vector<std::size_t>& targets,
                                             std::size_t n_risks, bool with_y, const std::vector<double>& obj_x,
                                             const std::vector<double>& obj_y, const std::vector<Row>& extra, double seconds) {
    Cbc_Model* m = Cbc_newModel();
    Cbc_setLogLevel(m, 0);
    Cbc_setMaximumSeconds(m, seconds);
    Cbc_setParameter(m, "ratioGap", "0");
    Cbc_setParameter(m, "allowableGap", "1e-6");
    const int nx = static_cast<int>(options.size());
    for (int j = 0; j < nx; ++j) Cbc_addCol(m, "", 0, 1, obj_x[static_cast<std::size_t>(j)], 1, 0, nullptr, nullptr);
    std::vector<int> ycol(n_risks, -1);
    if (with_y)
        for (std::size_t t = 0; t < targets.size(); ++t) {
            ycol[targets[t]] = nx + static_cast<int>(t);
            Cbc_addCol(m, "", 0, 1, obj_y[t], 1, 0, nullptr, nullptr);
        }
    std::vector<std::vector<int>> by_risk(n_risks);
    for (int j = 0; j < nx; ++j)
        for (const auto r : options[static_cast<std::size_t>(j)].covers) by_risk[r].push_back(j);
    for (const auto r : targets) {
        std::vector<int> cols = by_risk[r];
        std::vector<double> coefs(cols.size(), 1.0);
        if (with_y) {  // y_r <= sum x_j
            cols.push_back(ycol[r]);
            coefs.push_back(-1.0);
            Cbc_addRow(m, "", static_cast<int>(cols.size()), cols.data(), coefs.data(), 'G', 0);
        } else {
            Cbc_addRow(m, "", static_cast<int>(cols.size()), cols.data(), coefs.data(), 'G', 1);
        }
    }
    for (const Row& row : extra) {
        std::vector<int> cols;
        std::vector<double> coefs;
        for (std::size_t j = 0; j < row.x_coef.size(); ++j)
            if (row.x_coef[j] != 0) cols.push_back(static_cast<int>(j)), coefs.push_back(row.x_coef[j]);
        for (std::size_t t = 0; t < row.y_coef.size(); ++t)
            if (row.y_coef[t] != 0) cols.push_back(nx + static_cast<int>(t)), coefs.push_back(row.y_coef[t]);
        Cbc_addRow(m, "", static_cast<int>(cols.size()), cols.data(), coefs.data(), row.sense, row.rhs);
    }
    Cbc_solve(m);
    std::optional<std::vector<double>> out;
    if (Cbc_isProvenOptimal(m)) {
        const double* sol = Cbc_getColSolution(m);
        out.emplace(sol, sol + Cbc_getNumCols(m));
    }
    Cbc_deleteModel(m);
    return out;
}

// Exact: (budget) most risks covered, then fewest actions, then lowest cost; null when CBC does not prove it in time.
std::optional<std::vector<std::size_t>> exact(const std::vector<Option>& options, const std::vector<std::size_t>& targets,
                                              std::size_t n_risks, std::optional<double> budget, double seconds) {
    const std::size_t nx = options.size();
    const bool with_y = budget.has_value();
    std::vector<Row> extra;
    std::vector<double> cost(nx), ones_x(nx, 1.0), zeros_x(nx, 0.0), ones_y(targets.size(), 1.0), zeros_y(targets.size(), 0.0);
    for (std::size_t j = 0; j < nx; ++j) cost[j] = options[j].action.cost;
    if (budget) {
        extra.push_back({cost, {}, 'L', *budget + 1e-6});
        std::vector<double> minus_y(targets.size(), -1.0);
        const auto s = cbc_solve(options, targets, n_risks, true, zeros_x, minus_y, extra, seconds);
        if (!s) return std::nullopt;
        double covered = 0;
        for (std::size_t t = 0; t < targets.size(); ++t) covered += (*s)[nx + t];
        extra.push_back({{}, ones_y, 'G', std::round(covered) - 0.5});
    }
    const auto by_count = cbc_solve(options, targets, n_risks, with_y, ones_x, zeros_y, extra, seconds);
    if (!by_count) return std::nullopt;
    double count = 0;
    for (std::size_t j = 0; j < nx; ++j) count += (*by_count)[j];
    extra.push_back({ones_x, {}, 'L', std::round(count) + 0.5});
    const auto by_cost = cbc_solve(options, targets, n_risks, with_y, cost, zeros_y, extra, seconds);
    if (!by_cost) return std::nullopt;
    std::vector<std::size_t> chosen;
    for (std::size_t j = 0; j < nx; ++j)
        if ((*by_cost)[j] > 0.5) chosen.push_back(j);
    return chosen;
}

}  // namespace

void check_schema_costs(const Rules& rules) {
    if (rules.costs.empty())
        throw InputError("DECI rules " + rules.id + ": no \"costs\" table (euros by action kind), which the schéma communal needs");
    std::string missing;
    for (const char* k : kCostKinds)
        if (!rules.costs.contains(k)) missing += (missing.empty() ? "" : ", ") + std::string(k);
    if (!missing.empty()) throw InputError("DECI rules " + rules.id + ": \"costs\" lacks " + missing);
}

SchemaPlan plan_schema(const SchemaProblem& p, const Rules& rules, const SchemaOptions& opt) {
    check_schema_costs(rules);
    if (opt.budget && !(*opt.budget >= 0 && std::isfinite(*opt.budget)))
        throw InputError("budget: must be a number of euros >= 0");
    const auto started = std::chrono::steady_clock::now();
    SchemaPlan plan;
    plan.risks_total = p.risks.size();
    std::vector<std::size_t> targets;
    for (std::size_t r = 0; r < p.risks.size(); ++r) {
        if (p.risks[r].covered_before) plan.covered_before++;
        else targets.push_back(r);
    }
    const std::vector<Option> options = candidate_options(p, rules, targets);
    plan.candidate_actions = options.size();
    std::vector<char> coverable(p.risks.size(), 0);  // a risk no action reaches stays out of the instance
    for (const auto& o : options)
        for (const auto r : o.covers) coverable[r] = 1;
    std::erase_if(targets, [&](std::size_t r) { return !coverable[r]; });
    std::vector<std::size_t> chosen;
    bool solved = false;
    if (opt.solver == Solver::Exact) {
        if (targets.empty()) {  // nothing to cover: the empty plan is the optimum (CBC is not asked about an empty model)
            solved = true;
            plan.solver = Solver::Exact;
            plan.optimal = true;
        } else if (options.size() > opt.exact_max_actions) {
            plan.solver_note = "exact solver not run: " + std::to_string(options.size()) + " candidate actions, above its limit of " +
                               std::to_string(opt.exact_max_actions) + "; greedy plan";
        } else if (auto e = exact(options, targets, p.risks.size(), opt.budget, opt.exact_seconds)) {
            chosen = std::move(*e);
            solved = true;
            plan.solver = Solver::Exact;
            plan.optimal = true;
        } else {
            plan.solver_note = "exact solver not proven optimal within " + std::to_string(static_cast<int>(opt.exact_seconds)) +
                               " s; greedy plan";
        }
    }
    if (!solved) chosen = greedy(options, p.risks.size(), opt.budget);

    // Steps in the order of the coverage they add (most first, then cheapest); each risk to its first action.
    std::vector<char> covered(p.risks.size(), 0);
    for (std::size_t r = 0; r < p.risks.size(); ++r) covered[r] = p.risks[r].covered_before;
    std::size_t now = plan.covered_before;
    while (!chosen.empty()) {
        std::size_t best = 0, best_gain = 0;
        for (std::size_t k = 0; k < chosen.size(); ++k) {
            std::size_t gain = 0;
            for (const auto r : options[chosen[k]].covers) gain += covered[r] ? 0 : 1;
            const double c = options[chosen[k]].action.cost, cb = options[chosen[best]].action.cost;
            if (k == 0 || gain > best_gain || (gain == best_gain && c < cb)) {
                best = k;
                best_gain = gain;
            }
        }
        SchemaAction a = options[chosen[best]].action;
        for (const auto r : options[chosen[best]].covers)
            if (!covered[r]) {
                covered[r] = 1;
                a.risks.push_back(r);
            }
        now += a.risks.size();
        a.covered_share_after = plan.risks_total ? static_cast<double>(now) / static_cast<double>(plan.risks_total) : 1.0;
        plan.total_cost += a.cost;
        plan.actions.push_back(std::move(a));
        chosen.erase(chosen.begin() + static_cast<std::ptrdiff_t>(best));
    }
    plan.covered_after = now;
    for (std::size_t r = 0; r < p.risks.size(); ++r)
        if (!covered[r]) plan.not_covered.push_back(r);
    plan.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return plan;
}

}  // namespace ideo::deci
