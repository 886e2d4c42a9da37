// The packed Hilbert R-tree and the snapshot's item query, checked against brute force.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "ideo/cli/snapshot_loader.hpp"
#include "ideo/index/rtree.hpp"
#include "ideo/index/snapshot.hpp"
#include "ideo/store/store.hpp"
#include "test_support.hpp"

namespace ideo::index {
namespace {

Envelope box(double min_x, double min_y, double max_x, double max_y) {
    Envelope e;
    e.expand(min_x, min_y);
    e.expand(max_x, max_y);
    return e;
}

std::vector<std::uint32_t> search(const PackedRTree& tree, const Envelope& b) {
    std::vector<std::uint32_t> out;
    tree.search(b, out);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::uint32_t> brute_force(const std::vector<Envelope>& items, const Envelope& b) {
    std::vector<std::uint32_t> out;
    for (std::uint32_t i = 0; i < items.size(); ++i)
        if (!items[i].empty() && items[i].intersects(b)) out.push_back(i);
    return out;
}

// A random box over Burgundy, from a point to a tenth of the region wide.
Envelope random_box(std::mt19937& rng) {
    std::uniform_real_distribution<double> lon(2.8, 7.2), lat(46.0, 48.5), size(0.0, 0.4);
    const double x = lon(rng), y = lat(rng);
    return box(x, y, x + size(rng), y + size(rng) / 2);
}

TEST(PackedRTree, EmptyTreeFindsNothing) {
    const PackedRTree none;
    EXPECT_EQ(none.size(), 0u);
    EXPECT_TRUE(search(none, box(-180, -90, 180, 90)).empty());
    const PackedRTree built(std::vector<Envelope>{});
    EXPECT_TRUE(built.bounds().empty());
    EXPECT_TRUE(search(built, box(-180, -90, 180, 90)).empty());
}

TEST(PackedRTree, SingleItemIsFoundOnlyWhereItIs) {
    const PackedRTree tree({box(5.04, 47.32, 5.04, 47.32)});
    EXPECT_EQ(tree.size(), 1u);
    EXPECT_EQ(search(tree, box(5, 47, 5.1, 47.4)), (std::vector<std::uint32_t>{0}));
    EXPECT_EQ(search(tree, box(5.04, 47.32, 5.04, 47.32)), (std::vector<std::uint32_t>{0}));  // touching counts
    EXPECT_TRUE(search(tree, box(5.05, 47, 5.1, 47.4)).empty());
    EXPECT_TRUE(search(tree, Envelope{}).empty());
}

TEST(PackedRTree, EmptyEnvelopesAreSkipped) {
    const std::vector<Envelope> items = {Envelope{}, box(5, 47, 5, 47), Envelope{}, box(6, 47.5, 6.1, 47.6),
                                         Envelope{}};
    const PackedRTree tree(items);
    EXPECT_EQ(tree.size(), 2u);
    EXPECT_EQ(search(tree, box(-180, -90, 180, 90)), (std::vector<std::uint32_t>{1, 3}));
    EXPECT_EQ(tree.bounds().min_x, 5);
    EXPECT_EQ(tree.bounds().max_y, 47.6);
    EXPECT_TRUE(search(PackedRTree(std::vector<Envelope>(10)), box(-180, -90, 180, 90)).empty());
}

TEST(PackedRTree, IdenticalPointsAreAllFound) {
    const PackedRTree tree(std::vector<Envelope>(100, box(5, 47, 5, 47)));
    EXPECT_EQ(search(tree, box(4, 46, 6, 48)).size(), 100u);
}

TEST(PackedRTree, SearchEqualsBruteForceOverRandomBoxes) {
    std::mt19937 rng(20260115);
    std::vector<Envelope> items;
    std::uniform_real_distribution<double> lon(3.0, 7.0), lat(46.2, 48.3), size(0.0, 0.05);
    std::bernoulli_distribution located(0.9), is_box(0.2);
    for (int i = 0; i < 6000; ++i) {
        if (!located(rng)) {
            items.emplace_back();  // a record without coordinates
            continue;
        }
        const double x = lon(rng), y = lat(rng);
        items.push_back(is_box(rng) ? box(x, y, x + size(rng), y + size(rng)) : box(x, y, x, y));
    }
    for (int node_size : {2, 3, 16, 64}) {
        SCOPED_TRACE(node_size);
        const PackedRTree tree(items, node_size);
        std::size_t found = 0;
        for (int q = 0; q < 1500; ++q) {
            const Envelope b = random_box(rng);
            const auto expected = brute_force(items, b);
            ASSERT_EQ(search(tree, b), expected);
            found += expected.size();
        }
        EXPECT_GT(found, 1000u);  // the boxes did hit something
        EXPECT_EQ(search(tree, box(-180, -90, 180, 90)).size(), tree.size());
    }
}

const LayerSpec& pei_spec() {
    static const LayerCatalog catalog = load_layers(test::layers_dir());
    return catalog.get("pei");
}

// PEI spread over a few communes, with repeated codes and values so that filters combine.
std::vector<Feature> random_pei(std::size_t n, std::mt19937& rng) {
    const LayerSpec& pei = pei_spec();
    const std::vector<std::string> communes = {"21231", "21054", "21166", "21425", "71076", "90010"};
    const std::vector<std::string> types = {"PI", "BI", "PA", "CI"};
    std::uniform_real_distribution<double> lon(4.0, 6.0), lat(46.5, 48.0);
    std::uniform_int_distribution<std::size_t> pick(0, 1000);
    std::vector<Feature> out;
    for (std::size_t i = 0; i < n; ++i) {
        Feature f;
        f.values.resize(pei.fields.size());
        f.id = "PEI-" + std::to_string(i);
        f.values[pei.field_index("id_sdis")] = f.id;
        if (pick(rng) % 20) f.values[pei.field_index("insee")] = communes[pick(rng) % communes.size()];
        f.values[pei.field_index("type_pei")] = types[pick(rng) % types.size()];
        f.values[pei.field_index("diam_pei")] = std::int64_t{pick(rng) % 2 ? 100 : 150};
        f.values[pei.field_index("debit")] = double(pick(rng) % 4) * 30.0;
        if (pick(rng) % 8) f.geometry = Geometry::point(lon(rng), lat(rng));
        out.push_back(std::move(f));
    }
    return out;
}

std::vector<std::uint32_t> brute_force(const LayerData& layer, const ItemQuery& q) {
    std::vector<std::uint32_t> out;
    for (std::uint32_t i = 0; i < layer.features.size(); ++i) {
        const Feature& f = layer.features[i];
        if (q.bbox && (f.geometry.empty() || !f.geometry.envelope.intersects(*q.bbox))) continue;
        bool ok = true;
        for (const auto& filter : q.filters) ok = ok && equals_text(f.values[filter.field], filter.value);
        if (ok) out.push_back(i);
    }
    return out;
}

TEST(SnapshotQuery, BboxAndFiltersEqualBruteForce) {
    std::mt19937 rng(42);
    const LayerData layer = make_layer_data(pei_spec(), random_pei(5000, rng));
    const LayerSpec& pei = layer.spec;
    const int insee = pei.field_index("insee"), type = pei.field_index("type_pei"),
              diam = pei.field_index("diam_pei"), debit = pei.field_index("debit");
    const std::vector<std::vector<PropertyFilter>> filter_sets = {
        {},
        {{insee, "21231"}},
        {{insee, "99999"}},
        {{insee, ""}},
        {{type, "PI"}},
        {{insee, "21054"}, {type, "BI"}},
        {{type, "CI"}, {diam, "150"}},
        {{debit, "60"}, {insee, "71076"}},
        {{diam, "abc"}},
    };
    std::size_t matched = 0;
    for (int round = 0; round < 200; ++round) {
        for (const auto& filters : filter_sets) {
            ItemQuery q;
            q.filters = filters;
            if (round % 4) q.bbox = random_box(rng);
            const auto expected = brute_force(layer, q);
            ASSERT_EQ(query(layer, q), expected) << "round " << round;
            matched += expected.size();
        }
    }
    EXPECT_GT(matched, 10000u);
    EXPECT_EQ(query(layer, {}).size(), layer.features.size());
}

TEST(SnapshotQuery, LayerDataIndexesIdentifiersCommunesAndExtent) {
    std::mt19937 rng(7);
    const auto features = random_pei(500, rng);
    const LayerData layer = make_layer_data(pei_spec(), features, "2026-01-15T10:00:00Z");
    EXPECT_EQ(layer.by_id.at("PEI-42"), 42u);
    const int insee = layer.spec.field_index("insee");
    std::size_t indexed = 0;
    for (const auto& [code, ids] : layer.by_insee) {
        EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
        for (auto i : ids) EXPECT_EQ(to_text(layer.features[i].values[insee]), code);
        indexed += ids.size();
    }
    EXPECT_EQ(indexed, static_cast<std::size_t>(std::count_if(features.begin(), features.end(), [&](const Feature& f) {
                  return !is_null(f.values[insee]);
              })));
    Envelope extent;
    for (const auto& f : features) extent.expand(f.geometry.envelope);
    EXPECT_EQ(layer.extent.min_x, extent.min_x);
    EXPECT_EQ(layer.extent.max_y, extent.max_y);
    EXPECT_EQ(layer.published_at, "2026-01-15T10:00:00Z");
}

TEST(Snapshot, LoadsEveryLayerOfTheCatalogFromTheStore) {
    test::TempDir dir;
    auto store = store::open_store((dir / "ideo.gpkg").string());
    const LayerCatalog catalog = load_layers(test::layers_dir());
    std::mt19937 rng(3);
    const auto features = random_pei(300, rng);
    const auto published = store->publish(catalog.get("pei"), "sdis21", features, {}, Report{});

    const auto snapshot = cli::load_snapshot(*store, catalog);
    EXPECT_EQ(snapshot->version, published.version);
    EXPECT_EQ(snapshot->layers.size(), catalog.layers.size());
    const LayerData* pei = snapshot->layer("pei");
    ASSERT_NE(pei, nullptr);
    EXPECT_EQ(pei->features.size(), 300u);
    EXPECT_EQ(pei->published_at, published.published_at);
    const auto located = std::count_if(features.begin(), features.end(),
                                       [](const Feature& f) { return !f.geometry.empty(); });
    EXPECT_EQ(pei->rtree.size(), static_cast<std::size_t>(located));
    EXPECT_TRUE(snapshot->layer("erp")->features.empty());
    EXPECT_EQ(snapshot->layer("nope"), nullptr);
    EXPECT_EQ(snapshot->communes, nullptr);  // no commune polygons published
    EXPECT_EQ(snapshot->commune_name("21231"), "");
}

}  // namespace
}  // namespace ideo::index
