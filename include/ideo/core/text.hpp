#pragma once
// Text helpers for partner data: encodings, accent- and case-insensitive keys.
#include <string>
#include <string_view>

namespace ideo::text {

// True when the bytes are valid UTF-8.
bool is_utf8(std::string_view bytes);

// Windows-1252 (a superset of ISO-8859-1's printable range) to UTF-8.
std::string cp1252_to_utf8(std::string_view bytes);

// A matching key: lower case, accents removed, every run of non-alphanumerics folded to one '_',
// trimmed. "Débit (m3/h)" -> "debit_m3_h", "N° ERP" -> "n_erp", "POTEAU" -> "poteau".
std::string fold_key(std::string_view s);

// Lower case without accents, other characters kept: for accent-insensitive search.
std::string fold_accents_lower(std::string_view s);

std::string trim(std::string_view s);

// ASCII lower case (protocol names, header values, URL schemes): other bytes unchanged.
std::string ascii_lower(std::string_view s);

// %XX sequences decoded (URL parts as partners and users write them); a '%' not followed by two
// hex digits is kept as it is.
std::string percent_decode(std::string_view s);

// Text as XML or HTML character data and attribute values: & < > " ' escaped, and the control characters
// XML 1.0 forbids (all below 0x20 but tab, newline and carriage return) dropped.
void append_xml(std::string& out, std::string_view s);
std::string xml_escape(std::string_view s);

// A real as people write it: 15 significant digits, no binary noise (91.1, not 91.09999999999999),
// the same text as printf's %.15g without its cost.
std::string real(double v);
// "YYYY-MM-DD" read into its parts, with a plausible month (1-12) and day (1-31); false otherwise.
bool parse_iso_date(std::string_view s, int& year, int& month, int& day);

// "2024-05-17" and "2024-05-17T10:30:00" from their parts (zero-padded).
std::string iso_date(int year, int month, int day);
std::string iso_datetime(int year, int month, int day, int hour, int minute, int second);

// The current time as ISO 8601 UTC ("2026-11-22T13:54:00Z"), and the date alone.
std::string now_iso8601();
std::string today_iso();

}  // namespace ideo::text
