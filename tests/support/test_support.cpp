#include "test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ideo::test {

namespace fs = std::filesystem;

fs::path source_dir() { return fs::path(IDEO_SOURCE_DIR); }

fs::path shared_dir() {
    if (const char* s = std::getenv("IDEO_SHARED")) return fs::path(s);
    return source_dir() / ".." / "shared";
}

fs::path data(const std::string& relative) { return shared_dir() / "data" / relative; }
fs::path layers_dir() { return source_dir() / "layers"; }

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TempDir::TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("ideo-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

unsigned short free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok) throw std::runtime_error("cannot find a free port");
    return ntohs(a.sin_port);
}

namespace {

// fork/exec with stdout and stderr to files; returns the pid.
int spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env, const fs::path& out,
          const fs::path& err) {
    const int pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
        FILE* o = std::freopen(out.c_str(), "w", stdout);
        FILE* e = std::freopen(err.c_str(), "w", stderr);
        (void)o;
        (void)e;
        std::vector<char*> argv;
        std::string bin = IDEO_BINARY;
        argv.push_back(bin.data());
        std::vector<std::string> copy = args;
        for (auto& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(bin.c_str(), argv.data());
        std::_Exit(127);
    }
    return pid;
}

}  // namespace

CommandResult run_ideo(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
    TempDir tmp;
    const int pid = spawn(args, env, tmp / "out", tmp / "err");
    int status = 0;
    ::waitpid(pid, &status, 0);
    CommandResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    r.out = read_file(tmp / "out");
    r.err = read_file(tmp / "err");
    return r;
}

std::string import_files(const std::string& store, const std::vector<std::pair<std::string, std::string>>& imports) {
    for (const auto& [layer, file] : imports) {
        const CommandResult r = run_ideo({"import", layer, file, "--store", store});
        if (r.exit_code != 0)
            return "ideo import " + layer + " " + file + " exited " + std::to_string(r.exit_code) + ": " + r.err;
    }
    return "";
}

ServerProcess::ServerProcess(const std::vector<std::string>& extra_args, const std::map<std::string, std::string>& env) {
    std::vector<std::string> args{"serve", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    log_ = fs::temp_directory_path() / ("ideo-serve-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    pid_ = spawn(args, env, log_.string() + ".out", log_.string() + ".err");
    const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 600 && port_ == 0; ++i) {  // up to 60 s: loading a snapshot takes a moment
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        std::smatch m;
        std::string out;
        try {
            out = read_file(log_.string() + ".out");
        } catch (...) {
        }
        if (std::regex_search(out, m, listening)) port_ = static_cast<unsigned short>(std::stoi(m[1]));
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("ideo serve exited early: " + read_file(log_.string() + ".err"));
        }
    }
    if (port_ == 0) throw std::runtime_error("ideo serve did not report its port");
}

std::string ServerProcess::err() const { return read_file(log_.string() + ".err"); }

ServerProcess::~ServerProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 50; ++i) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    std::error_code ec;
    fs::remove(log_.string() + ".out", ec);
    fs::remove(log_.string() + ".err", ec);
}

bool ServerProcess::alive() const { return pid_ > 0 && ::kill(pid_, 0) == 0; }


HttpResponse http_get(unsigned short port, const std::string& target, const std::map<std::string, std::string>& headers) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    boost::asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(512 * 1024 * 1024);
    http::read(stream, buffer, parser);
    const auto& res = parser.get();
    HttpResponse r;
    r.status = res.result_int();
    for (const auto& h : res) {
        std::string name(h.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = std::string(h.value());
    }
    r.body = res.body();
    beast::error_code ec;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    return r;
}

long number_matched(unsigned short port, const std::string& layer) {
    const auto r = http_get(port, "/collections/" + layer + "/items?limit=1");
    if (r.status != 200) return -1;
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    return !d.HasParseError() && d.IsObject() && d.HasMember("numberMatched") ? d["numberMatched"].GetInt64() : -1;
}

std::string start_server(ServerProcess*& server, const std::vector<std::string>& extra_args,
                         const std::map<std::string, std::string>& env) {
    try {
        server = new ServerProcess(extra_args, env);
        return {};
    } catch (const std::exception& e) {
        return e.what();
    }
}

CreatedKey create_key(const std::string& store, std::vector<std::string> args) {
    args.insert(args.begin(), {"keys", "create"});
    args.insert(args.end(), {"--store", store});
    const auto r = run_ideo(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto id = r.out.find("id: "), key = r.out.find("key: ");
    if (id == std::string::npos || key == std::string::npos) return {};
    return {r.out.substr(id + 4, r.out.find('\n', id) - id - 4), r.out.substr(key + 5, r.out.find('\n', key) - key - 5)};
}

std::map<std::string, std::string> admin_authorization(const std::string& store) {
    return {{"Authorization", "Bearer " + create_key(store, {"--org", "IDEO tests", "--role", "admin"}).key}};
}

}  // namespace ideo::test
