#pragma once
// JSON documents read from files and texts with RapidJSON, errors naming the file (or what the text is)
// and the offset. Configuration files (layers, partners, rules) and partner answers go through here.
#include <rapidjson/document.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace ideo::json {

// The whole file, or InputError "<file>: cannot read <what>" ("the catalogue rules", "the postcode list").
std::string read_file(const std::filesystem::path& file, std::string_view what);

// The parsed document, or InputError "<where>: invalid JSON at offset N: <reason>".
rapidjson::Document parse(std::string_view text, std::string_view where);

// read_file then parse, errors naming the file.
rapidjson::Document parse_file(const std::filesystem::path& file, std::string_view what);

}  // namespace ideo::json
