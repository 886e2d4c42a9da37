// Catalogue parsers on the real partner answers of ../shared/data/catalog, theme mapping,
// search behaviour, and our DCAT export read back by our own DCAT parser.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "ideo/catalog/parse.hpp"
#include "ideo/catalog/rules.hpp"
#include "ideo/catalog/search.hpp"
#include "test_support.hpp"

using namespace ideo;
using namespace ideo::catalog;
using ideo::test::data;
using ideo::test::read_file;

namespace {

CatalogRules rules() { return load_catalog_rules(ideo::test::layers_dir() / "catalog" / "themes.json"); }

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// Every record of every fixture family, classified, as a harvest would store them.
std::vector<Record> corpus() {
    const auto r = rules();
    std::vector<Record> all;
    const auto take = [&](ParseResult res, const std::string& partner) {
        for (auto& rec : res.records) {
            rec.partner = partner;
            rec.id = partner + ":" + rec.remote_id;
            classify(rec, r);
            all.push_back(std::move(rec));
        }
    };
    for (const char* f : {"csw/udata_geonetwork-iso19139-page-1.xml", "csw/udata_geonetwork-iso19139-page-3.xml",
                          "csw/udata_geonetwork-iso19139-page-5.xml", "csw/geoide-ddt24-getrecords.xml",
                          "csw/csw_geobretagne_mdmetadata.xml", "csw/udata_geoplateforme-iso19139-IGNF_RPG.xml"})
        take(parse_csw(read_file(data(std::string("catalog/") + f))), "csw");
    take(parse_ckan(read_file(data("catalog/ckan/datasud_package_search.json"))), "datasud");
    take(parse_dcat(read_file(data("catalog/dcat/udata_evian.json")), RdfSyntax::JsonLd), "evian");
    return all;
}

}  // namespace

TEST(CswParser, ReadsIsoGetRecordsPagesWithPagingInfo) {
    const auto p1 = parse_csw(read_file(data("catalog/csw/udata_geonetwork-iso19139-page-1.xml")));
    ASSERT_EQ(p1.records.size(), 2u);
    EXPECT_EQ(p1.paging.matched, 6u);
    EXPECT_EQ(p1.paging.next_record, 3u);
    EXPECT_EQ(p1.records[0].remote_id, "fr-120066022-ldd-56fce164-04b2-41ae-be87-9f256f39dd44");
    EXPECT_EQ(p1.records[0].title, "Plan local d'urbanisme de la commune de Cartigny");
    EXPECT_EQ(p1.records[0].original_format, "iso19139");
    EXPECT_EQ(p1.records[0].original.rfind("<gmd:MD_Metadata", 0), 0u);
    EXPECT_NE(p1.records[0].original.find("xmlns:gmd="), std::string::npos);  // standalone: namespaces kept
    const auto p5 = parse_csw(read_file(data("catalog/csw/udata_geonetwork-iso19139-page-5.xml")));
    EXPECT_EQ(p5.paging.next_record, 0u);
}

TEST(CswParser, ReportsTheInvalidCkanextSpatialRecordWithoutFailing) {
    const auto r = parse_csw(read_file(data("catalog/csw/ckanext-spatial_dataset-invalid.xml")));
    EXPECT_TRUE(r.records.empty());
    ASSERT_EQ(r.failures.size(), 1u);
    EXPECT_EQ(r.failures[0].position, 1u);
    EXPECT_EQ(r.failures[0].remote_id, "test-dataset");
    EXPECT_NE(r.failures[0].reason.find("gmd:nosuchelement"), std::string::npos) << r.failures[0].reason;
    EXPECT_NE(r.failures[0].reason.find("line 3"), std::string::npos) << r.failures[0].reason;
    // The valid twin is read.
    const auto ok = parse_csw(read_file(data("catalog/csw/ckanext-spatial_dataset.xml")));
    ASSERT_EQ(ok.records.size(), 1u);
    EXPECT_EQ(ok.records[0].title, "Country Parks (Scotland)");
    ASSERT_TRUE(ok.records[0].bbox);
    EXPECT_NEAR(ok.records[0].bbox->min_x, -8.97114, 1e-4);
    EXPECT_NEAR(ok.records[0].bbox->max_y, 61.0607, 1e-4);
}

TEST(CswParser, KeepsInspireThemeAnchorsAndServiceLayers) {
    const auto anchors = parse_csw(read_file(data("catalog/csw/iso_keywords_anchor.xml")));
    ASSERT_EQ(anchors.records.size(), 1u);
    EXPECT_TRUE(has(anchors.records[0].keywords, "Wind speed"));  // gmx:Anchor labels are keywords
    const auto rpg = parse_csw(read_file(data("catalog/csw/udata_geoplateforme-iso19139-IGNF_RPG.xml")));
    ASSERT_EQ(rpg.records.size(), 1u);
    EXPECT_TRUE(has(rpg.records[0].topic_categories, "http://inspire.ec.europa.eu/theme/lc"));
    EXPECT_TRUE(has(rpg.records[0].keywords, "Land cover"));
    const auto dov = parse_csw(read_file(data("catalog/csw/csw_dov_getrecordbyid.xml")));
    ASSERT_EQ(dov.records.size(), 1u);
    const auto& d = dov.records[0].distributions;
    const auto wfs = std::find_if(d.begin(), d.end(), [](const Distribution& x) { return x.protocol == "OGC:WFS"; });
    ASSERT_NE(wfs, d.end());
    EXPECT_EQ(wfs->layer_name, "gw_meetnetten:meetnetten");
}

TEST(CswParser, ReadsGeoNetworkDcatRecordsAndRejectsBrokenXmlWithPosition) {
    const auto r = parse_csw(read_file(data("catalog/csw/udata_geonetworkv4-page-1.xml")));
    ASSERT_EQ(r.records.size(), 2u);
    EXPECT_EQ(r.records[0].title, "Localisation des accidents de la circulation routière en 2017");
    EXPECT_EQ(r.paging.next_record, 3u);
    const std::string broken = read_file(data("catalog/csw/geoide-ddt24-getrecords.xml")).substr(0, 5000);
    try {
        parse_csw(broken);
        FAIL() << "truncated XML accepted";
    } catch (const ParseError& e) {
        EXPECT_NE(std::string(e.what()).find("line "), std::string::npos) << e.what();
    }
}

TEST(CkanParser, ReadsPackageSearchWithResourcesAndOgcServices) {
    const auto r = parse_ckan(read_file(data("catalog/ckan/datasud_package_search.json")));
    EXPECT_EQ(r.paging.matched, 7u);
    ASSERT_EQ(r.records.size(), 7u);
    EXPECT_EQ(r.records[0].title, "Canispaces - Ville de Gap");
    EXPECT_EQ(r.records[0].publisher, "Communauté d'Agglomération de Gap-Tallard-Durance");
    EXPECT_TRUE(has(r.records[0].keywords, "chien"));
    std::vector<std::string> formats;
    for (const auto& d : r.records[0].distributions) formats.push_back(d.format);
    EXPECT_EQ(formats, (std::vector<std::string>{"Shapefile (zip)", "WMS", "WFS"}));
    EXPECT_EQ(r.records[0].original.front(), '{');
    const auto show = parse_ckan(read_file(data("catalog/ckan/datasud_package_show_parkings-ville-de-gap.json")));
    ASSERT_EQ(show.records.size(), 1u);
    EXPECT_EQ(show.records[0].remote_id, "fe7cdceb-f65e-4e79-9ff2-d7895dc3b155");
    const auto dkan = parse_ckan(read_file(data("catalog/ckan/udata_dkan-french-w-license.json")));
    EXPECT_EQ(dkan.records.size(), 1u);
}

TEST(OdsParser, ReadsSearchAnswersAndInspireBoundingBoxes) {
    const auto r = parse_ods(read_file(data("catalog/ods/udata-ods_search.json")));
    EXPECT_EQ(r.paging.matched, 3u);
    ASSERT_FALSE(r.records.empty());
    const auto d = std::find_if(r.records.begin(), r.records.end(), [](const Record& x) { return x.remote_id == "test-d"; });
    ASSERT_NE(d, r.records.end());
    ASSERT_TRUE(d->bbox);
    EXPECT_NEAR(d->bbox->min_y, 46.4944, 1e-6);
    const auto dcat = parse_dcat(read_file(data("catalog/ods/capatlantique_dcat_export.rdf")), RdfSyntax::RdfXml);
    ASSERT_EQ(dcat.records.size(), 1u);
    EXPECT_EQ(dcat.records[0].title, "Arrêtés du CCAS de Guérande");
}

TEST(DcatParser, ReadsRdfXmlJsonLdGraphFlattenedAndHydraPages) {
    const auto rdf = parse_dcat(read_file(data("catalog/dcat/catalog.rdf")), RdfSyntax::RdfXml);
    ASSERT_EQ(rdf.records.size(), 2u);
    EXPECT_EQ(rdf.records[0].title, "Example dataset 1");
    EXPECT_EQ(rdf.records[0].publisher, "Publishing Organization for dataset 1");
    const auto graph = parse_dcat(read_file(data("catalog/dcat/catalog_with_at_graph.jsonld")), RdfSyntax::JsonLd);
    ASSERT_EQ(graph.records.size(), 1u);
    EXPECT_EQ(graph.records[0].title, "Title dataset");
    const auto flat = parse_dcat(read_file(data("catalog/dcat/udata_flat.jsonld")), RdfSyntax::JsonLd);
    EXPECT_EQ(flat.records.size(), 3u);
    const auto page1 = parse_dcat(read_file(data("catalog/dcat/udata_paged-collection-1.jsonld")), RdfSyntax::JsonLd);
    EXPECT_EQ(page1.records.size(), 3u);
    EXPECT_EQ(page1.paging.next_url, "http://data.test.org/catalog.jsonld?page=2");
    EXPECT_EQ(page1.paging.matched, 4u);
    const auto page2 = parse_dcat(read_file(data("catalog/dcat/udata_paged-collection-2.jsonld")), RdfSyntax::JsonLd);
    EXPECT_EQ(page2.records.size(), 1u);
    EXPECT_TRUE(page2.paging.next_url.empty());
    const auto pod = parse_dcat(read_file(data("catalog/dcat/udata_evian.json")), RdfSyntax::JsonLd);  // remote POD context
    EXPECT_EQ(pod.records.size(), 8u);
}

TEST(DcatParser, ADatasetKeepsItsTextWhenAnotherIsPublishedAboveItOnThePage) {
    // GeoNetwork's GeoDCAT-AP record: blank nodes everywhere (spatial, conformsTo, contacts).
    const std::string page = read_file(data("catalog/dcat/udata_datara--5a26b0f6-0ccf-46ad-ac58-734054b91977.rdf.xml"));
    const auto root_end = page.find('>', page.find("<rdf:RDF")) + 1;
    const std::string with_new = page.substr(0, root_end) +
        "<rdf:Description rdf:about=\"https://example.org/nouveau\"><rdf:type rdf:resource=\"http://www.w3.org/ns/dcat#Dataset\"/>"
        "<dct:title>Nouveau jeu</dct:title><dct:spatial rdf:parseType=\"Resource\"><locn:geometry>POINT(5 47)</locn:geometry>"
        "</dct:spatial></rdf:Description>" + page.substr(root_end);
    const auto before = parse_dcat(page, RdfSyntax::RdfXml), after = parse_dcat(with_new, RdfSyntax::RdfXml);
    ASSERT_EQ(before.records.size(), 1u);
    ASSERT_EQ(after.records.size(), 2u);
    const Record& old_one = before.records[0];
    const auto same = std::find_if(after.records.begin(), after.records.end(),
                                   [&](const Record& r) { return r.remote_id == old_one.remote_id; });
    ASSERT_NE(same, after.records.end());
    EXPECT_NE(old_one.original.find("_:b0"), std::string::npos);
    EXPECT_EQ(same->original, old_one.original);
    EXPECT_EQ(content_hash(*same), content_hash(old_one));  // the next harvest finds it unchanged
}

TEST(DcatParser, RdfAndCswPartnersParseAtTheSameTimeInThreads) {
    // The harvester runs partners in parallel: an RDF parse must not pull libxml2's state from
    // under a CSW parse in another thread (Raptor calls xmlCleanupParser when a world is freed).
    const std::string rdf = read_file(data("catalog/dcat/udata_datara--5a26b0f6-0ccf-46ad-ac58-734054b91977.rdf.xml"));
    const std::string udata = read_file(data("catalog/dcat/udata_catalog.xml"));
    const std::string csw = read_file(data("catalog/csw/udata_geonetwork-iso19139-page-1.xml"));
    std::atomic<std::size_t> rdf_records{0}, csw_records{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 60; ++i) {
                if ((t + i) % 2) {
                    rdf_records += parse_dcat(rdf, RdfSyntax::RdfXml).records.size();
                    rdf_records += parse_dcat(udata, RdfSyntax::RdfXml).records.size();
                } else {
                    csw_records += parse_csw(csw).records.size();
                }
            }
        });
    for (auto& t : threads) t.join();
    const std::size_t per_rdf = parse_dcat(rdf, RdfSyntax::RdfXml).records.size() + parse_dcat(udata, RdfSyntax::RdfXml).records.size();
    EXPECT_EQ(rdf_records, 120u * per_rdf);
    EXPECT_EQ(csw_records, 120u * parse_csw(csw).records.size());
}

TEST(DcatParser, ReportsTheUndeclaredTurtlePrefixWithItsLine) {
    const std::string ttl = read_file(data("catalog/dcat/dataset.ttl"));
    EXPECT_EQ(sniff_rdf_syntax("text/turtle", ttl), RdfSyntax::Turtle);
    try {
        parse_dcat(ttl, RdfSyntax::Turtle);
        FAIL() << "undeclared prefix accepted";
    } catch (const ParseError& e) {
        EXPECT_NE(std::string(e.what()).find("line 149"), std::string::npos) << e.what();
    }
}

TEST(Themes, MapTopicCategoriesInspireThemesAndKeywordsOntoThePortalThemes) {
    const auto r = rules();
    EXPECT_EQ(r.themes.size(), 14u);
    EXPECT_EQ(r.themes.front(), "Administration et action publique");
    EXPECT_EQ(r.themes.back(), "Social santé et sport");
    Record rec;
    rec.topic_categories = {"farming", "http://inspire.ec.europa.eu/theme/nz"};
    rec.keywords = {"Défense Extérieure contre l'Incendie"};
    classify(rec, r);
    EXPECT_TRUE(has(rec.themes, "Agriculture et forêt"));
    EXPECT_TRUE(has(rec.themes, "Risques et sécurité"));
    EXPECT_FALSE(has(rec.themes, "Social santé et sport"));
    const auto rpg = parse_csw(read_file(data("catalog/csw/udata_geoplateforme-iso19139-IGNF_RPG.xml")));
    Record parcels = rpg.records.at(0);
    classify(parcels, r);
    EXPECT_TRUE(has(parcels.themes, "Agriculture et forêt"));
}

TEST(Themes, LinkARecordWhoseWfsServesPeiToThePeiLayer) {
    Record rec;
    rec.title = "Points d'eau incendie du SDIS 21";
    rec.distributions = {{"http://x/wfs?service=WFS", "", "", "OGC:WFS", "sdis21:pei"}};
    normalise_distribution(rec.distributions[0]);
    classify(rec, rules());
    EXPECT_EQ(rec.feeds_layer, "pei");
    Record other;
    other.title = "Parcs de stationnement";
    other.distributions = {{"http://x/wfs?service=WFS", "", "", "OGC:WFS", "gap:parkings"}};
    normalise_distribution(other.distributions[0]);
    classify(other, rules());
    EXPECT_EQ(other.feeds_layer, "");
}

TEST(CatalogSearch, FindsAccentAndCaseInsensitiveAndRanksTitlesFirst) {
    auto records = corpus();
    Record pei;
    pei.id = "t:pei";
    pei.title = "Défense incendie : Points d'Eau Potable";
    records.push_back(pei);
    const auto cat = build_catalog(records);
    SearchQuery q;
    q.q = "defense incendie";
    auto r = search(*cat, q);
    ASSERT_GE(r.matched, 1u);
    EXPECT_EQ(cat->records[r.page[0]].id, "t:pei");
    q.q = "eau potable";
    r = search(*cat, q);
    ASSERT_GE(r.matched, 1u);
    EXPECT_EQ(cat->records[r.page[0]].id, "t:pei");
    q.q = "plan local urbanisme";
    r = search(*cat, q);
    EXPECT_GE(r.matched, 5u);
    for (auto i : r.page) EXPECT_NE(cat->records[i].title.find("urbanisme"), std::string::npos);
    q.q = "stationnement";
    r = search(*cat, q);
    ASSERT_GE(r.matched, 2u);  // Gap's car parks (CKAN) and Evian's bike parking (DCAT)
}

TEST(CatalogSearch, FiltersAndFacetsCountTheMatchingRecords) {
    const auto cat = build_catalog(corpus());
    SearchQuery all;
    all.limit = 1000;
    const auto r = search(*cat, all);
    EXPECT_EQ(r.matched, cat->records.size());
    std::size_t wfs = 0;
    for (const auto& f : r.facets.at("formats"))
        if (f.value == "WFS") wfs = f.count;
    EXPECT_GT(wfs, 0u);
    SearchQuery q;
    q.formats = {"WFS"};
    q.limit = 1000;
    EXPECT_EQ(search(*cat, q).matched, wfs);
    q = {};
    q.themes = {"Mobilités et transports"};
    for (auto i : search(*cat, q).page) EXPECT_TRUE(has(cat->records[i].themes, "Mobilités et transports"));
    q = {};
    q.publishers = {"DDT de la Dordogne"};
    EXPECT_EQ(search(*cat, q).matched, 4u);
    q = {};
    Envelope brittany;
    brittany.expand(-5.5, 47);
    brittany.expand(-1, 49);
    q.bbox = brittany;
    const auto in_box = search(*cat, q);
    ASSERT_GE(in_box.matched, 1u);
    for (auto i : in_box.page) EXPECT_TRUE(cat->records[i].bbox && cat->records[i].bbox->intersects(brittany));
}

TEST(CatalogSearch, FiltersIgnoreAccentsAndCaseAndFacetsRankByCountThenValue) {
    const auto make = [](const std::string& id, std::vector<std::string> keywords, std::string publisher) {
        Record r;
        r.id = id;
        r.title = "Jeu " + id;
        r.keywords = std::move(keywords);
        r.publisher = std::move(publisher);
        r.themes = {"Risques et sécurité"};
        return r;
    };
    const auto cat = build_catalog({make("a", {"Défense incendie", "PEI"}, "SDIS 21"), make("b", {"PEI", "Hydrant"}, "SDIS 21"),
                                    make("c", {"Défense incendie", "PEI", "PEI"}, "Ville de Dijon"), make("d", {"Voirie"}, "")});
    SearchQuery q;
    q.themes = {"risques ET SECURITE"};
    q.keywords = {"defense incendie", "hydrant"};
    const auto r = search(*cat, q);
    EXPECT_EQ(r.matched, 3u);
    const auto& keywords = r.facets.at("keywords");
    ASSERT_EQ(keywords.size(), 3u);
    EXPECT_EQ(keywords[0].value, "PEI");  // listed twice by c: counted twice
    EXPECT_EQ(keywords[0].count, 4u);
    EXPECT_EQ(keywords[1].value, "Défense incendie");
    EXPECT_EQ(keywords[2].value, "Hydrant");
    const auto& publishers = r.facets.at("publishers");
    ASSERT_EQ(publishers.size(), 2u);
    EXPECT_EQ(publishers[0].value, "SDIS 21");
    q = {};
    q.publishers = {"ville de dijon"};
    EXPECT_EQ(search(*cat, q).matched, 1u);
    EXPECT_EQ(search(*cat, q).facets.at("formats").size(), 0u);
}

TEST(DcatExport, OurJsonLdIsReadBackByOurDcatParserWithTheSameRecords) {
    const auto cat = build_catalog(corpus());
    std::vector<Record> reread;
    std::string next;
    std::size_t offset = 0, pages = 0;
    do {
        const auto page = parse_dcat(dcat_jsonld(*cat, offset, 7, "http://portal.test"), RdfSyntax::JsonLd, "http://portal.test/");
        for (auto& r : page.records) reread.push_back(std::move(r));
        next = page.paging.next_url;
        EXPECT_EQ(page.paging.matched, cat->records.size());
        offset += 7;
        ++pages;
    } while (!next.empty() && pages < 100);
    ASSERT_EQ(reread.size(), cat->records.size());
    for (std::size_t i = 0; i < reread.size(); ++i) {
        const Record& a = cat->records[i];
        const Record& b = reread[i];
        EXPECT_EQ(b.remote_id, a.id);
        EXPECT_EQ(b.title, a.title);
        EXPECT_EQ(b.publisher, a.publisher);
        EXPECT_EQ(b.keywords, a.keywords);
        ASSERT_EQ(b.distributions.size(), a.distributions.size()) << a.id;
        for (std::size_t k = 0; k < a.distributions.size(); ++k) EXPECT_EQ(b.distributions[k].url, a.distributions[k].url);
        EXPECT_EQ(bool(b.bbox), bool(a.bbox)) << a.id;
        if (a.bbox && b.bbox) EXPECT_NEAR(b.bbox->min_x, a.bbox->min_x, 1e-9);
    }
}
