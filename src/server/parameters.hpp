#pragma once
// Typed parameters of each API verb (OSRM's *Parameters), parsed and validated from the route and
// the query string in one call: a bad value throws HttpError 400 naming the parameter, before any
// work is done. Each family's definitions (params/parameter.hpp) are also what GET /api documents.
// The parsers are in params/: features.cpp, deci.cpp, catalog.cpp, tiles.cpp.
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http.hpp"
#include "ideo/catalog/search.hpp"
#include "ideo/core/layer.hpp"
#include "ideo/deci/coverage.hpp"
#include "ideo/deci/schema.hpp"
#include "ideo/index/cql2.hpp"
#include "ideo/index/selection.hpp"
#include "ideo/index/snapshot.hpp"
#include "ideo/ingest/served_crs.hpp"
#include "ideo/tiles/tile.hpp"
#include "params/parameter.hpp"

namespace ideo::server {

// ---- OGC API Features (params/features.cpp) ----

inline constexpr std::size_t default_limit = 100;
inline constexpr std::size_t max_limit = 10000;

// The encodings a client asks for with `f` or Accept.
enum class Format { Json, Html, Csv };

// Output properties beyond the layer's fields (negative ids in ItemsParameters::properties).
inline constexpr int property_source = -1, property_source_id = -2, property_harvested_at = -3, property_flags = -4;
// The name of an output property id: a field name or one of the provenance properties.
std::string property_name(const LayerSpec& layer, int id);

// GET /collections/{layer}/items
struct ItemsParameters {
    std::size_t limit = default_limit;
    std::size_t offset = 0;
    index::ItemQuery query;  // bbox (CRS84, converted from bbox-crs) and property filters
    std::unique_ptr<index::cql2::Expr> filter;  // `filter`, resolved against the layer, literals in CRS84
    std::optional<index::DateRange> datetime;   // on the layer's date_field
    std::vector<index::SortKey> sortby;
    std::optional<std::vector<int>> properties;  // field indices or property_* ids; unset = all
    const ingest::ServedCrs* crs = &ingest::crs84();  // of the response's coordinates
    Format format = Format::Json;

    // The whole selection for index::select_items (points into this object).
    index::ItemSelection selection(const LayerSpec& layer) const;
};
// `accept` is the Accept header, when the client sent one (f= wins over it).
ItemsParameters parse_items_parameters(const QueryParams& q, const LayerSpec& layer, const std::string* accept = nullptr);
// Beyond these, each field of the layer is a parameter (equals this value); `datetime` only on a dated layer.
std::span<const Parameter> items_parameters();

// GET /collections/{layer}/items/{id}: `f` and `crs`.
struct ItemParameters {
    const ingest::ServedCrs* crs = &ingest::crs84();
    Format format = Format::Json;
};
ItemParameters parse_item_parameters(const QueryParams& q, const std::string* accept = nullptr);
std::span<const Parameter> item_parameters();

// GET /, /conformance, /collections, /collections/{layer}: only `f` (json or html).
Format parse_format_only(const QueryParams& q, const std::string* accept = nullptr);
std::span<const Parameter> format_only_parameters();

// ---- DECI (params/deci.cpp) ----

// GET /deci/communes/{insee}/extract.{format}
struct ExtractParameters {
    std::string insee;
    std::string format;
    std::string crs = "EPSG:2154";  // for GeoJSON, empty = CRS84
};
// An unknown format is a 404: no such file.
ExtractParameters parse_extract_parameters(std::string_view insee, std::string_view format, const QueryParams& q);
std::span<const Parameter> extract_parameters();

// GET /deci/extract.{format}?insee=a,b|dept=90
struct ExtractManyParameters {
    std::string format;
    std::string crs = "EPSG:2154";
    std::vector<std::string> communes;  // either these
    std::string dept;                   // or a department
};
ExtractManyParameters parse_extract_many_parameters(std::string_view format, const QueryParams& q);
std::span<const Parameter> extract_many_parameters();

// GET /deci/communes/{insee} and /deci/communes/{insee}/arrete.docx
struct CommuneParameters {
    std::string insee;
    std::optional<std::string> rules;  // a department or "default"; unset = the commune's department
};
CommuneParameters parse_commune_parameters(std::string_view insee, const QueryParams& q);
std::span<const Parameter> commune_parameters();

// GET /deci/communes/{insee}/coverage
struct CoverageParameters : CommuneParameters {
    deci::Mode mode = deci::Mode::Straight;
};
CoverageParameters parse_coverage_parameters(std::string_view insee, const QueryParams& q);
std::span<const Parameter> coverage_parameters();

// GET /deci/communes/{insee}/schema
struct SchemaParameters : CoverageParameters {
    std::optional<double> budget;  // euros, >= 0
    deci::Solver solver = deci::Solver::Greedy;
};
SchemaParameters parse_schema_parameters(std::string_view insee, const QueryParams& q);
std::span<const Parameter> schema_parameters();

// GET /deci/check?lon=&lat=
struct CheckParameters {
    double lon = 0, lat = 0;
    std::optional<std::string> risk;  // a risk class of the rules, checked against them; unset = the area's class
    deci::Mode mode = deci::Mode::Road;  // along roads where a network is loaded, as DECI.md asks
    std::optional<std::string> rules;
};
CheckParameters parse_check_parameters(const QueryParams& q);
std::span<const Parameter> check_parameters();

// ---- Catalogue and commune search (params/catalog.cpp) ----

// GET /catalog/records
catalog::SearchQuery parse_catalog_records_parameters(const QueryParams& q);
std::span<const Parameter> catalog_records_parameters();
// GET /catalog/records/{id}: only f=json.
void parse_catalog_record_parameters(const QueryParams& q);
std::span<const Parameter> catalog_record_parameters();

// GET /catalog/dcat.jsonld
struct DcatParameters {
    std::size_t page = 1, page_size = 100;
};
DcatParameters parse_dcat_parameters(const QueryParams& q);
std::span<const Parameter> dcat_parameters();

// GET /communes/search
struct CommuneSearchParameters {
    std::string q;
    std::size_t limit = 10;
};
CommuneSearchParameters parse_commune_search_parameters(const QueryParams& q);
std::span<const Parameter> commune_search_parameters();

// ---- Tiles, styles, fonts, sprites (params/tiles.cpp): path parameters only ----

// The most layers one tile or TileJSON combines: each costs a pass over its index.
inline constexpr std::size_t max_tile_layers = 16;

// GET /tiles/{layers}/{z}/{x}/{y}.mvt
struct XyzTileParameters {
    std::vector<std::string> layers;  // each once, each served (a layer or the computed coverage)
    tiles::TileId tile;               // maybe outside the matrix: that is a 404 of the tile
};
XyzTileParameters parse_xyz_tile_parameters(const index::Snapshot& snapshot, const Route& r);
std::span<const Parameter> xyz_tile_parameters();

// GET /tiles/{layers}.json
std::vector<std::string> parse_tilejson_parameters(const index::Snapshot& snapshot, const Route& r);
std::span<const Parameter> tilejson_parameters();

// GET /collections/{layer}/tiles/{matrix_set}/{z}/{row}/{col} (WebMercatorQuad only, else 404)
tiles::TileId parse_collection_tile_parameters(const Route& r);
std::span<const Parameter> collection_tile_parameters();
std::span<const Parameter> collection_tilesets_parameters();  // {collectionId}
std::span<const Parameter> collection_tileset_parameters();   // {collectionId}/{tileMatrixSetId}
std::span<const Parameter> tile_matrix_set_parameters();      // {tileMatrixSetId}
// A 404 unless `id` is WebMercatorQuad, the one tile matrix set served.
void check_tile_matrix_set(std::string_view id);

// GET /styles/{style}: a 404 for a name that could not be a style file.
std::string parse_style_parameters(const Route& r);
std::span<const Parameter> style_parameters();

// GET /fonts/{fontstack}/{start}-{end}.pbf
struct GlyphParameters {
    std::string fontstack;
    std::uint32_t start = 0;  // a multiple of 256
};
GlyphParameters parse_glyph_parameters(const Route& r);
std::span<const Parameter> glyph_parameters();

// GET /styles/sprites/{name}[@2x].{json,png}
struct SpriteParameters {
    std::string name;
    bool retina = false;
    bool json = false;  // else png
};
SpriteParameters parse_sprite_parameters(const Route& r);
std::span<const Parameter> sprite_parameters();

}  // namespace ideo::server
