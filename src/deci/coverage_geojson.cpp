// The coverage GeoJSON (one feature per commune's uncovered zones, one per risk, a summary) and the
// planned-building verdict, written with RapidJSON.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <map>
#include <string>

#include "ideo/core/geometry.hpp"
#include "ideo/deci/coverage.hpp"

namespace ideo::deci {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// A string member.
void member(Writer& w, const char* key, const std::string& value) {
    w.Key(key);
    w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

// One GeoJSON Feature: its geometry (null when there is none) and the properties `write_properties` writes.
template <class Properties>
void write_feature(Writer& w, const Geometry* geometry, Properties write_properties) {
    w.StartObject();
    w.Key("type");
    w.String("Feature");
    w.Key("geometry");
    if (geometry) {
        std::string json;
        append_geojson(json, *geometry, 7);
        w.RawValue(json.c_str(), json.size(), rapidjson::kObjectType);
    } else {
        w.Null();
    }
    w.Key("properties");
    w.StartObject();
    write_properties();
    w.EndObject();
    w.EndObject();
}

void write_verdict(Writer& w, const RiskVerdict& v) {
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
    Writer w(sb);
    w.SetMaxDecimalPlaces(7);
    double area = 0, covered = 0;
    std::size_t risks = 0, risks_covered = 0;
    std::map<std::string, std::size_t> reasons;
    w.StartObject();
    w.Key("type");
    w.String("FeatureCollection");
    w.Key("features");
    w.StartArray();
    for (const auto& c : communes) {
        area += c.area_m2;
        covered += c.covered_m2;
        Geometry uncovered;
        uncovered.wkb = c.uncovered_wkb;
        write_feature(w, &uncovered, [&] {
            member(w, "kind", "uncovered");
            member(w, "insee", c.insee);
            member(w, "name", c.name);
            member(w, "risk_class", c.risk_class);
            w.Key("covered_share");
            w.Double(std::round(c.covered_share * 10000) / 10000);
            w.Key("uncovered_m2");
            w.Double(std::round(c.area_m2 - c.covered_m2));
            w.Key("pei_total");
            w.Uint64(c.pei_total);
            w.Key("pei_compliant");
            w.Uint64(c.pei_compliant);
        });
        for (const auto& v : c.risks) {
            ++risks;
            if (v.covered) ++risks_covered;
            else reasons[to_string(v.reason)]++;
            const Geometry at = v.located ? Geometry::point(v.lon, v.lat) : Geometry{};
            write_feature(w, v.located ? &at : nullptr, [&] {
                member(w, "kind", "risk");
                member(w, "insee", c.insee);
                member(w, "layer", v.layer);
                member(w, "id", v.id);
                member(w, "name", v.name);
                write_verdict(w, v);
            });
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
    Writer w(sb);
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

}  // namespace ideo::deci
