// GET /communes/search?q=belf&limit=10: communes by name, INSEE code or postcode, for the map's search box.
#include "ideo/index/commune_search.hpp"
#include "parameters.hpp"
#include "services.hpp"

namespace ideo::server {

Response communes_search(const Request& req, const index::Snapshot& snapshot) {
    const CommuneSearchParameters p = parse_commune_search_parameters(req.query);
    Response res;
    res.body = "[";
    bool first = true;
    for (const auto& hit : index::CommuneSearch::of(snapshot)->search(p.q, p.limit)) {
        if (!first) res.body += ',';
        first = false;
        res.body += "{\"insee\":";
        append_json_string(res.body, hit.insee);
        res.body += ",\"nom\":";
        append_json_string(res.body, hit.nom);
        res.body += ",\"postcodes\":[";
        for (std::size_t i = 0; i < hit.postcodes.size(); ++i) {
            if (i) res.body += ',';
            append_json_string(res.body, hit.postcodes[i]);
        }
        res.body += "],\"bbox\":";
        if (hit.bbox.empty()) {
            res.body += "null";
        } else {
            res.body += '[';
            for (const double v : {hit.bbox.min_x, hit.bbox.min_y, hit.bbox.max_x, hit.bbox.max_y}) {
                if (res.body.back() != '[') res.body += ',';
                append_json_number(res.body, v);
            }
            res.body += ']';
        }
        res.body += '}';
    }
    res.body += ']';
    res.headers.emplace_back("ETag", snapshot_etag(snapshot, "communes-" + std::to_string(std::hash<std::string>{}(req.query.encode()))));
    res.headers.emplace_back("Cache-Control", "public, max-age=60");
    return res;
}

}  // namespace ideo::server
