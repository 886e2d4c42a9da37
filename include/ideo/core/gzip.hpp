#pragma once
// gzip (RFC 1952) with zlib: responses, cached tiles, and partner answers sent compressed.
#include <cstddef>
#include <string>
#include <string_view>

namespace ideo {

std::string gzip_compress(std::string_view data, int level = 6);

// Inflates gzip or zlib data; throws Error when it is corrupt or would exceed max_size bytes.
std::string gzip_decompress(std::string_view data, std::size_t max_size);

}  // namespace ideo
