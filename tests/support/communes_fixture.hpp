#pragma once
// Commune polygons for tests: sources of layers/communes.json ingested like any partner file, and
// the CommuneIndex built over them. Load once per suite (SetUpTestSuite): it takes a second or two.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ideo/core/layer.hpp"
#include "ideo/index/commune_index.hpp"
#include "ideo/ingest/ingest.hpp"
#include "test_support.hpp"

namespace ideo::test {

struct Communes {
    LayerCatalog catalog;
    std::vector<Feature> features;
    std::unique_ptr<index::CommuneIndex> index;
};

// keys: department numbers ("21" -> source admin-express-21) or zone codes ("13210" -> source zone-13210).
inline std::unique_ptr<Communes> load_communes(const std::vector<std::string>& keys) {
    auto c = std::make_unique<Communes>();
    c->catalog = load_layers(layers_dir());
    const LayerSpec& layer = c->catalog.get("communes");
    for (const auto& k : keys) {
        const SourceSpec* s = layer.find_source(k.size() == 2 ? "admin-express-" + k : "zone-" + k);
        if (!s) throw std::runtime_error("layers/communes.json has no source for " + k);
        auto r = ingest::ingest_file(layer, *s, s->url, nullptr);
        for (auto& f : r.features) c->features.push_back(std::move(f));
    }
    c->index = std::make_unique<index::CommuneIndex>(c->features, layer.field_index("code"), layer.field_index("nom"));
    return c;
}

}  // namespace ideo::test
