#include "ideo/core/gzip.hpp"

#include <zlib.h>

#include "ideo/core/error.hpp"

namespace ideo {

std::string gzip_compress(std::string_view data, int level) {
    z_stream zs{};
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw Error("gzip: deflateInit2 failed");
    std::string out;
    out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) throw Error("gzip: deflate failed");
    return out;
}

std::string gzip_decompress(std::string_view data, std::size_t max_size) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 32) != Z_OK) throw Error("gzip: inflateInit2 failed");  // +32: gzip or zlib header
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    std::string out;
    char buf[64 * 1024];
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(buf);
        zs.avail_out = sizeof buf;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&zs);
            throw Error(std::string("corrupt compressed data at byte ") + std::to_string(zs.total_in) +
                        (zs.msg ? std::string(": ") + zs.msg : std::string()));
        }
        out.append(buf, sizeof buf - zs.avail_out);
        if (out.size() > max_size) {
            inflateEnd(&zs);
            throw Error("decompressed data exceeds " + std::to_string(max_size) + " bytes");
        }
        if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
            inflateEnd(&zs);
            throw Error("truncated compressed data after " + std::to_string(zs.total_in) + " bytes");
        }
    }
    inflateEnd(&zs);
    return out;
}

}  // namespace ideo
