// The catalogue's search: inverted index, BM25 ranking, partial matches and typos, filters and facets.
#include "ideo/catalog/search.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

#include "ideo/core/text.hpp"

namespace ideo::catalog {
namespace {

constexpr float kTitleWeight = 3, kKeywordWeight = 2, kDescriptionWeight = 1;
constexpr float kK1 = 1.2f, kB = 0.75f;
// A word read through a typo weighs less than the word itself; the typo needs five letters or more, and the
// index keeps words of 4 (a deletion of a five-letter word) to 32 letters (longer ones are not typed).
constexpr float kTypoWeight = 0.5f;
constexpr std::size_t kTypoMinLetters = 5, kTypoMaxLetters = 32;

// The code points' starting offsets in a UTF-8 word, and its length at the end.
std::vector<std::size_t> letter_starts(std::string_view w) {
    std::vector<std::size_t> at;
    for (std::size_t i = 0; i < w.size(); ++i)
        if ((static_cast<unsigned char>(w[i]) & 0xC0) != 0x80) at.push_back(i);
    at.push_back(w.size());
    return at;
}

std::uint64_t typo_hash(std::string_view w) { return std::hash<std::string_view>{}(w); }

// The word and each of its one-letter deletions, hashed.
template <class Fn>
void for_each_deletion(std::string_view w, const std::vector<std::size_t>& at, Fn&& fn) {
    fn(typo_hash(w));
    std::string d;
    for (std::size_t k = 0; k + 1 < at.size(); ++k) {
        d.assign(w.substr(0, at[k]));
        d.append(w.substr(at[k + 1]));
        fn(typo_hash(d));
    }
}

void build_typo_index(Catalog& c) {
    for (const auto& [term, list] : c.postings) {
        const auto at = letter_starts(term);
        const std::size_t letters = at.size() - 1;
        if (letters < kTypoMinLetters - 1 || letters > kTypoMaxLetters) continue;
        const auto id = static_cast<std::uint32_t>(c.typo_words.size());
        c.typo_words.push_back(term);
        for_each_deletion(term, at, [&](std::uint64_t h) { c.typo_keys.emplace_back(h, id); });
    }
    std::sort(c.typo_keys.begin(), c.typo_keys.end());
    c.typo_keys.erase(std::unique(c.typo_keys.begin(), c.typo_keys.end()), c.typo_keys.end());
}

// The indexed words one edit away from `word` (not `word` itself), in byte order.
std::vector<std::string> corrections_of(const Catalog& c, std::string_view word) {
    std::vector<std::string> out;
    const auto at = letter_starts(word);
    const std::size_t letters = at.size() - 1;
    if (letters < kTypoMinLetters || letters > kTypoMaxLetters + 1) return out;
    std::vector<std::uint32_t> candidates;
    for_each_deletion(word, at, [&](std::uint64_t h) {
        auto it = std::lower_bound(c.typo_keys.begin(), c.typo_keys.end(), std::make_pair(h, std::uint32_t{0}));
        for (; it != c.typo_keys.end() && it->first == h; ++it) candidates.push_back(it->second);
    });
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    for (auto id : candidates)  // a shared hash is a candidate; the edit distance decides (and weeds out collisions)
        if (c.typo_words[id] != word && within_one_edit(word, c.typo_words[id])) out.push_back(c.typo_words[id]);
    std::sort(out.begin(), out.end());
    return out;
}

bool holds(const std::vector<Posting>& list, std::uint32_t doc) {
    const auto it = std::lower_bound(list.begin(), list.end(), doc, [](const Posting& p, std::uint32_t d) { return p.doc < d; });
    return it != list.end() && it->doc == doc;
}

const std::vector<Posting>* postings_of(const Catalog& c, std::string_view term) {
    const auto it = c.postings.find(std::string(term));
    return it == c.postings.end() ? nullptr : &it->second;
}

std::vector<std::string> formats_of(const Record& r) {
    std::vector<std::string> out;
    for (const auto& d : r.distributions)
        if (!d.format.empty() && std::find(out.begin(), out.end(), d.format) == out.end()) out.push_back(d.format);
    return out;
}

class FacetBuilder {
public:
    explicit FacetBuilder(FacetIndex& f) : f_(f) {}
    void add(const std::vector<std::string>& values) {
        for (const auto& v : values) {
            auto [it, fresh] = index_.try_emplace(v, static_cast<std::uint32_t>(f_.values.size()));
            if (fresh) {
                f_.values.push_back(v);
                f_.folded.push_back(text::fold_accents_lower(v));
            }
            f_.ids.push_back(it->second);
        }
        f_.first.push_back(static_cast<std::uint32_t>(f_.ids.size()));
    }

private:
    FacetIndex& f_;
    std::unordered_map<std::string, std::uint32_t> index_;
};

// Which values of the facet a filter accepts: any of the wanted values, compared folded.
std::vector<char> accepted(const FacetIndex& f, const std::vector<std::string>& wanted) {
    std::vector<char> ok(f.values.size(), 0);
    for (const auto& w : wanted) {
        const std::string fw = text::fold_accents_lower(w);
        for (std::size_t k = 0; k < f.folded.size(); ++k) ok[k] = ok[k] || f.folded[k] == fw;
    }
    return ok;
}

bool any_accepted(const FacetIndex& f, std::uint32_t record, const std::vector<char>& ok) {
    for (std::size_t k = f.begin(record); k < f.end(record); ++k)
        if (ok[f.ids[k]]) return true;
    return false;
}

// The 50 most frequent values among the hits, ties in value order.
std::vector<FacetCount> count_facet(const FacetIndex& f, const std::vector<std::uint32_t>& hits) {
    std::vector<std::uint32_t> counts(f.values.size(), 0);
    for (auto i : hits)
        for (std::size_t k = f.begin(i); k < f.end(i); ++k) ++counts[f.ids[k]];
    std::vector<std::uint32_t> present;
    for (std::uint32_t k = 0; k < counts.size(); ++k)
        if (counts[k]) present.push_back(k);
    const auto order = [&](std::uint32_t a, std::uint32_t b) {
        return counts[a] != counts[b] ? counts[a] > counts[b] : f.values[a] < f.values[b];
    };
    const std::size_t keep = std::min<std::size_t>(present.size(), 50);  // the long tail of keywords stays out of the answer
    std::partial_sort(present.begin(), present.begin() + static_cast<std::ptrdiff_t>(keep), present.end(), order);
    std::vector<FacetCount> list;
    for (std::size_t k = 0; k < keep; ++k) list.push_back({f.values[present[k]], counts[present[k]]});
    return list;
}

// How record `doc` meets each word: held, held through one of its corrections, or missing.
RecordMatch match_of(const Catalog& c, std::uint32_t doc, const std::vector<std::string>& words,
                     const std::map<std::string, std::vector<std::string>>& corrections) {
    RecordMatch m;
    for (const auto& w : words) {
        if (const auto* list = postings_of(c, w); list && holds(*list, doc)) continue;
        const auto fix = corrections.find(w);
        const std::string* as = nullptr;
        if (fix != corrections.end())
            for (const auto& t : fix->second)
                if (const auto* list = postings_of(c, t); list && holds(*list, doc)) {
                    as = &t;
                    break;
                }
        if (as) m.corrected.emplace_back(w, *as);
        else m.missing.push_back(w);
    }
    return m;
}

}  // namespace

bool within_one_edit(std::string_view a, std::string_view b) {
    const auto sa = letter_starts(a), sb = letter_starts(b);
    const auto letter = [](std::string_view w, const std::vector<std::size_t>& at, std::size_t k) {
        return w.substr(at[k], at[k + 1] - at[k]);
    };
    const std::size_t na = sa.size() - 1, nb = sb.size() - 1;
    if (na + 1 < nb || nb + 1 < na) return false;
    std::size_t i = 0;  // the common prefix, in letters
    while (i < na && i < nb && letter(a, sa, i) == letter(b, sb, i)) ++i;
    if (i == na && i == nb) return true;
    const auto same_tail = [&](std::size_t ia, std::size_t ib) { return a.substr(sa[ia]) == b.substr(sb[ib]); };
    if (na == nb) {
        if (same_tail(i + 1, i + 1)) return true;  // a substitution
        return i + 1 < na && letter(a, sa, i) == letter(b, sb, i + 1) && letter(a, sa, i + 1) == letter(b, sb, i) &&
               same_tail(i + 2, i + 2);  // a transposition
    }
    return na > nb ? same_tail(i + 1, i) : same_tail(i, i + 1);  // a deletion or an insertion
}

std::vector<std::string> tokenize(std::string_view s) {
    const std::string folded = text::fold_accents_lower(s);
    std::vector<std::string> out;
    std::string cur;
    const auto flush = [&] {
        if (cur.size() > 3 && (cur.back() == 's' || cur.back() == 'x')) cur.pop_back();
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
    };
    for (unsigned char c : folded) {
        if (std::isalnum(c) || c >= 0x80) cur += static_cast<char>(c);  // bytes of letters fold_accents_lower kept
        else flush();
    }
    flush();
    return out;
}

std::optional<std::string> Catalog::original(const Record& r) const {
    if (!r.original.empty() || !read_original) return r.original;
    return read_original(r.id, r.content_hash);
}

std::shared_ptr<const Catalog> build_catalog(std::vector<Record> records, OriginalSource read_original) {
    auto c = std::make_shared<Catalog>();
    c->read_original = std::move(read_original);
    for (auto& r : records)
        if (!r.withdrawn) c->records.push_back(std::move(r));
    std::sort(c->records.begin(), c->records.end(), [](const Record& a, const Record& b) { return a.id < b.id; });
    c->length.resize(c->records.size());
    FacetBuilder themes(c->themes), publishers(c->publishers), keywords(c->keywords), formats(c->formats);
    double total = 0;
    for (std::uint32_t i = 0; i < c->records.size(); ++i) {
        const Record& r = c->records[i];
        c->by_id.emplace(r.id, i);
        std::unordered_map<std::string, float> tf;
        float len = 0;
        const auto add = [&](const std::string& text, float w) {
            for (auto& t : tokenize(text)) {
                tf[t] += w;
                len += w;
            }
        };
        add(r.title, kTitleWeight);
        add(r.description, kDescriptionWeight);
        for (const auto& k : r.keywords) add(k, kKeywordWeight);
        for (auto& [t, f] : tf) c->postings[t].push_back({i, f, 0.f});
        c->length[i] = len;
        total += len;
        themes.add(r.themes);
        publishers.add(r.publisher.empty() ? std::vector<std::string>{} : std::vector<std::string>{r.publisher});
        keywords.add(r.keywords);
        formats.add(formats_of(r));
    }
    c->average_length = c->records.empty() ? 1.f : static_cast<float>(std::max(1.0, total / c->records.size()));
    const std::size_t n = c->records.size();
    for (auto& [term, list] : c->postings) {
        const float idf = std::log(1.f + (n - list.size() + 0.5f) / (list.size() + 0.5f));
        for (auto& p : list) {
            const float norm = kK1 * (1 - kB + kB * c->length[p.doc] / c->average_length);
            p.score = idf * p.tf * (kK1 + 1) / (p.tf + norm);
        }
    }
    std::vector<std::uint32_t> all(c->records.size());
    for (std::uint32_t i = 0; i < all.size(); ++i) all[i] = i;
    for (FacetIndex* f : {&c->themes, &c->publishers, &c->keywords, &c->formats}) f->everything = count_facet(*f, all);
    build_typo_index(*c);
    return c;
}

std::shared_ptr<const Catalog> without_layers(const Catalog& c, const std::vector<std::string>& layers) {
    const auto hidden = [&](const Record& r) {
        return !r.feeds_layer.empty() && std::binary_search(layers.begin(), layers.end(), r.feeds_layer);
    };
    if (std::none_of(c.records.begin(), c.records.end(), hidden)) return nullptr;
    std::vector<Record> kept;
    for (const auto& r : c.records)
        if (!hidden(r)) kept.push_back(r);
    return build_catalog(std::move(kept), c.read_original);
}

SearchResult search(const Catalog& c, const SearchQuery& q) {
    const std::size_t n = c.records.size();
    SearchResult out;
    for (auto& t : tokenize(q.q))
        if (std::find(out.words.begin(), out.words.end(), t) == out.words.end()) out.words.push_back(std::move(t));
    if (out.words.size() > 0xFFFF) out.words.resize(0xFFFF);  // the counts below are 16 bits; q is far shorter anyway
    const std::size_t nwords = out.words.size();
    // Per record, its score, how many words it holds (exactly or through a typo) and how many exactly.
    std::vector<float> score(nwords ? n : 0, 0.f);
    std::vector<std::uint16_t> found(nwords ? n : 0, 0), exact(nwords ? n : 0, 0);
    std::vector<std::uint32_t> typo_word;  // per record, 1 + the last word it holds, exactly or through a typo
    std::vector<float> typo_score;         // and that word's best typo score in it (infinite when held exactly)
    for (std::size_t w = 0; w < nwords; ++w) {
        const auto stamp = static_cast<std::uint32_t>(w + 1);
        auto fixes = corrections_of(c, out.words[w]);
        if (!fixes.empty() && typo_word.empty()) typo_word.assign(n, 0), typo_score.assign(n, 0.f);
        if (const auto* list = postings_of(c, out.words[w]))
            for (const auto& p : *list) {
                ++found[p.doc];
                ++exact[p.doc];
                score[p.doc] += p.score;
                if (!fixes.empty()) typo_word[p.doc] = stamp, typo_score[p.doc] = HUGE_VALF;
            }
        for (const auto& t : fixes)
            for (const auto& p : *postings_of(c, t)) {
                if (typo_word[p.doc] != stamp) {  // the record holds this word through this correction first
                    typo_word[p.doc] = stamp;
                    typo_score[p.doc] = 0;
                    ++found[p.doc];
                }
                const float s = p.score * kTypoWeight;
                if (s > typo_score[p.doc]) score[p.doc] += s - std::exchange(typo_score[p.doc], s);
            }
        if (!fixes.empty()) out.corrections.emplace(out.words[w], std::move(fixes));
    }
    // A record holding most of the words (more than half: both of two, two of three) is found; those holding
    // all of them come first. A majority, not any word: a two-word query keeps narrowing.
    const std::size_t need = nwords / 2 + 1;
    const bool filtered = !q.themes.empty() || !q.publishers.empty() || !q.keywords.empty() || !q.formats.empty() || q.bbox;
    const auto themes = accepted(c.themes, q.themes), publishers = accepted(c.publishers, q.publishers),
               keywords = accepted(c.keywords, q.keywords), formats = accepted(c.formats, q.formats);
    std::vector<std::uint32_t> hits;
    for (std::uint32_t i = 0; i < n; ++i) {
        if (nwords && found[i] < need) continue;
        if (!q.themes.empty() && !any_accepted(c.themes, i, themes)) continue;
        if (!q.publishers.empty() && !any_accepted(c.publishers, i, publishers)) continue;
        if (!q.keywords.empty() && !any_accepted(c.keywords, i, keywords)) continue;
        if (!q.formats.empty() && !any_accepted(c.formats, i, formats)) continue;
        const Record& r = c.records[i];
        if (q.bbox && (!r.bbox || !r.bbox->intersects(*q.bbox))) continue;
        hits.push_back(i);
    }
    out.matched = hits.size();
    if (nwords) {
        // Only the records up to the page's end need their order (ties in record order, as a stable sort gives).
        const auto better = [&](std::uint32_t a, std::uint32_t b) {
            if (found[a] != found[b]) return found[a] > found[b];
            if (exact[a] != exact[b]) return exact[a] > exact[b];
            if (score[a] != score[b]) return score[a] > score[b];
            return a < b;
        };
        const std::size_t upto = std::min(hits.size(), q.offset + std::min(q.limit, hits.size()));
        std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(upto), hits.end(), better);
        out.matched_all = static_cast<std::size_t>(
            std::count_if(hits.begin(), hits.end(), [&](std::uint32_t i) { return found[i] == nwords; }));
    } else {
        out.matched_all = hits.size();
    }

    const bool everything = nwords == 0 && !filtered;  // the facets of the whole catalogue, counted once per snapshot
    out.facets["themes"] = everything ? c.themes.everything : count_facet(c.themes, hits);
    out.facets["publishers"] = everything ? c.publishers.everything : count_facet(c.publishers, hits);
    out.facets["keywords"] = everything ? c.keywords.everything : count_facet(c.keywords, hits);
    out.facets["formats"] = everything ? c.formats.everything : count_facet(c.formats, hits);
    for (std::size_t k = q.offset; k < hits.size() && out.page.size() < q.limit; ++k) out.page.push_back(hits[k]);
    if (nwords)
        for (auto i : out.page) out.page_matches.push_back(match_of(c, i, out.words, out.corrections));
    return out;
}

}  // namespace ideo::catalog
