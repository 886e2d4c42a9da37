// Authentication: one credential per request, turned into an access::Identity by the server's hooks.
#include "auth.hpp"

#include <cctype>
#include <ctime>
#include <iostream>

#include "ideo/core/sha256.hpp"
#include "ideo/core/text.hpp"
#include "ideo/server/key_cache.hpp"
#include "ideo/server/oidc.hpp"
#include "ideo/server/server.hpp"

namespace ideo::server {
namespace {

constexpr auto kWindow = std::chrono::seconds(60);
constexpr std::size_t kMaxAddresses = 10000;  // windows kept; expired ones are dropped past this

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// The credential, from the first place that has one; the query's apikey is taken out either way.
std::optional<std::string> credential_of(Request& req) {
    std::optional<std::string> from_query = req.query.take("apikey");
    if (from_query) req.apikey = *from_query;
    if (const std::string* auth = req.header("authorization")) {
        const std::string_view v = *auth;
        if (v.size() > 7 && lower(v.substr(0, 7)) == "bearer ") return text::trim(v.substr(7));
        return std::string(v);  // another scheme: refused below as an unknown credential
    }
    if (const std::string* key = req.header("x-api-key")) return text::trim(*key);
    return from_query;
}

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (const char c : s)
        if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) out += c;
    return out + '"';
}

}  // namespace

long FailureLimiter::blocked_for(const std::string& address, unsigned limit) {
    std::lock_guard lock(mutex_);
    const auto it = windows_.find(address);
    if (it == windows_.end()) return 0;
    const auto now = std::chrono::steady_clock::now();
    const auto left = kWindow - (now - it->second.start);
    if (left <= std::chrono::steady_clock::duration::zero()) {
        windows_.erase(it);
        return 0;
    }
    if (it->second.failures < limit) return 0;
    return std::max<long>(1, static_cast<long>(std::chrono::ceil<std::chrono::seconds>(left).count()));
}

void FailureLimiter::failed(const std::string& address) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (windows_.size() >= kMaxAddresses) std::erase_if(windows_, [&](const auto& w) { return now - w.second.start >= kWindow; });
    auto [it, fresh] = windows_.try_emplace(address, Window{now, 0});
    if (!fresh && now - it->second.start >= kWindow) it->second = Window{now, 0};
    it->second.failures++;
}

bool same_secret(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    return diff == 0;
}

Response unauthorized(std::string_view description, bool credential_refused) {
    Response res = json_error(401, "Unauthorized", description);
    std::string challenge = "Bearer realm=\"ideo\"";
    if (credential_refused) challenge += ", error=\"invalid_token\", error_description=" + quoted(description);
    res.headers.emplace_back("WWW-Authenticate", challenge);
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
}

Response forbidden(std::string_view description) {
    Response res = json_error(403, "Forbidden", description);
    res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ideo\", error=\"insufficient_scope\", error_description=" +
                                                     quoted(description));
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
}

std::optional<Response> authenticate(Request& req, std::unique_ptr<access::Identity>& holder, std::string_view client,
                                     FailureLimiter* limiter) {
    const std::optional<std::string> credential = credential_of(req);
    if (!credential) return std::nullopt;
    const ServerOptions* o = req.options;
    const std::string address(client);
    const unsigned limit = o ? o->failures_per_minute : 10;
    if (limiter) {
        if (const long wait = limiter->blocked_for(address, limit)) {
            Response res = json_error(429, "TooManyRequests",
                                      "too many failed credentials from this address; retry in " + std::to_string(wait) + " s");
            res.headers.emplace_back("Retry-After", std::to_string(wait));
            res.headers.emplace_back("Cache-Control", "no-store");
            return res;
        }
    }
    if (o && !o->admin_token.empty() && same_secret(*credential, o->admin_token)) {
        req.token = Request::Token::Admin;
        return std::nullopt;
    }
    if (o && !o->metrics_token.empty() && same_secret(*credential, o->metrics_token)) {
        req.token = Request::Token::Metrics;
        return std::nullopt;
    }
    access::Authentication auth;
    if (looks_like_jwt(*credential)) {
        if (o && o->authenticate_token) auth = o->authenticate_token(*credential);
        else auth.description = "bearer tokens are not accepted here: no OpenID Connect issuer is configured";
    } else if (credential->empty()) {
        auth.description = "empty credential";
    } else if (o && o->authenticate_key) {
        auth = o->authenticate_key(*credential);
    } else {
        auth.description = "API keys are not accepted here";
    }
    if (auth.identity && !auth.identity->anonymous()) {
        holder = std::make_unique<access::Identity>(std::move(*auth.identity));
        req.caller = holder.get();
        return std::nullopt;
    }
    if (auth.description.empty()) auth.description = "invalid credential";
    if (limiter) limiter->failed(address);
    // For the operator (and fail2ban): who failed and why; never the credential.
    std::cerr << "ideo serve: credential refused from " << (address.empty() ? "?" : address) << " on " << req.method << ' '
              << req.path.substr(0, 200) << ": " << auth.description << std::endl;
    return unauthorized(auth.description, true);
}

void mark_private(Response& res) {
    bool cache_control = false, vary = false;
    for (auto& [name, value] : res.headers) {
        const std::string n = lower(name);
        if (n == "cache-control") {
            cache_control = true;
            std::string kept = "private";
            std::size_t pos = 0;
            while (pos <= value.size()) {
                std::size_t end = value.find(',', pos);
                if (end == std::string::npos) end = value.size();
                const std::string d = text::trim(std::string_view(value).substr(pos, end - pos));
                if (!d.empty() && lower(d) != "public" && lower(d) != "private") kept += ", " + d;
                pos = end + 1;
            }
            value = kept;
        } else if (n == "vary") {
            vary = true;
            value += ", Authorization, X-API-Key";
        }
    }
    if (!cache_control) res.headers.emplace_back("Cache-Control", "private");
    if (!vary) res.headers.emplace_back("Vary", "Authorization, X-API-Key");
}

Response preflight(const Request& req) {
    Response res;
    res.status = 204;
    res.content_type.clear();
    res.headers = {{"Access-Control-Allow-Methods", req.path == "/admin/harvest" ? "POST" : "GET, HEAD"},
                   {"Access-Control-Allow-Headers", "Authorization, X-API-Key, If-None-Match"},
                   {"Access-Control-Max-Age", "600"}};
    return res;
}

Response whoami(const Request& req) {
    const access::Identity& c = *req.caller;
    if (c.anonymous()) return unauthorized("GET /whoami needs a credential (Authorization: Bearer KEY, X-API-Key or ?apikey=)", false);
    Response res;
    res.body = "{\"role\":";
    append_json_string(res.body, access::role_name(c.role));
    res.body += ",\"subject\":";
    append_json_string(res.body, c.subject);
    res.body += ",\"organisation\":";
    append_json_string(res.body, c.organisation);
    res.body += ",\"kind\":";
    append_json_string(res.body, access::org_kind_name(c.kind));
    res.body += ",\"adherent\":";
    res.body += c.adherent ? "true" : "false";
    for (const auto& [name, list] : {std::pair{"insee", &c.insee}, std::pair{"depts", &c.depts}}) {
        res.body += ",\"";
        res.body += name;
        res.body += "\":[";
        for (std::size_t i = 0; i < list->size(); ++i) {
            if (i) res.body += ',';
            append_json_string(res.body, (*list)[i]);
        }
        res.body += ']';
    }
    res.body += ",\"via\":";
    append_json_string(res.body, c.via);
    res.body += '}';
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
}

KeyCache::KeyCache(Lookup lookup, std::chrono::seconds ttl, std::size_t capacity)
    : lookup_(std::move(lookup)), ttl_(ttl), capacity_(capacity) {}

access::Authentication KeyCache::authenticate(std::string_view key) {
    const std::string hash = sha256_hex(key);
    const auto now = std::chrono::steady_clock::now();
    std::optional<KnownKey> known;
    {
        std::lock_guard lock(mutex_);
        const auto it = entries_.find(hash);
        if (it != entries_.end() && now - it->second.fetched < ttl_) known = it->second.key;
    }
    if (!known) {
        known = lookup_(hash);
        std::lock_guard lock(mutex_);
        if (!known) {
            entries_.erase(hash);
        } else {
            if (entries_.size() >= capacity_) entries_.clear();  // small by design: refilled from the store
            entries_[hash] = Entry{*known, now};
        }
    }
    access::Authentication out;
    out.error = "invalid_token";
    if (!known) out.description = "unknown key";
    else if (known->revoked) out.description = "key revoked";
    else if (!known->expires.empty() && text::now_iso8601().substr(0, 10) > known->expires) out.description = "key expired";
    else {
        out.error.clear();
        out.identity = known->identity;
        std::lock_guard lock(mutex_);
        Use& u = uses_[known->identity.subject];
        u.last = std::chrono::system_clock::now();
        u.pending = true;
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> KeyCache::take_uses(std::chrono::seconds every) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<std::string, std::string>> out;
    std::lock_guard lock(mutex_);
    for (auto& [id, u] : uses_) {
        if (!u.pending || (u.taken && now - *u.taken < every)) continue;
        const std::time_t t = std::chrono::system_clock::to_time_t(u.last);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        out.emplace_back(id, buf);
        u.pending = false;
        u.taken = now;
    }
    return out;
}

}  // namespace ideo::server
