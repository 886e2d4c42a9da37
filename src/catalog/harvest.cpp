// One catalogue partner harvested: page through its protocol, normalise, compare with what the
// store holds for it, write the partner's records in one transaction.
#include "ideo/catalog/harvest.hpp"

#include <cstdlib>
#include <map>
#include <set>

#include "ideo/catalog/parse.hpp"
#include "ideo/catalog/rules.hpp"
#include "ideo/core/text.hpp"

namespace ideo::catalog {
namespace {

namespace fs = std::filesystem;
constexpr std::size_t kMaxPages = 100000;  // a partner whose "next" never ends is cut, not followed forever

std::string encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':' || c == '/') out += static_cast<char>(c);
        else out += '%', out += hex[c >> 4], out += hex[c & 15];
    }
    return out;
}

std::string with_params(std::string url, const std::vector<std::pair<std::string, std::string>>& params) {
    for (const auto& [k, v] : params) {
        url += url.find('?') == std::string::npos ? '?' : '&';
        url += k + "=" + encode(v);
    }
    return url;
}

std::string option(const harvest::PartnerSpec& p, const std::string& key, const std::string& fallback = {}) {
    const auto it = p.options.find(key);
    return it == p.options.end() || it->second.empty() ? fallback : it->second;
}

// layers/catalog/themes.json beside the partner's spec (layers/partners/x.json), or the `rules` option.
fs::path rules_file(const harvest::PartnerSpec& p) {
    if (auto r = option(p, "rules"); !r.empty()) return r;
    if (!p.file.empty()) return p.file.parent_path().parent_path() / "catalog" / "themes.json";
    if (const char* env = std::getenv("IDEO_LAYERS")) return fs::path(env) / "catalog" / "themes.json";
    return fs::path("layers") / "catalog" / "themes.json";
}

std::string csw_post_body(const harvest::PartnerSpec& p, std::size_t start, std::size_t max) {
    const std::string schema = option(p, "outputSchema", "http://www.isotc211.org/2005/gmd");
    const std::string type = option(p, "typeNames", schema.find("isotc211") != std::string::npos ? "gmd:MD_Metadata" : "csw:Record");
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<csw:GetRecords xmlns:csw=\"http://www.opengis.net/cat/csw/2.0.2\" xmlns:gmd=\"http://www.isotc211.org/2005/gmd\" "
           "service=\"CSW\" version=\"2.0.2\" resultType=\"results\" startPosition=\"" + std::to_string(start) +
           "\" maxRecords=\"" + std::to_string(max) + "\" outputSchema=\"" + schema + "\">\n"
           "  <csw:Query typeNames=\"" + type + "\"><csw:ElementSetName>full</csw:ElementSetName></csw:Query>\n"
           "</csw:GetRecords>\n";
}

struct Gather {
    const harvest::PartnerSpec& p;
    harvest::HttpClient& client;
    PartnerReport& report;
    std::vector<Record> records;
    std::set<std::string> seen;
    bool complete = true;

    // One page: fetched and parsed, or the failure reported and the paging stopped.
    std::optional<ParseResult> page(const harvest::HttpRequest& req, const std::function<ParseResult(const harvest::HttpResponse&)>& parse) {
        const std::string what = req.method + " " + req.url;
        try {
            harvest::HttpResponse res = client.fetch(req);
            ParseResult r = parse(res);
            for (const auto& f : r.failures) {
                ++report.failed;
                report.failures.push_back(what + ": " + f.to_string());
            }
            for (auto& rec : r.records)
                if (seen.insert(rec.remote_id).second) records.push_back(std::move(rec));
            return r;
        } catch (const harvest::FetchError& e) {
            report.failures.push_back(e.what());
        } catch (const ParseError& e) {
            report.failures.push_back(what + ": parse error: " + e.what());
        } catch (const std::exception& e) {
            report.failures.push_back(what + ": " + e.what());
        }
        ++report.failed;
        complete = false;
        return std::nullopt;
    }

    harvest::HttpRequest get(std::string url) const {
        harvest::HttpRequest r;
        r.url = std::move(url);
        return r;
    }

    void csw() {
        const bool post = option(p, "method") == "POST" || option(p, "method") == "post";
        const std::string schema = option(p, "outputSchema", "http://www.isotc211.org/2005/gmd");
        const std::string type = option(p, "typeNames", schema.find("isotc211") != std::string::npos ? "gmd:MD_Metadata" : "csw:Record");
        std::size_t start = 1;
        for (std::size_t n = 0; n < kMaxPages; ++n) {
            harvest::HttpRequest req;
            if (post) {
                req.method = "POST";
                req.url = p.url;
                req.headers.emplace_back("Content-Type", "application/xml");
                req.body = csw_post_body(p, start, static_cast<std::size_t>(p.page_size));
            } else {
                std::vector<std::pair<std::string, std::string>> q = {
                    {"service", "CSW"}, {"version", "2.0.2"}, {"request", "GetRecords"}, {"typeNames", type},
                    {"resultType", "results"}, {"elementSetName", "full"}, {"outputSchema", schema},
                    {"startPosition", std::to_string(start)}, {"maxRecords", std::to_string(p.page_size)}};
                if (auto c = option(p, "constraint"); !c.empty()) {
                    q.emplace_back("constraintLanguage", "CQL_TEXT");
                    q.emplace_back("constraint_language_version", "1.1.0");
                    q.emplace_back("constraint", c);
                }
                req = get(with_params(p.url, q));
            }
            auto r = page(req, [](const harvest::HttpResponse& res) { return parse_csw(res.body); });
            if (!r) return;
            const std::size_t next = r->paging.next_record.value_or(0);
            if (next == 0 || next <= start || (r->paging.matched && next > *r->paging.matched)) return;
            start = next;
        }
    }

    void ckan() {
        std::string base = p.url;
        if (base.find("/api/3/action/") == std::string::npos) base = resolve_base(base) + "api/3/action/package_search";
        std::size_t start = 0;
        for (std::size_t n = 0; n < kMaxPages; ++n) {
            auto r = page(get(with_params(base, {{"rows", std::to_string(p.page_size)}, {"start", std::to_string(start)}})),
                          [](const harvest::HttpResponse& res) { return parse_ckan(res.body); });
            if (!r) return;
            const std::size_t got = r->paging.returned.value_or(0);
            start += got;
            if (got == 0 || !r->paging.matched || start >= *r->paging.matched) return;
        }
    }

    void udata() {
        std::string url = p.url;
        if (url.find("/api/1/datasets") == std::string::npos) url = resolve_base(url) + "api/1/datasets/";
        url = with_params(url, {{"page_size", std::to_string(p.page_size)}});
        follow(url, [](const harvest::HttpResponse& res) { return parse_udata(res.body); });
    }

    void dcat() {
        follow(p.url, [](const harvest::HttpResponse& res) {
            const std::string* ct = res.header("content-type");
            return parse_dcat(res.body, sniff_rdf_syntax(ct ? *ct : "", res.body), res.final_url);
        });
    }

    void ods() {
        if (option(p, "format") == "dcat" || p.url.find("/exports/dcat") != std::string::npos) {
            dcat();
            return;
        }
        std::string base = p.url;
        if (base.find("/catalog/datasets") == std::string::npos) base = resolve_base(base) + "api/explore/v2.1/catalog/datasets";
        std::size_t offset = 0;
        for (std::size_t n = 0; n < kMaxPages; ++n) {
            auto r = page(get(with_params(base, {{"limit", std::to_string(p.page_size)}, {"offset", std::to_string(offset)}})),
                          [](const harvest::HttpResponse& res) { return parse_ods(res.body); });
            if (!r) return;
            const std::size_t got = r->paging.returned.value_or(0);
            offset += got;
            if (got == 0 || !r->paging.matched || offset >= *r->paging.matched) return;
        }
    }

    // next_page / hydra:next links, resolved against the page that gave them.
    void follow(std::string url, const std::function<ParseResult(const harvest::HttpResponse&)>& parse) {
        std::set<std::string> visited;
        for (std::size_t n = 0; n < kMaxPages && !url.empty() && visited.insert(url).second; ++n) {
            auto r = page(get(url), parse);
            if (!r) return;
            url = r->paging.next_url.empty() ? std::string() : harvest::resolve_url(url, r->paging.next_url);
        }
    }

    static std::string resolve_base(std::string url) {
        if (url.empty() || url.back() != '/') url += '/';
        return url;
    }
};

}  // namespace

PartnerReport harvest_catalogue_partner(const harvest::PartnerSpec& p, harvest::HttpClient& client, store::Store& store) {
    PartnerReport report;
    report.partner = p.id;
    report.protocol = p.protocol;
    report.started_at = text::now_iso8601();
    const auto finish = [&] {
        report.finished_at = text::now_iso8601();
        return report;
    };

    CatalogRules rules;
    try {
        rules = load_catalog_rules(rules_file(p));
    } catch (const std::exception& e) {
        report.failures.push_back(e.what());
        ++report.failed;
        report.kept_last_good = true;
        return finish();
    }

    Gather g{p, client, report, {}, {}, true};
    if (p.protocol == "csw") g.csw();
    else if (p.protocol == "ckan") g.ckan();
    else if (p.protocol == "udata") g.udata();
    else if (p.protocol == "dcat") g.dcat();
    else if (p.protocol == "ods") g.ods();
    else {
        report.failures.push_back("protocol " + p.protocol + ": not a catalogue protocol (csw, ckan, udata, dcat, ods)");
        ++report.failed;
        return finish();
    }

    const std::string now = text::now_iso8601();
    std::map<std::string, Record> previous;
    try {
        for (auto& r : store.load_catalog_records(p.id)) previous.emplace(r.remote_id, std::move(r));
    } catch (const std::exception& e) {
        report.failures.push_back(e.what());
        ++report.failed;
        report.kept_last_good = true;
        return finish();
    }

    std::vector<Record> merged;
    bool changed = false;
    for (auto& r : g.records) {
        r.partner = p.id;
        r.id = p.id + ":" + r.remote_id;
        r.harvested_at = now;
        classify(r, rules);
        r.content_hash = content_hash(r);
        auto it = previous.find(r.remote_id);
        if (it == previous.end() || it->second.withdrawn) {
            ++report.added;
            changed = true;
            merged.push_back(std::move(r));
        } else if (it->second.content_hash == r.content_hash ||
                   (!r.modified.empty() && !it->second.modified.empty() && r.modified < it->second.modified)) {
            // Same content, or an older copy than the one kept (a lagging mirror): keep what we have.
            ++report.unchanged;
            merged.push_back(std::move(it->second));
        } else {
            ++report.updated;
            changed = true;
            merged.push_back(std::move(r));
        }
        if (it != previous.end()) previous.erase(it);
    }
    for (auto& [remote_id, r] : previous) {
        // Gone from the partner: withdrawn only after a complete paging, else kept as last harvested.
        if (!r.withdrawn && g.complete && p.withdraw_missing) {
            r.withdrawn = true;
            r.withdrawn_at = now;
            ++report.withdrawn;
            changed = true;
        }
        merged.push_back(std::move(r));
    }
    if (!g.complete) report.kept_last_good = true;
    report.downloaded_nothing = false;
    if (changed) {
        try {
            store.replace_catalog_records(p.id, merged, report.to_json());
        } catch (const std::exception& e) {
            report.failures.push_back(e.what());
            ++report.failed;
            report.kept_last_good = true;
        }
    }
    return finish();
}

}  // namespace ideo::catalog
