// The catalogue as DCAT-AP JSON-LD (compacted, @graph), one Hydra page at a time: what udata's and
// CKAN's DCAT harvesters read (dcat:Dataset with dct:identifier, distributions, hydra:next).
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>

#include "ideo/catalog/search.hpp"
#include "ideo/core/url.hpp"

namespace ideo::catalog {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void str(Writer& w, const std::string& s) { w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size())); }
void kv(Writer& w, const char* k, const std::string& v) {
    if (v.empty()) return;
    w.Key(k);
    str(w, v);
}
void id_ref(Writer& w, const std::string& iri) {
    w.StartObject();
    w.Key("@id");
    str(w, iri);
    w.EndObject();
}

std::string wkt_box(const Envelope& e) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "POLYGON((%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g))", e.min_x, e.min_y,
                  e.max_x, e.min_y, e.max_x, e.max_y, e.min_x, e.max_y, e.min_x, e.min_y);
    return buf;
}

}  // namespace

std::string dcat_jsonld(const Catalog& c, std::size_t offset, std::size_t limit, const std::string& base_url) {
    const std::string catalog_iri = base_url + "/catalog/dcat.jsonld";
    const auto page_iri = [&](std::size_t page) {
        return catalog_iri + "?page=" + std::to_string(page) + "&page_size=" + std::to_string(limit);
    };
    const std::size_t end = std::min(c.records.size(), offset + limit);
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("@context");
    w.StartObject();
    for (const auto& [p, iri] : std::initializer_list<std::pair<const char*, const char*>>{
             {"dcat", "http://www.w3.org/ns/dcat#"}, {"dct", "http://purl.org/dc/terms/"}, {"foaf", "http://xmlns.com/foaf/0.1/"},
             {"hydra", "http://www.w3.org/ns/hydra/core#"}, {"locn", "http://www.w3.org/ns/locn#"},
             {"xsd", "http://www.w3.org/2001/XMLSchema#"}})
        kv(w, p, iri);
    w.EndObject();
    w.Key("@graph");
    w.StartArray();

    w.StartObject();
    kv(w, "@id", catalog_iri);
    kv(w, "@type", "dcat:Catalog");
    kv(w, "dct:title", "Catalogue moissonné (ideo)");
    w.Key("dcat:dataset");
    w.StartArray();
    for (std::size_t i = offset; i < end; ++i) id_ref(w, base_url + "/catalog/records/" + url::percent_encode(c.records[i].id, ":"));
    w.EndArray();
    w.EndObject();

    for (std::size_t i = offset; i < end; ++i) {
        const Record& r = c.records[i];
        w.StartObject();
        kv(w, "@id", base_url + "/catalog/records/" + url::percent_encode(r.id, ":"));
        kv(w, "@type", "dcat:Dataset");
        kv(w, "dct:identifier", r.id);
        kv(w, "dct:title", r.title);
        kv(w, "dct:description", r.description);
        if (!r.publisher.empty()) {
            w.Key("dct:publisher");
            w.StartObject();
            kv(w, "@type", "foaf:Organization");
            kv(w, "foaf:name", r.publisher);
            w.EndObject();
        }
        if (!r.keywords.empty()) {
            w.Key("dcat:keyword");
            w.StartArray();
            for (const auto& k : r.keywords) str(w, k);
            w.EndArray();
        }
        if (!r.themes.empty()) {
            w.Key("dcat:theme");
            w.StartArray();
            for (const auto& t : r.themes) str(w, t);
            w.EndArray();
        }
        kv(w, "dct:issued", r.issued);
        kv(w, "dct:modified", r.modified);
        if (!r.licence.empty()) kv(w, "dct:license", r.licence);
        if (r.bbox && !r.bbox->empty()) {
            w.Key("dct:spatial");
            w.StartObject();
            kv(w, "@type", "dct:Location");
            w.Key("dcat:bbox");
            w.StartObject();
            kv(w, "@type", "http://www.opengis.net/ont/geosparql#wktLiteral");
            kv(w, "@value", wkt_box(*r.bbox));
            w.EndObject();
            w.EndObject();
        }
        if (!r.distributions.empty()) {
            w.Key("dcat:distribution");
            w.StartArray();
            for (const auto& d : r.distributions) {
                w.StartObject();
                kv(w, "@type", "dcat:Distribution");
                w.Key("dcat:accessURL");
                id_ref(w, d.url);
                kv(w, "dct:title", d.title.empty() ? d.layer_name : d.title);
                kv(w, "dct:format", d.format);
                w.EndObject();
            }
            w.EndArray();
        }
        w.EndObject();
    }

    const std::size_t page = limit ? offset / limit + 1 : 1;
    const std::size_t last = limit ? std::max<std::size_t>(1, (c.records.size() + limit - 1) / limit) : 1;
    w.StartObject();
    kv(w, "@id", page_iri(page));
    kv(w, "@type", "hydra:PartialCollectionView");
    w.Key("hydra:totalItems");
    w.Uint64(c.records.size());
    w.Key("hydra:itemsPerPage");
    w.Uint64(limit);
    kv(w, "hydra:first", page_iri(1));
    kv(w, "hydra:last", page_iri(last));
    if (page > 1) kv(w, "hydra:previous", page_iri(page - 1));
    if (page < last) kv(w, "hydra:next", page_iri(page + 1));
    w.EndObject();

    w.EndArray();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace ideo::catalog
