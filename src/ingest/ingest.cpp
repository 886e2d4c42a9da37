// The ingest pipeline: map columns, parse values, locate, attribute the commune, apply the defect
// policy, settle duplicate identifiers, and report every record that was not published as read.
#include "ideo/ingest/ingest.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <unordered_map>

#include <ogr_api.h>
#include <ogr_geometry.h>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"
#include "ideo/index/crs.hpp"
#include "reader.hpp"
#include "values.hpp"

namespace ideo::ingest {
namespace {

int severity(Outcome o) {
    switch (o) {
        case Outcome::Published: return 0;
        case Outcome::Repaired: return 1;
        case Outcome::Flagged: return 2;
        case Outcome::Rejected: return 3;
        case Outcome::Superseded: return 4;
    }
    return 0;
}

// What happens to one record: the most severe outcome wins (Repaired < Flagged < Rejected).
struct Verdict {
    Outcome outcome = Outcome::Published;
    std::vector<std::string> reasons;
    std::vector<std::string> flags;
    std::vector<std::string> rejections;

    void raise(Outcome o) {
        if (severity(o) > severity(outcome)) outcome = o;
    }
    void repaired(std::string why) {
        raise(Outcome::Repaired);
        reasons.push_back(std::move(why));
    }
    void flagged(std::string why, const std::string& flag) {
        raise(Outcome::Flagged);
        reasons.push_back(std::move(why));
        if (std::find(flags.begin(), flags.end(), flag) == flags.end()) flags.push_back(flag);
    }
    void rejected(std::string why) {
        raise(Outcome::Rejected);
        rejections.push_back(why);
        reasons.push_back(std::move(why));
    }
};

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

std::string format(const char* fmt, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

std::string distance_text(double m) {
    if (!std::isfinite(m)) return "out of reach";
    return m >= 1000 ? format("%.1f km", m / 1000) : format("%.0f m", m);
}

double round_to(double v, double scale) { return std::round(v * scale) / scale; }

// Which partner column feeds which field, and which columns carry coordinates.
struct Columns {
    std::vector<int> of_field;  // per LayerSpec::fields: column index, or -1
    int x = -1, y = -1, lon = -1, lat = -1, wkt = -1;
};

bool matches(const std::string& key, const std::vector<std::string>& names) {
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return text::fold_key(n) == key; });
}

Columns map_columns(const LayerSpec& layer, const std::vector<std::string>& columns, const std::string& path,
                    std::vector<std::string>& warnings) {
    Columns m;
    m.of_field.assign(layer.fields.size(), -1);
    std::vector<std::string> unknown;
    const auto& c = layer.coordinates;
    for (int col = 0; col < static_cast<int>(columns.size()); ++col) {
        const std::string key = text::fold_key(columns[col]);
        bool used = false;
        for (size_t f = 0; f < layer.fields.size() && !used; ++f) {
            const FieldSpec& spec = layer.fields[f];
            if (spec.derived != Derived::None || m.of_field[f] >= 0) continue;
            if (text::fold_key(spec.name) == key || matches(key, spec.aliases)) m.of_field[f] = col, used = true;
        }
        // Projected columns may carry their CRS in the title: "X (CC47)" is the x alias plus a hint.
        const bool hinted = crs::hint_from_title(columns[col]).has_value();
        auto projected = [&](const std::vector<std::string>& names) {
            return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
                const std::string k = text::fold_key(n);
                return key == k || (hinted && key.starts_with(k + "_"));
            });
        };
        if (!used && m.x < 0 && projected(c.x)) m.x = col, used = true;
        if (!used && m.y < 0 && projected(c.y)) m.y = col, used = true;
        using Role = std::pair<int*, const std::vector<std::string>*>;
        for (const Role& role : {Role{&m.lon, &c.lon}, Role{&m.lat, &c.lat}, Role{&m.wkt, &c.wkt}}) {
            if (used) break;
            if (*role.first < 0 && matches(key, *role.second)) *role.first = col, used = true;
        }
        if (!used) unknown.push_back(columns[col]);
    }
    const int id = layer.field_index(layer.id_field);
    if (m.of_field[id] < 0)
        throw InputError(path + ": no column matches the identifier field \"" + layer.id_field + "\" (columns: " +
                         join(columns) + ")");
    if (!unknown.empty()) warnings.push_back("unknown columns ignored: " + join(unknown));
    std::vector<std::string> absent;
    for (size_t f = 0; f < layer.fields.size(); ++f)
        if (layer.fields[f].required && layer.fields[f].derived == Derived::None && m.of_field[f] < 0)
            absent.push_back(layer.fields[f].name);
    if (!absent.empty()) warnings.push_back("required fields absent from the file, left empty: " + join(absent));
    return m;
}

enum class LocationSource { None, Native, XY, LonLat, Wkt };

struct LocationPlan {
    LocationSource from = LocationSource::None;
    std::string crs;  // of the source coordinates
};

// The record's location as the partner wrote it (source CRS), or null; `problem` says why it is unreadable.
std::unique_ptr<OGRGeometry> source_geometry(const LocationPlan& plan, const Columns& cols, RawRecord& r,
                                             std::string& problem) {
    auto cell = [&](int i) -> const std::optional<std::string>& { return r.cells[static_cast<size_t>(i)]; };
    switch (plan.from) {
        case LocationSource::None: return nullptr;
        case LocationSource::Native:
            if (!r.geometry || r.geometry->IsEmpty()) return nullptr;
            return std::unique_ptr<OGRGeometry>(r.geometry->clone());
        case LocationSource::XY:
        case LocationSource::LonLat: {
            const bool xy = plan.from == LocationSource::XY;
            const auto& cx = cell(xy ? cols.x : cols.lon);
            const auto& cy = cell(xy ? cols.y : cols.lat);
            if (!cx && !cy) return nullptr;
            const auto x = cx ? parse_number(*cx) : std::nullopt;
            const auto y = cy ? parse_number(*cy) : std::nullopt;
            if (!x || !y) {
                problem = "invalid_coordinates: \"" + cx.value_or("") + "\", \"" + cy.value_or("") + "\" dropped";
                return nullptr;
            }
            return std::make_unique<OGRPoint>(*x, *y);
        }
        case LocationSource::Wkt: {
            const auto& w = cell(cols.wkt);
            if (!w) return nullptr;
            OGRGeometry* g = nullptr;
            if (OGRGeometryFactory::createFromWkt(w->c_str(), nullptr, &g) != OGRERR_NONE || !g) {
                problem = "invalid_coordinates: WKT \"" + w->substr(0, 60) + "\" dropped";
                return nullptr;
            }
            return std::unique_ptr<OGRGeometry>(g);
        }
    }
    return nullptr;
}

// Decides where locations come from and in which CRS: file, then declared, then column title, then guessed.
LocationPlan plan_location(const SourceSpec& source, PartnerFile& file, const Columns& cols,
                           std::vector<RawRecord>& records, std::vector<std::string>& warnings) {
    LocationPlan plan;
    const auto& names = file.columns();
    if (file.has_geometry()) plan.from = LocationSource::Native, plan.crs = file.crs();
    else if (cols.x >= 0 && cols.y >= 0) plan.from = LocationSource::XY;
    else if (cols.lon >= 0 && cols.lat >= 0) plan.from = LocationSource::LonLat, plan.crs = crs::kWgs84;
    else if (cols.wkt >= 0) plan.from = LocationSource::Wkt;
    else {
        warnings.push_back("no geometry and no coordinate columns: every record is without location");
        return plan;
    }
    if (!plan.crs.empty()) return plan;
    if (!source.crs.empty()) {
        plan.crs = source.crs;
        return plan;
    }
    if (plan.from == LocationSource::XY) {
        for (int c : {cols.x, cols.y}) {
            if (auto hint = crs::hint_from_title(names[static_cast<size_t>(c)])) {
                plan.crs = *hint;
                warnings.push_back("CRS " + plan.crs + " taken from the column title \"" + names[static_cast<size_t>(c)] + "\"");
                return plan;
            }
        }
    }
    // Last resort: degrees-looking values are WGS84, anything else is taken as Lambert-93.
    size_t seen = 0;
    bool degrees = true;
    for (auto& r : records) {
        std::string problem;
        auto g = source_geometry(plan, cols, r, problem);
        if (!g) continue;
        OGREnvelope e;
        g->getEnvelope(&e);
        degrees = degrees && std::fabs(e.MinX) <= 180 && std::fabs(e.MaxX) <= 180 && std::fabs(e.MinY) <= 90 &&
                  std::fabs(e.MaxY) <= 90;
        if (++seen >= 1000 || !degrees) break;
    }
    plan.crs = degrees && seen > 0 ? crs::kWgs84 : crs::kLambert93;
    warnings.push_back("no CRS declared: assumed " + plan.crs +
                       (degrees && seen > 0 ? " (coordinates look like longitude/latitude)" : " (coordinates are not degrees)"));
    return plan;
}

// A point from one CRS to another, or nullopt when PROJ cannot place it.
std::optional<std::pair<double, double>> reproject(const std::string& from, const std::string& to, double x, double y) {
    if (!crs::transformation(from, to).Transform(1, &x, &y) || !std::isfinite(x) || !std::isfinite(y)) return std::nullopt;
    return std::pair{x, y};
}

// A point from the source CRS to WGS84 lon/lat, or nullopt when PROJ cannot place it on Earth.
std::optional<std::pair<double, double>> to_wgs84(const std::string& from, double x, double y) {
    if (!crs::is_wgs84(from) && !crs::transformation(from, crs::kWgs84).Transform(1, &x, &y)) return std::nullopt;
    if (!std::isfinite(x) || !std::isfinite(y) || std::fabs(x) > 180 || std::fabs(y) > 90) return std::nullopt;
    return std::pair{x, y};
}

// The record's location, in the source CRS and in WGS84.
struct Location {
    bool present = false;   // the record carries readable coordinates
    bool is_point = false;
    double sx = 0, sy = 0;  // the point in the source CRS
    bool projected = false; // reprojected to WGS84
    double lon = 0, lat = 0;
    std::unique_ptr<OGRGeometry> shape;  // WGS84 geometry of polygon and line layers
};

bool geometry_fits(const std::string& layer_type, OGRwkbGeometryType t) {
    t = wkbFlatten(t);
    if (layer_type == "polygon") return t == wkbPolygon || t == wkbMultiPolygon;
    if (layer_type == "line") return t == wkbLineString || t == wkbMultiLineString;
    return t == wkbPoint;
}

std::string wkb_of(const OGRGeometry& g) {
    std::string wkb(static_cast<size_t>(g.WkbSize()), '\0');
    g.exportToWkb(wkbNDR, reinterpret_cast<unsigned char*>(wkb.data()), wkbVariantIso);
    return wkb;
}

// One record on its way: its feature, what happened to it, and what duplicates need.
struct Pending {
    std::size_t raw = 0;  // index in the records read
    Feature feature;
    Verdict verdict;
    std::string date;     // layer.date_field value (ISO), for duplicates
};

// Commune attribution and the location policy for one point record.
class Attribution {
public:
    Attribution(const LayerSpec& layer, const index::CommuneIndex& communes, const LocationPlan& plan, int insee_field,
                bool insee_column)
        : layer_(layer), communes_(communes), plan_(plan), insee_field_(insee_field), insee_column_(insee_column) {}

    void apply(Location& loc, Pending& p) const {
        Value& insee_value = p.feature.values[static_cast<size_t>(insee_field_)];
        const std::string insee = is_null(insee_value) ? std::string() : to_text(insee_value);
        Verdict& v = p.verdict;
        if (!insee.empty() && !communes_.knows(insee)) {
            v.flagged("insee_unknown: " + insee + " is not in the commune index", "insee_unknown");
            return;
        }
        if (!loc.present) {
            if (insee.empty()) v.rejected("no_location_and_no_insee");
            return;
        }
        if (!loc.is_point) {  // polygon and line layers: attribution by a point on the surface
            if (insee.empty() && loc.shape) {
                std::unique_ptr<OGRGeometry> inside(OGRGeometry::FromHandle(OGR_G_PointOnSurface(OGRGeometry::ToHandle(loc.shape.get()))));
                if (inside && wkbFlatten(inside->getGeometryType()) == wkbPoint)
                    if (auto c = communes_.locate(inside->toPoint()->getX(), inside->toPoint()->getY())) insee_value = *c;
            }
            return;
        }
        if (!insee.empty()) {
            auto within_stated = [&](double lon, double lat) -> std::optional<std::string> {
                if (communes_.distance_m(insee, lon, lat).value_or(INFINITY) <= layer_.max_distance_m) return insee;
                return std::nullopt;
            };
            const double d = loc.projected ? communes_.distance_m(insee, loc.lon, loc.lat).value_or(INFINITY) : INFINITY;
            if (d <= layer_.max_distance_m || try_swaps(loc, v, within_stated)) return;
            if (loc.projected) v.rejected("location_contradicts_insee: " + insee + " is " + distance_text(d) + " away");
            else drop_location(loc, v, "invalid_coordinates: " + source_text(loc) + " cannot be placed in " + plan_.crs);
            return;
        }
        // No INSEE code: the commune holding the point gives it.
        auto locate = [&](double lon, double lat) { return communes_.locate(lon, lat); };
        if (loc.projected) {
            if (auto c = locate(loc.lon, loc.lat)) {
                set_insee(insee_value, *c, v);
                return;
            }
        }
        std::optional<std::string> found;
        if (try_swaps(loc, v, [&](double lon, double lat) { return found = locate(lon, lat); })) {
            set_insee(insee_value, *found, v);
            return;
        }
        v.rejected(loc.projected ? "no_insee_and_location_outside_communes"
                                 : "no_insee_and_invalid_coordinates: " + source_text(loc));
    }

private:
    void set_insee(Value& insee_value, const std::string& code, Verdict& v) const {
        insee_value = code;
        // A file without an INSEE column relies on the location by design: no repair to report.
        if (insee_column_) v.repaired("insee_from_location: " + code);
    }

    static void drop_location(Location& loc, Verdict& v, std::string why) {
        loc.present = loc.projected = false;
        v.flagged(std::move(why), "no_coordinates");
    }

    std::string source_text(const Location& loc) const {
        return "(" + format("%.10g", loc.sx) + ", " + format("%.10g", loc.sy) + ")";
    }

    // Partners swap axes in two ways: lon/lat in WGS84, or x/y in their projected CRS.
    template <class Accept>
    bool try_swaps(Location& loc, Verdict& v, Accept accept) const {
        std::vector<std::pair<std::pair<double, double>, std::string>> candidates;
        if (loc.projected) candidates.push_back({{loc.lat, loc.lon}, "lon/lat"});
        if (!crs::is_geographic(plan_.crs) || !loc.projected)
            if (auto p = to_wgs84(plan_.crs, loc.sy, loc.sx)) candidates.push_back({*p, "x/y (" + plan_.crs + ")"});
        // Swapped in Lambert-93 before the partner reprojected its file to its own projected CRS (a CC zone).
        if (!crs::is_geographic(plan_.crs) && plan_.crs != crs::kLambert93)
            if (auto l93 = reproject(plan_.crs, crs::kLambert93, loc.sx, loc.sy))
                if (auto p = to_wgs84(crs::kLambert93, l93->second, l93->first))
                    candidates.push_back({*p, std::string("x/y (") + crs::kLambert93 + ", before " + plan_.crs + ")"});
        for (const auto& [p, how] : candidates) {
            if (std::fabs(p.first) > 180 || std::fabs(p.second) > 90) continue;
            if (auto code = accept(p.first, p.second)) {
                loc.lon = p.first, loc.lat = p.second, loc.projected = true;
                v.repaired("swapped_coordinates: " + how + " swapped back into " + *code);
                return true;
            }
        }
        return false;
    }

    const LayerSpec& layer_;
    const index::CommuneIndex& communes_;
    const LocationPlan& plan_;
    int insee_field_;
    bool insee_column_;
};

// The loser of each duplicated identifier is superseded by the record with the later date, else the later row.
void settle_duplicates(const LayerSpec& layer, std::vector<Pending>& pending, const std::vector<RawRecord>& raws) {
    std::unordered_map<std::string, std::vector<size_t>> by_id;
    for (size_t i = 0; i < pending.size(); ++i)
        if (pending[i].verdict.outcome != Outcome::Rejected) by_id[pending[i].feature.id].push_back(i);
    for (auto& [id, group] : by_id) {
        if (group.size() < 2) continue;
        size_t winner = group.front();
        for (size_t k = 1; k < group.size(); ++k) {
            const Pending& a = pending[winner];
            const Pending& b = pending[group[k]];
            const bool dated = !a.date.empty() && !b.date.empty() && a.date != b.date;
            if (!dated || b.date > a.date) winner = group[k];
        }
        Pending& w = pending[winner];
        const size_t w_row = raws[w.raw].row;
        std::vector<std::string> loser_rows;
        for (size_t i : group) {
            if (i == winner) continue;
            Pending& l = pending[i];
            std::vector<std::string> differs;
            for (size_t f = 0; f < layer.fields.size(); ++f)
                if (layer.fields[f].derived == Derived::None && to_text(l.feature.values[f]) != to_text(w.feature.values[f]))
                    differs.push_back(layer.fields[f].name);
            if (l.feature.geometry.wkb != w.feature.geometry.wkb) differs.push_back("location");
            const bool by_date = !w.date.empty() && !l.date.empty() && w.date != l.date;
            std::string why = "duplicate_id: " + layer.id_field + " " + id + " also at row " + std::to_string(w_row) +
                              (by_date ? " (" + layer.date_field + " " + w.date + " later)" : " (later row)");
            why += differs.empty() ? ", identical" : ", differs in " + join(differs);
            l.verdict.outcome = Outcome::Superseded;
            l.verdict.reasons.push_back(std::move(why));
            loser_rows.push_back(std::to_string(raws[l.raw].row));
        }
        w.verdict.reasons.push_back("duplicate_id_kept: " + layer.id_field + " " + id + " over row" +
                                    (loser_rows.size() > 1 ? "s " : " ") + join(loser_rows));
    }
}

// The record's field values from its cells, with what parsing each one did to the verdict.
void read_values(const LayerSpec& layer, const Columns& cols, const RawRecord& raw, int id_field, int insee_field,
                 Pending& p) {
    Verdict& v = p.verdict;
    Feature& f = p.feature;
    f.values.assign(layer.fields.size(), Value{});
    for (size_t fi = 0; fi < layer.fields.size(); ++fi) {
        const FieldSpec& spec = layer.fields[fi];
        const int col = cols.of_field[fi];
        if (col < 0) continue;
        const auto& cell = raw.cells[static_cast<size_t>(col)];
        if (!cell) {
            if (spec.required && static_cast<int>(fi) != id_field && static_cast<int>(fi) != insee_field) {
                if (spec.on_invalid == OnInvalid::Reject) v.rejected("missing_value: " + spec.name);
                else v.flagged("missing_value: " + spec.name, "missing:" + spec.name);
            }
            continue;
        }
        FieldValue fv = parse_value(spec, *cell);
        if (fv.check == Check::Repaired) v.repaired(fv.reason);
        if (fv.check == Check::Invalid) {
            if (spec.on_invalid == OnInvalid::Reject) v.rejected(fv.reason);
            else v.flagged(fv.reason + " dropped", "value_dropped:" + spec.name);
        }
        f.values[fi] = std::move(fv.value);
    }
}

// The record's location, from the source CRS to WGS84; `problem` says why its coordinates are unreadable.
Location locate(const LayerSpec& layer, const LocationPlan& plan, const Columns& cols, RawRecord& raw, Verdict& v,
                std::string& problem) {
    Location loc;
    auto g = source_geometry(plan, cols, raw, problem);
    if (!problem.empty()) v.flagged(problem, "no_coordinates");
    if (g && layer.geometry_type == "point" && wkbFlatten(g->getGeometryType()) == wkbMultiPoint) {
        auto* mp = g->toMultiPoint();
        if (mp->getNumGeometries() == 1) g.reset(mp->getGeometryRef(0)->clone());
    }
    if (g && !geometry_fits(layer.geometry_type, g->getGeometryType())) {
        v.rejected("geometry_type: expected " + layer.geometry_type + ", got " + g->getGeometryName());
        g.reset();
    }
    if (!g) return loc;
    g->flattenTo2D();
    loc.present = true;
    if (wkbFlatten(g->getGeometryType()) == wkbPoint) {
        loc.is_point = true;
        loc.sx = g->toPoint()->getX();
        loc.sy = g->toPoint()->getY();
        if (auto ll = to_wgs84(plan.crs, loc.sx, loc.sy)) loc.projected = true, loc.lon = ll->first, loc.lat = ll->second;
    } else {
        loc.projected = crs::is_wgs84(plan.crs) || g->transform(&crs::transformation(plan.crs, crs::kWgs84)) == OGRERR_NONE;
        loc.shape = std::move(g);
    }
    return loc;
}

// The feature's geometry from its final location, or the no_coordinates flag when it has none.
void set_geometry(const Location& loc, const std::string& problem, Pending& p) {
    Verdict& v = p.verdict;
    Feature& f = p.feature;
    if (!loc.present || !loc.projected) {
        if (v.outcome != Outcome::Rejected && problem.empty() &&
            std::find(v.flags.begin(), v.flags.end(), "no_coordinates") == v.flags.end())
            v.flagged("no_coordinates: published without location", "no_coordinates");
    } else if (loc.is_point) {
        f.geometry = Geometry::point(loc.lon, loc.lat);
    } else {
        f.geometry.wkb = wkb_of(*loc.shape);
        OGREnvelope e;
        loc.shape->getEnvelope(&e);
        f.geometry.envelope.expand(e.MinX, e.MinY);
        f.geometry.envelope.expand(e.MaxX, e.MaxY);
    }
}

// Derived fields come from the final location, never from the partner.
void derive_fields(const LayerSpec& layer, const Location& loc, Feature& f) {
    if (!f.geometry.is_point()) return;
    std::optional<Point2> l93;
    for (size_t fi = 0; fi < layer.fields.size(); ++fi) {
        const Derived d = layer.fields[fi].derived;
        if (d == Derived::None) continue;
        if ((d == Derived::X_L93 || d == Derived::Y_L93) && !l93) {
            try {
                l93 = transform_point(crs::kWgs84, crs::kLambert93, {loc.lon, loc.lat});
            } catch (const Error&) {
                continue;
            }
        }
        f.values[fi] = d == Derived::Lon     ? round_to(loc.lon, 1e7)
                       : d == Derived::Lat   ? round_to(loc.lat, 1e7)
                       : d == Derived::X_L93 ? round_to(l93->x, 100)
                                             : round_to(l93->y, 100);
    }
}

// The settled records into the result: report lines and counts, published features, quarantined rejects.
void report_outcomes(std::vector<Pending>& pending, const std::vector<RawRecord>& raws, const PartnerFile& file,
                     Result& result) {
    Report& report = result.report;
    for (auto& p : pending) {
        const RawRecord& raw = raws[p.raw];
        Verdict& v = p.verdict;
        if (v.outcome != Outcome::Published || !v.reasons.empty())
            report.records.push_back({raw.row, p.feature.provenance.source_id, v.outcome, v.reasons});
        switch (v.outcome) {
            case Outcome::Rejected:
                ++report.rejected;
                result.quarantine.push_back({raw.row, p.feature.provenance.source_id, join(v.reasons, "; "), file.record_json(raw)});
                continue;
            case Outcome::Superseded: ++report.superseded; continue;
            case Outcome::Repaired: ++report.repaired; break;
            case Outcome::Flagged: ++report.flagged; break;
            case Outcome::Published: break;
        }
        ++report.published;
        if (p.feature.geometry.empty()) ++report.without_location;
        result.features.push_back(std::move(p.feature));
    }
}

}  // namespace

Result ingest_file(const LayerSpec& layer, const SourceSpec& source, const std::string& path,
                   const index::CommuneIndex* communes) {
    Result result;
    Report& report = result.report;
    report.layer = layer.id;
    report.source = source.id;
    report.file = path;
    report.started_at = text::now_iso8601();
    const std::string harvested_at = report.started_at;

    QuietGdal quiet;
    PartnerFile file(path, source);
    for (const auto& n : file.notes()) report.warnings.push_back(n);
    const Columns cols = map_columns(layer, file.columns(), path, report.warnings);
    std::vector<RawRecord> raws = file.read_all();
    report.read = raws.size();
    const LocationPlan plan = plan_location(source, file, cols, raws, report.warnings);
    try {
        if (!plan.crs.empty()) crs::transformation(plan.crs, crs::kWgs84);  // an unknown CRS fails the file here, once
    } catch (const InputError& e) {
        throw InputError(path + " (source " + source.id + " of layer " + layer.id + "): " + e.what());
    }

    const int id_field = layer.field_index(layer.id_field);
    const int insee_field = layer.insee_field.empty() ? -1 : layer.field_index(layer.insee_field);
    const int date_field = layer.date_field.empty() ? -1 : layer.field_index(layer.date_field);
    std::optional<Attribution> attribution;
    if (communes && layer.attribute_commune && insee_field >= 0)
        attribution.emplace(layer, *communes, plan, insee_field, cols.of_field[static_cast<size_t>(insee_field)] >= 0);

    std::vector<Pending> pending;
    pending.reserve(raws.size());
    for (size_t ri = 0; ri < raws.size(); ++ri) {
        RawRecord& raw = raws[ri];
        Pending p;
        p.raw = ri;
        Verdict& v = p.verdict;
        Feature& f = p.feature;
        read_values(layer, cols, raw, id_field, insee_field, p);

        const auto& id_cell = raw.cells[static_cast<size_t>(cols.of_field[static_cast<size_t>(id_field)])];
        f.provenance = {source.id, id_cell.value_or(""), harvested_at};
        f.id = id_cell.value_or("");
        if (f.id.empty()) v.rejected("missing_id: no " + layer.id_field);
        if (!attribution && insee_field >= 0 && insee_field != id_field && cols.of_field[static_cast<size_t>(insee_field)] >= 0 &&
            is_null(f.values[static_cast<size_t>(insee_field)]) && layer.fields[static_cast<size_t>(insee_field)].required)
            v.flagged("missing_value: " + layer.insee_field, "missing:" + layer.insee_field);

        std::string problem;
        Location loc = locate(layer, plan, cols, raw, v, problem);
        if (attribution) {
            attribution->apply(loc, p);
        } else if (loc.present && !loc.projected) {
            loc.present = false;
            v.flagged("invalid_coordinates: location cannot be placed in " + plan.crs + ", dropped", "no_coordinates");
        }
        set_geometry(loc, problem, p);
        derive_fields(layer, loc, f);
        f.flags = v.flags;
        if (date_field >= 0 && !is_null(f.values[static_cast<size_t>(date_field)]))
            p.date = to_text(f.values[static_cast<size_t>(date_field)]);
        pending.push_back(std::move(p));
    }

    settle_duplicates(layer, pending, raws);
    report_outcomes(pending, raws, file, result);
    report.finished_at = text::now_iso8601();
    return result;
}

}  // namespace ideo::ingest
