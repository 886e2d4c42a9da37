#!/usr/bin/env bash
# kill -9 of an `ideo import pei` (the SDIS 21 export, Côte-d'Or) at random points, COUNT times on each
# store (the GeoPackage, and PostGIS in a throwaway cluster), with one `ideo serve` on each store:
# after every kill the store is intact (sqlite3's PRAGMA integrity_check; psql's count), the version and
# count served are the previous ones (or, when the kill came after the commit, the new ones complete),
# and the next import publishes and is served. Two versions of the source alternate (all 9,874 rows and
# the first 5,000), so a half-applied publish would show in the counts.
# Usage: scripts/faults/kill_import.sh [COUNT (20)]    env: SEED, STORES ("gpkg pg"), BUILD_DIR, KEEP=1
source "$(dirname "$0")/lib.sh"
count=${1:-20}
seed=${SEED:-$$}
RANDOM=$seed
echo "kill -9 of ideo import, $count times per store (SEED=$seed)"

full=$pei21
make_half

# kill_loop NAME STORE: the COUNT kills on one store, served by `ideo serve` started once.
kill_loop() {
  local name=$1 store=$2
  "$ideo" import communes "$communes21" --store "$store" >/dev/null
  declare -A published duration
  local f t0
  for f in "$half" "$full"; do  # the full version served first
    t0=$(now_ms)
    published[$f]=$(import_pei "$store" "$f")
    duration[$f]=$(($(now_ms) - t0))
  done
  serve_start "$name" --store "$store"
  local port_var="port_$name" port
  port=${!port_var}
  echo "== $name: an import takes ${duration[$full]} ms (all rows, ${published[$full]} PEI published)," \
       "${duration[$half]} ms (first 5000 rows, ${published[$half]} PEI); killed at a random point of 0 to 1.1 times the latest import of the same file"

  local i file prev_version prev_count delay pid rc version rows served_v served_n integrity
  local rolled_back=0 committed=0 finished=0 delays=()
  for i in $(seq "$count"); do
    if [ $((i % 2)) -eq 1 ]; then file=$half; else file=$full; fi
    prev_version=$(store_version "$store")
    prev_count=$(served_count "$port")
    delay=$((RANDOM * ${duration[$file]} * 11 / 10 / 32768))
    delays+=("$delay")
    "$ideo" import pei "$file" --store "$store" --source sdis21 >"$work/import.log" 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -9 "$pid" 2>/dev/null || true
    rc=0; { wait "$pid"; } 2>/dev/null || rc=$?

    if [ "$name" = gpkg ]; then
      integrity=$(gpkg_integrity "$store")
    else
      integrity=$(psql_q "SELECT 'ok:' || count(*) FROM pei" 2>&1 || true)
    fi
    version=$(store_version "$store")
    rows=$(store_pei_rows "$store")
    local outcome expected
    if [ "$rc" -eq 0 ]; then
      outcome="finished before the kill"; finished=$((finished + 1))
    elif [ "$version" = "$prev_version" ]; then
      outcome="rolled back"; rolled_back=$((rolled_back + 1))
    else
      outcome="committed before the kill"; committed=$((committed + 1))
    fi
    if [ "$version" = "$prev_version" ]; then expected=$prev_count; else expected=${published[$file]}; fi
    sleep 2.5  # the server polls the store every 2 s: let it see whatever the kill left
    served_v=$(served_version "$port")
    served_n=$(served_count "$port")
    echo "kill $i: after $delay ms (exit $rc, $outcome): store version $prev_version -> $version, integrity $integrity," \
         "rows $rows, served version $served_v count $served_n"
    case $name in
      gpkg) expect [ "$integrity" = ok ] -- "integrity_check ok" ;;
      pg) expect [ "$integrity" = "ok:$rows" ] -- "the PEI table reads" ;;
    esac
    expect [ "$version" = "$prev_version" -o "$version" = $((prev_version + 1)) ] -- "at most one version more"
    expect [ "$rows" = "$expected" ] -- "the store holds one whole version ($expected PEI)"
    if [ "$version" != "$served_v" ]; then wait_served "$port" "$version" 10 || true; served_v=$(served_version "$port"); served_n=$(served_count "$port"); fi
    expect [ "$served_v" = "$version" -a "$served_n" = "$expected" ] -- "served version $version with $expected PEI"

    # The next import publishes, and the server swaps it in.
    local n
    t0=$(now_ms)
    n=$(import_pei "$store" "$file" || echo failed)
    duration[$file]=$(($(now_ms) - t0))  # the next kill's window: this file's latest import time
    expect [ "$n" = "${published[$file]}" ] -- "the next import publishes ${published[$file]} PEI"
    version=$(store_version "$store")
    wait_served "$port" "$version" 10 || true
    served_n=$(served_count "$port")
    expect [ "$(served_version "$port")" = "$version" -a "$served_n" = "${published[$file]}" ] -- "then served: version $version, $served_n PEI"
  done
  echo "== $name: $count kills: $rolled_back rolled back, $committed committed before the kill, $finished finished before it;" \
       "delays (ms): $(printf '%s\n' "${delays[@]}" | sort -n | tr '\n' ' ')"
  local pid_var="pid_$name"
  expect kill -0 "${!pid_var}" -- "ideo serve on the $name store still running"
}

for s in ${STORES:-gpkg pg}; do
  case $s in
    gpkg) kill_loop gpkg "$work/ideo.gpkg" ;;
    pg) pg_start; kill_loop pg "$pg_uri"
        expect [ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'")" = 0 ] -- \
          "no transaction of a killed import left open" ;;
    *) echo "unknown store $s (gpkg, pg)" >&2; exit 2 ;;
  esac
done
finish
