// Parameters of the DECI API: extracts, the commune's counts and order, coverage, the point check.
#include <algorithm>

#include "../parameters.hpp"
#include "ideo/deci/extract.hpp"

namespace ideo::server {
namespace {

// The extension in the URL: the shapefile comes zipped.
const std::vector<std::string>& extract_formats() {
    static const std::vector<std::string> v = [] {
        std::vector<std::string> out;
        for (const auto& f : deci::extract_formats()) out.push_back(f == "shp" ? "shp.zip" : f);
        return out;
    }();
    return v;
}
const std::vector<std::string>& solvers() {
    static const std::vector<std::string> v{deci::to_string(deci::Solver::Greedy), deci::to_string(deci::Solver::Exact)};
    return v;
}
const std::vector<std::string>& modes() {
    static const std::vector<std::string> v{deci::to_string(deci::Mode::Straight), deci::to_string(deci::Mode::Road)};
    return v;
}

using K = ParameterKind;
constexpr ParameterIn path = ParameterIn::Path;
constexpr Parameter insee{.name = "insee", .description = "INSEE code of the commune", .kind = K::Insee, .in = path};
constexpr Parameter format{.name = "format", .description = "file format", .kind = K::Choice, .in = path, .choices = extract_formats};
constexpr Parameter crs{.name = "crs", .description = "CRS of the file (EPSG:2154 by default, CRS84 for GeoJSON)", .kind = K::Choice,
                        .choices = deci::extract_crs_list};
constexpr Parameter communes{.name = "insee", .description = "comma-separated INSEE codes (or dept)", .kind = K::List, .max = 1000,
                             .items = K::Insee};
constexpr Parameter dept{.name = "dept", .description = "department code (or insee)", .kind = K::Department};
constexpr Parameter rules{.name = "rules", .description = "department of the DECI rules (default: the commune's)", .kind = K::Rules};
constexpr Parameter coverage_mode{.name = "mode", .description = "distances as the crow flies or along roads", .kind = K::Choice,
                                  .choices = modes, .default_text = "straight"};
constexpr Parameter check_mode{.name = "mode", .description = "distances along roads (where a network is loaded) or as the crow flies",
                               .kind = K::Choice, .choices = modes, .default_text = "road"};
constexpr Parameter lon{.name = "lon", .description = "longitude (WGS84)", .kind = K::Number, .required = true, .low = -180, .high = 180};
constexpr Parameter lat{.name = "lat", .description = "latitude (WGS84)", .kind = K::Number, .required = true, .low = -90, .high = 90};
constexpr Parameter risk{.name = "risk",
                         .description = "risk class of the rules (courant_faible, courant_ordinaire, courant_important, particulier); "
                                        "default: the area's",
                         .max = 100};

constexpr Parameter budget{.name = "budget", .description = "euros the plan may spend (the best plan within it); default: no cap",
                           .kind = K::Number, .low = 0, .high = 1e12};
constexpr Parameter solver{.name = "solver", .description = "greedy, or exact (COIN-OR CBC, greedy above its size limit)",
                           .kind = K::Choice, .choices = solvers, .default_text = "greedy"};

constexpr Parameter extract_list[] = {insee, format, crs};
constexpr Parameter extract_many_list[] = {format, communes, dept, crs};
constexpr Parameter commune_list[] = {insee, rules};
constexpr Parameter coverage_list[] = {insee, coverage_mode, rules};
constexpr Parameter schema_list[] = {insee, coverage_mode, budget, solver, rules};
constexpr Parameter check_list[] = {lon, lat, risk, check_mode, rules};

std::string extract_format(std::string_view text) {
    const auto& formats = extract_formats();
    if (std::find(formats.begin(), formats.end(), text) == formats.end()) {
        std::string list;
        for (const auto& f : formats) list += (list.empty() ? "" : ", ") + f;
        throw HttpError(404, "NotFound", "format " + shown(text) + ": no extract in this format (available: " + list + ")");
    }
    return std::string(text);
}

std::optional<std::string> rules_of(const QueryParams& q) {
    if (const std::string* r = rules.find(q)) return rules.rules(*r);
    return std::nullopt;
}

deci::Mode mode_of(const Parameter& mode, const QueryParams& q) {
    return deci::parse_mode(modes()[mode.choice_or_default(q)]);
}

// The commune in the path and the rules asked for, `known` being all the endpoint accepts.
CommuneParameters commune_of(std::string_view insee_text, const QueryParams& q, std::span<const Parameter> known) {
    CommuneParameters p;
    p.insee = insee.insee(insee_text);
    reject_unknown_parameters(q, known);
    p.rules = rules_of(q);
    return p;
}

}  // namespace

ExtractParameters parse_extract_parameters(std::string_view insee_text, std::string_view format_text, const QueryParams& q) {
    ExtractParameters p;
    p.insee = insee.insee(insee_text);
    p.format = extract_format(format_text);
    reject_unknown_parameters(q, extract_list);
    if (p.format == "geojson") p.crs.clear();  // GeoJSON is CRS84 unless asked otherwise
    if (const std::string* c = crs.find(q)) p.crs = crs.choices()[crs.choice(*c)];
    return p;
}

std::span<const Parameter> extract_parameters() { return extract_list; }

ExtractManyParameters parse_extract_many_parameters(std::string_view format_text, const QueryParams& q) {
    reject_unknown_parameters(q, extract_many_list);
    ExtractManyParameters p;
    p.format = extract_format(format_text);
    if (const std::string* c = crs.find(q)) p.crs = crs.choices()[crs.choice(*c)];
    const std::string* list = communes.find(q);
    const std::string* department = dept.find(q);
    if ((list != nullptr) == (department != nullptr))
        throw_bad_parameter(list ? dept.name : communes.name, "give either insee (a list of INSEE codes) or dept");
    if (list) p.communes = communes.list(*list);
    else p.dept = dept.department(*department);
    return p;
}

std::span<const Parameter> extract_many_parameters() { return extract_many_list; }

CommuneParameters parse_commune_parameters(std::string_view insee_text, const QueryParams& q) {
    return commune_of(insee_text, q, commune_list);
}

std::span<const Parameter> commune_parameters() { return commune_list; }

CoverageParameters parse_coverage_parameters(std::string_view insee_text, const QueryParams& q) {
    CoverageParameters p{commune_of(insee_text, q, coverage_list)};
    p.mode = mode_of(coverage_mode, q);
    return p;
}

std::span<const Parameter> coverage_parameters() { return coverage_list; }

SchemaParameters parse_schema_parameters(std::string_view insee_text, const QueryParams& q) {
    SchemaParameters p;
    static_cast<CommuneParameters&>(p) = commune_of(insee_text, q, schema_list);
    p.mode = mode_of(coverage_mode, q);
    if (const std::string* b = budget.find(q)) p.budget = budget.number(*b);
    p.solver = deci::parse_solver(solvers()[solver.choice_or_default(q)]);
    return p;
}

std::span<const Parameter> schema_parameters() { return schema_list; }

CheckParameters parse_check_parameters(const QueryParams& q) {
    reject_unknown_parameters(q, check_list);
    CheckParameters p;
    p.lon = lon.number(*lon.find(q));
    p.lat = lat.number(*lat.find(q));
    if (const std::string* r = risk.find(q)) p.risk = risk.text(*r);
    p.mode = mode_of(check_mode, q);
    p.rules = rules_of(q);
    return p;
}

std::span<const Parameter> check_parameters() { return check_list; }

}  // namespace ideo::server
