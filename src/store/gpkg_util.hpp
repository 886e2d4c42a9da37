#pragma once
// Small GDAL/SQLite helpers shared by the GeoPackage store's files (private to store/).
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <string>
#include <string_view>

namespace ideo::store::gpkg {

// An ExecuteSQL result set, released with its dataset.
class ResultSet {
public:
    ResultSet(GDALDataset& ds, OGRLayer* layer) : ds_(ds), layer_(layer) {}
    ~ResultSet() {
        if (layer_) ds_.ReleaseResultSet(layer_);
    }
    ResultSet(const ResultSet&) = delete;
    ResultSet& operator=(const ResultSet&) = delete;
    explicit operator bool() const { return layer_ != nullptr; }
    OGRLayer* operator->() const { return layer_; }
    OGRLayer& operator*() const { return *layer_; }

private:
    GDALDataset& ds_;
    OGRLayer* layer_;
};

// SQL quoting by doubling the quote character: 'text' for literals, "name" for identifiers.
inline std::string quoted(std::string_view s, char quote) {
    std::string out(1, quote);
    for (char c : s) {
        if (c == quote) out += quote;
        out += c;
    }
    return out + quote;
}
inline std::string sql_literal(std::string_view s) { return quoted(s, '\''); }
inline std::string sql_identifier(std::string_view s) { return quoted(s, '"'); }

}  // namespace ideo::store::gpkg

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "ideo/core/error.hpp"

namespace ideo::store::gpkg {

struct DatasetCloser {
    void operator()(GDALDataset* ds) const { GDALClose(ds); }
};
using Dataset = std::unique_ptr<GDALDataset, DatasetCloser>;

// Throws an Error naming the store file, what failed, and GDAL's last message. On a nearly full
// filesystem it says so: SQLite's own message need not (a WAL store whose -shm file cannot be created
// reads as "presumably read-only").
[[noreturn]] inline void fail(const std::filesystem::path& path, const std::string& what) {
    std::string msg = path.string() + ": " + what;
    if (CPLGetLastErrorType() >= CE_Warning && *CPLGetLastErrorMsg()) msg += ": " + std::string(CPLGetLastErrorMsg());
    std::error_code ec;
    const auto space = std::filesystem::space(path.has_parent_path() ? path.parent_path() : ".", ec);
    if (!ec && space.available < (std::uintmax_t{1} << 20))
        msg += " (the filesystem of the store is full: " + std::to_string(space.available / 1024) + " KiB free)";
    throw Error(msg);
}

inline Dataset open_dataset(const std::filesystem::path& path, bool update) {
    static const char* const drivers[] = {"GPKG", nullptr};
    CPLErrorReset();
    auto* ds = GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | (update ? GDAL_OF_UPDATE : GDAL_OF_READONLY), drivers,
                                 nullptr, nullptr);
    if (!ds) fail(path, "cannot open the GeoPackage store");
    return Dataset(ds);
}

// A bookkeeping column: its name and OGR type.
struct Column {
    const char* name;
    OGRFieldType type = OFTString;
};

// A table without geometry, created on first use; columns added since are added to older stores.
inline OGRLayer* attribute_table(GDALDataset& ds, const std::filesystem::path& path, const char* name,
                                 const std::vector<Column>& columns) {
    OGRLayer* t = ds.GetLayerByName(name);
    CPLErrorReset();
    if (!t && !(t = ds.CreateLayer(name, nullptr, wkbNone, nullptr))) fail(path, std::string("table ") + name + ": cannot create it");
    for (const Column& c : columns) {
        if (t->GetLayerDefn()->GetFieldIndex(c.name) >= 0) continue;
        OGRFieldDefn defn(c.name, c.type);
        if (t->CreateField(&defn) != OGRERR_NONE) fail(path, std::string("table ") + name + ": cannot add column " + c.name);
    }
    return t;
}

inline void exec(GDALDataset& ds, const std::filesystem::path& path, const std::string& sql, const std::string& what) {
    CPLErrorReset();
    ResultSet rs(ds, ds.ExecuteSQL(sql.c_str(), nullptr, nullptr));
    if (CPLGetLastErrorType() >= CE_Failure) fail(path, what);
}

}  // namespace ideo::store::gpkg
