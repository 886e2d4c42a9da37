#pragma once
// The PostGIS store, private to store/: open_store() picks it for "PG:..." URIs.
#include <memory>
#include <string>

#include "ideo/store/store.hpp"
#include "pg_session.hpp"

namespace ideo::store {

// Connects to the database of `conninfo` (what follows "PG:"), creating the ideo tables (and the postgis
// extension) when absent. Throws an Error naming the URI, password left out.
std::unique_ptr<Store> open_pg_store(const std::string& conninfo);

// pg_bookkeeping.cpp: harvest state, harvest runs and the catalogue, each call on its own leased connection.
namespace pg {

// Inside the caller's transaction, which holds the publications lock: the next version, recorded.
Publication record_publication(Session& s, const std::string& layer, const std::string& source, std::size_t count,
                               const std::string& report_json);
// Taken first in every writing transaction: one writer at a time; readers (ACCESS SHARE) never wait for it.
void lock_publications(Session& s);

std::optional<ResourceState> resource_state(Session& s, const std::string& partner, const std::string& resource);
std::vector<ResourceState> resource_states(Session& s, const std::string& partner);
void save_resource_state(Session& s, const ResourceState& state);
void record_harvest_run(Session& s, const std::string& run_id, const std::string& partner, const std::string& report_json);
std::vector<HarvestRunEntry> harvest_runs(Session& s, std::size_t runs);

std::optional<Publication> update_catalog(Session& s, const std::string& partner, const CatalogUpdate& update,
                                          const std::string& report_json);
std::vector<catalog::Record> load_catalog(Session& s, const std::string& partner, bool with_originals);
std::vector<CatalogEntry> catalog_entries(Session& s, const std::string& partner);
catalog::OriginalSource original_reader(std::shared_ptr<Pool> pool);

// pg_keys.cpp: organisations and API keys.
void save_organisation(Session& s, const Organisation& org);
std::vector<Organisation> organisations(Session& s);
void add_api_key(Session& s, const ApiKey& key);
std::vector<ApiKey> api_keys(Session& s);
bool revoke_api_key(Session& s, const std::string& id);
std::optional<KeyGrant> find_api_key(Session& s, const std::string& key_hash);
void record_key_uses(Session& s, const std::vector<std::pair<std::string, std::string>>& uses);

}  // namespace pg
}  // namespace ideo::store
