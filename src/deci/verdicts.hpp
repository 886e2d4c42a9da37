#pragma once
// The verdict for one risk (private to deci/): the PEI around it, their distances (straight or along
// roads) and what the rules make of them.
#include <cstdint>
#include <memory>
#include <vector>

#include "geo.hpp"
#include "ideo/deci/coverage.hpp"
#include "ideo/index/rtree.hpp"
#include "road_graph.hpp"

namespace ideo::deci {

// Every PEI of the snapshot in Lambert-93 with its facts, built once per snapshot: queries then
// need neither PROJ nor field parsing per candidate.
struct PeiIndex {
    std::vector<geo::XY> l93;     // per feature; meaningful for the points the tree holds
    std::vector<PeiFacts> facts;  // per feature
    index::PackedRTree tree;      // over the points that project to Lambert-93
};

std::shared_ptr<const PeiIndex> pei_index(const index::Snapshot& snapshot, const index::LayerData& pei);

// A PEI near a place, with what the rules need to know about it.
struct Candidate {
    std::uint32_t index;
    const Feature* feature;
    const PeiFacts* facts;
    geo::XY l93;
};

// The PEI layer with its Lambert-93 index: what every coverage computation reads.
struct PeiSource {
    const index::LayerData& layer;
    const PeiIndex& index;
};

// PEI whose location lies within `radius_m` of a Lambert-93 envelope, in feature order.
std::vector<Candidate> pei_near(const PeiSource& pei, const Envelope& l93_box, double radius_m);

// Lambert-93 locations of the candidates that meet the class on their own.
std::vector<geo::XY> compliant_locations(const std::vector<Candidate>& pei, const Rules& rules, const RiskClass& cls);

// The verdict for a risk of class `cls` at a Lambert-93 point.
RiskVerdict evaluate(const PeiSource& pei, const Rules& rules, const RoadGraph* graph, geo::XY at,
                     const RiskClass& cls);

// The verdict of every ERP and ICPE of a commune (along `graph` when given, else straight), in layer
// then feature order: the risks of commune_coverage, without its area.
std::vector<RiskVerdict> commune_risk_verdicts(const index::Snapshot& snapshot, const Rules& rules, const std::string& insee,
                                               const RoadGraph* graph);

}  // namespace ideo::deci
