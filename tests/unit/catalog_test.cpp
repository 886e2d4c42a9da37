// Catalogue parsers on the real partner answers of ../shared/data/catalog, theme mapping,
// search behaviour, and our DCAT export read back by our own DCAT parser.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <chrono>
#include <cstdio>
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
    EXPECT_GE(r.matched_all, 5u);
    for (std::size_t k = 0; k < std::min(r.matched_all, r.page.size()); ++k)  // those holding every word come first
        EXPECT_NE(cat->records[r.page[k]].title.find("urbanisme"), std::string::npos);
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

namespace {

Record titled(const std::string& id, const std::string& title) {
    Record r;
    r.id = id;
    r.title = title;
    return r;
}

std::vector<std::string> ids_of(const Catalog& cat, const SearchResult& r) {
    std::vector<std::string> ids;
    for (auto i : r.page) ids.push_back(cat.records[i].id);
    return ids;
}

}  // namespace

// Issue 19's example: no record holds all three words, the Pas-de-Calais JS1 table (GeoNetwork, page 3) holds two.
TEST(CatalogSearch, RecordsHoldingMostWordsFollowThoseHoldingAllAndSaySo) {
    auto records = corpus();
    SearchQuery q;
    q.q = "reglement generateurs surfaciques";
    auto cat = build_catalog(records);
    auto r = search(*cat, q);
    ASSERT_GE(r.matched, 1u);
    EXPECT_EQ(r.matched_all, 0u);
    EXPECT_EQ(r.words, (std::vector<std::string>{"reglement", "generateur", "surfacique"}));
    const Record& js1 = cat->records[r.page[0]];
    EXPECT_NE(js1.title.find("générateurs surfaciques"), std::string::npos) << js1.title;
    ASSERT_EQ(r.page_matches.size(), r.page.size());
    EXPECT_EQ(r.page_matches[0].missing, std::vector<std::string>{"reglement"});
    EXPECT_TRUE(r.page_matches[0].corrected.empty());
    const std::string js1_id = js1.id;
    // A record holding all three comes first; then the two-word ones, best held first.
    records.push_back(titled("t:all", "Règlement des générateurs surfaciques"));
    records.push_back(titled("t:one", "Règlement de voirie"));  // one word of three: not most of them, not found
    cat = build_catalog(records);
    r = search(*cat, q);
    EXPECT_EQ(r.matched_all, 1u);
    const auto ids = ids_of(*cat, r);
    ASSERT_GE(ids.size(), 2u);
    EXPECT_EQ(ids[0], "t:all");
    EXPECT_TRUE(r.page_matches[0].missing.empty());
    EXPECT_NE(std::find(ids.begin() + 1, ids.end(), js1_id), ids.end());
    EXPECT_EQ(std::find(ids.begin(), ids.end(), "t:one"), ids.end());
    for (std::size_t k = 1; k < r.page.size(); ++k) EXPECT_EQ(r.page_matches[k].missing.size(), 1u);
    // Of two words, most is both: a two-word query still narrows (its typos aside).
    q.q = "generateurs reglement";
    r = search(*cat, q);
    EXPECT_EQ(r.matched, r.matched_all);
    EXPECT_EQ(ids_of(*cat, r), std::vector<std::string>{"t:all"});
}

TEST(CatalogSearch, OneTypoInAWordOfFiveLettersFindsTheRecordAfterExactOnes) {
    auto cat = build_catalog(corpus());
    SearchQuery q;
    q.q = "urbanisem";  // a transposition
    auto r = search(*cat, q);
    ASSERT_GE(r.matched, 5u);
    EXPECT_EQ(r.corrections.at("urbanisem"), std::vector<std::string>{"urbanisme"});
    for (std::size_t k = 0; k < r.page.size(); ++k) {
        ASSERT_EQ(r.page_matches[k].corrected.size(), 1u);
        EXPECT_EQ(r.page_matches[k].corrected[0].second, "urbanisme");
    }
    // Every record holding "urbanisme" is found through each kind of typo.
    SearchQuery exact;
    exact.q = "urbanisme";
    exact.limit = 1000;
    const auto holding = search(*cat, exact);
    std::vector<std::uint32_t> wanted;
    for (std::size_t k = 0; k < holding.page.size(); ++k)
        if (holding.page_matches[k].corrected.empty()) wanted.push_back(holding.page[k]);
    ASSERT_GE(wanted.size(), 5u);
    q.limit = 1000;
    for (const char* typo : {"urbanisem", "urbanime", "urbanismme", "urbanizme"}) {  // transposition, deletion, insertion, substitution
        q.q = typo;
        const auto found = search(*cat, q).page;
        for (auto i : wanted) EXPECT_NE(std::find(found.begin(), found.end(), i), found.end()) << typo << ": " << cat->records[i].id;
    }
    q.q = "urbnaisem";  // two edits: nothing
    EXPECT_EQ(search(*cat, q).matched, 0u);
    // A record that holds the word exactly ranks before those holding it one edit away, whatever their BM25.
    auto records = corpus();
    records.push_back(titled("t:typo", "Urbanisme urbanisme urbanisme"));
    records.push_back(titled("t:exact", "Plan d'urbanismes et de voirie, réglement d'urbanisem (sic)"));
    cat = build_catalog(records);
    q = {};
    q.q = "urbanisem";
    r = search(*cat, q);
    ASSERT_GE(r.page.size(), 2u);
    EXPECT_EQ(cat->records[r.page[0]].id, "t:exact");
    EXPECT_TRUE(r.page_matches[0].corrected.empty());
    EXPECT_EQ(r.matched_all, r.matched);  // every one holds the word, some through the typo
    EXPECT_FALSE(r.page_matches[1].corrected.empty());
}

TEST(CatalogSearch, NoTypoForgivenInWordsUnderFiveLetters) {
    const auto cat = build_catalog({titled("a", "Plan de prévention"), titled("b", "Carte des routes"), titled("c", "Réseau d'eau")});
    SearchQuery q;
    for (const char* typo : {"plam", "pla", "eaux", "eua"}) {  // "eaux" is "eau" by the plural rule, not a typo
        q.q = typo;
        const auto r = search(*cat, q);
        EXPECT_TRUE(r.corrections.empty()) << typo;
        EXPECT_EQ(r.matched, std::string(typo) == "eaux" ? 1u : 0u) << typo;
    }
    q.q = "roote";  // five letters: forgiven
    EXPECT_EQ(search(*cat, q).matched, 1u);
    EXPECT_TRUE(within_one_edit("réseau", "rséeau"));  // letters, not bytes: é is one letter
    EXPECT_TRUE(within_one_edit("réseau", "reseau"));
    EXPECT_FALSE(within_one_edit("réseau", "rseeau"));
    EXPECT_FALSE(within_one_edit("abcd", "badc"));
}

TEST(CatalogSearch, FacetsCountTheForgivingResultsAndPagingWalksThemOnce) {
    const auto cat = build_catalog(corpus());
    SearchQuery q;
    q.q = "plan local urbanisem cartigny";  // Cartigny's plan holds all four words (one through the typo), the other plans three
    q.limit = 1000;
    const auto all = search(*cat, q);
    ASSERT_GE(all.matched, 5u);
    EXPECT_EQ(all.matched_all, 1u);
    EXPECT_NE(cat->records[all.page[0]].title.find("Cartigny"), std::string::npos);
    for (std::size_t k = 1; k < all.page.size(); ++k) EXPECT_EQ(all.page_matches[k].missing, std::vector<std::string>{"cartigny"});
    ASSERT_EQ(all.page.size(), all.matched);
    std::map<std::string, std::size_t> publishers;
    for (auto i : all.page)
        if (!cat->records[i].publisher.empty()) ++publishers[cat->records[i].publisher];
    std::size_t facet_total = 0;
    for (const auto& f : all.facets.at("publishers")) {
        EXPECT_EQ(f.count, publishers[f.value]) << f.value;
        facet_total += f.count;
    }
    if (publishers.size() <= 50) {
        std::size_t total = 0;
        for (const auto& [p, n] : publishers) total += n;
        EXPECT_EQ(facet_total, total);
    }
    // Pages of 3 give the same records in the same order, each once, and the same counts.
    std::vector<std::uint32_t> walked;
    q.limit = 3;
    for (q.offset = 0; q.offset < all.matched; q.offset += 3) {
        const auto page = search(*cat, q);
        EXPECT_EQ(page.matched, all.matched);
        EXPECT_EQ(page.matched_all, all.matched_all);
        EXPECT_EQ(page.facets.at("themes").size(), all.facets.at("themes").size());
        walked.insert(walked.end(), page.page.begin(), page.page.end());
    }
    EXPECT_EQ(walked, all.page);
    // Filters narrow the forgiving results too, and the facets follow.
    q = {};
    q.q = "reglement generateurs surfaciques";
    q.keywords = {"aucun mot clé de ce nom"};
    const auto none = search(*cat, q);
    EXPECT_EQ(none.matched, 0u);
    EXPECT_TRUE(none.facets.at("publishers").empty());
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

// A latency probe, not a check: the real corpus grown to 8,000 records (copies whose titles and descriptions
// gain words of other records and a number each, so the vocabulary grows as a real catalogue's does), and
// the mean time of a few queries. Run with --gtest_also_run_disabled_tests --gtest_filter='*Timing*'.
TEST(CatalogSearchTiming, DISABLED_MeanLatencyOverEightThousandRecords) {
    const auto base = corpus();
    std::vector<Record> records;
    std::vector<std::string> words;
    for (const auto& r : base)
        for (auto& t : tokenize(r.title)) words.push_back(t);
    for (std::size_t k = 0; records.size() < 8000; ++k) {
        Record r = base[k % base.size()];
        r.id += ":" + std::to_string(k);
        r.title += " " + words[(k * 7919) % words.size()] + " lot" + std::to_string(k);
        r.description += " " + words[(k * 104729) % words.size()] + " " + words[(k * 31) % words.size()];
        records.push_back(std::move(r));
    }
    const auto start_build = std::chrono::steady_clock::now();
    const auto cat = build_catalog(records);
    const double build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_build).count();
    std::printf("build_catalog: %zu records, %zu words, %.1f ms\n", cat->records.size(), cat->postings.size(), build_ms);
    for (const char* text : {"eau potable", "plan local urbanisme", "stationnement", "defense incendie", "zones humides",
                             "reglement generateurs surfaciques", "urbanisem", ""}) {
        SearchQuery q;
        q.q = text;
        std::size_t matched = 0;
        constexpr int kRuns = 200;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < kRuns; ++i) matched = search(*cat, q).matched;
        const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / kRuns;
        std::printf("q=\"%s\": %zu matched, %.1f us\n", text, matched, us);
    }
}
