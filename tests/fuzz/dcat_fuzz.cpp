// libFuzzer target: any bytes given to the DCAT readers (RDF/XML and Turtle through Raptor, JSON-LD) are
// read, or refused with a ParseError. The first byte chooses the syntax; the rest is the document.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ideo/catalog/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    using ideo::catalog::RdfSyntax;
    const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
    const RdfSyntax syntax = data[0] % 4 == 0   ? RdfSyntax::RdfXml
                             : data[0] % 4 == 1 ? RdfSyntax::Turtle
                             : data[0] % 4 == 2 ? RdfSyntax::JsonLd
                                                : ideo::catalog::sniff_rdf_syntax("", body);
    try {
        ideo::catalog::parse_dcat(body, syntax, "http://partner.example/catalog");
    } catch (const ideo::catalog::ParseError&) {
    }
    return 0;
}
