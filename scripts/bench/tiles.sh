#!/usr/bin/env bash
# Vector tiles, side by side in one run on the same data and the same tile list (issue 5):
#   ideo serve                       /tiles/pei/{z}/{x}/{y}.mvt
#   PostGIS ST_AsMVT per tile        (the query pg_tileserv and Martin run), behind a node HTTP server
#   geojson-vt + vt-pbf              in a node HTTP server
#   MapServer 8 MVT output           over FastCGI behind nginx
#   nginx static files               the same tiles pre-generated: the ceiling
# Corpus: ../shared/tools/make_deci_data.py --scale 40 (default department 90; DEPT=21 for Côte-d'Or).
# wrk at 1, 16 and 64 connections (DURATION seconds each). Prints a markdown table with ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DEPT="${DEPT:-90}"
SCALE="${SCALE:-40}"
DURATION="${DURATION:-10}"
W="${BENCH_DIR:-$(mktemp -d /tmp/ideo-bench-tiles.XXXXXX)}"
mkdir -p "$W" && chmod 755 "$W"  # the postgres user reads its folders below
echo "work folder: $W"

# --- what the competitors need (Debian and npm)
pkgs=(wrk nginx-light spawn-fcgi cgi-mapserver postgresql-15-postgis-3 postgresql-15 gdal-bin python3-gdal curl)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; fi
(cd scripts/bench/tiles && npm install --no-audit --no-fund --loglevel=error >/dev/null)
[ -x build/ideo ] || BUILD_TESTS=OFF scripts/build

declare -A COMMUNES=([21]=communes-21-cote-d-or [25]=communes-25-doubs [39]=communes-39-jura [58]=communes-58-nievre
                     [70]=communes-70-haute-saone [71]=communes-71-saone-et-loire [89]=communes-89-yonne [90]=communes-90-territoire-de-belfort)
declare -A OUTLINE=([21]=departement-21-cote-d-or [90]=departement-90-territoire-de-belfort [71]=departement-71-saone-et-loire)
SHARED="$ROOT/../shared/data"

# --- the dense corpus and ideo's store
if [ ! -f "$W/corpus/manifest.json" ]; then
  /usr/bin/python3 ../shared/tools/make_deci_data.py "$W/corpus" --scale "$SCALE" --depts "$DEPT" >/dev/null
fi
PEI_FILE=$(ls "$W"/corpus/*pei* | head -1)
if [ ! -f "$W/ideo.gpkg" ]; then
  build/ideo import communes "$SHARED/communes/${COMMUNES[$DEPT]}.geojson" --store "$W/ideo.gpkg" >/dev/null
  build/ideo import pei "$PEI_FILE" --store "$W/ideo.gpkg" >/dev/null
fi
PEI_COUNT=$(ogrinfo -ro -so "$W/ideo.gpkg" pei | sed -n 's/Feature Count: //p')
/usr/bin/python3 scripts/bench/tiles/tile_list.py "$SHARED/communes/${OUTLINE[$DEPT]:-departement-90-territoire-de-belfort}.geojson" 60 > "$W/tiles.txt"
# Below zoom 12 ideo sends clusters where the others send every point: z12-z16 compares like with like.
awk -F/ '$1 >= 12' "$W/tiles.txt" > "$W/tiles-z12.txt"
echo "corpus: $PEI_COUNT PEI in department $DEPT (scale $SCALE); $(wc -l < "$W/tiles.txt") tiles from z6 to z16"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pkill -x mapserv 2>/dev/null || true  # the FastCGI workers spawn-fcgi started (busy ones ignore TERM)
  sleep 0.5; pkill -9 -x mapserv 2>/dev/null || true
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null || true
  [ -d "$W/pg" ] && su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D $W/pg -m fast stop" >/dev/null 2>&1 || true
}
trap cleanup EXIT

wait_http() { for _ in $(seq 1 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.2; done; echo "no answer from $1" >&2; return 1; }

# --- ideo
build/ideo serve --store "$W/ideo.gpkg" --listen 127.0.0.1:18080 > "$W/ideo.log" 2>&1 &
IDEO_PID=$!; pids+=($IDEO_PID)
wait_http http://127.0.0.1:18080/health
# The same server with its tile cache off: every request renders its tile.
IDEO_TILE_CACHE_MB=0 build/ideo serve --store "$W/ideo.gpkg" --listen 127.0.0.1:18085 > "$W/ideo-nocache.log" 2>&1 &
pids+=($!)
wait_http http://127.0.0.1:18085/health

# --- static tiles for nginx: exactly ideo's tiles, written once
if [ ! -d "$W/static" ]; then
  while read -r t; do
    mkdir -p "$W/static/$(dirname "$t")"
    code=$(curl -s -o "$W/static/$t.mvt" -w '%{http_code}' "http://127.0.0.1:18080/tiles/pei/$t.mvt")
    [ "$code" = 200 ] || rm -f "$W/static/$t.mvt"
  done < "$W/tiles.txt"
fi

# --- PostGIS
if [ ! -d "$W/pg" ]; then
  mkdir -p "$W/pg" "$W/pgsock" && chown postgres "$W/pg" "$W/pgsock" && chmod 755 "$W"
  su postgres -c "/usr/lib/postgresql/15/bin/initdb -D $W/pg -A trust" >/dev/null
fi
su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D $W/pg -o '-k $W/pgsock -c listen_addresses= -c shared_buffers=256MB' -l $W/pgsock/pg.log start" >/dev/null
for _ in $(seq 1 50); do su postgres -c "psql -h $W/pgsock -d postgres -c 'select 1'" >/dev/null 2>&1 && break; sleep 0.2; done
if ! su postgres -c "psql -h $W/pgsock -lqt" | cut -d'|' -f1 | grep -qw bench; then
  su postgres -c "createdb -h $W/pgsock bench && psql -h $W/pgsock -d bench -c 'create extension postgis'" >/dev/null
  ogr2ogr -f PostgreSQL "PG:host=$W/pgsock dbname=bench user=postgres" "$W/ideo.gpkg" pei -nln pei -t_srs EPSG:3857 \
    -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=GIST -nlt POINT
  su postgres -c "psql -h $W/pgsock -d bench -c 'vacuum analyze pei'" >/dev/null
fi
node scripts/bench/tiles/postgis_server.mjs "$W/pgsock" 18083 > "$W/postgis.log" 2>&1 &
pids+=($!)

# --- geojson-vt
[ -f "$W/pei.geojson" ] || ogr2ogr -f GeoJSON "$W/pei.geojson" "$W/ideo.gpkg" pei \
  -select id_sdis,insee,type_pei,debit,volume,disponible,statut,diam_pei,situation,date_ct,nom_gest
node --max-old-space-size=4096 scripts/bench/tiles/geojsonvt_server.mjs "$W/pei.geojson" 18084 > "$W/geojsonvt.log" 2>&1 &
pids+=($!)

# --- MapServer over FastCGI, and nginx (static tiles and the FastCGI front)
cat > "$W/bench.map" <<MAPFILE
MAP
  NAME "ideo_bench"
  EXTENT -20037508.34 -20037508.34 20037508.34 20037508.34
  SIZE 256 256
  PROJECTION "init=epsg:3857" END
  OUTPUTFORMAT
    NAME "mvt"
    DRIVER MVT
    FORMATOPTION "EDGE_BUFFER=64"
    FORMATOPTION "EXTENT=4096"
  END
  LAYER
    NAME "pei"
    TYPE POINT
    STATUS ON
    CONNECTIONTYPE OGR
    CONNECTION "$W/ideo.gpkg"
    DATA "pei"
    PROJECTION "init=epsg:4326" END
    METADATA
      "gml_include_items" "id_sdis,insee,type_pei,debit,volume,disponible,statut,diam_pei,situation,date_ct,nom_gest"
      "gml_types" "auto"
    END
  END
END
MAPFILE
# MapServer 8 reads a config file that must allow the mapfile's path.
cat > "$W/mapserver.conf" <<CONF
CONFIG
  ENV
    MS_MAP_PATTERN "^$W/"
  END
END
CONF
MAPSERVER_CONFIG_FILE="$W/mapserver.conf" spawn-fcgi -a 127.0.0.1 -p 18090 -F 2 -P "$W/spawn.pid" -- /usr/lib/cgi-bin/mapserv >/dev/null
mkdir -p "$W/nginx-tmp"
cat > "$W/nginx.conf" <<NGINX
worker_processes 2;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $W/nginx-tmp; proxy_temp_path $W/nginx-tmp; fastcgi_temp_path $W/nginx-tmp;
  uwsgi_temp_path $W/nginx-tmp; scgi_temp_path $W/nginx-tmp;
  types { application/vnd.mapbox-vector-tile mvt; }
  server {
    listen 127.0.0.1:18081;
    root $W/static;
    location / { try_files \$uri @empty; }
    location @empty { return 204; }
  }
  server {
    listen 127.0.0.1:18082;
    location /ms {
      include /etc/nginx/fastcgi_params;
      fastcgi_param QUERY_STRING \$query_string;
      fastcgi_pass 127.0.0.1:18090;
    }
  }
}
NGINX
nginx -c "$W/nginx.conf" -p "$W" 2>/dev/null

wait_http http://127.0.0.1:18083/0/0/0.mvt
wait_http http://127.0.0.1:18084/0/0/0.mvt
MS_PREFIX="/ms?map=$W/bench.map&mode=tile&tilemode=gmap&layers=pei&map.imagetype=mvt&tile="
first=$(head -1 "$W/tiles.txt"); IFS=/ read -r z x y <<< "$first"
curl -s -o "$W/ms-probe.mvt" -w "mapserver probe: HTTP %{http_code}, %{size_download} bytes\n" "http://127.0.0.1:18082${MS_PREFIX}${x}+${y}+${z}"

# --- measure
ms() {  # wrk latency to milliseconds: 850.00us, 1.20ms, 2.00s
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
run() {  # name url-base prefix suffix order connections series
  local name=$1 base=$2 prefix=$3 suffix=$4 order=$5 c=$6 series=$7 threads=1
  [ "$c" -gt 1 ] && threads=2
  TILES="$W/$series.txt" PREFIX="$prefix" SUFFIX="$suffix" ORDER="$order" \
    wrk -t"$threads" -c"$c" -d"$DURATION"s --timeout 10s --latency -s scripts/bench/tiles/cycle.lua "$base" > "$W/wrk-$series-$name-$c.txt" 2>&1 || true
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' "$W/wrk-$series-$name-$c.txt")
  p50=$(ms "$(awk '$1 == "50%" {print $2}' "$W/wrk-$series-$name-$c.txt")")
  p99=$(ms "$(awk '$1 == "99%" {print $2}' "$W/wrk-$series-$name-$c.txt")")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' "$W/wrk-$series-$name-$c.txt" | tr '\n' ' ')
  echo "$series|$name|$c|${rps:-0}|$p50|$p99|$errors" >> "$W/results.txt"
}
server_pids() {  # every process of the servers under test (PostgreSQL's backends, MapServer's FastCGI workers)
  pgrep -f "$W/" || true
  [ -f "$W/pg/postmaster.pid" ] && pgrep -P "$(head -1 "$W/pg/postmaster.pid")" || true
  pgrep -x mapserv || true
}
cpu_ticks() { for p in $(server_pids); do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done | awk '{s += $1} END {print s + 0}'; }
settle() {  # wait (up to a minute) until the servers have worked off what the last cell queued: under 5 % of a core
  local before after
  for _ in $(seq 1 120); do
    before=$(cpu_ticks); sleep 0.5; after=$(cpu_ticks)
    [ $((after - before)) -le 2 ] && return 0
  done
  echo "servers still busy a minute after a cell" >&2
}
warm() {  # a short untimed pass so caches (ideo's, geojson-vt's, PostgreSQL's) are as warm as they get
  TILES="$W/tiles.txt" PREFIX="$2" SUFFIX="$3" ORDER="$4" wrk -t2 -c8 -d3s --timeout 10s -s scripts/bench/tiles/cycle.lua "$1" >/dev/null 2>&1 || true
}
: > "$W/results.txt"
servers=(
  "ideo|http://127.0.0.1:18080|/tiles/pei/|.mvt|zxy"
  "ideo-nocache|http://127.0.0.1:18085|/tiles/pei/|.mvt|zxy"
  "postgis-st_asmvt|http://127.0.0.1:18083|/|.mvt|zxy"
  "geojson-vt|http://127.0.0.1:18084|/|.mvt|zxy"
  "mapserver-fcgi|http://127.0.0.1:18082|$MS_PREFIX||mapserver"
  "nginx-static|http://127.0.0.1:18081|/|.mvt|zxy"
)
for s in "${servers[@]}"; do
  IFS='|' read -r name base prefix suffix order <<< "$s"
  warm "$base" "$prefix" "$suffix" "$order"
  # A server still working through requests of a finished cell (a single-threaded node, FastCGI's queue)
  # would be measured on the next cell's time: each cell starts with the servers idle.
  settle
  for series in tiles tiles-z12; do
    for c in 1 16 64; do run "$name" "$base" "$prefix" "$suffix" "$order" "$c" "$series"; settle; done
  done
done
IDEO_RSS=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/$IDEO_PID/status)

# --- report
{
  echo "Tiles: $PEI_COUNT PEI (department $DEPT, scale $SCALE), wrk ${DURATION}s per cell, $(nproc) cores shared by wrk and the servers, $(date -u +%Y-%m-%d)"
  for series in tiles tiles-z12; do
    echo
    if [ "$series" = tiles ]; then
      echo "All $(wc -l < "$W/tiles.txt") tiles z6-z16 (below z12 ideo sends clusters, the others every point):"
    else
      echo "The $(wc -l < "$W/tiles-z12.txt") tiles z12-z16 (every server sends every point):"
    fi
    echo
    echo "| server | connections | requests/s | p50 ms | p99 ms | ideo throughput ratio |"
    echo "|---|---:|---:|---:|---:|---:|"
    while IFS='|' read -r s name c rps p50 p99 errors; do
      [ "$s" = "$series" ] || continue
      ideo_rps=$(awk -F'|' -v c="$c" -v s="$series" '$1 == s && $2 == "ideo" && $3 == c {print $4}' "$W/results.txt")
      ratio=$(awk -v a="$ideo_rps" -v b="$rps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
      echo "| $name | $c | $rps | $p50 | $p99 | $ratio |${errors:+ $errors}"
    done < "$W/results.txt"
  done
  echo
  echo "ideo peak memory (VmHWM): ${IDEO_RSS} MB"
} | tee "$W/results.md"
