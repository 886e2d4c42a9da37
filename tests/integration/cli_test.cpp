// The command line itself, through the real `ideo` binary: options a verb does not take, malformed
// values, errors that name what is wrong, and `ideo import|check LAYER URL`.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>

#include "partner_simulator.hpp"
#include "test_support.hpp"

using namespace ideo::test;

namespace {

const std::string kPei90 = data("deci/d_pei_cd90_p.zip").string();

// A store path that cannot be created: a command that ignored a bad option would fail on it instead.
const std::string kNoStore = "/nonexistent/ideo-cli-test/ideo.gpkg";

void expect_usage_error(const std::vector<std::string>& args, const std::vector<std::string>& named) {
    const auto r = run_ideo(args);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    for (const auto& n : named) EXPECT_NE(r.err.find(n), std::string::npos) << "names " << n << ": " << r.err;
}

rapidjson::Document json_of(const CommandResult& r) {
    rapidjson::Document d;
    d.Parse(r.out.c_str());
    return d;
}

}  // namespace

TEST(CommandLine, UnknownOptionIsAUsageErrorNamingItInsteadOfServing) {
    expect_usage_error({"serve", "--bogus", "1", "--store", kNoStore}, {"--bogus"});
    // A mistyped --store must not serve the default store.
    expect_usage_error({"serve", "--stor", kNoStore}, {"--stor"});
    expect_usage_error({"import", "pei", kPei90, "--store", kNoStore, "--sauce", "sdis90"}, {"--sauce"});
    expect_usage_error({"extract", "90010", "--fromat", "csv", "-o", "x.csv", "--store", kNoStore}, {"--fromat"});
    // An option of another verb is unknown to this one.
    expect_usage_error({"coverage", "90010", "--threads", "2", "-o", "x.geojson", "--store", kNoStore}, {"--threads"});
}

TEST(CommandLine, MalformedValuesAreRefusedNamingTheOptionAndTheValue) {
    expect_usage_error({"serve", "--threads", "abc", "--store", kNoStore}, {"--threads", "abc"});
    expect_usage_error({"serve", "--threads", "4x", "--store", kNoStore}, {"--threads", "4x"});
    expect_usage_error({"serve", "--listen", ":80abc", "--store", kNoStore}, {"--listen", ":80abc"});
    expect_usage_error({"serve", "--listen", "127.0.0.1:70000", "--store", kNoStore}, {"--listen", "70000"});
    expect_usage_error({"serve", "--harvest-every", "6x", "--store", kNoStore}, {"--harvest-every", "6x"});
    // A value-taking option followed by another option has no value; one given twice is ambiguous.
    expect_usage_error({"serve", "--store", "--threads", "2"}, {"--store"});
    expect_usage_error({"serve", "--store", kNoStore, "--store", kNoStore}, {"--store"});
    expect_usage_error({"serve", "extra", "--store", kNoStore}, {"extra"});
}

TEST(CommandLine, UnknownCrsNamesTheFileTheSourceAndTheLayer) {
    TempDir tmp;
    std::filesystem::create_directories(tmp / "layers");
    std::string pei = read_file(layers_dir() / "pei.json");
    const std::string sources = "\"sources\": [";
    pei.replace(pei.find(sources), sources.size(),
                sources + R"({"id": "badcrs", "partner": "X", "protocol": "file", "url": "pei.csv", "crs": "EPSG:999999"},)");
    std::ofstream(tmp / "layers" / "pei.json") << pei;
    const std::string csv = (tmp / "pei-badcrs.csv").string();
    std::ofstream(csv) << "id_sdis;insee;type_pei;x;y\n90010_1;90010;PI;989537;6733886\n";
    const auto r = run_ideo({"check", "pei", csv, "--layers", (tmp / "layers").string(), "--source", "badcrs"});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    for (const std::string n : {"pei-badcrs.csv", "badcrs", "layer pei", "EPSG:999999"})
        EXPECT_NE(r.err.find(n), std::string::npos) << "names " << n << ": " << r.err;
}

TEST(CommandLine, ImportOfAUrlFetchesItIntoTheSameImport) {
    PartnerSimulator sim;
    sim.serve_file("/files/d_pei_cd90_p.zip", kPei90, "application/zip");
    const std::string url = sim.url("/files/d_pei_cd90_p.zip");

    const auto local = run_ideo({"check", "pei", kPei90, "--json"});
    const auto remote = run_ideo({"check", "pei", url, "--source", "sdis90", "--json"});
    ASSERT_EQ(local.exit_code, 0) << local.err;
    ASSERT_EQ(remote.exit_code, 0) << remote.err;
    const auto l = json_of(local), r = json_of(remote);
    ASSERT_TRUE(l.IsObject() && r.IsObject()) << remote.out.substr(0, 300);
    for (const char* count : {"read", "published", "repaired", "flagged", "rejected", "superseded"}) {
        SCOPED_TRACE(count);
        ASSERT_TRUE(l["counts"].HasMember(count));
        EXPECT_EQ(r["counts"][count].GetInt(), l["counts"][count].GetInt());
    }
    EXPECT_EQ(r["counts"]["read"].GetInt(), 2402);
    EXPECT_NE(remote.out.find(url), std::string::npos) << "the report names the URL, not a temporary copy";

    TempDir tmp;
    const std::string store = (tmp / "ideo.gpkg").string();
    const auto imported = run_ideo({"import", "pei", url, "--source", "sdis90", "--store", store});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    EXPECT_NE(imported.out.find("published pei version"), std::string::npos) << imported.out;
    EXPECT_NE(imported.out.find("from sdis90"), std::string::npos) << imported.out;
    EXPECT_EQ(sim.requests("/files/d_pei_cd90_p.zip", 200), 2u);
}

TEST(CommandLine, ImportOfAMissingUrlFailsNamingItAndChangesNothing) {
    PartnerSimulator sim;
    TempDir tmp;
    const std::string store = (tmp / "ideo.gpkg").string();
    const std::string url = sim.url("/files/absent.zip");
    const auto r = run_ideo({"import", "pei", url, "--store", store});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.exit_code, 2) << "a failed fetch is not a usage error";
    EXPECT_NE(r.err.find(url), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(store)) << "no store created for a file that never came";
    expect_usage_error({"import", "pei", kPei90, "--proxy", "http://127.0.0.1:1", "--store", store}, {"--proxy"});
}
