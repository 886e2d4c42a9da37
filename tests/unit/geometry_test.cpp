// GeoJSON coordinates: the digits printf's %.*f gives, trailing zeros trimmed, whatever path writes them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "ideo/core/geometry.hpp"

namespace {

// printf's digits with the trailing zeros (and a bare point) removed: what append_geojson promises.
std::string printf_digits(double v, int decimals) {
    char buf[400];
    std::string s(buf, static_cast<std::size_t>(std::snprintf(buf, sizeof buf, "%.*f", decimals, v)));
    if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
    }
    return s;
}

std::string point_json(double x, double y, int decimals) {
    std::string out;
    ideo::append_geojson(out, ideo::Geometry::point(x, y), decimals);
    return out;
}

}  // namespace

TEST(GeoJsonNumbers, CoordinatesAreTheDigitsOfPrintf) {
    std::mt19937_64 rng(2154);
    std::uniform_real_distribution<double> lon(-180, 180), metres(-1e6, 7e6);
    std::vector<std::pair<double, int>> values;
    for (int i = 0; i < 200000; ++i) {
        values.emplace_back(lon(rng), 7);
        values.emplace_back(std::round(lon(rng) * 1e7) / 1e7, 7);  // already on 7 decimals, as stored coordinates are
        values.emplace_back(metres(rng), 2);
    }
    // Ties and near-ties at the last decimal, signs of values that round to zero, round numbers, huge values.
    for (const double v : {0.125, 0.375, 2.5e-8, 1.5e-7, -4e-8, -0.0, 0.0, -1e-300, 5.0, 10.0, 100.0, 47.1, -0.05,
                           0.00000005, 0.000000050000001, 852311.275, 852311.265, 1e13, -3.5e15, 1e300})
        for (const int d : {2, 7}) values.emplace_back(v, d);
    for (const auto& [v, d] : values) {
        const std::string expected = "[" + printf_digits(v, d) + "," + printf_digits(-v, d) + "]";
        const std::string json = point_json(v, -v, d);
        ASSERT_NE(json.find(expected), std::string::npos) << v << " at " << d << " decimals: " << json;
    }
}
