// API keys: what both stores share (the key's form, its hash, the identity it grants) and the defaults of
// stores that keep none. The tables themselves: gpkg_keys.cpp, pg_keys.cpp.
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>

#include "ideo/core/error.hpp"
#include "ideo/core/sha256.hpp"
#include "ideo/core/text.hpp"
#include "ideo/store/store.hpp"
#include "store_common.hpp"

namespace ideo::store {
namespace {

template <std::size_t N>
std::array<unsigned char, N> random_bytes() {
    std::array<unsigned char, N> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(N)) != 1) throw Error("OpenSSL RAND_bytes failed: no random key made");
    return bytes;
}

[[noreturn]] void no_keys() { throw Error("this store keeps no API keys"); }

}  // namespace

std::string new_api_key() {
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const auto bytes = random_bytes<32>();
    std::string out = "ideo_";
    unsigned bits = 0, buffer = 0;
    for (const unsigned char b : bytes) {  // base64url without padding: 43 characters for 32 bytes
        buffer = (buffer << 8) | b;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += alphabet[(buffer >> bits) & 63];
        }
    }
    if (bits > 0) out += alphabet[(buffer << (6 - bits)) & 63];
    return out;
}

std::string api_key_hash(std::string_view key) { return sha256_hex(key); }

bool same_key_hash(std::string_view stored, std::string_view asked) {
    return stored.size() == asked.size() && CRYPTO_memcmp(stored.data(), asked.data(), stored.size()) == 0;
}

bool ApiKey::expired(std::string_view now) const { return !expires.empty() && now.substr(0, 10) > expires; }

access::Identity KeyGrant::identity() const {
    access::Identity id;
    id.role = key.role;
    id.subject = key.id;
    id.organisation = organisation.name;
    id.kind = organisation.kind;
    id.adherent = organisation.adherent;
    id.insee = organisation.insee;
    id.depts = organisation.depts;
    id.via = "apikey";
    return id;
}

std::pair<ApiKey, std::string> create_api_key(Store& store, const std::string& organisation, access::Role role,
                                              const std::string& expires) {
    if (role == access::Role::Anonymous) throw InputError("an API key needs a role: member, sdis, ars or admin");
    int y, m, d;
    if (!expires.empty() && !text::parse_iso_date(expires, y, m, d))
        throw InputError("expires: \"" + expires + "\" is not a date YYYY-MM-DD");
    ApiKey k;
    const auto id = random_bytes<6>();
    static const char* digits = "0123456789abcdef";
    k.id = "k-";
    for (const unsigned char b : id) {
        k.id += digits[b >> 4];
        k.id += digits[b & 15];
    }
    k.organisation = organisation;
    k.role = role;
    std::string key = new_api_key();
    k.key_hash = api_key_hash(key);
    k.created = text::now_iso8601();
    k.expires = expires;
    store.add_api_key(k);
    return {std::move(k), std::move(key)};
}

void Store::save_organisation(const Organisation&) { no_keys(); }
std::vector<Organisation> Store::organisations() { return {}; }
void Store::add_api_key(const ApiKey&) { no_keys(); }
std::vector<ApiKey> Store::api_keys() { return {}; }
bool Store::revoke_api_key(const std::string&) { return false; }
std::optional<KeyGrant> Store::find_api_key(const std::string&) { return std::nullopt; }
void Store::record_key_uses(const std::vector<std::pair<std::string, std::string>>&) {}

}  // namespace ideo::store
