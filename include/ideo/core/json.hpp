#pragma once
// RapidJSON reading of JSON a partner sent: iterative (the parser never recurses on the input's
// nesting) and refusing nesting deeper than a bound, so that every recursive walk of what it
// returns (Accept, a Writer, a mapper) stays within the stack.
#include <rapidjson/document.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ideo::json {

// Deeper than any catalogue record, JSON-LD node or GeoJSON geometry; shallow enough to recurse on.
inline constexpr unsigned kMaxDepth = 128;

struct ParseFailure {
    std::size_t offset = 0;  // byte offset in the text
    std::string message;     // RapidJSON's message, or "nested deeper than 128 levels"
};

// Parses `text` into `doc` (left null on failure); nullopt when it parsed.
std::optional<ParseFailure> parse(rapidjson::Document& doc, std::string_view text, unsigned max_depth = kMaxDepth);

}  // namespace ideo::json
