#pragma once
// The real catalogue answers of ../shared/data/catalog served by the partner simulator with each
// protocol's paging: recorded answer pages, each served when a request asks for its position;
// complete recorded answers cut into their records and paged again inside the partner's own
// envelope (catalog_partners.hpp); and udata's recorded harvests (catalog/udata_snapshots/)
// replayed, matched on the paging semantics rather than on udata's exact URLs. The harvest tests
// use them, and so does the demo (ideo-partner-sim --recorded, serve_demo_partners).
//
//   PartnerSimulator sim;
//   const auto h = load_recorded_harvest(data("catalog/udata_snapshots/ckan-datasud.json"));
//   serve_recorded_harvest(sim, h);          // harvest sim.url(h.target) with protocol h.protocol
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "catalog_partners.hpp"

namespace ideo::test {

// A complete CSW GetRecords answer cut around csw:SearchResults' records (paging "csw"); counts and
// nextRecord become placeholders, the rest of the envelope stays as recorded.
PagedCatalogue cut_csw_answer(const std::string& xml);

// A complete JSON answer cut around the array at records_pointer (a JSON Pointer, "/result/results");
// the number at count_pointer becomes {{matched}}. Paging left for the caller to set.
PagedCatalogue cut_json_answer(const std::string& json, const std::string& records_pointer,
                               const std::string& count_pointer);

// Recorded pages of one partner, each served when a request asks for its position: CSW startPosition
// (GET or POST), or `page` (Hydra, udata). Links to recorded_base are rewritten to the simulator.
struct RecordedPages {
    std::string path, position, content_type;
    std::map<std::size_t, std::string> pages;  // position -> the recorded answer
    std::string recorded_base;
    std::string last_modified = "Wed, 30 Jul 2025 09:00:00 GMT";
};
void serve_recorded_pages(PartnerSimulator& sim, const RecordedPages& pages);

// One of udata's recorded harvests (udata_snapshots/*.json): the exchanges with the partner's host.
struct RecordedExchange {
    std::string method, path;
    std::map<std::string, std::string> params;  // the request's query parameters, decoded
    int status = 200;
    std::string content_type, body;
};

struct RecordedHarvest {
    std::string protocol;  // ideo's protocol for it: csw, ckan or ods
    std::string target;    // the partner on the simulator: prefix + recorded path + query, paging parameters left out
    std::map<std::string, std::string> options;  // method=POST when the recorded harvest POSTed GetRecords
    PagedCatalogue listing;  // the answer that lists the records, cut into them and paged again
    RecordedExchange listing_request;  // its recorded request (the non-paging parameters must be asked again)
    std::vector<RecordedExchange> others;  // HEAD, CKAN package_show...: answered as recorded
    std::vector<std::string> titles;  // the datasets udata made of the records (the snapshot's "datasets")
};

// Reads a snapshot; prefix is put before every recorded path (several partners on one simulator).
RecordedHarvest load_recorded_harvest(const std::filesystem::path& snapshot, const std::string& prefix = "");
void serve_recorded_harvest(PartnerSimulator& sim, const RecordedHarvest& harvest);

// udata API v1 (/api/1/datasets/, page and page_size, next_page): the datasets udata wrote in its
// recorded harvests, listed in udata's API envelope.
PagedCatalogue udata_datasets(const std::vector<std::filesystem::path>& snapshots, const std::string& path);

// The demo's catalogue partners, all from the real answers of catalog_dir (../shared/data/catalog):
// udata's three recorded harvests (Géo-IDE CSW POST, DataSud CKAN, Cap Atlantique's OpenDataSoft
// DCAT export), GeoNetwork's CSW pages in ISO 19139 and in DCAT, the Géoplateforme's ISO record,
// udata's Hydra-paged JSON-LD, ckanext-dcat's RDF/XML, a GeoNetwork GeoDCAT-AP export.
struct DemoPartner {
    std::string id, name, protocol, target;  // target: path and query on the simulator
    std::map<std::string, std::string> options;
};
std::vector<DemoPartner> serve_demo_partners(PartnerSimulator& sim, const std::filesystem::path& catalog_dir);

// One partner file per demo partner (ideo harvest --partners DIR), its URL on this simulator.
void write_demo_partner_files(const PartnerSimulator& sim, const std::vector<DemoPartner>& partners,
                              const std::filesystem::path& dir);

}  // namespace ideo::test
