#pragma once
// A harvest run: every partner fetched in parallel (bounded), each with its own HTTP client; geodata
// partners (wfs, oapif, file) go through the one import pipeline, catalogue partners (csw, ckan,
// udata, dcat, ods) through the catalogue module, then the data of their records linked to one of
// our layers through the same import pipeline. Incremental (conditional GET, content hashes) and
// resilient: a partner that fails keeps its last good data, and never stops the others.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "ideo/core/layer.hpp"
#include "ideo/harvest/http_client.hpp"
#include "ideo/harvest/partner.hpp"
#include "ideo/store/store.hpp"

namespace ideo::harvest {

using CatalogueHarvester = std::function<PartnerReport(const PartnerSpec&, HttpClient&, store::Store&)>;

struct RunOptions {
    std::size_t parallel = 4;  // partners harvested at once
    // Client defaults; a partner's requests_per_second and its options timeout_ms, max_retries,
    // backoff_ms, max_body, max_decoded_body and ca_file override them.
    HttpOptions http;
    std::string run_id;               // empty: a new one (new_run_id())
    std::filesystem::path work_dir;   // where downloads are kept during the run; empty: the system temp folder
    // Called from the partners' threads (serialised): one line of progress for people.
    std::function<void(const std::string& partner, const std::string& line)> progress;
    // The catalogue protocols' harvester (harvest_catalogue_partner); unset: those partners are reported as not harvested.
    CatalogueHarvester catalogue;
};

struct RunResult {
    std::string run_id, started_at, finished_at;
    std::vector<PartnerReport> reports;  // in the order of the partners given
    bool ok() const;                     // no partner kept its last good data after a failure
    std::string to_json() const;
};

// "20250101T120000Z-3fa2": sortable, unique enough for one store.
std::string new_run_id();

// Runs every partner once and records the reports in the store's history (ideo_harvest_runs).
RunResult run_harvest(const std::vector<PartnerSpec>& partners, const LayerCatalog& catalog, store::Store& store,
                      const RunOptions& options = {});

// The client options for one partner: the run's defaults with the partner's overrides.
HttpOptions http_options_for(const PartnerSpec& partner, const HttpOptions& defaults);

// A fetched partner file written into `dir` for import, named "download" plus the URL's extension, else
// one from its Content-Type (".zip", ".xlsx", ".geojson"...). An HTML page where a data file was expected
// (a portal's error or login page served with 200) is a FetchError quoting the start of the answer.
std::filesystem::path save_download(const HttpResponse& response, const std::filesystem::path& dir);

// "6h", "30m", "45s", "1d" (a bare number is seconds); throws InputError naming the text.
std::chrono::seconds parse_duration(const std::string& text);

}  // namespace ideo::harvest
