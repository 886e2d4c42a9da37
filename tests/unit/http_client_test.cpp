// The harvester's HTTP client against a real partner simulator on loopback, over http:// and https://
// (a throwaway CA and server certificates made at test time).
#include "ideo/harvest/http_client.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "partner_simulator.hpp"
#include "test_pki.hpp"
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

// https:// partners: the simulator serves TLS with a certificate of a CA made for the test.
class HttpsClient : public ::testing::Test {
protected:
    HttpOptions with_ca() const {
        HttpOptions o = quick();
        o.ca_file = pki_.ca_certificate().string();
        return o;
    }

    TempDir dir_;
    TestPki pki_{dir_ / "pki"};
    PartnerSimulator sim_{pki_.server("partner", {"IP:127.0.0.1", "DNS:localhost"})};
};

TEST_F(HttpsClient, VerifiesThePartnerAgainstTheCaFileGivenAndReadsTheAnswer) {
    sim_.serve_file("/files/pei.geojson", data("deci/pei-13210-marseille10.geojson"));
    HttpClient client(with_ca());
    const std::string url = sim_.url("/files/pei.geojson");
    ASSERT_EQ(url.rfind("https://127.0.0.1:", 0), 0u);
    const auto res = client.fetch({"GET", url, {}, {}});
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, read_file(data("deci/pei-13210-marseille10.geojson")));
    ASSERT_EQ(sim_.log().size(), 1u);
    EXPECT_TRUE(sim_.log()[0].gzip);
    // The same conditional GET as over http://: a second request with the validators gets a 304.
    const auto again = client.fetch({"GET", url, {{"If-None-Match", *res.header("etag")}}, {}});
    EXPECT_EQ(again.status, 304);
}

TEST_F(HttpsClient, ByHostNameTheCertificateIsCheckedAgainstTheName) {
    sim_.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    HttpClient client(with_ca());
    const auto res = client.fetch({"GET", sim_.url("/files/erp.csv", "localhost"), {}, {}});
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, read_file(data("deci/erp-90-prefecture.csv")));
}

TEST_F(HttpsClient, WithoutTheCaTheCertificateIsRefusedNamingTheUrlAndTheReasonAndNothingIsSent) {
    sim_.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    HttpClient client(quick());  // the system store only: it does not know the test CA
    const std::string url = sim_.url("/files/erp.csv");
    const std::string err = fetch_error(client, url);
    EXPECT_NE(err.find(url), std::string::npos) << err;
    EXPECT_NE(err.find("certificate verify failed: unable to get local issuer certificate"), std::string::npos) << err;
    EXPECT_EQ(err.find("retries"), std::string::npos) << err;  // a verdict on a certificate is not retried
    EXPECT_EQ(sim_.requests("/files/erp.csv"), 0u);              // the request never left the client
}

TEST_F(HttpsClient, TheSystemStoreIsWhereOpenSslLooksByDefault) {
    // SSL_CERT_FILE is OpenSSL's own override of the system store: trusting the test CA through it shows the
    // client verifies against the default store when no ca_file is given.
    sim_.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    ::setenv("SSL_CERT_FILE", pki_.ca_certificate().c_str(), 1);
    HttpClient client(quick());
    const std::string err = fetch_error(client, sim_.url("/files/erp.csv"));
    ::unsetenv("SSL_CERT_FILE");
    EXPECT_EQ(err, "no error");
}

TEST_F(HttpsClient, ASelfSignedCertificateIsRefused) {
    PartnerSimulator self_signed(pki_.self_signed("portal", {"IP:127.0.0.1"}));
    self_signed.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    HttpClient client(with_ca());
    const std::string err = fetch_error(client, self_signed.url("/files/erp.csv"));
    EXPECT_NE(err.find("certificate verify failed: self-signed certificate"), std::string::npos) << err;
}

TEST_F(HttpsClient, ACertificateOfAnotherHostIsRefusedEvenFromATrustedCa) {
    PartnerSimulator other(pki_.server("elsewhere", {"DNS:portail.example.org"}));
    other.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    HttpClient client(with_ca());
    std::string err = fetch_error(client, other.url("/files/erp.csv"));
    EXPECT_NE(err.find("certificate verify failed: IP address mismatch"), std::string::npos) << err;
    err = fetch_error(client, other.url("/files/erp.csv", "localhost"));
    EXPECT_NE(err.find("certificate verify failed: hostname mismatch"), std::string::npos) << err;
}

TEST_F(HttpsClient, ACaFileThatCannotBeReadIsAClearError) {
    HttpOptions o = quick();
    o.ca_file = (dir_ / "missing-ca.pem").string();
    HttpClient client(o);
    const std::string err = fetch_error(client, sim_.url("/files/erp.csv"));
    EXPECT_NE(err.find("missing-ca.pem: cannot load the CA file"), std::string::npos) << err;
}

TEST_F(HttpsClient, FollowsARedirectFromHttpToHttpsOnAnotherHost) {
    sim_.serve_file("/data/erp.csv", data("deci/erp-90-prefecture.csv"));
    PartnerSimulator plain;
    plain.fail("/erp.csv", {Fault::Redirect, -1, sim_.url("/data/erp.csv", "localhost")});
    HttpClient client(with_ca());
    const auto res = client.fetch({"GET", plain.url("/erp.csv"), {}, {}});
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.final_url, sim_.url("/data/erp.csv", "localhost"));
    EXPECT_EQ(res.body, read_file(data("deci/erp-90-prefecture.csv")));
    EXPECT_EQ(plain.requests("/erp.csv", 302), 1u);
    EXPECT_EQ(sim_.requests("/data/erp.csv", 200), 1u);
}

TEST_F(HttpsClient, RefusesARedirectFromHttpsDownToHttp) {
    PartnerSimulator plain;
    plain.serve_file("/erp.csv", data("deci/erp-90-prefecture.csv"));
    sim_.fail("/erp.csv", {Fault::Redirect, -1, plain.url("/erp.csv")});
    HttpClient client(with_ca());
    const std::string err = fetch_error(client, sim_.url("/erp.csv"));
    EXPECT_NE(err.find("refusing the redirect to " + plain.url("/erp.csv")), std::string::npos) << err;
    EXPECT_EQ(plain.requests("/erp.csv"), 0u);
}

TEST_F(HttpsClient, RetriesTimeoutsAndTruncatedBodiesBehaveAsOverHttp) {
    sim_.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    HttpOptions o = with_ca();
    o.timeout = std::chrono::milliseconds(300);
    o.max_retries = 1;
    HttpClient client(o);
    sim_.fail("/files/erp.csv", {Fault::Status503, 1});
    EXPECT_EQ(client.fetch({"GET", sim_.url("/files/erp.csv"), {}, {}}).status, 200);
    EXPECT_EQ(sim_.requests("/files/erp.csv", 503), 1u);
    sim_.fail("/files/erp.csv", {Fault::Truncated, -1});
    std::string err = fetch_error(client, sim_.url("/files/erp.csv"));
    EXPECT_NE(err.find("truncated body"), std::string::npos) << err;
    sim_.fail("/files/erp.csv", {Fault::Stall, -1});
    err = fetch_error(client, sim_.url("/files/erp.csv"));
    EXPECT_NE(err.find("timed out after 300 ms (read) after 1 retries"), std::string::npos) << err;
}
