#pragma once
// The catalogue side of a harvest (CSW, CKAN, udata, DCAT, ODS): page through a partner's answers (the
// pager), read them with catalog/'s parsers, link the records to our layers, store what changed. The
// harvest runner (src/harvest/runner.cpp) calls it for every catalogue partner, with the partner's own
// client, then imports the data of the records linked to a layer (import_linked, src/harvest/linked.cpp).
#include "ideo/harvest/http_client.hpp"
#include "ideo/harvest/partner.hpp"
#include "ideo/store/store.hpp"

namespace ideo::harvest {

// Harvests one catalogue partner: never throws for a partner's fault (the report says why);
// a failed run keeps the records last harvested from that partner.
PartnerReport harvest_catalogue_partner(const PartnerSpec& partner, HttpClient& client,
                                        store::Store& store);

}  // namespace ideo::harvest
