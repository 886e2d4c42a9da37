// The harvested catalogue in the GeoPackage: attribute table ideo_catalog_records, one row per
// record (the normalised record as JSON, the partner's document verbatim, hash, provenance,
// withdrawal). A partner's harvest (records added or updated, withdrawals, its answer pages' states)
// is written in one transaction with a publication row, so servers polling the version reload, and
// a failed write leaves the last harvest intact.
#include <gdal_priv.h>
#include <ogrsf_frmts.h>
#include <sqlite3.h>

#include <memory>

#include "gpkg_store.hpp"
#include "gpkg_util.hpp"
#include "ideo/core/catalog_record.hpp"
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

namespace {

// `column IN ('a', 'b', ...)` over a slice of ids, so a statement stays well below SQLite's length limit.
template <class Apply>
void in_chunks(const std::vector<std::string>& ids, Apply apply) {
    constexpr std::size_t kChunk = 500;
    for (std::size_t at = 0; at < ids.size(); at += kChunk) {
        std::string list;
        for (std::size_t i = at; i < std::min(ids.size(), at + kChunk); ++i) list += (i > at ? ", " : "") + gpkg::sql_literal(ids[i]);
        apply("(" + list + ")");
    }
}

void write_records(GDALDataset& ds, OGRLayer* t, const fs::path& path, const std::string& partner,
                   const std::vector<catalog::Record>& records) {
    std::vector<std::string> ids;
    for (const auto& r : records) ids.push_back(r.id);
    in_chunks(ids, [&](const std::string& list) {
        gpkg::exec(ds, path, std::string("DELETE FROM ") + kTable + " WHERE id IN " + list,
                   std::string("table ") + kTable + ": cannot replace records of partner " + partner);
    });
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
        if (t->CreateFeature(&row) != OGRERR_NONE) gpkg::fail(path, std::string("table ") + kTable + ": cannot write record " + r.id);
    }
}

Publication record_publication(GDALDataset& ds, const fs::path& path, const std::string& partner, const std::string& report_json) {
    Publication p;
    {
        CPLErrorReset();
        gpkg::ResultSet rs(ds, ds.ExecuteSQL("SELECT max(version) FROM ideo_publications", nullptr, nullptr));
        if (!rs) gpkg::fail(path, "table ideo_publications: cannot read the version");
        OGRFeatureUniquePtr f(rs->GetNextFeature());
        p.version = (f && f->IsFieldSetAndNotNull(0) ? f->GetFieldAsInteger64(0) : 0) + 1;
    }
    {
        CPLErrorReset();
        const std::string sql = std::string("SELECT count(*) FROM ") + kTable + " WHERE partner = " + gpkg::sql_literal(partner);
        gpkg::ResultSet rs(ds, ds.ExecuteSQL(sql.c_str(), nullptr, nullptr));
        if (!rs) gpkg::fail(path, std::string("table ") + kTable + ": cannot count the records of " + partner);
        OGRFeatureUniquePtr f(rs->GetNextFeature());
        p.count = f ? static_cast<std::size_t>(f->GetFieldAsInteger64(0)) : 0;
    }
    p.layer = "catalog";
    p.source = partner;
    p.published_at = text::now_iso8601();
    gpkg::exec(ds, path,
               "INSERT INTO ideo_publications (version, layer, source, published_at, count, report_json) VALUES (" +
                   std::to_string(p.version) + ", 'catalog', " + gpkg::sql_literal(partner) + ", " +
                   gpkg::sql_literal(p.published_at) + ", " + std::to_string(p.count) + ", " + gpkg::sql_literal(report_json) + ")",
               "table ideo_publications: cannot record the catalogue publication of " + partner);
    return p;
}

std::string partner_filter(const std::string& partner) {
    return partner.empty() ? std::string() : " WHERE partner = " + gpkg::sql_literal(partner);
}

}  // namespace

std::optional<Publication> gpkg_update_catalog(const fs::path& path, const std::string& partner, const CatalogUpdate& u,
                                               const std::string& report_json) {
    const bool records_change = !u.upserts.empty() || !u.withdrawn.empty();
    if (!records_change && !u.save_pages) return std::nullopt;
    auto ds = gpkg::open_dataset(path, true);
    OGRLayer* t = catalog_table(*ds, path);
    CPLErrorReset();
    if (ds->StartTransaction() != OGRERR_NONE) gpkg::fail(path, "cannot start the catalogue transaction of " + partner);
    try {
        std::optional<Publication> p;
        if (records_change) {
            // Stores made before records were updated one by one have no index on id.
            gpkg::exec(*ds, path, std::string("CREATE INDEX IF NOT EXISTS ideo_catalog_records_id ON ") + kTable + " (id)",
                       std::string("table ") + kTable + ": cannot index id");
            write_records(*ds, t, path, partner, u.upserts);
            in_chunks(u.withdrawn, [&](const std::string& list) {
                gpkg::exec(*ds, path,
                           std::string("UPDATE ") + kTable + " SET withdrawn = 1, withdrawn_at = " +
                               gpkg::sql_literal(u.withdrawn_at) + " WHERE partner = " + gpkg::sql_literal(partner) +
                               " AND id IN " + list,
                           std::string("table ") + kTable + ": cannot withdraw records of partner " + partner);
            });
            p = record_publication(*ds, path, partner, report_json);
        }
        if (u.save_pages) gpkg_write_resource_states(*ds, path, partner, u.pages, u.pages_complete);
        CPLErrorReset();
        if (ds->CommitTransaction() != OGRERR_NONE) gpkg::fail(path, "cannot commit the catalogue of " + partner);
        return p;
    } catch (...) {
        ds->RollbackTransaction();
        throw;
    }
}

std::vector<catalog::Record> gpkg_load_catalog(const fs::path& path, const std::string& partner, bool with_originals) {
    auto ds = gpkg::open_dataset(path, false);
    if (!ds->GetLayerByName(kTable)) return {};
    // The columns say whether a record is withdrawn: a withdrawal updates them, not the record's JSON.
    const std::string sql = std::string("SELECT record_json, withdrawn, withdrawn_at") + (with_originals ? ", original" : "") +
                            " FROM " + kTable + partner_filter(partner) + " ORDER BY id";
    CPLErrorReset();
    gpkg::ResultSet rs(*ds, ds->ExecuteSQL(sql.c_str(), nullptr, nullptr));
    if (!rs || CPLGetLastErrorType() >= CE_Failure) gpkg::fail(path, std::string("table ") + kTable + ": cannot read it");
    std::vector<catalog::Record> out;
    for (const auto& f : *rs) {
        catalog::Record r = catalog::record_from_json(f->GetFieldAsString(0));
        r.withdrawn = f->GetFieldAsInteger(1) != 0;
        r.withdrawn_at = f->GetFieldAsString(2);
        if (with_originals) r.original = f->GetFieldAsString(3);
        out.push_back(std::move(r));
    }
    return out;
}

std::vector<CatalogEntry> gpkg_catalog_entries(const fs::path& path, const std::string& partner) {
    auto ds = gpkg::open_dataset(path, false);
    if (!ds->GetLayerByName(kTable)) return {};
    const std::string sql = std::string("SELECT id, remote_id, content_hash, modified, withdrawn FROM ") + kTable +
                            partner_filter(partner) + " ORDER BY id";
    CPLErrorReset();
    gpkg::ResultSet rs(*ds, ds->ExecuteSQL(sql.c_str(), nullptr, nullptr));
    if (!rs || CPLGetLastErrorType() >= CE_Failure) gpkg::fail(path, std::string("table ") + kTable + ": cannot read it");
    std::vector<CatalogEntry> out;
    for (const auto& f : *rs)
        out.push_back({f->GetFieldAsString(0), f->GetFieldAsString(1), f->GetFieldAsString(2), f->GetFieldAsString(3),
                       f->GetFieldAsInteger(4) != 0});
    return out;
}

catalog::OriginalSource gpkg_original_reader(const fs::path& path) {
    // SQLite directly, read-only: opening the GeoPackage through GDAL costs ~15 ms, the indexed read 10 µs.
    return [path](const std::string& id, const std::string& content_hash) -> std::optional<std::string> {
        sqlite3* db = nullptr;
        const int opened = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
        const std::unique_ptr<sqlite3, int (*)(sqlite3*)> owned(db, sqlite3_close);
        const auto failed = [&](const std::string& what) {
            return Error(path.string() + ": table " + kTable + ": cannot read record " + id + ": " + what + ": " +
                         (db ? sqlite3_errmsg(db) : "out of memory"));
        };
        if (opened != SQLITE_OK) throw failed("cannot open the store");
        sqlite3_busy_timeout(db, 5000);  // a harvest committing: wait for it rather than fail the request
        sqlite3_stmt* raw = nullptr;
        const std::string sql = std::string("SELECT original FROM ") + kTable + " WHERE id = ?1 AND content_hash = ?2";
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
            if (std::string(sqlite3_errmsg(db)).find("no such table") != std::string::npos) return std::nullopt;
            throw failed("cannot query");
        }
        const std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
        sqlite3_bind_text(raw, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
        sqlite3_bind_text(raw, 2, content_hash.data(), static_cast<int>(content_hash.size()), SQLITE_STATIC);
        const int step = sqlite3_step(raw);
        if (step == SQLITE_DONE) return std::nullopt;
        if (step != SQLITE_ROW) throw failed("cannot query");
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
        return std::string(text ? text : "", static_cast<std::size_t>(sqlite3_column_bytes(raw, 0)));
    };
}

}  // namespace ideo::store
