// What a MapLibre style needs besides its tiles: glyph ranges (GET /fonts/{fontstack}/{start}-{end}.pbf)
// for text labels, and the sprite (GET /styles/sprites/{name}[@2x].{json,png}) for fill patterns.
#include <functional>

#include "ideo/server/server.hpp"
#include "ideo/tiles/glyphs.hpp"
#include "ideo/tiles/sprite.hpp"
#include "parameters.hpp"
#include "services.hpp"

namespace ideo::server {
namespace {

// Debian's fonts-dejavu-core (scripts/install-deps): Latin, Greek and Cyrillic in 1 MB, every French letter.
constexpr const char* kDefaultFontsDir = "/usr/share/fonts/truetype/dejavu";
// Fonts and the sprite change with the system or the code, not with every publish.
constexpr const char* kCacheControl = "public, max-age=86400";

}  // namespace

Response glyphs(const Request& req, const Route& r) {
    const GlyphParameters p = parse_glyph_parameters(r);
    const std::filesystem::path dir = req.options && !req.options->fonts_dir.empty() ? req.options->fonts_dir : kDefaultFontsDir;
    auto& library = tiles::glyph_library(dir);
    const tiles::FontFace* face = library.resolve(p.fontstack);
    if (!face) {
        std::string served;
        for (const auto& f : library.fonts()) served += (served.empty() ? "" : ", ") + f.name;
        throw HttpError(404, "NotFound", "fontstack: no font of '" + p.fontstack.substr(0, 200) + "' is served here (fonts: " +
                                             (served.empty() ? "none in " + dir.string() : served) + ")");
    }
    const bool gzip_ok = accepts_gzip(req);
    const auto cached = library.range(*face, p.start, gzip_ok);
    return cached_response(*cached, gzip_ok, "application/x-protobuf", face->etag, kCacheControl);
}

Response sprite(const Request&, const Route& r) {
    const SpriteParameters p = parse_sprite_parameters(r);
    const tiles::SpriteSheet* sheet = tiles::sprite_sheet(p.name, p.retina ? 2 : 1);
    if (!sheet) throw HttpError(404, "NotFound", "sprite: unknown sprite '" + p.name.substr(0, 100) + "' (ideo)");
    Response res;
    res.content_type = p.json ? "application/json" : "image/png";
    res.body = p.json ? sheet->json : sheet->png;
    // The sheet is drawn by this binary: its bytes are its version.
    res.headers.emplace_back("ETag", "\"s" + std::to_string(std::hash<std::string>{}(res.body)) + "\"");
    res.headers.emplace_back("Cache-Control", kCacheControl);
    return res;
}

}  // namespace ideo::server
