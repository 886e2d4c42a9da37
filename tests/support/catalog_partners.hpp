#pragma once
// Generated catalogue partners (scripts/bench/catalog/make_catalog.py) served by the partner
// simulator: one route per partner at its path, answering its protocol's paging (CSW
// startPosition/maxRecords in GET or POST with nextRecord, CKAN rows/start, udata page/page_size
// with next_page, Hydra page with hydra:nextPage, ODS limit/offset) with ETag, Last-Modified and 304.
//
//   PartnerSimulator sim;
//   serve_catalogue_partners(sim, "/tmp/catalog");   // again after the generator rewrote it: the new state
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "partner_simulator.hpp"

namespace ideo::test {

// One partner's catalogue as the simulator pages it: its records, each one document in the
// protocol's shape, and the real envelope of its answers cut around them (head, separator, tail,
// with {{matched}}, {{returned}}, {{next_record}}, {{next_url_json}}... filled in per request).
struct PagedCatalogue {
    std::string id, path;  // path: what the simulator answers, e.g. "/ddt21/csw/csw"
    std::string paging;    // csw | ckan | offset | udata | hydra | single (the whole list, no paging)
    std::string content_type, schema, head, separator, tail, next;
    bool lead = false;  // every record is preceded by the separator (JSON-LD: the catalogue node comes first)
    std::size_t max_page = 100, default_page = 10;
    std::vector<std::string> docs;
    std::vector<std::time_t> modified;  // per record: the answer's Last-Modified is the latest of its page
    std::string timestamp;  // the latest modification, ISO 8601: the CSW SearchStatus stamp
};

// Answers requests to catalogue.path with its protocol's paging, ETag and 304; serve_paged_catalogue routes it.
SimHandler paged_catalogue_handler(std::shared_ptr<const PagedCatalogue> catalogue);
void serve_paged_catalogue(PartnerSimulator& sim, std::shared_ptr<const PagedCatalogue> catalogue);

// A file's bytes; throws naming the file.
std::string slurp(const std::filesystem::path& p);

// A CSW GetRecords value (startPosition, maxRecords, outputSchema): the query parameter of a GET, the
// attribute of a POST body's csw:GetRecords; "" when absent.
std::string csw_request_value(const SimRequest& r, const std::string& name);

struct ServedPartner {
    std::string id, path;  // path: what the simulator answers, e.g. "/ddt21/csw/csw"
    std::size_t records = 0;
};

// Reads dir/partners/*/sim.json and records.jsonl and routes each partner; throws on a malformed file.
std::vector<ServedPartner> serve_catalogue_partners(PartnerSimulator& sim, const std::filesystem::path& dir);

// Each partner's layers/partners file (dir/partners/<id>/partner.json) with its URL on this simulator,
// written into partners_dir.
void write_partner_files(const PartnerSimulator& sim, const std::filesystem::path& dir,
                         const std::filesystem::path& partners_dir);

}  // namespace ideo::test
