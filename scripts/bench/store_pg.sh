#!/usr/bin/env bash
# The two stores side by side: `ideo import pei` of the SDIS 21 export (9,794 PEI published; the Côte-d'Or
# communes imported first) into the GeoPackage and into PostGIS (a throwaway PostgreSQL 15 cluster on a
# Unix socket, default settings, fsync on), each run replacing the source's records; timed by hyperfine.
# Usage: scripts/bench/store_pg.sh [BUILD_DIR]    env: RUNS (5), KEEP=1
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:-$root/build}")
runs=${RUNS:-5}
data=$root/../shared/data
bin=/usr/lib/postgresql/15/bin
work=$(mktemp -d /tmp/ideo-bench-store-XXXX)
chmod 755 "$work"
pgdata=$work/pg
as_postgres=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$work"; as_postgres=(runuser -u postgres --); fi
cleanup() {
  [ -d "$pgdata" ] && "${as_postgres[@]}" "$bin/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

command -v hyperfine >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
[ -x "$build/ideo" ] || cmake --build "$build" --target ideo
"${as_postgres[@]}" "$bin/initdb" -D "$pgdata" -A trust -U postgres >/dev/null
"${as_postgres[@]}" "$bin/pg_ctl" -D "$pgdata" -l "$work/postgres.log" -w -o "-k $work -p 5432 -c listen_addresses=''" start >/dev/null
pg="PG:host=$work port=5432 user=postgres dbname=postgres"
gpkg=$work/ideo.gpkg

cd "$root"
for store in "$gpkg" "$pg"; do
  "$build/ideo" import communes "$data/communes/communes-21-cote-d-or.geojson" --store "$store" >/dev/null
done
pei=$data/deci/pei-21-sdis21.geojson
hyperfine -w 1 -r "$runs" -N \
  -n "GeoPackage" "$build/ideo import pei $pei --store $gpkg" \
  -n "PostGIS" "$build/ideo import pei $pei --store '$pg'"
echo "$(nproc) cores shared by ideo and PostgreSQL; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
