#pragma once
// The serving snapshot: every published layer in memory with its indexes. Immutable once built;
// the server swaps a new one in atomically when a harvest or import publishes.
#include <atomic>
#include <functional>
#include <mutex>
#include <typeindex>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ideo/core/feature.hpp"
#include "ideo/core/layer.hpp"
#include "ideo/index/commune_index.hpp"
#include "ideo/index/rtree.hpp"

namespace ideo::catalog {
struct Catalog;
}

namespace ideo::index {

struct LayerData {
    LayerSpec spec;
    std::vector<Feature> features;  // stable order: the paging order of /items
    PackedRTree rtree;              // over located features
    std::unordered_map<std::string, std::uint32_t> by_id;
    std::unordered_map<std::string, std::vector<std::uint32_t>> by_insee;  // ascending indices
    Envelope extent;
    std::string published_at;  // last publish of this layer (ISO 8601)
};

struct Snapshot {
    std::int64_t version = 0;  // the store's publish counter when loaded: the ETag base
    std::map<std::string, LayerData, std::less<>> layers;
    std::shared_ptr<const CommuneIndex> communes;  // null when no commune layer is loaded
    std::shared_ptr<const catalog::Catalog> catalog;  // harvested records with their search index (never null once loaded)
    // Set on a view (index/view.hpp): the snapshot as one kind of caller may read it. `view` keys its ETags
    // ("" for the snapshot as stored); `challenged` names the layers left out of it whose policy answers 401.
    std::string view;
    std::vector<std::string> challenged;
    // Catalogue records left out of a view's catalogue because they describe a layer it leaves out whose
    // policy answers 401 (sorted): asked by id, they are challenged too, the others not found.
    std::vector<std::string> challenged_records;

    const LayerData* layer(std::string_view id) const;
    std::string commune_name(std::string_view insee) const;

    // Derived state built on first use and freed with the snapshot (tile renderer, caches,
    // coverage results): a new publish never serves stale derived data. Thread-safe.
    template <class T>
    std::shared_ptr<T> attachment(const std::function<std::shared_ptr<T>()>& make) const {
        std::lock_guard lock(attachments_mutex_);
        auto& slot = attachments_[std::type_index(typeid(T))];
        if (!slot) slot = make();
        return std::static_pointer_cast<T>(slot);
    }

    // The attachment if something built it already, else null (never builds: for read-only probes like /metrics).
    template <class T>
    std::shared_ptr<T> existing_attachment() const {
        std::lock_guard lock(attachments_mutex_);
        const auto it = attachments_.find(std::type_index(typeid(T)));
        return it == attachments_.end() ? nullptr : std::static_pointer_cast<T>(it->second);
    }

private:
    mutable std::mutex attachments_mutex_;
    mutable std::map<std::type_index, std::shared_ptr<void>> attachments_;
};

// One layer's features with their indexes (R-tree, by identifier, by INSEE code) and extent.
LayerData make_layer_data(LayerSpec spec, std::vector<Feature> features, std::string published_at = {});

// A property filter: field index and the text it must equal.
struct PropertyFilter {
    int field = -1;
    std::string value;
};

struct ItemQuery {
    std::optional<Envelope> bbox;  // lon/lat
    std::vector<PropertyFilter> filters;
};

// Matching feature indices in ascending order (the stable paging order).
std::vector<std::uint32_t> query(const LayerData& layer, const ItemQuery& q);

// Holds the current snapshot; readers take a shared_ptr and keep it for the whole request.
class SnapshotHolder {
public:
    std::shared_ptr<const Snapshot> get() const { return std::atomic_load(&current_); }
    void set(std::shared_ptr<const Snapshot> s) { std::atomic_store(&current_, std::move(s)); }

private:
    std::shared_ptr<const Snapshot> current_;
};

}  // namespace ideo::index
