// One catalogue partner harvested: page through its protocol, normalise, compare with what the
// store holds for it, write what changed in one transaction. Incremental: each answer page's
// validators, SHA-256 and the remote ids it listed are kept (ideo_harvest_state), so a page that
// answers 304 or the same bytes again is not parsed, and its records count as unchanged.
#include "ideo/harvest/catalogue.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdlib>
#include <map>
#include <set>

#include "ideo/catalog/parse.hpp"
#include "ideo/catalog/rules.hpp"
#include "ideo/core/sha256.hpp"
#include "ideo/core/text.hpp"
#include "ideo/core/url.hpp"
#include "ideo/harvest/pager.hpp"

namespace ideo::harvest {
namespace {

using catalog::ParseError;
using catalog::ParseResult;
using catalog::Paging;
using catalog::Record;

namespace fs = std::filesystem;

std::string option(const PartnerSpec& p, const std::string& key, const std::string& fallback = {}) {
    const auto it = p.options.find(key);
    return it == p.options.end() || it->second.empty() ? fallback : it->second;
}

// layers/catalog/themes.json beside the partner's spec (layers/partners/x.json), or the `rules` option.
fs::path rules_file(const PartnerSpec& p) {
    if (auto r = option(p, "rules"); !r.empty()) return r;
    if (!p.file.empty()) return p.file.parent_path().parent_path() / "catalog" / "themes.json";
    if (const char* env = std::getenv("IDEO_LAYERS")) return fs::path(env) / "catalog" / "themes.json";
    return fs::path("layers") / "catalog" / "themes.json";
}

std::string csw_post_body(const PartnerSpec& p, std::size_t start, std::size_t max) {
    const std::string schema = option(p, "outputSchema", "http://www.isotc211.org/2005/gmd");
    const std::string type = option(p, "typeNames", schema.find("isotc211") != std::string::npos ? "gmd:MD_Metadata" : "csw:Record");
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<csw:GetRecords xmlns:csw=\"http://www.opengis.net/cat/csw/2.0.2\" xmlns:gmd=\"http://www.isotc211.org/2005/gmd\" "
           "service=\"CSW\" version=\"2.0.2\" resultType=\"results\" startPosition=\"" + std::to_string(start) +
           "\" maxRecords=\"" + std::to_string(max) + "\" outputSchema=\"" + schema + "\">\n"
           "  <csw:Query typeNames=\"" + type + "\"><csw:ElementSetName>full</csw:ElementSetName></csw:Query>\n"
           "</csw:GetRecords>\n";
}

// What the harvest notes of an answer page besides its validators (ResourceState::detail): the remote ids
// it brought and its paging, so an unchanged page is neither parsed again nor lost for withdrawal.
struct PageMemo {
    std::vector<std::string> ids;
    Paging paging;
};

std::string memo_json(const PageMemo& m) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    const auto number = [&](const char* key, const std::optional<std::size_t>& v) {
        if (!v) return;
        w.Key(key);
        w.Uint64(*v);
    };
    w.StartObject();
    w.Key("ids");
    w.StartArray();
    for (const auto& id : m.ids) w.String(id.c_str(), static_cast<rapidjson::SizeType>(id.size()));
    w.EndArray();
    number("matched", m.paging.matched);
    number("returned", m.paging.returned);
    number("next_record", m.paging.next_record);
    w.Key("next_url");
    w.String(m.paging.next_url.c_str(), static_cast<rapidjson::SizeType>(m.paging.next_url.size()));
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

// nullopt for a state written by something else (a geodata resource, an older harvester): the page is read anew.
std::optional<PageMemo> read_memo(const std::string& json) {
    rapidjson::Document d;
    d.Parse(json.c_str(), json.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("ids") || !d["ids"].IsArray()) return std::nullopt;
    PageMemo m;
    for (const auto& id : d["ids"].GetArray()) {
        if (!id.IsString()) return std::nullopt;
        m.ids.emplace_back(id.GetString(), id.GetStringLength());
    }
    const auto number = [&](const char* key) -> std::optional<std::size_t> {
        const auto it = d.FindMember(key);
        return it != d.MemberEnd() && it->value.IsUint64() ? std::optional<std::size_t>(it->value.GetUint64()) : std::nullopt;
    };
    m.paging.matched = number("matched");
    m.paging.returned = number("returned");
    m.paging.next_record = number("next_record");
    if (const auto it = d.FindMember("next_url"); it != d.MemberEnd() && it->value.IsString())
        m.paging.next_url.assign(it->value.GetString(), it->value.GetStringLength());
    return m;
}

// The key of an answer page in the harvest state: its URL, and for a POST the digest of what was posted.
std::string page_key(const HttpRequest& req) {
    if (req.method == "GET") return req.url;
    return req.method + " " + req.url + " " + sha256_hex(req.body).substr(0, 16);
}

// SHA-256 of an answer page, less a CSW SearchStatus timestamp: many servers stamp it with the time of
// the answer, which says nothing of the records.
std::string page_hash(std::string_view body) {
    const auto status = body.substr(0, 4096).find("SearchStatus ");
    const auto stamp = status == std::string_view::npos ? status : body.find("timestamp=\"", status);
    const auto end = stamp == std::string_view::npos || stamp > status + 200 ? std::string_view::npos : body.find('"', stamp + 11);
    if (end == std::string_view::npos) return sha256_hex(body);
    Sha256 h;
    h.update(body.substr(0, stamp));
    h.update(body.substr(end));
    return h.hex();
}

using Parser = std::function<ParseResult(const HttpResponse&)>;

struct Gather {
    const PartnerSpec& p;
    HttpClient& client;
    PartnerReport& report;
    const std::map<std::string, store::CatalogEntry>& previous;  // the store's records of the partner, by remote id
    std::map<std::string, store::ResourceState> known;          // the pages' states of the last harvest, by key
    std::vector<Record> records;          // parsed from pages that changed
    std::vector<std::string> unchanged;   // remote ids listed by pages that did not
    std::set<std::string> seen;
    std::vector<store::ResourceState> pages;  // this harvest's page states
    bool complete = true;

    // Whether the store holds, listed, every record an unchanged page listed: then the page need not be parsed.
    bool vouched(const PageMemo& m) const {
        for (const auto& id : m.ids) {
            const auto it = previous.find(id);
            if (it == previous.end() || it->second.withdrawn) return false;
        }
        return true;
    }

    Paging keep(store::ResourceState state, PageMemo memo) {
        for (auto& id : memo.ids)
            if (seen.insert(id).second) unchanged.push_back(std::move(id));
        ++report.pages_unchanged;
        state.checked_at.clear();
        pages.push_back(std::move(state));
        return memo.paging;
    }

    // One page: taken as unchanged (304, or the same SHA-256), or parsed; or the failure reported and the paging stopped.
    std::optional<Paging> page(const HttpRequest& request, const Parser& parse) {
        const std::string what = request.method + " " + request.url;
        store::ResourceState state{p.id, page_key(request), "", "", "", 0, "", ""};
        try {
            const auto last = known.find(state.resource);
            std::optional<PageMemo> memo;
            if (last != known.end() && !last->second.content_hash.empty()) memo = read_memo(last->second.detail);
            HttpRequest req = request;
            if (memo) {
                // If-None-Match is the exact test; a server that has both answers on it (RFC 9110, 13.2.2).
                if (!last->second.etag.empty()) req.headers.emplace_back("If-None-Match", last->second.etag);
                if (!last->second.last_modified.empty()) req.headers.emplace_back("If-Modified-Since", last->second.last_modified);
            }
            HttpResponse res = client.fetch(req);
            ++report.pages;
            if (res.status == 304) {
                if (!memo) throw FetchError(what + ": 304 Not Modified to a request that sent no validator");
                if (vouched(*memo)) return keep(last->second, std::move(*memo));
                res = client.fetch(request);  // the store lacks a record the page listed: read the page whole
            }
            if (const auto* e = res.header("etag")) state.etag = *e;
            if (const auto* lm = res.header("last-modified")) state.last_modified = *lm;
            state.content_hash = page_hash(res.body);
            if (memo && state.content_hash == last->second.content_hash && vouched(*memo)) {
                state.records = last->second.records;
                state.detail = last->second.detail;
                return keep(std::move(state), std::move(*memo));
            }
            ParseResult r = parse(res);
            PageMemo m{{}, r.paging};
            // A page with a failed record, or a record an earlier page listed too, is parsed at every harvest:
            // its failures are reported again, and the copy that counts is decided again.
            bool reusable = r.failures.empty();
            for (const auto& f : r.failures) {
                ++report.failed;
                report.failures.push_back(what + ": " + f.to_string());
            }
            for (auto& rec : r.records) {
                if (!seen.insert(rec.remote_id).second) {
                    reusable = false;
                    continue;
                }
                m.ids.push_back(rec.remote_id);
                records.push_back(std::move(rec));
            }
            if (reusable) {
                state.records = m.ids.size();
                state.detail = memo_json(m);
            } else {
                state.content_hash.clear();
            }
            pages.push_back(std::move(state));
            return r.paging;
        } catch (const FetchError& e) {
            report.failures.push_back(e.what());
        } catch (const ParseError& e) {
            report.failures.push_back(what + ": parse error: " + e.what());
        } catch (const std::exception& e) {
            report.failures.push_back(what + ": " + e.what());
        }
        ++report.failed;
        complete = false;
        pages.push_back({p.id, state.resource, "", "", "", 0, "", ""});  // what it vouched for is no longer known
        return std::nullopt;
    }

    // Whether this harvest's page states differ from the stored ones (an unchanged run writes nothing).
    bool pages_changed() const {
        std::set<std::string> keys;
        for (const auto& s : pages) {
            keys.insert(s.resource);
            const auto it = known.find(s.resource);
            if (it == known.end() || it->second.etag != s.etag || it->second.last_modified != s.last_modified ||
                it->second.content_hash != s.content_hash || it->second.detail != s.detail)
                return true;
        }
        if (complete)
            for (const auto& [key, state] : known)
                if (!keys.count(key)) return true;
        return false;
    }

    static HttpRequest get(std::string url) {
        HttpRequest r;
        r.url = std::move(url);
        return r;
    }

    // Pages through with the one pager; a paging that loops or never ends fails the partner like a page would.
    void run(PagingScheme scheme, const Parser& parse) {
        try {
            page_through(scheme, [&](const HttpRequest& req, std::string&) -> std::optional<PageInfo> {
                const auto r = page(req, parse);
                if (!r) return std::nullopt;
                return PageInfo{r->matched, r->returned.value_or(0), r->next_record, r->next_url};
            });
        } catch (const FetchError& e) {
            report.failures.push_back(e.what());
            ++report.failed;
            complete = false;
        }
    }

    PagingScheme offset(std::string base, const char* size_param, const char* offset_param) const {
        PagingScheme s;
        s.page_size = static_cast<std::size_t>(p.page_size);
        s.at = [base, size_param, offset_param, size = s.page_size](std::size_t start) {
            return get(url::with_params(base, {{size_param, std::to_string(size)}, {offset_param, std::to_string(start)}}));
        };
        return s;
    }

    PagingScheme links(std::string first) const {
        PagingScheme s;
        s.kind = PagingScheme::Kind::Link;
        s.first_url = std::move(first);
        s.link = [](const std::string& u) { return get(u); };
        return s;
    }

    void csw() {
        const bool post = option(p, "method") == "POST" || option(p, "method") == "post";
        const std::string schema = option(p, "outputSchema", "http://www.isotc211.org/2005/gmd");
        const std::string type = option(p, "typeNames", schema.find("isotc211") != std::string::npos ? "gmd:MD_Metadata" : "csw:Record");
        PagingScheme s;
        s.kind = PagingScheme::Kind::Position;
        s.page_size = static_cast<std::size_t>(p.page_size);
        s.at = [&](std::size_t start) {
            HttpRequest req;
            if (post) {
                req.method = "POST";
                req.url = p.url;
                req.headers.emplace_back("Content-Type", "application/xml");
                req.body = csw_post_body(p, start, static_cast<std::size_t>(p.page_size));
                return req;
            }
            std::vector<std::pair<std::string, std::string>> q = {
                {"service", "CSW"}, {"version", "2.0.2"}, {"request", "GetRecords"}, {"typeNames", type},
                {"resultType", "results"}, {"elementSetName", "full"}, {"outputSchema", schema},
                {"startPosition", std::to_string(start)}, {"maxRecords", std::to_string(p.page_size)}};
            if (auto c = option(p, "constraint"); !c.empty()) {
                q.emplace_back("constraintLanguage", "CQL_TEXT");
                q.emplace_back("constraint_language_version", "1.1.0");
                q.emplace_back("constraint", c);
            }
            return get(url::with_params(p.url, q));
        };
        run(s, [](const HttpResponse& res) { return catalog::parse_csw(res.body); });
    }

    void ckan() {
        std::string base = p.url;
        if (base.find("/api/3/action/") == std::string::npos) base = resolve_base(base) + "api/3/action/package_search";
        run(offset(base, "rows", "start"), [](const HttpResponse& res) { return catalog::parse_ckan(res.body); });
    }

    void udata() {
        std::string first = p.url;
        if (first.find("/api/1/datasets") == std::string::npos) first = resolve_base(first) + "api/1/datasets/";
        run(links(url::with_params(first, {{"page_size", std::to_string(p.page_size)}})),
            [](const HttpResponse& res) { return catalog::parse_udata(res.body); });
    }

    void dcat() {
        run(links(p.url), [](const HttpResponse& res) {
            const std::string* ct = res.header("content-type");
            return catalog::parse_dcat(res.body, catalog::sniff_rdf_syntax(ct ? *ct : "", res.body), res.final_url);
        });
    }

    void ods() {
        if (option(p, "format") == "dcat" || p.url.find("/exports/dcat") != std::string::npos) {
            dcat();
            return;
        }
        std::string base = p.url;
        if (base.find("/catalog/datasets") == std::string::npos) base = resolve_base(base) + "api/explore/v2.1/catalog/datasets";
        run(offset(base, "limit", "offset"), [](const HttpResponse& res) { return catalog::parse_ods(res.body); });
    }

    static std::string resolve_base(std::string url) {
        if (url.empty() || url.back() != '/') url += '/';
        return url;
    }
};

}  // namespace

PartnerReport harvest_catalogue_partner(const PartnerSpec& p, HttpClient& client, store::Store& store) {
    PartnerReport report;
    report.partner = p.id;
    report.protocol = p.protocol;
    report.started_at = text::now_iso8601();
    const auto finish = [&] {
        report.finished_at = text::now_iso8601();
        return report;
    };

    catalog::CatalogRules rules;
    try {
        rules = catalog::load_catalog_rules(rules_file(p));
    } catch (const std::exception& e) {
        report.failures.push_back(e.what());
        ++report.failed;
        report.kept_last_good = true;
        return finish();
    }

    // What the comparison needs of the stored records (ids, hashes, dates), not their documents.
    std::map<std::string, store::CatalogEntry> previous;
    Gather g{p, client, report, previous, {}, {}, {}, {}, {}};
    try {
        for (auto& e : store.catalog_entries(p.id)) previous.emplace(e.remote_id, std::move(e));
        for (auto& s : store.resource_states(p.id)) g.known.emplace(s.resource, std::move(s));
    } catch (const std::exception& e) {
        report.failures.push_back(e.what());
        ++report.failed;
        report.kept_last_good = true;
        return finish();
    }

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
    store::CatalogUpdate update;
    for (auto& r : g.records) {
        r.partner = p.id;
        r.id = p.id + ":" + r.remote_id;
        r.harvested_at = now;
        catalog::classify(r, rules);
        r.content_hash = catalog::content_hash(r);
        const auto it = previous.find(r.remote_id);
        if (it == previous.end() || it->second.withdrawn) {
            ++report.added;
            update.upserts.push_back(std::move(r));
        } else if (it->second.content_hash == r.content_hash ||
                   (!r.modified.empty() && !it->second.modified.empty() && r.modified < it->second.modified)) {
            ++report.unchanged;  // same content, or an older copy than the one kept (a lagging mirror): keep what we have
        } else {
            ++report.updated;
            update.upserts.push_back(std::move(r));
        }
    }
    report.unchanged += g.unchanged.size();
    // Gone from the partner: withdrawn only after a complete paging, else kept as last harvested.
    if (g.complete && p.withdraw_missing)
        for (const auto& [remote_id, e] : previous)
            if (!e.withdrawn && !g.seen.count(remote_id)) {
                update.withdrawn.push_back(e.id);
                ++report.withdrawn;
            }
    update.withdrawn_at = now;
    update.save_pages = g.pages_changed();
    update.pages = std::move(g.pages);
    update.pages_complete = g.complete;
    if (!g.complete) report.kept_last_good = true;
    report.downloaded_nothing = g.complete && report.pages > 0 && report.pages_unchanged == report.pages;
    try {
        store.update_catalog(p.id, update, report.to_json());
    } catch (const std::exception& e) {
        report.failures.push_back(e.what());
        ++report.failed;
        report.kept_last_good = true;
    }
    return finish();
}

}  // namespace ideo::harvest
