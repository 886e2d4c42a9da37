#include "ideo/index/crs.hpp"

#include <cmath>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <ogr_spatialref.h>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"

namespace ideo::crs {

std::unique_ptr<OGRSpatialReference> make_srs(const std::string& crs) {
    CPLErrorHandlerPusher quiet(CPLQuietErrorHandler);  // the exception carries the message
    auto srs = std::make_unique<OGRSpatialReference>();
    if (crs.empty() || srs->SetFromUserInput(crs.c_str()) != OGRERR_NONE)
        throw InputError("unknown CRS \"" + crs + "\"");
    srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

std::string key_of(const OGRSpatialReference& srs) {
    const char* name = srs.GetAuthorityName(nullptr);
    const char* code = srs.GetAuthorityCode(nullptr);
    if (name && code) return std::string(name) + ":" + code;
    OGRSpatialReference copy(srs);
    if (copy.AutoIdentifyEPSG() == OGRERR_NONE) {
        name = copy.GetAuthorityName(nullptr);
        code = copy.GetAuthorityCode(nullptr);
        if (name && code) return std::string(name) + ":" + code;
    }
    char* wkt = nullptr;
    const char* const options[] = {"FORMAT=WKT2_2019", nullptr};
    srs.exportToWkt(&wkt, options);
    std::string out = wkt ? wkt : "";
    CPLFree(wkt);
    return out;
}

bool is_wgs84(const std::string& crs) {
    return crs == "EPSG:4326" || crs == "OGC:CRS84" || crs == "CRS84" || crs == "WGS84";
}

bool is_geographic(const std::string& crs) {
    if (is_wgs84(crs)) return true;
    thread_local std::map<std::string, bool> cache;
    if (auto it = cache.find(crs); it != cache.end()) return it->second;
    const bool geographic = make_srs(crs)->IsGeographic() != 0;
    cache.emplace(crs, geographic);
    return geographic;
}

OGRCoordinateTransformation& transformation(const std::string& from, const std::string& to) {
    using Owned = std::unique_ptr<OGRCoordinateTransformation, void (*)(OGRCoordinateTransformation*)>;
    thread_local std::map<std::pair<std::string, std::string>, Owned> cache;
    auto key = std::make_pair(from, to);
    if (auto it = cache.find(key); it != cache.end()) return *it->second;
    // Creating a transformation reads PROJ's database (12 to 30 ms); cloning one takes 0.2 ms. So each pair
    // is created once per process, under a lock (a PROJ object is read by one thread at a time, cloning
    // included), and cloned for each thread. The originals are never destroyed: PROJ may be torn down
    // before static destructors run.
    static std::mutex mutex;
    static auto* originals = new std::map<std::pair<std::string, std::string>, OGRCoordinateTransformation*>();
    OGRCoordinateTransformation* clone = nullptr;
    {
        std::lock_guard lock(mutex);
        auto it = originals->find(key);
        if (it == originals->end()) {
            const auto src = make_srs(from);
            const auto dst = make_srs(to);
            CPLErrorHandlerPusher quiet(CPLQuietErrorHandler);
            OGRCoordinateTransformation* ct = OGRCreateCoordinateTransformation(src.get(), dst.get());
            if (!ct) throw InputError("no transformation from " + from + " to " + to + ": " + CPLGetLastErrorMsg());
            it = originals->emplace(key, ct).first;
        }
        clone = it->second->Clone();
    }
    if (!clone) throw Error("cannot copy the transformation from " + from + " to " + to);
    auto [it, _] = cache.emplace(std::move(key), Owned(clone, [](OGRCoordinateTransformation* p) {
                                     OGRCoordinateTransformation::DestroyCT(p);
                                 }));
    return *it->second;
}

std::optional<std::string> hint_from_title(std::string_view title) {
    const std::string key = text::fold_key(title);
    std::vector<std::string> tokens;
    for (size_t b = 0; b <= key.size();) {
        const size_t e = std::min(key.find('_', b), key.size());
        tokens.push_back(key.substr(b, e - b));
        b = e + 1;
    }
    for (size_t i = 0; i < tokens.size(); ++i) {
        const std::string& t = tokens[i];
        const std::string next = i + 1 < tokens.size() ? tokens[i + 1] : "";
        if (t.size() == 4 && t.starts_with("cc") && t[2] >= '4' && t[2] <= '5') {
            const int zone = std::stoi(t.substr(2));
            if (zone >= 42 && zone <= 50) return "EPSG:" + std::to_string(3900 + zone);
        }
        if (t == "cc" && next.size() == 2 && next >= "42" && next <= "50") return "EPSG:39" + next;
        if (t == "l93" || t == "lambert93" || t == "lamb93" || t == "rgf93" || t == "2154") return std::string(kLambert93);
        if ((t == "lambert" || t == "l") && next == "93") return std::string(kLambert93);
        if (t == "wgs84" || t == "gps") return std::string(kWgs84);
    }
    return std::nullopt;
}

}  // namespace ideo::crs
