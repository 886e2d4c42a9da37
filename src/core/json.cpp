#include "ideo/core/json.hpp"

#include <rapidjson/error/en.h>

#include <fstream>
#include <sstream>

#include "ideo/core/error.hpp"

namespace ideo::json {

std::string read_file(const std::filesystem::path& file, std::string_view what) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw InputError(file.string() + ": cannot read " + std::string(what));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

rapidjson::Document parse(std::string_view text, std::string_view where) {
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    if (d.HasParseError())
        throw InputError(std::string(where) + ": invalid JSON at offset " + std::to_string(d.GetErrorOffset()) + ": " +
                         rapidjson::GetParseError_En(d.GetParseError()));
    return d;
}

rapidjson::Document parse_file(const std::filesystem::path& file, std::string_view what) {
    return parse(read_file(file, what), file.string());
}

}  // namespace ideo::json
