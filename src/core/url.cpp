#include "ideo/core/url.hpp"

#include "ideo/core/text.hpp"

namespace ideo::url {

std::string percent_encode(std::string_view s, std::string_view keep) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        const bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
                                u == '.' || u == '_' || u == '~';
        if (unreserved || keep.find(c) != std::string_view::npos) {
            out += c;
        } else {
            out += '%';
            out += digits[u >> 4];
            out += digits[u & 15];
        }
    }
    return out;
}

std::string with_params(std::string url, const std::vector<std::pair<std::string, std::string>>& params) {
    for (const auto& [k, v] : params) {
        url += url.find('?') == std::string::npos ? '?' : '&';
        url += k + "=" + percent_encode(v, ":/");
    }
    return url;
}

std::string append_query(const std::string& url, const std::string& params) {
    return url + (url.find('?') == std::string::npos ? "?" : (url.back() == '?' || url.back() == '&' ? "" : "&")) + params;
}

bool has_param(const std::string& url, const std::string& name) {
    const auto q = url.find('?');
    if (q == std::string::npos) return false;
    const std::string query = "&" + text::ascii_lower(url.substr(q + 1));
    return query.find("&" + text::ascii_lower(name) + "=") != std::string::npos;
}

std::string resolve(const std::string& base, const std::string& ref) {
    if (ref.find("://") != std::string::npos) return ref;
    const auto scheme_end = base.find("://");
    if (scheme_end == std::string::npos) return ref;
    const auto path_start = base.find('/', scheme_end + 3);
    const std::string origin = path_start == std::string::npos ? base : base.substr(0, path_start);
    if (ref.rfind("//", 0) == 0) return base.substr(0, scheme_end + 1) + ref;
    if (!ref.empty() && ref[0] == '/') return origin + ref;
    std::string path = path_start == std::string::npos ? "/" : base.substr(path_start);
    path = path.substr(0, path.find('#'));
    if (!ref.empty() && ref[0] == '?') return origin + path.substr(0, path.find('?')) + ref;
    path = path.substr(0, path.find('?'));
    path = path.substr(0, path.rfind('/') + 1);
    // RFC 3986 5.2.4: "../" and "./" segments removed, so servers see the path they published.
    std::string merged = path + ref, query;
    if (const auto q = merged.find('?'); q != std::string::npos) {
        query = merged.substr(q);
        merged.resize(q);
    }
    std::vector<std::string> segments;
    std::size_t start = 1;
    while (start <= merged.size()) {
        const auto slash = merged.find('/', start);
        const std::string seg = merged.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        const bool last = slash == std::string::npos;
        if (seg == "..") {
            if (!segments.empty()) segments.pop_back();
            if (last) segments.emplace_back();
        } else if (seg == ".") {
            if (last) segments.emplace_back();
        } else {
            segments.push_back(seg);
        }
        if (last) break;
        start = slash + 1;
    }
    std::string out;
    for (const auto& seg : segments) out += "/" + seg;
    return origin + (out.empty() ? "/" : out) + query;
}

}  // namespace ideo::url
