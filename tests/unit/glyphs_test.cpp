// Glyph ranges and the sprite, the two things a MapLibre style needs besides tiles: the SDF against
// FreeType's own rasterizer, the PNG read back by GDAL, the HTTP answers without a socket.
#include <gtest/gtest.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#include <cpl_vsi.h>
#include <gdal_priv.h>

#include <map>
#include <protozero/pbf_reader.hpp>

#include "../../src/server/services.hpp"
#include "ideo/server/server.hpp"
#include "ideo/tiles/glyphs.hpp"
#include "ideo/tiles/sprite.hpp"

using namespace ideo;

namespace {

const std::filesystem::path kDejaVu = "/usr/share/fonts/truetype/dejavu";

struct Glyph {
    std::uint32_t id = 0, width = 0, height = 0, advance = 0;
    std::int32_t left = 0, top = 0;
    std::string bitmap;
};

struct Stack {
    std::string name, range;
    std::map<std::uint32_t, Glyph> glyphs;
};

// glyphs.proto: glyphs { stacks = 1 { name = 1, range = 2, glyphs = 3 { id, bitmap, width, height, left, top, advance } } }
Stack decode(const std::string& pbf) {
    Stack s;
    protozero::pbf_reader root(pbf);
    EXPECT_TRUE(root.next(1));
    protozero::pbf_reader stack = root.get_message();
    while (stack.next()) {
        switch (stack.tag()) {
            case 1: s.name = stack.get_string(); break;
            case 2: s.range = stack.get_string(); break;
            case 3: {
                protozero::pbf_reader m = stack.get_message();
                Glyph g;
                while (m.next()) {
                    switch (m.tag()) {
                        case 1: g.id = m.get_uint32(); break;
                        case 2: g.bitmap = m.get_string(); break;
                        case 3: g.width = m.get_uint32(); break;
                        case 4: g.height = m.get_uint32(); break;
                        case 5: g.left = m.get_sint32(); break;
                        case 6: g.top = m.get_sint32(); break;
                        case 7: g.advance = m.get_uint32(); break;
                        default: m.skip();
                    }
                }
                s.glyphs[g.id] = g;
                break;
            }
            default: stack.skip();
        }
    }
    return s;
}

const tiles::FontFace& dejavu_book() {
    const auto* f = tiles::glyph_library(kDejaVu).resolve("DejaVu Sans Book");
    if (!f) throw std::runtime_error("fonts-dejavu-core is not installed (scripts/install-deps)");
    return *f;
}

server::Response get(const std::string& target, server::Headers headers = {}) {
    static server::ServerOptions options;
    return server::handle_request("GET", target, std::move(headers), "", nullptr, &options);
}

}  // namespace

TEST(Glyphs, AStackResolvesToItsFirstFontThisServerHolds) {
    auto& library = tiles::glyph_library(kDejaVu);
    ASSERT_NE(library.resolve("DejaVu Sans Bold"), nullptr);
    EXPECT_EQ(library.resolve("Noto Sans Regular,DejaVu Sans Bold, DejaVu Sans Book")->name, "DejaVu Sans Bold");
    EXPECT_EQ(library.resolve("Comic Sans MS"), nullptr);
    EXPECT_EQ(library.resolve(""), nullptr);
}

// The SDF's inside (>= 192, MapLibre's edge) is where FreeType's own rasterizer covers the pixel,
// at the place the glyph's left and top say: the scale, the sign and the offsets are right.
TEST(Glyphs, SdfInsideIsWhereFreeTypeRasterizesTheGlyph) {
    const auto& font = dejavu_book();
    const Stack stack = decode(tiles::encode_glyph_range(font, 0));
    EXPECT_EQ(stack.name, "DejaVu Sans Book");
    EXPECT_EQ(stack.range, "0-255");

    FT_Library lib;
    ASSERT_EQ(FT_Init_FreeType(&lib), 0);
    FT_Face face;
    ASSERT_EQ(FT_New_Face(lib, font.file.c_str(), 0, &face), 0);
    FT_Set_Char_Size(face, 0, 24 * 64, 0, 0);
    const int ascender = static_cast<int>(face->size->metrics.ascender / 64);
    for (const std::uint32_t cp : {u'A', u'g', u'É', u'%', u'ç'}) {
        SCOPED_TRACE(cp);
        const auto it = stack.glyphs.find(cp);
        ASSERT_NE(it, stack.glyphs.end());
        const Glyph& g = it->second;
        const int w = static_cast<int>(g.width) + 6, h = static_cast<int>(g.height) + 6;
        ASSERT_EQ(g.bitmap.size(), static_cast<std::size_t>(w * h));
        ASSERT_EQ(FT_Load_Char(face, cp, FT_LOAD_NO_HINTING | FT_LOAD_RENDER), 0);
        const FT_Bitmap& bm = face->glyph->bitmap;
        EXPECT_EQ(static_cast<std::uint32_t>(face->glyph->advance.x + 32) / 64, g.advance);
        int agree = 0, clear = 0;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                // The same pixel in the rasterized bitmap: both are placed from the pen and the baseline.
                const int rx = x - 3 + g.left - face->glyph->bitmap_left;
                const int ry = y - 3 - (g.top + ascender) + face->glyph->bitmap_top;
                const int coverage = rx >= 0 && ry >= 0 && rx < static_cast<int>(bm.width) && ry < static_cast<int>(bm.rows)
                                         ? bm.buffer[ry * bm.pitch + rx] : 0;
                if (coverage > 64 && coverage < 192) continue;  // edge pixels: either side is right
                ++clear;
                const bool inside = static_cast<unsigned char>(g.bitmap[static_cast<std::size_t>(y * w + x)]) >= 192;
                agree += inside == (coverage >= 192);
            }
        EXPECT_GT(clear, 100);
        // Thin strokes (a cedilla's tail) may differ on a pixel or two; a shifted or rescaled SDF by far more.
        EXPECT_GE(agree, clear * 0.99) << agree << " of " << clear << " pixels agree";
    }
    // A space has an advance and no bitmap.
    ASSERT_TRUE(stack.glyphs.count(' '));
    EXPECT_EQ(stack.glyphs.at(' ').width, 0u);
    EXPECT_TRUE(stack.glyphs.at(' ').bitmap.empty());
    EXPECT_GT(stack.glyphs.at(' ').advance, 4u);
    FT_Done_Face(face);
    FT_Done_FreeType(lib);
}

TEST(Glyphs, ARangeTheFontDoesNotCoverIsEmpty) {
    EXPECT_TRUE(tiles::encode_glyph_range(dejavu_book(), 0x4E00).empty()) << "CJK ideographs";
    EXPECT_FALSE(tiles::encode_glyph_range(dejavu_book(), 0x100).empty()) << "Latin Extended-A: œ, Ÿ";
}

TEST(GlyphsHttp, AnswersRangesWithEtagAnd204And404NamingTheParameter) {
    const auto ok = get("/fonts/Noto%20Sans%20Regular,DejaVu%20Sans%20Book/0-255.pbf", {{"accept-encoding", "gzip"}});
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ok.content_type, "application/x-protobuf");
    std::map<std::string, std::string> headers(ok.headers.begin(), ok.headers.end());
    EXPECT_EQ(headers["Content-Encoding"], "gzip");
    ASSERT_FALSE(headers["ETag"].empty());
    EXPECT_NE(headers["Cache-Control"].find("max-age"), std::string::npos);
    EXPECT_EQ(get("/fonts/DejaVu%20Sans%20Book/0-255.pbf", {{"if-none-match", headers["ETag"]}}).status, 304);
    EXPECT_EQ(get("/fonts/DejaVu%20Sans%20Book/19968-20223.pbf").status, 204);

    const auto unknown = get("/fonts/Comic%20Sans/0-255.pbf");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_NE(unknown.body.find("fontstack: "), std::string::npos) << unknown.body;
    for (const char* range : {"0-256.pbf", "1-256.pbf", "65536-65791.pbf", "a-b.pbf", "0-255.png", "0255.pbf"}) {
        const auto bad = get(std::string("/fonts/DejaVu%20Sans%20Book/") + range);
        EXPECT_EQ(bad.status, 404) << range;
        EXPECT_NE(bad.body.find("range: "), std::string::npos) << bad.body;
    }
}

// The hatch read back by GDAL's PNG driver: the right size, lines and gaps, seamless when repeated.
TEST(Sprite, HatchPngDecodesAndRepeatsWithoutASeam) {
    GDALAllRegister();
    for (const int ratio : {1, 2}) {
        SCOPED_TRACE(ratio);
        const auto* sheet = tiles::sprite_sheet("ideo", ratio);
        ASSERT_NE(sheet, nullptr);
        const std::string n = std::to_string(16 * ratio);
        EXPECT_NE(sheet->json.find("\"hatch\":{\"x\":0,\"y\":0,\"width\":" + n + ",\"height\":" + n +
                                   ",\"pixelRatio\":" + std::to_string(ratio) + "}"),
                  std::string::npos)
            << sheet->json;
        const std::string path = "/vsimem/sprite_" + std::to_string(ratio) + ".png";
        VSIFCloseL(VSIFileFromMemBuffer(path.c_str(), reinterpret_cast<GByte*>(const_cast<char*>(sheet->png.data())),
                                        sheet->png.size(), FALSE));
        GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
        ASSERT_TRUE(ds);
        const int size = 16 * ratio;
        ASSERT_EQ(ds->GetRasterXSize(), size);
        ASSERT_EQ(ds->GetRasterYSize(), size);
        ASSERT_EQ(ds->GetRasterCount(), 4);
        std::vector<GByte> red(size * size), alpha(size * size);
        ASSERT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, size, size, red.data(), size, size, GDT_Byte, 0, 0), CE_None);
        ASSERT_EQ(ds->GetRasterBand(4)->RasterIO(GF_Read, 0, 0, size, size, alpha.data(), size, size, GDT_Byte, 0, 0), CE_None);
        ds.reset();
        VSIUnlink(path.c_str());
        int opaque = 0, clear = 0;
        for (int y = 0; y < size; ++y)
            for (int x = 0; x < size; ++x) {
                const GByte a = alpha[y * size + x];
                opaque += a > 200;
                clear += a == 0;
                if (a > 0) EXPECT_EQ(red[y * size + x], 0xd7);
                // Lines every 8 CSS pixels along x + y: half a tile further is the same pixel.
                EXPECT_EQ(a, alpha[y * size + (x + size / 2) % size]);
                EXPECT_EQ(a, alpha[((y + size / 2) % size) * size + x]);
            }
        EXPECT_GT(opaque, size * size / 10);
        EXPECT_GT(clear, size * size / 3);
    }
    EXPECT_EQ(tiles::sprite_sheet("maki", 1), nullptr);
    EXPECT_EQ(tiles::sprite_sheet("ideo", 3), nullptr);
}

TEST(SpriteHttp, ServesJsonAndPngAt1xAnd2xAnd404ForOthers) {
    const auto json = get("/styles/sprites/ideo@2x.json");
    ASSERT_EQ(json.status, 200);
    EXPECT_EQ(json.content_type, "application/json");
    EXPECT_NE(json.body.find("\"pixelRatio\":2"), std::string::npos);
    const auto png = get("/styles/sprites/ideo.png");
    ASSERT_EQ(png.status, 200);
    EXPECT_EQ(png.content_type, "image/png");
    EXPECT_EQ(png.body.substr(1, 3), "PNG");
    for (const char* bad : {"/styles/sprites/maki.json", "/styles/sprites/ideo.gif", "/styles/sprites/ideo@3x.png"}) {
        const auto r = get(bad);
        EXPECT_EQ(r.status, 404) << bad;
        EXPECT_NE(r.body.find("sprite: "), std::string::npos) << r.body;
    }
}
