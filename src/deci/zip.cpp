#include "zip.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>

#include <zip.h>

#include <atomic>
#include <memory>

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

namespace {

[[noreturn]] void fail_zip(zip_error_t& error, const std::string& what) {
    const std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw Error("zip: cannot " + what + ": " + why);
}

}  // namespace

std::string make_zip(const std::vector<std::pair<std::string, std::string>>& files, std::time_t modified) {
    // libzip writes each entry's DOS date and time (GDAL's minizip leaves 1980-00-00) and the archive in memory.
    zip_error_t error;
    zip_error_init(&error);
    const auto fail = [&error](const std::string& what) { fail_zip(error, what); };
    zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
    if (!buffer) fail("create the archive");
    zip_source_keep(buffer);  // still ours once the archive is closed: its bytes are the answer
    const std::unique_ptr<zip_source_t, decltype(&zip_source_free)> owned(buffer, &zip_source_free);
    zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
    if (!archive) fail("open the archive");
    for (const auto& [name, bytes] : files) {
        zip_source_t* entry = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);  // read at zip_close
        const zip_int64_t index = entry ? zip_file_add(archive, name.c_str(), entry, ZIP_FL_ENC_UTF_8) : -1;
        if (index < 0) {
            if (entry) zip_source_free(entry);
            zip_error_set(&error, zip_error_code_zip(zip_get_error(archive)), 0);
            zip_discard(archive);
            fail("add " + name);
        }
        zip_file_set_mtime(archive, static_cast<zip_uint64_t>(index), modified, 0);
        zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_DEFLATE, 0);
    }
    if (zip_close(archive) != 0) {
        zip_error_set(&error, zip_error_code_zip(zip_get_error(archive)), 0);
        zip_discard(archive);
        fail("write the archive");
    }
    zip_error_fini(&error);
    zip_stat_t st;
    if (zip_source_stat(buffer, &st) != 0 || zip_source_open(buffer) != 0) throw Error("zip: cannot read the archive back");
    std::string out(static_cast<std::size_t>(st.size), '\0');
    const zip_int64_t got = zip_source_read(buffer, out.data(), out.size());
    zip_source_close(buffer);
    if (got < 0 || static_cast<std::size_t>(got) != out.size()) throw Error("zip: cannot read the archive back");
    return out;
}

}  // namespace ideo::deci
