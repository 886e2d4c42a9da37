// Vector tiles decoded by an independent decoder (GDAL's MVT driver) against index queries.
#include <gtest/gtest.h>

#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <ogr_api.h>
#include <ogrsf_frmts.h>

#include <cmath>
#include <map>
#include <set>

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
