#include "ideo/tiles/cache.hpp"

#include "ideo/core/gzip.hpp"

namespace ideo::tiles {
namespace {

std::size_t cost(const std::string& key, const CachedTile& t) { return key.size() + t.mvt.size() + t.gzip.size() + 64; }

}  // namespace

std::shared_ptr<const CachedTile> TileCache::find(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) {
        if (counters_) counters_->misses.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
    }
    if (counters_) counters_->hits.fetch_add(1, std::memory_order_relaxed);
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
}

void TileCache::insert(const std::string& key, std::shared_ptr<const CachedTile> tile) {
    const std::size_t c = cost(key, *tile);
    if (c > max_bytes_) return;
    std::lock_guard lock(mutex_);
    if (auto it = index_.find(key); it != index_.end()) {
        bytes_ -= cost(key, *it->second->second);
        lru_.erase(it->second);
        index_.erase(it);
    }
    lru_.emplace_front(key, std::move(tile));
    index_[key] = lru_.begin();
    bytes_ += c;
    while (bytes_ > max_bytes_ && !lru_.empty()) {
        auto& last = lru_.back();
        bytes_ -= cost(last.first, *last.second);
        index_.erase(last.first);
        lru_.pop_back();
    }
}

std::shared_ptr<const CachedTile> TileCache::get_or_make(const std::string& key, bool gzip,
                                                         const std::function<std::string()>& make) {
    auto cached = find(key);
    if (cached && !(gzip && !cached->mvt.empty() && cached->gzip.empty())) return cached;
    auto entry = std::make_shared<CachedTile>();
    entry->mvt = cached ? cached->mvt : make();
    if (gzip && !entry->mvt.empty()) entry->gzip = gzip_compress(entry->mvt, 6);
    insert(key, entry);
    return entry;
}

std::size_t TileCache::bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

std::size_t TileCache::size() const {
    std::lock_guard lock(mutex_);
    return lru_.size();
}

}  // namespace ideo::tiles
