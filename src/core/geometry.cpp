#include "ideo/core/geometry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "ideo/core/error.hpp"

namespace ideo {
namespace {

// A little cursor over ISO WKB; every read is bounds-checked so a damaged blob throws, never overreads.
struct WkbReader {
    std::string_view b;
    size_t pos = 0;
    bool little = true;

    void need(size_t n) const {
        if (pos + n > b.size()) throw Error("truncated WKB geometry");
    }
    std::uint8_t u8() {
        need(1);
        return static_cast<std::uint8_t>(b[pos++]);
    }
    std::uint32_t u32() {
        need(4);
        std::uint32_t v;
        std::memcpy(&v, b.data() + pos, 4);
        pos += 4;
        if (!little) v = __builtin_bswap32(v);
        return v;
    }
    double f64() {
        need(8);
        std::uint64_t v;
        std::memcpy(&v, b.data() + pos, 8);
        pos += 8;
        if (!little) v = __builtin_bswap64(v);
        double d;
        std::memcpy(&d, &v, 8);
        return d;
    }
};

// Coordinates (|v| * 10^decimals below 2^42, not within 1e-3 of a rounding tie) as the digits of the
// rounded integer: the product errs by less than 5e-4, so the rounding is printf's; to_chars otherwise.
bool append_fixed_fast(std::string& out, double v, int decimals) {
    static constexpr double kScale[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    static constexpr std::uint64_t kDiv[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};
    if (decimals < 0 || decimals > 9 || !std::isfinite(v)) return false;
    const double scaled = std::fabs(v) * kScale[decimals];
    if (scaled >= 4398046511104.0) return false;  // 2^42
    const double whole = std::floor(scaled), fraction = scaled - whole;
    if (std::fabs(fraction - 0.5) < 1e-3) return false;
    const std::uint64_t n = static_cast<std::uint64_t>(whole) + (fraction > 0.5 ? 1 : 0);
    const std::uint64_t div = kDiv[decimals], integer = n / div;
    std::uint64_t frac = n % div;
    char buf[32];
    char* p = std::to_chars(buf, buf + sizeof buf, integer).ptr;
    int digits = decimals;
    while (digits > 0 && frac % 10 == 0) {  // trailing zeros dropped: 5.1000000 -> 5.1, 3.0000000 -> 3
        frac /= 10;
        --digits;
    }
    if (digits > 0) {
        *p++ = '.';
        for (int i = digits - 1; i >= 0; --i, frac /= 10) p[i] = static_cast<char>('0' + frac % 10);
        p += digits;
    }
    if (std::signbit(v)) out += '-';  // printf keeps the sign of a negative that rounds to zero
    out.append(buf, p);
    return true;
}

void append_number(std::string& out, double v, int decimals) {
    if (append_fixed_fast(out, v, decimals)) return;
    char buf[400];  // the longest double in fixed notation has 309 digits before the point
    // to_chars writes what printf's %.*f writes, minus printf's overhead.
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
    int n = r.ec == std::errc() ? static_cast<int>(r.ptr - buf)
                                : std::min<int>(std::snprintf(buf, sizeof buf, "%.*f", decimals, v), sizeof buf - 1);
    // trim trailing zeros: 5.1000000 -> 5.1, 3.0000000 -> 3
    while (n > 1 && buf[n - 1] == '0') --n;
    if (n > 1 && buf[n - 1] == '.') --n;
    out.append(buf, static_cast<size_t>(n));
}

// Writes WKB as GeoJSON coordinates or WKT text, each position through the optional transform.
struct Writer {
    std::string& out;
    int decimals;
    const PositionTransform* transform;
    bool wkt;

    void open() { out += wkt ? '(' : '['; }
    void close() { out += wkt ? ')' : ']'; }
    void separator() { out += wkt ? ", " : ","; }

    // `bracketed`: a position alone (GeoJSON always; WKT in POINT and MULTIPOINT) rather than in a sequence.
    void point(WkbReader& r, int dims, bool bracketed) {
        double x = r.f64(), y = r.f64();
        for (int k = 2; k < dims; ++k) r.f64();  // Z/M dropped: the API serves 2D
        if (transform && *transform) (*transform)(x, y);
        if (bracketed || !wkt) open();
        append_number(out, x, decimals);
        out += wkt ? ' ' : ',';
        append_number(out, y, decimals);
        if (bracketed || !wkt) close();
    }

    void points(WkbReader& r, int dims) {
        const std::uint32_t n = r.u32();
        r.need(static_cast<size_t>(n) * 8 * dims);
        open();
        for (std::uint32_t i = 0; i < n; ++i) {
            if (i) separator();
            point(r, dims, false);
        }
        close();
    }

    void rings(WkbReader& r, int dims) {
        const std::uint32_t n = r.u32();
        open();
        for (std::uint32_t i = 0; i < n; ++i) {
            if (i) separator();
            points(r, dims);
        }
        close();
    }

    void geometry(WkbReader& r, int depth) {
        if (depth > 4) throw Error("WKB nesting too deep");
        r.little = r.u8() == 1;
        std::uint32_t type = r.u32();
        int dims = 2;
        if (type & 0x80000000u) dims++;  // EWKB-style Z flag
        if (type & 0x40000000u) dims++;
        type &= 0x0FFFFFFFu;
        if (type >= 3000) { dims = 4; type -= 3000; }
        else if (type >= 2000) { dims = 3; type -= 2000; }
        else if (type >= 1000) { dims = 3; type -= 1000; }
        static const char* names[] = {"", "Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
                                      "GeometryCollection"};
        static const char* wkt_names[] = {"", "POINT ", "LINESTRING ", "POLYGON ", "MULTIPOINT ", "MULTILINESTRING ",
                                          "MULTIPOLYGON ", "GEOMETRYCOLLECTION "};
        if (type < 1 || type > 7) throw Error("unsupported WKB geometry type " + std::to_string(type));
        if (wkt) {
            out += wkt_names[type];
        } else {
            out += "{\"type\":\"";
            out += names[type];
            out += type == 7 ? "\",\"geometries\":" : "\",\"coordinates\":";
        }
        switch (type) {
            case 1: point(r, dims, true); break;
            case 2: points(r, dims); break;
            case 3: rings(r, dims); break;
            case 4:
            case 5:
            case 6: {
                const std::uint32_t n = r.u32();
                open();
                for (std::uint32_t i = 0; i < n; ++i) {
                    if (i) separator();
                    r.little = r.u8() == 1;
                    r.u32();
                    if (type == 4) point(r, dims, true);
                    else if (type == 5) points(r, dims);
                    else rings(r, dims);
                }
                close();
                break;
            }
            case 7: {
                const std::uint32_t n = r.u32();
                open();
                for (std::uint32_t i = 0; i < n; ++i) {
                    if (i) separator();
                    geometry(r, depth + 1);
                }
                close();
                break;
            }
        }
        if (!wkt) out += '}';
    }
};

}  // namespace

bool Geometry::is_point() const {
    if (wkb.size() != 21) return false;
    WkbReader r{wkb};
    r.little = r.u8() == 1;
    return r.u32() == 1;
}

Geometry Geometry::point(double lon, double lat) {
    Geometry g;
    g.wkb.resize(21);
    g.wkb[0] = 1;
    const std::uint32_t t = 1;
    std::memcpy(g.wkb.data() + 1, &t, 4);
    std::memcpy(g.wkb.data() + 5, &lon, 8);
    std::memcpy(g.wkb.data() + 13, &lat, 8);
    g.envelope.expand(lon, lat);
    return g;
}

void append_geojson(std::string& out, const Geometry& g, int decimals) { append_geojson(out, g, decimals, {}); }

void append_geojson(std::string& out, const Geometry& g, int decimals, const PositionTransform& transform) {
    if (g.empty()) {
        out += "null";
        return;
    }
    WkbReader r{g.wkb};
    Writer{out, decimals, &transform, false}.geometry(r, 0);
}

void append_wkt(std::string& out, const Geometry& g, int decimals, const PositionTransform& transform) {
    if (g.empty()) return;
    WkbReader r{g.wkb};
    Writer{out, decimals, &transform, true}.geometry(r, 0);
}

}  // namespace ideo
