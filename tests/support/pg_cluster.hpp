#pragma once
// A throwaway PostgreSQL + PostGIS cluster for the tests of the PostGIS store: initdb into a temporary
// folder, the server listening only on a Unix socket in that folder (listen_addresses=''), stopped and
// removed at the end. As root (CI) the server runs as user postgres, since initdb refuses root.
// PostgreSQL missing is an error naming what to run (scripts/install-deps), never a silent skip.
#include <filesystem>
#include <memory>
#include <string>

#include "test_support.hpp"

namespace ideo::test {

class PgCluster {
public:
    PgCluster();   // throws std::runtime_error naming the command that failed and its log
    ~PgCluster();  // stops the server (only in the process that started it: forked children leave it)
    PgCluster(const PgCluster&) = delete;
    PgCluster& operator=(const PgCluster&) = delete;

    // A new empty database with the postgis extension (copied from a template made once): its name.
    std::string new_database();
    // A new database without postgis: the store must create the extension itself.
    std::string new_bare_database();
    // The store URI of a database: "PG:host=... port=... user=postgres dbname=...".
    std::string uri(const std::string& database) const;
    // Runs `sql` in `database`; the first column of the first row as text ("" when none). Throws on failure.
    std::string query(const std::string& database, const std::string& sql) const;

private:
    std::string conninfo(const std::string& database) const;
    TempDir dir_;
    unsigned short port_ = 0;
    int owner_pid_ = 0;
    int databases_ = 0;
    bool running_ = false;
};

// The cluster of this test process, started on first use and stopped when the process exits.
PgCluster& pg_cluster();

}  // namespace ideo::test
