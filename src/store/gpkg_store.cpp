// The embedded GeoPackage store (GDAL/OGR GPKG driver). See include/ideo/store/store.hpp for the layout.
//
// Concurrency: the file is switched to SQLite WAL mode when created, so `ideo serve` keeps reading the
// last committed version while `ideo import` writes in another process, and a killed writer leaves
// only uncommitted WAL frames that the next open ignores. Every call opens its own dataset: GDAL
// datasets are not thread-safe, a fresh handle always sees the latest commit and the latest tables,
// and opening costs a few milliseconds, which a 2 s version poll does not notice.
#include "store_common.hpp"
#include "gpkg_store.hpp"
#include "gpkg_util.hpp"

#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"
#include "ideo/index/crs.hpp"

namespace ideo::store {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPublications = "ideo_publications";
constexpr const char* kGeometryColumn = "geom";

using gpkg::Dataset;
using gpkg::ResultSet;
using gpkg::sql_identifier;
using gpkg::sql_literal;

std::string quarantine_table_name(const LayerSpec& layer) { return layer.id + "_quarantine"; }

// A column of a store table, as OGR declares it.
struct Column {
    std::string name;
    OGRFieldType type = OFTString;
    OGRFieldSubType subtype = OFSTNone;
};

Column column_of(const FieldSpec& f) {
    switch (f.type) {
        case FieldType::String: return {f.name, OFTString};
        case FieldType::Integer: return {f.name, OFTInteger64};
        case FieldType::Number: return {f.name, OFTReal};
        case FieldType::Date: return {f.name, OFTDate};
        case FieldType::Boolean: return {f.name, OFTInteger, OFSTBoolean};  // OGR's boolean subtype is on 32 bits
    }
    return {f.name, OFTString};
}

// Column positions of a layer table, resolved once per call: the hot loops then index by int.
struct LayerColumns {
    std::vector<int> fields;  // per LayerSpec::fields; -1 when the table predates the field
    int source = -1, source_id = -1, harvested_at = -1, flags = -1;

    LayerColumns(const OGRFeatureDefn& defn, const LayerSpec& layer) {
        fields.reserve(layer.fields.size());
        for (const auto& f : layer.fields) fields.push_back(defn.GetFieldIndex(f.name.c_str()));
        source = defn.GetFieldIndex("ideo_source");
        source_id = defn.GetFieldIndex("ideo_source_id");
        harvested_at = defn.GetFieldIndex("ideo_harvested_at");
        flags = defn.GetFieldIndex("ideo_flags");
    }
};

// False when the column cannot hold the value (a date that is not YYYY-MM-DD): nothing is dropped silently.
bool set_value(OGRFeature& out, int column, const Value& v, FieldType type) {
    if (column < 0) return true;
    if (is_null(v)) {
        out.SetFieldNull(column);
        return true;
    }
    if (type == FieldType::Date) {
        int y, m, d;
        const auto* s = std::get_if<std::string>(&v);
        if (!s || !parse_iso_date(*s, y, m, d)) return false;
        out.SetField(column, y, m, d);
        return true;
    }
    switch (v.index()) {
        case 1: out.SetField(column, static_cast<GIntBig>(std::get<std::int64_t>(v))); break;
        case 2: out.SetField(column, std::get<double>(v)); break;
        default: out.SetField(column, std::get<std::string>(v).c_str()); break;
    }
    return true;
}

Value get_value(const OGRFeature& in, int column, FieldType type) {
    if (column < 0 || !in.IsFieldSetAndNotNull(column)) return {};
    switch (type) {
        case FieldType::Integer:
        case FieldType::Boolean: return static_cast<std::int64_t>(in.GetFieldAsInteger64(column));
        case FieldType::Number: return in.GetFieldAsDouble(column);
        case FieldType::Date: {
            int y = 0, m = 0, d = 0, hh = 0, mm = 0, tz = 0;
            float ss = 0;
            if (!in.GetFieldAsDateTime(column, &y, &m, &d, &hh, &mm, &ss, &tz)) return {};
            return text::iso_date(y, m, d);
        }
        case FieldType::String: break;
    }
    return std::string(in.GetFieldAsString(column));
}

// Sets the feature's geometry from WKB (false when invalid); a point reuses the feature's OGRPoint.
bool set_geometry(OGRFeature& out, const Geometry& g) {
    if (g.empty()) {
        out.SetGeometryDirectly(nullptr);
        return true;
    }
    if (g.wkb.size() == 21 && g.wkb[0] == 1 && g.is_point()) {
        double lon, lat;
        std::memcpy(&lon, g.wkb.data() + 5, 8);
        std::memcpy(&lat, g.wkb.data() + 13, 8);
        if (auto* p = dynamic_cast<OGRPoint*>(out.GetGeometryRef())) {
            p->setX(lon);
            p->setY(lat);
        } else {
            out.SetGeometryDirectly(new OGRPoint(lon, lat));
        }
        return true;
    }
    OGRGeometry* geom = nullptr;
    if (OGRGeometryFactory::createFromWkb(g.wkb.data(), nullptr, &geom, g.wkb.size(), wkbVariantIso) != OGRERR_NONE)
        return false;
    out.SetGeometryDirectly(geom);
    return true;
}

Geometry get_geometry(const OGRFeature& in) { return geometry_from_ogr(in.GetGeometryRef()); }

class GpkgStore final : public Store {
public:
    explicit GpkgStore(fs::path path);

    Publication publish(const LayerSpec& layer, const std::string& source, const std::vector<Feature>& features,
                        const std::vector<Quarantined>& quarantine, const Report& report,
                        const PublishOptions& options) override;
    std::vector<Feature> load(const LayerSpec& layer) override;
    std::vector<std::string> ids_from_other_sources(const LayerSpec& layer, const std::string& source) override;
    std::int64_t version() override;
    std::vector<Publication> publications(std::size_t limit) override;
    std::optional<ResourceState> resource_state(const std::string& partner, const std::string& resource) override {
        return gpkg_resource_state(path_, partner, resource);
    }
    void save_resource_state(const ResourceState& state) override { gpkg_save_resource_state(path_, state); }
    std::vector<ResourceState> resource_states(const std::string& partner) override {
        return gpkg_resource_states(path_, partner);
    }
    void record_harvest_run(const std::string& run_id, const std::string& partner, const std::string& report_json) override {
        gpkg_record_harvest_run(path_, run_id, partner, report_json);
    }
    std::vector<HarvestRunEntry> harvest_runs(std::size_t runs) override { return gpkg_harvest_runs(path_, runs); }
    std::optional<Publication> update_catalog(const std::string& partner, const CatalogUpdate& update,
                                              const std::string& report_json) override {
        return gpkg_update_catalog(path_, partner, update, report_json);
    }
    std::vector<catalog::Record> load_catalog_records(const std::string& partner, bool with_originals) override {
        return gpkg_load_catalog(path_, partner, with_originals);
    }
    std::vector<CatalogEntry> catalog_entries(const std::string& partner) override {
        return gpkg_catalog_entries(path_, partner);
    }
    catalog::OriginalSource catalog_original_reader() override { return gpkg_original_reader(path_); }
    void save_organisation(const Organisation& org) override { gpkg_save_organisation(path_, org); }
    std::vector<Organisation> organisations() override { return gpkg_organisations(path_); }
    void add_api_key(const ApiKey& key) override { gpkg_add_api_key(path_, key); }
    std::vector<ApiKey> api_keys() override { return gpkg_api_keys(path_); }
    bool revoke_api_key(const std::string& id) override { return gpkg_revoke_api_key(path_, id); }
    std::optional<KeyGrant> find_api_key(const std::string& key_hash) override { return gpkg_find_api_key(path_, key_hash); }
    void record_key_uses(const std::vector<std::pair<std::string, std::string>>& uses) override {
        gpkg_record_key_uses(path_, uses);
    }

private:
    void create();
    Dataset open(bool update) const;
    // Throws an Error naming the store file, what failed, and GDAL's last message.
    [[noreturn]] void fail(const std::string& what) const;
    void exec(GDALDataset& ds, const std::string& sql, const std::string& what) const;
    std::optional<std::int64_t> query_int(GDALDataset& ds, const std::string& sql, const std::string& what) const;
    OGRLayer* table(GDALDataset& ds, const std::string& name, OGRwkbGeometryType geometry,
                    const std::vector<Column>& fields, const std::string& title) const;
    OGRLayer* layer_table(GDALDataset& ds, const LayerSpec& layer) const;
    OGRLayer* quarantine_table(GDALDataset& ds, const LayerSpec& layer) const;
    OGRLayer* publications_table(GDALDataset& ds) const;

    fs::path path_;
};

GpkgStore::GpkgStore(fs::path path) : path_(std::move(path)) {
    static std::once_flag registered;
    std::call_once(registered, [] { GDALAllRegister(); });
    if (path_.has_parent_path()) {
        std::error_code ec;
        fs::create_directories(path_.parent_path(), ec);
        if (ec) throw Error(path_.string() + ": cannot create the store folder: " + ec.message());
    }
    if (!fs::exists(path_)) create();
}

void GpkgStore::fail(const std::string& what) const { gpkg::fail(path_, what); }

void GpkgStore::create() {
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GPKG");
    if (!driver) throw Error(path_.string() + ": GDAL has no GPKG driver");
    CPLErrorReset();
    Dataset ds(driver->Create(path_.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    if (!ds) fail("cannot create the GeoPackage");
    exec(*ds, "PRAGMA journal_mode = WAL", "cannot switch the GeoPackage to WAL mode");
    publications_table(*ds);
}

Dataset GpkgStore::open(bool update) const { return gpkg::open_dataset(path_, update); }

void GpkgStore::exec(GDALDataset& ds, const std::string& sql, const std::string& what) const {
    CPLErrorReset();
    ResultSet rs(ds, ds.ExecuteSQL(sql.c_str(), nullptr, nullptr));
    if (CPLGetLastErrorType() >= CE_Failure) fail(what);
}

std::optional<std::int64_t> GpkgStore::query_int(GDALDataset& ds, const std::string& sql,
                                                 const std::string& what) const {
    CPLErrorReset();
    ResultSet rs(ds, ds.ExecuteSQL(sql.c_str(), nullptr, nullptr));
    if (!rs || CPLGetLastErrorType() >= CE_Failure) fail(what);
    OGRFeatureUniquePtr f(rs->GetNextFeature());
    if (!f || !f->IsFieldSetAndNotNull(0)) return std::nullopt;
    return f->GetFieldAsInteger64(0);
}

// Creates the table with the given fields, or adds the fields a newer layer spec brought.
OGRLayer* GpkgStore::table(GDALDataset& ds, const std::string& name, OGRwkbGeometryType geometry,
                           const std::vector<Column>& fields, const std::string& title) const {
    OGRLayer* t = ds.GetLayerByName(name.c_str());
    if (!t) {
        const auto wgs84 = crs::make_srs(crs::kWgs84);
        const std::string identifier = "IDENTIFIER=" + (title.empty() ? name : title);
        const std::string geometry_name = std::string("GEOMETRY_NAME=") + kGeometryColumn;
        const char* options[] = {geometry_name.c_str(), "FID=fid", "SPATIAL_INDEX=YES", identifier.c_str(), nullptr};
        CPLErrorReset();
        t = ds.CreateLayer(name.c_str(), geometry == wkbNone ? nullptr : wgs84.get(), geometry, const_cast<char**>(options));
        if (!t) fail("table " + name + ": cannot create it");
    }
    for (const auto& c : fields) {
        if (t->GetLayerDefn()->GetFieldIndex(c.name.c_str()) >= 0) continue;
        OGRFieldDefn defn(c.name.c_str(), c.type);
        defn.SetSubType(c.subtype);
        CPLErrorReset();
        if (t->CreateField(&defn) != OGRERR_NONE) fail("table " + name + ": cannot add column " + c.name);
    }
    // GPKG defers CREATE TABLE and the R-tree to the first write: force them outside the publish transaction.
    CPLErrorReset();
    if (t->SyncToDisk() != OGRERR_NONE) fail("table " + name + ": cannot create it");
    return t;
}

OGRLayer* GpkgStore::layer_table(GDALDataset& ds, const LayerSpec& layer) const {
    std::vector<Column> fields;
    for (const auto& f : layer.fields) fields.push_back(column_of(f));
    for (const char* name : {"ideo_source", "ideo_source_id", "ideo_harvested_at", "ideo_flags"})
        fields.push_back({name, OFTString});
    // Polygon layers mix Polygon and MultiPolygon as partners send them: GEOMETRY keeps each as published.
    OGRLayer* t = table(ds, layer.id, layer.geometry_type == "point" ? wkbPoint : wkbUnknown, fields, layer.title);
    // Every publish deletes by source: index it.
    exec(ds, "CREATE INDEX IF NOT EXISTS " + sql_identifier(layer.id + "_ideo_source") + " ON " +
                 sql_identifier(layer.id) + " (ideo_source)",
         "table " + layer.id + ": cannot index ideo_source");
    return t;
}

OGRLayer* GpkgStore::quarantine_table(GDALDataset& ds, const LayerSpec& layer) const {
    static const std::vector<Column> fields = {
        {"ideo_source", OFTString}, {"row", OFTInteger64}, {"id", OFTString}, {"reason", OFTString},
        {"record_json", OFTString}};
    return table(ds, quarantine_table_name(layer), wkbNone, fields, layer.title + " (quarantaine)");
}

OGRLayer* GpkgStore::publications_table(GDALDataset& ds) const {
    static const std::vector<Column> fields = {
        {"version", OFTInteger64}, {"layer", OFTString},  {"source", OFTString},
        {"published_at", OFTString}, {"count", OFTInteger64}, {"report_json", OFTString}};
    return table(ds, kPublications, wkbNone, fields, "ideo publications");
}

Publication GpkgStore::publish(const LayerSpec& layer, const std::string& source, const std::vector<Feature>& features,
                               const std::vector<Quarantined>& quarantine, const Report& report,
                               const PublishOptions& options) {
    auto ds = open(true);
    // A publish rewrites the whole source: a 64 MiB page cache keeps its rows and R-tree pages in memory.
    exec(*ds, "PRAGMA cache_size = -65536", "cannot size the page cache");
    OGRLayer* records = layer_table(*ds, layer);
    OGRLayer* rejected = quarantine_table(*ds, layer);
    OGRLayer* publications = publications_table(*ds);
    const std::string qtable = quarantine_table_name(layer);

    // The R-tree's per-row triggers cost about three times what a bulk rebuild (GDAL's CreateSpatialIndex)
    // costs per row of the table (10,000 PEI, wall clock and callgrind): when the rows this publish deletes
    // and writes are a third of the table or more, the index is dropped and rebuilt after the writes.
    // Counted before the transaction, which then takes the write lock with its first statement.
    const std::string where_source = " WHERE ideo_source = " + sql_literal(source);
    const auto table_rows = static_cast<std::int64_t>(records->GetFeatureCount(FALSE));
    const auto source_rows = query_int(*ds, "SELECT COUNT(*) FROM " + sql_identifier(layer.id) + where_source,
                                       "table " + layer.id + ": cannot count the records of source " + source).value_or(0);
    const auto written = static_cast<std::int64_t>(features.size());
    const bool indexed = query_int(*ds, "SELECT HasSpatialIndex(" + sql_literal(layer.id) + ", '" + kGeometryColumn + "')",
                                   "table " + layer.id + ": cannot tell whether it has a spatial index") == 1;
    const bool rebuild_index = indexed && (source_rows + written) * 3 >= table_rows - source_rows + written;

    CPLErrorReset();
    if (ds->StartTransaction() != OGRERR_NONE) fail("cannot start the publish transaction of " + layer.id);
    try {
        if (rebuild_index)
            exec(*ds, "SELECT DisableSpatialIndex(" + sql_literal(layer.id) + ", '" + kGeometryColumn + "')",
                 "table " + layer.id + ": cannot suspend its spatial index");
        // The DELETE takes SQLite's write lock early, so the version read below cannot race another writer.
        exec(*ds, "DELETE FROM " + sql_identifier(layer.id) + where_source,
             "table " + layer.id + ": cannot remove the records of source " + source);

        const LayerColumns columns(*records->GetLayerDefn(), layer);
        OGRFeature row(records->GetLayerDefn());
        for (std::size_t i = 0; i < features.size(); ++i) {
            inject_writer_fault(options, i, layer.id, path_.string());
            const Feature& f = features[i];
            const auto at = [&] { return "table " + layer.id + ": feature \"" + f.id + "\" of source " + source; };
            for (std::size_t k = 0; k < columns.fields.size(); ++k) {
                const Value& v = k < f.values.size() ? f.values[k] : Value{};
                if (!set_value(row, columns.fields[k], v, layer.fields[k].type))
                    throw Error(path_.string() + ": " + at() + ": " + layer.fields[k].name + ": \"" + to_text(v) +
                                "\" is not a valid " + to_string(layer.fields[k].type));
            }
            row.SetField(columns.source, source.c_str());
            row.SetField(columns.source_id, f.provenance.source_id.c_str());
            row.SetField(columns.harvested_at, f.provenance.harvested_at.c_str());
            if (f.flags.empty()) row.SetFieldNull(columns.flags);
            else row.SetField(columns.flags, join_flags(f.flags).c_str());
            if (!set_geometry(row, f.geometry)) throw Error(path_.string() + ": " + at() + ": invalid WKB geometry");
            row.SetFID(OGRNullFID);
            CPLErrorReset();
            if (records->CreateFeature(&row) != OGRERR_NONE) fail(at() + ": cannot write it");
        }
        inject_writer_fault(options, features.size(), layer.id, path_.string());
        if (rebuild_index)
            exec(*ds, "SELECT CreateSpatialIndex(" + sql_literal(layer.id) + ", '" + kGeometryColumn + "')",
                 "table " + layer.id + ": cannot rebuild its spatial index");

        exec(*ds, "DELETE FROM " + sql_identifier(qtable) + " WHERE ideo_source = " + sql_literal(source),
             "table " + qtable + ": cannot remove the quarantine of source " + source);
        OGRFeature q(rejected->GetLayerDefn());
        for (const auto& r : quarantine) {
            q.SetField("ideo_source", source.c_str());
            q.SetField("row", static_cast<GIntBig>(r.row));
            q.SetField("id", r.id.c_str());
            q.SetField("reason", r.reason.c_str());
            q.SetField("record_json", r.record_json.c_str());
            q.SetFID(OGRNullFID);
            CPLErrorReset();
            if (rejected->CreateFeature(&q) != OGRERR_NONE)
                fail("table " + qtable + ": cannot write the rejected record at row " + std::to_string(r.row));
        }

        Publication p;
        p.version = query_int(*ds, std::string("SELECT max(version) FROM ") + kPublications,
                              std::string("table ") + kPublications + ": cannot read the version")
                        .value_or(0) +
                    1;
        p.layer = layer.id;
        p.source = source;
        p.published_at = text::now_iso8601();
        p.count = features.size();
        OGRFeature pub(publications->GetLayerDefn());
        pub.SetField("version", static_cast<GIntBig>(p.version));
        pub.SetField("layer", p.layer.c_str());
        pub.SetField("source", p.source.c_str());
        pub.SetField("published_at", p.published_at.c_str());
        pub.SetField("count", static_cast<GIntBig>(p.count));
        pub.SetField("report_json", report.to_json().c_str());
        CPLErrorReset();
        if (publications->CreateFeature(&pub) != OGRERR_NONE)
            fail(std::string("table ") + kPublications + ": cannot record the publication of " + layer.id);

        CPLErrorReset();
        if (ds->CommitTransaction() != OGRERR_NONE) fail("cannot commit the publish of " + layer.id + "/" + source);
        return p;
    } catch (...) {
        ds->RollbackTransaction();
        throw;
    }
}

std::vector<Feature> GpkgStore::load(const LayerSpec& layer) {
    auto ds = open(false);
    OGRLayer* t = ds->GetLayerByName(layer.id.c_str());
    if (!t) return {};
    const LayerColumns columns(*t->GetLayerDefn(), layer);
    const int id_field = layer.field_index(layer.id_field);

    std::vector<Feature> features;
    features.reserve(static_cast<std::size_t>(std::max<GIntBig>(0, t->GetFeatureCount(FALSE))));
    CPLErrorReset();
    t->ResetReading();
    for (const auto& in : *t) {
        Feature& f = features.emplace_back();
        f.values.reserve(layer.fields.size());
        for (std::size_t k = 0; k < layer.fields.size(); ++k)
            f.values.push_back(get_value(*in, columns.fields[k], layer.fields[k].type));
        if (id_field >= 0) f.id = to_text(f.values[static_cast<std::size_t>(id_field)]);
        f.geometry = get_geometry(*in);
        f.provenance.source = in->GetFieldAsString(columns.source);
        f.provenance.source_id = in->GetFieldAsString(columns.source_id);
        f.provenance.harvested_at = in->GetFieldAsString(columns.harvested_at);
        f.flags = split_flags(in->GetFieldAsString(columns.flags));
    }
    if (CPLGetLastErrorType() >= CE_Failure) fail("table " + layer.id + ": cannot read the features");
    return sorted_by_id(std::move(features));
}

std::vector<std::string> GpkgStore::ids_from_other_sources(const LayerSpec& layer, const std::string& source) {
    auto ds = open(false);
    if (!ds->GetLayerByName(layer.id.c_str())) return {};
    const std::string id = sql_identifier(layer.id_field);
    const std::string sql = "SELECT DISTINCT " + id + " FROM " + sql_identifier(layer.id) + " WHERE ideo_source <> " +
                            sql_literal(source) + " AND " + id + " IS NOT NULL ORDER BY 1";
    CPLErrorReset();
    ResultSet rs(*ds, ds->ExecuteSQL(sql.c_str(), nullptr, nullptr));
    if (!rs || CPLGetLastErrorType() >= CE_Failure) fail("table " + layer.id + ": cannot read the identifiers");
    std::vector<std::string> ids;
    for (const auto& f : *rs) ids.emplace_back(f->GetFieldAsString(0));
    return ids;
}

std::int64_t GpkgStore::version() {
    auto ds = open(false);
    if (!ds->GetLayerByName(kPublications)) return 0;
    return query_int(*ds, std::string("SELECT max(version) FROM ") + kPublications,
                     std::string("table ") + kPublications + ": cannot read the version")
        .value_or(0);
}

std::vector<Publication> GpkgStore::publications(std::size_t limit) {
    auto ds = open(false);
    if (!ds->GetLayerByName(kPublications)) return {};
    const std::string sql = std::string("SELECT version, layer, source, published_at, count FROM ") + kPublications +
                            " ORDER BY version DESC LIMIT " +
                            (limit > static_cast<std::size_t>(INT64_MAX) ? std::string("-1") : std::to_string(limit));
    CPLErrorReset();
    ResultSet rs(*ds, ds->ExecuteSQL(sql.c_str(), nullptr, nullptr));
    if (!rs || CPLGetLastErrorType() >= CE_Failure)
        fail(std::string("table ") + kPublications + ": cannot read the publications");
    std::vector<Publication> out;
    for (const auto& f : *rs) {
        Publication& p = out.emplace_back();
        p.version = f->GetFieldAsInteger64(0);
        p.layer = f->GetFieldAsString(1);
        p.source = f->GetFieldAsString(2);
        p.published_at = f->GetFieldAsString(3);
        p.count = static_cast<std::size_t>(f->GetFieldAsInteger64(4));
    }
    return out;
}

}  // namespace

std::unique_ptr<Store> open_gpkg_store(const fs::path& path) { return std::make_unique<GpkgStore>(path); }

}  // namespace ideo::store
