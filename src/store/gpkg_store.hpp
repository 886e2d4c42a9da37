#pragma once
// The embedded GeoPackage store, private to store/: open_store() picks it for file paths.
#include <filesystem>
#include <memory>

#include "ideo/store/store.hpp"

namespace ideo::store {

// Harvest bookkeeping tables of the GeoPackage at `path` (gpkg_harvest_state.cpp); each call opens its own dataset.
std::optional<ResourceState> gpkg_resource_state(const std::filesystem::path& path, const std::string& partner,
                                                 const std::string& resource);
void gpkg_save_resource_state(const std::filesystem::path& path, const ResourceState& state);
void gpkg_record_harvest_run(const std::filesystem::path& path, const std::string& run_id, const std::string& partner,
                             const std::string& report_json);
std::vector<HarvestRunEntry> gpkg_harvest_runs(const std::filesystem::path& path, std::size_t runs);

// Opens the GeoPackage at `path`, creating it (and its folder) when absent.
std::unique_ptr<Store> open_gpkg_store(const std::filesystem::path& path);

// gpkg_catalog.cpp: the catalogue records table.
Publication gpkg_replace_catalog(const std::filesystem::path& path, const std::string& partner,
                                 const std::vector<catalog::Record>& records, const std::string& report_json);
std::vector<catalog::Record> gpkg_load_catalog(const std::filesystem::path& path, const std::string& partner);

}  // namespace ideo::store
