#include "ideo/ingest/served_crs.hpp"

#include <cmath>

#include <ogr_spatialref.h>

#include "ideo/core/error.hpp"
#include "ideo/index/crs.hpp"

namespace ideo::ingest {

const std::vector<ServedCrs>& served_crs() {
    static const std::vector<ServedCrs> list = [] {
        std::vector<ServedCrs> v{{"http://www.opengis.net/def/crs/OGC/1.3/CRS84", "OGC:CRS84", true, false},
                                 {"http://www.opengis.net/def/crs/EPSG/0/4326", "EPSG:4326", true, true},
                                 {"http://www.opengis.net/def/crs/EPSG/0/2154", "EPSG:2154", false, false},
                                 {"http://www.opengis.net/def/crs/EPSG/0/3857", "EPSG:3857", false, false}};
        for (int code = 3942; code <= 3950; ++code)
            v.push_back({"http://www.opengis.net/def/crs/EPSG/0/" + std::to_string(code), "EPSG:" + std::to_string(code),
                         false, false});
        return v;
    }();
    return list;
}

const ServedCrs& crs84() { return served_crs().front(); }

const ServedCrs* find_served_crs(std::string_view name) {
    if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
    if (name == "CRS84" || name == "http://www.opengis.net/def/crs/OGC/1.3/CRS84" || name == "OGC:CRS84")
        return &served_crs().front();
    for (const auto& c : served_crs())
        if (name == c.uri || name == c.key) return &c;
    return nullptr;
}

CrsConverter::CrsConverter(const ServedCrs& c) : crs_(&c) {
    if (c.key == "OGC:CRS84") {
        mode_ = Mode::Identity;
    } else if (c.key == "EPSG:4326") {
        mode_ = Mode::Swap;
    } else {
        mode_ = Mode::Project;
        // crs::make_srs reads EPSG:4326 in lon/lat order: that is CRS84.
        forward_ = &crs::transformation(crs::kWgs84, c.key);
        inverse_ = &crs::transformation(c.key, crs::kWgs84);
    }
}

namespace {
void run(void* ct, double& x, double& y, const ServedCrs& c, const char* direction) {
    double tx = x, ty = y;
    if (!static_cast<OGRCoordinateTransformation*>(ct)->Transform(1, &tx, &ty) || !std::isfinite(tx) || !std::isfinite(ty))
        throw Error("cannot transform (" + std::to_string(x) + ", " + std::to_string(y) + ") " + direction + " " + c.key);
    x = tx;
    y = ty;
}
}  // namespace

void CrsConverter::from_crs84(double& x, double& y) const {
    if (mode_ == Mode::Swap) std::swap(x, y);
    else if (mode_ == Mode::Project) run(forward_, x, y, *crs_, "to");
}

void CrsConverter::to_crs84(double& x, double& y) const {
    if (mode_ == Mode::Swap) std::swap(x, y);
    else if (mode_ == Mode::Project) run(inverse_, x, y, *crs_, "from");
}

}  // namespace ideo::ingest
