#pragma once
// The harvested catalogue's one record model (DCAT-like), whatever protocol it came from: in core, since
// the catalogue parsers make it, the store keeps it and the harvester compares it.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ideo/core/geometry.hpp"

namespace ideo::catalog {

struct Distribution {
    std::string url;
    std::string title;
    std::string format;      // normalised: "GeoJSON", "Shapefile (zip)", "CSV", "XLSX", "GeoPackage", "WFS", "OGC API Features", "WMS", "PDF"...
    std::string protocol;    // service protocol when a service: "OGC:WFS", "OGC:WMS", "OGC API - Features", "download"
    std::string layer_name;  // the service's layer or feature type, when given
};

struct Record {
    std::string id;  // stable across harvests: "{partner}:{remote_id}"
    std::string title, description, publisher;
    std::vector<std::string> themes;    // the portal's 14 themes (mapped, configurable)
    std::vector<std::string> keywords;  // as published
    std::vector<std::string> topic_categories;  // ISO topic categories / INSPIRE themes as published
    std::optional<Envelope> bbox;       // WGS84
    std::string issued, modified;       // ISO 8601 as published (modified orders updates)
    std::string licence;
    std::vector<Distribution> distributions;
    std::string partner;       // the partner's id (layers/partners/*.json)
    std::string remote_id;     // the record's id at the partner
    std::string harvested_at;  // ISO 8601 UTC
    std::string feeds_layer;   // our layer this record's data is imported into, if any
    std::string original;         // the partner's document for this record, verbatim
    std::string original_format;  // "iso19139", "dc", "ckan", "udata", "dcat-rdfxml", "dcat-turtle", "dcat-jsonld", "ods"
    std::string content_hash;     // of the normalised record: unchanged records are not rewritten
    bool withdrawn = false;       // gone from the partner (kept, flagged, no longer listed)
    std::string withdrawn_at;     // ISO 8601 UTC
};

// Reads one record's original document when asked (the store keeps them; a server need not): nullopt when
// no record `id` with `content_hash` is held any more (harvested again since).
// The hash of the normalised record (everything but provenance times and the hash itself).
std::string content_hash(const Record& record);

// The record as JSON, and back (the store and the API share it). `with_original` adds the document.
std::string record_to_json(const Record& record, bool with_original);
Record record_from_json(std::string_view json);

using OriginalSource = std::function<std::optional<std::string>(const std::string& id, const std::string& content_hash)>;

}  // namespace ideo::catalog
