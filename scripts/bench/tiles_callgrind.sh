#!/usr/bin/env bash
# Tile encoding under callgrind (issue 13): instructions spent in TileRenderer::render for a fixed
# tile set, and the bytes of a wider set kept to compare two builds byte for byte.
#   scripts/bench/tiles_callgrind.sh [SAVE_DIR]    renders, saves the tiles to SAVE_DIR (default WORK/tiles)
#   COMPARE=DIR scripts/bench/tiles_callgrind.sh    ... and compares them with the tiles an earlier run saved in DIR
# Corpus: the one of scripts/bench/tiles.sh (../shared/tools/make_deci_data.py --scale 40, department 90:
# 95,489 PEI, ERP, the communes). Tile list: the one of tiles.sh, scripts/bench/tiles/tile_list.py with
# PER_ZOOM (60) tiles per zoom from z6 to z16; the first MEASURED (60) of its z12+ tiles are the measured set
# (every point sent), the first MEASURED of its z6-z11 tiles (clusters) are measured apart. Saved for
# comparison: pei, erp, communes and "communes,pei" on the whole list, coverage from z10.
# IDEO=path/to/ideo runs another build (say a copy of the binary before a change). CALLGRIND=0 only saves tiles.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DEPT="${DEPT:-90}"
SCALE="${SCALE:-40}"
PER_ZOOM="${PER_ZOOM:-60}"
MEASURED="${MEASURED:-60}"
IDEO="${IDEO:-build/ideo}"
W="${BENCH_DIR:-/tmp/ideo-tiles-callgrind}"
SAVE="${1:-$W/tiles}"
PORT=18180
mkdir -p "$W"
[ -x "$IDEO" ] || { echo "no $IDEO: build it first (cmake --build build --target ideo)" >&2; exit 1; }
for tool in valgrind callgrind_annotate callgrind_control curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install valgrind curl)" >&2; exit 1; }
done

SHARED="$ROOT/../shared/data"
COMMUNES_FILE=$(ls "$SHARED"/communes/communes-"$DEPT"-*.geojson | head -1)
OUTLINE_FILE=$(ls "$SHARED"/communes/departement-"$DEPT"-*.geojson | head -1)

# --- corpus and store, made once per work folder
if [ ! -f "$W/corpus/manifest.json" ]; then
  /usr/bin/python3 ../shared/tools/make_deci_data.py "$W/corpus" --scale "$SCALE" --depts "$DEPT" >/dev/null
fi
if [ ! -f "$W/ideo.gpkg" ]; then
  "$IDEO" import communes "$COMMUNES_FILE" --store "$W/ideo-part.gpkg" >/dev/null
  "$IDEO" import pei "$(ls "$W"/corpus/*pei* | head -1)" --store "$W/ideo-part.gpkg" >/dev/null
  "$IDEO" import erp "$(ls "$W"/corpus/erp-* | head -1)" --store "$W/ideo-part.gpkg" >/dev/null
  mv "$W/ideo-part.gpkg" "$W/ideo.gpkg"
fi
/usr/bin/python3 scripts/bench/tiles/tile_list.py "$OUTLINE_FILE" "$PER_ZOOM" > "$W/tiles.txt"
awk -F/ '$1 >= 12' "$W/tiles.txt" | head -"$MEASURED" > "$W/tiles-z12.txt"
awk -F/ '$1 < 12' "$W/tiles.txt" | head -"$MEASURED" > "$W/tiles-clusters.txt"
awk -F/ '$1 >= 10' "$W/tiles.txt" > "$W/tiles-z10.txt"

SERVER_PID=
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
trap stop_server EXIT
wait_http() {  # up to 10 minutes: the snapshot loads slowly under valgrind
  for _ in $(seq 1 3000); do curl -s -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "no answer from $1" >&2; return 1
}
fetch() {  # layers list-file [dir]: every tile of the list, raw MVT (no Accept-Encoding); 204 leaves an empty file
  local layers=$1 list=$2 dir=${3:-} code
  while read -r t; do
    if [ -n "$dir" ]; then
      mkdir -p "$dir/$layers/$(dirname "$t")"
      code=$(curl -s -o "$dir/$layers/$t.mvt" -w '%{http_code}' "http://127.0.0.1:$PORT/tiles/$layers/$t.mvt")
    else
      code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/tiles/$layers/$t.mvt")
    fi
    case $code in 200|204) ;; *) echo "tiles/$layers/$t.mvt: HTTP $code" >&2; return 1 ;; esac
  done < "$list"
}

# --- the tiles' bytes, rendered natively with the tile cache off
IDEO_TILE_CACHE_MB=0 "$IDEO" serve --store "$W/ideo.gpkg" --listen "127.0.0.1:$PORT" > "$W/serve.log" 2>&1 &
SERVER_PID=$!
wait_http "http://127.0.0.1:$PORT/health"
rm -rf "$SAVE"
for layers in pei erp communes communes,pei; do fetch "$layers" "$W/tiles.txt" "$SAVE"; done
fetch coverage "$W/tiles-z10.txt" "$SAVE"
stop_server
echo "saved $(find "$SAVE" -name '*.mvt' | wc -l) tiles ($(find "$SAVE" -name '*.mvt' -size +0 | wc -l) not empty, $(du -sb "$SAVE" | cut -f1) bytes) in $SAVE"
if [ -n "${COMPARE:-}" ]; then
  if diff -r -q "$COMPARE" "$SAVE"; then echo "byte for byte the same as $COMPARE"
  else echo "DIFFERENT from $COMPARE" >&2; exit 1; fi
fi
[ "${CALLGRIND:-1}" = 1 ] || exit 0

# --- callgrind: only what TileRenderer::render runs, the z12+ set then the cluster set, one dump each
rm -f "$W"/callgrind.out.*
IDEO_TILE_CACHE_MB=0 valgrind --tool=callgrind --callgrind-out-file="$W/callgrind.out.%p" --collect-atstart=no \
  --toggle-collect='ideo::tiles::TileRenderer::render(*' \
  "$IDEO" serve --store "$W/ideo.gpkg" --listen "127.0.0.1:$PORT" --threads 1 > "$W/serve-callgrind.log" 2>&1 &
SERVER_PID=$!
wait_http "http://127.0.0.1:$PORT/health"
fetch pei "$W/tiles-z12.txt"
callgrind_control --dump=z12 "$SERVER_PID" >/dev/null
fetch pei "$W/tiles-clusters.txt"
callgrind_control --dump=clusters "$SERVER_PID" >/dev/null
stop_server
report() {  # label part-file tile-list: the total, then the top functions (inlined code counted in its caller)
  echo "== $1: $(wc -l < "$3") pei tiles (per zoom: $(cut -d/ -f1 "$3" | uniq -c | awk '{printf "z%s %s, ", $2, $1}' | sed 's/, $//'))"
  callgrind_annotate --inclusive=no --threshold=100 --auto=no "$2" | perl -ne '
    if (/^\s*([\d,]+) .*PROGRAM TOTALS/) { ($t = $1) =~ s/,//g; next }
    next unless /^\s*([\d,]+) \([^)]*\)\s+[^:\s]*:(.*?)(?: \[[^\]]*\])?$/;
    ($n, $f) = ($1, $2); $n =~ s/,//g; next if $n == $t;  # the functions on the stack at a dump, not their own cost
    1 while $f =~ s/<[^<>]*>//g; $f =~ s/\(.*//; $f =~ s/^\S+ (?=\S)//;
    $sum{$f} += $n;
    END {
      printf "%14s  total Ir\n", $t =~ s/(\d)(?=(\d{3})+$)/$1,/gr;
      for (sort { $sum{$b} <=> $sum{$a} } keys %sum) {
        last if ++$k > ($ENV{TOP} || 15);
        printf "%14s  %5.1f%%  %s\n", $sum{$_} =~ s/(\d)(?=(\d{3})+$)/$1,/gr, 100 * $sum{$_} / $t, $_;
      }
    }'
}
report "z12+" "$(ls "$W"/callgrind.out.*.1 | head -1)" "$W/tiles-z12.txt"
report "clusters" "$(ls "$W"/callgrind.out.*.2 | head -1)" "$W/tiles-clusters.txt"
