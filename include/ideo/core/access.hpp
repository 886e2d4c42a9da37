#pragma once
// Who is asking: the identity one request is served for. Made once per request by the server from its
// credential (an API key looked up in the store, or an OpenID Connect token verified against the
// provider's keys), then handed to every read of the snapshot. Anonymous unless a credential proved
// otherwise: default deny.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ideo::access {

// What a caller may do is decided by its role and its territory, never by its name.
enum class Role { Anonymous, Member, Sdis, Ars, Admin };

// The kind of organisation behind a key or a person (its competence).
enum class OrgKind { None, Commune, Epci, Sdis, Ars, Portal };

struct Identity {
    Role role = Role::Anonymous;
    std::string subject;       // the key's id or the token's `sub`; empty for the public
    std::string organisation;  // its name, as registered (audit log, reports); never in public answers
    OrgKind kind = OrgKind::None;
    bool adherent = false;           // a member commune or EPCI of the portal
    std::vector<std::string> insee;  // its territory: communes (INSEE codes)...
    std::vector<std::string> depts;  // ...or whole departments ("21", "2A")
    std::string via;                 // "apikey", "oidc"; empty for the public

    bool anonymous() const { return role == Role::Anonymous; }
    // Whether commune `insee` lies in this caller's territory (its list, or its department's).
    bool covers(std::string_view insee_code) const;
};

// The public: what a request without a (valid) credential is served as.
const Identity& anonymous();

std::string_view role_name(Role role);  // "anonymous", "member", "sdis", "ars", "admin"
std::optional<Role> parse_role(std::string_view name);
std::string_view org_kind_name(OrgKind kind);  // "", "commune", "epci", "sdis", "ars", "portal"
std::optional<OrgKind> parse_org_kind(std::string_view name);

// The department of an INSEE code: "21" of "21231", "2A" of "2A004", "971" of "97105".
std::string department_of(std::string_view insee_code);

// What checking a credential gave: an identity, or why not (for RFC 6750's WWW-Authenticate, never
// echoing the credential).
struct Authentication {
    std::optional<Identity> identity;  // set when the credential is valid
    std::string error;                 // "invalid_token" when it is not
    std::string description;           // "unknown key", "token expired", "signature does not verify"...
};

}  // namespace ideo::access
