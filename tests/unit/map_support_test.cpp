// The map page's server side: commune search over real commune polygons and postcodes, and the
// routes of the static page (no path leaves the built folder).
#include <algorithm>

#include <gtest/gtest.h>

#include "../../src/server/http.hpp"
#include "../support/communes_fixture.hpp"
#include "ideo/index/commune_search.hpp"
#include "ideo/index/snapshot.hpp"

namespace ideo {
namespace {

class CommuneSearchTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        auto c = test::load_communes({"90", "21"});
        const LayerSpec spec = c->catalog.get("communes");
        layer_ = new index::LayerData(index::make_layer_data(spec, std::move(c->features)));
        search_ = new index::CommuneSearch(*layer_, index::read_postcodes(index::postcodes_path(spec)));
    }
    static void TearDownTestSuite() {
        delete search_;
        delete layer_;
    }
    static std::vector<std::string> codes(std::string_view q, std::size_t limit = 10) {
        std::vector<std::string> out;
        for (const auto& h : search_->search(q, limit)) out.push_back(h.insee);
        return out;
    }
    static index::LayerData* layer_;
    static index::CommuneSearch* search_;
};
index::LayerData* CommuneSearchTest::layer_ = nullptr;
index::CommuneSearch* CommuneSearchTest::search_ = nullptr;

TEST_F(CommuneSearchTest, FindsACommuneByNameWhateverTheCaseAndAccents) {
    const auto hits = search_->search("belfort", 5);
    ASSERT_FALSE(hits.empty());
    EXPECT_EQ(hits.front().insee, "90010");
    EXPECT_EQ(hits.front().nom, "Belfort");
    EXPECT_EQ(codes("CHATENOIS LES FORGES").front(), "90022");
    EXPECT_EQ(codes("châtenois-les-forges").front(), "90022");
}

TEST_F(CommuneSearchTest, FindsACommuneByInseeCodeAndByPostcode) {
    EXPECT_EQ(codes("21231").front(), "21231");
    const auto hits = search_->search("90000", 3);
    ASSERT_FALSE(hits.empty());
    EXPECT_EQ(hits.front().insee, "90010");
    EXPECT_EQ(hits.front().postcodes, std::vector<std::string>{"90000"});
}

TEST_F(CommuneSearchTest, RanksPrefixMatchesBeforeWordsAndSubstrings) {
    EXPECT_EQ(search_->search("dijon", 10).at(0).nom, "Dijon");
    // "fort": names starting with it, then names with a word starting with it (Belfort has neither first).
    const auto hits = search_->search("fort", 50);
    ASSERT_GE(hits.size(), 3u);
    const auto kind = [](const std::string& nom) {
        const std::string k = index::search_key(nom);
        return k.rfind("fort", 0) == 0 ? 1 : k.find(" fort") != std::string::npos ? 2 : 3;
    };
    for (std::size_t i = 1; i < hits.size(); ++i)
        EXPECT_LE(kind(hits[i - 1].nom), kind(hits[i].nom)) << hits[i - 1].nom << " before " << hits[i].nom;
    EXPECT_TRUE(std::any_of(hits.begin(), hits.end(), [](const auto& h) { return h.insee == "90010"; }));
}

TEST_F(CommuneSearchTest, GivesEachCommuneItsBoundingBox) {
    const auto hit = search_->search("90010", 1).at(0);
    EXPECT_LT(hit.bbox.min_x, 6.86);
    EXPECT_GT(hit.bbox.max_x, 6.86);
    EXPECT_LT(hit.bbox.min_y, 47.64);
    EXPECT_GT(hit.bbox.max_y, 47.64);
}

TEST_F(CommuneSearchTest, AnswersNothingForAnEmptyOrUnknownQuery) {
    EXPECT_TRUE(search_->search("", 10).empty());
    EXPECT_TRUE(search_->search("  - ", 10).empty());
    EXPECT_TRUE(search_->search("zzzzqx", 10).empty());
}

TEST(CommuneSearchPostcodes, ABrokenListIsAnErrorNamingTheFile) {
    EXPECT_THROW(
        {
            try {
                index::read_postcodes("/nonexistent/postcodes.json");
            } catch (const std::exception& e) {
                EXPECT_NE(std::string(e.what()).find("/nonexistent/postcodes.json"), std::string::npos);
                throw;
            }
        },
        std::exception);
}

TEST(MapRoutes, MapPathsNameThePageTheEmbedAndAssets) {
    using server::Endpoint;
    EXPECT_EQ(server::route("GET", "/map").endpoint, Endpoint::MapPage);
    EXPECT_EQ(server::route("GET", "/map/embed").endpoint, Endpoint::MapEmbed);
    const auto asset = server::route("GET", "/map/assets/index-abc.js");
    EXPECT_EQ(asset.endpoint, Endpoint::MapAsset);
    EXPECT_EQ(asset.asset, (std::vector<std::string>{"assets", "index-abc.js"}));
    EXPECT_EQ(server::route("POST", "/map").endpoint, Endpoint::MethodNotAllowed);
    EXPECT_EQ(server::route("GET", "/communes/search").endpoint, Endpoint::CommuneSearch);
}

}  // namespace
}  // namespace ideo
