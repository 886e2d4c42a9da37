#include "html.hpp"

#include "ideo/core/text.hpp"

namespace ideo::server {

void append_html(std::string& out, std::string_view text) { text::append_xml(out, text); }

std::string html_escape(std::string_view text) { return text::xml_escape(text); }

std::string html_page(std::string_view title, const std::vector<std::pair<std::string, std::string>>& trail,
                      std::string_view body) {
    std::string out =
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>";
    append_html(out, title);
    out += "</title><style>"
           "body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem 1.5rem;color:#1b1b1b}"
           "nav{color:#666;margin-bottom:1rem}nav a{color:#0a58ca}a{color:#0a58ca;text-decoration:none}a:hover{text-decoration:underline}"
           "table{border-collapse:collapse;width:100%;font-size:14px}th,td{border-bottom:1px solid #e3e3e3;padding:.3rem .5rem;text-align:left;vertical-align:top}"
           "th{background:#f5f6f8;position:sticky;top:0}.pager a{margin-right:1rem}.muted{color:#666}"
           "</style></head><body><nav>";
    for (std::size_t i = 0; i < trail.size(); ++i) {
        if (i) out += " / ";
        if (i + 1 < trail.size() && !trail[i].second.empty()) {
            out += "<a href=\"";
            append_html(out, trail[i].second);
            out += "\">";
            append_html(out, trail[i].first);
            out += "</a>";
        } else {
            append_html(out, trail[i].first);
        }
    }
    out += "</nav><h1>";
    append_html(out, title);
    out += "</h1>\n";
    out += body;
    out += "\n</body></html>\n";
    return out;
}

void append_csv(std::string& out, std::string_view cell) {
    if (cell.find_first_of(",\"\r\n") == std::string_view::npos) {
        out += cell;
        return;
    }
    out += '"';
    for (const char c : cell) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

}  // namespace ideo::server
