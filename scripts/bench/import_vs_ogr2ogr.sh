#!/usr/bin/env bash
# Import throughput: `ideo import` (ingest: field mapping, code lists, validation, repair, commune
# attribution, reprojection; then an atomic GeoPackage publish) against `ogr2ogr` converting the
# same partner file with the same reprojection into a GeoPackage, side by side in one hyperfine run.
# Usage: scripts/bench/import_vs_ogr2ogr.sh [path/to/ideo]   (needs hyperfine, gdal-bin, python3-gdal)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IDEO=$(realpath "${1:-$ROOT/build/ideo}")
DATA=$(realpath "$ROOT/../shared/data/deci")
RUNS=${RUNS:-5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"

# The communes are imported once: every ideo import attributes INSEE codes from them.
"$IDEO" harvest --only communes --store "$WORK/base.gpkg" >/dev/null
PREP="cp $WORK/base.gpkg $WORK/run.gpkg && rm -f $WORK/out.gpkg"

# Prints "ratio ideo/ogr2ogr" from a hyperfine JSON export (mean times).
ratio() {
  /usr/bin/python3 - "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ideo, ogr = r[0]["mean"], r[1]["mean"]
print(f"  ideo {ideo:.3f} s, ogr2ogr {ogr:.3f} s, ratio ideo/ogr2ogr = {ideo / ogr:.2f}")
EOF
}

bench() {  # name, ideo command, ogr2ogr command
  echo "== $1"
  hyperfine --style basic --runs "$RUNS" --warmup 1 --prepare "$PREP" --export-json "$WORK/$1.json" \
    -n "ideo import" "$2" -n "ogr2ogr" "$3" >"$WORK/$1.txt" 2>&1 || { cat "$WORK/$1.txt"; exit 1; }
  grep -E "Time|±" "$WORK/$1.txt" | sed 's/^/  /' || true
  ratio "$WORK/$1.json"
}

# GeoJSON of the SDIS 21 (CRS84, written again in EPSG:4326).
GEOJSON="$DATA/pei-21-sdis21.geojson"
bench geojson "$IDEO import pei $GEOJSON --store $WORK/run.gpkg" \
  "ogr2ogr -f GPKG $WORK/out.gpkg $GEOJSON -t_srs EPSG:4326"

# XLSX of Saône-et-Loire with CC46 columns: ogr2ogr builds the points with SQL, from EPSG:3946.
XLSX="$DATA/pei-71-communes.xlsx"
SQL='SELECT *, MakePoint(CAST("X (CC46)" AS REAL), CAST("Y (CC46)" AS REAL)) AS geom FROM PEI'
bench xlsx "$IDEO import pei $XLSX --store $WORK/run.gpkg" \
  "ogr2ogr -f GPKG $WORK/out.gpkg $XLSX -dialect SQLite -sql '$SQL' -s_srs EPSG:3946 -t_srs EPSG:4326"

# Scale: the corpus generated 10 times larger (same generator as the shared data).
/usr/bin/python3 "$ROOT/../shared/tools/make_deci_data.py" "$WORK/scale10" --scale 10 >/dev/null
BIG=$(ls "$WORK"/scale10/pei-21-*.geojson | head -1)
echo "scale file: $(basename "$BIG"), $(du -h "$BIG" | cut -f1)"
RUNS=3 bench geojson_x10 "$IDEO import pei $BIG --store $WORK/run.gpkg" \
  "ogr2ogr -f GPKG $WORK/out.gpkg $BIG -t_srs EPSG:4326"
