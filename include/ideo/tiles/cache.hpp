#pragma once
// A byte-bounded LRU cache of encoded tiles, one per published snapshot (so a new harvest never
// serves stale tiles). Each entry keeps the tile and its gzip, compressed once.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ideo::tiles {

struct CachedTile {
    std::string mvt;   // empty for a tile with no feature
    std::string gzip;  // the same, gzip-compressed once a client asked for it (empty until then)
};

// Lookups by result, shared by the caches of one kind (tile caches come and go with snapshots).
struct CacheCounters {
    std::atomic<std::uint64_t> hits{0}, misses{0};
};

class TileCache {
public:
    explicit TileCache(std::size_t max_bytes, CacheCounters* counters = nullptr) : max_bytes_(max_bytes), counters_(counters) {}

    std::shared_ptr<const CachedTile> find(const std::string& key);
    void insert(const std::string& key, std::shared_ptr<const CachedTile> tile);
    // The entry of `key`, made by `make` on a miss and gzip-compressed once the first client that
    // accepts gzip asks (`gzip` true); two racing misses both make it, the later insert wins.
    std::shared_ptr<const CachedTile> get_or_make(const std::string& key, bool gzip,
                                                  const std::function<std::string()>& make);
    std::size_t bytes() const;
    std::size_t size() const;

private:
    using Lru = std::list<std::pair<std::string, std::shared_ptr<const CachedTile>>>;
    mutable std::mutex mutex_;
    Lru lru_;  // most recent first
    std::unordered_map<std::string, Lru::iterator> index_;
    std::size_t bytes_ = 0, max_bytes_;
    CacheCounters* counters_;
};

}  // namespace ideo::tiles
