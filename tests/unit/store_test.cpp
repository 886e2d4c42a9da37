// The GeoPackage store: round trips, per-source replacement, atomic publish (thrown, killed), quarantine,
// versions, and a file that GDAL (hence QGIS) opens as a plain GeoPackage.
#include <gdal_priv.h>
#include <gtest/gtest.h>

#include <set>
#include <ogrsf_frmts.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>

#include "ideo/core/error.hpp"
#include "ideo/store/store.hpp"
#include "test_support.hpp"

namespace ideo::store {
namespace {

using test::TempDir;

struct DatasetCloser {
    void operator()(GDALDataset* ds) const { GDALClose(ds); }
};
using Dataset = std::unique_ptr<GDALDataset, DatasetCloser>;

Dataset open_gpkg(const std::filesystem::path& path) {
    GDALAllRegister();
    static const char* const drivers[] = {"GPKG", nullptr};
    return Dataset(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, nullptr, nullptr));
}

const LayerCatalog& catalog() {
    static const LayerCatalog c = load_layers(test::layers_dir());
    return c;
}

// The SDIS 21 export, typed per the PEI schema as ingest would hand it over (read once: GeoJSON parses slowly).
const std::vector<Feature>& sdis21_export() {
    static const std::vector<Feature> all = [] {
        const LayerSpec& pei = catalog().get("pei");
        GDALAllRegister();
        const auto path = test::data("deci/pei-21-sdis21.geojson");
        Dataset ds(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
        if (!ds) throw std::runtime_error("cannot open pei-21-sdis21.geojson");
        OGRLayer* in = ds->GetLayer(0);
        const int id_field = pei.field_index(pei.id_field);
        std::vector<Feature> out;
        for (const auto& rec : *in) {
            Feature f;
            for (const auto& spec : pei.fields) {
                const int i = rec->GetFieldIndex(spec.name.c_str());
                Value v;
                if (i >= 0 && rec->IsFieldSetAndNotNull(i)) {
                    switch (spec.type) {
                        case FieldType::Integer:
                        case FieldType::Boolean: v = static_cast<std::int64_t>(rec->GetFieldAsInteger64(i)); break;
                        case FieldType::Number: v = rec->GetFieldAsDouble(i); break;
                        case FieldType::Date: {
                            int y, m, d, hh, mm, tz;
                            float ss;
                            if (rec->GetFieldDefnRef(i)->GetType() == OFTDate &&
                                rec->GetFieldAsDateTime(i, &y, &m, &d, &hh, &mm, &ss, &tz)) {
                                char buf[16];
                                std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
                                v = std::string(buf);
                            } else if (std::string s = rec->GetFieldAsString(i); s.size() == 10 && s[4] == '-') {
                                v = s;  // other spellings ("31/02/2024") are ingest's business: left null here
                            }
                            break;
                        }
                        case FieldType::String: v = std::string(rec->GetFieldAsString(i)); break;
                    }
                }
                f.values.push_back(v);
            }
            f.id = to_text(f.values[id_field]);
            const std::size_t n = out.size();
            if (const auto* p = rec->GetGeometryRef(); p && n % 10 != 3) {
                f.geometry = Geometry::point(p->toPoint()->getX(), p->toPoint()->getY());
            } else {
                f.flags.push_back("no_coordinates");
            }
            if (n % 7 == 0) {
                f.flags.push_back("debit_dropped: -5");
                f.flags.push_back("date_maj_invalid");
            }
            f.provenance = {"sdis21", f.id, "2026-01-15T10:00:00Z"};
            out.push_back(std::move(f));
        }
        return out;
    }();
    return all;
}

// The first `limit` records of the export, their identifiers prefixed to stand for another partner's.
std::vector<Feature> sdis21_features(std::size_t limit, const std::string& id_prefix = "") {
    const auto& all = sdis21_export();
    std::vector<Feature> out(all.begin(), all.begin() + std::min(limit, all.size()));
    if (id_prefix.empty()) return out;
    const int id_field = catalog().get("pei").field_index("id_sdis");
    for (auto& f : out) {
        f.id = id_prefix + f.id;
        f.values[id_field] = f.id;
    }
    return out;
}

std::vector<Feature> sorted_by_id(std::vector<Feature> f) {
    std::stable_sort(f.begin(), f.end(), [](const Feature& a, const Feature& b) { return a.id < b.id; });
    return f;
}

Report report_of(const std::string& layer, const std::string& source, std::size_t published) {
    Report r;
    r.layer = layer;
    r.source = source;
    r.read = r.published = published;
    return r;
}

Publication publish(Store& store, const std::string& source, const std::vector<Feature>& features,
                    const std::vector<Quarantined>& quarantine = {}, const PublishOptions& options = {}) {
    return store.publish(catalog().get("pei"), source, features, quarantine, report_of("pei", source, features.size()),
                         options);
}

std::size_t count_from(const std::vector<Feature>& features, const std::string& source) {
    return static_cast<std::size_t>(std::count_if(features.begin(), features.end(),
                                                  [&](const Feature& f) { return f.provenance.source == source; }));
}

TEST(GpkgStore, PublishThenLoadRoundTripsValuesGeometryAndProvenance) {
    TempDir dir;
    auto store = open_store((dir / "var/ideo.gpkg").string());
    const auto features = sdis21_features(300);
    const Publication p = publish(*store, "sdis21", features);
    EXPECT_EQ(p.version, 1);
    EXPECT_EQ(p.count, 300u);

    const auto expected = sorted_by_id(features);
    const auto loaded = store->load(catalog().get("pei"));
    ASSERT_EQ(loaded.size(), expected.size());
    for (std::size_t i = 0; i < loaded.size(); ++i) {
        SCOPED_TRACE(expected[i].id);
        EXPECT_EQ(loaded[i].id, expected[i].id);
        EXPECT_EQ(loaded[i].values, expected[i].values);
        EXPECT_EQ(loaded[i].geometry.wkb, expected[i].geometry.wkb);
        EXPECT_EQ(loaded[i].geometry.envelope.min_x, expected[i].geometry.envelope.min_x);
        EXPECT_EQ(loaded[i].geometry.envelope.max_y, expected[i].geometry.envelope.max_y);
        EXPECT_EQ(loaded[i].provenance.source, "sdis21");
        EXPECT_EQ(loaded[i].provenance.source_id, expected[i].provenance.source_id);
        EXPECT_EQ(loaded[i].provenance.harvested_at, expected[i].provenance.harvested_at);
        EXPECT_EQ(loaded[i].flags, expected[i].flags);
    }
    EXPECT_TRUE(std::is_sorted(loaded.begin(), loaded.end(),
                               [](const Feature& a, const Feature& b) { return a.id < b.id; }));
}

TEST(GpkgStore, PolygonLayerRoundTripsPolygonsAndMultiPolygons) {
    TempDir dir;
    auto store = open_store((dir / "ideo.gpkg").string());
    const LayerSpec& communes = catalog().get("communes");
    std::vector<Feature> features;
    for (const char* wkt : {"POLYGON ((5 47,5.1 47,5.1 47.1,5 47.1,5 47))",
                            "MULTIPOLYGON (((4 46,4.1 46,4.1 46.1,4 46),(4.02 46.01,4.05 46.01,4.05 46.05,4.02 46.01)),"
                            "((4.5 46.5,4.6 46.5,4.6 46.6,4.5 46.5)))"}) {
        OGRGeometry* g = nullptr;
        ASSERT_EQ(OGRGeometryFactory::createFromWkt(wkt, nullptr, &g), OGRERR_NONE);
        Feature f;
        f.id = "2100" + std::to_string(features.size());
        f.values = {f.id, std::string("Commune ") + f.id};
        f.geometry.wkb.resize(g->WkbSize());
        g->exportToWkb(wkbNDR, reinterpret_cast<unsigned char*>(f.geometry.wkb.data()), wkbVariantIso);
        OGREnvelope e;
        g->getEnvelope(&e);
        f.geometry.envelope.expand(e.MinX, e.MinY);
        f.geometry.envelope.expand(e.MaxX, e.MaxY);
        OGRGeometryFactory::destroyGeometry(g);
        features.push_back(f);
    }
    store->publish(communes, "admin-express-21", features, {}, report_of("communes", "admin-express-21", 2));
    const auto loaded = store->load(communes);
    ASSERT_EQ(loaded.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(loaded[i].geometry.wkb, features[i].geometry.wkb);
        EXPECT_EQ(loaded[i].geometry.envelope.max_x, features[i].geometry.envelope.max_x);
        EXPECT_EQ(loaded[i].values, features[i].values);
    }
}

TEST(GpkgStore, PublishReplacesOnlyThatSourcesRecords) {
    TempDir dir;
    auto store = open_store((dir / "ideo.gpkg").string());
    publish(*store, "sdis21", sdis21_features(100));
    auto other = sdis21_features(50, "X71-");
    for (auto& f : other) f.provenance.source = "sdis71";
    publish(*store, "sdis71", other);
    publish(*store, "sdis21", sdis21_features(30));

    const auto loaded = store->load(catalog().get("pei"));
    EXPECT_EQ(loaded.size(), 80u);
    EXPECT_EQ(count_from(loaded, "sdis21"), 30u);
    EXPECT_EQ(count_from(loaded, "sdis71"), 50u);

    std::vector<std::string> expected;
    for (const auto& f : other) expected.push_back(f.id);
    std::sort(expected.begin(), expected.end());
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    EXPECT_EQ(store->ids_from_other_sources(catalog().get("pei"), "sdis21"), expected);
    EXPECT_EQ(store->ids_from_other_sources(catalog().get("pei"), "sdis71").size(), 30u);
    EXPECT_TRUE(store->ids_from_other_sources(catalog().get("erp"), "prefecture21").empty());
}

// The GeoPackage's own R-tree (what QGIS uses) holds exactly the located records, whether a publish
// rebuilt it in bulk (a source that is most of the table) or kept it up row by row (a small source).
TEST(GpkgStore, SpatialIndexHoldsExactlyTheLocatedRecordsAfterBulkAndRowByRowPublishes) {
    TempDir dir;
    const auto path = dir / "ideo.gpkg";
    auto store = open_store(path.string());
    auto rtree_and_located = [&] {
        Dataset ds = open_gpkg(path);
        OGRLayer* r = ds->ExecuteSQL("SELECT (SELECT COUNT(*) FROM rtree_pei_geom), "
                                     "(SELECT COUNT(*) FROM pei WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom)), "
                                     "HasSpatialIndex('pei', 'geom')",
                                     nullptr, nullptr);
        OGRFeatureUniquePtr f(r->GetNextFeature());
        const std::tuple<long long, long long, int> out{f->GetFieldAsInteger64(0), f->GetFieldAsInteger64(1), f->GetFieldAsInteger(2)};
        ds->ReleaseResultSet(r);
        return out;
    };
    auto expect_consistent = [&](const char* when) {
        const auto [rtree, located, indexed] = rtree_and_located();
        EXPECT_EQ(indexed, 1) << when;
        EXPECT_EQ(rtree, located) << when;
        EXPECT_GT(located, 0) << when;
    };
    publish(*store, "sdis21", sdis21_features(3000));  // the whole table: rebuilt in bulk
    expect_consistent("first publish");
    auto small = sdis21_features(40, "X71-");
    for (auto& f : small) f.provenance.source = "sdis71";
    publish(*store, "sdis71", small);  // 40 rows into 3,000: row by row
    expect_consistent("small source");
    publish(*store, "sdis71", sdis21_features(10, "X71-"));  // shrinks, row by row
    expect_consistent("small source shrunk");
    publish(*store, "sdis21", sdis21_features(2500));  // rebuilt again, the other source kept in the index
    expect_consistent("republish of the large source");
    PublishOptions fault;
    fault.fail_after = 1000;
    EXPECT_THROW(publish(*store, "sdis21", sdis21_features(2800), {}, fault), Error);
    expect_consistent("a failed bulk publish rolled back");
}

TEST(GpkgStore, FailedPublishLeavesPreviousVersionIntact) {
    TempDir dir;
    auto store = open_store((dir / "ideo.gpkg").string());
    const Publication first = publish(*store, "sdis21", sdis21_features(200), {{1, "bad", "type_pei", "{}"}});

    PublishOptions fault;
    fault.fail_after = 100;
    try {
        publish(*store, "sdis21", sdis21_features(300), {}, fault);
        FAIL() << "the injected failure did not throw";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("injected writer failure"), std::string::npos) << e.what();
    }
    EXPECT_EQ(store->version(), first.version);
    EXPECT_EQ(store->load(catalog().get("pei")).size(), 200u);
    EXPECT_EQ(store->publications().size(), 1u);

    // The store stays writable after the rollback.
    EXPECT_EQ(publish(*store, "sdis21", sdis21_features(250)).version, first.version + 1);
    EXPECT_EQ(store->load(catalog().get("pei")).size(), 250u);
}

TEST(GpkgStore, PublishRefusesAValueItsColumnCannotHoldAndNamesIt) {
    TempDir dir;
    const auto path = dir / "ideo.gpkg";
    auto store = open_store(path.string());
    publish(*store, "sdis21", sdis21_features(20));
    auto features = sdis21_features(30);
    features[25].values[catalog().get("pei").field_index("date_maj")] = std::string("31/02/2024");
    try {
        publish(*store, "sdis21", features);
        FAIL() << "an unparsable date was stored";
    } catch (const Error& e) {
        const std::string msg = e.what();
        for (const std::string& part : {path.string(), std::string("table pei"), features[25].id,
                                        std::string("date_maj"), std::string("31/02/2024")})
            EXPECT_NE(msg.find(part), std::string::npos) << part << " missing from: " << msg;
    }
    EXPECT_EQ(store->load(catalog().get("pei")).size(), 20u);
}

TEST(GpkgStore, KilledPublishLeavesPreviousVersionIntact) {
    TempDir dir;
    const auto path = dir / "ideo.gpkg";
    const auto features = sdis21_features(2000);
    const std::vector<Feature> previous(features.begin(), features.begin() + 500);
    std::int64_t version = 0;
    {
        auto store = open_store(path.string());
        version = publish(*store, "sdis21", previous).version;
    }

    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const rlimit no_core{0, 0};
        ::setrlimit(RLIMIT_CORE, &no_core);
        try {
            auto store = open_store(path.string());
            PublishOptions kill;
            kill.fail_after = 1500;
            kill.abort_instead = true;
            publish(*store, "sdis21", features, {}, kill);
        } catch (...) {
        }
        ::_exit(0);  // only reached when the fault hook did not fire
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited with " << WEXITSTATUS(status);
    EXPECT_EQ(WTERMSIG(status), SIGABRT);

    auto store = open_store(path.string());
    EXPECT_EQ(store->version(), version);
    EXPECT_EQ(store->load(catalog().get("pei")).size(), 500u);

    auto ds = open_gpkg(path);
    ASSERT_TRUE(ds) << CPLGetLastErrorMsg();
    EXPECT_STREQ(ds->GetDriver()->GetDescription(), "GPKG");
    ASSERT_NE(ds->GetLayerByName("pei"), nullptr);
    EXPECT_EQ(ds->GetLayerByName("pei")->GetFeatureCount(), 500);
}

TEST(GpkgStore, ReaderNeverSeesHalfWrittenPublish) {
    TempDir dir;
    const auto path = dir / "ideo.gpkg";
    const auto small = sdis21_features(1000);
    const auto large = sdis21_features(5000);
    { publish(*open_store(path.string()), "sdis21", small); }

    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        int code = 0;
        try {
            auto store = open_store(path.string());
            for (int i = 0; i < 6; ++i) publish(*store, "sdis21", i % 2 ? small : large);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "writer: %s\n", e.what());
            code = 1;
        }
        ::_exit(code);
    }
    auto store = open_store(path.string());
    int status = 0, reads = 0;
    while (::waitpid(child, &status, WNOHANG) == 0) {
        const std::size_t n = store->load(catalog().get("pei")).size();
        EXPECT_TRUE(n == small.size() || n == large.size()) << n << " features: a half-written publish";
        EXPECT_GE(store->version(), 1);
        ++reads;
    }
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_GT(reads, 0);
    EXPECT_EQ(store->version(), 7);
    EXPECT_EQ(store->load(catalog().get("pei")).size(), small.size());
}

TEST(GpkgStore, QuarantineIsKeptPerSource) {
    TempDir dir;
    const auto path = dir / "ideo.gpkg";
    auto store = open_store(path.string());
    publish(*store, "sdis21", sdis21_features(10),
            {{3, "21001_1", "type_pei: unknown code \"HYDR\"", R"({"TYPE_PEI":"HYDR"})"},
             {7, "", "no identifier", R"({"INSEE":"21001"})"},
             {9, "21001_9", "type_pei: missing", "{}"}});
    publish(*store, "sdis71", {}, {{2, "71_2", "type_pei: missing", "{}"}, {4, "71_4", "type_pei: missing", "{}"}});
    publish(*store, "sdis21", sdis21_features(10), {{5, "21001_5", "type_pei: unknown code \"X\"", R"({"é":"à"})"}});

    auto ds = open_gpkg(path);
    ASSERT_TRUE(ds);
    OGRLayer* q = ds->GetLayerByName("pei_quarantine");
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->GetGeomType(), wkbNone);
    std::map<std::string, int> per_source;
    for (const auto& f : *q) {
        ++per_source[f->GetFieldAsString("ideo_source")];
        if (std::string(f->GetFieldAsString("ideo_source")) == "sdis21") {
            EXPECT_EQ(f->GetFieldAsInteger64("row"), 5);
            EXPECT_STREQ(f->GetFieldAsString("id"), "21001_5");
            EXPECT_STREQ(f->GetFieldAsString("reason"), "type_pei: unknown code \"X\"");
            EXPECT_STREQ(f->GetFieldAsString("record_json"), R"({"é":"à"})");
        }
    }
    EXPECT_EQ(per_source, (std::map<std::string, int>{{"sdis21", 1}, {"sdis71", 2}}));
}

TEST(GpkgStore, VersionIncreasesWithEveryPublish) {
    TempDir dir;
    auto store = open_store((dir / "ideo.gpkg").string());
    EXPECT_EQ(store->version(), 0);
    EXPECT_TRUE(store->publications().empty());
    EXPECT_EQ(publish(*store, "sdis21", sdis21_features(20)).version, 1);
    EXPECT_EQ(store->version(), 1);
    EXPECT_EQ(store->publish(catalog().get("erp"), "prefecture21", {}, {}, report_of("erp", "prefecture21", 0)).version,
              2);
    EXPECT_EQ(publish(*store, "sdis21", sdis21_features(5)).version, 3);
    EXPECT_EQ(store->version(), 3);

    const auto pubs = store->publications();
    ASSERT_EQ(pubs.size(), 3u);
    EXPECT_EQ(pubs[0].version, 3);
    EXPECT_EQ(pubs[0].layer, "pei");
    EXPECT_EQ(pubs[0].count, 5u);
    EXPECT_EQ(pubs[1].layer, "erp");
    EXPECT_EQ(pubs[1].source, "prefecture21");
    EXPECT_EQ(pubs[2].count, 20u);
    EXPECT_EQ(pubs[2].published_at.size(), 20u);  // ISO 8601 UTC: 2026-01-15T10:00:00Z
    EXPECT_EQ(store->publications(1).size(), 1u);

    // Another handle on the same file (the server's) sees the same counter.
    EXPECT_EQ(open_store((dir / "ideo.gpkg").string())->version(), 3);
}

TEST(GpkgStore, StoreFileOpensInGdalAsGeoPackageWithOneTablePerLayer) {
    TempDir dir;
    const auto path = dir / "var" / "ideo.gpkg";
    {
        auto store = open_store(path.string());
        publish(*store, "sdis21", sdis21_features(120));
        store->publish(catalog().get("erp"), "prefecture21", {}, {}, report_of("erp", "prefecture21", 0));
    }
    auto ds = open_gpkg(path);
    ASSERT_TRUE(ds) << CPLGetLastErrorMsg();
    EXPECT_STREQ(ds->GetDriver()->GetDescription(), "GPKG");
    std::vector<std::string> tables;
    for (auto* l : ds->GetLayers()) tables.emplace_back(l->GetName());
    std::sort(tables.begin(), tables.end());
    EXPECT_EQ(tables,
              (std::vector<std::string>{"erp", "erp_quarantine", "ideo_publications", "pei", "pei_quarantine"}));

    OGRLayer* pei = ds->GetLayerByName("pei");
    EXPECT_EQ(pei->GetGeomType(), wkbPoint);
    EXPECT_STREQ(pei->GetGeometryColumn(), "geom");
    ASSERT_NE(pei->GetSpatialRef(), nullptr);
    EXPECT_STREQ(pei->GetSpatialRef()->GetAuthorityCode(nullptr), "4326");
    EXPECT_EQ(pei->GetFeatureCount(), 120);
    const OGRFeatureDefn* defn = pei->GetLayerDefn();
    const auto type_of = [&](const char* name) { return defn->GetFieldDefn(defn->GetFieldIndex(name))->GetType(); };
    EXPECT_EQ(type_of("id_sdis"), OFTString);
    EXPECT_EQ(type_of("diam_pei"), OFTInteger64);
    EXPECT_EQ(type_of("debit"), OFTReal);
    EXPECT_EQ(type_of("date_maj"), OFTDate);
    EXPECT_EQ(defn->GetFieldDefn(defn->GetFieldIndex("disponible"))->GetSubType(), OFSTBoolean);
    for (const char* name : {"ideo_source", "ideo_source_id", "ideo_harvested_at", "ideo_flags"})
        EXPECT_GE(defn->GetFieldIndex(name), 0) << name;

    OGRLayer* has_index = ds->ExecuteSQL("SELECT HasSpatialIndex('pei', 'geom')", nullptr, nullptr);
    ASSERT_NE(has_index, nullptr);
    OGRFeatureUniquePtr row(has_index->GetNextFeature());
    EXPECT_EQ(row->GetFieldAsInteger(0), 1);
    ds->ReleaseResultSet(has_index);

    // The spatial index answers like a scan.
    const Envelope box{5.0, 47.0, 5.2, 47.2};
    const auto features = sdis21_features(120);
    const auto in_box = std::count_if(features.begin(), features.end(), [&](const Feature& f) {
        return !f.geometry.empty() && f.geometry.envelope.intersects(box);
    });
    pei->SetSpatialFilterRect(box.min_x, box.min_y, box.max_x, box.max_y);
    EXPECT_GT(in_box, 0);
    EXPECT_EQ(pei->GetFeatureCount(), in_box);
}

// Speed is measured in scripts/bench/, not asserted here: this pins the behaviour at full size.
TEST(GpkgStore, RepublishingTwentyThousandFeaturesReplacesThemAll) {
    TempDir dir;
    auto store = open_store((dir / "ideo.gpkg").string());
    auto base = sdis21_features(10000);
    std::vector<Feature> features = base;
    for (auto f : base) {
        f.id = "B" + f.id;
        f.values[catalog().get("pei").field_index("id_sdis")] = f.id;
        features.push_back(std::move(f));
    }
    publish(*store, "sdis21", features);
    features.resize(features.size() - 100);
    publish(*store, "sdis21", features);  // replacing: the 100 dropped records must be gone
    const auto loaded = store->load(catalog().get("pei"));
    ASSERT_EQ(loaded.size(), features.size());
    std::set<std::string> ids;
    for (const auto& f : loaded) ids.insert(f.id);
    for (const auto& f : features) EXPECT_TRUE(ids.count(f.id)) << f.id;
}

TEST(GpkgStore, PostgisUriIsNotAvailableYet) {
    try {
        open_store("PG:dbname=ideo password=secret");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("PostGIS store not available yet"), std::string::npos);
        EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos);
    }
}

TEST(GpkgStore, OgrFailureNamesTheStoreFile) {
    TempDir dir;
    const auto path = dir / "not-a-gpkg.gpkg";
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        std::fputs("this is not a GeoPackage", f);
        std::fclose(f);
    }
    try {
        open_store(path.string())->version();
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace ideo::store
