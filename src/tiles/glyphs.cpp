#include "ideo/tiles/glyphs.hpp"

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_MODULE_H

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>

#include <protozero/pbf_writer.hpp>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"

#if FREETYPE_MAJOR < 2 || (FREETYPE_MAJOR == 2 && FREETYPE_MINOR < 11)
#error "FreeType 2.11 or later is needed for FT_RENDER_MODE_SDF"
#endif

namespace ideo::tiles {
namespace {

// glyphs.proto field numbers.
enum : protozero::pbf_tag_type {
    kGlyphsStacks = 1,
    kStackName = 1, kStackRange = 2, kStackGlyphs = 3,
    kGlyphId = 1, kGlyphBitmap = 2, kGlyphWidth = 3, kGlyphHeight = 4, kGlyphLeft = 5, kGlyphTop = 6, kGlyphAdvance = 7,
};

// MapLibre reads a glyph's SDF as 255 - 255 * (outside distance / 8 px + 0.25): the edge at 191.25.
constexpr double kEdgeValue = 191.25;
constexpr double kValuePerPx = 255.0 / 8;

// FreeType's SDF bytes are 128 + distance * 128 / spread (inside positive); MapLibre's scale differs.
std::uint8_t to_maplibre_sdf(std::uint8_t freetype, int spread) {
    const double px = (static_cast<double>(freetype) - 128.0) * spread / 128.0;
    return static_cast<std::uint8_t>(std::clamp(std::lround(kEdgeValue + px * kValuePerPx), 0L, 255L));
}

struct Library {
    FT_Library lib = nullptr;
    FT_Face face = nullptr;
    ~Library() {
        if (face) FT_Done_Face(face);
        if (lib) FT_Done_FreeType(lib);
    }
};

std::string file_etag(const std::filesystem::path& p) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(p, ec);
    const auto mtime = std::filesystem::last_write_time(p, ec);
    const auto ticks = std::chrono::duration_cast<std::chrono::seconds>(mtime.time_since_epoch()).count();
    // "s1": the encoding below; bump it when the glyphs it writes change.
    return "\"g" + std::to_string(ticks) + "-" + std::to_string(size) + "-s1\"";
}

}  // namespace

std::string encode_glyph_range(const FontFace& font, std::uint32_t start) {
    Library ft;
    if (FT_Init_FreeType(&ft.lib)) throw Error("FreeType cannot start");
    // The PBF keeps a 3 px border: a wider spread would only cost time (5 times, measured).
    FT_Int spread = kGlyphBorderPx;
    FT_Property_Set(ft.lib, "sdf", "spread", &spread);
    if (FT_New_Face(ft.lib, font.file.c_str(), font.index, &ft.face))
        throw Error("font '" + font.name + "': FreeType cannot open " + font.file.string());
    FT_Set_Char_Size(ft.face, 0, kGlyphEmPx * 64, 0, 0);
    const long ascender = std::lround(ft.face->size->metrics.ascender / 64.0);

    std::string out, bitmap;
    std::size_t glyphs = 0;
    {
        protozero::pbf_writer root(out);
        protozero::pbf_writer stack(root, kGlyphsStacks);
        stack.add_string(kStackName, font.name);
        stack.add_string(kStackRange, std::to_string(start) + "-" + std::to_string(start + kGlyphRangeSize - 1));
        for (std::uint32_t cp = start; cp < start + kGlyphRangeSize; ++cp) {
            const FT_UInt index = FT_Get_Char_Index(ft.face, cp);
            if (index == 0) continue;
            // Unhinted outlines: hinting snaps to the pixel grid of one size, SDFs are drawn at many.
            if (FT_Load_Glyph(ft.face, index, FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP)) continue;
            const FT_GlyphSlot slot = ft.face->glyph;
            std::uint32_t width = 0, height = 0;
            std::int32_t left = 0, top = 0;
            bitmap.clear();
            if (slot->format == FT_GLYPH_FORMAT_OUTLINE && slot->outline.n_points > 0) {
                if (FT_Render_Glyph(slot, FT_RENDER_MODE_SDF)) continue;
                const FT_Bitmap& bm = slot->bitmap;
                if (bm.width < 2u * kGlyphBorderPx || bm.rows < 2u * kGlyphBorderPx) continue;
                // FreeType pads the glyph's box by the spread on every side: that padding is the border.
                width = bm.width - 2 * kGlyphBorderPx;
                height = bm.rows - 2 * kGlyphBorderPx;
                left = slot->bitmap_left + kGlyphBorderPx;
                // Tops are measured from the ascender, as fontnik writes them and MapLibre lays them out.
                top = static_cast<std::int32_t>(slot->bitmap_top - kGlyphBorderPx - ascender);
                bitmap.resize(static_cast<std::size_t>(bm.width) * bm.rows);
                for (unsigned y = 0; y < bm.rows; ++y) {
                    const unsigned char* row = bm.buffer + static_cast<std::ptrdiff_t>(y) * bm.pitch;
                    for (unsigned x = 0; x < bm.width; ++x)
                        bitmap[static_cast<std::size_t>(y) * bm.width + x] = static_cast<char>(to_maplibre_sdf(row[x], spread));
                }
            }
            protozero::pbf_writer glyph(stack, kStackGlyphs);
            glyph.add_uint32(kGlyphId, cp);
            if (!bitmap.empty()) glyph.add_bytes(kGlyphBitmap, bitmap);
            glyph.add_uint32(kGlyphWidth, width);
            glyph.add_uint32(kGlyphHeight, height);
            glyph.add_sint32(kGlyphLeft, left);
            glyph.add_sint32(kGlyphTop, top);
            glyph.add_uint32(kGlyphAdvance, static_cast<std::uint32_t>(std::max(0L, std::lround(slot->metrics.horiAdvance / 64.0))));
            ++glyphs;
        }
    }
    if (glyphs == 0) out.clear();
    return out;
}

GlyphLibrary::GlyphLibrary(const std::filesystem::path& dir, std::size_t cache_bytes) : cache_(cache_bytes) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec)) {
        std::string ext = it->path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
        if (it->is_regular_file() && (ext == ".ttf" || ext == ".otf" || ext == ".ttc")) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    Library ft;
    if (FT_Init_FreeType(&ft.lib)) throw Error("FreeType cannot start");
    for (const auto& file : files) {
        long faces = 1;
        for (long i = 0; i < faces; ++i) {
            FT_Face face = nullptr;
            if (FT_New_Face(ft.lib, file.c_str(), i, &face)) break;  // not a font FreeType reads: skipped
            faces = face->num_faces;
            if (face->family_name && FT_IS_SCALABLE(face)) {
                FontFace f;
                f.name = face->family_name;
                if (face->style_name) f.name += std::string(" ") + face->style_name;
                f.file = file;
                f.index = i;
                f.etag = file_etag(file);
                if (!resolve(f.name)) fonts_.push_back(std::move(f));
            }
            FT_Done_Face(face);
        }
    }
}

const FontFace* GlyphLibrary::resolve(std::string_view fontstack) const {
    std::size_t pos = 0;
    while (pos <= fontstack.size()) {
        std::size_t end = fontstack.find(',', pos);
        if (end == std::string_view::npos) end = fontstack.size();
        const std::string name = text::trim(fontstack.substr(pos, end - pos));
        for (const auto& f : fonts_)
            if (f.name == name) return &f;
        pos = end + 1;
    }
    return nullptr;
}

std::shared_ptr<const CachedTile> GlyphLibrary::range(const FontFace& face, std::uint32_t start, bool gzip) {
    return cache_.get_or_make(face.name + '\n' + std::to_string(start), gzip, [&] { return encode_glyph_range(face, start); });
}

GlyphLibrary& glyph_library(const std::filesystem::path& dir) {
    static std::mutex mutex;
    static std::map<std::filesystem::path, std::unique_ptr<GlyphLibrary>> libraries;
    std::lock_guard lock(mutex);
    auto& slot = libraries[dir];
    if (!slot) slot = std::make_unique<GlyphLibrary>(dir);
    return *slot;
}

}  // namespace ideo::tiles
