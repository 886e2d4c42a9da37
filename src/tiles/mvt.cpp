#include "ideo/tiles/mvt.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include <protozero/pbf_writer.hpp>

namespace ideo::tiles {
namespace {

// vector_tile.proto field numbers, and the key bytes (field << 3 | wire type) the builder writes by hand.
enum : protozero::pbf_tag_type { kValueString = 1, kValueDouble = 3, kValueInt = 4, kValueSint = 6 };
constexpr char key_byte(unsigned field, unsigned wire_type) { return static_cast<char>(field << 3 | wire_type); }
constexpr unsigned kVarint = 0, kLength = 2;
constexpr char kTileLayer = key_byte(3, kLength);
constexpr char kLayerName = key_byte(1, kLength), kLayerFeature = key_byte(2, kLength), kLayerKey = key_byte(3, kLength),
               kLayerValue = key_byte(4, kLength), kLayerExtent = key_byte(5, kVarint), kLayerVersion = key_byte(15, kVarint);
constexpr char kFeatureId = key_byte(1, kVarint), kFeatureTags = key_byte(2, kLength), kFeatureType = key_byte(3, kVarint),
               kFeatureGeometry = key_byte(4, kLength);
enum : char { kPoint = 1, kLineString = 2, kPolygon = 3 };
enum : std::uint32_t { kMoveTo = 1, kLineTo = 2, kClosePath = 7 };

// A layer's length is written in this many bytes, reserved before its first byte: layers of 16 KiB to 2 MiB.
// A smaller layer moves back by the bytes it does not use (under 16 KiB moved), a larger one forward.
constexpr std::size_t kLayerLengthBytes = 3;
// add_count and add_thousandths remember the value index of numbers below these.
constexpr std::uint64_t kCountsRemembered = 4096;
constexpr std::uint32_t kThousandths = 1001;
constexpr std::uint32_t kUnknown = UINT32_MAX;

constexpr std::uint32_t command(std::uint32_t id, std::uint32_t count) { return (id & 0x7) | (count << 3); }
constexpr std::uint32_t zigzag(std::int32_t v) {
    return (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
}
constexpr std::size_t varint_size(std::uint64_t v) { return (static_cast<std::size_t>(std::bit_width(v | 1)) + 6) / 7; }
inline char* put_varint(char* p, std::uint64_t v) {
    while (v >= 0x80) {
        *p++ = static_cast<char>(v | 0x80);
        v >>= 7;
    }
    *p++ = static_cast<char>(v);
    return p;
}
inline char* put_bytes(char* p, char key, std::string_view bytes) {
    *p++ = key;
    p = put_varint(p, bytes.size());
    std::memcpy(p, bytes.data(), bytes.size());
    return p + bytes.size();
}
constexpr std::size_t bytes_field_size(std::size_t n) { return 1 + varint_size(n) + n; }

// Geometry commands go through one of these twice: counted, then written where they belong.
struct CountVarints {
    std::size_t bytes = 0;
    void operator()(std::uint32_t v) { bytes += varint_size(v); }
};
struct WriteVarints {
    char* p;
    void operator()(std::uint32_t v) { p = put_varint(p, v); }
};

// MoveTo/LineTo commands for a run of points, the cursor carried across parts as the spec asks.
template <class Sink>
void run_commands(Sink& out, const TilePoint* pts, std::size_t count, TilePoint& cursor) {
    out(command(kMoveTo, 1));
    out(zigzag(pts[0].x - cursor.x));
    out(zigzag(pts[0].y - cursor.y));
    cursor = pts[0];
    if (count < 2) return;
    out(command(kLineTo, static_cast<std::uint32_t>(count - 1)));
    for (std::size_t i = 1; i < count; ++i) {
        out(zigzag(pts[i].x - cursor.x));
        out(zigzag(pts[i].y - cursor.y));
        cursor = pts[i];
    }
}

template <class Sink>
void line_commands(Sink& out, std::span<const TileRing> parts) {
    TilePoint cursor{0, 0};
    for (const auto& line : parts)
        if (line.size() >= 2) run_commands(out, line.data(), line.size(), cursor);
}

template <class Sink>
void polygon_commands(Sink& out, std::span<const TileRing> rings) {
    TilePoint cursor{0, 0};
    for (const auto& r : rings) {
        // Rings are written without their closing point: ClosePath closes them.
        std::size_t n = r.size();
        if (n > 1 && r.front().x == r.back().x && r.front().y == r.back().y) --n;
        if (n < 3) continue;
        run_commands(out, r.data(), n, cursor);
        out(command(kClosePath, 1));
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

LayerBuilder::LayerBuilder(std::string& tile, std::string_view name, std::uint32_t extent)
    : tile_(tile), start_(tile.size()), end_(tile.size()), extent_(extent), generation_(next_generation()) {
    char* p = grow(1 + kLayerLengthBytes + 2 + bytes_field_size(name.size()));
    *p = kTileLayer;
    p += 1 + kLayerLengthBytes;  // the layer's length, known at finish()
    *p++ = kLayerVersion;
    *p++ = 2;
    put_bytes(p, kLayerName, name);
}

LayerBuilder::~LayerBuilder() {
    if (!finished_) tile_.resize(start_);
}

// Spare bytes after end_, cut at finish(): within the capacity reserved, a chunk at a time (each byte zeroed once
// before it is written), beyond it twice what there is.
void LayerBuilder::make_room(std::size_t n) {
    constexpr std::size_t kChunk = 16 * 1024;
    if (end_ + n <= tile_.capacity()) tile_.resize(std::min(tile_.capacity(), end_ + std::max(n, kChunk)));
    else tile_.resize(std::max(end_ + n, 2 * tile_.size()));
}

std::uint32_t LayerBuilder::key_index(std::string_view key) {
    if (auto it = key_ids_.find(key); it != key_ids_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(keys_.size());
    key_ids_.emplace(std::string(key), id);
    keys_.emplace_back(key);
    return id;
}

std::uint32_t LayerBuilder::encoded_index() {
    if (auto it = value_ids_.find(std::string_view(scratch_)); it != value_ids_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(values_.size());
    values_.emplace_back(value_ids_.emplace(scratch_, id).first->first);  // node keys do not move
    return id;
}

std::uint32_t LayerBuilder::value_index(const Value& v) {
    scratch_.clear();
    write_value(scratch_, v);
    return encoded_index();
}

char* LayerBuilder::tags_room(std::size_t tags) {
    const std::size_t need = tags_bytes_ + 2 * 5 * tags;  // a key and a value index, five bytes at most each
    if (tags_.size() < need) tags_.resize(std::max(need, 2 * tags_.size()));
    return tags_.data() + tags_bytes_;
}

void LayerBuilder::add_tag(std::uint32_t key, std::uint32_t value) {
    char* p = put_varint(put_varint(tags_room(1), key), value);
    tags_bytes_ = static_cast<std::size_t>(p - tags_.data());
}

void LayerBuilder::InternedColumns::add(std::uint32_t key, std::uint32_t position) {
    keys_.push_back(key);
    positions_.push_back(position);
}

void LayerBuilder::add_interned(const InternedColumns& columns, const std::uint32_t* row, std::span<const std::string> dictionary) {
    auto& slots = interned_slots.slots;
    if (slots.size() < dictionary.size()) slots.resize(std::max(dictionary.size(), slots.size() * 2), 0);
    const std::size_t n = columns.keys_.size();
    const std::uint32_t* keys = columns.keys_.data();
    const std::uint32_t* positions = columns.positions_.data();
    const std::uint64_t stamp = static_cast<std::uint64_t>(generation_) << 32;
    char* p = tags_room(n);
    for (std::size_t j = 0; j < n; ++j) {
        const std::uint32_t id = row[positions[j]];
        if (id == kNoValue) continue;
        std::uint64_t& slot = slots[id];
        if ((slot & ~std::uint64_t{UINT32_MAX}) != stamp) {
            slot = stamp | values_.size();
            values_.push_back(dictionary[id]);
        }
        p = put_varint(put_varint(p, keys[j]), static_cast<std::uint32_t>(slot));
    }
    tags_bytes_ = static_cast<std::size_t>(p - tags_.data());
}

void LayerBuilder::add_property(std::uint32_t key, const Value& value) {
    if (is_null(value)) return;
    add_tag(key, value_index(value));
}

void LayerBuilder::add_property(std::uint32_t key, std::string_view text) {
    scratch_.clear();
    protozero::pbf_writer(scratch_).add_string(kValueString, text.data(), text.size());
    add_tag(key, encoded_index());
}

void LayerBuilder::add_count(std::uint32_t key, std::uint64_t n) {
    const Value v{static_cast<std::int64_t>(n)};
    if (n >= kCountsRemembered) return add_tag(key, value_index(v));
    if (n >= count_ids_.size()) count_ids_.resize(n + 1, kUnknown);
    if (count_ids_[n] == kUnknown) count_ids_[n] = value_index(v);
    add_tag(key, count_ids_[n]);
}

void LayerBuilder::add_thousandths(std::uint32_t key, std::uint32_t m) {
    const Value v{static_cast<double>(m) / 1000.0};
    if (m >= kThousandths) return add_tag(key, value_index(v));
    if (thousandth_ids_.empty()) thousandth_ids_.assign(kThousandths, kUnknown);
    if (thousandth_ids_[m] == kUnknown) thousandth_ids_[m] = value_index(v);
    add_tag(key, thousandth_ids_[m]);
}

// Feature: id, packed tags, type, packed geometry; its size worked out first so it is written once, in place.
template <class Geometry>
void LayerBuilder::write_feature(std::uint64_t id, int geom_type, std::size_t geometry_bytes, const Geometry& geometry) {
    std::size_t body = 1 + varint_size(id) + 2 + bytes_field_size(geometry_bytes);
    if (tags_bytes_) body += bytes_field_size(tags_bytes_);
    char* p = grow(bytes_field_size(body));
    *p++ = kLayerFeature;
    p = put_varint(p, body);
    *p++ = kFeatureId;
    p = put_varint(p, id);
    if (tags_bytes_) p = put_bytes(p, kFeatureTags, std::string_view(tags_.data(), tags_bytes_));
    *p++ = kFeatureType;
    *p++ = static_cast<char>(geom_type);
    *p++ = kFeatureGeometry;
    WriteVarints out{put_varint(p, geometry_bytes)};
    geometry(out);
    tags_bytes_ = 0;
    ++features_;
}

void LayerBuilder::add_point(std::uint64_t id, TilePoint p) {
    const std::uint32_t x = zigzag(p.x), y = zigzag(p.y);
    write_feature(id, kPoint, 1 + varint_size(x) + varint_size(y), [&](WriteVarints& out) {
        out(command(kMoveTo, 1));
        out(x);
        out(y);
    });
}

void LayerBuilder::add_multilinestring(std::uint64_t id, std::span<const TileRing> parts) {
    CountVarints count;
    line_commands(count, parts);
    if (count.bytes == 0) {
        tags_bytes_ = 0;
        return;
    }
    write_feature(id, kLineString, count.bytes, [&](WriteVarints& out) { line_commands(out, parts); });
}

void LayerBuilder::add_polygon(std::uint64_t id, std::span<const TileRing> rings) {
    CountVarints count;
    polygon_commands(count, rings);
    if (count.bytes == 0) {
        tags_bytes_ = 0;
        return;
    }
    write_feature(id, kPolygon, count.bytes, [&](WriteVarints& out) { polygon_commands(out, rings); });
}

void LayerBuilder::reserve(std::size_t bytes) { tile_.reserve(end_ + bytes); }

std::size_t LayerBuilder::finish() {
    finished_ = true;
    if (features_ == 0) {
        tile_.resize(start_);
        return 0;
    }
    std::size_t tail = 1 + varint_size(extent_) + kLayerLengthBytes;  // and room for a length longer than reserved
    for (const auto& k : keys_) tail += bytes_field_size(k.size());
    for (const auto& v : values_) tail += bytes_field_size(v.size());
    if (tile_.size() < end_ + tail) make_room(tail);
    char* p = tile_.data() + end_;
    for (const auto& k : keys_) p = put_bytes(p, kLayerKey, k);
    for (const auto& v : values_) p = put_bytes(p, kLayerValue, v);
    *p++ = kLayerExtent;
    p = put_varint(p, extent_);
    end_ = static_cast<std::size_t>(p - tile_.data());

    const std::size_t body = start_ + 1 + kLayerLengthBytes, length = end_ - body;
    const std::size_t length_bytes = varint_size(length);
    if (length_bytes != kLayerLengthBytes) std::memmove(tile_.data() + start_ + 1 + length_bytes, tile_.data() + body, length);
    put_varint(tile_.data() + start_ + 1, length);
    end_ = start_ + 1 + length_bytes + length;
    tile_.resize(end_);
    return end_ - start_;
}

}  // namespace ideo::tiles
