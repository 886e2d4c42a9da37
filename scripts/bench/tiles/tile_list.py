#!/usr/bin/env python3
"""The benchmark's tile list: z6 to z16 over a department's bounding box, every tile where there
are few, a deterministic sample of N where there are many. Prints z/x/y lines."""
import json, math, random, sys

def tile(lon, lat, z):
    n = 2 ** z
    s = math.sin(math.radians(lat))
    return int((lon + 180) / 360 * n), int((0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * n)

def main():
    outline, per_zoom = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 60
    coords = []
    def walk(c):
        if isinstance(c[0], (int, float)):
            coords.append(c)
        else:
            for x in c:
                walk(x)
    doc = json.load(open(outline))
    for f in doc.get("features", [doc]):  # a FeatureCollection or a single Feature
        walk(f["geometry"]["coordinates"])
    minx, maxx = min(c[0] for c in coords), max(c[0] for c in coords)
    miny, maxy = min(c[1] for c in coords), max(c[1] for c in coords)
    rng = random.Random(2154)
    for z in range(6, 17):
        x0, y0 = tile(minx, maxy, z)
        x1, y1 = tile(maxx, miny, z)
        tiles = [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        if len(tiles) > per_zoom:
            tiles = rng.sample(tiles, per_zoom)
        for x, y in sorted(tiles):
            print(f"{z}/{x}/{y}")

main()
