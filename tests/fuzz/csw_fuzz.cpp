// libFuzzer target: any bytes given to the CSW reader (ISO 19139, Dublin Core, GeoNetwork's DCAT records)
// are read, or refused with a ParseError; entities never expand past the reader's bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ideo/catalog/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto r = ideo::catalog::parse_csw(std::string_view(reinterpret_cast<const char*>(data), size));
        for (const auto& f : r.failures) (void)f.to_string();
    } catch (const ideo::catalog::ParseError&) {
    }
    return 0;
}
