#pragma once
// Zip archives built in memory with libzip: CSV and Shapefile extracts, DOCX.
#include <ctime>
#include <string>
#include <utility>
#include <vector>

namespace ideo::deci {

// (name inside the archive, bytes) in order, each dated `modified` (the extract's time); returns the archive's
// bytes. Throws Error on failure.
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& files, std::time_t modified = std::time(nullptr));

// A /vsimem/ path unique to this call, removed (with what lies under it) when the object dies.
struct MemPath {
    explicit MemPath(const std::string& suffix);
    ~MemPath();
    MemPath(const MemPath&) = delete;
    MemPath& operator=(const MemPath&) = delete;
    std::string path;
};

// The bytes of a /vsimem/ file ("" when absent).
std::string read_mem_file(const std::string& path);

}  // namespace ideo::deci
