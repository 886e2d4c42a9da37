// The harvested catalogue in the GeoPackage: attribute table ideo_catalog_records, one row per
// record (the normalised record as JSON, the partner's document verbatim, hash, provenance,
// withdrawal). A partner's records are replaced in one transaction with a publication row, so
// servers polling the version reload, and a failed write leaves the last harvest intact.
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include "gpkg_store.hpp"
#include "gpkg_util.hpp"
#include "ideo/catalog/rules.hpp"
#include "ideo/core/text.hpp"

namespace ideo::store {
namespace {

namespace fs = std::filesystem;
constexpr const char* kTable = "ideo_catalog_records";

OGRLayer* catalog_table(GDALDataset& ds, const fs::path& path) {
    if (OGRLayer* t = ds.GetLayerByName(kTable)) return t;
    const char* options[] = {"FID=fid", "IDENTIFIER=ideo catalogue records", nullptr};
    CPLErrorReset();
    OGRLayer* t = ds.CreateLayer(kTable, nullptr, wkbNone, const_cast<char**>(options));
    if (!t) gpkg::fail(path, std::string("table ") + kTable + ": cannot create it");
    const std::pair<const char*, OGRFieldType> fields[] = {
        {"id", OFTString},          {"partner", OFTString},     {"remote_id", OFTString},
        {"harvested_at", OFTString}, {"modified", OFTString},   {"content_hash", OFTString},
        {"withdrawn", OFTInteger},  {"withdrawn_at", OFTString}, {"original_format", OFTString},
        {"record_json", OFTString}, {"original", OFTString}};
    for (const auto& [name, type] : fields) {
        OGRFieldDefn defn(name, type);
        if (t->CreateField(&defn) != OGRERR_NONE) gpkg::fail(path, std::string("table ") + kTable + ": cannot add " + name);
    }
    if (t->SyncToDisk() != OGRERR_NONE) gpkg::fail(path, std::string("table ") + kTable + ": cannot create it");
    gpkg::exec(ds, path, std::string("CREATE INDEX IF NOT EXISTS ideo_catalog_records_partner ON ") + kTable + " (partner)",
               std::string("table ") + kTable + ": cannot index partner");
    return t;
}

}  // namespace

Publication gpkg_replace_catalog(const fs::path& path, const std::string& partner,
                                 const std::vector<catalog::Record>& records, const std::string& report_json) {
    auto ds = gpkg::open_dataset(path, true);
    OGRLayer* t = catalog_table(*ds, path);
    CPLErrorReset();
    if (ds->StartTransaction() != OGRERR_NONE) gpkg::fail(path, "cannot start the catalogue transaction of " + partner);
    try {
        gpkg::exec(*ds, path, std::string("DELETE FROM ") + kTable + " WHERE partner = " + gpkg::sql_literal(partner),
                   std::string("table ") + kTable + ": cannot remove the records of partner " + partner);
        OGRFeature row(t->GetLayerDefn());
        for (const auto& r : records) {
            row.SetField("id", r.id.c_str());
            row.SetField("partner", partner.c_str());
            row.SetField("remote_id", r.remote_id.c_str());
            row.SetField("harvested_at", r.harvested_at.c_str());
            row.SetField("modified", r.modified.c_str());
            row.SetField("content_hash", r.content_hash.c_str());
            row.SetField("withdrawn", r.withdrawn ? 1 : 0);
            row.SetField("withdrawn_at", r.withdrawn_at.c_str());
            row.SetField("original_format", r.original_format.c_str());
            row.SetField("record_json", catalog::record_to_json(r, false).c_str());
            row.SetField("original", r.original.c_str());
            row.SetFID(OGRNullFID);
            CPLErrorReset();
            if (t->CreateFeature(&row) != OGRERR_NONE)
                gpkg::fail(path, std::string("table ") + kTable + ": cannot write record " + r.id);
        }
        Publication p;
        {
            CPLErrorReset();
            gpkg::ResultSet rs(*ds, ds->ExecuteSQL("SELECT max(version) FROM ideo_publications", nullptr, nullptr));
            if (!rs) gpkg::fail(path, "table ideo_publications: cannot read the version");
            OGRFeatureUniquePtr f(rs->GetNextFeature());
            p.version = (f && f->IsFieldSetAndNotNull(0) ? f->GetFieldAsInteger64(0) : 0) + 1;
        }
        p.layer = "catalog";
        p.source = partner;
        p.published_at = text::now_iso8601();
        p.count = records.size();
        gpkg::exec(*ds, path,
                   "INSERT INTO ideo_publications (version, layer, source, published_at, count, report_json) VALUES (" +
                       std::to_string(p.version) + ", 'catalog', " + gpkg::sql_literal(partner) + ", " +
                       gpkg::sql_literal(p.published_at) + ", " + std::to_string(p.count) + ", " +
                       gpkg::sql_literal(report_json) + ")",
                   "table ideo_publications: cannot record the catalogue publication of " + partner);
        CPLErrorReset();
        if (ds->CommitTransaction() != OGRERR_NONE) gpkg::fail(path, "cannot commit the catalogue of " + partner);
        return p;
    } catch (...) {
        ds->RollbackTransaction();
        throw;
    }
}

std::vector<catalog::Record> gpkg_load_catalog(const fs::path& path, const std::string& partner) {
    auto ds = gpkg::open_dataset(path, false);
    if (!ds->GetLayerByName(kTable)) return {};
    const std::string sql = std::string("SELECT record_json, original FROM ") + kTable +
                            (partner.empty() ? "" : " WHERE partner = " + gpkg::sql_literal(partner)) + " ORDER BY id";
    CPLErrorReset();
    gpkg::ResultSet rs(*ds, ds->ExecuteSQL(sql.c_str(), nullptr, nullptr));
    if (!rs || CPLGetLastErrorType() >= CE_Failure) gpkg::fail(path, std::string("table ") + kTable + ": cannot read it");
    std::vector<catalog::Record> out;
    for (const auto& f : *rs) {
        catalog::Record r = catalog::record_from_json(f->GetFieldAsString(0));
        r.original = f->GetFieldAsString(1);
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace ideo::store
