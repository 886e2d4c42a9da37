#pragma once
// A typed attribute value, as the layer schema declares it.
#include <cstdint>
#include <string>
#include <variant>

namespace ideo {

// null, integer (also booleans as 0/1), number, text (also dates as ISO "YYYY-MM-DD").
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

inline bool is_null(const Value& v) { return std::holds_alternative<std::monostate>(v); }

// The value as text, the way a CSV cell or a query parameter would spell it ("" for null).
std::string to_text(const Value& v);

// Equality with a query parameter's text, by the value's own type (21231 == "21231", 60.0 == "60").
bool equals_text(const Value& v, std::string_view text);

}  // namespace ideo
