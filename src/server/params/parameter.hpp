#pragma once
// One query or path parameter, defined once: the parser that reads it (a bad value is a 400 naming
// it) and the JSON Schema the OpenAPI document shows for it are both read from the same definition,
// so a documented bound is the checked bound.
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../http.hpp"
#include "ideo/core/geometry.hpp"

namespace ideo::ingest {
struct ServedCrs;
}

namespace ideo::server {

enum class ParameterKind {
    Text,        // any text, at most `max` characters
    Integer,     // a whole number from `min` to `max`
    Number,      // a finite number from `low` to `high`
    Choice,      // one of `choices()`
    List,        // comma-separated values of kind `items`, at most `max` of them
    Bbox,        // minx,miny,maxx,maxy
    Insee,       // a commune INSEE code (90010, 2A004)
    Department,  // a department code (90, 2A, 974)
    Rules,       // a department code or "default": whose DECI rules apply
    Crs,         // a CRS served by the features API (its URI, or EPSG:xxxx)
};
enum class ParameterIn { Query, Path };

struct Parameter {
    std::string_view name = {};
    std::string_view description = {};
    ParameterKind kind = ParameterKind::Text;
    ParameterIn in = ParameterIn::Query;
    bool required = false;
    long long min = 0;                                      // Integer
    long long max = std::numeric_limits<long long>::max();  // Integer; Text: longest value; List: most values
    double low = -std::numeric_limits<double>::infinity();  // Number
    double high = std::numeric_limits<double>::infinity();
    const std::vector<std::string>& (*choices)() = nullptr;  // Choice
    ParameterKind items = ParameterKind::Text;               // List: Text or Insee
    bool unique = false;                                     // List: a value given twice is a 400
    std::optional<long long> default_integer = {};  // Integer: when absent
    std::string_view default_text = {};            // Choice, Text: when absent ("" = none)

    // Readers of a value given for this parameter: each throws a 400 naming it.
    long long integer(std::string_view text) const;
    double number(std::string_view text) const;
    std::size_t choice(std::string_view text) const;  // its index in choices()
    std::vector<std::string> list(std::string_view text) const;
    Envelope bbox(std::string_view text) const;
    std::string insee(std::string_view text) const;
    std::string department(std::string_view text) const;
    std::string rules(std::string_view text) const;
    const ingest::ServedCrs& crs(std::string_view text) const;
    std::string text(std::string_view text) const;

    // The value in `q`, null when absent; a 400 when it is required and absent or empty.
    const std::string* find(const QueryParams& q) const;
    // The Integer in `q`, or its default.
    long long integer_or_default(const QueryParams& q) const;
    // The Choice in `q`, or its default's index.
    std::size_t choice_or_default(const QueryParams& q) const;
    // This parameter's JSON Schema, as OpenAPI shows it.
    std::string schema() const;
};

// The primitive readers, also for values that are not a whole parameter (a tile number in a path).
long long parse_integer(std::string_view name, std::string_view text, long long min, long long max);
double parse_number(std::string_view name, std::string_view text, double low, double high);
std::size_t parse_choice(std::string_view name, std::string_view text, const std::vector<std::string>& choices);
Envelope parse_bbox(std::string_view name, std::string_view text);
std::string parse_insee(std::string_view name, std::string_view text);
std::string parse_department(std::string_view name, std::string_view text);
// Comma-separated values, trimmed, empty ones skipped; a 400 when there is none.
std::vector<std::string> parse_list(std::string_view name, std::string_view text);
// Whether `text` is a commune INSEE code.
bool is_insee_code(std::string_view text);
// Strict numbers: the whole text must be the value.
std::optional<long long> to_integer(std::string_view s);
std::optional<double> to_number(std::string_view s);

// A 400 naming the first query parameter that is none of `known`'s query parameters; `others`
// follows them in the message ("a field of the layer").
void reject_unknown_parameters(const QueryParams& q, std::span<const Parameter> known, std::string_view others = {});
[[noreturn]] void throw_unknown_parameter(std::string_view name, std::span<const Parameter> known, std::string_view others = {});

// A value as an error quotes it ("'abc'", cut at 80 characters).
std::string shown(std::string_view text);

// OpenAPI parameter objects.
void append_openapi_parameter(std::string& out, std::string_view name, ParameterIn in, std::string_view description,
                              std::string_view schema, bool required = false, bool comma_separated = false);
void append_openapi_parameter(std::string& out, const Parameter& p);
// The parameter objects of `list`, comma-separated.
std::string openapi_parameters(std::span<const Parameter> list);

}  // namespace ideo::server
