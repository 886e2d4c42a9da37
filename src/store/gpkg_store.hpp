#pragma once
// The embedded GeoPackage store, private to store/: open_store() picks it for file paths.
#include <filesystem>
#include <memory>

#include "ideo/store/store.hpp"

class GDALDataset;

namespace ideo::store {

// Harvest bookkeeping tables of the GeoPackage at `path` (gpkg_harvest_state.cpp); each call opens its own dataset.
std::optional<ResourceState> gpkg_resource_state(const std::filesystem::path& path, const std::string& partner,
                                                 const std::string& resource);
void gpkg_save_resource_state(const std::filesystem::path& path, const ResourceState& state);
std::vector<ResourceState> gpkg_resource_states(const std::filesystem::path& path, const std::string& partner);
// Inside the caller's transaction: the states of `partner` replaced by `states` (all of them when
// `drop_others`, else only those of the same resources).
void gpkg_write_resource_states(GDALDataset& ds, const std::filesystem::path& path, const std::string& partner,
                                const std::vector<ResourceState>& states, bool drop_others);
void gpkg_record_harvest_run(const std::filesystem::path& path, const std::string& run_id, const std::string& partner,
                             const std::string& report_json);
std::vector<HarvestRunEntry> gpkg_harvest_runs(const std::filesystem::path& path, std::size_t runs);

// Opens the GeoPackage at `path`, creating it (and its folder) when absent.
std::unique_ptr<Store> open_gpkg_store(const std::filesystem::path& path);

// gpkg_catalog.cpp: the catalogue records table.
std::optional<Publication> gpkg_update_catalog(const std::filesystem::path& path, const std::string& partner,
                                               const CatalogUpdate& update, const std::string& report_json);
std::vector<catalog::Record> gpkg_load_catalog(const std::filesystem::path& path, const std::string& partner,
                                               bool with_originals);
std::vector<CatalogEntry> gpkg_catalog_entries(const std::filesystem::path& path, const std::string& partner);
catalog::OriginalSource gpkg_original_reader(const std::filesystem::path& path);

// gpkg_keys.cpp: organisations and API keys.
void gpkg_save_organisation(const std::filesystem::path& path, const Organisation& org);
std::vector<Organisation> gpkg_organisations(const std::filesystem::path& path);
void gpkg_add_api_key(const std::filesystem::path& path, const ApiKey& key);
std::vector<ApiKey> gpkg_api_keys(const std::filesystem::path& path);
bool gpkg_revoke_api_key(const std::filesystem::path& path, const std::string& id);
std::optional<KeyGrant> gpkg_find_api_key(const std::filesystem::path& path, const std::string& key_hash);
void gpkg_record_key_uses(const std::filesystem::path& path, const std::vector<std::pair<std::string, std::string>>& uses);

}  // namespace ideo::store
