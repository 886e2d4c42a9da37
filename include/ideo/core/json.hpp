#pragma once
// JSON with RapidJSON, read one way everywhere: iterative (the parser never recurses on the input's
// nesting) and refusing nesting deeper than a bound, so that every recursive walk of what it returns
// (Accept, a Writer, a mapper) stays within the stack; errors name the file (or what the text is) and
// the offset. Configuration files (layers, partners, rules) and partner answers go through here.
#include <rapidjson/document.h>

#include <cstddef>
#include <filesystem>
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

// The parsed document, or InputError "<where>: invalid JSON at offset N: <reason>".
rapidjson::Document parse(std::string_view text, std::string_view where);

// The whole file, or InputError "<file>: cannot read <what>" ("the catalogue rules", "the postcode list").
std::string read_file(const std::filesystem::path& file, std::string_view what);

// read_file then parse, errors naming the file.
rapidjson::Document parse_file(const std::filesystem::path& file, std::string_view what);

}  // namespace ideo::json
