// OGC API Common and Features parts around the items: landing page, conformance, the OpenAPI
// document (generated from the layers, so each collection's queryables appear) and queryables.
#include <array>
#include <initializer_list>
#include <string>

#include "features.hpp"
#include "html.hpp"
#include "ideo/ingest/served_crs.hpp"
#include "parameters.hpp"
#include "services.hpp"

namespace ideo::server {
namespace {

constexpr const char* html_type = "text/html; charset=utf-8";
constexpr const char* openapi_type = "application/vnd.oai.openapi+json;version=3.0";

const char* const conformance_classes[] = {
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
    "http://www.opengis.net/spec/ogcapi-features-6/1.0/conf/property-selection",
};

// JSON Schema type and format of a field, as queryables and OpenAPI write them.
void append_field_schema(std::string& out, const FieldSpec& f) {
    out += "{\"title\":";
    append_json_string(out, f.title.empty() ? f.name : f.title);
    switch (f.type) {
        case FieldType::String: out += ",\"type\":\"string\""; break;
        case FieldType::Integer: out += ",\"type\":\"integer\""; break;
        case FieldType::Number: out += ",\"type\":\"number\""; break;
        case FieldType::Boolean: out += ",\"type\":\"boolean\""; break;
        case FieldType::Date: out += ",\"type\":\"string\",\"format\":\"date\""; break;
    }
    if (!f.enum_values.empty() && f.type == FieldType::String) {
        out += ",\"enum\":[";
        for (std::size_t i = 0; i < f.enum_values.size(); ++i) {
            if (i) out += ',';
            append_json_string(out, f.enum_values[i]);
        }
        out += ']';
    }
    if (f.minimum) {
        out += ",\"minimum\":";
        append_json_number(out, *f.minimum);
    }
    if (f.maximum) {
        out += ",\"maximum\":";
        append_json_number(out, *f.maximum);
    }
    out += '}';
}

std::string geometry_format(const LayerSpec& spec) {
    if (spec.geometry_type == "point") return "geometry-point";
    if (spec.geometry_type == "line") return "geometry-linestring";
    return "geometry-polygon";  // communes are multipolygons: any polygon
}

// One OpenAPI parameter object.
void append_parameter(std::string& out, std::string_view name, std::string_view in, std::string_view description,
                      std::string_view schema, bool required = false) {
    out += "{\"name\":";
    append_json_string(out, name);
    out += ",\"in\":";
    append_json_string(out, in);
    out += ",\"description\":";
    append_json_string(out, description);
    out += ",\"required\":";
    out += required ? "true" : "false";
    out += ",\"schema\":";
    out += schema;
    out += '}';
}

void append_operation(std::string& out, std::string_view id, std::string_view summary, const std::string& parameters,
                      std::string_view media, std::string_view method = "get") {
    out += "{";
    append_json_string(out, method);
    out += ":{\"operationId\":";
    append_json_string(out, id);
    out += ",\"summary\":";
    append_json_string(out, summary);
    out += ",\"parameters\":[" + parameters + "],\"responses\":{\"200\":{\"description\":\"OK\",\"content\":{";
    append_json_string(out, media);
    out += ":{}}},\"400\":{\"description\":\"a parameter is invalid: the error names it\"},\"404\":{\"description\":\"not found\"}}}}";
}

std::string f_parameter(bool csv) {
    std::string out;
    append_parameter(out, "f", "query", "encoding", csv ? R"({"type":"string","enum":["json","html","csv"]})"
                                                         : R"({"type":"string","enum":["json","html"]})");
    return out;
}

std::string crs_enum() {
    std::string out = "{\"type\":\"string\",\"format\":\"uri\",\"enum\":[";
    bool first = true;
    for (const auto& c : ingest::served_crs()) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, c.uri);
    }
    return out + "]}";
}

}  // namespace

Response landing(const Request& req, const index::Snapshot& snapshot) {
    const Format format = parse_format_only(req.query, req.header("accept"));
    const std::string base = req.base_url();
    Response res;
    if (format == Format::Html) {
        res.content_type = html_type;
        res.body = html_page("IDÉO : données de défense incendie", {{"Accueil", ""}},
                             "<ul><li><a href=\"" + html_escape(base + "/collections?f=html") + "\">Collections</a></li><li><a href=\"" +
                                 html_escape(base + "/api") + "\">API (OpenAPI 3.0)</a></li><li><a href=\"" +
                                 html_escape(base + "/conformance?f=html") + "\">Conformité</a></li></ul>");
        cacheable(res, snapshot, "html");
        return res;
    }
    res.body = "{\"title\":\"IDÉO: fire-defence geodata (OGC API Features)\",\"description\":";
    append_json_string(res.body, "PEI water points, ERP public buildings, ICPE installations and communes, harvested from partner portals");
    res.body += ",\"links\":[";
    append_link(res.body, base + "/", "self", "application/json", "this document");
    res.body += ',';
    append_link(res.body, base + "/?f=html", "alternate", "text/html", "this document in HTML");
    res.body += ',';
    append_link(res.body, base + "/api", "service-desc", openapi_type, "the API definition");
    res.body += ',';
    append_link(res.body, base + "/conformance", "conformance", "application/json", "conformance classes");
    res.body += ',';
    append_link(res.body, base + "/conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance", "application/json",
                "conformance classes");
    res.body += ',';
    append_link(res.body, base + "/collections", "data", "application/json", "collections");
    res.body += ',';
    append_link(res.body, base + "/collections", "http://www.opengis.net/def/rel/ogc/1.0/data", "application/json", "collections");
    res.body += "]}";
    cacheable(res, snapshot);
    return res;
}

Response conformance(const Request& req, const index::Snapshot& snapshot) {
    const Format format = parse_format_only(req.query, req.header("accept"));
    Response res;
    if (format == Format::Html) {
        std::string body = "<ul>";
        for (const char* c : conformance_classes) body += "<li>" + html_escape(c) + "</li>";
        body += "</ul>";
        res.content_type = html_type;
        res.body = html_page("Conformité", {{"Accueil", req.base_url() + "/?f=html"}, {"Conformité", ""}}, body);
        cacheable(res, snapshot, "html");
        return res;
    }
    res.body = "{\"conformsTo\":[";
    bool first = true;
    for (const char* c : conformance_classes) {
        if (!first) res.body += ',';
        first = false;
        append_json_string(res.body, c);
    }
    res.body += "]}";
    cacheable(res, snapshot);
    return res;
}

Response queryables(const Request& req, const index::Snapshot& snapshot, std::string_view layer_id) {
    const auto& layer = find_layer(snapshot, layer_id);
    parse_format_only(req.query);
    Response res;
    res.content_type = "application/schema+json";
    res.body = "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$id\":";
    append_json_string(res.body, req.base_url() + collection_path(layer) + "/queryables");
    res.body += ",\"type\":\"object\",\"title\":";
    append_json_string(res.body, layer.spec.title);
    res.body += ",\"properties\":{\"geometry\":{\"format\":";
    append_json_string(res.body, geometry_format(layer.spec));
    res.body += '}';
    for (const auto& f : layer.spec.fields) {
        res.body += ',';
        append_json_string(res.body, f.name);
        res.body += ':';
        append_field_schema(res.body, f);
    }
    res.body += "},\"additionalProperties\":false}";
    cacheable(res, snapshot);
    return res;
}

Response api(const Request& req, const index::Snapshot& snapshot) {
    parse_format_only(req.query);
    std::string paths;
    auto add_path = [&](std::string_view path, std::string_view id, std::string_view summary, const std::string& params,
                        std::string_view media) {
        if (!paths.empty()) paths += ',';
        append_json_string(paths, path);
        paths += ':';
        append_operation(paths, id, summary, params, media);
    };
    add_path("/", "getLandingPage", "landing page", f_parameter(false), "application/json");
    add_path("/conformance", "getConformance", "conformance classes", f_parameter(false), "application/json");
    add_path("/api", "getApi", "this OpenAPI document", "", openapi_type);
    add_path("/collections", "getCollections", "the collections (layers)", f_parameter(false), "application/json");
    const std::string crs_schema = crs_enum();
    for (const auto& [id, layer] : snapshot.layers) {
        const std::string path = "/collections/" + layer.spec.id;
        add_path(path, "describe_" + layer.spec.id, "collection " + layer.spec.title, f_parameter(false), "application/json");
        std::string q;
        auto param = [&](std::string_view name, std::string_view description, std::string_view schema) {
            if (!q.empty()) q += ',';
            append_parameter(q, name, "query", description, schema);
        };
        param("limit", "items per page", R"({"type":"integer","minimum":1,"maximum":10000,"default":100})");
        param("offset", "items skipped (paging)", R"({"type":"integer","minimum":0,"default":0})");
        param("bbox", "minx,miny,maxx,maxy in bbox-crs", R"({"type":"array","items":{"type":"number"},"minItems":4,"maxItems":4})");
        param("bbox-crs", "CRS of bbox", crs_schema);
        param("crs", "CRS of the response's coordinates", crs_schema);
        if (!layer.spec.date_field.empty())
            param("datetime", "instant or interval (a/b, ../b, a/..) on " + layer.spec.date_field, R"({"type":"string"})");
        param("filter", "CQL2 text filter over the queryables", R"({"type":"string"})");
        param("filter-lang", "filter language", R"({"type":"string","enum":["cql2-text"],"default":"cql2-text"})");
        param("filter-crs", "CRS of the filter's geometry literals", crs_schema);
        param("sortby", "comma-separated fields, each prefixed by + or -", R"({"type":"string"})");
        param("properties", "comma-separated properties to return", R"({"type":"string"})");
        q += ',' + f_parameter(true);
        for (const auto& f : layer.spec.fields) {
            q += ',';
            std::string schema;
            append_field_schema(schema, f);
            append_parameter(q, f.name, "query", "equals this value (" + std::string(to_string(f.type)) + ")", schema);
        }
        add_path(path + "/items", "getItems_" + layer.spec.id, "items of " + layer.spec.title, q, "application/geo+json");
        std::string item_params;
        append_parameter(item_params, "featureId", "path", "the feature's identifier", R"({"type":"string"})", true);
        item_params += ',';
        append_parameter(item_params, "crs", "query", "CRS of the response's coordinates", crs_schema);
        item_params += ',' + f_parameter(false);
        add_path(path + "/items/{featureId}", "getItem_" + layer.spec.id, "one item of " + layer.spec.title, item_params,
                 "application/geo+json");
        add_path(path + "/queryables", "getQueryables_" + layer.spec.id, "queryables of " + layer.spec.title, "",
                 "application/schema+json");
    }
    // Beyond OGC API Features: every other path the server answers, with the parameters it accepts.
    const auto params = [](std::initializer_list<std::array<std::string_view, 4>> list) {  // name, in, description, schema
        std::string out;
        for (const auto& [name, in, description, schema] : list) {
            if (!out.empty()) out += ',';
            append_parameter(out, name, in, description, schema, in == "path");
        }
        return out;
    };
    constexpr std::string_view text = R"({"type":"string"})", integer = R"({"type":"integer","minimum":0})";
    constexpr std::string_view tile_z = R"({"type":"integer","minimum":0,"maximum":22})";
    const std::string xyz = params({{"layers", "path", "comma-separated layer ids", text}, {"z", "path", "zoom", tile_z},
                                    {"x", "path", "column", integer}, {"y", "path", "row", integer}});
    add_path("/tiles/{layers}/{z}/{x}/{y}.mvt", "getXyzTile", "Mapbox Vector Tile of one or several layers (204 when empty)",
             xyz, "application/vnd.mapbox-vector-tile");
    add_path("/tiles/{layers}.json", "getTileJson", "TileJSON 3.0 of one or several layers",
             params({{"layers", "path", "comma-separated layer ids", text}}), "application/json");
    add_path("/collections/{collectionId}/tiles", "getCollectionTilesets", "tilesets of a collection (OGC API Tiles)",
             params({{"collectionId", "path", "layer id", text}}), "application/json");
    add_path("/collections/{collectionId}/tiles/{tileMatrixSetId}", "getCollectionTileset", "tileset metadata",
             params({{"collectionId", "path", "layer id", text}, {"tileMatrixSetId", "path", "WebMercatorQuad", text}}),
             "application/json");
    add_path("/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}", "getCollectionTile",
             "one tile of a collection",
             params({{"collectionId", "path", "layer id", text}, {"tileMatrixSetId", "path", "WebMercatorQuad", text},
                     {"tileMatrix", "path", "zoom", tile_z}, {"tileRow", "path", "row", integer}, {"tileCol", "path", "column", integer}}),
             "application/vnd.mapbox-vector-tile");
    add_path("/tileMatrixSets", "getTileMatrixSets", "tile matrix sets", "", "application/json");
    add_path("/tileMatrixSets/{tileMatrixSetId}", "getTileMatrixSet", "a tile matrix set definition",
             params({{"tileMatrixSetId", "path", "WebMercatorQuad", text}}), "application/json");
    add_path("/styles/{styleId}", "getStyle", "MapLibre style document pointing at this server",
             params({{"styleId", "path", "style id (deci, pei)", text}}), "application/json");
    add_path("/fonts/{fontstack}/{range}.pbf", "getGlyphs", "MapLibre glyphs (signed distance fields) of 256 code points",
             params({{"fontstack", "path", "comma-separated font names, the first served is used (DejaVu Sans Book)", text},
                     {"range", "path", "first-last code point, a multiple of 256 to the next minus one (0-255)", text}}),
             "application/x-protobuf");
    add_path("/styles/sprites/{sprite}", "getSprite", "the styles' sprite sheet: ideo.json, ideo.png, ideo@2x.json, ideo@2x.png",
             params({{"sprite", "path", "sprite file", text}}), "image/png");
    add_path("/catalog/records", "searchCatalog", "harvested catalogue: full-text search, filters, facets",
             params({{"q", "query", "full text, accent- and case-insensitive", text},
                     {"theme", "query", "comma-separated themes", text},
                     {"publisher", "query", "comma-separated publishers", text},
                     {"keyword", "query", "comma-separated keywords", text},
                     {"format", "query", "comma-separated distribution formats", text},
                     {"bbox", "query", "minlon,minlat,maxlon,maxlat", text},
                     {"limit", "query", "records per page (1 to 1000, default 20)", integer},
                     {"offset", "query", "records skipped", integer}}),
             "application/json");
    add_path("/catalog/records/{recordId}", "getCatalogRecord", "one record with its distributions and provenance",
             params({{"recordId", "path", "record id", text}}), "application/json");
    add_path("/catalog/dcat.jsonld", "getDcat", "the catalogue as DCAT-AP JSON-LD, Hydra-paged",
             params({{"page", "query", "page number from 1", integer}, {"page_size", "query", "records per page (1 to 1000)", integer}}),
             "application/ld+json");
    constexpr std::string_view insee = R"({"type":"string","pattern":"^[0-9][0-9AB][0-9]{3}$"})";
    constexpr std::string_view extract_format = R"({"type":"string","enum":["xlsx","ods","csv","geojson","gpkg","shp.zip","kml"]})";
    const std::string crs_param = params({{"crs", "query", "CRS of the file (EPSG:2154 by default, CRS84 for GeoJSON)", text}});
    add_path("/deci/communes/{insee}", "getDeciCommune", "counts and data-quality flags of a commune",
             params({{"insee", "path", "INSEE code", insee}, {"rules", "query", "department of the DECI rules", text}}),
             "application/json");
    add_path("/deci/communes/{insee}/extract.{format}", "getDeciExtract", "the commune's PEI, ERP and ICPE as a file",
             params({{"insee", "path", "INSEE code", insee}, {"format", "path", "file format", extract_format}}) + "," + crs_param,
             "application/octet-stream");
    add_path("/deci/extract.{format}", "getDeciExtractMany", "extract of a list of communes or a department",
             params({{"format", "path", "file format", extract_format}, {"insee", "query", "comma-separated INSEE codes", text},
                     {"dept", "query", "department code", text}}) + "," + crs_param,
             "application/octet-stream");
    add_path("/deci/communes/{insee}/arrete.docx", "getDeciArrete", "draft municipal DECI order",
             params({{"insee", "path", "INSEE code", insee}, {"rules", "query", "department of the DECI rules", text}}),
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    constexpr std::string_view mode = R"({"type":"string","enum":["straight","road"],"default":"straight"})";
    add_path("/deci/communes/{insee}/coverage", "getDeciCoverage", "uncovered zones and the verdict of every ERP and ICPE",
             params({{"insee", "path", "INSEE code", insee}, {"mode", "query", "distances as the crow flies or along roads", mode},
                     {"rules", "query", "department of the DECI rules", text}}),
             "application/geo+json");
    add_path("/deci/check", "checkPoint", "nearest compliant PEI for a planned building, distance, verdict",
             params({{"lon", "query", "longitude (WGS84)", R"({"type":"number"})"}, {"lat", "query", "latitude (WGS84)", R"({"type":"number"})"},
                     {"risk", "query", "risk class (courant_faible, courant_ordinaire, courant_important, particulier)", text},
                     {"mode", "query", "distances as the crow flies or along roads", mode},
                     {"rules", "query", "department of the DECI rules", text}}),
             "application/json");
    add_path("/communes/search", "searchCommunes", "communes by name, INSEE code or postcode",
             params({{"q", "query", "text typed", text}, {"limit", "query", "1 to 50, default 10", integer}}), "application/json");
    add_path("/health", "getHealth", "liveness, snapshot version, feature counts", "", "application/json");
    add_path("/metrics", "getMetrics", "Prometheus metrics", "", "text/plain");
    if (!paths.empty()) paths += ',';
    append_json_string(paths, "/admin/harvest");
    paths += ':';
    append_operation(paths, "startHarvest", "starts a harvest in the background (Authorization: Bearer token); 202 with the run id",
                     "", "application/json", "post");

    Response res;
    res.content_type = openapi_type;
    res.body = "{\"openapi\":\"3.0.3\",\"info\":{\"title\":\"IDÉO: OGC API Features, Tiles, catalogue and DECI\",\"version\":\"1.0.0\"},\"servers\":[{\"url\":";
    append_json_string(res.body, req.base_url().empty() ? "/" : req.base_url());
    res.body += "}],\"paths\":{" + paths + "}}";
    cacheable(res, snapshot);
    return res;
}

}  // namespace ideo::server
