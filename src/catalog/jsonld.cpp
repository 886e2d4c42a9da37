// JSON-LD to triples with RapidJSON: enough of the JSON-LD 1.1 expansion for catalogues
// (term and prefix contexts, nested contexts, @graph, @type, @value/@language, @list,
// expanded and flattened forms). Remote contexts are never fetched: the well-known DCAT and
// Project Open Data terms are built in.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>

#include "ideo/catalog/parse.hpp"
#include "ideo/core/json.hpp"
#include "ideo/core/url.hpp"
#include "rdf.hpp"

namespace ideo::catalog::rdf {
namespace {

using Json = rapidjson::Value;
constexpr const char* kRdfType = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

struct TermDef {
    std::string iri;
    bool id_valued = false;  // "@type": "@id"
};

struct Context {
    std::map<std::string, TermDef> terms;
    std::string vocab;
};

const std::map<std::string, std::string>& known_prefixes() {
    static const std::map<std::string, std::string> p = {
        {"dcat", "http://www.w3.org/ns/dcat#"},         {"dct", "http://purl.org/dc/terms/"},
        {"dcterms", "http://purl.org/dc/terms/"},       {"foaf", "http://xmlns.com/foaf/0.1/"},
        {"hydra", "http://www.w3.org/ns/hydra/core#"},  {"vcard", "http://www.w3.org/2006/vcard/ns#"},
        {"locn", "http://www.w3.org/ns/locn#"},         {"skos", "http://www.w3.org/2004/02/skos/core#"},
        {"rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}, {"rdfs", "http://www.w3.org/2000/01/rdf-schema#"},
        {"xsd", "http://www.w3.org/2001/XMLSchema#"},   {"schema", "http://schema.org/"},
        {"adms", "http://www.w3.org/ns/adms#"},         {"owl", "http://www.w3.org/2002/07/owl#"},
        {"pod", "https://project-open-data.cio.gov/v1.1/schema#"}};
    return p;
}

// Terms of the DCAT and Project Open Data contexts, used when a document's context is remote.
const std::map<std::string, TermDef>& builtin_terms() {
    static const std::map<std::string, TermDef> t = {
        {"title", {"http://purl.org/dc/terms/title"}},
        {"description", {"http://purl.org/dc/terms/description"}},
        {"keyword", {"http://www.w3.org/ns/dcat#keyword"}},
        {"modified", {"http://purl.org/dc/terms/modified"}},
        {"issued", {"http://purl.org/dc/terms/issued"}},
        {"publisher", {"http://purl.org/dc/terms/publisher"}},
        {"identifier", {"http://purl.org/dc/terms/identifier"}},
        {"dataset", {"http://www.w3.org/ns/dcat#dataset"}},
        {"distribution", {"http://www.w3.org/ns/dcat#distribution"}},
        {"downloadURL", {"http://www.w3.org/ns/dcat#downloadURL", true}},
        {"accessURL", {"http://www.w3.org/ns/dcat#accessURL", true}},
        {"mediaType", {"http://www.w3.org/ns/dcat#mediaType"}},
        {"format", {"http://purl.org/dc/terms/format"}},
        {"license", {"http://purl.org/dc/terms/license", true}},
        {"spatial", {"http://purl.org/dc/terms/spatial"}},
        {"theme", {"http://www.w3.org/ns/dcat#theme"}},
        {"name", {"http://xmlns.com/foaf/0.1/name"}},
        {"fn", {"http://www.w3.org/2006/vcard/ns#fn"}},
        {"landingPage", {"http://www.w3.org/ns/dcat#landingPage", true}},
        {"contactPoint", {"http://www.w3.org/ns/dcat#contactPoint"}},
        {"Catalog", {"http://www.w3.org/ns/dcat#Catalog"}},
        {"Dataset", {"http://www.w3.org/ns/dcat#Dataset"}},
        {"Distribution", {"http://www.w3.org/ns/dcat#Distribution"}}};
    return t;
}

class Expander {
public:
    Expander(Graph& g, std::string base) : graph_(g), base_(std::move(base)) {}

    void top(const Json& v, const Context& ctx) {
        if (v.IsArray()) {
            for (const auto& e : v.GetArray())
                if (e.IsObject()) node(e, ctx);
        } else if (v.IsObject()) {
            node(v, ctx);
        } else {
            throw ParseError("JSON-LD: top level is neither an object nor an array");
        }
    }

private:
    Context merge(const Context& parent, const Json& c) {
        Context ctx = parent;
        if (c.IsArray()) {
            for (const auto& e : c.GetArray()) ctx = merge(ctx, e);
            return ctx;
        }
        if (!c.IsObject()) return ctx;  // a remote context: its well-known terms are built in
        for (const auto& m : c.GetObject()) {
            const std::string key = m.name.GetString();
            if (key == "@vocab" && m.value.IsString()) {
                ctx.vocab = m.value.GetString();
            } else if (m.value.IsString()) {
                ctx.terms[key] = {expand(ctx, m.value.GetString(), true)};
            } else if (m.value.IsObject()) {
                TermDef d;
                if (auto id = m.value.FindMember("@id"); id != m.value.MemberEnd() && id->value.IsString())
                    d.iri = expand(ctx, id->value.GetString(), true);
                else
                    d.iri = expand(ctx, key, true);
                if (auto t = m.value.FindMember("@type"); t != m.value.MemberEnd() && t->value.IsString())
                    d.id_valued = std::string(t->value.GetString()) == "@id";
                ctx.terms[key] = d;
            }
        }
        return ctx;
    }

    std::string expand(const Context& ctx, const std::string& s, bool vocab) const {
        if (s.empty() || s[0] == '@') return s;
        if (vocab)
            if (auto it = ctx.terms.find(s); it != ctx.terms.end()) return it->second.iri;
        if (s.rfind("_:", 0) == 0) return s;
        if (const auto colon = s.find(':'); colon != std::string::npos) {
            const std::string prefix = s.substr(0, colon);
            if (s.compare(colon, 3, "://") == 0 || prefix == "urn" || prefix == "mailto") return s;
            if (auto it = ctx.terms.find(prefix); it != ctx.terms.end()) return it->second.iri + s.substr(colon + 1);
            if (auto it = known_prefixes().find(prefix); it != known_prefixes().end()) return it->second + s.substr(colon + 1);
            return s;
        }
        if (!vocab) return url::resolve(base_, s);
        if (!ctx.vocab.empty()) return ctx.vocab + s;
        if (auto it = builtin_terms().find(s); it != builtin_terms().end()) return it->second.iri;
        return {};  // an undefined term is dropped, as JSON-LD expansion does
    }

    bool id_valued(const Context& ctx, const std::string& key) const {
        if (auto it = ctx.terms.find(key); it != ctx.terms.end()) return it->second.id_valued;
        if (auto it = builtin_terms().find(key); it != builtin_terms().end()) return it->second.id_valued;
        return false;
    }

    std::string node(const Json& obj, Context ctx) {
        if (auto c = obj.FindMember("@context"); c != obj.MemberEnd()) ctx = merge(ctx, c->value);
        std::string id;
        if (auto i = obj.FindMember("@id"); i != obj.MemberEnd() && i->value.IsString())
            id = expand(ctx, i->value.GetString(), false);
        if (id.empty()) id = "_:jb" + std::to_string(blank_++);
        bool has_properties = false;
        for (const auto& m : obj.GetObject()) {
            const std::string key = m.name.GetString();
            if (key == "@context" || key == "@id") continue;
            if (key == "@graph") {
                if (m.value.IsArray())
                    for (const auto& e : m.value.GetArray())
                        if (e.IsObject()) node(e, ctx);
                if (m.value.IsObject()) node(m.value, ctx);
                continue;
            }
            has_properties = true;
            if (key == "@type") {
                const auto add_type = [&](const Json& t) {
                    if (t.IsString()) graph_.add(id, kRdfType, Term{Term::Iri, expand(ctx, t.GetString(), true), {}, {}});
                };
                if (m.value.IsArray())
                    for (const auto& t : m.value.GetArray()) add_type(t);
                else
                    add_type(m.value);
                continue;
            }
            if (key[0] == '@') continue;
            const std::string p = expand(ctx, key, true);
            if (p.empty()) continue;
            values(id, p, m.value, ctx, id_valued(ctx, key));
        }
        if (has_properties && !graph_.node_json.count(id)) {
            rapidjson::StringBuffer buf;
            rapidjson::Writer<rapidjson::StringBuffer> w(buf);
            obj.Accept(w);
            graph_.node_json[id] = std::string(buf.GetString(), buf.GetSize());
        }
        return id;
    }

    void values(const std::string& s, const std::string& p, const Json& v, const Context& ctx, bool iri_valued) {
        if (v.IsArray()) {
            for (const auto& e : v.GetArray()) values(s, p, e, ctx, iri_valued);
            return;
        }
        Term t;
        if (v.IsString()) {
            t = iri_valued ? Term{Term::Iri, expand(ctx, v.GetString(), false), {}, {}} : Term{Term::Literal, v.GetString(), {}, {}};
        } else if (v.IsInt64()) {
            t = {Term::Literal, std::to_string(v.GetInt64()), {}, "http://www.w3.org/2001/XMLSchema#integer"};
        } else if (v.IsNumber()) {
            t = {Term::Literal, std::to_string(v.GetDouble()), {}, "http://www.w3.org/2001/XMLSchema#double"};
        } else if (v.IsBool()) {
            t = {Term::Literal, v.GetBool() ? "true" : "false", {}, "http://www.w3.org/2001/XMLSchema#boolean"};
        } else if (v.IsObject()) {
            if (auto val = v.FindMember("@value"); val != v.MemberEnd()) {
                if (val->value.IsString()) t.value = val->value.GetString();
                else if (val->value.IsInt64()) t.value = std::to_string(val->value.GetInt64());
                else if (val->value.IsNumber()) t.value = std::to_string(val->value.GetDouble());
                else if (val->value.IsBool()) t.value = val->value.GetBool() ? "true" : "false";
                if (auto l = v.FindMember("@language"); l != v.MemberEnd() && l->value.IsString()) t.lang = l->value.GetString();
                if (auto ty = v.FindMember("@type"); ty != v.MemberEnd() && ty->value.IsString())
                    t.datatype = expand(ctx, ty->value.GetString(), true);
            } else if (auto list = v.FindMember("@list"); list != v.MemberEnd()) {
                values(s, p, list->value, ctx, iri_valued);
                return;
            } else {
                const std::string o = node(v, ctx);
                t = {o.rfind("_:", 0) == 0 ? Term::Blank : Term::Iri, o, {}, {}};
            }
        } else {
            return;  // null
        }
        graph_.add(s, p, std::move(t));
    }

    Graph& graph_;
    std::string base_;
    std::size_t blank_ = 0;
};

}  // namespace

Graph parse_jsonld(std::string_view body, const std::string& base_uri) {
    rapidjson::Document d;
    if (const auto failed = json::parse(d, body))
        throw ParseError("invalid JSON-LD at offset " + std::to_string(failed->offset) + ": " + failed->message);
    Graph g;
    Expander(g, base_uri).top(d, Context{});
    return g;
}

}  // namespace ideo::catalog::rdf
