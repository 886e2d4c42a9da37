// The mayor's XLSX: a "Synthèse" sheet, then one sheet per layer with French column titles and
// typed cells (numbers, real dates), written by GDAL's XLSX driver into /vsimem/.
#include "ideo/deci/extract.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <atomic>
#include <charconv>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"

namespace ideo::deci {
namespace {

constexpr const char* xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

struct SheetLayer {
    const char* layer;  // layer id in the snapshot
    const char* sheet;  // sheet name
};
constexpr SheetLayer sheets[] = {{"pei", "PEI"}, {"erp", "ERP"}, {"icpe", "ICPE"}};

void register_drivers() {
    static std::once_flag once;
    std::call_once(once, [] { GDALAllRegister(); });
}

// A /vsimem/ file removed however the extract ends.
struct MemFile {
    std::string path;
    ~MemFile() { VSIUnlink(path.c_str()); }
};

std::string unique_mem_path() {
    static std::atomic<unsigned long> counter{0};
    return "/vsimem/ideo-extract-" + std::to_string(counter++) + ".xlsx";  // one per call: threads never share
}

struct DatasetCloser {
    void operator()(GDALDataset* ds) const { GDALClose(ds); }
};
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

struct FeatureDeleter {
    void operator()(OGRFeature* f) const { OGRFeature::DestroyFeature(f); }
};
using FeaturePtr = std::unique_ptr<OGRFeature, FeatureDeleter>;

[[noreturn]] void fail(const std::string& what) {
    const std::string gdal = CPLGetLastErrorMsg();
    throw Error("XLSX extract: " + what + (gdal.empty() ? "" : ": " + gdal));
}

int parse_int(std::string_view s, std::size_t pos, std::size_t len) {
    int v = -1;
    if (pos + len > s.size()) return -1;
    const auto r = std::from_chars(s.data() + pos, s.data() + pos + len, v);
    return r.ec == std::errc() && r.ptr == s.data() + pos + len ? v : -1;
}

// "YYYY-MM-DD", optionally followed by "THH:MM:SS...": the parts, or nullopt when it is no date.
struct DateParts {
    int y, m, d, hh = 0, mm = 0, ss = 0;
};
std::optional<DateParts> parse_date(std::string_view s) {
    if (s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
    DateParts p{parse_int(s, 0, 4), parse_int(s, 5, 2), parse_int(s, 8, 2)};
    if (p.y < 1 || p.m < 1 || p.m > 12 || p.d < 1 || p.d > 31) return std::nullopt;
    if (s.size() >= 19 && s[10] == 'T' && s[13] == ':' && s[16] == ':') {
        p.hh = std::max(0, parse_int(s, 11, 2));
        p.mm = std::max(0, parse_int(s, 14, 2));
        p.ss = std::max(0, parse_int(s, 17, 2));
    }
    return p;
}

OGRLayer* create_sheet(GDALDataset& ds, const char* name) {
    OGRLayer* layer = ds.CreateLayer(name, nullptr, wkbNone, nullptr);
    if (!layer) fail(std::string("cannot create sheet ") + name);
    return layer;
}

void add_column(OGRLayer& layer, const std::string& title, OGRFieldType type) {
    OGRFieldDefn defn(title.c_str(), type);
    if (layer.CreateField(&defn) != OGRERR_NONE) fail("cannot create column '" + title + "'");
}

// A column title not yet used on the sheet, qualified when taken ("Source (source_pei)" beside the partner's "Source").
std::string unique_title(std::set<std::string>& used, std::string title, const std::string& qualifier) {
    if (used.count(title)) title += " (" + qualifier + ")";
    used.insert(title);
    return title;
}

// Lon/lat to the CRS the request asks, for the extra X/Y columns.
class Reprojector {
public:
    explicit Reprojector(const std::string& crs) {
        wgs84_.SetWellKnownGeogCS("WGS84");
        wgs84_.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        CPLPushErrorHandler(CPLQuietErrorHandler);  // an unknown code is the client's error, not a log line
        const OGRErr err = target_.SetFromUserInput(crs.c_str());
        CPLPopErrorHandler();
        if (err != OGRERR_NONE) throw InputError("crs '" + crs + "': unknown CRS");
        target_.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        transform_.reset(OGRCreateCoordinateTransformation(&wgs84_, &target_));
        if (!transform_) throw InputError("crs '" + crs + "': no transformation from WGS84");
    }
    std::optional<std::pair<double, double>> operator()(double lon, double lat) const {
        double x = lon, y = lat;
        if (!transform_->Transform(1, &x, &y)) return std::nullopt;
        return std::make_pair(x, y);
    }

private:
    OGRSpatialReference wgs84_, target_;
    std::unique_ptr<OGRCoordinateTransformation> transform_;
};

struct LayerCounts {
    std::size_t total = 0, available = 0, without_location = 0;
    bool has_availability = false;
    std::set<std::string> partners;
};

std::string partner_of(const LayerSpec& spec, const std::string& source) {
    const SourceSpec* s = spec.find_source(source);
    return s && !s->partner.empty() ? s->partner : source;
}

LayerCounts write_layer_sheet(GDALDataset& ds, const char* sheet, const index::LayerData& data, const std::string& insee,
                              const Reprojector* reproject, const std::string& crs) {
    const LayerSpec& spec = data.spec;
    OGRLayer* layer = create_sheet(ds, sheet);
    // The provenance columns keep the same titles on every sheet; a layer field that shares one is qualified.
    std::set<std::string> used{"Source", "Mise à jour", "Remarques"};
    for (const FieldSpec& f : spec.fields) {
        OGRFieldType type = OFTString;
        if (f.type == FieldType::Integer) type = OFTInteger64;
        else if (f.type == FieldType::Number) type = OFTReal;
        else if (f.type == FieldType::Date) type = OFTDate;  // a real date cell, so Excel shows and sorts it as one
        add_column(*layer, unique_title(used, f.title.empty() ? f.name : f.title, f.name), type);
    }
    const int first_extra = static_cast<int>(spec.fields.size());
    if (reproject) {
        add_column(*layer, unique_title(used, "X (" + crs + ")", "projection"), OFTReal);
        add_column(*layer, unique_title(used, "Y (" + crs + ")", "projection"), OFTReal);
    }
    const int source_col = layer->GetLayerDefn()->GetFieldCount();
    add_column(*layer, "Source", OFTString);  // the partner who published the record
    add_column(*layer, "Mise à jour", OFTDateTime);  // when it was harvested
    add_column(*layer, "Remarques", OFTString);  // data-quality flags

    const int available_field = spec.field_index("disponible");
    LayerCounts counts;
    counts.has_availability = available_field >= 0;
    const auto it = data.by_insee.find(insee);
    if (it == data.by_insee.end()) return counts;

    for (const std::uint32_t index : it->second) {
        if (index >= data.features.size()) continue;
        const Feature& feature = data.features[index];
        FeaturePtr row(OGRFeature::CreateFeature(layer->GetLayerDefn()));
        for (std::size_t i = 0; i < spec.fields.size() && i < feature.values.size(); ++i) {
            const Value& v = feature.values[i];
            const int col = static_cast<int>(i);
            const FieldType type = spec.fields[i].type;
            if (is_null(v)) continue;
            if (type == FieldType::Boolean) {
                row->SetField(col, to_text(v) == "1" ? "Oui" : "Non");  // a mayor reads Oui/Non, not 1/0
            } else if (type == FieldType::Date) {
                if (const auto d = parse_date(to_text(v))) row->SetField(col, d->y, d->m, d->d);
                else row->SetField(col, to_text(v).c_str());
            } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
                row->SetField(col, static_cast<GIntBig>(*n));
            } else if (const auto* d = std::get_if<double>(&v)) {
                row->SetField(col, *d);
            } else {
                row->SetField(col, std::get<std::string>(v).c_str());
            }
        }
        if (reproject && !feature.geometry.empty()) {
            const Envelope& e = feature.geometry.envelope;  // a point's envelope is the point; else its centre
            if (const auto xy = (*reproject)((e.min_x + e.max_x) / 2, (e.min_y + e.max_y) / 2)) {
                row->SetField(first_extra, xy->first);
                row->SetField(first_extra + 1, xy->second);
            }
        }
        const std::string partner = partner_of(spec, feature.provenance.source);
        row->SetField(source_col, partner.c_str());
        if (const auto d = parse_date(feature.provenance.harvested_at))
            row->SetField(source_col + 1, d->y, d->m, d->d, d->hh, d->mm, static_cast<float>(d->ss), 100);
        if (!feature.flags.empty()) {
            std::string flags;
            for (const auto& f : feature.flags) flags += (flags.empty() ? "" : ", ") + f;
            row->SetField(source_col + 2, flags.c_str());
        }
        if (layer->CreateFeature(row.get()) != OGRERR_NONE) fail(std::string("cannot write a row of sheet ") + sheet);

        counts.total++;
        counts.partners.insert(partner);
        if (feature.geometry.empty()) counts.without_location++;
        if (available_field >= 0 && static_cast<std::size_t>(available_field) < feature.values.size() &&
            to_text(feature.values[available_field]) == "1")
            counts.available++;
    }
    return counts;
}

void write_summary(OGRLayer& layer, const std::vector<std::pair<std::string, std::string>>& rows) {
    for (const auto& [label, value] : rows) {
        FeaturePtr row(OGRFeature::CreateFeature(layer.GetLayerDefn()));
        row->SetField(0, label.c_str());
        row->SetField(1, value.c_str());
        if (layer.CreateFeature(row.get()) != OGRERR_NONE) fail("cannot write the summary sheet");
    }
}

// "Belfort" -> "Belfort", "L'Isle-sur-le-Doubs" -> "L-Isle-sur-le-Doubs": safe in every file system.
std::string filename_part(std::string_view name) {
    std::string out;
    std::string plain(name);
    for (std::size_t p; (p = plain.find("\xE2\x80\x99")) != std::string::npos;) plain.replace(p, 3, "'");  // typographic apostrophe
    for (const char c : plain) {
        if (c == ' ' || c == '\'' || c == '-') {
            if (!out.empty() && out.back() != '-') out += '-';
        } else if (std::string_view("/\\:*?\"<>|").find(c) == std::string_view::npos &&
                   static_cast<unsigned char>(c) >= 0x20) {
            out += c;
        }
    }
    while (!out.empty() && out.back() == '-') out.pop_back();
    return out;
}

std::string count_text(const LayerCounts& c) {
    std::string s = c.has_availability
                        ? std::to_string(c.available) + " disponible(s) sur " + std::to_string(c.total)
                        : std::to_string(c.total);
    if (c.without_location) s += " (dont " + std::to_string(c.without_location) + " sans localisation)";
    return s;
}

}  // namespace

ExtractFile build_extract(const index::Snapshot& snapshot, const ExtractRequest& request) {
    if (request.format != "xlsx") throw InputError("format '" + request.format + "': no extract in this format (available: xlsx)");
    const std::string name = snapshot.commune_name(request.insee);
    bool has_records = false;
    for (const auto& s : sheets)
        if (const auto* l = snapshot.layer(s.layer)) has_records = has_records || l->by_insee.count(request.insee);
    if (name.empty() && !has_records) throw InputError("commune '" + request.insee + "': unknown INSEE code");

    std::optional<Reprojector> reproject;
    if (!request.crs.empty() && request.crs != "EPSG:2154") reproject.emplace(request.crs);  // X/Y L93 are fields already

    register_drivers();
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("XLSX");
    if (!driver) throw Error("XLSX extract: GDAL has no XLSX driver");
    MemFile file{unique_mem_path()};
    const std::string date = text::today_iso();
    {
        DatasetPtr ds(driver->Create(file.path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        if (!ds) fail("cannot create " + file.path);
        OGRLayer* summary = create_sheet(*ds, "Synthèse");  // first, so the workbook opens on it
        add_column(*summary, "Rubrique", OFTString);
        add_column(*summary, "Valeur", OFTString);

        std::vector<std::pair<std::string, std::string>> rows{
            {"Commune", name.empty() ? "(nom inconnu)" : name},
            {"Code INSEE", request.insee},
            {"Date de l'extraction", date},
        };
        std::string sources;
        for (const auto& s : sheets) {
            const index::LayerData* data = snapshot.layer(s.layer);
            if (!data) {
                rows.emplace_back(s.sheet, "couche non publiée");
                continue;
            }
            const LayerCounts counts = write_layer_sheet(*ds, s.sheet, *data, request.insee,
                                                         reproject ? &*reproject : nullptr, request.crs);
            rows.emplace_back(s.sheet, count_text(counts));
            std::string partners;
            for (const auto& p : counts.partners) partners += (partners.empty() ? "" : ", ") + p;
            if (!partners.empty()) sources += (sources.empty() ? "" : " ; ") + std::string(s.sheet) + " : " + partners;
        }
        rows.emplace_back("Sources", sources.empty() ? "aucune donnée publiée pour cette commune" : sources);
        write_summary(*summary, rows);
        CPLErrorReset();
        ds.reset();  // the XLSX driver writes the workbook when the dataset closes
        if (CPLGetLastErrorType() >= CE_Failure) fail("cannot write " + file.path);
    }

    vsi_l_offset size = 0;
    GByte* bytes = VSIGetMemFileBuffer(file.path.c_str(), &size, FALSE);
    if (!bytes) fail("cannot read back " + file.path);

    ExtractFile out;
    const std::string commune = filename_part(name);
    out.filename = "DECI_" + request.insee + (commune.empty() ? "" : "_" + commune) + "_" + date + ".xlsx";
    out.content_type = xlsx_type;
    out.bytes.assign(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(size));
    return out;
}

}  // namespace ideo::deci
