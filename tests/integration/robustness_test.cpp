// `ideo serve` when things go wrong or pile up, end to end over loopback: a handler failing on damaged
// data (a rules file, the store itself) answers a generic 500 with a request id (the details in the log
// only), and heavy requests (department extracts) wait in a bounded worker pool while light ones keep answering.
#include <gdal.h>
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <rapidjson/document.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "ideo/store/store.hpp"
#include "test_support.hpp"

using namespace ideo;
using namespace ideo::test;
namespace fs = std::filesystem;

namespace {

// A department extract: hundreds of milliseconds of work each, so a few of them fill a pool of one.
const std::string kHeavy = "/deci/extract.xlsx?dept=90";
// /metrics is for the portal only (its token), and a department's extract for who may download it (an admin key).
const std::string kMetricsToken = "robustness-metrics";
std::map<std::string, std::string> downloader;
// A harvested catalogue record; the server reads its original document from the store on request.
const std::string kRecord = "geo90:pei";
constexpr unsigned kWorkers = 1, kQueue = 2;

void nap() { std::this_thread::sleep_for(std::chrono::milliseconds(10)); }

// Polls until `done` holds or a minute went by (a bound on waiting, not a measure: the checks that follow decide).
template <class Condition>
void wait_until(Condition done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (!done() && std::chrono::steady_clock::now() < deadline) nap();
}

// A gauge or counter of /metrics without labels (or with these exact labels), -1 when absent.
double metric(unsigned short port, const std::string& sample) {
    const std::string body = http_get(port, "/metrics", {{"Authorization", "Bearer " + kMetricsToken}}).body;
    std::size_t at = 0;
    while ((at = body.find(sample + " ", at)) != std::string::npos) {
        if (at == 0 || body[at - 1] == '\n') return std::stod(body.substr(at + sample.size() + 1));
        at += sample.size();
    }
    return -1;
}

}  // namespace

class RobustnessTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        store_ = (dir_->path() / "ideo.gpkg").string();
        setup_error_ = import_files(store_, {
                                                {"communes", data("communes/communes-90-territoire-de-belfort.geojson").string()},
                                                {"pei", data("deci/d_pei_cd90_p.zip").string()},
                                                {"erp", data("deci/erp-90-prefecture.csv").string()},
                                                {"icpe", data("icpe/ign_installation.csv").string()},
                                            });
        if (!setup_error_.empty()) return;
        catalog::Record r;
        r.partner = "geo90";
        r.remote_id = "pei";
        r.id = kRecord;
        r.title = "Points d'eau incendie du Territoire de Belfort";
        r.content_hash = "h-pei";
        r.original = "<gmd:MD_Metadata>pei</gmd:MD_Metadata>";
        r.original_format = "iso19139";
        store::open_store(store_)->update_catalog("geo90", {{r}, {}, "", {}, false, false}, "{}");
        // The project's layers, with the rules of department 13 damaged: the DECI rules are read on
        // first use, so a request for them fails inside its handler.
        layers_ = dir_->path() / "layers";
        fs::copy(layers_dir(), layers_, fs::copy_options::recursive);
        std::ofstream(layers_ / "deci-rules" / "13.json", std::ios::trunc) << "{\"department\": \"13\", \"classes\": [";
        downloader = admin_authorization(store_);
        setup_error_ = start_server(server_, {"--store", store_, "--layers", layers_.string(), "--threads", "2", "--workers",
                                         std::to_string(kWorkers), "--queue", std::to_string(kQueue)},
                                         {{"IDEO_METRICS_TOKEN", kMetricsToken}});
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

    static unsigned short port() { return server_->port(); }

    static inline TempDir* dir_ = nullptr;
    static inline std::string store_;
    static inline fs::path layers_;
    static inline ServerProcess* server_ = nullptr;
    static inline std::string setup_error_;
};

TEST_F(RobustnessTest, AFailingHandlerAnswersAGeneric500WithARequestIdAndLogsTheDetails) {
    const HttpResponse r = http_get(port(), "/deci/communes/90010/coverage?rules=13");
    ASSERT_EQ(r.status, 500) << r.body;
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    ASSERT_TRUE(d.IsObject()) << r.body;
    EXPECT_STREQ(d["code"].GetString(), "internal_error");
    ASSERT_TRUE(r.headers.count("x-request-id")) << "the answer names the request for the log";
    const std::string id = r.headers.at("x-request-id");
    EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{16}"))) << id;
    EXPECT_EQ(std::string(d["description"].GetString()), "internal error, request id " + id);
    // Nothing of the server's files leaks: not the rules file, not the layers folder, not the store.
    for (const std::string& secret : {layers_.string(), store_, std::string("13.json"), dir_->path().string()})
        EXPECT_EQ(r.body.find(secret), std::string::npos) << secret << " in " << r.body;
    for (const auto& [name, value] : r.headers) EXPECT_EQ(value.find(dir_->path().string()), std::string::npos) << name;

    // The log has it all, under the same id: the request and the file at fault.
    const std::string log = server_->err();
    const auto line_at = log.find("request " + id);
    ASSERT_NE(line_at, std::string::npos) << log;
    const std::string line = log.substr(line_at, log.find('\n', line_at) - line_at);
    EXPECT_NE(line.find("/deci/communes/90010/coverage"), std::string::npos) << line;
    EXPECT_NE(line.find("13.json"), std::string::npos) << line;

    // A second failure gets its own id, and the server keeps serving.
    const HttpResponse again = http_get(port(), "/deci/communes/90010/coverage?rules=13");
    EXPECT_EQ(again.status, 500);
    EXPECT_NE(again.headers.at("x-request-id"), id);
    EXPECT_EQ(http_get(port(), "/health").status, 200);
}

TEST_F(RobustnessTest, LightRequestsAnswerWhileHeavyOnesFillThePoolAndAnOverfullQueueGets503) {
    // Clients that keep sending department extracts, each one again as soon as it is answered.
    std::atomic<bool> done{false};
    std::mutex m;
    std::map<int, int> statuses;
    std::map<int, std::string> retry_after;
    std::vector<std::thread> clients;
    for (unsigned i = 0; i < kWorkers + kQueue + 2; ++i)
        clients.emplace_back([&] {
            while (!done) {
                HttpResponse r;
                try {
                    r = http_get(port(), kHeavy, downloader);
                } catch (const std::exception&) {
                    r.status = -1;  // no answer within the client's 30 s
                }
                std::lock_guard lock(m);
                statuses[r.status]++;
                if (r.headers.count("retry-after")) retry_after[r.status] = r.headers.at("retry-after");
                if (r.status == 200) EXPECT_EQ(r.body.substr(0, 2), "PK") << "an XLSX is a ZIP";
            }
        });
    // Wait until every worker and every queue slot holds an extract (the gauge counts /metrics itself too).
    const double full = kWorkers + kQueue + 1;
    double in_progress = 0;
    wait_until([&] { return (in_progress = metric(port(), "ideo_http_requests_in_progress")) >= full; });
    EXPECT_GE(in_progress, full) << "the extracts never filled the pool";

    // With the pool full, light requests are answered by the I/O threads, heavy ones still in flight.
    for (int i = 0; i < 20; ++i) {
        const HttpResponse h = http_get(port(), "/health");
        EXPECT_EQ(h.status, 200) << h.body;
        EXPECT_EQ(http_get(port(), "/collections/pei/items?limit=5").status, 200);
    }
    EXPECT_GE(metric(port(), "ideo_http_requests_in_progress"), 2) << "extracts were still in flight";

    // One client more than the pool holds: the extra ones are refused with 503 and Retry-After.
    wait_until([&] {
        std::lock_guard lock(m);
        return statuses[503] > 0 && statuses[200] > 0;
    });
    done = true;
    for (auto& t : clients) t.join();
    EXPECT_GT(statuses[200], 0);
    EXPECT_GT(statuses[503], 0) << "the queue never overflowed";
    EXPECT_EQ(statuses[200] + statuses[503], [&] {
        int n = 0;
        for (const auto& [s, c] : statuses) n += c;
        return n;
    }()) << "only 200 and 503";
    ASSERT_TRUE(retry_after.count(503));
    EXPECT_GT(std::stoi(retry_after[503]), 0);
    EXPECT_FALSE(retry_after.count(200));
}

TEST_F(RobustnessTest, AQueuedExtractWhoseClientWentAwayIsNotBuilt) {
    const auto built = [] {
        const double n = metric(port(), "ideo_http_requests_total{endpoint=\"deci_extract_many\",code=\"2xx\"}");
        return n < 0 ? 0 : n;
    };
    const double before = built();
    // One extract occupies the worker; behind it, clients that send one and hang up at once.
    std::thread waiting([] { EXPECT_EQ(http_get(port(), kHeavy, downloader).status, 200); });
    wait_until([] { return metric(port(), "ideo_http_requests_in_progress") >= 2; });
    namespace net = boost::asio;
    net::io_context ioc;
    for (unsigned i = 0; i < kQueue; ++i) {
        net::ip::tcp::socket s(ioc);
        s.connect({net::ip::make_address("127.0.0.1"), port()});
        const std::string req = "GET " + kHeavy + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " +
                                downloader.at("Authorization") + "\r\n\r\n";
        net::write(s, net::buffer(req));
        s.close();
    }
    waiting.join();
    // Once the queue is empty again (the gauge back to the /metrics request alone), count what was built.
    wait_until([] { return metric(port(), "ideo_http_requests_in_progress") <= 1; });
    EXPECT_EQ(built() - before, 1) << "the abandoned extracts were built anyway";
}

// Last of the suite: it damages the store under the running server (and repairs it at the end).
TEST_F(RobustnessTest, AStoreDamagedWhileServingAnswersA500WithoutItsPath) {
    ASSERT_EQ(http_get(port(), "/catalog/records/" + kRecord).status, 200) << "the record's document is read from the store";
    const auto rename = [](const char* from, const char* to) {
        GDALAllRegister();
        GDALDatasetH ds = GDALOpenEx(store_.c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE, nullptr, nullptr, nullptr);
        ASSERT_NE(ds, nullptr);
        const std::string sql = std::string("ALTER TABLE ideo_catalog_records RENAME COLUMN ") + from + " TO " + to;
        GDALDatasetReleaseResultSet(ds, GDALDatasetExecuteSQL(ds, sql.c_str(), nullptr, nullptr));
        GDALClose(ds);
    };
    rename("original", "lost");
    const HttpResponse r = http_get(port(), "/catalog/records/" + kRecord);
    rename("lost", "original");
    ASSERT_EQ(r.status, 500) << r.body;
    const std::string id = r.headers.at("x-request-id");
    EXPECT_EQ(r.body, "{\"code\":\"internal_error\",\"description\":\"internal error, request id " + id + "\"}");
    EXPECT_EQ(r.body.find("ideo.gpkg"), std::string::npos);
    EXPECT_EQ(r.body.find("ideo_catalog_records"), std::string::npos) << "nor the store's tables";
    const std::string log = server_->err();
    const auto at = log.find("request " + id);
    ASSERT_NE(at, std::string::npos) << log;
    EXPECT_NE(log.substr(at, log.find('\n', at) - at).find(store_), std::string::npos) << "the log names the store";
    EXPECT_EQ(http_get(port(), "/catalog/records/" + kRecord).status, 200) << "repaired, the same request answers again";
}
