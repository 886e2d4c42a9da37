#include "ideo/core/text.hpp"

#include <charconv>
#include <cstdio>

#include <chrono>
#include <cstdint>
#include <ctime>

namespace ideo::text {
namespace {

// Decodes one UTF-8 code point at s[i]; returns it and advances i (invalid bytes yield U+FFFD).
char32_t next_code_point(std::string_view s, size_t& i) {
    const auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
        ++i;
        return 0xFFFD;
    }
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += len;
    return cp;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Base letters of U+00C0..U+017F, lower case ('\0' = not a letter to fold).
constexpr const char* kLatin1Base =
    "aaaaaaaceeeeiiii" "dnooooo\0ouuuuyts"   // C0-DF (D7 is ×, DF is ß -> 's' as first of "ss")
    "aaaaaaaceeeeiiii" "dnooooo\0ouuuuyty";  // E0-FF (F7 is ÷)
constexpr const char* kLatinExtA =
    "aaaaaaccccccccdd" "ddeeeeeeeeeegggg"    // 100-11F
    "gggghhhhiiiiiiii" "iiiijjkkklllllll"    // 120-13F (approximate for ij)
    "lllnnnnnnnnnoooo" "oooorrrrrrssssss"    // 140-15F (152/153 œ handled apart)
    "ssttttttuuuuuuuu" "uuuuwwyyyzzzzzzs";   // 160-17F

// Lower-case ASCII base of a Latin letter, or 0 when the code point is not one we fold.
std::string fold_cp(char32_t cp) {
    if (cp < 0x80) return std::string(1, static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
    if (cp == 0x152 || cp == 0x153) return "oe";
    if (cp == 0xC6 || cp == 0xE6) return "ae";
    if (cp == 0xDF) return "ss";
    if (cp == 0xB2) return "2";
    if (cp == 0xB3) return "3";
    if (cp >= 0xC0 && cp <= 0xFF) {
        char b = kLatin1Base[cp - 0xC0];
        return b ? std::string(1, b) : std::string();
    }
    if (cp >= 0x100 && cp <= 0x17F) {
        size_t k = cp - 0x100;
        if (k < std::char_traits<char>::length(kLatinExtA)) return std::string(1, kLatinExtA[k]);
    }
    return {};
}

// Windows-1252 0x80..0x9F; 0 where the code page leaves the byte undefined.
constexpr char16_t kCp1252High[32] = {0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                      0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
                                      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                      0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

}  // namespace

bool is_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (len == 0 || i + len > s.size()) return false;
        if (len == 2 && c < 0xC2) return false;  // overlong
        for (int k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

std::string cp1252_to_utf8(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() + bytes.size() / 8);
    for (char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x80) out += ch;
        else if (c < 0xA0) append_utf8(out, kCp1252High[c - 0x80] ? kCp1252High[c - 0x80] : 0xFFFD);
        else append_utf8(out, c);
    }
    return out;
}

std::string fold_key(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    bool pending_sep = false;
    size_t i = 0;
    while (i < s.size()) {
        const std::string f = fold_cp(next_code_point(s, i));
        for (char c : f) {
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                if (pending_sep && !out.empty()) out += '_';
                pending_sep = false;
                out += c;
            } else {
                pending_sep = true;
            }
        }
        if (f.empty()) pending_sep = true;
    }
    return out;
}

std::string fold_accents_lower(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        const char32_t cp = next_code_point(s, i);
        const std::string f = fold_cp(cp);
        if (!f.empty()) out += f;
        else append_utf8(out, cp);
    }
    return out;
}

std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && static_cast<unsigned char>(s[b]) <= ' ') ++b;
    while (e > b && static_cast<unsigned char>(s[e - 1]) <= ' ') --e;
    return std::string(s.substr(b, e - b));
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string percent_decode(std::string_view s) {
    const auto hex = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(static_cast<unsigned char>(c)) - 'a' + 10); };
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string now_iso8601() {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string today_iso() { return now_iso8601().substr(0, 10); }

std::string real(double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 15);
    return std::string(buf, r.ptr);
}

namespace {
// Appends n zero-padded digits of v (v >= 0).
void digits(std::string& out, int v, int n) {
    char buf[12];
    for (int i = n - 1; i >= 0; --i, v /= 10) buf[i] = static_cast<char>('0' + v % 10);
    out.append(buf, static_cast<std::size_t>(n));
}
}  // namespace

std::string iso_date(int year, int month, int day) {
    if (year < 0 || year > 9999 || month < 0 || month > 99 || day < 0 || day > 99) {  // what printf writes for the odd value
        char buf[40];
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
        return buf;
    }
    std::string out;
    out.reserve(10);
    digits(out, year, 4);
    out += '-';
    digits(out, month, 2);
    out += '-';
    digits(out, day, 2);
    return out;
}

std::string iso_datetime(int year, int month, int day, int hour, int minute, int second) {
    std::string out = iso_date(year, month, day);
    if (hour < 0 || hour > 99 || minute < 0 || minute > 99 || second < 0 || second > 99) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "T%02d:%02d:%02d", hour, minute, second);
        return out + buf;
    }
    out += 'T';
    digits(out, hour, 2);
    out += ':';
    digits(out, minute, 2);
    out += ':';
    digits(out, second, 2);
    return out;
}

void append_xml(std::string& out, std::string_view s) {
    for (const char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default:
                if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') out += c;
        }
    }
}

std::string xml_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    append_xml(out, s);
    return out;
}

bool parse_iso_date(std::string_view s, int& y, int& m, int& d) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (s[i] < '0' || s[i] > '9') return false;
    const auto num = [&](std::size_t at, std::size_t len) {
        int v = 0;
        for (std::size_t i = at; i < at + len; ++i) v = v * 10 + (s[i] - '0');
        return v;
    };
    y = num(0, 4);
    m = num(5, 2);
    d = num(8, 2);
    return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

}  // namespace ideo::text
