// The PostGIS store through the real `ideo` binary and a throwaway PostgreSQL cluster: what `ideo import`
// publishes into PG:... is what `ideo serve --store PG:...` answers, as with the GeoPackage; the server
// picks up another process's publish by polling the version; a failed or killed import leaves the
// previous version in the database.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <thread>

#include "ideo/core/layer.hpp"
#include "ideo/store/store.hpp"
#include "pg_cluster.hpp"
#include "test_support.hpp"

using namespace ideo::test;

namespace {

const std::string kCommunes21 = data("communes/communes-21-cote-d-or.geojson").string();
const std::string kPei21 = data("deci/pei-21-sdis21.geojson").string();
const std::string kErp21 = data("deci/erp-21-prefecture.csv").string();

// Waits (bounded: the server polls every 2 s) until the server answers `layer` with a count other than `before`.
long wait_for_change(unsigned short port, const std::string& layer, long before) {
    long now = before;
    for (int i = 0; i < 300 && now == before; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        now = number_matched(port, layer);
    }
    return now;
}

std::int64_t store_version(const std::string& uri) { return ideo::store::open_store(uri)->version(); }

}  // namespace

TEST(PostgisStore, ImportThenServeAnswersAsTheGeoPackageAndSeesTheNextPublish) {
    auto& cluster = pg_cluster();
    const std::string db = cluster.new_database();
    const std::string pg = cluster.uri(db);
    TempDir tmp;
    const std::string gpkg = (tmp / "ideo.gpkg").string();
    for (const auto& store : {gpkg, pg}) ASSERT_EQ(import_files(store, {{"communes", kCommunes21}, {"pei", kPei21}}), "") << store;

    long pei = -1, communes = -1, erp = -1;
    {
        ServerProcess on_gpkg({"--store", gpkg});
        pei = number_matched(on_gpkg.port(), "pei");
        communes = number_matched(on_gpkg.port(), "communes");
        ASSERT_EQ(import_files(gpkg, {{"erp", kErp21}}), "");
        erp = wait_for_change(on_gpkg.port(), "erp", 0);
    }
    ASSERT_GT(pei, 1000);
    ASSERT_GT(erp, 0);
    EXPECT_EQ(cluster.query(db, "SELECT count(*) FROM pei"), std::to_string(pei));

    ServerProcess server({"--store", pg});
    EXPECT_EQ(number_matched(server.port(), "pei"), pei);
    EXPECT_EQ(number_matched(server.port(), "communes"), communes);
    EXPECT_EQ(number_matched(server.port(), "erp"), 0);
    const auto one = http_get(server.port(), "/collections/pei/items?limit=1&bbox=4,46,6,48");
    EXPECT_EQ(one.status, 200);

    // Another process publishes: the server's version poll swaps the new snapshot in.
    const std::int64_t before = store_version(pg);
    ASSERT_EQ(import_files(pg, {{"erp", kErp21}}), "");
    EXPECT_EQ(store_version(pg), before + 1);
    EXPECT_EQ(wait_for_change(server.port(), "erp", 0), erp);
    EXPECT_EQ(number_matched(server.port(), "pei"), pei);
}

TEST(PostgisStore, FailedOrKilledImportLeavesThePreviousVersionInTheDatabase) {
    auto& cluster = pg_cluster();
    const std::string db = cluster.new_database();
    const std::string pg = cluster.uri(db);
    ASSERT_EQ(import_files(pg, {{"communes", kCommunes21}, {"pei", kPei21}}), "");
    const std::int64_t version = store_version(pg);
    const std::string rows = cluster.query(db, "SELECT count(*) FROM pei");
    ServerProcess server({"--store", pg});
    const long served = number_matched(server.port(), "pei");
    ASSERT_GT(served, 1000);

    const auto failed = run_ideo({"import", "pei", kPei21, "--store", pg}, {{"IDEO_FAULT_WRITER_AFTER", "100"}});
    EXPECT_EQ(failed.exit_code, 1);
    EXPECT_NE(failed.err.find("injected"), std::string::npos) << failed.err;
    EXPECT_EQ(store_version(pg), version);
    EXPECT_EQ(cluster.query(db, "SELECT count(*) FROM pei"), rows);

    // Killed in the middle of its COPY: the server rolls the transaction back when the connection drops.
    const auto killed = run_ideo({"import", "pei", kPei21, "--store", pg},
                                 {{"IDEO_FAULT_WRITER_AFTER", "500"}, {"IDEO_FAULT_WRITER_ABORT", "1"}});
    EXPECT_LT(killed.exit_code, 0) << "the import process should have died: " << killed.out << killed.err;
    EXPECT_EQ(store_version(pg), version);
    EXPECT_EQ(cluster.query(db, "SELECT count(*) FROM pei"), rows);
    EXPECT_EQ(cluster.query(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db + "' AND state LIKE 'idle in transaction%'"),
              "0");
    EXPECT_EQ(number_matched(server.port(), "pei"), served);

    // The database is not left locked: the next import publishes.
    ASSERT_EQ(import_files(pg, {{"erp", kErp21}}), "");
    EXPECT_EQ(store_version(pg), version + 1);
}

// The harvester's bookkeeping in PostgreSQL: what a run fetched is remembered, so the next run downloads
// and imports nothing; every partner's report is kept in ideo_harvest_runs.
TEST(PostgisStore, HarvestIntoPostgisIsIncrementalOnTheSecondRun) {
    auto& cluster = pg_cluster();
    const std::string db = cluster.new_database();
    const std::string pg = cluster.uri(db);
    const std::vector<std::string> args = {"harvest", "--only", "sdis90", "prefecture90", "admin-express-90",
                                           "--layers", layers_dir().string(), "--store", pg, "--json"};
    std::vector<rapidjson::Document> runs(2);
    for (auto& d : runs) {
        const auto r = run_ideo(args);
        ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
        d.Parse(r.out.c_str());
        ASSERT_TRUE(!d.HasParseError() && d.HasMember("partners")) << r.out;
        ASSERT_EQ(d["partners"].Size(), 3u) << r.out;
    }
    std::uint64_t pei_added = 0;
    for (const auto& r : runs[0]["partners"].GetArray()) {
        EXPECT_GT(r["added"].GetUint64(), 100u) << r["partner"].GetString();
        if (std::string(r["partner"].GetString()) == "sdis90") pei_added = r["added"].GetUint64();
    }
    for (const auto& r : runs[1]["partners"].GetArray()) {
        EXPECT_TRUE(r["downloaded_nothing"].GetBool()) << r["partner"].GetString();
        EXPECT_EQ(r["added"].GetUint64(), 0u) << r["partner"].GetString();
    }
    auto store = ideo::store::open_store(pg);
    EXPECT_EQ(store->load(ideo::load_layers(layers_dir()).get("pei")).size(), pei_added);
    EXPECT_EQ(store->harvest_runs(10).size(), 6u);  // two runs of three partners
    EXPECT_EQ(store->publications().size(), 3u) << "the second run published nothing";
}

TEST(PostgisStore, UnreachableDatabaseIsNamedWithoutItsPassword) {
    TempDir nowhere;
    const auto r = run_ideo({"import", "pei", kPei21, "--store",
                             "PG:host=" + nowhere.path().string() + " dbname=ideo password=hunter2"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("dbname=ideo"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
}
