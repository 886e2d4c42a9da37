#pragma once
// Catalogue records whose data feeds one of our layers (catalog::Record::feeds_layer, set by the
// rules of layers/catalog/themes.json): which of the record's distributions is imported, and as
// what geodata partner, so it goes through the same fetch and import as a wfs, oapif or file partner.
#include <optional>
#include <string>

#include "ideo/core/catalog_record.hpp"
#include "ideo/harvest/partner.hpp"

namespace ideo::harvest {

struct LinkedSource {
    PartnerSpec partner;       // id = the record's id (the features' provenance source); protocol wfs | oapif | file
    std::string distribution;  // what was chosen, for the report: "GeoJSON", "WFS sdis21:pei"
};

// The one distribution of `record` imported into record.feeds_layer, as a partner of its own; nullopt
// with `why_not` set when the record has none we can read (the reason names what it has).
std::optional<LinkedSource> linked_source(const PartnerSpec& catalogue, const catalog::Record& record, std::string& why_not);

}  // namespace ideo::harvest
