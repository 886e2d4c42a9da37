// Straight-line DECI coverage against brute force: GEOS's own buffers, unioned and subtracted the
// plain way (what PostGIS's ST_Difference(commune, ST_Union(ST_Buffer(pei, r, 16))) does), and the
// nearest compliant PEI found by scanning every PEI, on the real Côte-d'Or communes and PEI corpus.
#include <gtest/gtest.h>

#include <ogr_geometry.h>

#include <cmath>
#include <limits>
#include <set>

#include "../../src/deci/discs.hpp"
#include "../../src/deci/geo.hpp"
#include "ideo/cli/snapshot_loader.hpp"
#include "ideo/deci/coverage.hpp"
#include "ideo/harvest/pipeline.hpp"
#include "ideo/index/snapshot.hpp"
#include "ideo/store/store.hpp"
#include "test_support.hpp"

using namespace ideo;
namespace geo = ideo::deci::geo;

namespace {

double area_of(const geo::Geom& g) { return geo::area(g.get()); }

geo::Geom difference(const GEOSGeometry* a, const GEOSGeometry* b) { return geo::Geom(GEOSDifference_r(geo::ctx(), a, b)); }

// polygon - union(GEOSBuffer(point, r, 16)) for every centre: the reference the fast path must equal.
geo::Geom brute_force_outside(const GEOSGeometry* polygon, const std::vector<geo::XY>& centres, double r) {
    std::vector<geo::Geom> buffers;
    for (const auto& c : centres) {
        const geo::Geom point(GEOSGeom_createPointFromXY_r(geo::ctx(), c.x, c.y));
        buffers.emplace_back(GEOSBuffer_r(geo::ctx(), point.get(), r, 16));
    }
    const geo::Geom all = geo::collection(buffers, GEOS_GEOMETRYCOLLECTION);
    const geo::Geom covered(GEOSUnaryUnion_r(geo::ctx(), all.get()));
    return difference(polygon, covered.get());
}

// Area of the symmetric difference: zero when two results cover the same ground.
double mismatch_m2(const GEOSGeometry* a, const GEOSGeometry* b) {
    return area_of(geo::Geom(GEOSSymDifference_r(geo::ctx(), a, b)));
}

geo::Geom square(double x0, double y0, double side) {
    GEOSCoordSequence* s = GEOSCoordSeq_create_r(geo::ctx(), 5, 2);
    const double xs[] = {x0, x0 + side, x0 + side, x0, x0}, ys[] = {y0, y0, y0 + side, y0 + side, y0};
    for (unsigned i = 0; i < 5; ++i) GEOSCoordSeq_setXY_r(geo::ctx(), s, i, xs[i], ys[i]);
    return geo::Geom(GEOSGeom_createPolygon_r(geo::ctx(), GEOSGeom_createLinearRing_r(geo::ctx(), s), nullptr, 0));
}

}  // namespace

TEST(Discs, DiscHasTheVerticesOfGeosBufferOfThePoint) {
    for (const auto& [x, y, r] : {std::tuple{852311.27, 6692245.18, 200.0}, {600000.0, 6600000.0, 100.0},
                                  {911234.56, 6789012.34, 400.0}, {1.5, -2.25, 150.0}}) {
        const geo::Geom point(GEOSGeom_createPointFromXY_r(geo::ctx(), x, y));
        const geo::Geom buffer(GEOSBuffer_r(geo::ctx(), point.get(), r, geo::kQuadrantSegments));
        const geo::Geom disc = geo::disc({x, y}, r);
        EXPECT_EQ(GEOSEqualsExact_r(geo::ctx(), buffer.get(), disc.get(), 0), 1) << x << " " << y << " r=" << r;
    }
}

// A ring of overlapping discs enclosing an empty place with a lone disc in its middle, all inside
// the polygon: the ring becomes a hole, the place it encloses an island, the lone disc a hole in it.
TEST(Discs, RingOfDiscsAroundALoneDiscGivesAnIslandWithAHoleAsTheOverlayDoes) {
    const geo::Geom polygon = square(0, 0, 5000);
    std::vector<geo::XY> centres{{2500, 2500}};
    for (int i = 0; i < 24; ++i) centres.push_back({2500 + 600 * std::cos(i * M_PI / 12), 2500 + 600 * std::sin(i * M_PI / 12)});
    centres.push_back({100, 4900});  // a disc across the corner: the overlay path too
    const geo::Geom fast = geo::outside_discs(polygon.get(), centres, 200);
    const geo::Geom reference = brute_force_outside(polygon.get(), centres, 200);
    ASSERT_TRUE(fast && reference);
    EXPECT_EQ(GEOSisValid_r(geo::ctx(), fast.get()), 1);
    EXPECT_EQ(GEOSGetNumGeometries_r(geo::ctx(), fast.get()), 2);  // the square with its holes, the island with its hole
    EXPECT_NEAR(area_of(fast), area_of(reference), 1e-6);
    EXPECT_LT(mismatch_m2(fast.get(), reference.get()), 1e-6);
}

TEST(Discs, DiscsAwayFromThePolygonChangeNothing) {
    const geo::Geom polygon = square(0, 0, 1000);
    const geo::Geom fast = geo::outside_discs(polygon.get(), {{-500, 500}, {1500, 1500}, {500, 1350}}, 200);
    ASSERT_TRUE(fast);
    EXPECT_EQ(GEOSEqualsExact_r(geo::ctx(), fast.get(), polygon.get(), 0), 1);
}

class CoverageCoteDOr : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        tmp_ = new test::TempDir();
        const LayerCatalog catalog = load_layers(test::layers_dir());
        auto store = store::open_store((tmp_->path() / "ideo.gpkg").string());
        const auto import = [&](const char* layer_id, const std::string& file, const index::CommuneIndex* communes) {
            const auto& layer = catalog.get(layer_id);
            const std::string path = test::data(file).string();
            harvest::import_file(layer, harvest::source_for(layer, path), path, communes, store.get());
        };
        import("communes", "communes/communes-21-cote-d-or.geojson", nullptr);
        const auto communes = harvest::load_communes(catalog, store.get());
        import("pei", "deci/pei-21-sdis21.geojson", communes.get());
        import("erp", "deci/erp-21-prefecture.csv", communes.get());
        import("icpe", "deci/icpe-21-georisques.csv", communes.get());
        snapshot_ = new std::shared_ptr<const index::Snapshot>(cli::load_snapshot(*store, catalog));
        rules_ = new deci::Rules(deci::load_rules(test::layers_dir() / "deci-rules", "default"));
        codes_ = new std::vector<std::string>(deci::department_communes(**snapshot_, "21"));
        result_ = new std::vector<deci::CommuneCoverage>(
            deci::communes_coverage(**snapshot_, *rules_, *codes_, deci::Mode::Straight));
    }
    static void TearDownTestSuite() {
        delete result_;
        delete codes_;
        delete rules_;
        delete snapshot_;
        delete tmp_;
    }

    struct Pei {
        std::string id;
        geo::XY at;
        deci::PeiFacts facts;
    };
    // Every located PEI of the snapshot, projected one by one.
    static std::vector<Pei> every_pei() {
        std::vector<Pei> out;
        const index::LayerData& layer = *(*snapshot_)->layer("pei");
        for (const Feature& f : layer.features)
            if (f.geometry.is_point())
                if (const auto p = geo::to_l93(f.geometry.envelope.min_x, f.geometry.envelope.min_y))
                    out.push_back({f.id, *p, deci::pei_facts(layer.spec, f)});
        return out;
    }

    static test::TempDir* tmp_;
    static std::shared_ptr<const index::Snapshot>* snapshot_;
    static deci::Rules* rules_;
    static std::vector<std::string>* codes_;
    static std::vector<deci::CommuneCoverage>* result_;
};

test::TempDir* CoverageCoteDOr::tmp_ = nullptr;
std::shared_ptr<const index::Snapshot>* CoverageCoteDOr::snapshot_ = nullptr;
deci::Rules* CoverageCoteDOr::rules_ = nullptr;
std::vector<std::string>* CoverageCoteDOr::codes_ = nullptr;
std::vector<deci::CommuneCoverage>* CoverageCoteDOr::result_ = nullptr;

TEST_F(CoverageCoteDOr, EveryCommuneCoversWhatTheUnionOfGeosBuffersCovers) {
    ASSERT_EQ(result_->size(), 704u);
    const deci::RiskClass& cls = rules_->area_class();
    std::vector<geo::XY> compliant;
    for (const auto& p : every_pei())
        if (deci::pei_shortfall(*rules_, cls, p.facts) == deci::Shortfall::None) compliant.push_back(p.at);
    const index::LayerData& communes = *(*snapshot_)->layer("communes");
    double area = 0, covered = 0, reference_covered = 0;
    std::size_t partly_covered = 0;
    for (const auto& c : *result_) {
        const geo::Geom polygon = geo::wkb_to_l93(communes.features[communes.by_id.at(c.insee)].geometry.wkb);
        ASSERT_TRUE(polygon) << c.insee;
        const Envelope box = geo::envelope_of(polygon.get());
        std::vector<geo::XY> reaching;  // every compliant PEI within the radius of the polygon, by GEOS distance
        for (const auto& p : compliant) {
            if (p.x < box.min_x - cls.distance_m || p.x > box.max_x + cls.distance_m || p.y < box.min_y - cls.distance_m ||
                p.y > box.max_y + cls.distance_m)
                continue;  // only saves time: a distance check follows
            const geo::Geom point(GEOSGeom_createPointFromXY_r(geo::ctx(), p.x, p.y));
            double d = 0;
            if (GEOSDistance_r(geo::ctx(), polygon.get(), point.get(), &d) == 1 && d <= cls.distance_m) reaching.push_back(p);
        }
        const geo::Geom reference = brute_force_outside(polygon.get(), reaching, cls.distance_m);
        const double reference_covered_m2 = area_of(polygon) - area_of(reference);
        EXPECT_NEAR(c.covered_m2, reference_covered_m2, 1e-6 * c.area_m2 + 1e-3) << c.insee;
        // The uncovered zones written out are the reference's: both through the same WGS84 round trip.
        if (!c.uncovered_wkb.empty()) {
            OGRGeometry* written = nullptr;
            ASSERT_EQ(OGRGeometryFactory::createFromWkb(c.uncovered_wkb.data(), nullptr, &written, c.uncovered_wkb.size()),
                      OGRERR_NONE) << c.insee;
            EXPECT_TRUE(written->IsValid()) << c.insee;
            delete written;
            const geo::Geom back = geo::wkb_to_l93(c.uncovered_wkb), reference_back = geo::wkb_to_l93(geo::l93_to_wkb(reference.get()));
            EXPECT_LT(mismatch_m2(back.get(), reference_back.get()), 1e-6 * c.area_m2) << c.insee;
        } else {
            EXPECT_LT(area_of(reference), 1e-3) << c.insee << ": nothing written uncovered";
        }
        area += c.area_m2;
        covered += c.covered_m2;
        reference_covered += reference_covered_m2;
        if (c.covered_share > 0 && c.covered_share < 1) ++partly_covered;
    }
    EXPECT_NEAR(covered / area, reference_covered / area, 1e-9);
    EXPECT_GT(partly_covered, 600u);  // the corpus exercises the geometry, not only empty or full communes
}

TEST_F(CoverageCoteDOr, EveryVerdictNamesTheNearestCompliantPeiFoundByScanningEveryPei) {
    const std::vector<Pei> pei = every_pei();
    std::size_t located = 0, covered = 0, named = 0;
    for (const auto& c : *result_)
        for (const auto& v : c.risks) {
            if (v.reason == deci::Shortfall::NoLocation) continue;
            ++located;
            const deci::RiskClass& cls = rules_->get(v.risk_class);
            const auto at = geo::to_l93(v.lon, v.lat);
            ASSERT_TRUE(at);
            double nearest = std::numeric_limits<double>::infinity();
            std::set<std::string> nearest_ids;
            bool weak_near = false, unavailable_near = false;
            for (const auto& p : pei) {
                const double d = std::hypot(p.at.x - at->x, p.at.y - at->y);
                const deci::Shortfall s = deci::pei_shortfall(*rules_, cls, p.facts);
                if (d <= cls.distance_m) {
                    weak_near = weak_near || s == deci::Shortfall::FlowTooLow;
                    unavailable_near = unavailable_near || s == deci::Shortfall::Unavailable;
                }
                if (s != deci::Shortfall::None || d > nearest) continue;
                if (d < nearest) nearest_ids.clear();
                nearest = d;
                nearest_ids.insert(p.id);
            }
            const std::string where = v.layer + " " + v.id;
            // The search reaches 2 km at least (a square: its corners farther), 3 times the class's reach if more.
            const double search = std::max(3 * std::max(cls.distance_m, cls.additional_distance_m), 2000.0);
            if (nearest <= search) {
                ASSERT_TRUE(v.distance_m) << where;
                EXPECT_NEAR(*v.distance_m, nearest, 1e-6) << where;
                EXPECT_TRUE(nearest_ids.count(v.nearest_pei)) << where << " names " << v.nearest_pei;
                ++named;
            } else if (nearest > search * std::sqrt(2.0)) {
                EXPECT_FALSE(v.distance_m) << where;
            }
            if (nearest <= cls.distance_m) EXPECT_TRUE(v.covered) << where;
            if (cls.additional_distance_m == 0) EXPECT_EQ(v.covered, nearest <= cls.distance_m) << where;
            if (!v.covered && weak_near) EXPECT_EQ(v.reason, deci::Shortfall::FlowTooLow) << where;
            else if (!v.covered && unavailable_near) EXPECT_EQ(v.reason, deci::Shortfall::Unavailable) << where;
            else if (!v.covered) EXPECT_TRUE(v.reason == deci::Shortfall::TooFar || v.reason == deci::Shortfall::NoPei) << where;
            covered += v.covered;
        }
    EXPECT_GT(located, 3000u);
    EXPECT_GT(covered, 1000u);
    EXPECT_GT(located - covered, 1000u);
    EXPECT_GT(named, 2500u);
}
