#pragma once
// The catalogue as served: listed records with an inverted index over title, description and
// keywords (accent- and case-insensitive French), ranked by BM25 with a title boost, with filters
// and facets. A search forgives: records holding most of the words follow those holding all of them,
// and a word of five letters or more is also read as the indexed words one edit away (Damerau: a
// transposition is one edit), the records holding it that way ranked after those holding it exactly. Built once per snapshot, immutable.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ideo/core/catalog_record.hpp"

namespace ideo::catalog {

struct Posting {
    std::uint32_t doc;
    float tf;     // field-weighted term frequency
    float score;  // the term's BM25 contribution to this record's score: a constant of the snapshot, summed per search
};

struct FacetCount {
    std::string value;
    std::size_t count = 0;
};

// One facet's values, interned once per snapshot: filters and counts work on small integers, laid out
// flat so that a search walks contiguous memory instead of one small vector per record.
struct FacetIndex {
    std::vector<std::string> values;  // as published, each once
    std::vector<std::string> folded;  // the same, accents and case folded: what filters compare
    // Record i's value ids are ids[first[i]] .. ids[first[i + 1]] (a keyword listed twice counts twice).
    std::vector<std::uint32_t> first{0};
    std::vector<std::uint32_t> ids;
    std::vector<FacetCount> everything;  // the counts over every listed record: a search with no words and no filter

    std::size_t begin(std::uint32_t record) const { return first[record]; }
    std::size_t end(std::uint32_t record) const { return first[record + 1]; }
};

struct Catalog {
    std::vector<Record> records;  // listed records (not withdrawn), ordered by id; `original` empty when read_original is set
    std::unordered_map<std::string, std::uint32_t> by_id;
    std::unordered_map<std::string, std::vector<Posting>> postings;  // token -> ascending docs
    std::vector<float> length;  // weighted tokens per record
    float average_length = 1;
    FacetIndex themes, publishers, keywords, formats;  // formats: of the distributions, once per record
    // The typo index (SymSpell): each indexed word of 4 to 32 letters, and the hash of it and of each of its
    // one-letter deletions with the word's position in `typo_words`, sorted by hash. A query word and an
    // indexed word one edit apart share one of these, so a typo costs a few binary searches, not a scan.
    std::vector<std::string> typo_words;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> typo_keys;
    OriginalSource read_original;  // the store's documents, read one at a time: they are most of the catalogue's bytes

    // The record's original document: the one it was built with, else read; nullopt when re-harvested since.
    std::optional<std::string> original(const Record& r) const;
};

// Lower case, accents removed, split on non-alphanumerics, French plural 's'/'x' trimmed.
std::vector<std::string> tokenize(std::string_view text);

// `read_original`: where the records' documents are read when they were loaded without (Record::original empty).
std::shared_ptr<const Catalog> build_catalog(std::vector<Record> records, OriginalSource read_original = {});

struct SearchQuery {
    std::string q;
    std::vector<std::string> themes, publishers, keywords, formats;  // each: any of the values
    std::optional<Envelope> bbox;
    std::size_t limit = 20, offset = 0;
};

// How one found record meets the query's words (folded, as tokenize gives them).
struct RecordMatch {
    std::vector<std::string> missing;                              // words it does not hold
    std::vector<std::pair<std::string, std::string>> corrected;  // a word it holds with one typo: (query word, its word)
};

struct SearchResult {
    std::size_t matched = 0;      // records holding most of the words (more than half)...
    std::size_t matched_all = 0;  // ...of which holding every one, exactly or with one typo: ranked first
    std::vector<std::string> words;  // the query's distinct words, folded
    // Each word of five letters or more that has indexed words one edit away, and those words: what it was also read as.
    std::map<std::string, std::vector<std::string>> corrections;
    std::vector<std::uint32_t> page;  // record indices, best first
    std::vector<RecordMatch> page_matches;  // per page record, when the query has words
    std::map<std::string, std::vector<FacetCount>> facets;  // themes, publishers, keywords, formats
};

// The catalogue without the records whose data is one of `layers` (sorted): what a caller who may not discover
// those layers reads (index/view.hpp). Built again, so its counts, facets and ranking know nothing of them;
// null when no record describes one of them (the caller keeps `catalog`).
std::shared_ptr<const Catalog> without_layers(const Catalog& catalog, const std::vector<std::string>& layers);

// Records in this order: most words held, then most words held exactly (a typo ranks after), then BM25.
SearchResult search(const Catalog& catalog, const SearchQuery& query);

// Whether two words are at most one edit apart (insertion, deletion, substitution or transposition of
// adjacent letters), letters being UTF-8 code points.
bool within_one_edit(std::string_view a, std::string_view b);

// The catalogue page as DCAT-AP JSON-LD with a Hydra PartialCollectionView; links absolute on base_url.
std::string dcat_jsonld(const Catalog& catalog, std::size_t offset, std::size_t limit, const std::string& base_url);

}  // namespace ideo::catalog
