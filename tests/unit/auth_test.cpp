// The server's authentication parts without a socket: the credential's three places, the JWT shape, the
// private marking of answers, the key cache and its batched last uses, the failure limiter.
#include <gtest/gtest.h>

#include <map>

#include "../../src/server/auth.hpp"
#include "../../src/server/services.hpp"
#include "ideo/core/sha256.hpp"
#include "ideo/server/key_cache.hpp"
#include "ideo/server/server.hpp"

namespace ideo::server {
namespace {

access::Identity member(const std::string& id) {
    access::Identity i;
    i.role = access::Role::Member;
    i.subject = id;
    i.organisation = "Mairie de Belfort";
    i.insee = {"90010"};
    i.via = "apikey";
    return i;
}

const std::string kJwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

TEST(Auth, TheCredentialIsReadFromBearerThenXApiKeyThenTheQueryWhichLosesIt) {
    std::vector<std::string> seen;
    ServerOptions o;
    o.authenticate_key = [&](std::string_view key) {
        seen.emplace_back(key);
        access::Authentication a;
        a.identity = member("k-1");
        return a;
    };
    const auto answer = [&](const std::string& target, Headers headers) {
        return handle_request("GET", target, std::move(headers), "", nullptr, &o);
    };
    // /whoami needs no snapshot: its answer tells who the request was served for.
    EXPECT_EQ(answer("/whoami?apikey=q", {{"authorization", "Bearer h"}, {"x-api-key", "x"}}).status, 200);
    EXPECT_EQ(answer("/whoami?apikey=q", {{"x-api-key", "x"}}).status, 200);
    EXPECT_EQ(answer("/whoami?apikey=q", {}).status, 200);
    EXPECT_EQ(seen, (std::vector<std::string>{"h", "x", "q"}));
    const Response none = answer("/whoami", {});
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(seen.size(), 3u) << "no credential: nothing to check";

    // A JWT goes to the token hook, never to the key lookup; without one it is refused.
    const Response jwt = answer("/whoami", {{"authorization", "Bearer " + kJwt}});
    EXPECT_EQ(jwt.status, 401);
    EXPECT_EQ(seen.size(), 3u);
    bool token_checked = false;
    o.authenticate_token = [&](std::string_view t) {
        token_checked = t == kJwt;
        access::Authentication a;
        a.description = "token expired";
        return a;
    };
    const Response expired = answer("/whoami", {{"authorization", "Bearer " + kJwt}});
    EXPECT_TRUE(token_checked);
    ASSERT_EQ(expired.status, 401);
    EXPECT_EQ(expired.headers[0].second, "Bearer realm=\"ideo\", error=\"invalid_token\", error_description=\"token expired\"");
}

TEST(Auth, APrivateAnswerKeepsItsOtherDirectivesAndVaryValues) {
    Response r;
    r.headers = {{"Cache-Control", "public, max-age=60"}, {"Vary", "Accept-Encoding"}};
    mark_private(r);
    EXPECT_EQ(r.headers[0].second, "private, max-age=60");
    EXPECT_EQ(r.headers[1].second, "Accept-Encoding, Authorization, X-API-Key");
    Response bare;
    mark_private(bare);
    ASSERT_EQ(bare.headers.size(), 2u);
    EXPECT_EQ(bare.headers[0].second, "private");
}

TEST(Auth, TheFailureLimiterBlocksAnAddressPastItsLimitAndNoOther) {
    FailureLimiter limiter;
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(limiter.blocked_for("10.0.0.1", 3), 0);
        limiter.failed("10.0.0.1");
    }
    const long wait = limiter.blocked_for("10.0.0.1", 3);
    EXPECT_GE(wait, 1);
    EXPECT_LE(wait, 60);
    EXPECT_EQ(limiter.blocked_for("10.0.0.2", 3), 0);
}

TEST(KeyCache, AVerifiedKeyIsLookedUpOncePerTtlAndItsUsesTakenOncePerMinute) {
    int lookups = 0;
    const std::string hash = sha256_hex("ideo_good");
    KeyCache cache(
        [&](const std::string& h) -> std::optional<KnownKey> {
            ++lookups;
            if (h != hash) return std::nullopt;
            return KnownKey{member("k-1"), "", false};
        },
        std::chrono::seconds(3600));
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(cache.authenticate("ideo_good").identity);
    EXPECT_EQ(lookups, 1);
    EXPECT_EQ(cache.authenticate("ideo_bad").description, "unknown key");
    EXPECT_EQ(cache.authenticate("ideo_bad").description, "unknown key");
    EXPECT_EQ(lookups, 3) << "unknown keys are not cached";

    const auto uses = cache.take_uses(std::chrono::seconds(60));
    ASSERT_EQ(uses.size(), 1u);
    EXPECT_EQ(uses[0].first, "k-1");
    EXPECT_EQ(uses[0].second.size(), 20u);  // 2026-12-04T02:00:00Z
    cache.authenticate("ideo_good");
    EXPECT_TRUE(cache.take_uses(std::chrono::seconds(60)).empty()) << "taken less than a minute ago";
    EXPECT_EQ(cache.take_uses(std::chrono::seconds(0)).size(), 1u);
    EXPECT_TRUE(cache.take_uses(std::chrono::seconds(0)).empty()) << "no use since";
}

TEST(KeyCache, RevokedAndExpiredKeysAreRefusedAndATtlOfZeroAsksTheStoreEachTime) {
    KnownKey known{member("k-2"), "2020-01-01", false};
    int lookups = 0;
    KeyCache cache([&](const std::string&) -> std::optional<KnownKey> { ++lookups; return known; }, std::chrono::seconds(0));
    EXPECT_EQ(cache.authenticate("k").description, "key expired");
    known.expires = "2999-01-01";
    EXPECT_TRUE(cache.authenticate("k").identity);
    known.revoked = true;
    EXPECT_EQ(cache.authenticate("k").description, "key revoked");
    EXPECT_EQ(lookups, 3);
    EXPECT_TRUE(cache.take_uses().size() == 1u) << "only the accepted use counts";
}

}  // namespace
}  // namespace ideo::server

namespace ideo::server {
namespace {

TEST(Auth, APreflightAllowsTheCredentialHeadersOnServedPathsOnly) {
    const Response ok = handle_request("OPTIONS", "/collections/pei/items", {{"origin", "https://www.mairie-belfort.fr"}}, "", nullptr);
    EXPECT_EQ(ok.status, 204);
    std::map<std::string, std::string> h(ok.headers.begin(), ok.headers.end());
    EXPECT_NE(h["Access-Control-Allow-Headers"].find("Authorization"), std::string::npos);
    EXPECT_NE(h["Access-Control-Allow-Headers"].find("X-API-Key"), std::string::npos);
    EXPECT_EQ(h["Access-Control-Allow-Methods"], "GET, HEAD");
    EXPECT_EQ(route("OPTIONS", "/admin/harvest").endpoint, Endpoint::Preflight);
    EXPECT_EQ(route("OPTIONS", "/").endpoint, Endpoint::Preflight);
    EXPECT_EQ(handle_request("OPTIONS", "/nothing", {}, "", nullptr).status, 404);
    EXPECT_EQ(route("DELETE", "/collections").endpoint, Endpoint::MethodNotAllowed);
}

}  // namespace
}  // namespace ideo::server
