// Which distribution of a catalogue record linked to one of our layers is imported, on real records
// of the corpus (DataSud's CKAN answer, DOV's ISO 19139 record) parsed by the catalogue module.
#include "ideo/harvest/linked.hpp"

#include <gtest/gtest.h>

#include "ideo/catalog/parse.hpp"
#include "test_support.hpp"

using namespace ideo;
using namespace ideo::test;

namespace {

harvest::PartnerSpec catalogue() {
    harvest::PartnerSpec p;
    p.id = "datasud";
    p.name = "DataSud";
    p.protocol = "ckan";
    p.page_size = 20;
    p.options["typeNames"] = "csw:Record";  // a catalogue option that must not leak into the WFS request
    return p;
}

catalog::Record datasud_record(const std::string& name) {
    auto parsed = catalog::parse_ckan(read_file(data("catalog/ckan/datasud_package_search.json")));
    for (auto& r : parsed.records)
        if (r.original.find("\"name\":\"" + name + "\"") != std::string::npos) {
            r.id = "datasud:" + r.remote_id;
            r.feeds_layer = "pei";
            return r;
        }
    throw std::runtime_error("no record " + name + " in the DataSud answer");
}

}  // namespace

TEST(LinkedSource, PrefersTheDownloadInAFormatTheIngestReadsToTheServiceLink) {
    const auto rec = datasud_record("canispaces----ville-de-gap");
    std::string why;
    const auto s = harvest::linked_source(catalogue(), rec, why);
    ASSERT_TRUE(s) << why;
    EXPECT_EQ(s->distribution, "Shapefile (zip)");
    EXPECT_EQ(s->partner.protocol, "file");
    EXPECT_EQ(s->partner.url, "https://www.datasud.fr/fr/dataset/datasets/4539/resource/6176/download/");
    EXPECT_EQ(s->partner.id, rec.id);  // the features' provenance names the record
    EXPECT_EQ(s->partner.layer, "pei");
}

TEST(LinkedSource, AWfsPreviewLinkBecomesTheEndpointAndItsFeatureType) {
    auto rec = datasud_record("canispaces----ville-de-gap");
    // Without its download, the record's data is its WFS link: version=1.0.0&maxFeatures=50, a capped preview.
    std::erase_if(rec.distributions, [](const catalog::Distribution& d) { return d.format != "WFS"; });
    std::string why;
    const auto s = harvest::linked_source(catalogue(), rec, why);
    ASSERT_TRUE(s) << why;
    EXPECT_EQ(s->partner.protocol, "wfs");
    EXPECT_EQ(s->partner.url, "https://www.datasud.fr/geoserver/communaute-dagglomeration-de-gap-tallard-durance/ows?");
    EXPECT_EQ(s->partner.options.at("typeNames"), "communaute-dagglomeration-de-gap-tallard-durance:canispace_05061");
    EXPECT_EQ(s->partner.options.size(), 1u);
    EXPECT_EQ(s->distribution, "WFS communaute-dagglomeration-de-gap-tallard-durance:canispace_05061");
}

TEST(LinkedSource, AnIsoRecordsWfsOnlineResourceGivesItsLayerName) {
    auto parsed = catalog::parse_csw(read_file(data("catalog/csw/csw_dov_getrecordbyid.xml")));
    ASSERT_EQ(parsed.records.size(), 1u);
    auto rec = parsed.records[0];
    rec.id = "dov:" + rec.remote_id;
    rec.feeds_layer = "pei";
    std::string why;
    const auto s = harvest::linked_source(catalogue(), rec, why);
    ASSERT_TRUE(s) << why;
    EXPECT_EQ(s->partner.url, "https://www.dov.vlaanderen.be/geoserver/wfs?");
    EXPECT_EQ(s->partner.options.at("typeNames"), "gw_meetnetten:meetnetten");
}

TEST(LinkedSource, AnOgcApiCollectionLinkIsReadFromItsItems) {
    auto rec = datasud_record("canispaces----ville-de-gap");
    rec.distributions = {{"https://data.example.org/ogcapi/collections/pei?f=json", "PEI", "OGC API Features",
                          "OGC API - Features", ""}};
    std::string why;
    const auto s = harvest::linked_source(catalogue(), rec, why);
    ASSERT_TRUE(s) << why;
    EXPECT_EQ(s->partner.protocol, "oapif");
    EXPECT_EQ(s->partner.url, "https://data.example.org/ogcapi/collections/pei/items?f=json");
}

TEST(LinkedSource, ARecordWithNothingImportableSaysWhatItHas) {
    auto rec = datasud_record("canispaces----ville-de-gap");
    std::erase_if(rec.distributions, [](const catalog::Distribution& d) { return d.format != "WMS"; });
    std::string why;
    EXPECT_FALSE(harvest::linked_source(catalogue(), rec, why));
    EXPECT_EQ(why, "no distribution the harvester can import into pei (the record has: WMS)");
    rec.feeds_layer.clear();
    EXPECT_FALSE(harvest::linked_source(catalogue(), rec, why));
    EXPECT_NE(why.find("linked to none of our layers"), std::string::npos) << why;
}
