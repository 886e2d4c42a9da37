// DECI rules read from layers/deci-rules: the default, then the department's file merged over it.
#include "ideo/deci/rules.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "ideo/core/error.hpp"
#include "ideo/core/json.hpp"

namespace ideo::deci {
namespace {

using JsonValue = rapidjson::Value;

std::string read_text(const std::filesystem::path& p) { return json::read_file(p, "the DECI rules file"); }

rapidjson::Document parse(const std::string& text, const std::string& where) {
    rapidjson::Document d = json::parse(text, where);
    if (!d.IsObject()) throw InputError(where + ": a DECI rules file must be a JSON object");
    return d;
}

// Department values replace the default's key by key; objects merge recursively (one class's distance alone).
void merge(JsonValue& base, const JsonValue& over, rapidjson::Document::AllocatorType& alloc) {
    for (auto m = over.MemberBegin(); m != over.MemberEnd(); ++m) {
        auto it = base.FindMember(m->name);
        if (it != base.MemberEnd() && it->value.IsObject() && m->value.IsObject()) {
            merge(it->value, m->value, alloc);
        } else if (it != base.MemberEnd()) {
            it->value.CopyFrom(m->value, alloc);
        } else {
            JsonValue name(m->name, alloc), value(m->value, alloc);
            base.AddMember(name, value, alloc);
        }
    }
}

std::string str(const JsonValue& o, const char* key, const std::string& where, const std::string& def = {}) {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd()) return def;
    if (!it->value.IsString()) throw InputError(where + ": \"" + key + "\" must be a string");
    return it->value.GetString();
}

double num(const JsonValue& o, const char* key, const std::string& where, double def = 0) {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd()) return def;
    if (!it->value.IsNumber() || it->value.GetDouble() < 0)
        throw InputError(where + ": \"" + key + "\" must be a number >= 0");
    return it->value.GetDouble();
}

std::map<std::string, std::string> string_map(const JsonValue& o, const char* key, const std::string& where) {
    std::map<std::string, std::string> out;
    auto it = o.FindMember(key);
    if (it == o.MemberEnd()) return out;
    if (!it->value.IsObject()) throw InputError(where + ": \"" + key + "\" must be an object");
    for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m) {
        if (!m->value.IsString()) throw InputError(where + ": \"" + key + "." + m->name.GetString() + "\" must be a class id");
        out[m->name.GetString()] = m->value.GetString();
    }
    return out;
}

std::vector<std::string> string_list(const JsonValue& o, const char* key, const std::string& where,
                                     std::vector<std::string> def) {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd()) return def;
    if (!it->value.IsArray()) throw InputError(where + ": \"" + key + "\" must be an array of strings");
    std::vector<std::string> out;
    for (const auto& v : it->value.GetArray()) {
        if (!v.IsString()) throw InputError(where + ": \"" + key + "\" must be an array of strings");
        out.emplace_back(v.GetString());
    }
    return out;
}

bool contains(const std::vector<std::string>& list, const std::string& s) {
    return std::find(list.begin(), list.end(), s) != list.end();
}

}  // namespace

const char* to_string(Shortfall s) {
    switch (s) {
        case Shortfall::None: return "covered";
        case Shortfall::Unavailable: return "unavailable";
        case Shortfall::FlowTooLow: return "flow_too_low";
        case Shortfall::TooFar: return "too_far";
        case Shortfall::NoPei: return "no_pei";
        case Shortfall::NoLocation: return "no_location";
    }
    return "?";
}

const RiskClass* Rules::find(std::string_view id) const {
    for (const auto& c : classes)
        if (c.id == id) return &c;
    return nullptr;
}

const RiskClass& Rules::get(std::string_view id) const {
    if (const RiskClass* c = find(id)) return *c;
    std::string known;
    for (const auto& c : classes) known += (known.empty() ? "" : ", ") + c.id;
    throw InputError("DECI rules " + this->id + ": unknown risk class '" + std::string(id) + "' (known: " + known + ")");
}

Rules parse_rules(const std::string& default_json, const std::string& dept_json, const std::string& where) {
    rapidjson::Document d = parse(default_json, where);
    if (!dept_json.empty()) {
        const rapidjson::Document over = parse(dept_json, where);
        merge(d, over, d.GetAllocator());
    }
    Rules r;
    r.id = str(d, "id", where, "default");
    r.title = str(d, "title", where);
    r.reference = str(d, "reference", where);
    r.note = str(d, "note", where);
    auto classes = d.FindMember("classes");
    if (classes == d.MemberEnd() || !classes->value.IsObject() || classes->value.MemberCount() == 0)
        throw InputError(where + ": \"classes\" must be an object of risk classes");
    for (auto m = classes->value.MemberBegin(); m != classes->value.MemberEnd(); ++m) {
        const std::string at = where + ": classes." + m->name.GetString();
        if (!m->value.IsObject()) throw InputError(at + " must be an object");
        RiskClass c;
        c.id = m->name.GetString();
        c.label = str(m->value, "label", at, c.id);
        c.flow_m3h = num(m->value, "flow_m3h", at);
        c.duration_h = num(m->value, "duration_h", at);
        c.volume_m3 = num(m->value, "volume_m3", at, c.flow_m3h * c.duration_h);
        c.distance_m = num(m->value, "distance_m", at);
        c.additional_distance_m = num(m->value, "additional_distance_m", at);
        if (c.distance_m <= 0) throw InputError(at + ".distance_m must be > 0");
        r.classes.push_back(c);
    }
    std::stable_sort(r.classes.begin(), r.classes.end(),
                     [](const RiskClass& a, const RiskClass& b) { return a.flow_m3h < b.flow_m3h; });
    r.commune_area = str(d, "commune_area", where, r.commune_area);
    r.erp_category = string_map(d, "erp_category", where);
    r.icpe_regime = string_map(d, "icpe_regime", where);
    r.icpe_seveso = string_map(d, "icpe_seveso", where);
    r.erp_default = str(d, "erp_default", where, r.erp_default);
    r.icpe_default = str(d, "icpe_default", where, r.icpe_default);
    r.hydrant_types = string_list(d, "hydrant_types", where, r.hydrant_types);
    r.reserve_types = string_list(d, "reserve_types", where, r.reserve_types);
    r.check_max_age_days = static_cast<int>(num(d, "check_max_age_days", where, r.check_max_age_days));
    if (auto roads = d.FindMember("roads"); roads != d.MemberEnd() && roads->value.IsObject()) {
        r.impassable_natures = string_list(roads->value, "impassable_natures", where + ": roads", {});
        r.road_buffer_m = num(roads->value, "buffer_m", where + ": roads", r.road_buffer_m);
        r.snap_max_m = num(roads->value, "snap_max_m", where + ": roads", r.snap_max_m);
    }
    if (auto costs = d.FindMember("costs"); costs != d.MemberEnd()) {
        if (!costs->value.IsObject()) throw InputError(where + ": \"costs\" must be an object of euros by action kind");
        for (auto m = costs->value.MemberBegin(); m != costs->value.MemberEnd(); ++m)
            r.costs[m->name.GetString()] = num(costs->value, m->name.GetString(), where + ": costs");
    }
    if (auto schema = d.FindMember("schema"); schema != d.MemberEnd()) {
        const std::string at = where + ": schema";
        if (!schema->value.IsObject()) throw InputError(at + " must be an object");
        r.schema_road_step_m = num(schema->value, "road_step_m", at, r.schema_road_step_m);
        r.schema_grid_step_m = num(schema->value, "grid_step_m", at, r.schema_grid_step_m);
        if (r.schema_road_step_m < 10 || r.schema_grid_step_m < 10) throw InputError(at + ": road_step_m and grid_step_m must be >= 10");
        if (auto pipes = schema->value.FindMember("pipe_flow_m3h"); pipes != schema->value.MemberEnd()) {
            if (!pipes->value.IsObject()) throw InputError(at + ".pipe_flow_m3h must be an object (diameter in mm -> m³/h)");
            for (auto m = pipes->value.MemberBegin(); m != pipes->value.MemberEnd(); ++m) {
                const std::string diameter = m->name.GetString();
                char* end = nullptr;
                const double mm = std::strtod(diameter.c_str(), &end);
                if (diameter.empty() || *end != '\0' || mm <= 0)
                    throw InputError(at + ".pipe_flow_m3h: \"" + diameter + "\" is not a diameter in mm");
                r.pipe_flow_m3h[mm] = num(pipes->value, m->name.GetString(), at + ".pipe_flow_m3h");
            }
        }
    }
    // Every class named anywhere must exist: a typo in a department file fails at load, not mid-request.
    r.get(r.commune_area);
    r.get(r.erp_default);
    r.get(r.icpe_default);
    for (const auto* m : {&r.erp_category, &r.icpe_regime, &r.icpe_seveso})
        for (const auto& [k, v] : *m) r.get(v);
    return r;
}

Rules load_rules(const std::filesystem::path& dir, const std::string& dept) {
    const auto def = dir / "default.json";
    std::string over;
    std::string where = def.string();
    if (!dept.empty() && dept != "default") {
        const bool plain = std::all_of(dept.begin(), dept.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
        const auto file = dir / (dept + ".json");
        if (!plain || dept.size() > 3) throw InputError("rules '" + dept + "': not a department code");
        if (std::filesystem::exists(file)) {
            over = read_text(file);
            where += " + " + file.string();
        }
    }
    Rules r = parse_rules(read_text(def), over, where);
    if (over.empty() && !dept.empty() && dept != "default") r.note += " No RDDECI file for department " + dept + ": default rules.";
    return r;
}

std::string department_of(std::string_view insee) {
    if (insee.size() >= 3 && insee.substr(0, 2) == "97") return std::string(insee.substr(0, 3));
    return std::string(insee.substr(0, std::min<std::size_t>(2, insee.size())));
}

PeiFacts pei_facts(const LayerSpec& spec, const Feature& f) {
    PeiFacts p;
    auto at = [&](const char* name) -> const Value* {
        const int i = spec.field_index(name);
        return i >= 0 && static_cast<std::size_t>(i) < f.values.size() ? &f.values[static_cast<std::size_t>(i)] : nullptr;
    };
    auto number = [](const Value* v) -> std::optional<double> {
        if (!v) return std::nullopt;
        if (const auto* d = std::get_if<double>(v)) return *d;
        if (const auto* n = std::get_if<std::int64_t>(v)) return static_cast<double>(*n);
        return std::nullopt;
    };
    if (const Value* t = at("type_pei")) p.type = to_text(*t);
    p.debit = number(at("debit"));
    p.volume = number(at("volume"));
    if (const Value* d = at("disponible")) p.available = to_text(*d) == "1";
    return p;
}

Shortfall pei_shortfall(const Rules& rules, const RiskClass& cls, const PeiFacts& pei) {
    if (!pei.available) return Shortfall::Unavailable;
    const bool reserve = contains(rules.reserve_types, pei.type) || (!contains(rules.hydrant_types, pei.type) && !pei.debit);
    if (reserve) return pei.volume && *pei.volume >= cls.volume_m3 ? Shortfall::None : Shortfall::FlowTooLow;
    return pei.debit && *pei.debit >= cls.flow_m3h ? Shortfall::None : Shortfall::FlowTooLow;
}

double pei_flow_contribution(const Rules& rules, const PeiFacts& pei) {
    if (!pei.available) return 0;
    if (pei.debit) return *pei.debit;
    return 0;  // a reserve's volume does not add to a flow
}

const RiskClass& risk_class_of(const Rules& rules, const LayerSpec& layer, const Feature& f) {
    auto text_of = [&](const char* name) {
        const int i = layer.field_index(name);
        return i >= 0 && static_cast<std::size_t>(i) < f.values.size() ? to_text(f.values[static_cast<std::size_t>(i)]) : std::string();
    };
    if (layer.id == "erp") {
        const auto it = rules.erp_category.find(text_of("categorie"));
        return rules.get(it == rules.erp_category.end() ? rules.erp_default : it->second);
    }
    if (layer.id == "icpe") {
        if (const auto s = rules.icpe_seveso.find(text_of("lib_seveso")); s != rules.icpe_seveso.end()) return rules.get(s->second);
        const auto r = rules.icpe_regime.find(text_of("lib_regime"));
        return rules.get(r == rules.icpe_regime.end() ? rules.icpe_default : r->second);
    }
    return rules.area_class();
}

}  // namespace ideo::deci
