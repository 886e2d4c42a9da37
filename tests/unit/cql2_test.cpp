// The CQL2 text parser and evaluator on the real PEI layer schema: what parses, what each
// operator selects, and errors that point at the character at fault.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "ideo/core/layer.hpp"
#include "ideo/index/cql2.hpp"
#include "test_support.hpp"

using namespace ideo;
using namespace ideo::index;
using namespace ideo::test;

namespace {

const LayerSpec& pei() {
    static const LayerCatalog catalog = load_layers(layers_dir());
    return catalog.get("pei");
}

Feature pei_feature(double lon, double lat) {
    Feature f;
    f.id = "PEI-1";
    f.values.resize(pei().fields.size());
    auto set = [&](const char* name, Value v) { f.values[static_cast<std::size_t>(pei().field_index(name))] = std::move(v); };
    set("insee", std::string("90010"));
    set("type_pei", std::string("PI"));
    set("diam_pei", std::int64_t{100});
    set("debit", 62.5);
    set("disponible", std::int64_t{1});
    set("date_maj", std::string("2024-05-17"));
    set("situation", std::string("19 Rue des Écoles"));
    set("nom_gest", std::string("L'Isle"));
    f.geometry = Geometry::point(lon, lat);
    return f;
}

bool eval(const std::string& filter, const Feature& f) { return cql2::matches(*cql2::parse(filter, pei()), pei(), f); }

// The 1-based position of the error, or 0 when the text parses.
std::size_t error_position(const std::string& filter) {
    try {
        cql2::parse(filter, pei());
    } catch (const cql2::ParseError& e) {
        return e.position();
    }
    return 0;
}

std::string error_message(const std::string& filter) {
    try {
        cql2::parse(filter, pei());
    } catch (const cql2::ParseError& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST(Cql2, ComparisonsFollowTheFieldTypes) {
    const Feature f = pei_feature(6.86, 47.64);
    EXPECT_TRUE(eval("type_pei = 'PI'", f));
    EXPECT_FALSE(eval("type_pei <> 'PI'", f));
    EXPECT_TRUE(eval("debit >= 62.5 AND debit < 63", f));
    EXPECT_TRUE(eval("diam_pei = 100", f));
    EXPECT_TRUE(eval("disponible = TRUE", f));
    EXPECT_TRUE(eval("date_maj > DATE('2024-05-16') and date_maj <= date('2024-05-17')", f));
    EXPECT_TRUE(eval("date_maj < TIMESTAMP('2024-05-17T00:00:01Z')", f));
    EXPECT_TRUE(eval("nom_gest = 'L''Isle'", f));
    EXPECT_TRUE(eval("\"insee\" = '90010'", f));
}

TEST(Cql2, NullsAreUnknownExceptForIsNull) {
    const Feature f = pei_feature(6.86, 47.64);
    EXPECT_TRUE(eval("volume IS NULL", f));
    EXPECT_FALSE(eval("volume IS NOT NULL", f));
    EXPECT_FALSE(eval("volume > 0", f));
    EXPECT_FALSE(eval("volume <= 0", f));
    EXPECT_FALSE(eval("volume NOT IN (1, 2)", f));
}

TEST(Cql2, LikeInBetweenAndBooleanLogic) {
    const Feature f = pei_feature(6.86, 47.64);
    EXPECT_TRUE(eval("situation LIKE '%Rue des _coles'", f));  // '_' is one character, even 'É'
    EXPECT_TRUE(eval("insee LIKE '9001_'", f));
    EXPECT_FALSE(eval("insee LIKE '9001'", f));
    EXPECT_TRUE(eval("insee NOT LIKE '25%'", f));
    EXPECT_TRUE(eval("type_pei IN ('BI', 'PI')", f));
    EXPECT_FALSE(eval("type_pei NOT IN ('BI', 'PI')", f));
    EXPECT_TRUE(eval("debit BETWEEN 60 AND 62.5", f));
    EXPECT_FALSE(eval("debit NOT BETWEEN 60 AND 70", f));
    EXPECT_TRUE(eval("NOT (type_pei = 'BI') AND (debit > 100 OR diam_pei = 100)", f));
    EXPECT_TRUE(eval("type_pei = 'BI' OR type_pei = 'CI' OR type_pei = 'PI'", f));
    EXPECT_FALSE(eval("TRUE AND FALSE", f));
}

TEST(Cql2, SpatialIntersectsWithBboxPointAndPolygonWithHoles) {
    const Feature f = pei_feature(6.86, 47.64);
    EXPECT_TRUE(eval("S_INTERSECTS(geometry, BBOX(6.8, 47.6, 6.9, 47.7))", f));
    EXPECT_FALSE(eval("S_INTERSECTS(geometry, BBOX(6.9, 47.6, 7.0, 47.7))", f));
    EXPECT_TRUE(eval("S_INTERSECTS(POINT(6.86 47.64), geometry)", f));
    EXPECT_TRUE(eval("s_intersects(geometry, POLYGON((6.8 47.6, 6.9 47.6, 6.9 47.7, 6.8 47.6)))", f));
    EXPECT_FALSE(eval("S_INTERSECTS(geometry, POLYGON((6.8 47.6, 6.88 47.6, 6.8 47.7, 6.8 47.6)))", f));
    // Inside the outer ring but in its hole: outside.
    EXPECT_FALSE(eval("S_INTERSECTS(geometry, POLYGON((6.8 47.6, 6.9 47.6, 6.9 47.7, 6.8 47.7, 6.8 47.6),"
                      "(6.85 47.63, 6.87 47.63, 6.87 47.65, 6.85 47.65, 6.85 47.63)))",
                      f));
    Feature unlocated = f;
    unlocated.geometry = Geometry{};
    EXPECT_FALSE(eval("S_INTERSECTS(geometry, BBOX(-180, -90, 180, 90))", unlocated));
}

TEST(Cql2, FilterCrsTransformsTheLiteralsIntoCrs84) {
    // A toy transform: the literal is written in "hundredths of degrees".
    const cql2::ToCrs84 scale = [](double& x, double& y) {
        x /= 100;
        y /= 100;
    };
    const auto e = cql2::parse("S_INTERSECTS(geometry, BBOX(680, 4760, 690, 4770))", pei(), scale);
    EXPECT_TRUE(cql2::matches(*e, pei(), pei_feature(6.86, 47.64)));
    const auto bounds = cql2::spatial_bounds(*e);
    ASSERT_TRUE(bounds);
    EXPECT_DOUBLE_EQ(bounds->min_x, 6.8);
    EXPECT_DOUBLE_EQ(bounds->max_y, 47.7);
}

TEST(Cql2, SpatialBoundsNarrowAndsAndWidenOrs) {
    auto bounds = [](const std::string& s) { return cql2::spatial_bounds(*cql2::parse(s, pei())); };
    EXPECT_FALSE(bounds("debit > 3"));
    EXPECT_FALSE(bounds("debit > 3 OR S_INTERSECTS(geometry, BBOX(0, 0, 1, 1))"));
    const auto a = bounds("debit > 3 AND S_INTERSECTS(geometry, BBOX(0, 0, 2, 2)) AND S_INTERSECTS(geometry, BBOX(1, 1, 3, 3))");
    ASSERT_TRUE(a);
    EXPECT_DOUBLE_EQ(a->min_x, 1);
    EXPECT_DOUBLE_EQ(a->max_x, 2);
    const auto o = bounds("S_INTERSECTS(geometry, BBOX(0, 0, 1, 1)) OR S_INTERSECTS(geometry, POINT(5 6))");
    ASSERT_TRUE(o);
    EXPECT_NEAR(o->max_x, 5, 1e-6);
}

TEST(Cql2, ErrorsGiveThePositionOfTheFault) {
    EXPECT_EQ(error_position("debit ="), 8u);
    EXPECT_NE(error_message("debit =").find("expected a value after '='"), std::string::npos);
    EXPECT_EQ(error_position("type_pei = 'PI' AND"), 20u);
    EXPECT_EQ(error_position("nothing = 1"), 1u);
    EXPECT_NE(error_message("nothing = 1").find("unknown property 'nothing'"), std::string::npos);
    EXPECT_EQ(error_position("debit = 'x'"), 9u);  // a string for a number
    EXPECT_EQ(error_position("insee = 90010"), 9u);  // a number for a string
    EXPECT_EQ(error_position("type_pei = 'PI"), 12u);
    EXPECT_EQ(error_position("(debit > 1"), 11u);
    EXPECT_EQ(error_position("debit > 1 debit"), 11u);
    EXPECT_EQ(error_position("debit LIKE '1%'"), 7u);
    EXPECT_EQ(error_position("date_maj > DATE('2024-13-45')"), 17u);
    EXPECT_EQ(error_position("S_INTERSECTS(geometry, POLYGON((1 2, 3 4)))"), 32u);
    EXPECT_EQ(error_position("S_INTERSECTS(debit, BBOX(0,0,1,1))"), 14u);
    EXPECT_EQ(error_position(""), 1u);
    EXPECT_EQ(error_position("disponible > TRUE"), 12u);
}

TEST(Cql2, DeepNestingIsRefusedWithAnErrorNotAStackOverflow) {
    for (const std::string open : {"(", "NOT ", "NOT ("}) {
        std::string deep;
        for (int i = 0; i < 3000; ++i) deep += open;
        deep += "debit > 1";
        const std::string message = error_message(deep);
        EXPECT_NE(message.find("nested deeper than"), std::string::npos) << open << ": " << message.substr(0, 200);
    }
    std::string fine = "debit > 1";
    for (int i = 0; i < 20; ++i) fine = "(" + fine + ")";
    EXPECT_EQ(error_position(fine), 0u);
    EXPECT_NE(error_message(std::string(cql2::max_length + 1, ' ')).find("longer than"), std::string::npos);
}

TEST(Cql2, SeedCorpusAndHostileInputsParseOrFailCleanly) {
    std::vector<std::string> inputs{std::string("debit = \0 1", 11), "\xff\xfe\xfd", "'", "\"", "S_INTERSECTS(", "BBOX(1,2,3,4)",
                                    "debit BETWEEN 1", "debit IN ()", "debit IN (1,", "type_pei LIKE '\\'",
                                    "S_INTERSECTS(geometry, POINT(1e400 2))", "debit > -", "debit > 1e", "NOT",
                                    "S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 0), (", "date_maj = TIMESTAMP('2024-01-01T25')"};
    int parsed = 0;
    for (const auto& entry : std::filesystem::directory_iterator(source_dir() / "tests/fuzz/cql2_corpus")) inputs.push_back(read_file(entry.path()));
    ASSERT_GT(inputs.size(), 30u);
    const Feature f = pei_feature(6.86, 47.64);
    for (const auto& input : inputs) {
        try {
            const auto e = cql2::parse(input, pei());
            cql2::matches(*e, pei(), f);
            ++parsed;
        } catch (const cql2::ParseError& e) {
            EXPECT_GE(e.position(), 1u) << input;
            EXPECT_LE(e.position(), input.size() + 1) << input;
        }
    }
    EXPECT_GE(parsed, 14);  // the valid seeds of the corpus
}
