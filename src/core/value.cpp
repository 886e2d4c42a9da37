#include "ideo/core/value.hpp"

#include "ideo/core/text.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace ideo {

std::string to_text(const Value& v) {
    switch (v.index()) {
        case 1: return std::to_string(std::get<std::int64_t>(v));
        case 2: return text::real(std::get<double>(v));
        case 3: return std::get<std::string>(v);
        default: return {};
    }
}

bool equals_text(const Value& v, std::string_view t) {
    switch (v.index()) {
        case 1: {
            std::int64_t n = 0;
            auto r = std::from_chars(t.data(), t.data() + t.size(), n);
            return r.ec == std::errc() && r.ptr == t.data() + t.size() && n == std::get<std::int64_t>(v);
        }
        case 2: {
            double d = 0;
            auto r = std::from_chars(t.data(), t.data() + t.size(), d);
            return r.ec == std::errc() && r.ptr == t.data() + t.size() && d == std::get<double>(v);
        }
        case 3: return std::get<std::string>(v) == t;
        default: return t.empty();
    }
}

}  // namespace ideo
