// The municipal DECI order, written as WordprocessingML by hand (five parts zipped): no template
// file to ship, and every text XML-escaped.
#include "ideo/deci/arrete.hpp"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "ideo/core/error.hpp"
#include "ideo/core/text.hpp"
#include "ideo/deci/coverage.hpp"
#include "zip.hpp"

namespace ideo::deci {
namespace {

using text::xml_escape;

class Document {
public:
    void paragraph(std::string_view text, std::string_view style = {}, bool bold = false) {
        body_ += "<w:p>";
        if (!style.empty()) body_ += "<w:pPr><w:pStyle w:val=\"" + std::string(style) + "\"/></w:pPr>";
        body_ += run(text, bold) + "</w:p>";
    }
    void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
        body_ += "<w:tbl><w:tblPr><w:tblStyle w:val=\"Grille\"/><w:tblW w:w=\"5000\" w:type=\"pct\"/></w:tblPr><w:tblGrid>";
        for (std::size_t i = 0; i < header.size(); ++i) body_ += "<w:gridCol/>";
        body_ += "</w:tblGrid>";
        row(header, true);
        for (const auto& r : rows) row(r, false);
        body_ += "</w:tbl>";
        paragraph("");
    }
    std::string xml() const {
        return R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
               R"(<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>)" +
               body_ +
               R"(<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134" w:header="708" w:footer="708" w:gutter="0"/></w:sectPr></w:body></w:document>)";
    }

private:
    static std::string run(std::string_view text, bool bold) {
        return std::string("<w:r>") + (bold ? "<w:rPr><w:b/></w:rPr>" : "") + "<w:t xml:space=\"preserve\">" +
               xml_escape(text) + "</w:t></w:r>";
    }
    void row(const std::vector<std::string>& cells, bool header) {
        body_ += "<w:tr>";
        if (header) body_ += "<w:trPr><w:tblHeader/></w:trPr>";
        for (const auto& c : cells) body_ += "<w:tc><w:p>" + run(c, header) + "</w:p></w:tc>";
        body_ += "</w:tr>";
    }
    std::string body_;
};

constexpr const char* kContentTypes =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
    R"(<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">)"
    R"(<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>)"
    R"(<Default Extension="xml" ContentType="application/xml"/>)"
    R"(<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>)"
    R"(<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>)"
    R"(</Types>)";
constexpr const char* kRels =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
    R"(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)"
    R"(<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>)"
    R"(</Relationships>)";
constexpr const char* kDocumentRels =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
    R"(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)"
    R"(<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>)"
    R"(</Relationships>)";
constexpr const char* kStyles =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
    R"(<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">)"
    R"(<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Liberation Sans" w:hAnsi="Liberation Sans" w:cs="Liberation Sans"/><w:sz w:val="20"/><w:lang w:val="fr-FR"/></w:rPr></w:rPrDefault>)"
    R"(<w:pPrDefault><w:pPr><w:spacing w:after="120"/></w:pPr></w:pPrDefault></w:docDefaults>)"
    R"(<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:pPr><w:jc w:val="both"/></w:pPr></w:style>)"
    R"(<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:pPr><w:jc w:val="center"/><w:spacing w:after="240"/></w:pPr><w:rPr><w:b/><w:sz w:val="32"/></w:rPr></w:style>)"
    R"(<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:pPr><w:keepNext/><w:spacing w:before="240"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/><w:sz w:val="24"/></w:rPr></w:style>)"
    R"(<w:style w:type="table" w:styleId="Grille"><w:name w:val="Table Grid"/><w:rPr><w:sz w:val="16"/></w:rPr><w:tblPr><w:tblBorders>)"
    R"(<w:top w:val="single" w:sz="4" w:space="0" w:color="000000"/><w:left w:val="single" w:sz="4" w:space="0" w:color="000000"/>)"
    R"(<w:bottom w:val="single" w:sz="4" w:space="0" w:color="000000"/><w:right w:val="single" w:sz="4" w:space="0" w:color="000000"/>)"
    R"(<w:insideH w:val="single" w:sz="4" w:space="0" w:color="000000"/><w:insideV w:val="single" w:sz="4" w:space="0" w:color="000000"/>)"
    R"(</w:tblBorders></w:tblPr></w:style>)"
    R"(</w:styles>)";

std::string value_of(const LayerSpec& spec, const Feature& f, const char* field) {
    const int i = spec.field_index(field);
    return i >= 0 && static_cast<std::size_t>(i) < f.values.size() ? to_text(f.values[static_cast<std::size_t>(i)]) : "";
}

// "60.5" -> "60,5", "120.0" -> "120": French decimal comma, one decimal at most.
std::string format_number(const std::string& s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", std::atof(s.c_str()));
    std::string out = buf;
    if (out.size() > 2 && out.compare(out.size() - 2, 2, ".0") == 0) out.resize(out.size() - 2);
    for (char& c : out)
        if (c == '.') c = ',';
    return out;
}

}  // namespace

ExtractFile build_arrete(const index::Snapshot& snapshot, const Rules& rules, const std::string& insee) {
    const std::string name = snapshot.commune_name(insee);
    const index::LayerData* pei = snapshot.layer("pei");
    const index::LayerData* erp = snapshot.layer("erp");
    const index::LayerData* icpe = snapshot.layer("icpe");
    auto records = [&](const index::LayerData* l) {
        static const std::vector<std::uint32_t> none;
        if (!l) return &none;
        const auto it = l->by_insee.find(insee);
        return it == l->by_insee.end() ? &none : &it->second;
    };
    if (name.empty() && records(pei)->empty() && records(erp)->empty() && records(icpe)->empty())
        throw InputError("commune '" + insee + "': unknown INSEE code");
    const std::string commune = name.empty() ? "commune " + insee : name;
    const std::string dept = department_of(insee);
    const std::string today = text::today_iso();
    const CommuneSummary summary = commune_summary(snapshot, rules, insee, today);
    const RiskClass& area = rules.area_class();

    Document d;
    d.paragraph("Commune de " + commune + " (INSEE " + insee + ") – département " + dept, "Normal", true);
    d.paragraph("PROJET D'ARRÊTÉ MUNICIPAL relatif à la défense extérieure contre l'incendie (DECI)", "Title");
    d.paragraph("Le maire de la commune de " + commune + ",");
    d.paragraph("Vu le code général des collectivités territoriales, notamment ses articles L2213-32 et L2225-1 à L2225-4 ;");
    d.paragraph("Vu les articles R2225-1 à R2225-10 du code général des collectivités territoriales ;");
    d.paragraph("Vu l'arrêté du 15 décembre 2015 fixant le référentiel national de la défense extérieure contre l'incendie ;");
    d.paragraph("Vu le " + (rules.reference.empty() ? std::string("règlement départemental de DECI") : rules.reference) +
                " (règles appliquées : " + rules.title + ") ;");
    d.paragraph("Considérant qu'il appartient au maire d'identifier les risques à prendre en compte et de fixer la liste des "
                "points d'eau incendie (PEI) identifiés pour l'alimentation en eau des moyens des services d'incendie et de secours ;");
    d.paragraph("ARRÊTE", "Title");

    d.paragraph("Article 1 – Objet", "Heading1");
    d.paragraph("Le présent arrêté fixe la défense extérieure contre l'incendie de la commune de " + commune +
                " : l'inventaire des points d'eau incendie, les risques à défendre et les modalités de contrôle et d'entretien.");
    d.paragraph("Article 2 – Inventaire des points d'eau incendie", "Heading1");
    if (summary.pei_total == 0) {
        d.paragraph("Aucun point d'eau incendie n'est recensé sur la commune à la date du " + today +
                    ". La commune doit, avec le SDIS, identifier ou créer les points d'eau nécessaires à la défense de son territoire.");
    } else {
        d.paragraph("Les " + std::to_string(summary.pei_total) + " points d'eau incendie de la commune figurent en annexe 1 au présent arrêté.");
    }
    d.paragraph("Article 3 – Risques à défendre", "Heading1");
    d.paragraph("Le territoire communal est défendu au titre du " + area.label + " (" + std::to_string(static_cast<int>(area.flow_m3h)) +
                " m³/h pendant " + std::to_string(static_cast<int>(area.duration_h)) + " h ou " +
                std::to_string(static_cast<int>(area.volume_m3)) + " m³, à " + std::to_string(static_cast<int>(area.distance_m)) +
                " m au plus). Les établissements recevant du public (" + std::to_string(summary.erp_total) +
                ") et les installations classées (" + std::to_string(summary.icpe_total) + ") listés en annexe 2 sont des risques à défendre selon leur classe.");
    d.paragraph("Article 4 – Contrôles et maintenance", "Heading1");
    d.paragraph("Les PEI publics sont entretenus et contrôlés par la commune ou son gestionnaire ; les PEI privés par leur propriétaire. "
                "Les contrôles techniques (débit, pression, accessibilité) ont lieu selon la périodicité fixée par le règlement départemental.");
    d.paragraph("Article 5 – Information du SDIS", "Heading1");
    d.paragraph("Toute indisponibilité, remise en service, création ou suppression d'un PEI est signalée sans délai au service départemental "
                "d'incendie et de secours, qui met à jour la base départementale des PEI.");
    d.paragraph("Article 6 – Exécution", "Heading1");
    d.paragraph("Le secrétaire de mairie est chargé de l'exécution du présent arrêté, transmis au préfet et au SDIS et affiché en mairie.");
    d.paragraph("Fait à " + commune + ", le ................................");
    d.paragraph("Le maire");

    d.paragraph("Synthèse", "Heading1");
    d.table({"Indicateur", "Valeur"},
            {{"PEI recensés", std::to_string(summary.pei_total)},
             {"PEI disponibles", std::to_string(summary.pei_available)},
             {"PEI conformes (" + area.label + ")", std::to_string(summary.pei_compliant)},
             {"PEI indisponibles", std::to_string(summary.pei_unavailable)},
             {"PEI sous le débit ou le volume requis", std::to_string(summary.pei_below_need)},
             {"PEI sans contrôle depuis plus de " + std::to_string(rules.check_max_age_days / 365) + " ans", std::to_string(summary.pei_check_overdue)},
             {"ERP", std::to_string(summary.erp_total) + " (dont " + std::to_string(summary.erp_without_location) + " sans localisation)"},
             {"ICPE", std::to_string(summary.icpe_total)}});
    auto join = [](const std::vector<std::string>& ids) {
        std::string s;
        for (const auto& i : ids) s += (s.empty() ? "" : ", ") + i;
        return s;
    };
    if (!summary.unavailable_ids.empty()) d.paragraph("PEI indisponibles : " + join(summary.unavailable_ids) + ".");
    if (!summary.below_need_ids.empty()) d.paragraph("PEI sous le débit ou le volume requis : " + join(summary.below_need_ids) + ".");

    d.paragraph("Annexe 1 – Inventaire des points d'eau incendie", "Heading1");
    if (summary.pei_total == 0) {
        d.paragraph("Aucun point d'eau incendie recensé.");
    } else {
        std::vector<std::vector<std::string>> rows;
        for (const auto i : *records(pei)) {
            const Feature& f = pei->features[i];
            const PeiFacts facts = pei_facts(pei->spec, f);
            const std::string debit = value_of(pei->spec, f, "debit"), volume = value_of(pei->spec, f, "volume");
            std::string capacity = !debit.empty() ? format_number(debit) + " m³/h" : !volume.empty() ? format_number(volume) + " m³" : "non renseigné";
            rows.push_back({f.id, value_of(pei->spec, f, "situation"), facts.type, capacity, facts.available ? "Oui" : "Non",
                            value_of(pei->spec, f, "date_ct")});
        }
        d.table({"Numéro", "Adresse", "Type", "Débit ou volume", "Disponible", "Dernier contrôle"}, rows);
    }
    d.paragraph("Annexe 2 – Risques à défendre (ERP et ICPE)", "Heading1");
    std::vector<std::vector<std::string>> risks;
    for (const auto* l : {erp, icpe})
        for (const auto i : *records(l)) {
            const Feature& f = l->features[i];
            const std::string detail = l->spec.id == "erp" ? "type " + value_of(l->spec, f, "type") + ", catégorie " + value_of(l->spec, f, "categorie")
                                                           : value_of(l->spec, f, "lib_regime") + ", " + value_of(l->spec, f, "lib_seveso");
            risks.push_back({l->spec.id == "erp" ? "ERP" : "ICPE", f.id, value_of(l->spec, f, l->spec.name_field.c_str()),
                             value_of(l->spec, f, "adresse"), detail, risk_class_of(rules, l->spec, f).label});
        }
    if (risks.empty()) d.paragraph("Aucun ERP ni ICPE recensé.");
    else d.table({"Nature", "Identifiant", "Nom", "Adresse", "Classement", "Classe de risque"}, risks);
    d.paragraph("Source : " + std::string("IDÉO, portail régional, données des partenaires (SDIS, préfecture, Géorisques) au ") + today +
                ". " + rules.note);

    ExtractFile out;
    out.bytes = make_zip({{"[Content_Types].xml", kContentTypes},
                          {"_rels/.rels", kRels},
                          {"word/document.xml", d.xml()},
                          {"word/_rels/document.xml.rels", kDocumentRels},
                          {"word/styles.xml", kStyles}});
    out.content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    std::string part;
    for (const char c : name)
        if (c == ' ' || c == '\'') part += '-';
        else if (std::string_view("/\\:*?\"<>|").find(c) == std::string_view::npos) part += c;
    out.filename = "Arrete_DECI_" + insee + (part.empty() ? "" : "_" + part) + "_" + today + ".docx";
    return out;
}

}  // namespace ideo::deci
