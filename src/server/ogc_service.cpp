// OGC API Common and Features parts around the items: landing page, conformance, the OpenAPI
// document (generated from the layers, so each collection's queryables appear) and queryables.
#include <algorithm>
#include <string>

#include "features.hpp"
#include "html.hpp"
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

void append_operation(std::string& out, std::string_view id, std::string_view summary, const std::string& parameters,
                      std::string_view media, std::string_view method = "get", bool needs_credential = false) {
    out += "{";
    append_json_string(out, method);
    out += ":{\"operationId\":";
    append_json_string(out, id);
    // A credential, in any of the three places the server reads one (components.securitySchemes).
    if (needs_credential) out += ",\"security\":[{\"bearer\":[]},{\"apiKeyHeader\":[]},{\"apiKeyQuery\":[]}]";
    out += ",\"summary\":";
    append_json_string(out, summary);
    out += ",\"parameters\":[" + parameters + "],\"responses\":{\"200\":{\"description\":\"OK\",\"content\":{";
    append_json_string(out, media);
    out += ":{}}},\"400\":{\"description\":\"a parameter is invalid: the error names it\"},\"404\":{\"description\":\"not found\"}";
    if (needs_credential)
        out += ",\"401\":{\"description\":\"no credential, or a bad, expired or revoked one (WWW-Authenticate)\"},"
               "\"403\":{\"description\":\"the credential's role may not (insufficient_scope)\"}";
    out += "}}}";
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
                        std::string_view media, bool needs_credential = false) {
        if (!paths.empty()) paths += ',';
        append_json_string(paths, path);
        paths += ':';
        append_operation(paths, id, summary, params, media, "get", needs_credential);
    };
    // Paths the layer's policy reserves to some roles say which (an "own" grant: on the caller's territory).
    auto needs = [&](std::string_view layer_id, AccessOperation op) {
        const index::LayerData* l = snapshot.layer(layer_id);
        if (!l || !l->spec.access.declared) return std::string();
        const auto& grants = l->spec.access.grants(op);
        if (std::any_of(grants.begin(), grants.end(), [](const AccessGrant& g) { return !g.role; })) return std::string();
        std::string roles;
        for (const auto& g : grants)
            roles += (roles.empty() ? "" : ", ") + std::string(access::role_name(*g.role)) + (g.own ? " (own territory)" : "");
        return " (needs a credential: " + (roles.empty() ? std::string("none may") : roles) + ")";
    };
    const std::string f_only = openapi_parameters(format_only_parameters());
    add_path("/", "getLandingPage", "landing page", f_only, "application/json");
    add_path("/conformance", "getConformance", "conformance classes", f_only, "application/json");
    add_path("/api", "getApi", "this OpenAPI document", "", openapi_type);
    add_path("/collections", "getCollections", "the collections (layers)", f_only, "application/json");
    for (const auto& [id, layer] : snapshot.layers) {
        const std::string path = "/collections/" + layer.spec.id;
        add_path(path, "describe_" + layer.spec.id, "collection " + layer.spec.title, f_only, "application/json");
        std::string q;
        for (const Parameter& p : items_parameters()) {
            const bool dated = p.name == "datetime";
            if (dated && layer.spec.date_field.empty()) continue;  // the layer has no date to filter on
            if (!q.empty()) q += ',';
            if (dated) append_openapi_parameter(q, p.name, p.in, std::string(p.description) + ": " + layer.spec.date_field, p.schema());
            else append_openapi_parameter(q, p);
        }
        for (const auto& f : layer.spec.fields) {
            std::string schema;
            append_field_schema(schema, f);
            q += ',';
            append_openapi_parameter(q, f.name, ParameterIn::Query, "equals this value (" + std::string(to_string(f.type)) + ")", schema);
        }
        add_path(path + "/items", "getItems_" + layer.spec.id, "items of " + layer.spec.title + needs(id, AccessOperation::Items), q, "application/geo+json");
        add_path(path + "/items/{featureId}", "getItem_" + layer.spec.id, "one item of " + layer.spec.title,
                 openapi_parameters(item_parameters()), "application/geo+json");
        add_path(path + "/queryables", "getQueryables_" + layer.spec.id, "queryables of " + layer.spec.title, "",
                 "application/schema+json");
    }
    // Beyond OGC API Features: every other path the server answers, with the parameters it accepts.
    add_path("/tiles/{layers}/{z}/{x}/{y}.mvt", "getXyzTile", "Mapbox Vector Tile of one or several layers (204 when empty)",
             openapi_parameters(xyz_tile_parameters()), "application/vnd.mapbox-vector-tile");
    add_path("/tiles/{layers}.json", "getTileJson", "TileJSON 3.0 of one or several layers", openapi_parameters(tilejson_parameters()),
             "application/json");
    add_path("/collections/{collectionId}/tiles", "getCollectionTilesets", "tilesets of a collection (OGC API Tiles)",
             openapi_parameters(collection_tilesets_parameters()), "application/json");
    add_path("/collections/{collectionId}/tiles/{tileMatrixSetId}", "getCollectionTileset", "tileset metadata",
             openapi_parameters(collection_tileset_parameters()), "application/json");
    add_path("/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}", "getCollectionTile",
             "one tile of a collection", openapi_parameters(collection_tile_parameters()), "application/vnd.mapbox-vector-tile");
    add_path("/tileMatrixSets", "getTileMatrixSets", "tile matrix sets", "", "application/json");
    add_path("/tileMatrixSets/{tileMatrixSetId}", "getTileMatrixSet", "a tile matrix set definition",
             openapi_parameters(tile_matrix_set_parameters()), "application/json");
    add_path("/styles/{styleId}", "getStyle", "MapLibre style document pointing at this server", openapi_parameters(style_parameters()),
             "application/json");
    add_path("/fonts/{fontstack}/{range}.pbf", "getGlyphs", "MapLibre glyphs (signed distance fields) of 256 code points",
             openapi_parameters(glyph_parameters()), "application/x-protobuf");
    add_path("/styles/sprites/{sprite}", "getSprite", "the styles' sprite sheet: ideo.json, ideo.png, ideo@2x.json, ideo@2x.png",
             openapi_parameters(sprite_parameters()), "image/png");
    add_path("/catalog/records", "searchCatalog", "harvested catalogue: full-text search, filters, facets",
             openapi_parameters(catalog_records_parameters()), "application/json");
    add_path("/catalog/records/{recordId}", "getCatalogRecord", "one record with its distributions and provenance",
             openapi_parameters(catalog_record_parameters()), "application/json");
    add_path("/catalog/dcat.jsonld", "getDcat", "the catalogue as DCAT-AP JSON-LD, Hydra-paged", openapi_parameters(dcat_parameters()),
             "application/ld+json");
    add_path("/deci/communes/{insee}", "getDeciCommune", "counts and data-quality flags of a commune",
             openapi_parameters(commune_parameters()), "application/json");
    // Downloads need a credential when the PEI layer's policy grants them to roles only: documented as such.
    const std::string download = needs("pei", AccessOperation::Download);
    add_path("/deci/communes/{insee}/extract.{format}", "getDeciExtract", "the commune's PEI, ERP and ICPE as a file" + download,
             openapi_parameters(extract_parameters()), "application/octet-stream", !download.empty());
    add_path("/deci/extract.{format}", "getDeciExtractMany", "extract of a list of communes or a department" + download,
             openapi_parameters(extract_many_parameters()), "application/octet-stream", !download.empty());
    add_path("/deci/communes/{insee}/arrete.docx", "getDeciArrete", "draft municipal DECI order" + download, openapi_parameters(commune_parameters()),
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document", !download.empty());
    add_path("/deci/communes/{insee}/coverage", "getDeciCoverage", "uncovered zones and the verdict of every ERP and ICPE",
             openapi_parameters(coverage_parameters()), "application/geo+json");
    add_path("/deci/communes/{insee}/schema", "getDeciSchema",
             "schéma communal: the fewest actions, then the lowest cost, covering every ERP and ICPE (an estimate)",
             openapi_parameters(schema_parameters()), "application/geo+json");
    add_path("/deci/check", "checkPoint", "nearest compliant PEI for a planned building, distance, verdict",
             openapi_parameters(check_parameters()), "application/json");
    add_path("/communes/search", "searchCommunes", "communes by name, INSEE code or postcode",
             openapi_parameters(commune_search_parameters()), "application/json");
    add_path("/health", "getHealth", "liveness, snapshot version, feature counts", "", "application/json");
    add_path("/metrics", "getMetrics", "Prometheus metrics (an admin key or the metrics token)", "", "text/plain", true);
    add_path("/whoami", "whoAmI", "the caller's role, organisation and territory, as its credential grants them", "",
             "application/json", true);
    if (!paths.empty()) paths += ',';
    append_json_string(paths, "/admin/harvest");
    paths += ':';
    append_operation(paths, "startHarvest", "starts a harvest in the background (Authorization: Bearer token); 202 with the run id",
                     "", "application/json", "post", true);

    Response res;
    res.content_type = openapi_type;
    res.body = "{\"openapi\":\"3.0.3\",\"info\":{\"title\":\"IDÉO: OGC API Features, Tiles, catalogue and DECI\",\"version\":\"1.0.0\"},\"servers\":[{\"url\":";
    append_json_string(res.body, req.base_url().empty() ? "/" : req.base_url());
    res.body += "}],\"paths\":{" + paths +
                "},\"components\":{\"securitySchemes\":{"
                "\"bearer\":{\"type\":\"http\",\"scheme\":\"bearer\",\"description\":\"an API key (ideo keys create) or an OpenID Connect token\"},"
                "\"apiKeyHeader\":{\"type\":\"apiKey\",\"in\":\"header\",\"name\":\"X-API-Key\"},"
                "\"apiKeyQuery\":{\"type\":\"apiKey\",\"in\":\"query\",\"name\":\"apikey\",\"description\":"
                "\"for clients that cannot send headers (QGIS); carried into the answer's links\"}}}}";
    cacheable(res, snapshot);
    return res;
}

}  // namespace ideo::server
