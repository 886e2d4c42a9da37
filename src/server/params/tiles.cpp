// Parameters of the tiles (XYZ, TileJSON, OGC API Tiles), styles, fonts and sprites: all in the path.
// A value naming no resource (a tile outside the matrix, a font, a style) is a 404; a malformed
// number or a bad layer list is a 400 naming it.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>

#include "../parameters.hpp"
#include "ideo/tiles/coverage_layer.hpp"
#include "ideo/tiles/glyphs.hpp"

namespace ideo::server {
namespace {

using K = ParameterKind;
constexpr ParameterIn path = ParameterIn::Path;
constexpr auto max_tile_number = static_cast<long long>(std::numeric_limits<std::uint32_t>::max());

constexpr Parameter layers{.name = "layers", .description = "comma-separated layer ids, each once (coverage: the uncovered zones)",
                           .kind = K::List, .in = path, .max = static_cast<long long>(max_tile_layers), .unique = true};
// The documented maximum is the matrix's; a number beyond it is a tile that does not exist (404).
constexpr Parameter z{.name = "z", .description = "zoom", .kind = K::Integer, .in = path, .max = tiles::kMaxZoom};
constexpr Parameter x{.name = "x", .description = "column", .kind = K::Integer, .in = path};
constexpr Parameter y{.name = "y", .description = "row", .kind = K::Integer, .in = path};
constexpr Parameter collection{.name = "collectionId", .description = "layer id", .in = path};
constexpr Parameter matrix_set{.name = "tileMatrixSetId", .description = "WebMercatorQuad", .in = path};
constexpr Parameter matrix{.name = "tileMatrix", .description = "zoom", .kind = K::Integer, .in = path, .max = tiles::kMaxZoom};
constexpr Parameter row{.name = "tileRow", .description = "row", .kind = K::Integer, .in = path};
constexpr Parameter col{.name = "tileCol", .description = "column", .kind = K::Integer, .in = path};
constexpr Parameter style{.name = "styleId", .description = "style id (deci, pei)", .in = path};
constexpr Parameter fontstack{.name = "fontstack", .description = "comma-separated font names, the first served is used (DejaVu Sans Book)",
                              .in = path};
constexpr Parameter range{.name = "range", .description = "first-last code point, a multiple of 256 to the next minus one (0-255)",
                          .in = path};
constexpr Parameter sprite{.name = "sprite", .description = "sprite file: ideo.json, ideo.png, ideo@2x.json, ideo@2x.png", .in = path};

constexpr Parameter xyz_list[] = {layers, z, x, y};
constexpr Parameter tilejson_list[] = {layers};
constexpr Parameter collection_list[] = {collection};
constexpr Parameter collection_tileset_list[] = {collection, matrix_set};
constexpr Parameter collection_tile_list[] = {collection, matrix_set, matrix, row, col};
constexpr Parameter matrix_set_list[] = {matrix_set};
constexpr Parameter style_list[] = {style};
constexpr Parameter glyph_list[] = {fontstack, range};
constexpr Parameter sprite_list[] = {sprite};

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A tile number: any whole number is read, the matrix decides whether the tile exists.
std::uint32_t tile_number(const Parameter& p, std::string_view text) {
    return static_cast<std::uint32_t>(parse_integer(p.name, text, 0, max_tile_number));
}

int zoom(const Parameter& p, std::string_view text) {
    return static_cast<int>(std::min<std::uint32_t>(tile_number(p, text), 99));
}

std::string without_tile_suffix(std::string_view y) {
    for (std::string_view ext : {".mvt", ".pbf"})
        if (y.size() > ext.size() && ends_with(y, ext)) return std::string(y.substr(0, y.size() - ext.size()));
    return std::string(y);
}

// Layers named in a tileset ("pei,erp"): each once, each served; at most max_tile_layers.
std::vector<std::string> tile_layers(const index::Snapshot& snapshot, std::string_view text) {
    if (text.empty() || text.front() == ',' || text.back() == ',' || text.find(",,") != std::string_view::npos)
        throw_bad_parameter(layers.name, "empty layer name in " + shown(text));
    std::vector<std::string> out = layers.list(text);
    for (const auto& name : out) {
        const bool computed = name == tiles::kCoverageLayer && tiles::coverage_layer_available(snapshot);
        if (!computed && !snapshot.layer(name)) throw HttpError(404, "NotFound", "layers: unknown layer " + shown(name));
    }
    return out;
}

[[noreturn]] void bad_range(std::string_view text, const std::string& why) {
    throw HttpError(404, "NotFound", std::string(range.name) + ": " + why + ", got " + shown(text.substr(0, 40)));
}

}  // namespace

XyzTileParameters parse_xyz_tile_parameters(const index::Snapshot& snapshot, const Route& r) {
    XyzTileParameters p;
    p.layers = tile_layers(snapshot, r.layers);
    p.tile.z = zoom(z, r.tile_z);
    p.tile.x = tile_number(x, r.tile_x);
    p.tile.y = tile_number(y, without_tile_suffix(r.tile_y));
    return p;
}

std::span<const Parameter> xyz_tile_parameters() { return xyz_list; }

std::vector<std::string> parse_tilejson_parameters(const index::Snapshot& snapshot, const Route& r) {
    return tile_layers(snapshot, r.layers);
}

std::span<const Parameter> tilejson_parameters() { return tilejson_list; }

void check_tile_matrix_set(std::string_view id) {
    if (id != "WebMercatorQuad")
        throw HttpError(404, "NotFound", "unknown tile matrix set " + shown(id.substr(0, 100)) + " (WebMercatorQuad only)");
}

tiles::TileId parse_collection_tile_parameters(const Route& r) {
    check_tile_matrix_set(r.matrix_set);
    tiles::TileId t;
    t.z = zoom(matrix, r.tile_z);
    t.y = tile_number(row, r.tile_y);
    t.x = tile_number(col, r.tile_x);
    return t;
}

std::span<const Parameter> collection_tile_parameters() { return collection_tile_list; }
std::span<const Parameter> collection_tilesets_parameters() { return collection_list; }
std::span<const Parameter> collection_tileset_parameters() { return collection_tileset_list; }
std::span<const Parameter> tile_matrix_set_parameters() { return matrix_set_list; }

std::string parse_style_parameters(const Route& r) {
    const bool plain = !r.style.empty() && std::all_of(r.style.begin(), r.style.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
    if (!plain) throw HttpError(404, "NotFound", "unknown style " + shown(r.style.substr(0, 100)));
    return r.style;
}

std::span<const Parameter> style_parameters() { return style_list; }

// "0-255.pbf" -> 0: a range of 256 codepoints starting at a multiple of 256, as MapLibre asks for them.
GlyphParameters parse_glyph_parameters(const Route& r) {
    const std::string_view text = r.glyph_range;
    if (!ends_with(text, ".pbf")) bad_range(text, "expected {start}-{end}.pbf");
    const std::string_view body = text.substr(0, text.size() - 4);
    const auto dash = body.find('-');
    if (dash == std::string_view::npos) bad_range(text, "expected {start}-{end}.pbf");
    const auto start = to_integer(body.substr(0, dash)), end = to_integer(body.substr(dash + 1));
    if (!start || !end || *start < 0) bad_range(text, "expected two whole numbers {start}-{end}");
    if (*start % tiles::kGlyphRangeSize != 0 || *end != *start + tiles::kGlyphRangeSize - 1 || *end > 65535)
        bad_range(text, "ranges are 256 codepoints from a multiple of 256, up to 65535 (0-255, 256-511...)");
    GlyphParameters p;
    p.fontstack = r.fontstack;
    p.start = static_cast<std::uint32_t>(*start);
    return p;
}

std::span<const Parameter> glyph_parameters() { return glyph_list; }

SpriteParameters parse_sprite_parameters(const Route& r) {
    SpriteParameters p;
    std::string_view file = r.sprite;
    p.json = ends_with(file, ".json");
    if (!p.json && !ends_with(file, ".png"))
        throw HttpError(404, "NotFound", "sprite: expected {name}.json, {name}.png or their @2x, got " + shown(file.substr(0, 100)));
    file.remove_suffix(p.json ? 5 : 4);
    p.retina = ends_with(file, "@2x");
    if (p.retina) file.remove_suffix(3);
    p.name = std::string(file);
    return p;
}

std::span<const Parameter> sprite_parameters() { return sprite_list; }

}  // namespace ideo::server
