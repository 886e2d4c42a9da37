#pragma once
// Shared helpers of the test suites: where the corpus is, temporary folders, running the real
// `ideo` binary, and a real HTTP client over loopback.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ideo::test {

std::filesystem::path source_dir();  // the project root
std::filesystem::path shared_dir();  // ../shared beside it (or $IDEO_SHARED)
std::filesystem::path data(const std::string& relative);  // shared_dir()/data/relative
std::filesystem::path layers_dir();  // source_dir()/layers
std::string read_file(const std::filesystem::path& p);

// A loopback TCP port nobody listens on right now (bound and released: a server started next takes it).
unsigned short free_port();

// A fresh folder under the system temp dir, removed with its content at the end of the scope.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

struct CommandResult {
    int exit_code = -1;  // -N when killed by signal N
    std::string out, err;
};

// Runs the ideo binary built with the tests, with the given arguments and extra environment.
CommandResult run_ideo(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

// Runs `ideo import LAYER FILE --store STORE` for each pair in order; "" when all succeeded,
// else the first failure (command, exit code, stderr) for the fixture to report.
std::string import_files(const std::string& store, const std::vector<std::pair<std::string, std::string>>& imports);

// `ideo serve` started on a free loopback port; stopped (SIGTERM, then SIGKILL) at the end of the scope.
class ServerProcess {
public:
    explicit ServerProcess(const std::vector<std::string>& extra_args, const std::map<std::string, std::string>& env = {});
    ~ServerProcess();
    unsigned short port() const { return port_; }
    bool alive() const;
    std::string err() const;  // what it wrote to stderr so far

private:
    int pid_ = -1;
    unsigned short port_ = 0;
    std::filesystem::path log_;
};

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

// Starts `ideo serve` with `extra_args` into `server`: "" once it listens, else why not (a suite's setup error).
std::string start_server(ServerProcess*& server, const std::vector<std::string>& extra_args,
                         const std::map<std::string, std::string>& env = {});

// A real HTTP/1.1 GET over loopback (Boost.Beast client); throws on connection failure.
HttpResponse http_get(unsigned short port, const std::string& target,
                      const std::map<std::string, std::string>& headers = {});

struct CreatedKey {
    std::string id, key;
};
// `ideo keys create ARGS --store STORE`: the id and the key it prints once (empty, with a test failure, when
// the command fails).
CreatedKey create_key(const std::string& store, std::vector<std::string> args);
// The Authorization header of an admin key made for `store` (a caller every layer's policy serves in full).
std::map<std::string, std::string> admin_authorization(const std::string& store);

// numberMatched of /collections/{layer}/items on the server at `port` (-1 when the answer is not a 200 with it).
long number_matched(unsigned short port, const std::string& layer);

}  // namespace ideo::test
