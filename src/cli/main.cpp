// The ideo command line: one binary, a few verbs (ARCHITECTURE.md).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ideo/core/error.hpp"
#include "ideo/core/layer.hpp"
#include "ideo/deci/extract.hpp"
#include "ideo/harvest/pipeline.hpp"
#include "ideo/index/snapshot.hpp"
#include "ideo/server/server.hpp"
#include "ideo/store/store.hpp"

namespace fs = std::filesystem;
using namespace ideo;

namespace {

constexpr const char* kUsage = R"(usage:
  ideo harvest  [--layers DIR] [--store URI] [--only SOURCE...]   import every configured partner source once
  ideo serve    [--layers DIR] [--store URI] [--listen 127.0.0.1:8080] [--threads N]
  ideo import   LAYER FILE [--store URI] [--layers DIR] [--source ID] [--json]
  ideo check    LAYER FILE [--layers DIR] [--json]                 validate a partner file, print the report, change nothing
  ideo extract  INSEE --format xlsx [--crs EPSG:2154] -o FILE [--store URI] [--layers DIR]

--layers defaults to ./layers, --store to var/ideo.gpkg.
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

const std::map<std::string, int> kFlags = {{"json", 0}, {"only", -1}};  // 0: no value, -1: values until next option

Args parse_args(int argc, char** argv) {
    Args a;
    if (argc < 2) throw UsageError("no verb given");
    a.verb = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string s = argv[i];
        if (s.rfind("--", 0) == 0) {
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
                while (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) vals.push_back(argv[++i]);
                continue;
            }
            if (i + 1 >= argc) throw UsageError("option --" + key + " needs a value");
            vals.push_back(argv[++i]);
        } else if (s == "-o") {
            if (i + 1 >= argc) throw UsageError("option -o needs a file name");
            a.options["output"].push_back(argv[++i]);
        } else {
            a.positional.push_back(s);
        }
    }
    return a;
}

std::string store_uri(const Args& a) { return a.get("store", "var/ideo.gpkg"); }
LayerCatalog catalog(const Args& a) { return load_layers(a.get("layers", "layers")); }

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

int cmd_import(const Args& a, bool dry_run) {
    if (a.positional.size() != 2) throw UsageError(std::string(dry_run ? "check" : "import") + " needs LAYER and FILE");
    const auto cat = catalog(a);
    const LayerSpec& layer = cat.get(a.positional[0]);
    const std::string& file = a.positional[1];
    SourceSpec source = harvest::source_for(layer, file);
    if (a.has("source")) {
        const SourceSpec* declared = layer.find_source(a.get("source"));
        if (declared) {
            source = *declared;
        } else {
            source.id = a.get("source");
        }
    }
    std::unique_ptr<store::Store> store;
    // A check changes nothing: it reads the store only when one already exists.
    if (!dry_run || (store_uri(a).rfind("PG:", 0) != 0 && fs::exists(store_uri(a)))) store = store::open_store(store_uri(a));
    const auto communes = harvest::load_communes(cat, store.get());
    auto result = harvest::import_file(layer, source, file, communes.get(), dry_run ? nullptr : store.get(),
                                       fault_options());
    print_report(result.report, a.has("json"));
    if (result.publication && !a.has("json"))
        std::cout << "published " << layer.id << " version " << result.publication->version << " ("
                  << result.publication->count << " records from " << source.id << ")\n";
    return 0;
}

int cmd_harvest(const Args& a) {
    const auto cat = catalog(a);
    auto store = store::open_store(store_uri(a));
    std::vector<std::string> only;
    if (a.has("only")) only = a.options.at("only");
    auto wanted = [&](const LayerSpec& l, const SourceSpec& s) {
        if (only.empty()) return true;
        for (const auto& o : only)
            if (o == s.id || o == l.id) return true;
        return false;
    };
    // Communes first: every other layer takes its INSEE codes from them.
    std::vector<const LayerSpec*> order;
    if (const auto* c = cat.find("communes")) order.push_back(c);
    for (const auto& l : cat.layers)
        if (l.id != "communes") order.push_back(&l);
    int failed = 0;
    std::shared_ptr<const index::CommuneIndex> communes;
    for (const LayerSpec* layer : order) {
        if (layer->id != "communes" && !communes) communes = harvest::load_communes(cat, store.get());
        for (const auto& src : layer->sources) {
            if (!wanted(*layer, src)) continue;
            if (src.protocol != "file") {
                std::cout << layer->id << "/" << src.id << ": skipped, protocol " << src.protocol
                          << " is not harvested yet\n";
                continue;
            }
            try {
                auto r = harvest::import_file(*layer, src, src.url, communes.get(), store.get(), fault_options());
                const auto& c = r.report;
                std::cout << layer->id << "/" << src.id << ": read " << c.read << ", published " << c.published
                          << " (repaired " << c.repaired << ", flagged " << c.flagged << "), rejected " << c.rejected
                          << ", superseded " << c.superseded << " -> version " << r.publication->version << "\n";
            } catch (const std::exception& e) {
                // One failing partner never stops the others; its last good data stays published.
                ++failed;
                std::cout << layer->id << "/" << src.id << ": FAILED, last published data kept: " << e.what() << "\n";
            }
        }
    }
    return failed ? 3 : 0;
}

std::pair<std::string, unsigned short> parse_listen(const std::string& s) {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) throw InputError("--listen expects HOST:PORT, got \"" + s + "\"");
    const int port = std::atoi(s.c_str() + colon + 1);
    if (port < 0 || port > 65535 || (port == 0 && s.substr(colon + 1) != "0"))
        throw InputError("--listen: invalid port in \"" + s + "\"");
    return {s.substr(0, colon), static_cast<unsigned short>(port)};
}

int cmd_serve(const Args& a) {
    const auto cat = catalog(a);
    auto store = store::open_store(store_uri(a));
    index::SnapshotHolder holder;
    holder.set(index::load_snapshot(*store, cat));
    server::ServerOptions opt;
    std::tie(opt.address, opt.port) = parse_listen(a.get("listen", "127.0.0.1:8080"));
    if (a.has("threads")) opt.threads = static_cast<unsigned>(std::atoi(a.get("threads").c_str()));
    opt.web_dir = "web";
    opt.styles_dir = "styles";
    server::Server server(opt, holder);

    // Publishes by other processes (ideo import, ideo harvest) are picked up by polling the store's
    // version; the new snapshot is swapped in atomically, requests in flight finish on the old one.
    std::atomic<bool> stopping{false};
    std::thread watcher([&] {
        std::int64_t seen = holder.get()->version;
        while (!stopping) {
            for (int i = 0; i < 20 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (stopping) break;
            try {
                const auto v = store->version();
                if (v != seen) {
                    holder.set(index::load_snapshot(*store, cat));
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

int cmd_extract(const Args& a) {
    if (a.positional.size() != 1) throw UsageError("extract needs one INSEE code");
    if (!a.has("output")) throw UsageError("extract needs -o FILE");
    const auto cat = catalog(a);
    auto store = store::open_store(store_uri(a));
    const auto snapshot = index::load_snapshot(*store, cat);
    deci::ExtractRequest req;
    req.insee = a.positional[0];
    req.format = a.get("format", "xlsx");
    req.crs = a.get("crs", "EPSG:2154");
    const auto file = deci::build_extract(*snapshot, req);
    const std::string out = a.get("output");
    const std::string tmp = out + ".part";
    {
        std::ofstream f(tmp, std::ios::binary);
        f.write(file.bytes.data(), static_cast<std::streamsize>(file.bytes.size()));
        if (!f) throw Error("cannot write " + tmp);
    }
    fs::rename(tmp, out);  // never a half-written file under the final name
    std::cout << "wrote " << out << " (" << file.filename << ", " << file.bytes.size() << " bytes)\n";
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
