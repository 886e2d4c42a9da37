// The catalogue's search: inverted index, BM25 ranking, filters and facets.
#include "ideo/catalog/search.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

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
        auto& ids = f_.of_record.emplace_back();
        for (const auto& v : values) {
            auto [it, fresh] = index_.try_emplace(v, static_cast<std::uint32_t>(f_.values.size()));
            if (fresh) {
                f_.values.push_back(v);
                f_.folded.push_back(text::fold_accents_lower(v));
            }
            ids.push_back(it->second);
        }
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

bool any_accepted(const std::vector<std::uint32_t>& ids, const std::vector<char>& ok) {
    return std::any_of(ids.begin(), ids.end(), [&](std::uint32_t id) { return ok[id] != 0; });
}

// The 50 most frequent values among the hits, ties in value order.
std::vector<FacetCount> count_facet(const FacetIndex& f, const std::vector<std::uint32_t>& hits) {
    std::vector<std::size_t> counts(f.values.size(), 0);
    for (auto i : hits)
        for (auto id : f.of_record[i]) ++counts[id];
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
        for (auto& [t, f] : tf) c->postings[t].push_back({i, f});
        c->length[i] = len;
        total += len;
        themes.add(r.themes);
        publishers.add(r.publisher.empty() ? std::vector<std::string>{} : std::vector<std::string>{r.publisher});
        keywords.add(r.keywords);
        formats.add(formats_of(r));
    }
    c->average_length = c->records.empty() ? 1.f : static_cast<float>(std::max(1.0, total / c->records.size()));
    return c;
}

SearchResult search(const Catalog& c, const SearchQuery& q) {
    const std::size_t n = c.records.size();
    std::vector<float> score(n, 0.f);
    std::vector<char> keep(n, 1);
    const auto terms = tokenize(q.q);
    std::unordered_set<std::string> distinct;
    for (const auto& t : terms) {
        if (!distinct.insert(t).second) continue;
        std::vector<char> has(n, 0);
        const auto it = c.postings.find(t);
        if (it != c.postings.end()) {
            const float idf = std::log(1.f + (n - it->second.size() + 0.5f) / (it->second.size() + 0.5f));
            for (const auto& p : it->second) {
                has[p.doc] = 1;
                const float norm = kK1 * (1 - kB + kB * c.length[p.doc] / c.average_length);
                score[p.doc] += idf * p.tf * (kK1 + 1) / (p.tf + norm);
            }
        }
        for (std::size_t i = 0; i < n; ++i) keep[i] = keep[i] && has[i];  // every word must be found
    }
    const auto themes = accepted(c.themes, q.themes), publishers = accepted(c.publishers, q.publishers),
               keywords = accepted(c.keywords, q.keywords), formats = accepted(c.formats, q.formats);
    std::vector<std::uint32_t> hits;
    for (std::uint32_t i = 0; i < n; ++i) {
        if (!keep[i]) continue;
        if (!q.themes.empty() && !any_accepted(c.themes.of_record[i], themes)) continue;
        if (!q.publishers.empty() && !any_accepted(c.publishers.of_record[i], publishers)) continue;
        if (!q.keywords.empty() && !any_accepted(c.keywords.of_record[i], keywords)) continue;
        if (!q.formats.empty() && !any_accepted(c.formats.of_record[i], formats)) continue;
        const Record& r = c.records[i];
        if (q.bbox && (!r.bbox || !r.bbox->intersects(*q.bbox))) continue;
        hits.push_back(i);
    }
    SearchResult out;
    out.matched = hits.size();
    if (!terms.empty())
        std::stable_sort(hits.begin(), hits.end(), [&](std::uint32_t a, std::uint32_t b) { return score[a] > score[b]; });

    out.facets["themes"] = count_facet(c.themes, hits);
    out.facets["publishers"] = count_facet(c.publishers, hits);
    out.facets["keywords"] = count_facet(c.keywords, hits);
    out.facets["formats"] = count_facet(c.formats, hits);
    for (std::size_t k = q.offset; k < hits.size() && out.page.size() < q.limit; ++k) out.page.push_back(hits[k]);
    return out;
}

}  // namespace ideo::catalog
