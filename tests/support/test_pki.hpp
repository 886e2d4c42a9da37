#pragma once
// A throwaway PKI made at test time with the OpenSSL API: a CA, and server certificates it signs
// for the partner simulator. Nothing is checked in: keys and certificates live in a temp folder.
//
//   TestPki pki(dir.path());
//   PartnerSimulator sim(pki.server("partner", {"IP:127.0.0.1", "DNS:localhost"}));
//   options.ca_file = pki.ca_certificate().string();
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "partner_simulator.hpp"

namespace ideo::test {

class TestPki {
public:
    explicit TestPki(std::filesystem::path dir, const std::string& ca_name = "ideo test CA");
    ~TestPki();
    TestPki(const TestPki&) = delete;
    TestPki& operator=(const TestPki&) = delete;

    // The CA certificate (PEM): what a partner's "ca_file" option points at.
    const std::filesystem::path& ca_certificate() const { return ca_certificate_; }
    // A server certificate signed by the CA, for `alt_names` ("IP:127.0.0.1", "DNS:localhost").
    TlsIdentity server(const std::string& name, const std::vector<std::string>& alt_names);
    // A certificate signed by its own key, no CA: what a misconfigured portal serves.
    TlsIdentity self_signed(const std::string& name, const std::vector<std::string>& alt_names);

private:
    struct Keys;
    std::filesystem::path dir_, ca_certificate_;
    std::unique_ptr<Keys> keys_;
};

}  // namespace ideo::test
