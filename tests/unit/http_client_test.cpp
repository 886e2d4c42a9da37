// The harvester's HTTP client against a real partner simulator on loopback, over http:// and https://
// (a throwaway CA and server certificates made at test time).
#include "ideo/core/url.hpp"
#include "ideo/harvest/http_client.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>

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

TEST(HttpClient, AGzipBodyInflatesNoFurtherThanTheDecodedLimitThoughTheRawLimitIsHigher) {
    PartnerSimulator sim;
    sim.serve_file("/files/pei.geojson", data("deci/pei-13210-marseille10.geojson"));
    HttpOptions o = quick();
    EXPECT_LT(o.max_decoded_body, o.max_body);  // by default: gzip from a partner is held whole, once inflated
    o.max_decoded_body = 200000;                // the inflated GeoJSON is 515 kB
    HttpClient client(o);
    const std::string err = fetch_error(client, sim.url("/files/pei.geojson"));
    EXPECT_NE(err.find("cannot decode the gzip body: decompressed data exceeds 200000 bytes"), std::string::npos) << err;
    sim.gzip = false;  // the same body sent as it is: the decoded limit is not a limit on it
    EXPECT_EQ(client.fetch({"GET", sim.url("/files/pei.geojson"), {}, {}}).body, read_file(data("deci/pei-13210-marseille10.geojson")));
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
    EXPECT_EQ(url::resolve("http://h:1/a/b/c?x=1", "d"), "http://h:1/a/b/d");
    EXPECT_EQ(url::resolve("http://h:1/a/b/c?x=1", "../d"), "http://h:1/a/d");
    EXPECT_EQ(url::resolve("http://h:1/a/b/c?x=1", "/d?y=2"), "http://h:1/d?y=2");
    EXPECT_EQ(url::resolve("http://h:1/a/b/c?x=1", "?y=2"), "http://h:1/a/b/c?y=2");
    EXPECT_EQ(url::resolve("http://h:1/a", "http://other/z"), "http://other/z");
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

// A real HTTP proxy on loopback: Debian's tinyproxy, in the foreground, logging every request it relays.
namespace {

bool accepts_connections(unsigned short port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0) ::close(fd);
    return ok;
}

class TinyProxy {
public:
    explicit TinyProxy(const std::filesystem::path& dir, const std::string& extra_config = "")
        : port_(free_port()), log_(dir / "tinyproxy.log") {
        const auto conf = dir / "tinyproxy.conf";
        std::ofstream(conf) << "Port " << port_ << "\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 30\nLogLevel Info\n"
                            << extra_config;
        pid_ = ::fork();
        if (pid_ == 0) {
            FILE* o = std::freopen(log_.c_str(), "w", stdout);
            FILE* e = std::freopen(log_.c_str(), "a", stderr);
            (void)o;
            (void)e;
            ::execlp("tinyproxy", "tinyproxy", "-d", "-c", conf.c_str(), static_cast<char*>(nullptr));
            std::_Exit(127);
        }
        for (int i = 0; i < 100 && !accepts_connections(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (!accepts_connections(port_))
            throw std::runtime_error("tinyproxy did not start (scripts/install-deps installs it): " + read_file(log_));
    }
    ~TinyProxy() {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string log() const { return read_file(log_); }

private:
    unsigned short port_;
    std::filesystem::path log_;
    int pid_ = -1;
};

}  // namespace

TEST(HttpProxy, PlainRequestsGoThroughTheProxyInAbsoluteForm) {
    TempDir dir;
    TinyProxy proxy(dir.path());
    PartnerSimulator sim;
    sim.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    HttpOptions o = quick();
    o.proxy = proxy.url();
    HttpClient client(o);
    const auto res = client.fetch({"GET", sim.url("/files/erp.csv"), {}, {}});
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, read_file(data("deci/erp-90-prefecture.csv")));
    EXPECT_EQ(sim.requests("/files/erp.csv", 200), 1u);
    EXPECT_NE(proxy.log().find("GET " + sim.url("/files/erp.csv") + " HTTP/1.1"), std::string::npos) << proxy.log();
}

TEST(HttpProxy, AProxyThatIsDownIsAClearErrorNamingItAndThePartnerIsNotAsked) {
    PartnerSimulator sim;
    sim.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    HttpOptions o = quick();
    const unsigned short nobody = free_port();
    o.proxy = "127.0.0.1:" + std::to_string(nobody);  // host:port, as curl takes it
    HttpClient client(o);
    const std::string err = fetch_error(client, sim.url("/files/erp.csv"));
    EXPECT_NE(err.find(sim.url("/files/erp.csv")), std::string::npos) << err;
    EXPECT_NE(err.find("cannot connect to proxy 127.0.0.1:" + std::to_string(nobody)), std::string::npos) << err;
    EXPECT_EQ(sim.log().size(), 0u);
}

TEST_F(HttpsClient, ThroughAProxyTheTlsSessionIsTunnelledWithConnectAndStillVerified) {
    TinyProxy proxy(dir_.path());
    sim_.serve_file("/files/pei.geojson", data("deci/pei-13210-marseille10.geojson"));
    const std::string url = sim_.url("/files/pei.geojson");
    HttpOptions o = with_ca();
    o.proxy = proxy.url();
    HttpClient client(o);
    const auto res = client.fetch({"GET", url, {}, {}});
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, read_file(data("deci/pei-13210-marseille10.geojson")));
    const std::string authority = url.substr(8, url.find('/', 8) - 8);  // 127.0.0.1:PORT
    EXPECT_NE(proxy.log().find("CONNECT " + authority), std::string::npos) << proxy.log();
    EXPECT_EQ(proxy.log().find("/files/pei.geojson"), std::string::npos) << "the proxy saw inside the TLS tunnel";
    // The tunnel changes nothing to verification: without the CA the partner's certificate is refused.
    HttpOptions untrusted = quick();
    untrusted.proxy = proxy.url();
    HttpClient without_ca(untrusted);
    const std::string err = fetch_error(without_ca, url);
    EXPECT_NE(err.find("certificate verify failed"), std::string::npos) << err;
}

TEST(HttpProxy, TheEnvironmentChoosesTheProxyExceptForNoProxyHostsAndLoopback) {
    struct Env {
        std::string name;
        std::optional<std::string> saved;
        explicit Env(std::string n) : name(std::move(n)) {
            if (const char* v = std::getenv(name.c_str())) saved = v;
            ::unsetenv(name.c_str());
        }
        ~Env() {
            if (saved) ::setenv(name.c_str(), saved->c_str(), 1);
            else ::unsetenv(name.c_str());
        }
    };
    std::vector<std::unique_ptr<Env>> env;
    for (const char* n : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"})
        env.push_back(std::make_unique<Env>(n));
    using harvest::proxy_for;
    EXPECT_EQ(proxy_for("http://data.example.org/a.csv", ""), "");
    ::setenv("HTTP_PROXY", "proxy.region.fr:3128", 1);
    ::setenv("https_proxy", "http://tls-proxy.region.fr:8080", 1);
    EXPECT_EQ(proxy_for("http://data.example.org/a.csv", ""), "http://proxy.region.fr:3128");
    EXPECT_EQ(proxy_for("https://data.example.org/a.csv", ""), "http://tls-proxy.region.fr:8080");
    EXPECT_EQ(proxy_for("http://127.0.0.1:8080/a.csv", ""), "") << "loopback is never proxied from the environment";
    EXPECT_EQ(proxy_for("http://localhost/a.csv", ""), "");
    ::setenv("NO_PROXY", "intranet.region.fr, .ign.fr", 1);
    EXPECT_EQ(proxy_for("http://intranet.region.fr/x", ""), "");
    EXPECT_EQ(proxy_for("http://sig.intranet.region.fr/x", ""), "");
    EXPECT_EQ(proxy_for("https://data.geopf.ign.fr/wfs", ""), "");
    EXPECT_EQ(proxy_for("http://notintranet.region.fr/x", ""), "http://proxy.region.fr:3128");
    EXPECT_EQ(proxy_for("http://127.0.0.1:8080/a.csv", "http://127.0.0.1:3128"), "http://127.0.0.1:3128")
        << "a partner's own proxy option applies to every host";
    ::setenv("NO_PROXY", "*", 1);
    EXPECT_EQ(proxy_for("http://data.example.org/a.csv", ""), "");
    EXPECT_THROW(proxy_for("http://data.example.org/a.csv", "socks5://127.0.0.1:1080"), FetchError);
}

TEST_F(HttpsClient, AProxyAskingForCredentialsGetsThoseOfItsUrlAndTheErrorNeverShowsThem) {
    TinyProxy proxy(dir_.path(), "BasicAuth ideo s3cret\n");
    sim_.serve_file("/files/pei.geojson", data("deci/pei-13210-marseille10.geojson"));
    PartnerSimulator plain;
    plain.serve_file("/files/erp.csv", data("deci/erp-90-prefecture.csv"));
    const std::string host = proxy.url().substr(7);  // 127.0.0.1:PORT
    HttpOptions o = with_ca();
    o.proxy = "http://ideo:s3cr%65t@" + host;  // percent-encoded in the URL (%65 is e): decoded before sending
    HttpClient client(o);
    EXPECT_EQ(client.fetch({"GET", sim_.url("/files/pei.geojson"), {}, {}}).status, 200);  // CONNECT
    EXPECT_EQ(client.fetch({"GET", plain.url("/files/erp.csv"), {}, {}}).status, 200);     // absolute form
    HttpOptions wrong = with_ca();
    wrong.proxy = "http://ideo:guess@" + host;
    HttpClient refused(wrong);
    std::string err = fetch_error(refused, sim_.url("/files/pei.geojson"));
    // 407 is the standard's answer; tinyproxy 1.11 answers 401: the error says what the proxy said.
    const auto refused_for_credentials = [](const std::string& e) {
        return e.find("HTTP 407") != std::string::npos || e.find("HTTP 401") != std::string::npos;
    };
    EXPECT_NE(err.find("proxy " + host + " refused the tunnel to"), std::string::npos) << err;
    EXPECT_TRUE(refused_for_credentials(err)) << err;
    EXPECT_EQ(err.find("guess"), std::string::npos) << err;
    err = fetch_error(refused, plain.url("/files/erp.csv"));
    EXPECT_TRUE(refused_for_credentials(err)) << err;
    EXPECT_EQ(err.find("guess"), std::string::npos) << err;
    EXPECT_EQ(plain.log().size(), 1u) << "only the request with the right credentials reached the partner";
}
