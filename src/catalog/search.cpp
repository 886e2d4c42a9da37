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

bool any_equal(const std::vector<std::string>& values, const std::vector<std::string>& wanted) {
    for (const auto& w : wanted) {
        const std::string fw = text::fold_accents_lower(w);
        for (const auto& v : values)
            if (text::fold_accents_lower(v) == fw) return true;
    }
    return false;
}

std::vector<std::string> formats_of(const Record& r) {
    std::vector<std::string> out;
    for (const auto& d : r.distributions)
        if (!d.format.empty() && std::find(out.begin(), out.end(), d.format) == out.end()) out.push_back(d.format);
    return out;
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

std::shared_ptr<const Catalog> build_catalog(std::vector<Record> records) {
    auto c = std::make_shared<Catalog>();
    for (auto& r : records)
        if (!r.withdrawn) c->records.push_back(std::move(r));
    std::sort(c->records.begin(), c->records.end(), [](const Record& a, const Record& b) { return a.id < b.id; });
    c->length.resize(c->records.size());
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
    std::vector<std::uint32_t> hits;
    for (std::uint32_t i = 0; i < n; ++i) {
        if (!keep[i]) continue;
        const Record& r = c.records[i];
        if (!q.themes.empty() && !any_equal(r.themes, q.themes)) continue;
        if (!q.publishers.empty() && !any_equal({r.publisher}, q.publishers)) continue;
        if (!q.keywords.empty() && !any_equal(r.keywords, q.keywords)) continue;
        if (!q.formats.empty() && !any_equal(formats_of(r), q.formats)) continue;
        if (q.bbox && (!r.bbox || !r.bbox->intersects(*q.bbox))) continue;
        hits.push_back(i);
    }
    SearchResult out;
    out.matched = hits.size();
    if (!terms.empty())
        std::stable_sort(hits.begin(), hits.end(), [&](std::uint32_t a, std::uint32_t b) { return score[a] > score[b]; });

    std::map<std::string, std::map<std::string, std::size_t>> counts;
    for (auto i : hits) {
        const Record& r = c.records[i];
        for (const auto& t : r.themes) ++counts["themes"][t];
        if (!r.publisher.empty()) ++counts["publishers"][r.publisher];
        for (const auto& k : r.keywords) ++counts["keywords"][k];
        for (const auto& f : formats_of(r)) ++counts["formats"][f];
    }
    for (const char* name : {"themes", "publishers", "keywords", "formats"}) {
        auto& list = out.facets[name];
        for (const auto& [v, k] : counts[name]) list.push_back({v, k});
        std::stable_sort(list.begin(), list.end(), [](const FacetCount& a, const FacetCount& b) { return a.count > b.count; });
        if (list.size() > 50) list.resize(50);  // the long tail of keywords stays out of the answer
    }
    for (std::size_t k = q.offset; k < hits.size() && out.page.size() < q.limit; ++k) out.page.push_back(hits[k]);
    return out;
}

}  // namespace ideo::catalog
