#include "ideo/index/rtree.hpp"

#include <algorithm>
#include <utility>

namespace ideo::index {
namespace {

// Position of (x, y) on the Hilbert curve filling a 2^16 x 2^16 grid.
std::uint32_t hilbert(std::uint32_t x, std::uint32_t y) {
    constexpr std::uint32_t n = 1u << 16;
    std::uint64_t d = 0;
    for (std::uint32_t s = n / 2; s > 0; s /= 2) {
        const std::uint32_t rx = (x & s) ? 1 : 0;
        const std::uint32_t ry = (y & s) ? 1 : 0;
        d += static_cast<std::uint64_t>(s) * s * ((3 * rx) ^ ry);
        if (ry == 0) {  // rotate the quadrant so the curve stays continuous
            if (rx == 1) {
                x = n - 1 - x;
                y = n - 1 - y;
            }
            std::swap(x, y);
        }
    }
    return static_cast<std::uint32_t>(d);
}

Envelope union_of(const std::vector<Envelope>& boxes, std::size_t begin, std::size_t end) {
    Envelope e;
    for (std::size_t i = begin; i < end; ++i) e.expand(boxes[i]);
    return e;
}

}  // namespace

PackedRTree::PackedRTree(const std::vector<Envelope>& items, int node_size) : node_size_(std::max(node_size, 2)) {
    std::vector<std::uint32_t> located;
    located.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].empty()) continue;
        located.push_back(static_cast<std::uint32_t>(i));
        bounds_.expand(items[i]);
    }
    num_items_ = located.size();
    if (num_items_ == 0) return;

    // Leaves in Hilbert order of their centres: neighbours on the curve are neighbours on the map.
    const double width = bounds_.max_x - bounds_.min_x, height = bounds_.max_y - bounds_.min_y;
    const auto grid = [](double v, double min, double extent) {
        return extent > 0 ? static_cast<std::uint32_t>(65535.0 * (v - min) / extent) : 0u;
    };
    std::vector<std::pair<std::uint32_t, std::uint32_t>> order;  // (hilbert value, item id)
    order.reserve(num_items_);
    for (const std::uint32_t id : located) {
        const Envelope& e = items[id];
        order.emplace_back(hilbert(grid((e.min_x + e.max_x) / 2, bounds_.min_x, width),
                                   grid((e.min_y + e.max_y) / 2, bounds_.min_y, height)),
                           id);
    }
    std::sort(order.begin(), order.end());

    const auto n = static_cast<std::size_t>(node_size_);
    std::size_t total = num_items_, level_size = num_items_;
    while (level_size > 1) {
        level_size = (level_size + n - 1) / n;
        total += level_size;
    }
    boxes_.reserve(total);
    ids_.reserve(total);
    for (const auto& [h, id] : order) {
        boxes_.push_back(items[id]);
        ids_.push_back(id);
    }
    level_end_.push_back(boxes_.size());

    // Each parent covers node_size consecutive children of the level below; ids_ holds its first child.
    std::size_t begin = 0;
    while (level_end_.back() - begin > 1) {
        const std::size_t end = level_end_.back();
        for (std::size_t child = begin; child < end; child += n) {
            boxes_.push_back(union_of(boxes_, child, std::min(child + n, end)));
            ids_.push_back(static_cast<std::uint32_t>(child));
        }
        begin = end;
        level_end_.push_back(boxes_.size());
    }
}

void PackedRTree::search(const Envelope& box, std::vector<std::uint32_t>& out) const {
    if (num_items_ == 0 || box.empty() || !bounds_.intersects(box)) return;
    const auto n = static_cast<std::size_t>(node_size_);
    // Pending nodes as (position in boxes_, level); the root is the last box.
    std::vector<std::pair<std::size_t, std::size_t>> stack;
    stack.reserve(n * level_end_.size());
    stack.emplace_back(boxes_.size() - 1, level_end_.size() - 1);
    while (!stack.empty()) {
        const auto [node, level] = stack.back();
        stack.pop_back();
        if (level == 0) {
            out.push_back(ids_[node]);  // a lone leaf as root: bounds_ already matched
            continue;
        }
        const std::size_t first = ids_[node];
        const std::size_t last = std::min(first + n, level_end_[level - 1]);
        for (std::size_t child = first; child < last; ++child) {
            if (!boxes_[child].intersects(box)) continue;
            if (level == 1) out.push_back(ids_[child]);
            else stack.emplace_back(child, level - 1);
        }
    }
}

}  // namespace ideo::index
