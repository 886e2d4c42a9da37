// Real partners' recorded answers end to end: udata's recorded harvests (catalog/udata_snapshots:
// Géo-IDE's CSW, DataSud's CKAN, Cap Atlantique's OpenDataSoft DCAT export) replayed by the partner
// simulator, which answers ideo's own requests by their paging parameters from udata's recorded
// answers; udata's API v1 listing the datasets udata made of them; and the demo's partners, harvested
// by `ideo harvest --partners` and searched through `ideo serve`. Counts are the fixtures' own:
// udata's harvested datasets, the records of the recorded answers.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <set>

#include "ideo/harvest/catalogue.hpp"
#include "ideo/harvest/runner.hpp"
#include "ideo/store/store.hpp"
#include "recorded_partners.hpp"
#include "test_support.hpp"

using namespace ideo;
using namespace ideo::test;

namespace {

namespace fs = std::filesystem;

harvest::PartnerSpec partner(const std::string& id, const std::string& protocol, const std::string& url, int page_size) {
    harvest::PartnerSpec p;
    p.id = id;
    p.protocol = protocol;
    p.url = url;
    p.page_size = page_size;
    p.import_linked = false;  // the records' distributions are on the real partners' hosts
    p.options["rules"] = (layers_dir() / "catalog" / "themes.json").string();
    return p;
}

// One run of the real runner over one partner, its report.
harvest::PartnerReport run(const harvest::PartnerSpec& p, store::Store& store) {
    harvest::RunOptions options;
    options.catalogue = harvest::harvest_catalogue_partner;
    options.http.max_retries = 0;
    const auto result = harvest::run_harvest({p}, LayerCatalog{}, store, options);
    return result.reports.at(0);
}

std::multiset<std::string> titles(store::Store& store, const std::string& partner) {
    std::multiset<std::string> out;
    for (const auto& r : store.load_catalog_records(partner))
        if (!r.withdrawn) out.insert(r.title);
    return out;
}

std::string failures(const harvest::PartnerReport& r) {
    std::string out;
    for (const auto& f : r.failures) out += f + "\n";
    return out;
}

// A recorded harvest replayed three times: every record udata harvested is added (ideo's pages of
// page_size records cut from udata's recorded answer), with its provenance and, where its categories
// or keywords map to one (layers/catalog/themes.json), its themes; then found unchanged; then the
// partner drops its last record and ideo withdraws it.
void replay_adds_then_unchanged_then_withdrawn(const std::string& snapshot, int page_size, std::size_t pages,
                                               std::size_t themed) {
    TempDir dir;
    auto store = store::open_store((dir / "ideo.gpkg").string());
    const auto h = load_recorded_harvest(data("catalog/udata_snapshots/" + snapshot));
    const std::size_t records = h.titles.size();
    ASSERT_GT(records, 0u);
    ASSERT_EQ(h.listing.docs.size(), records) << "the recorded answer lists what udata harvested";
    PartnerSimulator sim;
    serve_recorded_harvest(sim, h);
    auto spec = partner("replayed", h.protocol, sim.url(h.target), page_size);
    for (const auto& [k, v] : h.options) spec.options[k] = v;

    const auto first = run(spec, *store);
    EXPECT_EQ(failures(first), "");
    EXPECT_EQ(first.added, records);
    EXPECT_EQ(first.failed, 0u);
    EXPECT_EQ(sim.requests(h.listing.path, 200), pages);
    EXPECT_EQ(titles(*store, "replayed"), std::multiset<std::string>(h.titles.begin(), h.titles.end()));
    std::size_t with_themes = 0;
    for (const auto& r : store->load_catalog_records("replayed")) {
        EXPECT_EQ(r.partner, "replayed");
        EXPECT_EQ(r.id, "replayed:" + r.remote_id);
        EXPECT_FALSE(r.harvested_at.empty());
        EXPECT_FALSE(r.original.empty());
        with_themes += !r.themes.empty();
    }
    EXPECT_EQ(with_themes, themed);

    const auto second = run(spec, *store);
    EXPECT_EQ(second.unchanged, records) << failures(second);
    EXPECT_EQ(second.added + second.updated + second.withdrawn + second.failed, 0u);

    if (h.listing.paging == "single") return;  // one RDF document: no record to drop from it
    auto fewer = h;
    fewer.listing.docs.pop_back();
    fewer.listing.modified.pop_back();
    serve_recorded_harvest(sim, fewer);
    const auto third = run(spec, *store);
    EXPECT_EQ(failures(third), "");
    EXPECT_EQ(third.withdrawn, 1u);
    EXPECT_EQ(third.unchanged, records - 1);
    EXPECT_EQ(titles(*store, "replayed").size(), records - 1);
}

}  // namespace

TEST(RecordedHarvest, GeoIdeCswPostIsPagedFromTheRecordedAnswerThenUnchangedThenWithdrawn) {
    // 4 records, positions 1-3 then 4; two without a keyword or category the rules know (ROE, the PPR clay layer).
    replay_adds_then_unchanged_then_withdrawn("csw-geoide-ddt24.json", 3, 2, 2);
}

TEST(RecordedHarvest, DataSudCkanIsPagedFromTheRecordedAnswerThenUnchangedThenWithdrawn) {
    // 7 records, rows=3 from 0, 3 and 6; every one in a DataSud group the rules map.
    replay_adds_then_unchanged_then_withdrawn("ckan-datasud.json", 3, 3, 7);
}

TEST(RecordedHarvest, CapAtlantiqueOdsDcatExportIsReadThenUnchanged) {
    replay_adds_then_unchanged_then_withdrawn("dcat-ods-capatlantique.json", 100, 1, 1);
}

TEST(RecordedHarvest, ReplayRefusesARequestWithoutTheRecordedSelection) {
    const auto h = load_recorded_harvest(data("catalog/udata_snapshots/ckan-datasud.json"));
    PartnerSimulator sim;
    serve_recorded_harvest(sim, h);
    TempDir dir;
    auto store = store::open_store((dir / "ideo.gpkg").string());
    // The organisation's filter left out: the replay cannot answer for the whole of DataSud.
    const auto r = run(partner("datasud", "ckan", sim.url(h.listing.path), 100), *store);
    EXPECT_TRUE(r.kept_last_good);
    ASSERT_FALSE(r.failures.empty());
    EXPECT_NE(r.failures[0].find("400"), std::string::npos) << r.failures[0];
    EXPECT_TRUE(store->load_catalog_records("datasud").empty());
}

TEST(RecordedHarvest, UdataApiListsTheDatasetsUdataHarvestedPageByPage) {
    std::vector<fs::path> snapshots;
    for (const char* s : {"csw-geoide-ddt24.json", "ckan-datasud.json", "dcat-ods-capatlantique.json"})
        snapshots.push_back(data(std::string("catalog/udata_snapshots/") + s));
    auto datasets = udata_datasets(snapshots, "/api/1/datasets/");
    std::multiset<std::string> expected;
    for (const auto& s : snapshots)
        for (const auto& t : load_recorded_harvest(s).titles) expected.insert(t);
    ASSERT_EQ(datasets.docs.size(), expected.size());
    PartnerSimulator sim;
    serve_paged_catalogue(sim, std::make_shared<PagedCatalogue>(datasets));
    TempDir dir;
    auto store = store::open_store((dir / "ideo.gpkg").string());
    const auto spec = partner("udata", "udata", sim.url("/"), 5);

    const auto first = run(spec, *store);
    EXPECT_EQ(failures(first), "");
    EXPECT_EQ(first.added, expected.size());
    // 12 datasets, 5 a page: ideo follows next_page twice and stops on the page without one.
    EXPECT_EQ(sim.requests("/api/1/datasets/", 200), (expected.size() + 4) / 5);
    EXPECT_EQ(titles(*store, "udata"), expected);

    const auto second = run(spec, *store);
    EXPECT_EQ(second.unchanged, expected.size()) << failures(second);
    EXPECT_EQ(second.added + second.updated + second.withdrawn + second.failed, 0u);

    datasets.docs.erase(datasets.docs.begin());
    datasets.modified.erase(datasets.modified.begin());
    serve_paged_catalogue(sim, std::make_shared<PagedCatalogue>(datasets));
    const auto third = run(spec, *store);
    EXPECT_EQ(failures(third), "");
    EXPECT_EQ(third.withdrawn, 1u);
    EXPECT_EQ(third.unchanged, expected.size() - 1);
}

TEST(DemoPartners, HarvestedByTheCommandLineIntoASearchableCatalogueThenUnchanged) {
    TempDir dir;
    PartnerSimulator sim;
    const auto partners = serve_demo_partners(sim, data("catalog"));
    ASSERT_GE(partners.size(), 5u);
    write_demo_partner_files(sim, partners, dir / "partners");
    const std::string gpkg = (dir / "ideo.gpkg").string();
    std::vector<std::string> args = {"harvest", "--layers", layers_dir().string(), "--partners", (dir / "partners").string(),
                                     "--store", gpkg, "--json", "--only"};
    for (const auto& p : partners) args.push_back(p.id);  // the partners alone, not the layers' file sources

    const auto first = run_ideo(args);
    ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
    rapidjson::Document report;
    report.Parse(first.out.c_str());
    ASSERT_TRUE(report.IsObject()) << first.out;
    std::size_t added = 0;
    std::set<std::string> protocols;
    for (const auto& r : report["partners"].GetArray()) {
        EXPECT_GT(r["added"].GetUint(), 0u) << r["partner"].GetString();
        EXPECT_EQ(r["failed"].GetUint(), 0u) << r["partner"].GetString();
        added += r["added"].GetUint();
        protocols.insert(r["protocol"].GetString());
    }
    EXPECT_EQ(report["partners"].Size(), partners.size());
    EXPECT_EQ(protocols, (std::set<std::string>{"csw", "ckan", "dcat", "ods"}));
    EXPECT_EQ(first.err.find("FAILED"), std::string::npos) << first.err;

    const auto second = run_ideo(args);
    ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
    report.Parse(second.out.c_str());
    for (const auto& r : report["partners"].GetArray()) {
        EXPECT_EQ(r["added"].GetUint() + r["updated"].GetUint() + r["withdrawn"].GetUint(), 0u) << r["partner"].GetString();
    }

    ServerProcess server({"--store", gpkg, "--layers", layers_dir().string()});
    auto all = http_get(server.port(), "/catalog/records?limit=1");
    ASSERT_EQ(all.status, 200) << all.body;
    EXPECT_NE(all.body.find("\"numberMatched\":" + std::to_string(added) + ","), std::string::npos) << all.body.substr(0, 300);
    const auto eau = http_get(server.port(), "/catalog/records?q=eau");
    ASSERT_EQ(eau.status, 200) << eau.body;
    rapidjson::Document page;
    page.Parse(eau.body.c_str());
    ASSERT_TRUE(page.IsObject()) << eau.body.substr(0, 300);
    ASSERT_GT(page["numberMatched"].GetUint(), 0u);
    EXPECT_TRUE(page["records"][0].HasMember("partner")) << eau.body.substr(0, 600);
    // Themes are searchable: every record of a theme's page is in that theme.
    const auto urbanisme = http_get(server.port(), "/catalog/records?theme=Am%C3%A9nagement%20et%20urbanisme&limit=100");
    ASSERT_EQ(urbanisme.status, 200) << urbanisme.body;
    page.Parse(urbanisme.body.c_str());
    ASSERT_GT(page["numberMatched"].GetUint(), 0u);
    for (const auto& r : page["records"].GetArray()) {
        std::set<std::string> themes;
        for (const auto& t : r["themes"].GetArray()) themes.insert(t.GetString());
        EXPECT_TRUE(themes.count("Aménagement et urbanisme")) << r["title"].GetString();
    }
}
