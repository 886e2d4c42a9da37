// The harvest runner: partners in parallel (a small pool), one client per partner, and the geodata
// protocols (WFS 2.0 GetFeature paged by count/startIndex, OGC API Features `next` links, plain
// downloads) turned into one file each, imported through the same pipeline as `ideo import`.
#include "ideo/harvest/runner.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include "ideo/core/error.hpp"
#include "ideo/core/json.hpp"
#include "ideo/core/sha256.hpp"
#include "ideo/core/text.hpp"
#include "ideo/harvest/linked.hpp"
#include "ideo/harvest/pipeline.hpp"
#include "ideo/core/url.hpp"
#include "ideo/harvest/pager.hpp"

namespace ideo::harvest {
namespace {

namespace fs = std::filesystem;

// The store shared by the partners' threads: one call at a time, so SQLite never sees two writers.
class SerialStore final : public store::Store {
public:
    explicit SerialStore(store::Store& inner) : inner_(inner) {}
    store::Publication publish(const LayerSpec& layer, const std::string& source, const std::vector<Feature>& features,
                               const std::vector<Quarantined>& quarantine, const Report& report,
                               const store::PublishOptions& options) override {
        std::lock_guard lock(mutex_);
        return inner_.publish(layer, source, features, quarantine, report, options);
    }
    std::vector<Feature> load(const LayerSpec& layer) override {
        std::lock_guard lock(mutex_);
        return inner_.load(layer);
    }
    std::vector<std::string> ids_from_other_sources(const LayerSpec& layer, const std::string& source) override {
        std::lock_guard lock(mutex_);
        return inner_.ids_from_other_sources(layer, source);
    }
    std::int64_t version() override {
        std::lock_guard lock(mutex_);
        return inner_.version();
    }
    std::vector<store::Publication> publications(std::size_t limit) override {
        std::lock_guard lock(mutex_);
        return inner_.publications(limit);
    }
    std::optional<store::ResourceState> resource_state(const std::string& partner, const std::string& resource) override {
        std::lock_guard lock(mutex_);
        return inner_.resource_state(partner, resource);
    }
    void save_resource_state(const store::ResourceState& state) override {
        std::lock_guard lock(mutex_);
        inner_.save_resource_state(state);
    }
    std::vector<store::ResourceState> resource_states(const std::string& partner) override {
        std::lock_guard lock(mutex_);
        return inner_.resource_states(partner);
    }
    void record_harvest_run(const std::string& run_id, const std::string& partner, const std::string& report_json) override {
        std::lock_guard lock(mutex_);
        inner_.record_harvest_run(run_id, partner, report_json);
    }
    std::vector<store::HarvestRunEntry> harvest_runs(std::size_t runs) override {
        std::lock_guard lock(mutex_);
        return inner_.harvest_runs(runs);
    }
    std::optional<store::Publication> update_catalog(const std::string& partner, const store::CatalogUpdate& update,
                                                     const std::string& report_json) override {
        std::lock_guard lock(mutex_);
        return inner_.update_catalog(partner, update, report_json);
    }
    std::vector<catalog::Record> load_catalog_records(const std::string& partner, bool with_originals) override {
        std::lock_guard lock(mutex_);
        return inner_.load_catalog_records(partner, with_originals);
    }
    std::vector<store::CatalogEntry> catalog_entries(const std::string& partner) override {
        std::lock_guard lock(mutex_);
        return inner_.catalog_entries(partner);
    }
    catalog::OriginalSource catalog_original_reader() override {
        std::lock_guard lock(mutex_);
        return inner_.catalog_original_reader();
    }

private:
    store::Store& inner_;
    std::mutex mutex_;
};

std::string sha256_of_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw InputError(p.string() + ": cannot read the file");
    Sha256 h;
    std::string buf(1 << 16, '\0');
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        h.update(std::string_view(buf.data(), static_cast<std::size_t>(in.gcount())));
    }
    return h.hex();
}

void write_file(const fs::path& p, std::string_view bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw Error(p.string() + ": cannot write the download");
}

// The first characters of an answer, for failure messages ("answer starts with <html>...").
std::string excerpt(std::string_view body) {
    std::string s(body.substr(0, 80));
    for (char& c : s)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    return s;
}

// A temporary folder for one partner's downloads, removed with its content.
class WorkDir {
public:
    // `key` may be a catalogue record's id ("dcat:https://..."): folded to a file name, numbered to stay unique.
    WorkDir(const fs::path& root, const std::string& run_id, const std::string& key) {
        static std::atomic<unsigned> serial{0};
        const std::string name = "ideo-harvest-" + run_id + "-" + text::fold_key(key).substr(0, 80) + "-" +
                                 std::to_string(serial++);
        path_ = (root.empty() ? fs::temp_directory_path() : root) / name;
        fs::create_directories(path_);
    }
    ~WorkDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// What fetching a partner's resource gave: a file to import, or proof that nothing changed.
struct Fetched {
    std::string resource;  // the URL or path: the key of its state
    fs::path file;
    std::string hash, etag, last_modified;
    bool not_modified = false;  // 304
    std::size_t features = 0;   // wfs/oapif: features fetched; 0 for plain files
    bool counted = false;       // `features` is known before ingest
};

// GeoJSON pages of a service, gathered into one FeatureCollection file.
class PageWriter {
public:
    void add_page(const std::string& url, const HttpResponse& res, rapidjson::Document& doc) {
        const std::string* ct = res.header("content-type");
        const std::string type = ct ? text::ascii_lower(*ct) : "";
        if (type.find("json") == std::string::npos)
            throw FetchError("GET " + url + ": unexpected content type \"" + (ct ? *ct : "none") +
                             "\" (expected GeoJSON); answer starts with \"" + excerpt(res.body) + "\"");
        if (const auto failed = json::parse(doc, res.body))
            throw FetchError("GET " + url + ": invalid JSON at offset " + std::to_string(failed->offset) + ": " + failed->message);
        const auto features = doc.IsObject() ? doc.FindMember("features") : doc.MemberEnd();
        if (!doc.IsObject() || features == doc.MemberEnd() || !features->value.IsArray())
            throw FetchError("GET " + url + ": not a GeoJSON FeatureCollection (no \"features\" array)");
        if (const auto crs = doc.FindMember("crs"); crs != doc.MemberEnd() && crs_.empty()) {
            rapidjson::StringBuffer sb;
            rapidjson::Writer<rapidjson::StringBuffer> w(sb);
            crs->value.Accept(w);
            crs_ = sb.GetString();
        }
        for (const auto& f : features->value.GetArray()) {
            rapidjson::StringBuffer sb;
            rapidjson::Writer<rapidjson::StringBuffer> w(sb);
            f.Accept(w);
            if (count_++) features_ += ',';
            features_.append(sb.GetString(), sb.GetSize());
        }
        last_page_ = features->value.Size();
    }
    std::size_t count() const { return count_; }
    std::size_t last_page() const { return last_page_; }
    std::string collection() const {
        std::string out = "{\"type\":\"FeatureCollection\",";
        if (!crs_.empty()) out += "\"crs\":" + crs_ + ",";
        return out + "\"features\":[" + features_ + "]}";
    }

private:
    std::string features_, crs_;
    std::size_t count_ = 0, last_page_ = 0;
};

class PartnerHarvest {
public:
    PartnerHarvest(const PartnerSpec& p, HttpClient& client, store::Store& store, const RunOptions& o)
        : p_(p), client_(client), store_(store), o_(o) {}

    void progress(const std::string& line) const {
        if (o_.progress) o_.progress(p_.id, line);
    }

    Fetched fetch_file(const fs::path& dir, const std::optional<store::ResourceState>& state) {
        Fetched f;
        f.resource = p_.url;
        if (p_.url.find("://") == std::string::npos) {
            // A local path: nothing to download, the hash alone says whether it changed.
            f.file = p_.url;
            f.hash = sha256_of_file(f.file);
            return f;
        }
        HttpRequest req;
        req.url = p_.url;
        if (state && !state->etag.empty()) req.headers.emplace_back("If-None-Match", state->etag);
        if (state && !state->last_modified.empty()) req.headers.emplace_back("If-Modified-Since", state->last_modified);
        progress("GET " + p_.url);
        HttpResponse res = client_.fetch(req);
        if (const auto* e = res.header("etag")) f.etag = *e;
        if (const auto* lm = res.header("last-modified")) f.last_modified = *lm;
        if (res.status == 304) {
            f.not_modified = true;
            if (state) {
                if (f.etag.empty()) f.etag = state->etag;
                if (f.last_modified.empty()) f.last_modified = state->last_modified;
            }
            return f;
        }
        f.hash = sha256_hex(res.body);
        f.file = save_download(res, dir);
        return f;
    }

    Fetched fetch_wfs(const fs::path& dir) {
        Fetched f;
        f.resource = p_.url;
        const auto opt = [&](const char* k, const std::string& def) {
            const auto it = p_.options.find(k);
            return it == p_.options.end() ? def : it->second;
        };
        std::string base = p_.url;
        for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
                 {"service", "WFS"}, {"version", "2.0.0"}, {"request", "GetFeature"},
                 {"typeNames", opt("typeNames", opt("typeName", ""))}, {"outputFormat", opt("outputFormat", "application/json")},
                 {"srsName", opt("srsName", "")}})
            if (!v.empty() && !url::has_param(base, k)) base = url::append_query(base, k + "=" + v);
        if (!url::has_param(base, "typeNames") && !url::has_param(base, "typeName"))
            throw InputError(p_.file.string() + ": WFS partner " + p_.id + " needs options.typeNames");
        PageWriter pages;
        PagingScheme scheme;
        scheme.page_size = static_cast<std::size_t>(p_.page_size);
        scheme.at = [&](std::size_t start) {
            HttpRequest req;
            req.url = url::append_query(base, "count=" + std::to_string(scheme.page_size) + "&startIndex=" + std::to_string(start));
            req.headers.emplace_back("Accept", "application/json, application/geo+json");
            return req;
        };
        std::size_t page = 0;
        page_through(scheme, [&](const HttpRequest& req, std::string&) -> std::optional<PageInfo> {
            const HttpResponse res = client_.fetch(req);
            rapidjson::Document doc;
            pages.add_page(req.url, res, doc);
            PageInfo info;
            info.returned = pages.last_page();
            if (const auto m = doc.FindMember("numberMatched"); m != doc.MemberEnd() && m->value.IsUint64())
                info.matched = m->value.GetUint64();
            else if (const auto t = doc.FindMember("totalFeatures"); t != doc.MemberEnd() && t->value.IsUint64())
                info.matched = t->value.GetUint64();  // GeoServer before WFS 2.0 JSON
            progress("WFS page " + std::to_string(++page) + ": " + std::to_string(pages.count()) +
                     (info.matched ? " of " + std::to_string(*info.matched) : std::string()) + " features");
            return info;
        });
        return finish_pages(dir, pages, f);
    }

    Fetched fetch_oapif(const fs::path& dir) {
        Fetched f;
        f.resource = p_.url;
        PageWriter pages;
        PagingScheme scheme;
        scheme.kind = PagingScheme::Kind::Link;
        scheme.loop_fails = true;
        scheme.first_url = p_.url;
        if (!url::has_param(scheme.first_url, "limit"))
            scheme.first_url = url::append_query(scheme.first_url, "limit=" + std::to_string(p_.page_size));
        scheme.link = [](const std::string& u) {
            HttpRequest req;
            req.url = u;
            req.headers.emplace_back("Accept", "application/geo+json, application/json");
            return req;
        };
        std::size_t page = 0;
        page_through(scheme, [&](const HttpRequest& req, std::string& final_url) -> std::optional<PageInfo> {
            const HttpResponse res = client_.fetch(req);
            final_url = res.final_url;
            rapidjson::Document doc;
            pages.add_page(req.url, res, doc);
            progress("OGC API page " + std::to_string(++page) + ": " + std::to_string(pages.count()) + " features");
            PageInfo info;
            info.returned = pages.last_page();
            if (info.returned == 0) return info;  // an empty page ends the paging, whatever it links to
            if (const auto links = doc.FindMember("links"); links != doc.MemberEnd() && links->value.IsArray())
                for (const auto& l : links->value.GetArray()) {
                    if (!l.IsObject()) continue;
                    const auto rel = l.FindMember("rel"), href = l.FindMember("href");
                    if (rel != l.MemberEnd() && href != l.MemberEnd() && rel->value.IsString() && href->value.IsString() &&
                        std::string_view(rel->value.GetString()) == "next")
                        info.next_url = href->value.GetString();
                }
            return info;
        });
        return finish_pages(dir, pages, f);
    }

    Fetched finish_pages(const fs::path& dir, const PageWriter& pages, Fetched f) {
        const std::string collection = pages.collection();
        f.hash = sha256_hex(collection);
        f.features = pages.count();
        f.counted = true;
        f.file = dir / "features.geojson";
        write_file(f.file, collection);
        return f;
    }

    PartnerReport geodata(const LayerCatalog& catalog, const index::CommuneIndex* communes) {
        PartnerReport r;
        const LayerSpec* layer = catalog.find(p_.layer);
        if (!layer) throw InputError(p_.file.string() + ": partner " + p_.id + ": unknown layer \"" + p_.layer + "\"");
        SourceSpec src;
        if (const SourceSpec* declared = layer->find_source(p_.id)) src = *declared;
        src.id = p_.id;
        src.partner = p_.name;
        src.protocol = p_.protocol;
        src.url = p_.url;
        for (const auto& [k, v] : p_.options) src.options[k] = v;
        if (auto it = p_.options.find("crs"); it != p_.options.end()) src.crs = it->second;
        if (auto it = p_.options.find("encoding"); it != p_.options.end()) src.encoding = it->second;
        if (auto it = p_.options.find("sheet"); it != p_.options.end()) src.layer = it->second;

        WorkDir dir(o_.work_dir, o_.run_id, p_.id);
        const auto state = store_.resource_state(p_.id, p_.url);
        Fetched f = p_.protocol == "wfs" ? fetch_wfs(dir.path()) : p_.protocol == "oapif" ? fetch_oapif(dir.path())
                                                                                          : fetch_file(dir.path(), state);
        if (f.not_modified || (state && !f.hash.empty() && state->content_hash == f.hash)) {
            // Unchanged: not imported again; the validators are refreshed for the next conditional GET.
            r.downloaded_nothing = true;
            r.unchanged = state ? state->records : 0;
            if (state && (state->etag != f.etag || state->last_modified != f.last_modified) && !f.not_modified) {
                auto s = *state;
                s.etag = f.etag;
                s.last_modified = f.last_modified;
                s.checked_at.clear();
                store_.save_resource_state(s);
            }
            progress("unchanged, nothing imported");
            return r;
        }
        if (f.counted && f.features == 0 && state && state->records > 0)
            throw FetchError(p_.protocol + " " + p_.url + ": the partner returned no feature (last harvest had " +
                             std::to_string(state->records) + ")");

        const auto before = features_of(*layer, src.id);
        progress("importing into " + layer->id);
        ImportResult imported = import_file(*layer, src, f.file.string(), communes, &store_);
        const auto after = features_of(*layer, src.id);
        for (const auto& [id, feature] : after) {
            const auto it = before.find(id);
            if (it == before.end()) ++r.added;
            else if (it->second.values == feature.values && it->second.geometry.wkb == feature.geometry.wkb) ++r.unchanged;
            else ++r.updated;
        }
        for (const auto& [id, feature] : before)
            if (!after.count(id)) ++r.withdrawn;
        r.failed = imported.report.rejected;
        std::size_t listed = 0;
        for (const auto& rec : imported.report.records) {
            if (rec.outcome != Outcome::Rejected) continue;
            if (++listed > 20) {
                r.failures.push_back("... and " + std::to_string(imported.report.rejected - 20) + " more rejected records");
                break;
            }
            std::string line = "record " + std::to_string(rec.row) + " (" + (rec.id.empty() ? "no id" : rec.id) + ") rejected";
            for (std::size_t i = 0; i < rec.reasons.size(); ++i) line += (i ? "; " : ": ") + rec.reasons[i];
            r.failures.push_back(line);
        }
        store_.save_resource_state({p_.id, p_.url, f.etag, f.last_modified, f.hash,
                                    imported.publication ? imported.publication->count : after.size(), "", ""});
        progress("published " + std::to_string(after.size()) + " features");
        return r;
    }

private:
    // The features this source has published in the layer, by identifier.
    std::unordered_map<std::string, Feature> features_of(const LayerSpec& layer, const std::string& source) {
        std::unordered_map<std::string, Feature> out;
        for (auto& f : store_.load(layer))
            if (f.provenance.source == source) out.emplace(f.id, std::move(f));
        return out;
    }

    const PartnerSpec& p_;
    HttpClient& client_;
    store::Store& store_;
    const RunOptions& o_;
};

// The features a withdrawn record brought into `layer`, taken out with it (counted in li.withdrawn); its resource
// state forgotten, so the record's return imports its data again even when unchanged. False when it had none.
bool withdraw_linked_features(store::Store& store, const LayerSpec& layer, const catalog::Record& rec,
                              const std::optional<LinkedSource>& linked,
                              std::map<std::string, std::size_t>& features_per_source, LinkedImport& li) {
    std::size_t& had = features_per_source[rec.id];
    if (had == 0) return false;
    store.publish(layer, rec.id, {}, {}, Report{});
    if (linked) store.save_resource_state({rec.id, linked->partner.url, "", "", "", 0, "", ""});
    li.status = "withdrawn";
    li.withdrawn = std::exchange(had, 0);
    return true;
}

// The catalogue records of `p` linked to one of our layers (layers/catalog/themes.json "feeds"): each one's
// chosen distribution fetched and imported as a geodata partner of its own, the record's id as its source.
// A failing record keeps its layer's last good data and never stops the others; the report lists every outcome.
void import_linked_records(const PartnerSpec& p, HttpClient& client, store::Store& store, const LayerCatalog& catalog,
                           const std::function<const index::CommuneIndex*()>& communes, const RunOptions& o,
                           PartnerReport& r) {
    std::vector<catalog::Record> records;
    try {
        records = store.load_catalog_records(p.id, false);  // what a record links to, not its document
    } catch (const std::exception& e) {
        r.failures.push_back(std::string("cannot read the partner's records to import their data: ") + e.what());
        ++r.failed;
        r.kept_last_good = true;
        return;
    }
    std::map<std::string, std::map<std::string, std::size_t>> sources_of_layer;  // features per source, read when needed
    for (const auto& rec : records) {
        if (rec.feeds_layer.empty()) continue;
        LinkedImport li;
        li.record = rec.id;
        li.layer = rec.feeds_layer;
        const LayerSpec* layer = catalog.find(rec.feeds_layer);
        std::string why_not = "layer \"" + rec.feeds_layer + "\" is not one of layers/*.json";
        const auto linked = layer ? linked_source(p, rec, why_not) : std::nullopt;
        if (linked) {
            li.distribution = linked->distribution;
            li.url = linked->partner.url;
        }
        const std::string what = "record " + rec.id + " -> " + rec.feeds_layer + ": ";
        try {
            if (rec.withdrawn) {
                if (!layer) continue;
                auto [counts, fresh] = sources_of_layer.try_emplace(layer->id);
                if (fresh)
                    for (const auto& f : store.load(*layer)) ++counts->second[f.provenance.source];
                if (!withdraw_linked_features(store, *layer, rec, linked, counts->second, li)) continue;
            } else if (!linked) {
                li.status = "skipped";
                li.reason = why_not;
                if (o.progress) o.progress(p.id, what + "nothing imported, " + why_not);
            } else {
                const PartnerReport got = PartnerHarvest(linked->partner, client, store, o).geodata(catalog, communes());
                li.status = got.downloaded_nothing ? "unchanged" : "imported";
                if (!got.downloaded_nothing) r.downloaded_nothing = false;
                li.added = got.added;
                li.updated = got.updated;
                li.unchanged = got.unchanged;
                li.withdrawn = got.withdrawn;
                li.rejected = got.failed;
                for (const auto& f : got.failures) r.failures.push_back(what + f);
            }
        } catch (const std::exception& e) {
            li.status = "failed";
            li.reason = e.what();
            ++r.failed;
            r.kept_last_good = true;
            r.failures.push_back(what + e.what() + " (the layer keeps its last good data)");
            if (o.progress) o.progress(p.id, what + "FAILED, last good data kept: " + e.what());
        }
        r.imports.push_back(std::move(li));
    }
}

bool is_geodata(const std::string& protocol) { return protocol == "wfs" || protocol == "oapif" || protocol == "file"; }

std::string option_or(const PartnerSpec& p, const char* key) {
    const auto it = p.options.find(key);
    return it == p.options.end() ? std::string() : it->second;
}

}  // namespace

HttpOptions http_options_for(const PartnerSpec& p, const HttpOptions& defaults) {
    HttpOptions o = defaults;
    if (p.requests_per_second > 0) o.requests_per_second = p.requests_per_second;
    const auto number = [&](const char* key, long long& out) {
        const std::string v = option_or(p, key);
        if (v.empty()) return false;
        char* end = nullptr;
        out = std::strtoll(v.c_str(), &end, 10);
        if (*end || out < 0) throw InputError(p.file.string() + ": key \"options." + key + "\": expected a whole number >= 0");
        return true;
    };
    long long v = 0;
    if (number("timeout_ms", v)) o.timeout = std::chrono::milliseconds(v);
    if (number("max_retries", v)) o.max_retries = static_cast<int>(v);
    if (number("backoff_ms", v)) o.backoff = std::chrono::milliseconds(v);
    if (number("max_body", v)) o.max_body = static_cast<std::size_t>(v);
    if (number("max_decoded_body", v)) o.max_decoded_body = static_cast<std::size_t>(v);
    if (std::string ca = option_or(p, "ca_file"); !ca.empty()) {
        // Relative to the partner's file, as its local paths are; checked here so the report names the key.
        fs::path path = ca;
        if (path.is_relative() && !p.file.empty()) path = p.file.parent_path() / path;
        std::error_code ec;
        if (!fs::is_regular_file(path, ec))
            throw InputError(p.file.string() + ": key \"options.ca_file\": " + path.string() + " is not a readable file");
        o.ca_file = path.string();
    }
    if (std::string proxy = option_or(p, "proxy"); !proxy.empty()) {
        try {
            normalise_proxy(proxy);  // the client's own check, here so that the report names the key
        } catch (const FetchError&) {
            throw InputError(p.file.string() + ": key \"options.proxy\": not an http:// proxy URL (http://[user:password@]host:port)");
        }
        o.proxy = proxy;
    }
    return o;
}

std::string new_run_id() {
    std::string t = text::now_iso8601();  // 2025-01-01T12:00:00Z
    t.erase(std::remove_if(t.begin(), t.end(), [](char c) { return c == '-' || c == ':'; }), t.end());
    std::random_device rd;
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, "%04x", rd() & 0xffff);
    return t + "-" + suffix;
}

std::chrono::seconds parse_duration(const std::string& text) {
    std::size_t used = 0;
    long long n = -1;
    try {
        n = std::stoll(text, &used);
    } catch (const std::exception&) {
    }
    const std::string unit = n >= 0 ? text.substr(used) : "";
    const std::map<std::string, long long> factor = {{"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
    const auto it = factor.find(unit);
    if (n <= 0 || it == factor.end())
        throw InputError("duration \"" + text + "\": expected a positive number with s, m, h or d (e.g. 6h)");
    return std::chrono::seconds(n * it->second);
}

bool RunResult::ok() const {
    return std::none_of(reports.begin(), reports.end(), [](const PartnerReport& r) { return r.kept_last_good; });
}

std::string RunResult::to_json() const {
    std::string out = "{\"run_id\":\"" + run_id + "\",\"started_at\":\"" + started_at + "\",\"finished_at\":\"" +
                      finished_at + "\",\"partners\":[";
    for (std::size_t i = 0; i < reports.size(); ++i) out += (i ? "," : "") + reports[i].to_json();
    return out + "]}";
}

RunResult run_harvest(const std::vector<PartnerSpec>& partners, const LayerCatalog& catalog, store::Store& store,
                      const RunOptions& options) {
    RunOptions o = options;
    if (o.run_id.empty()) o.run_id = new_run_id();
    std::mutex progress_mutex;
    if (options.progress)
        o.progress = [&](const std::string& partner, const std::string& line) {
            std::lock_guard lock(progress_mutex);
            options.progress(partner, line);
        };
    RunResult result;
    result.run_id = o.run_id;
    result.started_at = text::now_iso8601();
    result.reports.resize(partners.size());
    SerialStore serial(store);

    // Commune polygons attribute INSEE codes in every geodata import: loaded once for the run, by the first
    // partner that imports (a catalogue partner imports only when one of its records feeds a layer).
    std::shared_ptr<const index::CommuneIndex> communes;
    std::once_flag communes_loaded;
    const std::function<const index::CommuneIndex*()> communes_for_import = [&] {
        std::call_once(communes_loaded, [&] { communes = load_communes(catalog, &serial); });
        return communes.get();
    };

    std::atomic<std::size_t> next{0};
    const auto work = [&] {
        for (std::size_t i; (i = next++) < partners.size();) {
            const PartnerSpec& p = partners[i];
            PartnerReport r;
            const std::string started = text::now_iso8601();
            try {
                HttpClient client(http_options_for(p, o.http));
                if (is_geodata(p.protocol)) {
                    const LayerSpec* layer = catalog.find(p.layer);  // the communes layer itself needs no communes
                    r = PartnerHarvest(p, client, serial, o).geodata(catalog, layer && layer->attribute_commune ? communes_for_import() : nullptr);
                } else if (o.catalogue) {
                    r = o.catalogue(p, client, serial);
                    if (p.import_linked) import_linked_records(p, client, serial, catalog, communes_for_import, o, r);
                } else {
                    r.failures.push_back("protocol " + p.protocol + ": the catalogue harvester is not built into this binary");
                    r.failed = 1;
                }
            } catch (const std::exception& e) {
                // Nothing was published for this partner: its last good data stays, the report says why.
                r.kept_last_good = true;
                r.failed += 1;
                r.failures.push_back(e.what());
                if (o.progress) o.progress(p.id, std::string("FAILED, last good data kept: ") + e.what());
            }
            r.partner = p.id;
            r.protocol = p.protocol;
            if (r.started_at.empty()) r.started_at = started;
            r.finished_at = text::now_iso8601();
            result.reports[i] = std::move(r);
        }
    };
    std::vector<std::thread> pool;
    const std::size_t n = std::min(std::max<std::size_t>(o.parallel, 1), partners.size());
    for (std::size_t t = 1; t < n; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();

    result.finished_at = text::now_iso8601();
    for (const auto& r : result.reports) store.record_harvest_run(result.run_id, r.partner, r.to_json());
    return result;
}

fs::path save_download(const HttpResponse& res, const fs::path& dir) {
    std::string ext = text::ascii_lower(fs::path(res.final_url.substr(0, res.final_url.find_first_of("?#"))).extension().string());
    const std::string* ct = res.header("content-type");
    const std::string type = ct ? text::ascii_lower(*ct) : "";
    // An HTML page where a data file was expected: a portal's error or login page served with 200.
    if (type.find("text/html") != std::string::npos && ext != ".html" && ext != ".htm")
        throw FetchError("GET " + res.final_url + ": unexpected content type \"" + *ct +
                         "\" (expected a data file); answer starts with \"" + excerpt(res.body) + "\"");
    if (ext.empty() || ext.size() > 8) {
        static const std::vector<std::pair<const char*, const char*>> by_type = {
            {"zip", ".zip"}, {"spreadsheetml", ".xlsx"}, {"geopackage", ".gpkg"}, {"geo+json", ".geojson"},
            {"json", ".geojson"}, {"csv", ".csv"}, {"opendocument.spreadsheet", ".ods"}};
        ext = ".bin";
        for (const auto& [k, e] : by_type)
            if (type.find(k) != std::string::npos) {
                ext = e;
                break;
            }
    }
    const fs::path file = dir / ("download" + ext);
    write_file(file, res.body);
    return file;
}

}  // namespace ideo::harvest
