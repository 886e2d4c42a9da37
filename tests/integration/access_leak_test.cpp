// The leak crawler: the protected layers (captages, perimetres) imported with the real CLI from the ARS
// GeoPackage, then every public path read anonymously (collections, items paged to the end, items by id,
// queryables, tiles z0-z16 over every catchment decoded with GDAL's MVT driver, TileJSON, search, DCAT,
// extracts, coverage): no operator contact, no catchment identifier or point, no PPI polygon, compared
// against the GeoPackage read with GDAL. Then the tile cache: an ARS tile, then the same tile anonymously.
#include <gdal.h>
#include <gtest/gtest.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <rapidjson/document.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "ideo/catalog/parse.hpp"
#include "ideo/catalog/rules.hpp"
#include "ideo/cli/snapshot_loader.hpp"
#include "ideo/core/layer.hpp"
#include "ideo/server/server.hpp"
#include "ideo/store/store.hpp"
#include "ideo/tiles/tile.hpp"
#include "../../src/server/services.hpp"
#include "test_support.hpp"

using namespace ideo;
using namespace ideo::test;

namespace {

struct Reference {
    std::vector<std::string> contacts, codes;
    std::vector<std::pair<double, double>> points;  // catchments, lon/lat
    std::set<std::pair<long long, long long>> ppi_vertices;  // PPI rings, lon/lat at 1e-5 degrees
};

std::pair<long long, long long> key_of(double lon, double lat) { return {std::llround(lon * 1e5), std::llround(lat * 1e5)}; }

Reference read_reference() {
    GDALAllRegister();
    Reference ref;
    const std::string path = data("captages/captages-ars-21-90.gpkg").string();
    GDALDatasetH ds = GDALOpenEx(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, nullptr, nullptr);
    EXPECT_TRUE(ds) << path;
    if (!ds) return ref;
    OGRSpatialReferenceH wgs84 = OSRNewSpatialReference(nullptr);
    OSRImportFromEPSG(wgs84, 4326);
    OSRSetAxisMappingStrategy(wgs84, OAMS_TRADITIONAL_GIS_ORDER);
    for (const char* name : {"captage", "perimetre"}) {
        OGRLayerH layer = GDALDatasetGetLayerByName(ds, name);
        OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(OGR_L_GetSpatialRef(layer), wgs84);
        OGR_L_ResetReading(layer);
        while (OGRFeatureH f = OGR_L_GetNextFeature(layer)) {
            OGRGeometryH g = OGR_F_GetGeometryRef(f);
            OGR_G_Transform(g, ct);
            if (std::string(name) == "captage") {
                ref.contacts.emplace_back(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "contact_exploitant")));
                ref.codes.emplace_back(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "code_bss")));
                ref.points.emplace_back(OGR_G_GetX(g, 0), OGR_G_GetY(g, 0));
            } else if (std::string(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "type_perim"))) == "PPI") {
                OGRGeometryH poly = OGR_G_GetGeometryCount(g) > 0 && wkbFlatten(OGR_G_GetGeometryType(g)) == wkbMultiPolygon
                                        ? OGR_G_GetGeometryRef(g, 0) : g;
                OGRGeometryH ring = OGR_G_GetGeometryRef(poly, 0);
                for (int i = 0; i < OGR_G_GetPointCount(ring); ++i)
                    ref.ppi_vertices.insert(key_of(OGR_G_GetX(ring, i), OGR_G_GetY(ring, i)));
            }
            OGR_F_Destroy(f);
        }
        OCTDestroyCoordinateTransformation(ct);
    }
    OSRDestroySpatialReference(wgs84);
    GDALClose(ds);
    return ref;
}

class AccessLeak : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        const std::string store = (*dir_ / "s.gpkg").string();
        const std::string error = import_files(store, {{"communes", data("communes/communes-21-cote-d-or.geojson").string()},
                                                       {"communes", data("communes/communes-90-territoire-de-belfort.geojson").string()},
                                                       {"pei", data("deci/d_pei_cd90_p.zip").string()},
                                                       {"captages", data("captages/captages-ars-21-90.gpkg").string()},
                                                       {"perimetres", data("captages/captages-ars-21-90.gpkg").string()}});
        ASSERT_EQ(error, "");
        catalog_ = new LayerCatalog(load_layers(layers_dir()));
        auto s = store::open_store(store);
        snapshot_ = new std::shared_ptr<const index::Snapshot>(cli::load_snapshot(*s, *catalog_));
        ref_ = new Reference(read_reference());
    }
    static void TearDownTestSuite() {
        delete snapshot_;
        delete catalog_;
        delete ref_;
        delete dir_;
    }

    static server::Response get(const std::string& target, const access::Identity* who = nullptr,
                                server::Headers headers = {}) {
        headers.emplace_back("host", "localhost");
        return server::handle_request("GET", target, std::move(headers), "", snapshot_->get(), nullptr, who);
    }

    // No contact value and no catchment code anywhere in a body; counts what it read.
    void expect_clean(const std::string& what, const std::string& body) {
        for (const auto& c : ref_->contacts) ASSERT_EQ(body.find(c), std::string::npos) << what << " holds " << c;
        for (const auto& c : ref_->codes) ASSERT_EQ(body.find(c), std::string::npos) << what << " holds " << c;
        ++bodies_;
    }

    void expect_no_protected_position(const std::string& what, const rapidjson::Value& coords) {
        if (!coords.IsArray() || coords.Empty()) return;
        if (coords[0].IsNumber()) {
            const double lon = coords[0].GetDouble(), lat = coords[1].GetDouble();
            ASSERT_FALSE(ref_->ppi_vertices.count(key_of(lon, lat))) << what << ": a PPI vertex " << lon << "," << lat;
            for (const auto& [x, y] : ref_->points)
                ASSERT_FALSE(std::abs(x - lon) < 2e-5 && std::abs(y - lat) < 2e-5) << what << ": a catchment at " << lon << "," << lat;
            return;
        }
        for (const auto& c : coords.GetArray()) expect_no_protected_position(what, c);
    }

    static TempDir* dir_;
    static LayerCatalog* catalog_;
    static std::shared_ptr<const index::Snapshot>* snapshot_;
    static Reference* ref_;
    int bodies_ = 0;
};

TempDir* AccessLeak::dir_ = nullptr;
LayerCatalog* AccessLeak::catalog_ = nullptr;
std::shared_ptr<const index::Snapshot>* AccessLeak::snapshot_ = nullptr;
Reference* AccessLeak::ref_ = nullptr;

access::Identity role(access::Role r, std::vector<std::string> insee = {}) {
    access::Identity id;
    id.role = r;
    id.subject = "test";
    id.insee = std::move(insee);
    return id;
}

}  // namespace

TEST_F(AccessLeak, ReferenceIsTheShippedExport) {
    EXPECT_EQ(ref_->points.size(), 317u);
    EXPECT_EQ(ref_->contacts.size(), 317u);
    EXPECT_GT(ref_->ppi_vertices.size(), 317u);
    ASSERT_TRUE((*snapshot_)->layer("captages"));
    EXPECT_EQ((*snapshot_)->layer("captages")->features.size(), 317u);
    EXPECT_EQ((*snapshot_)->layer("perimetres")->features.size(), 787u);
}

TEST_F(AccessLeak, AnonymousItemsPagedToTheEnd) {
    for (const char* layer : {"captages", "perimetres"}) {
        std::string target = std::string("/collections/") + layer + "/items?limit=100";
        long features = 0, matched = -1;
        while (!target.empty()) {
            const auto res = get(target);
            ASSERT_EQ(res.status, 200) << target << res.body;
            expect_clean(target, res.body);
            rapidjson::Document d;
            d.Parse(res.body.c_str());
            matched = d["numberMatched"].GetInt64();
            for (const auto& f : d["features"].GetArray()) {
                ++features;
                if (f["geometry"].IsObject()) expect_no_protected_position(target, f["geometry"]["coordinates"]);
                const auto& p = f["properties"];
                if (p.HasMember("type_perim")) ASSERT_STRNE(p["type_perim"].GetString(), "PPI");
                ASSERT_FALSE(p.HasMember("contact_exploitant"));
                ASSERT_FALSE(p.HasMember("code_bss"));
            }
            target.clear();
            for (const auto& l : d["links"].GetArray())
                if (std::string(l["rel"].GetString()) == "next") target = l["href"].GetString();
            if (const auto pos = target.find("localhost"); pos != std::string::npos) target = target.substr(pos + 9);
        }
        EXPECT_EQ(features, matched) << layer;
        if (std::string(layer) == "perimetres") EXPECT_EQ(matched, 787 - 317);  // withheld PPI not counted
    }
    // Items by a catchment's id, filters and sortby on hidden fields: not found, unknown.
    EXPECT_EQ(get("/collections/captages/items/" + ref_->codes[0]).status, 404);
    EXPECT_EQ(get("/collections/captages/items?filter=contact_exploitant%20IS%20NOT%20NULL").status, 400);
    EXPECT_EQ(get("/collections/perimetres/items?sortby=code_bss").status, 400);
    const auto q = get("/collections/captages/queryables");
    EXPECT_EQ(q.body.find("contact_exploitant"), std::string::npos);
    EXPECT_EQ(q.body.find("code_bss"), std::string::npos);
}

TEST_F(AccessLeak, AnonymousTilesOverEveryCatchment) {
    GDALAllRegister();
    int tiles_read = 0, features_read = 0;
    for (const auto& [lon, lat] : ref_->points) {
        const double mx = lon * 20037508.342789244 / 180;
        const double my = std::log(std::tan((90 + lat) * M_PI / 360)) * 6378137;
        for (int z = 0; z <= 16; ++z) {
            const int n = 1 << z;
            const int x = static_cast<int>((lon + 180) / 360 * n);
            const int y = static_cast<int>((1 - std::asinh(std::tan(lat * M_PI / 180)) / M_PI) / 2 * n);
            const std::string target = "/tiles/captages,perimetres/" + std::to_string(z) + "/" + std::to_string(x) + "/" +
                                       std::to_string(y) + ".mvt";
            const auto res = get(target);
            ASSERT_TRUE(res.status == 200 || res.status == 204) << target << " " << res.status;
            if (res.status == 204) continue;
            ++tiles_read;
            expect_clean(target, res.body);
            VSIFCloseL(VSIFileFromMemBuffer("/vsimem/leak.mvt", reinterpret_cast<GByte*>(const_cast<char*>(res.body.data())),
                                            res.body.size(), FALSE));
            const std::string zs = "Z=" + std::to_string(z), xs = "X=" + std::to_string(x), ys = "Y=" + std::to_string(y);
            const char* options[] = {zs.c_str(), xs.c_str(), ys.c_str(), nullptr};
            const char* drivers[] = {"MVT", nullptr};
            GDALDatasetH ds = GDALOpenEx("/vsimem/leak.mvt", GDAL_OF_VECTOR, drivers, options, nullptr);
            ASSERT_TRUE(ds) << target;
            const double px = 40075016.686 / n / 4096;
            for (int i = 0; i < GDALDatasetGetLayerCount(ds); ++i) {
                OGRLayerH layer = GDALDatasetGetLayer(ds, i);
                const std::string lname = OGR_L_GetName(layer);
                OGR_L_ResetReading(layer);
                while (OGRFeatureH f = OGR_L_GetNextFeature(layer)) {
                    ++features_read;
                    OGRFeatureDefnH defn = OGR_F_GetDefnRef(f);
                    for (int k = 0; k < OGR_FD_GetFieldCount(defn); ++k) {
                        const std::string field = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, k));
                        ASSERT_NE(field, "contact_exploitant");
                        ASSERT_NE(field, "code_bss");
                        if (field == "type_perim") ASSERT_STRNE(OGR_F_GetFieldAsString(f, k), "PPI") << target;
                    }
                    OGRGeometryH g = OGR_F_GetGeometryRef(f);
                    if (lname == "captages" && z >= 12 && g && wkbFlatten(OGR_G_GetGeometryType(g)) == wkbPoint)
                        ASSERT_GT(std::hypot(OGR_G_GetX(g, 0) - mx, OGR_G_GetY(g, 0) - my), std::max(2.0, 2 * px)) << target;
                    OGR_F_Destroy(f);
                }
            }
            GDALClose(ds);
            VSIUnlink("/vsimem/leak.mvt");
        }
    }
    EXPECT_GT(tiles_read, 1000);
    EXPECT_GT(features_read, tiles_read);
    const auto tj = get("/tiles/captages.json");
    ASSERT_EQ(tj.status, 200);
    EXPECT_EQ(tj.body.find("contact_exploitant"), std::string::npos);
    EXPECT_NE(tj.body.find("nombre"), std::string::npos);
}

TEST_F(AccessLeak, AnonymousCatalogueExtractsCoverage) {
    for (const char* target : {"/collections", "/collections/captages", "/collections/perimetres", "/api", "/catalog/records",
                               "/catalog/dcat.jsonld", "/communes/search?q=Dijon", "/deci/communes/90010",
                               "/deci/communes/90010/coverage", "/tiles/captages,perimetres.json"}) {
        const auto res = get(target);
        EXPECT_LT(res.status, 500) << target << res.body.substr(0, 300);
        expect_clean(target, res.body);
    }
    // Extracts and the order: for members of the commune, its SDIS, the portal; the public is challenged.
    const auto anon = get("/deci/communes/90010/extract.csv");
    EXPECT_EQ(anon.status, 401);
    EXPECT_NE(anon.body.find("credential"), std::string::npos);
    bool challenged = false;
    for (const auto& [k, v] : anon.headers) challenged |= k == "WWW-Authenticate" && v.rfind("Bearer", 0) == 0;
    EXPECT_TRUE(challenged);
    const auto member = role(access::Role::Member, {"90010"});
    const auto own = get("/deci/communes/90010/extract.csv", &member);
    EXPECT_EQ(own.status, 200);
    bool no_store = false;
    for (const auto& [k, v] : own.headers) no_store |= k == "Cache-Control" && v.find("no-store") != std::string::npos;
    EXPECT_TRUE(no_store);
    EXPECT_EQ(get("/deci/communes/90011/extract.csv", &member).status, 403);
}

TEST_F(AccessLeak, MemberSeesItsOwnCatchmentsWithoutContactArsSeesAll) {
    const std::string insee = "21007";  // the commune of the first catchment of the export
    const auto member = role(access::Role::Member, {insee});
    const auto res = get("/collections/captages/items?limit=1000&insee=" + insee, &member);
    ASSERT_EQ(res.status, 200);
    EXPECT_NE(res.body.find(ref_->codes[0]), std::string::npos);
    EXPECT_EQ(res.body.find(ref_->contacts[0]), std::string::npos);
    bool priv = false;
    for (const auto& [k, v] : res.headers) priv |= k == "Cache-Control" && v.rfind("private", 0) == 0;
    EXPECT_TRUE(priv);
    const auto ars = role(access::Role::Ars);
    const auto all = get("/collections/captages/items/" + ref_->codes[0], &ars);
    ASSERT_EQ(all.status, 200);
    EXPECT_NE(all.body.find(ref_->contacts[0]), std::string::npos);
}

TEST_F(AccessLeak, TileCachedForArsNeverReachesThePublic) {
    const auto& [lon, lat] = ref_->points[0];
    const int z = 14, n = 1 << z;
    const int x = static_cast<int>((lon + 180) / 360 * n);
    const int y = static_cast<int>((1 - std::asinh(std::tan(lat * M_PI / 180)) / M_PI) / 2 * n);
    const std::string target = "/tiles/captages/" + std::to_string(z) + "/" + std::to_string(x) + "/" + std::to_string(y) + ".mvt";
    const auto ars = role(access::Role::Ars);
    const auto a = get(target, &ars);
    ASSERT_EQ(a.status, 200);
    EXPECT_NE(a.body.find(ref_->codes[0]), std::string::npos);  // the ARS tile holds the catchment
    const auto p = get(target);
    ASSERT_TRUE(p.status == 200 || p.status == 204);
    expect_clean("public " + target, p.body);
    auto etag = [](const server::Response& r) {
        for (const auto& [k, v] : r.headers)
            if (k == "ETag") return v;
        return std::string();
    };
    EXPECT_FALSE(etag(a).empty());
    EXPECT_NE(etag(a), etag(p));
    // The ARS's ETag does not revalidate the public's copy.
    EXPECT_NE(get(target, nullptr, {{"if-none-match", etag(a)}}).status, 304);
}

TEST_F(AccessLeak, OpenApiSaysWhichPathsNeedARole) {
    const auto res = get("/api");
    ASSERT_EQ(res.status, 200);
    EXPECT_NE(res.body.find("the commune's PEI, ERP and ICPE as a file (needs a credential: member (own territory), sdis (own "
                            "territory), admin)"),
              std::string::npos);
    EXPECT_EQ(res.body.find("contact_exploitant"), std::string::npos);  // hidden fields are no item parameters
}

// Issue 14, the catalogue: a deployment that hides the catchments from the public altogether (discover: ARS and
// the portal, challenged). Through the store and the snapshot loader: DataSud's recorded CKAN answer and an ARS
// record that the "feeds" rules link to captages are harvested into a copy of this suite's store; the public's
// search, facets, DCAT-AP and record by id know nothing of the ARS record, the ARS reads it.
TEST_F(AccessLeak, CatalogueRecordsOfALayerHiddenFromThePublicAreNotSearchedCountedNorExported) {
    const std::string store_path = (*dir_ / "hidden.gpkg").string();
    std::filesystem::copy_file(*dir_ / "s.gpkg", store_path);
    auto rules = catalog::load_catalog_rules(layers_dir() / "catalog" / "themes.json");
    rules.feeds.push_back({"captages", {"captage", "captages"}, {"GeoPackage"}});
    store::CatalogUpdate datasud, ars;
    for (auto& r : catalog::parse_ckan(read_file(data("catalog/ckan/datasud_package_search.json"))).records) {
        r.partner = "datasud";
        r.id = "datasud:" + r.remote_id;
        catalog::classify(r, rules);
        datasud.upserts.push_back(std::move(r));
    }
    catalog::Record rec = datasud.upserts.front();
    rec.partner = "ars";
    rec.remote_id = "captages-21-90";
    rec.id = "ars:captages-21-90";
    rec.title = "Captages d'eau potable de Côte-d'Or et du Territoire de Belfort";
    rec.publisher = "ARS Bourgogne-Franche-Comté";
    rec.keywords = {"Captages", "Eau potable"};
    rec.distributions = {catalog::Distribution{"https://ars.example/export-captages-protege.gpkg", "Export", "GeoPackage", "download", ""}};
    catalog::classify(rec, rules);
    ASSERT_EQ(rec.feeds_layer, "captages");
    ars.upserts.push_back(rec);
    {
        auto s = store::open_store(store_path);
        ASSERT_TRUE(s->update_catalog("datasud", datasud, "{}"));
        ASSERT_TRUE(s->update_catalog("ars", ars, "{}"));
    }
    LayerCatalog hidden = *catalog_;
    for (auto& spec : hidden.layers)
        if (spec.id == "captages") {
            spec.access.discover = {AccessGrant{access::Role::Ars, false}, AccessGrant{access::Role::Admin, false}};
            spec.access.challenge = true;
        }
    auto s = store::open_store(store_path);
    const auto snapshot = cli::load_snapshot(*s, hidden);
    const auto as = [&](const std::string& target, const access::Identity* who) {
        return server::handle_request("GET", target, {{"host", "localhost"}}, "", snapshot.get(), nullptr,
                                      who ? who : &access::anonymous());
    };
    const auto ars_key = role(access::Role::Ars);
    const auto member = role(access::Role::Member, {"21007"});
    for (const std::string target : {"/catalog/records?q=captages%20eau%20potable", "/catalog/records?limit=1000",
                                     "/catalog/records?publisher=ARS%20Bourgogne-Franche-Comt%C3%A9", "/catalog/dcat.jsonld?page_size=1000"}) {
        for (const access::Identity* who : {static_cast<const access::Identity*>(nullptr), &member}) {
            const auto res = as(target, who);
            ASSERT_EQ(res.status, 200) << target;
            EXPECT_EQ(res.body.find("ars:captages-21-90"), std::string::npos) << target;
            EXPECT_EQ(res.body.find("export-captages-protege"), std::string::npos) << target;
            EXPECT_EQ(res.body.find("ARS Bourgogne"), std::string::npos) << target;
        }
        const auto all = as(target, &ars_key);
        ASSERT_EQ(all.status, 200) << target;
        EXPECT_NE(all.body.find("export-captages-protege"), std::string::npos) << target;
    }
    const auto listed = as("/catalog/records?limit=1", nullptr);
    EXPECT_NE(listed.body.find("\"numberMatched\":" + std::to_string(datasud.upserts.size()) + ","), std::string::npos)
        << listed.body.substr(0, 200);
    EXPECT_EQ(as("/catalog/records/ars:captages-21-90", nullptr).status, 401);
    EXPECT_EQ(as("/catalog/records/ars:captages-21-90", &member).status, 401);
    EXPECT_EQ(as("/catalog/records/ars:captages-21-90", &ars_key).status, 200);
    EXPECT_EQ(as("/collections/captages", nullptr).status, 401);  // the same decision as the layer's
}
