#pragma once
// libpq plumbing of the PostGIS store (private to store/): a pool of connections, one leased per call
// (libpq connections are not shared between threads), statements that throw an Error naming the store,
// transactions that roll back unless committed, and binary COPY for bulk writes.
#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ideo::store::pg {

struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// SQL quoting: "name" for identifiers; {"a","b"} for a text[] parameter.
std::string identifier(std::string_view name);
std::string text_array(const std::vector<std::string>& values);

// Idle connections of one database, reused by the calls of a Store and of the readers it hands out.
class Pool {
public:
    // `conninfo`: what follows "PG:" (keyword=value pairs or a postgresql:// URI). Throws when unparsable.
    explicit Pool(const std::string& conninfo);
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    // "PG:dbname=ideo host=db": the settings without the password, for messages.
    const std::string& name() const { return name_; }
    PGconn* take();  // an idle connection or a new one; throws naming the store when the server is unreachable
    void give(PGconn* conn);

private:
    std::string conninfo_, name_;
    std::mutex mutex_;
    std::vector<PGconn*> idle_;
};

// One connection leased from the pool for the length of a call.
class Session {
public:
    explicit Session(std::shared_ptr<Pool> pool);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    PGconn* conn() const { return conn_; }
    const std::string& name() const { return pool_->name(); }
    // Runs `sql` (text parameters $1..., NULL for nullopt); results in binary when asked. Throws on failure.
    Result exec(const std::string& sql, const std::string& what, const std::vector<std::optional<std::string>>& params = {},
                bool binary = false);
    // Throws an Error naming the store, what failed and the server's message.
    [[noreturn]] void fail(const std::string& what, const PGresult* result = nullptr) const;
    // The columns of a table (name unquoted, as created); empty when there is no such table.
    std::vector<std::string> columns(const std::string& table);
    // A string literal for statements that take no parameters (DDL).
    std::string literal(std::string_view s) const;

private:
    std::shared_ptr<Pool> pool_;
    PGconn* conn_;
    bool used_ = false;  // a statement ran on this lease: a lost connection is no longer retried
};

// BEGIN now, ROLLBACK at the end of the scope unless committed.
class Transaction {
public:
    explicit Transaction(Session& s);
    ~Transaction();
    void commit();

private:
    Session& s_;
    bool open_ = true;
};

// COPY table (columns) FROM STDIN in PostgreSQL's binary format: no text formatting or parsing of
// numbers, dates and geometries (EWKB) on either side. Abandoned (the COPY fails) unless finished.
class CopyIn {
public:
    CopyIn(Session& s, const std::string& table, const std::vector<std::string>& columns, std::string what);
    ~CopyIn();
    CopyIn(const CopyIn&) = delete;
    CopyIn& operator=(const CopyIn&) = delete;

    void row(std::size_t fields);
    void null();
    void text(std::string_view s) { bytes(s); }
    void bytes(std::string_view s);
    void int8(std::int64_t v);
    void int4(std::int32_t v);
    void float8(double v);
    void boolean(bool v);
    void date(std::int32_t days_since_2000);
    void finish();

private:
    void flush();
    Session& s_;
    std::string what_, buffer_;
    bool finished_ = false;
};

// Network byte order readers of binary results.
std::int64_t read_int8(const char* p);
std::int32_t read_int4(const char* p);
double read_float8(const char* p);

// Days since 2000-01-01 (PostgreSQL's date epoch) of a valid calendar date, and back.
std::optional<std::int32_t> date_days(int y, int m, int d);
std::string date_text(std::int32_t days);

}  // namespace ideo::store::pg
