#!/usr/bin/env bash
# DECI benchmark, same data, same run, same machine:
#   1. straight-line coverage of every commune of Côte-d'Or (default rules: 200 m around PEI that
#      meet the ordinary risk) by `ideo coverage 21` against PostGIS
#      ST_Difference(commune, ST_Union(ST_Buffer(pei, 200))) on the same communes and PEI;
#   2. coverage where users meet it: `ideo serve` answering GET /deci/communes/{insee}/coverage once per
#      commune of 21, each a cold computation (a fresh server: its coverage cache holds nothing), over one
#      kept-alive connection, against PostGIS running the same query per commune over one warm psql
#      connection and writing the uncovered zones as GeoJSON; p50 / p99 / sum per commune;
#   3. per-commune extract time (p50/p99) of `ideo serve` for XLSX and GeoPackage, against ogr2ogr
#      writing the same commune's PEI from the same store.
# Usage: scripts/bench/coverage_vs_postgis.sh [BUILD_DIR] [EXTRACT_SAMPLE]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
sample=${2:-100}
ideo=$build/ideo
shared=${IDEO_SHARED:-$root/../shared}
work=$(mktemp -d /tmp/ideo-bench-XXXX)
chmod 755 "$work"
pgdata=$work/pg
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
  [ -d "$pgdata" ] && runuser -u postgres -- pg_ctl -D "$pgdata" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

store=$work/ideo.gpkg
"$ideo" import communes "$shared/data/communes/communes-21-cote-d-or.geojson" --store "$store" --layers "$root/layers" >/dev/null
"$ideo" import pei "$shared/data/deci/pei-21-sdis21.geojson" --store "$store" --layers "$root/layers" >/dev/null
"$ideo" import erp "$shared/data/deci/erp-21-prefecture.csv" --store "$store" --layers "$root/layers" >/dev/null
"$ideo" import icpe "$shared/data/deci/icpe-21-georisques.csv" --store "$store" --layers "$root/layers" >/dev/null
communes=$(ogrinfo -q -sql "SELECT COUNT(*) FROM communes WHERE code LIKE '21%'" "$store" | grep -o '= [0-9]*' | tr -d '= ')

# --- ideo: the whole department (process start and snapshot load included in the wall time) ---
t0=$(date +%s.%N)
"$ideo" coverage 21 --rules default -o "$work/ideo-21.geojson" --store "$store" --layers "$root/layers" | tee "$work/ideo.log"
t1=$(date +%s.%N)
ideo_wall=$(echo "$t1 - $t0" | bc -l)
ideo_compute=$(grep -o 'computed in [0-9.e-]*' "$work/ideo.log" | awk '{print $3}')

# --- PostGIS: a throwaway cluster, the same communes and PEI loaded with ogr2ogr ---
export PATH=/usr/lib/postgresql/15/bin:$PATH
mkdir -p "$pgdata" && chown postgres "$pgdata" "$work"
runuser -u postgres -- initdb -D "$pgdata" -A trust >/dev/null
runuser -u postgres -- pg_ctl -D "$pgdata" -o "-k $work -p 54329 -c listen_addresses=''" -l "$work/pg.log" -w start >/dev/null
psql_() { runuser -u postgres -- psql -h "$work" -p 54329 -d postgres -qAt "$@"; }
psql_ -c "CREATE EXTENSION postgis" >/dev/null
ogr2ogr -f PostgreSQL "PG:host=$work port=54329 dbname=postgres user=postgres" "$store" communes pei \
  -t_srs EPSG:2154 -lco GEOMETRY_NAME=geom -nlt PROMOTE_TO_MULTI -overwrite 2>/dev/null || \
ogr2ogr -f PostgreSQL "PG:host=$work port=54329 dbname=postgres user=postgres" "$store" communes pei \
  -t_srs EPSG:2154 -lco GEOMETRY_NAME=geom -overwrite
psql_ -c "CREATE INDEX ON pei USING gist (geom); CREATE INDEX ON communes (code); ANALYZE;" >/dev/null
# The same compliance as ideo's default rules for the ordinary risk: available, hydrant >= 60 m3/h or reserve >= 120 m3.
# Timed twice: the uncovered zones into a table, and the same zones written out as ideo writes them (below).
uncovered_sql="SELECT c.code,
       ST_Difference(ST_MakeValid(c.geom),
                     COALESCE((SELECT ST_Union(ST_Buffer(p.geom, 200, 16)) FROM pei p
                               WHERE ST_DWithin(p.geom, c.geom, 200) AND p.disponible::text IN ('1', 'true')
                                 AND ((p.type_pei IN ('PI','BI') AND p.debit >= 60) OR (p.type_pei IN ('PA','CI') AND p.volume >= 120))),
                              ST_GeomFromText('POLYGON EMPTY', 2154))) AS uncovered
FROM communes c WHERE c.code LIKE '21%'"
pg_ms=$(psql_ <<SQL | grep -o 'Time: [0-9.]*' | awk '{s+=$2} END {print s}'
\\timing on
DROP TABLE IF EXISTS result; CREATE TABLE result AS $uncovered_sql;
SQL
)
pg_s=$(echo "$pg_ms / 1000" | bc -l)
# The same computation with what ideo writes besides: the uncovered zones as GeoJSON in CRS84 (RFC 7946), one
# Feature per commune, into a file (ideo also writes the verdict of every ERP and ICPE, which PostGIS skips here).
pg_out_ms=$(psql_ <<SQL | grep -o 'Time: [0-9.]*' | awk '{s+=$2} END {print s}'
\\timing on
COPY (
  SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object(
           'type', 'Feature', 'properties', json_build_object('insee', code),
           'geometry', ST_AsGeoJSON(ST_Transform(uncovered, 4326), 7)::json)))
  FROM ($uncovered_sql) r
) TO '$work/pg-21.geojson';
SQL
)
pg_out_s=$(echo "$pg_out_ms / 1000" | bc -l)
pg_share=$(psql_ -c "SELECT 1 - SUM(ST_Area(uncovered)) / (SELECT SUM(ST_Area(geom)) FROM communes WHERE code LIKE '21%') FROM result" 2>/dev/null || true)

# --- extracts: ideo serve (HTTP, loopback) against ogr2ogr on the same store ---
"$ideo" serve --store "$store" --layers "$root/layers" --listen 127.0.0.1:0 > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do grep -qs listening "$work/serve.log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -1)
pct() { sort -n | awk '{a[NR]=$1; s+=$1} END {p50=a[int(NR*0.5)+ (NR*0.5>int(NR*0.5))]; p99=a[int(NR*0.99)+(NR*0.99>int(NR*0.99))]; printf "%.1f %.1f %.0f\n", p50*1000, p99*1000, s*1000}'; }

# --- coverage per commune: the server cold (each commune computed once, on request) against PostGIS warm ---
all_codes=$(ogrinfo -q -sql "SELECT code FROM communes WHERE code LIKE '21%' ORDER BY code" "$store" | grep -o "= 21[0-9]*" | tr -d '= ')
curl_args=()
for c in $all_codes; do curl_args+=(-o /dev/null "$url/deci/communes/$c/coverage?rules=default"); done
curl -s -w '%{http_code} %{time_total}\n' "${curl_args[@]}" > "$work/ideo-cov.txt"
bad=$(awk '$1 != 200' "$work/ideo-cov.txt" | wc -l)
awk '{print $2}' "$work/ideo-cov.txt" | pct > "$work/ideo-cov"
{
  echo '\timing on'
  echo '\o /dev/null'
  for c in $all_codes; do
    echo "SELECT ST_AsGeoJSON(ST_Transform(ST_Difference(ST_MakeValid(c.geom), COALESCE((SELECT ST_Union(ST_Buffer(p.geom, 200, 16)) FROM pei p WHERE ST_DWithin(p.geom, c.geom, 200) AND p.disponible::text IN ('1', 'true') AND ((p.type_pei IN ('PI','BI') AND p.debit >= 60) OR (p.type_pei IN ('PA','CI') AND p.volume >= 120))), ST_GeomFromText('POLYGON EMPTY', 2154))), 4326), 7) FROM communes c WHERE c.code = '$c';"
  done
} > "$work/per-commune.sql"
psql_ -f "$work/per-commune.sql" | grep -o 'Time: [0-9.]*' | awk '{print $2 / 1000}' | pct > "$work/pg-cov"

codes=$(echo "$all_codes" | head -n "$sample")
for fmt in xlsx gpkg; do
  for c in $codes; do curl -s -o /dev/null -w '%{time_total}\n' "$url/deci/communes/$c/extract.$fmt"; done | pct > "$work/ideo-$fmt"
  drv=$([ $fmt = xlsx ] && echo XLSX || echo GPKG)
  for c in $codes; do
    s=$(date +%s.%N)
    ogr2ogr -f $drv "$work/o.$fmt" "$store" pei -where "insee='$c'" -t_srs EPSG:2154 -overwrite 2>/dev/null
    ogr2ogr -f $drv "$work/o.$fmt" "$store" erp -where "insee='$c'" -t_srs EPSG:2154 -update 2>/dev/null
    ogr2ogr -f $drv "$work/o.$fmt" "$store" icpe -where "insee='$c'" -t_srs EPSG:2154 -update 2>/dev/null
    e=$(date +%s.%N); echo "$e - $s" | bc -l; rm -f "$work/o.$fmt"
  done | pct > "$work/ogr-$fmt"
done

echo
echo "== Coverage, Côte-d'Or, $communes communes, straight line, default rules =="
printf "ideo coverage 21        : %.2f s wall (%.2f s computing)\n" "$ideo_wall" "$ideo_compute"
printf "PostGIS (same SQL run)  : %.2f s\n" "$pg_s"
printf "ratio PostGIS / ideo    : %.1fx (wall), %.1fx (computing)\n" "$(echo "$pg_s / $ideo_wall" | bc -l)" "$(echo "$pg_s / $ideo_compute" | bc -l)"
printf "PostGIS, GeoJSON written: %.2f s (%s bytes; ideo %s bytes)\n" "$pg_out_s" "$(stat -c %s "$work/pg-21.geojson")" "$(stat -c %s "$work/ideo-21.geojson")"
printf "ratio PostGIS+GeoJSON / ideo: %.1fx (wall)\n" "$(echo "$pg_out_s / $ideo_wall" | bc -l)"
echo "covered share: ideo $(grep -o 'covered share [0-9.]*' "$work/ideo.log" | awk '{print $3}'), PostGIS ${pg_share:-?}"
echo
read -r a b t < "$work/ideo-cov"; read -r c d u < "$work/pg-cov"
echo "== Coverage per commune ($communes communes of 21), ideo serve cold vs PostGIS warm, p50 / p99 / sum in ms =="
printf "ideo serve (HTTP, cold) %6s / %6s / %6s   (%s answers not 200)\n" "$a" "$b" "$t" "$bad"
printf "PostGIS (warm, GeoJSON) %6s / %6s / %6s\n" "$c" "$d" "$u"
printf "ratio PostGIS / ideo    %6.1fx / %5.1fx / %5.1fx\n" "$(echo "$c / $a" | bc -l)" "$(echo "$d / $b" | bc -l)" "$(echo "$u / $t" | bc -l)"
echo
echo "== Extract per commune ($sample communes), p50 / p99 in ms =="
for fmt in xlsx gpkg; do
  read -r a b _ < "$work/ideo-$fmt"; read -r c d _ < "$work/ogr-$fmt"
  printf "%-5s ideo serve %6s / %6s   ogr2ogr (3 layers) %6s / %6s\n" "$fmt" "$a" "$b" "$c" "$d"
done
