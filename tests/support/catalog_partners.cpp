// Generated catalogue partners on the partner simulator: each partner's records held in memory as
// the documents the generator wrote, its answer pages assembled per request from the real
// envelope (head, records, tail) with the protocol's counts and paging links filled in.
#include "catalog_partners.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <iterator>
#include <stdexcept>

namespace ideo::test {
namespace {

namespace fs = std::filesystem;

using Partner = PagedCatalogue;

std::string member(const rapidjson::Value& o, const char* key, const fs::path& file) {
    const auto it = o.FindMember(key);
    if (it == o.MemberEnd() || !it->value.IsString())
        throw std::runtime_error("catalogue partners: " + file.string() + ": \"" + key + "\" must be a string");
    return {it->value.GetString(), it->value.GetStringLength()};
}

std::time_t parse_iso(const std::string& s) {
    std::tm tm{};
    if (!strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
    return timegm(&tm);
}

std::string format_time(std::time_t t, const char* format) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, format, &tm);
    return buf;
}

std::shared_ptr<const Partner> load_partner(const fs::path& dir) {
    auto p = std::make_shared<Partner>();
    const fs::path spec_file = dir / "sim.json";
    const std::string spec_text = slurp(spec_file);
    rapidjson::Document spec;
    spec.Parse(spec_text.c_str(), spec_text.size());
    if (spec.HasParseError() || !spec.IsObject())
        throw std::runtime_error("catalogue partners: " + spec_file.string() + ": not a JSON object");
    p->id = member(spec, "id", spec_file);
    p->path = member(spec, "path", spec_file);
    p->paging = member(spec, "paging", spec_file);
    p->content_type = member(spec, "content_type", spec_file);
    p->schema = member(spec, "schema", spec_file);
    p->head = member(spec, "head", spec_file);
    p->separator = member(spec, "separator", spec_file);
    p->tail = member(spec, "tail", spec_file);
    p->next = member(spec, "next", spec_file);
    p->lead = spec.HasMember("lead") && spec["lead"].IsBool() && spec["lead"].GetBool();
    if (spec.HasMember("max_page") && spec["max_page"].IsUint()) p->max_page = spec["max_page"].GetUint();
    if (spec.HasMember("default_page") && spec["default_page"].IsUint()) p->default_page = spec["default_page"].GetUint();

    std::ifstream in(dir / "records.jsonl", std::ios::binary);
    if (!in) throw std::runtime_error("catalogue partners: cannot read " + (dir / "records.jsonl").string());
    std::time_t latest = 0;
    std::size_t line_no = 0;
    for (std::string line; std::getline(in, line);) {
        ++line_no;
        if (line.empty()) continue;
        rapidjson::Document r;
        r.Parse(line.c_str(), line.size());
        if (r.HasParseError() || !r.IsObject())
            throw std::runtime_error("catalogue partners: " + (dir / "records.jsonl").string() + ": line " +
                                     std::to_string(line_no) + " is not a JSON object");
        p->docs.push_back(member(r, "doc", dir / "records.jsonl"));
        p->modified.push_back(parse_iso(member(r, "modified", dir / "records.jsonl")));
        latest = std::max(latest, p->modified.back());
    }
    p->timestamp = format_time(latest, "%Y-%m-%dT%H:%M:%S");
    return p;
}

std::size_t number(const std::string& name, const std::string& v, std::size_t fallback) {
    if (v.empty()) return fallback;
    if (!std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); }) || v.size() > 9)
        throw std::invalid_argument(name + " is not a whole number: " + v);
    return std::stoul(v);
}

// A GetRecords POST body's attribute (startPosition="11"), as a GET parameter would give it.
std::string body_attribute(const std::string& body, const std::string& name) {
    const std::string key = name + "=\"";
    const auto at = body.find(key);
    if (at == std::string::npos) return {};
    const auto end = body.find('"', at + key.size());
    return end == std::string::npos ? std::string() : body.substr(at + key.size(), end - at - key.size());
}

std::string xml_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '&') out += "&amp;";
        else if (c == '<') out += "&lt;";
        else if (c == '>') out += "&gt;";
        else out += c;
    }
    return out;
}

std::string json_string_or_null(const std::string& s) { return s.empty() ? "null" : "\"" + s + "\""; }

std::string fill(const std::string& text, const std::map<std::string, std::string>& values) {
    std::string out;
    out.reserve(text.size() + 128);
    for (std::size_t i = 0; i < text.size();) {
        const auto open = text.find("{{", i);
        if (open == std::string::npos) {
            out.append(text, i, std::string::npos);
            break;
        }
        const auto close = text.find("}}", open);
        out.append(text, i, open - i);
        if (close == std::string::npos) {
            out.append(text, open, std::string::npos);
            break;
        }
        const auto it = values.find(text.substr(open + 2, close - open - 2));
        out += it == values.end() ? text.substr(open, close + 2 - open) : it->second;
        i = close + 2;
    }
    return out;
}

SimResponse bad(const Partner& p, const std::string& why) {
    if (p.paging == "csw")
        return {400, "application/xml",
                {},
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ows:ExceptionReport xmlns:ows=\"http://www.opengis.net/ows\" "
                "version=\"1.2.0\"><ows:Exception exceptionCode=\"InvalidParameterValue\"><ows:ExceptionText>" +
                    xml_escape(why) + "</ows:ExceptionText></ows:Exception></ows:ExceptionReport>"};
    return {400, "application/json", {}, "{\"message\":\"" + why + "\"}"};
}

SimResponse answer(const Partner& p, const SimRequest& r) {
    if (r.path != p.path) return {404, "application/json", {}, "{\"message\":\"Not Found\"}"};
    const std::size_t total = p.docs.size();
    std::size_t offset = 0, count = total, page = 1, page_size = total ? total : 1;
    std::map<std::string, std::string> v;
    const std::string* host = r.header("host");
    const std::string base = "http://" + (host ? *host : std::string("127.0.0.1")) + p.path;
    const auto page_url = [&](std::size_t n, bool with_size) {
        return base + "?page=" + std::to_string(n) + (with_size ? "&page_size=" + std::to_string(page_size) : "");
    };
    const auto param = [&](const std::string& name, std::size_t fallback) { return number(name, r.param(name), fallback); };
    try {
        if (p.paging == "csw") {
            const std::string start = csw_request_value(r, "startPosition"), max = csw_request_value(r, "maxRecords"),
                              schema = csw_request_value(r, "outputSchema");
            if (r.method != "POST" && r.param("request") != "GetRecords") {
                return bad(p, "request: only GetRecords is served here, got '" + r.param("request") + "'");
            }
            if (!schema.empty() && schema != p.schema) return bad(p, "outputSchema " + schema + " is not served (" + p.schema + ")");
            offset = std::max<std::size_t>(number("startPosition", start, 1), 1) - 1;
            count = std::min(number("maxRecords", max, 10), p.max_page);
        } else if (p.paging == "ckan") {
            count = std::min(param("rows", 10), p.max_page);
            offset = param("start", 0);
        } else if (p.paging == "offset") {  // OpenDataSoft v2.1 refuses a limit above its maximum
            count = param("limit", 10);
            if (count > p.max_page) return bad(p, "limit must be at most " + std::to_string(p.max_page));
            offset = param("offset", 0);
        } else if (p.paging == "udata" || p.paging == "hydra") {
            page_size = std::max<std::size_t>(1, std::min(param("page_size", p.default_page), p.max_page));
            page = std::max<std::size_t>(param("page", 1), 1);
            count = page_size;
            offset = (page - 1) * page_size;
        }
    } catch (const std::invalid_argument& e) {
        return bad(p, e.what());
    }
    const std::size_t end = std::min(total, offset + count);
    const std::size_t returned = end > offset ? end - offset : 0;
    const bool more = end < total;
    const bool with_size = !r.param("page_size").empty();
    std::string next_url, prev_url;
    if (p.paging == "udata" || p.paging == "hydra") {
        if (more) next_url = page_url(page + 1, p.paging == "udata" || with_size);
        if (page > 1) prev_url = page_url(page - 1, p.paging == "udata" || with_size);
        const std::size_t last = std::max<std::size_t>(1, (total + page_size - 1) / page_size);
        v["self_url"] = page_url(page, with_size);
        v["first_url"] = page_url(1, with_size);
        v["last_url"] = page_url(last, with_size);
    } else {
        v["self_url"] = base + (r.query.empty() ? "" : "?" + r.query);
        v["first_url"] = v["last_url"] = v["self_url"];
    }
    v["next_url"] = next_url;
    v["prev_url"] = prev_url;
    for (const char* k : {"self_url", "first_url", "last_url", "next_url", "prev_url"}) {
        v[std::string(k) + "_xml"] = xml_escape(v[k]);
        v[std::string(k) + "_json"] = json_string_or_null(v[k]);
    }
    v["matched"] = std::to_string(total);
    v["returned"] = std::to_string(returned);
    v["next_record"] = std::to_string(more ? end + 1 : 0);
    v["page"] = std::to_string(page);
    v["page_size"] = std::to_string(page_size);
    v["timestamp"] = p.timestamp;

    std::time_t latest = 0;
    std::size_t size = p.head.size() + p.tail.size() + 1024;
    for (std::size_t i = offset; i < end; ++i) {
        size += p.docs[i].size() + p.separator.size();
        latest = std::max(latest, p.modified[i]);
    }
    std::string body;
    body.reserve(size);
    body += fill(p.head, v);
    for (std::size_t i = offset; i < end; ++i) {
        if (p.lead || i > offset) body += p.separator;
        body += p.docs[i];
    }
    std::string tail = p.tail;
    if (const auto at = tail.find("{{next}}"); at != std::string::npos) tail.replace(at, 8, more ? p.next : "");
    body += fill(tail, v);
    if (!latest) latest = parse_iso(p.timestamp);
    return PartnerSimulator::conditional(r, std::move(body), p.content_type, format_time(latest, "%a, %d %b %Y %H:%M:%S GMT"));
}

std::vector<fs::path> partner_dirs(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir / "partners"))
        if (e.is_directory()) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("catalogue partners: cannot read " + p.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

SimHandler paged_catalogue_handler(std::shared_ptr<const PagedCatalogue> catalogue) {
    return [p = std::move(catalogue)](const SimRequest& r) { return answer(*p, r); };
}

void serve_paged_catalogue(PartnerSimulator& sim, std::shared_ptr<const PagedCatalogue> catalogue) {
    const std::string path = catalogue->path;
    sim.route(path, paged_catalogue_handler(std::move(catalogue)));
}

std::string csw_request_value(const SimRequest& r, const std::string& name) {
    return r.method == "POST" ? body_attribute(r.body, name) : r.param(name);
}

std::vector<ServedPartner> serve_catalogue_partners(PartnerSimulator& sim, const fs::path& dir) {
    std::vector<ServedPartner> out;
    for (const auto& d : partner_dirs(dir)) {
        std::shared_ptr<const Partner> p = load_partner(d);
        out.push_back({p->id, p->path, p->docs.size()});
        serve_paged_catalogue(sim, std::move(p));
    }
    return out;
}

void write_partner_files(const PartnerSimulator& sim, const fs::path& dir, const fs::path& partners_dir) {
    fs::create_directories(partners_dir);
    for (const auto& d : partner_dirs(dir)) {
        std::string text = slurp(d / "partner.json");
        for (std::size_t at; (at = text.find("{{base}}")) != std::string::npos;) text.replace(at, 8, sim.url(""));
        std::ofstream out(partners_dir / (d.filename().string() + ".json"), std::ios::binary);
        out << text;
        if (!out) throw std::runtime_error("catalogue partners: cannot write " + (partners_dir / d.filename()).string() + ".json");
    }
}

}  // namespace ideo::test
