// DECI coverage: straight-line discs or bounded Dijkstra along roads (road_graph.cpp), GEOS in
// Lambert-93 metres; risk verdicts in verdicts.cpp, the GeoJSON in coverage_geojson.cpp.
#include "ideo/deci/coverage.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>

#include "discs.hpp"
#include "geo.hpp"
#include "ideo/core/error.hpp"
#include "road_graph.hpp"
#include "verdicts.hpp"

namespace ideo::deci {

using geo::Geom;
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

namespace {

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

std::vector<std::string> department_communes(const index::Snapshot& snapshot, const std::string& dept) {
    std::vector<std::string> out;
    if (const auto* communes = snapshot.layer("communes"))
        for (const auto& [code, idx] : communes->by_id)
            if (department_of(code) == dept) out.push_back(code);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<RiskVerdict> commune_risk_verdicts(const index::Snapshot& snapshot, const Rules& rules, const std::string& insee,
                                               const RoadGraph* graph) {
    const index::LayerData* pei_layer = snapshot.layer("pei");
    const auto indexed = pei_layer ? pei_index(snapshot, *pei_layer) : nullptr;
    const std::optional<PeiSource> pei = pei_layer ? std::optional<PeiSource>(PeiSource{*pei_layer, *indexed}) : std::nullopt;
    std::vector<RiskVerdict> risks;
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
                v = evaluate(*pei, rules, graph, *at, rc);
                v.lon = (f.geometry.envelope.min_x + f.geometry.envelope.max_x) / 2;
                v.lat = (f.geometry.envelope.min_y + f.geometry.envelope.max_y) / 2;
            } else {
                v.risk_class = rc.id;
                v.reason = at ? Shortfall::NoPei : Shortfall::NoLocation;
            }
            v.layer = layer_id;
            v.id = f.id;
            v.name = field_text(layer->spec, f, layer->spec.name_field);
            risks.push_back(std::move(v));
        }
    }
    return risks;
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

    out.risks = commune_risk_verdicts(snapshot, rules, insee, graph.get());
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
