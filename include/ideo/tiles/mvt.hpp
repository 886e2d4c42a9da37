#pragma once
// Mapbox Vector Tile 2.1 encoding on protozero: a tile_builder holds layers, a layer_builder
// deduplicates keys and values and writes features with zigzag-delta geometry commands.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ideo/core/value.hpp"

namespace ideo::tiles {

struct TilePoint {
    std::int32_t x, y;
};
using TileRing = std::vector<TilePoint>;

// Hash of std::string found by std::string_view: lookups in the hot loop allocate nothing.
struct TransparentHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using StringIndex = std::unordered_map<std::string, std::uint32_t, TransparentHash, std::equal_to<>>;

class LayerBuilder {
public:
    LayerBuilder(std::string name, std::uint32_t extent);

    // One property of the next feature; null values are skipped (MVT has no null).
    void add_property(std::string_view key, const Value& value) { add_property(key_index(key), value); }
    // The same with a key resolved once by key_index(): the hot loop hashes no key.
    void add_property(std::uint32_t key, const Value& value);
    // A value interned by the caller: `value_id` in a dictionary of encoded Value messages (encode_value) that
    // outlives the builder. Deduplicated by id, so the hot loop hashes no value bytes either.
    void add_interned(std::uint32_t key, std::uint32_t value_id, std::string_view encoded);
    std::uint32_t key_index(std::string_view key);
    void add_point(std::uint64_t id, TilePoint p);
    void add_linestring(std::uint64_t id, const std::vector<TilePoint>& line) { add_multilinestring(id, {line}); }
    void add_multilinestring(std::uint64_t id, const std::vector<std::vector<TilePoint>>& parts);
    // Rings must already be oriented: exterior clockwise in tile coordinates (y down), holes counter-clockwise.
    void add_polygon(std::uint64_t id, const std::vector<TileRing>& rings);

    bool empty() const { return features_ == 0; }
    std::size_t size() const { return features_; }
    std::string finish() const;  // the encoded Layer message

private:
    void write_feature(std::uint64_t id, int geom_type, const std::uint32_t* geometry, std::size_t size);
    std::uint32_t value_index(const Value& v);

    std::string name_;
    std::uint32_t extent_;
    std::vector<std::string> keys_;
    StringIndex key_ids_;
    std::vector<std::string_view> values_;  // encoded Value messages: keys of value_ids_ or interned ones
    StringIndex value_ids_;
    std::uint32_t generation_;  // this builder's stamp in the thread's interned-value slots
    std::string scratch_;      // the value being encoded, reused
    std::string feature_buf_;  // the feature being written, reused
    std::vector<std::uint32_t> tags_;  // tags of the feature being built
    std::string features_buf_;
    std::size_t features_ = 0;
};

// The encoded MVT Value message of a non-null value (what LayerBuilder writes in the layer's values).
std::string encode_value(const Value& v);

// Signed area (shoelace) of a ring in tile coordinates; positive = clockwise on screen (y down).
double ring_area(const TileRing& r);

}  // namespace ideo::tiles
