#pragma once
// The import report: what each record became and why. Shared by ingest, store, harvest and the CLI.
#include <cstddef>
#include <string>
#include <vector>

namespace ideo {

enum class Outcome {
    Published,   // clean, published as read
    Repaired,    // published after a repair (synonym code, swapped coordinates, INSEE from the location)
    Flagged,     // published with a flag: a value dropped (negative flow, impossible date), no location...
    Rejected,    // kept in quarantine, not published
    Superseded,  // a duplicate identifier that lost to a later record
};
const char* to_string(Outcome o);

// One record that was not simply published as read.
struct RecordReport {
    std::size_t row = 0;  // 1-based position of the record in the partner file
    std::string id;       // its identifier as published by the partner (may be empty)
    Outcome outcome = Outcome::Published;
    std::vector<std::string> reasons;  // machine codes with details: "swapped_coordinates: swapped back into 21231"
};

// A rejected record as it was read, kept so nothing a partner sent is lost.
struct Quarantined {
    std::size_t row = 0;
    std::string id;
    std::string reason;
    std::string record_json;  // the partner's fields, verbatim, as a JSON object
};

struct Report {
    std::string layer, source, file;
    std::string started_at, finished_at;
    std::size_t read = 0, published = 0, repaired = 0, flagged = 0, rejected = 0, superseded = 0;
    std::size_t without_location = 0;  // published records absent from maps
    std::vector<std::string> warnings;  // file-level: a required field absent, an unknown column, the CRS used...
    std::vector<RecordReport> records;  // every record that was not published as read

    std::string to_text() const;  // for people: counts, then one line per record
    std::string to_json() const;  // for machines
};

}  // namespace ideo
