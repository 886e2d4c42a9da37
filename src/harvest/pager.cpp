#include "ideo/harvest/pager.hpp"

#include <set>

#include "ideo/core/url.hpp"

namespace ideo::harvest {
namespace {

[[noreturn]] void too_many(const PagingScheme& s, const HttpRequest& last) {
    throw FetchError(last.method + " " + last.url + ": more than " + std::to_string(s.max_pages) + " pages, giving up");
}

void by_number(const PagingScheme& s, const PageReader& read) {
    const bool position = s.kind == PagingScheme::Kind::Position;
    std::size_t start = position ? 1 : 0;
    for (std::size_t n = 0;; ++n) {
        const HttpRequest req = s.at(start);
        if (n >= s.max_pages) too_many(s, req);
        std::string final_url = req.url;
        const auto page = read(req, final_url);
        if (!page) return;
        if (position) {
            const std::size_t next = page->next_record.value_or(0);
            if (next == 0 || next <= start || (page->matched && next > *page->matched)) return;
            start = next;
        } else {
            start += page->returned;
            // The last page: empty, past the count, or short of a page when the server gives no count.
            if (page->returned == 0 || (page->matched ? start >= *page->matched : page->returned < s.page_size)) return;
        }
    }
}

void by_link(const PagingScheme& s, const PageReader& read) {
    std::set<std::string> visited;
    std::string next = s.first_url;
    for (std::size_t n = 0; !next.empty(); ++n) {
        const HttpRequest req = s.link(next);
        if (!visited.insert(req.url).second) {
            if (s.loop_fails) throw FetchError("GET " + req.url + ": the next link loops back to a page already read");
            return;
        }
        if (n >= s.max_pages) too_many(s, req);
        std::string final_url = req.url;
        const auto page = read(req, final_url);
        if (!page) return;
        next = page->next_url.empty() ? std::string() : url::resolve(final_url, page->next_url);
    }
}

}  // namespace

void page_through(const PagingScheme& scheme, const PageReader& read) {
    if (scheme.kind == PagingScheme::Kind::Link) by_link(scheme, read);
    else by_number(scheme, read);
}

}  // namespace ideo::harvest
