#pragma once
// CQL2 text (OGC 21-065): a hand-written recursive-descent parser into a typed tree, resolved
// against one layer's fields, and its evaluation on the features of a snapshot.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ideo/core/feature.hpp"
#include "ideo/core/layer.hpp"

namespace ideo::index::cql2 {

// Nesting deeper than this is refused: a hostile filter must not overflow the stack.
inline constexpr int max_depth = 64;
inline constexpr std::size_t max_length = 16 * 1024;

// A filter that does not parse, or does not fit the layer: "at 17: expected a value after '='".
class ParseError : public std::runtime_error {
public:
    ParseError(std::size_t position, const std::string& why)
        : std::runtime_error("at " + std::to_string(position) + ": " + why), position_(position) {}
    std::size_t position() const { return position_; }  // 1-based character offset in the expression

private:
    std::size_t position_;
};

struct Literal {
    enum class Kind { Number, String, Boolean, Date, Timestamp };
    Kind kind = Kind::Number;
    double number = 0;  // Number; Boolean as 0/1
    std::string text;   // String; Date "YYYY-MM-DD"; Timestamp "YYYY-MM-DDThh:mm:ss[.f]Z"
};

// A spatial literal in CRS84: BBOX(...), POINT(...) or POLYGON((...), (...)) (holes allowed).
struct SpatialLiteral {
    enum class Kind { BBox, Point, Polygon };
    Kind kind = Kind::BBox;
    Envelope envelope;                                       // of the literal
    std::vector<std::vector<std::pair<double, double>>> rings;  // Polygon: exterior then holes; Point: one position
    std::uint64_t id = 0;  // unique per parsed literal: the key of the per-thread GEOS cache
};

enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };

struct Expr {
    enum class Kind { And, Or, Not, Compare, Like, In, Between, IsNull, Intersects, Constant };
    Kind kind = Kind::Constant;
    std::vector<std::unique_ptr<Expr>> children;  // And, Or (two or more), Not (one)
    int field = -1;                    // the property (index in LayerSpec::fields); -1 for the geometry
    CompareOp op = CompareOp::Eq;      // Compare
    std::vector<Literal> values;       // Compare (1), Like (1 pattern), In (n), Between (2)
    bool negated = false;              // NOT LIKE, NOT IN, NOT BETWEEN, IS NOT NULL
    bool constant = true;              // Constant: TRUE / FALSE
    SpatialLiteral spatial;            // Intersects
};

// Rewrites one position of a spatial literal into CRS84 (lon, lat), for filter-crs; throws on failure.
using ToCrs84 = std::function<void(double& x, double& y)>;

// Parses `text` against `layer`: property names are its fields (or "geometry"), and literals must
// suit the field's type. Throws ParseError with the 1-based position of the fault.
std::unique_ptr<Expr> parse(std::string_view text, const LayerSpec& layer, const ToCrs84& to_crs84 = {});

// True when the feature satisfies the filter (SQL's unknown, from nulls, counts as false).
bool matches(const Expr& e, const LayerSpec& layer, const Feature& f);

// "YYYY-MM-DD" with a plausible month and day.
bool is_iso_date(std::string_view s);
// "YYYY-MM-DDThh:mm:ss[.fff]Z" normalised to "YYYY-MM-DDThh:mm:ssZ", or "" when malformed.
std::string normal_timestamp(std::string_view s);

// A box every matching located feature intersects, when the filter implies one (the R-tree prefilter).
std::optional<Envelope> spatial_bounds(const Expr& e);

}  // namespace ideo::index::cql2
