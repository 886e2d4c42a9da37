#pragma once
// MapLibre glyph ranges (GET /fonts/{fontstack}/{start}-{end}.pbf) from the fonts of a folder:
// signed distance fields by FreeType's SDF renderer at the 24 px em with the 3 px border MapLibre
// expects, encoded on protozero (glyphs.proto), made on first request per font and range and kept,
// gzip-compressed once, in a byte-bounded cache.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ideo/tiles/cache.hpp"

namespace ideo::tiles {

// What every glyph PBF of the Mapbox/MapLibre ecosystem assumes: a 24 px em, a 3 px border, ranges of 256.
inline constexpr int kGlyphEmPx = 24;
inline constexpr int kGlyphBorderPx = 3;
inline constexpr std::uint32_t kGlyphRangeSize = 256;

struct FontFace {
    std::string name;  // family and style ("DejaVu Sans Book"): what a style's text-font names
    std::filesystem::path file;
    long index = 0;    // the face in a font collection
    std::string etag;  // from the file's size and time: changes when the font package does
};

// The glyph PBF of one font's codepoints [start, start + 255]; empty when the font has none there.
// Throws Error when FreeType cannot open the font.
std::string encode_glyph_range(const FontFace& face, std::uint32_t start);

class GlyphLibrary {
public:
    // Every TrueType/OpenType face below `dir`, by name; the first file (in path order) wins a name.
    explicit GlyphLibrary(const std::filesystem::path& dir, std::size_t cache_bytes = 64u << 20);

    // The first font of a comma-separated stack ("Noto Sans Regular,DejaVu Sans Book") held here, or null.
    const FontFace* resolve(std::string_view fontstack) const;
    const std::vector<FontFace>& fonts() const { return fonts_; }

    // encode_glyph_range, cached per font and range; gzip-compressed once a client accepts it.
    std::shared_ptr<const CachedTile> range(const FontFace& face, std::uint32_t start, bool gzip);

private:
    std::vector<FontFace> fonts_;
    TileCache cache_;
};

// The library of a folder, scanned once per process (fonts come with the system, not with the data).
GlyphLibrary& glyph_library(const std::filesystem::path& dir);

}  // namespace ideo::tiles
