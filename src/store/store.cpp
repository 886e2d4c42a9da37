#include "ideo/store/store.hpp"

#include "gpkg_store.hpp"
#include "pg_store.hpp"
#include "ideo/core/error.hpp"

namespace ideo::store {

// Stores without a catalogue table (test doubles) say so rather than lose records.
std::optional<Publication> Store::update_catalog(const std::string& partner, const CatalogUpdate&, const std::string&) {
    throw Error("this store keeps no catalogue records (partner " + partner + ")");
}
std::vector<catalog::Record> Store::load_catalog_records(const std::string&, bool) { return {}; }
std::vector<CatalogEntry> Store::catalog_entries(const std::string&) { return {}; }
catalog::OriginalSource Store::catalog_original_reader() { return {}; }
std::vector<ResourceState> Store::resource_states(const std::string&) { return {}; }

std::unique_ptr<Store> open_store(const std::string& uri) {
    if (uri.rfind("PG:", 0) == 0) return open_pg_store(uri.substr(3));
    if (uri.empty()) throw Error("empty store URI (a GeoPackage path such as var/ideo.gpkg, or PG:dbname=...)");
    return open_gpkg_store(uri);
}

}  // namespace ideo::store
