#include "ideo/harvest/pipeline.hpp"

#include <algorithm>
#include <filesystem>
#include <unordered_set>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"
#include "ideo/ingest/ingest.hpp"

namespace ideo::harvest {

namespace fs = std::filesystem;

std::shared_ptr<const index::CommuneIndex> load_communes(const LayerCatalog& catalog, store::Store* store) {
    const LayerSpec* spec = catalog.find("communes");
    if (!spec) return nullptr;
    const int code = spec->field_index(spec->id_field);
    const int name = spec->name_field.empty() ? -1 : spec->field_index(spec->name_field);
    std::vector<Feature> communes;
    if (store) communes = store->load(*spec);
    if (communes.empty()) {
        for (const auto& src : spec->sources) {
            if (src.protocol != "file") continue;
            auto r = ingest::ingest_file(*spec, src, src.url, nullptr);
            std::move(r.features.begin(), r.features.end(), std::back_inserter(communes));
        }
    }
    if (communes.empty()) return nullptr;
    return std::make_shared<const index::CommuneIndex>(communes, code, name);
}

SourceSpec source_for(const LayerSpec& layer, const std::string& file_or_url) {
    std::error_code ec;
    const std::string wanted =
        file_or_url.find("://") == std::string::npos ? fs::weakly_canonical(file_or_url, ec).string() : file_or_url;
    for (const auto& s : layer.sources)
        if (s.url == wanted || s.url == file_or_url) return s;
    SourceSpec adhoc;
    std::string stem = fs::path(file_or_url).stem().string();
    adhoc.id = text::fold_key(stem);
    if (adhoc.id.empty()) adhoc.id = "adhoc";
    adhoc.partner = stem;
    adhoc.protocol = "file";
    adhoc.url = wanted;
    return adhoc;
}

ImportResult import_file(const LayerSpec& layer, const SourceSpec& source, const std::string& path,
                         const index::CommuneIndex* communes, store::Store* store, const store::PublishOptions& options) {
    ImportResult out;
    ingest::Result r = ingest::ingest_file(layer, source, path, layer.attribute_commune ? communes : nullptr);

    // One identifier, one source: a record another partner already publishes is rejected, not overwritten.
    if (store) {
        const auto others = store->ids_from_other_sources(layer, source.id);
        if (!others.empty()) {
            const std::unordered_set<std::string> taken(others.begin(), others.end());
            std::vector<Feature> kept;
            kept.reserve(r.features.size());
            for (auto& f : r.features) {
                if (!taken.count(f.id)) {
                    kept.push_back(std::move(f));
                    continue;
                }
                const std::string reason = "id_conflict: " + layer.id_field + " " + f.id +
                                           " is already published by another source of layer " + layer.id;
                r.report.records.push_back({0, f.id, Outcome::Rejected, {reason}});
                r.quarantine.push_back({0, f.id, reason, "{}"});
                r.report.published--;
                r.report.rejected++;
            }
            r.features = std::move(kept);
        }
        out.publication = store->publish(layer, source.id, r.features, r.quarantine, r.report, options);
    }
    out.report = std::move(r.report);
    return out;
}

}  // namespace ideo::harvest
