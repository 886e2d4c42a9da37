#include "ideo/core/layer.hpp"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <fstream>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"
#include "ideo/core/json.hpp"

namespace ideo {
namespace {

using Json = rapidjson::Value;

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& where, const std::string& why) {
    throw InputError(file.string() + ": " + where + ": " + why);
}

std::string get_string(const Json& o, const char* key, const std::filesystem::path& file, const std::string& where,
                       bool required = false) {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd() || it->value.IsNull()) {
        if (required) fail(file, where, std::string("missing \"") + key + "\"");
        return {};
    }
    if (!it->value.IsString()) fail(file, where + "." + key, "expected a string");
    return {it->value.GetString(), it->value.GetStringLength()};
}

std::vector<std::string> get_strings(const Json& o, const char* key, const std::filesystem::path& file,
                                     const std::string& where) {
    std::vector<std::string> out;
    auto it = o.FindMember(key);
    if (it == o.MemberEnd()) return out;
    if (it->value.IsString()) return {it->value.GetString()};
    if (!it->value.IsArray()) fail(file, where + "." + key, "expected an array of strings");
    for (const auto& v : it->value.GetArray()) {
        if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
        else if (v.IsNumber()) out.push_back(v.IsInt64() ? std::to_string(v.GetInt64()) : std::to_string(v.GetDouble()));
        else fail(file, where + "." + key, "expected strings");
    }
    return out;
}

FieldType parse_type(const std::string& s, const std::filesystem::path& file, const std::string& where) {
    if (s == "string") return FieldType::String;
    if (s == "integer") return FieldType::Integer;
    if (s == "number") return FieldType::Number;
    if (s == "boolean") return FieldType::Boolean;
    if (s == "date") return FieldType::Date;
    fail(file, where + ".type", "unknown type \"" + s + "\" (string, integer, number, boolean, date)");
}

Derived parse_derived(const std::string& s, const std::filesystem::path& file, const std::string& where) {
    if (s.empty()) return Derived::None;
    if (s == "x_l93") return Derived::X_L93;
    if (s == "y_l93") return Derived::Y_L93;
    if (s == "lon") return Derived::Lon;
    if (s == "lat") return Derived::Lat;
    fail(file, where + ".derived", "unknown value \"" + s + "\" (x_l93, y_l93, lon, lat)");
}

FieldSpec parse_field(const Json& f, const std::filesystem::path& file, const std::string& where) {
    if (!f.IsObject()) fail(file, where, "expected an object");
    FieldSpec s;
    s.name = get_string(f, "name", file, where, true);
    const std::string at = where + "(" + s.name + ")";
    s.title = get_string(f, "title", file, at);
    if (s.title.empty()) s.title = s.name;
    s.type = parse_type(get_string(f, "type", file, at, true), file, at);
    if (auto it = f.FindMember("required"); it != f.MemberEnd()) s.required = it->value.IsTrue();
    s.enum_values = get_strings(f, "enum", file, at);
    s.aliases = get_strings(f, "aliases", file, at);
    s.derived = parse_derived(get_string(f, "derived", file, at), file, at);
    if (auto it = f.FindMember("minimum"); it != f.MemberEnd() && it->value.IsNumber()) s.minimum = it->value.GetDouble();
    if (auto it = f.FindMember("maximum"); it != f.MemberEnd() && it->value.IsNumber()) s.maximum = it->value.GetDouble();
    const std::string oi = get_string(f, "on_invalid", file, at);
    if (oi == "reject") s.on_invalid = OnInvalid::Reject;
    else if (oi.empty() || oi == "drop") s.on_invalid = OnInvalid::Drop;
    else fail(file, at + ".on_invalid", "expected \"drop\" or \"reject\"");
    if (auto it = f.FindMember("synonyms"); it != f.MemberEnd()) {
        if (!it->value.IsObject()) fail(file, at + ".synonyms", "expected an object {spelling: code}");
        for (const auto& m : it->value.GetObject()) {
            std::string code;
            if (m.value.IsString()) code = m.value.GetString();
            else if (m.value.IsInt64()) code = std::to_string(m.value.GetInt64());
            else fail(file, at + ".synonyms." + m.name.GetString(), "expected a string or an integer");
            s.synonyms[text::fold_key(m.name.GetString())] = code;
        }
    }
    for (const auto& code : s.enum_values) s.synonyms.emplace(text::fold_key(code), code);
    return s;
}

SourceSpec parse_source(const Json& o, const std::filesystem::path& file, const std::string& where) {
    if (!o.IsObject()) fail(file, where, "expected an object");
    SourceSpec s;
    s.id = get_string(o, "id", file, where, true);
    const std::string at = where + "(" + s.id + ")";
    s.partner = get_string(o, "partner", file, at);
    s.protocol = get_string(o, "protocol", file, at);
    if (s.protocol.empty()) s.protocol = "file";
    s.url = get_string(o, "url", file, at, true);
    if (s.url.find("://") == std::string::npos && !s.url.empty() && s.url[0] != '/')
        s.url = std::filesystem::weakly_canonical(file.parent_path() / s.url).string();
    s.crs = get_string(o, "crs", file, at);
    s.encoding = get_string(o, "encoding", file, at);
    s.layer = get_string(o, "layer", file, at);
    if (auto it = o.FindMember("options"); it != o.MemberEnd()) {
        if (!it->value.IsObject()) fail(file, at + ".options", "expected an object");
        for (const auto& m : it->value.GetObject()) {
            if (!m.value.IsString()) fail(file, at + ".options." + m.name.GetString(), "expected a string");
            s.options[m.name.GetString()] = m.value.GetString();
        }
    }
    return s;
}

int get_int(const Json& o, const char* key, int def, const std::filesystem::path& file, const std::string& where) {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd()) return def;
    if (!it->value.IsInt()) fail(file, where + "." + key, "expected an integer");
    return it->value.GetInt();
}

TileCondition parse_condition(const Json& c, const LayerSpec& l, const std::filesystem::path& file, const std::string& where) {
    if (!c.IsObject()) fail(file, where, "expected an object {field, in, min}");
    TileCondition t;
    const std::string field = get_string(c, "field", file, where, true);
    t.field = l.field_index(field);
    if (t.field < 0) fail(file, where + ".field", "\"" + field + "\" is not one of the fields");
    t.in = get_strings(c, "in", file, where);
    if (auto it = c.FindMember("min"); it != c.MemberEnd()) {
        if (!it->value.IsNumber()) fail(file, where + ".min", "expected a number");
        t.min = it->value.GetDouble();
    }
    return t;
}

TileSpec parse_tiles(const Json& o, const LayerSpec& l, const std::filesystem::path& file) {
    const std::string at = "tiles";
    if (!o.IsObject()) fail(file, at, "expected an object");
    TileSpec t;
    t.minzoom = get_int(o, "minzoom", t.minzoom, file, at);
    t.maxzoom = get_int(o, "maxzoom", t.maxzoom, file, at);
    t.properties = get_strings(o, "properties", file, at);
    for (const auto& f : t.properties)
        if (l.field_index(f) < 0) fail(file, at + ".properties", "\"" + f + "\" is not one of the fields");
    if (auto it = o.FindMember("simplify_px"); it != o.MemberEnd() && it->value.IsNumber()) t.simplify_px = it->value.GetDouble();
    t.label_points_minzoom = get_int(o, "label_points_minzoom", t.label_points_minzoom, file, at);
    if (t.label_points_minzoom >= 0 && l.geometry_type != "polygon")
        fail(file, at + ".label_points_minzoom", "label points are for polygon layers");
    if (auto it = o.FindMember("zoom_properties"); it != o.MemberEnd()) {
        if (!it->value.IsArray()) fail(file, at + ".zoom_properties", "expected an array");
        for (const auto& z : it->value.GetArray()) {
            ZoomProperties zp;
            zp.minzoom = get_int(z, "minzoom", 0, file, at + ".zoom_properties");
            zp.maxzoom = get_int(z, "maxzoom", 22, file, at + ".zoom_properties");
            zp.fields = get_strings(z, "fields", file, at + ".zoom_properties");
            t.zoom_properties.push_back(std::move(zp));
        }
    }
    if (auto it = o.FindMember("cluster"); it != o.MemberEnd()) {
        const auto& c = it->value;
        const std::string cat = at + ".cluster";
        if (!c.IsObject()) fail(file, cat, "expected an object");
        t.cluster_below = get_int(c, "below_zoom", -1, file, cat);
        t.cluster_cell_px = get_int(c, "cell_px", t.cluster_cell_px, file, cat);
        if (t.cluster_cell_px < 1 || t.cluster_cell_px > 256) fail(file, cat + ".cell_px", "expected 1 to 256");
        if (auto st = c.FindMember("stats"); st != c.MemberEnd()) {
            if (!st->value.IsObject()) fail(file, cat + ".stats", "expected an object {name: [[conditions]]}");
            for (const auto& m : st->value.GetObject()) {
                ClusterStat s;
                s.name = m.name.GetString();
                const std::string sat = cat + ".stats." + s.name;
                if (!m.value.IsArray()) fail(file, sat, "expected an array of condition groups");
                for (const auto& group : m.value.GetArray()) {
                    if (!group.IsArray()) fail(file, sat, "expected an array of condition groups");
                    std::vector<TileCondition> g;
                    for (const auto& cond : group.GetArray()) g.push_back(parse_condition(cond, l, file, sat));
                    s.any_of.push_back(std::move(g));
                }
                t.cluster_stats.push_back(std::move(s));
            }
        }
    }
    return t;
}

std::vector<AccessGrant> parse_grants(const Json& o, const char* key, const std::filesystem::path& file,
                                      const std::string& where) {
    std::vector<AccessGrant> out;
    for (const auto& g : get_strings(o, key, file, where)) {
        AccessGrant grant;
        std::string_view name = g;
        if (const auto colon = name.find(':'); colon != std::string_view::npos) {
            if (name.substr(colon + 1) != "own")
                fail(file, where + "." + key, "\"" + g + "\": the only condition is \":own\" (the caller's territory)");
            grant.own = true;
            name = name.substr(0, colon);
        }
        if (name != "public") {
            grant.role = access::parse_role(name);
            if (!grant.role || *grant.role == access::Role::Anonymous)
                fail(file, where + "." + key, "unknown role \"" + std::string(name) + "\" (public, member, sdis, ars, admin)");
        } else if (grant.own) {
            fail(file, where + "." + key, "\"public:own\": the public has no territory");
        }
        out.push_back(grant);
    }
    return out;
}

access::Role parse_policy_role(const std::string& name, const std::filesystem::path& file, const std::string& where) {
    if (name == "public") return access::Role::Anonymous;
    const auto role = access::parse_role(name);
    if (!role) fail(file, where, "unknown role \"" + name + "\" (anonymous, member, sdis, ars, admin)");
    return *role;
}

std::map<access::Role, std::vector<std::string>> parse_role_fields(const Json& o, const char* key, const LayerSpec& l,
                                                                   const std::filesystem::path& file, const std::string& where) {
    std::map<access::Role, std::vector<std::string>> out;
    const auto it = o.FindMember(key);
    if (it == o.MemberEnd()) return out;
    const std::string at = where + "." + key;
    if (!it->value.IsObject()) fail(file, at, "expected an object {role: [fields]}");
    for (const auto& m : it->value.GetObject()) {
        const std::string role = m.name.GetString();
        const auto r = parse_policy_role(role, file, at);
        auto fields = get_strings(it->value, role.c_str(), file, at);
        for (const auto& f : fields)
            if (l.field_index(f) < 0) fail(file, at + "." + role, "\"" + f + "\" is not one of the fields");
        out[r] = std::move(fields);
    }
    return out;
}

GeometryRule parse_geometry_rule(const std::string& s, const std::filesystem::path& file, const std::string& where) {
    GeometryRule g;
    if (s == "exact") g.level = GeometryLevel::Exact;
    else if (s == "commune") g.level = GeometryLevel::Commune;
    else if (s == "department") g.level = GeometryLevel::Department;
    else if (s == "none") g.level = GeometryLevel::None;
    else if (s.rfind("grid:", 0) == 0) {
        g.level = GeometryLevel::Grid;
        char* end = nullptr;
        g.grid_m = std::strtod(s.c_str() + 5, &end);
        if (end == s.c_str() + 5 || *end != '\0' || !(g.grid_m >= 1))
            fail(file, where, "\"" + s + "\": expected grid:N with N metres, at least 1");
    } else {
        fail(file, where, "\"" + s + "\" (exact, grid:N, commune, department, none)");
    }
    return g;
}

AccessPolicy parse_access(const Json& o, const LayerSpec& l, const std::filesystem::path& file) {
    const std::string at = "access";
    if (!o.IsObject()) fail(file, at, "expected an object");
    static const char* known[] = {"unauthorised", "discover", "tiles", "items", "download", "rows", "row_filter",
                                  "hidden_fields", "visible_fields", "geometry", "withheld"};
    for (const auto& m : o.GetObject())
        if (std::find_if(std::begin(known), std::end(known), [&](const char* k) { return m.name == k; }) == std::end(known))
            fail(file, at + "." + m.name.GetString(), "unknown key");
    AccessPolicy p;
    p.declared = true;
    const std::string unauthorised = get_string(o, "unauthorised", file, at);
    if (unauthorised == "challenge") p.challenge = true;
    else if (!unauthorised.empty() && unauthorised != "not_found")
        fail(file, at + ".unauthorised", "expected \"challenge\" (401) or \"not_found\" (404)");
    const auto ops = {std::pair{"discover", &p.discover}, {"tiles", &p.tiles}, {"items", &p.items}, {"download", &p.download}};
    for (const auto& [key, grants] : ops)
        if (o.HasMember(key)) *grants = parse_grants(o, key, file, at);
    if (o.HasMember("rows")) {
        p.rows_restricted = true;
        p.rows = parse_grants(o, "rows", file, at);
    }
    if (auto it = o.FindMember("row_filter"); it != o.MemberEnd()) {
        const std::string rf = at + ".row_filter";
        if (!it->value.IsObject()) fail(file, rf, "expected an object {where, visible_to}");
        p.row_filter = get_string(it->value, "where", file, rf, true);
        p.row_filter_visible_to = parse_grants(it->value, "visible_to", file, rf);
    }
    p.hidden_fields = parse_role_fields(o, "hidden_fields", l, file, at);
    p.visible_fields = parse_role_fields(o, "visible_fields", l, file, at);
    if (auto it = o.FindMember("geometry"); it != o.MemberEnd()) {
        if (!it->value.IsObject()) fail(file, at + ".geometry", "expected an object {role: level}");
        for (const auto& m : it->value.GetObject()) {
            const std::string where = at + ".geometry." + m.name.GetString();
            if (!m.value.IsString()) fail(file, where, "expected a string");
            p.geometry[parse_policy_role(m.name.GetString(), file, where)] = parse_geometry_rule(m.value.GetString(), file, where);
        }
    }
    const std::string withheld = get_string(o, "withheld", file, at);
    if (withheld == "count_by_commune") {
        if (l.insee_field.empty()) fail(file, at + ".withheld", "counting by commune needs the layer's insee_field");
        p.count_withheld_by_commune = true;
    } else if (!withheld.empty() && withheld != "hidden") {
        fail(file, at + ".withheld", "expected \"hidden\" or \"count_by_commune\"");
    }
    return p;
}

}  // namespace

const std::vector<AccessGrant>& AccessPolicy::grants(AccessOperation op) const {
    switch (op) {
        case AccessOperation::Discover: return discover;
        case AccessOperation::Tiles: return tiles;
        case AccessOperation::Items: return items;
        case AccessOperation::Download: return download;
    }
    return discover;
}

bool granted(const std::vector<AccessGrant>& grants, const access::Identity& who, std::string_view insee) {
    for (const auto& g : grants) {
        if (g.role && *g.role != who.role) continue;
        if (!g.own) return true;
        if (insee.empty() ? !(who.insee.empty() && who.depts.empty()) : who.covers(insee)) return true;
    }
    return false;
}

const char* to_string(AccessOperation op) {
    switch (op) {
        case AccessOperation::Discover: return "discover";
        case AccessOperation::Tiles: return "tiles";
        case AccessOperation::Items: return "items";
        case AccessOperation::Download: return "download";
    }
    return "discover";
}

const char* to_string(FieldType t) {
    switch (t) {
        case FieldType::String: return "string";
        case FieldType::Integer: return "integer";
        case FieldType::Number: return "number";
        case FieldType::Boolean: return "boolean";
        case FieldType::Date: return "date";
    }
    return "string";
}

int LayerSpec::field_index(std::string_view name) const {
    for (size_t i = 0; i < fields.size(); ++i)
        if (fields[i].name == name) return static_cast<int>(i);
    return -1;
}

const SourceSpec* LayerSpec::find_source(std::string_view sid) const {
    for (const auto& s : sources)
        if (s.id == sid) return &s;
    return nullptr;
}

const LayerSpec* LayerCatalog::find(std::string_view id) const {
    for (const auto& l : layers)
        if (l.id == id) return &l;
    return nullptr;
}

const LayerSpec& LayerCatalog::get(std::string_view id) const {
    if (const auto* l = find(id)) return *l;
    std::string known;
    for (const auto& l : layers) known += (known.empty() ? "" : ", ") + l.id;
    throw InputError("unknown layer \"" + std::string(id) + "\" (layers in " + dir.string() + ": " + known + ")");
}

LayerSpec parse_layer(const std::string& json, const std::filesystem::path& file) {
    const rapidjson::Document d = json::parse(json, file.string());
    if (!d.IsObject()) fail(file, "top level", "expected an object");
    LayerSpec l;
    l.file = file;
    l.id = get_string(d, "id", file, "layer", true);
    l.title = get_string(d, "title", file, "layer");
    l.description = get_string(d, "description", file, "layer");
    if (auto g = get_string(d, "geometry", file, "layer"); !g.empty()) l.geometry_type = g;
    l.id_field = get_string(d, "id_field", file, "layer", true);
    l.insee_field = get_string(d, "insee_field", file, "layer");
    l.name_field = get_string(d, "name_field", file, "layer");
    l.date_field = get_string(d, "date_field", file, "layer");
    if (auto it = d.FindMember("attribute_commune"); it != d.MemberEnd()) l.attribute_commune = it->value.IsTrue();
    if (auto it = d.FindMember("max_distance_m"); it != d.MemberEnd() && it->value.IsNumber())
        l.max_distance_m = it->value.GetDouble();
    auto fields = d.FindMember("fields");
    if (fields == d.MemberEnd() || !fields->value.IsArray()) fail(file, "fields", "missing or not an array");
    int i = 0;
    for (const auto& f : fields->value.GetArray()) l.fields.push_back(parse_field(f, file, "fields[" + std::to_string(i++) + "]"));
    if (auto it = d.FindMember("coordinates"); it != d.MemberEnd()) {
        const auto& c = it->value;
        if (!c.IsObject()) fail(file, "coordinates", "expected an object {x, y, lon, lat, wkt}");
        l.coordinates.x = get_strings(c, "x", file, "coordinates");
        l.coordinates.y = get_strings(c, "y", file, "coordinates");
        l.coordinates.lon = get_strings(c, "lon", file, "coordinates");
        l.coordinates.lat = get_strings(c, "lat", file, "coordinates");
        l.coordinates.wkt = get_strings(c, "wkt", file, "coordinates");
    }
    if (auto it = d.FindMember("sources"); it != d.MemberEnd()) {
        if (!it->value.IsArray()) fail(file, "sources", "expected an array");
        i = 0;
        for (const auto& s : it->value.GetArray()) l.sources.push_back(parse_source(s, file, "sources[" + std::to_string(i++) + "]"));
    }
    if (auto it = d.FindMember("tiles"); it != d.MemberEnd()) l.tiles = parse_tiles(it->value, l, file);
    if (auto it = d.FindMember("access"); it != d.MemberEnd()) l.access = parse_access(it->value, l, file);
    if (l.field_index(l.id_field) < 0) fail(file, "id_field", "\"" + l.id_field + "\" is not one of the fields");
    if (!l.insee_field.empty() && l.field_index(l.insee_field) < 0)
        fail(file, "insee_field", "\"" + l.insee_field + "\" is not one of the fields");
    if (!l.date_field.empty() && l.field_index(l.date_field) < 0)
        fail(file, "date_field", "\"" + l.date_field + "\" is not one of the fields");
    return l;
}

LayerCatalog load_layers(const std::filesystem::path& dir) {
    LayerCatalog cat;
    cat.dir = dir;
    if (!std::filesystem::is_directory(dir)) throw InputError(dir.string() + ": layers folder not found");
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        cat.layers.push_back(parse_layer(json::read_file(f, "the layer file"), f));
        for (size_t k = 0; k + 1 < cat.layers.size(); ++k)
            if (cat.layers[k].id == cat.layers.back().id)
                throw InputError(f.string() + ": layer id \"" + cat.layers.back().id + "\" already declared in " +
                                 cat.layers[k].file.string());
    }
    return cat;
}

}  // namespace ideo
