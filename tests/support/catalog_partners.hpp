#pragma once
// Generated catalogue partners (scripts/bench/catalog/make_catalog.py) served by the partner
// simulator: one route per partner at its path, answering its protocol's paging (CSW
// startPosition/maxRecords in GET or POST with nextRecord, CKAN rows/start, udata page/page_size
// with next_page, Hydra page with hydra:nextPage, ODS limit/offset) with ETag, Last-Modified and 304.
//
//   PartnerSimulator sim;
//   serve_catalogue_partners(sim, "/tmp/catalog");   // again after the generator rewrote it: the new state
#include <filesystem>
#include <string>
#include <vector>

#include "partner_simulator.hpp"

namespace ideo::test {

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
