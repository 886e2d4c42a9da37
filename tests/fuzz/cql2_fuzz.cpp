// libFuzzer target: any bytes given to the CQL2 text parser parse, or fail with a ParseError
// whose position lies inside the text; evaluation of what parses never crashes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ideo/core/layer.hpp"
#include "ideo/index/cql2.hpp"

namespace {

// The real PEI schema file, read once (IDEO_LAYERS_DIR is set by tests/fuzz/CMakeLists.txt).
const ideo::LayerSpec& layer() {
    static const ideo::LayerCatalog catalog = ideo::load_layers(IDEO_LAYERS_DIR);
    return catalog.get("pei");
}

ideo::Feature feature(const ideo::LayerSpec& spec) {
    ideo::Feature f;
    f.id = "PEI-1";
    f.values.resize(spec.fields.size());
    for (std::size_t i = 0; i < spec.fields.size(); ++i) {
        switch (spec.fields[i].type) {
            case ideo::FieldType::Integer:
            case ideo::FieldType::Boolean: f.values[i] = std::int64_t{1}; break;
            case ideo::FieldType::Number: f.values[i] = 62.5; break;
            case ideo::FieldType::Date: f.values[i] = std::string("2024-05-17"); break;
            case ideo::FieldType::String: if (i % 2) f.values[i] = std::string("Rue des Écoles"); break;
        }
    }
    f.geometry = ideo::Geometry::point(6.86, 47.64);
    return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const ideo::Feature f = feature(layer());
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto e = ideo::index::cql2::parse(text, layer());
        ideo::index::cql2::matches(*e, layer(), f);
        ideo::index::cql2::spatial_bounds(*e);
    } catch (const ideo::index::cql2::ParseError& e) {
        if (e.position() < 1 || e.position() > std::max<std::size_t>(size + 1, ideo::index::cql2::max_length)) __builtin_trap();
    }
    return 0;
}
