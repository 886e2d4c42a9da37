#pragma once
// Loading a serving snapshot sits above the store (which reads the layers and records) and the index and
// catalogue (which build their structures): the command line's serve, extract, coverage and arrete verbs,
// and the server's version poll, load through here.
#include <memory>

#include "ideo/core/layer.hpp"
#include "ideo/index/snapshot.hpp"
#include "ideo/store/store.hpp"

namespace ideo::cli {

// Loads every layer of the catalogue from the store and builds its indexes, and the harvested catalogue
// records unless `catalog_records` is false (a CLI verb that reads layers only).
std::shared_ptr<const index::Snapshot> load_snapshot(store::Store& store, const LayerCatalog& catalog, bool catalog_records = true);

}  // namespace ideo::cli
