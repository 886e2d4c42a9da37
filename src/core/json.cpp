#include "ideo/core/json.hpp"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cstdint>
#include <fstream>
#include <sstream>

#include "ideo/core/error.hpp"

namespace ideo::json {
namespace {

using rapidjson::SizeType;

// The document's own SAX handler, with a count of the arrays and objects open.
class DepthLimited {
public:
    DepthLimited(rapidjson::Document& doc, unsigned max_depth) : doc_(doc), max_depth_(max_depth) {}
    bool Null() { return doc_.Null(); }
    bool Bool(bool b) { return doc_.Bool(b); }
    bool Int(int i) { return doc_.Int(i); }
    bool Uint(unsigned u) { return doc_.Uint(u); }
    bool Int64(std::int64_t i) { return doc_.Int64(i); }
    bool Uint64(std::uint64_t u) { return doc_.Uint64(u); }
    bool Double(double d) { return doc_.Double(d); }
    bool RawNumber(const char* s, SizeType n, bool copy) { return doc_.RawNumber(s, n, copy); }
    bool String(const char* s, SizeType n, bool copy) { return doc_.String(s, n, copy); }
    bool Key(const char* s, SizeType n, bool copy) { return doc_.Key(s, n, copy); }
    bool StartObject() { return enter() && doc_.StartObject(); }
    bool EndObject(SizeType members) {
        --depth_;
        return doc_.EndObject(members);
    }
    bool StartArray() { return enter() && doc_.StartArray(); }
    bool EndArray(SizeType elements) {
        --depth_;
        return doc_.EndArray(elements);
    }
    bool too_deep() const { return too_deep_; }

private:
    bool enter() {
        too_deep_ = ++depth_ > max_depth_;
        return !too_deep_;
    }
    rapidjson::Document& doc_;
    unsigned max_depth_, depth_ = 0;
    bool too_deep_ = false;
};

// What Document::Populate runs: the reader over the text, its events through the depth count.
struct Reading {
    std::string_view text;
    DepthLimited handler;
    rapidjson::ParseResult result;
    bool operator()(rapidjson::Document&) {
        rapidjson::MemoryStream bytes(text.data(), text.size());
        rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(bytes);  // as Document::Parse: a BOM skipped
        rapidjson::Reader reader;
        result = reader.Parse<rapidjson::kParseIterativeFlag>(in, handler);
        return !result.IsError();
    }
};

}  // namespace

std::optional<ParseFailure> parse(rapidjson::Document& doc, std::string_view text, unsigned max_depth) {
    doc.SetNull();
    Reading reading{text, DepthLimited(doc, max_depth), {}};
    doc.Populate(reading);
    if (!reading.result.IsError()) return std::nullopt;
    if (reading.handler.too_deep())
        return ParseFailure{reading.result.Offset(), "nested deeper than " + std::to_string(max_depth) + " levels"};
    return ParseFailure{reading.result.Offset(), rapidjson::GetParseError_En(reading.result.Code())};
}

rapidjson::Document parse(std::string_view text, std::string_view where) {
    rapidjson::Document d;
    if (const auto failure = parse(d, text))
        throw InputError(std::string(where) + ": invalid JSON at offset " + std::to_string(failure->offset) + ": " +
                         failure->message);
    return d;
}

std::string read_file(const std::filesystem::path& file, std::string_view what) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw InputError(file.string() + ": cannot read " + std::string(what));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

rapidjson::Document parse_file(const std::filesystem::path& file, std::string_view what) {
    return parse(read_file(file, what), file.string());
}

}  // namespace ideo::json
