// What a MapLibre style needs besides its tiles: glyph ranges (GET /fonts/{fontstack}/{start}-{end}.pbf)
// for text labels, and the sprite (GET /styles/sprites/{name}[@2x].{json,png}) for fill patterns.
#include <charconv>
#include <functional>

#include "ideo/server/server.hpp"
#include "ideo/tiles/glyphs.hpp"
#include "ideo/tiles/sprite.hpp"
#include "services.hpp"

namespace ideo::server {
namespace {

// Debian's fonts-dejavu-core (scripts/install-deps): Latin, Greek and Cyrillic in 1 MB, every French letter.
constexpr const char* kDefaultFontsDir = "/usr/share/fonts/truetype/dejavu";
// Fonts and the sprite change with the system or the code, not with every publish.
constexpr const char* kCacheControl = "public, max-age=86400";

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

[[noreturn]] void bad_range(std::string_view text, const std::string& why) {
    throw HttpError(404, "NotFound", "range: " + why + ", got '" + std::string(text.substr(0, 40)) + "'");
}

// "0-255.pbf" -> 0: a range of 256 codepoints starting at a multiple of 256, as MapLibre asks for them.
std::uint32_t parse_range(std::string_view text) {
    if (!ends_with(text, ".pbf")) bad_range(text, "expected {start}-{end}.pbf");
    const std::string_view body = text.substr(0, text.size() - 4);
    const auto dash = body.find('-');
    if (dash == std::string_view::npos) bad_range(text, "expected {start}-{end}.pbf");
    std::uint32_t start = 0, end = 0;
    const auto a = std::from_chars(body.data(), body.data() + dash, start);
    const auto b = std::from_chars(body.data() + dash + 1, body.data() + body.size(), end);
    if (a.ec != std::errc() || a.ptr != body.data() + dash || b.ec != std::errc() || b.ptr != body.data() + body.size())
        bad_range(text, "expected two whole numbers {start}-{end}");
    if (start % tiles::kGlyphRangeSize != 0 || end != start + tiles::kGlyphRangeSize - 1 || end > 65535)
        bad_range(text, "ranges are 256 codepoints from a multiple of 256, up to 65535 (0-255, 256-511...)");
    return start;
}

}  // namespace

Response glyphs(const Request& req, const Route& r) {
    const std::uint32_t start = parse_range(r.tile_y);
    const std::filesystem::path dir = req.options && !req.options->fonts_dir.empty() ? req.options->fonts_dir : kDefaultFontsDir;
    auto& library = tiles::glyph_library(dir);
    const tiles::FontFace* face = library.resolve(r.tileset);
    if (!face) {
        std::string served;
        for (const auto& f : library.fonts()) served += (served.empty() ? "" : ", ") + f.name;
        throw HttpError(404, "NotFound", "fontstack: no font of '" + r.tileset.substr(0, 200) + "' is served here (fonts: " +
                                             (served.empty() ? "none in " + dir.string() : served) + ")");
    }
    const bool gzip_ok = accepts_gzip(req);
    const auto cached = library.range(*face, start, gzip_ok);
    return cached_response(*cached, gzip_ok, "application/x-protobuf", face->etag, kCacheControl);
}

Response sprite(const Request& req, const Route& r) {
    std::string_view file = r.tileset;
    const bool json = ends_with(file, ".json");
    if (!json && !ends_with(file, ".png"))
        throw HttpError(404, "NotFound", "sprite: expected {name}.json, {name}.png or their @2x, got '" + r.tileset.substr(0, 100) + "'");
    file.remove_suffix(json ? 5 : 4);
    const bool retina = ends_with(file, "@2x");
    if (retina) file.remove_suffix(3);
    const tiles::SpriteSheet* sheet = tiles::sprite_sheet(file, retina ? 2 : 1);
    if (!sheet) throw HttpError(404, "NotFound", "sprite: unknown sprite '" + std::string(file.substr(0, 100)) + "' (ideo)");
    Response res;
    res.content_type = json ? "application/json" : "image/png";
    res.body = json ? sheet->json : sheet->png;
    // The sheet is drawn by this binary: its bytes are its version.
    res.headers.emplace_back("ETag", "\"s" + std::to_string(std::hash<std::string>{}(res.body)) + "\"");
    res.headers.emplace_back("Cache-Control", kCacheControl);
    return res;
}

}  // namespace ideo::server
