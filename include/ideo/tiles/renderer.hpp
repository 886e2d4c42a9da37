#pragma once
// Vector tiles of a snapshot: tile-ready world coordinates prepared once per published snapshot,
// features picked with the layer's R-tree, points clustered at low zooms, polygons clipped to the
// buffered tile and simplified per zoom with GEOS.
#include <memory>
#include <string>
#include <vector>

#include "ideo/index/snapshot.hpp"
#include "ideo/tiles/tile.hpp"

namespace ideo::tiles {

struct TileOptions {
    std::uint32_t extent = 4096;
    std::uint32_t buffer = 64;  // in tile units, on each side
};

class TileRenderer {
public:
    // The snapshot must outlive the renderer (the server attaches the renderer to its snapshot).
    explicit TileRenderer(const index::Snapshot& snapshot, TileOptions options = {});
    ~TileRenderer();
    TileRenderer(const TileRenderer&) = delete;
    TileRenderer& operator=(const TileRenderer&) = delete;

    // The MVT bytes of `layers` (snapshot layers, or the computed "coverage") at tile `t`; empty when
    // no feature falls in it. Throws InputError naming an unknown layer. Safe to call from many threads at once.
    std::string render(const std::vector<std::string>& layers, TileId t) const;

    const index::Snapshot& snapshot() const { return *snapshot_; }
    const TileOptions& options() const { return options_; }

private:
    struct PreparedLayer;
    struct CoverageShapes;  // coverage_layer.cpp
    void render_layer(const PreparedLayer& layer, TileId t, std::string& out) const;
    void render_coverage(TileId t, std::string& out) const;

    const index::Snapshot* snapshot_;
    TileOptions options_;
    std::vector<std::unique_ptr<PreparedLayer>> layers_;
    std::unique_ptr<CoverageShapes> coverage_;  // uncovered zones in world coordinates, per commune, on first use
};

}  // namespace ideo::tiles
