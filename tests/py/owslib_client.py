#!/usr/bin/python3
"""OWSLib (Debian python3-owslib) as a real OGC API Features client of `ideo serve`.

usage: owslib_client.py BASE_URL PEI_COUNT PEI_IN_BOX
Checks collections, items with bbox and crs, and queryables; exits non-zero on the first mismatch.
"""
import sys

from owslib.ogcapi.features import Features

base, pei_count, pei_in_box = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
api = Features(base)

ids = {c["id"] for c in api.collections()["collections"]}
assert {"pei", "communes", "icpe"} <= ids, ids
assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in api.conformance()["conformsTo"]

items = api.collection_items("pei", limit=10000)
assert items["numberMatched"] == pei_count, (items["numberMatched"], pei_count)
assert len(items["features"]) == pei_count

boxed = api.collection_items("pei", bbox=[6.84, 47.62, 6.9, 47.67], limit=10000)
assert boxed["numberMatched"] == pei_in_box, (boxed["numberMatched"], pei_in_box)

lambert = api.collection_items("pei", limit=5, crs="http://www.opengis.net/def/crs/EPSG/0/2154")
for f in lambert["features"]:
    if f["geometry"]:
        x, y = f["geometry"]["coordinates"]
        assert abs(x - f["properties"]["x"]) < 0.02 and abs(y - f["properties"]["y"]) < 0.02, f

filtered = api.collection_items("pei", filter="type_pei = 'PI' AND debit >= 60", limit=10000)
assert all(f["properties"]["type_pei"] == "PI" and f["properties"]["debit"] >= 60 for f in filtered["features"])

queryables = api.collection_queryables("pei")
assert queryables["properties"]["debit"]["type"] == "number", queryables

print("owslib: ok", len(ids), "collections,", pei_count, "pei,", pei_in_box, "in the box")
