// Both stores, the GeoPackage and PostGIS (a throwaway PostgreSQL cluster, tests/support/pg_cluster.hpp),
// through the same tests: round trips, per-source replacement, atomic publish (thrown, killed), quarantine,
// versions, harvest bookkeeping, the catalogue, and tables that GDAL (hence QGIS) opens as plain layers.
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
#include <thread>

#include "ideo/cli/snapshot_loader.hpp"
#include "ideo/core/catalog_record.hpp"

#include "ideo/core/error.hpp"
#include "ideo/store/store.hpp"
#include "pg_cluster.hpp"
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

// A fresh store per test: a GeoPackage in a temporary folder, or a new database of the test cluster.
class StoreTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        if (GetParam() == "pg") {
            database_ = test::pg_cluster().new_database();
            uri_ = test::pg_cluster().uri(database_);
        } else {
            uri_ = (dir_ / "var/ideo.gpkg").string();
        }
    }
    bool pg() const { return GetParam() == "pg"; }
    const std::string& uri() const { return uri_; }
    std::unique_ptr<Store> open() const { return open_store(uri_); }
    // What the store's error messages name it by: the file, or the database (the URI without password).
    std::string shown_name() const { return pg() ? "dbname=" + database_ : uri_; }
    // The store as QGIS sees it: GDAL's GPKG driver on the file, its PostgreSQL driver on the database.
    Dataset open_in_gdal() const {
        GDALAllRegister();
        const char* gpkg[] = {"GPKG", nullptr};
        const char* postgres[] = {"PostgreSQL", nullptr};
        const char* all_tables[] = {"LIST_ALL_TABLES=YES", nullptr};  // QGIS's "also list tables with no geometry"
        return Dataset(GDALDataset::Open(uri_.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, pg() ? postgres : gpkg,
                                         pg() ? all_tables : nullptr, nullptr));
    }

    TempDir dir_;
    std::string database_, uri_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("gpkg", "pg"),
                         [](const auto& info) { return info.param; });

TEST_P(StoreTest, PublishThenLoadRoundTripsValuesGeometryAndProvenance) {
    auto store = open();
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

TEST_P(StoreTest, PolygonLayerRoundTripsPolygonsAndMultiPolygons) {
    auto store = open();
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

TEST_P(StoreTest, PublishReplacesOnlyThatSourcesRecords) {
    auto store = open();
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

// load_snapshot reads every layer at once, one thread each, through the same Store.
TEST_P(StoreTest, LoadsFromSeveralThreadsAtOnceEachSeeTheWholeLayer) {
    auto store = open();
    publish(*store, "sdis21", sdis21_features(1500));
    store->publish(catalog().get("erp"), "prefecture21", {}, {}, report_of("erp", "prefecture21", 0));
    std::vector<std::size_t> sizes(6);
    std::vector<std::int64_t> versions(6);
    std::vector<std::string> errors(6);
    std::vector<std::thread> readers;
    for (std::size_t i = 0; i < sizes.size(); ++i)
        readers.emplace_back([&, i] {
            try {
                versions[i] = store->version();
                sizes[i] = store->load(catalog().get(i % 2 ? "erp" : "pei")).size();
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        });
    for (auto& t : readers) t.join();
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        EXPECT_EQ(errors[i], "") << i;
        EXPECT_EQ(sizes[i], i % 2 ? 0u : 1500u) << i;
        EXPECT_EQ(versions[i], 2) << i;
    }
}

TEST_P(StoreTest, HarvestStateIsSavedPerPartnerResourceAndRunsKeptNewestFirst) {
    auto store = open();
    EXPECT_FALSE(store->resource_state("sdis21", "https://example.org/pei.zip"));
    ResourceState s{"sdis21", "https://example.org/pei.zip", "\"abc\"", "Tue, 01 Dec 2026 10:00:00 GMT", "sha256:1", 42,
                    "2026-12-01T10:00:00Z", "page 1"};
    store->save_resource_state(s);
    s.etag = "\"def\"";
    s.records = 43;
    store->save_resource_state(s);  // the same resource: updated, not added
    store->save_resource_state({"sdis21", "https://example.org/other.csv", "", "", "sha256:2", 1, "", ""});
    store->save_resource_state({"sdis71", "https://example.org/pei.zip", "", "", "sha256:3", 7, "", ""});
    const auto got = store->resource_state("sdis21", "https://example.org/pei.zip");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->etag, "\"def\"");
    EXPECT_EQ(got->last_modified, s.last_modified);
    EXPECT_EQ(got->content_hash, "sha256:1");
    EXPECT_EQ(got->records, 43u);
    EXPECT_EQ(got->checked_at, "2026-12-01T10:00:00Z");
    EXPECT_EQ(got->detail, "page 1");
    const auto states = store->resource_states("sdis21");
    ASSERT_EQ(states.size(), 2u);
    EXPECT_EQ(states[1].resource, "https://example.org/other.csv");
    EXPECT_EQ(states[1].checked_at.size(), 20u) << "an empty checked_at is stamped with the time of saving";

    EXPECT_TRUE(store->harvest_runs().empty());
    store->record_harvest_run("run-1", "sdis21", R"({"ok":true})");
    store->record_harvest_run("run-1", "sdis71", R"({"ok":false})");
    store->record_harvest_run("run-2", "sdis21", R"({"ok":true})");
    const auto runs = store->harvest_runs(1);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].run_id, "run-2");
    const auto all = store->harvest_runs(20);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].run_id, "run-2");
    EXPECT_EQ(all[2].partner, "sdis21");
    EXPECT_EQ(all[1].report_json, R"({"ok":false})");
}

catalog::Record catalog_record(const std::string& partner, const std::string& remote_id, const std::string& hash) {
    catalog::Record r;
    r.partner = partner;
    r.remote_id = remote_id;
    r.id = partner + ":" + remote_id;
    r.title = "Points d'eau incendie " + remote_id;
    r.keywords = {"DECI", "hydrant"};
    r.harvested_at = "2026-12-01T10:00:00Z";
    r.modified = "2026-11-30";
    r.content_hash = hash;
    r.original = "<gmd:MD_Metadata>" + remote_id + " é</gmd:MD_Metadata>";
    r.original_format = "iso19139";
    return r;
}

TEST_P(StoreTest, CatalogueUpdateIsOnePublicationAndReadsBackWithAndWithoutOriginals) {
    auto store = open();
    CatalogUpdate first;
    first.upserts = {catalog_record("geo21", "b", "h-b"), catalog_record("geo21", "a", "h-a"),
                     catalog_record("geo21", "c", "h-c")};
    first.pages = {{"geo21", "https://geo21.example/csw?page=1", "", "", "p1", 3, "", "ids a b c"}};
    first.save_pages = true;
    first.pages_complete = true;
    const auto p = store->update_catalog("geo21", first, "{}");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->layer, "catalog");
    EXPECT_EQ(p->count, 3u);
    EXPECT_EQ(store->version(), p->version);
    store->update_catalog("ckan71", {{catalog_record("ckan71", "z", "h-z")}, {}, "", {}, false, false}, "{}");

    CatalogUpdate second;
    second.upserts = {catalog_record("geo21", "a", "h-a2")};
    second.withdrawn = {"geo21:c"};
    second.withdrawn_at = "2026-12-02T10:00:00Z";
    second.pages = {{"geo21", "https://geo21.example/csw?page=2", "", "", "p2", 1, "", ""}};
    second.save_pages = true;
    second.pages_complete = true;  // page 1 is gone from the partner's paging
    ASSERT_TRUE(store->update_catalog("geo21", second, "{}"));
    EXPECT_FALSE(store->update_catalog("geo21", {}, "{}")) << "nothing changed: no publication";
    EXPECT_EQ(store->version(), p->version + 2);

    const auto records = store->load_catalog_records("geo21");
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[0].id, "geo21:a");
    EXPECT_EQ(records[0].content_hash, "h-a2");
    EXPECT_EQ(records[0].title, "Points d'eau incendie a");
    EXPECT_EQ(records[0].keywords, (std::vector<std::string>{"DECI", "hydrant"}));
    EXPECT_EQ(records[0].original, "<gmd:MD_Metadata>a é</gmd:MD_Metadata>");
    EXPECT_TRUE(records[2].withdrawn);
    EXPECT_EQ(records[2].withdrawn_at, "2026-12-02T10:00:00Z");
    EXPECT_EQ(store->load_catalog_records().size(), 4u);
    const auto light = store->load_catalog_records("", false);
    ASSERT_EQ(light.size(), 4u);
    EXPECT_TRUE(light[0].original.empty());

    const auto entries = store->catalog_entries("geo21");
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(entries[1].id, "geo21:b");
    EXPECT_EQ(entries[1].remote_id, "b");
    EXPECT_TRUE(entries[2].withdrawn);
    const auto pages = store->resource_states("geo21");
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].resource, "https://geo21.example/csw?page=2");

    // The reader outlives the store that handed it out.
    catalog::OriginalSource read = store->catalog_original_reader();
    store.reset();
    EXPECT_EQ(read("geo21:b", "h-b"), "<gmd:MD_Metadata>b é</gmd:MD_Metadata>");
    EXPECT_FALSE(read("geo21:a", "h-a")) << "harvested again since: another hash";
    EXPECT_FALSE(read("geo21:nope", "h"));
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

TEST_P(StoreTest, FailedPublishLeavesPreviousVersionIntact) {
    auto store = open();
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

TEST_P(StoreTest, PublishRefusesAValueItsColumnCannotHoldAndNamesIt) {
    auto store = open();
    publish(*store, "sdis21", sdis21_features(20));
    auto features = sdis21_features(30);
    features[25].values[catalog().get("pei").field_index("date_maj")] = std::string("31/02/2024");
    try {
        publish(*store, "sdis21", features);
        FAIL() << "an unparsable date was stored";
    } catch (const Error& e) {
        const std::string msg = e.what();
        for (const std::string& part : {shown_name(), std::string("table pei"), features[25].id,
                                        std::string("date_maj"), std::string("31/02/2024")})
            EXPECT_NE(msg.find(part), std::string::npos) << part << " missing from: " << msg;
    }
    EXPECT_EQ(store->load(catalog().get("pei")).size(), 20u);
}

TEST_P(StoreTest, KilledPublishLeavesPreviousVersionIntact) {
    const auto features = sdis21_features(2000);
    const std::vector<Feature> previous(features.begin(), features.begin() + 500);
    std::int64_t version = 0;
    {
        auto store = open();
        version = publish(*store, "sdis21", previous).version;
    }

    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const rlimit no_core{0, 0};
        ::setrlimit(RLIMIT_CORE, &no_core);
        try {
            auto store = open();
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

    auto store = open();
    EXPECT_EQ(store->version(), version);
    EXPECT_EQ(store->load(catalog().get("pei")).size(), 500u);

    auto ds = open_in_gdal();
    ASSERT_TRUE(ds) << CPLGetLastErrorMsg();
    EXPECT_STREQ(ds->GetDriver()->GetDescription(), pg() ? "PostgreSQL" : "GPKG");
    ASSERT_NE(ds->GetLayerByName("pei"), nullptr);
    EXPECT_EQ(ds->GetLayerByName("pei")->GetFeatureCount(), 500);
}

TEST_P(StoreTest, ReaderNeverSeesHalfWrittenPublish) {
    const auto small = sdis21_features(1000);
    const auto large = sdis21_features(5000);
    { publish(*open(), "sdis21", small); }

    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        int code = 0;
        try {
            auto store = open();
            for (int i = 0; i < 6; ++i) publish(*store, "sdis21", i % 2 ? small : large);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "writer: %s\n", e.what());
            code = 1;
        }
        ::_exit(code);
    }
    auto store = open();
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

TEST_P(StoreTest, QuarantineIsKeptPerSource) {
    auto store = open();
    publish(*store, "sdis21", sdis21_features(10),
            {{3, "21001_1", "type_pei: unknown code \"HYDR\"", R"({"TYPE_PEI":"HYDR"})"},
             {7, "", "no identifier", R"({"INSEE":"21001"})"},
             {9, "21001_9", "type_pei: missing", "{}"}});
    publish(*store, "sdis71", {}, {{2, "71_2", "type_pei: missing", "{}"}, {4, "71_4", "type_pei: missing", "{}"}});
    publish(*store, "sdis21", sdis21_features(10), {{5, "21001_5", "type_pei: unknown code \"X\"", R"({"é":"à"})"}});

    auto ds = open_in_gdal();
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

TEST_P(StoreTest, VersionIncreasesWithEveryPublish) {
    auto store = open();
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

    // Another handle on the same store (the server's) sees the same counter.
    EXPECT_EQ(open()->version(), 3);
}

TEST_P(StoreTest, StoreOpensInGdalWithOneTablePerLayerAsQgisWouldSeeIt) {
    {
        auto store = open();
        publish(*store, "sdis21", sdis21_features(120));
        store->publish(catalog().get("erp"), "prefecture21", {}, {}, report_of("erp", "prefecture21", 0));
    }
    auto ds = open_in_gdal();
    ASSERT_TRUE(ds) << CPLGetLastErrorMsg();
    EXPECT_STREQ(ds->GetDriver()->GetDescription(), pg() ? "PostgreSQL" : "GPKG");
    std::set<std::string> tables;
    for (auto* l : ds->GetLayers()) tables.emplace(l->GetName());
    const std::set<std::string> expected{"erp", "erp_quarantine", "ideo_publications", "pei", "pei_quarantine"};
    if (pg())  // the database has the bookkeeping tables from the start
        EXPECT_TRUE(std::includes(tables.begin(), tables.end(), expected.begin(), expected.end()))
            << ::testing::PrintToString(tables);
    else
        EXPECT_EQ(tables, expected);

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

    OGRLayer* has_index = ds->ExecuteSQL(pg() ? "SELECT count(*) FROM pg_indexes WHERE tablename = 'pei' AND "
                                                "indexdef LIKE '%USING gist (geom)%'"
                                              : "SELECT HasSpatialIndex('pei', 'geom')",
                                         nullptr, nullptr);
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
TEST_P(StoreTest, RepublishingTwentyThousandFeaturesReplacesThemAll) {
    auto store = open();
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

TEST(PgStore, UnreachableDatabaseIsAClearErrorNamingItWithoutThePassword) {
    TempDir nowhere;  // no server listens on a socket here
    try {
        open_store("PG:host=" + nowhere.path().string() + " port=5999 dbname=ideo user=ideo password=secret");
        FAIL() << "no server, yet the store opened";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("PG:"), std::string::npos) << msg;
        EXPECT_NE(msg.find("dbname=ideo"), std::string::npos) << msg;
        EXPECT_NE(msg.find("cannot connect"), std::string::npos) << msg;
        EXPECT_EQ(msg.find("secret"), std::string::npos) << msg;
    }
}

TEST(PgStore, MalformedConnectionStringIsAClearError) {
    try {
        open_store("PG:dbname='unterminated password=secret");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("invalid PostgreSQL connection string"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
    }
}

// A database without PostGIS: the store creates the extension (the test cluster's role may) and its tables,
// with geometry columns registered where QGIS looks for them.
TEST(PgStore, FirstOpenCreatesPostgisAndTheTablesAndRegistersTheGeometryColumn) {
    auto& cluster = test::pg_cluster();
    const std::string db = cluster.new_bare_database();
    auto store = open_store(cluster.uri(db));
    EXPECT_EQ(store->version(), 0);
    EXPECT_EQ(cluster.query(db, "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'"), "1");
    publish(*store, "sdis21", sdis21_features(10));
    EXPECT_EQ(cluster.query(db, "SELECT type || ' ' || srid FROM geometry_columns WHERE f_table_name = 'pei' "
                                "AND f_geometry_column = 'geom'"),
              "POINT 4326");
    EXPECT_EQ(cluster.query(db, "SELECT count(*) FROM pei"), "10");
    // A second handle (another replica) finds everything in place.
    EXPECT_EQ(open_store(cluster.uri(db))->version(), 1);
}

// A replica's pooled connections dropped by the server (restart, failover): the next poll reconnects.
TEST(PgStore, IdleConnectionsDroppedByTheServerAreReopened) {
    auto& cluster = test::pg_cluster();
    const std::string db = cluster.new_database();
    auto store = open_store(cluster.uri(db));
    publish(*store, "sdis21", sdis21_features(10));
    EXPECT_EQ(store->version(), 1);
    EXPECT_EQ(cluster.query(db, "SELECT count(pg_terminate_backend(pid)) > 0 FROM pg_stat_activity WHERE datname = '" + db +
                                    "' AND pid <> pg_backend_pid()"),
              "t");
    EXPECT_EQ(store->version(), 1);
    EXPECT_EQ(store->load(catalog().get("pei")).size(), 10u);
}

// The harvester and an `ideo import` (or a server's background harvest) publishing at the same time:
// writers take turns, every publish gets its own version, and each source ends as its last publish left it.
TEST(PgStore, ConcurrentWritersTakeTurnsAndNumberTheirVersionsWithoutGaps) {
    auto& cluster = test::pg_cluster();
    const std::string db = cluster.new_database();
    const std::string uri = cluster.uri(db);
    open_store(uri);  // the tables, before the writers race
    std::vector<pid_t> writers;
    for (const std::string source : {"sdis21", "sdis71"}) {
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            int code = 0;
            try {
                auto store = open_store(uri);
                auto features = sdis21_features(800, source == "sdis71" ? "X71-" : "");
                for (auto& f : features) f.provenance.source = source;
                for (int i = 0; i < 5; ++i) publish(*store, source, features);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "writer %s: %s\n", source.c_str(), e.what());
                code = 1;
            }
            ::_exit(code);
        }
        writers.push_back(child);
    }
    for (const pid_t w : writers) {
        int status = 0;
        ASSERT_EQ(::waitpid(w, &status, 0), w);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    auto store = open_store(uri);
    EXPECT_EQ(store->version(), 10);
    const auto pubs = store->publications();
    ASSERT_EQ(pubs.size(), 10u);
    for (std::size_t i = 0; i < pubs.size(); ++i) EXPECT_EQ(pubs[i].version, static_cast<std::int64_t>(10 - i));
    const auto loaded = store->load(catalog().get("pei"));
    EXPECT_EQ(count_from(loaded, "sdis21"), 800u);
    EXPECT_EQ(count_from(loaded, "sdis71"), 800u);
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


TEST_P(StoreTest, ApiKeysAreStoredAsTheirHashFoundByItAndRevocable) {
    auto store = open();
    Organisation belfort{"Mairie de Belfort", access::OrgKind::Commune, false, {"90010"}, {}};
    store->save_organisation(belfort);
    store->save_organisation({"SDIS 90", access::OrgKind::Sdis, false, {}, {"90"}});
    belfort.adherent = true;  // promoting a commune is one change
    store->save_organisation(belfort);
    const auto orgs = store->organisations();
    ASSERT_EQ(orgs.size(), 2u);
    EXPECT_EQ(orgs[0].name, "Mairie de Belfort");
    EXPECT_TRUE(orgs[0].adherent);
    EXPECT_EQ(orgs[0].insee, std::vector<std::string>{"90010"});
    EXPECT_EQ(orgs[1].kind, access::OrgKind::Sdis);
    EXPECT_EQ(orgs[1].depts, std::vector<std::string>{"90"});

    const auto [record, key] = create_api_key(*store, "Mairie de Belfort", access::Role::Member, "2099-12-31");
    EXPECT_EQ(key.rfind("ideo_", 0), 0u);
    EXPECT_EQ(key.size(), 5u + 43u);  // 32 bytes in base64url, unpadded
    EXPECT_EQ(key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 5), std::string::npos);
    EXPECT_NE(create_api_key(*store, "SDIS 90", access::Role::Sdis, "").second, key);
    EXPECT_THROW(create_api_key(*store, "Nobody", access::Role::Member, ""), InputError);
    EXPECT_THROW(create_api_key(*store, "SDIS 90", access::Role::Sdis, "31/12/2099"), InputError);

    // Only the hash is kept: the key itself is nowhere in what the store lists.
    const auto keys = store->api_keys();
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[0].id, record.id);
    EXPECT_EQ(keys[0].key_hash, api_key_hash(key));
    EXPECT_EQ(keys[0].key_hash.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(keys[0].key_hash.size(), 64u);
    EXPECT_EQ(keys[0].expires, "2099-12-31");
    EXPECT_TRUE(keys[0].last_used.empty());

    const auto found = store->find_api_key(api_key_hash(key));
    ASSERT_TRUE(found);
    const access::Identity id = found->identity();
    EXPECT_EQ(id.role, access::Role::Member);
    EXPECT_EQ(id.subject, record.id);
    EXPECT_EQ(id.organisation, "Mairie de Belfort");
    EXPECT_TRUE(id.adherent);
    EXPECT_TRUE(id.covers("90010"));
    EXPECT_FALSE(id.covers("90011"));
    EXPECT_EQ(id.via, "apikey");
    EXPECT_FALSE(store->find_api_key(api_key_hash(key + "x")));
    EXPECT_FALSE(found->key.expired("2099-12-31T23:59:59Z"));
    EXPECT_TRUE(found->key.expired("2100-01-01T00:00:00Z"));

    store->record_key_uses({{record.id, "2026-12-04T02:00:00Z"}});
    EXPECT_EQ(store->find_api_key(api_key_hash(key))->key.last_used, "2026-12-04T02:00:00Z");

    EXPECT_TRUE(store->revoke_api_key(record.id));
    EXPECT_FALSE(store->revoke_api_key("k-000000000000"));
    EXPECT_TRUE(store->find_api_key(api_key_hash(key))->key.revoked);  // found, and said revoked
    EXPECT_TRUE(open()->api_keys()[0].revoked);
    EXPECT_FALSE(open()->api_keys()[1].revoked);
}

}  // namespace
}  // namespace ideo::store
