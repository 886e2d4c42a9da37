#pragma once
// Mapbox Vector Tile 2.1 encoding, the vtzero way: a LayerBuilder writes its layer straight into the
// tile's buffer, each feature in place after the previous one (its size worked out first, so neither
// the feature nor the layer is ever copied), and deduplicates keys and values, written after the features.
#include <cstdint>
#include <span>
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

// One layer of a tile, appended to `tile` (a Tile message: several builders may write one after the other,
// never two at once). Nothing else may touch `tile` until finish() or the destructor.
class LayerBuilder {
public:
    LayerBuilder(std::string& tile, std::string_view name, std::uint32_t extent);
    ~LayerBuilder();  // unfinished (an exception on the way): the tile is left as it was before the layer
    LayerBuilder(const LayerBuilder&) = delete;
    LayerBuilder& operator=(const LayerBuilder&) = delete;

    // One property of the next feature; null values are skipped (MVT has no null).
    void add_property(std::string_view key, const Value& value) { add_property(key_index(key), value); }
    // The same with a key resolved once by key_index(): the hot loop hashes no key.
    void add_property(std::uint32_t key, const Value& value);
    void add_property(std::uint32_t key, std::string_view text);  // a string value, not copied into a Value
    // Values interned by the caller, as ids in a dictionary of encoded Value messages (encode_value) that outlives
    // the builder: for each column, the value row[position] under its key, none for kNoValue. Deduplicated by id,
    // so the hot loop hashes no value bytes either.
    static constexpr std::uint32_t kNoValue = UINT32_MAX;
    class InternedColumns {
    public:
        void add(std::uint32_t key, std::uint32_t position);  // key from key_index()
    private:
        friend class LayerBuilder;
        std::vector<std::uint32_t> keys_, positions_;
    };
    void add_interned(const InternedColumns& columns, const std::uint32_t* row, std::span<const std::string> dictionary);
    // Counts and shares (clusters): the same values as add_property(Value{n}) and add_property(Value{m / 1000.0}),
    // looked up by number once this layer has written them.
    void add_count(std::uint32_t key, std::uint64_t n);
    void add_thousandths(std::uint32_t key, std::uint32_t m);
    std::uint32_t key_index(std::string_view key);

    void add_point(std::uint64_t id, TilePoint p);
    void add_linestring(std::uint64_t id, const TileRing& line) { add_multilinestring(id, std::span(&line, 1)); }
    void add_multilinestring(std::uint64_t id, std::span<const TileRing> parts);
    // Rings must already be oriented: exterior clockwise in tile coordinates (y down), holes counter-clockwise.
    void add_polygon(std::uint64_t id, std::span<const TileRing> rings);

    bool empty() const { return features_ == 0; }
    std::size_t size() const { return features_; }
    // Room for `bytes` more bytes of this layer, so that the tile's buffer does not grow (and move) on the way.
    void reserve(std::size_t bytes);
    // Writes the keys, values and extent and closes the layer; a layer without features is taken out again.
    // Returns the bytes the layer takes in the tile (0 for none).
    std::size_t finish();

private:
    // n more bytes at the end of the layer, written by the caller.
    char* grow(std::size_t n) {
        if (tile_.size() < end_ + n) [[unlikely]]
            make_room(n);
        char* p = tile_.data() + end_;
        end_ += n;
        return p;
    }
    void make_room(std::size_t n);
    char* tags_room(std::size_t tags);  // where the next `tags` tags of the feature go
    void add_tag(std::uint32_t key, std::uint32_t value);
    template <class Geometry>
    void write_feature(std::uint64_t id, int geom_type, std::size_t geometry_bytes, const Geometry& geometry);
    std::uint32_t value_index(const Value& v);
    std::uint32_t encoded_index();  // of the Value message in scratch_

    std::string& tile_;
    std::size_t start_;  // where this layer's Tile.layers field begins in tile_
    std::size_t end_;    // the end of what is written; tile_ may hold spare bytes after it
    bool finished_ = false;
    std::uint32_t extent_;
    std::vector<std::string> keys_;
    StringIndex key_ids_;
    std::vector<std::string_view> values_;  // encoded Value messages: keys of value_ids_ or interned ones
    StringIndex value_ids_;
    std::vector<std::uint32_t> count_ids_, thousandth_ids_;  // add_count / add_thousandths lookups, by number
    std::uint32_t generation_;  // this builder's stamp in the thread's interned-value slots
    std::string scratch_;       // the value being encoded, reused
    std::string tags_;          // the packed tags of the feature being built (tags_bytes_ of them), reused
    std::size_t tags_bytes_ = 0;
    std::size_t features_ = 0;
};

// The encoded MVT Value message of a non-null value (what LayerBuilder writes in the layer's values).
std::string encode_value(const Value& v);

// Signed area (shoelace) of a ring in tile coordinates; positive = clockwise on screen (y down).
double ring_area(const TileRing& r);

}  // namespace ideo::tiles
