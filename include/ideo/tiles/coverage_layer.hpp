#pragma once
// The computed `coverage` tile layer: the uncovered zones of each commune a tile meets (straight-line
// mode, default rules of the commune's department, from deci::cached_coverage), clipped and
// simplified like the commune polygons. Not a stored layer: /tiles/{layers}/... and TileJSON name it
// among the snapshot's layers when the communes are loaded.
#include <string_view>
#include <utility>

#include "ideo/index/snapshot.hpp"
#include "ideo/tiles/tile.hpp"

namespace ideo::tiles {

inline constexpr std::string_view kCoverageLayer = "coverage";

struct CoverageLayerSettings {
    // From z10: the first tile over a commune computes its coverage (about a millisecond per commune,
    // some 60 communes under a z10 tile of Côte-d'Or) and later tiles reuse it from the snapshot's cache;
    // a lower tile would compute a whole department at once for gaps of 200 m, under two pixels there.
    static constexpr int minzoom = 10;
    static constexpr int maxzoom = kMaxZoom;
    static constexpr double simplify_px = 1.0;  // as the communes layer: one tile unit
};

// The fields of a coverage feature, for TileJSON (name, TileJSON type).
inline constexpr std::pair<std::string_view, std::string_view> kCoverageFields[] = {
    {"id", "String"}, {"insee", "String"}, {"nom", "String"}, {"covered_share", "Number"},
    {"mode", "String"}, {"rules", "String"},
};

// Whether the snapshot can serve the coverage layer: it needs the communes.
inline bool coverage_layer_available(const index::Snapshot& snapshot) { return snapshot.layer("communes") != nullptr; }

}  // namespace ideo::tiles
