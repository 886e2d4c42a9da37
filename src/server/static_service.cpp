// GET /map, /map/embed and /map/{file...}: the built map page (web/dist) as static files.
// Only plain names below the build folder are served: no "..", no hidden files, no symlink escapes.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "ideo/server/server.hpp"
#include "services.hpp"

namespace ideo::server {
namespace {

namespace fs = std::filesystem;

std::string content_type_of(const fs::path& p) {
    const std::string ext = p.extension().string();
    if (ext == ".html") return "text/html; charset=utf-8";
    if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
    if (ext == ".css") return "text/css; charset=utf-8";
    if (ext == ".json" || ext == ".map") return "application/json";
    if (ext == ".svg") return "image/svg+xml";
    if (ext == ".png") return "image/png";
    if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
    if (ext == ".webp") return "image/webp";
    if (ext == ".ico") return "image/x-icon";
    if (ext == ".woff2") return "font/woff2";
    if (ext == ".pbf") return "application/x-protobuf";
    if (ext == ".txt") return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

[[noreturn]] void not_found(const std::string& path) {
    throw HttpError(404, "NotFound", "no file at '" + path.substr(0, 200) + "'");
}

}  // namespace

Response static_file(const Request& req, const Route& r) {
    const fs::path web = req.options && !req.options->web_dir.empty() ? req.options->web_dir : fs::path("web");
    const fs::path dist = web / "dist";
    std::error_code ec;
    const fs::path root = fs::canonical(dist, ec);
    if (ec)
        throw HttpError(404, "NotFound", "the map page is not built (no " + dist.string() + "): run scripts/build-web");

    fs::path rel;
    if (r.endpoint == Endpoint::MapPage) {
        rel = "index.html";
    } else if (r.endpoint == Endpoint::MapEmbed) {
        rel = "embed.html";
    } else {
        for (const std::string& seg : r.asset) {
            // Segments are percent-decoded already: a decoded '/' or '\' or NUL would smuggle a path.
            if (seg.empty() || seg == "." || seg == ".." || seg.front() == '.' ||
                seg.find_first_of(std::string("/\\\0", 3)) != std::string::npos)
                not_found(req.path);
            rel /= seg;
        }
        if (rel.empty()) not_found(req.path);
    }
    const fs::path file = fs::canonical(root / rel, ec);
    if (ec || !fs::is_regular_file(file, ec)) not_found(req.path);
    // A symlink inside dist must not lead outside it.
    const auto [end, _] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
    if (end != root.end()) not_found(req.path);

    const auto size = fs::file_size(file, ec);
    const auto mtime = fs::last_write_time(file, ec);
    std::ifstream in(file, std::ios::binary);
    if (!in) not_found(req.path);
    std::stringstream ss;
    ss << in.rdbuf();

    Response res;
    res.content_type = content_type_of(file);
    res.body = ss.str();
    const auto ticks = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::file_clock::to_sys(mtime).time_since_epoch()).count();
    res.headers.emplace_back("ETag", "\"f" + std::to_string(ticks) + "-" + std::to_string(size) + "\"");
    // Vite names bundled assets by content hash: they never change under one name.
    const bool hashed = !r.asset.empty() && r.asset.front() == "assets";
    res.headers.emplace_back("Cache-Control", hashed ? "public, max-age=31536000, immutable" : "no-cache");
    // The embed goes in any website's iframe; the full page only in our own.
    if (r.endpoint != Endpoint::MapEmbed && res.content_type.rfind("text/html", 0) == 0)
        res.headers.emplace_back("X-Frame-Options", "SAMEORIGIN");
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return res;
}

}  // namespace ideo::server
