#pragma once
// The embedded GeoPackage store, private to store/: open_store() picks it for file paths.
#include <filesystem>
#include <memory>

#include "ideo/store/store.hpp"

namespace ideo::store {

// Opens the GeoPackage at `path`, creating it (and its folder) when absent.
std::unique_ptr<Store> open_gpkg_store(const std::filesystem::path& path);

}  // namespace ideo::store
