// The test PKI with OpenSSL's X509 API: P-256 keys, SHA-256 signatures, the extensions a
// verifying client checks (basic constraints, key usage, subject alternative names).
#include "test_pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstring>  // EVP_EC_gen expands to strstr
#include <stdexcept>

namespace ideo::test {

namespace fs = std::filesystem;

namespace {

struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
    void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error("test PKI: " + what + " failed");
}

Key new_key() {
    Key k(EVP_EC_gen("P-256"));
    check(k != nullptr, "EC key generation");
    return k;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr, "extension " + value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// A certificate for `name`, signed by `issuer` with `issuer_key` (itself when issuer is null).
Cert make_certificate(const std::string& name, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                      const std::vector<std::string>& alt_names, long serial) {
    Cert cert(X509_new());
    X509* c = cert.get();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 7 * 86400);
    X509_set_pubkey(c, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509* signer = issuer ? issuer : c;
    X509_set_issuer_name(c, X509_get_subject_name(signer));
    add_extension(c, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    // A self-signed leaf carries no key usage, as `openssl req -x509` makes it: OpenSSL then sees it as self-signed.
    if (ca || issuer) add_extension(c, signer, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    add_extension(c, signer, NID_subject_key_identifier, "hash");
    if (!ca) add_extension(c, signer, NID_ext_key_usage, "serverAuth");
    if (!alt_names.empty()) {
        std::string san;
        for (const auto& n : alt_names) san += (san.empty() ? "" : ",") + n;
        add_extension(c, signer, NID_subject_alt_name, san);
    }
    check(X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) > 0, "signing " + name);
    return cert;
}

void write_pem(const fs::path& file, const std::vector<X509*>& certs, EVP_PKEY* key) {
    FILE* f = std::fopen(file.c_str(), "wb");
    check(f != nullptr, "writing " + file.string());
    bool ok = true;
    for (X509* c : certs) ok = ok && PEM_write_X509(f, c) == 1;
    if (key) ok = ok && PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    std::fclose(f);
    check(ok, "PEM output to " + file.string());
}

}  // namespace

struct TestPki::Keys {
    Key ca_key;
    Cert ca;
    long serial = 1;
};

TestPki::TestPki(fs::path dir, const std::string& ca_name) : dir_(std::move(dir)), keys_(std::make_unique<Keys>()) {
    fs::create_directories(dir_);
    keys_->ca_key = new_key();
    keys_->ca = make_certificate(ca_name, keys_->ca_key.get(), nullptr, nullptr, true, {}, keys_->serial++);
    ca_certificate_ = dir_ / "ca.pem";
    write_pem(ca_certificate_, {keys_->ca.get()}, nullptr);
}

TestPki::~TestPki() = default;

TlsIdentity TestPki::server(const std::string& name, const std::vector<std::string>& alt_names) {
    Key key = new_key();
    Cert cert = make_certificate(name, key.get(), keys_->ca.get(), keys_->ca_key.get(), false, alt_names, keys_->serial++);
    TlsIdentity id{dir_ / (name + "-chain.pem"), dir_ / (name + "-key.pem")};
    write_pem(id.certificate_chain, {cert.get()}, nullptr);  // no root in the chain, as real servers send it
    write_pem(id.private_key, {}, key.get());
    return id;
}

TlsIdentity TestPki::self_signed(const std::string& name, const std::vector<std::string>& alt_names) {
    Key key = new_key();
    Cert cert = make_certificate(name, key.get(), nullptr, nullptr, false, alt_names, keys_->serial++);
    TlsIdentity id{dir_ / (name + "-chain.pem"), dir_ / (name + "-key.pem")};
    write_pem(id.certificate_chain, {cert.get()}, nullptr);
    write_pem(id.private_key, {}, key.get());
    return id;
}

}  // namespace ideo::test
