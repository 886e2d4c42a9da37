#pragma once
// The styles' sprite (GET /styles/sprites/{name}[@2x].json|.png): the images MapLibre draws fill
// patterns and icons with. Drawn in code and encoded as PNG with zlib, so the 1x and 2x sheets come
// from one definition and no binary file lives in the repository.
#include <string>
#include <string_view>

namespace ideo::tiles {

struct SpriteSheet {
    std::string json;  // {"hatch": {"x", "y", "width", "height", "pixelRatio"}, ...}
    std::string png;   // 8-bit RGBA
};

// The sprite `name` ("ideo") at pixel ratio 1 or 2, built once; null for an unknown name or ratio.
const SpriteSheet* sprite_sheet(std::string_view name, int pixel_ratio);

}  // namespace ideo::tiles
