#pragma once
// Catalogue answers of partner portals to records: pure functions over the bytes received.
// A document that cannot be read at all throws ParseError (with its position); a record that
// cannot be used is reported in `failures` and the others are kept.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ideo/core/catalog_record.hpp"
#include "ideo/core/error.hpp"

namespace ideo::catalog {

class ParseError : public InputError {
public:
    using InputError::InputError;
};

struct RecordFailure {
    std::size_t position = 0;  // 1-based rank of the record in the document
    std::string remote_id;     // when it could be read
    std::string reason;        // "schema defect: unexpected element gmd:nosuchelement at line 3"
    std::string to_string() const;
};

struct Paging {
    std::optional<std::size_t> matched;   // numberOfRecordsMatched, count, total_count, hydra:totalItems
    std::optional<std::size_t> returned;  // numberOfRecordsReturned
    std::optional<std::size_t> next_record;  // CSW nextRecord (0 = no more)
    std::string next_url;  // udata next_page, hydra:next / hydra:nextPage, ODS next link: empty = last page
};

struct ParseResult {
    std::vector<Record> records;
    std::vector<RecordFailure> failures;
    Paging paging;
};

// CSW 2.0.2 GetRecords / GetRecordById answers, or a bare gmd:MD_Metadata: ISO 19139, Dublin Core
// (csw:Record) and GeoNetwork's DCAT output (rdf:RDF) records.
ParseResult parse_csw(std::string_view xml);

// CKAN action API: package_search (result.results[], result.count) or package_show (result).
ParseResult parse_ckan(std::string_view json);

// udata API v1: /api/1/datasets/ pages (data[], next_page, total) or one dataset.
ParseResult parse_udata(std::string_view json);

// OpenDataSoft: v2.1 catalog (results[], total_count, links next), v2.0 (datasets[].dataset) and v1 (datasets[]).
ParseResult parse_ods(std::string_view json);

enum class RdfSyntax { RdfXml, Turtle, JsonLd };
// The syntax from the Content-Type, else from the body's first characters.
RdfSyntax sniff_rdf_syntax(std::string_view content_type, std::string_view body);

// DCAT catalogues (dcat:Dataset nodes with their distributions), with Hydra paging.
// base_uri resolves relative IRIs (the page's URL).
ParseResult parse_dcat(std::string_view body, RdfSyntax syntax, const std::string& base_uri = "http://localhost/");

}  // namespace ideo::catalog
