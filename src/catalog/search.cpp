// The catalogue's search: inverted index, BM25 ranking, filters and facets.
#include "ideo/catalog/search.hpp"

#include <algorithm>
#include <cmath>

#include "ideo/core/text.hpp"

namespace ideo::catalog {
namespace {

constexpr float kTitleWeight = 3, kKeywordWeight = 2, kDescriptionWeight = 1;
constexpr float kK1 = 1.2f, kB = 0.75f;

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

}  // namespace

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
    return c;
}

SearchResult search(const Catalog& c, const SearchQuery& q) {
    const std::size_t n = c.records.size();
    const auto terms = tokenize(q.q);
    std::vector<std::string_view> distinct;
    for (const auto& t : terms)
        if (std::find(distinct.begin(), distinct.end(), t) == distinct.end()) distinct.emplace_back(t);
    // Per record, its score and how many of the distinct words it holds: every word must be found.
    std::vector<float> score(distinct.empty() ? 0 : n, 0.f);
    std::vector<std::uint16_t> found(distinct.empty() ? 0 : n, 0);
    for (const auto t : distinct) {
        const auto it = c.postings.find(std::string(t));
        if (it == c.postings.end()) continue;
        for (const auto& p : it->second) {
            ++found[p.doc];
            score[p.doc] += p.score;
        }
    }
    const bool filtered = !q.themes.empty() || !q.publishers.empty() || !q.keywords.empty() || !q.formats.empty() || q.bbox;
    const auto themes = accepted(c.themes, q.themes), publishers = accepted(c.publishers, q.publishers),
               keywords = accepted(c.keywords, q.keywords), formats = accepted(c.formats, q.formats);
    std::vector<std::uint32_t> hits;
    for (std::uint32_t i = 0; i < n; ++i) {
        if (!distinct.empty() && found[i] != distinct.size()) continue;
        if (!q.themes.empty() && !any_accepted(c.themes, i, themes)) continue;
        if (!q.publishers.empty() && !any_accepted(c.publishers, i, publishers)) continue;
        if (!q.keywords.empty() && !any_accepted(c.keywords, i, keywords)) continue;
        if (!q.formats.empty() && !any_accepted(c.formats, i, formats)) continue;
        const Record& r = c.records[i];
        if (q.bbox && (!r.bbox || !r.bbox->intersects(*q.bbox))) continue;
        hits.push_back(i);
    }
    SearchResult out;
    out.matched = hits.size();
    if (!distinct.empty())
        std::stable_sort(hits.begin(), hits.end(), [&](std::uint32_t a, std::uint32_t b) { return score[a] > score[b]; });

    const bool everything = distinct.empty() && !filtered;  // the facets of the whole catalogue, counted once per snapshot
    out.facets["themes"] = everything ? c.themes.everything : count_facet(c.themes, hits);
    out.facets["publishers"] = everything ? c.publishers.everything : count_facet(c.publishers, hits);
    out.facets["keywords"] = everything ? c.keywords.everything : count_facet(c.keywords, hits);
    out.facets["formats"] = everything ? c.formats.everything : count_facet(c.formats, hits);
    for (std::size_t k = q.offset; k < hits.size() && out.page.size() < q.limit; ++k) out.page.push_back(hits[k]);
    return out;
}

}  // namespace ideo::catalog
