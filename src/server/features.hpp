#pragma once
// Helpers shared by the OGC API services (features_service.cpp, ogc_service.cpp).
#include <string>
#include <string_view>

#include "http.hpp"
#include "ideo/index/snapshot.hpp"

namespace ideo::server {

// The layer of a collection id, or HttpError 404 naming it (401 when its policy challenges callers it hides).
const index::LayerData& find_layer(const index::Snapshot& snapshot, std::string_view id);
// HttpError unless req's caller may do `op` on the layer (a download: on commune `insee`): 401 to the public
// on a layer that challenges, 403 to an identified caller there, else 404 as if the layer were not there.
void require(const Request& req, const LayerSpec& spec, AccessOperation op, std::string_view insee = {});
// "/collections/{id}", the id percent-encoded.
std::string collection_path(const index::LayerData& layer);
// {"href":..,"rel":..,"type":..[,"title":..][,"templated":true]}: every link the server writes in JSON.
void append_link(std::string& out, std::string_view href, std::string_view rel, std::string_view type,
                 std::string_view title = {}, bool templated = false);
// ETag of the snapshot (per representation variant) and Cache-Control.
void cacheable(Response& res, const index::Snapshot& snapshot, std::string_view variant = {});

}  // namespace ideo::server
