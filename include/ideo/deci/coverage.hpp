#pragma once
// DECI coverage of a commune: which parts of its area and which ERP/ICPE lie within reach of a PEI
// that meets their risk class. Computed with GEOS in Lambert-93 metres.
//   straight: discs around the compliant PEI (as the crow flies: overstates coverage, labelled so);
//   road: bounded Dijkstra along passable roads of the `roads` layer from each compliant PEI, the
//         covered zone being a strip along the reached road parts.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ideo/deci/rules.hpp"
#include "ideo/index/snapshot.hpp"

namespace ideo::deci {

enum class Mode { Straight, Road };
const char* to_string(Mode m);
// "straight" | "road"; throws InputError naming the value.
Mode parse_mode(std::string_view s);
// The label every straight-line answer carries.
std::string approximation_label(Mode m);

// The verdict for one ERP or ICPE (or a planned building).
struct RiskVerdict {
    std::string layer, id, name;
    std::string risk_class;
    bool located = false;
    double lon = 0, lat = 0;
    bool covered = false;
    Shortfall reason = Shortfall::None;  // why not covered
    std::string nearest_pei;             // nearest PEI that meets the class (any distance searched)
    std::optional<double> distance_m;    // to it, along roads or straight
    std::string distance_mode;           // "road" or "straight" (road mode falls back when a point is off the network)
};

struct CommuneCoverage {
    std::string insee, name;
    Mode mode = Mode::Straight;
    std::string rules_id, risk_class;  // the class of the commune's area
    double area_m2 = 0, covered_m2 = 0;
    double covered_share = 0;          // covered_m2 / area_m2
    std::size_t pei_total = 0, pei_compliant = 0;
    std::string uncovered_wkb;         // WGS84 ISO WKB (multi)polygon, empty when all is covered
    std::vector<RiskVerdict> risks;
};

// The road network of the snapshot's `roads` layer as a graph (Lambert-93), built once per snapshot.
class RoadGraph;
// Null when no roads layer is loaded. Cached on the snapshot (Snapshot::attachment).
std::shared_ptr<const RoadGraph> road_graph(const index::Snapshot& snapshot, const Rules& rules);

// Throws InputError for an unknown commune, or for road mode without a roads layer.
CommuneCoverage commune_coverage(const index::Snapshot& snapshot, const Rules& rules, const std::string& insee,
                                 Mode mode);
// The same, cached per snapshot, rules and mode.
std::shared_ptr<const CommuneCoverage> cached_coverage(const index::Snapshot& snapshot, const Rules& rules,
                                                       const std::string& insee, Mode mode);

// INSEE codes of a department's communes in the snapshot (communes layer), sorted.
std::vector<std::string> department_communes(const index::Snapshot& snapshot, const std::string& dept);

// GeoJSON FeatureCollection: one feature per commune (uncovered zones, properties = summary),
// one per risk (point, verdict), and a "summary" member (covered share, mode, label).
std::string coverage_geojson(const std::vector<CommuneCoverage>& communes);

// For a planned building at (lon, lat) of class `risk`: the nearest compliant PEI and the verdict.
// Road mode when a roads layer is loaded and the point lies near a road, straight otherwise.
RiskVerdict check_point(const index::Snapshot& snapshot, const Rules& rules, double lon, double lat,
                        const RiskClass& risk, Mode preferred);

// Counts and data-quality flags of a commune (/deci/communes/{insee}).
struct CommuneSummary {
    std::string insee, name;
    std::size_t pei_total = 0, pei_available = 0, pei_compliant = 0, pei_unavailable = 0;
    std::size_t pei_check_overdue = 0;   // no date_ct, or older than rules.check_max_age_days
    std::size_t pei_below_need = 0;      // available but below the commune area class's need
    std::size_t pei_without_location = 0;
    std::size_t erp_total = 0, erp_without_location = 0, icpe_total = 0, icpe_without_location = 0;
    std::vector<std::string> unavailable_ids, below_need_ids, check_overdue_ids;
};
CommuneSummary commune_summary(const index::Snapshot& snapshot, const Rules& rules, const std::string& insee,
                               const std::string& today);

// The folder of the DECI rules next to the snapshot's layer files (layers/deci-rules).
std::filesystem::path rules_dir(const index::Snapshot& snapshot);
// Rules for a department, cached per snapshot.
std::shared_ptr<const Rules> cached_rules(const index::Snapshot& snapshot, const std::string& dept);

}  // namespace ideo::deci

namespace ideo::deci {
// A /deci/check answer: the point, the verdict, the nearest compliant PEI, the distance and its mode.
std::string verdict_json(const RiskVerdict& v, const Rules& rules);
}  // namespace ideo::deci

namespace ideo::deci {
// Coverage of several communes (a department in one run), computed on `threads` threads (0 = all
// cores); results in the order of `insee_codes`.
std::vector<CommuneCoverage> communes_coverage(const index::Snapshot& snapshot, const Rules& rules,
                                               const std::vector<std::string>& insee_codes, Mode mode,
                                               unsigned threads = 0);
}  // namespace ideo::deci
