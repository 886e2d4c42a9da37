// The PostGIS store, for deployments that outgrow one machine: several `ideo serve` replicas behind a
// load balancer, one harvester, one database. Same layout as the GeoPackage (include/ideo/store/store.hpp),
// as PostgreSQL tables: one per layer with a geometry(…, 4326) column `geom` under a GiST index and a
// bigserial primary key `fid` (what QGIS asks of a PostGIS layer), {layer}_quarantine, ideo_publications,
// ideo_harvest_state, ideo_harvest_runs, ideo_catalog_records.
//
// libpq directly rather than GDAL's PG driver: a publish streams its rows with binary COPY (numbers,
// dates and EWKB geometries sent as is, nothing formatted or parsed as text), and the transaction,
// the writers' lock and the fault hook stay in plain sight; OGR's driver would send text COPY rows
// built from OGRFeatures and hide the transaction boundaries behind its own.
//
// Concurrency: every call leases its own connection (a pool, so a 2 s version poll does not reconnect);
// a publish runs in one READ COMMITTED transaction, so readers see the previous version until it commits.
// Writers (the harvester, an `ideo import`, a server's background harvest) take a SHARE ROW EXCLUSIVE
// lock on ideo_publications first: one at a time, versions numbered in commit order, readers never wait.
#include "pg_store.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "store_common.hpp"
#include "ideo/core/error.hpp"

namespace ideo::store {
namespace {

using pg::identifier;
using pg::Result;
using pg::Session;

constexpr std::uint32_t kWgs84 = 4326;

const char* sql_type(FieldType t) {
    switch (t) {
        case FieldType::String: return "text";
        case FieldType::Integer: return "bigint";
        case FieldType::Number: return "double precision";
        case FieldType::Date: return "date";
        case FieldType::Boolean: return "boolean";
    }
    return "text";
}

std::string quarantine_table_name(const LayerSpec& layer) { return layer.id + "_quarantine"; }

const std::vector<std::string> kProvenanceColumns = {"ideo_source", "ideo_source_id", "ideo_harvested_at", "ideo_flags"};

// The tables every store has, created with the database's first open.
const char* const kSchema = R"sql(
CREATE TABLE IF NOT EXISTS ideo_publications (
  version bigint PRIMARY KEY, layer text NOT NULL, source text NOT NULL, published_at text NOT NULL,
  "count" bigint NOT NULL, report_json text);
CREATE TABLE IF NOT EXISTS ideo_harvest_state (
  fid bigserial PRIMARY KEY, partner text NOT NULL, resource text NOT NULL, etag text, last_modified text,
  content_hash text, records bigint, checked_at text, detail text, UNIQUE (partner, resource));
CREATE TABLE IF NOT EXISTS ideo_harvest_runs (
  fid bigserial PRIMARY KEY, run_id text NOT NULL, partner text NOT NULL, recorded_at text, report_json text);
CREATE TABLE IF NOT EXISTS ideo_catalog_records (
  fid bigserial PRIMARY KEY, id text NOT NULL, partner text NOT NULL, remote_id text, harvested_at text, modified text,
  content_hash text, withdrawn integer NOT NULL DEFAULT 0, withdrawn_at text, original_format text, record_json text,
  original text);
CREATE INDEX IF NOT EXISTS ideo_catalog_records_partner ON ideo_catalog_records (partner);
CREATE INDEX IF NOT EXISTS ideo_catalog_records_id ON ideo_catalog_records (id);
CREATE TABLE IF NOT EXISTS ideo_organisations (
  fid bigserial PRIMARY KEY, name text NOT NULL UNIQUE, kind text, adherent integer NOT NULL DEFAULT 0, insee text, depts text);
CREATE TABLE IF NOT EXISTS ideo_api_keys (
  fid bigserial PRIMARY KEY, id text NOT NULL UNIQUE, organisation text NOT NULL, role text NOT NULL,
  key_hash text NOT NULL UNIQUE, created text NOT NULL, expires text, last_used text, revoked integer NOT NULL DEFAULT 0);
)sql";

// DDL under a transaction-scoped advisory lock: two processes opening a new database do not race
// on CREATE ... IF NOT EXISTS (which is not safe against a concurrent creation).
void run_ddl(Session& s, const std::string& sql, const std::string& what) {
    pg::Transaction tx(s);
    s.exec("SELECT pg_advisory_xact_lock(hashtext('ideo schema'))", what);
    s.exec(sql, what);
    tx.commit();
}

void create_schema(Session& s) {
    const Result r = s.exec(
        "SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'postgis') + "
        "(SELECT count(*) FROM unnest(ARRAY['ideo_publications', 'ideo_harvest_state', 'ideo_harvest_runs', "
        "'ideo_catalog_records', 'ideo_organisations', 'ideo_api_keys']) AS t(name) WHERE to_regclass(name) IS NOT NULL)",
        "cannot read the database's schema");
    if (std::strcmp(PQgetvalue(r.get(), 0, 0), "7") == 0) return;
    run_ddl(s, std::string("CREATE EXTENSION IF NOT EXISTS postgis;") + kSchema,
            "cannot create the ideo tables (and the postgis extension, which needs a role allowed to create it)");
}

// The layer's table and its quarantine, created or given the columns a newer layer spec brought; outside
// the publish transaction, so its ACCESS EXCLUSIVE lock is not held while rows stream in.
void ensure_layer_tables(Session& s, const LayerSpec& layer) {
    const std::string qtable = quarantine_table_name(layer);
    const auto existing = s.columns(layer.id);
    bool complete = !existing.empty() && !s.columns(qtable).empty();
    for (const auto& f : layer.fields)
        complete = complete && std::find(existing.begin(), existing.end(), f.name) != existing.end();
    if (complete) return;

    const std::string t = identifier(layer.id);
    // Polygon layers mix Polygon and MultiPolygon as partners send them: Geometry keeps each as published.
    const std::string geometry = layer.geometry_type == "point" ? "Point" : "Geometry";
    std::string sql = "CREATE TABLE IF NOT EXISTS " + t + " (fid bigserial PRIMARY KEY, geom geometry(" + geometry + ", " +
                      std::to_string(kWgs84) + "));\n";
    for (const auto& f : layer.fields)
        sql += "ALTER TABLE " + t + " ADD COLUMN IF NOT EXISTS " + identifier(f.name) + " " + sql_type(f.type) + ";\n";
    for (const auto& c : kProvenanceColumns) sql += "ALTER TABLE " + t + " ADD COLUMN IF NOT EXISTS " + c + " text;\n";
    sql += "CREATE INDEX IF NOT EXISTS " + identifier(layer.id + "_geom_gist") + " ON " + t + " USING gist (geom);\n";
    // Every publish deletes by source: index it.
    sql += "CREATE INDEX IF NOT EXISTS " + identifier(layer.id + "_ideo_source") + " ON " + t + " (ideo_source);\n";
    sql += "COMMENT ON TABLE " + t + " IS " + s.literal(layer.title.empty() ? layer.id : layer.title) + ";\n";
    sql += "CREATE TABLE IF NOT EXISTS " + identifier(qtable) +
           " (fid bigserial PRIMARY KEY, ideo_source text NOT NULL, \"row\" bigint, id text, reason text, record_json text);\n";
    sql += "CREATE INDEX IF NOT EXISTS " + identifier(qtable + "_ideo_source") + " ON " + identifier(qtable) +
           " (ideo_source);\n";
    run_ddl(s, sql, "table " + layer.id + ": cannot create it or add its new columns");
}

// The geometry as PostGIS's binary input reads it: EWKB, i.e. 2D little-endian WKB with the SRID flag
// and WGS84's code after the type. nullopt when the bytes are not WKB.
std::optional<std::string> ewkb_wgs84(const Geometry& g) {
    std::string_view wkb = g.wkb;
    std::uint32_t type = 0;
    if (wkb.size() >= 5 && wkb[0] == 1) std::memcpy(&type, wkb.data() + 1, 4);
    Geometry flat;
    if (type < 1 || type > 7) {  // big-endian, or ISO Z/M codes (1001...): rewritten 2D little-endian, as served
        flat = geometry_from_wkb(wkb);
        if (flat.empty()) return std::nullopt;
        wkb = flat.wkb;
        std::memcpy(&type, wkb.data() + 1, 4);
    }
    static_assert(std::endian::native == std::endian::little, "EWKB is written little-endian from native integers");
    const std::uint32_t ewkb_type = type | 0x20000000u;  // has SRID
    std::string out;
    out.reserve(wkb.size() + 4);
    out += '\1';
    out.append(reinterpret_cast<const char*>(&ewkb_type), 4);
    out.append(reinterpret_cast<const char*>(&kWgs84), 4);
    out.append(wkb.substr(5));
    return out;
}

// The served geometry from PostGIS's binary output (EWKB): the SRID after the type dropped, then read as WKB.
Geometry geometry_from_ewkb(std::string_view ewkb) {
    std::uint32_t type = 0;
    if (ewkb.size() < 9 || ewkb[0] != 1) return geometry_from_wkb(ewkb);  // PostGIS sends little-endian
    std::memcpy(&type, ewkb.data() + 1, 4);
    if (!(type & 0x20000000u)) return geometry_from_wkb(ewkb);
    type &= ~0x20000000u;
    std::string wkb;
    wkb.reserve(ewkb.size() - 4);
    wkb += '\1';
    wkb.append(reinterpret_cast<const char*>(&type), 4);
    wkb.append(ewkb.substr(9));
    return geometry_from_wkb(wkb);  // Z or M flags (a table edited elsewhere): OGR reads and flattens them
}

template <class T>
bool parse_number(const std::string& s, T& out) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// False when the column cannot hold the value (a date that is not a YYYY-MM-DD day, text in a number
// column): nothing is dropped or turned into 0 silently.
bool copy_value(pg::CopyIn& copy, const Value& v, FieldType type) {
    if (is_null(v)) {
        copy.null();
        return true;
    }
    const auto* text = std::get_if<std::string>(&v);
    switch (type) {
        case FieldType::String: text ? copy.text(*text) : copy.text(to_text(v)); return true;
        case FieldType::Integer: {
            std::int64_t i = 0;
            if (const auto* n = std::get_if<std::int64_t>(&v)) i = *n;
            else if (const auto* d = std::get_if<double>(&v)) i = static_cast<std::int64_t>(*d);
            else if (!parse_number(*text, i)) return false;
            copy.int8(i);
            return true;
        }
        case FieldType::Number: {
            double d = 0;
            if (const auto* n = std::get_if<std::int64_t>(&v)) d = static_cast<double>(*n);
            else if (const auto* x = std::get_if<double>(&v)) d = *x;
            else if (!parse_number(*text, d)) return false;
            copy.float8(d);
            return true;
        }
        case FieldType::Boolean: {
            if (const auto* n = std::get_if<std::int64_t>(&v)) copy.boolean(*n != 0);
            else if (const auto* d = std::get_if<double>(&v)) copy.boolean(*d != 0);
            else if (*text == "1" || *text == "true") copy.boolean(true);
            else if (*text == "0" || *text == "false") copy.boolean(false);
            else return false;
            return true;
        }
        case FieldType::Date: {
            int y, m, d;
            if (!text || !parse_iso_date(*text, y, m, d)) return false;
            const auto days = pg::date_days(y, m, d);
            if (!days) return false;
            copy.date(*days);
            return true;
        }
    }
    return false;
}

// One field of a binary result row, by the type its SELECT cast it to.
Value read_value(const PGresult* r, int row, int column, FieldType type) {
    if (PQgetisnull(r, row, column)) return {};
    const char* p = PQgetvalue(r, row, column);
    switch (type) {
        case FieldType::String: return std::string(p, static_cast<std::size_t>(PQgetlength(r, row, column)));
        case FieldType::Integer: return pg::read_int8(p);
        case FieldType::Boolean: return static_cast<std::int64_t>(*p != 0);
        case FieldType::Number: return pg::read_float8(p);
        case FieldType::Date: return pg::date_text(pg::read_int4(p));
    }
    return {};
}

std::string read_text(const PGresult* r, int row, int column) {
    return std::string(PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column)));
}

class PgStore final : public Store {
public:
    explicit PgStore(const std::string& conninfo) : pool_(std::make_shared<pg::Pool>(conninfo)) {
        Session s(pool_);
        create_schema(s);
    }

    Publication publish(const LayerSpec& layer, const std::string& source, const std::vector<Feature>& features,
                        const std::vector<Quarantined>& quarantine, const Report& report,
                        const PublishOptions& options) override;
    std::vector<Feature> load(const LayerSpec& layer) override;
    std::vector<std::string> ids_from_other_sources(const LayerSpec& layer, const std::string& source) override;
    std::int64_t version() override;
    std::vector<Publication> publications(std::size_t limit) override;

    std::optional<ResourceState> resource_state(const std::string& partner, const std::string& resource) override {
        Session s(pool_);
        return pg::resource_state(s, partner, resource);
    }
    std::vector<ResourceState> resource_states(const std::string& partner) override {
        Session s(pool_);
        return pg::resource_states(s, partner);
    }
    void save_resource_state(const ResourceState& state) override {
        Session s(pool_);
        pg::save_resource_state(s, state);
    }
    void record_harvest_run(const std::string& run_id, const std::string& partner, const std::string& report_json) override {
        Session s(pool_);
        pg::record_harvest_run(s, run_id, partner, report_json);
    }
    std::vector<HarvestRunEntry> harvest_runs(std::size_t runs) override {
        Session s(pool_);
        return pg::harvest_runs(s, runs);
    }
    std::optional<Publication> update_catalog(const std::string& partner, const CatalogUpdate& update,
                                              const std::string& report_json) override {
        Session s(pool_);
        return pg::update_catalog(s, partner, update, report_json);
    }
    std::vector<catalog::Record> load_catalog_records(const std::string& partner, bool with_originals) override {
        Session s(pool_);
        return pg::load_catalog(s, partner, with_originals);
    }
    std::vector<CatalogEntry> catalog_entries(const std::string& partner) override {
        Session s(pool_);
        return pg::catalog_entries(s, partner);
    }
    catalog::OriginalSource catalog_original_reader() override { return pg::original_reader(pool_); }

    void save_organisation(const Organisation& org) override { pg::save_organisation(*session(), org); }
    std::vector<Organisation> organisations() override { return pg::organisations(*session()); }
    void add_api_key(const ApiKey& key) override { pg::add_api_key(*session(), key); }
    std::vector<ApiKey> api_keys() override { return pg::api_keys(*session()); }
    bool revoke_api_key(const std::string& id) override { return pg::revoke_api_key(*session(), id); }
    std::optional<KeyGrant> find_api_key(const std::string& key_hash) override { return pg::find_api_key(*session(), key_hash); }
    void record_key_uses(const std::vector<std::pair<std::string, std::string>>& uses) override {
        pg::record_key_uses(*session(), uses);
    }

private:
    std::unique_ptr<Session> session() const { return std::make_unique<Session>(pool_); }
    std::shared_ptr<pg::Pool> pool_;
};

Publication PgStore::publish(const LayerSpec& layer, const std::string& source, const std::vector<Feature>& features,
                             const std::vector<Quarantined>& quarantine, const Report& report,
                             const PublishOptions& options) {
    Session s(pool_);
    ensure_layer_tables(s, layer);
    const std::string qtable = quarantine_table_name(layer);
    pg::Transaction tx(s);
    pg::lock_publications(s);
    s.exec("DELETE FROM " + identifier(layer.id) + " WHERE ideo_source = $1",
           "table " + layer.id + ": cannot remove the records of source " + source, {source});
    {
        std::vector<std::string> columns;
        for (const auto& f : layer.fields) columns.push_back(f.name);
        columns.insert(columns.end(), kProvenanceColumns.begin(), kProvenanceColumns.end());
        columns.emplace_back("geom");
        pg::CopyIn copy(s, layer.id, columns, "table " + layer.id + ": cannot write the records of source " + source);
        for (std::size_t i = 0; i < features.size(); ++i) {
            inject_writer_fault(options, i, layer.id, s.name());
            const Feature& f = features[i];
            const auto at = [&] { return s.name() + ": table " + layer.id + ": feature \"" + f.id + "\" of source " + source; };
            copy.row(columns.size());
            for (std::size_t k = 0; k < layer.fields.size(); ++k) {
                const Value& v = k < f.values.size() ? f.values[k] : Value{};
                if (!copy_value(copy, v, layer.fields[k].type))
                    throw Error(at() + ": " + layer.fields[k].name + ": \"" + to_text(v) + "\" is not a valid " +
                                to_string(layer.fields[k].type));
            }
            copy.text(source);
            copy.text(f.provenance.source_id);
            copy.text(f.provenance.harvested_at);
            f.flags.empty() ? copy.null() : copy.text(join_flags(f.flags));
            if (f.geometry.empty()) {
                copy.null();
            } else if (const auto ewkb = ewkb_wgs84(f.geometry)) {
                copy.bytes(*ewkb);
            } else {
                throw Error(at() + ": invalid WKB geometry");
            }
        }
        inject_writer_fault(options, features.size(), layer.id, s.name());
        copy.finish();
    }

    s.exec("DELETE FROM " + identifier(qtable) + " WHERE ideo_source = $1",
           "table " + qtable + ": cannot remove the quarantine of source " + source, {source});
    if (!quarantine.empty()) {
        pg::CopyIn copy(s, qtable, {"ideo_source", "row", "id", "reason", "record_json"},
                        "table " + qtable + ": cannot write the rejected records of source " + source);
        for (const auto& r : quarantine) {
            copy.row(5);
            copy.text(source);
            copy.int8(static_cast<std::int64_t>(r.row));
            copy.text(r.id);
            copy.text(r.reason);
            copy.text(r.record_json);
        }
        copy.finish();
    }
    Publication p = pg::record_publication(s, layer.id, source, features.size(), report.to_json());
    tx.commit();
    return p;
}

std::vector<Feature> PgStore::load(const LayerSpec& layer) {
    Session s(pool_);
    const auto existing = s.columns(layer.id);
    if (existing.empty()) return {};
    const auto has = [&](const std::string& c) { return std::find(existing.begin(), existing.end(), c) != existing.end(); };
    // Cast to the spec's types, so the binary values decode as the spec says even from an older table.
    std::string sql = "SELECT ";
    for (const auto& f : layer.fields)
        sql += has(f.name) ? identifier(f.name) + "::" + sql_type(f.type) + ", " : std::string("NULL, ");
    // geom itself, sent as EWKB (what ST_AsBinary would rewrite on the server costs twice the query).
    sql += "ideo_source, ideo_source_id, ideo_harvested_at, ideo_flags, geom FROM " +
           identifier(layer.id) + " ORDER BY fid";
    const Result r = s.exec(sql, "table " + layer.id + ": cannot read the features", {}, true);
    const PGresult* res = r.get();
    const int rows = PQntuples(res);
    const int nfields = static_cast<int>(layer.fields.size());
    const int id_field = layer.field_index(layer.id_field);

    std::vector<Feature> features(static_cast<std::size_t>(rows));
    for (int i = 0; i < rows; ++i) {
        Feature& f = features[static_cast<std::size_t>(i)];
        f.values.reserve(layer.fields.size());
        for (int k = 0; k < nfields; ++k) f.values.push_back(read_value(res, i, k, layer.fields[static_cast<std::size_t>(k)].type));
        if (id_field >= 0) f.id = to_text(f.values[static_cast<std::size_t>(id_field)]);
        f.provenance.source = read_text(res, i, nfields);
        f.provenance.source_id = read_text(res, i, nfields + 1);
        f.provenance.harvested_at = read_text(res, i, nfields + 2);
        f.flags = split_flags(read_text(res, i, nfields + 3));
        if (!PQgetisnull(res, i, nfields + 4))
            f.geometry = geometry_from_ewkb({PQgetvalue(res, i, nfields + 4), static_cast<std::size_t>(PQgetlength(res, i, nfields + 4))});
    }
    return sorted_by_id(std::move(features));
}

std::vector<std::string> PgStore::ids_from_other_sources(const LayerSpec& layer, const std::string& source) {
    Session s(pool_);
    if (s.columns(layer.id).empty()) return {};
    const std::string id = identifier(layer.id_field);
    // COLLATE "C": byte order, as the GeoPackage (and std::string) sorts.
    const Result r = s.exec("SELECT DISTINCT " + id + "::text COLLATE \"C\" FROM " + identifier(layer.id) +
                                " WHERE ideo_source <> $1 AND " + id + " IS NOT NULL ORDER BY 1",
                            "table " + layer.id + ": cannot read the identifiers", {source});
    std::vector<std::string> ids;
    for (int i = 0; i < PQntuples(r.get()); ++i) ids.push_back(read_text(r.get(), i, 0));
    return ids;
}

std::int64_t PgStore::version() {
    Session s(pool_);
    // The primary key's index answers max() with one lookup: cheap for every replica to poll.
    const Result r = s.exec("SELECT coalesce(max(version), 0) FROM ideo_publications", "table ideo_publications: cannot read the version");
    return std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10);
}

std::vector<Publication> PgStore::publications(std::size_t limit) {
    Session s(pool_);
    const Result r = s.exec("SELECT version, layer, source, published_at, \"count\" FROM ideo_publications ORDER BY version DESC LIMIT " +
                                (limit > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()) ? std::string("ALL")
                                                                                                            : std::to_string(limit)),
                            "table ideo_publications: cannot read the publications");
    std::vector<Publication> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        Publication& p = out.emplace_back();
        p.version = std::strtoll(PQgetvalue(r.get(), i, 0), nullptr, 10);
        p.layer = read_text(r.get(), i, 1);
        p.source = read_text(r.get(), i, 2);
        p.published_at = read_text(r.get(), i, 3);
        p.count = static_cast<std::size_t>(std::strtoull(PQgetvalue(r.get(), i, 4), nullptr, 10));
    }
    return out;
}

}  // namespace

std::unique_ptr<Store> open_pg_store(const std::string& conninfo) { return std::make_unique<PgStore>(conninfo); }

}  // namespace ideo::store
