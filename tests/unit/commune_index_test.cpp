// Commune attribution: polygons of the communes layer, point location and distances in Lambert-93,
// and answers that do not change when several threads ask at once.
#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include <chrono>
#include <set>
#include <thread>

#include "communes_fixture.hpp"
#include "ideo/ingest/ingest.hpp"
#include "test_support.hpp"

namespace ideo {
namespace {

constexpr double kBelfortTownHallLon = 6.8628, kBelfortTownHallLat = 47.6380;

class CommuneIndexTest : public ::testing::Test {
public:
    static void SetUpTestSuite() {
        if (!communes) communes = test::load_communes({"21", "90", "13210"});
    }
    static std::unique_ptr<test::Communes> communes;
};
std::unique_ptr<test::Communes> CommuneIndexTest::communes;

TEST_F(CommuneIndexTest, CommunesLayerIngestsAsPolygonsWithCodesAndNames) {
    const LayerSpec& l = communes->catalog.get("communes");
    const int code = l.field_index("code"), nom = l.field_index("nom");
    std::set<std::string> codes;
    for (const auto& f : communes->features) {
        ASSERT_FALSE(f.geometry.empty()) << f.id;
        EXPECT_FALSE(f.geometry.is_point());
        const std::uint8_t type = static_cast<std::uint8_t>(f.geometry.wkb[1]);
        EXPECT_TRUE(f.geometry.wkb[0] == 1 && (type == 3 || type == 6)) << "little-endian ISO (Multi)Polygon";
        const std::string c = to_text(f.values[static_cast<size_t>(code)]);
        EXPECT_EQ(c.size(), 5u);
        EXPECT_EQ(c, f.id);
        EXPECT_FALSE(to_text(f.values[static_cast<size_t>(nom)]).empty());
        EXPECT_GT(f.geometry.envelope.min_x, 4.0);
        EXPECT_LT(f.geometry.envelope.max_x, 7.5);
        codes.insert(c);
    }
    EXPECT_GT(codes.size(), 800u);  // ~700 in Côte-d'Or, ~100 in the Territoire de Belfort, the Marseille zone
    EXPECT_EQ(communes->index->size(), codes.size());
    EXPECT_TRUE(codes.count("13210"));
}

TEST_F(CommuneIndexTest, LocatesBelfortTownHallInBelfort) {
    EXPECT_EQ(communes->index->locate(kBelfortTownHallLon, kBelfortTownHallLat), "90010");
    EXPECT_EQ(communes->index->name("90010"), "Belfort");
    EXPECT_TRUE(communes->index->knows("90010"));
    EXPECT_FALSE(communes->index->knows("75056"));
    EXPECT_EQ(communes->index->name("75056"), "");
}

TEST_F(CommuneIndexTest, PointsOutsideEveryCommuneAreNotLocated) {
    EXPECT_FALSE(communes->index->locate(2.3522, 48.8566));  // Paris
    EXPECT_FALSE(communes->index->locate(47.3, 5.0));        // Dijon with lon/lat swapped
    EXPECT_FALSE(communes->index->locate(0, 0));
}

TEST_F(CommuneIndexTest, DistanceIsZeroInsideAndLambert93MetresOutside) {
    const auto& idx = *communes->index;
    EXPECT_EQ(idx.distance_m("90010", kBelfortTownHallLon, kBelfortTownHallLat), 0.0);
    // Belfort town hall lies some 150 km from Dijon's boundary.
    const auto d = idx.distance_m("21231", kBelfortTownHallLon, kBelfortTownHallLat);
    ASSERT_TRUE(d);
    EXPECT_GT(*d, 120000);
    EXPECT_LT(*d, 180000);
    // A point 1 km east of a commune's easternmost vertex is about 1 km away.
    const Feature* belfort = nullptr;
    for (const auto& f : communes->features)
        if (f.id == "90010") belfort = &f;
    ASSERT_NE(belfort, nullptr);
    const auto east = ingest::transform_point("EPSG:4326", "EPSG:2154",
                                              {belfort->geometry.envelope.max_x, belfort->geometry.envelope.max_y});
    const auto probe = ingest::transform_point("EPSG:2154", "EPSG:4326", {east.x + 1000, east.y});
    const auto near = idx.distance_m("90010", probe.x, probe.y);
    ASSERT_TRUE(near);
    EXPECT_GT(*near, 900);
    EXPECT_FALSE(idx.distance_m("99999", 5, 47));
}

TEST_F(CommuneIndexTest, LocatesEveryCleanPeiOfCoteDOrInItsStatedCommune) {
    const LayerSpec& pei = communes->catalog.get("pei");
    const SourceSpec* s = pei.find_source("sdis21");
    const auto r = ingest::ingest_file(pei, *s, s->url, nullptr);  // no index: locations as the partner wrote them
    rapidjson::Document m;
    m.Parse(test::read_file(test::data("deci/manifest.json")).c_str());
    std::set<std::string> damaged;
    for (const auto& kind : m["files"]["pei-21-sdis21.geojson"]["defects"].GetObject())
        for (const auto& id : kind.value.GetArray()) damaged.insert(id.GetString());
    const int insee = pei.field_index("insee");
    std::vector<std::pair<const Feature*, std::string>> clean;
    for (const auto& f : r.features) {
        const std::string code = to_text(f.values[static_cast<size_t>(insee)]);
        if (!damaged.count(f.id) && !code.empty() && f.geometry.is_point()) clean.emplace_back(&f, code);
    }
    ASSERT_GT(clean.size(), 9000u);
    const auto start = std::chrono::steady_clock::now();
    size_t located = 0;
    for (const auto& [f, code] : clean) {
        const auto found = communes->index->locate(f->geometry.envelope.min_x, f->geometry.envelope.min_y);
        EXPECT_EQ(found, code) << f->id;
        located += found == code;
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    std::printf("located %zu PEI in %lld ms\n", located, static_cast<long long>(ms));
    EXPECT_EQ(located, clean.size());
}

TEST_F(CommuneIndexTest, ConcurrentQueriesAnswerLikeSequentialOnes) {
    std::vector<std::pair<double, double>> points;
    for (int i = 0; i < 400; ++i) points.emplace_back(4.2 + 2.8 * (i % 20) / 20.0, 46.9 + 1.0 * (i / 20) / 20.0);
    std::vector<std::optional<std::string>> expected;
    for (const auto& [lon, lat] : points) expected.push_back(communes->index->locate(lon, lat));
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int round = 0; round < 5; ++round)
                for (size_t i = 0; i < points.size(); ++i) {
                    if (communes->index->locate(points[i].first, points[i].second) != expected[i]) ++mismatches;
                    if (expected[i] && communes->index->distance_m(*expected[i], points[i].first, points[i].second) != 0.0)
                        ++mismatches;
                }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(mismatches.load(), 0);
    EXPECT_GT(std::count_if(expected.begin(), expected.end(), [](const auto& e) { return e.has_value(); }), 100);
}

}  // namespace
}  // namespace ideo
