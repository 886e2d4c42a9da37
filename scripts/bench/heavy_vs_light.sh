#!/usr/bin/env bash
# Light requests while heavy ones run (issue 17), side by side in one run on one store:
#   tiles (/tiles/pei/{z}/{x}/{y}.mvt) and items (/collections/pei/items, pages and bboxes) under wrk,
#   idle, then with 16 concurrent DECI extracts (commune XLSX/GPKG/CSV, department XLSX) kept in flight by
#   a second wrk; p50/p99 of each and the extracts answered. BASELINE=OTHER_BUILD_DIR measures an earlier
#   build (extracts on the I/O threads) the same way in the same run.
# Corpus: ../shared/tools/make_deci_data.py --scale SCALE (10) for department 90.
# Usage: scripts/bench/heavy_vs_light.sh [BUILD_DIR]   env: DURATION (10 s), SCALE (10), CONNECTIONS (8),
#        EXTRACTS (16), BASELINE, SERVE_ARGS (more options of this build's ideo serve, e.g. "--workers 1"),
#        BENCH_DIR (a work folder kept between runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:-$root/build}")
duration=${DURATION:-10}
scale=${SCALE:-10}
conns=${CONNECTIONS:-8}
extracts=${EXTRACTS:-16}
W="${BENCH_DIR:-$(mktemp -d /tmp/ideo-bench-heavy.XXXXXX)}"
mkdir -p "$W"
cycle="$root/scripts/bench/catalog/cycle.lua"
echo "work folder: $W"

source "$root/scripts/bench/deci_store.sh"
echo "corpus: $pei PEI in department 90 (scale $scale); $(wc -l < "$W/tiles.txt") tiles, $(wc -l < "$W/items.txt") item queries, $(wc -l < "$W/extracts.txt") extracts"

load() {  # list, out file: one wrk over the list
  PATHS="$1" wrk -t1 -c"$conns" -d"${duration}s" --latency -s "$cycle" "$port_url" > "$2" 2>&1
}

: > "$W/results.txt"
measure() {  # label, build dir
  local label=$1 bin=$2/ideo port
  port=$(free_port)
  port_url="http://127.0.0.1:$port"
  local args=()
  [ "$label" = ideo ] && read -ra args <<< "${SERVE_ARGS:-}"  # e.g. "--workers 1": this build's pool
  "$bin" serve --store "$W/ideo.gpkg" --layers "$root/layers" --listen "127.0.0.1:$port" "${args[@]}" > "$W/$label-serve.log" 2>&1 &
  local pid=$!
  pids+=($pid)
  wait_http "$port_url/health"
  PATHS="$W/tiles.txt" wrk -t1 -c4 -d3s -s "$cycle" "$port_url" >/dev/null 2>&1  # warm-up: the tile cache, the page cache
  PATHS="$W/items.txt" wrk -t1 -c4 -d2s -s "$cycle" "$port_url" >/dev/null 2>&1
  curl -fsS -o /dev/null "$port_url/deci/extract.xlsx?dept=90"
  for kind in tiles items; do load "$W/$kind.txt" "$W/$label-$kind-idle.txt"; done
  # 16 extracts in flight for the whole of both light runs, then the same light runs again.
  PATHS="$W/extracts.txt" wrk -t1 -c"$extracts" -d"$((2 * duration + 4))s" --timeout 60s --latency -s "$cycle" "$port_url" > "$W/$label-extracts.txt" 2>&1 &
  local heavy=$!
  sleep 2
  for kind in tiles items; do load "$W/$kind.txt" "$W/$label-$kind-busy.txt"; done
  wait "$heavy"
  for kind in tiles items; do
    echo "$label|$kind|$(pct 50% "$W/$label-$kind-idle.txt")|$(pct 99% "$W/$label-$kind-idle.txt")|$(pct 50% "$W/$label-$kind-busy.txt")|$(pct 99% "$W/$label-$kind-busy.txt")|$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$W/$label-$kind-idle.txt")|$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$W/$label-$kind-busy.txt")|$(errors_of "$W/$label-$kind-idle.txt")$(errors_of "$W/$label-$kind-busy.txt")" >> "$W/results.txt"
  done
  echo "$label|$(awk '/requests in/ {print $1}' "$W/$label-extracts.txt")|$(pct 50% "$W/$label-extracts.txt")|$(pct 99% "$W/$label-extracts.txt")|$(errors_of "$W/$label-extracts.txt")" >> "$W/extracts-results.txt"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
: > "$W/extracts-results.txt"
[ -n "${BASELINE:-}" ] && measure baseline "$(realpath "$BASELINE")"
measure ideo "$build"

{
  echo "$(nproc) cores shared by ideo and wrk; $conns connections per light run, $extracts extracts in flight; ${duration} s per run; $(date -u +%Y-%m-%d)"
  echo
  echo "| build | requests | idle p50 ms | idle p99 ms | with extracts p50 ms | with extracts p99 ms | p99 ratio | idle req/s | with extracts req/s |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  while IFS='|' read -r label kind p50 p99 bp50 bp99 rps brps errors; do
    ratio=$(awk -v a="$bp99" -v b="$p99" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }')
    [ "$brps" = 0 ] && bp50="none answered" && bp99="none answered" && ratio="∞"  # every request timed out (2 s)
    echo "| $label | $kind | $p50 | $p99 | $bp50 | $bp99 | $ratio | $rps | $brps |${errors:+ $errors}"
  done < "$W/results.txt"
  echo
  echo "| build | extracts answered | p50 ms | p99 ms | errors |"
  echo "|---|---:|---:|---:|---|"
  while IFS='|' read -r label n p50 p99 errors; do echo "| $label | $n | $p50 | $p99 | ${errors:-none} |"; done < "$W/extracts-results.txt"
} | tee "$W/results.md"
