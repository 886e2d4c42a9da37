#include "ideo/tiles/renderer.hpp"

#include <geos_c.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <map>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "ideo/core/error.hpp"
#include "ideo/tiles/coverage_layer.hpp"
#include "ideo/tiles/mvt.hpp"
#include "coverage_shapes.hpp"
#include "shapes.hpp"

namespace ideo::tiles {

using shapes::GeomPtr;
using shapes::geos;
using shapes::to_tile;

namespace {

bool condition_holds(const LayerSpec& spec, const Feature& f, const TileCondition& c) {
    if (c.field < 0 || c.field >= static_cast<int>(f.values.size())) return false;
    const Value& v = f.values[c.field];
    if (is_null(v)) return false;
    if (!c.in.empty()) {
        bool any = false;
        for (const auto& s : c.in) any = any || equals_text(v, s);
        if (!any) return false;
    }
    if (c.min) {
        const double d = v.index() == 1 ? static_cast<double>(std::get<std::int64_t>(v))
                         : v.index() == 2 ? std::get<double>(v) : NAN;
        if (!(d >= *c.min)) return false;
    }
    return true;
}

// A stat holds when any of its groups has all its conditions true.
bool stat_holds(const LayerSpec& spec, const Feature& f, const ClusterStat& s) {
    for (const auto& group : s.any_of) {
        bool all = true;
        for (const auto& c : group) all = all && condition_holds(spec, f, c);
        if (all) return true;
    }
    return false;
}

// R-tree hits (distinct feature indices below `features`) in feature order. Many of them, as under a cluster
// tile, are marked in a bitmap of the layer's features and read back word by word, O(features / 64 + hits)
// instead of a sort's O(hits log hits); a few are sorted.
void order_hits(std::vector<std::uint32_t>& hits, std::size_t features) {
    const std::size_t words = (features + 63) / 64;
    if (hits.size() * 16 < words) {
        std::sort(hits.begin(), hits.end());
        return;
    }
    thread_local std::vector<std::uint64_t> marks;  // all zero between calls
    if (marks.size() < words) marks.resize(words, 0);
    for (const auto i : hits) marks[i >> 6] |= std::uint64_t{1} << (i & 63);
    hits.clear();
    for (std::size_t w = 0; w < words; ++w) {
        for (std::uint64_t m = marks[w]; m; m &= m - 1) hits.push_back(static_cast<std::uint32_t>(w * 64 + std::countr_zero(m)));
        marks[w] = 0;
    }
}

}  // namespace

struct TileRenderer::PreparedLayer {
    const index::LayerData* data = nullptr;
    bool points = true;
    std::vector<WorldPoint> world;  // per feature, NaN when the feature has no location
    std::vector<GeomPtr> shapes;    // lines and polygons in world coordinates
    std::vector<int> property_fields;
    // Every value a tile may write, interned once per snapshot: per feature, its id then its property_fields,
    // as indices into `values` (kNoValue for a null); `values` holds the encoded MVT Value messages.
    static constexpr std::uint32_t kNoValue = LayerBuilder::kNoValue;
    std::vector<std::string> values;
    std::vector<std::uint32_t> value_ids;
    const std::uint32_t* values_of(std::uint32_t feature) const {
        return value_ids.data() + static_cast<std::size_t>(feature) * (1 + property_fields.size());
    }
    // Clustered layers: per feature, whether each cluster stat holds (1 or 0), evaluated once per snapshot;
    // the keys of the stats ("<name>_count", "<name>_share" for each).
    std::vector<std::uint8_t> stats_held;
    std::vector<std::string> stat_keys;
    const std::uint8_t* stats_of(std::uint32_t feature) const {
        return stats_held.data() + static_cast<std::size_t>(feature) * data->spec.tiles.cluster_stats.size();
    }
    // Per zoom, the bytes per R-tree hit of the last tile written: what the next tile reserves, so that its
    // buffer is allocated once instead of growing (and moving) on the way.
    mutable std::array<std::atomic<std::uint32_t>, kMaxZoom + 1> bytes_per_hit{};
    mutable std::mutex simplified_mutex;
    mutable std::map<int, std::vector<GeomPtr>> simplified;  // per zoom, built on first use
    mutable std::mutex labels_mutex;
    mutable std::vector<WorldPoint> labels;  // label_points_minzoom: per polygon, on first use (labeled[i])
    mutable std::vector<bool> labeled;

    WorldPoint label_at(std::uint32_t i) const {
        std::lock_guard lock(labels_mutex);
        if (!labeled[i]) {
            labels[i] = shapes::label_point(shapes[i].get());
            labeled[i] = true;
        }
        return labels[i];
    }

    const std::vector<GeomPtr>& shapes_at(int z, double simplify_px, double extent) const {
        std::lock_guard lock(simplified_mutex);
        auto it = simplified.find(z);
        if (it != simplified.end()) return it->second;
        std::vector<GeomPtr> out(shapes.size());
        for (std::size_t i = 0; i < shapes.size(); ++i) out[i] = shapes::simplify_for_zoom(shapes[i].get(), z, simplify_px, extent);
        return simplified.emplace(z, std::move(out)).first->second;
    }
};

namespace {

// Fills layer.values and layer.value_ids (see PreparedLayer): one hash per value per snapshot, none per tile.
template <class Layer>
void intern_layer_values(Layer& layer) {
    const auto& features = layer.data->features;
    StringIndex ids;
    layer.value_ids.reserve(features.size() * (1 + layer.property_fields.size()));
    auto intern = [&](const Value& v) {
        if (is_null(v)) return Layer::kNoValue;
        std::string encoded = encode_value(v);
        auto [it, added] = ids.try_emplace(std::move(encoded), static_cast<std::uint32_t>(layer.values.size()));
        if (added) layer.values.push_back(it->first);
        return it->second;
    };
    for (const auto& f : features) {
        layer.value_ids.push_back(intern(Value{f.id}));
        for (int fi : layer.property_fields) layer.value_ids.push_back(intern(f.values[fi]));
    }
}

}  // namespace

TileRenderer::TileRenderer(const index::Snapshot& snapshot, TileOptions options)
    : snapshot_(&snapshot), options_(options), coverage_(std::make_unique<CoverageShapes>()) {
    auto ctx = geos();
    GEOSWKBReader* reader = GEOSWKBReader_create_r(ctx);
    for (const auto& [id, data] : snapshot_->layers) {
        auto p = std::make_unique<PreparedLayer>();
        p->data = &data;
        p->points = data.spec.geometry_type == "point";
        const auto& ts = data.spec.tiles;
        for (std::size_t i = 0; i < data.spec.fields.size(); ++i) {
            const auto& f = data.spec.fields[i];
            const bool wanted = ts.properties.empty()
                                    ? f.derived == Derived::None
                                    : std::find(ts.properties.begin(), ts.properties.end(), f.name) != ts.properties.end();
            if (wanted) p->property_fields.push_back(static_cast<int>(i));
        }
        intern_layer_values(*p);
        if (p->points && ts.cluster_below > ts.minzoom && !ts.cluster_stats.empty()) {
            p->stats_held.reserve(data.features.size() * ts.cluster_stats.size());
            for (const auto& f : data.features)
                for (const auto& stat : ts.cluster_stats) p->stats_held.push_back(stat_holds(data.spec, f, stat) ? 1 : 0);
            for (const auto& stat : ts.cluster_stats) {
                p->stat_keys.push_back(stat.name + "_count");
                p->stat_keys.push_back(stat.name + "_share");
            }
        }
        if (p->points) {
            p->world.resize(data.features.size(), WorldPoint{NAN, NAN});
            for (std::size_t i = 0; i < data.features.size(); ++i) {
                const auto& g = data.features[i].geometry;
                if (!g.empty()) p->world[i] = lonlat_to_world(g.envelope.min_x, g.envelope.min_y);
            }
        } else {
            p->shapes.resize(data.features.size());
            for (std::size_t i = 0; i < data.features.size(); ++i)
                p->shapes[i] = shapes::wkb_to_world(data.features[i].geometry.wkb, reader);
            p->labels.resize(data.features.size());
            p->labeled.resize(data.features.size());
        }
        layers_.push_back(std::move(p));
    }
    GEOSWKBReader_destroy_r(ctx, reader);
}

TileRenderer::~TileRenderer() = default;

std::string TileRenderer::render(const std::vector<std::string>& layers, TileId t) const {
    std::string out;
    for (const auto& name : layers) {
        if (name == kCoverageLayer) {
            render_coverage(t, out);
            continue;
        }
        const PreparedLayer* found = nullptr;
        for (const auto& l : layers_)
            if (l->data->spec.id == name) found = l.get();
        if (!found) throw InputError("unknown layer \"" + name + "\"");
        render_layer(*found, t, out);
    }
    return out;
}

void TileRenderer::render_layer(const PreparedLayer& layer, TileId t, std::string& out) const {
    const auto& data = *layer.data;
    const auto& ts = data.spec.tiles;
    if (t.z < ts.minzoom || t.z > ts.maxzoom) return;
    const double extent = options_.extent;
    const Envelope query_box = tile_lonlat_bounds(t, options_.buffer, extent);
    std::vector<std::uint32_t> hits;
    data.rtree.search(query_box, hits);
    if (hits.empty()) return;
    order_hits(hits, data.features.size());

    LayerBuilder builder(out, data.spec.id, options_.extent);
    auto& bytes_per_hit = layer.bytes_per_hit[t.z];
    builder.reserve(hits.size() * bytes_per_hit.load(std::memory_order_relaxed) * 9 / 8);
    const std::uint32_t id_key = builder.key_index("id");
    std::vector<std::uint32_t> field_keys(data.spec.fields.size());
    for (int fi : layer.property_fields) field_keys[fi] = builder.key_index(data.spec.fields[fi].name);
    // The id, then the properties this zoom shows (zoom_properties), as columns of the features' value rows.
    LayerBuilder::InternedColumns columns;
    columns.add(id_key, 0);
    for (std::size_t k = 0; k < layer.property_fields.size(); ++k) {
        const auto& name = data.spec.fields[layer.property_fields[k]].name;
        bool show = ts.zoom_properties.empty();
        for (const auto& zp : ts.zoom_properties)
            if (t.z >= zp.minzoom && t.z <= zp.maxzoom && std::find(zp.fields.begin(), zp.fields.end(), name) != zp.fields.end())
                show = true;
        if (!show) continue;
        columns.add(field_keys[layer.property_fields[k]], static_cast<std::uint32_t>(1 + k));
    }
    auto add_properties = [&](std::uint32_t feature) { builder.add_interned(columns, layer.values_of(feature), layer.values); };

    if (layer.points && ts.cluster_below > t.z) {
        // Clusters on a global grid of cells, so a point counts in exactly one cluster of one tile per zoom.
        const Envelope inner = tile_world_bounds(t, 0, extent);
        const double cells_per_tile = std::max(1.0, 256.0 / ts.cluster_cell_px);
        // The tile's cells in one flat array, column after column: the order clusters are written in. A point of
        // the tile has 0 <= w * scale - t < 1 exactly (scale is a power of two), so its cell index is at most
        // cells_per_tile once multiplied and rounded: ceil() + 1 cells a side hold them all (the clamp only guards).
        const int side = static_cast<int>(std::ceil(cells_per_tile)) + 1;
        const std::size_t stats = ts.cluster_stats.size();
        struct Cell {
            double sx = 0, sy = 0;
            std::uint32_t count = 0, first = 0;
        };
        std::vector<Cell> cells(static_cast<std::size_t>(side) * side);
        std::vector<std::uint32_t> stat_counts(cells.size() * stats);
        const double scale = static_cast<double>(1u << t.z);
        for (auto i : hits) {
            const WorldPoint w = layer.world[i];
            if (!(w.x >= inner.min_x && w.x < inner.max_x && w.y >= inner.min_y && w.y < inner.max_y)) continue;
            const int cx = std::clamp(static_cast<int>((w.x * scale - t.x) * cells_per_tile), 0, side - 1);
            const int cy = std::clamp(static_cast<int>((w.y * scale - t.y) * cells_per_tile), 0, side - 1);
            const std::size_t ci = static_cast<std::size_t>(cx) * side + cy;
            Cell& c = cells[ci];
            if (c.count == 0) c.first = i;
            c.sx += w.x;
            c.sy += w.y;
            c.count++;
            const std::uint8_t* held = layer.stats_of(i);
            for (std::size_t s = 0; s < stats; ++s) stat_counts[ci * stats + s] += held[s];
        }
        // Cluster keys resolved once per tile, on first use (the order the layer's keys are written in).
        constexpr std::uint32_t kUnresolved = UINT32_MAX;
        std::uint32_t cluster_key = kUnresolved, count_key = kUnresolved;
        std::vector<std::uint32_t> stat_keys(layer.stat_keys.size(), kUnresolved);
        auto key = [&](std::uint32_t& k, std::string_view name) {
            if (k == kUnresolved) k = builder.key_index(name);
            return k;
        };
        for (std::size_t ci = 0; ci < cells.size(); ++ci) {
            const Cell& c = cells[ci];
            if (c.count == 0) continue;
            if (c.count == 1) {
                add_properties(c.first);
                builder.add_count(key(count_key, "point_count"), 1);
                builder.add_point(c.first, to_tile(layer.world[c.first].x, layer.world[c.first].y, t, extent));
                continue;
            }
            builder.add_count(key(cluster_key, "cluster"), 1);
            builder.add_count(key(count_key, "point_count"), c.count);
            for (std::size_t s = 0; s < stats; ++s) {
                const std::uint32_t held = stat_counts[ci * stats + s];
                builder.add_count(key(stat_keys[2 * s], layer.stat_keys[2 * s]), held);
                builder.add_thousandths(key(stat_keys[2 * s + 1], layer.stat_keys[2 * s + 1]),
                                        static_cast<std::uint32_t>(std::round(1000.0 * held / c.count)));
            }
            // Cluster ids stay clear of feature indices: high bit set.
            builder.add_point((1ull << 63) | (static_cast<std::uint64_t>(t.z) << 48) | c.first,
                              to_tile(c.sx / c.count, c.sy / c.count, t, extent));
        }
    } else if (layer.points) {
        for (auto i : hits) {
            const WorldPoint w = layer.world[i];
            if (std::isnan(w.x)) continue;
            add_properties(i);
            builder.add_point(i, to_tile(w.x, w.y, t, extent));
        }
    } else {
        const Envelope clip = tile_world_bounds(t, options_.buffer, extent);
        const auto& simplified = layer.shapes_at(t.z, ts.simplify_px, extent);
        const bool line = data.spec.geometry_type == "line";
        std::vector<TileRing> parts;  // line parts or polygon rings, reused from feature to feature
        for (auto i : hits) {
            if (!simplified[i] || !shapes::clip_to_tile(simplified[i].get(), line, t, clip, extent, parts)) continue;
            add_properties(i);
            if (line) builder.add_multilinestring(i, parts);
            else builder.add_polygon(i, parts);
        }
        if (!line && ts.label_points_minzoom >= 0 && t.z >= ts.label_points_minzoom) {
            // Each label point in the one tile that holds it (no buffer): one label per polygon and zoom.
            const Envelope inner = tile_world_bounds(t, 0, extent);
            for (auto i : hits) {
                if (!layer.shapes[i]) continue;
                const WorldPoint w = layer.label_at(i);
                if (!(w.x >= inner.min_x && w.x < inner.max_x && w.y >= inner.min_y && w.y < inner.max_y)) continue;
                add_properties(i);
                builder.add_point((1ull << 62) | i, to_tile(w.x, w.y, t, extent));  // ids clear of the polygons'
            }
        }
    }
    if (const std::size_t bytes = builder.finish())
        bytes_per_hit.store(static_cast<std::uint32_t>(std::min<std::size_t>(bytes / hits.size() + 1, 1u << 20)), std::memory_order_relaxed);
}

}  // namespace ideo::tiles
