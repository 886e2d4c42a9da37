#pragma once
// Commune search for the map page: by name (accent- and case-insensitive), INSEE code or postcode,
// over the communes layer of a snapshot, with postcodes from a shared reference list.
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ideo/core/geometry.hpp"
#include "ideo/index/snapshot.hpp"

namespace ideo::index {

struct CommuneHit {
    std::string insee, nom;
    std::vector<std::string> postcodes;
    Envelope bbox;  // lon/lat
};

// Postcodes by INSEE code from a list of {"code", "codesPostaux": [...]} objects
// (@etalab/decoupage-administratif); throws InputError naming the file.
std::map<std::string, std::vector<std::string>, std::less<>> read_postcodes(const std::filesystem::path& file);

// The postcode list a layer file names with its top-level "postcodes" key (a path relative to the
// layer file's folder), or an empty path when it names none.
std::filesystem::path postcodes_path(const LayerSpec& communes);

class CommuneSearch {
public:
    CommuneSearch(const LayerData& communes, std::map<std::string, std::vector<std::string>, std::less<>> postcodes);

    // Best matches first: exact code, postcode or name; then name, code or postcode prefixes; then
    // a word of the name starting with the query; then the name containing it. Empty query: none.
    std::vector<CommuneHit> search(std::string_view query, std::size_t limit) const;

    // The snapshot's search, built on first use (postcodes read then; a missing list only warns).
    static std::shared_ptr<CommuneSearch> of(const Snapshot& snapshot);

private:
    struct Entry {
        CommuneHit hit;
        std::string key;  // folded name, separators as single spaces
    };
    std::vector<Entry> entries_;
};

// Lower case, accents removed, runs of spaces, hyphens and apostrophes as one space, trimmed:
// "Saint-Étienne" and "saint etienne" give the same key.
std::string search_key(std::string_view s);

}  // namespace ideo::index
