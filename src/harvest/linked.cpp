// Choosing the distribution of a catalogue record that feeds one of our layers.
#include "ideo/harvest/linked.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>
#include <vector>

#include "ideo/core/text.hpp"

namespace ideo::harvest {
namespace {

// `url` without the query parameters named in `drop` (compared lower-case); their values, decoded, in `dropped`.
std::string without_params(const std::string& url, const std::set<std::string>& drop,
                           std::vector<std::pair<std::string, std::string>>& dropped) {
    const auto q = url.find('?');
    if (q == std::string::npos) return url;
    std::string kept;
    std::size_t start = q + 1;
    while (start <= url.size()) {
        const auto amp = url.find('&', start);
        const std::string kv = url.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
        const auto eq = kv.find('=');
        const std::string key = text::ascii_lower(text::percent_decode(kv.substr(0, eq)));
        if (drop.count(key)) dropped.emplace_back(key, eq == std::string::npos ? "" : text::percent_decode(kv.substr(eq + 1)));
        else if (!kv.empty()) kept += (kept.empty() ? "" : "&") + kv;
        if (amp == std::string::npos) break;
        start = amp + 1;
    }
    return url.substr(0, q + 1) + kept;
}

// A catalogue's WFS link is often a capped preview (version=1.0.0&maxFeatures=50): its request parameters are
// dropped and the harvester pages its own GetFeature (2.0.0, GeoJSON) through the endpoint.
const std::set<std::string> kWfsRequestParams = {"service", "version", "request", "typename", "typenames",
                                                 "maxfeatures", "count", "startindex", "outputformat", "srsname",
                                                 "resulttype", "propertyname", "bbox", "filter", "sortby"};

std::optional<LinkedSource> wfs_source(const catalog::Distribution& d, std::string& why_not) {
    std::vector<std::pair<std::string, std::string>> dropped;
    const std::string endpoint = without_params(d.url, kWfsRequestParams, dropped);
    std::string type = d.layer_name;
    for (const auto& [k, v] : dropped)
        if (type.empty() && (k == "typenames" || k == "typename")) type = v;
    if (type.empty()) {
        why_not = "WFS " + d.url + " names no feature type (no layer name, no typeNames in the link)";
        return std::nullopt;
    }
    LinkedSource s;
    s.partner.protocol = "wfs";
    s.partner.url = endpoint;
    s.partner.options["typeNames"] = type;
    s.distribution = "WFS " + type;
    return s;
}

// OGC API Features: ".../collections/{id}/items" as published, ".../collections/{id}" plus "/items", or the
// landing page plus the layer name; the harvester adds its own paging.
std::optional<LinkedSource> oapif_source(const catalog::Distribution& d, std::string& why_not) {
    std::vector<std::pair<std::string, std::string>> dropped;
    std::string url = without_params(d.url, {"limit", "offset"}, dropped);
    if (!url.empty() && url.back() == '?') url.pop_back();
    std::string path = url.substr(0, url.find('?'));
    const std::string query = url.size() > path.size() ? url.substr(path.size()) : "";
    while (!path.empty() && path.back() == '/') path.pop_back();
    const auto collections = path.rfind("/collections/");
    if (collections != std::string::npos && path.size() >= 6 && path.compare(path.size() - 6, 6, "/items") == 0) {
        // already the items
    } else if (collections != std::string::npos && path.find('/', collections + 13) == std::string::npos) {
        path += "/items";
    } else if (!d.layer_name.empty() && collections == std::string::npos) {
        if (path.size() >= 12 && path.compare(path.size() - 12, 12, "/collections") == 0) path.resize(path.size() - 12);
        path += "/collections/" + d.layer_name + "/items";
    } else {
        why_not = "OGC API Features " + d.url + " names no collection";
        return std::nullopt;
    }
    LinkedSource s;
    s.partner.protocol = "oapif";
    s.partner.url = path + query;
    s.distribution = "OGC API Features " + path.substr(0, path.size() - 6).substr(path.rfind("/collections/") + 13);
    return s;
}

}  // namespace

std::optional<LinkedSource> linked_source(const PartnerSpec& catalogue, const catalog::Record& record, std::string& why_not) {
    if (record.feeds_layer.empty()) {
        why_not = "record " + record.id + " is linked to none of our layers";
        return std::nullopt;
    }
    // One distribution per record. Downloads first, in the formats the ingest reads, best first (GeoPackage and
    // GeoJSON keep names and types; a Shapefile cuts names to 10 characters; CSV and XLSX hold coordinates as
    // text): a download is the dataset as its producer publishes it, and answers conditional GET, so an
    // unchanged dataset costs one 304 where a service is paged through again at every run. Then WFS, then
    // OGC API Features, for records that publish their data as a service only.
    static const std::vector<std::string> kFiles = {"GeoPackage", "GeoJSON", "Shapefile (zip)", "CSV", "XLSX"};
    std::optional<LinkedSource> chosen;
    std::string reasons;
    for (const auto& format : kFiles)
        for (const auto& d : record.distributions)
            if (!chosen && d.format == format && d.url.find("://") != std::string::npos) {
                chosen = LinkedSource{};
                chosen->partner.protocol = "file";
                chosen->partner.url = d.url;
                chosen->distribution = d.format;
            }
    for (const char* service : {"WFS", "OGC API Features"})
        for (const auto& d : record.distributions) {
            if (chosen || d.format != service) continue;
            std::string why;
            chosen = d.format == "WFS" ? wfs_source(d, why) : oapif_source(d, why);
            if (!chosen) reasons += (reasons.empty() ? "" : "; ") + why;
        }
    if (!chosen) {
        std::set<std::string> formats;
        for (const auto& d : record.distributions) formats.insert(d.format.empty() ? "unknown format" : d.format);
        std::string has;
        for (const auto& f : formats) has += (has.empty() ? "" : ", ") + f;
        why_not = "no distribution the harvester can import into " + record.feeds_layer + " (the record has: " +
                  (has.empty() ? "none" : has) + ")" + (reasons.empty() ? "" : "; " + reasons);
        return std::nullopt;
    }
    PartnerSpec& p = chosen->partner;
    p.id = record.id;
    p.name = catalogue.name.empty() ? catalogue.id : catalogue.name;
    p.layer = record.feeds_layer;
    p.file = catalogue.file;
    p.page_size = 1000;  // features per WFS / OGC API page, not the catalogue's records per page
    return chosen;
}

}  // namespace ideo::harvest
