#include "ideo/index/snapshot.hpp"

#include <algorithm>
#include <limits>
#include <optional>


namespace ideo::index {
namespace {

const Value kNull;

const Value& value_of(const Feature& f, int field) {
    return field >= 0 && static_cast<std::size_t>(field) < f.values.size() ? f.values[static_cast<std::size_t>(field)]
                                                                           : kNull;
}

bool matches(const LayerData& layer, std::uint32_t i, const ItemQuery& q) {
    const Feature& f = layer.features[i];
    if (q.bbox && (f.geometry.envelope.empty() || !f.geometry.envelope.intersects(*q.bbox))) return false;
    for (const auto& filter : q.filters)
        if (!equals_text(value_of(f, filter.field), filter.value)) return false;
    return true;
}

}  // namespace

const LayerData* Snapshot::layer(std::string_view id) const {
    const auto it = layers.find(id);
    return it == layers.end() ? nullptr : &it->second;
}

std::string Snapshot::commune_name(std::string_view insee) const { return communes ? communes->name(insee) : ""; }

LayerData make_layer_data(LayerSpec spec, std::vector<Feature> features, std::string published_at) {
    LayerData d;
    d.spec = std::move(spec);
    d.features = std::move(features);
    d.published_at = std::move(published_at);

    std::vector<Envelope> envelopes;
    envelopes.reserve(d.features.size());
    for (const auto& f : d.features) envelopes.push_back(f.geometry.envelope);
    d.rtree = PackedRTree(envelopes);
    d.extent = d.rtree.bounds();

    const int insee = d.spec.insee_field.empty() ? -1 : d.spec.field_index(d.spec.insee_field);
    d.by_id.reserve(d.features.size());
    for (std::uint32_t i = 0; i < d.features.size(); ++i) {
        const Feature& f = d.features[i];
        d.by_id.emplace(f.id, i);  // the first of equal identifiers (one per source) answers /items/{id}
        if (insee >= 0) {
            const Value& v = value_of(f, insee);
            if (!is_null(v)) d.by_insee[to_text(v)].push_back(i);
        }
    }
    return d;
}

std::vector<std::uint32_t> query(const LayerData& layer, const ItemQuery& q) {
    std::vector<std::uint32_t> out;
    // Start from the narrowest index at hand: the commune's list, else the R-tree, else every feature.
    const std::vector<std::uint32_t>* by_insee = nullptr;
    const int insee = layer.spec.insee_field.empty() ? -1 : layer.spec.field_index(layer.spec.insee_field);
    if (insee >= 0 && layer.spec.fields[static_cast<std::size_t>(insee)].type == FieldType::String) {
        for (const auto& filter : q.filters) {
            if (filter.field != insee || filter.value.empty()) continue;  // "" also matches nulls: not indexed
            const auto it = layer.by_insee.find(filter.value);
            if (it == layer.by_insee.end()) return out;
            by_insee = &it->second;
            break;
        }
    }
    if (by_insee) {
        for (const std::uint32_t i : *by_insee)
            if (matches(layer, i, q)) out.push_back(i);
        return out;
    }
    if (q.bbox) {
        layer.rtree.search(*q.bbox, out);
        std::sort(out.begin(), out.end());
        if (!q.filters.empty())
            out.erase(std::remove_if(out.begin(), out.end(), [&](std::uint32_t i) { return !matches(layer, i, q); }),
                      out.end());
        return out;
    }
    for (std::uint32_t i = 0; i < layer.features.size(); ++i)
        if (matches(layer, i, q)) out.push_back(i);
    return out;
}

}  // namespace ideo::index
