#include "ideo/tiles/mvt.hpp"

#include <algorithm>

#include <protozero/pbf_writer.hpp>

namespace ideo::tiles {
namespace {

// vector_tile.proto field numbers.
enum : protozero::pbf_tag_type {
    kLayerName = 1, kLayerFeatures = 2, kLayerKeys = 3, kLayerValues = 4, kLayerExtent = 5, kLayerVersion = 15,
    kFeatureId = 1, kFeatureTags = 2, kFeatureType = 3, kFeatureGeometry = 4,
    kValueString = 1, kValueDouble = 3, kValueInt = 4, kValueSint = 6,
};
enum : int { kPoint = 1, kLineString = 2, kPolygon = 3 };
enum : std::uint32_t { kMoveTo = 1, kLineTo = 2, kClosePath = 7 };

constexpr std::uint32_t command(std::uint32_t id, std::uint32_t count) { return (id & 0x7) | (count << 3); }
constexpr std::uint32_t zigzag(std::int32_t v) {
    return (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
}

// Appends MoveTo/LineTo commands for a run of points, the cursor carried across parts as the spec asks.
void encode_run(std::vector<std::uint32_t>& g, const std::vector<TilePoint>& pts, std::size_t count, TilePoint& cursor) {
    g.push_back(command(kMoveTo, 1));
    g.push_back(zigzag(pts[0].x - cursor.x));
    g.push_back(zigzag(pts[0].y - cursor.y));
    cursor = pts[0];
    if (count < 2) return;
    g.push_back(command(kLineTo, static_cast<std::uint32_t>(count - 1)));
    for (std::size_t i = 1; i < count; ++i) {
        g.push_back(zigzag(pts[i].x - cursor.x));
        g.push_back(zigzag(pts[i].y - cursor.y));
        cursor = pts[i];
    }
}

}  // namespace

double ring_area(const TileRing& r) {
    double a = 0;
    for (std::size_t i = 0, n = r.size(); i < n; ++i) {
        const auto& p = r[i];
        const auto& q = r[(i + 1) % n];
        a += static_cast<double>(p.x) * q.y - static_cast<double>(q.x) * p.y;
    }
    return a / 2;
}

namespace {

// Per thread, for each interned value id: (builder generation << 32) | index in that builder's values. A new
// builder takes a new generation, so nothing is cleared between tiles; a builder whose generation was
// overtaken (two alive at once on a thread) only writes a value twice.
struct InternedSlots {
    std::vector<std::uint64_t> slots;
    std::uint32_t generation = 0;
};
thread_local InternedSlots interned_slots;

std::uint32_t next_generation() {
    auto& s = interned_slots;
    if (++s.generation == 0) {  // wrapped: stale stamps could match again
        std::fill(s.slots.begin(), s.slots.end(), 0);
        s.generation = 1;
    }
    return s.generation;
}

void write_value(std::string& out, const Value& v) {
    protozero::pbf_writer w(out);
    switch (v.index()) {
        case 1: {
            const auto n = std::get<std::int64_t>(v);
            if (n < 0) w.add_sint64(kValueSint, n);
            else w.add_int64(kValueInt, n);
            break;
        }
        case 2: w.add_double(kValueDouble, std::get<double>(v)); break;
        default: w.add_string(kValueString, std::get<std::string>(v)); break;
    }
}

}  // namespace

std::string encode_value(const Value& v) {
    std::string out;
    write_value(out, v);
    return out;
}

LayerBuilder::LayerBuilder(std::string name, std::uint32_t extent)
    : name_(std::move(name)), extent_(extent), generation_(next_generation()) {}

std::uint32_t LayerBuilder::key_index(std::string_view key) {
    if (auto it = key_ids_.find(key); it != key_ids_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(keys_.size());
    key_ids_.emplace(std::string(key), id);
    keys_.emplace_back(key);
    return id;
}

std::uint32_t LayerBuilder::value_index(const Value& v) {
    scratch_.clear();
    write_value(scratch_, v);
    if (auto it = value_ids_.find(std::string_view(scratch_)); it != value_ids_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(values_.size());
    values_.emplace_back(value_ids_.emplace(scratch_, id).first->first);  // node keys do not move
    return id;
}

void LayerBuilder::add_interned(std::uint32_t key, std::uint32_t value_id, std::string_view encoded) {
    auto& slots = interned_slots.slots;
    if (value_id >= slots.size()) slots.resize(std::max<std::size_t>(value_id + 1, slots.size() * 2), 0);
    std::uint64_t& slot = slots[value_id];
    std::uint32_t index;
    if (slot >> 32 == generation_) {
        index = static_cast<std::uint32_t>(slot);
    } else {
        index = static_cast<std::uint32_t>(values_.size());
        values_.push_back(encoded);
        slot = (static_cast<std::uint64_t>(generation_) << 32) | index;
    }
    tags_.push_back(key);
    tags_.push_back(index);
}

void LayerBuilder::add_property(std::uint32_t key, const Value& value) {
    if (is_null(value)) return;
    tags_.push_back(key);
    tags_.push_back(value_index(value));
}

void LayerBuilder::write_feature(std::uint64_t id, int geom_type, const std::uint32_t* geometry, std::size_t size) {
    feature_buf_.clear();
    {
        protozero::pbf_writer f(feature_buf_);
        f.add_uint64(kFeatureId, id);
        if (!tags_.empty()) f.add_packed_uint32(kFeatureTags, tags_.begin(), tags_.end());
        f.add_enum(kFeatureType, geom_type);
        f.add_packed_uint32(kFeatureGeometry, geometry, geometry + size);
    }
    protozero::pbf_writer layer(features_buf_);
    layer.add_message(kLayerFeatures, feature_buf_);
    tags_.clear();
    ++features_;
}

void LayerBuilder::add_point(std::uint64_t id, TilePoint p) {
    const std::uint32_t g[3] = {command(kMoveTo, 1), zigzag(p.x), zigzag(p.y)};
    write_feature(id, kPoint, g, 3);
}

void LayerBuilder::add_multilinestring(std::uint64_t id, const std::vector<std::vector<TilePoint>>& parts) {
    std::vector<std::uint32_t> g;
    TilePoint cursor{0, 0};
    for (const auto& line : parts)
        if (line.size() >= 2) encode_run(g, line, line.size(), cursor);
    if (g.empty()) {
        tags_.clear();
        return;
    }
    write_feature(id, kLineString, g.data(), g.size());
}

void LayerBuilder::add_polygon(std::uint64_t id, const std::vector<TileRing>& rings) {
    std::vector<std::uint32_t> g;
    TilePoint cursor{0, 0};
    for (const auto& r : rings) {
        // Rings are written without their closing point: ClosePath closes them.
        std::size_t n = r.size();
        if (n > 1 && r.front().x == r.back().x && r.front().y == r.back().y) --n;
        if (n < 3) continue;
        encode_run(g, r, n, cursor);
        g.push_back(command(kClosePath, 1));
    }
    if (g.empty()) {
        tags_.clear();
        return;
    }
    write_feature(id, kPolygon, g.data(), g.size());
}

std::string LayerBuilder::finish() const {
    std::string out;
    protozero::pbf_writer w(out);
    w.add_uint32(kLayerVersion, 2);
    w.add_string(kLayerName, name_);
    out += features_buf_;
    for (const auto& k : keys_) w.add_string(kLayerKeys, k);
    for (const auto& v : values_) w.add_message(kLayerValues, v.data(), v.size());
    w.add_uint32(kLayerExtent, extent_);
    return out;
}

}  // namespace ideo::tiles
