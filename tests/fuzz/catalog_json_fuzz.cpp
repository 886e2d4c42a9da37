// libFuzzer target: any bytes given to the CKAN, udata and OpenDataSoft mappers are read, or refused with a
// ParseError; nothing else is thrown, nothing crashes, however deep or odd the JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ideo/catalog/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    for (auto parse : {ideo::catalog::parse_ckan, ideo::catalog::parse_udata, ideo::catalog::parse_ods}) {
        try {
            const auto r = parse(body);
            for (const auto& f : r.failures) (void)f.to_string();
        } catch (const ideo::catalog::ParseError&) {
        }
    }
    return 0;
}
