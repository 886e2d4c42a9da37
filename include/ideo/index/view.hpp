#pragma once
// The one access decision of a request: the snapshot as its caller may read it. Built from the caller's
// identity and each layer's policy (LayerSpec::access): layers it may not discover left out, features
// withheld (rows, row filter) or counted per commune, fields hidden, geometry generalised. Every service
// then reads the view as it read the snapshot, so no service re-checks, and the tile renderer, the tile
// cache and the coverage results (snapshot attachments) are per view too.
#include <memory>
#include <optional>
#include <string>

#include "ideo/core/access.hpp"
#include "ideo/index/snapshot.hpp"

namespace ideo::index {

// Name of the count field of a layer's per-commune counts ("withheld": "count_by_commune").
inline constexpr const char* kCountField = "nombre";

// What the data of a view depends on: the role, and the territory when some policy has an "own" grant.
std::string view_key(const access::Identity& who);

// Whether the layer's policy changes anything for this caller (rows, fields, geometry or discovery).
bool restricts(const LayerSpec& spec, const access::Identity& who);

// One layer as `who` may read it; `full` gives the communes (their extent places counts and generalised
// geometries). Throws InputError naming the layer file when its row filter does not parse.
LayerData view_layer(const LayerData& layer, const Snapshot& full, const access::Identity& who);

// The snapshot as `who` may read it: `full` itself when no policy restricts this caller, else a view made
// once per snapshot and view key (cached on `full`; the public view is the "anonymous" one).
std::shared_ptr<const Snapshot> view_of(const Snapshot& full, const access::Identity& who);

// Whether `who` may do `op` on the layer (for a download, on commune `insee`); a layer without policy is public.
bool may(const LayerSpec& spec, AccessOperation op, const access::Identity& who, std::string_view insee = {});

}  // namespace ideo::index
