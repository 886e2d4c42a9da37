#pragma once
// A static packed R-tree over envelopes (Hilbert-sorted, flatbush-style): built once per snapshot,
// read-only afterwards, so any number of request threads can search it without locks.
#include <cstdint>
#include <vector>

#include "ideo/core/geometry.hpp"

namespace ideo::index {

class PackedRTree {
public:
    PackedRTree() = default;
    // items[i] is the envelope of item i; empty envelopes are skipped (features without location).
    explicit PackedRTree(const std::vector<Envelope>& items, int node_size = 16);

    // Appends to out the ids of the items whose envelope intersects box, in no particular order.
    void search(const Envelope& box, std::vector<std::uint32_t>& out) const;
    std::size_t size() const { return num_items_; }
    const Envelope& bounds() const { return bounds_; }

private:
    std::vector<Envelope> boxes_;        // leaves first, then each level up
    std::vector<std::uint32_t> ids_;     // item id for leaves, first child index for nodes
    std::vector<std::size_t> level_end_;  // end offset of each level in boxes_
    std::size_t num_items_ = 0;
    int node_size_ = 16;
    Envelope bounds_;
};

}  // namespace ideo::index
