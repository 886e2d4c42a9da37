#pragma once
// The coverage layer's shapes (private to src/tiles): each commune's uncovered zones in world
// coordinates, read once from deci::cached_coverage, and their simplified copies per zoom.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ideo/tiles/renderer.hpp"
#include "shapes.hpp"

namespace ideo::tiles {

struct CommuneGaps {
    std::string insee, name, rules_id;
    double covered_share = 0;
    shapes::GeomPtr world;  // null when the whole commune is covered
    mutable std::mutex mutex;
    mutable std::map<int, shapes::GeomPtr> simplified;  // per zoom, on first use
};

struct TileRenderer::CoverageShapes {
    std::mutex mutex;
    std::unordered_map<std::uint32_t, std::shared_ptr<const CommuneGaps>> by_commune;  // by communes feature index
};

}  // namespace ideo::tiles
