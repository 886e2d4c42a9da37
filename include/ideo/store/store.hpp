#pragma once
// The store: the only module that knows GeoPackage and PostGIS.
// Layout of the embedded GeoPackage (var/ideo.gpkg), which QGIS opens as is, and of a PostGIS database
// (PG:dbname=..., src/store/pg_store.cpp: the same tables, geometry columns under a GiST index):
//   one table per layer (the layer's fields + ideo_source, ideo_source_id, ideo_harvested_at, ideo_flags),
//   {layer}_quarantine (rejected records verbatim, with the reason),
//   ideo_publications (one row per publish: version, layer, source, time, counts, report JSON).
// A publish replaces one source's records of one layer inside a single SQLite (PostgreSQL) transaction:
// an import that fails or is killed half-way leaves the published version intact.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ideo/core/access.hpp"
#include "ideo/core/catalog_record.hpp"
#include "ideo/core/feature.hpp"
#include "ideo/core/layer.hpp"
#include "ideo/core/report.hpp"

namespace ideo::store {

struct PublishOptions {
    // Test hook for "killed mid-way": after writing this many features, throw (or abort() the
    // process when abort_instead is set). -1 = never. The CLI sets it from IDEO_FAULT_WRITER_AFTER.
    std::int64_t fail_after = -1;
    bool abort_instead = false;
};

struct Publication {
    std::int64_t version = 0;
    std::string layer, source, published_at;
    std::size_t count = 0;
};

// What the harvester remembers of one partner resource, so an unchanged one is neither
// downloaded (conditional GET) nor imported (same content hash) again. Table ideo_harvest_state.
struct ResourceState {
    std::string partner, resource;  // resource: the URL (or path) fetched
    std::string etag, last_modified, content_hash;
    std::size_t records = 0;  // features published from it last time (catalogue page: records it listed)
    std::string checked_at;
    std::string detail;  // the harvester's own notes, opaque to the store (catalogue page: its ids and paging)
};

// What a catalogue harvest compares a partner's records on: no record JSON, no original document.
struct CatalogEntry {
    std::string id, remote_id, content_hash, modified;
    bool withdrawn = false;
};

// One catalogue harvest of one partner, applied in one transaction (update_catalog).
struct CatalogUpdate {
    std::vector<catalog::Record> upserts;  // added or updated records, written whole
    std::vector<std::string> withdrawn;    // ids of records gone from the partner: flagged, kept
    std::string withdrawn_at;
    std::vector<ResourceState> pages;  // the answer pages read, saved with the records they vouch for
    bool pages_complete = false;       // a complete paging: the partner's other resource states are dropped
    bool save_pages = false;           // false: the page states are as stored already
};


// One partner's report in one harvest run (table ideo_harvest_runs), kept as history.
struct HarvestRunEntry {
    std::string run_id, partner, recorded_at, report_json;
};

// Who holds API keys (table ideo_organisations, unique on name): its kind, membership and territory, so
// promoting a commune to adherent is one change, seen by every key of it.
struct Organisation {
    std::string name;
    access::OrgKind kind = access::OrgKind::None;
    bool adherent = false;
    std::vector<std::string> insee;  // its communes (INSEE codes)
    std::vector<std::string> depts;  // or whole departments
};

// One API key (table ideo_api_keys): only the SHA-256 of the key is kept, never the key.
struct ApiKey {
    std::string id;            // "k-" and 12 hex digits: what `ideo keys list|revoke` name it by
    std::string organisation;  // Organisation::name
    access::Role role = access::Role::Member;
    std::string key_hash;  // sha256 hex of the whole key
    std::string created;   // ISO 8601 UTC
    std::string expires;   // "YYYY-MM-DD" (valid through that day, UTC), empty = never
    std::string last_used;  // ISO 8601 UTC, empty = never used; recorded at most once a minute
    bool revoked = false;

    // Expired at `now` (ISO 8601): today is past `expires`.
    bool expired(std::string_view now) const;
};

// What a key lookup finds: the key and its organisation.
struct KeyGrant {
    ApiKey key;
    Organisation organisation;
    // The identity a request with this key is served for (role, organisation, territory; via "apikey").
    access::Identity identity() const;
};

// A fresh key: "ideo_" + 32 random bytes (OpenSSL RAND_bytes) in base64url, 48 characters.
std::string new_api_key();
// What the store keeps of a key: its SHA-256, hex.
std::string api_key_hash(std::string_view key);

class Store {
public:
    virtual ~Store() = default;

    // Replaces the records of `source` in `layer` with `features`, and its quarantine, atomically.
    // Returns the new store version.
    virtual Publication publish(const LayerSpec& layer, const std::string& source, const std::vector<Feature>& features,
                                const std::vector<Quarantined>& quarantine, const Report& report,
                                const PublishOptions& options = {}) = 0;

    // Every published feature of the layer, ordered by identifier (empty when never published).
    // Called for several layers at once by load_snapshot: each call reads through its own connection.
    virtual std::vector<Feature> load(const LayerSpec& layer) = 0;

    // Identifiers of the layer already published by sources other than `source`.
    virtual std::vector<std::string> ids_from_other_sources(const LayerSpec& layer, const std::string& source) = 0;

    // The publish counter: changes with every successful publish; cheap enough to poll.
    virtual std::int64_t version() = 0;

    // The last publications, newest first.
    virtual std::vector<Publication> publications(std::size_t limit = 50) = 0;

    // Harvest bookkeeping (src/store/gpkg_harvest_state.cpp for the GeoPackage).
    virtual std::optional<ResourceState> resource_state(const std::string& partner, const std::string& resource) = 0;
    // Every resource state of `partner` (a catalogue partner's answer pages), in one read.
    virtual std::vector<ResourceState> resource_states(const std::string& partner);
    virtual void save_resource_state(const ResourceState& state) = 0;
    virtual void record_harvest_run(const std::string& run_id, const std::string& partner, const std::string& report_json) = 0;
    // Entries of the last `runs` runs, newest run first.
    virtual std::vector<HarvestRunEntry> harvest_runs(std::size_t runs = 20) = 0;

    // The harvested catalogue (src/store/gpkg_catalog.cpp, table ideo_catalog_records): one partner's harvest
    // written in one transaction (records, withdrawals, page states); a publication, bumping the version, only
    // when records changed (nullopt otherwise: servers keep their snapshot).
    virtual std::optional<Publication> update_catalog(const std::string& partner, const CatalogUpdate& update,
                                                      const std::string& report_json);
    // The records of one partner, or of every partner when empty (withdrawn ones too), ordered by id; their
    // original documents only when asked (they are most of the bytes: catalog_original_reader reads one).
    virtual std::vector<catalog::Record> load_catalog_records(const std::string& partner = {}, bool with_originals = true);
    // One partner's records, as little as a harvest compares them on.
    virtual std::vector<CatalogEntry> catalog_entries(const std::string& partner);
    // Reads records' original documents one at a time; self-contained: it may outlive this Store.
    virtual catalog::OriginalSource catalog_original_reader();

    // Organisations and API keys (gpkg_keys.cpp, pg_keys.cpp). save_organisation creates or updates by name.
    virtual void save_organisation(const Organisation& org);
    virtual std::vector<Organisation> organisations();
    // Stores a key of an existing organisation (an Error naming it otherwise); the id and created set by the caller.
    virtual void add_api_key(const ApiKey& key);
    virtual std::vector<ApiKey> api_keys();  // ordered by creation
    // False when no key has that id; revoking twice is harmless.
    virtual bool revoke_api_key(const std::string& id);
    // The key whose hash is `key_hash` (revoked and expired ones too: the caller says why it refuses), with its
    // organisation; the found hash is compared with CRYPTO_memcmp.
    virtual std::optional<KeyGrant> find_api_key(const std::string& key_hash);
    // Last uses of keys, by id, written in one go (the server batches them: at most once a minute per key).
    virtual void record_key_uses(const std::vector<std::pair<std::string, std::string>>& id_and_time);
};

// Creates a key for `organisation` (which must exist) and stores it; returns the record and the key, which
// is never stored and can be shown only now.
std::pair<ApiKey, std::string> create_api_key(Store& store, const std::string& organisation, access::Role role,
                                              const std::string& expires);

// "var/ideo.gpkg" (created with its folder when absent) or "PG:dbname=..." (a libpq connection string or
// postgresql:// URI; the ideo tables, and the postgis extension, created when absent). Errors name the
// store, a PG: URI without its password.
std::unique_ptr<Store> open_store(const std::string& uri);

}  // namespace ideo::store
