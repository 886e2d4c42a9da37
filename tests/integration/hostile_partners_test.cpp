// Hostile partners end to end: a real HTTP server on loopback answers JSON nested 200,000 levels deep,
// an XML entity expansion, or a gzip bomb. Each fails its own partner with the reason in its report,
// keeps that partner's last good records, and never stops the partners harvested beside it.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "ideo/harvest/catalogue.hpp"
#include "ideo/harvest/runner.hpp"
#include "partner_simulator.hpp"
#include "test_support.hpp"

using namespace ideo;
using namespace ideo::test;
using harvest::PartnerSpec;

namespace {

PartnerSpec partner(const std::string& id, const std::string& protocol, const std::string& url) {
    PartnerSpec p;
    p.id = id;
    p.name = id;
    p.protocol = protocol;
    p.url = url;
    p.page_size = protocol == "csw" ? 2 : 100;  // the recorded CSW pages hold two records each
    p.options["rules"] = (layers_dir() / "catalog" / "themes.json").string();
    return p;
}

// The CKAN package_search answer of a package whose extras hold `depth` nested objects.
std::string ckan_nested(std::size_t depth) {
    std::string deep;
    deep.reserve(depth * 6 + 1);
    for (std::size_t i = 0; i < depth; ++i) deep += "{\"a\":";
    deep += "1";
    deep.append(depth, '}');
    return R"({"success":true,"result":{"count":1,"results":[{"id":"deep","title":"Deep","extras":[{"key":"x","value":)" +
           deep + "}]}]}}";
}

// A CSW answer that declares the classic "billion laughs": ten entities of ten references each, 2 KB for 3 GB.
std::string csw_billion_laughs() {
    std::string x = "<?xml version=\"1.0\"?>\n<!DOCTYPE csw:GetRecordsResponse [\n<!ENTITY lol0 \"lollollollollollollollollollollollollollol\">\n";
    for (int i = 1; i <= 10; ++i) {
        x += "<!ENTITY lol" + std::to_string(i) + " \"";
        for (int j = 0; j < 10; ++j) x += "&lol" + std::to_string(i - 1) + ";";
        x += "\">\n";
    }
    return x + "]>\n<csw:GetRecordsResponse xmlns:csw=\"http://www.opengis.net/cat/csw/2.0.2\">"
               "<csw:SearchResults numberOfRecordsMatched=\"1\" numberOfRecordsReturned=\"1\" nextRecord=\"0\">"
               "<csw:Record xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:identifier>x</dc:identifier>"
               "<dc:title>&lol10;</dc:title></csw:Record></csw:SearchResults></csw:GetRecordsResponse>\n";
}

// GeoNetwork's recorded CSW pages, chosen by startPosition.
SimResponse csw_pages(const SimRequest& r) {
    const std::string start = r.param("startPosition");
    const std::string page = start == "3" ? "3" : start == "5" ? "5" : "1";
    return SimResponse{200, "application/xml", {}, read_file(data("catalog/csw/udata_geonetwork-iso19139-page-" + page + ".xml"))};
}

// A recorded answer served as it is.
SimHandler recorded(const std::string& relative, const std::string& content_type) {
    return [body = read_file(data(relative)), content_type](const SimRequest&) { return SimResponse{200, content_type, {}, body}; };
}

// Serves `good` until `hostile` is set, then `bad` (with its own headers: a gzip bomb is sent as it is).
void serve_until_hostile(PartnerSimulator& sim, const std::string& path, SimHandler good, SimResponse bad,
                         std::shared_ptr<std::atomic<bool>> hostile) {
    auto answer = std::make_shared<const SimResponse>(std::move(bad));
    sim.route(path, [good = std::move(good), answer, hostile](const SimRequest& r) { return *hostile ? *answer : good(r); });
}

class HostilePartners : public ::testing::Test {
protected:
    void SetUp() override {
        catalog_ = load_layers(layers_dir());
        store_ = store::open_store((dir_ / "ideo.gpkg").string());
        options_.work_dir = dir_.path();
        options_.http.max_retries = 0;
        options_.http.timeout = std::chrono::milliseconds(20000);
        options_.catalogue = harvest::harvest_catalogue_partner;
        // The partner harvested beside the hostile one: GeoNetwork's recorded CSW pages.
        sim_.route("/csw", csw_pages);
    }
    harvest::RunResult run(const std::vector<PartnerSpec>& partners) {
        return harvest::run_harvest(partners, catalog_, *store_, options_);
    }
    std::size_t listed(const std::string& partner) {
        std::size_t n = 0;
        for (const auto& r : store_->load_catalog_records(partner)) n += !r.withdrawn;
        return n;
    }
    // Harvests `hostile` once while it answers well, then again beside the CSW partner once it turned hostile:
    // the report of the hostile run, whose first failure must say `reason`.
    harvest::PartnerReport harvest_turning_hostile(const PartnerSpec& hostile, std::size_t good_records,
                                                   std::shared_ptr<std::atomic<bool>> turned, const std::string& reason) {
        const auto first = run({hostile});
        EXPECT_EQ(first.reports.at(0).added, good_records) << first.to_json();
        *turned = true;
        const auto second = run({hostile, partner("geonetwork", "csw", sim_.url("/csw"))});
        const auto& bad = second.reports.at(0);
        EXPECT_TRUE(bad.kept_last_good) << second.to_json();
        EXPECT_FALSE(bad.failures.empty()) << second.to_json();
        if (!bad.failures.empty()) EXPECT_NE(bad.failures[0].find(reason), std::string::npos) << bad.failures[0];
        EXPECT_EQ(bad.withdrawn, 0u);
        EXPECT_EQ(listed(hostile.id), good_records);  // the last good records stay
        EXPECT_EQ(second.reports.at(1).added, 6u) << second.to_json();  // the other partner went on
        EXPECT_TRUE(second.reports.at(1).failures.empty()) << second.to_json();
        return bad;
    }

    TempDir dir_;
    LayerCatalog catalog_;
    std::unique_ptr<store::Store> store_;
    harvest::RunOptions options_;
    PartnerSimulator sim_;
};

}  // namespace

TEST_F(HostilePartners, ACkanAnswerNested200000DeepFailsItsPartnerWithoutCrashingTheHarvest) {
    auto turned = std::make_shared<std::atomic<bool>>(false);
    serve_until_hostile(sim_, "/ckan/api/3/action/package_search", recorded("catalog/ckan/datasud_package_search.json", "application/json"),
                        SimResponse{200, "application/json", {}, ckan_nested(200000)}, turned);
    harvest_turning_hostile(partner("datasud", "ckan", sim_.url("/ckan")), 7, turned, "nested deeper than");
}

TEST_F(HostilePartners, ACswAnswerExpandingEntitiesFailsItsPartnerInsteadOfGrowingWithoutEnd) {
    auto turned = std::make_shared<std::atomic<bool>>(false);
    serve_until_hostile(sim_, "/lol", csw_pages, SimResponse{200, "application/xml", {}, csw_billion_laughs()}, turned);
    harvest_turning_hostile(partner("laughs", "csw", sim_.url("/lol")), 6, turned, "entity");
}

TEST_F(HostilePartners, AGzipBombIsCutAtTheDecodedLimitOfItsPartner) {
    auto turned = std::make_shared<std::atomic<bool>>(false);
    // 3 GB of JSON whitespace in about 3 MB, sent as the partner's gzip answer.
    SimResponse bomb{200, "application/json", {{"Content-Encoding", "gzip"}},
                     PartnerSimulator::gzip_bomb(R"({"success":true,"result":{"count":0,"results":[)", std::size_t{3} << 30, "]}}")};
    EXPECT_LT(bomb.body.size(), 4u << 20);
    serve_until_hostile(sim_, "/ckan/api/3/action/package_search", recorded("catalog/ckan/datasud_package_search.json", "application/json"),
                        std::move(bomb), turned);
    const std::size_t limit = harvest::HttpOptions{}.max_decoded_body;
    EXPECT_LE(limit, std::size_t{64} << 20);  // a gzip answer inflates to 64 MiB at most unless the partner says more
    harvest_turning_hostile(partner("datasud", "ckan", sim_.url("/ckan")), 7, turned, "exceeds " + std::to_string(limit) + " bytes");
}

TEST_F(HostilePartners, APartnersOwnDecodedLimitCutsItsGzipAnswers) {
    auto turned = std::make_shared<std::atomic<bool>>(false);
    SimResponse bomb{200, "application/json", {{"Content-Encoding", "gzip"}},
                     PartnerSimulator::gzip_bomb(R"({"success":true,"result":{"count":0,"results":[)", std::size_t{8} << 20, "]}}")};
    serve_until_hostile(sim_, "/ckan/api/3/action/package_search", recorded("catalog/ckan/datasud_package_search.json", "application/json"),
                        std::move(bomb), turned);
    auto spec = partner("datasud", "ckan", sim_.url("/ckan"));
    spec.options["max_decoded_body"] = "2097152";  // the recorded answer (gzip-compressed by the simulator) fits
    harvest_turning_hostile(spec, 7, turned, "exceeds 2097152 bytes");
}

TEST_F(HostilePartners, AnOgcApiPageNested200000DeepFailsItsPartnerWithoutCrashingTheHarvest) {
    std::string deep = R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"x":)";
    for (int i = 0; i < 200000; ++i) deep += "[";
    deep.append(200000, ']');
    deep += "},\"geometry\":null}]}";
    sim_.route("/oapif", [deep](const SimRequest&) { return SimResponse{200, "application/geo+json", {}, deep}; });
    auto spec = partner("deep-oapif", "oapif", sim_.url("/oapif/collections/pei/items"));
    spec.layer = "pei";
    const auto r = run({spec, partner("geonetwork", "csw", sim_.url("/csw"))});
    ASSERT_FALSE(r.reports.at(0).failures.empty()) << r.to_json();
    EXPECT_NE(r.reports.at(0).failures[0].find("nested deeper than"), std::string::npos) << r.reports.at(0).failures[0];
    EXPECT_EQ(r.reports.at(1).added, 6u) << r.to_json();
}
