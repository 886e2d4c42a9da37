// The serving snapshot read from the store: every layer with its indexes, and the harvested catalogue.
#include "ideo/cli/snapshot_loader.hpp"

#include <exception>
#include <limits>
#include <optional>
#include <thread>

#include "ideo/catalog/search.hpp"

namespace ideo::cli {

std::shared_ptr<const index::Snapshot> load_snapshot(store::Store& store, const LayerCatalog& catalog, bool catalog_records) {
    auto snapshot = std::make_shared<index::Snapshot>();
    // Read the version first: a publish landing during the load then shows up as a newer version next poll.
    snapshot->version = store.version();
    const auto publications = store.publications(std::numeric_limits<std::size_t>::max());
    // One thread per layer (each store.load reads through its own connection): as long as the largest layer, not the sum.
    std::vector<std::optional<index::LayerData>> loaded(catalog.layers.size());
    std::vector<std::exception_ptr> failures(catalog.layers.size());
    std::vector<std::thread> loaders;
    for (std::size_t i = 0; i < catalog.layers.size(); ++i)
        loaders.emplace_back([&, i] {
            try {
                const LayerSpec& spec = catalog.layers[i];
                std::string published_at;
                for (const auto& p : publications)  // newest first
                    if (p.layer == spec.id) {
                        published_at = p.published_at;
                        break;
                    }
                loaded[i] = index::make_layer_data(spec, store.load(spec), std::move(published_at));
                if (spec.id == "communes" && !loaded[i]->features.empty())  // built while the other layers load
                    snapshot->communes = std::make_shared<const index::CommuneIndex>(
                        loaded[i]->features, spec.field_index(spec.id_field), spec.field_index(spec.name_field));
            } catch (...) {
                failures[i] = std::current_exception();
            }
        });
    std::exception_ptr catalog_failure;
    try {
        // Without the original documents (most of the bytes): the record API reads its one from the store.
        snapshot->catalog = catalog_records ? ideo::catalog::build_catalog(store.load_catalog_records({}, false),
                                                                           store.catalog_original_reader())
                                            : ideo::catalog::build_catalog({});
    } catch (...) {
        catalog_failure = std::current_exception();  // rethrown once the loaders are joined
    }
    for (auto& t : loaders) t.join();
    for (std::size_t i = 0; i < catalog.layers.size(); ++i) {
        if (failures[i]) std::rethrow_exception(failures[i]);
        snapshot->layers.emplace(catalog.layers[i].id, std::move(*loaded[i]));
    }
    if (catalog_failure) std::rethrow_exception(catalog_failure);
    return snapshot;
}

}  // namespace ideo::cli
