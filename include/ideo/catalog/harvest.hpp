#pragma once
// The catalogue side of a harvest (CSW, CKAN, udata, DCAT, ODS): gather a partner's records,
// normalise them, store them, import the distributions that feed our layers. The harvest runner
// (src/harvest/runner.cpp) calls it for every catalogue partner, with the partner's own client.
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
