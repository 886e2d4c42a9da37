#pragma once
// SHA-256 (OpenSSL's libcrypto), hex: harvested resources and catalogue pages are compared by it, so
// "same hash" safely means "same content".
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace ideo {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(std::string_view bytes);
    std::string hex();  // once, at the end

private:
    evp_md_ctx_st* ctx_;
};

// The digest of `bytes` in one call.
std::string sha256_hex(std::string_view bytes);

}  // namespace ideo
