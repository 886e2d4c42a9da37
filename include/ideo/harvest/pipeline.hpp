#pragma once
// The one import pipeline that `ideo import`, `ideo check` and `ideo harvest` share:
// ingest a partner file into a layer, check identifiers against the other sources, publish.
#include <memory>
#include <optional>
#include <string>

#include "ideo/core/layer.hpp"
#include "ideo/core/report.hpp"
#include "ideo/index/commune_index.hpp"
#include "ideo/store/store.hpp"

namespace ideo::harvest {

// The commune polygons that attribute INSEE codes: from the store when published there,
// otherwise read from the communes layer's own sources (so `check` works on a fresh machine).
std::shared_ptr<const index::CommuneIndex> load_communes(const LayerCatalog& catalog, store::Store* store);

// The source of `layer` whose url is `file_or_url`, or an ad hoc one named after the file.
SourceSpec source_for(const LayerSpec& layer, const std::string& file_or_url);

struct ImportResult {
    Report report;
    std::optional<store::Publication> publication;  // empty for a check (dry run)
};

// Ingests `path` as `source` of `layer`; publishes into `store` unless it is null (a check).
// Identifiers already published by another source of the layer are rejected (id_conflict).
ImportResult import_file(const LayerSpec& layer, const SourceSpec& source, const std::string& path,
                         const index::CommuneIndex* communes, store::Store* store,
                         const store::PublishOptions& options = {});

}  // namespace ideo::harvest
