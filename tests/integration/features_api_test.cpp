// OGC API Features Parts 1-3 end to end over loopback, on a store imported with the real CLI from
// the Territoire de Belfort corpus: CRS, CQL2 filters checked against brute force over every
// item, sortby, properties, datetime, queryables, the OpenAPI document, HTML and CSV, errors,
// and two real clients: GDAL's OAPIF driver (in process) and OWSLib (python3).
#include <gdal.h>
#include <gtest/gtest.h>
#include <ogr_api.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ideo/tiles/tile.hpp"
#include "test_support.hpp"

using namespace ideo::test;

namespace {

constexpr const char* crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
constexpr const char* epsg4326 = "http://www.opengis.net/def/crs/EPSG/0/4326";
constexpr const char* epsg2154 = "http://www.opengis.net/def/crs/EPSG/0/2154";

std::string encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

rapidjson::Document parse_json(const std::string& body) {
    rapidjson::Document d;
    d.Parse(body.c_str(), body.size());
    EXPECT_FALSE(d.HasParseError()) << body.substr(0, 300);
    return d;
}

std::string target_of(const std::string& href) {
    const auto scheme = href.find("://");
    if (scheme == std::string::npos) return href;
    const auto slash = href.find('/', scheme + 3);
    return slash == std::string::npos ? "/" : href.substr(slash);
}

// One item as the brute-force checks see it: its properties and, for points, its position.
struct Item {
    std::string id;
    std::map<std::string, std::string> text;  // string and date properties
    std::map<std::string, double> number;     // numeric and boolean (0/1) properties
    bool located = false;
    double x = 0, y = 0;
};

}  // namespace

class FeaturesApiTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        store_dir_ = new TempDir();
        store_ = (store_dir_->path() / "ideo.gpkg").string();
        const std::vector<std::pair<std::string, std::string>> imports{
            {"communes", data("communes/communes-90-territoire-de-belfort.geojson").string()},
            {"pei", data("deci/d_pei_cd90_p.zip").string()},
            {"icpe", data("icpe/ign_installation.csv").string()},
        };
        setup_error_ = import_files(store_, imports);
        if (!setup_error_.empty()) return;
        try {
            server_ = new ServerProcess({"--store", store_});
        } catch (const std::exception& e) {
            setup_error_ = e.what();
            return;
        }
        all_pei_ = new std::vector<Item>(fetch("/collections/pei/items?limit=10000"));
    }

    static void TearDownTestSuite() {
        delete all_pei_;
        delete server_;
        delete store_dir_;
        all_pei_ = nullptr;
        server_ = nullptr;
        store_dir_ = nullptr;
    }

    void SetUp() override {
        if (!setup_error_.empty()) FAIL() << setup_error_;
    }

    static HttpResponse get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
        return http_get(server_->port(), target, headers);
    }

    // Every item of a query, following "next" links.
    static std::vector<Item> fetch(const std::string& first) {
        std::vector<Item> items;
        std::string target = first;
        while (!target.empty()) {
            const HttpResponse r = get(target);
            EXPECT_EQ(r.status, 200) << target << ": " << r.body.substr(0, 400);
            if (r.status != 200) break;
            const auto d = parse_json(r.body);
            for (const auto& f : d["features"].GetArray()) {
                Item it;
                it.id = f["id"].GetString();
                for (const auto& m : f["properties"].GetObject()) {
                    if (m.value.IsString()) it.text[m.name.GetString()] = m.value.GetString();
                    else if (m.value.IsNumber()) it.number[m.name.GetString()] = m.value.GetDouble();
                }
                if (f["geometry"].IsObject() && std::string(f["geometry"]["type"].GetString()) == "Point") {
                    it.located = true;
                    it.x = f["geometry"]["coordinates"][0].GetDouble();
                    it.y = f["geometry"]["coordinates"][1].GetDouble();
                }
                items.push_back(std::move(it));
            }
            target.clear();
            for (const auto& link : d["links"].GetArray())
                if (std::string(link["rel"].GetString()) == "next") target = target_of(link["href"].GetString());
        }
        return items;
    }

    static std::vector<std::string> ids(const std::vector<Item>& items) {
        std::vector<std::string> out;
        for (const auto& i : items) out.push_back(i.id);
        return out;
    }

    static std::vector<std::string> brute_force(const std::function<bool(const Item&)>& keep) {
        std::vector<std::string> out;
        for (const auto& i : *all_pei_)
            if (keep(i)) out.push_back(i.id);
        return out;
    }

    // A documented path with real values for its path parameters, and the query parameters it requires.
    static std::string concrete(const std::string& documented) {
        const auto belfort = ideo::tiles::lonlat_to_world(6.863, 47.638);
        const std::string x = std::to_string(static_cast<int>(belfort.x * 4096)), y = std::to_string(static_cast<int>(belfort.y * 4096));
        const std::map<std::string, std::string> values = {
            {"{featureId}", encode(all_pei_->front().id)}, {"{collectionId}", "pei"}, {"{layers}", "pei,communes"},
            {"{tileMatrixSetId}", "WebMercatorQuad"}, {"{z}", "12"}, {"{tileMatrix}", "12"}, {"{x}", x}, {"{tileCol}", x},
            {"{y}", y}, {"{tileRow}", y}, {"{styleId}", "deci"}, {"{insee}", "90010"}, {"{format}", "xlsx"},
            {"{fontstack}", "DejaVu%20Sans%20Book"}, {"{range}", "0-255"}, {"{sprite}", "ideo.json"}};
        const std::map<std::string, std::string> required_query = {
            {"/deci/check", "?lon=6.863&lat=47.638&risk=courant_ordinaire"}, {"/deci/extract.{format}", "?insee=90010"},
            {"/communes/search", "?q=belfort"}};
        std::string path = documented;
        for (const auto& [name, value] : values)
            for (std::size_t at; (at = path.find(name)) != std::string::npos;) path.replace(at, name.size(), value);
        if (const auto q = required_query.find(documented); q != required_query.end()) path += q->second;
        return path;
    }

    static std::string description(const HttpResponse& r) {
        const auto d = parse_json(r.body);
        return d.IsObject() && d.HasMember("description") ? d["description"].GetString() : "";
    }

    static inline TempDir* store_dir_ = nullptr;
    static inline std::string store_;
    static inline ServerProcess* server_ = nullptr;
    static inline std::string setup_error_;
    static inline std::vector<Item>* all_pei_ = nullptr;
};

TEST_F(FeaturesApiTest, LandingPageLinksTheApiConformanceAndData) {
    const HttpResponse r = get("/");
    ASSERT_EQ(r.status, 200);
    const auto d = parse_json(r.body);
    EXPECT_TRUE(d["title"].IsString());
    std::map<std::string, std::string> rels;
    for (const auto& l : d["links"].GetArray()) rels[l["rel"].GetString()] = target_of(l["href"].GetString());
    EXPECT_EQ(rels["self"], "/");
    EXPECT_EQ(rels["service-desc"], "/api");
    EXPECT_EQ(rels["conformance"], "/conformance");
    EXPECT_EQ(rels["data"], "/collections");

    const auto c = parse_json(get("/conformance").body);
    std::set<std::string> classes;
    for (const auto& v : c["conformsTo"].GetArray()) classes.insert(v.GetString());
    for (const char* expected : {"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
                                 "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
                                 "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
                                 "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
                                 "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text"})
        EXPECT_TRUE(classes.count(expected)) << expected;
}

TEST_F(FeaturesApiTest, OpenApiListsEveryServedPathAndEachAnswers) {
    const HttpResponse r = get("/api");
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.headers.at("content-type").find("openapi"), std::string::npos);
    const auto d = parse_json(r.body);
    EXPECT_EQ(std::string(d["openapi"].GetString()).substr(0, 4), "3.0.");
    std::set<std::string> paths;
    for (const auto& p : d["paths"].GetObject()) paths.insert(p.name.GetString());
    const auto collections = parse_json(get("/collections").body);
    for (const auto& c : collections["collections"].GetArray()) {
        const std::string id = c["id"].GetString();
        for (const std::string suffix : {"", "/items", "/items/{featureId}", "/queryables"})
            EXPECT_TRUE(paths.count("/collections/" + id + suffix)) << id << suffix;
    }
    for (const char* other : {"/tiles/{layers}/{z}/{x}/{y}.mvt", "/tiles/{layers}.json", "/collections/{collectionId}/tiles",
                              "/styles/{styleId}", "/catalog/records", "/catalog/dcat.jsonld", "/deci/communes/{insee}/extract.{format}",
                              "/deci/communes/{insee}/coverage", "/deci/check", "/communes/search", "/metrics", "/admin/harvest",
                              "/fonts/{fontstack}/{range}.pbf", "/styles/sprites/{sprite}"})
        EXPECT_TRUE(paths.count(other)) << other;
    // Each documented GET answers 200 (204 for an empty tile) once its path parameters are real values.
    for (const auto& p : d["paths"].GetObject()) {
        std::string path = p.name.GetString();
        if (!p.value.HasMember("get") || path.find("{recordId}") != std::string::npos) continue;  // no catalogue in this store
        if (path.find("{featureId}") != std::string::npos && path.find("/collections/pei/") != 0) continue;
        path = concrete(path);
        const int status = get(path).status;
        if (p.value["get"].HasMember("security")) {  // a credential is needed: the public is challenged
            EXPECT_EQ(status, 401) << path;
            continue;
        }
        EXPECT_TRUE(status == 200 || (status == 204 && path.find("/tiles/") != std::string::npos)) << path << ": " << status;
    }
    EXPECT_TRUE(d["paths"]["/admin/harvest"].HasMember("post"));
    EXPECT_TRUE(d["paths"]["/admin/harvest"]["post"].HasMember("security"));
    EXPECT_TRUE(d["paths"]["/metrics"]["get"].HasMember("security"));
    EXPECT_TRUE(d["paths"]["/whoami"]["get"].HasMember("security"));
    for (const char* scheme : {"bearer", "apiKeyHeader", "apiKeyQuery"})
        EXPECT_TRUE(d["components"]["securitySchemes"].HasMember(scheme)) << scheme;
    EXPECT_EQ(std::string(d["components"]["securitySchemes"]["apiKeyQuery"]["name"].GetString()), "apikey");
    // Each documented items parameter is accepted (none is "unknown").
    std::set<std::string> documented;
    for (const auto& p : d["paths"]["/collections/pei/items"]["get"]["parameters"].GetArray()) documented.insert(p["name"].GetString());
    for (const char* name : {"limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "filter", "filter-lang", "filter-crs",
                             "sortby", "properties", "f", "insee", "type_pei"})
        EXPECT_TRUE(documented.count(name)) << name;
}

TEST_F(FeaturesApiTest, EveryDocumentedQueryBoundAndEnumerationIsTheCheckedOne) {
    const auto d = parse_json(get("/api").body);
    int integers = 0, enumerations = 0;
    for (const auto& p : d["paths"].GetObject()) {
        const std::string documented = p.name.GetString();
        if (!p.value.HasMember("get") || documented.find("{recordId}") != std::string::npos) continue;
        const std::string target = concrete(documented);
        const std::string sep = target.find('?') == std::string::npos ? "?" : "&";
        for (const auto& param : p.value["get"]["parameters"].GetArray()) {
            const std::string name = param["name"].GetString(), in = param["in"].GetString();
            // The layer's fields filter the items (equals this value): their schema describes the data, not a check.
            if (in != "query" || std::string(param["description"].GetString()).rfind("equals this value", 0) == 0) continue;
            const auto& schema = param["schema"];
            const auto answer = [&](const std::string& value) { return get(target + sep + name + "=" + encode(value)); };
            auto refused = [&](const std::string& value) {
                const HttpResponse r = answer(value);
                EXPECT_EQ(r.status, 400) << documented << " " << name << "=" << value;
                EXPECT_EQ(description(r).rfind(name + ":", 0), 0u) << documented << " " << name << "=" << value << ": " << r.body;
            };
            if (std::string(schema["type"].GetString()) == "integer") {
                ++integers;
                const long long min = schema["minimum"].GetInt64();
                EXPECT_EQ(answer(std::to_string(min)).status, 200) << documented << " " << name << "=" << min;
                refused(std::to_string(min - 1));
                if (schema.HasMember("maximum")) {
                    const long long max = schema["maximum"].GetInt64();
                    EXPECT_EQ(answer(std::to_string(max)).status, 200) << documented << " " << name << "=" << max;
                    refused(std::to_string(max + 1));
                }
            }
            if (schema.HasMember("enum")) {
                ++enumerations;
                refused("not-" + std::string(schema["enum"][0].GetString()));
            }
        }
    }
    EXPECT_GE(integers, 8);  // items limit and offset per collection, catalogue, DCAT, commune search
    EXPECT_GE(enumerations, 8);
    EXPECT_TRUE(server_->alive());
}

TEST_F(FeaturesApiTest, CollectionsListTheirCrsAndStorageCrs) {
    const auto d = parse_json(get("/collections/pei").body);
    std::set<std::string> crs;
    for (const auto& c : d["crs"].GetArray()) crs.insert(c.GetString());
    for (const char* uri : {crs84, epsg4326, epsg2154, "http://www.opengis.net/def/crs/EPSG/0/3857",
                            "http://www.opengis.net/def/crs/EPSG/0/3942", "http://www.opengis.net/def/crs/EPSG/0/3950"})
        EXPECT_TRUE(crs.count(uri)) << uri;
    EXPECT_STREQ(d["storageCrs"].GetString(), crs84);
}

TEST_F(FeaturesApiTest, Epsg4326SwapsTheAxesAndEpsg2154EqualsTheLambertFields) {
    const auto base = fetch("/collections/pei/items?limit=300");
    const auto latlon = fetch("/collections/pei/items?limit=300&crs=" + encode(epsg4326));
    const auto l93 = fetch("/collections/pei/items?limit=300&crs=" + encode(epsg2154));
    ASSERT_EQ(base.size(), latlon.size());
    ASSERT_EQ(base.size(), l93.size());
    int compared = 0;
    for (std::size_t i = 0; i < base.size(); ++i) {
        ASSERT_EQ(base[i].id, latlon[i].id);
        if (!base[i].located) continue;
        EXPECT_DOUBLE_EQ(base[i].x, latlon[i].y);
        EXPECT_DOUBLE_EQ(base[i].y, latlon[i].x);
        ASSERT_TRUE(l93[i].number.count("x")) << l93[i].id;
        EXPECT_NEAR(l93[i].x, l93[i].number.at("x"), 0.02) << l93[i].id;
        EXPECT_NEAR(l93[i].y, l93[i].number.at("y"), 0.02) << l93[i].id;
        ++compared;
    }
    EXPECT_GT(compared, 250);
    const HttpResponse r = get("/collections/pei/items?limit=1&crs=" + encode(epsg2154));
    EXPECT_EQ(r.headers.at("content-crs"), std::string("<") + epsg2154 + ">");
    EXPECT_EQ(get("/collections/pei/items?limit=1").headers.at("content-crs"), std::string("<") + crs84 + ">");
    const HttpResponse one = get("/collections/pei/items/" + encode(base[0].id) + "?crs=EPSG:3946");
    EXPECT_EQ(one.status, 200);
    EXPECT_EQ(one.headers.at("content-crs"), "<http://www.opengis.net/def/crs/EPSG/0/3946>");
}

TEST_F(FeaturesApiTest, BboxCrsSelectsTheSameItemsInEveryCrs) {
    const double minx = 6.84, miny = 47.62, maxx = 6.9, maxy = 47.67;
    const auto expected = brute_force([&](const Item& i) { return i.located && i.x >= minx && i.x <= maxx && i.y >= miny && i.y <= maxy; });
    ASSERT_GT(expected.size(), 20u);
    char box[128];
    std::snprintf(box, sizeof box, "%.6f,%.6f,%.6f,%.6f", miny, minx, maxy, maxx);  // lat, lon for EPSG:4326
    EXPECT_EQ(ids(fetch(std::string("/collections/pei/items?bbox=") + box + "&bbox-crs=" + encode(epsg4326))), expected);
    // Lambert-93: a box around the Lambert fields of the expected items holds them all (and possibly a few more).
    double lminx = 1e12, lminy = 1e12, lmaxx = -1e12, lmaxy = -1e12;
    for (const auto& i : *all_pei_)
        if (std::find(expected.begin(), expected.end(), i.id) != expected.end()) {
            lminx = std::min(lminx, i.number.at("x"));
            lmaxx = std::max(lmaxx, i.number.at("x"));
            lminy = std::min(lminy, i.number.at("y"));
            lmaxy = std::max(lmaxy, i.number.at("y"));
        }
    std::snprintf(box, sizeof box, "%.2f,%.2f,%.2f,%.2f", lminx, lminy, lmaxx, lmaxy);
    const auto got = ids(fetch(std::string("/collections/pei/items?bbox=") + box + "&bbox-crs=EPSG:2154"));
    const auto brute_l93 = brute_force([&](const Item& i) {
        return i.number.count("x") && i.number.at("x") >= lminx - 0.01 && i.number.at("x") <= lmaxx + 0.01 &&
               i.number.at("y") >= lminy - 0.01 && i.number.at("y") <= lmaxy + 0.01;
    });
    // The box goes to CRS84 as the box around its edges: a superset of the exact selection.
    for (const auto& id : brute_l93) EXPECT_NE(std::find(got.begin(), got.end(), id), got.end()) << id;
}

TEST_F(FeaturesApiTest, Cql2FiltersEqualBruteForceOverEveryItem) {
    auto txt = [](const Item& i, const char* k) { return i.text.count(k) ? i.text.at(k) : std::string("\x01null"); };
    auto num = [](const Item& i, const char* k) { return i.number.count(k) ? std::optional<double>(i.number.at(k)) : std::nullopt; };
    auto in_triangle = [](double x, double y) {
        // (6.8 47.6) (6.95 47.6) (6.8 47.75): x - 6.8 + y - 47.6 < 0.15
        return x > 6.8 && y > 47.6 && (x - 6.8) + (y - 47.6) < 0.15;
    };
    const std::vector<std::pair<std::string, std::function<bool(const Item&)>>> cases{
        {"type_pei = 'PI'", [&](const Item& i) { return txt(i, "type_pei") == "PI"; }},
        {"type_pei <> 'PI'", [&](const Item& i) { return i.text.count("type_pei") && txt(i, "type_pei") != "PI"; }},
        {"debit >= 60 AND debit < 999", [&](const Item& i) { auto d = num(i, "debit"); return d && *d >= 60 && *d < 999; }},
        {"type_pei IN ('BI', 'CI') AND NOT (disponible = TRUE)",
         [&](const Item& i) { auto a = num(i, "disponible"); return (txt(i, "type_pei") == "BI" || txt(i, "type_pei") == "CI") && !(a && *a == 1); }},
        {"situation LIKE '%Rue%'", [&](const Item& i) { return txt(i, "situation").find("Rue") != std::string::npos; }},
        {"insee LIKE '9001_'", [&](const Item& i) { auto s = txt(i, "insee"); return s.size() == 5 && s.rfind("9001", 0) == 0; }},
        {"nom_etab IS NOT NULL", [&](const Item& i) { return i.text.count("nom_etab") > 0; }},
        {"debit BETWEEN 30 AND 120", [&](const Item& i) { auto d = num(i, "debit"); return d && *d >= 30 && *d <= 120; }},
        {"date_maj >= DATE('2025-01-01') OR diam_pei = 150",
         [&](const Item& i) { auto m = num(i, "diam_pei"); return (i.text.count("date_maj") && txt(i, "date_maj") >= "2025-01-01") || (m && *m == 150); }},
        {"S_INTERSECTS(geometry, BBOX(6.8, 47.6, 6.9, 47.7)) AND type_pei = 'PI'",
         [&](const Item& i) { return i.located && i.x >= 6.8 && i.x <= 6.9 && i.y >= 47.6 && i.y <= 47.7 && txt(i, "type_pei") == "PI"; }},
        {"S_INTERSECTS(geometry, POLYGON((6.8 47.6, 6.95 47.6, 6.8 47.75, 6.8 47.6)))",
         [&](const Item& i) { return i.located && in_triangle(i.x, i.y); }},
    };
    for (const auto& [filter, keep] : cases) {
        const auto expected = brute_force(keep);
        EXPECT_GT(expected.size(), 0u) << filter;
        EXPECT_LT(expected.size(), all_pei_->size()) << filter;
        EXPECT_EQ(ids(fetch("/collections/pei/items?limit=1000&filter-lang=cql2-text&filter=" + encode(filter))), expected) << filter;
    }
    // A point literal finds the feature at that exact position.
    const Item& some = all_pei_->at(7);
    char point[128];
    std::snprintf(point, sizeof point, "S_INTERSECTS(geometry, POINT(%.7f %.7f))", some.x, some.y);
    const auto at_point = ids(fetch("/collections/pei/items?filter=" + encode(point)));
    EXPECT_NE(std::find(at_point.begin(), at_point.end(), some.id), at_point.end());
}

TEST_F(FeaturesApiTest, FilterOnCommunePolygonsAgreesWithGdal) {
    const HttpResponse r = get("/collections/communes/items?limit=10000&filter=" +
                               encode("S_INTERSECTS(geometry, POLYGON((6.85 47.62, 6.9 47.62, 6.9 47.66, 6.85 47.66, 6.85 47.62)))"));
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    const auto d = parse_json(r.body);
    std::set<std::string> got;
    for (const auto& f : d["features"].GetArray()) got.insert(f["id"].GetString());
    // GDAL/GEOS on the full list, independently of the server's evaluation.
    const auto all = parse_json(get("/collections/communes/items?limit=10000").body);
    OGRGeometryH box = nullptr;
    char wkt[] = "POLYGON((6.85 47.62,6.9 47.62,6.9 47.66,6.85 47.66,6.85 47.62))";
    char* p = wkt;
    OGR_G_CreateFromWkt(&p, nullptr, &box);
    std::set<std::string> expected;
    for (const auto& f : all["features"].GetArray()) {
        rapidjson::StringBuffer buf;
        rapidjson::Writer<rapidjson::StringBuffer> w(buf);
        f["geometry"].Accept(w);
        OGRGeometryH g = OGR_G_CreateGeometryFromJson(buf.GetString());
        if (g && OGR_G_Intersects(g, box)) expected.insert(f["id"].GetString());
        if (g) OGR_G_DestroyGeometry(g);
    }
    OGR_G_DestroyGeometry(box);
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(got, expected);
}

TEST_F(FeaturesApiTest, SortbyOrdersByEachKeyInTurn) {
    const auto sorted = fetch("/collections/pei/items?limit=10000&sortby=" + encode("-debit,+id_sdis"));
    ASSERT_EQ(sorted.size(), all_pei_->size());
    for (std::size_t i = 1; i < sorted.size(); ++i) {
        const auto& a = sorted[i - 1];
        const auto& b = sorted[i];
        const bool na = !a.number.count("debit"), nb = !b.number.count("debit");
        if (na || nb) {
            EXPECT_TRUE(na && nb || !na) << "nulls come last: " << a.id << " " << b.id;
            continue;
        }
        EXPECT_GE(a.number.at("debit"), b.number.at("debit")) << a.id << " " << b.id;
        if (a.number.at("debit") == b.number.at("debit")) EXPECT_LE(a.text.at("id_sdis"), b.text.at("id_sdis"));
    }
}

TEST_F(FeaturesApiTest, PropertiesChoosesTheReturnedFields) {
    const auto d = parse_json(get("/collections/pei/items?limit=5&properties=insee,type_pei,ideo_source").body);
    for (const auto& f : d["features"].GetArray()) {
        std::set<std::string> keys;
        for (const auto& m : f["properties"].GetObject()) keys.insert(m.name.GetString());
        EXPECT_EQ(keys, (std::set<std::string>{"insee", "type_pei", "ideo_source"}));
        EXPECT_TRUE(f["geometry"].IsObject());
    }
}

TEST_F(FeaturesApiTest, DatetimeSelectsInstantsAndIntervalsOnTheDateField) {
    auto day = [](const Item& i) { return i.text.count("date_maj") ? i.text.at("date_maj") : std::string(); };
    const std::string instant = day(all_pei_->at(3));
    const std::vector<std::pair<std::string, std::function<bool(const Item&)>>> cases{
        {instant, [&](const Item& i) { return day(i) == instant; }},
        {instant + "T12:00:00Z", [&](const Item& i) { return day(i) == instant; }},
        {"2024-01-01/2024-06-30", [&](const Item& i) { return !day(i).empty() && day(i) >= "2024-01-01" && day(i) <= "2024-06-30"; }},
        {"../2023-06-30", [&](const Item& i) { return !day(i).empty() && day(i) <= "2023-06-30"; }},
        {"2025-09-01T00:00:00Z/..", [&](const Item& i) { return !day(i).empty() && day(i) >= "2025-09-01"; }},
    };
    for (const auto& [datetime, keep] : cases) {
        const auto expected = brute_force(keep);
        EXPECT_GT(expected.size(), 0u) << datetime;
        EXPECT_EQ(ids(fetch("/collections/pei/items?limit=1000&datetime=" + encode(datetime))), expected) << datetime;
    }
    const HttpResponse r = get("/collections/icpe/items?datetime=2024-01-01");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(description(r).rfind("datetime:", 0), 0u) << r.body;
}

TEST_F(FeaturesApiTest, QueryablesDescribeEveryFieldWithItsType) {
    const HttpResponse r = get("/collections/pei/queryables");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.at("content-type"), "application/schema+json");
    const auto d = parse_json(r.body);
    const auto& p = d["properties"];
    EXPECT_STREQ(p["type_pei"]["type"].GetString(), "string");
    EXPECT_STREQ(p["debit"]["type"].GetString(), "number");
    EXPECT_STREQ(p["diam_pei"]["type"].GetString(), "integer");
    EXPECT_STREQ(p["disponible"]["type"].GetString(), "boolean");
    EXPECT_STREQ(p["date_maj"]["format"].GetString(), "date");
    EXPECT_STREQ(p["geometry"]["format"].GetString(), "geometry-point");
    EXPECT_EQ(get("/collections/nothing/queryables").status, 404);
}

TEST_F(FeaturesApiTest, HtmlViewsForPeopleAreEscapedPages) {
    const HttpResponse items = get("/collections/pei/items?limit=20", {{"Accept", "text/html,application/xhtml+xml"}});
    ASSERT_EQ(items.status, 200);
    EXPECT_EQ(items.headers.at("content-type"), "text/html; charset=utf-8");
    EXPECT_NE(items.body.find("<table>"), std::string::npos);
    EXPECT_NE(items.body.find(all_pei_->front().id), std::string::npos);
    EXPECT_NE(items.body.find("rel=\"next\""), std::string::npos);
    EXPECT_EQ(items.body.find("<script"), std::string::npos);
    for (const std::string& target : std::vector<std::string>{"/?f=html", "/collections?f=html", "/collections/pei?f=html", "/conformance?f=html",
                                     "/collections/pei/items/" + encode(all_pei_->front().id) + "?f=html"}) {
        const HttpResponse r = get(target);
        EXPECT_EQ(r.status, 200) << target;
        EXPECT_EQ(r.body.rfind("<!DOCTYPE html>", 0), 0u) << target;
    }
    // An apostrophe in the data never reaches the page raw.
    const HttpResponse page = get("/collections/pei/items?limit=10000&f=html");
    EXPECT_EQ(page.body.find("L'"), std::string::npos);
    // JSON by default, even with */*.
    EXPECT_EQ(get("/collections/pei/items?limit=1", {{"Accept", "*/*"}}).headers.at("content-type"), "application/geo+json");
}

TEST_F(FeaturesApiTest, CsvHasAHeaderOneRowPerItemAndWktInTheAskedCrs) {
    const HttpResponse r = get("/collections/pei/items?limit=50&f=csv&properties=insee,x,y&crs=EPSG:2154");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.at("content-type"), "text/csv; charset=utf-8");
    std::vector<std::string> lines;
    for (std::size_t b = 0, e; b < r.body.size(); b = e + 2) {
        e = r.body.find("\r\n", b);
        lines.push_back(r.body.substr(b, e - b));
    }
    ASSERT_EQ(lines.size(), 51u);
    EXPECT_EQ(lines[0], "id,insee,x,y,wkt");
    int checked = 0;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        double x = 0, y = 0, wx = 0, wy = 0;
        char id[128], insee[16];
        if (std::sscanf(lines[i].c_str(), "%127[^,],%15[^,],%lf,%lf,POINT (%lf %lf)", id, insee, &x, &y, &wx, &wy) == 6) {
            EXPECT_NEAR(wx, x, 0.02) << lines[i];
            EXPECT_NEAR(wy, y, 0.02) << lines[i];
            ++checked;
        }
    }
    EXPECT_GT(checked, 40);
}

TEST_F(FeaturesApiTest, BadParametersAre400NamingTheParameterAndTheCql2Position) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"crs=EPSG:27572", "crs:"},
        {"bbox=1,2,3,4&bbox-crs=urn:nothing", "bbox-crs:"},
        {"filter-lang=cql2-json&filter=debit%3E1", "filter-lang:"},
        {"sortby=-nothing", "sortby:"},
        {"properties=insee,nothing", "properties:"},
        {"datetime=2024-02-31x", "datetime:"},
        {"datetime=2025-01-01/2024-01-01", "datetime:"},
        {"f=xml", "f:"},
        {"filter=" + encode("type_pei = 'PI' AND debit ="), "filter: at 28: expected a value after '='"},
        {"filter=" + encode("nothing = 1"), "filter: at 1: unknown property 'nothing'"},
        {"filter=" + encode(std::string(200, '(') + "debit > 1" + std::string(200, ')')), "filter: at 65:"},
    };
    for (const auto& [query, prefix] : cases) {
        const HttpResponse r = get("/collections/pei/items?" + query);
        EXPECT_EQ(r.status, 400) << query;
        EXPECT_EQ(description(r).rfind(prefix, 0), 0u) << query << " -> " << description(r);
    }
    EXPECT_TRUE(server_->alive());
}

TEST_F(FeaturesApiTest, GdalOapifDriverListsEveryCollectionAndPagesThroughEveryFeature) {
    GDALAllRegister();
    const std::string url = "OAPIF:http://127.0.0.1:" + std::to_string(server_->port());
    const char* options[] = {"PAGE_SIZE=500", nullptr};
    GDALDatasetH ds = GDALOpenEx(url.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, options, nullptr);
    ASSERT_NE(ds, nullptr) << CPLGetLastErrorMsg();
    const auto collections = parse_json(get("/collections").body);
    std::set<std::string> ours, gdal;
    for (const auto& c : collections["collections"].GetArray()) ours.insert(c["id"].GetString());
    for (int i = 0; i < GDALDatasetGetLayerCount(ds); ++i) gdal.insert(OGR_L_GetName(GDALDatasetGetLayer(ds, i)));
    EXPECT_EQ(gdal, ours);
    OGRLayerH pei = GDALDatasetGetLayerByName(ds, "pei");
    ASSERT_NE(pei, nullptr);
    std::set<std::string> seen;
    long long count = 0;
    OGR_L_ResetReading(pei);
    const int id_field = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(pei), "id");
    while (OGRFeatureH f = OGR_L_GetNextFeature(pei)) {
        ++count;
        if (id_field >= 0) seen.insert(OGR_F_GetFieldAsString(f, id_field));
        OGR_F_Destroy(f);
    }
    EXPECT_EQ(count, static_cast<long long>(all_pei_->size()));
    EXPECT_EQ(OGR_L_GetFeatureCount(pei, TRUE), static_cast<long long>(all_pei_->size()));
    GDALClose(ds);
}

TEST_F(FeaturesApiTest, OwslibReadsCollectionsItemsWithBboxAndCrsAndQueryables) {
    const auto in_box = brute_force([](const Item& i) { return i.located && i.x >= 6.84 && i.x <= 6.9 && i.y >= 47.62 && i.y <= 47.67; });
    const std::string command = "/usr/bin/python3 " + (source_dir() / "tests/py/owslib_client.py").string() + " http://127.0.0.1:" +
                                std::to_string(server_->port()) + " " + std::to_string(all_pei_->size()) + " " +
                                std::to_string(in_box.size()) + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string out;
    char buf[4096];
    while (const std::size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    const int status = pclose(pipe);
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("owslib: ok"), std::string::npos) << out;
}
