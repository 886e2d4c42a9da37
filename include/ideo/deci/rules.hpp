#pragma once
// DECI coverage rules as data: layers/deci-rules/default.json (the generic table of docs/DECI.md),
// overridden key by key by one file per department ({dept}.json, the RDDECI's own figures).
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ideo/core/feature.hpp"
#include "ideo/core/layer.hpp"

namespace ideo::deci {

struct RiskClass {
    std::string id;     // "courant_ordinaire"
    std::string label;  // "Risque courant ordinaire"
    double flow_m3h = 0;     // need of a hydrant (PI/BI), m³/h at 1 bar
    double duration_h = 0;
    double volume_m3 = 0;    // need of a reserve (PA/CI)
    double distance_m = 0;   // from the risk to the (first) PEI
    double additional_distance_m = 0;  // > 0: several PEI within this distance may add up their flows
};

// Why a PEI does not count for a class, or why a risk is not covered.
enum class Shortfall { None, Unavailable, FlowTooLow, TooFar, NoPei, NoLocation };
const char* to_string(Shortfall s);

struct Rules {
    std::string id, title, reference, note;
    std::vector<RiskClass> classes;  // from the lowest need to the highest
    std::string commune_area = "courant_ordinaire";
    std::map<std::string, std::string> erp_category, icpe_regime, icpe_seveso;
    std::string erp_default = "courant_ordinaire", icpe_default = "courant_ordinaire";
    std::vector<std::string> hydrant_types{"PI", "BI"}, reserve_types{"PA", "CI"};
    int check_max_age_days = 730;
    std::vector<std::string> impassable_natures;  // road natures no fire engine uses
    double road_buffer_m = 50;  // half-width of the covered strip along reached roads
    double snap_max_m = 150;    // farthest a PEI or a risk may lie from the road it is snapped to
    // The schéma communal (schema.hpp): estimated unit costs in euros by action kind ("costs"; empty when
    // the merged rules have none: the planner then refuses to run), the largest flow a hydrant gives on a
    // pipe of a diameter (diam_cana in mm -> m³/h, "schema.pipe_flow_m3h"), candidate spacing.
    std::map<std::string, double> costs;
    std::map<double, double> pipe_flow_m3h;
    double schema_road_step_m = 100, schema_grid_step_m = 100;

    const RiskClass* find(std::string_view id) const;
    const RiskClass& get(std::string_view id) const;  // throws InputError naming the class
    const RiskClass& area_class() const { return get(commune_area); }
};

// The rules for `dept` ("21"; "" or "default" = the default alone), read from `dir` (layers/deci-rules).
// Throws InputError naming the file and key at fault, or the unknown department file.
Rules load_rules(const std::filesystem::path& dir, const std::string& dept);
Rules parse_rules(const std::string& default_json, const std::string& dept_json, const std::string& where);

// The department of an INSEE code: "21231" -> "21", "2A004" -> "2A", "97411" -> "974".
std::string department_of(std::string_view insee);

// A PEI's characteristics read from a feature of the pei layer.
struct PeiFacts {
    std::string type;  // PI, BI, PA, CI
    std::optional<double> debit, volume;
    bool available = false;
};
PeiFacts pei_facts(const LayerSpec& pei_layer, const Feature& f);

// Whether one PEI meets the class's need on its own: Shortfall::None when it does.
Shortfall pei_shortfall(const Rules& rules, const RiskClass& cls, const PeiFacts& pei);
// The water the PEI gives towards the class's flow, for PEI that add up (0 when unavailable).
double pei_flow_contribution(const Rules& rules, const PeiFacts& pei);

// The class of an ERP or ICPE feature by its layer ("erp" by category, "icpe" by Seveso then regime).
const RiskClass& risk_class_of(const Rules& rules, const LayerSpec& layer, const Feature& f);

}  // namespace ideo::deci
