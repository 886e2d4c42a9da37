// The OpenID Connect token verifier against a real OpenID provider on loopback: the npm package
// `oidc-provider` (tests/js/oidc_provider.mjs, started here with node), its discovery and JWKS fetched
// by the harvester's real HTTP client, real access tokens from its token endpoint (client credentials),
// and tokens signed by its own keys with one claim wrong at a time, or forged (alg none, HS256 keyed
// with the public key).
#include "ideo/server/oidc.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "ideo/core/url.hpp"
#include "ideo/harvest/http_client.hpp"
#include "test_support.hpp"

using namespace ideo;
using namespace ideo::test;
using access::Role;
using server::OidcOptions;
using server::OidcVerifier;

namespace {

namespace fs = std::filesystem;

// `node tests/js/oidc_provider.mjs --port PORT`, stopped (SIGTERM, then SIGKILL) at the end of the scope.
class OidcProvider {
public:
    explicit OidcProvider(unsigned short port = 0) {
        const fs::path script = source_dir() / "tests" / "js" / "oidc_provider.mjs";
        if (!fs::exists(source_dir() / "tests" / "js" / "node_modules" / "oidc-provider"))
            throw std::runtime_error("oidc-provider is not installed: run `npm ci` in tests/js");
        const std::string port_text = std::to_string(port);
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            FILE* o = std::freopen(log_.c_str(), "w", stdout);
            FILE* e = std::freopen((log_.string() + ".err").c_str(), "w", stderr);
            (void)o;
            (void)e;
            ::execlp("node", "node", script.c_str(), "--port", port_text.c_str(), static_cast<char*>(nullptr));
            std::_Exit(127);
        }
        const std::regex listening(R"(listening on (http://127\.0\.0\.1:(\d+)))");
        for (int i = 0; i < 300 && port_ == 0; ++i) {  // up to 30 s
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            std::string out;
            try {
                out = read_file(log_);
            } catch (...) {
            }
            std::smatch m;
            if (std::regex_search(out, m, listening)) {
                issuer_ = m[1];
                port_ = static_cast<unsigned short>(std::stoi(m[2]));
            }
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("the OpenID provider exited early: " + read_file(log_.string() + ".err"));
            }
        }
        if (port_ == 0) throw std::runtime_error("the OpenID provider did not report its port");
    }
    ~OidcProvider() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 50; ++i) {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    const std::string& issuer() const { return issuer_; }
    unsigned short port() const { return port_; }

    // A real access token of `client` for `resource`, from the token endpoint (client credentials).
    std::string token(const std::string& client, const std::string& resource = "urn:ideo:rs256") const {
        const auto body = post("/token", "application/x-www-form-urlencoded",
                               "grant_type=client_credentials&scope=api&client_id=" + client + "&client_secret=secret-" + client +
                                   "&resource=" + url::percent_encode(resource));
        rapidjson::Document d;
        d.Parse(body.c_str());
        if (!d.IsObject() || !d.HasMember("access_token")) throw std::runtime_error("no access token: " + body);
        return d["access_token"].GetString();
    }

    // A token over `claims` (JSON) signed by the provider's own key (RS256, ES256), or forged ("none",
    // "HS256-public-key"); `header` adds to or overrides the JWS header.
    std::string sign(const std::string& alg, const std::string& claims, const std::string& header = "{}") const {
        return post("/test/sign", "application/json",
                    R"({"alg":")" + alg + R"(","header":)" + header + R"(,"claims":)" + claims + "}");
    }

private:
    std::string post(const std::string& path, const std::string& type, const std::string& body) const {
        harvest::HttpClient client;
        return client.fetch({"POST", issuer_ + path, {{"Content-Type", type}}, body}).body;
    }

    TempDir dir_;
    fs::path log_ = dir_ / "out";
    int pid_ = -1;
    unsigned short port_ = 0;
    std::string issuer_;
};

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A verifier of `issuer` fetching with the real HTTP client, its clock `offset` seconds ahead of the
// system's, counting the URLs it fetched.
struct Verifier {
    std::atomic<long> offset{0};
    std::vector<std::string> fetched;
    OidcVerifier v;

    explicit Verifier(const std::string& issuer, OidcOptions o = {})
        : v(configure(issuer, std::move(o)), [this](const std::string& u) {
              fetched.push_back(u);
              harvest::HttpOptions http;
              http.max_retries = 0;
              http.timeout = std::chrono::seconds(10);
              return harvest::HttpClient(http).fetch({.url = u}).body;
          }) {}

    OidcOptions configure(const std::string& issuer, OidcOptions o) {
        o.issuer = issuer;
        if (o.audience.empty()) o.audience = "ideo";
        o.now = [this] { return std::chrono::system_clock::now() + std::chrono::seconds(offset.load()); };
        return o;
    }
    access::Authentication verify(const std::string& token) { return v.verify(token); }
    std::string refusal(const std::string& token) {
        const auto a = v.verify(token);
        if (a.identity) return "accepted";
        EXPECT_EQ(a.error, "invalid_token");
        return a.description;
    }
};

// Claims every check passes, for `issuer`; `more` adds members (",\"nbf\":...").
std::string good_claims(const std::string& issuer, const std::string& more = "") {
    return R"({"iss":")" + issuer + R"(","aud":"ideo","sub":"someone","roles":["member"],"exp":)" +
           std::to_string(unix_now() + 600) + more + "}";
}

// base64url without padding, both ways (to tamper with a payload).
std::string b64url_decode(const std::string& in) {
    static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned buf = 0;
    int bits = 0;
    for (char c : in) {
        buf = (buf << 6) | static_cast<unsigned>(chars.find(c));
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buf >> bits) & 0xFF));
        }
    }
    return out;
}
std::string b64url_encode(const std::string& in) {
    static const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned buf = 0;
    int bits = 0;
    for (unsigned char c : in) {
        buf = (buf << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(chars[(buf >> bits) & 0x3F]);
        }
    }
    if (bits > 0) out.push_back(chars[(buf << (6 - bits)) & 0x3F]);
    return out;
}

std::vector<std::string> parts(const std::string& jwt) {
    const auto a = jwt.find('.'), b = jwt.find('.', a + 1);
    return {jwt.substr(0, a), jwt.substr(a + 1, b - a - 1), jwt.substr(b + 1)};
}

}  // namespace

TEST(Oidc, RealTokensOfEachRoleBecomeTheirIdentities) {
    OidcProvider op;
    OidcOptions o;
    o.org_claim = "org";
    Verifier v(op.issuer(), o);
    for (const std::string resource : {"urn:ideo:rs256", "urn:ideo:es256"}) {
        SCOPED_TRACE(resource);
        const auto member = v.verify(op.token("member-90010", resource));
        ASSERT_TRUE(member.identity) << member.description;
        EXPECT_EQ(member.identity->role, Role::Member);
        EXPECT_EQ(member.identity->subject, "member-90010");
        EXPECT_EQ(member.identity->via, "oidc");
        EXPECT_EQ(member.identity->organisation, "Belfort");
        EXPECT_EQ(member.identity->insee, (std::vector<std::string>{"90010", "90011"}));
        EXPECT_TRUE(member.identity->adherent);
        EXPECT_TRUE(member.identity->covers("90011"));
        EXPECT_FALSE(member.identity->covers("90012"));

        const auto sdis = v.verify(op.token("sdis-90", resource));  // roles and dept as plain strings
        ASSERT_TRUE(sdis.identity) << sdis.description;
        EXPECT_EQ(sdis.identity->role, Role::Sdis);
        EXPECT_EQ(sdis.identity->kind, access::OrgKind::Sdis);
        EXPECT_EQ(sdis.identity->depts, std::vector<std::string>{"90"});
        EXPECT_TRUE(sdis.identity->covers("90010"));
        EXPECT_FALSE(sdis.identity->covers("21231"));

        const auto ars = v.verify(op.token("ars-bfc", resource));
        ASSERT_TRUE(ars.identity) << ars.description;
        EXPECT_EQ(ars.identity->role, Role::Ars);
        EXPECT_EQ(ars.identity->depts, (std::vector<std::string>{"21", "90"}));

        const auto admin = v.verify(op.token("admin-portal", resource));  // [admin, member]: the highest
        ASSERT_TRUE(admin.identity) << admin.description;
        EXPECT_EQ(admin.identity->role, Role::Admin);
        EXPECT_EQ(admin.identity->kind, access::OrgKind::Portal);

        // A valid token without a role: a person known, with the public's rights (default deny).
        const auto none = v.verify(op.token("norole", resource));
        ASSERT_TRUE(none.identity) << none.description;
        EXPECT_EQ(none.identity->role, Role::Anonymous);
        EXPECT_EQ(none.identity->subject, "norole");
    }
    // Discovery and JWKS once for the ten tokens.
    ASSERT_EQ(v.fetched.size(), 2u);
    EXPECT_EQ(v.fetched[0], op.issuer() + "/.well-known/openid-configuration");
    EXPECT_EQ(v.v.key_fetches(), 1u);
}

TEST(Oidc, SignatureIsCheckedOncePerTokenAndTheCostIsReported) {
    OidcProvider op;
    Verifier v(op.issuer());
    for (const std::string resource : {"urn:ideo:rs256", "urn:ideo:es256"}) {
        const std::string token = op.token("member-90010", resource);
        const auto before = v.v.signature_checks();
        const auto t0 = std::chrono::steady_clock::now();
        ASSERT_TRUE(v.verify(token).identity);
        const auto t1 = std::chrono::steady_clock::now();
        constexpr int kRepeats = 1000;
        for (int i = 0; i < kRepeats; ++i) ASSERT_TRUE(v.verify(token).identity);
        const auto t2 = std::chrono::steady_clock::now();
        EXPECT_EQ(v.v.signature_checks(), before + 1);  // the 1,000 others came from the cache
        // A fresh verifier (keys already fetched) times the signature check alone.
        Verifier fresh(op.issuer());
        fresh.v.refresh();
        const auto t3 = std::chrono::steady_clock::now();
        ASSERT_TRUE(fresh.verify(token).identity);
        const auto t4 = std::chrono::steady_clock::now();
        using us = std::chrono::duration<double, std::micro>;
        std::cout << resource << ": first verification " << us(t1 - t0).count() << " us (with the key fetch), "
                  << "signature check " << us(t4 - t3).count() << " us, cached " << us(t2 - t1).count() / kRepeats
                  << " us per request" << std::endl;
    }
}

TEST(Oidc, ManyThreadsVerifyAtOnce) {
    OidcProvider op;
    Verifier v(op.issuer());
    std::vector<std::string> tokens;
    for (const std::string client : {"member-90010", "sdis-90", "ars-bfc", "admin-portal"})
        for (const std::string resource : {"urn:ideo:rs256", "urn:ideo:es256"}) tokens.push_back(op.token(client, resource));
    std::atomic<int> accepted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 400; ++i)
                if (v.verify(tokens[(t + i) % tokens.size()]).identity) ++accepted;
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(accepted, 8 * 400);
    EXPECT_EQ(v.v.key_fetches(), 1u);  // the threads that found no keys waited for the one fetch
    EXPECT_GE(v.v.signature_checks(), tokens.size());
    EXPECT_LE(v.v.signature_checks(), tokens.size() * 8);  // at worst each thread once per token before the cache has it
}

TEST(Oidc, ExpiredTokensAreRefusedPastTheSkew) {
    OidcProvider op;
    const std::string token = op.token("member-90010");  // lives 600 s
    Verifier v(op.issuer());
    v.offset = 600 + 30;  // within the 60 s skew
    EXPECT_EQ(v.refusal(token), "accepted");
    v.offset = 600 + 61;  // the cached identity expires too
    EXPECT_EQ(v.refusal(token), "token expired");
    Verifier fresh(op.issuer());
    fresh.offset = 600 + 61;
    EXPECT_EQ(fresh.refusal(token), "token expired");
}

TEST(Oidc, TamperedTokensAreRefused) {
    OidcProvider op;
    Verifier v(op.issuer());
    for (const std::string resource : {"urn:ideo:rs256", "urn:ideo:es256"}) {
        SCOPED_TRACE(resource);
        const std::string token = op.token("member-90010", resource);
        auto p = parts(token);
        // A member promoting itself: the payload changed, the signature kept.
        std::string claims = b64url_decode(p[1]);
        const auto at = claims.find("\"member\"");
        ASSERT_NE(at, std::string::npos) << claims;
        claims.replace(at, 8, "\"admin\"");
        EXPECT_EQ(v.refusal(p[0] + "." + b64url_encode(claims) + "." + p[2]), "signature does not verify");
        // One signature byte changed.
        std::string sig = b64url_decode(p[2]);
        sig[sig.size() / 2] = static_cast<char>(sig[sig.size() / 2] ^ 0x01);
        EXPECT_EQ(v.refusal(p[0] + "." + p[1] + "." + b64url_encode(sig)), "signature does not verify");
        // The signature stripped: RS256 and ES256 without one do not even parse.
        EXPECT_EQ(v.refusal(p[0] + "." + p[1] + "."), "malformed token");
        EXPECT_EQ(v.refusal(token), "accepted");
    }
    EXPECT_EQ(v.refusal("not.a.token"), "malformed token");
    EXPECT_EQ(v.refusal(std::string(20000, 'a')), "token too large");
}

TEST(Oidc, TokensOfAnotherIssuerOrAudienceAreRefused) {
    OidcProvider op;
    Verifier v(op.issuer());
    // Signed by this provider's key, claiming another issuer.
    EXPECT_EQ(v.refusal(op.sign("RS256", good_claims("https://elsewhere.example"))), "wrong issuer");
    EXPECT_EQ(v.refusal(op.sign("RS256", good_claims(op.issuer()))), "accepted");
    // A real token of this provider for another resource server.
    EXPECT_EQ(v.refusal(op.token("member-90010", "urn:other:rs256")), "wrong audience");
    // Audience as an array: accepted when ours is among them.
    const std::string aud_list = R"({"iss":")" + op.issuer() + R"(","aud":["other","ideo"],"sub":"s","exp":)" +
                                 std::to_string(unix_now() + 600) + "}";
    EXPECT_EQ(v.refusal(op.sign("ES256", aud_list)), "accepted");
    // Another provider's real token: its key is not among ours.
    OidcProvider other;
    EXPECT_EQ(v.refusal(other.token("member-90010")), "unknown signing key");
}

TEST(Oidc, AlgorithmNoneAndHmacAreRefused) {
    OidcProvider op;
    Verifier v(op.issuer());
    const std::string claims = good_claims(op.issuer());
    EXPECT_EQ(v.refusal(op.sign("none", claims)), "algorithm none is not accepted (RS256 or ES256)");
    // The classic confusion: HS256 keyed with the RSA public key's PEM, under the RSA key's kid.
    EXPECT_EQ(v.refusal(op.sign("HS256-public-key", claims)), "algorithm HS256 is not accepted (RS256 or ES256)");
    // A real HS256 token from the provider (a shared-secret resource server).
    EXPECT_EQ(v.refusal(op.token("member-90010", "urn:ideo:hs256")), "algorithm HS256 is not accepted (RS256 or ES256)");
    // RS256 claimed in the header, but the token says to trust a key it carries or points to: not read.
    const std::string embedded = R"({"jku":"http://127.0.0.1:9/jwks","x5u":"http://127.0.0.1:9/cert","kid":"attacker"})";
    EXPECT_EQ(v.refusal(op.sign("RS256", claims, embedded)), "unknown signing key");
    EXPECT_EQ(v.v.signature_checks(), 0u);
}

TEST(Oidc, NotBeforeExpiryAndSubjectAreChecked) {
    OidcProvider op;
    Verifier v(op.issuer());
    const auto now = unix_now();
    EXPECT_EQ(v.refusal(op.sign("RS256", good_claims(op.issuer(), ",\"nbf\":" + std::to_string(now + 600)))),
              "token not yet valid (nbf)");
    EXPECT_EQ(v.refusal(op.sign("RS256", good_claims(op.issuer(), ",\"nbf\":" + std::to_string(now + 30)))), "accepted");
    const std::string no_exp = R"({"iss":")" + op.issuer() + R"(","aud":"ideo","sub":"s"})";
    EXPECT_EQ(v.refusal(op.sign("RS256", no_exp)), "token has no expiry (exp)");
    const std::string no_sub = R"({"iss":")" + op.issuer() + R"(","aud":"ideo","exp":)" + std::to_string(now + 600) + "}";
    EXPECT_EQ(v.refusal(op.sign("RS256", no_sub)), "token has no subject (sub)");
}

TEST(Oidc, ClaimNamesAreConfigurableAndTerritoriesChecked) {
    OidcProvider op;
    OidcOptions o;
    o.roles_claim = "realm_access.roles";  // Keycloak's
    o.insee_claim = "communes";
    o.dept_claim = "https://ideo.example/dept";  // a namespaced claim: a name with dots, read whole
    o.org_claim = "org";
    Verifier v(op.issuer(), o);
    const std::string base = R"({"iss":")" + op.issuer() + R"(","aud":"ideo","sub":"alice","exp":)" +
                             std::to_string(unix_now() + 600) + ",\"org\":\"Grand Belfort\"";
    const auto a = v.verify(op.sign("ES256", base + R"(,"realm_access":{"roles":["offline_access","sdis"]},"communes":"90010 90011","https://ideo.example/dept":["2A"]})"));
    ASSERT_TRUE(a.identity) << a.description;
    EXPECT_EQ(a.identity->role, Role::Sdis);
    EXPECT_EQ(a.identity->insee, (std::vector<std::string>{"90010", "90011"}));
    EXPECT_EQ(a.identity->depts, std::vector<std::string>{"2A"});
    EXPECT_EQ(a.identity->organisation, "Grand Belfort");
    // The default names are not read any more.
    const auto b = v.verify(op.sign("ES256", base + R"(,"roles":["admin"]})"));
    ASSERT_TRUE(b.identity) << b.description;
    EXPECT_EQ(b.identity->role, Role::Anonymous);
    EXPECT_EQ(v.refusal(op.sign("ES256", base + R"(,"communes":["9001"]})")), "claim communes: \"9001\" is not an INSEE code");
    EXPECT_EQ(v.refusal(op.sign("ES256", base + R"(,"communes":[90010]})")), "claim communes holds something else than strings");
    EXPECT_EQ(v.refusal(op.sign("ES256", base + R"(,"https://ideo.example/dept":"Doubs"})")),
              "claim https://ideo.example/dept: \"Doubs\" is not a department");
}

TEST(Oidc, KeyRotationIsFollowedWithOneFetchAtMostEveryThirtySeconds) {
    auto op = std::make_unique<OidcProvider>();
    const std::string issuer = op->issuer();
    const unsigned short port = op->port();
    Verifier v(issuer);
    const std::string old_token = op->token("member-90010");
    ASSERT_TRUE(v.verify(old_token).identity);
    ASSERT_EQ(v.v.key_fetches(), 1u);

    // A kid the provider never had: one refetch once the interval has passed, then none within it.
    const std::string unknown_kid = op->sign("RS256", good_claims(issuer), R"({"kid":"gone"})");
    EXPECT_EQ(v.refusal(unknown_kid), "unknown signing key");
    EXPECT_EQ(v.v.key_fetches(), 1u);  // the first fetch was less than 30 s ago
    v.offset = 31;
    EXPECT_EQ(v.refusal(unknown_kid), "unknown signing key");
    EXPECT_EQ(v.v.key_fetches(), 2u);
    EXPECT_EQ(v.refusal(unknown_kid), "unknown signing key");
    EXPECT_EQ(v.v.key_fetches(), 2u);

    // The provider restarted on the same address with new keys: its first token triggers the refetch.
    op.reset();
    op = std::make_unique<OidcProvider>(port);
    ASSERT_EQ(op->issuer(), issuer);
    const std::string new_token = op->token("member-90010");
    v.offset = 62;
    const auto a = v.verify(new_token);
    ASSERT_TRUE(a.identity) << a.description;
    EXPECT_EQ(v.v.key_fetches(), 3u);
    // Discovery once; the JWKS at each fetch.
    EXPECT_EQ(std::count(v.fetched.begin(), v.fetched.end(), issuer + "/.well-known/openid-configuration"), 1);
    EXPECT_EQ(v.fetched.size(), 4u);
}

TEST(Oidc, AProviderThatDoesNotAnswerOrNamesAnotherIssuerIsReported) {
    Verifier down("http://127.0.0.1:" + std::to_string(free_port()));
    EXPECT_THROW(down.v.refresh(), Error);
    OidcProvider op;
    EXPECT_EQ(down.refusal(op.token("member-90010")), "the provider's signing keys could not be fetched");

    Verifier slash(op.issuer() + "/");  // discovery says the issuer without it: an exact match is required
    try {
        slash.v.refresh();
        FAIL() << "refresh succeeded";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("names its issuer \"" + op.issuer() + "\""), std::string::npos) << e.what();
    }
    Verifier good(op.issuer());
    EXPECT_EQ(good.v.refresh(), 2u);  // the RSA and the EC key
}

TEST(Oidc, LooksLikeJwtTellsTokensFromApiKeys) {
    OidcProvider op;
    EXPECT_TRUE(server::looks_like_jwt(op.token("member-90010")));
    EXPECT_TRUE(server::looks_like_jwt(op.sign("none", "{}")));
    EXPECT_FALSE(server::looks_like_jwt("ideo_k1_3f9a0c2b7d"));
    EXPECT_FALSE(server::looks_like_jwt("eyJhbGciOi.eyJ.sig.extra"));
    EXPECT_FALSE(server::looks_like_jwt("eyJhbGciOi.eyJ+/.sig"));
}

TEST(Oidc, ServeRefusesAnIncompleteOrCleartextProvider) {
    auto r = run_ideo({"serve", "--oidc-issuer", "https://login.example.org/realms/ideo"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--oidc-issuer needs --oidc-audience"), std::string::npos) << r.err;
    r = run_ideo({"serve", "--oidc-issuer", "http://login.example.org", "--oidc-audience", "ideo"});
    EXPECT_NE(r.err.find("is not an https:// URL (http:// only on loopback)"), std::string::npos) << r.err;
    r = run_ideo({"serve"}, {{"IDEO_OIDC_AUDIENCE", "ideo"}});
    EXPECT_NE(r.err.find("need --oidc-issuer (or IDEO_OIDC_ISSUER)"), std::string::npos) << r.err;
    r = run_ideo({"serve", "--oidc-issuer", "https://a.example", "--oidc-audience", "ideo", "--oidc-role-claim", "x"});
    EXPECT_NE(r.err.find("unknown option --oidc-role-claim for serve"), std::string::npos) << r.err;
}
