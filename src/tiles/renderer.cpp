#include "ideo/tiles/renderer.hpp"

#include <geos_c.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <unordered_map>

#include "ideo/core/error.hpp"
#include "ideo/tiles/coverage_layer.hpp"
#include "ideo/tiles/mvt.hpp"
#include "coverage_shapes.hpp"
#include "shapes.hpp"

#include <protozero/pbf_writer.hpp>

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

}  // namespace

struct TileRenderer::PreparedLayer {
    const index::LayerData* data = nullptr;
    bool points = true;
    std::vector<WorldPoint> world;  // per feature, NaN when the feature has no location
    std::vector<GeomPtr> shapes;    // lines and polygons in world coordinates
    std::vector<int> property_fields;
    // Every value a tile may write, interned once per snapshot: per feature, its id then its property_fields,
    // as indices into `values` (kNoValue for a null); `values` holds the encoded MVT Value messages.
    static constexpr std::uint32_t kNoValue = UINT32_MAX;
    std::vector<std::string> values;
    std::vector<std::uint32_t> value_ids;
    const std::uint32_t* values_of(std::uint32_t feature) const {
        return value_ids.data() + static_cast<std::size_t>(feature) * (1 + property_fields.size());
    }
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
    std::sort(hits.begin(), hits.end());

    LayerBuilder builder(data.spec.id, options_.extent);
    const std::uint32_t id_key = builder.key_index("id");
    std::vector<std::uint32_t> field_keys(data.spec.fields.size());
    for (int fi : layer.property_fields) field_keys[fi] = builder.key_index(data.spec.fields[fi].name);
    // The properties this zoom shows (zoom_properties), as positions in property_fields.
    std::vector<std::size_t> shown;
    for (std::size_t k = 0; k < layer.property_fields.size(); ++k) {
        const auto& name = data.spec.fields[layer.property_fields[k]].name;
        bool show = ts.zoom_properties.empty();
        for (const auto& zp : ts.zoom_properties)
            if (t.z >= zp.minzoom && t.z <= zp.maxzoom && std::find(zp.fields.begin(), zp.fields.end(), name) != zp.fields.end())
                show = true;
        if (show) shown.push_back(k);
    }
    auto add_properties = [&](std::uint32_t feature) {
        const std::uint32_t* ids = layer.values_of(feature);
        auto add = [&](std::uint32_t key, std::uint32_t id) {
            if (id != PreparedLayer::kNoValue) builder.add_interned(key, id, layer.values[id]);
        };
        add(id_key, ids[0]);
        for (std::size_t k : shown) add(field_keys[layer.property_fields[k]], ids[1 + k]);
    };

    if (layer.points && ts.cluster_below > t.z) {
        // Clusters on a global grid of cells, so a point counts in exactly one cluster of one tile per zoom.
        const Envelope inner = tile_world_bounds(t, 0, extent);
        const double cells_per_tile = std::max(1.0, 256.0 / ts.cluster_cell_px);
        struct Cell {
            double sx = 0, sy = 0;
            std::uint32_t count = 0, first = 0;
            std::vector<std::uint32_t> stat_counts;
        };
        std::map<std::pair<int, int>, Cell> cells;
        const double scale = static_cast<double>(1u << t.z);
        for (auto i : hits) {
            const WorldPoint w = layer.world[i];
            if (!(w.x >= inner.min_x && w.x < inner.max_x && w.y >= inner.min_y && w.y < inner.max_y)) continue;
            const int cx = static_cast<int>((w.x * scale - t.x) * cells_per_tile);
            const int cy = static_cast<int>((w.y * scale - t.y) * cells_per_tile);
            Cell& c = cells[{cx, cy}];
            if (c.count == 0) {
                c.first = i;
                c.stat_counts.assign(ts.cluster_stats.size(), 0);
            }
            c.sx += w.x;
            c.sy += w.y;
            c.count++;
            for (std::size_t s = 0; s < ts.cluster_stats.size(); ++s)
                if (stat_holds(data.spec, data.features[i], ts.cluster_stats[s])) c.stat_counts[s]++;
        }
        for (const auto& [key, c] : cells) {
            if (c.count == 1) {
                add_properties(c.first);
                builder.add_property("point_count", Value{std::int64_t{1}});
                builder.add_point(c.first, to_tile(layer.world[c.first].x, layer.world[c.first].y, t, extent));
                continue;
            }
            builder.add_property("cluster", Value{std::int64_t{1}});
            builder.add_property("point_count", Value{static_cast<std::int64_t>(c.count)});
            for (std::size_t s = 0; s < ts.cluster_stats.size(); ++s) {
                builder.add_property(ts.cluster_stats[s].name + "_count", Value{static_cast<std::int64_t>(c.stat_counts[s])});
                builder.add_property(ts.cluster_stats[s].name + "_share",
                                     Value{std::round(1000.0 * c.stat_counts[s] / c.count) / 1000.0});
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
    if (builder.empty()) return;
    protozero::pbf_writer tile(out);
    tile.add_message(3, builder.finish());  // Tile.layers = 3
}

}  // namespace ideo::tiles
