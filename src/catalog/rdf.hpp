#pragma once
// An RDF graph small enough for one catalogue page: triples by subject, private to catalog/.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ideo::catalog::rdf {

struct Term {
    enum Kind { Iri, Blank, Literal } kind = Literal;
    std::string value, lang, datatype;
    bool is_node() const { return kind != Literal; }
};

struct Triple {
    std::string predicate;
    Term object;
};

struct Graph {
    std::map<std::string, std::vector<Triple>> subjects;  // subject IRI or "_:b0" -> its triples
    std::vector<std::string> order;                       // subjects in document order
    // JSON-LD only: the node object of each subject as it appears in the document.
    std::map<std::string, std::string> node_json;

    void add(const std::string& s, std::string p, Term o) {
        auto [it, inserted] = subjects.try_emplace(s);
        if (inserted) order.push_back(s);
        it->second.push_back({std::move(p), std::move(o)});
    }
    const std::vector<Triple>* of(const std::string& s) const {
        const auto it = subjects.find(s);
        return it == subjects.end() ? nullptr : &it->second;
    }
};

// RDF/XML or Turtle through Raptor 2; throws ParseError with the line.
Graph parse_raptor(std::string_view body, const char* syntax, const std::string& base_uri);
// Throws ParseError when an XML document declares entities that expand past a small bound (csw.cpp's
// reading of XML, run first on RDF/XML that declares any, as Raptor would expand them).
void refuse_entity_expansion(std::string_view xml);
// JSON-LD (compacted with @context, expanded, flattened, @graph) with RapidJSON; throws ParseError.
Graph parse_jsonld(std::string_view body, const std::string& base_uri);

}  // namespace ideo::catalog::rdf
