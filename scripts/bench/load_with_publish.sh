#!/usr/bin/env bash
# Load with publishes (issue 17): 64 connections for 60 s over a realistic mix (tiles, items pages and
# bboxes, CQL2 filters, commune search, catalogue search, commune XLSX extracts; wrk drawing each path at
# random from a weighted list) while `ideo import pei` republishes the same layer file into the store the
# server reads every 10 s. Reports the answers by status (errors expected: 0), p50/p99, the publishes the
# server swapped in, and the peak RSS (VmHWM) of ideo serve.
# Corpus: ../shared/tools/make_deci_data.py --scale SCALE (10) for department 90.
# Usage: scripts/bench/load_with_publish.sh [BUILD_DIR]   env: DURATION (60 s), CONNECTIONS (64), EVERY (10 s),
#        SCALE (10), BENCH_DIR (a work folder kept between runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:-$root/build}")
duration=${DURATION:-60}
conns=${CONNECTIONS:-64}
every=${EVERY:-10}
scale=${SCALE:-10}
W="${BENCH_DIR:-$(mktemp -d /tmp/ideo-bench-publish.XXXXXX)}"
mkdir -p "$W"
echo "work folder: $W"

source "$root/scripts/bench/deci_store.sh"
pei_file=$(ls "$W"/corpus/*pei* | head -1)

# --- the mix: per 100 requests, 40 tiles, 25 items, 12 CQL2 filters, 10 commune searches, 10 catalogue
# searches, 3 commune XLSX extracts
/usr/bin/python3 - "$W" <<'EOF'
import random, sys, urllib.parse
w = sys.argv[1]
rnd = random.Random(23)
lines = lambda name: [l.strip() for l in open(f"{w}/{name}") if l.strip()]
tiles, items, insee = lines("tiles.txt"), lines("items.txt"), lines("insee.txt")
q = lambda s: urllib.parse.quote(s, safe="")
filters = ["type_pei='PI' AND debit>=60", "debit<30", "type_pei IN ('PI','BI') AND insee='90010'",
           "S_INTERSECTS(geom,BBOX(6.82,47.60,6.90,47.66))", "debit BETWEEN 60 AND 120", "NOT (type_pei='PI')"]
words = ["bel", "Giromagny", "90300", "Dele", "Valdoie", "90000", "Roug", "Etueffont"]
catalogue = ["eau potable", "defense incendie", "urbanisme", "risques", "cadastre"]
mix = []
mix += [rnd.choice(tiles) for _ in range(40)]
mix += [rnd.choice(items) for _ in range(25)]
mix += [f"/collections/pei/items?limit=50&filter={q(rnd.choice(filters))}" for _ in range(12)]
mix += [f"/communes/search?q={q(rnd.choice(words))}&limit=10" for _ in range(10)]
mix += [f"/catalog/records?q={q(rnd.choice(catalogue))}" for _ in range(10)]
mix += [f"/deci/communes/{rnd.choice(insee)}/extract.xlsx" for _ in range(3)]
open(f"{w}/mix.txt", "w").write("\n".join(mix) + "\n")
EOF

port=$(free_port)
url="http://127.0.0.1:$port"
"$build/ideo" serve --store "$W/ideo.gpkg" --layers "$root/layers" --listen "127.0.0.1:$port" > "$W/serve.out" 2> "$W/serve.err" &
serve_pid=$!
pids+=($serve_pid)
wait_http "$url/health"
# Every distinct path answers 200 before the load: a broken path would count as an error of the load.
sort -u "$W/mix.txt" | while read -r path; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url$path")
  [ "$code" = 200 ] || [ "$code" = 204 ] || { echo "$path: HTTP $code" >&2; exit 1; }
done
loaded_mb=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$serve_pid/status")
v0=$(curl -fsS "$url/health" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshot_version"])')

# --- the publisher: the same layer file imported again every $every seconds while the load runs
(
  start=$SECONDS
  for ((at = every; at < duration; at += every)); do
    while [ $((SECONDS - start)) -lt "$at" ]; do sleep 0.2; done
    t0=$(date +%s.%N)
    if "$build/ideo" import pei "$pei_file" --store "$W/ideo.gpkg" --layers "$root/layers" > /dev/null 2>> "$W/import.err"; then
      printf '%.1f\n' "$(echo "$(date +%s.%N) - $t0" | bc -l)" >> "$W/imports.txt"
    else
      echo failed >> "$W/imports.txt"
    fi
  done
) &
publisher=$!
pids+=($publisher)
: > "$W/imports.txt"
PATHS="$W/mix.txt" wrk -t2 -c"$conns" -d"${duration}s" --timeout 30s --latency -s "$root/scripts/bench/random.lua" "$url" > "$W/wrk.txt" 2>&1
wait "$publisher" || true
sleep 3  # the server's version poll (2 s) picks up the last publish
v1=$(curl -fsS "$url/health" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshot_version"])')
peak_mb=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$serve_pid/status")

total=$(awk '/requests in/ {print $1}' "$W/wrk.txt")
not_ok=$(awk '/^status / { sub(":", "", $2); if ($2 != 200 && $2 != 204 && $2 != 304) n += $3 } END { print n + 0 }' "$W/wrk.txt")
socket_errors=$(awk '/Socket errors/ {sub(/.*Socket errors: /, ""); print}' "$W/wrk.txt")
{
  echo "$(nproc) cores shared by ideo serve, wrk and the importer; $conns connections, ${duration} s, a publish every ${every} s; $(date -u +%Y-%m-%d)"
  echo "corpus: $pei PEI in department 90 (scale $scale); $(sort -u "$W/mix.txt" | wc -l) distinct paths in the mix"
  echo
  echo "| requests | requests/s | p50 ms | p99 ms | max ms | errors (non-2xx/304) | socket errors | publishes (import s) | store versions served | peak RSS MB (loaded) |"
  echo "|---:|---:|---:|---:|---:|---:|---|---|---:|---:|"
  echo "| $total | $(awk '/Requests\/sec/ {printf "%.0f", $2}' "$W/wrk.txt") | $(pct 50% "$W/wrk.txt") | $(pct 99% "$W/wrk.txt") | $(ms "$(awk '/^ *Latency / {print $4}' "$W/wrk.txt")") | $not_ok | ${socket_errors:-none} | $(grep -c . "$W/imports.txt") ($(paste -sd' ' "$W/imports.txt")) | $((v1 - v0)) | $peak_mb ($loaded_mb) |"
  echo
  echo "answers by status: $(grep '^status' "$W/wrk.txt" | sort | paste -sd';' -)"
  echo
  echo "Per endpoint, from ideo's /metrics (handling time: from the request read to its answer, the worker queue included):"
  echo
  echo "| endpoint | requests | mean ms |"
  echo "|---|---:|---:|"
  curl -fsS "$url/metrics" | awk -F'[{}" ]+' '
    /^ideo_http_request_duration_seconds_sum\{/ { sum[$3] = $NF }
    /^ideo_http_request_duration_seconds_count\{/ { count[$3] = $NF }
    END { for (e in count) if (count[e] > 0 && e != "metrics" && e != "health") printf "| %s | %d | %.2f |\n", e, count[e], 1000 * sum[e] / count[e] }' | sort
  grep -q . "$W/serve.err" && echo "ideo serve stderr: $(tail -3 "$W/serve.err" | paste -sd'|' -)" || true
} | tee "$W/results.md"
