#pragma once
// The mayor's download: PEI, ERP and ICPE of a commune in one file.
#include <string>

#include "ideo/index/snapshot.hpp"

namespace ideo::deci {

struct ExtractFile {
    std::string filename;      // DECI_{insee}_{Commune}_{date}.{ext}
    std::string content_type;
    std::string bytes;
};

struct ExtractRequest {
    std::string insee;
    std::string format = "xlsx";  // xlsx (others with the DECI issue)
    std::string crs = "EPSG:2154";
};

// Throws InputError for an unknown commune or format (the message names it).
ExtractFile build_extract(const index::Snapshot& snapshot, const ExtractRequest& request);

}  // namespace ideo::deci
