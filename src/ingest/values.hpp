#pragma once
// Partner values to schema values: numbers with '.' or ',' decimals, French and ISO dates,
// Oui/Non booleans, code lists with synonyms, minimum/maximum.
#include <optional>
#include <string>
#include <string_view>

#include "ideo/core/layer.hpp"
#include "ideo/core/value.hpp"

namespace ideo::ingest {

// "12,5", "12.5", "1 234,5" -> 12.5...; nullopt when not a finite number.
std::optional<double> parse_number(std::string_view text);

// "31/12/2024", "2024-12-31", "2024/12/31", "31-12-2024", with an optional time after -> "2024-12-31";
// nullopt when not a date or an impossible one (31/02/2024).
std::optional<std::string> parse_date(std::string_view text);

enum class Check { Ok, Repaired, Invalid };

struct FieldValue {
    Value value;               // null when invalid
    Check check = Check::Ok;
    std::string reason;        // for Repaired and Invalid: "code_synonym: type_pei POTEAU -> PI"
};

// One partner cell (trimmed, non-empty) read as the field's type and checked against its rules.
FieldValue parse_value(const FieldSpec& field, std::string_view text);

}  // namespace ideo::ingest
