#pragma once
// Opening partner files with GDAL/OGR: the format quirks (zipped Shapefiles, spreadsheets read as text,
// CSV encodings), and the records as text cells plus the native geometry.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include "ideo/core/layer.hpp"

namespace ideo::ingest {

// One record of the partner file, as read: every column as trimmed text (null when empty).
struct RawRecord {
    std::size_t row = 0;  // 1-based position in the file
    std::vector<std::optional<std::string>> cells;
    std::unique_ptr<OGRGeometry> geometry;  // native geometry (GeoJSON, Shapefile, GeoPackage, CSV "WKT"), if any
};

// Keeps GDAL quiet for the scope (messages are kept as the last error, for our own reports).
class QuietGdal {
public:
    QuietGdal();
    ~QuietGdal();
    QuietGdal(const QuietGdal&) = delete;
    QuietGdal& operator=(const QuietGdal&) = delete;
};

class PartnerFile {
public:
    // Opens `path` as `source` says (layer or sheet, declared encoding); throws InputError naming the file.
    PartnerFile(const std::string& path, const SourceSpec& source);
    ~PartnerFile();
    PartnerFile(const PartnerFile&) = delete;
    PartnerFile& operator=(const PartnerFile&) = delete;

    const std::vector<std::string>& columns() const { return columns_; }
    bool has_geometry() const;
    std::string crs() const;  // the CRS the file declares ("EPSG:2154"), "" when none
    std::vector<std::string> notes() const { return notes_; }  // file-level remarks (encoding converted...)

    // Every record, in file order; throws InputError when the file is damaged half-way.
    std::vector<RawRecord> read_all();

    // The record as a JSON object {column: text|null, ..., "geometry": WKT}, for the quarantine.
    std::string record_json(const RawRecord& r) const;

private:
    std::string path_;
    std::string bytes_;    // CSV content handed to GDAL through /vsimem/
    std::string vsimem_;   // that in-memory file, removed on destruction
    std::vector<std::pair<std::string, std::string>> saved_config_;  // thread-local config options to restore
    GDALDatasetUniquePtr dataset_;
    OGRLayer* layer_ = nullptr;
    std::vector<std::string> columns_;  // the layer's fields, then its named FID column if any
    bool fid_column_ = false;
    std::vector<std::string> notes_;
};

}  // namespace ideo::ingest
