// Harvest bookkeeping in the GeoPackage: ideo_harvest_state (one row per partner resource) and
// ideo_harvest_runs (one row per partner per run). Both stay small (hundreds of rows), so they are
// read whole through OGR rather than filtered in SQL: no quoting, no SQL built from partner text.
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

// The table, created with its string columns on first use.
OGRLayer* table(GDALDataset& ds, const fs::path& path, const char* name, const std::vector<const char*>& columns) {
    if (OGRLayer* t = ds.GetLayerByName(name)) return t;
    CPLErrorReset();
    OGRLayer* t = ds.CreateLayer(name, nullptr, wkbNone, nullptr);
    if (!t) fail(path, std::string("table ") + name + ": cannot create it");
    for (const char* c : columns) {
        OGRFieldDefn defn(c, std::string(c) == "records" ? OFTInteger64 : OFTString);
        if (t->CreateField(&defn) != OGRERR_NONE) fail(path, std::string("table ") + name + ": cannot add column " + c);
    }
    return t;
}

const std::vector<const char*> kStateColumns = {"partner", "resource", "etag", "last_modified", "content_hash", "records",
                                                "checked_at"};
const std::vector<const char*> kRunColumns = {"run_id", "partner", "recorded_at", "report_json"};

ResourceState state_of(OGRFeature& f) {
    ResourceState s;
    s.partner = f.GetFieldAsString("partner");
    s.resource = f.GetFieldAsString("resource");
    s.etag = f.GetFieldAsString("etag");
    s.last_modified = f.GetFieldAsString("last_modified");
    s.content_hash = f.GetFieldAsString("content_hash");
    s.records = static_cast<std::size_t>(std::max<GIntBig>(0, f.GetFieldAsInteger64("records")));
    s.checked_at = f.GetFieldAsString("checked_at");
    return s;
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
    OGRLayer* t = table(*ds, path, kState, kStateColumns);
    GIntBig fid = OGRNullFID;
    for (const auto& f : *t)
        if (state.partner == f->GetFieldAsString("partner") && state.resource == f->GetFieldAsString("resource"))
            fid = f->GetFID();
    OGRFeature row(t->GetLayerDefn());
    row.SetField("partner", state.partner.c_str());
    row.SetField("resource", state.resource.c_str());
    row.SetField("etag", state.etag.c_str());
    row.SetField("last_modified", state.last_modified.c_str());
    row.SetField("content_hash", state.content_hash.c_str());
    row.SetField("records", static_cast<GIntBig>(state.records));
    row.SetField("checked_at", (state.checked_at.empty() ? text::now_iso8601() : state.checked_at).c_str());
    row.SetFID(fid);
    CPLErrorReset();
    const OGRErr err = fid == OGRNullFID ? t->CreateFeature(&row) : t->SetFeature(&row);
    if (err != OGRERR_NONE) fail(path, std::string("table ") + kState + ": cannot save the state of " + state.resource);
}

void gpkg_record_harvest_run(const fs::path& path, const std::string& run_id, const std::string& partner,
                             const std::string& report_json) {
    auto ds = open(path, true);
    OGRLayer* t = table(*ds, path, kRuns, kRunColumns);
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
