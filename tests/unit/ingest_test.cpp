// Ingest of the partner files: every defect of the synthetic corpus ends as the policy says,
// the préfecture CSVs and the real Géorisques ICPE read right, coordinates reproject exactly,
// and unreadable files fail with a message naming them.
#include <gtest/gtest.h>

#include <gdal_priv.h>
#include <ogrsf_frmts.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "../../src/ingest/values.hpp"
#include "communes_fixture.hpp"
#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"
#include "ideo/ingest/ingest.hpp"
#include "test_support.hpp"

namespace ideo {
namespace {

using ingest::ingest_file;

// What one ingest produced, indexed by identifier.
struct Outcomes {
    ingest::Result result;
    std::map<std::string, std::vector<const Feature*>> published;
    std::map<std::string, std::vector<const RecordReport*>> reported;
    std::set<std::string> quarantined;

    explicit Outcomes(ingest::Result r) : result(std::move(r)) {
        for (const auto& f : result.features) published[f.id].push_back(&f);
        for (const auto& rr : result.report.records) reported[rr.id].push_back(&rr);
        for (const auto& q : result.quarantine) quarantined.insert(q.id);
    }
    const Feature& one(const std::string& id) const {
        auto it = published.find(id);
        if (it == published.end() || it->second.size() != 1) throw std::runtime_error(id + " is not published exactly once");
        return *it->second.front();
    }
    // The report line of the published record (the one record, or the non-superseded one).
    const RecordReport* report_of(const std::string& id) const {
        auto it = reported.find(id);
        if (it == reported.end()) return nullptr;
        for (const auto* r : it->second)
            if (r->outcome != Outcome::Superseded) return r;
        return nullptr;
    }
    bool has_reason(const std::string& id, const std::string& prefix) const {
        auto it = reported.find(id);
        if (it == reported.end()) return false;
        for (const auto* r : it->second)
            for (const auto& why : r->reasons)
                if (why.starts_with(prefix)) return true;
        return false;
    }
};

const rapidjson::Document& manifest() {
    static rapidjson::Document d = [] {
        rapidjson::Document doc;
        doc.Parse(test::read_file(test::data("deci/manifest.json")).c_str());
        return doc;
    }();
    return d;
}

const rapidjson::Value& manifest_file(const std::string& name) { return manifest()["files"][name.c_str()]; }

std::vector<std::string> defect_ids(const std::string& file, const char* kind) {
    std::vector<std::string> out;
    const auto& f = manifest_file(file);
    const auto& list = f.HasMember("defects") ? f["defects"] : f;
    if (!list.HasMember(kind)) return out;
    for (const auto& v : list[kind].GetArray()) out.emplace_back(v.GetString());
    return out;
}

std::string commune_of(const std::string& id) { return id.substr(0, id.find('_')); }

double number(const Feature& f, const LayerSpec& l, const char* field) {
    const Value& v = f.values[static_cast<size_t>(l.field_index(field))];
    return std::holds_alternative<double>(v) ? std::get<double>(v) : NAN;
}
const Value& value(const Feature& f, const LayerSpec& l, const char* field) {
    return f.values[static_cast<size_t>(l.field_index(field))];
}

bool has_flag(const Feature& f, const std::string& flag) {
    return std::find(f.flags.begin(), f.flags.end(), flag) != f.flags.end();
}

// A column of the partner file read with OGR directly, by identifier: the original spelling of a value.
std::map<std::string, std::string> original_values(const std::string& gdal_path, const char* id_col, const char* col) {
    CPLSetThreadLocalConfigOption("OGR_XLSX_FIELD_TYPES", "STRING");
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GDALDataset::Open(gdal_path.c_str(), GDAL_OF_VECTOR));
    CPLSetThreadLocalConfigOption("OGR_XLSX_FIELD_TYPES", nullptr);
    std::map<std::string, std::string> out;
    if (!ds) return out;
    for (auto& f : *ds->GetLayer(0)) out.emplace(f->GetFieldAsString(id_col), f->GetFieldAsString(col));
    return out;
}

struct PeiCase {
    std::string file, source, gdal_path, id_col, type_col;
};

std::ostream& operator<<(std::ostream& os, const PeiCase& c) { return os << c.file; }

// Communes of the departments the corpus covers, and each PEI file ingested once for the whole suite.
class IngestPei : public ::testing::TestWithParam<PeiCase> {
public:
    static void SetUpTestSuite() {
        if (!communes) communes = test::load_communes({"21", "71", "90", "13210"});
    }
    static const LayerSpec& layer() { return communes->catalog.get("pei"); }
    static const Outcomes& outcomes(const PeiCase& c) {
        static std::map<std::string, std::unique_ptr<Outcomes>> cache;
        auto& slot = cache[c.source];
        if (!slot) {
            const SourceSpec* s = layer().find_source(c.source);
            slot = std::make_unique<Outcomes>(ingest_file(layer(), *s, s->url, communes->index.get()));
        }
        return *slot;
    }
    static std::unique_ptr<test::Communes> communes;
};
std::unique_ptr<test::Communes> IngestPei::communes;

TEST_P(IngestPei, EveryManifestDefectEndsAsThePolicySays) {
    const PeiCase& c = GetParam();
    const Outcomes& o = outcomes(c);
    const LayerSpec& l = layer();

    for (const auto& id : defect_ids(c.file, "missing_insee_recoverable_by_location")) {
        SCOPED_TRACE("missing insee " + id);
        const Feature& f = o.one(id);
        EXPECT_EQ(to_text(value(f, l, "insee")), commune_of(id));
        ASSERT_NE(o.report_of(id), nullptr);
        EXPECT_EQ(o.report_of(id)->outcome, Outcome::Repaired);
        EXPECT_TRUE(o.has_reason(id, "insee_from_location: " + commune_of(id)));
    }

    const auto original_type = original_values(c.gdal_path, c.id_col.c_str(), c.type_col.c_str());
    for (const auto& id : defect_ids(c.file, "bad_type_pei")) {
        SCOPED_TRACE("bad type_pei " + id);
        ASSERT_TRUE(original_type.count(id));
        const std::string& was = original_type.at(id);
        if (was == "POTEAU" || was == "Bouche") {
            const Feature& f = o.one(id);
            EXPECT_EQ(to_text(value(f, l, "type_pei")), was == "POTEAU" ? "PI" : "BI");
            EXPECT_EQ(o.report_of(id)->outcome, Outcome::Repaired);
            EXPECT_TRUE(o.has_reason(id, "code_synonym: type_pei " + was + " -> "));
        } else {
            EXPECT_TRUE(was == "??" || was == "HYD") << was;
            EXPECT_FALSE(o.published.count(id));
            EXPECT_EQ(o.report_of(id)->outcome, Outcome::Rejected);
            EXPECT_TRUE(o.has_reason(id, "unknown_code: type_pei \"" + was + "\" not in PI, BI, PA, CI"));
            EXPECT_TRUE(o.quarantined.count(id));
        }
    }

    for (const auto& id : defect_ids(c.file, "swapped_coordinates")) {
        SCOPED_TRACE("swapped " + id);
        const Feature& f = o.one(id);
        ASSERT_TRUE(f.geometry.is_point());
        EXPECT_EQ(o.report_of(id)->outcome, Outcome::Repaired);
        EXPECT_TRUE(o.has_reason(id, "swapped_coordinates"));
        EXPECT_EQ(communes->index->locate(f.geometry.envelope.min_x, f.geometry.envelope.min_y), commune_of(id));
    }

    for (const auto& id : defect_ids(c.file, "no_coordinates")) {
        SCOPED_TRACE("no coordinates " + id);
        const Feature& f = o.one(id);
        EXPECT_TRUE(f.geometry.empty());
        EXPECT_TRUE(has_flag(f, "no_coordinates"));
        EXPECT_EQ(o.report_of(id)->outcome, Outcome::Flagged);
        EXPECT_TRUE(is_null(value(f, l, "x")));
    }

    for (const auto& id : defect_ids(c.file, "outside_department")) {
        SCOPED_TRACE("outside department " + id);
        EXPECT_FALSE(o.published.count(id));
        ASSERT_NE(o.report_of(id), nullptr);
        EXPECT_EQ(o.report_of(id)->outcome, Outcome::Rejected);
        EXPECT_TRUE(o.has_reason(id, "location_contradicts_insee: " + commune_of(id) + " is "));
        EXPECT_TRUE(o.quarantined.count(id));
    }

    for (const auto& id : defect_ids(c.file, "negative_debit")) {
        SCOPED_TRACE("negative debit " + id);
        const Feature& f = o.one(id);
        EXPECT_TRUE(is_null(value(f, l, "debit")));
        EXPECT_TRUE(has_flag(f, "value_dropped:debit"));
        EXPECT_EQ(o.report_of(id)->outcome, Outcome::Flagged);
        EXPECT_TRUE(o.has_reason(id, "negative_value: debit -"));
    }

    for (const auto& id : defect_ids(c.file, "duplicate_id_sdis")) {
        SCOPED_TRACE("duplicate " + id);
        const Feature& f = o.one(id);
        EXPECT_EQ(number(f, l, "debit"), 999.0);
        EXPECT_TRUE(o.has_reason(id, "duplicate_id: id_sdis " + id + " also at row "));
        EXPECT_TRUE(o.has_reason(id, "duplicate_id_kept: id_sdis " + id));
        const auto& lines = o.reported.at(id);
        EXPECT_EQ(std::count_if(lines.begin(), lines.end(), [](auto* r) { return r->outcome == Outcome::Superseded; }), 1);
    }

    for (const auto& id : defect_ids(c.file, "invalid_date")) {
        SCOPED_TRACE("invalid date " + id);
        const Feature& f = o.one(id);
        EXPECT_TRUE(is_null(value(f, l, "date_ct")));
        EXPECT_TRUE(has_flag(f, "value_dropped:date_ct"));
        EXPECT_EQ(o.report_of(id)->outcome, Outcome::Flagged);
        EXPECT_TRUE(o.has_reason(id, "invalid_date: date_ct \"31/02/2024\" dropped"));
    }
}

TEST_P(IngestPei, CountsAddUpAndOnlyManifestRecordsAreRejected) {
    const PeiCase& c = GetParam();
    const Outcomes& o = outcomes(c);
    const Report& r = o.result.report;
    const auto& m = manifest_file(c.file);
    EXPECT_EQ(r.read, m["records"].GetUint64());
    EXPECT_EQ(r.published + r.rejected + r.superseded, r.read);
    EXPECT_EQ(r.published, o.result.features.size());
    EXPECT_EQ(r.rejected, o.result.quarantine.size());
    EXPECT_EQ(r.superseded, defect_ids(c.file, "duplicate_id_sdis").size());
    EXPECT_EQ(r.without_location, defect_ids(c.file, "no_coordinates").size());

    std::set<std::string> may_be_rejected;
    for (const char* kind : {"bad_type_pei", "outside_department"})
        for (const auto& id : defect_ids(c.file, kind)) may_be_rejected.insert(id);
    std::set<std::string> rejected;
    for (const auto& q : o.result.quarantine) {
        EXPECT_TRUE(may_be_rejected.count(q.id)) << q.id << ": " << q.reason;
        rejected.insert(q.id);
        rapidjson::Document d;
        d.Parse(q.record_json.c_str());
        EXPECT_TRUE(d.IsObject()) << q.record_json;
    }
    EXPECT_EQ(o.published.size(), m["unique_id_sdis"].GetUint64() - rejected.size());
    EXPECT_EQ(o.result.features.size(), o.published.size()) << "one published record per identifier";
    EXPECT_FALSE(r.warnings.empty() && c.source == "sdis71") << "pei-71 lacks type_rd: a file-level warning";
    for (const auto& f : o.result.features) {
        EXPECT_EQ(f.provenance.source, c.source);
        EXPECT_FALSE(f.provenance.harvested_at.empty());
    }
}

TEST_P(IngestPei, CleanRecordsKeepTheirCommuneAndDerivedCoordinates) {
    const Outcomes& o = outcomes(GetParam());
    const LayerSpec& l = layer();
    size_t checked = 0;
    for (const auto& f : o.result.features) {
        if (!f.geometry.is_point() || o.reported.count(f.id)) continue;
        EXPECT_EQ(to_text(value(f, l, "insee")), commune_of(f.id));
        const double lon = number(f, l, "lon"), lat = number(f, l, "lat");
        EXPECT_NEAR(lon, f.geometry.envelope.min_x, 1e-7);
        EXPECT_NEAR(lat, f.geometry.envelope.min_y, 1e-7);
        const auto xy = ingest::transform_point("EPSG:4326", "EPSG:2154", {f.geometry.envelope.min_x, f.geometry.envelope.min_y});
        EXPECT_NEAR(number(f, l, "x"), xy.x, 0.006);
        EXPECT_NEAR(number(f, l, "y"), xy.y, 0.006);
        if (++checked == 500) break;
    }
    EXPECT_EQ(checked, 500u);
}

TEST(IngestPei71, RequiredColumnAbsentFromTheSpreadsheetIsOneFileWarningNotPerRecord) {
    auto communes = test::load_communes({"71"});
    const LayerSpec& l = communes->catalog.get("pei");
    const SourceSpec* s = l.find_source("sdis71");
    const auto r = ingest_file(l, *s, s->url, communes->index.get());
    const auto& w = r.report.warnings;
    EXPECT_EQ(std::count_if(w.begin(), w.end(), [](const std::string& x) { return x.find("type_rd") != std::string::npos; }), 1);
    for (const auto& rec : r.report.records)
        for (const auto& why : rec.reasons) EXPECT_EQ(why.find("type_rd"), std::string::npos) << why;
    EXPECT_GT(r.report.published, 10000u);
    // "Oui"/"Non" became 1/0.
    const Feature& f = r.features.front();
    EXPECT_TRUE(std::holds_alternative<std::int64_t>(f.values[static_cast<size_t>(l.field_index("disponible"))]));
}

INSTANTIATE_TEST_SUITE_P(
    DeciCorpus, IngestPei,
    ::testing::Values(
        PeiCase{"pei-21-sdis21.geojson", "sdis21", test::data("deci/pei-21-sdis21.geojson").string(), "id_sdis", "type_pei"},
        PeiCase{"d_pei_cd90_p.zip", "sdis90", "/vsizip/" + test::data("deci/d_pei_cd90_p.zip").string(), "ID_SDIS", "TYPE_PEI"},
        PeiCase{"pei-71-communes.xlsx", "sdis71", test::data("deci/pei-71-communes.xlsx").string(), "Numéro PEI", "Nature"}),
    [](const auto& info) { return info.param.source; });

// ERP: préfecture CSVs in Windows-1252 with ';', decimal comma and French dates.
class IngestErp : public ::testing::TestWithParam<std::string> {
public:
    static void SetUpTestSuite() {
        if (!communes) communes = test::load_communes({"21", "71", "90"});
    }
    static std::unique_ptr<test::Communes> communes;
};
std::unique_ptr<test::Communes> IngestErp::communes;

TEST_P(IngestErp, PrefectureCsvReadsWithAccentsDatesAndLambert93) {
    const std::string dept = GetParam();
    const std::string file = "erp-" + dept + "-prefecture.csv";
    const LayerSpec& l = communes->catalog.get("erp");
    const SourceSpec* s = l.find_source("prefecture" + dept);
    const Outcomes o(ingest_file(l, *s, s->url, communes->index.get()));
    const Report& r = o.result.report;
    EXPECT_EQ(r.read, manifest_file(file)["records"].GetUint64());
    EXPECT_EQ(r.rejected, 0u);
    EXPECT_EQ(r.published, r.read);

    const auto missing = defect_ids(file, "no_coordinates");
    EXPECT_EQ(r.without_location, missing.size());
    for (const auto& id : missing) {
        SCOPED_TRACE(id);
        const Feature& f = o.one(id);
        EXPECT_TRUE(f.geometry.empty());
        EXPECT_TRUE(has_flag(f, "no_coordinates"));
        EXPECT_EQ(o.report_of(id)->outcome, Outcome::Flagged);
    }

    const std::regex iso(R"(\d{4}-\d{2}-\d{2})");
    bool accented = false;
    for (const auto& f : o.result.features) {
        const std::string nom = to_text(value(f, l, "nom"));
        accented |= nom.find("é") != std::string::npos || nom.find("Côte") != std::string::npos;
        EXPECT_TRUE(text::is_utf8(nom));
        const Value& d = value(f, l, "date_visite");
        ASSERT_FALSE(is_null(d)) << f.id;
        EXPECT_TRUE(std::regex_match(std::get<std::string>(d), iso)) << to_text(d);
        EXPECT_TRUE(std::holds_alternative<std::int64_t>(value(f, l, "categorie")));
    }
    EXPECT_TRUE(accented);

    // Every located record's Lambert-93 x/y equal the CSV's, read here independently.
    std::istringstream csv(text::cp1252_to_utf8(test::read_file(test::data("deci/" + file))));
    std::string line;
    std::getline(csv, line);
    size_t compared = 0;
    while (std::getline(csv, line)) {
        std::vector<std::string> cells;
        std::stringstream ls(line);
        for (std::string cell; std::getline(ls, cell, ';');) cells.push_back(cell);
        if (cells.size() < 11 || cells[8].empty()) continue;
        auto comma = [](std::string v) { std::replace(v.begin(), v.end(), ',', '.'); return std::stod(v); };
        const Feature& f = o.one(cells[0]);
        EXPECT_DOUBLE_EQ(number(f, l, "x"), comma(cells[8])) << cells[0];
        EXPECT_DOUBLE_EQ(number(f, l, "y"), comma(cells[9])) << cells[0];
        ++compared;
    }
    EXPECT_EQ(compared, r.read - missing.size());
}

INSTANTIATE_TEST_SUITE_P(DeciCorpus, IngestErp, ::testing::Values("21", "71", "90"),
                         [](const auto& info) { return "dept" + info.param; });

TEST(IngestIcpe, RealGeorisquesCsvWithWktGetsItsCommunesFromTheLocation) {
    auto communes = test::load_communes({"25", "39", "70", "90"});
    const LayerSpec& l = communes->catalog.get("icpe");
    const SourceSpec* s = l.find_source("georisques-25-39-70-90");
    const Outcomes o(ingest_file(l, *s, s->url, communes->index.get()));
    const Report& r = o.result.report;
    EXPECT_EQ(r.read, 3288u);
    EXPECT_EQ(r.published + r.rejected + r.superseded, r.read);
    EXPECT_GT(r.published, 3200u);
    const auto& regimes = l.fields[static_cast<size_t>(l.field_index("lib_regime"))].enum_values;
    for (const auto& f : o.result.features) {
        ASSERT_TRUE(f.geometry.is_point()) << f.id;
        const std::string insee = to_text(value(f, l, "insee"));
        EXPECT_EQ(communes->index->locate(f.geometry.envelope.min_x, f.geometry.envelope.min_y), insee) << f.id;
        const Value& regime = value(f, l, "lib_regime");
        if (!is_null(regime))
            EXPECT_NE(std::find(regimes.begin(), regimes.end(), to_text(regime)), regimes.end()) << to_text(regime);
    }
    for (const auto& q : o.result.quarantine) EXPECT_EQ(q.reason, "no_insee_and_location_outside_communes") << q.id;
    // A file without an INSEE column relies on the location by design: not reported as a repair.
    EXPECT_EQ(r.repaired, 0u);
}

TEST(Reprojection, LambertAndConicConformalOriginsLandOnTheirMeridianAndParallel) {
    const auto l93 = ingest::transform_point("EPSG:2154", "EPSG:4326", {700000, 6600000});
    EXPECT_NEAR(l93.x, 3.0, 1e-9);
    EXPECT_NEAR(l93.y, 46.5, 1e-9);
    const auto cc46 = ingest::transform_point("EPSG:3946", "EPSG:4326", {1700000, 5200000});
    EXPECT_NEAR(cc46.x, 3.0, 1e-9);
    EXPECT_NEAR(cc46.y, 46.0, 1e-9);
}

TEST(Reprojection, RoundTripsStayWithinOneCentimetre) {
    for (const char* crs : {"EPSG:2154", "EPSG:3946", "EPSG:3947", "EPSG:3857"}) {
        SCOPED_TRACE(crs);
        const ingest::Point2 dijon{5.0415, 47.3216};
        const auto there = ingest::transform_point("EPSG:4326", crs, dijon);
        const auto back = ingest::transform_point(crs, "EPSG:4326", there);
        EXPECT_NEAR(back.x, dijon.x, 1e-7);
        EXPECT_NEAR(back.y, dijon.y, 1e-7);
        const auto again = ingest::transform_point("EPSG:4326", crs, back);
        EXPECT_NEAR(again.x, there.x, 0.01);
        EXPECT_NEAR(again.y, there.y, 0.01);
    }
    EXPECT_THROW(ingest::transform_point("EPSG:999999", "EPSG:4326", {0, 0}), Error);
}

// Small partner files written here, to pin the rules one by one.
class IngestRules : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (!communes) communes = test::load_communes({"21"});
    }
    const LayerSpec& pei() const { return communes->catalog.get("pei"); }
    ingest::Result run(const std::string& name, const std::string& content, SourceSpec s = {}, bool with_index = true) {
        const auto path = (tmp / name).string();
        std::ofstream(path, std::ios::binary) << content;
        if (s.id.empty()) s.id = "test";
        return ingest_file(pei(), s, path, with_index ? communes->index.get() : nullptr);
    }
    static std::unique_ptr<test::Communes> communes;
    test::TempDir tmp;
};
std::unique_ptr<test::Communes> IngestRules::communes;

TEST_F(IngestRules, CsvValuesAreParsedByTheSchemaTypeWithFrenchConventions) {
    // Dijon town hall area, in Lambert-93: x 853000 y 6695000 is inside 21231.
    const auto r = run("pei.csv",
                       "\xEF\xBB\xBFN° PEI\tCode INSEE\tNature\tTYPE_RD\tDébit (m3/h)\tDisponibilité\tDate dernier contrôle\tDATE_MES\tDIAM_PEI\tcolonne_libre\tX\tY\n"
                       "21231_1\t21231\tpoteau incendie\tpoteau\t60,5\tOui\t03/04/2024\t2001/02/03 10:00:00\t100\tz\t853000\t6695000\n"
                       "21231_2\t21231\tBI\tbouche\t1 234,5\tnon\t2024-02-29T08:00:00Z\t31-12-1999\t90\tz\t853010\t6695010\n");
    const LayerSpec& l = pei();
    ASSERT_EQ(r.features.size(), 2u);
    const Feature& a = r.features[0];
    EXPECT_EQ(to_text(value(a, l, "type_pei")), "PI");
    EXPECT_DOUBLE_EQ(number(a, l, "debit"), 60.5);
    EXPECT_EQ(std::get<std::int64_t>(value(a, l, "disponible")), 1);
    EXPECT_EQ(to_text(value(a, l, "date_ct")), "2024-04-03");
    EXPECT_EQ(to_text(value(a, l, "date_mes")), "2001-02-03");
    EXPECT_EQ(std::get<std::int64_t>(value(a, l, "diam_pei")), 100);
    EXPECT_DOUBLE_EQ(number(a, l, "x"), 853000);
    const Feature& b = r.features[1];
    EXPECT_DOUBLE_EQ(number(b, l, "debit"), 1234.5);
    EXPECT_EQ(std::get<std::int64_t>(value(b, l, "disponible")), 0);
    EXPECT_EQ(to_text(value(b, l, "date_ct")), "2024-02-29");
    EXPECT_EQ(to_text(value(b, l, "date_mes")), "1999-12-31");
    EXPECT_TRUE(is_null(value(b, l, "diam_pei"))) << "90 is not in the diameter code list";
    EXPECT_TRUE(has_flag(b, "value_dropped:diam_pei"));

    const auto& w = r.report.warnings;
    EXPECT_TRUE(std::any_of(w.begin(), w.end(), [](const std::string& s) { return s == "unknown columns ignored: colonne_libre"; }));
    EXPECT_TRUE(std::any_of(w.begin(), w.end(), [](const std::string& s) { return s.find("assumed EPSG:2154") != std::string::npos; }));
    ASSERT_FALSE(r.report.records.empty());
    EXPECT_EQ(r.report.records[0].reasons[0], "code_synonym: type_pei poteau incendie -> PI");
}

TEST_F(IngestRules, WindowsCp1252SemicolonCsvIsDecodedAndCrsComesFromTheColumnTitle) {
    // "Ruelle de l'Église" in Windows-1252; X/Y in CC47 (hinted by the titles) around Dijon.
    const auto p = ingest::transform_point("EPSG:4326", "EPSG:3947", {5.0415, 47.3216});
    char x[32], y[32];
    std::snprintf(x, sizeof x, "%.2f", p.x);
    std::snprintf(y, sizeof y, "%.2f", p.y);
    std::string xs = x, ys = y;
    std::replace(xs.begin(), xs.end(), '.', ',');
    std::replace(ys.begin(), ys.end(), '.', ',');
    const auto r = run("cc47.csv", "id_sdis;insee;type_pei;type_rd;situation;X (CC47);Y (CC47)\r\n"
                                   "21231_9;21231;PI;poteau;Ruelle de l'\xC9glise;" + xs + ";" + ys + "\r\n");
    ASSERT_EQ(r.features.size(), 1u);
    const Feature& f = r.features[0];
    EXPECT_EQ(to_text(value(f, pei(), "situation")), "Ruelle de l'Église");
    EXPECT_NEAR(f.geometry.envelope.min_x, 5.0415, 1e-6);
    EXPECT_NEAR(f.geometry.envelope.min_y, 47.3216, 1e-6);
    const auto& w = r.report.warnings;
    EXPECT_TRUE(std::any_of(w.begin(), w.end(), [](const std::string& s) { return s.find("EPSG:3947") != std::string::npos; }));
    EXPECT_TRUE(r.report.records.empty()) << r.report.to_text();
}

TEST_F(IngestRules, RecordsWithoutIdOrWithoutAnyLocationOrInseeAreRejectedVerbatim) {
    const auto r = run("lonlat.csv",
                       "id_sdis,insee,type_pei,type_rd,lon,lat\n"
                       ",21231,PI,poteau,5.0415,47.3216\n"
                       "21231_2,,PI,poteau,,\n"
                       "21231_3,21231,PI,poteau,,\n"
                       "21231_4,99999,PI,poteau,5.0415,47.3216\n"
                       "21231_5,,PI,poteau,5.0415,47.3216\n");
    ASSERT_EQ(r.report.read, 5u);
    ASSERT_EQ(r.quarantine.size(), 2u);
    EXPECT_EQ(r.quarantine[0].row, 1u);
    EXPECT_EQ(r.quarantine[0].reason, "missing_id: no id_sdis");
    EXPECT_EQ(r.quarantine[0].record_json,
              R"({"id_sdis":null,"insee":"21231","type_pei":"PI","type_rd":"poteau","lon":"5.0415","lat":"47.3216"})");
    EXPECT_EQ(r.quarantine[1].reason, "no_location_and_no_insee");
    ASSERT_EQ(r.features.size(), 3u);
    EXPECT_TRUE(has_flag(r.features[0], "no_coordinates"));
    EXPECT_TRUE(has_flag(r.features[1], "insee_unknown"));
    EXPECT_EQ(to_text(value(r.features[2], pei(), "insee")), "21231");
    EXPECT_EQ(r.report.repaired, 1u);
    EXPECT_EQ(r.report.flagged, 2u);
    EXPECT_EQ(r.report.without_location, 1u);
}

TEST_F(IngestRules, DuplicateWithoutDateKeepsTheLaterRowAndNamesTheDifferences) {
    const auto r = run("dups.csv",
                       "id_sdis,insee,type_pei,type_rd,debit,date_maj,lon,lat\n"
                       "21231_1,21231,PI,poteau,60,2025-01-01,5.0415,47.3216\n"
                       "21231_1,21231,PI,poteau,70,2024-01-01,5.0415,47.3216\n"
                       "21231_2,21231,PI,poteau,60,,5.0415,47.3216\n"
                       "21231_2,21231,PI,poteau,80,,5.0415,47.3216\n");
    ASSERT_EQ(r.features.size(), 2u);
    EXPECT_DOUBLE_EQ(number(r.features[0], pei(), "debit"), 60);  // later date wins over later row
    EXPECT_DOUBLE_EQ(number(r.features[1], pei(), "debit"), 80);  // no date: later row
    ASSERT_EQ(r.report.records.size(), 4u);
    EXPECT_EQ(r.report.records[1].outcome, Outcome::Superseded);
    EXPECT_EQ(r.report.records[1].reasons.back(),
              "duplicate_id: id_sdis 21231_1 also at row 1 (date_maj 2025-01-01 later), differs in debit, date_maj");
    EXPECT_EQ(r.report.records[0].outcome, Outcome::Published);
    EXPECT_EQ(r.report.records[0].reasons.back(), "duplicate_id_kept: id_sdis 21231_1 over row 2");
    EXPECT_EQ(r.report.records[2].reasons.back(), "duplicate_id: id_sdis 21231_2 also at row 4 (later row), differs in debit");
    EXPECT_EQ(r.report.superseded, 2u);
}

TEST_F(IngestRules, WithoutCommuneIndexNothingIsCheckedAgainstCommunes) {
    const auto r = run("plain.csv", "id_sdis,insee,type_pei,type_rd,lon,lat\n21231_1,,PI,poteau,1.0,43.0\n", {}, false);
    ASSERT_EQ(r.features.size(), 1u);
    EXPECT_TRUE(has_flag(r.features[0], "missing:insee"));
}

TEST_F(IngestRules, SpreadsheetCellsAreReadAsTextWhateverTheirCellType) {
    const auto cc46 = ingest::transform_point("EPSG:4326", "EPSG:3946", {5.0415, 47.3216});
    for (const char* driver : {"ODS", "XLSX"}) {
        SCOPED_TRACE(driver);
        const std::string path = (tmp / (std::string("mairie.") + (driver == std::string("ODS") ? "ods" : "xlsx"))).string();
        {
            GDALAllRegister();
            GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName(driver)->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
            ASSERT_TRUE(ds);
            OGRLayer* lyr = ds->CreateLayer("PEI", nullptr, wkbNone, nullptr);
            for (auto [name, type] : {std::pair{"Numéro PEI", OFTString}, {"Code INSEE", OFTInteger}, {"Nature", OFTString},
                                      {"Débit (m3/h)", OFTReal}, {"Disponibilité", OFTString}, {"X (CC46)", OFTReal},
                                      {"Y (CC46)", OFTReal}}) {
                OGRFieldDefn fd(name, type);
                ASSERT_EQ(lyr->CreateField(&fd), OGRERR_NONE);
            }
            OGRFeature f(lyr->GetLayerDefn());
            f.SetField(0, "21231_00042");
            f.SetField(1, 21231);
            f.SetField(2, "Poteau");
            f.SetField(3, 60.5);
            f.SetField(4, "Non");
            f.SetField(5, cc46.x);
            f.SetField(6, cc46.y);
            ASSERT_EQ(lyr->CreateFeature(&f), OGRERR_NONE);
        }
        SourceSpec s;
        s.id = "mairie";
        const auto res = ingest_file(pei(), s, path, communes->index.get());
        ASSERT_EQ(res.features.size(), 1u) << res.report.to_text();
        const Feature& f = res.features[0];
        EXPECT_EQ(std::get<std::string>(value(f, pei(), "insee")), "21231");
        EXPECT_EQ(to_text(value(f, pei(), "type_pei")), "PI");
        EXPECT_DOUBLE_EQ(number(f, pei(), "debit"), 60.5);
        EXPECT_EQ(std::get<std::int64_t>(value(f, pei(), "disponible")), 0);
        EXPECT_NEAR(f.geometry.envelope.min_x, 5.0415, 1e-6);
        EXPECT_NEAR(f.geometry.envelope.min_y, 47.3216, 1e-6);
        const auto& w = res.report.warnings;
        EXPECT_TRUE(std::any_of(w.begin(), w.end(), [](const std::string& x) { return x.find("EPSG:3946") != std::string::npos; }));
    }
}

TEST(IngestIcpe, GeoPackageKeepsItsIdentifierInTheFidColumnAndItsCrs) {
    const auto cat = load_layers(test::layers_dir());
    const LayerSpec& l = cat.get("icpe");
    SourceSpec s;
    s.id = "georisques-gpkg";
    const auto r = ingest_file(l, s, test::data("icpe/ign_installation.gpkg").string(), nullptr);
    EXPECT_EQ(r.report.read, 966u);  // the GeoPackage holds a smaller extract than the CSV
    EXPECT_EQ(r.report.published, r.report.read);
    EXPECT_EQ(r.report.without_location, 0u);
    const auto& w = r.report.warnings;
    EXPECT_TRUE(std::none_of(w.begin(), w.end(), [](const std::string& x) { return x.find("assumed") != std::string::npos; }));
    std::set<std::string> ids;
    for (const auto& f : r.features) {
        EXPECT_TRUE(std::all_of(f.id.begin(), f.id.end(), ::isdigit) && !f.id.empty()) << f.id;
        ids.insert(f.id);
        EXPECT_TRUE(f.geometry.envelope.min_x > -5 && f.geometry.envelope.min_x < 10) << "lon first";
        EXPECT_TRUE(f.geometry.envelope.min_y > 41 && f.geometry.envelope.min_y < 52) << "then lat";
    }
    EXPECT_EQ(ids.size(), r.features.size());
}

TEST(IngestValues, NumbersAndDatesInEveryPartnerSpelling) {
    EXPECT_EQ(ingest::parse_number("12,5"), 12.5);
    EXPECT_EQ(ingest::parse_number(" -30 "), -30);
    EXPECT_EQ(ingest::parse_number("1\xC2\xA0" "234,50"), 1234.5);
    EXPECT_EQ(ingest::parse_number("1.234,5"), 1234.5);
    EXPECT_EQ(ingest::parse_number("+7"), 7);
    EXPECT_FALSE(ingest::parse_number("abc"));
    EXPECT_FALSE(ingest::parse_number("12,5,3"));
    EXPECT_FALSE(ingest::parse_number("inf"));
    EXPECT_EQ(ingest::parse_date("31/12/2024"), "2024-12-31");
    EXPECT_EQ(ingest::parse_date("2024/12/31"), "2024-12-31");
    EXPECT_EQ(ingest::parse_date("1-2-2024"), "2024-02-01");
    EXPECT_EQ(ingest::parse_date("2024-02-29T10:00:00Z"), "2024-02-29");
    EXPECT_EQ(ingest::parse_date("29/02/2024 10:00"), "2024-02-29");
    EXPECT_FALSE(ingest::parse_date("31/02/2024"));
    EXPECT_FALSE(ingest::parse_date("29/02/2023"));
    EXPECT_FALSE(ingest::parse_date("2024-13-01"));
    EXPECT_FALSE(ingest::parse_date("2024-12-01x"));
    EXPECT_FALSE(ingest::parse_date("hier"));
}

TEST(IngestValues, CodeListsKeepRepairOrRefuseAndRangesDrop) {
    const auto cat = load_layers(test::layers_dir());
    const LayerSpec& l = cat.get("pei");
    const FieldSpec& type = l.fields[static_cast<size_t>(l.field_index("type_pei"))];
    auto kept = ingest::parse_value(type, "CI");
    EXPECT_EQ(kept.check, ingest::Check::Ok);
    auto repaired = ingest::parse_value(type, "POTEAU");
    EXPECT_EQ(repaired.check, ingest::Check::Repaired);
    EXPECT_EQ(to_text(repaired.value), "PI");
    EXPECT_EQ(repaired.reason, "code_synonym: type_pei POTEAU -> PI");
    auto refused = ingest::parse_value(type, "HYD");
    EXPECT_EQ(refused.check, ingest::Check::Invalid);
    EXPECT_EQ(refused.reason, "unknown_code: type_pei \"HYD\" not in PI, BI, PA, CI");
    const FieldSpec& debit = l.fields[static_cast<size_t>(l.field_index("debit"))];
    EXPECT_EQ(ingest::parse_value(debit, "-30").reason, "negative_value: debit -30");
    EXPECT_EQ(ingest::parse_value(debit, "n/a").reason, "invalid_number: debit \"n/a\"");
    const FieldSpec& categorie = cat.get("erp").fields[static_cast<size_t>(cat.get("erp").field_index("categorie"))];
    EXPECT_EQ(ingest::parse_value(categorie, "6").reason, "above_maximum: categorie 6 > 5");
    EXPECT_EQ(ingest::parse_value(categorie, "2,5").reason, "invalid_integer: categorie \"2,5\"");
    EXPECT_EQ(std::get<std::int64_t>(ingest::parse_value(categorie, "3").value), 3);
}

// Files that cannot be read at all fail whole, with a message naming them.
void expect_input_error_naming(const std::string& path, const std::string& layer = "pei") {
    const auto cat = load_layers(test::layers_dir());
    SourceSpec s;
    s.id = "bad";
    try {
        ingest_file(cat.get(layer), s, path, nullptr);
        ADD_FAILURE() << "no error for " << path;
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
}

TEST(IngestBadInput, UnreadableFilesThrowInputErrorNamingTheFile) {
    test::TempDir tmp;
    expect_input_error_naming((tmp / "absent.geojson").string());

    const std::string full = test::read_file(test::data("communes/communes-90-territoire-de-belfort.geojson"));
    std::ofstream(tmp / "truncated.geojson", std::ios::binary) << full.substr(0, full.size() / 2);
    expect_input_error_naming((tmp / "truncated.geojson").string());

    std::ofstream(tmp / "empty.csv", std::ios::binary) << "";
    expect_input_error_naming((tmp / "empty.csv").string());

    std::ofstream(tmp / "garbage.zip", std::ios::binary) << "not a zip at all";
    expect_input_error_naming((tmp / "garbage.zip").string());

    // A spreadsheet whose columns match no identifier of the layer.
    const std::string xlsx = (tmp / "no-id.xlsx").string();
    {
        GDALAllRegister();
        GDALDriver* drv = GetGDALDriverManager()->GetDriverByName("XLSX");
        ASSERT_NE(drv, nullptr);
        GDALDatasetUniquePtr ds(drv->Create(xlsx.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        ASSERT_TRUE(ds);
        OGRLayer* lyr = ds->CreateLayer("Feuil1", nullptr, wkbNone, nullptr);
        OGRFieldDefn a("Commentaire", OFTString), b("Valeur", OFTString);
        lyr->CreateField(&a);
        lyr->CreateField(&b);
        OGRFeature f(lyr->GetLayerDefn());
        f.SetField("Commentaire", "rien");
        f.SetField("Valeur", "12");
        ASSERT_EQ(lyr->CreateFeature(&f), OGRERR_NONE);
    }
    expect_input_error_naming(xlsx);
}


// The SDIS 90 Shapefile rewritten in `crs`. With `swap_in_crs`, its swapped records are swapped in that CRS
// instead of in Lambert-93; without, every point is reprojected as it is (what ogr2ogr -t_srs does).
std::string cd90_in(const std::string& crs, const test::TempDir& tmp, bool swap_in_crs = true) {
    GDALAllRegister();
    const std::string from = "/vsizip/" + test::data("deci/d_pei_cd90_p.zip").string();
    GDALDatasetUniquePtr in(GDALDataset::Open(from.c_str(), GDAL_OF_VECTOR));
    if (!in) throw std::runtime_error("cannot open " + from);
    OGRLayer* src = in->GetLayer(0);
    OGRSpatialReference l93, target;
    l93.importFromEPSG(2154);
    target.SetFromUserInput(crs.c_str());
    l93.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    target.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(&l93, &target));
    if (!ct) throw std::runtime_error("no transformation to " + crs);
    const auto swapped_ids = defect_ids("d_pei_cd90_p.zip", "swapped_coordinates");
    const std::set<std::string> swapped(swapped_ids.begin(), swapped_ids.end());

    const std::string path = (tmp / "d_pei_cc.shp").string();
    GDALDatasetUniquePtr out(GetGDALDriverManager()->GetDriverByName("ESRI Shapefile")->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    const char* options[] = {"ENCODING=UTF-8", nullptr};
    OGRLayer* dst = out->CreateLayer("d_pei_cc", &target, wkbPoint, const_cast<char**>(options));
    for (int i = 0; i < src->GetLayerDefn()->GetFieldCount(); ++i) dst->CreateField(src->GetLayerDefn()->GetFieldDefn(i));
    for (auto& f : *src) {
        OGRFeature copy(dst->GetLayerDefn());
        copy.SetFrom(f.get());
        if (auto* g = f->GetGeometryRef(); g && !g->IsEmpty() && wkbFlatten(g->getGeometryType()) == wkbPoint) {
            const bool swap = swap_in_crs && swapped.count(f->GetFieldAsString("ID_SDIS")) > 0;
            double x = g->toPoint()->getX(), y = g->toPoint()->getY();
            if (swap) std::swap(x, y);  // the corpus swapped it in Lambert-93: put it right first
            if (!ct->Transform(1, &x, &y)) throw std::runtime_error("cannot transform a point to " + crs);
            if (swap) std::swap(x, y);
            copy.SetGeometryDirectly(new OGRPoint(x, y));
        }
        if (dst->CreateFeature(&copy) != OGRERR_NONE) throw std::runtime_error("cannot write " + path);
    }
    return path;
}

// Issue 17.4: a partner in a conic conformal zone who swaps X and Y gets the same repair as one in Lambert-93.
TEST(IngestPei90, SwappedXYInAConicConformalZoneIsSwappedBackAsInLambert93) {
    auto communes = test::load_communes({"90"});
    const LayerSpec& l = communes->catalog.get("pei");
    const SourceSpec* s = l.find_source("sdis90");
    const Outcomes l93(ingest_file(l, *s, s->url, communes->index.get()));
    const auto swapped = defect_ids("d_pei_cd90_p.zip", "swapped_coordinates");
    ASSERT_FALSE(swapped.empty());
    for (const std::string zone : {"EPSG:3947", "EPSG:3948"}) {  // the Territoire de Belfort lies across both
        test::TempDir tmp;
        const Outcomes cc(ingest_file(l, *s, cd90_in(zone, tmp), communes->index.get()));
        for (const auto& id : swapped) {
            SCOPED_TRACE("swapped in " + zone + " " + id);
            const RecordReport* r = cc.report_of(id);
            ASSERT_NE(r, nullptr);
            ASSERT_EQ(r->outcome, Outcome::Repaired) << (r->reasons.empty() ? "" : r->reasons.front());
            EXPECT_TRUE(cc.has_reason(id, "swapped_coordinates: x/y (" + zone + ") swapped back into " + commune_of(id)));
            const Feature& f = cc.one(id);
            EXPECT_EQ(communes->index->locate(f.geometry.envelope.min_x, f.geometry.envelope.min_y), commune_of(id));
            // The place the Lambert-93 file gives once repaired, to the millimetre.
            const Feature& g = l93.one(id);
            EXPECT_NEAR(f.geometry.envelope.min_x, g.geometry.envelope.min_x, 1e-8);
            EXPECT_NEAR(f.geometry.envelope.min_y, g.geometry.envelope.min_y, 1e-8);
        }
        EXPECT_EQ(cc.result.report.rejected, l93.result.report.rejected);
        EXPECT_EQ(cc.result.report.repaired, l93.result.report.repaired);
    }
}

// The file a partner gets when it reprojects its Lambert-93 file, swapped records included, to its CC zone:
// those records are x/y swapped in Lambert-93, and are swapped back there.
TEST(IngestPei90, SwappedInLambert93ThenReprojectedToAConicConformalZoneIsSwappedBack) {
    auto communes = test::load_communes({"90"});
    const LayerSpec& l = communes->catalog.get("pei");
    const SourceSpec* s = l.find_source("sdis90");
    const Outcomes l93(ingest_file(l, *s, s->url, communes->index.get()));
    test::TempDir tmp;
    const Outcomes cc(ingest_file(l, *s, cd90_in("EPSG:3947", tmp, false), communes->index.get()));
    for (const auto& id : defect_ids("d_pei_cd90_p.zip", "swapped_coordinates")) {
        SCOPED_TRACE("swapped in Lambert-93 then reprojected " + id);
        const RecordReport* r = cc.report_of(id);
        ASSERT_NE(r, nullptr);
        ASSERT_EQ(r->outcome, Outcome::Repaired) << (r->reasons.empty() ? "" : r->reasons.front());
        EXPECT_TRUE(cc.has_reason(id, "swapped_coordinates: x/y (EPSG:2154, before EPSG:3947) swapped back into " + commune_of(id)));
        const Feature& f = cc.one(id);
        const Feature& g = l93.one(id);
        EXPECT_NEAR(f.geometry.envelope.min_x, g.geometry.envelope.min_x, 1e-8);
        EXPECT_NEAR(f.geometry.envelope.min_y, g.geometry.envelope.min_y, 1e-8);
    }
    for (const auto& id : defect_ids("d_pei_cd90_p.zip", "outside_department")) EXPECT_TRUE(cc.quarantined.count(id)) << id;
    EXPECT_EQ(cc.result.report.rejected, l93.result.report.rejected);
}

}  // namespace
}  // namespace ideo
