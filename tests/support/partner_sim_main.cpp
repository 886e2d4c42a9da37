// ideo-partner-sim: the partner simulator as a process, serving the catalogue partners that
// scripts/bench/catalog/make_catalog.py generated (the catalogue benchmark), or the demo's partners
// made of the real answers of ../shared/data/catalog (scripts/demo).
//
//   ideo-partner-sim DIR [--partners-out DIR] [--no-gzip]
//   ideo-partner-sim --recorded ../shared/data/catalog [--partners-out DIR] [--no-gzip]
//
// Prints "listening on http://127.0.0.1:PORT (N partners, M records)" once serving; POST
// /_sim/reload reads DIR again (the partners' new state: records edited, added, withdrawn);
// GET /_sim/requests counts the partners' requests answered so far (?status=304: those answered so). Stops on SIGINT or SIGTERM.
#include <algorithm>
#include <csignal>
#include <iostream>
#include <numeric>

#include "catalog_partners.hpp"
#include "recorded_partners.hpp"

using namespace ideo::test;

namespace {

std::string summary(const std::vector<ServedPartner>& partners) {
    const auto records = std::accumulate(partners.begin(), partners.end(), std::size_t{0},
                                         [](std::size_t n, const ServedPartner& p) { return n + p.records; });
    return std::to_string(partners.size()) + " partners, " + std::to_string(records) + " records";
}

}  // namespace

int main(int argc, char** argv) {
    constexpr const char* usage =
        "usage: ideo-partner-sim DIR [--partners-out DIR] [--no-gzip]\n"
        "       ideo-partner-sim --recorded CATALOG_DIR [--partners-out DIR] [--no-gzip]\n";
    std::string dir, recorded, partners_out;
    bool gzip = true;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--partners-out" && i + 1 < argc) partners_out = argv[++i];
        else if (a == "--recorded" && i + 1 < argc) recorded = argv[++i];
        else if (a == "--no-gzip") gzip = false;
        else if (dir.empty() && a[0] != '-') dir = a;
        else {
            std::cerr << usage;
            return 2;
        }
    }
    if (dir.empty() == recorded.empty()) {
        std::cerr << usage;
        return 2;
    }
    // Signals are waited for, not handled: block them before the simulator's threads start.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
    try {
        PartnerSimulator sim;
        sim.gzip = gzip;
        if (!recorded.empty()) {
            const auto partners = serve_demo_partners(sim, recorded);
            if (!partners_out.empty()) write_demo_partner_files(sim, partners, partners_out);
            std::cout << "listening on " << sim.url("") << " (" << partners.size() << " partners, recorded answers of "
                      << recorded << ")" << std::endl;
            int sig = 0;
            sigwait(&stop, &sig);
            return 0;
        }
        const auto partners = serve_catalogue_partners(sim, dir);
        if (!partners_out.empty()) write_partner_files(sim, dir, partners_out);
        sim.route("/_sim/reload", [&sim, dir](const SimRequest& r) {
            if (r.method != "POST") return SimResponse{405, "text/plain", {}, "POST to reload"};
            return SimResponse{200, "text/plain", {}, summary(serve_catalogue_partners(sim, dir)) + "\n"};
        });
        sim.route("/_sim/requests", [&sim](const SimRequest& r) {
            const auto log = sim.log();
            const std::string status = r.param("status");
            const auto partners = std::count_if(log.begin(), log.end(), [&](const LoggedRequest& l) {
                return l.path.rfind("/_sim/", 0) != 0 && (status.empty() || std::to_string(l.status) == status);
            });
            return SimResponse{200, "text/plain", {}, std::to_string(partners) + "\n"};
        });
        std::cout << "listening on " << sim.url("") << " (" << summary(partners) << ")" << std::endl;
        int sig = 0;
        sigwait(&stop, &sig);
    } catch (const std::exception& e) {
        std::cerr << "ideo-partner-sim: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
