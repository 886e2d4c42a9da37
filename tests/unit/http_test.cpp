// The pure parts of the server: query strings, parameter validation, routing, JSON output.
#include <gtest/gtest.h>

#include <functional>
#include <span>

#include "../../src/server/http.hpp"
#include "../../src/server/parameters.hpp"

using namespace ideo;
using namespace ideo::server;

namespace {

// The status and description of the HttpError that f throws.
template <class F>
std::pair<int, std::string> error_of(F&& f) {
    try {
        f();
    } catch (const HttpError& e) {
        return {e.status(), e.what()};
    }
    return {0, ""};
}

LayerSpec pei_like() {
    LayerSpec l;
    l.id = "pei";
    for (const char* name : {"insee", "id_sdis", "type_pei", "debit"}) {
        FieldSpec f;
        f.name = name;
        l.fields.push_back(f);
    }
    return l;
}

}  // namespace

TEST(QueryString, DecodesPercentEscapesAndPlusAsSpace) {
    const QueryParams q = parse_query("nom=Belfort%20Ville&adresse=rue+de+la+Gare&x=%C3%A9t%C3%A9");
    ASSERT_EQ(q.entries().size(), 3u);
    EXPECT_EQ(*q.find("nom"), "Belfort Ville");
    EXPECT_EQ(*q.find("adresse"), "rue de la Gare");
    EXPECT_EQ(*q.find("x"), "été");
    EXPECT_EQ(q.find("absent"), nullptr);
}

TEST(QueryString, KeepsOrderSkipsEmptyPiecesAndAcceptsBareNames) {
    const QueryParams q = parse_query("&b=2&&a&c=");
    ASSERT_EQ(q.entries().size(), 3u);
    EXPECT_EQ(q.entries()[0].first, "b");
    EXPECT_EQ(*q.find("a"), "");
    EXPECT_EQ(*q.find("c"), "");
}

TEST(QueryString, BrokenEscapeIs400) {
    EXPECT_EQ(error_of([] { parse_query("a=%zz"); }).first, 400);
    EXPECT_EQ(error_of([] { parse_query("a=%4"); }).first, 400);
    EXPECT_EQ(error_of([] { parse_query("a=50%"); }).first, 400);
}

TEST(QueryString, RepeatedParameterIs400NamingIt) {
    const auto [status, what] = error_of([] { parse_query("limit=1&limit=2"); });
    EXPECT_EQ(status, 400);
    EXPECT_NE(what.find("limit"), std::string::npos);
}

TEST(QueryString, ReencodesWithOneParameterReplacedOrAppended) {
    const QueryParams q = parse_query("limit=10&nom=a%20b%26c&offset=0");
    EXPECT_EQ(q.encode_with("offset", "10"), "limit=10&nom=a%20b%26c&offset=10");
    const QueryParams r = parse_query("limit=10");
    EXPECT_EQ(r.encode_with("offset", "10"), "limit=10&offset=10");
    EXPECT_EQ(percent_encode("90010/é"), "90010%2F%C3%A9");
}

TEST(Request, TargetLongerThan8KBIs414) {
    const std::string target = "/collections/pei/items?x=" + std::string(9000, 'a');
    EXPECT_EQ(error_of([&] { parse_request("GET", target, "h"); }).first, 414);
}

TEST(Request, SplitsPathAndQueryAndSanitisesHost) {
    const Request r = parse_request("GET", "/collections/pei/items?limit=5", "example.org:8080\"<x>");
    EXPECT_EQ(r.path, "/collections/pei/items");
    EXPECT_EQ(*r.query.find("limit"), "5");
    EXPECT_EQ(r.base_url(), "http://example.org:8080x");
    EXPECT_EQ(parse_request("GET", "/", "").base_url(), "");
}

TEST(Routing, MatchesEveryEndpoint) {
    EXPECT_EQ(route("GET", "/health").endpoint, Endpoint::Health);
    EXPECT_EQ(route("GET", "/collections").endpoint, Endpoint::Collections);
    EXPECT_EQ(route("GET", "/collections/").endpoint, Endpoint::Collections);
    const Route c = route("GET", "/collections/pei");
    EXPECT_EQ(c.endpoint, Endpoint::Collection);
    EXPECT_EQ(c.layer, "pei");
    EXPECT_EQ(route("GET", "/collections/pei/items").endpoint, Endpoint::Items);
    const Route i = route("HEAD", "/collections/pei/items/90010%2F12");
    EXPECT_EQ(i.endpoint, Endpoint::Item);
    EXPECT_EQ(i.id, "90010/12");
    const Route d = route("GET", "/deci/communes/90010/extract.xlsx");
    EXPECT_EQ(d.endpoint, Endpoint::DeciExtract);
    EXPECT_EQ(d.insee, "90010");
    EXPECT_EQ(d.format, "xlsx");
    EXPECT_EQ(route("GET", "/deci/communes/90010/extract.shp.zip").format, "shp.zip");
    const Route g = route("GET", "/fonts/Noto%20Sans%20Regular,DejaVu%20Sans%20Book/256-511.pbf");
    EXPECT_EQ(g.endpoint, Endpoint::Glyphs);
    EXPECT_EQ(g.fontstack, "Noto Sans Regular,DejaVu Sans Book");
    EXPECT_EQ(g.glyph_range, "256-511.pbf");
    const Route s = route("GET", "/styles/sprites/ideo@2x.png");
    EXPECT_EQ(s.endpoint, Endpoint::Sprite);
    EXPECT_EQ(s.sprite, "ideo@2x.png");
    const Route st = route("GET", "/styles/deci");
    EXPECT_EQ(st.endpoint, Endpoint::Style);
    EXPECT_EQ(st.style, "deci");
    const Route xyz = route("GET", "/tiles/pei,erp/12/2124/1440.mvt");
    EXPECT_EQ(xyz.endpoint, Endpoint::XyzTile);
    EXPECT_EQ(xyz.layers, "pei,erp");
    EXPECT_EQ(xyz.tile_y, "1440.mvt");
    EXPECT_EQ(route("GET", "/tiles/pei,erp.json").layers, "pei,erp");
    EXPECT_EQ(route("GET", "/tileMatrixSets/WebMercatorQuad").matrix_set, "WebMercatorQuad");
    const Route ct = route("GET", "/collections/pei/tiles/WebMercatorQuad/12/1440/2124");
    EXPECT_EQ(ct.endpoint, Endpoint::CollectionTile);
    EXPECT_EQ(ct.matrix_set, "WebMercatorQuad");
    EXPECT_EQ(ct.tile_y, "1440");
}

TEST(Routing, UnknownPathsAreNotFoundAndOtherMethodsNotAllowed) {
    EXPECT_EQ(route("GET", "/").endpoint, Endpoint::Landing);
    EXPECT_EQ(route("GET", "/collections/pei/queryables").endpoint, Endpoint::Queryables);
    EXPECT_EQ(route("GET", "/nothing").endpoint, Endpoint::NotFound);
    EXPECT_EQ(route("GET", "/collections/pei/tiles").endpoint, Endpoint::CollectionTilesets);
    EXPECT_EQ(route("GET", "/collections/pei/tiles/WebMercatorQuad/1").endpoint, Endpoint::NotFound);
    EXPECT_EQ(route("GET", "/collections//items").endpoint, Endpoint::NotFound);
    EXPECT_EQ(route("GET", "/deci/communes/90010/extract.").endpoint, Endpoint::NotFound);
    EXPECT_EQ(route("POST", "/collections").endpoint, Endpoint::MethodNotAllowed);
    EXPECT_EQ(route("DELETE", "/collections/pei/items/1").endpoint, Endpoint::MethodNotAllowed);
    EXPECT_EQ(route("POST", "/nothing").endpoint, Endpoint::NotFound);
}

TEST(ItemsParameters, DefaultsAndValidValues) {
    const LayerSpec pei = pei_like();
    const ItemsParameters d = parse_items_parameters(parse_query(""), pei);
    EXPECT_EQ(d.limit, 100u);
    EXPECT_EQ(d.offset, 0u);
    EXPECT_FALSE(d.query.bbox);

    const ItemsParameters p =
        parse_items_parameters(parse_query("limit=10000&offset=20&bbox=6.8,47.6,%207.0,47.7&f=json&insee=90010"), pei);
    EXPECT_EQ(p.limit, 10000u);
    EXPECT_EQ(p.offset, 20u);
    ASSERT_TRUE(p.query.bbox);
    EXPECT_DOUBLE_EQ(p.query.bbox->min_x, 6.8);
    EXPECT_DOUBLE_EQ(p.query.bbox->max_y, 47.7);
    ASSERT_EQ(p.query.filters.size(), 1u);
    EXPECT_EQ(p.query.filters[0].field, 0);
    EXPECT_EQ(p.query.filters[0].value, "90010");
}

TEST(ItemsParameters, BadValuesAre400NamingTheParameter) {
    const LayerSpec pei = pei_like();
    const std::pair<const char*, const char*> cases[] = {
        {"limit=-1", "limit"},         {"limit=0", "limit"},           {"limit=10001", "limit"},
        {"limit=abc", "limit"},        {"limit=", "limit"},            {"limit=5x", "limit"},
        {"offset=-3", "offset"},       {"offset=1.5", "offset"},       {"bbox=1,2,3", "bbox"},
        {"bbox=1,2,3,4,5,6", "bbox"},  {"bbox=3,2,1,4", "bbox"},       {"bbox=1,4,3,2", "bbox"},
        {"bbox=a,b,c,d", "bbox"},      {"bbox=1,2,3,nan", "bbox"},     {"bbox=", "bbox"},
        {"f=xml", "f"},                {"colour=red", "colour"},       {"sortby=nothing", "sortby"},
        {"crs=EPSG:9999", "crs"},      {"bbox-crs=EPSG:27572", "bbox-crs"}, {"filter=debit%20%3D", "filter"},
        {"filter-lang=cql2-json", "filter-lang"}, {"properties=nothing", "properties"}, {"datetime=2024", "datetime"},
    };
    for (const auto& [query, name] : cases) {
        const auto [status, what] = error_of([&] { parse_items_parameters(parse_query(query), pei); });
        EXPECT_EQ(status, 400) << query;
        EXPECT_EQ(what.rfind(std::string(name) + ":", 0), 0u) << query << " -> " << what;
    }
}

TEST(ExtractParameters, ValidatesInseeFormatAndCrs) {
    const ExtractParameters p = parse_extract_parameters("2A004", "xlsx", parse_query("crs=EPSG:3946"));
    EXPECT_EQ(p.insee, "2A004");
    EXPECT_EQ(p.crs, "EPSG:3946");
    EXPECT_EQ(parse_extract_parameters("90010", "xlsx", {}).crs, "EPSG:2154");

    auto [status, what] = error_of([] { parse_extract_parameters("90010", "pdf", {}); });
    EXPECT_EQ(status, 404);
    EXPECT_NE(what.find("pdf"), std::string::npos);
    std::tie(status, what) = error_of([] { parse_extract_parameters("9001", "xlsx", {}); });
    EXPECT_EQ(status, 400);
    EXPECT_EQ(what.rfind("insee:", 0), 0u);
    std::tie(status, what) = error_of([] { parse_extract_parameters("90010", "xlsx", parse_query("crs=2154")); });
    EXPECT_EQ(status, 400);
    EXPECT_EQ(what.rfind("crs:", 0), 0u);
}

TEST(Parameters, EachReaderRefusesWhatItsSchemaRefusesNamingTheParameter) {
    EXPECT_EQ(parse_integer("limit", "50", 1, 50), 50);
    EXPECT_EQ(parse_number("lat", "-90", -90, 90), -90);
    EXPECT_EQ(parse_insee("insee", "2A004"), "2A004");
    EXPECT_EQ(parse_department("dept", "974"), "974");
    EXPECT_EQ(parse_department("dept", "2B"), "2B");
    EXPECT_EQ(parse_list("theme", " a , ,b"), (std::vector<std::string>{"a", "b"}));
    const std::vector<std::string> modes{"straight", "road"};
    EXPECT_EQ(parse_choice("mode", "road", modes), 1u);
    const std::pair<const char*, std::function<void()>> bad[] = {
        {"limit: must be a whole number from 1 to 50, got '51'", [] { parse_integer("limit", "51", 1, 50); }},
        {"lat: must be a number within ±90, got '90.5'", [] { parse_number("lat", "90.5", -90, 90); }},
        {"mode: must be straight or road, got 'helicopter'", [&] { parse_choice("mode", "helicopter", modes); }},
        {"insee: '2C004' is not a commune INSEE code", [] { parse_insee("insee", "2C004"); }},
        {"rules: '../etc' is not a department code (21, 2A, 974)", [] { parse_department("rules", "../etc"); }},
        {"theme: must not be empty", [] { parse_list("theme", " , "); }},
        {"bbox: 3D boxes (6 numbers) are not supported; give minx,miny,maxx,maxy", [] { parse_bbox("bbox", "1,2,3,4,5,6"); }},
    };
    for (const auto& [message, f] : bad) {
        const auto [status, what] = error_of(f);
        EXPECT_EQ(status, 400) << message;
        EXPECT_EQ(what, message);
    }
}

namespace {

// The definition a parser checks against is the one OpenAPI shows: find it in each endpoint's list.
const Parameter& definition(std::span<const Parameter> list, std::string_view name) {
    for (const auto& p : list)
        if (p.name == name) return p;
    throw std::runtime_error("no parameter " + std::string(name));
}

}  // namespace

TEST(Parameters, TheDocumentedBoundIsTheCheckedBound) {
    const Parameter& limit = definition(items_parameters(), "limit");
    EXPECT_NE(limit.schema().find("\"maximum\":" + std::to_string(max_limit)), std::string::npos) << limit.schema();
    EXPECT_EQ(limit.max, static_cast<long long>(max_limit));
    const struct {
        std::span<const Parameter> list;
        const char* name;
        std::string required;  // the other parameters the endpoint needs
        std::function<void(const QueryParams&)> parse;
    } endpoints[] = {
        {catalog_records_parameters(), "limit", "", [](const QueryParams& q) { parse_catalog_records_parameters(q); }},
        {catalog_records_parameters(), "offset", "", [](const QueryParams& q) { parse_catalog_records_parameters(q); }},
        {dcat_parameters(), "page_size", "", [](const QueryParams& q) { parse_dcat_parameters(q); }},
        {commune_search_parameters(), "limit", "q=belfort&", [](const QueryParams& q) { parse_commune_search_parameters(q); }},
    };
    for (const auto& e : endpoints) {
        const Parameter& p = definition(e.list, e.name);
        ASSERT_EQ(p.kind, ParameterKind::Integer) << e.name;
        const auto with = [&](long long v) { return parse_query(e.required + e.name + "=" + std::to_string(v)); };
        EXPECT_EQ(error_of([&] { e.parse(with(p.max)); }).first, 0) << e.name << "=" << p.max;
        const auto [status, what] = error_of([&] { e.parse(with(p.max + 1)); });
        EXPECT_EQ(status, 400) << e.name;
        EXPECT_EQ(what.rfind(std::string(e.name) + ":", 0), 0u) << what;
        EXPECT_NE(p.schema().find("\"maximum\":" + std::to_string(p.max)), std::string::npos) << p.schema();
    }
}

TEST(DeciParameters, DefaultsDifferByEndpointAndTheSchemaSaysWhich) {
    EXPECT_EQ(parse_coverage_parameters("90010", {}).mode, deci::Mode::Straight);
    EXPECT_EQ(parse_check_parameters(parse_query("lon=6.86&lat=47.64")).mode, deci::Mode::Road);
    EXPECT_NE(definition(coverage_parameters(), "mode").schema().find("\"default\":\"straight\""), std::string::npos);
    EXPECT_NE(definition(check_parameters(), "mode").schema().find("\"default\":\"road\""), std::string::npos);
    const CheckParameters c = parse_check_parameters(parse_query("lon=6.86&lat=47.64&risk=courant_ordinaire&rules=default"));
    EXPECT_DOUBLE_EQ(c.lon, 6.86);
    EXPECT_EQ(c.risk, "courant_ordinaire");
    EXPECT_EQ(c.rules, "default");
    const std::pair<const char*, const char*> cases[] = {
        {"lat=47", "lon: required"},           {"lon=181&lat=47", "lon: must be a number within ±180"},
        {"lon=6&lat=47&mode=boat", "mode:"},   {"lon=6&lat=47&rules=../etc", "rules:"},
        {"lon=6&lat=47&colour=red", "colour: unknown parameter: accepted here: lon, lat, risk, mode, rules"},
    };
    for (const auto& [query, prefix] : cases) {
        const auto [status, what] = error_of([&] { parse_check_parameters(parse_query(query)); });
        EXPECT_EQ(status, 400) << query;
        EXPECT_EQ(what.rfind(prefix, 0), 0u) << query << " -> " << what;
    }
    const ExtractManyParameters m = parse_extract_many_parameters("gpkg", parse_query("insee=90010,%202A004"));
    EXPECT_EQ(m.communes, (std::vector<std::string>{"90010", "2A004"}));
    EXPECT_EQ(error_of([] { parse_extract_many_parameters("gpkg", parse_query("insee=90010,abc")); }).second.rfind("insee:", 0), 0u);
    EXPECT_EQ(error_of([] { parse_extract_many_parameters("gpkg", parse_query("insee=90010&dept=90")); }).first, 400);
    EXPECT_EQ(error_of([] { parse_extract_many_parameters("pdf", parse_query("dept=90")); }).first, 404);
}

TEST(CatalogParameters, BboxFollowsTheItemsRules) {
    const catalog::SearchQuery q = parse_catalog_records_parameters(parse_query("bbox=6.8,47.6,7.0,47.7&theme=a,b&limit=5"));
    ASSERT_TRUE(q.bbox);
    EXPECT_DOUBLE_EQ(q.bbox->max_x, 7.0);
    EXPECT_EQ(q.themes, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(q.limit, 5u);
    for (const char* bbox : {"1,2,3", "3,2,1,4", "1,2,3,4,5,6", "a,b,c,d"}) {
        const auto [status, items] = error_of([&] { parse_items_parameters(parse_query(std::string("bbox=") + bbox), pei_like()); });
        const auto [catalog_status, records] = error_of([&] { parse_catalog_records_parameters(parse_query(std::string("bbox=") + bbox)); });
        EXPECT_EQ(status, 400) << bbox;
        EXPECT_EQ(catalog_status, 400) << bbox;
        EXPECT_EQ(items, records) << bbox;
    }
}

TEST(Json, EscapesStringsAndWritesShortestNumbers) {
    std::string out;
    append_json_string(out, "L'\"Isle\"\\\n\x01");
    EXPECT_EQ(out, R"("L'\"Isle\"\\\n\u0001")");
    out.clear();
    append_json_number(out, 62.3);
    out += ',';
    append_json_number(out, 1.0 / 0.0);
    out += ',';
    append_json_number(out, std::int64_t{-90010});
    out += ',';
    append_json_number(out, 6.8628123456789);
    EXPECT_EQ(out, "62.3,null,-90010,6.8628123456789");
}

TEST(Json, ErrorBodyHasCodeAndDescription) {
    const Response r = json_error(404, "NotFound", "collection 'x\"y' does not exist");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body, R"({"code":"NotFound","description":"collection 'x\"y' does not exist"})");
}
