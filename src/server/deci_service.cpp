// The DECI API: extracts (a commune, a list, a department), the municipal order, coverage, the
// commune's counts and the planned-building check. Parameters are validated here (400 naming
// them); the work is done by deci/.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"
#include "ideo/deci/arrete.hpp"
#include "ideo/deci/coverage.hpp"
#include "ideo/deci/extract.hpp"
#include "ideo/deci/schema.hpp"
#include "ideo/index/view.hpp"
#include "parameters.hpp"
#include "services.hpp"
#include "features.hpp"

namespace ideo::server {
namespace {

// An ASCII stand-in for the plain filename= parameter: Latin-1 accents folded ("Évette" -> "Evette"),
// anything else that could break the header replaced by '_'.
std::string ascii_filename(std::string_view utf8) {
    static const char* folded = "AAAAAAACEEEEIIIIDNOOOOOxOUUUUYTsaaaaaaaceeeeiiiidnooooo/ouuuuyty";  // U+00C0..U+00FF
    std::string out;
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        const auto c = static_cast<unsigned char>(utf8[i]);
        if (c < 0x80) {
            out += (c < 0x20 || c == '"' || c == '\\' || c == 0x7F) ? '_' : static_cast<char>(c);
        } else if ((c == 0xC3) && i + 1 < utf8.size()) {
            const auto n = static_cast<unsigned char>(utf8[i + 1]);
            const char f = (n >= 0x80 && n <= 0xBF) ? folded[n - 0x80] : '_';
            out += (f == 'x' || f == '/') ? '_' : f;
            ++i;
        } else if (c >= 0xC0) {
            out += '_';  // one '_' per non-Latin-1 character: skip its continuation bytes
            while (i + 1 < utf8.size() && (static_cast<unsigned char>(utf8[i + 1]) & 0xC0) == 0x80) ++i;
        }
    }
    return out;
}

// RFC 6266 with the RFC 8187 filename* form, so accents survive in browsers that read it.
std::string content_disposition(const std::string& filename) {
    static const char* digits = "0123456789ABCDEF";
    std::string encoded;
    for (const char ch : filename) {
        const auto c = static_cast<unsigned char>(ch);
        const bool attr_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                               std::string_view("!#$&+-.^_`|~").find(ch) != std::string_view::npos;
        if (attr_char) {
            encoded += ch;
        } else {
            encoded += '%';
            encoded += digits[c >> 4];
            encoded += digits[c & 15];
        }
    }
    return "attachment; filename=\"" + ascii_filename(filename) + "\"; filename*=UTF-8''" + encoded;
}

// Extracts and the order give the PEI of communes away: the layer's download grant decides, commune by
// commune; a department as a whole by its code (a commune code of that department no commune has, so that
// only a department-wide or unconditional grant passes).
void require_download(const Request& req, const index::Snapshot& snapshot, const std::vector<std::string>& communes,
                      const std::string& dept = {}, std::string_view format = {}) {
    const index::LayerData* pei = snapshot.layer("pei");
    if (!pei) return;
    for (const auto& c : communes) require(req, pei->spec, AccessOperation::Download, c);
    if (dept.empty()) return;
    const std::string whole = dept + "000";
    if (!index::may(pei->spec, AccessOperation::Download, *req.caller, whole)) {
        // A department's file must hold the whole department: a caller granted some of its communes is refused
        // and told what to ask instead, rather than handed a file that looks complete and is not.
        std::string own;
        for (const auto& c : req.caller->insee)
            if (access::department_of(c) == dept && index::may(pei->spec, AccessOperation::Download, *req.caller, c))
                own += (own.empty() ? "" : ",") + c;
        if (!own.empty() && pei->spec.access.challenge)
            throw HttpError(403, "Forbidden",
                            "download of 'pei' for department " + dept + " needs a grant on the whole department "
                            "(insufficient_scope); yours covers its communes " + own + ": ask /deci/extract." +
                                std::string(format) + "?insee=" + own);
    }
    require(req, pei->spec, AccessOperation::Download, whole);
}

}  // namespace

Response deci_extract(const Request& req, const index::Snapshot& snapshot, std::string_view insee,
                      std::string_view format) {
    const ExtractParameters p = parse_extract_parameters(insee, format, req.query);
    require_download(req, snapshot, {p.insee});
    deci::ExtractFile file;
    try {
        deci::ExtractRequest r;
        r.insee = p.insee;
        r.format = p.format;
        r.crs = p.crs;
        file = deci::build_extract(snapshot, r);
    } catch (const InputError& e) {
        throw HttpError(404, "NotFound", e.what());  // the commune (or the CRS) is unknown: no such extract
    }
    Response res;
    res.content_type = file.content_type;
    res.body = std::move(file.bytes);
    res.headers.emplace_back("Content-Disposition", content_disposition(file.filename));
    return res;
}

namespace {

Response file_response(deci::ExtractFile file, const index::Snapshot& snapshot, const std::string& variant) {
    Response res;
    res.content_type = file.content_type;
    res.body = std::move(file.bytes);
    res.headers.emplace_back("Content-Disposition", content_disposition(file.filename));
    return res;
}

// The rules of `rules` (a department or "default"), else of the commune's department.
std::shared_ptr<const deci::Rules> rules_for(const index::Snapshot& snapshot, const std::optional<std::string>& rules,
                                             std::string_view insee) {
    const std::string dept = rules ? *rules : insee.empty() ? std::string("default") : deci::department_of(insee);
    try {
        return deci::cached_rules(snapshot, dept);
    } catch (const InputError& e) {
        throw HttpError(500, "ServerError", e.what());  // a broken rules file is the server's fault
    }
}

Response json_response(std::string body, const index::Snapshot& snapshot, std::string_view variant,
                       const char* type = "application/json") {
    Response res;
    res.content_type = type;
    res.body = std::move(body);
    res.headers.emplace_back("ETag", snapshot_etag(snapshot, variant));
    return res;
}

}  // namespace

Response deci_extract_many(const Request& req, const index::Snapshot& snapshot, std::string_view format) {
    ExtractManyParameters p = parse_extract_many_parameters(format, req.query);
    deci::ExtractRequest r;
    r.format = std::move(p.format);
    r.crs = std::move(p.crs);
    r.communes = std::move(p.communes);
    r.dept = std::move(p.dept);
    require_download(req, snapshot, r.communes, r.dept, format);
    try {
        return file_response(deci::build_extract(snapshot, r), snapshot, {});
    } catch (const InputError& e) {
        throw HttpError(404, "NotFound", e.what());
    }
}

Response deci_arrete(const Request& req, const index::Snapshot& snapshot, std::string_view insee) {
    const CommuneParameters p = parse_commune_parameters(insee, req.query);
    require_download(req, snapshot, {p.insee});
    const auto rules = rules_for(snapshot, p.rules, p.insee);
    try {
        return file_response(deci::build_arrete(snapshot, *rules, p.insee), snapshot, {});
    } catch (const InputError& e) {
        throw HttpError(404, "NotFound", e.what());
    }
}

Response deci_coverage(const Request& req, const index::Snapshot& snapshot, std::string_view insee) {
    const CoverageParameters p = parse_coverage_parameters(insee, req.query);
    if (p.mode == deci::Mode::Road && !snapshot.layer("roads"))
        throw_bad_parameter("mode", "road: no road network is loaded here; use mode=straight");
    const auto rules = rules_for(snapshot, p.rules, p.insee);
    std::shared_ptr<const deci::CommuneCoverage> result;
    try {
        result = deci::cached_coverage(snapshot, *rules, p.insee, p.mode);
    } catch (const InputError& e) {
        throw HttpError(404, "NotFound", e.what());
    }
    return json_response(deci::coverage_geojson({*result}), snapshot,
                         std::string("coverage-") + deci::to_string(p.mode) + "-" + rules->id + "-" + p.insee,
                         "application/geo+json");
}

// Heavy (route(): the worker pool): a set-cover solve per request (under 1 s greedy for a commune; the
// exact one up to its time limit).
Response deci_schema(const Request& req, const index::Snapshot& snapshot, std::string_view insee) {
    const SchemaParameters p = parse_schema_parameters(insee, req.query);
    if (p.mode == deci::Mode::Road && !snapshot.layer("roads"))
        throw_bad_parameter("mode", "road: no road network is loaded here; use mode=straight");
    const auto rules = rules_for(snapshot, p.rules, p.insee);
    try {
        deci::check_schema_costs(*rules);
    } catch (const InputError& e) {
        throw HttpError(500, "ServerError", e.what());  // the rules file lacks its cost table: the server's fault
    }
    deci::SchemaOptions options;
    options.solver = p.solver;
    options.budget = p.budget;
    deci::SchemaProblem problem;
    try {
        problem = deci::schema_problem(snapshot, *rules, p.insee, p.mode);
    } catch (const InputError& e) {
        throw HttpError(404, "NotFound", e.what());
    }
    const deci::SchemaPlan plan = deci::plan_schema(problem, *rules, options);
    std::string variant = std::string("schema-") + deci::to_string(p.mode) + "-" + deci::to_string(p.solver) + "-" + rules->id + "-" +
                          p.insee + "-" + (p.budget ? std::to_string(*p.budget) : "none");
    return json_response(deci::schema_geojson(problem, plan, *rules, p.budget), snapshot, variant, "application/geo+json");
}

Response deci_commune(const Request& req, const index::Snapshot& snapshot, std::string_view insee) {
    const CommuneParameters p = parse_commune_parameters(insee, req.query);
    const auto rules = rules_for(snapshot, p.rules, p.insee);
    const deci::CommuneSummary s = deci::commune_summary(snapshot, *rules, p.insee, text::today_iso());
    if (s.name.empty() && s.pei_total == 0 && s.erp_total == 0 && s.icpe_total == 0)
        throw HttpError(404, "NotFound", "commune '" + p.insee + "': unknown INSEE code");
    std::string b = "{\"insee\":";
    append_json_string(b, s.insee);
    b += ",\"name\":";
    append_json_string(b, s.name);
    b += ",\"rules\":";
    append_json_string(b, rules->id);
    auto num = [&](const char* k, std::size_t v) {
        b += ",\"";
        b += k;
        b += "\":";
        append_json_number(b, static_cast<std::int64_t>(v));
    };
    auto ids = [&](const char* k, const std::vector<std::string>& list) {
        b += ",\"";
        b += k;
        b += "\":[";
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (i) b += ',';
            append_json_string(b, list[i]);
        }
        b += ']';
    };
    b += ",\"pei\":{\"total\":" + std::to_string(s.pei_total);
    num("available", s.pei_available);
    num("compliant", s.pei_compliant);
    num("unavailable", s.pei_unavailable);
    num("check_overdue", s.pei_check_overdue);
    num("below_need", s.pei_below_need);
    num("without_location", s.pei_without_location);
    b += "},\"erp\":{\"total\":" + std::to_string(s.erp_total);
    num("without_location", s.erp_without_location);
    b += "},\"icpe\":{\"total\":" + std::to_string(s.icpe_total);
    num("without_location", s.icpe_without_location);
    b += "},\"quality\":{\"check_max_age_days\":" + std::to_string(rules->check_max_age_days);
    ids("unavailable", s.unavailable_ids);
    ids("below_need", s.below_need_ids);
    ids("check_overdue", s.check_overdue_ids);
    b += "}}";
    return json_response(std::move(b), snapshot, "commune-" + rules->id + "-" + p.insee + "-" + text::today_iso());
}

Response deci_check(const Request& req, const index::Snapshot& snapshot) {
    const CheckParameters p = parse_check_parameters(req.query);
    std::string insee;
    if (snapshot.communes)
        if (const auto c = snapshot.communes->locate(p.lon, p.lat)) insee = *c;
    const auto rules = rules_for(snapshot, p.rules, insee);
    const deci::RiskClass* risk = &rules->area_class();
    if (p.risk) {
        risk = rules->find(*p.risk);
        if (!risk) {
            std::string known;
            for (const auto& c : rules->classes) known += (known.empty() ? "" : ", ") + c.id;
            throw_bad_parameter("risk", "unknown risk class " + shown(p.risk->substr(0, 40)) + " (known: " + known + ")");
        }
    }
    deci::RiskVerdict v;
    try {
        v = deci::check_point(snapshot, *rules, p.lon, p.lat, *risk, p.mode);
    } catch (const InputError& e) {
        throw_bad_parameter("lon", e.what());
    }
    return json_response(deci::verdict_json(v, *rules), snapshot, {});
}

}  // namespace ideo::server
