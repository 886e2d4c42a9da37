#pragma once
// OpenID Connect bearer tokens for people: a JWT access token from the configured provider turned into
// the access::Identity a request is served for. The provider's keys come from its discovery document
// (`{issuer}/.well-known/openid-configuration`, then its `jwks_uri`), fetched through an injected
// function (the server does not talk to the network itself: `ideo serve` builds it from harvest's
// HttpClient) and kept; a token signed with a key not seen yet (provider key rotation) triggers one
// fetch again, at most once per `refetch_interval`. Signatures are checked by rhonabwy (GnuTLS): RS256
// and ES256 only, `alg: none`, HS* and every other algorithm refused; only keys from the provider's
// JWKS are used, never one named or embedded in the token (jwk, jku, x5c, x5u). Then `iss` (exact),
// `aud` (the audience among them), `exp` (required) and `nbf` are checked with a small clock skew.
// A verified token's identity is kept in a small LRU keyed by the token's SHA-256 until its `exp`, so
// the hundreds of tile requests of one map page verify one signature.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ideo/core/access.hpp"

namespace ideo::server {

struct OidcOptions {
    std::string issuer;    // the `iss` tokens must carry, exactly; discovery is fetched below it
    std::string audience;  // one of the token's `aud`
    // Claim names (a top-level member; when there is none of that name and the name has dots, a path
    // into nested objects: "realm_access.roles"). Each a string (several values separated by spaces or
    // commas) or an array of strings.
    std::string roles_claim = "roles";  // member|sdis|ars|admin: the highest present is the role
    std::string insee_claim = "insee";  // the territory: communes' INSEE codes...
    std::string dept_claim = "dept";    // ...or departments
    std::string org_claim;              // the organisation's name (audit log); empty: none read
    std::chrono::seconds skew{60};              // allowed clock difference on exp and nbf
    std::chrono::seconds refetch_interval{30};  // at most one key fetch per interval
    std::size_t cache_size = 4096;              // verified tokens kept
    std::size_t max_token_size = 16 * 1024;     // longer credentials are refused unread
    // The clock (tests move it); empty: the system clock.
    std::function<std::chrono::system_clock::time_point()> now;
};

// GETs `url` and returns the body of a 2xx answer; throws (any std::exception, its message naming the
// URL and the reason) otherwise. Called with the verifier's fetch lock held: one fetch at a time.
using OidcFetch = std::function<std::string(const std::string& url)>;

class OidcVerifier {
public:
    // Checks the options (issuer and audience given); fetches nothing yet.
    OidcVerifier(OidcOptions options, OidcFetch fetch);
    ~OidcVerifier();
    OidcVerifier(const OidcVerifier&) = delete;
    OidcVerifier& operator=(const OidcVerifier&) = delete;

    // The identity of a valid token (via "oidc", subject its `sub`; a token without a known role is an
    // Identity with Role::Anonymous and its subject: a person known, with no rights), or error
    // "invalid_token" and why ("token expired", "signature does not verify", "algorithm HS256 is not
    // accepted"...). Never throws; the description never echoes the token. Thread-safe.
    access::Authentication verify(std::string_view jwt);

    // Fetches discovery and the JWKS now (`ideo serve` does at start, to say whether the provider
    // answers); returns how many usable signing keys it holds; throws ideo::Error naming the URL.
    std::size_t refresh();

    // Signatures checked so far (a cached token is not checked again) and key set fetches (discovery
    // and JWKS count as one).
    std::uint64_t signature_checks() const;
    std::uint64_t key_fetches() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Whether a bearer credential has the shape of a JWS compact serialisation (three base64url parts, the
// first a JSON object: "eyJ"): what the server hands to the token verifier rather than the key store.
bool looks_like_jwt(std::string_view credential);

}  // namespace ideo::server
