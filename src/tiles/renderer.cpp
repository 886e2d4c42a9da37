#include "ideo/tiles/renderer.hpp"

#include <geos_c.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <unordered_map>

#include "ideo/core/error.hpp"
#include "ideo/tiles/mvt.hpp"

#include <protozero/pbf_writer.hpp>

namespace ideo::tiles {
namespace {

// One GEOS context per thread: GEOS contexts are not to be shared between threads.
GEOSContextHandle_t geos() {
    struct Handle {
        GEOSContextHandle_t h = GEOS_init_r();
        ~Handle() { GEOS_finish_r(h); }
    };
    thread_local Handle handle;
    return handle.h;
}

struct GeosDeleter {
    void operator()(GEOSGeometry* g) const {
        if (g) GEOSGeom_destroy_r(geos(), g);
    }
};
using GeomPtr = std::unique_ptr<GEOSGeometry, GeosDeleter>;

int to_world_cb(double* x, double* y, void*) {
    const WorldPoint w = lonlat_to_world(*x, *y);
    *x = w.x;
    *y = w.y;
    return 1;
}

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

TilePoint to_tile(double wx, double wy, TileId t, double extent) {
    const double scale = static_cast<double>(1u << t.z);
    return {static_cast<std::int32_t>(std::lround((wx * scale - t.x) * extent)),
            static_cast<std::int32_t>(std::lround((wy * scale - t.y) * extent))};
}

void collect_rings(const GEOSGeometry* poly, TileId t, double extent, std::vector<TileRing>& rings) {
    auto ctx = geos();
    auto read_ring = [&](const GEOSGeometry* ring, bool exterior) {
        const GEOSCoordSequence* seq = GEOSGeom_getCoordSeq_r(ctx, ring);
        unsigned int n = 0;
        GEOSCoordSeq_getSize_r(ctx, seq, &n);
        TileRing r;
        r.reserve(n);
        for (unsigned int i = 0; i < n; ++i) {
            double x, y;
            GEOSCoordSeq_getXY_r(ctx, seq, i, &x, &y);
            const TilePoint p = to_tile(x, y, t, extent);
            if (r.empty() || r.back().x != p.x || r.back().y != p.y) r.push_back(p);
        }
        if (r.size() < 4) return;
        const double a = ring_area(r);
        if (a == 0) return;
        // MVT 2.1: exterior rings positive (clockwise with y down), holes negative.
        if ((exterior && a < 0) || (!exterior && a > 0)) std::reverse(r.begin(), r.end());
        if (!exterior && rings.empty()) return;
        rings.push_back(std::move(r));
    };
    read_ring(GEOSGetExteriorRing_r(ctx, poly), true);
    const int holes = GEOSGetNumInteriorRings_r(ctx, poly);
    for (int i = 0; i < holes; ++i) read_ring(GEOSGetInteriorRingN_r(ctx, poly, i), false);
}

// A clipped line's parts in tile coordinates, repeated points dropped.
void collect_lines(const GEOSGeometry* g, TileId t, double extent, std::vector<std::vector<TilePoint>>& parts) {
    auto ctx = geos();
    const int type = GEOSGeomTypeId_r(ctx, g);
    if (type == GEOS_MULTILINESTRING || type == GEOS_GEOMETRYCOLLECTION) {
        for (int k = 0, n = GEOSGetNumGeometries_r(ctx, g); k < n; ++k) collect_lines(GEOSGetGeometryN_r(ctx, g, k), t, extent, parts);
        return;
    }
    if (type != GEOS_LINESTRING) return;
    const GEOSCoordSequence* seq = GEOSGeom_getCoordSeq_r(ctx, g);
    unsigned int n = 0;
    GEOSCoordSeq_getSize_r(ctx, seq, &n);
    std::vector<TilePoint> line;
    line.reserve(n);
    for (unsigned int i = 0; i < n; ++i) {
        double x, y;
        GEOSCoordSeq_getXY_r(ctx, seq, i, &x, &y);
        const TilePoint p = to_tile(x, y, t, extent);
        if (line.empty() || line.back().x != p.x || line.back().y != p.y) line.push_back(p);
    }
    if (line.size() >= 2) parts.push_back(std::move(line));
}

}  // namespace

struct TileRenderer::PreparedLayer {
    const index::LayerData* data = nullptr;
    bool points = true;
    std::vector<WorldPoint> world;  // per feature, NaN when the feature has no location
    std::vector<GeomPtr> shapes;    // lines and polygons in world coordinates
    std::vector<int> property_fields;
    mutable std::mutex simplified_mutex;
    mutable std::map<int, std::vector<GeomPtr>> simplified;  // per zoom, built on first use

    const std::vector<GeomPtr>& shapes_at(int z, double simplify_px, double extent) const {
        std::lock_guard lock(simplified_mutex);
        auto it = simplified.find(z);
        if (it != simplified.end()) return it->second;
        auto ctx = geos();
        const double tolerance = simplify_px / (static_cast<double>(1u << z) * extent);
        std::vector<GeomPtr> out(shapes.size());
        for (std::size_t i = 0; i < shapes.size(); ++i)
            if (shapes[i]) out[i].reset(GEOSTopologyPreserveSimplify_r(ctx, shapes[i].get(), tolerance));
        return simplified.emplace(z, std::move(out)).first->second;
    }
};

TileRenderer::TileRenderer(const index::Snapshot& snapshot, TileOptions options)
    : snapshot_(&snapshot), options_(options) {
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
        if (p->points) {
            p->world.resize(data.features.size(), WorldPoint{NAN, NAN});
            for (std::size_t i = 0; i < data.features.size(); ++i) {
                const auto& g = data.features[i].geometry;
                if (!g.empty()) p->world[i] = lonlat_to_world(g.envelope.min_x, g.envelope.min_y);
            }
        } else {
            p->shapes.resize(data.features.size());
            for (std::size_t i = 0; i < data.features.size(); ++i) {
                const auto& wkb = data.features[i].geometry.wkb;
                if (wkb.empty()) continue;
                GeomPtr g(GEOSWKBReader_read_r(ctx, reader, reinterpret_cast<const unsigned char*>(wkb.data()), wkb.size()));
                if (!g) continue;
                p->shapes[i].reset(GEOSGeom_transformXY_r(ctx, g.get(), to_world_cb, nullptr));
            }
        }
        layers_.push_back(std::move(p));
    }
    GEOSWKBReader_destroy_r(ctx, reader);
}

TileRenderer::~TileRenderer() = default;

std::string TileRenderer::render(const std::vector<std::string>& layers, TileId t) const {
    std::string out;
    for (const auto& name : layers) {
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
    auto add_properties = [&](const Feature& f) {
        builder.add_property(id_key, Value{f.id});
        for (int fi : layer.property_fields) {
            const auto& spec = data.spec.fields[fi];
            if (!ts.zoom_properties.empty()) {
                bool shown = false;
                for (const auto& zp : ts.zoom_properties)
                    if (t.z >= zp.minzoom && t.z <= zp.maxzoom &&
                        std::find(zp.fields.begin(), zp.fields.end(), spec.name) != zp.fields.end())
                        shown = true;
                if (!shown) continue;
            }
            builder.add_property(field_keys[fi], f.values[fi]);
        }
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
                add_properties(data.features[c.first]);
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
            add_properties(data.features[i]);
            builder.add_point(i, to_tile(w.x, w.y, t, extent));
        }
    } else {
        auto ctx = geos();
        const Envelope clip = tile_world_bounds(t, options_.buffer, extent);
        const auto& shapes = layer.shapes_at(t.z, ts.simplify_px, extent);
        for (auto i : hits) {
            if (!shapes[i]) continue;
            GeomPtr clipped(GEOSClipByRect_r(ctx, shapes[i].get(), clip.min_x, clip.min_y, clip.max_x, clip.max_y));
            if (!clipped || GEOSisEmpty_r(ctx, clipped.get())) continue;
            if (data.spec.geometry_type == "line") {
                std::vector<std::vector<TilePoint>> parts;
                collect_lines(clipped.get(), t, extent, parts);
                if (parts.empty()) continue;
                add_properties(data.features[i]);
                builder.add_multilinestring(i, parts);
                continue;
            }
            std::vector<TileRing> rings;
            const int type = GEOSGeomTypeId_r(ctx, clipped.get());
            if (type == GEOS_POLYGON) {
                collect_rings(clipped.get(), t, extent, rings);
            } else if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
                const int n = GEOSGetNumGeometries_r(ctx, clipped.get());
                for (int k = 0; k < n; ++k) {
                    const GEOSGeometry* part = GEOSGetGeometryN_r(ctx, clipped.get(), k);
                    if (GEOSGeomTypeId_r(ctx, part) != GEOS_POLYGON) continue;
                    std::vector<TileRing> part_rings;
                    collect_rings(part, t, extent, part_rings);
                    std::move(part_rings.begin(), part_rings.end(), std::back_inserter(rings));
                }
            }
            if (rings.empty()) continue;
            add_properties(data.features[i]);
            builder.add_polygon(i, rings);
        }
    }
    if (builder.empty()) return;
    protozero::pbf_writer tile(out);
    tile.add_message(3, builder.finish());  // Tile.layers = 3
}

}  // namespace ideo::tiles
