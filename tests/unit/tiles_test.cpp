// Vector tiles decoded by an independent decoder (GDAL's MVT driver) against index queries.
#include <gtest/gtest.h>

#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <ogr_api.h>
#include <ogrsf_frmts.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include <protozero/pbf_reader.hpp>
#include <protozero/pbf_writer.hpp>

#include "ideo/cli/snapshot_loader.hpp"
#include "ideo/core/error.hpp"
#include "ideo/deci/coverage.hpp"
#include "ideo/harvest/pipeline.hpp"
#include "ideo/index/snapshot.hpp"
#include "ideo/store/store.hpp"
#include "ideo/tiles/coverage_layer.hpp"
#include "ideo/tiles/mvt.hpp"
#include "ideo/tiles/renderer.hpp"
#include "test_support.hpp"
#include "../../src/tiles/shapes.hpp"

using namespace ideo;
using ideo::tiles::TileId;

namespace {

class TilesBelfort : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        GDALAllRegister();
        tmp_ = new test::TempDir();
        catalog_ = new LayerCatalog(load_layers(test::layers_dir()));
        auto store = store::open_store((tmp_->path() / "ideo.gpkg").string());
        const auto& communes = catalog_->get("communes");
        harvest::import_file(communes, harvest::source_for(communes, test::data("communes/communes-90-territoire-de-belfort.geojson").string()),
                             test::data("communes/communes-90-territoire-de-belfort.geojson").string(), nullptr, store.get());
        auto index = harvest::load_communes(*catalog_, store.get());
        const auto& pei = catalog_->get("pei");
        const std::string pei_file = test::data("deci/d_pei_cd90_p.zip").string();
        harvest::import_file(pei, harvest::source_for(pei, pei_file), pei_file, index.get(), store.get());
        snapshot_ = new std::shared_ptr<const index::Snapshot>(cli::load_snapshot(*store, *catalog_));
        renderer_ = new tiles::TileRenderer(**snapshot_);
    }
    static void TearDownTestSuite() {
        delete renderer_;
        delete snapshot_;
        delete catalog_;
        delete tmp_;
    }

    // Decodes one layer of a tile with GDAL: feature "id" property -> (x, y) in EPSG:3857 (or point_count for clusters).
    struct Decoded {
        std::map<std::string, std::pair<double, double>> points;
        long cluster_points = 0;
        long polygons = 0;
        bool all_valid = true;
    };
    static Decoded decode(const std::string& bytes, TileId t, const std::string& layer) {
        Decoded d;
        const std::string path = "/vsimem/tiles_test_" + std::to_string(t.z) + "_" + std::to_string(t.x) + "_" +
                                 std::to_string(t.y) + ".pbf";
        VSILFILE* f = VSIFileFromMemBuffer(path.c_str(), reinterpret_cast<GByte*>(const_cast<char*>(bytes.data())),
                                           bytes.size(), FALSE);
        VSIFCloseL(f);
        const std::string x = "X=" + std::to_string(t.x), y = "Y=" + std::to_string(t.y), z = "Z=" + std::to_string(t.z);
        const char* options[] = {x.c_str(), y.c_str(), z.c_str(), "CLIP=NO", nullptr};  // keep the buffer
        const char* drivers[] = {"MVT", nullptr};
        GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR, drivers, options));
        if (ds) {
            if (OGRLayer* l = ds->GetLayerByName(layer.c_str())) {
                for (auto& feat : *l) {
                    const OGRGeometry* g = feat->GetGeometryRef();
                    if (!g) continue;
                    const int pc = feat->GetFieldIndex("point_count");
                    const int cl = feat->GetFieldIndex("cluster");
                    if (wkbFlatten(g->getGeometryType()) == wkbPoint) {
                        const auto* p = g->toPoint();
                        if (cl >= 0 && feat->IsFieldSetAndNotNull(cl)) {
                            d.cluster_points += feat->GetFieldAsInteger64(pc);
                        } else {
                            d.points[feat->GetFieldAsString("id")] = {p->getX(), p->getY()};
                            if (pc >= 0 && feat->IsFieldSetAndNotNull(pc)) d.cluster_points += 1;
                        }
                    } else {
                        d.polygons++;
                        d.all_valid = d.all_valid && g->IsValid();
                    }
                }
            }
        }
        VSIUnlink(path.c_str());
        return d;
    }

    static test::TempDir* tmp_;
    static LayerCatalog* catalog_;
    static std::shared_ptr<const index::Snapshot>* snapshot_;
    static tiles::TileRenderer* renderer_;
};

test::TempDir* TilesBelfort::tmp_ = nullptr;
LayerCatalog* TilesBelfort::catalog_ = nullptr;
std::shared_ptr<const index::Snapshot>* TilesBelfort::snapshot_ = nullptr;
tiles::TileRenderer* TilesBelfort::renderer_ = nullptr;

TileId tile_of(double lon, double lat, int z) {
    const auto w = tiles::lonlat_to_world(lon, lat);
    const double n = static_cast<double>(1u << z);
    return {z, static_cast<std::uint32_t>(w.x * n), static_cast<std::uint32_t>(w.y * n)};
}

}  // namespace

TEST_F(TilesBelfort, PointTileHoldsExactlyTheFeaturesOfItsBufferedExtent) {
    const auto* pei = (*snapshot_)->layer("pei");
    ASSERT_NE(pei, nullptr);
    const TileId t = tile_of(6.8628, 47.6380, 15);  // Belfort's centre, above the cluster zooms
    const std::string bytes = renderer_->render({"pei"}, t);
    ASSERT_FALSE(bytes.empty());
    const auto decoded = decode(bytes, t, "pei");

    std::vector<std::uint32_t> hits;
    pei->rtree.search(tiles::tile_lonlat_bounds(t, renderer_->options().buffer), hits);
    std::set<std::string> expected, got;
    for (auto i : hits) expected.insert(pei->features[i].id);
    for (const auto& [id, xy] : decoded.points) got.insert(id);
    EXPECT_EQ(got, expected);
    EXPECT_GT(got.size(), 5u);

    // Coordinates round-trip within one tile unit (1/4096 of the tile).
    const double unit_m = 2 * M_PI * 6378137.0 / (1u << t.z) / 4096.0;
    for (auto i : hits) {
        const auto& f = pei->features[i];
        const double mx = f.geometry.envelope.min_x * M_PI / 180.0 * 6378137.0;
        const double my = std::log(std::tan(M_PI / 4 + f.geometry.envelope.min_y * M_PI / 360.0)) * 6378137.0;
        const auto it = decoded.points.find(f.id);
        ASSERT_NE(it, decoded.points.end());
        EXPECT_NEAR(it->second.first, mx, unit_m) << f.id;
        EXPECT_NEAR(it->second.second, my, unit_m) << f.id;
    }
}

TEST_F(TilesBelfort, ClustersAddUpToThePointsTheyReplace) {
    const auto* pei = (*snapshot_)->layer("pei");
    ASSERT_LT(8, pei->spec.tiles.cluster_below);
    std::size_t located = 0;
    for (const auto& f : pei->features) located += f.geometry.empty() ? 0 : 1;
    const int z = 9;
    const TileId a = tile_of(pei->extent.min_x, pei->extent.max_y, z);
    const TileId b = tile_of(pei->extent.max_x, pei->extent.min_y, z);
    long total = 0;
    for (auto x = a.x; x <= b.x; ++x)
        for (auto y = a.y; y <= b.y; ++y) {
            const TileId t{z, x, y};
            const auto bytes = renderer_->render({"pei"}, t);
            if (!bytes.empty()) total += decode(bytes, t, "pei").cluster_points;
        }
    EXPECT_EQ(total, static_cast<long>(located));
}

TEST_F(TilesBelfort, CommunePolygonsAreClippedValidAndWound) {
    const TileId t = tile_of(6.8628, 47.6380, 11);
    const std::string bytes = renderer_->render({"communes"}, t);
    ASSERT_FALSE(bytes.empty());
    const auto decoded = decode(bytes, t, "communes");
    EXPECT_GT(decoded.polygons, 3);
    EXPECT_TRUE(decoded.all_valid);
}

TEST_F(TilesBelfort, SeveralLayersShareOneTileAndEmptyTilesAreEmpty) {
    const TileId t = tile_of(6.8628, 47.6380, 14);
    const std::string both = renderer_->render({"communes", "pei"}, t);
    EXPECT_FALSE(decode(both, t, "pei").points.empty());
    EXPECT_GT(decode(both, t, "communes").polygons, 0);
    EXPECT_TRUE(renderer_->render({"pei"}, tile_of(-40.0, 10.0, 14)).empty()) << "mid-Atlantic";
    EXPECT_THROW(renderer_->render({"hydrants"}, t), ideo::InputError);
}

// Label points: each commune once per zoom (in the one tile that holds its point), inside its polygon.
TEST_F(TilesBelfort, CommuneLabelPointsAreOnePerCommuneAndInsideIt) {
    const auto* communes = (*snapshot_)->layer("communes");
    ASSERT_LE(communes->spec.tiles.label_points_minzoom, 10);
    const int z = 10;
    const TileId a = tile_of(communes->extent.min_x, communes->extent.max_y, z);
    const TileId b = tile_of(communes->extent.max_x, communes->extent.min_y, z);
    std::map<std::string, int> seen;
    std::map<std::string, std::pair<double, double>> where;
    for (auto x = a.x; x <= b.x; ++x)
        for (auto y = a.y; y <= b.y; ++y) {
            const TileId t{z, x, y};
            for (const auto& [code, xy] : decode(renderer_->render({"communes"}, t), t, "communes").points) {
                seen[code]++;
                where[code] = xy;
            }
        }
    OGRSpatialReference mercator;
    mercator.importFromEPSG(3857);
    mercator.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    OGRSpatialReference wgs84;
    wgs84.importFromEPSG(4326);
    wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    std::size_t checked = 0;
    for (const auto& f : communes->features) {
        SCOPED_TRACE(f.id);
        EXPECT_EQ(seen[f.id], 1);
        OGRGeometry* g = nullptr;
        ASSERT_EQ(OGRGeometryFactory::createFromWkb(f.geometry.wkb.data(), &wgs84, &g, f.geometry.wkb.size()), OGRERR_NONE);
        std::unique_ptr<OGRGeometry> polygon(g);
        polygon->transformTo(&mercator);
        OGRPoint p(where[f.id].first, where[f.id].second);
        EXPECT_TRUE(polygon->Contains(&p));
        ++checked;
    }
    EXPECT_GT(checked, 90u) << "the Territoire de Belfort has 101 communes";
    EXPECT_TRUE(decode(renderer_->render({"communes"}, tile_of(6.8628, 47.6380, 8)), tile_of(6.8628, 47.6380, 8), "communes")
                    .points.empty())
        << "no label points below label_points_minzoom";
}

// The coverage layer, decoded by GDAL and clipped to each tile's own extent, adds up to the commune's
// uncovered area computed by the DECI module in Lambert-93.
TEST_F(TilesBelfort, CoverageTilesHoldTheCommunesUncoveredZones) {
    const auto& snapshot = **snapshot_;
    const auto rules = deci::cached_rules(snapshot, "90");
    const std::string insee = "90010";
    const auto coverage = deci::cached_coverage(snapshot, *rules, insee, deci::Mode::Straight);
    const double expected = coverage->area_m2 - coverage->covered_m2;
    ASSERT_GT(expected, 1e5) << "Belfort has gaps to draw";

    const auto* communes = snapshot.layer("communes");
    const Envelope e = communes->features[communes->by_id.at(insee)].geometry.envelope;
    const int z = 13;
    const TileId a = tile_of(e.min_x, e.max_y, z), b = tile_of(e.max_x, e.min_y, z);
    double area = 0;
    std::size_t features = 0;
    for (auto x = a.x; x <= b.x; ++x)
        for (auto y = a.y; y <= b.y; ++y) {
            const TileId t{z, x, y};
            const std::string bytes = renderer_->render({"coverage"}, t);
            if (bytes.empty()) continue;
            const std::string path = "/vsimem/coverage_" + std::to_string(x) + "_" + std::to_string(y) + ".pbf";
            VSIFCloseL(VSIFileFromMemBuffer(path.c_str(), reinterpret_cast<GByte*>(const_cast<char*>(bytes.data())), bytes.size(), FALSE));
            const std::string ox = "X=" + std::to_string(x), oy = "Y=" + std::to_string(y), oz = "Z=" + std::to_string(z);
            const char* options[] = {ox.c_str(), oy.c_str(), oz.c_str(), "CLIP=YES", nullptr};  // each tile's own extent
            const char* drivers[] = {"MVT", nullptr};
            GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR, drivers, options));
            ASSERT_TRUE(ds);
            OGRLayer* layer = ds->GetLayerByName("coverage");
            ASSERT_NE(layer, nullptr);
            for (auto& f : *layer) {
                EXPECT_STREQ(f->GetFieldAsString("mode"), "straight");
                if (std::string(f->GetFieldAsString("insee")) != insee) continue;
                EXPECT_NEAR(f->GetFieldAsDouble("covered_share"), coverage->covered_share, 0.001);
                const OGRGeometry* g = f->GetGeometryRef();
                ASSERT_NE(g, nullptr);
                EXPECT_TRUE(g->IsValid());
                OGREnvelope env;
                g->getEnvelope(&env);
                // Web Mercator stretches lengths by 1 / cos(latitude): areas by its square.
                const double lat = std::atan(std::sinh((env.MinY + env.MaxY) / 2 / 6378137.0));
                area += OGR_G_Area(OGRGeometry::ToHandle(const_cast<OGRGeometry*>(g))) * std::cos(lat) * std::cos(lat);
                ++features;
            }
            ds.reset();
            VSIUnlink(path.c_str());
        }
    EXPECT_GT(features, 0u);
    EXPECT_NEAR(area, expected, 0.02 * expected);
    EXPECT_TRUE(renderer_->render({"coverage"}, tile_of(6.8628, 47.6380, tiles::CoverageLayerSettings::minzoom - 1)).empty());
}

// Calls fn(OGRFeature&) for each feature of one layer of a tile, decoded by GDAL with the buffer kept.
template <class Fn>
void for_each_decoded(const std::string& bytes, TileId t, const std::string& layer, Fn fn) {
    const std::string path = "/vsimem/tiles_each_" + std::to_string(t.z) + "_" + std::to_string(t.x) + "_" + std::to_string(t.y) + ".pbf";
    VSIFCloseL(VSIFileFromMemBuffer(path.c_str(), reinterpret_cast<GByte*>(const_cast<char*>(bytes.data())), bytes.size(), FALSE));
    const std::string x = "X=" + std::to_string(t.x), y = "Y=" + std::to_string(t.y), z = "Z=" + std::to_string(t.z);
    const char* options[] = {x.c_str(), y.c_str(), z.c_str(), "CLIP=NO", nullptr};
    const char* drivers[] = {"MVT", nullptr};
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR, drivers, options));
        ASSERT_TRUE(ds);
        OGRLayer* l = ds->GetLayerByName(layer.c_str());
        ASSERT_NE(l, nullptr);
        for (auto& f : *l) fn(*f);
    }
    VSIUnlink(path.c_str());
}

// A decoded field holds the value: GDAL types a field from all its values (integers and doubles make a Real).
::testing::AssertionResult holds_value(const OGRFeature& f, const char* name, const Value& v) {
    const int i = f.GetFieldIndex(name);
    const bool set = i >= 0 && f.IsFieldSetAndNotNull(i);
    if (is_null(v)) return set ? ::testing::AssertionFailure() << name << " set for a null" : ::testing::AssertionSuccess();
    if (!set) return ::testing::AssertionFailure() << name << " missing";
    const OGRFieldType type = f.GetFieldDefnRef(i)->GetType();
    bool ok = false;
    if (type == OFTString) ok = f.GetFieldAsString(i) == to_text(v);
    else if (v.index() == 1 && type != OFTReal) ok = f.GetFieldAsInteger64(i) == std::get<std::int64_t>(v);
    else if (v.index() == 1) ok = f.GetFieldAsDouble(i) == static_cast<double>(std::get<std::int64_t>(v));
    else if (v.index() == 2) ok = f.GetFieldAsDouble(i) == std::get<double>(v);
    if (ok) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << name << ": decoded " << f.GetFieldAsString(i) << ", expected " << to_text(v);
}

// Every property of every point is the feature's value, the key and value tables resolved right.
TEST_F(TilesBelfort, PointPropertiesAreTheFeaturesValues) {
    const auto* pei = (*snapshot_)->layer("pei");
    for (const int z : {13, 15}) {
        const TileId t = tile_of(6.8628, 47.6380, z);
        std::size_t features = 0, values = 0;
        for_each_decoded(renderer_->render({"pei"}, t), t, "pei", [&](OGRFeature& f) {
            const std::string id = f.GetFieldAsString("id");
            const auto it = pei->by_id.find(id);
            ASSERT_NE(it, pei->by_id.end()) << id;
            const Feature& expected = pei->features[it->second];
            for (const auto& name : pei->spec.tiles.properties) {
                const auto field = std::find_if(pei->spec.fields.begin(), pei->spec.fields.end(), [&](const auto& fd) { return fd.name == name; });
                ASSERT_NE(field, pei->spec.fields.end());
                const Value& v = expected.values[field - pei->spec.fields.begin()];
                EXPECT_TRUE(holds_value(f, name.c_str(), v)) << id;
                values += is_null(v) ? 0 : 1;
            }
            ++features;
        });
        EXPECT_GT(features, 5u) << z;
        EXPECT_GT(values, features * 5) << z;
    }
}

// Clusters against their cells computed here: each cell of the global grid (cell_px 64: 4 x 4 cells a tile)
// is one feature of its tile, a cluster with its count, available count and shares, or its single point.
TEST_F(TilesBelfort, ClusterCountsAndSharesAreThoseOfTheirCells) {
    const auto* pei = (*snapshot_)->layer("pei");
    ASSERT_EQ(pei->spec.tiles.cluster_cell_px, 64);
    const int disponible = static_cast<int>(std::find_if(pei->spec.fields.begin(), pei->spec.fields.end(),
                                                         [](const auto& fd) { return fd.name == "disponible"; }) - pei->spec.fields.begin());
    const double earth = 2 * M_PI * 6378137.0;
    long clusters = 0;
    for (const int z : {8, 10, 11}) {
        SCOPED_TRACE(z);
        const double n = static_cast<double>(1u << z);
        struct Cell {
            long count = 0, available = 0;
            double sx = 0, sy = 0;
            std::string id;
            bool seen = false;
        };
        std::map<std::tuple<std::uint32_t, std::uint32_t, int, int>, Cell> cells;
        for (const auto& f : pei->features) {
            if (f.geometry.empty()) continue;
            const auto w = tiles::lonlat_to_world(f.geometry.envelope.min_x, f.geometry.envelope.min_y);
            const auto tx = static_cast<std::uint32_t>(std::floor(w.x * n)), ty = static_cast<std::uint32_t>(std::floor(w.y * n));
            Cell& c = cells[{tx, ty, static_cast<int>((w.x * n - tx) * 4), static_cast<int>((w.y * n - ty) * 4)}];
            c.count++;
            c.available += equals_text(f.values[disponible], "1") ? 1 : 0;
            c.sx += w.x;
            c.sy += w.y;
            if (c.id.empty()) c.id = f.id;
        }
        std::set<std::pair<std::uint32_t, std::uint32_t>> tiles;
        for (const auto& [key, c] : cells) tiles.insert({std::get<0>(key), std::get<1>(key)});
        for (const auto& [tx, ty] : tiles) {
            const TileId t{z, tx, ty};
            for_each_decoded(renderer_->render({"pei"}, t), t, "pei", [&](OGRFeature& f) {
                const auto* p = f.GetGeometryRef()->toPoint();
                const double ux = ((p->getX() / earth + 0.5) * n - tx) * 4096, uy = ((0.5 - p->getY() / earth) * n - ty) * 4096;
                // The cell the decoded point falls in, or for a cluster the one whose mean it is.
                Cell* found = nullptr;
                const int cluster_field = f.GetFieldIndex("cluster");  // absent from a tile without clusters
                const bool cluster = cluster_field >= 0 && f.IsFieldSetAndNotNull(cluster_field);
                for (auto& [key, c] : cells) {
                    if (std::get<0>(key) != tx || std::get<1>(key) != ty) continue;
                    if (cluster ? c.count > 1 && std::hypot((c.sx / c.count * n - tx) * 4096 - ux, (c.sy / c.count * n - ty) * 4096 - uy) <= 1
                                : c.count == 1 && c.id == f.GetFieldAsString("id"))
                        found = &c;
                }
                ASSERT_NE(found, nullptr) << (cluster ? "cluster" : f.GetFieldAsString("id")) << " at " << ux << ", " << uy;
                EXPECT_FALSE(found->seen) << "one feature per cell";
                found->seen = true;
                EXPECT_EQ(f.GetFieldAsInteger64("point_count"), found->count);
                if (!cluster) return;
                ++clusters;
                EXPECT_EQ(f.GetFieldAsInteger64("available_count"), found->available);
                EXPECT_EQ(f.GetFieldAsDouble("available_share"), std::round(1000.0 * found->available / found->count) / 1000.0);
                const auto compliant = f.GetFieldAsInteger64("compliant_count");
                EXPECT_LE(compliant, found->available);
                EXPECT_EQ(f.GetFieldAsDouble("compliant_share"), std::round(1000.0 * compliant / found->count) / 1000.0);
            });
        }
        for (const auto& [key, c] : cells) EXPECT_TRUE(c.seen) << "a cell without its feature: " << c.id;
    }
    EXPECT_GT(clusters, 10);
}

TEST(MvtEncoding, RingAreaSignFollowsTheSpec) {
    // Clockwise on screen (y down) is positive: the exterior ring orientation of MVT 2.1.
    const tiles::TileRing cw{{0, 0}, {10, 0}, {10, 10}, {0, 10}};
    EXPECT_GT(tiles::ring_area(cw), 0);
}

// Lines: real BD TOPO road segments of Marseille 10e, in a line layer built for the test.
TEST(TilesLines, RoadSegmentsAreClippedAndEncodedAsLines) {
    GDALAllRegister();
    const LayerSpec spec = parse_layer(R"({"id": "roads", "geometry": "line", "id_field": "id",
        "fields": [{"name": "id", "type": "string"}, {"name": "nature", "type": "string"}]})", "roads-test.json");
    GDALDatasetUniquePtr ds(GDALDataset::Open(test::data("roads/troncon_route_marseille10.gpkg").c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds);
    OGRLayer* layer = ds->GetLayer(0);
    OGRSpatialReference wgs84;
    wgs84.importFromEPSG(4326);
    wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    std::vector<Feature> features;
    for (auto& f : *layer) {
        OGRGeometry* g = f->GetGeometryRef();
        if (!g) continue;
        g->transformTo(&wgs84);
        g->flattenTo2D();
        Feature out;
        out.id = std::to_string(f->GetFID());
        out.values = {Value{out.id}, Value{std::string(f->GetFieldAsString("nature"))}};
        out.geometry.wkb.resize(g->WkbSize());
        g->exportToWkb(wkbNDR, reinterpret_cast<unsigned char*>(out.geometry.wkb.data()), wkbVariantIso);
        OGREnvelope e;
        g->getEnvelope(&e);
        out.geometry.envelope.expand(e.MinX, e.MinY);
        out.geometry.envelope.expand(e.MaxX, e.MaxY);
        features.push_back(std::move(out));
    }
    ASSERT_GT(features.size(), 2000u);
    auto snapshot = std::make_shared<index::Snapshot>();
    snapshot->layers.emplace("roads", index::make_layer_data(spec, std::move(features), ""));
    tiles::TileRenderer renderer(*snapshot);
    const TileId t = tile_of(5.40, 43.28, 15);
    const std::string bytes = renderer.render({"roads"}, t);
    ASSERT_FALSE(bytes.empty());

    const auto& roads = *snapshot->layer("roads");
    std::vector<std::uint32_t> hits;
    roads.rtree.search(tiles::tile_lonlat_bounds(t, renderer.options().buffer), hits);
    std::set<std::string> candidates;
    for (auto i : hits) candidates.insert(roads.features[i].id);

    const std::string path = "/vsimem/tiles_test_roads.pbf";
    VSILFILE* f = VSIFileFromMemBuffer(path.c_str(), reinterpret_cast<GByte*>(const_cast<char*>(bytes.data())), bytes.size(), FALSE);
    VSIFCloseL(f);
    const std::string x = "X=" + std::to_string(t.x), y = "Y=" + std::to_string(t.y), z = "Z=" + std::to_string(t.z);
    const char* options[] = {x.c_str(), y.c_str(), z.c_str(), "CLIP=NO", nullptr};
    const char* drivers[] = {"MVT", nullptr};
    GDALDatasetUniquePtr mvt(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR, drivers, options));
    ASSERT_TRUE(mvt);
    OGRLayer* decoded = mvt->GetLayerByName("roads");
    ASSERT_NE(decoded, nullptr);
    std::size_t lines = 0;
    for (auto& feat : *decoded) {
        const auto type = wkbFlatten(feat->GetGeometryRef()->getGeometryType());
        EXPECT_TRUE(type == wkbLineString || type == wkbMultiLineString);
        EXPECT_TRUE(candidates.count(feat->GetFieldAsString("id"))) << "a line from outside the buffered tile";
        ++lines;
    }
    VSIUnlink(path.c_str());
    EXPECT_GT(lines, candidates.size() / 2) << "most candidate segments cross the tile";
}

// --- LayerBuilder against protozero: the tile decoded with pbf_reader, then written again with pbf_writer the
// plain way (each feature and layer a message of its own): the builder, which writes everything in place,
// must give the same bytes, and the content it was given.
namespace {

struct DecodedFeature {
    std::uint64_t id = 0;
    std::vector<std::uint32_t> tags, geometry;
    std::uint32_t type = 0;
};
struct DecodedLayer {
    std::uint32_t version = 0, extent = 0;
    std::string name;
    std::vector<DecodedFeature> features;
    std::vector<std::string> keys, values;  // values as their encoded Value messages
};

std::vector<DecodedLayer> decode_tile(const std::string& bytes) {
    std::vector<DecodedLayer> layers;
    protozero::pbf_reader tile(bytes);
    while (tile.next()) {
        EXPECT_EQ(tile.tag(), 3u) << "Tile.layers";
        protozero::pbf_reader l = tile.get_message();
        DecodedLayer& layer = layers.emplace_back();
        while (l.next()) {
            switch (l.tag()) {
                case 15: layer.version = l.get_uint32(); break;
                case 1: layer.name = l.get_string(); break;
                case 3: layer.keys.push_back(l.get_string()); break;
                case 4: layer.values.push_back(l.get_string()); break;
                case 5: layer.extent = l.get_uint32(); break;
                case 2: {
                    protozero::pbf_reader f = l.get_message();
                    DecodedFeature& feature = layer.features.emplace_back();
                    while (f.next()) {
                        switch (f.tag()) {
                            case 1: feature.id = f.get_uint64(); break;
                            case 2: for (auto v : f.get_packed_uint32()) feature.tags.push_back(v); break;
                            case 3: feature.type = f.get_enum(); break;
                            case 4: for (auto v : f.get_packed_uint32()) feature.geometry.push_back(v); break;
                            default: ADD_FAILURE() << "feature field " << f.tag(); f.skip();
                        }
                    }
                    break;
                }
                default: ADD_FAILURE() << "layer field " << l.tag(); l.skip();
            }
        }
    }
    return layers;
}

std::string encode_plainly(const std::vector<DecodedLayer>& layers) {
    std::string tile;
    protozero::pbf_writer t(tile);
    for (const auto& layer : layers) {
        std::string bytes;
        protozero::pbf_writer l(bytes);
        l.add_uint32(15, layer.version);
        l.add_string(1, layer.name);
        for (const auto& feature : layer.features) {
            std::string fb;
            protozero::pbf_writer f(fb);
            f.add_uint64(1, feature.id);
            f.add_packed_uint32(2, feature.tags.begin(), feature.tags.end());
            f.add_enum(3, static_cast<std::int32_t>(feature.type));
            f.add_packed_uint32(4, feature.geometry.begin(), feature.geometry.end());
            l.add_message(2, fb);
        }
        for (const auto& k : layer.keys) l.add_string(3, k);
        for (const auto& v : layer.values) l.add_message(4, v);
        l.add_uint32(5, layer.extent);
        t.add_message(3, bytes);
    }
    return tile;
}

std::uint32_t zigzag(std::int32_t v) { return (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31); }

}  // namespace

// Layers of 1 to 4-byte lengths (the builder reserves 3 and moves the others), with an empty layer between.
TEST(MvtEncoding, LayersOfEverySizeAreWhatProtozeroDecodesAndWrites) {
    std::set<std::size_t> length_bytes;
    for (const std::size_t n : {1, 40, 2000, 150000}) {
        SCOPED_TRACE(n);
        std::string tile;
        {
            tiles::LayerBuilder a(tile, "a", 4096);
            const auto kind = a.key_index("kind"), rank = a.key_index("rank");
            for (std::size_t i = 0; i < n; ++i) {
                a.add_property(kind, Value{std::string(i % 3 ? "PI" : "BI")});
                a.add_property(rank, Value{static_cast<std::int64_t>(i % 300) - 100});
                a.add_property(rank, Value{});  // null: no tag
                a.add_point(i, {static_cast<std::int32_t>(i % 4096), -static_cast<std::int32_t>(i % 97)});
            }
            EXPECT_EQ(a.size(), n);
            a.finish();
        }
        const std::size_t after_a = tile.size();
        ASSERT_EQ(tile[0], '\x1a');
        length_bytes.insert(std::find_if(tile.begin() + 1, tile.end(), [](char c) { return !(c & 0x80); }) - tile.begin());
        {
            tiles::LayerBuilder empty(tile, "nothing", 4096);
            empty.add_property("k", Value{1.5});
            EXPECT_EQ(empty.finish(), 0u);
        }
        EXPECT_EQ(tile.size(), after_a);
        {
            tiles::LayerBuilder b(tile, "b", 512);
            b.add_property("name", Value{std::string("Belfort")});
            const std::vector<tiles::TileRing> rings{{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}}, {{2, 2}, {2, 4}, {4, 4}}};
            b.add_polygon(7, rings);
            b.add_linestring(1ull << 63, {{1, 1}, {-5, 3}});
            EXPECT_GT(b.finish(), 0u);
        }
        const auto layers = decode_tile(tile);
        ASSERT_EQ(layers.size(), 2u);
        EXPECT_EQ(tile, encode_plainly(layers));

        const auto& a = layers[0];
        EXPECT_EQ(a.name, "a");
        EXPECT_EQ(a.version, 2u);
        EXPECT_EQ(a.extent, 4096u);
        EXPECT_EQ(a.keys, (std::vector<std::string>{"kind", "rank"}));
        ASSERT_EQ(a.features.size(), n);
        std::set<std::string> distinct(a.values.begin(), a.values.end());
        EXPECT_EQ(distinct.size(), a.values.size()) << "values deduplicated";
        for (std::size_t i = 0; i < n; ++i) {
            const auto& f = a.features[i];
            ASSERT_EQ(f.id, i);
            EXPECT_EQ(f.type, 1u);
            EXPECT_EQ(f.geometry, (std::vector<std::uint32_t>{9, zigzag(static_cast<std::int32_t>(i % 4096)), zigzag(-static_cast<std::int32_t>(i % 97))}));
            ASSERT_EQ(f.tags.size(), 4u);
            EXPECT_EQ(f.tags[0], 0u);
            EXPECT_EQ(a.values.at(f.tags[1]), tiles::encode_value(Value{std::string(i % 3 ? "PI" : "BI")}));
            EXPECT_EQ(f.tags[2], 1u);
            EXPECT_EQ(a.values.at(f.tags[3]), tiles::encode_value(Value{static_cast<std::int64_t>(i % 300) - 100}));
        }

        const auto& b = layers[1];
        EXPECT_EQ(b.name, "b");
        EXPECT_EQ(b.extent, 512u);
        ASSERT_EQ(b.features.size(), 2u);
        EXPECT_EQ(b.features[0].id, 7u);
        EXPECT_EQ(b.features[0].type, 3u);
        // Exterior without its closing point, then the hole, the cursor carried over; ClosePath after each.
        EXPECT_EQ(b.features[0].geometry, (std::vector<std::uint32_t>{9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15,
                                                                       9, 4, zigzag(-8), 18, 0, 4, 4, 0, 15}));
        EXPECT_EQ(b.features[1].id, 1ull << 63);
        EXPECT_EQ(b.features[1].type, 2u);
        EXPECT_TRUE(b.features[1].tags.empty());
        EXPECT_EQ(b.features[1].geometry, (std::vector<std::uint32_t>{9, 2, 2, 10, zigzag(-6), 4}));
    }
    EXPECT_EQ(length_bytes, (std::set<std::size_t>{1, 2, 3, 4})) << "layer lengths of every size written";
}

// add_count and add_thousandths write the values add_property writes for the same numbers, once per layer.
TEST(MvtEncoding, CountsAndSharesAreTheValuesOfTheirNumbers) {
    std::string tile;
    {
        tiles::LayerBuilder l(tile, "c", 4096);
        const auto k = l.key_index("k");
        l.add_count(k, 1);
        l.add_property(k, Value{std::int64_t{1}});
        l.add_thousandths(k, 500);
        l.add_property(k, Value{0.5});
        l.add_count(k, 5000);  // beyond the numbers remembered
        l.add_property(k, Value{std::int64_t{5000}});
        l.add_thousandths(k, 1000);  // 1.0, a double: not the integer 1
        l.add_count(k, 1);
        l.add_point(0, {1, 1});
        l.add_thousandths(k, 0);
        l.add_thousandths(k, 333);
        l.add_point(1, {2, 2});
        l.finish();
    }
    const auto layers = decode_tile(tile);
    ASSERT_EQ(layers.size(), 1u);
    EXPECT_EQ(tile, encode_plainly(layers));
    const auto& values = layers[0].values;
    const std::vector<std::string> expected{tiles::encode_value(Value{std::int64_t{1}}), tiles::encode_value(Value{0.5}),
                                            tiles::encode_value(Value{std::int64_t{5000}}), tiles::encode_value(Value{1.0}),
                                            tiles::encode_value(Value{0.0}), tiles::encode_value(Value{333 / 1000.0})};
    EXPECT_EQ(values, expected);
    EXPECT_EQ(layers[0].features[0].tags, (std::vector<std::uint32_t>{0, 0, 0, 0, 0, 1, 0, 1, 0, 2, 0, 2, 0, 3, 0, 0}));
    EXPECT_EQ(layers[0].features[1].tags, (std::vector<std::uint32_t>{0, 4, 0, 5}));
}

// A layer abandoned half way (an exception while rendering it) takes nothing of the tile with it.
TEST(MvtEncoding, AnUnfinishedLayerLeavesTheTileAsItWas) {
    std::string tile;
    {
        tiles::LayerBuilder a(tile, "a", 4096);
        a.add_point(1, {1, 2});
        a.finish();
    }
    const std::string before = tile;
    try {
        tiles::LayerBuilder b(tile, "b", 4096);
        for (int i = 0; i < 10000; ++i) {
            b.add_property("n", Value{std::int64_t{i}});
            b.add_point(i, {i, i});
        }
        throw std::runtime_error("GEOS failed");
    } catch (const std::runtime_error&) {
    }
    EXPECT_EQ(tile, before);
    ASSERT_EQ(decode_tile(tile).size(), 1u);
}

// The tile coordinates' rounding is std::lround's, halves and their neighbours included.
TEST(MvtEncoding, TileRoundingIsLround) {
    std::vector<double> values{0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 4095.5, -64.5, 4160.5,
                               std::nextafter(0.5, 0.0), std::nextafter(0.5, 1.0), std::nextafter(-0.5, 0.0),
                               std::nextafter(-0.5, -1.0), std::nextafter(2.5, 0.0), std::nextafter(4095.5, 5000.0),
                               4503599627370495.5, 4503599627370497.0, -4503599627370495.5, 1e15 + 0.5, 2147483647.4};
    std::mt19937_64 rng(13);
    std::uniform_real_distribution<double> in_tiles(-70000.0, 70000.0);
    for (int i = 0; i < 100000; ++i) values.push_back(in_tiles(rng));
    for (int i = -10000; i <= 10000; ++i) values.push_back(i / 2.0);  // every half
    for (double v : values) EXPECT_EQ(tiles::shapes::round_half_away(v), std::lround(v)) << std::hexfloat << v;
}
