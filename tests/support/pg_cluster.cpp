#include "pg_cluster.hpp"

#include "test_support.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace ideo::test {

namespace fs = std::filesystem;

namespace {

fs::path server_bin() {
    const char* env = std::getenv("IDEO_PG_BIN");
    return env ? fs::path(env) : fs::path("/usr/lib/postgresql/15/bin");
}

// `command` as the server's user: postgres when we are root (initdb and postgres refuse root).
void run(const std::string& command, const fs::path& log) {
    const std::string as = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
    const std::string full = as + command + " >>" + log.string() + " 2>&1";
    if (std::system(full.c_str()) != 0) {
        std::string out;
        try {
            out = read_file(log);
        } catch (...) {
        }
        throw std::runtime_error("PostgreSQL test cluster: `" + full + "` failed:\n" + out);
    }
}

}  // namespace

PgCluster::PgCluster() : owner_pid_(::getpid()) {
    const fs::path bin = server_bin();
    if (!fs::exists(bin / "initdb") || !fs::exists(bin / "pg_ctl"))
        throw std::runtime_error("PostgreSQL server binaries not found in " + bin.string() +
                                 " (scripts/install-deps installs postgresql and postgresql-15-postgis-3; "
                                 "IDEO_PG_BIN names another folder)");
    const fs::path log = dir_ / "server.log";
    if (::geteuid() == 0 && std::system(("chown postgres " + dir_.path().string()).c_str()) != 0)
        throw std::runtime_error("cannot hand " + dir_.path().string() + " to user postgres");
    port_ = free_port();  // names the socket file (.s.PGSQL.PORT); the server opens no TCP port itself
    run((bin / "initdb").string() + " -D " + (dir_ / "data").string() + " -A trust -U postgres -E UTF8 --locale=C --no-sync",
        log);
    // fsync off: a throwaway cluster; the tests kill clients, never the server.
    run((bin / "pg_ctl").string() + " -D " + (dir_ / "data").string() + " -l " + (dir_ / "postgres.log").string() +
            " -w -o \"-k " + dir_.path().string() + " -p " + std::to_string(port_) +
            " -c listen_addresses='' -c fsync=off -c max_connections=200\" start",
        log);
    running_ = true;
    query("postgres", "CREATE DATABASE ideo_template");
    query("ideo_template", "CREATE EXTENSION postgis");
}

PgCluster::~PgCluster() {
    if (!running_ || ::getpid() != owner_pid_) return;
    const std::string as = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
    const std::string stop = as + (server_bin() / "pg_ctl").string() + " -D " + (dir_ / "data").string() +
                             " -m immediate -w stop >/dev/null 2>&1";
    if (std::system(stop.c_str()) != 0) std::fprintf(stderr, "PostgreSQL test cluster: pg_ctl stop failed\n");
}

std::string PgCluster::conninfo(const std::string& database) const {
    return "host=" + dir_.path().string() + " port=" + std::to_string(port_) + " user=postgres dbname=" + database;
}

std::string PgCluster::uri(const std::string& database) const { return "PG:" + conninfo(database); }

std::string PgCluster::query(const std::string& database, const std::string& sql) const {
    const std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdb(conninfo(database).c_str()), PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK)
        throw std::runtime_error("cannot connect to the test cluster: " + std::string(PQerrorMessage(conn.get())));
    const std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(conn.get(), sql.c_str()), PQclear);
    const auto status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        throw std::runtime_error(sql + ": " + PQresultErrorMessage(r.get()));
    return status == PGRES_TUPLES_OK && PQntuples(r.get()) > 0 ? PQgetvalue(r.get(), 0, 0) : "";
}

std::string PgCluster::new_database() {
    const std::string name = "ideo_" + std::to_string(++databases_);
    query("postgres", "CREATE DATABASE " + name + " TEMPLATE ideo_template");
    return name;
}

std::string PgCluster::new_bare_database() {
    const std::string name = "ideo_bare_" + std::to_string(++databases_);
    query("postgres", "CREATE DATABASE " + name);
    return name;
}

PgCluster& pg_cluster() {
    static PgCluster cluster;
    return cluster;
}

}  // namespace ideo::test
