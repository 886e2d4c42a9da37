// CQL2 text parsing: a filter read into an Expr tree, every name, operator and literal checked against
// the layer's schema, errors naming the position.
#include "ideo/core/text.hpp"
#include "ideo/index/cql2.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>

namespace ideo::index::cql2 {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
           });
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c) || c == '.' || c == ':'; }

std::uint64_t next_literal_id() {
    static std::atomic<std::uint64_t> counter{0};
    return ++counter;
}

class Parser {
public:
    Parser(std::string_view text, const LayerSpec& layer, const ToCrs84& to_crs84)
        : s_(text), layer_(layer), to_crs84_(to_crs84) {}

    std::unique_ptr<Expr> parse() {
        if (s_.size() > max_length)
            throw ParseError(max_length, "the expression is longer than " + std::to_string(max_length) + " characters");
        skip();
        if (pos_ == s_.size()) fail("the filter is empty");
        auto e = boolean_expression(0);
        skip();
        if (pos_ != s_.size()) fail("unexpected '" + excerpt() + "' after a complete expression");
        return e;
    }

private:
    std::string_view s_;
    const LayerSpec& layer_;
    const ToCrs84& to_crs84_;
    std::size_t pos_ = 0;

    [[noreturn]] void fail(const std::string& why) const { throw ParseError(pos_ + 1, why); }
    [[noreturn]] void fail_at(std::size_t at, const std::string& why) const { throw ParseError(at + 1, why); }

    std::string excerpt() const {
        std::string e(s_.substr(pos_, 20));
        return pos_ + 20 < s_.size() ? e + "..." : e;
    }
    std::string what_is_here() const { return pos_ >= s_.size() ? "the end of the filter" : "'" + excerpt() + "'"; }

    void skip() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    bool at_char(char c) {
        skip();
        return pos_ < s_.size() && s_[pos_] == c;
    }
    bool accept_char(char c) {
        if (!at_char(c)) return false;
        ++pos_;
        return true;
    }
    void expect_char(char c, std::string_view context) {
        if (!accept_char(c)) fail("expected '" + std::string(1, c) + "' " + std::string(context) + ", found " + what_is_here());
    }
    // The identifier-like word at the cursor, without consuming it.
    std::string_view peek_word() {
        skip();
        std::size_t e = pos_;
        if (e < s_.size() && is_ident_start(s_[e]))
            while (e < s_.size() && is_ident_char(s_[e])) ++e;
        return s_.substr(pos_, e - pos_);
    }
    bool accept_keyword(std::string_view kw) {
        const std::string_view w = peek_word();
        if (!iequals(w, kw)) return false;
        pos_ += w.size();
        return true;
    }
    void expect_keyword(std::string_view kw, std::string_view context) {
        if (!accept_keyword(kw)) fail("expected " + std::string(kw) + " " + std::string(context) + ", found " + what_is_here());
    }
    void enter(int depth) const {
        if (depth > max_depth) fail("expression nested deeper than " + std::to_string(max_depth) + " levels");
    }

    // `depth` counts open parentheses and NOTs: the only ways to nest.
    std::unique_ptr<Expr> boolean_expression(int depth) {
        auto left = boolean_term(depth);
        if (!iequals(peek_word(), "OR")) return left;
        auto e = std::make_unique<Expr>();
        e->kind = Expr::Kind::Or;
        e->children.push_back(std::move(left));
        while (accept_keyword("OR")) e->children.push_back(boolean_term(depth));
        return e;
    }

    std::unique_ptr<Expr> boolean_term(int depth) {
        auto left = boolean_factor(depth);
        if (!iequals(peek_word(), "AND")) return left;
        auto e = std::make_unique<Expr>();
        e->kind = Expr::Kind::And;
        e->children.push_back(std::move(left));
        while (accept_keyword("AND")) e->children.push_back(boolean_factor(depth));
        return e;
    }

    std::unique_ptr<Expr> boolean_factor(int depth) {
        if (iequals(peek_word(), "NOT")) {
            enter(depth + 1);
            accept_keyword("NOT");
            auto e = std::make_unique<Expr>();
            e->kind = Expr::Kind::Not;
            e->children.push_back(boolean_factor(depth + 1));
            return e;
        }
        if (at_char('(')) {
            enter(depth + 1);
            ++pos_;
            auto e = boolean_expression(depth + 1);
            expect_char(')', "to close the parenthesis");
            return e;
        }
        skip();
        if (pos_ == s_.size()) fail("expected a condition, found the end of the filter");
        const std::string_view w = peek_word();
        if (iequals(w, "TRUE") || iequals(w, "FALSE")) {
            pos_ += w.size();
            auto e = std::make_unique<Expr>();
            e->constant = iequals(w, "TRUE");
            return e;
        }
        if (iequals(w, "S_INTERSECTS")) return intersects();
        return predicate();
    }

    // A property name, bare or double-quoted; resolved to a field index (-1 for the geometry).
    int property(std::size_t* start_out = nullptr, bool* is_geometry = nullptr) {
        skip();
        const std::size_t start = pos_;
        if (start_out) *start_out = start;
        std::string name;
        if (pos_ < s_.size() && s_[pos_] == '"') {
            ++pos_;
            while (pos_ < s_.size() && s_[pos_] != '"') name += s_[pos_++];
            if (pos_ == s_.size()) fail_at(start, "unterminated quoted property name");
            ++pos_;
        } else {
            const std::string_view w = peek_word();
            if (w.empty()) fail("expected a property name, found " + what_is_here());
            name = std::string(w);
            pos_ += w.size();
        }
        if (name == "geometry" || name == "geom") {
            if (is_geometry) *is_geometry = true;
            return -1;
        }
        const int field = layer_.field_index(name);
        if (field < 0) fail_at(start, "unknown property '" + name.substr(0, 80) + "' (see /collections/" + layer_.id + "/queryables)");
        if (is_geometry) *is_geometry = false;
        return field;
    }

    double number() {
        skip();
        const std::size_t start = pos_;
        std::size_t e = pos_;
        if (e < s_.size() && (s_[e] == '-' || s_[e] == '+')) ++e;
        while (e < s_.size() && (is_digit(s_[e]) || s_[e] == '.' || s_[e] == 'e' || s_[e] == 'E' ||
                                 ((s_[e] == '-' || s_[e] == '+') && (s_[e - 1] == 'e' || s_[e - 1] == 'E'))))
            ++e;
        std::string_view t = s_.substr(start, e - start);
        if (!t.empty() && t[0] == '+') t.remove_prefix(1);
        double d = 0;
        const auto r = std::from_chars(t.data(), t.data() + t.size(), d);
        if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size() || !std::isfinite(d))
            fail("expected a number, found " + what_is_here());
        pos_ = e;
        return d;
    }

    std::string quoted_string() {
        skip();
        const std::size_t start = pos_;
        if (pos_ >= s_.size() || s_[pos_] != '\'') fail("expected a string in single quotes, found " + what_is_here());
        ++pos_;
        std::string out;
        for (;;) {
            if (pos_ >= s_.size()) fail_at(start, "unterminated string: a closing ' is missing");
            const char c = s_[pos_++];
            if (c == '\'') {
                if (pos_ < s_.size() && s_[pos_] == '\'') {
                    out += '\'';
                    ++pos_;
                    continue;
                }
                return out;
            }
            out += c;
        }
    }

    Literal literal() {
        skip();
        if (pos_ >= s_.size()) fail("expected a value, found the end of the filter");
        Literal l;
        const char c = s_[pos_];
        if (c == '\'') {
            l.kind = Literal::Kind::String;
            l.text = quoted_string();
            return l;
        }
        if (is_digit(c) || c == '-' || c == '+' || c == '.') {
            l.kind = Literal::Kind::Number;
            l.number = number();
            return l;
        }
        const std::string_view w = peek_word();
        if (iequals(w, "TRUE") || iequals(w, "FALSE")) {
            pos_ += w.size();
            l.kind = Literal::Kind::Boolean;
            l.number = iequals(w, "TRUE") ? 1 : 0;
            return l;
        }
        if (iequals(w, "DATE") || iequals(w, "TIMESTAMP")) {
            const bool date = iequals(w, "DATE");
            pos_ += w.size();
            expect_char('(', date ? "after DATE" : "after TIMESTAMP");
            skip();
            const std::size_t at = pos_;
            const std::string t = quoted_string();
            if (date) {
                if (!is_iso_date(t)) fail_at(at, "'" + t.substr(0, 40) + "' is not a date YYYY-MM-DD");
                l.kind = Literal::Kind::Date;
                l.text = t;
            } else {
                l.text = normal_timestamp(t);
                if (l.text.empty()) fail_at(at, "'" + t.substr(0, 40) + "' is not a timestamp YYYY-MM-DDThh:mm:ssZ");
                l.kind = Literal::Kind::Timestamp;
            }
            expect_char(')', "to close the date");
            return l;
        }
        fail("expected a value (number, 'string', TRUE, FALSE, DATE('...'), TIMESTAMP('...')), found " + what_is_here());
    }

    // A literal that fits the field's type, else an error at the literal.
    Literal typed_literal(int field, bool numeric_only = false) {
        skip();
        const std::size_t at = pos_;
        Literal l = literal();
        const FieldSpec& f = layer_.fields[static_cast<std::size_t>(field)];
        bool ok = false;
        std::string hint;
        switch (f.type) {
            case FieldType::String:
                ok = l.kind == Literal::Kind::String && !numeric_only;
                hint = "a string in single quotes";
                break;
            case FieldType::Integer:
            case FieldType::Number:
                ok = l.kind == Literal::Kind::Number;
                hint = "a number";
                break;
            case FieldType::Boolean:
                ok = l.kind == Literal::Kind::Boolean && !numeric_only;
                hint = "TRUE or FALSE";
                break;
            case FieldType::Date:
                ok = l.kind == Literal::Kind::Date || l.kind == Literal::Kind::Timestamp;
                hint = "DATE('YYYY-MM-DD') or TIMESTAMP('YYYY-MM-DDThh:mm:ssZ')";
                break;
        }
        if (!ok)
            fail_at(at, "property '" + f.name + "' is " + to_string(f.type) +
                            (numeric_only ? " and cannot be used with BETWEEN" : "") + ": expected " + hint);
        return l;
    }

    std::unique_ptr<Expr> predicate() {
        std::size_t start = 0;
        bool geometry = false;
        const int field = property(&start, &geometry);
        if (geometry) fail_at(start, "the geometry can only be used in S_INTERSECTS(geometry, ...)");
        const FieldSpec& f = layer_.fields[static_cast<std::size_t>(field)];
        auto e = std::make_unique<Expr>();
        e->field = field;
        skip();
        const std::size_t op_at = pos_;
        // comparison operators
        static constexpr std::pair<std::string_view, CompareOp> ops[] = {
            {"<>", CompareOp::Ne}, {"<=", CompareOp::Le}, {">=", CompareOp::Ge},
            {"=", CompareOp::Eq},  {"<", CompareOp::Lt},  {">", CompareOp::Gt}};
        for (const auto& [text, op] : ops) {
            if (s_.substr(pos_, text.size()) == text) {
                pos_ += text.size();
                e->kind = Expr::Kind::Compare;
                e->op = op;
                skip();
                if (pos_ >= s_.size()) fail("expected a value after '" + std::string(text) + "'");
                if (f.type == FieldType::Boolean && op != CompareOp::Eq && op != CompareOp::Ne)
                    fail_at(op_at, "property '" + f.name + "' is boolean: only = and <> apply");
                e->values.push_back(typed_literal(field));
                return e;
            }
        }
        if (accept_keyword("IS")) {
            e->kind = Expr::Kind::IsNull;
            e->negated = accept_keyword("NOT");
            expect_keyword("NULL", e->negated ? "after IS NOT" : "after IS");
            return e;
        }
        e->negated = accept_keyword("NOT");
        if (accept_keyword("LIKE")) {
            if (f.type != FieldType::String) fail_at(op_at, "property '" + f.name + "' is " + to_string(f.type) + ": LIKE applies to strings");
            e->kind = Expr::Kind::Like;
            skip();
            if (pos_ >= s_.size()) fail("expected a pattern after LIKE");
            e->values.push_back(typed_literal(field));
            return e;
        }
        if (accept_keyword("IN")) {
            e->kind = Expr::Kind::In;
            expect_char('(', "after IN");
            do e->values.push_back(typed_literal(field));
            while (accept_char(','));
            expect_char(')', "to close the IN list");
            return e;
        }
        if (accept_keyword("BETWEEN")) {
            e->kind = Expr::Kind::Between;
            e->values.push_back(typed_literal(field, true));
            expect_keyword("AND", "between the two bounds of BETWEEN");
            e->values.push_back(typed_literal(field, true));
            return e;
        }
        fail_at(op_at, "expected an operator (=, <>, <, <=, >, >=, LIKE, IN, BETWEEN, IS NULL) after '" + f.name +
                           "', found " + what_is_here());
    }

    std::pair<double, double> position() {
        double x = number();
        double y = number();
        skip();
        if (pos_ < s_.size() && (is_digit(s_[pos_]) || s_[pos_] == '-')) number();  // a Z ordinate is ignored
        if (to_crs84_) {
            const std::size_t at = pos_;
            try {
                to_crs84_(x, y);
            } catch (const std::exception& ex) {
                fail_at(at, std::string("cannot transform the position: ") + ex.what());
            }
        }
        return {x, y};
    }

    std::vector<std::pair<double, double>> ring() {
        const std::size_t at = pos_;
        expect_char('(', "to open a ring");
        std::vector<std::pair<double, double>> r;
        do r.push_back(position());
        while (accept_char(','));
        expect_char(')', "to close the ring");
        if (r.size() < 4 || r.front() != r.back()) fail_at(at, "a polygon ring needs at least 4 positions, the last equal to the first");
        return r;
    }

    SpatialLiteral spatial_literal() {
        SpatialLiteral g;
        skip();
        const std::size_t at = pos_;
        if (accept_keyword("BBOX")) {
            expect_char('(', "after BBOX");
            std::vector<double> v;
            do v.push_back(number());
            while (accept_char(','));
            expect_char(')', "to close BBOX");
            if (v.size() == 6) v = {v[0], v[1], v[3], v[4]};
            if (v.size() != 4) fail_at(at, "BBOX takes 4 numbers (minx, miny, maxx, maxy)");
            if (v[0] > v[2] || v[1] > v[3]) fail_at(at, "BBOX minimum exceeds its maximum");
            g.kind = SpatialLiteral::Kind::BBox;
            // The corners (and edge midpoints) in CRS84: a projected box is not a lon/lat box.
            std::vector<std::pair<double, double>> corners;
            for (int i = 0; i <= 4; ++i)
                for (int j = 0; j <= 4; ++j)
                    if (i == 0 || i == 4 || j == 0 || j == 4)
                        corners.emplace_back(v[0] + (v[2] - v[0]) * i / 4, v[1] + (v[3] - v[1]) * j / 4);
            for (auto& [x, y] : corners) {
                if (to_crs84_) {
                    try {
                        to_crs84_(x, y);
                    } catch (const std::exception& ex) {
                        fail_at(at, std::string("cannot transform BBOX: ") + ex.what());
                    }
                }
                g.envelope.expand(x, y);
            }
            return g;
        }
        if (accept_keyword("POINT")) {
            expect_char('(', "after POINT");
            const auto p = position();
            expect_char(')', "to close POINT");
            g.kind = SpatialLiteral::Kind::Point;
            g.rings.push_back({p});
            g.envelope.expand(p.first - 1e-7, p.second - 1e-7);
            g.envelope.expand(p.first + 1e-7, p.second + 1e-7);
            return g;
        }
        if (accept_keyword("POLYGON")) {
            expect_char('(', "after POLYGON");
            do g.rings.push_back(ring());
            while (accept_char(','));
            expect_char(')', "to close POLYGON");
            g.kind = SpatialLiteral::Kind::Polygon;
            for (const auto& [x, y] : g.rings.front()) g.envelope.expand(x, y);
            return g;
        }
        fail("expected BBOX(...), POINT(...) or POLYGON((...)), found " + what_is_here());
    }

    std::unique_ptr<Expr> intersects() {
        accept_keyword("S_INTERSECTS");
        expect_char('(', "after S_INTERSECTS");
        auto e = std::make_unique<Expr>();
        e->kind = Expr::Kind::Intersects;
        const std::string_view w = peek_word();
        const bool literal_first = iequals(w, "BBOX") || iequals(w, "POINT") || iequals(w, "POLYGON");
        auto geometry_property = [&] {
            std::size_t start = 0;
            bool geometry = false;
            property(&start, &geometry);
            if (!geometry) fail_at(start, "S_INTERSECTS applies to the property 'geometry'");
        };
        if (literal_first) e->spatial = spatial_literal();
        else geometry_property();
        expect_char(',', "between the two arguments of S_INTERSECTS");
        if (literal_first) geometry_property();
        else e->spatial = spatial_literal();
        expect_char(')', "to close S_INTERSECTS");
        e->spatial.id = next_literal_id();
        return e;
    }
};

}  // namespace

// "YYYY-MM-DD" with a plausible month and day.
bool is_iso_date(std::string_view s) {
    int year = 0, month = 0, day = 0;
    return text::parse_iso_date(s, year, month, day);
}

// "YYYY-MM-DDThh:mm:ss[.fff]Z" normalised to "YYYY-MM-DDThh:mm:ssZ", or "" when malformed.
std::string normal_timestamp(std::string_view s) {
    if (s.size() < 20 || !is_iso_date(s.substr(0, 10)) || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return {};
    for (const int i : {11, 12, 14, 15, 17, 18})
        if (!is_digit(s[i])) return {};
    std::size_t i = 19;
    if (i < s.size() && s[i] == '.') {
        ++i;
        const std::size_t digits = i;
        while (i < s.size() && is_digit(s[i])) ++i;
        if (i == digits) return {};
    }
    if (i + 1 != s.size() || (s[i] != 'Z' && s[i] != 'z')) return {};
    std::string out(s.substr(0, 19));
    out[10] = 'T';
    return out + 'Z';
}

std::unique_ptr<Expr> parse(std::string_view text, const LayerSpec& layer, const ToCrs84& to_crs84) {
    return Parser(text, layer, to_crs84).parse();
}

}  // namespace ideo::index::cql2
