// Organisations and API keys in the GeoPackage: ideo_organisations (one row per organisation, unique on
// name) and ideo_api_keys (one row per key, its SHA-256 only). Both small: reads by SQL, writes through OGR.
#include "gpkg_store.hpp"
#include "gpkg_util.hpp"
#include "ideo/core/error.hpp"
#include "store_common.hpp"

namespace ideo::store {
namespace {

namespace fs = std::filesystem;
using gpkg::sql_literal;

constexpr const char* kOrgs = "ideo_organisations";
constexpr const char* kKeys = "ideo_api_keys";
const std::vector<gpkg::Column> kOrgColumns = {{"name"}, {"kind"}, {"adherent", OFTInteger}, {"insee"}, {"depts"}};
const std::vector<gpkg::Column> kKeyColumns = {{"id"},      {"organisation"}, {"role"},      {"key_hash"},
                                               {"created"}, {"expires"},      {"last_used"}, {"revoked", OFTInteger}};

Organisation org_of(OGRFeature& f) {
    Organisation o;
    o.name = f.GetFieldAsString("name");
    o.kind = access::parse_org_kind(f.GetFieldAsString("kind")).value_or(access::OrgKind::None);
    o.adherent = f.GetFieldAsInteger("adherent") != 0;
    o.insee = split_flags(f.GetFieldAsString("insee"));
    o.depts = split_flags(f.GetFieldAsString("depts"));
    return o;
}

ApiKey key_of(OGRFeature& f) {
    ApiKey k;
    k.id = f.GetFieldAsString("id");
    k.organisation = f.GetFieldAsString("organisation");
    k.role = access::parse_role(f.GetFieldAsString("role")).value_or(access::Role::Anonymous);
    k.key_hash = f.GetFieldAsString("key_hash");
    k.created = f.GetFieldAsString("created");
    k.expires = f.GetFieldAsString("expires");
    k.last_used = f.GetFieldAsString("last_used");
    k.revoked = f.GetFieldAsInteger("revoked") != 0;
    return k;
}

// The rows of `sql` (a SELECT on one of the tables), each through `read`; none when the table is absent.
template <class T>
std::vector<T> select(const fs::path& path, const char* name, const std::string& where, T (*read)(OGRFeature&)) {
    auto ds = gpkg::open_dataset(path, false);
    std::vector<T> out;
    if (!ds->GetLayerByName(name)) return out;
    const std::string sql = std::string("SELECT * FROM ") + name + where;
    CPLErrorReset();
    gpkg::ResultSet rs(*ds, ds->ExecuteSQL(sql.c_str(), nullptr, nullptr));
    if (!rs || CPLGetLastErrorType() >= CE_Failure) gpkg::fail(path, std::string("table ") + name + ": cannot read it");
    for (const auto& f : *rs) out.push_back(read(*f));
    return out;
}

}  // namespace

void gpkg_save_organisation(const fs::path& path, const Organisation& org) {
    auto ds = gpkg::open_dataset(path, true);
    OGRLayer* t = gpkg::attribute_table(*ds, path, kOrgs, kOrgColumns);
    GIntBig fid = OGRNullFID;
    for (const auto& f : *t)
        if (org.name == f->GetFieldAsString("name")) fid = f->GetFID();
    OGRFeature row(t->GetLayerDefn());
    row.SetField("name", org.name.c_str());
    row.SetField("kind", std::string(access::org_kind_name(org.kind)).c_str());
    row.SetField("adherent", org.adherent ? 1 : 0);
    row.SetField("insee", join_flags(org.insee).c_str());
    row.SetField("depts", join_flags(org.depts).c_str());
    row.SetFID(fid);
    CPLErrorReset();
    if ((fid == OGRNullFID ? t->CreateFeature(&row) : t->SetFeature(&row)) != OGRERR_NONE)
        gpkg::fail(path, std::string("table ") + kOrgs + ": cannot save organisation " + org.name);
}

std::vector<Organisation> gpkg_organisations(const fs::path& path) {
    return select<Organisation>(path, kOrgs, " ORDER BY name", org_of);
}

void gpkg_add_api_key(const fs::path& path, const ApiKey& key) {
    if (select<Organisation>(path, kOrgs, " WHERE name = " + sql_literal(key.organisation), org_of).empty())
        throw InputError(path.string() + ": no organisation \"" + key.organisation + "\"");
    auto ds = gpkg::open_dataset(path, true);
    OGRLayer* t = gpkg::attribute_table(*ds, path, kKeys, kKeyColumns);
    OGRFeature row(t->GetLayerDefn());
    row.SetField("id", key.id.c_str());
    row.SetField("organisation", key.organisation.c_str());
    row.SetField("role", std::string(access::role_name(key.role)).c_str());
    row.SetField("key_hash", key.key_hash.c_str());
    row.SetField("created", key.created.c_str());
    row.SetField("expires", key.expires.c_str());
    row.SetField("last_used", key.last_used.c_str());
    row.SetField("revoked", key.revoked ? 1 : 0);
    CPLErrorReset();
    if (t->CreateFeature(&row) != OGRERR_NONE) gpkg::fail(path, std::string("table ") + kKeys + ": cannot add key " + key.id);
    gpkg::exec(*ds, path, std::string("CREATE UNIQUE INDEX IF NOT EXISTS ideo_api_keys_hash ON ") + kKeys + " (key_hash)",
               std::string("table ") + kKeys + ": cannot index the key hashes");
}

std::vector<ApiKey> gpkg_api_keys(const fs::path& path) { return select<ApiKey>(path, kKeys, " ORDER BY fid", key_of); }

bool gpkg_revoke_api_key(const fs::path& path, const std::string& id) {
    if (select<ApiKey>(path, kKeys, " WHERE id = " + sql_literal(id), key_of).empty()) return false;
    auto ds = gpkg::open_dataset(path, true);
    gpkg::exec(*ds, path, std::string("UPDATE ") + kKeys + " SET revoked = 1 WHERE id = " + sql_literal(id),
               std::string("table ") + kKeys + ": cannot revoke key " + id);
    return true;
}

std::optional<KeyGrant> gpkg_find_api_key(const fs::path& path, const std::string& key_hash) {
    auto keys = select<ApiKey>(path, kKeys, " WHERE key_hash = " + sql_literal(key_hash), key_of);
    if (keys.empty() || !same_key_hash(keys.front().key_hash, key_hash)) return std::nullopt;
    auto orgs = select<Organisation>(path, kOrgs, " WHERE name = " + sql_literal(keys.front().organisation), org_of);
    if (orgs.empty()) return std::nullopt;  // an organisation removed by hand takes its keys with it
    return KeyGrant{std::move(keys.front()), std::move(orgs.front())};
}

void gpkg_record_key_uses(const fs::path& path, const std::vector<std::pair<std::string, std::string>>& uses) {
    if (uses.empty()) return;
    auto ds = gpkg::open_dataset(path, true);
    if (!ds->GetLayerByName(kKeys)) return;
    CPLErrorReset();
    if (ds->StartTransaction() != OGRERR_NONE) gpkg::fail(path, "cannot start recording the keys' last uses");
    try {
        for (const auto& [id, time] : uses)
            gpkg::exec(*ds, path, std::string("UPDATE ") + kKeys + " SET last_used = " + sql_literal(time) + " WHERE id = " + sql_literal(id),
                       std::string("table ") + kKeys + ": cannot record the last use of key " + id);
        if (ds->CommitTransaction() != OGRERR_NONE) gpkg::fail(path, "cannot commit the keys' last uses");
    } catch (...) {
        ds->RollbackTransaction();
        throw;
    }
}

}  // namespace ideo::store
