// Access policy as data (the "access" block of layers/*.json) and the views made from it: what the public,
// a member commune, an SDIS and the ARS read of the shipped captages and perimetres layers.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "../../src/server/services.hpp"
#include "ideo/catalog/parse.hpp"
#include "ideo/catalog/search.hpp"
#include "ideo/core/error.hpp"
#include "ideo/core/layer.hpp"
#include "ideo/core/text.hpp"
#include "ideo/index/view.hpp"
#include "test_support.hpp"

using namespace ideo;

namespace {

access::Identity identity(access::Role role, std::vector<std::string> insee = {}, std::vector<std::string> depts = {}) {
    access::Identity id;
    id.role = role;
    id.subject = "test";
    id.insee = std::move(insee);
    id.depts = std::move(depts);
    return id;
}

const LayerCatalog& shipped() {
    static const LayerCatalog cat = load_layers(IDEO_SOURCE_DIR "/layers");
    return cat;
}

// Catchments in three communes: two in 21231 (Dijon), one in 21054, one in 90010.
index::LayerData captages() {
    const LayerSpec& spec = shipped().get("captages");
    std::vector<Feature> fs;
    int n = 0;
    for (const char* insee : {"21231", "21231", "21054", "90010"}) {
        Feature f;
        f.id = "BSS" + std::to_string(++n);
        f.values.resize(spec.fields.size());
        f.values[spec.field_index("code_bss")] = f.id;
        f.values[spec.field_index("insee")] = std::string(insee);
        f.values[spec.field_index("nom")] = "Forage " + std::to_string(n);
        f.values[spec.field_index("contact_exploitant")] = "Julie Simon, 03 20 79 01 6" + std::to_string(n);
        f.geometry = Geometry::point(5.0 + n * 0.01, 47.3);
        fs.push_back(std::move(f));
    }
    return index::make_layer_data(spec, std::move(fs));
}

index::LayerData perimetres() {
    const LayerSpec& spec = shipped().get("perimetres");
    std::vector<Feature> fs;
    for (const char* type : {"PPI", "PPR", "PPE"})
        for (const char* insee : {"21231", "90010"}) {
            Feature f;
            f.id = std::string("BSS-") + insee + "-" + type;
            f.values.resize(spec.fields.size());
            f.values[spec.field_index("id_perim")] = f.id;
            f.values[spec.field_index("code_bss")] = std::string("BSS-") + insee;
            f.values[spec.field_index("type_perim")] = std::string(type);
            f.values[spec.field_index("arrete_dup")] = std::string("DUP 2013-033");
            f.values[spec.field_index("insee")] = std::string(insee);
            f.geometry = Geometry::point(5.0, 47.3);
            fs.push_back(std::move(f));
        }
    return index::make_layer_data(spec, std::move(fs));
}

bool holds_text(const index::LayerData& l, const std::string& needle) {
    for (const auto& f : l.features) {
        if (f.id.find(needle) != std::string::npos) return true;
        for (const auto& v : f.values)
            if (to_text(v).find(needle) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST(AccessPolicy, ShippedDefaultsParse) {
    const LayerSpec& pei = shipped().get("pei");
    EXPECT_TRUE(pei.access.declared);
    EXPECT_TRUE(index::may(pei, AccessOperation::Items, access::anonymous()));
    EXPECT_TRUE(index::may(pei, AccessOperation::Tiles, access::anonymous()));
    EXPECT_FALSE(index::may(pei, AccessOperation::Download, access::anonymous(), "21231"));
    EXPECT_TRUE(index::may(pei, AccessOperation::Download, identity(access::Role::Member, {"21231"}), "21231"));
    EXPECT_FALSE(index::may(pei, AccessOperation::Download, identity(access::Role::Member, {"21231"}), "21054"));
    EXPECT_TRUE(index::may(pei, AccessOperation::Download, identity(access::Role::Sdis, {}, {"21"}), "21054"));
    EXPECT_FALSE(index::may(pei, AccessOperation::Download, identity(access::Role::Sdis, {}, {"21"}), "90010"));
    EXPECT_FALSE(index::may(pei, AccessOperation::Download, identity(access::Role::Ars), "21231"));
    EXPECT_TRUE(index::may(pei, AccessOperation::Download, identity(access::Role::Admin), "90010"));
    // A layer without a block is public, as before.
    EXPECT_FALSE(shipped().get("erp").access.declared);
    EXPECT_TRUE(index::may(shipped().get("erp"), AccessOperation::Download, access::anonymous(), "21231"));
}

TEST(AccessPolicy, ErrorsNameFileAndKey) {
    const std::string base = R"({"id":"x","id_field":"a","insee_field":"a","fields":[{"name":"a","type":"string"}],"access":)";
    auto error_of = [&](const std::string& access) {
        try {
            parse_layer(base + access + "}", "layers/x.json");
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(error_of(R"({"items":["chief"]})").find("layers/x.json: access.items: unknown role \"chief\""), std::string::npos);
    EXPECT_NE(error_of(R"({"items":["member:mine"]})").find("access.items"), std::string::npos);
    EXPECT_NE(error_of(R"({"geometry":{"anonymous":"grid:0"}})").find("access.geometry.anonymous"), std::string::npos);
    EXPECT_NE(error_of(R"({"hidden_fields":{"member":["b"]}})").find("access.hidden_fields.member: \"b\" is not one"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"colour":1})").find("access.colour: unknown key"), std::string::npos);
    EXPECT_NE(error_of(R"({"unauthorised":"maybe"})").find("access.unauthorised"), std::string::npos);
    EXPECT_EQ(error_of(R"({"geometry":{"anonymous":"grid:1000"}})"), "no error");
}

TEST(AccessView, PublicSeesCountsPerCommuneOnly) {
    index::Snapshot full;
    const auto data = captages();
    const auto v = index::view_layer(data, full, access::anonymous());
    ASSERT_EQ(v.features.size(), 3u);  // three communes
    EXPECT_LT(v.spec.field_index("code_bss"), 0);
    EXPECT_LT(v.spec.field_index("contact_exploitant"), 0);
    const int n = v.spec.field_index(index::kCountField);
    ASSERT_GE(n, 0);
    EXPECT_EQ(to_text(v.features[v.by_insee.at("21231").front()].values[n]), "2");
    EXPECT_FALSE(holds_text(v, "BSS"));
    EXPECT_FALSE(holds_text(v, "Julie"));
    EXPECT_TRUE(index::restricts(data.spec, access::anonymous()));
}

TEST(AccessView, MemberSeesItsOwnCataloguePointsWithoutContact) {
    index::Snapshot full;
    const auto v = index::view_layer(captages(), full, identity(access::Role::Member, {"21231"}));
    std::vector<std::string> ids;
    for (const auto& f : v.features) ids.push_back(f.id);
    EXPECT_EQ(ids, (std::vector<std::string>{"BSS1", "BSS2", "commune-21054", "commune-90010"}));
    EXPECT_LT(v.spec.field_index("contact_exploitant"), 0);
    EXPECT_FALSE(holds_text(v, "Julie"));
    EXPECT_EQ(v.features[0].geometry.envelope.min_x, 5.01);  // exact
}

TEST(AccessView, SdisIsThePublicForCatchmentsAndArsSeesEverything) {
    index::Snapshot full;
    const auto sdis = index::view_layer(captages(), full, identity(access::Role::Sdis, {}, {"21"}));
    EXPECT_FALSE(holds_text(sdis, "BSS"));
    const auto data = captages();
    EXPECT_FALSE(index::restricts(data.spec, identity(access::Role::Ars)));
    EXPECT_FALSE(index::restricts(data.spec, identity(access::Role::Admin)));
}

TEST(AccessView, PerimetersPpiOnlyForArsAndOwnCommunes) {
    index::Snapshot full;
    const auto data = perimetres();
    const auto pub = index::view_layer(data, full, access::anonymous());
    EXPECT_EQ(pub.features.size(), 4u);  // PPR and PPE of both communes
    std::vector<std::string> names;
    for (const auto& f : pub.spec.fields) names.push_back(f.name);
    EXPECT_EQ(names, (std::vector<std::string>{"type_perim", "arrete_dup"}));
    EXPECT_FALSE(holds_text(pub, "PPI"));
    EXPECT_FALSE(holds_text(pub, "BSS"));  // the identifiers named the catchment: replaced
    const auto member = index::view_layer(data, full, identity(access::Role::Member, {"21231"}));
    EXPECT_EQ(member.features.size(), 5u);  // and its own PPI
    EXPECT_TRUE(member.by_id.count("BSS-21231-PPI"));
    EXPECT_FALSE(member.by_id.count("BSS-90010-PPI"));
    EXPECT_FALSE(index::restricts(data.spec, identity(access::Role::Ars)));
}

TEST(AccessView, ViewsAreCachedPerSnapshotAndKeyedByRoleAndTerritory) {
    auto full = std::make_shared<index::Snapshot>();
    full->version = 7;
    full->layers.emplace("captages", captages());
    const auto a = index::view_of(*full, access::anonymous());
    EXPECT_EQ(a, index::view_of(*full, access::anonymous()));  // computed once
    EXPECT_EQ(a->view, "anonymous");
    const auto m1 = index::view_of(*full, identity(access::Role::Member, {"21231"}));
    const auto m2 = index::view_of(*full, identity(access::Role::Member, {"21054"}));
    EXPECT_NE(m1->view, m2->view);
    EXPECT_NE(m1, m2);
    EXPECT_EQ(index::view_of(*full, identity(access::Role::Ars)).get(), full.get());  // nothing restricted
    EXPECT_EQ(index::view_key(identity(access::Role::Member, {"21231", "21054"})),
              index::view_key(identity(access::Role::Member, {"21054", "21231"})));
}

TEST(AccessView, GeometryGeneralisedToGridAndNone) {
    LayerSpec spec = shipped().get("captages");
    spec.access.rows_restricted = false;
    spec.access.geometry[access::Role::Anonymous] = GeometryRule{GeometryLevel::Grid, 1000};
    auto data = captages();
    data.spec = spec;
    index::Snapshot full;
    const auto v = index::view_layer(data, full, access::anonymous());
    ASSERT_EQ(v.features.size(), 4u);
    const auto& e = v.features[0].geometry.envelope;
    EXPECT_NE(e.min_x, 5.01);
    EXPECT_NEAR(e.min_x, 5.01, 0.014);
    EXPECT_NEAR(e.min_y, 47.3, 0.009);
    data.spec.access.geometry[access::Role::Anonymous] = GeometryRule{GeometryLevel::None, 0};
    EXPECT_TRUE(index::view_layer(data, full, access::anonymous()).features[0].geometry.empty());
}

namespace {

// The shipped captages layer made undiscoverable but to the ARS and the portal, as a stricter deployment would
// declare it; `challenge`: 401 (listed and challenged) or 404 (not there at all).
index::LayerData hidden_captages(bool challenge) {
    index::LayerData l = captages();
    l.spec.access.discover = {AccessGrant{access::Role::Ars, false}, AccessGrant{access::Role::Admin, false}};
    l.spec.access.challenge = challenge;
    return l;
}

// DataSud's recorded CKAN answer, and one of its records re-published by the ARS as the data of `captages`
// (as layers/catalog/themes.json's "feeds" rules link records to our layers).
std::shared_ptr<const catalog::Catalog> catalogue_with_captages_record() {
    auto records = catalog::parse_ckan(test::read_file(test::data("catalog/ckan/datasud_package_search.json"))).records;
    for (auto& r : records) {
        r.partner = "datasud";
        r.id = "datasud:" + r.remote_id;
    }
    catalog::Record ars = records.front();
    ars.id = "ars:captages-21-90";
    ars.partner = "ars";
    ars.title = "Captages d'eau potable de Côte-d'Or et du Territoire de Belfort";
    ars.publisher = "ARS Bourgogne-Franche-Comté";
    ars.keywords = {"captage", "eau potable"};
    ars.feeds_layer = "captages";
    ars.distributions = {catalog::Distribution{"https://ars.example/captages-secret-export.gpkg", "Export", "GeoPackage", "download", ""}};
    records.push_back(ars);
    return catalog::build_catalog(std::move(records));
}

std::shared_ptr<index::Snapshot> snapshot_with_catalogue(bool challenge) {
    auto full = std::make_shared<index::Snapshot>();
    full->version = 3;
    full->layers.emplace("captages", hidden_captages(challenge));
    full->catalog = catalogue_with_captages_record();
    return full;
}

std::size_t count_of(const std::vector<catalog::FacetCount>& facet, const std::string& value) {
    for (const auto& f : facet)
        if (f.value == value) return f.count;
    return 0;
}

const std::string* header(const server::Response& res, const std::string& name) {
    for (const auto& [k, v] : res.headers)
        if (text::ascii_lower(k) == name) return &v;
    return nullptr;
}

}  // namespace

TEST(AccessView, CatalogueRecordsOfALayerTheCallerMayNotDiscoverAreLeftOutOfItsView) {
    const auto full = snapshot_with_catalogue(true);
    catalog::SearchQuery q;
    q.q = "captages eau potable";
    q.limit = 1000;
    const auto everything = catalog::search(*full->catalog, q);
    ASSERT_GE(everything.matched, 1u);
    EXPECT_EQ(full->catalog->records[everything.page[0]].id, "ars:captages-21-90");

    const auto pub = index::view_of(*full, access::anonymous());
    ASSERT_NE(pub.get(), full.get());
    EXPECT_EQ(pub->catalog->records.size() + 1, full->catalog->records.size());
    EXPECT_FALSE(pub->catalog->by_id.count("ars:captages-21-90"));
    for (auto i : catalog::search(*pub->catalog, q).page) EXPECT_NE(pub->catalog->records[i].id, "ars:captages-21-90");
    catalog::SearchQuery none;
    none.limit = 1000;
    EXPECT_EQ(count_of(catalog::search(*full->catalog, none).facets.at("publishers"), "ARS Bourgogne-Franche-Comté"), 1u);
    EXPECT_EQ(count_of(catalog::search(*pub->catalog, none).facets.at("publishers"), "ARS Bourgogne-Franche-Comté"), 0u);
    EXPECT_EQ(catalog::search(*pub->catalog, none).matched, full->catalog->records.size() - 1);
    EXPECT_EQ(pub->challenged_records, std::vector<std::string>{"ars:captages-21-90"});
    // One catalogue per set of hidden layers: every caller who may not see captages shares it.
    const auto member = index::view_of(*full, identity(access::Role::Member, {"21231"}));
    EXPECT_NE(member->view, pub->view);
    EXPECT_EQ(member->catalog.get(), pub->catalog.get());
    // The ARS discovers the layer: the whole catalogue.
    const auto ars = index::view_of(*full, identity(access::Role::Ars));
    EXPECT_EQ(ars->catalog.get(), full->catalog.get());
    EXPECT_TRUE(ars->challenged_records.empty());
    // A layer answering 404 leaves its records out without naming them.
    const auto quiet = index::view_of(*snapshot_with_catalogue(false), access::anonymous());
    EXPECT_FALSE(quiet->catalog->by_id.count("ars:captages-21-90"));
    EXPECT_TRUE(quiet->challenged_records.empty());
}

TEST(AccessView, CatalogueEndpointsServeEachCallerItsViewWithItsOwnETag) {
    const auto full = snapshot_with_catalogue(true);
    const auto ars = identity(access::Role::Ars);
    const auto get = [&](const std::string& target, const access::Identity& who) {
        return server::handle_request("GET", target, {}, "", full.get(), nullptr, &who);
    };
    for (const std::string target : {"/catalog/records?q=captages&limit=1000", "/catalog/records?limit=1000",
                                     "/catalog/dcat.jsonld?page_size=1000"}) {
        const auto pub = get(target, access::anonymous());
        const auto all = get(target, ars);
        ASSERT_EQ(pub.status, 200) << target << " " << pub.body;
        ASSERT_EQ(all.status, 200) << target;
        EXPECT_EQ(pub.body.find("ars:captages-21-90"), std::string::npos) << target;
        EXPECT_EQ(pub.body.find("captages-secret-export"), std::string::npos) << target;  // its distributions too
        EXPECT_EQ(pub.body.find("ARS Bourgogne"), std::string::npos) << target;  // nor its publisher's facet
        EXPECT_NE(all.body.find("captages-secret-export"), std::string::npos) << target;
        ASSERT_TRUE(header(pub, "etag") && header(all, "etag"));
        EXPECT_NE(*header(pub, "etag"), *header(all, "etag")) << target;
        ASSERT_TRUE(header(pub, "vary"));
        EXPECT_NE(header(pub, "vary")->find("Authorization"), std::string::npos);
        ASSERT_TRUE(header(all, "cache-control"));
        EXPECT_EQ(header(all, "cache-control")->rfind("private", 0), 0u) << *header(all, "cache-control");
    }
    const auto challenged = get("/catalog/records/ars:captages-21-90", access::anonymous());
    EXPECT_EQ(challenged.status, 401) << challenged.body;
    EXPECT_TRUE(header(challenged, "www-authenticate"));
    EXPECT_EQ(challenged.body.find("Captages d'eau potable"), std::string::npos);
    EXPECT_EQ(get("/catalog/records/ars:captages-21-90", ars).status, 200);
    const auto quiet = snapshot_with_catalogue(false);
    const auto hidden = server::handle_request("GET", "/catalog/records/ars:captages-21-90", {}, "", quiet.get(), nullptr, &access::anonymous());
    EXPECT_EQ(hidden.status, 404);
    const auto unknown = server::handle_request("GET", "/catalog/records/ars:nothing", {}, "", quiet.get(), nullptr, &access::anonymous());
    EXPECT_EQ(unknown.status, 404);
    EXPECT_NE(hidden.body.find("no catalogue record"), std::string::npos);  // reads like a record that does not exist
    EXPECT_NE(unknown.body.find("no catalogue record"), std::string::npos);
}
