// `ideo serve` serving the built map page: the page, the embed, hashed assets with long caching,
// ETag revalidation, and no path that leaves the build folder.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "../support/test_support.hpp"

namespace ideo {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

class MapPageServer : public ::testing::Test {
protected:
    void SetUp() override {
        write(tmp_ / "web/dist/index.html", "<!doctype html><title>Carte</title>");
        write(tmp_ / "web/dist/embed.html", "<!doctype html><title>Carte embarquee</title>");
        write(tmp_ / "web/dist/assets/index-3f9a.js", "console.log('map')");
        write(tmp_ / "web/secret.txt", "outside the build");
        fs::create_symlink(tmp_ / "web/secret.txt", tmp_ / "web/dist/assets/link.txt");
        server_ = std::make_unique<test::ServerProcess>(std::vector<std::string>{
            "--store", (tmp_ / "ideo.gpkg").string(), "--web", (tmp_ / "web").string()});
    }
    test::TempDir tmp_;
    std::unique_ptr<test::ServerProcess> server_;
};

TEST_F(MapPageServer, ServesThePageAndTheEmbedAsHtml) {
    const auto page = test::http_get(server_->port(), "/map");
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.headers.at("content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(page.body, "<!doctype html><title>Carte</title>");
    EXPECT_EQ(page.headers.at("x-frame-options"), "SAMEORIGIN");
    const auto embed = test::http_get(server_->port(), "/map/embed?layers=pei&insee=90010");
    EXPECT_EQ(embed.status, 200);
    EXPECT_NE(embed.body.find("embarquee"), std::string::npos);
    EXPECT_EQ(embed.headers.count("x-frame-options"), 0u) << "the embed must load in other sites' iframes";
}

TEST_F(MapPageServer, CachesHashedAssetsForLongAndRevalidatesByEtag) {
    const auto js = test::http_get(server_->port(), "/map/assets/index-3f9a.js");
    ASSERT_EQ(js.status, 200);
    EXPECT_EQ(js.headers.at("content-type"), "text/javascript; charset=utf-8");
    EXPECT_NE(js.headers.at("cache-control").find("immutable"), std::string::npos);
    const auto again = test::http_get(server_->port(), "/map/assets/index-3f9a.js", {{"If-None-Match", js.headers.at("etag")}});
    EXPECT_EQ(again.status, 304);
    EXPECT_EQ(test::http_get(server_->port(), "/map").headers.at("cache-control"), "no-cache");
}

TEST_F(MapPageServer, NoPathLeavesTheBuildFolder) {
    for (const std::string target : {"/map/../secret.txt", "/map/%2e%2e/secret.txt", "/map/assets/..%2F..%2Fsecret.txt",
                                     "/map/assets/%2E%2E%5C..%5Csecret.txt", "/map/assets/link.txt", "/map/assets/",
                                     "/map/.hidden", "/map/assets/nope.js", "/map/assets/index-3f9a.js%00.html"}) {
        const auto r = test::http_get(server_->port(), target);
        EXPECT_EQ(r.status, 404) << target;
        EXPECT_EQ(r.body.find("outside the build"), std::string::npos) << target;
    }
}

TEST(MapPageNotBuilt, AnswersA404ThatSaysHowToBuildIt) {
    test::TempDir tmp;
    test::ServerProcess server({"--store", (tmp / "ideo.gpkg").string(), "--web", (tmp / "none").string()});
    const auto r = test::http_get(server.port(), "/map");
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body.find("scripts/build-web"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace ideo
