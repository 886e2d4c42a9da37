// The harvester's HTTP client against a real partner simulator on loopback.
#include "ideo/harvest/http_client.hpp"

#include <gtest/gtest.h>

#include "partner_simulator.hpp"
#include "test_support.hpp"

using namespace ideo;
using namespace ideo::test;
using harvest::FetchError;
using harvest::HttpClient;
using harvest::HttpOptions;
using harvest::HttpRequest;

namespace {

HttpOptions quick() {
    HttpOptions o;
    o.timeout = std::chrono::milliseconds(5000);
    o.max_retries = 3;
    o.backoff = std::chrono::milliseconds(5);
    return o;
}

std::string fetch_error(HttpClient& client, const std::string& url) {
    try {
        client.fetch({"GET", url, {}, {}});
    } catch (const FetchError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST(HttpClient, RetriesSucceedWhenThePartnerAnswers503TwiceThenOk) {
    PartnerSimulator sim;
    sim.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    sim.fail("/files/erp.csv", {Fault::Status503, 2});
    HttpClient client(quick());
    const auto res = client.fetch({"GET", sim.url("/files/erp.csv"), {}, {}});
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, read_file(data("deci/erp-90-prefecture.csv")));
    EXPECT_EQ(sim.requests("/files/erp.csv", 503), 2u);
    EXPECT_EQ(sim.requests("/files/erp.csv", 200), 1u);
}

TEST(HttpClient, GivesUpAfterBoundedRetriesNamingTheUrlAndTheStatus) {
    PartnerSimulator sim;
    sim.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    sim.fail("/files/erp.csv", {Fault::Status503, -1});
    HttpClient client(quick());
    const std::string err = fetch_error(client, sim.url("/files/erp.csv"));
    EXPECT_NE(err.find(sim.url("/files/erp.csv")), std::string::npos) << err;
    EXPECT_NE(err.find("HTTP 503 after 3 retries"), std::string::npos) << err;
    EXPECT_EQ(sim.requests("/files/erp.csv"), 4u);
}

TEST(HttpClient, ANotFoundIsNotRetried) {
    PartnerSimulator sim;
    HttpClient client(quick());
    const std::string err = fetch_error(client, sim.url("/nothing/here.csv"));
    EXPECT_NE(err.find("HTTP 404"), std::string::npos) << err;
    EXPECT_EQ(sim.requests("/nothing/here.csv"), 1u);
}

TEST(HttpClient, FollowsRelativeAndAbsoluteRedirects) {
    PartnerSimulator sim;
    sim.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    sim.fail("/old/erp.csv", {Fault::Redirect, -1, "../files/erp.csv"});
    sim.fail("/older/erp.csv", {Fault::Redirect, -1, sim.url("/old/erp.csv")});
    HttpClient client(quick());
    const auto res = client.fetch({"GET", sim.url("/older/erp.csv"), {}, {}});
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.final_url, sim.url("/files/erp.csv"));
    EXPECT_EQ(res.body, read_file(data("deci/erp-90-prefecture.csv")));
}

TEST(HttpClient, StopsAfterTooManyRedirects) {
    PartnerSimulator sim;
    sim.fail("/loop", {Fault::Redirect, -1, "/loop"});
    HttpOptions o = quick();
    o.max_redirects = 3;
    HttpClient client(o);
    const std::string err = fetch_error(client, sim.url("/loop"));
    EXPECT_NE(err.find("more than 3 redirects"), std::string::npos) << err;
    EXPECT_EQ(sim.requests("/loop"), 4u);
}

TEST(HttpClient, RefusesABodyLargerThanTheLimit) {
    PartnerSimulator sim;
    sim.gzip = false;
    sim.serve_file("/files/pei.geojson", data("deci/pei-13210-marseille10.geojson"));
    HttpOptions o = quick();
    o.max_body = 10000;
    HttpClient client(o);
    const std::string err = fetch_error(client, sim.url("/files/pei.geojson"));
    EXPECT_NE(err.find("body exceeds 10000 bytes"), std::string::npos) << err;
    EXPECT_EQ(sim.requests("/files/pei.geojson"), 1u);  // a body limit is not retried
}

TEST(HttpClient, RefusesAGzipBodyThatInflatesPastTheLimit) {
    PartnerSimulator sim;
    sim.serve_file("/files/pei.geojson", data("deci/pei-13210-marseille10.geojson"));
    HttpOptions o = quick();
    o.max_body = 200000;  // the gzip on the wire fits, the inflated GeoJSON (515 kB) does not
    HttpClient client(o);
    const std::string err = fetch_error(client, sim.url("/files/pei.geojson"));
    EXPECT_NE(err.find("cannot decode the gzip body"), std::string::npos) << err;
}

TEST(HttpClient, DecodesGzipAnswers) {
    PartnerSimulator sim;
    sim.serve_file("/files/pei.geojson", data("deci/pei-13210-marseille10.geojson"));
    HttpClient client(quick());
    const auto res = client.fetch({"GET", sim.url("/files/pei.geojson"), {}, {}});
    ASSERT_EQ(sim.log().size(), 1u);
    EXPECT_TRUE(sim.log()[0].gzip);
    EXPECT_EQ(res.body, read_file(data("deci/pei-13210-marseille10.geojson")));
}

TEST(HttpClient, AStalledPartnerTimesOutAndTheErrorSaysSo) {
    PartnerSimulator sim;
    sim.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    sim.fail("/files/erp.csv", {Fault::Stall, -1});
    HttpOptions o = quick();
    o.timeout = std::chrono::milliseconds(200);
    o.max_retries = 1;
    HttpClient client(o);
    const std::string err = fetch_error(client, sim.url("/files/erp.csv"));
    EXPECT_NE(err.find("timed out after 200 ms"), std::string::npos) << err;
    EXPECT_NE(err.find("after 1 retries"), std::string::npos) << err;
}

TEST(HttpClient, ATruncatedBodyIsAnErrorNotAShortFile) {
    PartnerSimulator sim;
    sim.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    sim.fail("/files/erp.csv", {Fault::Truncated, -1});
    HttpOptions o = quick();
    o.max_retries = 1;
    HttpClient client(o);
    const std::string err = fetch_error(client, sim.url("/files/erp.csv"));
    EXPECT_NE(err.find("truncated body"), std::string::npos) << err;
}

TEST(HttpClient, ConditionalGetGets304AndTheCharsetIsExposed) {
    PartnerSimulator sim;
    sim.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    HttpClient client(quick());
    const auto first = client.fetch({"GET", sim.url("/files/erp.csv"), {}, {}});
    ASSERT_EQ(first.status, 200);
    EXPECT_EQ(first.charset(), "utf-8");
    ASSERT_NE(first.header("etag"), nullptr);
    const auto by_etag = client.fetch({"GET", sim.url("/files/erp.csv"), {{"If-None-Match", *first.header("etag")}}, {}});
    EXPECT_EQ(by_etag.status, 304);
    EXPECT_TRUE(by_etag.body.empty());
    const auto by_date =
        client.fetch({"GET", sim.url("/files/erp.csv"), {{"If-Modified-Since", *first.header("last-modified")}}, {}});
    EXPECT_EQ(by_date.status, 304);
}

TEST(HttpClient, ResolvesLinksAsABrowserDoes) {
    using harvest::resolve_url;
    EXPECT_EQ(resolve_url("http://h:1/a/b/c?x=1", "d"), "http://h:1/a/b/d");
    EXPECT_EQ(resolve_url("http://h:1/a/b/c?x=1", "../d"), "http://h:1/a/d");
    EXPECT_EQ(resolve_url("http://h:1/a/b/c?x=1", "/d?y=2"), "http://h:1/d?y=2");
    EXPECT_EQ(resolve_url("http://h:1/a/b/c?x=1", "?y=2"), "http://h:1/a/b/c?y=2");
    EXPECT_EQ(resolve_url("http://h:1/a", "http://other/z"), "http://other/z");
}

TEST(HttpClient, AnUnsupportedSchemeIsAClearError) {
    HttpClient client(quick());
    const std::string err = fetch_error(client, "ftp://example.org/file.csv");
    EXPECT_NE(err.find("ftp://example.org/file.csv"), std::string::npos) << err;
    EXPECT_NE(err.find("not supported"), std::string::npos) << err;
}
