// Real catalogue answers on the partner simulator: cut into records with libxml2 (CSW) or RapidJSON
// (CKAN, udata), then paged by catalog_partners' engine; recorded pages chosen by position;
// udata's recorded exchanges replayed.
#include "recorded_partners.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>

namespace ideo::test {
namespace {

namespace fs = std::filesystem;

// Recorded answers carry no per-record dates the simulator could use: every record dates from the recording.
constexpr std::time_t kRecorded = 1753866000;  // 2025-07-30T09:00:00Z, the day udata recorded its harvests
constexpr const char* kRecordedIso = "2025-07-30T09:00:00";
constexpr const char* kRecordedHttp = "Wed, 30 Jul 2025 09:00:00 GMT";
// Paging parameters of every protocol: the harvester sends its own, the replay does not ask for udata's.
const std::set<std::string> kPagingParams = {"rows", "start", "limit", "offset", "page", "page_size",
                                             "startposition", "maxrecords", "maxposition"};

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::map<std::string, std::string> without_paging(const std::map<std::string, std::string>& params) {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : params)
        if (!kPagingParams.count(lower(k))) out.emplace(k, v);
    return out;
}

std::string json_text(const rapidjson::Value& v) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    v.Accept(w);
    return {sb.GetString(), sb.GetSize()};
}

rapidjson::Document parse_json(const std::string& text, const std::string& what) {
    rapidjson::Document d;
    d.Parse(text.c_str(), text.size());
    if (d.HasParseError()) throw std::runtime_error("recorded partners: " + what + ": invalid JSON");
    return d;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    if (from.empty()) return;
    for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
}

// attr="123" in the text becomes attr="{{placeholder}}".
void placeholder_attribute(std::string& text, const std::string& attr, const std::string& placeholder) {
    const auto at = text.find(attr + "=\"");
    if (at == std::string::npos) return;
    const auto begin = at + attr.size() + 2, end = text.find('"', begin);
    text.replace(begin, end - begin, "{{" + placeholder + "}}");
}

void stamp_recorded(PagedCatalogue& c) {
    c.modified.assign(c.docs.size(), kRecorded);
    c.timestamp = kRecordedIso;
}

// "https://host/path?query" -> path, query (the host is the partner's, replaced by the simulator).
std::pair<std::string, std::string> split_url(const std::string& url) {
    const auto scheme = url.find("://");
    const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    const std::string rest = slash == std::string::npos ? "/" : url.substr(slash);
    const auto q = rest.find('?');
    return {rest.substr(0, q), q == std::string::npos ? "" : rest.substr(q + 1)};
}

std::string host_of(const std::string& url) {
    const auto scheme = url.find("://");
    const auto begin = scheme == std::string::npos ? 0 : scheme + 3;
    return url.substr(begin, url.find('/', begin) - begin);
}

std::string header(const rapidjson::Value& headers, const std::string& name) {
    for (const auto& h : headers.GetObject())
        if (lower(h.name.GetString()) == name && h.value.IsString()) return h.value.GetString();
    return {};
}

bool is_csw_answer(const std::string& body) { return body.find("GetRecordsResponse") != std::string::npos; }

// A recorded exchange answered again: same method, same query parameters.
bool same_request(const RecordedExchange& e, const SimRequest& r) { return e.method == r.method && e.params == r.params; }

SimResponse recorded_answer(const RecordedExchange& e) { return {e.status, e.content_type, {}, e.body}; }

}  // namespace

PagedCatalogue cut_csw_answer(const std::string& xml) {
    std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc(
        xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, XML_PARSE_NONET | XML_PARSE_HUGE),
        xmlFreeDoc);
    if (!doc) throw std::runtime_error("recorded partners: a CSW answer is not XML");
    xmlNode* results = nullptr;
    for (xmlNode* n = xmlDocGetRootElement(doc.get())->children; n && !results; n = n->next)
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "SearchResults")) results = n;
    if (!results) throw std::runtime_error("recorded partners: a CSW answer without csw:SearchResults");

    PagedCatalogue c;
    c.paging = "csw";
    c.content_type = "application/xml";
    c.schema = "http://www.isotc211.org/2005/gmd";
    c.separator = "\n";
    for (xmlNode* n = results->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        std::unique_ptr<xmlBuffer, decltype(&xmlBufferFree)> buf(xmlBufferCreate(), xmlBufferFree);
        xmlNodeDump(buf.get(), doc.get(), n, 0, 0);
        c.docs.emplace_back(reinterpret_cast<const char*>(xmlBufferContent(buf.get())), xmlBufferLength(buf.get()));
        if (n->ns && xmlStrEqual(n->ns->href, BAD_CAST "http://www.opengis.net/cat/csw/2.0.2"))
            c.schema = "http://www.opengis.net/cat/csw/2.0.2";  // csw:Record: Dublin Core
    }
    // The envelope as recorded, bytes included: the text up to SearchResults' start tag and from its end tag.
    const std::string qname = results->ns && results->ns->prefix
                                  ? std::string(reinterpret_cast<const char*>(results->ns->prefix)) + ":SearchResults"
                                  : "SearchResults";
    const auto open = xml.find("<" + qname);
    const auto head_end = xml.find('>', open);
    const auto close = xml.rfind("</" + qname);
    if (open == std::string::npos || head_end == std::string::npos || close == std::string::npos || xml[head_end - 1] == '/')
        throw std::runtime_error("recorded partners: cannot find the bounds of " + qname);
    c.head = xml.substr(0, head_end + 1) + "\n";
    for (const auto& [attr, placeholder] : {std::pair{"numberOfRecordsMatched", "matched"},
                                            std::pair{"numberOfRecordsReturned", "returned"},
                                            std::pair{"nextRecord", "next_record"}})
        placeholder_attribute(c.head, attr, placeholder);
    c.tail = "\n" + xml.substr(close);
    stamp_recorded(c);
    return c;
}

PagedCatalogue cut_json_answer(const std::string& json, const std::string& records_pointer,
                               const std::string& count_pointer) {
    auto d = parse_json(json, records_pointer);
    auto* records = rapidjson::Pointer(records_pointer.c_str()).Get(d);
    if (!records || !records->IsArray()) throw std::runtime_error("recorded partners: no array at " + records_pointer);
    PagedCatalogue c;
    c.content_type = "application/json";
    c.separator = ",";
    for (const auto& r : records->GetArray()) c.docs.push_back(json_text(r));
    // Sentinels where the records and the count go, then the envelope written once and cut at them.
    records->SetString("@@RECORDS@@");
    if (auto* count = rapidjson::Pointer(count_pointer.c_str()).Get(d)) count->SetString("@@COUNT@@");
    std::string envelope = json_text(d);
    replace_all(envelope, "\"@@COUNT@@\"", "{{matched}}");
    const auto at = envelope.find("\"@@RECORDS@@\"");
    c.head = envelope.substr(0, at) + "[";
    c.tail = "]" + envelope.substr(at + 13);
    stamp_recorded(c);
    return c;
}

void serve_recorded_pages(PartnerSimulator& sim, const RecordedPages& recorded) {
    auto pages = std::make_shared<std::map<std::size_t, std::string>>(recorded.pages);
    for (auto& [position, body] : *pages) replace_all(body, recorded.recorded_base, sim.url(recorded.path));
    sim.route(recorded.path, [pages, recorded](const SimRequest& r) {
        if (r.path != recorded.path) return SimResponse{404, "application/json", {}, "{\"message\":\"Not Found\"}"};
        const std::string asked =
            recorded.position == "startPosition" ? csw_request_value(r, "startPosition") : r.param(recorded.position);
        const auto it = pages->find(asked.empty() ? 1 : std::strtoul(asked.c_str(), nullptr, 10));
        if (it == pages->end())
            return SimResponse{400, "text/plain", {}, recorded.position + "=" + asked + ": no page recorded there"};
        return PartnerSimulator::conditional(r, it->second, recorded.content_type, recorded.last_modified);
    });
}

RecordedHarvest load_recorded_harvest(const fs::path& snapshot, const std::string& prefix) {
    const std::string text = slurp(snapshot);
    const auto d = parse_json(text, snapshot.string());
    if (!d.IsObject() || !d.HasMember("requests_history") || !d["requests_history"].IsArray())
        throw std::runtime_error("recorded partners: " + snapshot.string() + ": no requests_history");
    RecordedHarvest h;
    std::string partner_host;
    bool listed = false;
    for (const auto& e : d["requests_history"].GetArray()) {
        const auto& req = e["request"];
        const auto& res = e["response"];
        const std::string url = req["url"].GetString();
        if (partner_host.empty()) partner_host = host_of(url);
        if (host_of(url) != partner_host) continue;  // udata's own fetches elsewhere (the GeoDCAT XSL)
        RecordedExchange x;
        x.method = req["method"].GetString();
        auto [path, query] = split_url(url);
        x.path = prefix + path;
        x.params = SimRequest::parse_query(query);
        x.status = res["status_code"].GetInt();
        x.content_type = header(res["headers"], "content-type");
        x.body = res["body"].IsString() ? res["body"].GetString() : "";
        const bool listing = x.method != "HEAD" && x.status == 200 &&
                             (is_csw_answer(x.body) || x.body.find("\"results\"") != std::string::npos ||
                              x.content_type.find("rdf") != std::string::npos || x.content_type.find("turtle") != std::string::npos);
        if (!listing) {
            h.others.push_back(std::move(x));
            continue;
        }
        if (listed) {  // udata asked the same page again: one listing, answered as often as asked
            if (x.path != h.listing_request.path || without_paging(x.params) != h.listing_request.params ||
                x.method != h.listing_request.method)
                throw std::runtime_error("recorded partners: " + snapshot.string() + ": a second listing page is not replayed yet");
            continue;
        }
        listed = true;
        if (is_csw_answer(x.body)) {
            h.listing = cut_csw_answer(x.body);
            h.protocol = "csw";
            if (x.method == "POST") h.options["method"] = "POST";
            SimRequest asked;
            asked.method = x.method;
            asked.params = x.params;
            asked.body = req["body"].IsString() ? req["body"].GetString() : "";
            if (auto schema = csw_request_value(asked, "outputSchema"); !schema.empty()) h.listing.schema = schema;
        } else if (x.body.find("\"results\"") != std::string::npos) {
            h.listing = cut_json_answer(x.body, "/result/results", "/result/count");
            h.listing.paging = "ckan";
            h.listing.max_page = 1000;  // CKAN's default limit of rows
            h.protocol = "ckan";
        } else {  // an RDF export: one document, no paging (OpenDataSoft's v2.1 DCAT export)
            h.listing.paging = "single";
            h.listing.docs = {x.body};
            stamp_recorded(h.listing);
            h.protocol = path.find("/api/explore/") != std::string::npos ? "ods" : "dcat";
        }
        h.listing.id = snapshot.stem().string();
        h.listing.path = x.path;
        h.listing.content_type = x.content_type.empty() ? h.listing.content_type : x.content_type;
        std::string kept;  // the recorded query, encoded as recorded, less its paging
        std::stringstream ss(query);
        for (std::string kv; std::getline(ss, kv, '&');)
            if (!kv.empty() && !kPagingParams.count(lower(kv.substr(0, kv.find('='))))) kept += (kept.empty() ? "" : "&") + kv;
        h.target = x.path + (kept.empty() ? "" : "?" + kept);
        h.listing_request = {x.method, x.path, without_paging(x.params), x.status, x.content_type, {}};
    }
    if (!listed) throw std::runtime_error("recorded partners: " + snapshot.string() + ": no listing answer recorded");
    for (const auto& ds : d["datasets"].GetArray()) h.titles.push_back(ds["title"].GetString());
    return h;
}

void serve_recorded_harvest(PartnerSimulator& sim, const RecordedHarvest& h) {
    auto others = std::make_shared<const std::vector<RecordedExchange>>(h.others);
    auto listing = paged_catalogue_handler(std::make_shared<const PagedCatalogue>(h.listing));
    std::set<std::string> paths = {h.listing.path};
    for (const auto& x : h.others) paths.insert(x.path);
    for (const auto& path : paths)
        sim.route(path, [path, others, listing, asked = h.listing_request](const SimRequest& r) {
            for (const auto& x : *others)
                if (x.path == r.path && same_request(x, r)) return recorded_answer(x);
            if (r.path != asked.path || r.method != asked.method)
                return SimResponse{404, "text/plain", {}, r.method + " " + r.target + ": not in the recorded harvest"};
            // The selection udata asked for (a CKAN organisation, an ODS publisher) must be asked again.
            for (const auto& [k, v] : asked.params)
                if (r.param(k) != v)
                    return SimResponse{400, "text/plain", {}, k + "=" + r.param(k) + ": the recorded harvest asked " + k + "=" + v};
            return listing(r);
        });
}

PagedCatalogue udata_datasets(const std::vector<fs::path>& snapshots, const std::string& path) {
    PagedCatalogue c;
    c.id = "udata";
    c.path = path;
    c.paging = "udata";
    c.content_type = "application/json";
    c.default_page = 20;  // udata's page_size when none is asked
    c.max_page = 100;
    c.separator = ",";
    c.head = "{\"data\":[";
    c.tail = "],\"next_page\":{{next_url_json}},\"page\":{{page}},\"page_size\":{{page_size}},"
             "\"previous_page\":{{prev_url_json}},\"total\":{{matched}}}";
    for (const auto& s : snapshots) {
        const auto d = parse_json(slurp(s), s.string());
        for (const auto& ds : d["datasets"].GetArray()) c.docs.push_back(json_text(ds));
    }
    stamp_recorded(c);
    return c;
}

std::vector<DemoPartner> serve_demo_partners(PartnerSimulator& sim, const fs::path& catalog) {
    std::vector<DemoPartner> out;
    const auto read = [&](const std::string& relative) { return slurp(catalog / relative); };

    for (const auto& [id, name, file] : {std::tuple{"geoide-ddt24", "DDT de la Dordogne (Géo-IDE, CSW GetRecords POST)", "csw-geoide-ddt24.json"},
                                         std::tuple{"datasud", "DataSud, région Sud (CKAN)", "ckan-datasud.json"},
                                         std::tuple{"capatlantique", "Cap Atlantique (OpenDataSoft, export DCAT)", "dcat-ods-capatlantique.json"}}) {
        const auto h = load_recorded_harvest(catalog / "udata_snapshots" / file, std::string("/") + id);
        serve_recorded_harvest(sim, h);
        out.push_back({id, name, h.protocol, h.target, h.options});
    }

    // GeoNetwork's recorded GetRecords pages (positions 1, 3 and 5), in ISO 19139 and, from GeoNetwork 4, in DCAT.
    for (const auto& [id, name, stem, schema] :
         {std::tuple{"geonetwork", "GeoNetwork (CSW, ISO 19139)", "udata_geonetwork-iso19139-page-", "http://www.isotc211.org/2005/gmd"},
          std::tuple{"geonetwork4", "GeoNetwork 4 (CSW, DCAT)", "udata_geonetworkv4-page-", "http://www.w3.org/ns/dcat#"}}) {
        RecordedPages pages{std::string("/") + id + "/srv/fre/csw", "startPosition", "application/xml", {}, ""};
        for (const std::size_t position : {1, 3, 5})
            pages.pages[position] = read("csw/" + std::string(stem) + std::to_string(position) + ".xml");
        serve_recorded_pages(sim, pages);
        out.push_back({id, name, "csw", pages.path, {{"outputSchema", schema}}});
    }

    // Single complete answers, paged again by the simulator: the Géoplateforme's ISO record of the RPG.
    auto rpg = std::make_shared<PagedCatalogue>(cut_csw_answer(read("csw/udata_geoplateforme-iso19139-IGNF_RPG.xml")));
    rpg->id = "ign-geoplateforme";
    rpg->path = "/ign-geoplateforme/csw";
    serve_paged_catalogue(sim, rpg);
    out.push_back({rpg->id, "IGN Géoplateforme (CSW, ISO 19139)", "csw", rpg->path, {}});

    // udata's DCAT catalogue in JSON-LD, two Hydra pages linking to each other.
    RecordedPages hydra{"/udata-dcat/catalog.jsonld", "page", "application/ld+json", {}, "http://data.test.org/catalog.jsonld"};
    for (const std::size_t page : {1, 2})
        hydra.pages[page] = read("dcat/udata_paged-collection-" + std::to_string(page) + ".jsonld");
    serve_recorded_pages(sim, hydra);
    out.push_back({"udata-dcat", "udata (DCAT JSON-LD, Hydra pages)", "dcat", hydra.path, {}});

    // DCAT documents without paging: ckanext-dcat's RDF/XML, DATARA's GeoNetwork GeoDCAT-AP. (The corpus's
    // one Turtle file, ckanext-dcat's dataset.ttl, uses a prefix it never declares: Raptor rightly refuses it.)
    for (const auto& [id, name, file, type] :
         {std::tuple{"ckan-dcat", "CKAN (ckanext-dcat, RDF/XML)", "dcat/catalog.rdf", "application/rdf+xml"},
          std::tuple{"datara", "DATARA (GeoNetwork, GeoDCAT-AP RDF/XML)", "dcat/udata_datara--5a26b0f6-0ccf-46ad-ac58-734054b91977.rdf.xml",
                     "application/rdf+xml"}}) {
        const std::string path = std::string("/") + id + "/" + fs::path(file).filename().string();
        sim.serve_bytes(path, read(file), type, kRecordedHttp);
        out.push_back({id, name, "dcat", path, {}});
    }
    return out;
}

void write_demo_partner_files(const PartnerSimulator& sim, const std::vector<DemoPartner>& partners, const fs::path& dir) {
    fs::create_directories(dir);
    for (const auto& p : partners) {
        rapidjson::Document d(rapidjson::kObjectType);
        auto& a = d.GetAllocator();
        const std::string url = sim.url(p.target);
        d.AddMember("id", rapidjson::Value(p.id.c_str(), a), a);
        d.AddMember("name", rapidjson::Value(p.name.c_str(), a), a);
        d.AddMember("protocol", rapidjson::Value(p.protocol.c_str(), a), a);
        d.AddMember("url", rapidjson::Value(url.c_str(), a), a);
        // Their distributions point at the real partners' hosts, out of reach of an offline demo.
        d.AddMember("import_linked", false, a);
        rapidjson::Value options(rapidjson::kObjectType);
        for (const auto& [k, v] : p.options) options.AddMember(rapidjson::Value(k.c_str(), a), rapidjson::Value(v.c_str(), a), a);
        d.AddMember("options", options, a);
        std::ofstream f(dir / (p.id + ".json"), std::ios::binary);
        f << json_text(d) << "\n";
        if (!f) throw std::runtime_error("recorded partners: cannot write " + (dir / (p.id + ".json")).string());
    }
}

}  // namespace ideo::test
