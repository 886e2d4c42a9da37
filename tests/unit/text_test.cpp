// Core text helpers (encodings, matching keys) and layer specs read from JSON.
#include <gtest/gtest.h>

#include <regex>

#include "ideo/core/error.hpp"
#include "ideo/core/layer.hpp"
#include "ideo/core/text.hpp"
#include "test_support.hpp"

namespace ideo {
namespace {

TEST(FoldKey, PartnerColumnTitlesFoldToSchemaKeys) {
    EXPECT_EQ(text::fold_key("Débit (m3/h)"), "debit_m3_h");
    EXPECT_EQ(text::fold_key("N° ERP"), "n_erp");
    EXPECT_EQ(text::fold_key("POTEAU"), "poteau");
    EXPECT_EQ(text::fold_key("  Code INSEE  "), "code_insee");
    EXPECT_EQ(text::fold_key("Date dernier contrôle"), "date_dernier_controle");
    EXPECT_EQ(text::fold_key("X (CC46)"), "x_cc46");
    EXPECT_EQ(text::fold_key("Volume (m³)"), "volume_m3");
    EXPECT_EQ(text::fold_key("Œuvre d'Ægidius"), "oeuvre_d_aegidius");
    EXPECT_EQ(text::fold_key("straße"), "strasse");
    EXPECT_EQ(text::fold_key("réserve"), text::fold_key("RESERVE"));
    EXPECT_EQ(text::fold_key("---"), "");
}

TEST(FoldKey, LatinExtendedLettersFoldToTheirBaseLetter) {
    EXPECT_EQ(text::fold_key("Łódź"), "lodz");
    EXPECT_EQ(text::fold_key("ł"), "l");
    EXPECT_EQ(text::fold_key("Šárka"), "sarka");  // Š comes from Windows-1252 0x8A
    EXPECT_EQ(text::fold_key("Žižkov"), "zizkov");
    EXPECT_EQ(text::fold_key("Ÿ"), "y");
    EXPECT_EQ(text::fold_key("Ő ű"), "o_u");
    EXPECT_EQ(text::fold_key("Ŧ Ň"), "t_n");
}

TEST(FoldAccentsLower, KeepsPunctuationAndFoldsLetters) {
    EXPECT_EQ(text::fold_accents_lower("Côte-d'Or"), "cote-d'or");
    EXPECT_EQ(text::fold_accents_lower("ÉCOLE"), "ecole");
    EXPECT_EQ(text::fold_accents_lower("€ 5"), "€ 5");
}

TEST(Encoding, Utf8IsRecognisedAndWindows1252IsDecoded) {
    EXPECT_TRUE(text::is_utf8("Côte-d'Or"));
    EXPECT_TRUE(text::is_utf8(""));
    EXPECT_FALSE(text::is_utf8("C\xF4te"));
    EXPECT_FALSE(text::is_utf8("\xC3"));          // truncated sequence
    EXPECT_FALSE(text::is_utf8("\xC0\xAF"));      // overlong
    EXPECT_EQ(text::cp1252_to_utf8("C\xF4te-d'Or"), "Côte-d'Or");
    EXPECT_EQ(text::cp1252_to_utf8("\x80 \x9C \x8A \x92"), "€ œ Š ’");
    EXPECT_EQ(text::cp1252_to_utf8("N\xB0 ERP"), "N° ERP");
    EXPECT_EQ(text::cp1252_to_utf8("\x81"), "\xEF\xBF\xBD");  // undefined byte: replacement character
    EXPECT_TRUE(text::is_utf8(text::cp1252_to_utf8("\xE9\xE8\xE0\xFF")));
}

TEST(Trim, RemovesSpacesTabsAndLineEnds) {
    EXPECT_EQ(text::trim("  21231 \t\r\n"), "21231");
    EXPECT_EQ(text::trim(""), "");
    EXPECT_EQ(text::trim(" \t "), "");
}

TEST(Clock, IsoTimestampsInUtc) {
    EXPECT_TRUE(std::regex_match(text::now_iso8601(), std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)")));
    EXPECT_EQ(text::today_iso().size(), 10u);
}

TEST(LayerSpecs, ProjectLayersLoadWithFoldedSynonymsAndResolvedSources) {
    const auto cat = load_layers(test::layers_dir());
    const LayerSpec& pei = cat.get("pei");
    EXPECT_EQ(pei.id_field, "id_sdis");
    EXPECT_EQ(pei.date_field, "date_maj");
    EXPECT_EQ(pei.max_distance_m, 1000);
    const FieldSpec& type = pei.fields[static_cast<size_t>(pei.field_index("type_pei"))];
    EXPECT_EQ(type.on_invalid, OnInvalid::Reject);
    EXPECT_EQ(type.synonyms.at("poteau"), "PI");
    EXPECT_EQ(type.synonyms.at("bouche"), "BI");
    EXPECT_EQ(type.synonyms.at("reserve"), "CI");
    EXPECT_EQ(type.synonyms.at("pi"), "PI") << "codes are their own synonyms, whatever the case";
    const FieldSpec& dispo = pei.fields[static_cast<size_t>(pei.field_index("disponible"))];
    EXPECT_EQ(dispo.type, FieldType::Boolean);
    EXPECT_EQ(dispo.synonyms.at("oui"), "1");
    const FieldSpec& x = pei.fields[static_cast<size_t>(pei.field_index("x"))];
    EXPECT_EQ(x.derived, Derived::X_L93);
    EXPECT_FALSE(pei.coordinates.x.empty());
    const SourceSpec* s = pei.find_source("sdis71");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->crs, "EPSG:3946");
    EXPECT_TRUE(std::filesystem::path(s->url).is_absolute());
    EXPECT_TRUE(std::filesystem::exists(s->url)) << s->url;
    const LayerSpec& communes = cat.get("communes");
    EXPECT_EQ(communes.geometry_type, "polygon");
    EXPECT_FALSE(communes.attribute_commune);
    EXPECT_THROW(cat.get("nope"), InputError);
}

void expect_layer_error(const std::string& json, const std::string& fragment) {
    try {
        parse_layer(json, "layers/test.json");
        ADD_FAILURE() << "accepted: " << json;
    } catch (const InputError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("layers/test.json"), std::string::npos) << what;
        EXPECT_NE(what.find(fragment), std::string::npos) << what;
    }
}

TEST(LayerSpecs, MistakesAreReportedWithTheFileAndTheKey) {
    expect_layer_error("{", "invalid JSON");
    expect_layer_error("[]", "expected an object");
    expect_layer_error(R"({"id":"a","id_field":"id"})", "fields");
    expect_layer_error(R"({"id":"a","id_field":"id","fields":[{"name":"id","type":"text"}]})", "unknown type \"text\"");
    expect_layer_error(R"({"id":"a","id_field":"nope","fields":[{"name":"id","type":"string"}]})", "id_field");
    expect_layer_error(R"({"id":"a","id_field":"id","fields":[{"name":"id","type":"string","on_invalid":"x"}]})", "on_invalid");
    expect_layer_error(R"({"id":"a","id_field":"id","fields":[{"name":"id","type":"string"}],"coordinates":[1]})", "coordinates");
    expect_layer_error(R"({"id":"a","id_field":"id","fields":[{"name":"id","type":"string"}],"sources":[{"id":"s"}]})", "url");
}

TEST(LayerSpecs, RelativeSourceUrlsResolveAgainstTheLayerFolder) {
    const auto l = parse_layer(
        R"({"id":"a","id_field":"id","fields":[{"name":"id","type":"string","aliases":["ID"]}],
            "sources":[{"id":"s","url":"data/a.csv"},{"id":"w","url":"https://example.org/a.csv"}]})",
        "/srv/layers/a.json");
    EXPECT_EQ(l.sources[0].url, "/srv/layers/data/a.csv");
    EXPECT_EQ(l.sources[1].url, "https://example.org/a.csv");
    EXPECT_EQ(l.sources[0].protocol, "file");
    EXPECT_EQ(l.fields[0].aliases, std::vector<std::string>{"ID"});
}

TEST(Text, PercentDecodeDecodesHexPairsAndKeepsABrokenPercent) {
    EXPECT_EQ(text::percent_decode("s3cr%65t%40ign.fr"), "s3cret@ign.fr");
    EXPECT_EQ(text::percent_decode("typeName%3Dsdis%3Apei"), "typeName=sdis:pei");
    EXPECT_EQ(text::percent_decode("100%"), "100%");
    EXPECT_EQ(text::percent_decode("%zz%4"), "%zz%4");
    EXPECT_EQ(text::percent_decode("a+b"), "a+b");  // not form decoding
    EXPECT_EQ(text::ascii_lower("HTTP://Sig.Région.FR"), "http://sig.région.fr");
}

}  // namespace
}  // namespace ideo
