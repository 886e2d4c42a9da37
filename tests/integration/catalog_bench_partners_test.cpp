// The catalogue benchmark's partners (scripts/bench/catalog/make_catalog.py, a small catalogue):
// served by the partner simulator with each protocol's paging, harvested by the real runner and
// parsers over loopback. Every record of every protocol is read, the counts add up, a second run
// finds everything unchanged, and the partners' edits come back as updated, added and withdrawn.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdlib>
#include <map>
#include <set>

#include "catalog_partners.hpp"
#include "ideo/harvest/catalogue.hpp"
#include "ideo/harvest/runner.hpp"
#include "ideo/store/store.hpp"
#include "test_support.hpp"

using namespace ideo;
using namespace ideo::test;

namespace {

namespace fs = std::filesystem;

// Runs the generator into out; "" when it succeeded, else its output.
std::string generate(const fs::path& out, const std::string& extra) {
    const fs::path log = out.string() + ".log";
    const std::string cmd = "IDEO_SHARED_DATA='" + data("").string() + "' /usr/bin/python3 '" +
                            (source_dir() / "scripts/bench/catalog/make_catalog.py").string() + "' '" + out.string() +
                            "' --records 330 " + extra + " > '" + log.string() + "' 2>&1";
    return std::system(cmd.c_str()) == 0 ? std::string() : read_file(log);
}

rapidjson::Document manifest(const fs::path& dir) {
    rapidjson::Document d;
    const std::string text = read_file(dir / "manifest.json");
    d.Parse(text.c_str(), text.size());
    return d;
}

struct Totals {
    std::size_t added = 0, updated = 0, unchanged = 0, withdrawn = 0, failed = 0, pages = 0, pages_unchanged = 0;
    std::map<std::string, std::size_t> added_by_protocol;
    std::string failures;
};

Totals totals(const harvest::RunResult& run) {
    Totals t;
    for (const auto& r : run.reports) {
        t.pages += r.pages;
        t.pages_unchanged += r.pages_unchanged;
        t.added += r.added;
        t.updated += r.updated;
        t.unchanged += r.unchanged;
        t.withdrawn += r.withdrawn;
        t.failed += r.failed;
        t.added_by_protocol[r.protocol] += r.added;
        for (const auto& f : r.failures) t.failures += r.partner + ": " + f + "\n";
    }
    return t;
}

std::size_t answers(const PartnerSimulator& sim, int status) {
    std::size_t n = 0;
    for (const auto& l : sim.log()) n += l.status == status;
    return n;
}

// The listed records of a store: id -> content hash (which covers the original document).
std::map<std::string, std::string> listed(store::Store& store) {
    std::map<std::string, std::string> out;
    for (const auto& r : store.load_catalog_records("", false))
        if (!r.withdrawn) out[r.id] = r.content_hash;
    return out;
}

}  // namespace

TEST(CatalogueBenchPartners, EveryProtocolHarvestsCompletelyThenUnchangedThenThePartnersEdits) {
    TempDir dir;
    ASSERT_EQ(generate(dir / "before", ""), "");
    ASSERT_EQ(generate(dir / "after", "--changes"), "");
    const auto before = manifest(dir / "before"), after = manifest(dir / "after");
    ASSERT_TRUE(before.IsObject() && after.IsObject() && after.HasMember("changes"));
    const std::size_t total = before["records"].GetUint();
    ASSERT_EQ(total, 330u);
    ASSERT_EQ(before["partners"].Size(), 33u);
    const auto& changes = after["changes"];

    const fs::path layers = dir / "layers";
    fs::create_directories(layers / "catalog");
    fs::copy_file(layers_dir() / "catalog" / "themes.json", layers / "catalog" / "themes.json");
    PartnerSimulator sim;
    const auto served = serve_catalogue_partners(sim, dir / "before");
    ASSERT_EQ(served.size(), 33u);
    write_partner_files(sim, dir / "before", layers / "partners");
    const auto partners = harvest::load_partners(layers / "partners");
    ASSERT_EQ(partners.size(), 33u);

    auto store = store::open_store((dir / "ideo.gpkg").string());
    harvest::RunOptions options;
    options.catalogue = harvest::harvest_catalogue_partner;
    options.http.max_retries = 0;
    const LayerCatalog no_layers;

    const auto first = totals(harvest::run_harvest(partners, no_layers, *store, options));
    EXPECT_EQ(first.failures, "");
    EXPECT_EQ(first.added, total);
    EXPECT_EQ(first.failed, 0u);
    for (const char* protocol : {"csw", "ckan", "udata", "dcat", "ods"})
        EXPECT_GT(first.added_by_protocol.count(protocol) ? first.added_by_protocol.at(protocol) : 0, 0u) << protocol;
    std::set<std::string> themes;
    for (const auto& r : store->load_catalog_records("")) themes.insert(r.themes.begin(), r.themes.end());
    EXPECT_EQ(themes.size(), 14u);  // the portal's 14 themes all hold records

    sim.reset_log();
    const auto version = store->version();
    const auto second = totals(harvest::run_harvest(partners, no_layers, *store, options));
    EXPECT_EQ(second.unchanged, total) << second.failures;
    EXPECT_EQ(second.added + second.updated + second.withdrawn + second.failed, 0u);
    // Every page was asked with its validators and answered 304: nothing parsed, nothing written.
    EXPECT_EQ(answers(sim, 304), sim.log().size());
    EXPECT_EQ(second.pages_unchanged, second.pages);
    EXPECT_EQ(second.pages, first.pages);
    EXPECT_EQ(store->version(), version);

    serve_catalogue_partners(sim, dir / "after");  // the partners publish their edits
    sim.reset_log();
    const auto third = totals(harvest::run_harvest(partners, no_layers, *store, options));
    EXPECT_EQ(third.failures, "");
    EXPECT_EQ(third.updated, changes["updated"].GetUint());
    EXPECT_EQ(third.added, changes["added"].GetUint());
    EXPECT_EQ(third.withdrawn, changes["withdrawn"].GetUint());
    EXPECT_EQ(third.unchanged, total - third.updated - third.withdrawn);
    EXPECT_EQ(after["records"].GetUint(), total + third.added - third.withdrawn);
    // Some pages were unchanged (304) and the withdrawals above still came out exact.
    EXPECT_GT(answers(sim, 304), 0u);
    EXPECT_LT(third.pages_unchanged, third.pages);

    // The incremental store holds what a harvest of the partners' new state into an empty store holds.
    auto fresh = store::open_store((dir / "fresh.gpkg").string());
    const auto all = totals(harvest::run_harvest(partners, no_layers, *fresh, options));
    EXPECT_EQ(all.added, after["records"].GetUint()) << all.failures;
    EXPECT_EQ(listed(*store), listed(*fresh));
}
