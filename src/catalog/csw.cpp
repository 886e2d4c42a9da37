// CSW 2.0.2 answers with libxml2 and XPath: ISO 19139, Dublin Core and GeoNetwork's DCAT records.
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include "ideo/catalog/parse.hpp"
#include "ideo/catalog/rules.hpp"
#include "ideo/core/text.hpp"
#include "rdf.hpp"

namespace ideo::catalog {
namespace {

struct DocFree {
    void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct CtxFree {
    void operator()(xmlXPathContext* c) const { xmlXPathFreeContext(c); }
};
struct ObjFree {
    void operator()(xmlXPathObject* o) const { xmlXPathFreeObject(o); }
};
struct ParserFree {
    void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};
using Doc = std::unique_ptr<xmlDoc, DocFree>;

const std::pair<const char*, const char*> kNamespaces[] = {
    {"csw", "http://www.opengis.net/cat/csw/2.0.2"}, {"gmd", "http://www.isotc211.org/2005/gmd"},
    {"gco", "http://www.isotc211.org/2005/gco"},     {"gmx", "http://www.isotc211.org/2005/gmx"},
    {"srv", "http://www.isotc211.org/2005/srv"},     {"xlink", "http://www.w3.org/1999/xlink"},
    {"dc", "http://purl.org/dc/elements/1.1/"},      {"dct", "http://purl.org/dc/terms/"},
    {"ows", "http://www.opengis.net/ows"},           {"rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"},
    {"gml", "http://www.opengis.net/gml"},           {"gml32", "http://www.opengis.net/gml/3.2"}};

// Every MD_Metadata child ISO 19139 allows: anything else is a schema defect.
const std::set<std::string> kMdMetadataChildren = {
    "fileIdentifier", "language", "characterSet", "parentIdentifier", "hierarchyLevel", "hierarchyLevelName",
    "contact", "dateStamp", "metadataStandardName", "metadataStandardVersion", "dataSetURI", "locale",
    "spatialRepresentationInfo", "referenceSystemInfo", "metadataExtensionInfo", "identificationInfo",
    "contentInfo", "distributionInfo", "dataQualityInfo", "portrayalCatalogueInfo", "metadataConstraints",
    "applicationSchemaInfo", "metadataMaintenance", "series", "describes", "propertyType", "featureType",
    "featureAttribute"};

std::string content(const xmlNode* n) {
    xmlChar* c = xmlNodeGetContent(n);
    if (!c) return {};
    std::string s = text::trim(reinterpret_cast<const char*>(c));
    xmlFree(c);
    return s;
}

std::string attr(const xmlNode* n, const char* name, const char* ns = nullptr) {
    xmlChar* c = ns ? xmlGetNsProp(n, BAD_CAST name, BAD_CAST ns) : xmlGetProp(n, BAD_CAST name);
    if (!c) return {};
    std::string s = reinterpret_cast<const char*>(c);
    xmlFree(c);
    return s;
}

std::string qname(const xmlNode* n) {
    std::string s = n->ns && n->ns->prefix ? std::string(reinterpret_cast<const char*>(n->ns->prefix)) + ":" : "";
    return s + reinterpret_cast<const char*>(n->name);
}

class XPath {
public:
    explicit XPath(xmlDoc* doc) : ctx_(xmlXPathNewContext(doc)) {
        for (const auto& [p, uri] : kNamespaces) xmlXPathRegisterNs(ctx_.get(), BAD_CAST p, BAD_CAST uri);
    }
    std::vector<xmlNode*> nodes(xmlNode* at, const char* expr) {
        ctx_->node = at;
        std::unique_ptr<xmlXPathObject, ObjFree> o(xmlXPathCompiledEval(compiled(expr), ctx_.get()));
        std::vector<xmlNode*> out;
        if (o && o->nodesetval)
            for (int i = 0; i < o->nodesetval->nodeNr; ++i) out.push_back(o->nodesetval->nodeTab[i]);
        return out;
    }
    std::vector<std::string> texts(xmlNode* at, const char* expr) {
        std::vector<std::string> out;
        for (auto* n : nodes(at, expr))
            if (auto s = content(n); !s.empty()) out.push_back(std::move(s));
        return out;
    }
    std::string text(xmlNode* at, const char* expr) {
        auto t = texts(at, expr);
        return t.empty() ? std::string() : t.front();
    }

private:
    // Each expression compiled once per answer page, not once per record.
    xmlXPathCompExpr* compiled(const char* expr) {
        auto it = compiled_.find(std::string_view(expr));
        if (it == compiled_.end())
            it = compiled_.emplace(expr, std::unique_ptr<xmlXPathCompExpr, CompFree>(xmlXPathCtxtCompile(ctx_.get(), BAD_CAST expr))).first;
        return it->second.get();
    }
    struct CompFree {
        void operator()(xmlXPathCompExpr* c) const { xmlXPathFreeCompExpr(c); }
    };
    std::unique_ptr<xmlXPathContext, CtxFree> ctx_;
    std::map<std::string, std::unique_ptr<xmlXPathCompExpr, CompFree>, std::less<>> compiled_;
};

// Serialising one record of a page as a standalone document, byte for byte what copying it into a
// new document, reconciling its namespaces and dumping it gives (the stored original and its hash
// must not change), without the copy: declarations are added to the element and prefixes switched
// for the time of the dump, then everything is put back.
class StandaloneDump {
public:
    explicit StandaloneDump(xmlNode* root) : root_(root) {
        for (last_ = root->nsDef; last_ && last_->next;) last_ = last_->next;
        std::vector<const xmlChar*> scope;
        inherit(root, scope);  // what the copy (xmlStaticCopyNode) declares on the new root
        reconcile(root);       // what xmlReconciliateNs then declares and renames
    }
    ~StandaloneDump() {
        for (auto& [slot, ns] : renamed_) *slot = ns;
        xmlNs* added = last_ ? last_->next : root_->nsDef;
        if (last_) last_->next = nullptr;
        else root_->nsDef = nullptr;
        if (added) xmlFreeNsList(added);
    }
    StandaloneDump(const StandaloneDump&) = delete;
    StandaloneDump& operator=(const StandaloneDump&) = delete;

    std::string text() const {
        // A new document has no encoding: libxml2 then writes non-ASCII attribute characters as references.
        const xmlChar* encoding = root_->doc->encoding;
        root_->doc->encoding = nullptr;
        xmlBuffer* buf = xmlBufferCreate();
        xmlNodeDump(buf, root_->doc, root_, 0, 0);
        root_->doc->encoding = encoding;
        std::string out(reinterpret_cast<const char*>(xmlBufferContent(buf)), static_cast<std::size_t>(xmlBufferLength(buf)));
        xmlBufferFree(buf);
        return out;
    }

private:
    static bool is_xml(const xmlNs* ns) { return xmlStrEqual(ns->prefix, BAD_CAST "xml"); }
    xmlNs* root_prefix(const xmlChar* prefix) const {
        for (xmlNs* d = root_->nsDef; d; d = d->next)
            if (xmlStrEqual(d->prefix, prefix)) return d;
        return nullptr;
    }

    // A prefix used below but declared only above the element: declared on it, in order of first use.
    void inherit(xmlNode* n, std::vector<const xmlChar*>& scope) {
        const std::size_t mark = scope.size();
        for (xmlNs* d = n->nsDef; d; d = d->next) scope.push_back(d->prefix);
        const auto use = [&](xmlNs* ns) {
            if (!ns || is_xml(ns)) return;
            for (const xmlChar* p : scope)
                if (xmlStrEqual(p, ns->prefix)) return;
            if (!root_prefix(ns->prefix)) xmlNewNs(root_, ns->href, ns->prefix);
        };
        use(n->ns);
        for (xmlAttr* a = n->properties; a; a = a->next) use(a->ns);
        for (xmlNode* c = n->children; c; c = c->next)
            if (c->type == XML_ELEMENT_NODE) inherit(c, scope);
        scope.resize(mark);
    }

    // Every namespace used is bound to the element's first declaration of its URI, declared there
    // when missing (under its prefix, or prefix1, prefix2... when the element uses that one).
    void reconcile(xmlNode* n) {
        bind(&n->ns);
        for (xmlAttr* a = n->properties; a; a = a->next) bind(&a->ns);
        for (xmlNode* c = n->children; c; c = c->next)
            if (c->type == XML_ELEMENT_NODE) reconcile(c);
    }
    void bind(xmlNs** slot) {
        xmlNs* ns = *slot;
        if (!ns || is_xml(ns)) return;
        xmlNs*& to = bound_[ns];
        if (!to) {
            for (xmlNs* d = root_->nsDef; d && !to; d = d->next)
                if (xmlStrEqual(d->href, ns->href)) to = d;
            if (!to) {
                const std::string base = ns->prefix ? reinterpret_cast<const char*>(ns->prefix) : "default";
                std::string prefix = base;
                for (int i = 1; root_prefix(BAD_CAST prefix.c_str()) && i < 1000; ++i) prefix = base + std::to_string(i);
                to = xmlNewNs(root_, ns->href, BAD_CAST prefix.c_str());
            }
        }
        if (to && !xmlStrEqual(to->prefix, ns->prefix)) {
            renamed_.emplace_back(slot, ns);
            *slot = to;
        }
    }

    xmlNode* root_;
    xmlNs* last_ = nullptr;  // the element's own last declaration: what follows was added here
    std::map<xmlNs*, xmlNs*> bound_;
    std::vector<std::pair<xmlNs**, xmlNs*>> renamed_;
};

std::string serialise(xmlNode* node) { return StandaloneDump(node).text(); }

void add_unique(std::vector<std::string>& v, std::string s) {
    if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

std::optional<double> number(const std::string& s) {
    try {
        std::size_t used = 0;
        const double v = std::stod(s, &used);
        if (used == 0 || !std::isfinite(v)) return std::nullopt;
        return v;
    } catch (...) {
        return std::nullopt;
    }
}

Record iso_record(XPath& xp, xmlNode* md, std::vector<std::string>& defects) {
    for (xmlNode* c = md->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !kMdMetadataChildren.count(reinterpret_cast<const char*>(c->name)))
            defects.push_back("schema defect: unexpected element " + qname(c) + " in gmd:MD_Metadata at line " +
                              std::to_string(xmlGetLineNo(c)));
    Record r;
    r.original_format = "iso19139";
    r.original = serialise(md);
    r.remote_id = xp.text(md, "gmd:fileIdentifier/*");
    const char* ident = "gmd:identificationInfo/*";
    xmlNode* id = nullptr;
    if (auto ids = xp.nodes(md, ident); !ids.empty()) id = ids.front();
    if (!id) {
        defects.push_back("schema defect: no gmd:identificationInfo");
        return r;
    }
    r.title = xp.text(id, "gmd:citation/*/gmd:title/*");
    r.description = xp.text(id, "gmd:abstract/*");
    for (const char* role : {"publisher", "owner", "custodian", "pointOfContact", "originator"}) {
        const std::string expr = std::string("gmd:pointOfContact/*[gmd:role/*/@codeListValue='") + role +
                                 "']/gmd:organisationName/*";
        r.publisher = xp.text(id, expr.c_str());
        if (!r.publisher.empty()) break;
    }
    if (r.publisher.empty()) r.publisher = xp.text(id, "gmd:pointOfContact/*/gmd:organisationName/*");
    if (r.publisher.empty()) r.publisher = xp.text(md, "gmd:contact/*/gmd:organisationName/*");

    for (auto* kw : xp.nodes(id, "gmd:descriptiveKeywords/gmd:MD_Keywords")) {
        const std::string thesaurus = text::fold_key(xp.text(kw, "gmd:thesaurusName/*/gmd:title/*"));
        const bool inspire_themes = thesaurus.find("inspire_themes") != std::string::npos ||
                                    thesaurus.find("inspire_theme") != std::string::npos;
        for (auto* k : xp.nodes(kw, "gmd:keyword/*")) {
            const std::string label = content(k);
            add_unique(r.keywords, label);
            const std::string href = attr(k, "href", "http://www.w3.org/1999/xlink");
            if (href.find("inspire.ec.europa.eu/theme/") != std::string::npos) add_unique(r.topic_categories, href);
            else if (inspire_themes) add_unique(r.topic_categories, label);
        }
    }
    for (auto& c : xp.texts(id, "gmd:topicCategory/gmd:MD_TopicCategoryCode")) add_unique(r.topic_categories, c);

    for (auto* b : xp.nodes(id, ".//gmd:EX_GeographicBoundingBox")) {
        const auto w = number(xp.text(b, "gmd:westBoundLongitude/*")), e = number(xp.text(b, "gmd:eastBoundLongitude/*"));
        const auto s = number(xp.text(b, "gmd:southBoundLatitude/*")), n = number(xp.text(b, "gmd:northBoundLatitude/*"));
        if (!w || !e || !s || !n) continue;
        Envelope env = r.bbox.value_or(Envelope{});
        env.expand(*w, *s);
        env.expand(*e, *n);
        r.bbox = env;
    }
    for (auto* d : xp.nodes(id, "gmd:citation/*/gmd:date/gmd:CI_Date")) {
        const std::string type = xp.text(d, "gmd:dateType/*/@codeListValue");
        const std::string value = xp.text(d, "gmd:date/*");
        if ((type == "publication" || (type == "creation" && r.issued.empty()))) r.issued = value;
        if (type == "revision") r.modified = value;
    }
    if (const std::string stamp = xp.text(md, "gmd:dateStamp/*"); !stamp.empty()) r.modified = stamp;
    r.licence = xp.text(id, "gmd:resourceConstraints/*/gmd:otherConstraints/*");
    if (r.licence.empty()) r.licence = xp.text(id, "gmd:resourceConstraints/*/gmd:useLimitation/*");

    const std::string format = xp.text(md, "gmd:distributionInfo/*/gmd:distributionFormat/*/gmd:name/*");
    for (auto* o : xp.nodes(md, "gmd:distributionInfo//gmd:CI_OnlineResource")) {
        Distribution dist;
        dist.url = xp.text(o, "gmd:linkage/gmd:URL");
        if (dist.url.empty()) continue;
        dist.protocol = xp.text(o, "gmd:protocol/*");
        dist.layer_name = xp.text(o, "gmd:name/*");
        dist.title = xp.text(o, "gmd:description/*");
        const bool service = dist.protocol.find("OGC") != std::string::npos || dist.protocol.find("WFS") != std::string::npos ||
                             dist.protocol.find("WMS") != std::string::npos;
        if (!service) dist.format = format;
        normalise_distribution(dist);
        r.distributions.push_back(std::move(dist));
    }
    if (r.remote_id.empty()) defects.push_back("schema defect: no gmd:fileIdentifier");
    if (r.title.empty()) defects.push_back("schema defect: no title in gmd:citation");
    return r;
}

// ows:BoundingBox in EPSG:4326 URNs is latitude first; WGS84BoundingBox is longitude first.
std::optional<Envelope> ows_bbox(XPath& xp, xmlNode* rec) {
    for (auto* b : xp.nodes(rec, "ows:WGS84BoundingBox|ows:BoundingBox")) {
        const std::string crs = attr(b, "crs");
        const bool lat_first = std::string(reinterpret_cast<const char*>(b->name)) == "BoundingBox" &&
                               crs.find("urn:ogc:def:crs:EPSG") != std::string::npos && crs.find("4326") != std::string::npos;
        auto corner = [&](const char* expr) -> std::optional<std::pair<double, double>> {
            const std::string s = xp.text(b, expr);
            const auto sp = s.find(' ');
            if (sp == std::string::npos) return std::nullopt;
            auto a = number(s.substr(0, sp)), c = number(text::trim(s.substr(sp + 1)));
            if (!a || !c) return std::nullopt;
            return lat_first ? std::make_pair(*c, *a) : std::make_pair(*a, *c);
        };
        const auto lo = corner("ows:LowerCorner"), hi = corner("ows:UpperCorner");
        if (!lo || !hi) continue;
        Envelope e;
        e.expand(lo->first, lo->second);
        e.expand(hi->first, hi->second);
        return e;
    }
    return std::nullopt;
}

Record dc_record(XPath& xp, xmlNode* rec, std::vector<std::string>& defects) {
    Record r;
    r.original_format = "dc";
    r.original = serialise(rec);
    r.remote_id = xp.text(rec, "dc:identifier");
    r.title = xp.text(rec, "dc:title");
    r.description = xp.text(rec, "dct:abstract");
    if (r.description.empty()) r.description = xp.text(rec, "dc:description");
    r.publisher = xp.text(rec, "dc:publisher");
    if (r.publisher.empty()) r.publisher = xp.text(rec, "dc:creator");
    for (auto& s : xp.texts(rec, "dc:subject")) add_unique(r.keywords, s);
    r.modified = xp.text(rec, "dct:modified");
    r.issued = xp.text(rec, "dc:date");
    if (r.modified.empty()) r.modified = r.issued;
    r.licence = xp.text(rec, "dct:license");
    if (r.licence.empty()) r.licence = xp.text(rec, "dc:rights");
    r.bbox = ows_bbox(xp, rec);
    for (auto* u : xp.nodes(rec, "dc:URI|dct:references")) {
        Distribution d;
        d.url = content(u);
        if (d.url.empty()) continue;
        d.protocol = attr(u, "protocol");
        if (d.protocol.empty()) d.protocol = attr(u, "scheme");
        d.layer_name = attr(u, "name");
        d.title = attr(u, "description");
        normalise_distribution(d);
        r.distributions.push_back(std::move(d));
    }
    if (r.remote_id.empty()) defects.push_back("no dc:identifier");
    if (r.title.empty()) defects.push_back("no dc:title");
    return r;
}

std::optional<std::size_t> count_attr(xmlNode* n, const char* name) {
    const std::string s = attr(n, name);
    if (s.empty()) return std::nullopt;
    try {
        return static_cast<std::size_t>(std::stoull(s));
    } catch (...) {
        return std::nullopt;
    }
}

bool named(const xmlNode* n, const char* ns, const char* name) {
    return n->ns && xmlStrEqual(n->ns->href, BAD_CAST ns) && xmlStrEqual(n->name, BAD_CAST name);
}

// The records of an answer in document order: outermost gmd:MD_Metadata, csw:Record, SummaryRecord,
// BriefRecord, and csw:SearchResults/rdf:RDF (the XPath union, walked once instead of searched per page).
void find_records(xmlNode* n, bool in_metadata, std::vector<xmlNode*>& out) {
    static const char* csw = "http://www.opengis.net/cat/csw/2.0.2";
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        const bool metadata = named(n, "http://www.isotc211.org/2005/gmd", "MD_Metadata");
        if ((metadata && !in_metadata) || named(n, csw, "Record") || named(n, csw, "SummaryRecord") ||
            named(n, csw, "BriefRecord") ||
            (named(n, "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "RDF") && n->parent && n->parent->type == XML_ELEMENT_NODE &&
             named(n->parent, csw, "SearchResults")))
            out.push_back(n);
        find_records(n->children, in_metadata || metadata, out);
    }
}

}  // namespace

namespace {

// Entity references may stand for this much text in one answer, all expanded: far more than any record's
// needs, far less than an attack's.
constexpr std::size_t kMaxEntityExpansion = 1u << 20;

class EntityBudget {
public:
    // Every reference in the document, attributes included, as xmlNodeGetContent and XPath would expand it.
    void count(const xmlNode* n) {
        for (; n; n = n->next) {
            if (n->type == XML_DTD_NODE) continue;  // the declarations themselves: counted where referenced
            if (n->type == XML_ENTITY_REF_NODE) spend(expansion(reinterpret_cast<const xmlEntity*>(n->children), 0));
            if (n->type == XML_ELEMENT_NODE)
                for (const xmlAttr* a = n->properties; a; a = a->next) count(a->children);
            if (n->type != XML_ENTITY_REF_NODE) count(n->children);
        }
    }

private:
    void spend(std::size_t bytes) {
        total_ += bytes;
        if (total_ > kMaxEntityExpansion)
            throw ParseError("entity references expand to more than " + std::to_string(kMaxEntityExpansion) +
                             " bytes of text (entity expansion refused)");
    }
    // The text one entity stands for, its own references expanded; memoised, so each is walked once.
    std::size_t expansion(const xmlEntity* e, int depth) {
        if (!e || e->type != XML_ENTITY_DECL) return 0;
        if (depth > 32) throw ParseError("entity " + std::string(reinterpret_cast<const char*>(e->name)) + " nests more than 32 deep");
        if (const auto it = sizes_.find(e); it != sizes_.end()) return it->second;
        std::size_t size = 0;
        std::vector<const xmlNode*> lists{e->children};
        while (!lists.empty()) {
            const xmlNode* n = lists.back();
            lists.pop_back();
            for (; n; n = n->next) {
                if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) size += static_cast<std::size_t>(xmlStrlen(n->content));
                else if (n->type == XML_ENTITY_REF_NODE) size += expansion(reinterpret_cast<const xmlEntity*>(n->children), depth + 1);
                else if (n->children) lists.push_back(n->children);
                if (size > kMaxEntityExpansion) spend(size);
            }
        }
        sizes_[e] = size;
        return size;
    }
    std::map<const xmlEntity*, std::size_t> sizes_;
    std::size_t total_ = 0;
};

// A partner's XML: never anything fetched (NONET, no DTD loaded, no external entity), no entity substituted
// while parsing (no NOENT), and libxml2's own limits kept (no HUGE: its guard against exponential entity
// expansion, its depth and text size limits); what entity references would still expand to is bounded above.
Doc read_xml(std::string_view xml) {
    std::unique_ptr<xmlParserCtxt, ParserFree> ctx(xmlNewParserCtxt());
    Doc doc(xmlCtxtReadMemory(ctx.get(), xml.data(), static_cast<int>(xml.size()), nullptr, nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
    if (!doc || !ctx->wellFormed) {
        const xmlError* e = xmlCtxtGetLastError(ctx.get());
        std::string msg = e && e->message ? text::trim(e->message) : "not well-formed";
        throw ParseError("invalid XML at line " + std::to_string(e ? e->line : 0) + ", column " +
                         std::to_string(e ? e->int2 : 0) + ": " + msg);
    }
    if (doc->intSubset) EntityBudget().count(doc->children);  // entities are declared in a DTD, or nowhere
    return doc;
}

}  // namespace

void rdf::refuse_entity_expansion(std::string_view xml) {
    if (xml.find("<!ENTITY") != std::string_view::npos) read_xml(xml);
}

ParseResult parse_csw(std::string_view xml) {
    Doc doc = read_xml(xml);
    xmlNode* root = xmlDocGetRootElement(doc.get());
    if (!root) throw ParseError("empty XML document");
    XPath xp(doc.get());
    ParseResult out;
    const std::string root_name = reinterpret_cast<const char*>(root->name);
    if (root_name == "ExceptionReport")
        throw ParseError("CSW exception: " + xp.text(root, ".//*[local-name()='ExceptionText']"));
    if (auto sr = xp.nodes(root, "//csw:SearchResults"); !sr.empty()) {
        out.paging.matched = count_attr(sr.front(), "numberOfRecordsMatched");
        out.paging.returned = count_attr(sr.front(), "numberOfRecordsReturned");
        out.paging.next_record = count_attr(sr.front(), "nextRecord");
    } else if (root_name != "MD_Metadata" && root_name != "GetRecordByIdResponse" && root_name != "Record") {
        throw ParseError("not a CSW answer: root element " + qname(root) + " at line " + std::to_string(xmlGetLineNo(root)));
    }
    std::size_t position = 0;
    std::vector<xmlNode*> records;
    find_records(root, false, records);
    for (xmlNode* n : records) {
        ++position;
        const std::string name = reinterpret_cast<const char*>(n->name);
        std::vector<std::string> defects;
        if (name == "RDF") {
            try {
                const std::string rdf = serialise(n);
                auto dcat = parse_dcat(rdf, RdfSyntax::RdfXml);
                for (auto& r : dcat.records) {
                    if (dcat.records.size() == 1) r.original = rdf;
                    out.records.push_back(std::move(r));
                }
                for (auto& f : dcat.failures) out.failures.push_back({position, f.remote_id, f.reason});
            } catch (const ParseError& e) {
                out.failures.push_back({position, "", std::string("line ") + std::to_string(xmlGetLineNo(n)) + ": " + e.what()});
            }
            continue;
        }
        Record r = name == "MD_Metadata" ? iso_record(xp, n, defects) : dc_record(xp, n, defects);
        if (!defects.empty()) {
            std::string reason;
            for (const auto& d : defects) reason += (reason.empty() ? "" : "; ") + d;
            out.failures.push_back({position, r.remote_id, reason});
            continue;
        }
        out.records.push_back(std::move(r));
    }
    return out;
}

std::string RecordFailure::to_string() const {
    return "record " + std::to_string(position) + (remote_id.empty() ? "" : " (" + remote_id + ")") + ": " + reason;
}

}  // namespace ideo::catalog
