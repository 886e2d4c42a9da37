// DCAT graphs to records, whatever the RDF syntax, with Hydra paging.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "ideo/catalog/parse.hpp"
#include "ideo/catalog/rules.hpp"
#include "ideo/core/text.hpp"
#include "rdf.hpp"

namespace ideo::catalog {
namespace {

using rdf::Graph;
using rdf::Term;

const std::string kRdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const std::string kDcat = "http://www.w3.org/ns/dcat#";
const std::string kDct = "http://purl.org/dc/terms/";
const std::string kFoaf = "http://xmlns.com/foaf/0.1/";
const std::string kHydra = "http://www.w3.org/ns/hydra/core#";
const std::string kVcard = "http://www.w3.org/2006/vcard/ns#";
const std::string kLocn = "http://www.w3.org/ns/locn#";
const std::string kSkos = "http://www.w3.org/2004/02/skos/core#";
const std::string kRdfs = "http://www.w3.org/2000/01/rdf-schema#";

std::vector<const Term*> objects(const Graph& g, const std::string& s, const std::string& p) {
    std::vector<const Term*> out;
    if (const auto* ts = g.of(s))
        for (const auto& t : *ts)
            if (t.predicate == p) out.push_back(&t.object);
    return out;
}

// French first, then no language, then English, then any: the portal is French.
std::string literal(const Graph& g, const std::string& s, const std::string& p) {
    const Term* best = nullptr;
    int best_rank = 99;
    for (const Term* t : objects(g, s, p)) {
        if (t->kind != Term::Literal) continue;
        const int rank = t->lang.rfind("fr", 0) == 0 ? 0 : t->lang.empty() ? 1 : t->lang.rfind("en", 0) == 0 ? 2 : 3;
        if (rank < best_rank) best = t, best_rank = rank;
    }
    return best ? text::trim(best->value) : std::string();
}

std::string label(const Graph& g, const Term& t) {
    if (t.kind == Term::Literal) return text::trim(t.value);
    for (const auto& p : {kSkos + "prefLabel", kFoaf + "name", kRdfs + "label", kVcard + "fn",
                          kVcard + "organization-name", kDct + "title", kRdf + "value"})
        if (auto l = literal(g, t.value, p); !l.empty()) return l;
    return t.kind == Term::Iri ? t.value : std::string();
}

std::string value_or_iri(const Graph& g, const std::string& s, const std::string& p) {
    for (const Term* t : objects(g, s, p)) {
        if (t->kind == Term::Literal) return text::trim(t->value);
        if (auto l = label(g, *t); !l.empty()) return l;  // a described node's name, else its IRI
    }
    return {};
}

bool has_type(const Graph& g, const std::string& s, const std::string& type) {
    for (const Term* t : objects(g, s, kRdf + "type"))
        if (t->value == type) return true;
    return false;
}

// Envelope of every coordinate pair of a WKT or GeoJSON literal.
std::optional<Envelope> bbox_of_literal(const std::string& s) {
    if (s.find('<') != std::string::npos) return std::nullopt;  // GML: axis order depends on the CRS
    std::vector<double> nums;
    const char* p = s.c_str();
    const auto at = s.find_first_of("([");
    if (at == std::string::npos) return std::nullopt;
    p += at;
    while (*p) {
        if (std::isdigit(static_cast<unsigned char>(*p)) || ((*p == '-' || *p == '.') && std::isdigit(static_cast<unsigned char>(p[1])))) {
            char* end = nullptr;
            nums.push_back(std::strtod(p, &end));
            p = end;
        } else {
            ++p;
        }
    }
    if (nums.size() < 2 || nums.size() % 2) return std::nullopt;
    Envelope e;
    for (std::size_t i = 0; i + 1 < nums.size(); i += 2) e.expand(nums[i], nums[i + 1]);
    if (e.min_x < -180 || e.max_x > 180 || e.min_y < -90 || e.max_y > 90) return std::nullopt;
    return e;
}

// Blank nodes renamed _:b0, _:b1... in the order the description meets them: the parser numbers
// them across the whole page, so a dataset added above would otherwise change this one's text.
using BlankLabels = std::map<std::string, std::string>;

const std::string& blank_label(BlankLabels& labels, const std::string& id) {
    return labels.try_emplace(id, "_:b" + std::to_string(labels.size())).first->second;
}

std::string ntriples_term(const Term& t, BlankLabels& labels) {
    if (t.kind == Term::Iri) return "<" + t.value + ">";
    if (t.kind == Term::Blank) return blank_label(labels, t.value);
    std::string out = "\"";
    for (char c : t.value) {
        if (c == '"' || c == '\\') out += '\\', out += c;
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else out += c;
    }
    out += '"';
    if (!t.lang.empty()) out += "@" + t.lang;
    else if (!t.datatype.empty()) out += "^^<" + t.datatype + ">";
    return out;
}

// The dataset's own description as N-Triples: its triples, its blank nodes, its distributions.
void describe(const Graph& g, const std::string& s, std::set<std::string>& seen, BlankLabels& labels, std::string& out) {
    if (!seen.insert(s).second) return;
    const auto* ts = g.of(s);
    if (!ts) return;
    const std::string subject = s.rfind("_:", 0) == 0 ? blank_label(labels, s) : "<" + s + ">";
    for (const auto& t : *ts) {
        out += subject + " <" + t.predicate + "> " + ntriples_term(t.object, labels) + " .\n";
        const bool owned = t.object.kind == Term::Blank || t.predicate == kDcat + "distribution";
        if (owned) describe(g, t.object.value, seen, labels, out);
    }
}

Record dataset_record(const Graph& g, const std::string& s) {
    Record r;
    r.remote_id = literal(g, s, kDct + "identifier");
    if (r.remote_id.empty() && s.rfind("_:", 0) != 0) r.remote_id = s;
    r.title = literal(g, s, kDct + "title");
    r.description = literal(g, s, kDct + "description");
    if (r.description.empty()) r.description = literal(g, s, kDct + "abstract");
    r.publisher = value_or_iri(g, s, kDct + "publisher");
    if (r.publisher.empty())
        for (const Term* c : objects(g, s, kDcat + "contactPoint"))
            if (r.publisher = label(g, *c); !r.publisher.empty()) break;
    for (const Term* k : objects(g, s, kDcat + "keyword"))
        if (auto v = text::trim(k->value); !v.empty() && std::find(r.keywords.begin(), r.keywords.end(), v) == r.keywords.end())
            r.keywords.push_back(v);
    for (const Term* t : objects(g, s, kDcat + "theme")) {
        const std::string v = t->kind == Term::Literal ? text::trim(t->value) : t->value;
        if (!v.empty() && t->kind != Term::Blank) r.topic_categories.push_back(v);
        if (t->kind != Term::Literal)
            if (auto l = label(g, *t); !l.empty() && l != v) r.topic_categories.push_back(l);
    }
    r.issued = literal(g, s, kDct + "issued");
    r.modified = literal(g, s, kDct + "modified");
    r.licence = value_or_iri(g, s, kDct + "license");
    if (r.licence.empty()) r.licence = value_or_iri(g, s, kDct + "rights");
    for (const Term* sp : objects(g, s, kDct + "spatial")) {
        std::vector<std::string> candidates;
        if (sp->kind == Term::Literal) candidates.push_back(sp->value);
        for (const auto& p : {kDcat + "bbox", kLocn + "geometry"})
            for (const Term* v : objects(g, sp->value, p)) candidates.push_back(v->value);
        for (const auto& c : candidates)
            if (auto e = bbox_of_literal(c)) {
                Envelope env = r.bbox.value_or(Envelope{});
                env.expand(*e);
                r.bbox = env;
                break;
            }
    }
    for (const Term* dt : objects(g, s, kDcat + "distribution")) {
        Distribution d;
        const std::string& ds = dt->value;
        d.url = value_or_iri(g, ds, kDcat + "downloadURL");
        if (d.url.empty()) d.url = value_or_iri(g, ds, kDcat + "accessURL");
        if (d.url.empty() && dt->kind == Term::Iri) d.url = ds;
        if (d.url.empty()) continue;
        d.title = literal(g, ds, kDct + "title");
        d.format = value_or_iri(g, ds, kDct + "format");
        if (d.format.empty()) d.format = value_or_iri(g, ds, kDcat + "mediaType");
        d.protocol = value_or_iri(g, ds, kDct + "conformsTo");
        if (d.protocol.find("wfs") == std::string::npos && d.protocol.find("wms") == std::string::npos &&
            d.protocol.find("WFS") == std::string::npos && d.protocol.find("WMS") == std::string::npos)
            d.protocol.clear();
        normalise_distribution(d);
        r.distributions.push_back(std::move(d));
    }
    if (auto it = g.node_json.find(s); it != g.node_json.end()) {
        r.original = it->second;
    } else {
        std::set<std::string> seen;
        BlankLabels labels;
        describe(g, s, seen, labels, r.original);
    }
    return r;
}

}  // namespace

RdfSyntax sniff_rdf_syntax(std::string_view content_type, std::string_view body) {
    const auto has = [&](std::string_view needle) { return content_type.find(needle) != std::string_view::npos; };
    if (has("json")) return RdfSyntax::JsonLd;
    if (has("turtle") || has("n3") || has("n-triples")) return RdfSyntax::Turtle;
    if (has("xml")) return RdfSyntax::RdfXml;
    const auto at = body.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
    if (at == std::string_view::npos) return RdfSyntax::RdfXml;
    if (body[at] == '{' || body[at] == '[') return RdfSyntax::JsonLd;
    if (body[at] == '<' && body.substr(at, 2) != "<h") return RdfSyntax::RdfXml;
    return RdfSyntax::Turtle;
}

ParseResult parse_dcat(std::string_view body, RdfSyntax syntax, const std::string& base_uri) {
    if (syntax == RdfSyntax::RdfXml) rdf::refuse_entity_expansion(body);  // Raptor substitutes entities as it reads
    Graph g = syntax == RdfSyntax::JsonLd   ? rdf::parse_jsonld(body, base_uri)
              : syntax == RdfSyntax::Turtle ? rdf::parse_raptor(body, "turtle", base_uri)
                                            : rdf::parse_raptor(body, "rdfxml", base_uri);
    const char* format = syntax == RdfSyntax::JsonLd ? "dcat-jsonld" : syntax == RdfSyntax::Turtle ? "dcat-turtle" : "dcat-rdfxml";
    ParseResult out;
    std::size_t position = 0;
    for (const auto& s : g.order) {
        if (!has_type(g, s, kDcat + "Dataset")) continue;
        ++position;
        Record r = dataset_record(g, s);
        r.original_format = format;
        if (r.remote_id.empty()) {
            out.failures.push_back({position, "", "dcat:Dataset without dct:identifier nor IRI"});
            continue;
        }
        if (r.title.empty()) {
            out.failures.push_back({position, r.remote_id, "dcat:Dataset without dct:title"});
            continue;
        }
        out.records.push_back(std::move(r));
    }
    for (const auto& s : g.order) {
        for (const auto& p : {kHydra + "next", kHydra + "nextPage"})
            if (auto v = value_or_iri(g, s, p); !v.empty()) out.paging.next_url = v;
        if (auto total = literal(g, s, kHydra + "totalItems"); !total.empty()) {
            try {
                out.paging.matched = static_cast<std::size_t>(std::stoull(total));
            } catch (...) {
            }
        }
    }
    out.paging.returned = out.records.size() + out.failures.size();
    return out;
}

}  // namespace ideo::catalog
