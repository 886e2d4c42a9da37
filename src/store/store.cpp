#include "ideo/store/store.hpp"

#include "gpkg_store.hpp"
#include "ideo/core/error.hpp"

namespace ideo::store {

std::unique_ptr<Store> open_store(const std::string& uri) {
    if (uri.rfind("PG:", 0) == 0)
        // The URI is not echoed: it may carry a password.
        throw Error("PostGIS store not available yet: use a GeoPackage path such as var/ideo.gpkg instead of PG:...");
    if (uri.empty()) throw Error("empty store URI (a GeoPackage path such as var/ideo.gpkg, or PG:dbname=...)");
    return open_gpkg_store(uri);
}

}  // namespace ideo::store
