// The catalogue parsers on hostile answers: JSON nested past any need, XML entity expansion (exponential
// and quadratic), external entities. Each is refused with a ParseError saying why, or read without
// the expansion; nothing crashes, grows without end, or reads a local file.
#include <gtest/gtest.h>

#include <functional>

#include "ideo/catalog/parse.hpp"
#include "ideo/core/json.hpp"

using namespace ideo;
using namespace ideo::catalog;

namespace {

std::string nested(std::size_t depth, const std::string& open = "{\"a\":", char close = '}') {
    std::string s;
    for (std::size_t i = 0; i < depth; ++i) s += open;
    s += "1";
    s.append(depth, close);
    return s;
}

std::string parse_error(const std::function<void()>& parse) {
    try {
        parse();
    } catch (const ParseError& e) {
        return e.what();
    }
    return "(no error)";
}

// Ten entities of ten references each (10^10 times "lol") around `element`, whose text is `&lol10;`.
std::string billion_laughs(const std::string& root, const std::string& inside) {
    std::string x = "<?xml version=\"1.0\"?>\n<!DOCTYPE " + root + " [\n<!ENTITY lol0 \"lol\">\n";
    for (int i = 1; i <= 10; ++i) {
        x += "<!ENTITY lol" + std::to_string(i) + " \"";
        for (int j = 0; j < 10; ++j) x += "&lol" + std::to_string(i - 1) + ";";
        x += "\">\n";
    }
    return x + "]>\n" + inside;
}

// One 50 kB entity referenced 20,000 times: 110 kB for 1 GB, which libxml2's own guard lets through.
std::string quadratic(const std::string& root, const std::string& before, const std::string& after) {
    std::string refs;
    for (int i = 0; i < 20000; ++i) refs += "&a;";
    return "<?xml version=\"1.0\"?>\n<!DOCTYPE " + root + " [<!ENTITY a \"" + std::string(50000, 'a') + "\">]>\n" + before + refs + after;
}

const std::string kDcRecord =
    "<csw:GetRecordsResponse xmlns:csw=\"http://www.opengis.net/cat/csw/2.0.2\"><csw:SearchResults numberOfRecordsMatched=\"1\" "
    "numberOfRecordsReturned=\"1\" nextRecord=\"0\"><csw:Record xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
    "<dc:identifier>x</dc:identifier><dc:title>";
const std::string kDcRecordEnd = "</dc:title></csw:Record></csw:SearchResults></csw:GetRecordsResponse>";

const std::string kRdf = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns:dcat=\"http://www.w3.org/ns/dcat#\" "
                         "xmlns:dct=\"http://purl.org/dc/terms/\"><dcat:Dataset rdf:about=\"http://example.org/d\"><dct:title>";
const std::string kRdfEnd = "</dct:title></dcat:Dataset></rdf:RDF>";

}  // namespace

TEST(JsonDepth, ReadsNestingUpToTheBoundAndRefusesDeeperWithItsOffset) {
    rapidjson::Document d;
    EXPECT_EQ(json::parse(d, nested(json::kMaxDepth)), std::nullopt);
    EXPECT_TRUE(d.IsObject());
    const auto deep = json::parse(d, "[" + nested(json::kMaxDepth) + "]");
    ASSERT_TRUE(deep.has_value());
    EXPECT_EQ(deep->message, "nested deeper than 128 levels");
    EXPECT_EQ(deep->offset, 1 + 5 * (json::kMaxDepth - 1));  // the brace that opens level 129
    EXPECT_TRUE(d.IsNull());
}

TEST(JsonDepth, ReadsWhatDocumentParseReadsAndFailsWhereItFails) {
    for (const std::string text : {"\xEF\xBB\xBF{\"a\":[1,2.5,\"\\u00e9\",true,null]}", "{\"a\":", "[1,]", "{} {}", "\"x\"", ""}) {
        rapidjson::Document mine, theirs;
        const auto failed = json::parse(mine, text);
        theirs.Parse(text.data(), text.size());
        EXPECT_EQ(failed.has_value(), theirs.HasParseError()) << text;
        if (failed) EXPECT_EQ(failed->offset, theirs.GetErrorOffset()) << text;
        else EXPECT_TRUE(mine == theirs) << text;
    }
}

TEST(HostileJson, EveryJsonParserRefusesNesting200000DeepNamingIt) {
    const std::string deep = nested(200000);
    const std::string in_record = "{\"id\":\"x\",\"title\":\"t\",\"extras\":" + nested(200000, "[", ']') + "}";
    for (const auto& [what, parse] : std::vector<std::pair<std::string, std::function<void()>>>{
             {"ckan", [&] { parse_ckan(deep); }},
             {"ckan record", [&] { parse_ckan("{\"result\":{\"results\":[" + in_record + "]}}"); }},
             {"udata", [&] { parse_udata("{\"data\":[" + in_record + "]}"); }},
             {"ods", [&] { parse_ods("{\"results\":[" + in_record + "]}"); }},
             {"json-ld", [&] { parse_dcat("{\"@graph\":[" + in_record + "]}", RdfSyntax::JsonLd); }}}) {
        const std::string err = parse_error(parse);
        EXPECT_NE(err.find("nested deeper than 128 levels"), std::string::npos) << what << ": " << err;
    }
}

TEST(HostileJson, ACkanSpatialExtraNestedTooDeepLeavesTheRecordWithoutItsBox) {
    const std::string spatial = "{\\\"type\\\":\\\"Point\\\",\\\"coordinates\\\":" + nested(200000, "[", ']') + "}";
    const auto r = parse_ckan(R"({"result":{"results":[{"id":"x","title":"t","extras":[{"key":"spatial","value":")" + spatial +
                              R"("}]}]}})");
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_FALSE(r.records[0].bbox.has_value());
}

TEST(HostileXml, ACswAnswerWithTheBillionLaughsIsRefused) {
    const std::string err = parse_error([] { parse_csw(billion_laughs("csw:GetRecordsResponse", kDcRecord + "&lol10;" + kDcRecordEnd)); });
    EXPECT_NE(err.find("entity"), std::string::npos) << err;
}

TEST(HostileXml, ACswAnswerExpandingOneLargeEntityManyTimesIsRefused) {
    const std::string err = parse_error([] { parse_csw(quadratic("csw:GetRecordsResponse", kDcRecord, kDcRecordEnd)); });
    EXPECT_NE(err.find("entity references expand to more than 1048576 bytes"), std::string::npos) << err;
}

TEST(HostileXml, ACswAnswerMayStillUseASmallEntity) {
    const auto r = parse_csw("<!DOCTYPE csw:GetRecordsResponse [<!ENTITY org \"DDT de la Dordogne\">]>" + kDcRecord +
                             "Routes de la &org;" + kDcRecordEnd);
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].title, "Routes de la DDT de la Dordogne");
}

TEST(HostileXml, AnExternalEntityIsNeverRead) {
    const std::string doctype = "<!DOCTYPE csw:GetRecordsResponse [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>";
    const auto r = parse_csw(doctype + kDcRecord + "t&xxe;" + kDcRecordEnd);
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].title, "t");
    EXPECT_EQ(r.records[0].original.find("root:"), std::string::npos);

    const std::string rdf_doctype = "<!DOCTYPE rdf:RDF [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>";
    try {
        const auto d = parse_dcat(rdf_doctype + kRdf + "t&xxe;" + kRdfEnd, RdfSyntax::RdfXml);
        for (const auto& rec : d.records) {
            EXPECT_EQ(rec.title.find("root:"), std::string::npos);
            EXPECT_EQ(rec.original.find("root:"), std::string::npos);
        }
    } catch (const ParseError&) {
        // refusing the document is as good as not reading the file
    }
}

TEST(HostileXml, RdfXmlExpandingEntitiesIsRefusedBeforeRaptorExpandsThem) {
    for (const std::string& doc : {billion_laughs("rdf:RDF", kRdf + "&lol10;" + kRdfEnd), quadratic("rdf:RDF", kRdf, kRdfEnd)}) {
        const std::string err = parse_error([&] { parse_dcat(doc, RdfSyntax::RdfXml); });
        EXPECT_NE(err.find("entit"), std::string::npos) << err;
    }
}
