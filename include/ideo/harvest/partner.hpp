#pragma once
// Partners as data: layers/partners/*.json, one file per partner portal.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "ideo/core/layer.hpp"

namespace ideo::harvest {

struct PartnerSpec {
    std::string id;        // "geoide-ddt24"
    std::string name;      // "DDT de la Dordogne (Géo-IDE)"
    std::string protocol;  // csw | ckan | udata | dcat | ods | wfs | oapif | file
    std::string url;       // the endpoint (catalogue) or resource (geodata)
    std::string layer;     // geodata protocols: the layer fed (pei, erp, icpe...)
    bool withdraw_missing = true;     // records gone from the partner are withdrawn
    bool import_linked = true;        // catalogues: records whose distribution feeds one of our layers are imported into it
    double requests_per_second = 0;   // politeness; 0 = no limit
    int page_size = 100;
    std::map<std::string, std::string> options;  // protocol specifics: typeName, outputSchema, method=POST...
    std::filesystem::path file;  // where the spec was read from
};

// Reads every *.json of dir (layers/partners); errors name the file and the key.
std::vector<PartnerSpec> load_partners(const std::filesystem::path& dir);

// The sources declared in the layer files (layers/*.json) as partners feeding their layer, so they are
// harvested like any partner: conditional GET or content hash, a report, the run history. A source id
// used by two layers is an error naming both files (it keys the harvest state and the run history).
std::vector<PartnerSpec> partners_of_layers(const LayerCatalog& catalog);

// A catalogue record's data imported into the layer the record is linked to (import_linked).
struct LinkedImport {
    std::string record;  // the catalogue record's id ("{partner}:{remote_id}"), also the features' provenance source
    std::string layer;   // pei, erp, icpe
    std::string distribution, url;  // what was chosen ("Shapefile (zip)", "WFS gw:pei") and fetched
    std::string status;  // imported | unchanged | withdrawn | failed | skipped
    std::size_t added = 0, updated = 0, unchanged = 0, withdrawn = 0, rejected = 0;  // features
    std::string reason;  // failed: why (the layer keeps its last good data); skipped: why nothing could be imported
};

// What one run did with one partner.
struct PartnerReport {
    std::string partner, protocol, started_at, finished_at;
    std::size_t added = 0, updated = 0, unchanged = 0, withdrawn = 0, failed = 0;
    std::size_t pages = 0, pages_unchanged = 0;  // catalogues: answer pages read, and those unchanged (304 or same SHA-256), not parsed
    bool downloaded_nothing = false;      // every resource answered 304 or an unchanged hash
    bool kept_last_good = false;          // the run failed and the last published data was kept
    std::vector<std::string> failures;    // "GET http://...: HTTP 503 after 3 retries", "record 12 (id): invalid XML at line 4, column 7"
    std::vector<LinkedImport> imports;    // catalogues: the linked records' data, one entry per record linked to a layer
    std::string to_json() const;
};

}  // namespace ideo::harvest
