// Themes, layer links, distribution formats, hashes and the record's JSON form.
#include "ideo/catalog/rules.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"
#include "ideo/core/json.hpp"

namespace ideo::catalog {
namespace {

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& key, const std::string& why) {
    throw InputError(file.string() + ": " + key + ": " + why);
}

std::vector<std::string> strings(const rapidjson::Value& obj, const char* key, const std::filesystem::path& file,
                                 const std::string& where, bool fold) {
    std::vector<std::string> out;
    const auto it = obj.FindMember(key);
    if (it == obj.MemberEnd()) return out;
    if (!it->value.IsArray()) fail(file, where + "." + key, "expected an array of strings");
    for (const auto& v : it->value.GetArray()) {
        if (!v.IsString()) fail(file, where + "." + key, "expected an array of strings");
        out.push_back(fold ? text::fold_key(v.GetString()) : std::string(v.GetString()));
    }
    return out;
}

// "a_b_c" contains "b" and "b_c" but not "c_d" nor "_b": a folded phrase found as whole words,
// without building strings (called for every keyword of every rule, for every record).
bool contains_words(std::string_view folded_text, std::string_view folded_phrase) {
    if (folded_phrase.empty()) return false;
    for (auto at = folded_text.find(folded_phrase); at != std::string_view::npos;
         at = folded_text.find(folded_phrase, at + 1)) {
        const auto end = at + folded_phrase.size();
        if ((at == 0 || folded_text[at - 1] == '_') && (end == folded_text.size() || folded_text[end] == '_')) return true;
    }
    return false;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

CatalogRules load_catalog_rules(const std::filesystem::path& file) {
    const rapidjson::Document d = json::parse_file(file, "the catalogue rules");
    if (!d.IsObject()) fail(file, "top level", "expected an object");
    CatalogRules r;
    r.file = file;
    r.themes = strings(d, "themes", file, "", false);
    if (r.themes.empty()) fail(file, "themes", "expected the list of the portal's themes");
    if (auto it = d.FindMember("rules"); it != d.MemberEnd()) {
        if (!it->value.IsArray()) fail(file, "rules", "expected an array");
        for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
            const auto& o = it->value[i];
            const std::string where = "rules[" + std::to_string(i) + "]";
            if (!o.IsObject() || !o.HasMember("theme") || !o["theme"].IsString())
                fail(file, where + ".theme", "expected a theme name");
            ThemeRule t;
            t.theme = o["theme"].GetString();
            if (std::find(r.themes.begin(), r.themes.end(), t.theme) == r.themes.end())
                fail(file, where + ".theme", "\"" + t.theme + "\" is not one of the themes");
            for (auto& c : strings(o, "topic_categories", file, where, false)) t.topic_categories.push_back(text::ascii_lower(c));
            t.inspire = strings(o, "inspire", file, where, true);
            t.keywords = strings(o, "keywords", file, where, true);
            r.rules.push_back(std::move(t));
        }
    }
    if (auto it = d.FindMember("feeds"); it != d.MemberEnd()) {
        if (!it->value.IsArray()) fail(file, "feeds", "expected an array");
        for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
            const auto& o = it->value[i];
            const std::string where = "feeds[" + std::to_string(i) + "]";
            if (!o.IsObject() || !o.HasMember("layer") || !o["layer"].IsString())
                fail(file, where + ".layer", "expected a layer id");
            FeedRule f;
            f.layer = o["layer"].GetString();
            f.keywords = strings(o, "keywords", file, where, true);
            f.formats = strings(o, "formats", file, where, false);
            r.feeds.push_back(std::move(f));
        }
    }
    return r;
}

void classify(Record& rec, const CatalogRules& rules) {
    // Topic categories and INSPIRE themes: codes, URIs (".../TopicCategory/farming", ".../theme/hy") or labels.
    std::vector<std::string> categories, inspire;
    for (const auto& c : rec.topic_categories) {
        std::string l = text::ascii_lower(c);
        if (const auto at = l.find("/theme/"); at != std::string::npos && l.find("inspire") != std::string::npos) {
            std::string code = l.substr(at + 7);
            if (auto slash = code.find_first_of("/#?"); slash != std::string::npos) code.resize(slash);
            inspire.push_back(code);
            continue;
        }
        if (const auto at = l.rfind("topiccategory/"); at != std::string::npos) l = l.substr(at + 14);
        categories.push_back(l);
        inspire.push_back(text::fold_key(c));
    }
    std::vector<std::string> words;  // folded keywords and title
    for (const auto& k : rec.keywords) words.push_back(text::fold_key(k));
    const std::string title = text::fold_key(rec.title);

    rec.themes.clear();
    const auto add_theme = [&](const std::string& t) {
        if (std::find(rec.themes.begin(), rec.themes.end(), t) == rec.themes.end()) rec.themes.push_back(t);
    };
    for (const auto& rule : rules.rules) {
        bool hit = false;
        for (const auto& c : categories)
            hit = hit || std::find(rule.topic_categories.begin(), rule.topic_categories.end(), c) != rule.topic_categories.end();
        for (const auto& i : inspire)
            hit = hit || std::find(rule.inspire.begin(), rule.inspire.end(), i) != rule.inspire.end();
        for (const auto& w : words)
            for (const auto& k : rule.keywords) hit = hit || contains_words(w, k);
        if (hit) add_theme(rule.theme);
    }
    // Keep the display order of the themes list.
    std::vector<std::string> ordered;
    for (const auto& t : rules.themes)
        if (std::find(rec.themes.begin(), rec.themes.end(), t) != rec.themes.end()) ordered.push_back(t);
    rec.themes = std::move(ordered);

    rec.feeds_layer.clear();
    std::vector<std::string> layer_names;  // the services' layer names, folded
    for (const auto& d : rec.distributions) layer_names.push_back(text::fold_key(d.layer_name));
    for (const auto& feed : rules.feeds) {
        bool named = false;
        for (const auto& k : feed.keywords) {
            named = named || contains_words(title, k);
            for (const auto& w : words) named = named || contains_words(w, k);
            for (const auto& n : layer_names) named = named || contains_words(n, k);
        }
        if (!named) continue;
        for (const auto& d : rec.distributions)
            if (std::find(feed.formats.begin(), feed.formats.end(), d.format) != feed.formats.end()) {
                rec.feeds_layer = feed.layer;
                return;
            }
    }
}

void normalise_distribution(Distribution& d) {
    // "WWW:LINK-1.0-http--link", "OGC:WMS" given as a format are protocols.
    if (text::ascii_lower(d.format).rfind("www:", 0) == 0 || text::ascii_lower(d.format).rfind("ogc:", 0) == 0) {
        if (d.protocol.empty()) d.protocol = d.format;
        d.format.clear();
    }
    const std::string f = text::ascii_lower(text::trim(d.format));
    const std::string p = text::ascii_lower(d.protocol);
    std::string url = text::ascii_lower(d.url);
    if (auto q = url.find('?'); q != std::string::npos) url.resize(q);
    const std::string full_url = text::ascii_lower(d.url);
    const auto has = [&](std::string_view s, std::string_view needle) { return s.find(needle) != std::string_view::npos; };

    if (has(p, "wfs") || has(f, "wfs") || has(full_url, "service=wfs")) {
        d.protocol = "OGC:WFS";
        d.format = "WFS";
    } else if (has(p, "wms") || has(f, "wms") || has(full_url, "service=wms")) {
        d.protocol = "OGC:WMS";
        d.format = "WMS";
    } else if (has(p, "ogc api") || has(p, "oapif") || has(f, "ogc api") || has(full_url, "/collections/")) {
        d.protocol = "OGC API - Features";
        d.format = "OGC API Features";
    } else {
        if (d.protocol.empty() || has(p, "download") || has(p, "www:link") || has(p, "http")) d.protocol = "download";
        if (has(f, "geojson") || ends_with(url, ".geojson")) d.format = "GeoJSON";
        else if (has(f, "shp") || has(f, "shapefile") || has(f, "esri")) d.format = "Shapefile (zip)";
        else if (has(f, "geopackage") || has(f, "gpkg") || ends_with(url, ".gpkg")) d.format = "GeoPackage";
        else if (has(f, "spreadsheetml") || has(f, "xlsx") || ends_with(url, ".xlsx")) d.format = "XLSX";
        else if (f == "xls" || has(f, "ms-excel") || ends_with(url, ".xls")) d.format = "XLS";
        else if (has(f, "csv") || ends_with(url, ".csv")) d.format = "CSV";
        else if (has(f, "pdf") || ends_with(url, ".pdf")) d.format = "PDF";
        else if (has(f, "kml") || ends_with(url, ".kml")) d.format = "KML";
        else if (has(f, "zip") || ends_with(url, ".zip")) d.format = has(url, "shp") ? "Shapefile (zip)" : "ZIP";
        else if (f == "json" || has(f, "application/json") || ends_with(url, ".json")) d.format = "JSON";
        else if (has(f, "html") || f == "text/html") d.format = "HTML";
        else if (has(f, "xml")) d.format = "XML";
        else if (!f.empty()) {
            // An IRI of a format vocabulary ("http://publications.europa.eu/resource/authority/file-type/CSV").
            std::string tail = d.format;
            if (auto slash = tail.find_last_of("/#"); slash != std::string::npos && slash + 1 < tail.size())
                tail = tail.substr(slash + 1);
            d.format = tail;
        }
    }
}

}  // namespace ideo::catalog
