// `ideo serve` end to end over loopback: a store imported with the real CLI from the Territoire
// de Belfort corpus, then the OGC API Features and the DECI extract checked against the store.
#include <gdal.h>
#include <gtest/gtest.h>

#include <regex>
#include <ogr_api.h>
#include <rapidjson/document.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <algorithm>

#include "ideo/core/layer.hpp"
#include "ideo/core/gzip.hpp"
#include "test_support.hpp"

using namespace ideo;
using namespace ideo::test;

namespace {

struct Item {
    std::string id;
    std::string insee;
    std::optional<std::pair<double, double>> point;  // lon/lat when the feature is a located point
    bool located = false;
};

rapidjson::Document parse_json(const std::string& body) {
    rapidjson::Document d;
    d.Parse(body.c_str(), body.size());
    EXPECT_FALSE(d.HasParseError()) << body.substr(0, 300);
    return d;
}

// "http://host:port/collections/..." -> "/collections/...": the test client talks to its own port.
std::string target_of(const std::string& href) {
    const auto scheme = href.find("://");
    if (scheme == std::string::npos) return href;
    const auto slash = href.find('/', scheme + 3);
    return slash == std::string::npos ? "/" : href.substr(slash);
}

std::string description_of(const HttpResponse& r) {
    const auto d = parse_json(r.body);
    return d.IsObject() && d.HasMember("description") && d["description"].IsString() ? d["description"].GetString() : "";
}

// GDAL's own count of a layer's features in the GeoPackage, independent of the server.
long long gpkg_count(const std::string& gpkg, const char* layer) {
    GDALAllRegister();
    GDALDatasetH ds = GDALOpenEx(gpkg.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, nullptr, nullptr);
    if (!ds) return -1;
    OGRLayerH l = GDALDatasetGetLayerByName(ds, layer);
    const long long n = l ? OGR_L_GetFeatureCount(l, TRUE) : -1;
    GDALClose(ds);
    return n;
}

}  // namespace

class ServerTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        store_dir_ = new TempDir();
        store_ = (store_dir_->path() / "ideo.gpkg").string();
        const std::vector<std::pair<std::string, std::string>> imports{
            {"communes", data("communes/communes-90-territoire-de-belfort.geojson").string()},
            {"pei", data("deci/d_pei_cd90_p.zip").string()},
            {"erp", data("deci/erp-90-prefecture.csv").string()},
            {"icpe", data("icpe/ign_installation.csv").string()},
        };
        setup_error_ = import_files(store_, imports);
        if (!setup_error_.empty()) return;
        try {
            downloader_ = admin_authorization(store_);  // extracts are for who may download them
            server_ = new ServerProcess({"--store", store_}, {{"IDEO_METRICS_TOKEN", kMetricsToken}});
        } catch (const std::exception& e) {
            setup_error_ = e.what();
        }
    }
    static constexpr const char* kMetricsToken = "metrics-s3cret";

    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
        delete store_dir_;
        store_dir_ = nullptr;
    }

    void SetUp() override {
        if (!setup_error_.empty()) FAIL() << setup_error_;
    }

    static HttpResponse get(const std::string& target) { return http_get(server_->port(), target); }

    // Every item of a query, following "next" links; checks the paging invariants on the way.
    static std::vector<Item> all_items(const std::string& first_target, long long* number_matched = nullptr) {
        std::vector<Item> items;
        std::string target = first_target;
        long long matched = -1;
        for (int page = 0; page < 10000 && !target.empty(); ++page) {
            const HttpResponse r = get(target);
            EXPECT_EQ(r.status, 200) << target << ": " << r.body.substr(0, 300);
            if (r.status != 200) break;
            EXPECT_EQ(r.headers.at("content-type"), "application/geo+json");
            const auto d = parse_json(r.body);
            if (matched < 0) matched = d["numberMatched"].GetInt64();
            EXPECT_EQ(d["numberMatched"].GetInt64(), matched) << "numberMatched changed while paging";
            const auto& features = d["features"].GetArray();
            EXPECT_EQ(static_cast<long long>(features.Size()), d["numberReturned"].GetInt64());
            for (const auto& f : features) {
                Item it;
                it.id = f["id"].GetString();
                const auto& props = f["properties"];
                if (props.HasMember("insee") && props["insee"].IsString()) it.insee = props["insee"].GetString();
                const auto& g = f["geometry"];
                it.located = g.IsObject();
                if (it.located && std::string(g["type"].GetString()) == "Point")
                    it.point = std::make_pair(g["coordinates"][0].GetDouble(), g["coordinates"][1].GetDouble());
                items.push_back(std::move(it));
            }
            target.clear();
            for (const auto& link : d["links"].GetArray())
                if (std::string(link["rel"].GetString()) == "next") target = target_of(link["href"].GetString());
        }
        EXPECT_EQ(static_cast<long long>(items.size()), matched) << first_target;
        if (number_matched) *number_matched = matched;
        return items;
    }

    static std::set<std::string> ids(const std::vector<Item>& items) {
        std::set<std::string> s;
        for (const auto& i : items) s.insert(i.id);
        return s;
    }

    static inline TempDir* store_dir_ = nullptr;
    static inline std::string store_;
    static inline ServerProcess* server_ = nullptr;
    static inline std::map<std::string, std::string> downloader_;
    static inline std::string setup_error_;
};

TEST_F(ServerTest, HealthReportsThePublishedCountsWithTheCommonHeaders) {
    const HttpResponse r = get("/health");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.at("server"), "ideo");
    EXPECT_EQ(r.headers.at("access-control-allow-origin"), "*");
    EXPECT_EQ(std::stoul(r.headers.at("content-length")), r.body.size());
    const auto d = parse_json(r.body);
    EXPECT_STREQ(d["status"].GetString(), "ok");
    EXPECT_GT(d["layers"]["pei"].GetInt64(), 0);
}

TEST_F(ServerTest, ItemsPagedToTheEndEqualNumberMatchedAndThePublishedCount) {
    const auto health = parse_json(get("/health").body);
    for (const char* layer : {"pei", "erp", "icpe"}) {
        long long matched = -1;
        const auto items = all_items(std::string("/collections/") + layer + "/items?limit=1000", &matched);
        EXPECT_EQ(ids(items).size(), items.size()) << layer << ": an item was served twice";
        EXPECT_EQ(matched, health["layers"][layer].GetInt64()) << layer;
        EXPECT_EQ(matched, gpkg_count(store_, layer)) << layer << ": the store holds another count";
    }
}

TEST_F(ServerTest, CollectionsListTheLayersWithExtentAndLinks) {
    const HttpResponse r = get("/collections");
    ASSERT_EQ(r.status, 200);
    const auto d = parse_json(r.body);
    std::set<std::string> seen;
    for (const auto& c : d["collections"].GetArray()) {
        seen.insert(c["id"].GetString());
        EXPECT_STREQ(c["itemType"].GetString(), "feature");
        EXPECT_TRUE(c["links"].IsArray());
    }
    for (const char* layer : {"pei", "erp", "icpe"}) EXPECT_TRUE(seen.count(layer)) << layer;
    const auto pei = parse_json(get("/collections/pei").body);
    const auto& bbox = pei["extent"]["spatial"]["bbox"][0];
    EXPECT_LT(bbox[0].GetDouble(), bbox[2].GetDouble());
    EXPECT_NEAR(bbox[0].GetDouble(), 6.9, 0.5);  // Territoire de Belfort
    EXPECT_NEAR(bbox[1].GetDouble(), 47.6, 0.5);
}

TEST_F(ServerTest, BboxReturnsTheSameFeaturesAsABruteForceFilter) {
    const double minx = 6.82, miny = 47.62, maxx = 6.90, maxy = 47.66;  // around Belfort
    const auto all = all_items("/collections/pei/items?limit=1000");
    const auto inside = all_items("/collections/pei/items?limit=1000&bbox=6.82,47.62,6.90,47.66");
    ASSERT_FALSE(inside.empty());
    constexpr double eps = 1e-6;  // coordinates are served with 7 decimals
    auto near_edge = [&](const std::pair<double, double>& p) {
        return std::abs(p.first - minx) < eps || std::abs(p.first - maxx) < eps || std::abs(p.second - miny) < eps ||
               std::abs(p.second - maxy) < eps;
    };
    std::set<std::string> expected;
    std::map<std::string, std::pair<double, double>> where;
    for (const auto& i : all) {
        if (!i.point) continue;
        where[i.id] = *i.point;
        const auto [x, y] = *i.point;
        if (x >= minx && x <= maxx && y >= miny && y <= maxy) expected.insert(i.id);
    }
    for (const auto& i : inside) {
        ASSERT_TRUE(i.point) << i.id << " has no point but matched a bbox";
        const auto [x, y] = *i.point;
        EXPECT_TRUE((x >= minx - eps && x <= maxx + eps && y >= miny - eps && y <= maxy + eps)) << i.id;
    }
    const auto got = ids(inside);
    for (const auto& id : expected)
        if (!got.count(id)) EXPECT_TRUE(near_edge(where[id])) << id << " is inside the bbox but was not served";
    for (const auto& id : got)
        if (!expected.count(id)) EXPECT_TRUE(where.count(id) && near_edge(where[id])) << id << " was served but is outside";
}

TEST_F(ServerTest, PropertyFilterInseeReturnsOnlyThatCommune) {
    const auto all = all_items("/collections/pei/items?limit=1000");
    std::size_t expected = 0;
    for (const auto& i : all) expected += i.insee == "90010";
    const auto belfort = all_items("/collections/pei/items?insee=90010&limit=1000");
    ASSERT_FALSE(belfort.empty());
    EXPECT_EQ(belfort.size(), expected);
    for (const auto& i : belfort) EXPECT_EQ(i.insee, "90010") << i.id;
}

TEST_F(ServerTest, ItemByIdIsOneFeatureAndAnUnknownIdIs404) {
    const auto page = parse_json(get("/collections/pei/items?limit=1").body);
    const std::string id = page["features"][0]["id"].GetString();
    std::string encoded;
    for (const unsigned char c : id) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            encoded += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            encoded += buf;
        }
    }
    const HttpResponse one = get("/collections/pei/items/" + encoded);
    ASSERT_EQ(one.status, 200) << one.body;
    const auto f = parse_json(one.body);
    EXPECT_STREQ(f["type"].GetString(), "Feature");
    EXPECT_EQ(f["id"].GetString(), id);

    const HttpResponse none = get("/collections/pei/items/no-such-pei-0000");
    EXPECT_EQ(none.status, 404);
    EXPECT_NE(description_of(none).find("no-such-pei-0000"), std::string::npos);
}

TEST_F(ServerTest, XlsxExtractHoldsExactlyTheRecordsOfTheCommune) {
    const HttpResponse r = http_get(server_->port(), "/deci/communes/90010/extract.xlsx", downloader_);
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    EXPECT_EQ(r.headers.at("content-type"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    EXPECT_NE(r.headers.at("content-disposition").find("filename=\"DECI_90010_Belfort_"), std::string::npos)
        << r.headers.at("content-disposition");

    TempDir tmp;
    const std::string path = (tmp / "extract.xlsx").string();
    std::ofstream(path, std::ios::binary) << r.body;

    GDALAllRegister();
    const char* options[] = {"HEADERS=FORCE", "FIELD_TYPES=STRING", nullptr};
    GDALDatasetH ds = GDALOpenEx(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, options, nullptr);
    ASSERT_NE(ds, nullptr) << "GDAL cannot open the extract";
    std::unique_ptr<void, void (*)(void*)> close(ds, [](void* d) { GDALClose(d); });
    EXPECT_STREQ(OGR_L_GetName(GDALDatasetGetLayer(ds, 0)), "Synthèse");

    const LayerCatalog catalog = load_layers(layers_dir());
    const std::pair<const char*, const char*> sheets[] = {{"pei", "PEI"}, {"erp", "ERP"}, {"icpe", "ICPE"}};
    for (const auto& [layer, sheet] : sheets) {
        OGRLayerH l = GDALDatasetGetLayerByName(ds, sheet);
        ASSERT_NE(l, nullptr) << "no sheet " << sheet;
        const LayerSpec& spec = catalog.get(layer);
        const std::string id_title = spec.fields[spec.field_index(spec.id_field)].title;
        const int col = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(l), id_title.c_str());
        ASSERT_GE(col, 0) << sheet << " has no column '" << id_title << "'";

        std::multiset<std::string> in_sheet;
        OGR_L_ResetReading(l);
        while (OGRFeatureH f = OGR_L_GetNextFeature(l)) {
            in_sheet.insert(OGR_F_GetFieldAsString(f, col));
            OGR_F_Destroy(f);
        }
        const auto api = all_items(std::string("/collections/") + layer + "/items?insee=90010&limit=1000");
        std::multiset<std::string> expected;
        std::size_t unlocated = 0;
        for (const auto& i : api) {
            expected.insert(i.id);
            unlocated += !i.located;
        }
        EXPECT_EQ(in_sheet, expected) << sheet;
        if (std::string(layer) == "erp") EXPECT_GT(unlocated, 0u) << "Belfort's ERP without coordinates belong in the extract";
    }
}

TEST_F(ServerTest, MalformedRequestsGetTheRight4xxAndTheServerKeepsServing) {
    HttpResponse r = get("/collections/pei/items?bbox=1,2,3");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(description_of(r).find("bbox"), std::string::npos) << r.body;

    r = get("/collections/pei/items?limit=-1");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(description_of(r).find("limit"), std::string::npos) << r.body;

    r = get("/collections/no-such-layer/items");
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(description_of(r).find("no-such-layer"), std::string::npos) << r.body;

    r = get("/collections/pei/items?colour=red");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(description_of(r).find("colour"), std::string::npos) << r.body;

    r = http_get(server_->port(), "/deci/communes/99999/extract.xlsx", downloader_);
    EXPECT_EQ(r.status, 404) << r.body;

    r = http_get(server_->port(), "/deci/communes/90010/extract.pdf", downloader_);
    EXPECT_TRUE(r.status == 400 || r.status == 404) << r.status;
    EXPECT_NE(description_of(r).find("pdf"), std::string::npos) << r.body;

    r = get("/collections/pei/items?q=" + std::string(100 * 1024, 'x'));
    EXPECT_TRUE(r.status == 414 || r.status == 431) << r.status;

    r = get("/nowhere");
    EXPECT_EQ(r.status, 404);

    EXPECT_TRUE(server_->alive());
    EXPECT_EQ(get("/health").status, 200);
}

TEST_F(ServerTest, TileLayerListsRefuseARepeatedLayerAndMoreLayersThanDocumented) {
    // A layer given twice is a 400 naming it, in tiles and TileJSON alike.
    for (const std::string target : {"/tiles/pei,pei/12/2124/1440.mvt", "/tiles/erp,pei,communes,pei.json"}) {
        const HttpResponse r = get(target);
        EXPECT_EQ(r.status, 400) << target << ": " << r.body;
        EXPECT_EQ(description_of(r).rfind("layers: 'pei' is given twice", 0), 0u) << target << ": " << r.body;
    }
    // The same layers once each are served.
    const int distinct = get("/tiles/erp,pei,communes,icpe/12/2124/1440.mvt").status;
    EXPECT_TRUE(distinct == 200 || distinct == 204) << distinct;
    EXPECT_EQ(get("/tiles/erp,pei,communes,icpe.json").status, 200);

    // The cap is the one /api documents: one more is a 400, while a list at the cap is read name by name.
    const auto api = parse_json(get("/api").body);
    long long cap = -1;
    for (const std::string path : {"/tiles/{layers}/{z}/{x}/{y}.mvt", "/tiles/{layers}.json"})
        for (const auto& p : api["paths"][path.c_str()]["get"]["parameters"].GetArray())
            if (std::string(p["name"].GetString()) == "layers") {
                EXPECT_TRUE(p["schema"]["uniqueItems"].GetBool()) << path;
                EXPECT_TRUE(cap < 0 || cap == p["schema"]["maxItems"].GetInt64()) << path;
                cap = p["schema"]["maxItems"].GetInt64();
            }
    ASSERT_GE(cap, 4);
    auto names = [](long long n) {
        std::string list = "pei";
        for (long long i = 1; i < n; ++i) list += ",layer" + std::to_string(i);
        return list;
    };
    for (const std::string suffix : {"/12/2124/1440.mvt", ".json"}) {
        HttpResponse r = get("/tiles/" + names(cap + 1) + suffix);
        EXPECT_EQ(r.status, 400) << suffix << ": " << r.body;
        EXPECT_EQ(description_of(r).rfind("layers: at most " + std::to_string(cap) + " values", 0), 0u) << r.body;
        r = get("/tiles/" + names(cap) + suffix);
        EXPECT_EQ(r.status, 404) << suffix << ": " << r.body;  // layer1 does not exist
        EXPECT_NE(description_of(r).find("'layer1'"), std::string::npos) << r.body;
    }
    const HttpResponse unknown = get("/tiles/pei,hydrants/12/2124/1440.mvt");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_NE(description_of(unknown).find("'hydrants'"), std::string::npos) << unknown.body;
    EXPECT_TRUE(server_->alive());
}

TEST_F(ServerTest, ItemsCarryTheSnapshotEtagAndAnswer304WhenItMatches) {
    const auto first = get("/collections/pei/items?limit=5");
    ASSERT_EQ(first.status, 200);
    ASSERT_TRUE(first.headers.count("etag"));
    EXPECT_TRUE(first.headers.count("cache-control"));
    const auto again = http_get(server_->port(), "/collections/pei/items?limit=5", {{"If-None-Match", first.headers.at("etag")}});
    EXPECT_EQ(again.status, 304);
    EXPECT_TRUE(again.body.empty());
    const auto other = http_get(server_->port(), "/collections/pei/items?limit=5", {{"If-None-Match", "\"v0\""}});
    EXPECT_EQ(other.status, 200);
}

TEST_F(ServerTest, ResponsesAreGzippedWhenTheClientAcceptsIt) {
    const auto plain = get("/collections/pei/items?limit=50");
    const auto zipped = http_get(server_->port(), "/collections/pei/items?limit=50", {{"Accept-Encoding", "gzip, br"}});
    ASSERT_EQ(zipped.status, 200);
    EXPECT_EQ(zipped.headers.at("content-encoding"), "gzip");
    EXPECT_LT(zipped.body.size(), plain.body.size());
    const std::regex stamp(R"("timeStamp":"[^"]*")");  // the only part that may change between two requests
    EXPECT_EQ(std::regex_replace(ideo::gzip_decompress(zipped.body, 64 << 20), stamp, ""),
              std::regex_replace(plain.body, stamp, ""));
}

// Samples of /metrics as the Prometheus project's own parser reads them: "name{k=v,...}" -> value.
std::map<std::string, double> scrape(unsigned short port, const std::string& token) {
    const std::string command = "/usr/bin/python3 " + (source_dir() / "tests/py/prometheus_client_parse.py").string() +
                                " http://127.0.0.1:" + std::to_string(port) + "/metrics " + token + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    std::string out;
    char buf[4096];
    while (const std::size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    EXPECT_EQ(pclose(pipe), 0) << out;
    std::map<std::string, double> samples;
    const auto d = parse_json(out);
    if (!d.IsArray()) return samples;
    for (const auto& s : d.GetArray()) {
        std::string key = s[0].GetString();
        std::vector<std::string> labels;
        for (const auto& m : s[1].GetObject()) labels.push_back(std::string(m.name.GetString()) + "=" + m.value.GetString());
        std::sort(labels.begin(), labels.end());  // the parser's label order is not ours to rely on
        if (!labels.empty()) {
            key += '{';
            for (std::size_t i = 0; i < labels.size(); ++i) key += (i ? "," : "") + labels[i];
            key += '}';
        }
        samples[key] = s[2].GetDouble();
    }
    return samples;
}

TEST_F(ServerTest, MetricsCountRequestsByEndpointAndStatusInThePrometheusFormat) {
    for (int i = 0; i < 5; ++i) ASSERT_EQ(get("/collections/pei/items?limit=1").status, 200);
    ASSERT_EQ(get("/collections/nope/items").status, 404);
    ASSERT_EQ(get("/collections/pei/items?limit=-1").status, 400);
    // Default deny: the public gets a challenge, a wrong token is refused, the metrics token reads them.
    const HttpResponse anonymous = get("/metrics");
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_EQ(anonymous.headers.at("www-authenticate"), "Bearer realm=\"ideo\"");
    EXPECT_EQ(http_get(server_->port(), "/metrics", {{"Authorization", "Bearer wrong"}}).status, 401);
    const HttpResponse raw = http_get(server_->port(), "/metrics", {{"Authorization", std::string("Bearer ") + kMetricsToken}});
    ASSERT_EQ(raw.status, 200);
    EXPECT_EQ(raw.headers.at("content-type"), "text/plain; version=0.0.4; charset=utf-8");

    const auto m = scrape(server_->port(), kMetricsToken);
    EXPECT_EQ(m.at("ideo_http_requests_total{code=2xx,endpoint=items}"), 5);
    EXPECT_EQ(m.at("ideo_http_requests_total{code=4xx,endpoint=items}"), 2);
    // The histogram: cumulative buckets that end at the count of every request of the endpoint.
    EXPECT_EQ(m.at("ideo_http_request_duration_seconds_count{endpoint=items}"), 7);
    EXPECT_EQ(m.at("ideo_http_request_duration_seconds_bucket{endpoint=items,le=+Inf}"), 7);
    const std::string bucket = "ideo_http_request_duration_seconds_bucket{endpoint=items,le=";
    std::vector<std::pair<double, double>> buckets;  // (upper bound, cumulative count)
    for (const auto& [key, value] : m)
        if (key.rfind(bucket, 0) == 0) buckets.emplace_back(std::stod(key.substr(bucket.size())), value);  // "+Inf" reads as inf
    std::sort(buckets.begin(), buckets.end());
    ASSERT_GT(buckets.size(), 2u);
    for (std::size_t i = 1; i < buckets.size(); ++i) EXPECT_LE(buckets[i - 1].second, buckets[i].second) << buckets[i].first;
    EXPECT_GT(m.at("ideo_http_request_duration_seconds_sum{endpoint=items}"), 0);
    EXPECT_GT(m.at("ideo_http_response_bytes_total{endpoint=items}"), 0);
    // Gauges of the served snapshot agree with /health.
    const auto health = parse_json(get("/health").body);
    EXPECT_EQ(m.at("ideo_snapshot_version"), health["snapshot_version"].GetInt64());
    for (const char* layer : {"pei", "erp", "icpe", "communes"})
        EXPECT_EQ(m.at(std::string("ideo_layer_features{layer=") + layer + "}"), health["layers"][layer].GetInt64()) << layer;
    EXPECT_EQ(m.count("ideo_harvest_runs_total{outcome=ok}"), 1u) << "ideo serve adds its background harvester's counters";
}

