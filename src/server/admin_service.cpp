// POST /admin/harvest: starts one harvest in the background (the serving process's own harvester),
// answers 202 with its run id. A bearer token guards it; without IDEO_ADMIN_TOKEN it is disabled.
#include "ideo/server/server.hpp"
#include "services.hpp"

namespace ideo::server {
namespace {

// Compares in time independent of where the strings differ: the token is a secret.
bool same_secret(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    return diff == 0;
}

}  // namespace

Response admin_harvest(const Request& req) {
    const ServerOptions* o = req.options;
    if (!o || o->admin_token.empty() || !o->trigger_harvest)
        throw HttpError(403, "Forbidden", "the admin endpoint is disabled: start ideo serve with IDEO_ADMIN_TOKEN set");
    const std::string* auth = req.header("authorization");
    const std::string prefix = "Bearer ";
    if (!auth || auth->compare(0, prefix.size(), prefix) != 0 || !same_secret(auth->substr(prefix.size()), o->admin_token)) {
        Response res = json_error(401, "Unauthorized", "Authorization: Bearer TOKEN required (the server's IDEO_ADMIN_TOKEN)");
        res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ideo admin\"");
        return res;
    }
    const std::string run_id = o->trigger_harvest();
    Response res;
    res.status = 202;
    res.body = "{\"status\":\"started\",\"run_id\":";
    append_json_string(res.body, run_id);
    res.body += "}";
    return res;
}

}  // namespace ideo::server
