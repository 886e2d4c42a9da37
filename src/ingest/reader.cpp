#include "reader.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"
#include "ideo/index/crs.hpp"

namespace ideo::ingest {
namespace {

namespace fs = std::filesystem;

void register_gdal() {
    static std::once_flag once;
    std::call_once(once, [] { GDALAllRegister(); });
}

std::string lower_extension(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

std::string last_gdal_error() {
    const std::string msg = CPLGetLastErrorMsg();
    return msg.empty() ? "not a readable vector file" : msg;
}

// A cell as text: reals without binary noise (91.1, not 91.09999999999999), dates as ISO.
std::optional<std::string> cell_text(OGRFeature& f, int i) {
    if (!f.IsFieldSetAndNotNull(i)) return std::nullopt;
    const OGRFieldType type = f.GetFieldDefnRef(i)->GetType();
    std::string s;
    if (type == OFTReal) {
        s = text::real(f.GetFieldAsDouble(i));
    } else if (type == OFTDate || type == OFTDateTime) {
        int y = 0, m = 0, d = 0, hh = 0, mm = 0, tz = 0;
        float ss = 0;
        f.GetFieldAsDateTime(i, &y, &m, &d, &hh, &mm, &ss, &tz);
        s = type == OFTDate ? text::iso_date(y, m, d) : text::iso_datetime(y, m, d, hh, mm, static_cast<int>(ss));
    } else {
        s = f.GetFieldAsString(i);
    }
    s = text::trim(s);
    if (s.empty()) return std::nullopt;
    return s;
}

// Declared encodings that mean "single-byte Western European": converted as Windows-1252, its superset.
bool is_western_single_byte(const std::string& encoding) {
    const std::string k = text::fold_key(encoding);
    return k == "cp1252" || k == "windows_1252" || k == "win1252" || k == "iso_8859_1" || k == "iso8859_1" ||
           k == "latin1" || k == "latin_1" || k == "iso_8859_15" || k == "latin9" || k == "ansi";
}

}  // namespace

QuietGdal::QuietGdal() {
    register_gdal();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
}

QuietGdal::~QuietGdal() { CPLPopErrorHandler(); }

PartnerFile::PartnerFile(const std::string& path, const SourceSpec& source) : path_(path) {
    register_gdal();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw InputError(path + ": file not found");
    const std::string ext = lower_extension(path);
    std::string gdal_path = path;
    std::vector<std::string> options;

    if (ext == ".csv" || ext == ".tsv" || ext == ".txt") {
        std::ifstream in(path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        bytes_ = ss.str();
        if (bytes_.starts_with("\xEF\xBB\xBF")) bytes_.erase(0, 3);
        if (text::trim(bytes_).empty()) throw InputError(path + ": empty file, no header line");
        const std::string k = text::fold_key(source.encoding);
        const bool declared_utf8 = k == "utf_8" || k == "utf8";
        if ((!source.encoding.empty() && !declared_utf8 && is_western_single_byte(source.encoding)) ||
            (source.encoding.empty() && !text::is_utf8(bytes_))) {
            bytes_ = text::cp1252_to_utf8(bytes_);
            if (source.encoding.empty()) notes_.push_back("encoding: not UTF-8, read as Windows-1252");
        } else if (!source.encoding.empty() && !declared_utf8) {
            throw InputError(path + ": unsupported declared encoding \"" + source.encoding + "\"");
        }
        // GDAL's CSV driver only takes .csv/.tsv names; the header line tells it the separator (; , tab).
        static std::atomic<unsigned> counter{0};
        vsimem_ = "/vsimem/ideo-ingest-" + std::to_string(counter++) + (ext == ".tsv" ? ".tsv" : ".csv");
        VSILFILE* f = VSIFileFromMemBuffer(vsimem_.c_str(), reinterpret_cast<GByte*>(bytes_.data()), bytes_.size(), FALSE);
        if (!f) throw InputError(path + ": cannot stage the CSV in memory");
        VSIFCloseL(f);
        gdal_path = vsimem_;
        options = {"EMPTY_STRING_AS_NULL=YES", "AUTODETECT_TYPE=NO", "HEADERS=YES"};
    } else if (ext == ".zip") {
        gdal_path = "/vsizip/" + fs::absolute(path).string();
    } else if (ext == ".xlsx" || ext == ".ods") {
        // Every cell as text ("Code INSEE" would be Integer and lose leading zeros); GDAL 3.6 reads this
        // from configuration, later versions from the FIELD_TYPES open option too.
        const std::string prefix = ext == ".xlsx" ? "OGR_XLSX_" : "OGR_ODS_";
        for (const auto& [k, v] : {std::pair<std::string, std::string>{prefix + "FIELD_TYPES", "STRING"},
                                   {prefix + "HEADERS", "FORCE"}}) {
            const char* old = CPLGetThreadLocalConfigOption(k.c_str(), nullptr);
            saved_config_.emplace_back(k, old ? old : "");
            CPLSetThreadLocalConfigOption(k.c_str(), v.c_str());
        }
        GDALDriver* drv = GetGDALDriverManager()->GetDriverByName(ext == ".xlsx" ? "XLSX" : "ODS");
        const char* list = drv ? drv->GetMetadataItem(GDAL_DMD_OPENOPTIONLIST) : nullptr;
        if (list && std::string(list).find("\"FIELD_TYPES\"") != std::string::npos) options.push_back("FIELD_TYPES=STRING");
    }

    std::vector<const char*> opts;
    for (const auto& o : options) opts.push_back(o.c_str());
    opts.push_back(nullptr);
    CPLErrorReset();
    dataset_.reset(GDALDataset::Open(gdal_path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, opts.data(), nullptr));
    if (!dataset_) throw InputError(path + ": cannot open: " + last_gdal_error());
    if (!source.layer.empty()) {
        layer_ = dataset_->GetLayerByName(source.layer.c_str());
        if (!layer_) {
            std::string names;
            for (auto* l : dataset_->GetLayers()) names += (names.empty() ? "" : ", ") + std::string(l->GetName());
            throw InputError(path + ": no layer or sheet \"" + source.layer + "\" (found: " + names + ")");
        }
    } else {
        if (dataset_->GetLayerCount() == 0) throw InputError(path + ": no layer in the file");
        layer_ = dataset_->GetLayer(0);
    }
    OGRFeatureDefn* defn = layer_->GetLayerDefn();
    for (int i = 0; i < defn->GetFieldCount(); ++i) columns_.emplace_back(defn->GetFieldDefn(i)->GetNameRef());
    // A GeoPackage keeps the partner's identifier as its FID column ("id"): read it as a column too.
    if (const char* fid = layer_->GetFIDColumn(); fid && *fid) {
        columns_.emplace_back(fid);
        fid_column_ = true;
    }
    if (columns_.empty()) throw InputError(path + ": no columns in layer \"" + std::string(layer_->GetName()) + "\"");
}

PartnerFile::~PartnerFile() {
    layer_ = nullptr;
    dataset_.reset();
    if (!vsimem_.empty()) VSIUnlink(vsimem_.c_str());
    for (const auto& [k, v] : saved_config_) CPLSetThreadLocalConfigOption(k.c_str(), v.empty() ? nullptr : v.c_str());
}

bool PartnerFile::has_geometry() const { return layer_->GetLayerDefn()->GetGeomFieldCount() > 0; }

std::string PartnerFile::crs() const {
    const OGRSpatialReference* srs = layer_->GetSpatialRef();
    return srs ? crs::key_of(*srs) : std::string();
}

std::vector<RawRecord> PartnerFile::read_all() {
    std::vector<RawRecord> out;
    CPLErrorReset();
    layer_->ResetReading();
    const int n = static_cast<int>(columns_.size()) - (fid_column_ ? 1 : 0);
    std::size_t row = 0;
    for (auto& f : *layer_) {
        RawRecord r;
        r.row = ++row;
        r.cells.reserve(columns_.size());
        for (int i = 0; i < n; ++i) r.cells.push_back(cell_text(*f, i));
        if (fid_column_) r.cells.push_back(std::to_string(f->GetFID()));
        r.geometry.reset(f->StealGeometry());
        out.push_back(std::move(r));
    }
    // A file damaged half-way is refused whole: publishing part of it would hide the rest.
    if (CPLGetLastErrorType() == CE_Failure)
        throw InputError(path_ + ": read failed after " + std::to_string(row) + " records: " + last_gdal_error());
    return out;
}

std::string PartnerFile::record_json(const RawRecord& r) const {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.StartObject();
    bool has_geometry_column = false, geometry_from_wkt_column = false;
    for (size_t i = 0; i < columns_.size(); ++i) {
        has_geometry_column |= columns_[i] == "geometry";
        geometry_from_wkt_column |= !vsimem_.empty() && text::fold_key(columns_[i]) == "wkt";  // GDAL's CSV geometry
        w.Key(columns_[i].c_str(), static_cast<rapidjson::SizeType>(columns_[i].size()));
        if (i < r.cells.size() && r.cells[i]) w.String(r.cells[i]->c_str(), static_cast<rapidjson::SizeType>(r.cells[i]->size()));
        else w.Null();
    }
    if (r.geometry && !r.geometry->IsEmpty() && !geometry_from_wkt_column) {
        char* wkt = nullptr;
        r.geometry->exportToWkt(&wkt, wkbVariantIso);
        w.Key(has_geometry_column ? "_geometry" : "geometry");
        w.String(wkt ? wkt : "");
        CPLFree(wkt);
    }
    w.EndObject();
    return {sb.GetString(), sb.GetSize()};
}

}  // namespace ideo::ingest
