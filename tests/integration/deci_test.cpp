// DECI end to end: coverage on the Marseille 10e road fixture (straight and along the real roads),
// the planned-building check, extracts in every format checked against the partner files read
// independently with OGR, and the municipal order converted to PDF by LibreOffice.
#include <ctime>
#include <gdal.h>
#include <gtest/gtest.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <cpl_string.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "test_support.hpp"

using namespace ideo::test;

namespace {

rapidjson::Document parse_json(const std::string& body) {
    rapidjson::Document d;
    d.Parse(body.c_str(), body.size());
    EXPECT_FALSE(d.HasParseError()) << body.substr(0, 300);
    return d;
}

// The manifest's box without hydrants, in Lambert-93, and its centre in lon/lat.
struct Box {
    double min_x, min_y, max_x, max_y;
    double lon = 0, lat = 0;
};
Box uncovered_box() {
    const auto d = parse_json(read_file(data("deci/manifest.json")));
    const auto& b = d["files"]["pei-13210-marseille10.geojson"]["uncovered_box_l93"];
    Box box{b[0].GetDouble(), b[1].GetDouble(), b[2].GetDouble(), b[3].GetDouble()};
    OGRSpatialReferenceH l93 = OSRNewSpatialReference(nullptr), wgs = OSRNewSpatialReference(nullptr);
    OSRImportFromEPSG(l93, 2154);
    OSRImportFromEPSG(wgs, 4326);
    OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(l93, wgs);
    double x = (box.min_x + box.max_x) / 2, y = (box.min_y + box.max_y) / 2;
    OCTTransform(ct, 1, &x, &y, nullptr);
    box.lon = x;
    box.lat = y;
    OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(l93);
    OSRDestroySpatialReference(wgs);
    return box;
}

// Whether any "uncovered" feature of a coverage answer contains (lon, lat).
bool uncovered_contains(const rapidjson::Document& d, double lon, double lat) {
    OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
    OGR_G_SetPoint_2D(pt, 0, lon, lat);
    bool inside = false;
    for (const auto& f : d["features"].GetArray()) {
        if (std::string(f["properties"]["kind"].GetString()) != "uncovered" || !f["geometry"].IsObject()) continue;
        rapidjson::StringBuffer sb;
        rapidjson::Writer<rapidjson::StringBuffer> w(sb);
        f["geometry"].Accept(w);
        OGRGeometryH g = OGR_G_CreateGeometryFromJson(sb.GetString());
        if (g && OGR_G_Contains(g, pt)) inside = true;
        if (g) OGR_G_DestroyGeometry(g);
    }
    OGR_G_DestroyGeometry(pt);
    return inside;
}

// Identifiers a partner file gives a commune, read with OGR straight from the file.
std::set<std::string> source_ids(const std::string& path, const char* id_field, const char* insee_field,
                                 const std::string& insee) {
    GDALAllRegister();
    std::set<std::string> ids;
    GDALDatasetH ds = GDALOpenEx(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, nullptr, nullptr);
    if (!ds) return ids;
    OGRLayerH l = GDALDatasetGetLayer(ds, 0);
    OGRFeatureH f;
    const int id = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(l), id_field);
    const int in = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(l), insee_field);
    while ((f = OGR_L_GetNextFeature(l))) {
        if (id >= 0 && in >= 0 && OGR_F_GetFieldAsString(f, in) == insee) ids.insert(OGR_F_GetFieldAsString(f, id));
        OGR_F_Destroy(f);
    }
    GDALClose(ds);
    return ids;
}

// Every id_sdis the manifest lists as damaged: the defect policy may move, repair or reject them.
std::set<std::string> damaged_ids(const char* file) {
    std::set<std::string> out;
    const auto d = parse_json(read_file(data("deci/manifest.json")));
    const auto& defects = d["files"][file]["defects"];
    for (auto m = defects.MemberBegin(); m != defects.MemberEnd(); ++m)
        for (const auto& v : m->value.GetArray())
            if (v.IsString()) out.insert(v.GetString());
    return out;
}

// The values of a field across a layer of an extract opened with GDAL.
std::set<std::string> layer_values(const std::string& path, const char* layer, const char* field, long long* count = nullptr) {
    GDALAllRegister();
    std::set<std::string> out;
    GDALDatasetH ds = GDALOpenEx(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, nullptr, nullptr);
    EXPECT_NE(ds, nullptr) << path;
    if (!ds) return out;
    OGRLayerH l = layer ? GDALDatasetGetLayerByName(ds, layer) : GDALDatasetGetLayer(ds, 0);
    EXPECT_NE(l, nullptr) << path << " has no layer " << (layer ? layer : "0");
    long long n = 0;
    if (l) {
        const int i = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(l), field);
        OGRFeatureH f;
        while ((f = OGR_L_GetNextFeature(l))) {
            ++n;
            if (i >= 0) out.insert(OGR_F_GetFieldAsString(f, i));
            OGR_F_Destroy(f);
        }
    }
    if (count) *count = n;
    GDALClose(ds);
    return out;
}

void write_file(const std::filesystem::path& p, const std::string& bytes) {
    std::ofstream f(p, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// LibreOffice headless: the DOCX as PDF, then the PDF's text with pdftotext.
std::string docx_text(const std::filesystem::path& docx) {
    const auto dir = docx.parent_path();
    const std::string profile = "-env:UserInstallation=file://" + (dir / "lo-profile").string();
    const std::string convert = "soffice " + profile + " --headless --convert-to pdf --outdir '" + dir.string() + "' '" +
                                docx.string() + "' > /dev/null 2>&1";
    if (std::system(convert.c_str()) != 0) return "";
    auto pdf = docx;
    pdf.replace_extension(".pdf");
    const auto txt = dir / "order.txt";
    if (std::system(("pdftotext -layout '" + pdf.string() + "' '" + txt.string() + "'").c_str()) != 0) return "";
    return read_file(txt);
}

}  // namespace

class DeciTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        store_ = (dir_->path() / "ideo.gpkg").string();
        const std::vector<std::pair<std::string, std::string>> imports{
            {"communes", data("roads/zone-13210-marseille10.geojson").string()},
            {"communes", data("communes/communes-90-territoire-de-belfort.geojson").string()},
            {"roads", data("roads/troncon_route_marseille10.gpkg").string()},
            {"pei", data("deci/pei-13210-marseille10.geojson").string()},
            {"pei", data("deci/d_pei_cd90_p.zip").string()},
            {"erp", data("deci/erp-90-prefecture.csv").string()},
            {"icpe", data("icpe/ign_installation.csv").string()},
        };
        setup_error_ = import_files(store_, imports);
        if (!setup_error_.empty()) return;
        downloader_ = admin_authorization(store_);  // extracts and the order are for who may download them
        setup_error_ = start_server(server_, {"--store", store_});
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
        delete dir_;
        dir_ = nullptr;
    }
    void SetUp() override {
        if (!setup_error_.empty()) FAIL() << setup_error_;
    }
    static HttpResponse get(const std::string& target) { return http_get(server_->port(), target); }
    // As a caller the policy lets download every commune's extract and order (an admin key).
    static HttpResponse download(const std::string& target) { return http_get(server_->port(), target, downloader_); }

    // The PEI of a commune of the 90 corpus: those the partner gave it, checked against what was published.
    static std::set<std::string> expected_pei(const std::string& insee) {
        const auto source = source_ids("/vsizip/" + data("deci/d_pei_cd90_p.zip").string(), "ID_SDIS", "INSEE", insee);
        const auto published = layer_values(store_, nullptr, "id_sdis"), damaged = damaged_ids("d_pei_cd90_p.zip");
        std::set<std::string> out;
        GDALDatasetH ds = GDALOpenEx(store_.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, nullptr, nullptr);
        OGRLayerH l = GDALDatasetExecuteSQL(ds, ("SELECT id_sdis FROM pei WHERE insee = '" + insee + "'").c_str(), nullptr, nullptr);
        OGRFeatureH f;
        while ((f = OGR_L_GetNextFeature(l))) {
            out.insert(OGR_F_GetFieldAsString(f, 0));
            OGR_F_Destroy(f);
        }
        GDALDatasetReleaseResultSet(ds, l);
        GDALClose(ds);
        // The store agrees with the partner file except for records the defect policy touched.
        for (const auto& id : source) EXPECT_TRUE(out.count(id) || damaged.count(id)) << id << " missing from the store";
        for (const auto& id : out) EXPECT_TRUE(source.count(id) || damaged.count(id)) << id << " not in the partner file";
        return out;
    }

    static TempDir* dir_;
    static std::string store_;
    static ServerProcess* server_;
    static inline std::map<std::string, std::string> downloader_;
    static std::string setup_error_;
};

TempDir* DeciTest::dir_ = nullptr;
std::string DeciTest::store_;
ServerProcess* DeciTest::server_ = nullptr;
std::string DeciTest::setup_error_;

TEST_F(DeciTest, BoxWithoutHydrantsIsUncoveredInBothModesAndRoadsCoverLess) {
    const Box box = uncovered_box();
    double share[2] = {0, 0};
    int k = 0;
    for (const char* mode : {"straight", "road"}) {
        const HttpResponse r = get(std::string("/deci/communes/13210/coverage?mode=") + mode);
        ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
        const auto d = parse_json(r.body);
        EXPECT_STREQ(d["summary"]["mode"].GetString(), mode);
        EXPECT_EQ(d["summary"]["approximation"].GetBool(), std::string(mode) == "straight");
        EXPECT_TRUE(uncovered_contains(d, box.lon, box.lat)) << mode << ": the centre of the empty box is reported covered";
        share[k++] = d["summary"]["covered_share"].GetDouble();
    }
    EXPECT_GT(share[0], 0.5);
    EXPECT_GT(share[1], 0.0);
    EXPECT_LT(share[1], share[0]) << "road mode must cover strictly less than straight-line mode";
}

TEST_F(DeciTest, CheckFindsTheHydrantBesideAPointAndNoneInTheEmptyBox) {
    // A compliant hydrant of the fixture (available, 60 m³/h or more), read from the partner file.
    const auto d = parse_json(read_file(data("deci/pei-13210-marseille10.geojson")));
    std::string id;
    double lon = 0, lat = 0;
    for (const auto& f : d["features"].GetArray()) {
        const auto& p = f["properties"];
        if (p["disponible"].GetInt() == 1 && p.HasMember("debit") && p["debit"].IsNumber() && p["debit"].GetDouble() >= 90) {
            id = p["id_sdis"].GetString();
            lon = f["geometry"]["coordinates"][0].GetDouble();
            lat = f["geometry"]["coordinates"][1].GetDouble();
            break;
        }
    }
    ASSERT_FALSE(id.empty());
    char target[200];
    std::snprintf(target, sizeof target, "/deci/check?lon=%.7f&lat=%.7f&risk=courant_ordinaire", lon + 0.0001, lat);
    HttpResponse r = get(target);
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = parse_json(r.body);
    EXPECT_TRUE(v["covered"].GetBool()) << r.body;
    EXPECT_LT(v["distance_m"].GetDouble(), 60.0) << r.body;
    EXPECT_STREQ(v["distance_mode"].GetString(), "road");

    const Box box = uncovered_box();
    std::snprintf(target, sizeof target, "/deci/check?lon=%.7f&lat=%.7f&risk=courant_ordinaire", box.lon, box.lat);
    r = get(target);
    ASSERT_EQ(r.status, 200) << r.body;
    v = parse_json(r.body);
    EXPECT_FALSE(v["covered"].GetBool()) << r.body;
    EXPECT_STREQ(v["reason"].GetString(), "too_far");
    EXPECT_GT(v["distance_m"].GetDouble(), 200.0);
}

TEST_F(DeciTest, BadParametersAreNamed) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"/deci/check?lon=abc&lat=47", "lon"},
        {"/deci/check?lon=6.8&lat=47&risk=enorme", "risk"},
        {"/deci/communes/13210/coverage?mode=helicopter", "mode"},
        {"/deci/communes/13210/coverage?rules=../etc", "rules"},
        {"/deci/extract.gpkg?insee=90010,abc", "insee"},
        {"/deci/communes/90010/extract.gpkg?crs=EPSG:9999", "crs"},
    };
    for (const auto& [target, name] : cases) {
        const HttpResponse r = get(target);
        EXPECT_EQ(r.status, 400) << target << ": " << r.body;
        EXPECT_NE(r.body.find(name), std::string::npos) << target << ": " << r.body;
    }
    EXPECT_TRUE(server_->alive());
}

TEST_F(DeciTest, ExtractsInEveryFormatHoldExactlyTheCommunePei) {
    const std::string insee = "90010";
    const auto expected = expected_pei(insee);
    ASSERT_GT(expected.size(), 50u);
    struct Case {
        std::string ext, open_prefix, inner, layer, field;
    };
    const std::vector<Case> cases{
        {"gpkg", "", "", "pei", "id_sdis"},
        {"geojson", "", "", "", "id_sdis"},
        {"kml", "", "", "pei", "id_sdis"},
        {"shp.zip", "/vsizip/", "/pei.shp", "pei", "id_sdis"},
        {"xlsx", "", "", "PEI", "Numéro PEI"},
        {"ods", "", "", "PEI", "Numéro PEI"},
    };
    for (const auto& c : cases) {
        const HttpResponse r = download("/deci/communes/" + insee + "/extract." + c.ext);
        ASSERT_EQ(r.status, 200) << c.ext << ": " << r.body.substr(0, 300);
        EXPECT_NE(r.headers.at("content-disposition").find("DECI_90010_Belfort_"), std::string::npos);
        const auto file = dir_->path() / ("extract." + c.ext);
        write_file(file, r.body);
        auto ids = layer_values(c.open_prefix + file.string() + c.inner, c.layer.empty() ? nullptr : c.layer.c_str(), c.field.c_str());
        if (c.ext == "geojson") {  // one collection: PEI beside ERP and ICPE, told apart by `layer`
            std::set<std::string> pei;
            for (const auto& id : ids)
                if (!id.empty()) pei.insert(id);
            ids = pei;
        }
        EXPECT_EQ(ids, expected) << c.ext;
    }
    // The Shapefile zip carries the encoding and the projection of every layer.
    const auto zip = (dir_->path() / "extract.shp.zip").string();
    char** names = VSIReadDir(("/vsizip/" + zip).c_str());
    std::set<std::string> members;
    for (char** n = names; n && *n; ++n) members.insert(*n);
    CSLDestroy(names);
    for (const char* m : {"pei.cpg", "pei.prj", "erp.cpg", "erp.prj", "icpe.dbf", "LISEZMOI.txt"}) EXPECT_TRUE(members.count(m)) << m;
    // CSV: three UTF-8 files with a BOM, and the PEI file lists every expected id.
    const HttpResponse csv = download("/deci/communes/" + insee + "/extract.csv");
    ASSERT_EQ(csv.status, 200);
    write_file(dir_->path() / "extract.csv.zip", csv.body);
    names = VSIReadDirRecursive(("/vsizip/" + (dir_->path() / "extract.csv.zip").string()).c_str());
    std::string pei_csv;
    for (char** n = names; n && *n; ++n)
        if (std::string(*n).find("PEI.csv") != std::string::npos) pei_csv = *n;
    CSLDestroy(names);
    ASSERT_FALSE(pei_csv.empty());
    VSILFILE* f = VSIFOpenL(("/vsizip/" + (dir_->path() / "extract.csv.zip").string() + "/" + pei_csv).c_str(), "rb");
    ASSERT_NE(f, nullptr);
    std::string text(4 << 20, '\0');
    text.resize(VSIFReadL(text.data(), 1, text.size(), f));
    VSIFCloseL(f);
    EXPECT_EQ(text.substr(0, 3), "\xEF\xBB\xBF");
    for (const auto& id : expected) EXPECT_NE(text.find(id), std::string::npos) << id;
}

// Zipped extracts (CSV, Shapefile) date their entries with the extract's date, as the file is named
// (DECI_90010_Belfort_YYYY-MM-DD), not with the 1980-00-00 of an undated zip.
TEST_F(DeciTest, ZippedExtractEntriesCarryTheExtractsDate) {
    for (const std::string ext : {"csv", "shp.zip"}) {
        const HttpResponse r = download("/deci/communes/90010/extract." + ext);
        ASSERT_EQ(r.status, 200) << ext;
        const std::string& disposition = r.headers.at("content-disposition");
        const auto at = disposition.find("DECI_90010_Belfort_");
        ASSERT_NE(at, std::string::npos);
        const std::string date = disposition.substr(at + 19, 10);
        const auto file = dir_->path() / ("dated." + ext + (ext == "csv" ? ".zip" : ""));
        write_file(file, r.body);
        char** names = VSIReadDirRecursive(("/vsizip/" + file.string()).c_str());
        int checked = 0;
        for (char** n = names; n && *n; ++n) {
            VSIStatBufL st;
            ASSERT_EQ(VSIStatL(("/vsizip/" + file.string() + "/" + *n).c_str(), &st), 0) << *n;
            if (VSI_ISDIR(st.st_mode)) continue;
            const std::time_t t = st.st_mtime;
            std::tm tm{};
            gmtime_r(&t, &tm);
            char day[11];
            std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
            EXPECT_EQ(std::string(day), date) << ext << " " << *n;
            ++checked;
        }
        CSLDestroy(names);
        EXPECT_GE(checked, 3) << ext;
    }
}

TEST_F(DeciTest, ListAndDepartmentExtractsAddUpTheirCommunes) {
    const auto a = expected_pei("90010"), b = expected_pei("90065");
    const HttpResponse r = download("/deci/extract.gpkg?insee=90010,90065&crs=EPSG:3948");
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    EXPECT_NE(r.headers.at("content-disposition").find("DECI_2-communes_"), std::string::npos);
    write_file(dir_->path() / "list.gpkg", r.body);
    auto ids = layer_values((dir_->path() / "list.gpkg").string(), "pei", "id_sdis");
    std::set<std::string> both = a;
    both.insert(b.begin(), b.end());
    EXPECT_EQ(ids, both);

    const HttpResponse dept = download("/deci/extract.gpkg?dept=90");
    ASSERT_EQ(dept.status, 200);
    EXPECT_NE(dept.headers.at("content-disposition").find("DECI_dept90_"), std::string::npos);
    write_file(dir_->path() / "dept.gpkg", dept.body);
    long long n = 0;
    layer_values((dir_->path() / "dept.gpkg").string(), "pei", "id_sdis", &n);
    long long published = 0;
    GDALDatasetH ds = GDALOpenEx(store_.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, nullptr, nullptr);
    OGRLayerH l = GDALDatasetExecuteSQL(ds, "SELECT COUNT(*) FROM pei WHERE insee LIKE '90%'", nullptr, nullptr);
    OGRFeatureH f = OGR_L_GetNextFeature(l);
    published = OGR_F_GetFieldAsInteger64(f, 0);
    OGR_F_Destroy(f);
    GDALDatasetReleaseResultSet(ds, l);
    GDALClose(ds);
    EXPECT_EQ(n, published);
}

TEST_F(DeciTest, MunicipalOrderConvertsToPdfAndListsEveryPei) {
    const std::string insee = "90073";  // a small commune: its whole inventory fits a few pages
    const auto expected = expected_pei(insee);
    ASSERT_FALSE(expected.empty());
    const HttpResponse r = download("/deci/communes/" + insee + "/arrete.docx");
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    const auto docx = dir_->path() / "order.docx";
    write_file(docx, r.body);
    const std::string text = docx_text(docx);
    ASSERT_FALSE(text.empty()) << "LibreOffice could not convert the order";
    EXPECT_NE(text.find("L2213-32"), std::string::npos);
    EXPECT_NE(text.find("RDDECI"), std::string::npos);
    for (const auto& id : expected) EXPECT_NE(text.find(id), std::string::npos) << id << " not in the order";

    const HttpResponse summary = get("/deci/communes/" + insee);
    ASSERT_EQ(summary.status, 200);
    const auto d = parse_json(summary.body);
    EXPECT_EQ(d["pei"]["total"].GetUint64(), expected.size());
}

TEST(DeciWithoutPei, CommuneWithoutPeiGetsAValidExtractAndOrderThatSaySo) {
    TempDir dir;
    const std::string store = (dir.path() / "ideo.gpkg").string();
    for (const auto& [layer, file] : std::vector<std::pair<std::string, std::string>>{
             {"communes", data("communes/communes-90-territoire-de-belfort.geojson").string()},
             {"erp", data("deci/erp-90-prefecture.csv").string()}}) {
        const CommandResult r = run_ideo({"import", layer, file, "--store", store});
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    const auto xlsx = dir.path() / "extract.xlsx";
    CommandResult r = run_ideo({"extract", "90010", "--format", "xlsx", "-o", xlsx.string(), "--store", store});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    long long n = -1;
    CPLSetConfigOption("OGR_XLSX_HEADERS", "FORCE");  // a text-only sheet: GDAL cannot guess its header row
    const auto values = layer_values(xlsx.string(), "Synthèse", "Valeur", &n);
    CPLSetConfigOption("OGR_XLSX_HEADERS", nullptr);
    bool says_none = false;
    for (const auto& v : values) says_none = says_none || v.rfind("aucun enregistrement", 0) == 0;
    EXPECT_TRUE(says_none) << "the summary must say there is no PEI";
    const auto gpkg = dir.path() / "extract.gpkg";
    r = run_ideo({"extract", "90010", "--format", "gpkg", "-o", gpkg.string(), "--store", store});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(layer_values(gpkg.string(), "metadonnees", "rubrique").count("Date de l'extraction"));

    const auto docx = dir.path() / "order.docx";
    r = run_ideo({"arrete", "90010", "-o", docx.string(), "--store", store});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string text = docx_text(docx);
    ASSERT_FALSE(text.empty());
    EXPECT_NE(text.find("Aucun point d'eau incendie"), std::string::npos);
}
