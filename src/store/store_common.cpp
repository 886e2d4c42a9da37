#include "store_common.hpp"

#include <ogr_geometry.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>

#include "ideo/core/error.hpp"

namespace ideo::store {

std::string join_flags(const std::vector<std::string>& flags) {
    std::string out;
    for (const auto& f : flags) {
        if (!out.empty()) out += ';';
        out += f;
    }
    return out;
}

std::vector<std::string> split_flags(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        const size_t semi = s.find(';');
        if (semi != 0) out.emplace_back(s.substr(0, semi));
        if (semi == std::string_view::npos) break;
        s.remove_prefix(semi + 1);
    }
    return out;
}

Geometry geometry_from_ogr(const OGRGeometry* geom) {
    Geometry g;
    if (!geom || geom->IsEmpty()) return g;
    if (wkbFlatten(geom->getGeometryType()) == wkbPoint) {
        const auto* p = geom->toPoint();
        return Geometry::point(p->getX(), p->getY());
    }
    std::unique_ptr<OGRGeometry> flat;
    if (geom->Is3D() || geom->IsMeasured()) {  // the store serves 2D
        flat.reset(geom->clone());
        flat->flattenTo2D();
        geom = flat.get();
    }
    g.wkb.resize(geom->WkbSize());
    geom->exportToWkb(wkbNDR, reinterpret_cast<unsigned char*>(g.wkb.data()), wkbVariantIso);
    OGREnvelope e;
    geom->getEnvelope(&e);
    g.envelope.expand(e.MinX, e.MinY);
    g.envelope.expand(e.MaxX, e.MaxY);
    return g;
}

Geometry geometry_from_wkb(std::string_view wkb) {
    // A little-endian 2D point, by far the most common stored geometry, without OGR.
    if (wkb.size() == 21 && wkb[0] == 1 && wkb[1] == 1 && wkb[2] == 0 && wkb[3] == 0 && wkb[4] == 0) {
        double lon, lat;
        std::memcpy(&lon, wkb.data() + 5, 8);
        std::memcpy(&lat, wkb.data() + 13, 8);
        if (std::isnan(lon) && std::isnan(lat)) return {};  // POINT EMPTY
        return Geometry::point(lon, lat);
    }
    OGRGeometry* raw = nullptr;
    if (OGRGeometryFactory::createFromWkb(wkb.data(), nullptr, &raw, wkb.size(), wkbVariantIso) != OGRERR_NONE) return {};
    const std::unique_ptr<OGRGeometry> geom(raw);
    return geometry_from_ogr(geom.get());
}

std::vector<Feature> sorted_by_id(std::vector<Feature> features) {
    std::vector<std::uint32_t> order(features.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return features[a].id < features[b].id; });
    std::vector<Feature> sorted;
    sorted.reserve(features.size());
    for (const auto i : order) sorted.push_back(std::move(features[i]));
    return sorted;
}

void inject_writer_fault(const PublishOptions& options, std::size_t written, const std::string& layer,
                         const std::string& store) {
    if (options.fail_after < 0 || written != static_cast<std::size_t>(options.fail_after)) return;
    if (options.abort_instead) std::abort();
    throw Error("injected writer failure after " + std::to_string(written) + " features of " + layer + " (" + store + ")");
}

}  // namespace ideo::store
