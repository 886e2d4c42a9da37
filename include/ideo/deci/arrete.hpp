#pragma once
// The draft municipal DECI order (arrêté communal de DECI) as an Office Open XML document (DOCX)
// a mayor edits in Word or LibreOffice: visas, articles, the commune's PEI inventory in annex, the
// ERP and ICPE as risks, and a summary of what to fix.
#include <string>

#include "ideo/deci/extract.hpp"
#include "ideo/deci/rules.hpp"
#include "ideo/index/snapshot.hpp"

namespace ideo::deci {

// Throws InputError for an unknown commune.
ExtractFile build_arrete(const index::Snapshot& snapshot, const Rules& rules, const std::string& insee);

}  // namespace ideo::deci
