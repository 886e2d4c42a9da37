#pragma once
// Helpers shared by the OGC API services (features_service.cpp, ogc_service.cpp).
#include <string>
#include <string_view>

#include "http.hpp"
#include "ideo/index/snapshot.hpp"

namespace ideo::server {

// The layer of a collection id, or HttpError 404 naming it.
const index::LayerData& find_layer(const index::Snapshot& snapshot, std::string_view id);
// "/collections/{id}", the id percent-encoded.
std::string collection_path(const index::LayerData& layer);
// {"href":..,"rel":..,"type":..[,"title":..]}
void append_link(std::string& out, std::string_view href, std::string_view rel, std::string_view type,
                 std::string_view title = {});
// ETag of the snapshot (per representation variant) and Cache-Control.
void cacheable(Response& res, const index::Snapshot& snapshot, std::string_view variant = {});

}  // namespace ideo::server
