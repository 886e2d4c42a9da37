// The computed coverage layer of the tiles: communes under the tile from the communes R-tree, their
// uncovered zones from the DECI coverage cache, drawn through the same clipping as every polygon.
#include <algorithm>
#include <cmath>

#include "coverage_shapes.hpp"
#include "ideo/deci/coverage.hpp"
#include "ideo/tiles/coverage_layer.hpp"
#include "ideo/tiles/mvt.hpp"

namespace ideo::tiles {
namespace {

// Straight-line coverage with the default rules of the commune's department, computed once per snapshot.
std::shared_ptr<const CommuneGaps> read_gaps(const index::Snapshot& snapshot, const std::string& insee) {
    const auto rules = deci::cached_rules(snapshot, deci::department_of(insee));
    const auto coverage = deci::cached_coverage(snapshot, *rules, insee, deci::Mode::Straight);
    auto gaps = std::make_shared<CommuneGaps>();
    gaps->insee = insee;
    gaps->name = coverage->name;
    gaps->rules_id = coverage->rules_id;
    gaps->covered_share = coverage->covered_share;
    gaps->world = shapes::wkb_to_world(coverage->uncovered_wkb);
    return gaps;
}

const GEOSGeometry* at_zoom(const CommuneGaps& gaps, int z, double extent) {
    std::lock_guard lock(gaps.mutex);
    auto& slot = gaps.simplified[z];
    if (!slot) slot = shapes::simplify_for_zoom(gaps.world.get(), z, CoverageLayerSettings::simplify_px, extent);
    return slot.get();
}

}  // namespace

void TileRenderer::render_coverage(TileId t, std::string& out) const {
    if (t.z < CoverageLayerSettings::minzoom || t.z > CoverageLayerSettings::maxzoom) return;
    const index::LayerData* communes = snapshot_->layer("communes");
    if (!communes) return;
    const double extent = options_.extent;
    std::vector<std::uint32_t> hits;
    communes->rtree.search(tile_lonlat_bounds(t, options_.buffer, extent), hits);
    if (hits.empty()) return;
    std::sort(hits.begin(), hits.end());

    LayerBuilder builder(out, kCoverageLayer, options_.extent);
    const std::uint32_t keys[] = {builder.key_index("id"), builder.key_index("insee"), builder.key_index("nom"),
                                  builder.key_index("covered_share"), builder.key_index("mode"), builder.key_index("rules")};
    const std::string_view straight = deci::to_string(deci::Mode::Straight);
    const Envelope clip = tile_world_bounds(t, options_.buffer, extent);
    std::vector<TileRing> rings;  // reused from commune to commune
    for (const auto i : hits) {
        std::shared_ptr<const CommuneGaps> gaps;
        {
            std::lock_guard lock(coverage_->mutex);
            if (auto it = coverage_->by_commune.find(i); it != coverage_->by_commune.end()) gaps = it->second;
        }
        if (!gaps) {
            // Computed outside the lock: communes under other tiles go on meanwhile.
            gaps = read_gaps(*snapshot_, communes->features[i].id);
            std::lock_guard lock(coverage_->mutex);
            gaps = coverage_->by_commune.emplace(i, gaps).first->second;
        }
        if (!gaps->world) continue;
        const GEOSGeometry* shape = at_zoom(*gaps, t.z, extent);
        if (!shape || !shapes::clip_to_tile(shape, false, t, clip, extent, rings)) continue;
        builder.add_property(keys[0], std::string_view(gaps->insee));
        builder.add_property(keys[1], std::string_view(gaps->insee));
        builder.add_property(keys[2], std::string_view(gaps->name));
        builder.add_property(keys[3], Value{std::round(1000.0 * gaps->covered_share) / 1000.0});
        builder.add_property(keys[4], straight);
        builder.add_property(keys[5], std::string_view(gaps->rules_id));
        builder.add_polygon(i, rings);
    }
    builder.finish();
}

}  // namespace ideo::tiles
