#pragma once
// Straight-line coverage geometry: a commune polygon minus the discs around its compliant PEI, equal
// to GEOS's polygon - union(buffer(point, r, 16)) (PostGIS's ST_Difference(commune,
// ST_Union(ST_Buffer(pei, r, 16)))) but without the buffer machinery, unioning only discs that may
// overlap, and overlaying only the groups of discs that cross the commune's boundary.
#include <vector>

#include "geo.hpp"

namespace ideo::deci::geo {

// Segments per quadrant of a disc, as ST_Buffer(geom, r, 16) and the coverage rules' figures assume.
inline constexpr int kQuadrantSegments = 16;

// The polygon GEOSBuffer_r(point, radius, kQuadrantSegments) returns: the same vertices, clockwise from east.
Geom disc(XY centre, double radius);

// `polygon` (valid, Lambert-93) minus every disc of `radius` around `centres`; null when GEOS fails.
Geom outside_discs(const GEOSGeometry* polygon, const std::vector<XY>& centres, double radius);

}  // namespace ideo::deci::geo
