#pragma once
// The one pager of every partner protocol: CSW (startPosition/nextRecord), CKAN (rows/start), ODS
// (limit/offset), WFS 2.0 (count/startIndex), udata, DCAT/Hydra and OGC API Features (next links).
// It decides which page comes next and when the last was read; the caller fetches and reads each page.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "ideo/harvest/http_client.hpp"

namespace ideo::harvest {

// What a page said of the paging (the protocol's reader fills what it found).
struct PageInfo {
    std::optional<std::size_t> matched;      // numberOfRecordsMatched, count, total_count, numberMatched
    std::size_t returned = 0;                // records or features on this page
    std::optional<std::size_t> next_record;  // CSW nextRecord (0 = no more)
    std::string next_url;                    // the next link as given (resolved here against the page's URL)
};

struct PagingScheme {
    enum class Kind {
        Offset,    // a 0-based offset advanced by what each page returned (CKAN, ODS, WFS)
        Position,  // a 1-based position the server names in each page (CSW nextRecord)
        Link,      // next links (udata next_page, hydra:next, OGC API rel="next")
    };
    Kind kind = Kind::Offset;
    std::size_t page_size = 100;
    // Offset and Position: the request of the page that starts at `start`.
    std::function<HttpRequest(std::size_t start)> at;
    // Link: the first URL, and the request of a URL.
    std::string first_url;
    std::function<HttpRequest(const std::string& url)> link;
    // Link: a next link back to a page already read is an error (true) or the end (false).
    bool loop_fails = false;
    std::size_t max_pages = 100000;  // a partner whose paging never ends is cut, and the cut reported
};

// Reads a page: nullopt stops the paging (the caller has reported why). The page's URL is the request's;
// `final_url` (after redirects) resolves its next link when the reader sets it.
using PageReader = std::function<std::optional<PageInfo>(const HttpRequest& request, std::string& final_url)>;

// Pages through until the scheme says the last page was read or `read` stops; throws FetchError when
// the paging loops (Link with loop_fails) or runs past max_pages.
void page_through(const PagingScheme& scheme, const PageReader& read);

}  // namespace ideo::harvest
