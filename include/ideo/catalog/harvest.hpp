#pragma once
// The catalogue side of a harvest (CSW, CKAN, udata, DCAT, ODS): gather a partner's records,
// normalise them, link them to our layers, store them. The harvest runner (src/harvest/runner.cpp)
// calls it for every catalogue partner, with the partner's own client, then imports the data of
// the records linked to a layer (import_linked, src/harvest/linked.cpp).
#include "ideo/harvest/http_client.hpp"
#include "ideo/harvest/partner.hpp"
#include "ideo/store/store.hpp"

namespace ideo::catalog {

using harvest::PartnerReport;

// Harvests one catalogue partner: never throws for a partner's fault (the report says why);
// a failed run keeps the records last harvested from that partner.
PartnerReport harvest_catalogue_partner(const harvest::PartnerSpec& partner, harvest::HttpClient& client,
                                        store::Store& store);

}  // namespace ideo::catalog
