#include "ideo/server/oidc.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <rhonabwy.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ideo/core/error.hpp"
#include "ideo/core/json.hpp"
#include "ideo/core/sha256.hpp"

namespace ideo::server {
namespace {

using Clock = std::chrono::system_clock;

// A signing key of the provider's JWKS, reduced to its public parameters: nothing in it (x5u, x5c)
// could make the library fetch or trust anything else.
struct Key {
    std::string kid;  // may be empty
    bool rsa = false;  // else EC P-256
    std::string jwk;  // the minimal JWK, JSON
};
using KeySet = std::vector<Key>;

// rhonabwy's handles, freed on every path.
struct Jwt {
    jwt_t* p = nullptr;
    Jwt() { r_jwt_init(&p); }
    ~Jwt() { r_jwt_free(p); }
};
struct Jwk {
    jwk_t* p = nullptr;
    Jwk() { r_jwk_init(&p); }
    ~Jwk() { r_jwk_free(p); }
};
struct RString {
    char* p;
    ~RString() { r_free(p); }
};

access::Authentication refused(std::string description) {
    return {std::nullopt, "invalid_token", std::move(description)};
}

// A claim that is there but not as the verifier needs it: the token is refused, saying which.
struct ClaimError {
    std::string description;
};

bool base64url_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// The header's algorithm as it may be said back: a short name of safe characters, else "this".
std::string algorithm_name(const char* alg) {
    const std::string a = alg ? alg : "";
    const bool safe = !a.empty() && a.size() <= 16 &&
                      std::all_of(a.begin(), a.end(), [](char c) { return base64url_char(c) || c == '+'; });
    return safe ? a : "this";
}

// `name` in the claims: a top-level member, else (a name with dots) a path through nested objects.
const rapidjson::Value* claim(const rapidjson::Value& claims, const std::string& name) {
    if (name.empty()) return nullptr;
    if (auto it = claims.FindMember(name.c_str()); it != claims.MemberEnd()) return &it->value;
    if (name.find('.') == std::string::npos) return nullptr;
    const rapidjson::Value* v = &claims;
    std::size_t start = 0;
    while (start <= name.size()) {
        const std::size_t dot = std::min(name.find('.', start), name.size());
        const std::string part = name.substr(start, dot - start);
        if (!v->IsObject()) return nullptr;
        auto it = v->FindMember(part.c_str());
        if (it == v->MemberEnd()) return nullptr;
        v = &it->value;
        start = dot + 1;
    }
    return v;
}

// A string claim's values (separated by spaces or commas) or an array of strings; none when absent.
std::vector<std::string> strings(const rapidjson::Value& claims, const std::string& name) {
    std::vector<std::string> out;
    const rapidjson::Value* v = claim(claims, name);
    if (!v || v->IsNull()) return out;
    auto split = [&](std::string_view s) {
        std::size_t i = 0;
        while (i < s.size()) {
            const std::size_t end = std::min(s.find_first_of(" ,\t", i), s.size());
            if (end > i) out.emplace_back(s.substr(i, end - i));
            i = end + 1;
        }
    };
    if (v->IsString()) {
        split({v->GetString(), v->GetStringLength()});
        return out;
    }
    if (!v->IsArray()) throw ClaimError{"claim " + name + " is neither a string nor an array of strings"};
    for (const auto& e : v->GetArray()) {
        if (!e.IsString()) throw ClaimError{"claim " + name + " holds something else than strings"};
        split({e.GetString(), e.GetStringLength()});
    }
    return out;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

// "21231", "2A004", "97105".
bool insee_code(const std::string& s) {
    return s.size() == 5 && digit(s[0]) && (digit(s[1]) || ((s[1] == 'A' || s[1] == 'B') && s[0] == '2')) &&
           digit(s[2]) && digit(s[3]) && digit(s[4]);
}

// "21", "2A", "971".
bool department_code(const std::string& s) {
    if (s.size() == 2) return digit(s[0]) && (digit(s[1]) || (s[0] == '2' && (s[1] == 'A' || s[1] == 'B')));
    return s.size() == 3 && s[0] == '9' && s[1] == '7' && digit(s[2]);
}

std::optional<std::int64_t> seconds(const rapidjson::Value& claims, const char* name) {
    auto it = claims.FindMember(name);
    if (it == claims.MemberEnd()) return std::nullopt;
    if (it->value.IsInt64()) return it->value.GetInt64();
    if (it->value.IsNumber()) return static_cast<std::int64_t>(it->value.GetDouble());
    throw ClaimError{std::string("claim ") + name + " is not a number"};
}

bool audience_matches(const rapidjson::Value& claims, const std::string& audience) {
    auto it = claims.FindMember("aud");
    if (it == claims.MemberEnd()) return false;
    if (it->value.IsString()) return audience == it->value.GetString();
    if (!it->value.IsArray()) return false;
    for (const auto& a : it->value.GetArray())
        if (a.IsString() && audience == a.GetString()) return true;
    return false;
}

std::string member_string(const rapidjson::Value& object, const char* name) {
    auto it = object.FindMember(name);
    return it != object.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                          : std::string();
}

// The usable signing keys of a JWKS document: RSA of 2048 bits or more, EC on P-256, public, for
// signatures; the others (encryption keys, other curves, keys of other algorithms) are left out.
KeySet read_jwks(const std::string& body, const std::string& url) {
    const auto doc = json::parse(body, url);
    if (!doc.IsObject() || !doc.HasMember("keys") || !doc["keys"].IsArray())
        throw InputError(url + ": not a JWK set (no \"keys\" array)");
    KeySet keys;
    for (const auto& k : doc["keys"].GetArray()) {
        if (!k.IsObject()) continue;
        const std::string kty = member_string(k, "kty"), use = member_string(k, "use"), alg = member_string(k, "alg");
        if (!use.empty() && use != "sig") continue;
        const bool rsa = kty == "RSA";
        if (!rsa && !(kty == "EC" && member_string(k, "crv") == "P-256")) continue;
        if (!alg.empty() && alg != (rsa ? "RS256" : "ES256")) continue;
        rapidjson::StringBuffer buffer;
        rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
        w.StartObject();
        for (const char* name : rsa ? std::vector<const char*>{"kty", "n", "e"} : std::vector<const char*>{"kty", "crv", "x", "y"}) {
            const std::string value = member_string(k, name);
            if (value.empty()) break;
            w.Key(name);
            w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
        }
        w.EndObject();
        Key key{member_string(k, "kid"), rsa, buffer.GetString()};
        Jwk jwk;
        unsigned int bits = 0;
        if (r_jwk_import_from_json_str(jwk.p, key.jwk.c_str()) != RHN_OK) continue;
        const int type = r_jwk_key_type(jwk.p, &bits, R_FLAG_IGNORE_REMOTE);
        if (!(type & R_KEY_TYPE_PUBLIC) || !(type & (rsa ? R_KEY_TYPE_RSA : R_KEY_TYPE_EC))) continue;
        if (rsa && bits < 2048) continue;
        keys.push_back(std::move(key));
    }
    return keys;
}

std::string without_trailing_slash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

}  // namespace

struct OidcVerifier::Impl {
    OidcOptions o;
    OidcFetch fetch;

    // The keys: replaced whole by a fetch, read by every verification.
    mutable std::mutex keys_mutex;
    std::shared_ptr<const KeySet> keys;
    std::mutex fetch_mutex;  // one fetch at a time; the others wait and use its keys
    std::string jwks_uri;    // from discovery; empty: discover again at the next fetch
    std::optional<Clock::time_point> last_attempt;

    std::atomic<std::uint64_t> checks{0}, fetches{0};

    // Verified tokens by SHA-256, most recently used first.
    struct Entry {
        access::Identity identity;
        std::int64_t exp = 0;
    };
    std::mutex cache_mutex;
    std::list<std::pair<std::string, Entry>> lru;
    std::unordered_map<std::string, decltype(lru)::iterator> by_hash;

    Clock::time_point now() const { return o.now ? o.now() : Clock::now(); }
    std::int64_t now_seconds() const {
        return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
    }

    std::shared_ptr<const KeySet> current() const {
        std::lock_guard lock(keys_mutex);
        return keys;
    }

    // Discovery (when its jwks_uri is not known yet), then the JWKS. Called with fetch_mutex held.
    std::size_t fetch_keys() {
        last_attempt = now();
        ++fetches;
        const std::string base = without_trailing_slash(o.issuer);
        try {
            if (jwks_uri.empty()) {
                const std::string url = base + "/.well-known/openid-configuration";
                const auto doc = json::parse(fetch(url), url);
                if (!doc.IsObject()) throw InputError(url + ": not a JSON object");
                const std::string issuer = member_string(doc, "issuer");
                if (issuer != o.issuer)
                    throw InputError(url + ": the provider names its issuer \"" + issuer + "\", not \"" + o.issuer + "\"");
                const std::string uri = member_string(doc, "jwks_uri");
                if (uri.rfind("https://", 0) != 0 && uri.rfind("http://", 0) != 0)
                    throw InputError(url + ": no http(s) jwks_uri");
                jwks_uri = uri;
            }
            auto fresh = std::make_shared<const KeySet>(read_jwks(fetch(jwks_uri), jwks_uri));
            if (fresh->empty()) throw InputError(jwks_uri + ": no RS256 or ES256 signing key");
            const std::size_t n = fresh->size();
            std::lock_guard lock(keys_mutex);
            keys = std::move(fresh);
            return n;
        } catch (const std::exception& e) {
            jwks_uri.clear();  // the provider may have moved its keys: discover again next time
            throw Error(std::string("OpenID provider ") + o.issuer + ": " + e.what());
        }
    }

    // The keys after a fetch when `seen` lacked the token's key and the rate limit allows one (or
    // another thread's fetch brought new keys meanwhile).
    std::shared_ptr<const KeySet> refetch(const std::shared_ptr<const KeySet>& seen) {
        std::lock_guard fetching(fetch_mutex);
        if (auto now_keys = current(); now_keys != seen) return now_keys;
        if (last_attempt && now() - *last_attempt < o.refetch_interval) return seen;
        try {
            fetch_keys();
        } catch (const std::exception& e) {
            std::cerr << "oidc: " << e.what() << std::endl;
        }
        return current();
    }

    static std::vector<const Key*> candidates(const KeySet* set, const char* kid, bool rsa) {
        std::vector<const Key*> out;
        if (!set) return out;
        for (const auto& k : *set)
            if (k.rsa == rsa && (!kid || k.kid.empty() || k.kid == kid)) out.push_back(&k);  // a key without kid fits any
        return out;
    }

    std::optional<Entry> cached(const std::string& hash) {
        std::lock_guard lock(cache_mutex);
        auto it = by_hash.find(hash);
        if (it == by_hash.end()) return std::nullopt;
        lru.splice(lru.begin(), lru, it->second);
        return it->second->second;
    }

    void remember(const std::string& hash, Entry entry) {
        if (o.cache_size == 0) return;
        std::lock_guard lock(cache_mutex);
        if (by_hash.count(hash)) return;
        lru.emplace_front(hash, std::move(entry));
        by_hash[hash] = lru.begin();
        while (lru.size() > o.cache_size) {
            by_hash.erase(lru.back().first);
            lru.pop_back();
        }
    }

    void forget(const std::string& hash) {
        std::lock_guard lock(cache_mutex);
        auto it = by_hash.find(hash);
        if (it == by_hash.end()) return;
        lru.erase(it->second);
        by_hash.erase(it);
    }

    access::Authentication verify(std::string_view token);
    Entry identity_of(const rapidjson::Value& claims) const;
};

access::Authentication OidcVerifier::Impl::verify(std::string_view token) {
    if (token.size() > o.max_token_size) return refused("token too large");
    const std::string hash = sha256_hex(token);
    const std::int64_t t = now_seconds();
    const std::int64_t skew = o.skew.count();
    if (auto hit = cached(hash)) {
        if (t > hit->exp + skew) {
            forget(hash);
            return refused("token expired");
        }
        return {std::move(hit->identity), "", ""};
    }

    Jwt jwt;
    // R_PARSE_UNSIGNED so that `alg: none` is parsed and refused below by name; no R_PARSE_HEADER_*:
    // a key named or embedded in the token (jwk, jku, x5c, x5u) is never read, nor anything fetched.
    if (!jwt.p || r_jwt_advanced_parsen(jwt.p, token.data(), token.size(), R_PARSE_UNSIGNED, R_FLAG_IGNORE_REMOTE) != RHN_OK)
        return refused("malformed token");
    if (r_jwt_get_type(jwt.p) != R_JWT_TYPE_SIGN) return refused("only signed tokens (JWS) are accepted");
    const jwa_alg alg = r_jwt_get_sign_alg(jwt.p);
    if (alg != R_JWA_ALG_RS256 && alg != R_JWA_ALG_ES256) {
        const char* name = r_jwt_get_header_str_value(jwt.p, "alg");
        return refused("algorithm " + algorithm_name(name) + " is not accepted (RS256 or ES256)");
    }
    const bool rsa = alg == R_JWA_ALG_RS256;
    const char* kid = r_jwt_get_header_str_value(jwt.p, "kid");

    auto set = current();
    auto keys = candidates(set.get(), kid, rsa);
    if (keys.empty()) {
        set = refetch(set);
        keys = candidates(set.get(), kid, rsa);
    }
    if (keys.empty()) return refused(set ? "unknown signing key" : "the provider's signing keys could not be fetched");

    ++checks;
    bool verified = false;
    for (const Key* k : keys) {
        Jwk jwk;
        if (r_jwk_import_from_json_str(jwk.p, k->jwk.c_str()) == RHN_OK &&
            r_jwt_verify_signature(jwt.p, jwk.p, R_FLAG_IGNORE_REMOTE) == RHN_OK) {
            verified = true;
            break;
        }
    }
    if (!verified) return refused("signature does not verify");

    RString text{r_jwt_get_full_claims_str(jwt.p)};
    if (!text.p) return refused("malformed token");
    rapidjson::Document claims;
    claims.Parse(text.p);
    if (claims.HasParseError() || !claims.IsObject()) return refused("malformed token");
    try {
        if (member_string(claims, "iss") != o.issuer) return refused("wrong issuer");
        if (!audience_matches(claims, o.audience)) return refused("wrong audience");
        const auto exp = seconds(claims, "exp");
        if (!exp) return refused("token has no expiry (exp)");
        if (t > *exp + skew) return refused("token expired");
        if (const auto nbf = seconds(claims, "nbf"); nbf && t + skew < *nbf) return refused("token not yet valid (nbf)");
        Entry entry = identity_of(claims);
        entry.exp = *exp;
        remember(hash, entry);
        return {std::move(entry.identity), "", ""};
    } catch (const ClaimError& e) {
        return refused(e.description);
    }
}

OidcVerifier::Impl::Entry OidcVerifier::Impl::identity_of(const rapidjson::Value& claims) const {
    Entry e;
    access::Identity& id = e.identity;
    id.via = "oidc";
    id.subject = member_string(claims, "sub");
    if (id.subject.empty()) throw ClaimError{"token has no subject (sub)"};
    // The highest known role; names the portal does not know (a provider's own roles) are ignored.
    for (const auto& name : strings(claims, o.roles_claim))
        if (const auto role = access::parse_role(name); role && *role > id.role) id.role = *role;
    for (auto& code : strings(claims, o.insee_claim)) {
        if (!insee_code(code)) throw ClaimError{"claim " + o.insee_claim + ": \"" + code.substr(0, 12) + "\" is not an INSEE code"};
        id.insee.push_back(std::move(code));
    }
    for (auto& code : strings(claims, o.dept_claim)) {
        if (!department_code(code)) throw ClaimError{"claim " + o.dept_claim + ": \"" + code.substr(0, 12) + "\" is not a department"};
        id.depts.push_back(std::move(code));
    }
    if (const rapidjson::Value* org = claim(claims, o.org_claim); org && org->IsString()) id.organisation = org->GetString();
    // The kind follows from the role where the role says it; a member's (commune or EPCI) it does not.
    switch (id.role) {
        case access::Role::Sdis: id.kind = access::OrgKind::Sdis; break;
        case access::Role::Ars: id.kind = access::OrgKind::Ars; break;
        case access::Role::Admin: id.kind = access::OrgKind::Portal; break;
        default: break;
    }
    // The provider gives "member" only to the people of adherent communes and EPCIs.
    id.adherent = id.role == access::Role::Member;
    return e;
}

OidcVerifier::OidcVerifier(OidcOptions options, OidcFetch fetch) : impl_(std::make_unique<Impl>()) {
    if (options.issuer.empty()) throw InputError("OpenID Connect: no issuer given");
    if (options.audience.empty()) throw InputError("OpenID Connect: no audience given");
    if (!fetch) throw InputError("OpenID Connect: no fetch function");
    static std::once_flag init;  // rhonabwy's global set-up is not thread-safe: once, before any use
    std::call_once(init, [] { r_global_init(); });
    impl_->o = std::move(options);
    impl_->fetch = std::move(fetch);
}

OidcVerifier::~OidcVerifier() = default;

access::Authentication OidcVerifier::verify(std::string_view jwt) { return impl_->verify(jwt); }

std::size_t OidcVerifier::refresh() {
    std::lock_guard fetching(impl_->fetch_mutex);
    return impl_->fetch_keys();
}

std::uint64_t OidcVerifier::signature_checks() const { return impl_->checks; }
std::uint64_t OidcVerifier::key_fetches() const { return impl_->fetches; }

bool looks_like_jwt(std::string_view credential) {
    if (credential.size() < 8 || credential.substr(0, 3) != "eyJ") return false;
    int dots = 0;
    for (char c : credential) {
        if (c == '.') ++dots;
        else if (!base64url_char(c)) return false;
    }
    return dots == 2;
}

}  // namespace ideo::server
