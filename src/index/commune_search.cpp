#include "ideo/index/commune_search.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>
#include <tuple>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"
#include "ideo/core/json.hpp"

namespace ideo::index {

std::string search_key(std::string_view s) {
    const std::string folded = text::fold_accents_lower(s);
    std::string out;
    out.reserve(folded.size());
    bool gap = false;
    for (std::size_t i = 0; i < folded.size(); ++i) {
        const char c = folded[i];
        // U+2019 (right single quotation mark) is written ’ in many official names.
        const bool typographic_apostrophe = folded.compare(i, 3, "\xE2\x80\x99") == 0;
        if (c == ' ' || c == '-' || c == '\'' || c == '\t' || typographic_apostrophe) {
            if (typographic_apostrophe) i += 2;
            gap = !out.empty();
            continue;
        }
        if (gap) out += ' ';
        gap = false;
        out += c;
    }
    return out;
}

std::map<std::string, std::vector<std::string>, std::less<>> read_postcodes(const std::filesystem::path& file) {
    const rapidjson::Document d = json::parse_file(file, "the postcode list");
    if (!d.IsArray()) throw InputError(file.string() + ": expected an array of communes");
    std::map<std::string, std::vector<std::string>, std::less<>> out;
    std::size_t i = 0;
    for (const auto& c : d.GetArray()) {
        const auto code = c.IsObject() ? c.FindMember("code") : c.MemberEnd();
        if (!c.IsObject() || code == c.MemberEnd() || !code->value.IsString())
            throw InputError(file.string() + ": entry " + std::to_string(i) + ": missing string \"code\"");
        auto& list = out[code->value.GetString()];
        if (auto pc = c.FindMember("codesPostaux"); pc != c.MemberEnd() && pc->value.IsArray())
            for (const auto& p : pc->value.GetArray())
                if (p.IsString()) list.emplace_back(p.GetString(), p.GetStringLength());
        ++i;
    }
    return out;
}

std::filesystem::path postcodes_path(const LayerSpec& communes) {
    if (communes.file.empty()) return {};
    std::ifstream in(communes.file, std::ios::binary);
    if (!in) return {};
    std::stringstream ss;
    ss << in.rdbuf();
    rapidjson::Document d;
    d.Parse(ss.str().c_str());
    if (d.HasParseError() || !d.IsObject()) return {};  // load_layers has already reported a broken file
    const auto it = d.FindMember("postcodes");
    if (it == d.MemberEnd() || !it->value.IsString()) return {};
    return communes.file.parent_path() / it->value.GetString();
}

CommuneSearch::CommuneSearch(const LayerData& communes,
                             std::map<std::string, std::vector<std::string>, std::less<>> postcodes) {
    const int name = communes.spec.field_index(communes.spec.name_field.empty() ? "nom" : communes.spec.name_field);
    entries_.reserve(communes.features.size());
    for (const Feature& f : communes.features) {
        Entry e;
        e.hit.insee = f.id;
        if (name >= 0 && static_cast<std::size_t>(name) < f.values.size()) e.hit.nom = to_text(f.values[name]);
        if (auto it = postcodes.find(f.id); it != postcodes.end()) e.hit.postcodes = it->second;
        e.hit.bbox = f.geometry.envelope;
        e.key = search_key(e.hit.nom);
        entries_.push_back(std::move(e));
    }
}

std::vector<CommuneHit> CommuneSearch::search(std::string_view query, std::size_t limit) const {
    const std::string q = search_key(query);
    if (q.empty() || limit == 0) return {};
    const auto starts = [](std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; };
    // rank 0 exact, 1 prefix, 2 word prefix, 3 substring; ties: shorter name, then name, then code.
    std::vector<std::tuple<int, std::size_t, std::string_view, std::size_t>> ranked;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const Entry& e = entries_[i];
        int rank = 4;
        if (e.key == q || e.hit.insee == q) rank = 0;
        for (const auto& pc : e.hit.postcodes)
            rank = std::min(rank, pc == q ? 0 : starts(pc, q) ? 1 : 4);
        if (rank > 1 && (starts(e.key, q) || starts(e.hit.insee, q))) rank = 1;
        if (rank > 2 && e.key.find(" " + q) != std::string::npos) rank = 2;
        if (rank > 3 && e.key.find(q) != std::string::npos) rank = 3;
        if (rank < 4) ranked.emplace_back(rank, e.key.size(), e.key, i);
    }
    std::sort(ranked.begin(), ranked.end());
    std::vector<CommuneHit> out;
    for (std::size_t k = 0; k < ranked.size() && k < limit; ++k) out.push_back(entries_[std::get<3>(ranked[k])].hit);
    return out;
}

std::shared_ptr<CommuneSearch> CommuneSearch::of(const Snapshot& snapshot) {
    return snapshot.attachment<CommuneSearch>([&] {
        static const LayerData none = make_layer_data(LayerSpec{}, {});
        const LayerData* communes = snapshot.layer("communes");
        std::map<std::string, std::vector<std::string>, std::less<>> postcodes;
        if (communes) {
            const auto file = postcodes_path(communes->spec);
            try {
                if (!file.empty()) postcodes = read_postcodes(file);
            } catch (const std::exception& e) {
                // Names, INSEE codes still answer: postcodes are a convenience, not the search's basis.
                std::cerr << "commune search without postcodes: " << e.what() << std::endl;
            }
        }
        return std::make_shared<CommuneSearch>(communes ? *communes : none, std::move(postcodes));
    });
}

}  // namespace ideo::index
