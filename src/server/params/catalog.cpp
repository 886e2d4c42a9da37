// Parameters of the catalogue (search, one record, DCAT export) and of the commune search.
#include "../parameters.hpp"

namespace ideo::server {
namespace {

const std::vector<std::string>& json_only() {
    static const std::vector<std::string> v{"json"};
    return v;
}

using K = ParameterKind;
constexpr Parameter text{.name = "q",
                         .description = "full text, accent- and case-insensitive: records holding every word first, then those "
                                        "holding most of them (\"match\": \"partial\"); one typo forgiven per word of five letters or more",
                         .max = 500};
constexpr Parameter themes{.name = "theme", .description = "comma-separated themes (any of them)", .kind = K::List};
constexpr Parameter publishers{.name = "publisher", .description = "comma-separated publishers (any of them)", .kind = K::List};
constexpr Parameter keywords{.name = "keyword", .description = "comma-separated keywords (any of them)", .kind = K::List};
constexpr Parameter formats{.name = "format", .description = "comma-separated distribution formats (any of them)", .kind = K::List};
constexpr Parameter bbox{.name = "bbox", .description = "minlon,minlat,maxlon,maxlat", .kind = K::Bbox};
constexpr Parameter limit{.name = "limit", .description = "records per page", .kind = K::Integer, .min = 1, .max = 1000, .default_integer = 20};
constexpr Parameter offset{.name = "offset", .description = "records skipped", .kind = K::Integer, .max = 100000000, .default_integer = 0};
constexpr Parameter f{.name = "f", .description = "encoding", .kind = K::Choice, .choices = json_only};
constexpr Parameter record_id{.name = "recordId", .description = "record id", .in = ParameterIn::Path};
constexpr Parameter page{.name = "page", .description = "page number", .kind = K::Integer, .min = 1, .max = 100000000, .default_integer = 1};
constexpr Parameter page_size{.name = "page_size", .description = "records per page", .kind = K::Integer, .min = 1, .max = 1000,
                              .default_integer = 100};
constexpr Parameter typed{.name = "q", .description = "a commune name, INSEE code or postcode", .required = true, .max = 200};
constexpr Parameter hits{.name = "limit", .description = "communes returned", .kind = K::Integer, .min = 1, .max = 50, .default_integer = 10};

constexpr Parameter records_list[] = {text, themes, publishers, keywords, formats, bbox, limit, offset, f};
constexpr Parameter record_list[] = {record_id, f};
constexpr Parameter dcat_list[] = {page, page_size};
constexpr Parameter commune_search_list[] = {typed, hits};

std::vector<std::string> list_of(const Parameter& p, const QueryParams& q) {
    const std::string* v = p.find(q);
    return v ? p.list(*v) : std::vector<std::string>{};
}

}  // namespace

catalog::SearchQuery parse_catalog_records_parameters(const QueryParams& q) {
    reject_unknown_parameters(q, records_list);
    if (const std::string* v = f.find(q)) f.choice(*v);
    catalog::SearchQuery sq;
    if (const std::string* v = text.find(q)) sq.q = text.text(*v);
    sq.themes = list_of(themes, q);
    sq.publishers = list_of(publishers, q);
    sq.keywords = list_of(keywords, q);
    sq.formats = list_of(formats, q);
    if (const std::string* v = bbox.find(q)) sq.bbox = bbox.bbox(*v);
    sq.limit = static_cast<std::size_t>(limit.integer_or_default(q));
    sq.offset = static_cast<std::size_t>(offset.integer_or_default(q));
    return sq;
}

std::span<const Parameter> catalog_records_parameters() { return records_list; }

void parse_catalog_record_parameters(const QueryParams& q) {
    reject_unknown_parameters(q, record_list);
    if (const std::string* v = f.find(q)) f.choice(*v);
}

std::span<const Parameter> catalog_record_parameters() { return record_list; }

DcatParameters parse_dcat_parameters(const QueryParams& q) {
    reject_unknown_parameters(q, dcat_list);
    DcatParameters p;
    p.page = static_cast<std::size_t>(page.integer_or_default(q));
    p.page_size = static_cast<std::size_t>(page_size.integer_or_default(q));
    return p;
}

std::span<const Parameter> dcat_parameters() { return dcat_list; }

CommuneSearchParameters parse_commune_search_parameters(const QueryParams& q) {
    reject_unknown_parameters(q, commune_search_list);
    CommuneSearchParameters p;
    p.q = typed.text(*typed.find(q));
    p.limit = static_cast<std::size_t>(hits.integer_or_default(q));
    return p;
}

std::span<const Parameter> commune_search_parameters() { return commune_search_list; }

}  // namespace ideo::server
