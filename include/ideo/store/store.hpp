#pragma once
// The store: the only module that knows GeoPackage (and, later, PostGIS).
// Layout of the embedded GeoPackage (var/ideo.gpkg), which QGIS opens as is:
//   one table per layer (the layer's fields + ideo_source, ideo_source_id, ideo_harvested_at, ideo_flags),
//   {layer}_quarantine (rejected records verbatim, with the reason),
//   ideo_publications (one row per publish: version, layer, source, time, counts, report JSON).
// A publish replaces one source's records of one layer inside a single SQLite transaction:
// an import that fails or is killed half-way leaves the published version intact.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ideo/core/feature.hpp"
#include "ideo/core/layer.hpp"
#include "ideo/core/report.hpp"

namespace ideo::store {

struct PublishOptions {
    // Test hook for "killed mid-way": after writing this many features, throw (or abort() the
    // process when abort_instead is set). -1 = never. The CLI sets it from IDEO_FAULT_WRITER_AFTER.
    std::int64_t fail_after = -1;
    bool abort_instead = false;
};

struct Publication {
    std::int64_t version = 0;
    std::string layer, source, published_at;
    std::size_t count = 0;
};

class Store {
public:
    virtual ~Store() = default;

    // Replaces the records of `source` in `layer` with `features`, and its quarantine, atomically.
    // Returns the new store version.
    virtual Publication publish(const LayerSpec& layer, const std::string& source, const std::vector<Feature>& features,
                                const std::vector<Quarantined>& quarantine, const Report& report,
                                const PublishOptions& options = {}) = 0;

    // Every published feature of the layer, ordered by identifier (empty when never published).
    virtual std::vector<Feature> load(const LayerSpec& layer) = 0;

    // Identifiers of the layer already published by sources other than `source`.
    virtual std::vector<std::string> ids_from_other_sources(const LayerSpec& layer, const std::string& source) = 0;

    // The publish counter: changes with every successful publish; cheap enough to poll.
    virtual std::int64_t version() = 0;

    // The last publications, newest first.
    virtual std::vector<Publication> publications(std::size_t limit = 50) = 0;
};

// "var/ideo.gpkg" (created with its folder when absent) or "PG:dbname=..." (not available yet: throws).
std::unique_ptr<Store> open_store(const std::string& uri);

}  // namespace ideo::store
