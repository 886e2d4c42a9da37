#pragma once
// The portal's themes and the rules that put records in them and link them to our layers:
// data in layers/catalog/themes.json, not C++.
#include <filesystem>
#include <string>
#include <vector>

#include "ideo/core/catalog_record.hpp"

namespace ideo::catalog {

struct ThemeRule {
    std::string theme;                            // one of the portal's themes
    std::vector<std::string> topic_categories;    // ISO 19115 codes ("environment")
    std::vector<std::string> inspire;             // INSPIRE theme URIs or labels, folded
    std::vector<std::string> keywords;            // folded keys (text::fold_key)
};

struct FeedRule {
    std::string layer;                   // pei, erp, icpe
    std::vector<std::string> keywords;   // folded keys; one present in title, keywords or layer name
    std::vector<std::string> formats;    // distribution formats or protocols that can feed the layer
};

struct CatalogRules {
    std::vector<std::string> themes;  // the 14 themes, in display order
    std::vector<ThemeRule> rules;
    std::vector<FeedRule> feeds;
    std::filesystem::path file;
};

// Reads layers/catalog/themes.json; errors name the file and the key.
CatalogRules load_catalog_rules(const std::filesystem::path& file);

// Sets the record's themes and feeds_layer from its topic categories, keywords and distributions.
void classify(Record& record, const CatalogRules& rules);

// "GeoJSON", "Shapefile (zip)", "CSV"... from a format label, a media type or a URL; protocol too.
void normalise_distribution(Distribution& d);

}  // namespace ideo::catalog
