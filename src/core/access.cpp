#include "ideo/core/access.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace ideo::access {
namespace {

constexpr std::array<std::pair<Role, std::string_view>, 5> kRoles = {{
    {Role::Anonymous, "anonymous"}, {Role::Member, "member"}, {Role::Sdis, "sdis"}, {Role::Ars, "ars"}, {Role::Admin, "admin"}}};
constexpr std::array<std::pair<OrgKind, std::string_view>, 6> kKinds = {{
    {OrgKind::None, ""}, {OrgKind::Commune, "commune"}, {OrgKind::Epci, "epci"}, {OrgKind::Sdis, "sdis"},
    {OrgKind::Ars, "ars"}, {OrgKind::Portal, "portal"}}};

}  // namespace

std::string department_of(std::string_view insee) {
    if (insee.size() >= 3 && insee.substr(0, 2) == "97") return std::string(insee.substr(0, 3));
    return std::string(insee.substr(0, std::min<std::size_t>(2, insee.size())));
}

bool Identity::covers(std::string_view insee_code) const {
    if (insee_code.empty()) return false;
    if (std::find(insee.begin(), insee.end(), insee_code) != insee.end()) return true;
    const std::string dept = department_of(insee_code);
    return std::find(depts.begin(), depts.end(), dept) != depts.end();
}

const Identity& anonymous() {
    static const Identity none;
    return none;
}

namespace {

// A value's name in one of the tables above, and back.
template <class T, std::size_t N>
std::string_view name_in(const std::array<std::pair<T, std::string_view>, N>& table, T value, std::string_view fallback) {
    for (const auto& [v, name] : table)
        if (v == value) return name;
    return fallback;
}

template <class T, std::size_t N>
std::optional<T> value_in(const std::array<std::pair<T, std::string_view>, N>& table, std::string_view name) {
    for (const auto& [v, n] : table)
        if (n == name) return v;
    return std::nullopt;
}

}  // namespace

std::string_view role_name(Role role) { return name_in(kRoles, role, "anonymous"); }
std::optional<Role> parse_role(std::string_view name) { return value_in(kRoles, name); }
std::string_view org_kind_name(OrgKind kind) { return name_in(kKinds, kind, ""); }
std::optional<OrgKind> parse_org_kind(std::string_view name) { return value_in(kKinds, name); }

}  // namespace ideo::access
