// Organisations and API keys end to end: `ideo keys create|list|revoke` on a real store, then `ideo serve`
// on loopback identifying each request's caller from its key (header, X-API-Key or ?apikey=), refusing bad
// ones as RFC 6750 says, rate-limiting failures per address, and never writing a key to its log.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pg_cluster.hpp"
#include "test_support.hpp"

using namespace ideo::test;

namespace {

rapidjson::Document parse_json(const std::string& body) {
    rapidjson::Document d;
    d.Parse(body.c_str(), body.size());
    EXPECT_FALSE(d.HasParseError()) << body.substr(0, 300);
    return d;
}

std::string header_or_empty(const HttpResponse& r, const std::string& name) {
    const auto it = r.headers.find(name);
    return it == r.headers.end() ? "" : it->second;
}

class ApiKeysTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        store_ = (dir_->path() / "ideo.gpkg").string();
        setup_error_ = import_files(store_, {{"communes", data("communes/communes-90-territoire-de-belfort.geojson").string()},
                                             {"pei", data("deci/d_pei_cd90_p.zip").string()}});
        if (!setup_error_.empty()) return;
        member_ = create_key(store_, {"--org", "Mairie de Belfort", "--role", "member", "--kind", "commune", "--adherent",
                                      "--insee", "90010", "--expires", "2099-12-31"});
        admin_ = create_key(store_, {"--org", "IDEO", "--role", "admin"});
        expired_ = create_key(store_, {"--org", "SDIS 90", "--role", "sdis", "--dept", "90", "--expires", "2020-01-01"});
        revoked_ = create_key(store_, {"--org", "SDIS 90", "--role", "sdis"});
        const auto revoke = run_ideo({"keys", "revoke", revoked_.id, "--store", store_});
        if (revoke.exit_code != 0) setup_error_ = "keys revoke: " + revoke.err;
        if (const std::string e = start_server(server_, {"--store", store_}); !e.empty()) setup_error_ = e;
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
        delete dir_;
        dir_ = nullptr;
    }
    void SetUp() override {
        if (!setup_error_.empty()) FAIL() << setup_error_;
    }
    static HttpResponse get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
        return http_get(server_->port(), target, headers);
    }

    static inline TempDir* dir_ = nullptr;
    static inline std::string store_, setup_error_;
    static inline CreatedKey member_, admin_, expired_, revoked_;
    static inline ServerProcess* server_ = nullptr;
};

TEST_F(ApiKeysTest, KeysAreCreatedListedWithoutTheirSecretAndRevokedThroughTheCli) {
    EXPECT_EQ(member_.key.rfind("ideo_", 0), 0u);
    EXPECT_EQ(member_.key.size(), 48u);
    EXPECT_EQ(member_.id.rfind("k-", 0), 0u);
    const auto list = run_ideo({"keys", "list", "--store", store_});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    for (const auto* k : {&member_, &admin_, &expired_, &revoked_}) {
        EXPECT_NE(list.out.find(k->id), std::string::npos) << list.out;
        EXPECT_EQ(list.out.find(k->key), std::string::npos) << "a key is never listed";
        EXPECT_EQ(list.out.find(k->key.substr(5, 12)), std::string::npos);
    }
    const auto line_of = [&](const std::string& id) {
        const auto at = list.out.find(id);
        return list.out.substr(at, list.out.find('\n', at) - at);
    };
    EXPECT_NE(line_of(member_.id).find("Mairie de Belfort\tcommune\tyes\t90010\tmember"), std::string::npos) << line_of(member_.id);
    EXPECT_NE(line_of(member_.id).find("2099-12-31"), std::string::npos);
    EXPECT_NE(line_of(revoked_.id).find("revoked"), std::string::npos);
    EXPECT_NE(line_of(expired_.id).find("expired"), std::string::npos);
    EXPECT_NE(line_of(admin_.id).find("active"), std::string::npos);

    // Mistakes name the option at fault.
    const auto role = run_ideo({"keys", "create", "--org", "X", "--role", "root", "--store", store_});
    EXPECT_EQ(role.exit_code, 2);
    EXPECT_NE(role.err.find("--role: \"root\""), std::string::npos) << role.err;
    const auto insee = run_ideo({"keys", "create", "--org", "X", "--role", "member", "--insee", "9001", "--store", store_});
    EXPECT_EQ(insee.exit_code, 2);
    EXPECT_NE(insee.err.find("--insee: \"9001\""), std::string::npos) << insee.err;
    const auto expires = run_ideo({"keys", "create", "--org", "X", "--role", "member", "--expires", "demain", "--store", store_});
    EXPECT_NE(expires.err.find("--expires: \"demain\""), std::string::npos) << expires.err;
    const auto no_org = run_ideo({"keys", "create", "--role", "member", "--store", store_});
    EXPECT_NE(no_org.err.find("--org"), std::string::npos) << no_org.err;
    const auto other = run_ideo({"keys", "list", "--org", "X", "--store", store_});
    EXPECT_EQ(other.exit_code, 2);
    EXPECT_NE(other.err.find("unknown option --org for keys list"), std::string::npos) << other.err;
    const auto unknown = run_ideo({"keys", "revoke", "k-000000000000", "--store", store_});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.err.find("k-000000000000"), std::string::npos) << unknown.err;
}

TEST_F(ApiKeysTest, AKeyIsIdentifiedSentInAnyOfTheThreeWays) {
    for (const auto& [target, headers] : std::vector<std::pair<std::string, std::map<std::string, std::string>>>{
             {"/whoami", {{"Authorization", "Bearer " + member_.key}}},
             {"/whoami", {{"X-API-Key", member_.key}}},
             {"/whoami?apikey=" + member_.key, {}}}) {
        const HttpResponse r = get(target, headers);
        ASSERT_EQ(r.status, 200) << r.body;
        const auto d = parse_json(r.body);
        EXPECT_EQ(std::string(d["role"].GetString()), "member");
        EXPECT_EQ(std::string(d["organisation"].GetString()), "Mairie de Belfort");
        EXPECT_EQ(std::string(d["kind"].GetString()), "commune");
        EXPECT_TRUE(d["adherent"].GetBool());
        EXPECT_EQ(std::string(d["insee"][0].GetString()), "90010");
        EXPECT_EQ(std::string(d["subject"].GetString()), member_.id);
        EXPECT_EQ(std::string(d["via"].GetString()), "apikey");
        EXPECT_EQ(r.body.find(member_.key), std::string::npos);
    }
    const auto admin = parse_json(get("/whoami", {{"Authorization", "Bearer " + admin_.key}}).body);
    EXPECT_EQ(std::string(admin["role"].GetString()), "admin");

    // The public is challenged without an error code (it sent no credential).
    const HttpResponse anonymous = get("/whoami");
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_EQ(header_or_empty(anonymous, "www-authenticate"), "Bearer realm=\"ideo\"");

    // An answer computed for a caller is private to it; the public one stays cacheable.
    const HttpResponse mine = get("/collections/pei/items?limit=2", {{"Authorization", "Bearer " + member_.key}});
    ASSERT_EQ(mine.status, 200) << mine.body;
    EXPECT_EQ(header_or_empty(mine, "cache-control").rfind("private", 0), 0u) << header_or_empty(mine, "cache-control");
    EXPECT_EQ(header_or_empty(mine, "cache-control").find("public"), std::string::npos);
    EXPECT_NE(header_or_empty(mine, "vary").find("Authorization"), std::string::npos) << header_or_empty(mine, "vary");
    EXPECT_NE(header_or_empty(mine, "vary").find("Accept-Encoding"), std::string::npos);
    const HttpResponse theirs = get("/collections/pei/items?limit=2");
    ASSERT_EQ(theirs.status, 200);
    // The public answer stays cacheable by shared caches; it varies with the credential (layers have access
    // policies), so no cache serves it to an identified caller.
    EXPECT_EQ(header_or_empty(theirs, "cache-control").find("private"), std::string::npos);
    EXPECT_NE(header_or_empty(theirs, "vary").find("Authorization"), std::string::npos) << header_or_empty(theirs, "vary");
}

TEST_F(ApiKeysTest, WrongExpiredAndRevokedKeysAre401WithTheBearerChallenge) {
    const std::string wrong = "ideo_" + std::string(43, 'A');
    for (const auto& [key, why] : std::vector<std::pair<std::string, std::string>>{
             {wrong, "unknown key"}, {expired_.key, "key expired"}, {revoked_.key, "key revoked"},
             {"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "no OpenID Connect issuer"}}) {
        const HttpResponse r = get("/collections/pei/items?limit=1", {{"Authorization", "Bearer " + key}});
        EXPECT_EQ(r.status, 401) << key;
        const std::string challenge = header_or_empty(r, "www-authenticate");
        EXPECT_EQ(challenge.rfind("Bearer realm=\"ideo\", error=\"invalid_token\", error_description=\"", 0), 0u) << challenge;
        EXPECT_NE(challenge.find(why), std::string::npos) << challenge;
        EXPECT_EQ(challenge.find(key), std::string::npos) << "never echoed";
        EXPECT_EQ(r.body.find(key), std::string::npos);
    }
}

TEST_F(ApiKeysTest, AKeysLastUseIsRecordedAndARevokedKeyRefusedByTheRunningServerWithinItsPoll) {
    const CreatedKey k = create_key(store_, {"--org", "IDEO", "--role", "admin"});
    ASSERT_EQ(get("/whoami", {{"X-API-Key", k.key}}).status, 200);
    // Its use is recorded by the server's poll (at most once a minute per key), not by the request itself.
    std::vector<std::string> fields;  // id, organisation, kind, adherent, territory, role, created, expires, last_used, status
    for (int i = 0; i < 100 && (fields.size() < 10 || fields[8] == "never"); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const std::string out = run_ideo({"keys", "list", "--store", store_}).out;
        const auto at = out.find(k.id);
        std::stringstream line(at == std::string::npos ? "" : out.substr(at, out.find('\n', at) - at));
        fields.clear();
        for (std::string f; std::getline(line, f, '\t');) fields.push_back(f);
    }
    ASSERT_EQ(fields.size(), 10u);
    EXPECT_EQ(fields[8].size(), 20u) << fields[8];  // 2026-12-04T02:00:00Z
    EXPECT_GE(fields[8], fields[6]) << "used after it was created";
    EXPECT_EQ(fields[9], "active");
    ASSERT_EQ(run_ideo({"keys", "revoke", k.id, "--store", store_}).exit_code, 0);
    int status = 200;
    for (int i = 0; i < 100 && status == 200; ++i) {  // the cache keeps a verified key for one 2 s poll interval
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        status = get("/whoami", {{"X-API-Key", k.key}}).status;
    }
    EXPECT_EQ(status, 401);
}

TEST_F(ApiKeysTest, ItemsLinksCarryTheApikeyAndTheKeyIsNeverLogged) {
    const HttpResponse r = get("/collections/pei/items?limit=5&apikey=" + member_.key);
    ASSERT_EQ(r.status, 200) << r.body;  // apikey is no unknown parameter of the items
    const auto d = parse_json(r.body);
    std::map<std::string, std::string> links;
    for (const auto& l : d["links"].GetArray()) links[l["rel"].GetString()] = l["href"].GetString();
    ASSERT_TRUE(links.count("next"));
    for (const char* rel : {"next", "self", "alternate"}) {
        EXPECT_NE(links[rel].find("apikey=" + member_.key), std::string::npos) << rel << ": " << links[rel];
        EXPECT_EQ(links[rel].find("apikey=", links[rel].find("apikey=") + 1), std::string::npos) << "once";
    }
    EXPECT_NE(links["next"].find("offset=5"), std::string::npos);
    // QGIS follows next as it is: the key still identifies it.
    const std::string next = links["next"].substr(links["next"].find("/collections"));
    const HttpResponse page2 = get(next);
    EXPECT_EQ(page2.status, 200);
    EXPECT_EQ(header_or_empty(page2, "cache-control").rfind("private", 0), 0u);
    // Without a key, no apikey in the links.
    const auto anonymous = parse_json(get("/collections/pei/items?limit=5").body);
    for (const auto& l : anonymous["links"].GetArray()) EXPECT_EQ(std::string(l["href"].GetString()).find("apikey"), std::string::npos);

    // Refused keys are logged by address and reason, never by value; a broken one is not echoed either.
    const std::string bad = "ideo_" + std::string(43, 'Z');
    EXPECT_EQ(get("/collections/pei/items?limit=1&apikey=" + bad).status, 401);
    const HttpResponse broken = get("/collections/pei/items?apikey=" + bad + "%zz");
    EXPECT_EQ(broken.status, 400);
    EXPECT_EQ(broken.body.find(bad), std::string::npos) << broken.body;
    const std::string log = server_->err();
    EXPECT_NE(log.find("credential refused from 127.0.0.1 on GET /collections/pei/items: unknown key"), std::string::npos) << log;
    for (const auto* k : {&member_, &admin_, &expired_, &revoked_}) EXPECT_EQ(log.find(k->key), std::string::npos);
    EXPECT_EQ(log.find(bad), std::string::npos) << log;
}

TEST_F(ApiKeysTest, MetricsAreForAnAdminKey) {
    EXPECT_EQ(get("/metrics").status, 401);
    const HttpResponse member = get("/metrics", {{"Authorization", "Bearer " + member_.key}});
    EXPECT_EQ(member.status, 403);
    EXPECT_NE(header_or_empty(member, "www-authenticate").find("error=\"insufficient_scope\""), std::string::npos);
    const HttpResponse admin = get("/metrics", {{"Authorization", "Bearer " + admin_.key}});
    EXPECT_EQ(admin.status, 200);
    EXPECT_NE(admin.body.find("ideo_http_requests_total"), std::string::npos);
}

TEST(ApiKeysRateLimit, ElevenBadKeysFromOneAddressAre429WithRetryAfter) {
    TempDir dir;
    const std::string store = (dir / "ideo.gpkg").string();
    const CreatedKey good = create_key(store, {"--org", "IDEO", "--role", "admin"});
    ServerProcess server({"--store", store, "--layers", layers_dir().string()});
    for (int i = 0; i < 10; ++i)
        ASSERT_EQ(http_get(server.port(), "/whoami", {{"X-API-Key", "ideo_bad" + std::to_string(i)}}).status, 401) << i;
    const HttpResponse limited = http_get(server.port(), "/whoami", {{"X-API-Key", "ideo_bad10"}});
    EXPECT_EQ(limited.status, 429);
    ASSERT_TRUE(limited.headers.count("retry-after"));
    const long wait = std::stol(limited.headers.at("retry-after"));
    EXPECT_GE(wait, 1);
    EXPECT_LE(wait, 60);
    // While limited, no credential from that address is checked, a good one neither; the public still is served.
    EXPECT_EQ(http_get(server.port(), "/whoami", {{"X-API-Key", good.key}}).status, 429);
    EXPECT_EQ(http_get(server.port(), "/health").status, 200);
    EXPECT_TRUE(server.alive());
}

TEST(ApiKeysOnPostgis, KeysCreatedInTheDatabaseIdentifyTheirCallerUntilRevoked) {
    auto& cluster = pg_cluster();
    const std::string db = cluster.new_database();
    const std::string pg = cluster.uri(db);
    const CreatedKey k = create_key(pg, {"--org", "ARS Bourgogne-Franche-Comté", "--role", "ars", "--dept", "21,90"});
    ASSERT_FALSE(k.key.empty());
    // The database keeps the hash, never the key.
    EXPECT_EQ(cluster.query(db, "SELECT count(*) FROM ideo_api_keys WHERE id = '" + k.id + "'"), "1");
    EXPECT_EQ(cluster.query(db, "SELECT count(*) FROM ideo_api_keys k WHERE k::text LIKE '%" + k.key.substr(5) + "%'"), "0");
    EXPECT_EQ(cluster.query(db, "SELECT length(key_hash) FROM ideo_api_keys"), "64");
    ServerProcess server({"--store", pg, "--layers", layers_dir().string()});
    const HttpResponse r = http_get(server.port(), "/whoami", {{"Authorization", "Bearer " + k.key}});
    ASSERT_EQ(r.status, 200) << r.body;
    const auto d = parse_json(r.body);
    EXPECT_EQ(std::string(d["role"].GetString()), "ars");
    EXPECT_EQ(std::string(d["kind"].GetString()), "ars");
    EXPECT_EQ(std::string(d["depts"][1].GetString()), "90");
    ASSERT_EQ(run_ideo({"keys", "revoke", k.id, "--store", pg}).exit_code, 0);
    int status = 200;
    for (int i = 0; i < 100 && status == 200; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        status = http_get(server.port(), "/whoami", {{"Authorization", "Bearer " + k.key}}).status;
    }
    EXPECT_EQ(status, 401);
}

}  // namespace

// A department's extract holds the whole department: a member with one commune of it is refused, told why
// and what to ask instead; its commune's extract is its own; the portal's key gets the department.
TEST_F(ApiKeysTest, DepartmentExtractNeedsTheWholeDepartmentAndSaysWhichCommunesToAsk) {
    const std::map<std::string, std::string> member = {{"Authorization", "Bearer " + member_.key}};
    const HttpResponse dept = get("/deci/extract.csv?dept=90", member);
    EXPECT_EQ(dept.status, 403);
    EXPECT_NE(dept.body.find("department 90 needs a grant on the whole department"), std::string::npos) << dept.body;
    EXPECT_NE(dept.body.find("/deci/extract.csv?insee=90010"), std::string::npos) << dept.body;
    EXPECT_EQ(get("/deci/extract.csv?dept=90").status, 401);
    const HttpResponse own = get("/deci/extract.csv?insee=90010", member);
    EXPECT_EQ(own.status, 200);
    EXPECT_EQ(header_or_empty(own, "cache-control"), "private, no-store");
    EXPECT_EQ(get("/deci/extract.csv?insee=90010,90011", member).status, 403);  // another commune of the department
    EXPECT_EQ(get("/deci/extract.csv?dept=90", {{"Authorization", "Bearer " + admin_.key}}).status, 200);
}
