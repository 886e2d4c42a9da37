#include "ideo/tiles/sprite.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ideo/core/error.hpp"

namespace ideo::tiles {
namespace {

struct Image {
    int width = 0, height = 0;  // in pixels of the sheet's ratio
    std::vector<std::uint8_t> rgba;
};

// Coverage gaps: diagonal red lines (#d7191c, the styles' "unavailable" red) on transparency.
// 16 px square with lines every 8 px along x + y, so that the pattern repeats without a seam.
Image hatch(int ratio) {
    constexpr int kSize = 16, kPeriod = 8;
    constexpr double kHalfWidth = 0.9;  // in CSS pixels: lines about 2 px wide
    Image img;
    img.width = img.height = kSize * ratio;
    img.rgba.resize(static_cast<std::size_t>(img.width) * img.height * 4);
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x) {
            // Distance from the pixel's centre to the nearest line x + y = k * period, in CSS pixels.
            const double s = std::fmod((x + 0.5 + y + 0.5) / ratio, kPeriod);
            const double d = std::min(s, kPeriod - s) / std::sqrt(2.0);
            const double coverage = std::clamp((kHalfWidth - d) * ratio + 0.5, 0.0, 1.0);  // one device pixel of anti-aliasing
            std::uint8_t* p = &img.rgba[(static_cast<std::size_t>(y) * img.width + x) * 4];
            p[0] = 0xd7, p[1] = 0x19, p[2] = 0x1c;
            p[3] = static_cast<std::uint8_t>(std::lround(coverage * 230));
        }
    return img;
}

void append_u32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

void append_chunk(std::string& out, const char* type, const std::string& data) {
    append_u32(out, static_cast<std::uint32_t>(data.size()));
    const std::size_t start = out.size();
    out.append(type, 4);
    out += data;
    const auto crc = crc32(0, reinterpret_cast<const Bytef*>(out.data() + start), static_cast<uInt>(out.size() - start));
    append_u32(out, static_cast<std::uint32_t>(crc));
}

// PNG (RFC 2083): 8-bit RGBA, every row with filter 0, one zlib-deflated IDAT.
std::string encode_png(const Image& img) {
    std::string raw;
    raw.reserve(static_cast<std::size_t>(img.width * 4 + 1) * img.height);
    for (int y = 0; y < img.height; ++y) {
        raw += '\0';
        raw.append(reinterpret_cast<const char*>(&img.rgba[static_cast<std::size_t>(y) * img.width * 4]), img.width * 4);
    }
    std::string deflated(compressBound(static_cast<uLong>(raw.size())), '\0');
    uLongf size = static_cast<uLongf>(deflated.size());
    if (compress2(reinterpret_cast<Bytef*>(deflated.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
                  static_cast<uLong>(raw.size()), Z_BEST_COMPRESSION) != Z_OK)
        throw Error("sprite: zlib could not compress the image");
    deflated.resize(size);
    std::string header;
    append_u32(header, static_cast<std::uint32_t>(img.width));
    append_u32(header, static_cast<std::uint32_t>(img.height));
    header += std::string("\x08\x06\x00\x00\x00", 5);  // bit depth 8, RGBA, deflate, filter 0, no interlace
    std::string png("\x89PNG\r\n\x1a\n", 8);
    append_chunk(png, "IHDR", header);
    append_chunk(png, "IDAT", deflated);
    append_chunk(png, "IEND", {});
    return png;
}

// Images side by side in one sheet, with their places in the sprite's JSON index.
SpriteSheet make_sheet(const std::vector<std::pair<std::string, Image>>& images, int ratio) {
    Image sheet;
    for (const auto& [name, img] : images) {
        sheet.width += img.width;
        sheet.height = std::max(sheet.height, img.height);
    }
    sheet.rgba.assign(static_cast<std::size_t>(sheet.width) * sheet.height * 4, 0);
    SpriteSheet out;
    out.json = "{";
    int x = 0;
    for (const auto& [name, img] : images) {
        for (int y = 0; y < img.height; ++y)
            std::copy_n(&img.rgba[static_cast<std::size_t>(y) * img.width * 4], img.width * 4,
                        &sheet.rgba[(static_cast<std::size_t>(y) * sheet.width + x) * 4]);
        if (out.json.size() > 1) out.json += ',';
        out.json += "\"" + name + "\":{\"x\":" + std::to_string(x) + ",\"y\":0,\"width\":" + std::to_string(img.width) +
                    ",\"height\":" + std::to_string(img.height) + ",\"pixelRatio\":" + std::to_string(ratio) + "}";
        x += img.width;
    }
    out.json += "}";
    out.png = encode_png(sheet);
    return out;
}

}  // namespace

const SpriteSheet* sprite_sheet(std::string_view name, int pixel_ratio) {
    if (name != "ideo") return nullptr;
    static const SpriteSheet one = make_sheet({{"hatch", hatch(1)}}, 1);
    static const SpriteSheet two = make_sheet({{"hatch", hatch(2)}}, 2);
    return pixel_ratio == 1 ? &one : pixel_ratio == 2 ? &two : nullptr;
}

}  // namespace ideo::tiles
