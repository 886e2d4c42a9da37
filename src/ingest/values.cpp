#include "values.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "ideo/core/text.hpp"

namespace ideo::ingest {
namespace {

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool valid_date(int y, int m, int d) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1000 || y > 9999 || m < 1 || m > 12 || d < 1) return false;
    return d <= days[m - 1] + (m == 2 && is_leap(y) ? 1 : 0);
}

// Reads exactly n digits at s[pos]; advances pos.
std::optional<int> digits(std::string_view s, size_t& pos, size_t min_n, size_t max_n) {
    size_t n = 0;
    int v = 0;
    while (pos + n < s.size() && n < max_n && s[pos + n] >= '0' && s[pos + n] <= '9') v = v * 10 + (s[pos + n++] - '0');
    if (n < min_n) return std::nullopt;
    pos += n;
    return v;
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

// The code list check: kept when listed, replaced when a synonym matches, else invalid.
FieldValue check_code(const FieldSpec& f, const std::string& code, std::string_view original) {
    if (f.enum_values.empty() || std::find(f.enum_values.begin(), f.enum_values.end(), code) != f.enum_values.end())
        return {code, Check::Ok, {}};
    if (auto it = f.synonyms.find(text::fold_key(code)); it != f.synonyms.end())
        return {it->second, Check::Repaired, "code_synonym: " + f.name + " " + std::string(original) + " -> " + it->second};
    return {std::monostate{}, Check::Invalid,
            "unknown_code: " + f.name + " " + quoted(original) + " not in " + join(f.enum_values)};
}

// minimum/maximum: "negative_value" reads better than "below_minimum" for the common minimum 0.
FieldValue check_range(const FieldSpec& f, Value v, double d) {
    if (f.minimum && d < *f.minimum)
        return {std::monostate{}, Check::Invalid,
                std::string(*f.minimum == 0 ? "negative_value: " : "below_minimum: ") + f.name + " " + to_text(v) +
                    (*f.minimum == 0 ? "" : " < " + to_text(Value(*f.minimum)))};
    if (f.maximum && d > *f.maximum)
        return {std::monostate{}, Check::Invalid,
                "above_maximum: " + f.name + " " + to_text(v) + " > " + to_text(Value(*f.maximum))};
    return {std::move(v), Check::Ok, {}};
}

}  // namespace

std::optional<double> parse_number(std::string_view text) {
    std::string s;
    s.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == ' ' || c == '\t' || c == '\'') continue;  // thousands separators
        if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xA0) { ++i; continue; }  // NBSP
        if (c == 0xE2 && i + 2 < text.size() && text.substr(i, 3) == "\xE2\x80\xAF") { i += 2; continue; }  // NNBSP
        s += static_cast<char>(c);
    }
    if (s.empty()) return std::nullopt;
    const size_t comma = s.rfind(','), dot = s.rfind('.');
    if (comma != std::string::npos) {
        if (dot != std::string::npos && dot > comma) {  // 1,234.5
            s.erase(std::remove(s.begin(), s.end(), ','), s.end());
        } else {  // 12,5 or 1.234,5
            s.erase(std::remove(s.begin(), s.begin() + static_cast<long>(comma), '.'), s.begin() + static_cast<long>(comma));
            s[s.rfind(',')] = '.';
            if (s.find(',') != std::string::npos) return std::nullopt;
        }
    }
    const char* b = s.data();
    if (*b == '+') ++b;
    double v = 0;
    auto r = std::from_chars(b, s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

std::optional<std::string> parse_date(std::string_view text) {
    const std::string s = text::trim(text);
    size_t pos = 0;
    int y = 0, m = 0, d = 0;
    auto sep = [&](size_t at) { return at < s.size() && (s[at] == '-' || s[at] == '/' || s[at] == '.'); };
    auto a = digits(s, pos, 1, 4);
    if (!a || !sep(pos)) return std::nullopt;
    const char first_sep = s[pos++];
    if (pos - 1 == 4) {  // YYYY-MM-DD, YYYY/MM/DD
        auto mm = digits(s, pos, 1, 2);
        if (!mm || pos >= s.size() || s[pos++] != first_sep) return std::nullopt;
        auto dd = digits(s, pos, 1, 2);
        if (!dd) return std::nullopt;
        y = *a, m = *mm, d = *dd;
    } else {  // DD/MM/YYYY, DD-MM-YYYY, DD.MM.YYYY
        if (pos - 1 > 2) return std::nullopt;
        auto mm = digits(s, pos, 1, 2);
        if (!mm || pos >= s.size() || s[pos++] != first_sep) return std::nullopt;
        auto yy = digits(s, pos, 4, 4);
        if (!yy) return std::nullopt;
        d = *a, m = *mm, y = *yy;
    }
    // A time may follow ("2024-12-31T10:00:00Z", "31/12/2024 10:00"): the date part is kept.
    if (pos < s.size() && s[pos] != 'T' && s[pos] != ' ') return std::nullopt;
    if (!valid_date(y, m, d)) return std::nullopt;
    return text::iso_date(y, m, d);
}

FieldValue parse_value(const FieldSpec& f, std::string_view text) {
    switch (f.type) {
        case FieldType::String: return check_code(f, std::string(text), text);
        case FieldType::Integer:
        case FieldType::Number: {
            const auto d = parse_number(text);
            if (!d) return {std::monostate{}, Check::Invalid, "invalid_number: " + f.name + " " + quoted(text)};
            Value v = *d;
            if (f.type == FieldType::Integer) {
                if (std::nearbyint(*d) != *d || std::fabs(*d) > 9.0e15)
                    return {std::monostate{}, Check::Invalid, "invalid_integer: " + f.name + " " + quoted(text)};
                v = static_cast<std::int64_t>(*d);
            }
            if (!f.enum_values.empty()) {
                FieldValue coded = check_code(f, to_text(v), text);
                if (coded.check == Check::Invalid) return coded;
                if (coded.check == Check::Repaired) {
                    const auto n = parse_number(std::get<std::string>(coded.value));
                    coded.value = f.type == FieldType::Integer ? Value(static_cast<std::int64_t>(n.value_or(0))) : Value(n.value_or(0));
                    return coded;
                }
            }
            return check_range(f, std::move(v), *d);
        }
        case FieldType::Boolean: {
            const std::string key = text::fold_key(text);
            if (auto it = f.synonyms.find(key); it != f.synonyms.end()) {
                if (it->second == "1" || it->second == "0") return {std::int64_t{it->second == "1"}, Check::Ok, {}};
            }
            // Spellings every partner uses, for boolean fields whose spec lists no synonyms.
            if (key == "1" || key == "true" || key == "oui" || key == "vrai" || key == "yes") return {std::int64_t{1}, Check::Ok, {}};
            if (key == "0" || key == "false" || key == "non" || key == "faux" || key == "no") return {std::int64_t{0}, Check::Ok, {}};
            return {std::monostate{}, Check::Invalid, "invalid_boolean: " + f.name + " " + quoted(text)};
        }
        case FieldType::Date: {
            if (auto iso = parse_date(text)) return {*iso, Check::Ok, {}};
            return {std::monostate{}, Check::Invalid, "invalid_date: " + f.name + " " + quoted(text)};
        }
    }
    return {std::string(text), Check::Ok, {}};
}

}  // namespace ideo::ingest
