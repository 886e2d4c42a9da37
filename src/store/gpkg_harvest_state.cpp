// Harvest bookkeeping in the GeoPackage: ideo_harvest_state (one row per partner resource) and
// ideo_harvest_runs (one row per partner per run). Both stay small (hundreds of rows), so lookups read
// them whole through OGR; only a catalogue harvest's write, inside its transaction, filters in SQL.
#include <algorithm>
#include <set>

#include "gpkg_store.hpp"
#include "gpkg_util.hpp"
#include "ideo/core/text.hpp"

namespace ideo::store {
namespace {

namespace fs = std::filesystem;
using gpkg::Dataset;

constexpr const char* kState = "ideo_harvest_state";
constexpr const char* kRuns = "ideo_harvest_runs";

using gpkg::fail;

Dataset open(const fs::path& path, bool update) { return gpkg::open_dataset(path, update); }

const std::vector<gpkg::Column> kStateColumns = {{"partner"}, {"resource"}, {"etag"}, {"last_modified"}, {"content_hash"},
                                                 {"records", OFTInteger64}, {"checked_at"}, {"detail"}};
const std::vector<gpkg::Column> kRunColumns = {{"run_id"}, {"partner"}, {"recorded_at"}, {"report_json"}};

ResourceState state_of(OGRFeature& f) {
    ResourceState s;
    s.partner = f.GetFieldAsString("partner");
    s.resource = f.GetFieldAsString("resource");
    s.etag = f.GetFieldAsString("etag");
    s.last_modified = f.GetFieldAsString("last_modified");
    s.content_hash = f.GetFieldAsString("content_hash");
    s.records = static_cast<std::size_t>(std::max<GIntBig>(0, f.GetFieldAsInteger64("records")));
    s.checked_at = f.GetFieldAsString("checked_at");
    if (const int i = f.GetFieldIndex("detail"); i >= 0) s.detail = f.GetFieldAsString(i);
    return s;
}

void set_row(OGRFeature& row, const ResourceState& state) {
    row.SetField("partner", state.partner.c_str());
    row.SetField("resource", state.resource.c_str());
    row.SetField("etag", state.etag.c_str());
    row.SetField("last_modified", state.last_modified.c_str());
    row.SetField("content_hash", state.content_hash.c_str());
    row.SetField("records", static_cast<GIntBig>(state.records));
    row.SetField("checked_at", (state.checked_at.empty() ? text::now_iso8601() : state.checked_at).c_str());
    row.SetField("detail", state.detail.c_str());
}

}  // namespace

std::optional<ResourceState> gpkg_resource_state(const fs::path& path, const std::string& partner,
                                                 const std::string& resource) {
    auto ds = open(path, false);
    OGRLayer* t = ds->GetLayerByName(kState);
    if (!t) return std::nullopt;
    for (const auto& f : *t)
        if (partner == f->GetFieldAsString("partner") && resource == f->GetFieldAsString("resource")) return state_of(*f);
    return std::nullopt;
}

void gpkg_save_resource_state(const fs::path& path, const ResourceState& state) {
    auto ds = open(path, true);
    OGRLayer* t = gpkg::attribute_table(*ds, path, kState, kStateColumns);
    GIntBig fid = OGRNullFID;
    for (const auto& f : *t)
        if (state.partner == f->GetFieldAsString("partner") && state.resource == f->GetFieldAsString("resource"))
            fid = f->GetFID();
    OGRFeature row(t->GetLayerDefn());
    set_row(row, state);
    row.SetFID(fid);
    CPLErrorReset();
    const OGRErr err = fid == OGRNullFID ? t->CreateFeature(&row) : t->SetFeature(&row);
    if (err != OGRERR_NONE) fail(path, std::string("table ") + kState + ": cannot save the state of " + state.resource);
}

std::vector<ResourceState> gpkg_resource_states(const fs::path& path, const std::string& partner) {
    auto ds = open(path, false);
    OGRLayer* t = ds->GetLayerByName(kState);
    std::vector<ResourceState> out;
    if (!t) return out;
    for (const auto& f : *t)
        if (partner == f->GetFieldAsString("partner")) out.push_back(state_of(*f));
    return out;
}

void gpkg_write_resource_states(GDALDataset& ds, const fs::path& path, const std::string& partner,
                                const std::vector<ResourceState>& states, bool drop_others) {
    OGRLayer* t = gpkg::attribute_table(ds, path, kState, kStateColumns);
    std::string sql = std::string("DELETE FROM ") + kState + " WHERE partner = " + gpkg::sql_literal(partner);
    if (!drop_others) {
        if (states.empty()) return;
        sql += " AND resource IN (";
        for (std::size_t i = 0; i < states.size(); ++i) sql += (i ? ", " : "") + gpkg::sql_literal(states[i].resource);
        sql += ")";
    }
    gpkg::exec(ds, path, sql, std::string("table ") + kState + ": cannot replace the states of " + partner);
    OGRFeature row(t->GetLayerDefn());
    for (const auto& s : states) {
        set_row(row, s);
        row.SetFID(OGRNullFID);
        CPLErrorReset();
        if (t->CreateFeature(&row) != OGRERR_NONE) fail(path, std::string("table ") + kState + ": cannot save the state of " + s.resource);
    }
}

void gpkg_record_harvest_run(const fs::path& path, const std::string& run_id, const std::string& partner,
                             const std::string& report_json) {
    auto ds = open(path, true);
    OGRLayer* t = gpkg::attribute_table(*ds, path, kRuns, kRunColumns);
    OGRFeature row(t->GetLayerDefn());
    row.SetField("run_id", run_id.c_str());
    row.SetField("partner", partner.c_str());
    row.SetField("recorded_at", text::now_iso8601().c_str());
    row.SetField("report_json", report_json.c_str());
    CPLErrorReset();
    if (t->CreateFeature(&row) != OGRERR_NONE)
        fail(path, std::string("table ") + kRuns + ": cannot record run " + run_id + " of " + partner);
}

std::vector<HarvestRunEntry> gpkg_harvest_runs(const fs::path& path, std::size_t runs) {
    auto ds = open(path, false);
    OGRLayer* t = ds->GetLayerByName(kRuns);
    if (!t) return {};
    std::vector<HarvestRunEntry> all;
    for (const auto& f : *t)
        all.push_back({f->GetFieldAsString("run_id"), f->GetFieldAsString("partner"), f->GetFieldAsString("recorded_at"),
                       f->GetFieldAsString("report_json")});
    // Rows are appended in time order: walk back from the newest until `runs` distinct runs are seen.
    std::vector<HarvestRunEntry> out;
    std::set<std::string> seen;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        if (!seen.count(it->run_id)) {
            if (seen.size() == runs) break;
            seen.insert(it->run_id);
        }
        out.push_back(std::move(*it));
    }
    return out;
}

}  // namespace ideo::store
