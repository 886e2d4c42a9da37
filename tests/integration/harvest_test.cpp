// The harvest engine end to end: partners are real HTTP servers on loopback (PartnerSimulator)
// serving the corpus; the store is a real GeoPackage.
#include "ideo/harvest/runner.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <fstream>
#include <set>

#include "communes_fixture.hpp"
#include "ideo/harvest/catalogue.hpp"
#include "ideo/harvest/pipeline.hpp"
#include "partner_simulator.hpp"
#include "test_pki.hpp"
#include "test_support.hpp"

using namespace ideo;
using namespace ideo::test;
using harvest::PartnerSpec;

namespace fs = std::filesystem;

namespace {

// The first `n` features of a corpus GeoJSON, written to `out` (a slice keeps the suites quick).
fs::path slice_geojson(const fs::path& src, std::size_t n, const fs::path& out) {
    rapidjson::Document d;
    const std::string text = read_file(src);
    d.Parse(text.c_str(), text.size());
    auto& features = d["features"];
    while (features.Size() > n) features.PopBack();
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    d.Accept(w);
    std::ofstream(out, std::ios::binary) << sb.GetString();
    return out;
}

std::size_t feature_count(const fs::path& geojson) {
    rapidjson::Document d;
    const std::string text = read_file(geojson);
    d.Parse(text.c_str(), text.size());
    return d["features"].Size();
}

// `text` with every `from` replaced by `to`: a recorded answer's partner URLs pointed at the simulator.
std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) text.replace(at, from.size(), to);
    return text;
}

// layers/catalog/themes.json with `keyword` added to the rule linking records to `layer`. The corpus's real
// catalogue answers describe no PEI, ERP or ICPE: a test links one of them the way an administrator would.
fs::path rules_linking(const std::string& layer, const std::string& keyword, const fs::path& out) {
    rapidjson::Document d;
    const std::string text = read_file(layers_dir() / "catalog" / "themes.json");
    d.Parse(text.c_str(), text.size());
    for (auto& feed : d["feeds"].GetArray())
        if (std::string(feed["layer"].GetString()) == layer)
            feed["keywords"].PushBack(rapidjson::Value(keyword.c_str(), d.GetAllocator()), d.GetAllocator());
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    d.Accept(w);
    std::ofstream(out, std::ios::binary) << sb.GetString();
    return out;
}

PartnerSpec partner(const std::string& id, const std::string& protocol, const std::string& url, const std::string& layer) {
    PartnerSpec p;
    p.id = id;
    p.name = id;
    p.protocol = protocol;
    p.url = url;
    p.layer = layer;
    p.options["backoff_ms"] = "5";
    return p;
}

class Harvest : public ::testing::Test {
protected:
    // Communes of 21, 71 and 90 published once into a template store that each test copies.
    static void SetUpTestSuite() {
        template_dir_ = new TempDir();
        auto communes = load_communes({"21", "71", "90"});
        auto store = store::open_store((template_dir_->path() / "ideo.gpkg").string());
        const LayerSpec& layer = communes->catalog.get("communes");
        store->publish(layer, "admin-express", communes->features, {}, Report{});
    }
    static void TearDownTestSuite() {
        delete template_dir_;
        template_dir_ = nullptr;
    }
    void SetUp() override {
        catalog_ = load_layers(layers_dir());
        for (const auto& e : fs::directory_iterator(template_dir_->path()))
            fs::copy_file(e.path(), dir_ / e.path().filename().string());
        store_ = store::open_store((dir_ / "ideo.gpkg").string());
        options_.work_dir = dir_.path();
    }
    harvest::RunResult run(const std::vector<PartnerSpec>& partners) {
        return harvest::run_harvest(partners, catalog_, *store_, options_);
    }
    // Identifiers published in `layer` by `source`.
    std::set<std::string> ids(const std::string& layer, const std::string& source) {
        std::set<std::string> out;
        for (const auto& f : store_->load(catalog_.get(layer)))
            if (f.provenance.source == source) out.insert(f.id);
        return out;
    }
    // How many records of `file` the pipeline publishes in `layer` (a dry-run import): the corpus
    // carries deliberate defects, so this is not the file's feature count.
    std::size_t publishable(const fs::path& file, const std::string& layer) {
        const LayerSpec& spec = catalog_.get(layer);
        auto communes = harvest::load_communes(catalog_, store_.get());
        return ingest::ingest_file(spec, harvest::source_for(spec, file.string()), file.string(), communes.get())
            .features.size();
    }
    static std::string failures(const harvest::PartnerReport& r) {
        std::string s;
        for (const auto& f : r.failures) s += f + "\n";
        return s;
    }

    static TempDir* template_dir_;
    TempDir dir_;
    LayerCatalog catalog_;
    std::unique_ptr<store::Store> store_;
    harvest::RunOptions options_;
    PartnerSimulator sim_;
};
TempDir* Harvest::template_dir_ = nullptr;

}  // namespace

TEST_F(Harvest, WfsPagedToTheEndPublishesWhatADirectImportOfTheSameFilePublishes) {
    const fs::path source = data("deci/pei-21-sdis21.geojson");
    sim_.serve_wfs("/geoserver/wfs", "sdis21:pei", source);
    auto p = partner("sdis21-wfs", "wfs", sim_.url("/geoserver/wfs"), "pei");
    p.options["typeNames"] = "sdis21:pei";
    p.page_size = 1000;
    const auto result = run({p});
    ASSERT_EQ(result.reports.size(), 1u);
    const auto& r = result.reports[0];
    EXPECT_FALSE(r.kept_last_good) << failures(r);
    const std::size_t n = feature_count(source);
    EXPECT_EQ(sim_.requests("/geoserver/wfs"), (n + 999) / 1000);  // stops at numberMatched or at a short page

    // The same file imported directly, as another source, into a copy of the store: same identifiers.
    auto direct_store = store::open_store((dir_ / "direct.gpkg").string());
    const LayerSpec& pei = catalog_.get("pei");
    auto communes = harvest::load_communes(catalog_, store_.get());
    SourceSpec src = harvest::source_for(pei, source.string());
    src.id = "sdis21-wfs";
    harvest::import_file(pei, src, source.string(), communes.get(), direct_store.get());
    std::set<std::string> direct;
    for (const auto& f : direct_store->load(pei)) direct.insert(f.id);
    EXPECT_EQ(ids("pei", "sdis21-wfs"), direct);
    EXPECT_GT(direct.size(), 1000u);
    EXPECT_EQ(r.added, direct.size());
}

TEST_F(Harvest, OgcApiFeaturesFollowsNextLinksToTheLastPage) {
    const auto slice = slice_geojson(data("deci/pei-21-sdis21.geojson"), 250, dir_ / "slice.geojson");
    sim_.serve_oapif("/ogcapi", "pei", slice);
    auto p = partner("sdis21-oapif", "oapif", sim_.url("/ogcapi/collections/pei/items"), "pei");
    p.page_size = 100;
    const auto r = run({p}).reports.at(0);
    EXPECT_FALSE(r.kept_last_good) << failures(r);
    EXPECT_EQ(sim_.requests("/ogcapi/collections/pei/items"), 3u);
    EXPECT_EQ(r.added, publishable(slice, "pei"));
    EXPECT_EQ(ids("pei", "sdis21-oapif").size(), r.added);
    EXPECT_GT(r.added, 200u);
}

TEST_F(Harvest, PlainDownloadsOfZipXlsxAndCsvAreImportedInOneParallelRun) {
    sim_.serve_file("/files/d_pei_cd90_p.zip", data("deci/d_pei_cd90_p.zip"));
    sim_.serve_file("/files/pei-71-communes.xlsx", data("deci/pei-71-communes.xlsx"));
    sim_.serve_file("/files/erp-90-prefecture.csv", data("deci/erp-90-prefecture.csv"));
    auto zip = partner("sdis90", "file", sim_.url("/files/d_pei_cd90_p.zip"), "pei");
    auto xlsx = partner("sdis71", "file", sim_.url("/files/pei-71-communes.xlsx"), "pei");
    auto csv = partner("prefecture90", "file", sim_.url("/files/erp-90-prefecture.csv"), "erp");
    const auto result = run({zip, xlsx, csv});
    for (const auto& r : result.reports) {
        EXPECT_FALSE(r.kept_last_good) << r.partner << ": " << failures(r);
        EXPECT_GT(r.added, 10u) << r.partner;
    }
    EXPECT_EQ(ids("pei", "sdis90").size(), result.reports[0].added);
    EXPECT_EQ(ids("pei", "sdis71").size(), result.reports[1].added);
    EXPECT_EQ(ids("erp", "prefecture90").size(), result.reports[2].added);
}

TEST_F(Harvest, ASecondRunDownloadsNothingAndImportsNothing) {
    const auto slice = slice_geojson(data("deci/pei-21-sdis21.geojson"), 120, dir_ / "slice.geojson");
    sim_.serve_file("/files/erp-90-prefecture.csv", data("deci/erp-90-prefecture.csv"));
    sim_.serve_wfs("/wfs", "pei", slice);
    auto file = partner("prefecture90", "file", sim_.url("/files/erp-90-prefecture.csv"), "erp");
    auto wfs = partner("sdis21-wfs", "wfs", sim_.url("/wfs"), "pei");
    wfs.options["typeNames"] = "pei";
    wfs.page_size = 50;
    const auto first = run({file, wfs});
    ASSERT_FALSE(first.reports[0].kept_last_good) << failures(first.reports[0]);
    ASSERT_FALSE(first.reports[1].kept_last_good) << failures(first.reports[1]);
    const auto version = store_->version();
    sim_.reset_log();

    const auto second = run({file, wfs});
    // The download answered 304; the WFS (which has no validators) was read once more, found identical, not imported.
    EXPECT_EQ(sim_.requests("/files/erp-90-prefecture.csv"), 1u);
    EXPECT_EQ(sim_.requests("/files/erp-90-prefecture.csv", 304), 1u);
    EXPECT_EQ(sim_.requests("/wfs"), 3u);
    for (const auto& r : second.reports) {
        EXPECT_TRUE(r.downloaded_nothing) << r.partner;
        EXPECT_EQ(r.added + r.updated + r.withdrawn, 0u) << r.partner;
        EXPECT_GT(r.unchanged, 0u) << r.partner;
    }
    EXPECT_EQ(store_->version(), version);  // nothing published
    EXPECT_EQ(store_->harvest_runs(10).size(), 4u);  // two runs of two partners, kept as history
}

TEST_F(Harvest, ANewVersionOfAFileIsDownloadedAndItsChangesCounted) {
    const auto v1 = slice_geojson(data("deci/pei-21-sdis21.geojson"), 100, dir_ / "v1.geojson");
    const auto v2 = slice_geojson(data("deci/pei-21-sdis21.geojson"), 140, dir_ / "v2.geojson");
    sim_.serve_file("/files/pei.geojson", v1);
    auto p = partner("sdis21", "file", sim_.url("/files/pei.geojson"), "pei");
    ASSERT_FALSE(run({p}).reports[0].kept_last_good);
    sim_.serve_file("/files/pei.geojson", v2);
    const auto r = run({p}).reports[0];
    EXPECT_FALSE(r.kept_last_good) << failures(r);
    const std::size_t n1 = publishable(v1, "pei"), n2 = publishable(v2, "pei");
    ASSERT_GT(n2, n1);
    EXPECT_EQ(r.added, n2 - n1);
    EXPECT_EQ(r.unchanged, n1);
    EXPECT_EQ(r.updated + r.withdrawn, 0u);
    EXPECT_EQ(ids("pei", "sdis21").size(), n2);
}

struct FaultCase {
    const char* name;
    Fault fault;
    const char* reason;  // what the report must say
};

class HarvestFault : public Harvest, public ::testing::WithParamInterface<FaultCase> {};

TEST_P(HarvestFault, APartnerFailingAfterAGoodRunKeepsItsLastGoodDataAndTheOthersCarryOn) {
    const auto slice = slice_geojson(data("deci/pei-21-sdis21.geojson"), 150, dir_ / "slice.geojson");
    sim_.serve_wfs("/wfs", "pei", slice);
    sim_.serve_file("/files/erp-90-prefecture.csv", data("deci/erp-90-prefecture.csv"));
    auto wfs = partner("sdis21-wfs", "wfs", sim_.url("/wfs"), "pei");
    wfs.options["typeNames"] = "pei";
    wfs.options["timeout_ms"] = "300";
    wfs.options["max_retries"] = "1";
    wfs.page_size = 100;
    auto healthy = partner("prefecture90", "file", sim_.url("/files/erp-90-prefecture.csv"), "erp");

    ASSERT_FALSE(run({wfs}).reports[0].kept_last_good);
    const auto before = ids("pei", "sdis21-wfs");
    ASSERT_EQ(before.size(), publishable(slice, "pei"));

    sim_.fail("/wfs", {GetParam().fault, -1});
    const auto result = run({wfs, healthy});
    const auto& failed = result.reports[0];
    EXPECT_TRUE(failed.kept_last_good);
    EXPECT_NE(failures(failed).find(GetParam().reason), std::string::npos) << failures(failed);
    EXPECT_EQ(ids("pei", "sdis21-wfs"), before);
    EXPECT_FALSE(result.reports[1].kept_last_good) << failures(result.reports[1]);
    EXPECT_GT(ids("erp", "prefecture90").size(), 10u);
    EXPECT_FALSE(result.ok());
}

INSTANTIATE_TEST_SUITE_P(
    Faults, HarvestFault,
    ::testing::Values(FaultCase{"Always503", Fault::Status503, "HTTP 503 after 1 retries"},
                      FaultCase{"Stall", Fault::Stall, "timed out after 300 ms"},
                      FaultCase{"TruncatedBody", Fault::Truncated, "truncated body"},
                      FaultCase{"InvalidJson", Fault::InvalidBody, "invalid JSON at offset"},
                      FaultCase{"WrongContentType", Fault::WrongContentType, "unexpected content type"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(Harvest, AFileThatFailsToIngestKeepsTheLastGoodVersion) {
    const auto v1 = slice_geojson(data("deci/pei-21-sdis21.geojson"), 80, dir_ / "v1.geojson");
    sim_.serve_file("/files/pei.geojson", v1);
    auto p = partner("sdis21", "file", sim_.url("/files/pei.geojson"), "pei");
    ASSERT_FALSE(run({p}).reports[0].kept_last_good);
    sim_.serve_bytes("/files/pei.geojson", "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":", "application/geo+json");
    const auto r = run({p}).reports[0];
    EXPECT_TRUE(r.kept_last_good);
    EXPECT_FALSE(r.failures.empty());
    EXPECT_EQ(ids("pei", "sdis21").size(), publishable(v1, "pei"));
}

TEST_F(Harvest, RetriesSucceedWhenThePartnerAnswers503TwiceThenOk) {
    sim_.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    sim_.fail("/files/erp.csv", {Fault::Status503, 2});
    const auto r = run({partner("prefecture90", "file", sim_.url("/files/erp.csv"), "erp")}).reports[0];
    EXPECT_FALSE(r.kept_last_good) << failures(r);
    EXPECT_EQ(sim_.requests("/files/erp.csv", 503), 2u);
    EXPECT_GT(ids("erp", "prefecture90").size(), 10u);
}

TEST_F(Harvest, ARedirectedDownloadIsFollowed) {
    sim_.serve_file("/data/2025/erp.csv", data("deci/erp-90-prefecture.csv"));
    sim_.fail("/latest/erp.csv", {Fault::Redirect, -1, "/data/2025/erp.csv"});
    const auto r = run({partner("prefecture90", "file", sim_.url("/latest/erp.csv"), "erp")}).reports[0];
    EXPECT_FALSE(r.kept_last_good) << failures(r);
    EXPECT_EQ(sim_.requests("/data/2025/erp.csv", 200), 1u);
    EXPECT_GT(r.added, 10u);
}

TEST_F(Harvest, ACatalogueProtocolWithoutItsHarvesterIsReportedNotFatal) {
    auto p = partner("geoide", "csw", sim_.url("/csw"), "");
    const auto r = run({p}).reports[0];
    EXPECT_FALSE(r.failures.empty());
    EXPECT_EQ(r.protocol, "csw");
}

// https:// partners: a CA made for the test signs the simulator's certificate.
TEST_F(Harvest, AnHttpsPartnerIsHarvestedWithItsCaFileAndWithoutItKeepsItsLastGoodData) {
    TestPki pki(dir_ / "pki");
    PartnerSimulator tls(pki.server("sdis21", {"IP:127.0.0.1", "DNS:localhost"}));
    const auto slice = slice_geojson(data("deci/pei-21-sdis21.geojson"), 150, dir_ / "slice.geojson");
    tls.serve_wfs("/geoserver/wfs", "sdis21:pei", slice);
    auto p = partner("sdis21-wfs", "wfs", tls.url("/geoserver/wfs"), "pei");
    p.options["typeNames"] = "sdis21:pei";
    p.options["ca_file"] = pki.ca_certificate().string();
    p.page_size = 100;
    const auto first = run({p}).reports.at(0);
    ASSERT_FALSE(first.kept_last_good) << failures(first);
    EXPECT_EQ(tls.requests("/geoserver/wfs"), 2u);
    EXPECT_EQ(first.added, publishable(slice, "pei"));
    const auto before = ids("pei", "sdis21-wfs");
    EXPECT_EQ(before.size(), first.added);

    // The same partner without its CA: its certificate is refused, nothing is asked or published, the report says why.
    p.options.erase("ca_file");
    tls.reset_log();
    const auto version = store_->version();
    const auto second = run({p}).reports.at(0);
    EXPECT_TRUE(second.kept_last_good);
    EXPECT_NE(failures(second).find("certificate verify failed: unable to get local issuer certificate"), std::string::npos)
        << failures(second);
    EXPECT_NE(failures(second).find(tls.url("/geoserver/wfs")), std::string::npos) << failures(second);
    EXPECT_EQ(tls.requests("/geoserver/wfs"), 0u);
    EXPECT_EQ(ids("pei", "sdis21-wfs"), before);
    EXPECT_EQ(store_->version(), version);
}

TEST_F(Harvest, ADownloadRedirectedFromHttpToHttpsOnAnotherHostIsHarvestedThenAnswers304) {
    TestPki pki(dir_ / "pki");
    PartnerSimulator tls(pki.server("prefecture", {"DNS:localhost"}));
    tls.serve_file("/data/2025/erp.csv", data("deci/erp-90-prefecture.csv"));
    sim_.fail("/latest/erp.csv", {Fault::Redirect, -1, tls.url("/data/2025/erp.csv", "localhost")});
    auto p = partner("prefecture90", "file", sim_.url("/latest/erp.csv"), "erp");
    p.options["ca_file"] = pki.ca_certificate().string();
    const auto r = run({p}).reports.at(0);
    EXPECT_FALSE(r.kept_last_good) << failures(r);
    EXPECT_EQ(tls.requests("/data/2025/erp.csv", 200), 1u);
    EXPECT_EQ(r.added, publishable(data("deci/erp-90-prefecture.csv"), "erp"));
    EXPECT_EQ(ids("erp", "prefecture90").size(), r.added);

    // The validators of the https:// answer travel through the redirect: the second run downloads nothing.
    const auto again = run({p}).reports.at(0);
    EXPECT_TRUE(again.downloaded_nothing) << failures(again);
    EXPECT_EQ(tls.requests("/data/2025/erp.csv", 304), 1u);
}

TEST_F(Harvest, ACaFileOptionThatIsNotAFileIsReportedNamingTheKey) {
    auto p = partner("sdis21-wfs", "wfs", sim_.url("/wfs"), "pei");
    p.file = dir_ / "partners" / "sdis21-wfs.json";
    p.options["ca_file"] = "pki/absent-ca.pem";
    const auto r = run({p}).reports.at(0);
    EXPECT_TRUE(r.kept_last_good);
    EXPECT_NE(failures(r).find("sdis21-wfs.json: key \"options.ca_file\": " + (dir_ / "partners" / "pki" / "absent-ca.pem").string()),
              std::string::npos)
        << failures(r);
    EXPECT_TRUE(sim_.log().empty());
}

// Catalogue records linked to one of our layers (import_linked): their data imported into it.
class LinkedImport : public Harvest {
protected:
    void SetUp() override {
        Harvest::SetUp();
        options_.catalogue = harvest::harvest_catalogue_partner;
    }
    PartnerSpec catalogue(const std::string& id, const std::string& protocol, const std::string& url,
                          const fs::path& rules) {
        auto p = partner(id, protocol, url, "");
        p.page_size = 100;
        p.options["rules"] = rules.string();
        return p;
    }
    // The features of `layer` published from `source`, each checked to carry its provenance.
    std::size_t with_provenance(const std::string& layer, const std::string& source) {
        std::size_t n = 0;
        for (const auto& f : store_->load(catalog_.get(layer)))
            if (f.provenance.source == source) {
                n += !f.provenance.source_id.empty() && !f.provenance.harvested_at.empty();
            }
        return n;
    }
    std::string linked_layer(const std::string& partner, const std::string& record) {
        for (const auto& r : store_->load_catalog_records(partner))
            if (r.id == record) return r.feeds_layer;
        return "(no such record)";
    }
    // DataSud's real CKAN answer, its URLs pointed at the simulator; without the Canispaces record once it is gone.
    void serve_datasud() {
        sim_.route("/api/3/action/package_search", [this](const SimRequest&) {
            std::string body = replace_all(read_file(data("catalog/ckan/datasud_package_search.json")),
                                           "https://www.datasud.fr", sim_.url(""));
            if (canispaces_gone_) {
                rapidjson::Document d;
                d.Parse(body.c_str(), body.size());
                auto& results = d["result"]["results"];
                for (auto it = results.Begin(); it != results.End(); ++it)
                    if (std::string((*it)["name"].GetString()) == "canispaces----ville-de-gap") {
                        results.Erase(it);
                        break;
                    }
                d["result"]["count"].SetInt(static_cast<int>(results.Size()));
                rapidjson::StringBuffer sb;
                rapidjson::Writer<rapidjson::StringBuffer> w(sb);
                d.Accept(w);
                body = sb.GetString();
            }
            return SimResponse{200, "application/json", {}, body};
        });
    }

    const std::string canispaces_ = "datasud:cfa98601-185f-4194-bc0f-119fc23a194b";
    const std::string download_ = "/fr/dataset/datasets/4539/resource/6176/download/";  // its Shapefile
    std::atomic<bool> canispaces_gone_{false};
};

TEST_F(LinkedImport, ARecordWhoseDownloadFeedsALayerIsImportedIncrementallyAndKeptWhenItFails) {
    // The Canispaces record's Shapefile download serves SDIS 90's PEI.
    serve_datasud();
    const std::string& download = download_;
    const std::string& record = canispaces_;
    sim_.serve_file(download, data("deci/d_pei_cd90_p.zip"));
    const auto p = catalogue("datasud", "ckan", sim_.url("/"), rules_linking("pei", "canispace", dir_ / "themes.json"));

    const auto first = run({p}).reports.at(0);
    EXPECT_FALSE(first.kept_last_good) << failures(first);
    EXPECT_EQ(first.added, 7u);
    ASSERT_EQ(first.imports.size(), 1u) << first.to_json();  // the one record the rules link to a layer
    const auto& i = first.imports[0];
    EXPECT_EQ(i.record, record);
    EXPECT_EQ(i.layer, "pei");
    EXPECT_EQ(i.status, "imported") << i.reason;
    EXPECT_EQ(i.distribution, "Shapefile (zip)");  // the download, rather than the record's WFS link
    EXPECT_EQ(i.url, sim_.url(download));
    const std::size_t expected = publishable(data("deci/d_pei_cd90_p.zip"), "pei");
    EXPECT_GT(expected, 100u);
    EXPECT_EQ(i.added, expected);
    EXPECT_EQ(with_provenance("pei", record), expected);
    EXPECT_EQ(ids("pei", record).size(), expected);
    EXPECT_EQ(linked_layer("datasud", record), "pei");
    EXPECT_EQ(sim_.requests(download, 200), 1u);
    EXPECT_EQ(sim_.requests("/geoserver/communaute-dagglomeration-de-gap-tallard-durance/ows"), 0u);

    // Second run: the download answers 304, nothing is imported or published again.
    const auto version = store_->version();
    sim_.reset_log();
    const auto second = run({p}).reports.at(0);
    ASSERT_EQ(second.imports.size(), 1u);
    EXPECT_EQ(second.imports[0].status, "unchanged") << second.to_json();
    EXPECT_EQ(second.imports[0].added + second.imports[0].updated + second.imports[0].withdrawn, 0u);
    EXPECT_EQ(sim_.requests(download, 304), 1u);
    EXPECT_EQ(store_->version(), version);

    // The download now fails: the report says which record and why, the layer keeps the record's last good data.
    sim_.fail(download, {Fault::Status503, -1});
    const auto third = run({p}).reports.at(0);
    EXPECT_TRUE(third.kept_last_good);
    ASSERT_EQ(third.imports.size(), 1u);
    EXPECT_EQ(third.imports[0].status, "failed");
    EXPECT_NE(third.imports[0].reason.find("HTTP 503 after 3 retries"), std::string::npos) << third.imports[0].reason;
    EXPECT_NE(failures(third).find("record " + record + " -> pei: GET " + sim_.url(download)), std::string::npos)
        << failures(third);
    EXPECT_EQ(ids("pei", record).size(), expected);
    EXPECT_EQ(store_->version(), version);
}

TEST_F(LinkedImport, AnHttpsCswRecordWithOnlyAWfsLinkIsImportedThroughTheWfsItNames) {
    // A real GeoNetwork ISO 19139 record (DOV Vlaanderen) whose data is a GeoServer WFS layer, over https://.
    TestPki pki(dir_ / "pki");
    PartnerSimulator tls(pki.server("dov", {"IP:127.0.0.1"}));
    tls.route("/csw", [&tls](const SimRequest&) {
        return SimResponse{200, "application/xml", {},
                           replace_all(read_file(data("catalog/csw/csw_dov_getrecordbyid.xml")),
                                       "https://www.dov.vlaanderen.be", tls.url(""))};
    });
    const auto slice = slice_geojson(data("deci/pei-21-sdis21.geojson"), 250, dir_ / "slice.geojson");
    tls.serve_wfs("/geoserver/wfs", "gw_meetnetten:meetnetten", slice);
    auto p = catalogue("dov", "csw", tls.url("/csw"), rules_linking("pei", "meetnetten", dir_ / "themes.json"));
    p.options["ca_file"] = pki.ca_certificate().string();
    const std::string record = "dov:6c39d716-aecc-4fbc-bac8-4f05a49a78d5";

    const auto r = run({p}).reports.at(0);
    EXPECT_FALSE(r.kept_last_good) << failures(r);
    ASSERT_EQ(r.imports.size(), 1u) << r.to_json();
    EXPECT_EQ(r.imports[0].record, record);
    EXPECT_EQ(r.imports[0].status, "imported") << r.imports[0].reason;
    EXPECT_EQ(r.imports[0].distribution, "WFS gw_meetnetten:meetnetten");
    EXPECT_EQ(r.imports[0].added, publishable(slice, "pei"));
    EXPECT_EQ(with_provenance("pei", record), r.imports[0].added);
    EXPECT_EQ(linked_layer("dov", record), "pei");
    // One GeoJSON page through the endpoint, not the record's capabilities or GetFeature preview links.
    ASSERT_EQ(tls.requests("/geoserver/wfs"), 1u);
    for (const auto& l : tls.log())
        if (l.path == "/geoserver/wfs") EXPECT_NE(l.target.find("typeNames=gw_meetnetten:meetnetten"), std::string::npos) << l.target;
}

TEST_F(LinkedImport, ADownloadThatIsAnHtmlPageIsReportedAndImportLinkedOffTriesNothing) {
    serve_datasud();
    // The record's Shapefile download answers an HTML page: a failure, reported; with import_linked off, not even tried.
    sim_.fail(download_, {Fault::WrongContentType, -1});
    auto p = catalogue("datasud", "ckan", sim_.url("/"), rules_linking("pei", "canispace", dir_ / "themes.json"));
    const auto on = run({p}).reports.at(0);
    ASSERT_EQ(on.imports.size(), 1u) << on.to_json();
    EXPECT_EQ(on.imports[0].status, "failed");
    EXPECT_NE(on.imports[0].reason.find("unexpected content type"), std::string::npos) << on.imports[0].reason;
    EXPECT_TRUE(on.kept_last_good);
    EXPECT_EQ(linked_layer("datasud", canispaces_), "pei");  // the catalogue itself was harvested
    EXPECT_TRUE(ids("pei", canispaces_).empty());

    p.import_linked = false;
    sim_.reset_log();
    const auto off = run({p}).reports.at(0);
    EXPECT_TRUE(off.imports.empty());
    EXPECT_FALSE(off.kept_last_good) << failures(off);
    EXPECT_EQ(sim_.requests(download_), 0u);
}

TEST_F(LinkedImport, ARecordWithdrawnFromItsPartnerTakesItsFeaturesOutOfTheLayerAndBringsThemBackWithIt) {
    serve_datasud();
    sim_.serve_file(download_, data("deci/d_pei_cd90_p.zip"));
    const auto p = catalogue("datasud", "ckan", sim_.url("/"), rules_linking("pei", "canispace", dir_ / "themes.json"));
    const auto first = run({p}).reports.at(0);
    ASSERT_EQ(first.imports.size(), 1u) << first.to_json();
    const std::size_t imported = ids("pei", canispaces_).size();
    ASSERT_GT(imported, 100u);
    EXPECT_EQ(first.imports[0].added, imported);

    canispaces_gone_ = true;
    const auto gone = run({p}).reports.at(0);
    EXPECT_EQ(gone.withdrawn, 1u) << gone.to_json();
    ASSERT_EQ(gone.imports.size(), 1u) << gone.to_json();
    EXPECT_EQ(gone.imports[0].status, "withdrawn");
    EXPECT_EQ(gone.imports[0].withdrawn, imported);
    EXPECT_TRUE(ids("pei", canispaces_).empty());
    const auto version = store_->version();
    EXPECT_TRUE(run({p}).reports.at(0).imports.empty());  // withdrawn once, not again
    EXPECT_EQ(store_->version(), version);

    // The partner publishes it again: its unchanged download is imported again, not taken for already there.
    canispaces_gone_ = false;
    const auto back = run({p}).reports.at(0);
    ASSERT_EQ(back.imports.size(), 1u) << back.to_json();
    EXPECT_EQ(back.imports[0].status, "imported");
    EXPECT_EQ(ids("pei", canispaces_).size(), imported);
}

TEST(HarvestCli, OnePartnerWithoutConfigurationPrintsItsReportAsJson) {
    TempDir dir;
    PartnerSimulator sim;
    sim.serve_file("/files/erp-90-prefecture.csv", data("deci/erp-90-prefecture.csv"));
    const auto store = (dir / "ideo.gpkg").string();
    const auto res = run_ideo({"harvest", "--url", sim.url("/files/erp-90-prefecture.csv"), "--protocol", "file", "--layer",
                               "erp", "--layers", layers_dir().string(), "--store", store, "--json"});
    ASSERT_EQ(res.exit_code, 0) << res.err << res.out;
    rapidjson::Document d;
    d.Parse(res.out.c_str());
    ASSERT_FALSE(d.HasParseError()) << res.out;
    ASSERT_TRUE(d["partners"].IsArray());
    ASSERT_EQ(d["partners"].Size(), 1u);
    EXPECT_EQ(std::string(d["partners"][0]["protocol"].GetString()), "file");
    EXPECT_GT(d["partners"][0]["added"].GetUint64(), 10u);
    EXPECT_FALSE(d["partners"][0]["kept_last_good"].GetBool());

    const auto again = run_ideo({"harvest", "--url", sim.url("/files/erp-90-prefecture.csv"), "--protocol", "file",
                                 "--layer", "erp", "--layers", layers_dir().string(), "--store", store, "--json"});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    d.Parse(again.out.c_str());
    ASSERT_FALSE(d.HasParseError()) << again.out;
    EXPECT_TRUE(d["partners"][0]["downloaded_nothing"].GetBool());
    EXPECT_EQ(sim.requests("/files/erp-90-prefecture.csv", 304), 1u);
}

// The sources declared in layers/*.json go through the harvester like any partner: the communes first,
// then the layers they attribute; a second run finds every file unchanged and imports nothing.
TEST(HarvestCli, LayerSourcesAreHarvestedCommunesFirstAndIncrementally) {
    TempDir dir;
    const auto store = (dir / "ideo.gpkg").string();
    const std::vector<std::string> args = {"harvest", "--only", "sdis90", "prefecture90", "admin-express-90",
                                           "--layers", layers_dir().string(), "--store", store, "--json"};
    const auto first = run_ideo(args);
    ASSERT_EQ(first.exit_code, 0) << first.err << first.out;
    rapidjson::Document d;
    d.Parse(first.out.c_str());
    ASSERT_FALSE(d.HasParseError()) << first.out;
    ASSERT_EQ(d["partners"].Size(), 3u) << first.out;
    EXPECT_STREQ(d["partners"][0]["partner"].GetString(), "admin-express-90");  // before the layers it attributes
    EXPECT_EQ(d["partners"][0]["added"].GetUint64(), 102u);
    std::map<std::string, std::uint64_t> added;
    for (const auto& r : d["partners"].GetArray()) added[r["partner"].GetString()] = r["added"].GetUint64();
    EXPECT_GT(added.at("sdis90"), 100u);
    EXPECT_GT(added.at("prefecture90"), 100u);
    // What the report counts is what the store holds.
    const auto pei = store::open_store(store)->load(load_layers(layers_dir()).get("pei"));
    EXPECT_EQ(pei.size(), added.at("sdis90"));

    const auto again = run_ideo(args);
    ASSERT_EQ(again.exit_code, 0) << again.err << again.out;
    d.Parse(again.out.c_str());
    ASSERT_FALSE(d.HasParseError()) << again.out;
    for (const auto& r : d["partners"].GetArray()) {
        EXPECT_TRUE(r["downloaded_nothing"].GetBool()) << r["partner"].GetString();
        EXPECT_EQ(r["added"].GetUint64(), 0u) << r["partner"].GetString();
    }
}

TEST(HarvestCli, AnUnknownProtocolIsAUsageErrorNamingIt) {
    TempDir dir;
    const auto res = run_ideo({"harvest", "--url", "http://127.0.0.1:1/x", "--protocol", "gopher", "--layer", "erp",
                               "--layers", layers_dir().string(), "--store", (dir / "ideo.gpkg").string()});
    EXPECT_EQ(res.exit_code, 2);
    EXPECT_NE(res.err.find("gopher"), std::string::npos) << res.err;
}

TEST(AdminHarvest, TheTriggerNeedsTheBearerTokenAndAnswers202WithTheRunId) {
    TempDir dir;
    ::setenv("IDEO_ADMIN_TOKEN", "s3cret-token", 1);
    ServerProcess server({"--store", (dir / "ideo.gpkg").string(), "--layers", layers_dir().string()});
    ::unsetenv("IDEO_ADMIN_TOKEN");
    harvest::HttpOptions o;
    o.max_retries = 0;
    harvest::HttpClient client(o);
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/admin/harvest";
    const auto error_of = [&](const std::vector<std::pair<std::string, std::string>>& headers) {
        try {
            client.fetch({"POST", url, headers, {}});
        } catch (const harvest::FetchError& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(error_of({}).find("HTTP 401"), std::string::npos);
    EXPECT_NE(error_of({{"Authorization", "Bearer wrong"}}).find("HTTP 401"), std::string::npos);
    const auto res = client.fetch({"POST", url, {{"Authorization", "Bearer s3cret-token"}}, {}});
    EXPECT_EQ(res.status, 202);
    rapidjson::Document d;
    d.Parse(res.body.c_str());
    ASSERT_TRUE(d.IsObject() && d.HasMember("run_id")) << res.body;
    EXPECT_EQ(std::string(d["status"].GetString()), "started");
    EXPECT_FALSE(std::string(d["run_id"].GetString()).empty());
    EXPECT_TRUE(server.alive());
}

TEST(AdminHarvest, WithoutATokenConfiguredOnlyAnAdminKeyStartsIt) {
    TempDir dir;
    const std::string store = (dir / "ideo.gpkg").string();
    const auto member = run_ideo({"keys", "create", "--org", "Mairie de Belfort", "--role", "member", "--insee", "90010", "--store", store});
    const auto admin = run_ideo({"keys", "create", "--org", "IDEO", "--role", "admin", "--store", store});
    ASSERT_EQ(member.exit_code, 0) << member.err;
    ASSERT_EQ(admin.exit_code, 0) << admin.err;
    const auto key_of = [](const std::string& out) { return out.substr(out.find("key: ") + 5, 48); };
    ServerProcess server({"--store", store, "--layers", layers_dir().string()});
    harvest::HttpOptions o;
    o.max_retries = 0;
    harvest::HttpClient client(o);
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/admin/harvest";
    const auto status_of = [&](const std::string& credential) {
        try {
            return client.fetch({"POST", url, {{"Authorization", "Bearer " + credential}}, {}}).status;
        } catch (const harvest::FetchError& e) {
            return std::string(e.what()).find("HTTP 401") != std::string::npos   ? 401
                   : std::string(e.what()).find("HTTP 403") != std::string::npos ? 403
                                                                                 : -1;
        }
    };
    EXPECT_EQ(status_of("anything"), 401);  // no admin token to match: an unknown key
    EXPECT_EQ(status_of(key_of(member.out)), 403);
    EXPECT_EQ(status_of(key_of(admin.out)), 202);
    EXPECT_TRUE(server.alive());
}
