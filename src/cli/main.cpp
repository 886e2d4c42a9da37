// The ideo command line: one binary, a few verbs (ARCHITECTURE.md).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ideo/cli/snapshot_loader.hpp"
#include "ideo/core/error.hpp"
#include "ideo/core/layer.hpp"
#include "ideo/harvest/catalogue.hpp"
#include "ideo/deci/arrete.hpp"
#include "ideo/deci/coverage.hpp"
#include "ideo/deci/schema.hpp"
#include "ideo/deci/extract.hpp"
#include "ideo/harvest/http_client.hpp"
#include "ideo/harvest/pipeline.hpp"
#include "ideo/harvest/runner.hpp"
#include "ideo/index/snapshot.hpp"
#include "ideo/core/access.hpp"
#include "ideo/core/text.hpp"
#include "ideo/server/key_cache.hpp"
#include "ideo/server/oidc.hpp"
#include "ideo/server/server.hpp"
#include "ideo/store/store.hpp"

namespace fs = std::filesystem;
using namespace ideo;

namespace {

constexpr const char* kUsage = R"(usage:
  ideo harvest  [--layers DIR] [--partners DIR] [--store URI] [--only SOURCE|LAYER...] [--json]   every source of the layers and every partner once, incrementally
  ideo harvest  --url URL --protocol csw|ckan|udata|dcat|ods|wfs|oapif|file [--layer LAYER] [--type-names T] [--ca-file PEM] [--proxy URL] [--json]   try one partner, no configuration
  ideo serve    [--layers DIR] [--partners DIR] [--store URI] [--listen 127.0.0.1:8080] [--threads N] [--workers N] [--queue N] [--web DIR] [--fonts DIR] [--harvest-every 6h]
                [--oidc-issuer URL --oidc-audience AUD [--oidc-roles-claim roles] [--oidc-insee-claim insee] [--oidc-dept-claim dept] [--oidc-org-claim NAME]]
  ideo import   LAYER FILE|URL [--store URI] [--layers DIR] [--source ID] [--ca-file PEM] [--proxy URL] [--json]
  ideo check    LAYER FILE|URL [--store URI] [--layers DIR] [--source ID] [--ca-file PEM] [--proxy URL] [--json]   validate a partner file, print the report, change nothing
  ideo extract  INSEE|DEPT --format xlsx|ods|csv|geojson|gpkg|shp|kml [--crs EPSG:2154] -o FILE [--store URI] [--layers DIR]
  ideo coverage INSEE|DEPT [--rules DEPT] [--mode straight|road] -o FILE.geojson [--store URI] [--layers DIR]
  ideo schema   INSEE|DEPT [--rules DEPT] [--mode straight|road] [--budget EUR] [--solver greedy|exact] -o FILE.geojson|FILE.csv [--store URI] [--layers DIR]   schéma communal: actions and costs so that every ERP/ICPE is covered (an estimate)
  ideo arrete   INSEE [--rules DEPT] -o FILE.docx [--store URI] [--layers DIR]   draft municipal DECI order
  ideo keys create --org NAME --role member|sdis|ars|admin [--kind commune|epci|sdis|ars|portal] [--adherent] [--insee 90010,...] [--dept 90,...] [--expires YYYY-MM-DD] [--store URI]   prints the key once
  ideo keys list   [--store URI]   the keys (never a key or its hash), their organisation, role and last use
  ideo keys revoke ID [--store URI]

--layers defaults to ./layers, --partners to LAYERS/partners, --store to var/ideo.gpkg.
--oidc-issuer and --oidc-audience default to $IDEO_OIDC_ISSUER and $IDEO_OIDC_AUDIENCE (people's bearer tokens).
)";

// A mistake in the command line itself: answered with the usage text.
struct UsageError : InputError {
    using InputError::InputError;
};

// Parsed command line: positional arguments and --options (an option may repeat: --only a b).
struct Args {
    std::string verb;
    std::vector<std::string> positional;
    std::map<std::string, std::vector<std::string>> options;

    bool has(const std::string& k) const { return options.count(k) > 0; }
    std::string get(const std::string& k, const std::string& def = "") const {
        auto it = options.find(k);
        return it == options.end() || it->second.empty() ? def : it->second.front();
    }
};

const std::map<std::string, int> kFlags = {{"json", 0}, {"only", -1}, {"adherent", 0}};  // 0: no value, -1: values until next option

// The options each verb takes ("output" is -o): any other is a usage error naming it, so that a
// mistyped --store never silently serves or fills the default store.
const std::map<std::string, std::set<std::string>> kVerbOptions = {
    {"harvest", {"layers", "partners", "store", "only", "json", "url", "protocol", "layer", "type-names", "ca-file", "proxy"}},
    {"serve", {"layers", "partners", "store", "listen", "threads", "workers", "queue", "web", "fonts", "harvest-every", "oidc-issuer",
               "oidc-audience", "oidc-roles-claim", "oidc-insee-claim", "oidc-dept-claim", "oidc-org-claim"}},
    {"import", {"store", "layers", "source", "json", "ca-file", "proxy"}},
    {"check", {"store", "layers", "source", "json", "ca-file", "proxy"}},
    {"extract", {"format", "crs", "output", "store", "layers"}},
    {"coverage", {"rules", "mode", "output", "store", "layers"}},
    {"schema", {"rules", "mode", "budget", "solver", "output", "store", "layers"}},
    {"arrete", {"rules", "output", "store", "layers"}},
    {"keys create", {"org", "role", "kind", "adherent", "insee", "dept", "expires", "store"}},
    {"keys list", {"store"}},
    {"keys revoke", {"store"}},
};

bool is_option(const std::string& s) { return s.rfind("--", 0) == 0; }

// Every option is one the verb takes, given once, with its value; verbs without positional arguments get none.
void check_options(const Args& a) {
    const auto verb = kVerbOptions.find(a.verb);
    if (verb == kVerbOptions.end()) return;  // help, or an unknown verb: main() answers
    for (const auto& [key, values] : a.options) {
        const std::string name = key == "output" ? "-o" : "--" + key;
        if (!verb->second.count(key)) throw UsageError("unknown option " + name + " for " + a.verb);
        const auto flag = kFlags.find(key);
        if (flag == kFlags.end() && values.size() > 1) throw UsageError("option " + name + " given more than once");
        if (flag != kFlags.end() && flag->second < 0 && values.empty()) throw UsageError("option " + name + " needs a value");
    }
    if ((a.verb == "serve" || a.verb == "harvest" || a.verb == "keys create" || a.verb == "keys list") && !a.positional.empty())
        throw UsageError(a.verb + " takes no argument, got \"" + a.positional.front() + "\"");
}

Args parse_args(int argc, char** argv) {
    Args a;
    if (argc < 2) throw UsageError("no verb given");
    a.verb = argv[1];
    int first = 2;
    if (a.verb == "keys") {  // "keys create|list|revoke": each its own verb, with its own options
        if (argc < 3 || is_option(argv[2])) throw UsageError("keys needs create, list or revoke");
        a.verb += std::string(" ") + argv[2];
        if (!kVerbOptions.count(a.verb)) throw UsageError("unknown verb \"" + a.verb + "\" (keys create, keys list, keys revoke)");
        first = 3;
    }
    for (int i = first; i < argc; ++i) {
        std::string s = argv[i];
        if (is_option(s)) {
            std::string key = s.substr(2), value;
            if (auto eq = key.find('='); eq != std::string::npos) {
                value = key.substr(eq + 1);
                key = key.substr(0, eq);
                a.options[key].push_back(value);
                continue;
            }
            auto f = kFlags.find(key);
            auto& vals = a.options[key];
            if (f != kFlags.end() && f->second == 0) continue;
            if (f != kFlags.end() && f->second < 0) {
                while (i + 1 < argc && !is_option(argv[i + 1])) vals.push_back(argv[++i]);
                continue;
            }
            if (i + 1 >= argc || is_option(argv[i + 1])) throw UsageError("option --" + key + " needs a value");
            vals.push_back(argv[++i]);
        } else if (s == "-o") {
            if (i + 1 >= argc) throw UsageError("option -o needs a file name");
            a.options["output"].push_back(argv[++i]);
        } else {
            a.positional.push_back(s);
        }
    }
    check_options(a);
    return a;
}

std::string store_uri(const Args& a) { return a.get("store", "var/ideo.gpkg"); }
fs::path layers_dir(const Args& a) { return a.get("layers", "layers"); }
LayerCatalog catalog(const Args& a) { return load_layers(layers_dir(a)); }

// Where the partner files are: --partners (the demo's, written by its partner simulator), else the layers' own.
struct PartnerFiles {
    fs::path dir;
    fs::path themes;  // the catalogue rules of the layers (LAYERS/catalog/themes.json), whatever the folder
};
PartnerFiles partner_files(const Args& a) {
    return {a.has("partners") ? fs::path(a.get("partners")) : layers_dir(a) / "partners", layers_dir(a) / "catalog" / "themes.json"};
}

// Test hook for "an import killed mid-way": IDEO_FAULT_WRITER_AFTER=N [IDEO_FAULT_WRITER_ABORT=1].
store::PublishOptions fault_options() {
    store::PublishOptions o;
    if (const char* n = std::getenv("IDEO_FAULT_WRITER_AFTER")) o.fail_after = std::atoll(n);
    if (const char* ab = std::getenv("IDEO_FAULT_WRITER_ABORT")) o.abort_instead = std::string(ab) == "1";
    return o;
}

void print_report(const Report& r, bool json) {
    if (json) std::cout << r.to_json() << "\n";
    else std::cout << r.to_text();
}

bool is_url(const std::string& s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

// `ideo import|check LAYER URL`: the file fetched through the harvester's HTTP client (timeouts, retries,
// TLS verification, --ca-file, --proxy or the environment's proxy) into a temporary folder removed afterwards.
class Download {
public:
    Download(const Args& a, const std::string& url) {
        harvest::HttpOptions options;
        if (a.has("ca-file")) options.ca_file = a.get("ca-file");
        if (a.has("proxy")) options.proxy = harvest::normalise_proxy(a.get("proxy"));
        harvest::HttpClient client(options);
        harvest::HttpRequest request;
        request.url = url;
        const harvest::HttpResponse response = client.fetch(request);
        dir_ = fs::temp_directory_path() / ("ideo-import-" + std::to_string(getpid()));
        fs::create_directories(dir_);
        file_ = harvest::save_download(response, dir_).string();
    }
    ~Download() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    Download(const Download&) = delete;
    Download& operator=(const Download&) = delete;
    const std::string& file() const { return file_; }

private:
    fs::path dir_;
    std::string file_;
};

int cmd_import(const Args& a, bool dry_run) {
    const std::string verb = dry_run ? "check" : "import";
    if (a.positional.size() != 2) throw UsageError(verb + " needs LAYER and FILE or URL");
    const std::string& file_or_url = a.positional[1];
    if (!is_url(file_or_url) && (a.has("ca-file") || a.has("proxy")))
        throw UsageError(std::string(a.has("ca-file") ? "--ca-file" : "--proxy") + " is for a URL, not the file " + file_or_url);
    const auto cat = catalog(a);
    const LayerSpec& layer = cat.get(a.positional[0]);
    SourceSpec source = harvest::source_for(layer, file_or_url);
    if (a.has("source")) {
        const SourceSpec* declared = layer.find_source(a.get("source"));
        if (declared) {
            source = *declared;
        } else {
            source.id = a.get("source");
        }
    }
    std::optional<Download> download;  // before the store is opened: a failed fetch leaves no trace
    if (is_url(file_or_url)) download.emplace(a, file_or_url);
    std::unique_ptr<store::Store> store;
    // A check changes nothing: it reads the store only when one already exists.
    if (!dry_run || (store_uri(a).rfind("PG:", 0) != 0 && fs::exists(store_uri(a)))) store = store::open_store(store_uri(a));
    const auto communes = harvest::load_communes(cat, store.get());
    auto result = harvest::import_file(layer, source, download ? download->file() : file_or_url, communes.get(),
                                       dry_run ? nullptr : store.get(), fault_options());
    if (download) result.report.file = file_or_url;  // the report names what the user gave, not the temporary copy
    print_report(result.report, a.has("json"));
    if (result.publication && !a.has("json"))
        std::cout << "published " << layer.id << " version " << result.publication->version << " ("
                  << result.publication->count << " records from " << source.id << ")\n";
    return 0;
}

// Harvest options shared by `ideo harvest` and `ideo serve --harvest-every`: progress on a terminal only.
harvest::RunOptions harvest_options(bool progress) {
    harvest::RunOptions o;
    o.catalogue = harvest::harvest_catalogue_partner;
    if (progress)
        o.progress = [](const std::string& partner, const std::string& line) { std::cerr << partner << ": " << line << "\n"; };
    return o;
}

void print_run(const harvest::RunResult& run, bool json) {
    if (json) {
        std::cout << run.to_json() << "\n";
        return;
    }
    for (const auto& r : run.reports) {
        std::cout << r.partner << " (" << r.protocol << "): added " << r.added << ", updated " << r.updated
                  << ", unchanged " << r.unchanged << ", withdrawn " << r.withdrawn << ", failed " << r.failed
                  << (r.pages ? "; " + std::to_string(r.pages_unchanged) + " of " + std::to_string(r.pages) + " pages unchanged" : "")
                  << (r.downloaded_nothing ? ", downloaded nothing" : "")
                  << (r.kept_last_good ? "; FAILED, last published data kept" : "") << "\n";
        for (const auto& i : r.imports) {
            std::cout << "  record " << i.record << " -> " << i.layer << ": " << i.status;
            if (!i.distribution.empty()) std::cout << " (" << i.distribution << ")";
            if (i.status == "imported" || i.status == "unchanged" || i.status == "withdrawn")
                std::cout << ": added " << i.added << ", updated " << i.updated << ", unchanged " << i.unchanged
                          << ", withdrawn " << i.withdrawn << ", rejected " << i.rejected;
            if (i.status == "skipped") std::cout << ": " << i.reason;  // a failure's reason is among the failures below
            std::cout << "\n";
        }
        for (const auto& f : r.failures) std::cout << "  " << f << "\n";
    }
    std::cout << "run " << run.run_id << " recorded\n";
}

// `ideo harvest --url URL --protocol P [--layer L]`: one partner tried without configuration.
harvest::PartnerSpec adhoc_partner(const Args& a) {
    harvest::PartnerSpec p;
    p.url = a.get("url");
    p.protocol = a.get("protocol");
    p.layer = a.get("layer");
    static const std::vector<std::string> protocols = {"csw", "ckan", "udata", "dcat", "ods", "wfs", "oapif", "file"};
    if (std::find(protocols.begin(), protocols.end(), p.protocol) == protocols.end())
        throw UsageError("--protocol \"" + p.protocol + "\" is not one of csw, ckan, udata, dcat, ods, wfs, oapif, file");
    if ((p.protocol == "wfs" || p.protocol == "oapif" || p.protocol == "file") && p.layer.empty())
        throw UsageError("--protocol " + p.protocol + " needs --layer (the layer the data feeds)");
    if (a.has("type-names")) p.options["typeNames"] = a.get("type-names");
    if (a.has("ca-file")) p.options["ca_file"] = a.get("ca-file");  // a partner on a private PKI
    if (a.has("proxy")) p.options["proxy"] = a.get("proxy");        // an HTTP proxy (else HTTPS_PROXY / HTTP_PROXY)
    const std::string stem = fs::path(p.url.substr(0, p.url.find('?'))).stem().string();
    p.id = "adhoc-" + (stem.empty() ? p.protocol : stem);
    p.name = p.url;
    return p;
}

// Every source of the layer files and every partner of layers/partners (or those `only` names, by id or
// layer), communes first: every other record takes its INSEE code from them. One run id, one report.
harvest::RunResult harvest_all(const LayerCatalog& cat, store::Store& store, const PartnerFiles& files,
                               const std::vector<std::string>& only, harvest::RunOptions options) {
    auto all = harvest::partners_of_layers(cat);
    for (auto& p : harvest::load_partners(files.dir)) {
        p.options.emplace("rules", files.themes.string());  // a partner's own "rules" option wins
        for (const auto& q : all)
            if (q.id == p.id)
                throw InputError(p.file.string() + ": partner id \"" + p.id + "\" is already a source of " + q.file.string());
        all.push_back(std::move(p));
    }
    std::vector<harvest::PartnerSpec> communes, others;
    for (auto& p : all) {
        if (!only.empty() && std::find(only.begin(), only.end(), p.id) == only.end() &&
            std::find(only.begin(), only.end(), p.layer) == only.end())
            continue;
        (p.layer == "communes" ? communes : others).push_back(std::move(p));
    }
    if (options.run_id.empty()) options.run_id = harvest::new_run_id();
    harvest::RunResult run = harvest::run_harvest(communes, cat, store, options);
    harvest::RunResult rest = harvest::run_harvest(others, cat, store, options);
    std::move(rest.reports.begin(), rest.reports.end(), std::back_inserter(run.reports));
    run.finished_at = rest.finished_at;
    return run;
}

int cmd_harvest(const Args& a) {
    const auto cat = catalog(a);
    auto store = store::open_store(store_uri(a));
    const bool json = a.has("json");
    const bool progress = !json && isatty(STDERR_FILENO);
    if (a.has("url")) {
        auto partner = adhoc_partner(a);
        partner.options.emplace("rules", partner_files(a).themes.string());
        const auto run = harvest::run_harvest({partner}, cat, *store, harvest_options(progress));
        print_run(run, json);
        return run.ok() ? 0 : 3;
    }
    std::vector<std::string> only;
    if (a.has("only")) only = a.options.at("only");
    const auto run = harvest_all(cat, *store, partner_files(a), only, harvest_options(progress));
    print_run(run, json);
    return run.ok() ? 0 : 3;
}

// The serving process's harvester: one run at a time, started by the --harvest-every clock or by
// POST /admin/harvest; it publishes into the store, and the server's version poll swaps the snapshot.
class BackgroundHarvester {
public:
    BackgroundHarvester(LayerCatalog catalog, std::string store_uri, PartnerFiles partners)
        : catalog_(std::move(catalog)), store_uri_(std::move(store_uri)), partners_(std::move(partners)) {}
    ~BackgroundHarvester() {
        if (thread_.joinable()) thread_.join();
    }
    // Starts a run unless one is going on; returns the id of the run that is going on.
    std::string trigger() {
        std::lock_guard lock(mutex_);
        if (running_) return run_id_;
        if (thread_.joinable()) thread_.join();
        running_ = true;
        run_id_ = harvest::new_run_id();
        thread_ = std::thread([this, id = run_id_] {
            try {
                auto store = store::open_store(store_uri_);
                auto options = harvest_options(false);
                options.run_id = id;
                const auto run = harvest_all(catalog_, *store, partners_, {}, options);
                std::size_t failed = 0;
                for (const auto& r : run.reports) failed += r.kept_last_good ? 1 : 0;
                std::cout << "harvest " << id << ": " << run.reports.size() << " partner(s), " << failed << " failed"
                          << std::endl;
                finished(run.ok(), failed);
            } catch (const std::exception& e) {
                std::cerr << "harvest " << id << " failed: " << e.what() << std::endl;
                finished(false, 0);
            }
            std::lock_guard done(mutex_);
            running_ = false;
        });
        return run_id_;
    }

    // Prometheus lines for GET /metrics: runs by outcome, the last one's end and failing partners.
    std::string metrics() {
        std::lock_guard lock(mutex_);
        return "# HELP ideo_harvest_runs_total Background harvest runs finished, by outcome.\n"
               "# TYPE ideo_harvest_runs_total counter\n"
               "ideo_harvest_runs_total{outcome=\"ok\"} " + std::to_string(runs_ok_) + "\n"
               "ideo_harvest_runs_total{outcome=\"failed\"} " + std::to_string(runs_failed_) + "\n"
               "# HELP ideo_harvest_running Whether a background harvest is running.\n# TYPE ideo_harvest_running gauge\n"
               "ideo_harvest_running " + std::to_string(running_ ? 1 : 0) + "\n"
               "# HELP ideo_harvest_last_finished_timestamp_seconds End of the last background run, Unix seconds (0: none yet).\n"
               "# TYPE ideo_harvest_last_finished_timestamp_seconds gauge\n"
               "ideo_harvest_last_finished_timestamp_seconds " + std::to_string(last_finished_) + "\n"
               "# HELP ideo_harvest_last_failed_partners Partners of the last run that kept their last good data.\n"
               "# TYPE ideo_harvest_last_failed_partners gauge\n"
               "ideo_harvest_last_failed_partners " + std::to_string(last_failed_partners_) + "\n";
    }

private:
    void finished(bool ok, std::size_t failed_partners) {
        std::lock_guard lock(mutex_);
        (ok ? runs_ok_ : runs_failed_)++;
        last_failed_partners_ = failed_partners;
        last_finished_ = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    }

    LayerCatalog catalog_;
    std::string store_uri_;
    PartnerFiles partners_;
    std::uint64_t runs_ok_ = 0, runs_failed_ = 0;
    std::size_t last_failed_partners_ = 0;
    std::int64_t last_finished_ = 0;
    std::mutex mutex_;
    std::thread thread_;
    bool running_ = false;
    std::string run_id_;
};

// A whole number in [min, max], all of `text`: "8abc", "" and "-1" are refused, naming the option.
long whole_number(const std::string& option, const std::string& text, long min, long max) {
    long n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n < min || n > max)
        throw UsageError(option + ": \"" + text + "\" is not a whole number from " + std::to_string(min) + " to " +
                         std::to_string(max));
    return n;
}

std::pair<std::string, unsigned short> parse_listen(const std::string& s) {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) throw UsageError("--listen expects HOST:PORT, got \"" + s + "\"");
    try {
        return {s.substr(0, colon), static_cast<unsigned short>(whole_number("--listen", s.substr(colon + 1), 0, 65535))};
    } catch (const UsageError&) {
        throw UsageError("--listen: invalid port in \"" + s + "\" (HOST:PORT, PORT from 0 to 65535)");
    }
}

// The OpenID Connect options of `ideo serve` (the issuer and audience also from the environment), or
// none when no issuer is configured. The provider's keys are only ever fetched over https://, or
// http:// on loopback (a test provider): a key fetched in clear could be anyone's.
std::optional<server::OidcOptions> oidc_options(const Args& a) {
    auto option_or_env = [&](const std::string& name, const char* env) {
        if (a.has(name)) return a.get(name);
        const char* v = std::getenv(env);
        return std::string(v ? v : "");
    };
    server::OidcOptions o;
    o.issuer = option_or_env("oidc-issuer", "IDEO_OIDC_ISSUER");
    o.audience = option_or_env("oidc-audience", "IDEO_OIDC_AUDIENCE");
    const bool claims = a.has("oidc-roles-claim") || a.has("oidc-insee-claim") || a.has("oidc-dept-claim") || a.has("oidc-org-claim");
    if (o.issuer.empty() && o.audience.empty() && !claims) return std::nullopt;
    if (o.issuer.empty()) throw UsageError("--oidc-audience and the --oidc-*-claim options need --oidc-issuer (or IDEO_OIDC_ISSUER)");
    if (o.audience.empty()) throw UsageError("--oidc-issuer needs --oidc-audience (or IDEO_OIDC_AUDIENCE): the audience tokens are for");
    const bool https = o.issuer.rfind("https://", 0) == 0;
    std::string host;
    if (o.issuer.rfind("http://", 0) == 0) {
        host = o.issuer.substr(7, o.issuer.find('/', 7) - 7);
        if (host.empty() || host.front() != '[') host = host.substr(0, host.find(':'));
        else host = host.substr(0, host.find(']') + 1);
    }
    if (!https && host != "localhost" && host != "[::1]" && host.rfind("127.", 0) != 0)
        throw UsageError("--oidc-issuer: \"" + o.issuer + "\" is not an https:// URL (http:// only on loopback)");
    o.roles_claim = a.get("oidc-roles-claim", o.roles_claim);
    o.insee_claim = a.get("oidc-insee-claim", o.insee_claim);
    o.dept_claim = a.get("oidc-dept-claim", o.dept_claim);
    o.org_claim = a.get("oidc-org-claim", o.org_claim);
    return o;
}

int cmd_serve(const Args& a) {
    // The command line first: a bad option fails before the store is read.
    server::ServerOptions opt;
    std::tie(opt.address, opt.port) = parse_listen(a.get("listen", "127.0.0.1:8080"));
    // 0: one thread per core, as ServerOptions has it.
    if (a.has("threads")) opt.threads = static_cast<unsigned>(whole_number("--threads", a.get("threads"), 0, 1024));
    if (a.has("workers")) opt.workers = static_cast<unsigned>(whole_number("--workers", a.get("workers"), 0, 1024));  // heavy requests' pool
    if (a.has("queue")) opt.worker_queue = static_cast<std::size_t>(whole_number("--queue", a.get("queue"), 1, 100000));
    std::optional<std::chrono::seconds> every;
    try {
        if (a.has("harvest-every")) every = harvest::parse_duration(a.get("harvest-every"));
    } catch (const InputError& e) {
        throw UsageError(std::string("--harvest-every: ") + e.what());
    }
    opt.web_dir = a.get("web", "web");  // the map page is served from its dist/ (scripts/build-web)
    opt.styles_dir = "styles";
    if (a.has("fonts")) opt.fonts_dir = a.get("fonts");  // the styles' glyphs; default: Debian's fonts-dejavu-core
    const auto oidc = oidc_options(a);

    const auto cat = catalog(a);
    auto store = store::open_store(store_uri(a));
    index::SnapshotHolder holder;
    auto load = [&] {
        auto snapshot = cli::load_snapshot(*store, cat);
        server::prepare_snapshot(*snapshot);
        return snapshot;
    };
    holder.set(load());
    BackgroundHarvester harvester(cat, store_uri(a), partner_files(a));
    if (const char* token = std::getenv("IDEO_ADMIN_TOKEN")) opt.admin_token = token;
    if (const char* token = std::getenv("IDEO_METRICS_TOKEN")) opt.metrics_token = token;
    // API keys: looked up in the store by their hash, verified ones kept for one poll interval.
    server::KeyCache keys([&store](const std::string& hash) -> std::optional<server::KnownKey> {
        auto grant = store->find_api_key(hash);
        if (!grant) return std::nullopt;
        return server::KnownKey{grant->identity(), grant->key.expires, grant->key.revoked};
    });
    opt.authenticate_key = [&keys](std::string_view key) { return keys.authenticate(key); };
    opt.trigger_harvest = [&harvester] { return harvester.trigger(); };
    opt.metrics = [&harvester] { return harvester.metrics(); };
    std::unique_ptr<server::OidcVerifier> verifier;
    if (oidc) {
        // The provider's discovery and keys through the harvester's client (the verifier fetches one at a time).
        harvest::HttpOptions http;
        http.timeout = std::chrono::seconds(10);
        http.max_retries = 1;
        http.max_body = 1u << 20;
        http.user_agent = "ideo-oidc/0.1";
        auto client = std::make_shared<harvest::HttpClient>(http);
        verifier = std::make_unique<server::OidcVerifier>(*oidc, [client](const std::string& url) {
            return client->fetch({.url = url}).body;
        });
        try {
            std::cout << "oidc: " << verifier->refresh() << " signing key(s) of " << oidc->issuer << std::endl;
        } catch (const std::exception& e) {
            std::cerr << "oidc: " << e.what() << " (tokens are refused until its keys can be fetched)" << std::endl;
        }
        opt.authenticate_token = [v = verifier.get()](std::string_view token) { return v->verify(token); };
    }
    server::Server server(opt, holder);

    // Publishes by other processes (ideo import, ideo harvest) are picked up by polling the store's
    // version; the new snapshot is swapped in atomically, requests in flight finish on the old one.
    std::atomic<bool> stopping{false};
    std::thread watcher([&] {
        std::int64_t seen = holder.get()->version;
        auto next_harvest = std::chrono::steady_clock::now();
        while (!stopping) {
            if (every && std::chrono::steady_clock::now() >= next_harvest) {
                harvester.trigger();
                next_harvest = std::chrono::steady_clock::now() + *every;
            }
            for (int i = 0; i < 20 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (stopping) break;
            try {
                store->record_key_uses(keys.take_uses());  // at most once a minute per key
            } catch (const std::exception& e) {
                std::cerr << "cannot record the API keys' last uses: " << e.what() << std::endl;
            }
            try {
                const auto v = store->version();
                if (v != seen) {
                    holder.set(load());
                    seen = v;
                    std::cout << "published version " << v << " now served" << std::endl;
                }
            } catch (const std::exception& e) {
                std::cerr << "snapshot reload failed, still serving version " << seen << ": " << e.what() << std::endl;
            }
        }
    });
    server.run([&](unsigned short port) {
        std::cout << "listening on http://" << opt.address << ":" << port << std::endl;
    });
    stopping = true;
    watcher.join();
    return 0;
}

// Writes bytes to `out` through a temporary name: never a half-written file under the final name.
void write_atomically(const std::string& out, const std::string& bytes) {
    const std::string tmp = out + ".part";
    {
        std::ofstream f(tmp, std::ios::binary);
        f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!f) throw Error("cannot write " + tmp);
    }
    fs::rename(tmp, out);
}

int cmd_extract(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("extract needs one INSEE code");
    if (!a.has("output")) throw UsageError("extract needs -o FILE");
    const auto cat = catalog(a);
    auto store = store::open_store(store_uri(a));
    const auto snapshot = cli::load_snapshot(*store, cat);
    deci::ExtractRequest req;
    if (a.positional[0].size() <= 3) req.dept = a.positional[0];  // a department: every commune of it
    else req.insee = a.positional[0];
    req.format = a.get("format", "xlsx");
    req.crs = a.get("crs", "");
    const auto file = deci::build_extract(*snapshot, req);
    const std::string out = a.get("output");
    write_atomically(out, file.bytes);
    std::cout << "wrote " << out << " (" << file.filename << ", " << file.bytes.size() << " bytes)\n";
    return 0;
}

int cmd_coverage(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("coverage needs one INSEE code or department code");
    if (!a.has("output")) throw UsageError("coverage needs -o FILE.geojson");
    const deci::Mode mode = deci::parse_mode(a.get("mode", "straight"));
    // Only the layers coverage reads (roads in road mode alone), without the harvested catalogue.
    LayerCatalog cat = catalog(a);
    std::erase_if(cat.layers, [&](const LayerSpec& l) {
        return l.id != "communes" && l.id != "pei" && l.id != "erp" && l.id != "icpe" && (l.id != "roads" || mode != deci::Mode::Road);
    });
    auto store = store::open_store(store_uri(a));
    const auto snapshot = cli::load_snapshot(*store, cat, false);
    const std::string& code = a.positional[0];
    const bool dept = code.size() <= 3;
    const std::string rules_dept = a.get("rules", deci::department_of(code));
    const deci::Rules rules = deci::load_rules(fs::path(a.get("layers", "layers")) / "deci-rules", rules_dept);
    const std::vector<std::string> codes = dept ? deci::department_communes(*snapshot, code) : std::vector<std::string>{code};
    if (codes.empty()) throw InputError("department '" + code + "': no commune polygon loaded");
    const auto started = std::chrono::steady_clock::now();
    const auto result = deci::communes_coverage(*snapshot, rules, codes, mode);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    write_atomically(a.get("output"), deci::coverage_geojson(result));
    double area = 0, covered = 0;
    for (const auto& c : result) {
        area += c.area_m2;
        covered += c.covered_m2;
    }
    std::cout << "wrote " << a.get("output") << ": " << result.size() << " commune(s), mode " << deci::to_string(mode)
              << ", rules " << rules.id << ", covered share " << (area > 0 ? covered / area : 0) << ", computed in "
              << seconds << " s\n";
    return 0;
}

int cmd_schema(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("schema needs one INSEE code or department code");
    if (!a.has("output")) throw UsageError("schema needs -o FILE.geojson (FILE.csv for a department)");
    const deci::Mode mode = deci::parse_mode(a.get("mode", "straight"));
    deci::SchemaOptions options;
    options.solver = deci::parse_solver(a.get("solver", "greedy"));
    if (a.has("budget")) {
        const std::string text = a.get("budget");
        char* end = nullptr;
        const double b = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !std::isfinite(b) || b < 0)
            throw InputError("--budget '" + text + "': expected a number of euros >= 0");
        options.budget = b;
    }
    // The layers the planner reads: roads whenever loaded (new hydrants go along them).
    LayerCatalog cat = catalog(a);
    std::erase_if(cat.layers, [&](const LayerSpec& l) {
        return l.id != "communes" && l.id != "pei" && l.id != "erp" && l.id != "icpe" && l.id != "roads";
    });
    auto store = store::open_store(store_uri(a));
    const auto snapshot = cli::load_snapshot(*store, cat, false);
    const std::string& insee = a.positional[0];
    const deci::Rules rules =
        deci::load_rules(fs::path(a.get("layers", "layers")) / "deci-rules", a.get("rules", deci::department_of(insee)));
    deci::check_schema_costs(rules);
    if (insee.size() <= 3) {  // a department: one CSV line per commune
        const auto codes = deci::department_communes(*snapshot, insee);
        if (codes.empty()) throw InputError("department '" + insee + "': no commune polygon loaded");
        std::string csv = "insee;name;risks;covered_before;covered_after;actions;total_cost_eur;solver;candidate_actions;seconds\n";
        double total = 0;
        for (const auto& code : codes) {
            const auto started = std::chrono::steady_clock::now();
            const deci::SchemaProblem problem = deci::schema_problem(*snapshot, rules, code, mode);
            const deci::SchemaPlan plan = deci::plan_schema(problem, rules, options);
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            total += plan.total_cost;
            csv += code + ";" + problem.name + ";" + std::to_string(plan.risks_total) + ";" + std::to_string(plan.covered_before) + ";" +
                   std::to_string(plan.covered_after) + ";" + std::to_string(plan.actions.size()) + ";" +
                   std::to_string(static_cast<long long>(std::llround(plan.total_cost))) + ";" + deci::to_string(plan.solver) + ";" +
                   std::to_string(plan.candidate_actions) + ";" + std::to_string(seconds) + "\n";
        }
        write_atomically(a.get("output"), csv);
        std::cout << "wrote " << a.get("output") << ": " << codes.size() << " commune(s), total cost " << total << " EUR ("
                  << deci::kSchemaEstimate << ")\n";
        return 0;
    }
    const auto started = std::chrono::steady_clock::now();
    const deci::SchemaProblem problem = deci::schema_problem(*snapshot, rules, insee, mode);
    const deci::SchemaPlan plan = deci::plan_schema(problem, rules, options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    write_atomically(a.get("output"), deci::schema_geojson(problem, plan, rules, options.budget));
    std::cout << "wrote " << a.get("output") << ": " << insee << " " << problem.name << ", " << plan.actions.size()
              << " action(s), cost " << plan.total_cost << " EUR, risks covered " << plan.covered_before << " -> "
              << plan.covered_after << " of " << plan.risks_total << ", solver " << deci::to_string(plan.solver)
              << (plan.solver_note.empty() ? "" : " (" + plan.solver_note + ")") << ", " << plan.candidate_actions
              << " candidate actions, computed in " << seconds << " s (" << deci::kSchemaEstimate << ")\n";
    return 0;
}

int cmd_arrete(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("arrete needs one INSEE code");
    if (!a.has("output")) throw UsageError("arrete needs -o FILE.docx");
    const auto cat = catalog(a);
    auto store = store::open_store(store_uri(a));
    const auto snapshot = cli::load_snapshot(*store, cat);
    const std::string& insee = a.positional[0];
    const deci::Rules rules =
        deci::load_rules(fs::path(a.get("layers", "layers")) / "deci-rules", a.get("rules", deci::department_of(insee)));
    const auto file = deci::build_arrete(*snapshot, rules, insee);
    write_atomically(a.get("output"), file.bytes);
    std::cout << "wrote " << a.get("output") << " (" << file.filename << ", " << file.bytes.size() << " bytes)\n";
    return 0;
}


// `ideo keys create`: the organisation created (or the options given changed on it), then a key printed once.
int cmd_keys_create(const Args& a) {
    if (!a.has("org") || a.get("org").empty()) throw UsageError("keys create needs --org NAME");
    if (!a.has("role")) throw UsageError("keys create needs --role member|sdis|ars|admin");
    const auto role = access::parse_role(a.get("role"));
    if (!role || *role == access::Role::Anonymous)
        throw UsageError("--role: \"" + a.get("role") + "\" is not one of member, sdis, ars, admin");
    std::optional<access::OrgKind> kind;
    if (a.has("kind")) {
        kind = access::parse_org_kind(a.get("kind"));
        if (!kind || *kind == access::OrgKind::None)
            throw UsageError("--kind: \"" + a.get("kind") + "\" is not one of commune, epci, sdis, ars, portal");
    }
    auto codes = [&](const std::string& option, bool insee) {
        std::vector<std::string> out;
        std::string list = a.get(option);
        std::size_t pos = 0;
        while (pos <= list.size()) {
            std::size_t end = list.find(',', pos);
            if (end == std::string::npos) end = list.size();
            const std::string code = list.substr(pos, end - pos);
            pos = end + 1;
            if (code.empty()) continue;
            const bool corsica = code.size() >= 2 && code[0] == '2' && (code[1] == 'A' || code[1] == 'B');
            const bool ok = insee ? code.size() == 5 && std::all_of(code.begin() + (corsica ? 2 : 0), code.end(), ::isdigit) &&
                                        (corsica || std::all_of(code.begin(), code.begin() + 2, ::isdigit))
                                  : (code.size() == 2 || code.size() == 3) &&
                                        (corsica ? code.size() == 2 : std::all_of(code.begin(), code.end(), ::isdigit));
            if (!ok) throw UsageError("--" + option + ": \"" + code + "\" is not " + (insee ? "an INSEE code (90010, 2A004)" : "a department (90, 2A, 974)"));
            out.push_back(code);
        }
        if (out.empty()) throw UsageError("--" + option + " needs a value");
        return out;
    };
    const std::string expires = a.get("expires");
    int y, m, d;
    if (a.has("expires") && !text::parse_iso_date(expires, y, m, d))
        throw UsageError("--expires: \"" + expires + "\" is not a date YYYY-MM-DD");

    auto store = store::open_store(store_uri(a));
    const std::string name = a.get("org");
    store::Organisation org;
    bool known = false;
    for (auto& o : store->organisations())
        if (o.name == name) {
            org = std::move(o);
            known = true;
        }
    if (!known) {
        org.name = name;
        static const std::map<access::Role, access::OrgKind> by_role = {{access::Role::Member, access::OrgKind::Commune},
                                                                         {access::Role::Sdis, access::OrgKind::Sdis},
                                                                         {access::Role::Ars, access::OrgKind::Ars},
                                                                         {access::Role::Admin, access::OrgKind::Portal}};
        org.kind = by_role.at(*role);
    }
    if (kind) org.kind = *kind;
    if (a.has("adherent")) org.adherent = true;
    if (a.has("insee")) org.insee = codes("insee", true);
    if (a.has("dept")) org.depts = codes("dept", false);
    if (!known || kind || a.has("adherent") || a.has("insee") || a.has("dept")) store->save_organisation(org);
    const auto [record, key] = store::create_api_key(*store, name, *role, expires);
    std::cout << "id: " << record.id << "\nkey: " << key << "\n";
    std::cerr << "key " << record.id << " of \"" << name << "\" (" << access::role_name(*role) << ") created; it is shown only "
              << "now, the store keeps its hash\n";
    return 0;
}

int cmd_keys_list(const Args& a) {
    auto store = store::open_store(store_uri(a));
    std::map<std::string, store::Organisation> orgs;
    for (auto& o : store->organisations()) orgs.emplace(o.name, std::move(o));
    const std::string now = text::now_iso8601();
    std::cout << "id\torganisation\tkind\tadherent\tterritory\trole\tcreated\texpires\tlast_used\tstatus\n";
    for (const auto& k : store->api_keys()) {
        const auto o = orgs.find(k.organisation);
        std::string territory;
        if (o != orgs.end())
            for (const auto* list : {&o->second.insee, &o->second.depts})
                for (const auto& c : *list) territory += (territory.empty() ? "" : ",") + c;
        std::cout << k.id << '\t' << k.organisation << '\t' << (o != orgs.end() ? access::org_kind_name(o->second.kind) : "") << '\t'
                  << (o != orgs.end() && o->second.adherent ? "yes" : "no") << '\t' << (territory.empty() ? "-" : territory) << '\t'
                  << access::role_name(k.role) << '\t' << k.created << '\t' << (k.expires.empty() ? "never" : k.expires) << '\t'
                  << (k.last_used.empty() ? "never" : k.last_used) << '\t'
                  << (k.revoked ? "revoked" : k.expired(now) ? "expired" : "active") << '\n';
    }
    return 0;
}

int cmd_keys_revoke(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("keys revoke needs one key ID (ideo keys list shows them)");
    auto store = store::open_store(store_uri(a));
    if (!store->revoke_api_key(a.positional[0])) throw InputError("no key \"" + a.positional[0] + "\" in " + store_uri(a));
    std::cout << "revoked " << a.positional[0] << " (servers refuse it within their 2 s poll)\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Args a = parse_args(argc, argv);
        if (a.verb == "import") return cmd_import(a, false);
        if (a.verb == "check") return cmd_import(a, true);
        if (a.verb == "harvest") return cmd_harvest(a);
        if (a.verb == "serve") return cmd_serve(a);
        if (a.verb == "extract") return cmd_extract(a);
        if (a.verb == "coverage") return cmd_coverage(a);
        if (a.verb == "schema") return cmd_schema(a);
        if (a.verb == "arrete") return cmd_arrete(a);
        if (a.verb == "keys create") return cmd_keys_create(a);
        if (a.verb == "keys list") return cmd_keys_list(a);
        if (a.verb == "keys revoke") return cmd_keys_revoke(a);
        if (a.verb == "help" || a.verb == "--help" || a.verb == "-h") {
            std::cout << kUsage;
            return 0;
        }
        throw UsageError("unknown verb \"" + a.verb + "\"");
    } catch (const UsageError& e) {
        std::cerr << "ideo: " << e.what() << "\n\n" << kUsage;
        return 2;
    } catch (const InputError& e) {
        std::cerr << "ideo: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "ideo: " << e.what() << "\n";
        return 1;
    }
}
