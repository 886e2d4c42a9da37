// RDF/XML and Turtle through Raptor 2 (Debian libraptor2): one maintained parser for both syntaxes.
#include <raptor2.h>

#include <memory>
#include <mutex>
#include <vector>

#include "ideo/catalog/parse.hpp"
#include "rdf.hpp"

namespace ideo::catalog::rdf {
namespace {

struct State {
    Graph graph;
    std::string error;
};

std::string term_string(raptor_term* t, Term::Kind& kind, std::string& lang, std::string& datatype) {
    switch (t->type) {
        case RAPTOR_TERM_TYPE_URI:
            kind = Term::Iri;
            return reinterpret_cast<const char*>(raptor_uri_as_string(t->value.uri));
        case RAPTOR_TERM_TYPE_BLANK:
            kind = Term::Blank;
            return "_:" + std::string(reinterpret_cast<const char*>(t->value.blank.string), t->value.blank.string_len);
        case RAPTOR_TERM_TYPE_LITERAL:
            kind = Term::Literal;
            if (t->value.literal.language)
                lang.assign(reinterpret_cast<const char*>(t->value.literal.language), t->value.literal.language_len);
            if (t->value.literal.datatype)
                datatype = reinterpret_cast<const char*>(raptor_uri_as_string(t->value.literal.datatype));
            return std::string(reinterpret_cast<const char*>(t->value.literal.string), t->value.literal.string_len);
        default: kind = Term::Literal; return {};
    }
}

void on_triple(void* user, raptor_statement* st) {
    auto* state = static_cast<State*>(user);
    Term::Kind k;
    std::string l, d;
    const std::string s = term_string(st->subject, k, l, d);
    const std::string p = term_string(st->predicate, k, l, d);
    Term o;
    o.value = term_string(st->object, o.kind, o.lang, o.datatype);
    state->graph.add(s, p, std::move(o));
}

void on_log(void* user, raptor_log_message* m) {
    if (m->level < RAPTOR_LOG_LEVEL_ERROR) return;
    auto* state = static_cast<State*>(user);
    if (!state->error.empty()) return;
    state->error = m->text ? m->text : "parse error";
    if (m->locator && m->locator->line > 0) state->error = "line " + std::to_string(m->locator->line) + ": " + state->error;
}

// Raptor worlds, each used by one parse at a time, kept for the life of the process: freeing a
// world calls libxml2's xmlCleanupParser, which tears libxml2's global state from under the CSW
// parses that other partners' threads are running (heap corruption, abort).
class Worlds {
public:
    raptor_world* take() {
        {
            std::lock_guard lock(mutex_);
            if (!idle_.empty()) {
                raptor_world* w = idle_.back();
                idle_.pop_back();
                return w;
            }
        }
        raptor_world* w = raptor_new_world();
        if (!w || raptor_world_open(w)) throw ParseError("cannot start the RDF parser");
        return w;
    }
    void give_back(raptor_world* w) {
        raptor_world_set_log_handler(w, nullptr, nullptr);
        std::lock_guard lock(mutex_);
        idle_.push_back(w);
    }

private:
    std::mutex mutex_;
    std::vector<raptor_world*> idle_;
};

Worlds& worlds() {
    static auto* w = new Worlds;  // never destroyed: not even at exit, while a thread may still parse
    return *w;
}

struct Lease {
    raptor_world* world = worlds().take();
    ~Lease() { worlds().give_back(world); }
};

}  // namespace

Graph parse_raptor(std::string_view body, const char* syntax, const std::string& base_uri) {
    const Lease lease;  // declared first: the parser and URIs below are freed before the world goes back
    raptor_world* world = lease.world;
    State state;
    raptor_world_set_log_handler(world, &state, on_log);
    std::unique_ptr<raptor_parser, decltype(&raptor_free_parser)> parser(raptor_new_parser(world, syntax),
                                                                         raptor_free_parser);
    if (!parser) throw ParseError(std::string("no RDF parser for ") + syntax);
    // Never fetch or read anything a partner's document points at: no network, no file, no external entity.
    raptor_parser_set_option(parser.get(), RAPTOR_OPTION_NO_NET, nullptr, 1);
    raptor_parser_set_option(parser.get(), RAPTOR_OPTION_NO_FILE, nullptr, 1);
    raptor_parser_set_option(parser.get(), RAPTOR_OPTION_LOAD_EXTERNAL_ENTITIES, nullptr, 0);
    raptor_parser_set_statement_handler(parser.get(), &state, on_triple);
    std::unique_ptr<raptor_uri, decltype(&raptor_free_uri)> base(
        raptor_new_uri(world, reinterpret_cast<const unsigned char*>(base_uri.c_str())), raptor_free_uri);
    if (raptor_parser_parse_start(parser.get(), base.get()) ||
        raptor_parser_parse_chunk(parser.get(), reinterpret_cast<const unsigned char*>(body.data()), body.size(), 1) ||
        !state.error.empty()) {
        if (state.error.rfind("line ", 0) != 0)
            if (raptor_locator* loc = raptor_parser_get_locator(parser.get()); loc && loc->line > 0)
                state.error = "line " + std::to_string(loc->line) + ": " + state.error;
        throw ParseError(std::string(syntax == std::string("turtle") ? "invalid Turtle" : "invalid RDF/XML") +
                         (state.error.empty() ? "" : " at " + state.error));
    }
    return std::move(state.graph);
}

}  // namespace ideo::catalog::rdf
