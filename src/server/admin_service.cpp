// POST /admin/harvest: starts one harvest in the background (the serving process's own harvester),
// answers 202 with its run id. For the admin token (IDEO_ADMIN_TOKEN) or an admin API key, which
// authenticate() (auth.cpp) recognised before this is called.
#include "auth.hpp"
#include "ideo/server/server.hpp"
#include "services.hpp"

namespace ideo::server {

Response admin_harvest(const Request& req) {
    const ServerOptions* o = req.options;
    if (!o || !o->trigger_harvest) throw HttpError(403, "Forbidden", "the admin endpoint is disabled: this server runs no harvester");
    if (req.token != Request::Token::Admin && req.caller->role != access::Role::Admin) {
        const char* what = "POST /admin/harvest needs Authorization: Bearer with the server's IDEO_ADMIN_TOKEN or an admin API key";
        return req.caller->anonymous() && req.token == Request::Token::None ? unauthorized(what, false) : forbidden(what);
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
