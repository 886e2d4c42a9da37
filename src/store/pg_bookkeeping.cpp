// Harvest bookkeeping and the harvested catalogue in PostGIS: ideo_harvest_state (one row per partner
// resource, unique on partner and resource), ideo_harvest_runs (one row per partner per run) and
// ideo_catalog_records (one row per record), as the GeoPackage keeps them (gpkg_harvest_state.cpp,
// gpkg_catalog.cpp). A partner's catalogue harvest is written in one transaction with its publication row.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "ideo/core/catalog_record.hpp"
#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"
#include "pg_store.hpp"

namespace ideo::store::pg {
namespace {

constexpr const char* kCatalog = "ideo_catalog_records";

std::string text_at(const PGresult* r, int row, int column) {
    return std::string(PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column)));
}

const char* const kStateColumns = "partner, resource, etag, last_modified, content_hash, records, checked_at, detail";

ResourceState state_at(const PGresult* r, int row) {
    ResourceState s;
    s.partner = text_at(r, row, 0);
    s.resource = text_at(r, row, 1);
    s.etag = text_at(r, row, 2);
    s.last_modified = text_at(r, row, 3);
    s.content_hash = text_at(r, row, 4);
    s.records = static_cast<std::size_t>(std::max(0LL, std::strtoll(PQgetvalue(r, row, 5), nullptr, 10)));
    s.checked_at = text_at(r, row, 6);
    s.detail = text_at(r, row, 7);
    return s;
}

std::vector<std::optional<std::string>> state_params(const ResourceState& s) {
    return {s.partner, s.resource, s.etag, s.last_modified, s.content_hash, std::to_string(s.records),
            s.checked_at.empty() ? text::now_iso8601() : s.checked_at, s.detail};
}

const std::string kInsertState = std::string("INSERT INTO ideo_harvest_state (") + kStateColumns +
                                 ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

}  // namespace

void lock_publications(Session& s) {
    s.exec("LOCK TABLE ideo_publications IN SHARE ROW EXCLUSIVE MODE", "cannot take the writers' lock");
}

Publication record_publication(Session& s, const std::string& layer, const std::string& source, std::size_t count,
                               const std::string& report_json) {
    Publication p;
    p.layer = layer;
    p.source = source;
    p.count = count;
    p.published_at = text::now_iso8601();
    const Result r = s.exec(
        "INSERT INTO ideo_publications (version, layer, source, published_at, \"count\", report_json) "
        "SELECT coalesce(max(version), 0) + 1, $1, $2, $3, $4, $5 FROM ideo_publications RETURNING version",
        "table ideo_publications: cannot record the publication of " + layer + "/" + source,
        {layer, source, p.published_at, std::to_string(count), report_json});
    p.version = std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10);
    return p;
}

std::optional<ResourceState> resource_state(Session& s, const std::string& partner, const std::string& resource) {
    const Result r = s.exec(std::string("SELECT ") + kStateColumns + " FROM ideo_harvest_state WHERE partner = $1 AND resource = $2",
                            "table ideo_harvest_state: cannot read the state of " + resource, {partner, resource});
    if (PQntuples(r.get()) == 0) return std::nullopt;
    return state_at(r.get(), 0);
}

std::vector<ResourceState> resource_states(Session& s, const std::string& partner) {
    const Result r = s.exec(std::string("SELECT ") + kStateColumns + " FROM ideo_harvest_state WHERE partner = $1 ORDER BY fid",
                            "table ideo_harvest_state: cannot read the states of " + partner, {partner});
    std::vector<ResourceState> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(state_at(r.get(), i));
    return out;
}

void save_resource_state(Session& s, const ResourceState& state) {
    s.exec(kInsertState +
               " ON CONFLICT (partner, resource) DO UPDATE SET etag = $3, last_modified = $4, content_hash = $5, "
               "records = $6, checked_at = $7, detail = $8",
           "table ideo_harvest_state: cannot save the state of " + state.resource, state_params(state));
}

void record_harvest_run(Session& s, const std::string& run_id, const std::string& partner, const std::string& report_json) {
    s.exec("INSERT INTO ideo_harvest_runs (run_id, partner, recorded_at, report_json) VALUES ($1, $2, $3, $4)",
           "table ideo_harvest_runs: cannot record run " + run_id + " of " + partner,
           {run_id, partner, text::now_iso8601(), report_json});
}

std::vector<HarvestRunEntry> harvest_runs(Session& s, std::size_t runs) {
    // The last `runs` runs by their newest row, then every row of those runs, newest first.
    const Result r = s.exec(
        "SELECT run_id, partner, recorded_at, report_json FROM ideo_harvest_runs WHERE run_id IN ("
        "SELECT run_id FROM ideo_harvest_runs GROUP BY run_id ORDER BY max(fid) DESC LIMIT $1) ORDER BY fid DESC",
        "table ideo_harvest_runs: cannot read the runs", {std::to_string(std::min<std::size_t>(runs, INT32_MAX))});
    std::vector<HarvestRunEntry> out;
    for (int i = 0; i < PQntuples(r.get()); ++i)
        out.push_back({text_at(r.get(), i, 0), text_at(r.get(), i, 1), text_at(r.get(), i, 2), text_at(r.get(), i, 3)});
    return out;
}

std::optional<Publication> update_catalog(Session& s, const std::string& partner, const CatalogUpdate& u,
                                          const std::string& report_json) {
    const bool records_change = !u.upserts.empty() || !u.withdrawn.empty();
    if (!records_change && !u.save_pages) return std::nullopt;
    const std::string table = std::string("table ") + kCatalog;
    Transaction tx(s);
    lock_publications(s);
    std::optional<Publication> p;
    if (records_change) {
        std::vector<std::string> ids;
        for (const auto& r : u.upserts) ids.push_back(r.id);
        s.exec(std::string("DELETE FROM ") + kCatalog + " WHERE id = ANY($1::text[])",
               table + ": cannot replace records of partner " + partner, {text_array(ids)});
        if (!u.upserts.empty()) {
            CopyIn copy(s, kCatalog,
                        {"id", "partner", "remote_id", "harvested_at", "modified", "content_hash", "withdrawn",
                         "withdrawn_at", "original_format", "record_json", "original"},
                        table + ": cannot write the records of partner " + partner);
            for (const auto& r : u.upserts) {
                copy.row(11);
                copy.text(r.id);
                copy.text(partner);
                copy.text(r.remote_id);
                copy.text(r.harvested_at);
                copy.text(r.modified);
                copy.text(r.content_hash);
                copy.int4(r.withdrawn ? 1 : 0);
                copy.text(r.withdrawn_at);
                copy.text(r.original_format);
                copy.text(catalog::record_to_json(r, false));
                copy.text(r.original);
            }
            copy.finish();
        }
        if (!u.withdrawn.empty())
            s.exec(std::string("UPDATE ") + kCatalog + " SET withdrawn = 1, withdrawn_at = $1 WHERE partner = $2 AND id = ANY($3::text[])",
                   table + ": cannot withdraw records of partner " + partner, {u.withdrawn_at, partner, text_array(u.withdrawn)});
        const Result count = s.exec(std::string("SELECT count(*) FROM ") + kCatalog + " WHERE partner = $1",
                                    table + ": cannot count the records of " + partner, {partner});
        p = record_publication(s, "catalog", partner, std::strtoull(PQgetvalue(count.get(), 0, 0), nullptr, 10), report_json);
    }
    if (u.save_pages) {
        // The states of `partner` replaced by the pages read: all of them after a complete paging, else those of the same pages.
        std::vector<std::string> resources;
        for (const auto& page : u.pages) resources.push_back(page.resource);
        if (u.pages_complete)
            s.exec("DELETE FROM ideo_harvest_state WHERE partner = $1", "table ideo_harvest_state: cannot replace the states of " + partner,
                   {partner});
        else
            s.exec("DELETE FROM ideo_harvest_state WHERE partner = $1 AND resource = ANY($2::text[])",
                   "table ideo_harvest_state: cannot replace the states of " + partner, {partner, text_array(resources)});
        for (const auto& page : u.pages)
            s.exec(kInsertState, "table ideo_harvest_state: cannot save the state of " + page.resource, state_params(page));
    }
    tx.commit();
    return p;
}

std::vector<catalog::Record> load_catalog(Session& s, const std::string& partner, bool with_originals) {
    // The columns say whether a record is withdrawn: a withdrawal updates them, not the record's JSON.
    const Result r = s.exec(std::string("SELECT record_json, withdrawn, withdrawn_at") + (with_originals ? ", original" : "") +
                                " FROM " + kCatalog + " WHERE $1 = '' OR partner = $1 ORDER BY id COLLATE \"C\"",
                            std::string("table ") + kCatalog + ": cannot read it", {partner});
    std::vector<catalog::Record> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        catalog::Record rec = catalog::record_from_json(text_at(r.get(), i, 0));
        rec.withdrawn = std::strcmp(PQgetvalue(r.get(), i, 1), "0") != 0;
        rec.withdrawn_at = text_at(r.get(), i, 2);
        if (with_originals) rec.original = text_at(r.get(), i, 3);
        out.push_back(std::move(rec));
    }
    return out;
}

std::vector<CatalogEntry> catalog_entries(Session& s, const std::string& partner) {
    const Result r = s.exec(std::string("SELECT id, remote_id, content_hash, modified, withdrawn FROM ") + kCatalog +
                                " WHERE $1 = '' OR partner = $1 ORDER BY id COLLATE \"C\"",
                            std::string("table ") + kCatalog + ": cannot read it", {partner});
    std::vector<CatalogEntry> out;
    for (int i = 0; i < PQntuples(r.get()); ++i)
        out.push_back({text_at(r.get(), i, 0), text_at(r.get(), i, 1), text_at(r.get(), i, 2), text_at(r.get(), i, 3),
                       std::strcmp(PQgetvalue(r.get(), i, 4), "0") != 0});
    return out;
}

catalog::OriginalSource original_reader(std::shared_ptr<Pool> pool) {
    // Holds the pool, not the Store: the reader outlives it, and reuses the pool's idle connections.
    return [pool = std::move(pool)](const std::string& id, const std::string& content_hash) -> std::optional<std::string> {
        Session s(pool);
        const Result r = s.exec(std::string("SELECT original FROM ") + kCatalog + " WHERE id = $1 AND content_hash = $2",
                                std::string("table ") + kCatalog + ": cannot read record " + id, {id, content_hash});
        if (PQntuples(r.get()) == 0) return std::nullopt;
        return text_at(r.get(), 0, 0);
    };
}

}  // namespace ideo::store::pg
