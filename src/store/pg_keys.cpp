// Organisations and API keys in PostGIS: ideo_organisations (unique on name) and ideo_api_keys (unique on
// key_hash), as the GeoPackage keeps them (gpkg_keys.cpp).
#include <cstring>

#include "ideo/core/error.hpp"
#include "pg_store.hpp"
#include "store_common.hpp"

namespace ideo::store::pg {
namespace {

std::string text_at(const PGresult* r, int row, int column) {
    return std::string(PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column)));
}

const char* const kOrgColumns = "name, kind, adherent, insee, depts";
const char* const kKeyColumns = "id, organisation, role, key_hash, created, expires, last_used, revoked";

Organisation org_at(const PGresult* r, int row, int first = 0) {
    Organisation o;
    o.name = text_at(r, row, first);
    o.kind = access::parse_org_kind(text_at(r, row, first + 1)).value_or(access::OrgKind::None);
    o.adherent = std::strcmp(PQgetvalue(r, row, first + 2), "0") != 0;
    o.insee = split_flags(text_at(r, row, first + 3));
    o.depts = split_flags(text_at(r, row, first + 4));
    return o;
}

ApiKey key_at(const PGresult* r, int row) {
    ApiKey k;
    k.id = text_at(r, row, 0);
    k.organisation = text_at(r, row, 1);
    k.role = access::parse_role(text_at(r, row, 2)).value_or(access::Role::Anonymous);
    k.key_hash = text_at(r, row, 3);
    k.created = text_at(r, row, 4);
    k.expires = text_at(r, row, 5);
    k.last_used = text_at(r, row, 6);
    k.revoked = std::strcmp(PQgetvalue(r, row, 7), "0") != 0;
    return k;
}

}  // namespace

void save_organisation(Session& s, const Organisation& org) {
    s.exec(std::string("INSERT INTO ideo_organisations (") + kOrgColumns +
               ") VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET kind = $2, adherent = $3, insee = $4, depts = $5",
           "table ideo_organisations: cannot save organisation " + org.name,
           {org.name, std::string(access::org_kind_name(org.kind)), org.adherent ? "1" : "0", join_flags(org.insee),
            join_flags(org.depts)});
}

// Every row of a query, each read by `at`.
template <class At>
auto rows(Session& s, const std::string& sql, const std::string& what, At at) {
    const Result r = s.exec(sql, what);
    std::vector<decltype(at(r.get(), 0))> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(at(r.get(), i));
    return out;
}

std::vector<Organisation> organisations(Session& s) {
    return rows(s, std::string("SELECT ") + kOrgColumns + " FROM ideo_organisations ORDER BY name COLLATE \"C\"",
                "table ideo_organisations: cannot read it", [](const PGresult* r, int i) { return org_at(r, i); });
}

void add_api_key(Session& s, const ApiKey& k) {
    const Result org = s.exec("SELECT 1 FROM ideo_organisations WHERE name = $1", "table ideo_organisations: cannot read it",
                              {k.organisation});
    if (PQntuples(org.get()) == 0) throw InputError(s.name() + ": no organisation \"" + k.organisation + "\"");
    s.exec(std::string("INSERT INTO ideo_api_keys (") + kKeyColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
           "table ideo_api_keys: cannot add key " + k.id,
           {k.id, k.organisation, std::string(access::role_name(k.role)), k.key_hash, k.created, k.expires, k.last_used,
            k.revoked ? "1" : "0"});
}

std::vector<ApiKey> api_keys(Session& s) {
    return rows(s, std::string("SELECT ") + kKeyColumns + " FROM ideo_api_keys ORDER BY fid", "table ideo_api_keys: cannot read it",
                key_at);
}

bool revoke_api_key(Session& s, const std::string& id) {
    const Result r = s.exec("UPDATE ideo_api_keys SET revoked = 1 WHERE id = $1 RETURNING id", "table ideo_api_keys: cannot revoke key " + id,
                            {id});
    return PQntuples(r.get()) > 0;
}

std::optional<KeyGrant> find_api_key(Session& s, const std::string& key_hash) {
    const Result r = s.exec(std::string("SELECT k.id, k.organisation, k.role, k.key_hash, k.created, k.expires, k.last_used, k.revoked, ") +
                                "o.name, o.kind, o.adherent, o.insee, o.depts FROM ideo_api_keys k "
                                "JOIN ideo_organisations o ON o.name = k.organisation WHERE k.key_hash = $1",
                            "table ideo_api_keys: cannot look a key up", {key_hash});
    if (PQntuples(r.get()) == 0) return std::nullopt;
    KeyGrant g{key_at(r.get(), 0), org_at(r.get(), 0, 8)};
    if (!same_key_hash(g.key.key_hash, key_hash)) return std::nullopt;
    return g;
}

void record_key_uses(Session& s, const std::vector<std::pair<std::string, std::string>>& uses) {
    if (uses.empty()) return;
    std::vector<std::string> ids, times;
    for (const auto& [id, time] : uses) {
        ids.push_back(id);
        times.push_back(time);
    }
    s.exec("UPDATE ideo_api_keys k SET last_used = u.at FROM unnest($1::text[], $2::text[]) AS u(id, at) WHERE k.id = u.id",
           "table ideo_api_keys: cannot record the keys' last uses", {text_array(ids), text_array(times)});
}

}  // namespace ideo::store::pg
