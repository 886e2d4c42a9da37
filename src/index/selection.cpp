#include "ideo/index/selection.hpp"

#include <algorithm>

namespace ideo::index {
namespace {

Envelope intersection(const Envelope& a, const Envelope& b) {
    Envelope e;
    e.min_x = std::max(a.min_x, b.min_x);
    e.min_y = std::max(a.min_y, b.min_y);
    e.max_x = std::min(a.max_x, b.max_x);
    e.max_y = std::min(a.max_y, b.max_y);
    return e;
}

bool in_range(const Value& v, const DateRange& r) {
    const auto* s = std::get_if<std::string>(&v);
    if (!s || s->size() < 10) return false;
    const std::string_view day = std::string_view(*s).substr(0, 10);
    return (r.from.empty() || day >= r.from) && (r.to.empty() || day <= r.to);
}

// Nulls after every value, whatever the direction; numbers by value, text bytewise.
int compare_values(const Value& a, const Value& b) {
    if (is_null(a) || is_null(b)) return is_null(a) == is_null(b) ? 0 : is_null(a) ? 1 : -1;
    auto number = [](const Value& v) -> std::optional<double> {
        if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
        if (const auto* d = std::get_if<double>(&v)) return *d;
        return std::nullopt;
    };
    const auto na = number(a), nb = number(b);
    if (na && nb) return *na < *nb ? -1 : *na > *nb ? 1 : 0;
    const auto* sa = std::get_if<std::string>(&a);
    const auto* sb = std::get_if<std::string>(&b);
    if (sa && sb) return sa->compare(*sb) < 0 ? -1 : sa->compare(*sb) > 0 ? 1 : 0;
    return na ? -1 : 1;  // a field holds one type: mixed values only from damaged data, numbers first
}

}  // namespace

std::vector<std::uint32_t> select_items(const LayerData& layer, const ItemSelection& s) {
    ItemQuery q = s.query;
    if (s.filter) {
        if (const auto bounds = cql2::spatial_bounds(*s.filter)) {
            const Envelope box = q.bbox ? intersection(*q.bbox, *bounds) : *bounds;
            if (box.empty()) return {};
            q.bbox = box;
        }
    }
    std::vector<std::uint32_t> out = query(layer, q);
    if (s.filter || (s.datetime && s.date_field >= 0)) {
        const auto field = static_cast<std::size_t>(s.date_field);
        out.erase(std::remove_if(out.begin(), out.end(),
                                 [&](std::uint32_t i) {
                                     const Feature& f = layer.features[i];
                                     if (s.datetime && s.date_field >= 0 &&
                                         (field >= f.values.size() || !in_range(f.values[field], *s.datetime)))
                                         return true;
                                     return s.filter && !cql2::matches(*s.filter, layer.spec, f);
                                 }),
                  out.end());
    }
    if (!s.sortby.empty()) {
        std::stable_sort(out.begin(), out.end(), [&](std::uint32_t a, std::uint32_t b) {
            const Feature& fa = layer.features[a];
            const Feature& fb = layer.features[b];
            for (const SortKey& k : s.sortby) {
                const auto i = static_cast<std::size_t>(k.field);
                static const Value null_value;
                const Value& va = i < fa.values.size() ? fa.values[i] : null_value;
                const Value& vb = i < fb.values.size() ? fb.values[i] : null_value;
                int c = compare_values(va, vb);
                if (c != 0 && !is_null(va) && !is_null(vb) && k.descending) c = -c;
                if (c != 0) return c < 0;
            }
            return false;
        });
    }
    return out;
}

}  // namespace ideo::index
