#pragma once
// The CRSs the API serves (OGC API Features Part 2), and conversions between CRS84 and each,
// so server/ reprojects without seeing PROJ or GDAL.
#include <string>
#include <string_view>
#include <vector>

namespace ideo::ingest {

struct ServedCrs {
    std::string uri;          // "http://www.opengis.net/def/crs/EPSG/0/2154"
    std::string key;          // "EPSG:2154", what PROJ reads
    bool geographic = false;  // degrees: 7 decimals; metres: 2
    bool lat_lon = false;     // EPSG:4326 puts latitude first, as the standard requires
    int decimals() const { return geographic ? 7 : 2; }
};

// CRS84 first (the storage CRS), then EPSG:4326, 2154, 3857 and the CC zones 3942..3950.
const std::vector<ServedCrs>& served_crs();
const ServedCrs& crs84();
// By URI, or by "EPSG:2154"/"OGC:CRS84"/"[EPSG:2154]"; null when not served.
const ServedCrs* find_served_crs(std::string_view name);

// Converts positions between CRS84 and one served CRS (in its own axis order). Holds this
// thread's cached PROJ transformation: use it on the thread that made it. Throws ideo::Error.
class CrsConverter {
public:
    explicit CrsConverter(const ServedCrs& crs);
    const ServedCrs& crs() const { return *crs_; }
    bool identity() const { return mode_ == Mode::Identity; }
    void from_crs84(double& x, double& y) const;
    void to_crs84(double& x, double& y) const;

private:
    enum class Mode { Identity, Swap, Project };
    const ServedCrs* crs_;
    Mode mode_ = Mode::Identity;
    void* forward_ = nullptr;  // OGRCoordinateTransformation, CRS84 -> crs
    void* inverse_ = nullptr;
};

}  // namespace ideo::ingest
