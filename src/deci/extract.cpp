// The mayor's extract. Spreadsheets (XLSX, ODS) and CSV: a "Synthèse" sheet, one sheet per layer
// with French column titles and typed cells, a "Métadonnées" sheet; GIS formats (GeoJSON,
// GeoPackage, Shapefile, KML): the layers' own field names and geometries in the asked CRS.
// Everything is written by GDAL into /vsimem/; CSV and Shapefile are zipped.
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
#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <vector>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"
#include "ideo/index/crs.hpp"
#include "zip.hpp"

namespace ideo::deci {
namespace {


struct SheetLayer {
    const char* layer;  // layer id in the snapshot
    const char* sheet;  // sheet name
};
constexpr SheetLayer sheets[] = {{"pei", "PEI"}, {"erp", "ERP"}, {"icpe", "ICPE"}};

void register_drivers() {
    static std::once_flag once;
    std::call_once(once, [] { GDALAllRegister(); });
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
    throw Error("extract: " + what + (gdal.empty() ? "" : ": " + gdal));
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

OGRLayer* create_sheet(GDALDataset& ds, const char* name, char** options = nullptr) {
    OGRLayer* layer = ds.CreateLayer(name, nullptr, wkbNone, options);
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
        try {
            target_ = crs::make_srs(crs);
        } catch (const InputError&) {
            throw InputError("crs '" + crs + "': unknown CRS");  // the client's error, named by its parameter
        }
        try {
            transform_ = &crs::transformation(crs::kWgs84, crs);
        } catch (const InputError&) {
            throw InputError("crs '" + crs + "': no transformation from WGS84");
        }
    }
    std::optional<std::pair<double, double>> operator()(double lon, double lat) const {
        double x = lon, y = lat;
        if (!transform_->Transform(1, &x, &y)) return std::nullopt;
        return std::make_pair(x, y);
    }
    const OGRSpatialReference& target() const { return *target_; }
    OGRCoordinateTransformation* transformation() const { return transform_; }

private:
    std::unique_ptr<OGRSpatialReference> target_;
    OGRCoordinateTransformation* transform_ = nullptr;  // the thread's, from ingest/crs
};

// Reading the target SRS costs a PROJ database lookup (the transformation is cached by ingest/crs): each
// thread keeps the Reprojectors it made, a few CRSs at most; an unknown CRS throws and is not kept.
const Reprojector& reprojector(const std::string& crs) {
    constexpr std::size_t kMaxPerThread = 16;
    thread_local std::map<std::string, std::unique_ptr<const Reprojector>> made;
    if (const auto it = made.find(crs); it != made.end()) return *it->second;
    auto r = std::make_unique<const Reprojector>(crs);
    if (made.size() >= kMaxPerThread) made.clear();  // only a client trying many codes gets here
    return *made.emplace(crs, std::move(r)).first->second;
}

struct LayerCounts {
    std::size_t total = 0, available = 0, without_location = 0;
    bool has_availability = false;
    std::set<std::string> partners;
};

std::string partner_of(const LayerSpec& spec, const std::string& source) {
    const SourceSpec* s = spec.find_source(source);
    return s && !s->partner.empty() ? s->partner : source;
}

LayerCounts write_layer_sheet(GDALDataset& ds, const char* sheet, const index::LayerData& data,
                              const std::vector<std::uint32_t>& indices, const Reprojector* reproject,
                              const std::string& crs, char** options = nullptr) {
    const LayerSpec& spec = data.spec;
    OGRLayer* layer = create_sheet(ds, sheet, options);
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
    for (const std::uint32_t index : indices) {
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


const char* const kProducer = "IDÉO, portail régional des données géographiques (extraction DECI)";

constexpr SheetLayer geo_layers[] = {{"pei", "pei"}, {"erp", "erp"}, {"icpe", "icpe"}};

// What the request covers: the INSEE codes, a label for the file name, and each layer's records.
struct Selection {
    std::vector<std::string> codes;
    std::string file_stem;   // DECI_21231_Dijon_2026-01-01 without the extension
    std::string title;       // "Dijon (21231)", "3 communes", "département 90"
    std::map<std::string, std::vector<std::uint32_t>> records;  // layer -> ascending feature indices
};

bool valid_code(const std::string& s, std::size_t min, std::size_t max) {
    if (s.size() < min || s.size() > max) return false;
    for (const char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c))) return false;
    return true;
}

Selection select(const index::Snapshot& snapshot, const ExtractRequest& r, const std::string& date) {
    Selection sel;
    std::set<std::string> codes;
    auto known = [&](const std::string& code) {
        if (!snapshot.commune_name(code).empty()) return true;
        for (const auto& s : geo_layers)
            if (const auto* l = snapshot.layer(s.layer); l && l->by_insee.count(code)) return true;
        return false;
    };
    if (!r.dept.empty()) {
        if (!valid_code(r.dept, 2, 3)) throw InputError("dept '" + r.dept + "': not a department code");
        if (const auto* communes = snapshot.layer("communes"))
            for (const auto& [code, i] : communes->by_id)
                if (code.rfind(r.dept, 0) == 0 && code.size() == 5) codes.insert(code);
        for (const auto& s : geo_layers)
            if (const auto* l = snapshot.layer(s.layer))
                for (const auto& [code, idx] : l->by_insee)
                    if (code.rfind(r.dept, 0) == 0 && code.size() == 5) codes.insert(code);
        if (codes.empty()) throw InputError("dept '" + r.dept + "': no commune of this department is loaded");
        sel.file_stem = "DECI_dept" + r.dept + "_" + date;
        sel.title = "département " + r.dept;
    } else {
        std::vector<std::string> asked = r.communes;
        if (!r.insee.empty()) asked.insert(asked.begin(), r.insee);
        if (asked.empty()) throw InputError("insee: no commune asked");
        for (const auto& code : asked) {
            if (!valid_code(code, 5, 5) || !known(code)) throw InputError("commune '" + code + "': unknown INSEE code");
            codes.insert(code);
        }
        if (codes.size() == 1) {
            const std::string& code = *codes.begin();
            const std::string name = snapshot.commune_name(code);
            const std::string part = filename_part(name);
            sel.file_stem = "DECI_" + code + (part.empty() ? "" : "_" + part) + "_" + date;
            sel.title = (name.empty() ? std::string("commune") : name) + " (" + code + ")";
        } else {
            sel.file_stem = "DECI_" + std::to_string(codes.size()) + "-communes_" + date;
            sel.title = std::to_string(codes.size()) + " communes";
        }
    }
    sel.codes.assign(codes.begin(), codes.end());
    for (const auto& s : geo_layers) {
        auto& out = sel.records[s.layer];
        if (const auto* l = snapshot.layer(s.layer))
            for (const auto& code : sel.codes)
                if (const auto it = l->by_insee.find(code); it != l->by_insee.end())
                    out.insert(out.end(), it->second.begin(), it->second.end());
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
    }
    return sel;
}

std::vector<std::pair<std::string, std::string>> metadata_rows(const index::Snapshot& snapshot, const Selection& sel,
                                                                const std::string& date, const std::string& crs) {
    std::vector<std::pair<std::string, std::string>> rows{
        {"Producteur", kProducer},
        {"Objet", "Défense extérieure contre l'incendie : PEI, ERP et ICPE de " + sel.title},
        {"Date de l'extraction", date},
        {"Système de coordonnées", crs},
    };
    std::string list;
    for (const auto& c : sel.codes) list += (list.empty() ? "" : ", ") + c;
    rows.emplace_back("Communes (INSEE)", list);
    for (const auto& s : geo_layers) {
        const auto* data = snapshot.layer(s.layer);
        if (!data) {
            rows.emplace_back(std::string("Source ") + s.sheet, "couche non publiée");
            continue;
        }
        std::set<std::string> partners;
        for (const auto i : sel.records.at(s.layer)) partners.insert(partner_of(data->spec, data->features[i].provenance.source));
        std::string p;
        for (const auto& x : partners) p += (p.empty() ? "" : ", ") + x;
        rows.emplace_back("Source " + data->spec.title, p.empty() ? "aucun enregistrement" : p);
        rows.emplace_back("Publication " + data->spec.title, data->published_at.empty() ? "inconnue" : data->published_at);
    }
    rows.emplace_back("Avertissement", "Données des partenaires telles que publiées ; les remarques signalent les défauts corrigés ou relevés.");
    return rows;
}

// One spreadsheet-like file (XLSX, ODS) or a folder of CSV files: summary, layer sheets, metadata.
void write_tables(GDALDataset& ds, const index::Snapshot& snapshot, const Selection& sel, const ExtractRequest& request,
                  const std::string& date, const std::string& crs, char** sheet_options) {
    const Reprojector* reproject = crs == "EPSG:2154" ? nullptr : &reprojector(crs);  // X/Y L93 are fields already
    OGRLayer* summary = create_sheet(ds, "Synthèse", sheet_options);  // first, so the workbook opens on it
    add_column(*summary, "Rubrique", OFTString);
    add_column(*summary, "Valeur", OFTString);
    std::vector<std::pair<std::string, std::string>> rows{{"Territoire", sel.title}, {"Date de l'extraction", date}};
    if (sel.codes.size() == 1) {
        const std::string name = snapshot.commune_name(sel.codes.front());
        rows = {{"Commune", name.empty() ? "(nom inconnu)" : name}, {"Code INSEE", sel.codes.front()}, rows.back()};
    }
    std::string sources;
    for (const auto& s : sheets) {
        const index::LayerData* data = snapshot.layer(s.layer);
        if (!data) {
            rows.emplace_back(s.sheet, "aucun enregistrement (couche non publiée)");
            continue;
        }
        const LayerCounts counts = write_layer_sheet(ds, s.sheet, *data, sel.records.at(s.layer),
                                                     reproject, crs, sheet_options);
        rows.emplace_back(s.sheet, counts.total ? count_text(counts) : std::string("aucun enregistrement"));
        std::string partners;
        for (const auto& p : counts.partners) partners += (partners.empty() ? "" : ", ") + p;
        if (!partners.empty()) sources += (sources.empty() ? "" : " ; ") + std::string(s.sheet) + " : " + partners;
    }
    rows.emplace_back("Sources", sources.empty() ? "aucune donnée publiée pour ce territoire" : sources);
    write_summary(*summary, rows);
    OGRLayer* meta = create_sheet(ds, "Métadonnées", sheet_options);
    add_column(*meta, "Rubrique", OFTString);
    add_column(*meta, "Valeur", OFTString);
    write_summary(*meta, metadata_rows(snapshot, sel, date, crs));
    (void)request;
}

// A field name a Shapefile DBF accepts (10 characters), unique within the layer.
std::string short_name(std::set<std::string>& used, const std::string& name) {
    std::string base = name.substr(0, 10), out = base;
    for (int i = 1; used.count(out); ++i) out = base.substr(0, 10 - std::to_string(i).size() - 1) + "_" + std::to_string(i);
    used.insert(out);
    return out;
}

// The layers' own fields and geometries (GeoJSON, GeoPackage, Shapefile, KML).
// `one_layer`: every record in one layer with a `layer` field (GeoJSON).
void write_geo(GDALDataset& ds, const index::Snapshot& snapshot, const Selection& sel, const Reprojector& reproject,
               bool shapefile, bool one_layer, char** options, const std::string& date) {
    OGRLayer* shared = nullptr;
    std::map<std::string, int> shared_fields;  // name -> index in the shared layer
    for (const auto& s : geo_layers) {
        const index::LayerData* data = snapshot.layer(s.layer);
        if (!data) continue;
        const LayerSpec& spec = data->spec;
        OGRLayer* layer = shared;
        std::vector<int> col;  // layer field i -> output column
        std::set<std::string> used;
        auto field = [&](const std::string& name, OGRFieldType type) {
            const std::string n = shapefile ? short_name(used, name) : name;
            if (one_layer) {
                if (auto it = shared_fields.find(n); it != shared_fields.end()) return it->second;
            }
            OGRFieldDefn defn(n.c_str(), type);
            if (layer->CreateField(&defn) != OGRERR_NONE) fail("cannot create field '" + n + "'");
            const int index = layer->GetLayerDefn()->GetFieldCount() - 1;
            if (one_layer) shared_fields[n] = index;
            return index;
        };
        if (!layer) {
            const OGRwkbGeometryType type = spec.geometry_type == "point" ? wkbPoint : wkbUnknown;
            layer = ds.CreateLayer(one_layer ? "DECI" : s.layer, const_cast<OGRSpatialReference*>(&reproject.target()),
                                   type, options);
            if (!layer) fail(std::string("cannot create layer ") + s.layer);
            if (one_layer) {
                shared = layer;
                field("layer", OFTString);
            }
        }
        for (const FieldSpec& f : spec.fields) {
            OGRFieldType type = OFTString;
            if (f.type == FieldType::Integer || f.type == FieldType::Boolean) type = OFTInteger64;
            else if (f.type == FieldType::Number) type = OFTReal;
            if (one_layer && shared_fields.count(f.name) &&
                layer->GetLayerDefn()->GetFieldDefn(shared_fields[f.name])->GetType() != type)
                type = OFTString;  // a name two layers type differently: written as text
            col.push_back(field(f.name, type));
        }
        const int source_col = field("source", OFTString);
        const int harvested_col = field(shapefile ? "maj" : "mise_a_jour", OFTString);
        const int flags_col = field("remarques", OFTString);
        const int extracted_col = field(shapefile ? "extrait" : "extrait_le", OFTString);
        const int layer_col = one_layer ? shared_fields["layer"] : -1;
        for (const auto index : sel.records.at(s.layer)) {
            const Feature& feature = data->features[index];
            FeaturePtr row(OGRFeature::CreateFeature(layer->GetLayerDefn()));
            for (std::size_t i = 0; i < spec.fields.size() && i < feature.values.size(); ++i) {
                const Value& v = feature.values[i];
                if (is_null(v)) continue;
                const int c = col[i];
                const OGRFieldType t = layer->GetLayerDefn()->GetFieldDefn(c)->GetType();
                if (t == OFTString) row->SetField(c, to_text(v).c_str());
                else if (const auto* n = std::get_if<std::int64_t>(&v)) row->SetField(c, static_cast<GIntBig>(*n));
                else if (const auto* d = std::get_if<double>(&v)) row->SetField(c, *d);
                else row->SetField(c, to_text(v).c_str());
            }
            if (layer_col >= 0) row->SetField(layer_col, s.layer);
            row->SetField(source_col, partner_of(spec, feature.provenance.source).c_str());
            row->SetField(harvested_col, feature.provenance.harvested_at.c_str());
            row->SetField(extracted_col, date.c_str());
            if (!feature.flags.empty()) {
                std::string flags;
                for (const auto& f : feature.flags) flags += (flags.empty() ? "" : ", ") + f;
                row->SetField(flags_col, flags.c_str());
            }
            if (!feature.geometry.empty()) {
                OGRGeometry* g = nullptr;
                if (OGRGeometryFactory::createFromWkb(feature.geometry.wkb.data(), nullptr, &g, feature.geometry.wkb.size()) ==
                        OGRERR_NONE && g) {
                    std::unique_ptr<OGRGeometry> owned(g);
                    if (owned->transform(reproject.transformation()) == OGRERR_NONE) row->SetGeometry(owned.get());
                }
            }
            if (layer->CreateFeature(row.get()) != OGRERR_NONE) fail(std::string("cannot write a record of ") + s.layer);
        }
    }
}

struct Format {
    const char* ext;        // path extension and file extension
    const char* content_type;
};
constexpr Format formats[] = {
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"csv", "application/zip"},
    {"geojson", "application/geo+json"},
    {"gpkg", "application/geopackage+sqlite3"},
    {"shp", "application/zip"},
    {"kml", "application/vnd.google-earth.kml+xml"},
};

GDALDriver* driver(const char* name) {
    register_drivers();
    GDALDriver* d = GetGDALDriverManager()->GetDriverByName(name);
    if (!d) throw Error(std::string("extract: GDAL has no ") + name + " driver");
    return d;
}

// Closes the dataset and reports what the driver failed to write on close.
void close(DatasetPtr& ds, const std::string& path) {
    CPLErrorReset();
    ds.reset();
    if (CPLGetLastErrorType() >= CE_Failure) fail("cannot write " + path);
}

// Every file under a /vsimem/ folder, for zipping.
std::vector<std::pair<std::string, std::string>> folder_files(const std::string& dir, const std::string& prefix) {
    std::vector<std::pair<std::string, std::string>> out;
    char** names = VSIReadDir(dir.c_str());
    for (char** n = names; n && *n; ++n) out.emplace_back(prefix + *n, read_mem_file(dir + "/" + *n));
    CSLDestroy(names);
    std::sort(out.begin(), out.end());
    return out;
}

std::string readme(const std::vector<std::pair<std::string, std::string>>& rows) {
    std::string out;
    for (const auto& [k, v] : rows) out += k + " : " + v + "\r\n";
    return out;
}

}  // namespace

const std::vector<std::string>& extract_formats() {
    static const std::vector<std::string> list = [] {
        std::vector<std::string> v;
        for (const auto& f : formats) v.emplace_back(f.ext);
        return v;
    }();
    return list;
}

const std::vector<std::string>& extract_crs_list() {
    static const std::vector<std::string> list{"EPSG:2154", "EPSG:3942", "EPSG:3943", "EPSG:3944", "EPSG:3945",
                                               "EPSG:3946", "EPSG:3947", "EPSG:3948", "EPSG:3949", "EPSG:3950",
                                               "EPSG:3857", "EPSG:4326", "OGC:CRS84", "CRS84"};
    return list;
}

ExtractFile build_extract(const index::Snapshot& snapshot, const ExtractRequest& request) {
    std::string fmt = request.format == "shp.zip" ? "shp" : request.format;
    const Format* format = nullptr;
    for (const auto& f : formats)
        if (fmt == f.ext) format = &f;
    if (!format) {
        std::string known;
        for (const auto& f : extract_formats()) known += (known.empty() ? "" : ", ") + f;
        throw InputError("format '" + request.format + "': no extract in this format (available: " + known + ")");
    }
    std::string crs = request.crs.empty() ? (fmt == "geojson" ? "OGC:CRS84" : "EPSG:2154") : request.crs;
    if (crs == "CRS84") crs = "OGC:CRS84";
    if (std::find(extract_crs_list().begin(), extract_crs_list().end(), crs) == extract_crs_list().end())
        throw InputError("crs '" + crs + "': not offered (EPSG:2154, EPSG:3942 to EPSG:3950, EPSG:3857, EPSG:4326, CRS84)");
    if (fmt == "kml") crs = "OGC:CRS84";  // KML is WGS84 lon/lat by definition
    if (fmt == "geojson" && crs == "EPSG:4326") crs = "OGC:CRS84";  // GeoJSON order: lon, lat

    const std::string date = text::today_iso();
    const Selection sel = select(snapshot, request, date);
    ExtractFile out;
    out.content_type = format->content_type;
    out.filename = sel.file_stem + "." + (fmt == "shp" ? std::string("shp.zip") : fmt == "csv" ? std::string("csv.zip") : fmt);
    const auto meta = metadata_rows(snapshot, sel, date, crs);

    if (fmt == "xlsx" || fmt == "ods") {
        MemPath file("." + fmt);
        DatasetPtr ds(driver(fmt == "xlsx" ? "XLSX" : "ODS")->Create(file.path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        if (!ds) fail("cannot create " + file.path);
        write_tables(*ds, snapshot, sel, request, date, crs, nullptr);
        close(ds, file.path);  // the spreadsheet drivers write the file when the dataset closes
        out.bytes = read_mem_file(file.path);
    } else if (fmt == "csv") {
        MemPath dir("-csv");  // the CSV driver creates the folder itself
        DatasetPtr ds(driver("CSV")->Create(dir.path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
        if (!ds) fail("cannot create " + dir.path);
        // UTF-8 with a BOM so Excel reads the accents; ';' as French Excel expects.
        const char* options[] = {"WRITE_BOM=YES", "SEPARATOR=SEMICOLON", "LINEFORMAT=CRLF", nullptr};
        write_tables(*ds, snapshot, sel, request, date, crs, const_cast<char**>(options));
        close(ds, dir.path);
        out.bytes = make_zip(folder_files(dir.path, sel.file_stem + "/"));
    } else {
        const Reprojector& reproject = reprojector(crs);
        if (fmt == "shp") {
            MemPath dir("-shp");
            VSIMkdir(dir.path.c_str(), 0755);
            DatasetPtr ds(driver("ESRI Shapefile")->Create(dir.path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
            if (!ds) fail("cannot create " + dir.path);
            const char* options[] = {"ENCODING=UTF-8", nullptr};  // with a .cpg saying so
            write_geo(*ds, snapshot, sel, reproject, true, false, const_cast<char**>(options), date);
            close(ds, dir.path);
            auto files = folder_files(dir.path, "");
            files.emplace_back("LISEZMOI.txt", readme(meta));
            out.bytes = make_zip(files);
        } else if (fmt == "gpkg") {
            MemPath file(".gpkg");
            DatasetPtr ds(driver("GPKG")->Create(file.path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
            if (!ds) fail("cannot create " + file.path);
            ds->SetMetadataItem("DESCRIPTION", readme(meta).c_str());
            write_geo(*ds, snapshot, sel, reproject, false, false, nullptr, date);
            OGRLayer* m = create_sheet(*ds, "metadonnees");
            add_column(*m, "rubrique", OFTString);
            add_column(*m, "valeur", OFTString);
            write_summary(*m, meta);
            close(ds, file.path);
            out.bytes = read_mem_file(file.path);
        } else {
            MemPath file("." + fmt);
            const bool geojson = fmt == "geojson";
            DatasetPtr ds(driver(geojson ? "GeoJSON" : "KML")->Create(file.path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
            if (!ds) fail("cannot create " + file.path);
            const std::string description = "DECI " + sel.title + ". " + kProducer + ", extraction du " + date +
                                            ". Sources : voir les propriétés source et mise_a_jour.";
            const std::string desc_option = "DESCRIPTION=" + description;
            const char* options[] = {geojson ? "RFC7946=NO" : nullptr, geojson ? desc_option.c_str() : nullptr, nullptr};
            write_geo(*ds, snapshot, sel, reproject, false, geojson, geojson ? const_cast<char**>(options) : nullptr, date);
            close(ds, file.path);
            out.bytes = read_mem_file(file.path);
        }
    }
    if (out.bytes.empty()) fail("the " + fmt + " extract came out empty");
    return out;
}

}  // namespace ideo::deci
