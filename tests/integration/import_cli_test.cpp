// The import pipeline through the real `ideo` binary: what a partner file does to the store,
// and what a failing or killed import must not do to what is served.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "test_support.hpp"

using namespace ideo::test;

namespace {

const std::string kBelfortCommunes = data("communes/communes-90-territoire-de-belfort.geojson").string();
const std::string kPei90 = data("deci/d_pei_cd90_p.zip").string();
const std::string kErp90 = data("deci/erp-90-prefecture.csv").string();

void import_ok(const std::string& store, const std::string& layer, const std::string& file) {
    const auto r = run_ideo({"import", layer, file, "--store", store});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace

TEST(CheckCommand, PrintsTheReportAndChangesNothing) {
    TempDir tmp;
    const std::string store = (tmp / "ideo.gpkg").string();
    const auto r = run_ideo({"check", "pei", kPei90, "--store", store, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    rapidjson::Document d;
    d.Parse(r.out.c_str());
    ASSERT_FALSE(d.HasParseError()) << r.out.substr(0, 500);
    EXPECT_EQ(d["counts"]["read"].GetInt(), 2402);  // the manifest's record count for SDIS 90
    EXPECT_GT(d["counts"]["rejected"].GetInt(), 0);
    EXPECT_FALSE(std::filesystem::exists(store)) << "check must not create or change the store";
}

TEST(CheckCommand, HumanReportNamesEachDefectiveRecord) {
    const auto r = run_ideo({"check", "pei", kPei90});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("90010_00411"), std::string::npos) << "a swapped-coordinates record of the manifest";
    EXPECT_NE(r.out.find("rejected"), std::string::npos);
}

TEST(ImportCommand, UnreadableFileIsAClearErrorNamingItAndChangesNothing) {
    TempDir tmp;
    const std::string store = (tmp / "ideo.gpkg").string();
    import_ok(store, "communes", kBelfortCommunes);
    const std::string bad = (tmp / "pei-truncated.geojson").string();
    {
        std::ofstream f(bad);
        f << R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"insee":"9)";
    }
    const auto r = run_ideo({"import", "pei", bad, "--store", store});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("pei-truncated.geojson"), std::string::npos) << r.err;
    const auto again = run_ideo({"import", "pei", kPei90, "--store", store});
    EXPECT_EQ(again.exit_code, 0) << "the store is still usable: " << again.err;
}

TEST(ImportCommand, UnknownLayerIsNamed) {
    const auto r = run_ideo({"import", "hydrants", kPei90, "--store", "/nonexistent/x.gpkg"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("hydrants"), std::string::npos) << r.err;
}

TEST(ImportCommand, ImportKilledMidWayLeavesThePreviousVersionServed) {
    TempDir tmp;
    const std::string store = (tmp / "ideo.gpkg").string();
    import_ok(store, "communes", kBelfortCommunes);
    import_ok(store, "pei", kPei90);

    ServerProcess server({"--store", store});
    const long before = number_matched(server.port(), "pei");
    ASSERT_GT(before, 2000);

    // The writer aborts the process after 500 features, in the middle of the publish.
    const auto killed = run_ideo({"import", "pei", kPei90, "--store", store},
                                 {{"IDEO_FAULT_WRITER_AFTER", "500"}, {"IDEO_FAULT_WRITER_ABORT", "1"}});
    EXPECT_LT(killed.exit_code, 0) << "the import process should have died: " << killed.out << killed.err;

    // Give the server's 2 s poll a chance to (wrongly) pick up anything.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    EXPECT_EQ(number_matched(server.port(), "pei"), before);

    // The store is not corrupted: a new import publishes and the server swaps it in.
    import_ok(store, "erp", kErp90);
    long erp = -1;
    for (int i = 0; i < 100 && erp <= 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        erp = number_matched(server.port(), "erp");
    }
    EXPECT_EQ(erp, 917) << "every ERP of the Territoire de Belfort, with or without coordinates";
    EXPECT_EQ(number_matched(server.port(), "pei"), before);
}

TEST(ImportCommand, FailedWriterLeavesThePreviousVersionAndSaysWhy) {
    TempDir tmp;
    const std::string store = (tmp / "ideo.gpkg").string();
    import_ok(store, "communes", kBelfortCommunes);
    import_ok(store, "pei", kPei90);
    const auto failed = run_ideo({"import", "pei", kPei90, "--store", store}, {{"IDEO_FAULT_WRITER_AFTER", "100"}});
    EXPECT_EQ(failed.exit_code, 1);
    EXPECT_NE(failed.err.find("injected"), std::string::npos) << failed.err;
    ServerProcess server({"--store", store});
    EXPECT_GT(number_matched(server.port(), "pei"), 2000);
}
