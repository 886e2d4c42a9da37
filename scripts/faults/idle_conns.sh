#!/usr/bin/env bash
# 1,000 idle or drip-feeding connections against `ideo serve` (GeoPackage store, the Côte-d'Or PEI):
# normal clients (wrk, a few connections over items, a feature, a tile and health) measured alone, then
# while the slow connections are open; the slow ones (scripts/faults/slow_clients.py: silent, one byte
# every 3 s, or silent after one answer) must be closed by the server at its read timeout
# (ServerOptions.read_timeout, 30 s), not before it and not much after: printed per kind.
# Usage: scripts/faults/idle_conns.sh [CONNECTIONS (1000)] [WRK_SECONDS (10)]    env: BUILD_DIR, KEEP=1
source "$(dirname "$0")/lib.sh"
total=${1:-1000}
wrk_seconds=${2:-10}
read_timeout=30  # ServerOptions.read_timeout's default (include/ideo/server/server.hpp)
command -v wrk >/dev/null || { echo "missing wrk: run scripts/install-deps" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"  # the server's descriptors: 1,000 slow clients and the normal ones

store=$work/ideo.gpkg
"$ideo" import communes "$communes21" --store "$store" >/dev/null
import_pei "$store" "$pei21" >/dev/null
serve_start s --store "$store"
base=http://127.0.0.1:$port_s
one_id=$(curl -fsS "$base/collections/pei/items?limit=1" | jq -r '.features[0].id')
cat >"$work/mix.lua" <<LUA
local paths = {"/collections/pei/items?limit=10", "/collections/pei/items/$one_id", "/tiles/pei/12/2105/1435.mvt", "/health"}
local i = 0
request = function() i = i % #paths + 1; return wrk.format("GET", paths[i]) end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("FAULTS %d %d %d %.2f %.2f %.2f\n", summary.requests, e.status + e.connect + e.read + e.write,
    e.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
LUA
normal() {  # prints: requests errors timeouts p50_ms p99_ms max_ms
  wrk -t1 -c4 -d"${wrk_seconds}s" --timeout 5s -s "$work/mix.lua" "$base" | sed -n 's/^FAULTS //p'
}

read -r n0 err0 to0 p50_0 p99_0 max0 < <(normal)
echo "normal clients alone (4 connections, $wrk_seconds s): $n0 requests, $err0 errors, $to0 timeouts," \
     "p50 $p50_0 ms, p99 $p99_0 ms, max $max0 ms"

idle=$((total * 2 / 5)); drip=$((total * 2 / 5)); keepalive=$((total - idle - drip))
t0=$(now_ms)
python3 "$faults_root/scripts/faults/slow_clients.py" "$port_s" "$idle" "$drip" "$keepalive" 3 $((read_timeout * 2 + 20)) \
  >"$work/slow.out" 2>&1 &
slow_pid=$!
started_pids+=("$slow_pid")
for _ in $(seq 300); do grep -q '^connected' "$work/slow.out" && break; kill -0 "$slow_pid" 2>/dev/null || break; sleep 0.1; done
echo "slow clients: $idle idle, $drip drip-feeding (a byte every 3 s), $keepalive silent after one answer;" \
     "$(head -1 "$work/slow.out")"
read -r n1 err1 to1 p50_1 p99_1 max1 < <(normal)
t_normal=$(($(now_ms) - t0))
echo "normal clients with them ($((t_normal / 1000)) s after they connected): $n1 requests, $err1 errors, $to1 timeouts," \
     "p50 $p50_1 ms, p99 $p99_1 ms, max $max1 ms"
wait "$slow_pid" || true
summary=$(tail -1 "$work/slow.out")
echo "closed by the server (seconds from the connect, or from the answer for keep-alive):"
jq -r 'to_entries[] | "  \(.key): \(.value.closed) of \(.value.opened) closed (\(.value.answered) answered), after min \(.value.close_s_min) s, median \(.value.close_s_median) s, max \(.value.close_s_max) s"' <<<"$summary"
health=$(curl -s -o /dev/null -w '%{http_code}' "$base/health" || true)

expect [ "$err0" = 0 -a "$to0" = 0 -a "$err1" = 0 -a "$to1" = 0 ] -- "normal clients: no error nor timeout, alone or beside the slow ones"
# Loose on purpose (2 shared cores): the slow clients must not stall the normal ones.
expect python3 -c "import sys; sys.exit(not ($p99_1 <= 10 * $p99_0 + 20))" -- \
  "normal clients keep their latency: p99 $p99_1 ms beside the slow ones, $p99_0 ms alone"
for kind in idle drip keepalive; do
  read -r opened closed lo hi < <(jq -r ".$kind | \"\(.opened) \(.closed) \(.close_s_min) \(.close_s_max)\"" <<<"$summary")
  expect [ "$closed" = "$opened" ] -- "$kind: every connection closed by the server ($closed of $opened)"
  expect python3 -c "import sys; sys.exit(not ($read_timeout - 1 <= $lo and $hi <= $read_timeout + 10))" -- \
    "$kind: closed at the read timeout ($read_timeout s): between $lo and $hi s"
done
expect [ "$(jq .keepalive.answered <<<"$summary")" = "$keepalive" ] -- "keep-alive clients were answered first"
expect [ "$health" = 200 ] -- "the server still answers"
finish
