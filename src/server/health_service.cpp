// GET /health: liveness, with the snapshot's version and per-layer counts so a probe sees a publish land.
#include "services.hpp"

namespace ideo::server {

Response health(const Request& req, const index::Snapshot& snapshot) {
    Response res;
    res.body = "{\"status\":\"ok\",\"snapshot_version\":";
    append_json_number(res.body, static_cast<std::int64_t>(snapshot.version));
    res.body += ",\"layers\":{";
    bool first = true;
    for (const auto& [id, layer] : snapshot.layers) {
        if (!first) res.body += ',';
        first = false;
        append_json_string(res.body, id);
        res.body += ':';
        append_json_number(res.body, static_cast<std::int64_t>(layer.features.size()));
    }
    res.body += "}}";
    return res;
}

}  // namespace ideo::server
