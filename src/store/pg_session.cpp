#include "pg_session.hpp"

#include <bit>
#include <cstring>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"

namespace ideo::store::pg {
namespace {

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

// The connection settings as keyword=value pairs, every one but the password (it never reaches a message or a log).
std::string redacted(const std::string& conninfo) {
    char* err = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
    if (!options) {
        const std::string why = err ? trimmed(err) : "out of memory";
        PQfreemem(err);
        throw Error("PG:...: invalid PostgreSQL connection string: " + why);
    }
    std::string out = "PG:";
    for (const PQconninfoOption* o = options; o->keyword; ++o) {
        if (!o->val || std::strcmp(o->keyword, "password") == 0) continue;
        if (out.size() > 3) out += ' ';
        out += std::string(o->keyword) + "=" + o->val;
    }
    PQconninfoFree(options);
    return out;
}

void ignore_notice(void*, const char*) {}  // "relation already exists, skipping" is the point of IF NOT EXISTS

template <class T>
T big_endian(T v) {
    if constexpr (std::endian::native == std::endian::little) {
        unsigned char b[sizeof v];
        std::memcpy(b, &v, sizeof v);
        for (std::size_t i = 0; i < sizeof v / 2; ++i) std::swap(b[i], b[sizeof v - 1 - i]);
        std::memcpy(&v, b, sizeof v);
    }
    return v;
}

template <class T>
void append(std::string& out, T v) {
    v = big_endian(v);
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

}  // namespace

std::string identifier(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + '"';
}

std::string text_array(const std::vector<std::string>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        out += '"';
        for (char c : values[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

Pool::Pool(const std::string& conninfo) : conninfo_(conninfo), name_(redacted(conninfo)) {}

Pool::~Pool() {
    for (PGconn* c : idle_) PQfinish(c);
}

PGconn* Pool::take() {
    {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            PGconn* c = idle_.back();
            idle_.pop_back();
            return c;
        }
    }
    // connect_timeout first: a setting of the connection string (expanded from dbname) overrides it.
    const char* keys[] = {"connect_timeout", "dbname", "fallback_application_name", "client_encoding", nullptr};
    const char* values[] = {"10", conninfo_.c_str(), "ideo", "UTF8", nullptr};
    PGconn* c = PQconnectdbParams(keys, values, 1);
    if (!c) throw Error(name_ + ": cannot connect: out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
        const std::string why = trimmed(PQerrorMessage(c));
        PQfinish(c);
        throw Error(name_ + ": cannot connect to the PostGIS store: " + why);
    }
    PQsetNoticeProcessor(c, ignore_notice, nullptr);
    return c;
}

void Pool::give(PGconn* conn) {
    // Only a healthy connection outside any transaction goes back; a broken one is closed.
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE) {
        std::lock_guard lock(mutex_);
        if (idle_.size() < 16) {
            idle_.push_back(conn);
            return;
        }
    }
    PQfinish(conn);
}

Session::Session(std::shared_ptr<Pool> pool) : pool_(std::move(pool)), conn_(pool_->take()) {}

Session::~Session() { pool_->give(conn_); }

void Session::fail(const std::string& what, const PGresult* result) const {
    std::string why = trimmed(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
    if (why.empty()) why = trimmed(PQerrorMessage(conn_));
    throw Error(name() + ": " + what + (why.empty() ? "" : ": " + why));
}

Result Session::exec(const std::string& sql, const std::string& what, const std::vector<std::optional<std::string>>& params,
                     bool binary) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    const auto run = [&] {
        // Without parameters, the simple query protocol: it takes several statements (the DDL scripts).
        return Result(params.empty() && !binary ? PQexec(conn_, sql.c_str())
                                                : PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                                               values.data(), nullptr, nullptr, binary ? 1 : 0));
    };
    Result r = run();
    // An idle pooled connection the server dropped (restart, failover, idle timeout): reconnect once and run
    // again, unless this lease already ran statements (a transaction would be half gone).
    if (!used_ && PQstatus(conn_) == CONNECTION_BAD) {
        PQreset(conn_);
        if (PQstatus(conn_) == CONNECTION_OK) {
            PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
            r = run();
        }
    }
    used_ = true;
    const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(what, r.get());
    return r;
}

std::vector<std::string> Session::columns(const std::string& table) {
    const Result r = exec("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 "
                          "AND NOT attisdropped ORDER BY attnum",
                          "cannot read the columns of table " + table, {identifier(table)});
    std::vector<std::string> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.emplace_back(PQgetvalue(r.get(), i, 0));
    return out;
}

std::string Session::literal(std::string_view s) const {
    char* quoted = PQescapeLiteral(conn_, s.data(), s.size());
    if (!quoted) fail("cannot quote a literal");
    std::string out(quoted);
    PQfreemem(quoted);
    return out;
}

Transaction::Transaction(Session& s) : s_(s) { s_.exec("BEGIN", "cannot start a transaction"); }

Transaction::~Transaction() {
    if (!open_) return;
    // A failed COPY or statement: ROLLBACK; a lost connection: the server rolls back itself.
    Result r(PQexec(s_.conn(), "ROLLBACK"));
}

void Transaction::commit() {
    s_.exec("COMMIT", "cannot commit");
    open_ = false;
}

CopyIn::CopyIn(Session& s, const std::string& table, const std::vector<std::string>& columns, std::string what)
    : s_(s), what_(std::move(what)) {
    std::string sql = "COPY " + identifier(table) + " (";
    for (std::size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + identifier(columns[i]);
    sql += ") FROM STDIN (FORMAT binary)";
    Result r(PQexec(s_.conn(), sql.c_str()));
    if (!r || PQresultStatus(r.get()) != PGRES_COPY_IN) s_.fail(what_, r.get());
    buffer_.append("PGCOPY\n\377\r\n\0", 11);
    append<std::int32_t>(buffer_, 0);  // flags
    append<std::int32_t>(buffer_, 0);  // header extension length
}

CopyIn::~CopyIn() {
    if (finished_) return;
    // Abandoned (an exception on the way): end the COPY with an error so the transaction can roll back.
    PQputCopyEnd(s_.conn(), "publish abandoned");
    while (PGresult* r = PQgetResult(s_.conn())) PQclear(r);
}

void CopyIn::flush() {
    if (PQputCopyData(s_.conn(), buffer_.data(), static_cast<int>(buffer_.size())) != 1) s_.fail(what_);
    buffer_.clear();
}

void CopyIn::row(std::size_t fields) {
    if (buffer_.size() >= (1u << 20)) flush();
    append<std::int16_t>(buffer_, static_cast<std::int16_t>(fields));
}

void CopyIn::null() { append<std::int32_t>(buffer_, -1); }

void CopyIn::bytes(std::string_view s) {
    append<std::int32_t>(buffer_, static_cast<std::int32_t>(s.size()));
    buffer_.append(s);
}

void CopyIn::int8(std::int64_t v) {
    append<std::int32_t>(buffer_, 8);
    append<std::int64_t>(buffer_, v);
}

void CopyIn::int4(std::int32_t v) {
    append<std::int32_t>(buffer_, 4);
    append<std::int32_t>(buffer_, v);
}

void CopyIn::float8(double v) {
    append<std::int32_t>(buffer_, 8);
    append<std::uint64_t>(buffer_, std::bit_cast<std::uint64_t>(v));
}

void CopyIn::boolean(bool v) {
    append<std::int32_t>(buffer_, 1);
    buffer_ += v ? '\1' : '\0';
}

void CopyIn::date(std::int32_t days) { int4(days); }

void CopyIn::finish() {
    append<std::int16_t>(buffer_, -1);  // trailer
    flush();
    finished_ = true;
    if (PQputCopyEnd(s_.conn(), nullptr) != 1) s_.fail(what_);
    Result last;
    while (PGresult* r = PQgetResult(s_.conn())) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !last) last.reset(r);
        else PQclear(r);
    }
    if (last) s_.fail(what_, last.get());
}

std::int64_t read_int8(const char* p) {
    std::int64_t v;
    std::memcpy(&v, p, 8);
    return big_endian(v);
}

std::int32_t read_int4(const char* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return big_endian(v);
}

double read_float8(const char* p) { return std::bit_cast<double>(static_cast<std::uint64_t>(read_int8(p))); }

namespace {
// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian), shifted to PostgreSQL's 2000-01-01 epoch.
constexpr std::int32_t kEpoch2000 = 10957;  // days from 1970-01-01 to 2000-01-01
}  // namespace

std::optional<std::int32_t> date_days(int y, int m, int d) {
    static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m < 1 || m > 12 || d < 1 || d > month_days[m - 1] + (m == 2 && leap ? 1 : 0)) return std::nullopt;
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + static_cast<unsigned>(d) - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int>(doe) - 719468 - kEpoch2000;
}

std::string date_text(std::int32_t days) {
    const int z = days + kEpoch2000 + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    const int y = static_cast<int>(yoe) + era * 400 + (m <= 2);
    return text::iso_date(y, m, d);
}

}  // namespace ideo::store::pg
