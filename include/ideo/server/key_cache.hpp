#pragma once
// The API keys a server has verified lately, so a client sending its key with every tile costs one store
// lookup per key and TTL, not one per request. A revoked key is refused within the TTL (`ideo serve` uses
// its poll interval). Last uses are gathered here and written by the caller at most once a minute per key.
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ideo/core/access.hpp"

namespace ideo::server {

// What the store knows of a key: the identity it grants, and whether it still may.
struct KnownKey {
    access::Identity identity;  // its subject is the key's id
    std::string expires;        // "YYYY-MM-DD" (valid through that day, UTC); empty = never
    bool revoked = false;
};

class KeyCache {
public:
    // `lookup`: the key with this SHA-256 (hex), or nullopt when there is none.
    using Lookup = std::function<std::optional<KnownKey>(const std::string& key_hash)>;
    explicit KeyCache(Lookup lookup, std::chrono::seconds ttl = std::chrono::seconds(2), std::size_t capacity = 4096);

    // The identity of `key`, or why not ("unknown key", "key revoked", "key expired"); never echoes the key.
    access::Authentication authenticate(std::string_view key);
    // Keys used since their use was last taken, and not taken for `every`: (key id, ISO 8601 time of the
    // last use), to record in the store.
    std::vector<std::pair<std::string, std::string>> take_uses(std::chrono::seconds every = std::chrono::seconds(60));

private:
    struct Entry {
        KnownKey key;
        std::chrono::steady_clock::time_point fetched;
    };
    struct Use {
        std::chrono::system_clock::time_point last;
        std::optional<std::chrono::steady_clock::time_point> taken;
        bool pending = false;
    };
    Lookup lookup_;
    std::chrono::seconds ttl_;
    std::size_t capacity_;
    std::mutex mutex_;
    std::map<std::string, Entry> entries_;  // by key hash
    std::map<std::string, Use> uses_;       // by key id
};

}  // namespace ideo::server
