#include "zip.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>

#include <atomic>

#include "ideo/core/error.hpp"

namespace ideo::deci {

MemPath::MemPath(const std::string& suffix) {
    static std::atomic<unsigned long> counter{0};
    path = "/vsimem/ideo-deci-" + std::to_string(counter++) + suffix;  // one per call: threads never share
}

MemPath::~MemPath() {
    VSIRmdirRecursive(path.c_str());
    VSIUnlink(path.c_str());
}

std::string read_mem_file(const std::string& path) {
    vsi_l_offset size = 0;
    GByte* bytes = VSIGetMemFileBuffer(path.c_str(), &size, FALSE);
    return bytes ? std::string(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(size)) : std::string();
}

std::string make_zip(const std::vector<std::pair<std::string, std::string>>& files) {
    MemPath zip(".zip");
    void* handle = CPLCreateZip(zip.path.c_str(), nullptr);
    if (!handle) throw Error("zip: cannot create " + zip.path + ": " + CPLGetLastErrorMsg());
    bool ok = true;
    for (const auto& [name, bytes] : files) {
        ok = ok && CPLCreateFileInZip(handle, name.c_str(), nullptr) == CE_None;
        ok = ok && CPLWriteFileInZip(handle, bytes.data(), static_cast<int>(bytes.size())) == CE_None;
        ok = ok && CPLCloseFileInZip(handle) == CE_None;
        if (!ok) break;
    }
    ok = CPLCloseZip(handle) == CE_None && ok;
    if (!ok) throw Error(std::string("zip: cannot write the archive: ") + CPLGetLastErrorMsg());
    return read_mem_file(zip.path);
}

}  // namespace ideo::deci
