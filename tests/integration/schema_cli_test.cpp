// The schéma communal end to end, on the Marseille 10e road fixture with ERP placed in the box that has
// no hydrant: the endpoint's road-mode plan, checked by publishing its new hydrants as PEI in a second
// store and asking that server's coverage (along the roads) whether the ERP are covered now; the CLI
// with both solvers; bad input named (unknown commune, negative budget, rules without a cost table).
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <utility>

#include "test_support.hpp"

using namespace ideo::test;
namespace fs = std::filesystem;

namespace {

rapidjson::Document parse_json(const std::string& body) {
    rapidjson::Document d;
    d.Parse(body.c_str(), body.size());
    EXPECT_FALSE(d.HasParseError()) << body.substr(0, 300);
    return d;
}

// ERP in the fixture's box without hydrants (Lambert-93), in the préfecture's CSV layout (its header line).
const std::vector<std::tuple<std::string, std::string, double, double>> kErp{
    {"ERP13TEST1", "5", 896900, 6244350}, {"ERP13TEST2", "3", 896600, 6244100}, {"ERP13TEST3", "5", 897200, 6244650}};

std::string write_erp_csv(const fs::path& dir) {
    const std::string original = read_file(data("deci/erp-90-prefecture.csv"));
    std::string csv = original.substr(0, original.find('\n') + 1);
    for (const auto& [id, cat, x, y] : kErp) {
        auto comma = [](double v) {
            std::string s = std::to_string(static_cast<long long>(v)) + ",00";
            return s;
        };
        csv += id + ";Etablissement test;R;" + cat + ";1 rue du Test;13210;MARSEILLE 10E;100;" + comma(x) + ";" + comma(y) +
               ";01/01/2024\r\n";
    }
    const fs::path out = dir / "erp-13210-test.csv";
    std::ofstream(out, std::ios::binary) << csv;
    return out.string();
}

std::set<std::string> risks_of(const rapidjson::Value& feature) {
    std::set<std::string> out;
    for (const auto& r : feature["properties"]["risks"].GetArray()) out.insert(r["id"].GetString());
    return out;
}

}  // namespace

class SchemaCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        store_ = (dir_->path() / "ideo.gpkg").string();
        erp_ = write_erp_csv(dir_->path());
        setup_error_ = import_files(store_, {{"communes", data("roads/zone-13210-marseille10.geojson").string()},
                                             {"roads", data("roads/troncon_route_marseille10.gpkg").string()},
                                             {"pei", data("deci/pei-13210-marseille10.geojson").string()}});
        if (setup_error_.empty()) {
            const auto r = run_ideo({"import", "erp", erp_, "--store", store_, "--source", "prefecture90"});
            if (r.exit_code != 0) setup_error_ = "import erp: " + r.err;
        }
        if (!setup_error_.empty()) return;
        setup_error_ = start_server(server_, {"--store", store_});
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
        delete dir_;
        dir_ = nullptr;
    }
    void SetUp() override {
        if (!setup_error_.empty()) FAIL() << setup_error_;
    }
    static HttpResponse get(const std::string& target) { return http_get(server_->port(), target); }

    static TempDir* dir_;
    static std::string store_, erp_;
    static ServerProcess* server_;
    static std::string setup_error_;
};

TempDir* SchemaCli::dir_ = nullptr;
std::string SchemaCli::store_, SchemaCli::erp_;
ServerProcess* SchemaCli::server_ = nullptr;
std::string SchemaCli::setup_error_;

TEST_F(SchemaCli, RoadPlanHydrantsCoverTheBoxErpWhenPublishedAsPei) {
    const HttpResponse r = get("/deci/communes/13210/schema?mode=road");
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 400);
    const auto d = parse_json(r.body);
    const auto& s = d["summary"];
    EXPECT_STREQ(s["mode"].GetString(), "road");
    EXPECT_NE(std::string(s["estimate"].GetString()).find("pas une étude d'ingénierie"), std::string::npos);
    ASSERT_EQ(s["risks_total"].GetUint(), kErp.size());
    // Covered before: what the coverage answer says, and at least the one in the middle of the box is not.
    std::set<std::string> before;
    const auto cov = parse_json(get("/deci/communes/13210/coverage?mode=road").body);
    for (const auto& f : cov["features"].GetArray())
        if (f["properties"].HasMember("layer") && f["properties"]["covered"].GetBool()) before.insert(f["properties"]["id"].GetString());
    EXPECT_EQ(s["covered_before"].GetUint(), before.size());
    EXPECT_FALSE(before.count("ERP13TEST1"));
    EXPECT_EQ(s["covered_after"].GetUint(), kErp.size());
    EXPECT_EQ(s["not_covered"].Size(), 0u);
    std::set<std::string> covered;
    double total = 0;
    for (const auto& f : d["features"].GetArray()) {
        total += f["properties"]["cost"].GetDouble();
        for (const auto& id : risks_of(f)) EXPECT_TRUE(covered.insert(id).second) << id << " covered twice";
    }
    EXPECT_NEAR(total, s["total_cost"].GetDouble(), 0.01 * d["features"].Size() + 1e-6);
    for (const auto& [id, cat, x, y] : kErp) EXPECT_NE(covered.count(id), before.count(id)) << id;

    // Publish the plan: the fixture's PEI, the upgrades applied, the new hydrants and reserves added.
    auto pei = parse_json(read_file(data("deci/pei-13210-marseille10.geojson")));
    auto& alloc = pei.GetAllocator();
    int n = 0;
    for (const auto& f : d["features"].GetArray()) {
        const auto& p = f["properties"];
        const bool add = std::string(p["kind"].GetString()) == "add";
        rapidjson::Value* target = nullptr;
        if (!add)
            for (auto& e : pei["features"].GetArray())
                if (std::string(e["properties"]["id_sdis"].GetString()) == p["pei"].GetString()) target = &e;
        rapidjson::Value feature;
        if (add) {
            feature.CopyFrom(pei["features"][0], alloc);
            feature["properties"]["id_sdis"].SetString(("13210_PLAN" + std::to_string(++n)).c_str(), alloc);
            feature["properties"]["type_pei"].SetString(p["type_pei"].GetString(), alloc);
            feature["geometry"]["coordinates"].CopyFrom(f["geometry"]["coordinates"], alloc);
            feature["properties"].RemoveMember("x");
            feature["properties"].RemoveMember("y");
            feature["properties"]["lon"] = f["geometry"]["coordinates"][0].GetDouble();
            feature["properties"]["lat"] = f["geometry"]["coordinates"][1].GetDouble();
            target = &feature;
        }
        ASSERT_TRUE(target) << "upgrade of an unknown PEI";
        auto& props = (*target)["properties"];
        props["disponible"] = 1;
        if (p.HasMember("debit")) props["debit"] = p["debit"].GetDouble();
        if (p.HasMember("volume")) {
            props.RemoveMember("volume");
            props.AddMember("volume", p["volume"].GetDouble(), alloc);
        }
        if (add) pei["features"].PushBack(feature, alloc);
    }
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    pei.Accept(w);
    const fs::path planned = dir_->path() / "pei-13210-planned.geojson";
    std::ofstream(planned, std::ios::binary) << buf.GetString();
    const std::string store2 = (dir_->path() / "planned.gpkg").string();
    ASSERT_EQ(import_files(store2, {{"communes", data("roads/zone-13210-marseille10.geojson").string()},
                                    {"roads", data("roads/troncon_route_marseille10.gpkg").string()},
                                    {"pei", planned.string()}}),
              "");
    ASSERT_EQ(run_ideo({"import", "erp", erp_, "--store", store2, "--source", "prefecture90"}).exit_code, 0);
    const fs::path out = dir_->path() / "after.geojson";
    const auto c = run_ideo({"coverage", "13210", "--mode", "road", "--store", store2, "-o", out.string()});
    ASSERT_EQ(c.exit_code, 0) << c.err;
    const auto after = parse_json(read_file(out));
    std::size_t seen = 0;
    for (const auto& f : after["features"].GetArray()) {
        const auto& p = f["properties"];
        if (!p.HasMember("layer") || std::string(p["layer"].GetString()) != "erp") continue;
        seen++;
        EXPECT_TRUE(p["covered"].GetBool()) << p["id"].GetString() << " not covered along the roads once the plan is published: "
                                            << (p["reason"].IsString() ? p["reason"].GetString() : "");
    }
    EXPECT_EQ(seen, kErp.size());
}

TEST_F(SchemaCli, CliExactPlanIsNoWorseThanGreedyAndBudgetCapsIt) {
    double cost[2];
    unsigned actions[2];
    int k = 0;
    for (const char* solver : {"greedy", "exact"}) {
        const fs::path out = dir_->path() / (std::string("plan-") + solver + ".geojson");
        const auto r = run_ideo({"schema", "13210", "--mode", "road", "--solver", solver, "--store", store_, "-o", out.string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto d = parse_json(read_file(out));
        EXPECT_STREQ(d["summary"]["solver"].GetString(), solver);
        cost[k] = d["summary"]["total_cost"].GetDouble();
        actions[k++] = d["summary"]["actions"].GetUint();
    }
    EXPECT_TRUE(actions[0] > actions[1] || (actions[0] == actions[1] && cost[0] >= cost[1] - 0.01));
    // The department view: one CSV line per commune, the same plan as the commune's own.
    const fs::path csv = dir_->path() / "plan-13.csv";
    const auto dept = run_ideo({"schema", "13", "--mode", "road", "--solver", "exact", "--store", store_, "-o", csv.string()});
    ASSERT_EQ(dept.exit_code, 0) << dept.err;
    const std::string text = read_file(csv);
    const auto line = text.find("\n13210;");
    ASSERT_NE(line, std::string::npos) << text;
    std::vector<std::string> cells;
    std::string cell;
    for (std::size_t i = line + 1; i < text.size() && text[i] != '\n'; ++i) {
        if (text[i] == ';') cells.push_back(std::exchange(cell, {}));
        else cell += text[i];
    }
    cells.push_back(cell);
    ASSERT_GE(cells.size(), 8u);
    EXPECT_EQ(std::stoul(cells[5]), actions[1]);
    EXPECT_NEAR(std::stod(cells[6]), cost[1], 1.0);
    const HttpResponse r = get("/deci/communes/13210/schema?mode=road&budget=" + std::to_string(cost[1] / 2));
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    const auto d = parse_json(r.body);
    EXPECT_LE(d["summary"]["total_cost"].GetDouble(), cost[1] / 2 + 0.01);
    EXPECT_GT(d["summary"]["not_covered"].Size(), 0u);
}

TEST_F(SchemaCli, BadInputIsNamed) {
    EXPECT_EQ(get("/deci/communes/99999/schema").status, 404);
    for (const auto& [query, name] : {std::pair{"budget=-5", "budget"}, {"budget=lots", "budget"}, {"solver=magic", "solver"},
                                      {"mode=helicopter", "mode"}, {"colour=red", "colour"}}) {
        const HttpResponse r = get(std::string("/deci/communes/13210/schema?") + query);
        EXPECT_EQ(r.status, 400) << query;
        EXPECT_NE(r.body.find(name), std::string::npos) << query << ": " << r.body;
    }
    const auto api = get("/api");
    EXPECT_NE(api.body.find("/deci/communes/{insee}/schema"), std::string::npos);
    const std::string out = (dir_->path() / "x.geojson").string();
    auto r = run_ideo({"schema", "99999", "--store", store_, "-o", out});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("99999"), std::string::npos) << r.err;
    r = run_ideo({"schema", "13210", "--budget", "-3", "--store", store_, "-o", out});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("budget"), std::string::npos) << r.err;
    r = run_ideo({"schema", "13210", "--colour", "red", "--store", store_, "-o", out});
    EXPECT_EQ(r.exit_code, 2);
    // Rules without a cost table: a copy of the layers whose default lost it.
    const fs::path layers = dir_->path() / "layers";
    fs::copy(layers_dir(), layers, fs::copy_options::recursive);
    std::string def = read_file(layers / "deci-rules" / "default.json");
    def.replace(def.find("\"costs\":"), 8, "\"no_costs\":");
    fs::permissions(layers / "deci-rules" / "default.json", fs::perms::owner_write, fs::perm_options::add);
    std::ofstream(layers / "deci-rules" / "default.json", std::ios::binary | std::ios::trunc) << def;
    r = run_ideo({"schema", "13210", "--store", store_, "--layers", layers.string(), "-o", out});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("costs"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out));
}
