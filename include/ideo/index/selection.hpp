#pragma once
// The items a features request selects, in the order it asks: the base query (bbox, property
// filters), a CQL2 filter, a datetime range on the layer's date field, then sortby.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ideo/index/cql2.hpp"
#include "ideo/index/snapshot.hpp"

namespace ideo::index {

struct SortKey {
    int field = -1;  // index in LayerSpec::fields
    bool descending = false;
};

// Inclusive bounds on a date field ("YYYY-MM-DD"); an empty bound is open ("..").
struct DateRange {
    std::string from, to;
};

struct ItemSelection {
    ItemQuery query;                    // bbox (CRS84) and property filters
    const cql2::Expr* filter = nullptr;  // owned by the caller
    int date_field = -1;
    std::optional<DateRange> datetime;  // needs date_field
    std::vector<SortKey> sortby;        // stable: ties keep the paging order; nulls last
};

// Matching feature indices: the R-tree narrows by bbox and by the filter's spatial bounds first.
std::vector<std::uint32_t> select_items(const LayerData& layer, const ItemSelection& s);

}  // namespace ideo::index
