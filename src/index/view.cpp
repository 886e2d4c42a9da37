#include "ideo/index/view.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "ideo/catalog/search.hpp"
#include "ideo/core/error.hpp"
#include "ideo/core/sha256.hpp"
#include "ideo/index/cql2.hpp"

namespace ideo::index {
namespace {

const Value kNull;

const Value& value_at(const Feature& f, int field) {
    return field >= 0 && static_cast<std::size_t>(field) < f.values.size() ? f.values[static_cast<std::size_t>(field)] : kNull;
}

// A grant list that lets this caller in everywhere (a grant of its role, or the public's, without "own").
bool granted_everywhere(const std::vector<AccessGrant>& grants, const access::Identity& who) {
    return std::any_of(grants.begin(), grants.end(), [&](const AccessGrant& g) { return !g.own && (!g.role || *g.role == who.role); });
}

template <class Map>
const auto* for_role(const Map& m, access::Role role) {
    const auto it = m.find(role);
    return it == m.end() ? nullptr : &it->second;
}

// The fields of `spec` this caller sees, by index.
std::vector<int> kept_fields(const LayerSpec& spec, const access::Identity& who) {
    const auto* hidden = for_role(spec.access.hidden_fields, who.role);
    const auto* visible = for_role(spec.access.visible_fields, who.role);
    std::vector<int> kept;
    for (std::size_t i = 0; i < spec.fields.size(); ++i) {
        const auto& name = spec.fields[i].name;
        if (hidden && std::find(hidden->begin(), hidden->end(), name) != hidden->end()) continue;
        if (visible && std::find(visible->begin(), visible->end(), name) == visible->end()) continue;
        kept.push_back(static_cast<int>(i));
    }
    return kept;
}

Geometry center_point(const Envelope& e) {
    if (e.empty()) return {};
    return Geometry::point((e.min_x + e.max_x) / 2, (e.min_y + e.max_y) / 2);
}

// Where communes and departments are, from the communes layer: the centre of their extent.
class Places {
public:
    explicit Places(const Snapshot& full) : communes_(full.layer("communes")) {}

    Geometry commune(const std::string& insee) const {
        if (!communes_) return {};
        const auto it = communes_->by_insee.find(insee);
        if (it == communes_->by_insee.end()) return {};
        Envelope e;
        for (const auto i : it->second) e.expand(communes_->features[i].geometry.envelope);
        return center_point(e);
    }
    Geometry department(const std::string& insee) {
        if (!communes_) return {};
        if (departments_.empty())
            for (const auto& [code, indices] : communes_->by_insee)
                for (const auto i : indices) departments_[access::department_of(code)].expand(communes_->features[i].geometry.envelope);
        const auto it = departments_.find(access::department_of(insee));
        return it == departments_.end() ? Geometry{} : center_point(it->second);
    }

private:
    const LayerData* communes_;
    std::map<std::string, Envelope> departments_;
};

// The geometry at the precision of the rule: grids snap the centre of the feature to cells of N metres.
Geometry generalise(const Geometry& g, const GeometryRule& rule, const std::string& insee, Places& places) {
    switch (rule.level) {
        case GeometryLevel::Exact: return g;
        case GeometryLevel::None: return {};
        case GeometryLevel::Commune: return places.commune(insee);
        case GeometryLevel::Department: return places.department(insee);
        case GeometryLevel::Grid: {
            if (g.empty()) return {};
            const double lat = (g.envelope.min_y + g.envelope.max_y) / 2, lon = (g.envelope.min_x + g.envelope.max_x) / 2;
            const double dlat = rule.grid_m / 111320.0;
            const double dlon = rule.grid_m / (111320.0 * std::max(0.01, std::cos(lat * M_PI / 180)));
            return Geometry::point((std::floor(lon / dlon) + 0.5) * dlon, (std::floor(lat / dlat) + 0.5) * dlat);
        }
    }
    return {};
}

// The spec of the view: the kept fields (and the count field), references to removed fields dropped.
LayerSpec view_spec(const LayerSpec& spec, const std::vector<int>& kept, bool counts) {
    LayerSpec out = spec;
    out.fields.clear();
    std::vector<int> remap(spec.fields.size(), -1);
    for (const int i : kept) {
        remap[static_cast<std::size_t>(i)] = static_cast<int>(out.fields.size());
        out.fields.push_back(spec.fields[static_cast<std::size_t>(i)]);
    }
    if (counts) {
        FieldSpec n;
        n.name = kCountField;
        n.title = "Nombre";
        n.type = FieldType::Integer;
        out.fields.push_back(n);
    }
    for (std::string* name : {&out.id_field, &out.insee_field, &out.name_field, &out.date_field})
        if (out.field_index(*name) < 0) name->clear();
    auto known = [&](const std::string& f) { return out.field_index(f) >= 0; };
    auto& props = out.tiles.properties;
    props.erase(std::remove_if(props.begin(), props.end(), [&](const auto& f) { return !known(f); }), props.end());
    if (counts && !spec.tiles.properties.empty()) props.push_back(kCountField);
    for (auto& z : out.tiles.zoom_properties)
        z.fields.erase(std::remove_if(z.fields.begin(), z.fields.end(), [&](const auto& f) { return !known(f); }), z.fields.end());
    auto& stats = out.tiles.cluster_stats;
    stats.erase(std::remove_if(stats.begin(), stats.end(),
                               [&](ClusterStat& s) {
                                   for (auto& group : s.any_of)
                                       for (auto& c : group) {
                                           c.field = c.field >= 0 ? remap[static_cast<std::size_t>(c.field)] : -1;
                                           if (c.field < 0) return true;
                                       }
                                   return false;
                               }),
                stats.end());
    return out;
}

struct ViewCache {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<const Snapshot>> views;
};

// The catalogue of the views that leave out the same layers, made once per snapshot and set of layers.
struct CatalogViews {
    struct Entry {
        std::shared_ptr<const catalog::Catalog> catalog;
        std::vector<std::string> challenged_records;
    };
    std::mutex mutex;
    std::map<std::vector<std::string>, Entry> by_hidden;
};

// A catalogue record describing a layer the view leaves out is left out too: from search, facets, the
// record by id and the DCAT-AP export with its distributions.
void view_catalog(Snapshot& view, const Snapshot& full, const std::vector<std::string>& hidden) {
    if (!full.catalog || hidden.empty()) return;
    auto cache = full.attachment<CatalogViews>([] { return std::make_shared<CatalogViews>(); });
    std::lock_guard lock(cache->mutex);
    auto [it, fresh] = cache->by_hidden.try_emplace(hidden);
    if (fresh) {
        it->second.catalog = catalog::without_layers(*full.catalog, hidden);
        for (const auto& r : full.catalog->records)
            if (std::binary_search(hidden.begin(), hidden.end(), r.feeds_layer) && full.layer(r.feeds_layer)->spec.access.challenge)
                it->second.challenged_records.push_back(r.id);  // records are ordered by id: the list is sorted
    }
    if (it->second.catalog) view.catalog = it->second.catalog;
    view.challenged_records = it->second.challenged_records;
}

constexpr std::size_t kMaxCachedViews = 64;  // one per role and territory asking; past it, start again

}  // namespace

bool may(const LayerSpec& spec, AccessOperation op, const access::Identity& who, std::string_view insee) {
    return !spec.access.declared || granted(spec.access.grants(op), who, insee);
}

bool restricts(const LayerSpec& spec, const access::Identity& who) {
    const AccessPolicy& p = spec.access;
    if (!p.declared) return false;
    if (!granted(p.discover, who)) return true;
    if (p.rows_restricted && !granted_everywhere(p.rows, who)) return true;
    if (!p.row_filter.empty() && !granted_everywhere(p.row_filter_visible_to, who)) return true;
    if (for_role(p.hidden_fields, who.role) || for_role(p.visible_fields, who.role)) return true;
    const auto* g = for_role(p.geometry, who.role);
    return g && g->level != GeometryLevel::Exact;
}

std::string view_key(const access::Identity& who) {
    std::string key(access::role_name(who.role));
    if (who.anonymous()) return key;
    auto insee = who.insee;
    auto depts = who.depts;
    std::sort(insee.begin(), insee.end());
    std::sort(depts.begin(), depts.end());
    std::string territory;
    for (const auto& c : insee) territory += c + ',';
    territory += '/';
    for (const auto& d : depts) territory += d + ',';
    return key + '-' + sha256_hex(territory).substr(0, 12);
}

LayerData view_layer(const LayerData& layer, const Snapshot& full, const access::Identity& who) {
    const LayerSpec& spec = layer.spec;
    const AccessPolicy& p = spec.access;
    const int insee_field = spec.insee_field.empty() ? -1 : spec.field_index(spec.insee_field);
    std::unique_ptr<cql2::Expr> filter;
    if (!p.row_filter.empty()) {
        try {
            filter = cql2::parse(p.row_filter, spec);
        } catch (const std::exception& e) {
            throw InputError(spec.file.string() + ": access.row_filter.where: " + e.what());
        }
    }
    // Which features this caller reads; the others are withheld (counted per commune when the policy says so).
    std::vector<std::uint32_t> readable;
    std::map<std::string, std::int64_t> withheld_per_commune;
    for (std::uint32_t i = 0; i < layer.features.size(); ++i) {
        const Feature& f = layer.features[i];
        const std::string insee = insee_field >= 0 ? to_text(value_at(f, insee_field)) : std::string();
        bool ok = !p.rows_restricted || granted(p.rows, who, insee.empty() ? std::string_view("-") : insee);
        if (ok && filter && !granted(p.row_filter_visible_to, who, insee.empty() ? std::string_view("-") : insee) &&
            cql2::matches(*filter, spec, f))
            ok = false;
        if (ok) readable.push_back(i);
        else if (p.count_withheld_by_commune && !insee.empty()) ++withheld_per_commune[insee];
    }
    const bool counts = !withheld_per_commune.empty();
    // Nothing readable: the counts alone, with the commune code (no column of a withheld feature's).
    std::vector<int> kept = readable.empty() && counts ? std::vector<int>{insee_field} : kept_fields(spec, who);
    const bool id_kept = std::find(kept.begin(), kept.end(), spec.field_index(spec.id_field)) != kept.end();
    const GeometryRule* rule = for_role(p.geometry, who.role);
    Places places(full);

    std::vector<Feature> out;
    out.reserve(readable.size() + withheld_per_commune.size());
    for (const auto i : readable) {
        const Feature& f = layer.features[i];
        Feature g;
        g.id = id_kept ? f.id : "n" + std::to_string(out.size() + 1);  // an identifier that says nothing hidden
        g.values.reserve(kept.size() + counts);
        for (const int k : kept) g.values.push_back(value_at(f, k));
        if (counts) g.values.emplace_back(std::int64_t{1});
        const std::string insee = insee_field >= 0 ? to_text(value_at(f, insee_field)) : std::string();
        g.geometry = rule ? generalise(f.geometry, *rule, insee, places) : f.geometry;
        g.provenance.source = f.provenance.source;
        g.provenance.harvested_at = f.provenance.harvested_at;
        if (id_kept) g.provenance.source_id = f.provenance.source_id;
        g.flags = f.flags;
        out.push_back(std::move(g));
    }
    for (const auto& [insee, n] : withheld_per_commune) {
        Feature g;
        g.id = "commune-" + insee;
        for (const int k : kept) g.values.push_back(k == insee_field ? Value(insee) : Value());
        g.values.emplace_back(n);
        g.geometry = places.commune(insee);
        out.push_back(std::move(g));
    }
    return make_layer_data(view_spec(spec, kept, counts), std::move(out), layer.published_at);
}

std::shared_ptr<const Snapshot> view_of(const Snapshot& full, const access::Identity& who) {
    const bool restricted = std::any_of(full.layers.begin(), full.layers.end(),
                                        [&](const auto& entry) { return restricts(entry.second.spec, who); });
    if (!restricted) return std::shared_ptr<const Snapshot>(std::shared_ptr<const Snapshot>(), &full);  // not owned
    const std::string key = view_key(who);
    auto cache = full.attachment<ViewCache>([] { return std::make_shared<ViewCache>(); });
    std::lock_guard lock(cache->mutex);  // one build per key; other keys wait (rare: a view is made once)
    if (const auto it = cache->views.find(key); it != cache->views.end()) return it->second;
    auto view = std::make_shared<Snapshot>();
    view->version = full.version;
    view->communes = full.communes;
    view->catalog = full.catalog;
    view->view = key;
    std::vector<std::string> hidden;  // in layer id order: sorted
    for (const auto& [id, layer] : full.layers) {
        if (!granted(layer.spec.access.discover, who) && layer.spec.access.declared) {
            if (layer.spec.access.challenge) view->challenged.push_back(id);
            hidden.push_back(id);
            continue;
        }
        view->layers.emplace(id, restricts(layer.spec, who) ? view_layer(layer, full, who) : layer);
    }
    view_catalog(*view, full, hidden);
    if (cache->views.size() >= kMaxCachedViews) cache->views.clear();
    cache->views.emplace(key, view);
    return view;
}

}  // namespace ideo::index
