#pragma once
// The plain HTML view of the API, for people: escaped text in one small, clean page template.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ideo::server {

// Text made safe inside HTML elements and attribute values.
void append_html(std::string& out, std::string_view text);
std::string html_escape(std::string_view text);

// A whole page: title, breadcrumb trail (label, href; last without link) and the body's HTML.
std::string html_page(std::string_view title, const std::vector<std::pair<std::string, std::string>>& trail,
                      std::string_view body);

// One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break.
void append_csv(std::string& out, std::string_view cell);

}  // namespace ideo::server
