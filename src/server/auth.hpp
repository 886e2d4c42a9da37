#pragma once
// Who is asking, decided once per request (router.cpp calls authenticate before any service): the
// credential read from Authorization: Bearer, X-API-Key or ?apikey=, checked by the server's hooks,
// refused as RFC 6750 says, failures rate-limited per client address.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "http.hpp"
#include "ideo/core/access.hpp"

namespace ideo::server {

// Failed credentials per client address in fixed one-minute windows: past `limit`, credentials from that
// address are not checked at all until the window ends.
class FailureLimiter {
public:
    // Seconds until the address may try again, or 0 when it may now.
    long blocked_for(const std::string& address, unsigned limit);
    void failed(const std::string& address);

private:
    struct Window {
        std::chrono::steady_clock::time_point start;
        unsigned failures = 0;
    };
    std::mutex mutex_;
    std::map<std::string, Window> windows_;
};

// Compares in time independent of where the strings differ: tokens are secrets.
bool same_secret(std::string_view a, std::string_view b);

// Reads the credential into req.caller / req.token (an identity it owns in `holder`, on the heap: the
// request may move), taking apikey out of the query; nullopt when the request may go on, else the 401 or
// 429 to answer. A JWT-shaped credential (oidc.hpp's looks_like_jwt) goes to authenticate_token.
std::optional<Response> authenticate(Request& req, std::unique_ptr<access::Identity>& holder, std::string_view client,
                                     FailureLimiter* limiter);

// RFC 6750 answers: 401 with WWW-Authenticate (error="invalid_token" and its description when a credential
// was refused, none when there was no credential), 403 insufficient_scope.
Response unauthorized(std::string_view description, bool credential_refused);
Response forbidden(std::string_view description);

// An answer computed for a non-anonymous caller: Cache-Control private, Vary on the credential headers.
void mark_private(Response& res);

// OPTIONS on a served path: the CORS preflight a web page's fetch with Authorization or X-API-Key sends
// first (no credential in it); 204 allowing those headers, for any origin as every answer is (no cookies).
Response preflight(const Request& req);

// GET /whoami: the caller's role, organisation, kind and territory; 401 for the public.
Response whoami(const Request& req);

}  // namespace ideo::server
