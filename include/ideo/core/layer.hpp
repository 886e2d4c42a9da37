#pragma once
// Layers as data: the schema, aliases, code lists and sources of each layer, read from layers/*.json.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ideo/core/access.hpp"

namespace ideo {

enum class FieldType { String, Integer, Number, Boolean, Date };

// What ingest does with a value that breaks the field's rule (code list, minimum, date).
enum class OnInvalid { Drop, Reject };

// Fields the pipeline computes from the location rather than reads from the partner.
enum class Derived { None, X_L93, Y_L93, Lon, Lat };

struct FieldSpec {
    std::string name;         // normalised name (AFIGÉO for PEI)
    std::string title;        // French column title, used in extracts
    FieldType type = FieldType::String;
    bool required = false;
    std::vector<std::string> enum_values;         // code list; empty = free value
    std::map<std::string, std::string> synonyms;  // fold_key(partner spelling) -> canonical code
    std::optional<double> minimum, maximum;
    OnInvalid on_invalid = OnInvalid::Drop;
    std::vector<std::string> aliases;  // partner column names, matched by fold_key
    Derived derived = Derived::None;
};

// How a partner file carries coordinates when it has no native geometry.
struct CoordinateColumns {
    std::vector<std::string> x, y;      // projected columns (CRS declared, hinted by the title, or guessed)
    std::vector<std::string> lon, lat;  // WGS84 columns
    std::vector<std::string> wkt;       // a WKT geometry column
};

// A condition on one field, for cluster statistics: value in a list and/or at least a minimum.
struct TileCondition {
    int field = -1;               // index in LayerSpec::fields
    std::vector<std::string> in;  // the value equals one of these (empty: any)
    std::optional<double> min;    // the value is at least this
};

// A share shown on clusters ("available": disponible = 1): holds when any group has all conditions true.
struct ClusterStat {
    std::string name;
    std::vector<std::vector<TileCondition>> any_of;
};

// Fields shown in tiles between two zooms.
struct ZoomProperties {
    int minzoom = 0, maxzoom = 22;
    std::vector<std::string> fields;
};

// How a layer is drawn in vector tiles ("tiles" in layers/*.json).
struct TileSpec {
    int minzoom = 0, maxzoom = 22;
    int cluster_below = -1;     // point layers: zooms below this show clusters
    int cluster_cell_px = 64;   // cluster cell, in pixels of a 256-pixel tile
    std::vector<ClusterStat> cluster_stats;
    std::vector<std::string> properties;  // fields written in tiles; empty = every field not derived
    std::vector<ZoomProperties> zoom_properties;  // when set, a field shows only in its zoom ranges
    double simplify_px = 1.0;   // polygon simplification tolerance, in tile pixels of 4096
    // Polygon layers: from this zoom, one point per polygon (its pole of inaccessibility) in the one tile
    // that holds it, beside the polygons, for labels that clipped pieces would repeat; -1 = none.
    int label_points_minzoom = -1;
};

struct SourceSpec {
    std::string id;        // stable key of the source within the layer ("sdis21")
    std::string partner;   // who publishes it ("SDIS 21")
    std::string protocol;  // "file" (issue 2); csw, ckan, wfs... (the harvester)
    std::string url;       // a path (resolved against the layer file's folder) or a URL
    std::string crs;       // declared CRS of the coordinates ("EPSG:3946"); empty = from the file
    std::string encoding;  // declared text encoding ("CP1252"); empty = detected
    std::string layer;     // layer or sheet inside the file; empty = the first
    std::map<std::string, std::string> options;  // protocol- or format-specific settings
};

// Access control as data ("access" in layers/*.json). A grant lets a role in ("public": anyone); with
// "own" ("member:own"), only where the caller's territory covers the feature's (or the extract's) commune.
struct AccessGrant {
    std::optional<access::Role> role;  // nullopt: the public, anyone
    bool own = false;
};

enum class AccessOperation { Discover, Tiles, Items, Download };

// How precisely a caller sees where a feature is (the SINP sensitivity levels): exactly, on a grid of
// N metres, at its commune, at its department, or not at all.
enum class GeometryLevel { Exact, Grid, Commune, Department, None };
struct GeometryRule {
    GeometryLevel level = GeometryLevel::Exact;
    double grid_m = 0;  // GeometryLevel::Grid
};

struct AccessPolicy {
    bool declared = false;          // the layer has an "access" block (none: public, as before)
    bool challenge = false;         // a caller who may not read gets 401 (listed), else 404 (not there at all)
    // Per operation, who may (absent: ["public"]). Discover = listed in /collections and the catalogue.
    std::vector<AccessGrant> discover{AccessGrant{}}, tiles{AccessGrant{}}, items{AccessGrant{}}, download{AccessGrant{}};
    bool rows_restricted = false;   // "rows": who may see a feature at all; others have it withheld
    std::vector<AccessGrant> rows;
    std::string row_filter;         // CQL2 text: features it matches are withheld...
    std::vector<AccessGrant> row_filter_visible_to;  // ...except from these
    std::map<access::Role, std::vector<std::string>> hidden_fields;   // per role, fields removed
    std::map<access::Role, std::vector<std::string>> visible_fields;  // per role, only these fields kept
    std::map<access::Role, GeometryRule> geometry;                    // per role; absent = exact
    bool count_withheld_by_commune = false;  // withheld features become one count per commune ("nombre")

    const std::vector<AccessGrant>& grants(AccessOperation op) const;
};

// Whether a grant list lets `who` in. With an INSEE code, "own" grants need the caller's territory to cover
// it; without one (a whole-layer question), an "own" grant lets in any caller of that role with a territory.
bool granted(const std::vector<AccessGrant>& grants, const access::Identity& who, std::string_view insee = {});
const char* to_string(AccessOperation op);

struct LayerSpec {
    std::string id;           // "pei"
    std::string title;        // "Points d'eau incendie"
    std::string description;
    std::string geometry_type = "point";  // point | polygon | line
    std::string id_field;                 // identifier field ("id_sdis")
    std::string insee_field;              // commune code field, filled from the location when absent
    std::string name_field;               // a human label field, if any
    std::string date_field;               // the field that orders duplicates (later wins); may be empty
    double max_distance_m = 1000;         // a location farther than this from its INSEE commune is rejected
    bool attribute_commune = true;        // compute/check INSEE from the commune polygons
    std::vector<FieldSpec> fields;
    CoordinateColumns coordinates;
    std::vector<SourceSpec> sources;
    TileSpec tiles;
    AccessPolicy access;
    std::filesystem::path file;  // where this spec was read from

    // Index of a field by name, or -1.
    int field_index(std::string_view name) const;
    const SourceSpec* find_source(std::string_view id) const;
};

struct LayerCatalog {
    std::vector<LayerSpec> layers;
    std::filesystem::path dir;

    const LayerSpec* find(std::string_view id) const;
    const LayerSpec& get(std::string_view id) const;  // throws InputError naming the unknown layer
};

// Reads every layers/*.json (deci-rules/ excluded); errors name the file and the key at fault.
LayerCatalog load_layers(const std::filesystem::path& dir);
LayerSpec parse_layer(const std::string& json, const std::filesystem::path& file);

const char* to_string(FieldType t);

}  // namespace ideo
