// GET /deci/communes/{insee}/extract.{format}: the mayor's download, built by deci/.
#include <string>

#include "ideo/core/error.hpp"
#include "ideo/deci/extract.hpp"
#include "parameters.hpp"
#include "services.hpp"

namespace ideo::server {
namespace {

// An ASCII stand-in for the plain filename= parameter: Latin-1 accents folded ("Évette" -> "Evette"),
// anything else that could break the header replaced by '_'.
std::string ascii_filename(std::string_view utf8) {
    static const char* folded = "AAAAAAACEEEEIIIIDNOOOOOxOUUUUYTsaaaaaaaceeeeiiiidnooooo/ouuuuyty";  // U+00C0..U+00FF
    std::string out;
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        const auto c = static_cast<unsigned char>(utf8[i]);
        if (c < 0x80) {
            out += (c < 0x20 || c == '"' || c == '\\' || c == 0x7F) ? '_' : static_cast<char>(c);
        } else if ((c == 0xC3) && i + 1 < utf8.size()) {
            const auto n = static_cast<unsigned char>(utf8[i + 1]);
            const char f = (n >= 0x80 && n <= 0xBF) ? folded[n - 0x80] : '_';
            out += (f == 'x' || f == '/') ? '_' : f;
            ++i;
        } else if (c >= 0xC0) {
            out += '_';  // one '_' per non-Latin-1 character: skip its continuation bytes
            while (i + 1 < utf8.size() && (static_cast<unsigned char>(utf8[i + 1]) & 0xC0) == 0x80) ++i;
        }
    }
    return out;
}

// RFC 6266 with the RFC 8187 filename* form, so accents survive in browsers that read it.
std::string content_disposition(const std::string& filename) {
    static const char* digits = "0123456789ABCDEF";
    std::string encoded;
    for (const char ch : filename) {
        const auto c = static_cast<unsigned char>(ch);
        const bool attr_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                               std::string_view("!#$&+-.^_`|~").find(ch) != std::string_view::npos;
        if (attr_char) {
            encoded += ch;
        } else {
            encoded += '%';
            encoded += digits[c >> 4];
            encoded += digits[c & 15];
        }
    }
    return "attachment; filename=\"" + ascii_filename(filename) + "\"; filename*=UTF-8''" + encoded;
}

}  // namespace

Response deci_extract(const Request& req, const index::Snapshot& snapshot, std::string_view insee,
                      std::string_view format) {
    const ExtractParameters p = parse_extract_parameters(insee, format, req.query);
    deci::ExtractFile file;
    try {
        file = deci::build_extract(snapshot, deci::ExtractRequest{p.insee, p.format, p.crs});
    } catch (const InputError& e) {
        throw HttpError(404, "NotFound", e.what());  // the commune (or the CRS) is unknown: no such extract
    }
    Response res;
    res.content_type = file.content_type;
    res.body = std::move(file.bytes);
    res.headers.emplace_back("Content-Disposition", content_disposition(file.filename));
    return res;
}

}  // namespace ideo::server
