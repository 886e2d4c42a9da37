// Catalogue partners end to end: the partner simulator serves the real CSW, CKAN and DCAT answers
// over loopback with their paging; harvest_catalogue_partner writes the store; `ideo serve` answers
// the catalogue API from it.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <map>
#include <memory>

#include "ideo/cli/snapshot_loader.hpp"
#include "ideo/harvest/catalogue.hpp"
#include "ideo/catalog/search.hpp"
#include "ideo/catalog/parse.hpp"
#include "ideo/index/snapshot.hpp"
#include "ideo/store/store.hpp"
#include "partner_simulator.hpp"
#include "test_support.hpp"

using namespace ideo;
using namespace ideo::test;

namespace {

harvest::PartnerSpec partner(const std::string& id, const std::string& protocol, const std::string& url) {
    harvest::PartnerSpec p;
    p.id = id;
    p.protocol = protocol;
    p.url = url;
    p.page_size = 2;
    p.options["rules"] = (layers_dir() / "catalog" / "themes.json").string();
    return p;
}

harvest::HttpOptions quick() {
    harvest::HttpOptions o;
    o.max_retries = 0;
    o.timeout = std::chrono::milliseconds(5000);
    return o;
}

// GeoNetwork's three recorded pages, chosen by startPosition as the real server does; what the partner
// changes between harvests is set in `Csw`.
struct Csw {
    bool drop_last_page = false;  // the partner now ends after page 3: page 5's records are gone
    std::string retitle;          // page 3's first record gets this title
    bool stamp_each_answer = false;  // the SearchStatus timestamp is the time of the answer, as at many servers
    bool validators = false;      // ETag and Last-Modified, 304 to a matching conditional request
};

void serve_csw(PartnerSimulator& sim, Csw csw = {}) {
    auto answers = std::make_shared<std::atomic<int>>(0);
    sim.route("/csw", [csw, answers](const SimRequest& r) {
        std::string start = r.param("startPosition");
        if (r.method == "POST") {
            const auto at = r.body.find("startPosition=\"");
            start = r.body.substr(at + 15, r.body.find('"', at + 15) - at - 15);
        }
        const std::string page = start == "3" ? "3" : start == "5" ? "5" : "1";
        std::string body = read_file(data("catalog/csw/udata_geonetwork-iso19139-page-" + page + ".xml"));
        if (csw.drop_last_page && page == "3") {
            const auto at = body.find("nextRecord=\"5\"");
            body.replace(at, 14, "nextRecord=\"0\"");
        }
        if (!csw.retitle.empty() && page == "3") {
            const std::string old = "Table contenant les générateurs surfaciques liés aux servitudes de la catégorie JS1 en Pas-de-Calais";
            body.replace(body.find(old), old.size(), csw.retitle);
        }
        if (csw.stamp_each_answer) {
            const auto at = body.find("timestamp=\"") + 11;
            body.replace(at, body.find('"', at) - at, "2024-03-19T08:13:" + std::to_string(10 + (*answers)++ % 50) + ".000000Z");
        }
        if (csw.validators) return PartnerSimulator::conditional(r, body, "application/xml", "Tue, 19 Mar 2024 08:13:39 GMT");
        return SimResponse{200, "application/xml", {}, body};
    });
}

// The record API's "original", as a server answers it.
std::string served_original(unsigned short port, const std::string& id) {
    const auto r = http_get(port, "/catalog/records/" + id);
    rapidjson::Document d;
    d.Parse(r.body.c_str(), r.body.size());
    if (r.status != 200 || d.HasParseError() || !d.HasMember("original") || !d["original"].IsString())
        return "(HTTP " + std::to_string(r.status) + ") " + r.body.substr(0, 200);
    return d["original"].GetString();
}

}  // namespace

TEST(CatalogueHarvest, PagesThroughCswGetRecordsAddsThenFindsNothingChanged) {
    TempDir dir;
    auto store = store::open_store((dir / "ideo.gpkg").string());
    PartnerSimulator sim;
    serve_csw(sim);
    harvest::HttpClient client(quick());
    const auto spec = partner("geonetwork", "csw", sim.url("/csw"));
    const auto first = harvest::harvest_catalogue_partner(spec, client, *store);
    EXPECT_EQ(first.added, 6u) << first.to_json();
    EXPECT_EQ(first.failed, 0u) << first.to_json();
    EXPECT_EQ(sim.requests("/csw"), 3u);
    const auto records = store->load_catalog_records("geonetwork");
    ASSERT_EQ(records.size(), 6u);
    EXPECT_EQ(records[0].id.rfind("geonetwork:", 0), 0u);
    EXPECT_EQ(records[0].original.rfind("<gmd:MD_Metadata", 0), 0u);
    const auto version = store->version();

    const auto second = harvest::harvest_catalogue_partner(spec, client, *store);
    EXPECT_EQ(second.unchanged, 6u);
    EXPECT_EQ(second.added + second.updated + second.withdrawn, 0u);
    EXPECT_EQ(store->version(), version);  // nothing rewritten, servers keep their snapshot
    // The pages carry no validators: read again, found byte for byte the same, not parsed.
    EXPECT_EQ(second.pages, 3u);
    EXPECT_EQ(second.pages_unchanged, 3u) << second.to_json();
    EXPECT_TRUE(second.downloaded_nothing);
}

TEST(CatalogueHarvest, ASecondHarvestSendsConditionalRequestsAndParsesNothingOn304) {
    TempDir dir;
    auto store = store::open_store((dir / "ideo.gpkg").string());
    PartnerSimulator sim;
    serve_csw(sim, {.validators = true});
    harvest::HttpClient client(quick());
    const auto spec = partner("geonetwork", "csw", sim.url("/csw"));
    const auto first = harvest::harvest_catalogue_partner(spec, client, *store);
    ASSERT_EQ(first.added, 6u) << first.to_json();
    EXPECT_EQ(first.pages_unchanged, 0u);
    EXPECT_EQ(sim.requests("/csw", 304), 0u);
    const auto version = store->version();
    sim.reset_log();

    const auto second = harvest::harvest_catalogue_partner(spec, client, *store);
    EXPECT_EQ(sim.requests("/csw"), 3u);
    EXPECT_EQ(sim.requests("/csw", 304), 3u);  // every page asked with its ETag
    EXPECT_EQ(second.pages_unchanged, 3u) << second.to_json();
    EXPECT_EQ(second.unchanged, 6u);
    EXPECT_EQ(second.added + second.updated + second.withdrawn + second.failed, 0u) << second.to_json();
    EXPECT_TRUE(second.downloaded_nothing);
    EXPECT_EQ(store->version(), version);
    EXPECT_EQ(store->load_catalog_records("geonetwork").size(), 6u);
}

TEST(CatalogueHarvest, APageWhoseContentChangedIsParsedAndItsEditCounted) {
    TempDir dir;
    auto store = store::open_store((dir / "ideo.gpkg").string());
    harvest::HttpClient client(quick());
    const std::string id = "gn:fr-120066022-jdd-585c9cd3-d542-407a-b6a5-885f062b0024";  // page 3's first record
    PartnerSimulator sim;
    serve_csw(sim, {.validators = true});
    ASSERT_EQ(harvest::harvest_catalogue_partner(partner("gn", "csw", sim.url("/csw")), client, *store).added, 6u);
    const auto version = store->version();
    sim.reset_log();
    serve_csw(sim, {.retitle = "Servitudes JS1 du Pas-de-Calais, révisées", .validators = true});
    const auto r = harvest::harvest_catalogue_partner(partner("gn", "csw", sim.url("/csw")), client, *store);
    EXPECT_EQ(sim.requests("/csw", 304), 2u);  // pages 1 and 5
    EXPECT_EQ(r.pages, 3u);
    EXPECT_EQ(r.pages_unchanged, 2u) << r.to_json();
    EXPECT_EQ(r.updated, 1u) << r.to_json();
    EXPECT_EQ(r.unchanged, 5u);
    EXPECT_EQ(r.added + r.withdrawn + r.failed, 0u);
    EXPECT_FALSE(r.downloaded_nothing);
    EXPECT_GT(store->version(), version);
    std::size_t found = 0;
    for (const auto& rec : store->load_catalog_records("gn")) {
        EXPECT_FALSE(rec.withdrawn) << rec.id;
        if (rec.id != id) continue;
        ++found;
        EXPECT_EQ(rec.title, "Servitudes JS1 du Pas-de-Calais, révisées");
        EXPECT_NE(rec.original.find("Servitudes JS1 du Pas-de-Calais, révisées"), std::string::npos);
    }
    EXPECT_EQ(found, 1u);

    // Once stored, the changed page is vouched for by its new ETag.
    sim.reset_log();
    const auto again = harvest::harvest_catalogue_partner(partner("gn", "csw", sim.url("/csw")), client, *store);
    EXPECT_EQ(sim.requests("/csw", 304), 3u);
    EXPECT_EQ(again.unchanged, 6u) << again.to_json();
}

TEST(CatalogueHarvest, TheTimeOfTheAnswerAloneDoesNotMakeACswPageChanged) {
    TempDir dir;
    auto store = store::open_store((dir / "ideo.gpkg").string());
    harvest::HttpClient client(quick());
    PartnerSimulator sim;
    serve_csw(sim, {.stamp_each_answer = true});
    const auto spec = partner("gn", "csw", sim.url("/csw"));
    ASSERT_EQ(harvest::harvest_catalogue_partner(spec, client, *store).added, 6u);
    const auto same = harvest::harvest_catalogue_partner(spec, client, *store);
    EXPECT_EQ(same.pages_unchanged, 3u) << same.to_json();
    EXPECT_EQ(same.unchanged, 6u);

    serve_csw(sim, {.retitle = "Servitudes JS1", .stamp_each_answer = true});
    const auto edited = harvest::harvest_catalogue_partner(spec, client, *store);
    EXPECT_EQ(edited.pages_unchanged, 2u) << edited.to_json();
    EXPECT_EQ(edited.updated, 1u);
}

TEST(CatalogueHarvest, ASnapshotReadsItsRecordsOriginalsFromTheStoreAndNeverAnotherVersion) {
    TempDir dir;
    auto store = store::open_store((dir / "ideo.gpkg").string());
    harvest::HttpClient client(quick());
    PartnerSimulator sim;
    serve_csw(sim);
    const auto spec = partner("gn", "csw", sim.url("/csw"));
    ASSERT_EQ(harvest::harvest_catalogue_partner(spec, client, *store).added, 6u);
    const std::string id = "gn:fr-120066022-jdd-585c9cd3-d542-407a-b6a5-885f062b0024";
    std::map<std::string, std::string> stored;
    for (const auto& r : store->load_catalog_records("gn")) stored[r.id] = r.original;
    ASSERT_TRUE(stored.count(id));

    const LayerCatalog no_layers;
    const auto snapshot = cli::load_snapshot(*store, no_layers);
    ASSERT_EQ(snapshot->catalog->records.size(), 6u);
    for (const auto& r : snapshot->catalog->records) {
        EXPECT_TRUE(r.original.empty()) << r.id << ": the snapshot holds no document";
        EXPECT_EQ(snapshot->catalog->original(r), stored[r.id]) << r.id;
    }

    serve_csw(sim, {.retitle = "Servitudes JS1"});
    ASSERT_EQ(harvest::harvest_catalogue_partner(spec, client, *store).updated, 1u);
    const auto& old = snapshot->catalog->records[snapshot->catalog->by_id.at(id)];
    EXPECT_EQ(snapshot->catalog->original(old), std::nullopt);  // not the new document under the old record
    const auto next = cli::load_snapshot(*store, no_layers);
    const auto& fresh = next->catalog->records[next->catalog->by_id.at(id)];
    EXPECT_EQ(fresh.title, "Servitudes JS1");
    EXPECT_NE(next->catalog->original(fresh).value_or("").find("Servitudes JS1"), std::string::npos);
}

TEST(CatalogueHarvest, PostsGetRecordsWhenThePartnerAsksForPost) {
    TempDir dir;
    auto store = store::open_store((dir / "ideo.gpkg").string());
    PartnerSimulator sim;
    serve_csw(sim);
    harvest::HttpClient client(quick());
    auto spec = partner("geonetwork", "csw", sim.url("/csw"));
    spec.options["method"] = "POST";
    const auto r = harvest::harvest_catalogue_partner(spec, client, *store);
    EXPECT_EQ(r.added, 6u) << r.to_json();
    for (const auto& l : sim.log()) EXPECT_EQ(l.method, "POST");
}

TEST(CatalogueHarvest, WithdrawsRecordsGoneFromThePartnerOnlyAfterACompletePaging) {
    TempDir dir;
    auto store = store::open_store((dir / "ideo.gpkg").string());
    harvest::HttpClient client(quick());
    PartnerSimulator sim;  // one partner URL throughout: it keys the pages' states
    serve_csw(sim);
    harvest::harvest_catalogue_partner(partner("gn", "csw", sim.url("/csw")), client, *store);
    {  // page 3 fails: nothing is withdrawn, the last good records stay
        sim.route("/csw", [](const SimRequest& r) {
            if (r.param("startPosition") == "3") return SimResponse{503, "text/plain", {}, "maintenance"};
            return SimResponse{200, "application/xml", {}, read_file(data("catalog/csw/udata_geonetwork-iso19139-page-1.xml"))};
        });
        const auto r = harvest::harvest_catalogue_partner(partner("gn", "csw", sim.url("/csw")), client, *store);
        EXPECT_EQ(r.withdrawn, 0u);
        EXPECT_TRUE(r.kept_last_good);
        ASSERT_FALSE(r.failures.empty());
        EXPECT_NE(r.failures[0].find("503"), std::string::npos) << r.failures[0];
        std::size_t listed = 0;
        for (const auto& rec : store->load_catalog_records("gn")) listed += !rec.withdrawn;
        EXPECT_EQ(listed, 6u);
    }
    {  // the partner now ends after page 3: the last page's two records are withdrawn
        serve_csw(sim, {.drop_last_page = true});
        const auto r = harvest::harvest_catalogue_partner(partner("gn", "csw", sim.url("/csw")), client, *store);
        EXPECT_EQ(r.withdrawn, 2u) << r.to_json();
        EXPECT_EQ(r.unchanged, 4u);
        EXPECT_EQ(r.pages_unchanged, 1u);  // page 1 taken from the last harvest; page 3 changed (it ends the paging)
        std::size_t withdrawn = 0;
        for (const auto& rec : store->load_catalog_records("gn")) withdrawn += rec.withdrawn;
        EXPECT_EQ(withdrawn, 2u);
    }
}

TEST(CatalogueHarvest, ReadsCkanAndHydraPagedDcatAndReportsTheInvalidIsoRecord) {
    TempDir dir;
    auto store = store::open_store((dir / "ideo.gpkg").string());
    PartnerSimulator sim;
    sim.serve_file("/ckan/api/3/action/package_search", data("catalog/ckan/datasud_package_search.json"), "application/json");
    sim.route("/catalog.jsonld", [&](const SimRequest& r) {
        std::string body = read_file(data(std::string("catalog/dcat/udata_paged-collection-") +
                                          (r.param("page") == "2" ? "2" : "1") + ".jsonld"));
        // The recorded pages link to data.test.org: point them at this simulator.
        for (std::size_t at; (at = body.find("http://data.test.org/catalog.jsonld")) != std::string::npos;)
            body.replace(at, 35, sim.url("/catalog.jsonld"));
        return SimResponse{200, "application/ld+json", {}, body};
    });
    sim.serve_file("/iso", data("catalog/csw/ckanext-spatial_dataset-invalid.xml"), "application/xml");
    harvest::HttpClient client(quick());
    auto ckan = partner("datasud", "ckan", sim.url("/ckan"));
    ckan.page_size = 100;
    const auto c = harvest::harvest_catalogue_partner(ckan, client, *store);
    EXPECT_EQ(c.added, 7u) << c.to_json();
    const auto d = harvest::harvest_catalogue_partner(partner("dcat", "dcat", sim.url("/catalog.jsonld")), client, *store);
    EXPECT_EQ(d.added, 4u) << d.to_json();
    EXPECT_EQ(sim.requests("/catalog.jsonld"), 2u);
    const auto bad = harvest::harvest_catalogue_partner(partner("spatial", "csw", sim.url("/iso")), client, *store);
    EXPECT_EQ(bad.failed, 1u);
    ASSERT_EQ(bad.failures.size(), 1u);
    EXPECT_NE(bad.failures[0].find("record 1 (test-dataset): schema defect"), std::string::npos) << bad.failures[0];
    // A page with a failed record is read and parsed again at every harvest: its failure is reported again.
    const auto again = harvest::harvest_catalogue_partner(partner("spatial", "csw", sim.url("/iso")), client, *store);
    EXPECT_EQ(again.failed, 1u) << again.to_json();
    EXPECT_EQ(again.pages_unchanged, 0u);
}

TEST(CatalogueApi, SearchesFiltersAndExportsTheHarvestedRecords) {
    TempDir dir;
    const std::string gpkg = (dir / "ideo.gpkg").string();
    std::map<std::string, std::string> originals;
    {
        auto store = store::open_store(gpkg);
        PartnerSimulator sim;
        serve_csw(sim);
        sim.serve_file("/ckan/api/3/action/package_search", data("catalog/ckan/datasud_package_search.json"), "application/json");
        harvest::HttpClient client(quick());
        harvest::harvest_catalogue_partner(partner("geonetwork", "csw", sim.url("/csw")), client, *store);
        auto ckan = partner("datasud", "ckan", sim.url("/ckan"));
        ckan.page_size = 100;
        harvest::harvest_catalogue_partner(ckan, client, *store);
        for (const auto& rec : store->load_catalog_records("")) originals[rec.id] = rec.original;
    }
    ServerProcess server({"--store", gpkg, "--layers", layers_dir().string()});
    auto r = http_get(server.port(), "/catalog/records?q=URBANISME%20cartigny");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("\"numberMatched\":1,"), std::string::npos) << r.body.substr(0, 300);
    EXPECT_NE(r.body.find("Plan local d'urbanisme de la commune de Cartigny"), std::string::npos);
    EXPECT_NE(r.body.find("\"match\":\"all\""), std::string::npos) << r.body.substr(0, 300);
    // Issue 19: two words of three found, and said so; a typo forgiven, and said so.
    r = http_get(server.port(), "/catalog/records?q=reglement%20generateurs%20surfaciques");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("\"match\":\"partial\",\"numberMatchedAllWords\":0,"), std::string::npos) << r.body.substr(0, 300);
    EXPECT_NE(r.body.find("générateurs surfaciques liés aux servitudes de la catégorie JS1"), std::string::npos);
    EXPECT_NE(r.body.find("\"match\":{\"missing\":[\"reglement\"],\"corrected\":{}}"), std::string::npos) << r.body.substr(0, 3000);
    r = http_get(server.port(), "/catalog/records?q=urbanisem%20cartigny");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("\"numberMatched\":1,"), std::string::npos) << r.body.substr(0, 300);
    EXPECT_NE(r.body.find("\"corrections\":{\"urbanisem\":[\"urbanisme\"]}"), std::string::npos) << r.body.substr(0, 300);
    EXPECT_NE(r.body.find("\"corrected\":{\"urbanisem\":\"urbanisme\"}"), std::string::npos);
    r = http_get(server.port(), "/catalog/records?format=WFS&limit=2");
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("\"numberMatched\":7,"), std::string::npos) << r.body.substr(0, 300);
    EXPECT_NE(r.body.find("\"rel\":\"next\""), std::string::npos);
    r = http_get(server.port(), "/catalog/records?limit=0");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("limit"), std::string::npos);
    r = http_get(server.port(), "/catalog/records?bbox=1,2,3");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("bbox"), std::string::npos);
    r = http_get(server.port(), "/catalog/records?colour=red");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("colour"), std::string::npos);
    r = http_get(server.port(), "/catalog/records/datasud:fe7cdceb-f65e-4e79-9ff2-d7895dc3b155");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("\"original\":"), std::string::npos);
    EXPECT_NE(r.body.find("\"partner\":\"datasud\""), std::string::npos);
    EXPECT_EQ(http_get(server.port(), "/catalog/records/nope:1").status, 404);
    // Each record's document verbatim, as harvested (the server reads it from the store when asked).
    ASSERT_EQ(originals.size(), 13u);
    for (const auto& [id, original] : originals) {
        ASSERT_FALSE(original.empty()) << id;
        EXPECT_EQ(served_original(server.port(), id), original) << id;
    }
    r = http_get(server.port(), "/catalog/dcat.jsonld?page_size=5");
    ASSERT_EQ(r.status, 200);
    const auto page = catalog::parse_dcat(r.body, catalog::RdfSyntax::JsonLd, "http://127.0.0.1/");
    EXPECT_EQ(page.records.size(), 5u);
    EXPECT_EQ(page.paging.matched, 13u);
    EXPECT_NE(page.paging.next_url.find("page=2"), std::string::npos);
}
