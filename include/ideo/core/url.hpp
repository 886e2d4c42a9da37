#pragma once
// URLs as the harvester requests them and the server links them: percent-encoding, query strings,
// relative references. (Decoding is in core/text: percent_decode.)
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ideo::url {

// RFC 3986 unreserved characters kept, every other byte as %XX (upper-case hex); `keep` lists more
// characters left as they are (":/" for a query value partners expect to see unescaped).
std::string percent_encode(std::string_view s, std::string_view keep = {});

// `url` with `params` appended as ?k=v&k=v (values percent-encoded, ':' and '/' kept).
std::string with_params(std::string url, const std::vector<std::pair<std::string, std::string>>& params);

// `url` with the raw query text `params` ("count=10&startIndex=0") appended after '?' or '&'.
std::string append_query(const std::string& url, const std::string& params);

// Whether the query of `url` has parameter `name` (ASCII case-insensitive, as OGC services read names).
bool has_param(const std::string& url, const std::string& name);

// `ref` (absolute, "//host/path", "/path", "path?q" or "?q") resolved against `base`, as a browser follows
// a link (RFC 3986 5.2, with dot segments removed).
std::string resolve(const std::string& base, const std::string& ref);

}  // namespace ideo::url
