#pragma once
// Commune attribution: which commune polygon holds a point, and how far a point lies from a commune.
// Built once from the communes layer; answers in Lambert-93 metres (GEOS prepared geometries + STRtree).
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ideo/core/feature.hpp"

struct GEOSGeom_t;  // geos_c.h's GEOSGeometry

namespace ideo::index {

class CommuneIndex {
public:
    // communes: features of the communes layer (WGS84 polygons); code_field/name_field index their values.
    CommuneIndex(const std::vector<Feature>& communes, int code_field, int name_field);
    ~CommuneIndex();
    CommuneIndex(const CommuneIndex&) = delete;
    CommuneIndex& operator=(const CommuneIndex&) = delete;

    // The INSEE code of the commune containing (lon, lat), if any.
    std::optional<std::string> locate(double lon, double lat) const;
    // Metres from (lon, lat) to the commune's polygon: 0 inside; nullopt for an unknown code.
    std::optional<double> distance_m(std::string_view insee, double lon, double lat) const;
    bool knows(std::string_view insee) const;
    std::string name(std::string_view insee) const;  // "" when unknown
    // The commune's valid Lambert-93 polygon (its features merged), owned by the index; null when unknown.
    // GEOS lets any context read it (the coverage computations do, on their own threads).
    const GEOSGeom_t* l93_polygon(std::string_view insee) const;
    std::size_t size() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ideo::index
