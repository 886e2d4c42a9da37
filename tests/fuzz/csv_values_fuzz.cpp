// libFuzzer target: one partner CSV cell through the ingest value parsers. Encodings: text that is not
// UTF-8 is read as Windows-1252, and comes out UTF-8. Then every field of the real PEI, ERP and ICPE
// schemas reads it: numbers with a decimal comma come out finite, dates as a real YYYY-MM-DD day, and a
// column title's CRS hint is an EPSG code.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ideo/index/crs.hpp"
#include "ideo/core/layer.hpp"
#include "ideo/core/text.hpp"
#include "values.hpp"

namespace {

const ideo::LayerCatalog& layers() {
    static const ideo::LayerCatalog catalog = ideo::load_layers(IDEO_LAYERS_DIR);
    return catalog;
}

bool is_day(const std::string& d) {
    if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
    const int y = std::stoi(d.substr(0, 4)), m = std::stoi(d.substr(5, 2)), day = std::stoi(d.substr(8, 2));
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return y >= 1000 && m >= 1 && m <= 12 && day >= 1 && day <= days[m - 1];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string cell(reinterpret_cast<const char*>(data), size);
    if (!ideo::text::is_utf8(cell)) {
        cell = ideo::text::cp1252_to_utf8(cell);
        if (!ideo::text::is_utf8(cell)) __builtin_trap();
    }
    (void)ideo::text::fold_key(cell);
    if (const auto hint = ideo::crs::hint_from_title(cell); hint && hint->rfind("EPSG:", 0) != 0)
        __builtin_trap();
    if (const auto n = ideo::ingest::parse_number(cell); n && !std::isfinite(*n)) __builtin_trap();
    if (const auto d = ideo::ingest::parse_date(cell); d && !is_day(*d)) __builtin_trap();
    const std::string trimmed = ideo::text::trim(cell);
    if (trimmed.empty()) return 0;
    for (const char* layer : {"pei", "erp", "icpe"})
        for (const auto& field : layers().get(layer).fields) {
            const auto v = ideo::ingest::parse_value(field, trimmed);
            if (v.check == ideo::ingest::Check::Invalid && v.reason.empty()) __builtin_trap();
        }
    return 0;
}
