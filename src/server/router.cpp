// Path dispatch: which service answers a request. Every error becomes a JSON response here.
#include <exception>
#include <string>

#include "http.hpp"
#include "services.hpp"

namespace ideo::server {

Response handle_request(std::string_view method, std::string_view target, std::string_view host,
                        const index::Snapshot* snapshot) {
    try {
        const Request req = parse_request(method, target, host);
        const Route r = route(req.method, req.path);
        if (r.endpoint == Endpoint::NotFound)
            throw HttpError(404, "NotFound", "no resource at '" + req.path.substr(0, 200) + "'");
        if (r.endpoint == Endpoint::MethodNotAllowed) {
            Response res = json_error(405, "MethodNotAllowed", "method " + req.method + " not allowed; use GET or HEAD");
            res.headers.emplace_back("Allow", "GET, HEAD");
            return res;
        }
        if (!snapshot) throw HttpError(503, "ServiceUnavailable", "no data loaded yet");
        switch (r.endpoint) {
            case Endpoint::Health: return health(req, *snapshot);
            case Endpoint::Collections: return collections(req, *snapshot);
            case Endpoint::Collection: return collection(req, *snapshot, r.layer);
            case Endpoint::Items: return items(req, *snapshot, r.layer);
            case Endpoint::Item: return item(req, *snapshot, r.layer, r.id);
            case Endpoint::DeciExtract: return deci_extract(req, *snapshot, r.insee, r.format);
            default: break;
        }
        throw HttpError(404, "NotFound", "no resource at '" + req.path.substr(0, 200) + "'");
    } catch (const HttpError& e) {
        return error_response(e);
    } catch (const std::exception& e) {
        return json_error(500, "ServerError", e.what());
    }
}

}  // namespace ideo::server
