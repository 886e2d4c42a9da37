// libFuzzer target: a request target as a client sends it through the server's own parsing: the target
// split into path and query string, the query's names and values percent-decoded, the path routed to an
// endpoint. Anything but a well-formed target is an HttpError in the 4xx with a code; what parses
// decodes back to the names and values it gave (QueryParams::encode then parse_query is the identity).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace server = ideo::server;
    const std::string_view target(reinterpret_cast<const char*>(data), size);
    server::Request req;
    try {
        req = server::parse_request("GET", target, "localhost");
        (void)server::route("GET", req.path);  // a broken escape in a path segment is a 400 too
        (void)server::route("POST", req.path);
    } catch (const server::HttpError& e) {
        if (e.status() < 400 || e.status() > 499 || e.code().empty()) __builtin_trap();
        return 0;
    }
    if (server::parse_query(req.query.encode()).entries() != req.query.entries()) __builtin_trap();
    if (server::parse_query(req.query.encode_with("offset", "10 0")).find("offset") == nullptr) __builtin_trap();
    return 0;
}
