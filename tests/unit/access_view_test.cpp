// Access policy as data (the "access" block of layers/*.json) and the views made from it: what the public,
// a member commune, an SDIS and the ARS read of the shipped captages and perimetres layers.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "ideo/core/error.hpp"
#include "ideo/core/layer.hpp"
#include "ideo/index/view.hpp"

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
