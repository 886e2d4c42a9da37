#include "parameter.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "ideo/core/text.hpp"
#include "ideo/ingest/served_crs.hpp"

namespace ideo::server {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// Two digits, 2A/2B (Corsica), or 97x/98x (overseas).
bool is_department_code(std::string_view s) {
    if (s.size() == 2) return digit(s[0]) && (digit(s[1]) || (s[0] == '2' && (s[1] == 'A' || s[1] == 'B')));
    return s.size() == 3 && s[0] == '9' && (s[1] == '7' || s[1] == '8') && digit(s[2]);
}

constexpr const char* insee_pattern = "^[0-9][0-9AB][0-9]{3}$";
constexpr const char* department_pattern = "^([0-9]{2}|2[AB]|9[78][0-9])$";
constexpr const char* rules_pattern = "^(default|[0-9]{2}|2[AB]|9[78][0-9])$";

// "a, b or c"
std::string spelled(const std::vector<std::string>& values) {
    std::string out;
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += i + 1 == values.size() ? " or " : ", ";
        out += values[i];
    }
    return out;
}

void append_number(std::string& out, long long v) { append_json_number(out, static_cast<std::int64_t>(v)); }

std::string item_schema(ParameterKind kind) {
    std::string out = "{\"type\":\"string\"";
    if (kind == ParameterKind::Insee) out += std::string(",\"pattern\":\"") + insee_pattern + '"';
    return out + '}';
}

}  // namespace

std::optional<long long> to_integer(std::string_view s) {
    long long n = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
    return n;
}

std::optional<double> to_number(std::string_view s) {
    double d = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), d);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
    return d;
}

std::string shown(std::string_view s) {
    std::string out = "'";
    out += s.substr(0, 80);
    if (s.size() > 80) out += "...";
    out += "'";
    return out;
}

long long parse_integer(std::string_view name, std::string_view text, long long min, long long max) {
    const auto n = to_integer(text);
    if (!n || *n < min || *n > max) {
        const std::string range = max == std::numeric_limits<long long>::max()
                                      ? "a whole number >= " + std::to_string(min)
                                      : "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
        throw_bad_parameter(name, "must be " + range + ", got " + shown(text));
    }
    return *n;
}

double parse_number(std::string_view name, std::string_view text, double low, double high) {
    const auto d = to_number(text);
    if (!d || *d < low || *d > high) {
        std::string range = "a number";
        auto bound = [](double v) {
            std::string s;
            append_json_number(s, v);
            return s;
        };
        if (std::isfinite(low) && low == -high) range += " within ±" + bound(high);
        else if (std::isfinite(low) && std::isfinite(high)) range += " from " + bound(low) + " to " + bound(high);
        else if (std::isfinite(low)) range += " >= " + bound(low);
        else if (std::isfinite(high)) range += " <= " + bound(high);
        throw_bad_parameter(name, "must be " + range + ", got " + shown(text));
    }
    return *d;
}

std::size_t parse_choice(std::string_view name, std::string_view text, const std::vector<std::string>& choices) {
    const auto it = std::find(choices.begin(), choices.end(), text);
    if (it == choices.end()) throw_bad_parameter(name, "must be " + spelled(choices) + ", got " + shown(text));
    return static_cast<std::size_t>(it - choices.begin());
}

Envelope parse_bbox(std::string_view name, std::string_view text) {
    std::vector<double> v;
    std::size_t start = 0;
    const std::string expected = "must be 4 comma-separated numbers minx,miny,maxx,maxy, got " + shown(text);
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find(',', start), text.size());
        const auto d = to_number(text::trim(text.substr(start, end - start)));
        if (!d) throw_bad_parameter(name, expected);
        v.push_back(*d);
        start = end + 1;
    }
    if (v.size() == 6) throw_bad_parameter(name, "3D boxes (6 numbers) are not supported; give minx,miny,maxx,maxy");
    if (v.size() != 4) throw_bad_parameter(name, expected);
    if (v[0] > v[2] || v[1] > v[3]) throw_bad_parameter(name, "minx must not exceed maxx, nor miny maxy, got " + shown(text));
    Envelope e;
    e.min_x = v[0];
    e.min_y = v[1];
    e.max_x = v[2];
    e.max_y = v[3];
    return e;
}

bool is_insee_code(std::string_view s) {
    // Five characters; Corsica's departments are 2A and 2B.
    return s.size() == 5 && digit(s[0]) && (digit(s[1]) || s[1] == 'A' || s[1] == 'B') && digit(s[2]) && digit(s[3]) &&
           digit(s[4]);
}

std::string parse_insee(std::string_view name, std::string_view text) {
    if (!is_insee_code(text)) throw_bad_parameter(name, shown(text) + " is not a commune INSEE code");
    return std::string(text);
}

std::string parse_department(std::string_view name, std::string_view text) {
    if (!is_department_code(text)) throw_bad_parameter(name, shown(text) + " is not a department code (21, 2A, 974)");
    return std::string(text);
}

std::vector<std::string> parse_list(std::string_view name, std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find(',', start), text.size());
        std::string item = text::trim(text.substr(start, end - start));
        if (!item.empty()) out.push_back(std::move(item));
        start = end + 1;
    }
    if (out.empty()) throw_bad_parameter(name, "must not be empty");
    return out;
}

long long Parameter::integer(std::string_view t) const { return parse_integer(name, t, min, max); }
double Parameter::number(std::string_view t) const { return parse_number(name, t, low, high); }
std::size_t Parameter::choice(std::string_view t) const { return parse_choice(name, t, choices()); }
Envelope Parameter::bbox(std::string_view t) const { return parse_bbox(name, t); }
std::string Parameter::insee(std::string_view t) const { return parse_insee(name, t); }
std::string Parameter::department(std::string_view t) const { return parse_department(name, t); }

std::string Parameter::rules(std::string_view t) const {
    if (t == "default") return std::string(t);
    if (!is_department_code(t)) throw_bad_parameter(name, shown(t) + " is not a department code (21, 2A, 974) nor default");
    return std::string(t);
}

std::vector<std::string> Parameter::list(std::string_view t) const {
    std::vector<std::string> out = parse_list(name, t);
    if (out.size() > static_cast<std::size_t>(max))
        throw_bad_parameter(name, "at most " + std::to_string(max) + " values, got " + std::to_string(out.size()));
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (items == ParameterKind::Insee) parse_insee(name, out[i]);
        if (unique && std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(i), out[i]) != out.begin() + static_cast<std::ptrdiff_t>(i))
            throw_bad_parameter(name, shown(out[i]) + " is given twice in " + shown(t));
    }
    return out;
}

const ingest::ServedCrs& Parameter::crs(std::string_view t) const {
    const ingest::ServedCrs* c = ingest::find_served_crs(t);
    if (!c) {
        std::string list;
        for (const auto& s : ingest::served_crs()) list += (list.empty() ? "" : ", ") + s.uri;
        throw_bad_parameter(name, shown(t) + " is not a served CRS; use one of " + list);
    }
    return *c;
}

std::string Parameter::text(std::string_view t) const {
    if (t.size() > static_cast<std::size_t>(max)) throw_bad_parameter(name, "at most " + std::to_string(max) + " characters");
    return std::string(t);
}

const std::string* Parameter::find(const QueryParams& q) const {
    const std::string* v = q.find(name);
    if (required && (!v || v->empty())) throw_bad_parameter(name, "required: " + std::string(description));
    return v;
}

long long Parameter::integer_or_default(const QueryParams& q) const {
    const std::string* v = find(q);
    return v ? integer(*v) : default_integer.value_or(min);
}

std::size_t Parameter::choice_or_default(const QueryParams& q) const {
    const std::string* v = find(q);
    return v ? choice(*v) : parse_choice(name, default_text, choices());
}

std::string Parameter::schema() const {
    std::string out;
    switch (kind) {
        case ParameterKind::Text:
            out = "{\"type\":\"string\"";
            if (max != std::numeric_limits<long long>::max()) {
                out += ",\"maxLength\":";
                append_number(out, max);
            }
            break;
        case ParameterKind::Integer:
            out = "{\"type\":\"integer\",\"minimum\":";
            append_number(out, min);
            if (max != std::numeric_limits<long long>::max()) {
                out += ",\"maximum\":";
                append_number(out, max);
            }
            if (default_integer) {
                out += ",\"default\":";
                append_number(out, *default_integer);
            }
            return out + '}';
        case ParameterKind::Number:
            out = "{\"type\":\"number\"";
            if (std::isfinite(low)) {
                out += ",\"minimum\":";
                append_json_number(out, low);
            }
            if (std::isfinite(high)) {
                out += ",\"maximum\":";
                append_json_number(out, high);
            }
            break;
        case ParameterKind::Choice:
            out = "{\"type\":\"string\",\"enum\":[";
            for (std::size_t i = 0; i < choices().size(); ++i) {
                if (i) out += ',';
                append_json_string(out, choices()[i]);
            }
            out += ']';
            break;
        case ParameterKind::List:
            out = "{\"type\":\"array\",\"items\":" + item_schema(items) + ",\"minItems\":1";
            if (max != std::numeric_limits<long long>::max()) {
                out += ",\"maxItems\":";
                append_number(out, max);
            }
            if (unique) out += ",\"uniqueItems\":true";
            return out + '}';
        case ParameterKind::Bbox: return R"({"type":"array","items":{"type":"number"},"minItems":4,"maxItems":4})";
        case ParameterKind::Insee: return item_schema(ParameterKind::Insee);
        case ParameterKind::Department: out = std::string("{\"type\":\"string\",\"pattern\":\"") + department_pattern + '"'; break;
        case ParameterKind::Rules: out = std::string("{\"type\":\"string\",\"pattern\":\"") + rules_pattern + '"'; break;
        case ParameterKind::Crs:
            out = "{\"type\":\"string\",\"format\":\"uri\",\"enum\":[";
            for (const auto& c : ingest::served_crs()) {
                if (out.back() != '[') out += ',';
                append_json_string(out, c.uri);
            }
            out += ']';
            break;
    }
    if (!default_text.empty()) {
        out += ",\"default\":";
        append_json_string(out, default_text);
    }
    return out + '}';
}

void throw_unknown_parameter(std::string_view name, std::span<const Parameter> known, std::string_view others) {
    std::string list;
    for (const auto& p : known)
        if (p.in == ParameterIn::Query) list += (list.empty() ? "" : ", ") + std::string(p.name);
    if (!others.empty()) list += (list.empty() ? "" : " or ") + std::string(others);
    throw_bad_parameter(name, "unknown parameter: accepted here: " + (list.empty() ? std::string("none") : list));
}

void reject_unknown_parameters(const QueryParams& q, std::span<const Parameter> known, std::string_view others) {
    for (const auto& entry : q.entries())
        if (std::none_of(known.begin(), known.end(),
                         [&](const Parameter& p) { return p.in == ParameterIn::Query && p.name == entry.first; }))
            throw_unknown_parameter(entry.first, known, others);
}

void append_openapi_parameter(std::string& out, std::string_view name, ParameterIn in, std::string_view description,
                              std::string_view schema, bool required, bool comma_separated) {
    out += "{\"name\":";
    append_json_string(out, name);
    out += ",\"in\":";
    out += in == ParameterIn::Path ? "\"path\"" : "\"query\"";
    out += ",\"description\":";
    append_json_string(out, description);
    out += ",\"required\":";
    out += required || in == ParameterIn::Path ? "true" : "false";
    // A query array is comma-separated (style form, not exploded); a path array always is (style simple).
    if (comma_separated && in == ParameterIn::Query) out += ",\"style\":\"form\",\"explode\":false";
    out += ",\"schema\":";
    out += schema;
    out += '}';
}

void append_openapi_parameter(std::string& out, const Parameter& p) {
    append_openapi_parameter(out, p.name, p.in, p.description, p.schema(), p.required,
                             p.kind == ParameterKind::List || p.kind == ParameterKind::Bbox);
}

std::string openapi_parameters(std::span<const Parameter> list) {
    std::string out;
    for (const auto& p : list) {
        if (!out.empty()) out += ',';
        append_openapi_parameter(out, p);
    }
    return out;
}

}  // namespace ideo::server
