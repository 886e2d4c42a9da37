#!/usr/bin/env bash
# PostgreSQL stopped and restarted under two `ideo serve --store PG:...` replicas: while the database is
# down both answer every request 200 from the snapshot in memory (items, one feature, health, a tile),
# and once it is back they reconnect and catch up with the next publish. Two rounds: a fast shutdown
# (clients disconnected) and an immediate one (as a crash).
# Usage: scripts/faults/pg_restart.sh [DOWN_SECONDS (10)]    env: BUILD_DIR, KEEP=1
source "$(dirname "$0")/lib.sh"
down_seconds=${1:-10}
make_half

pg_two_replicas "$pei21"
one_id=$(curl -fsS "http://127.0.0.1:$port_a/collections/pei/items?limit=1" | jq -r '.features[0].id')
paths=("/collections/pei/items?limit=1" "/collections/pei/items/$one_id" "/health" "/tiles/pei/12/2105/1435.mvt")
echo "PostgreSQL stopped under two replicas (ports $port_a, $port_b), $down_seconds s down per round"

round=0
files=("$half" "$pei21")
for mode in fast immediate; do
  round=$((round + 1))
  version=$(store_version "$pg_uri")
  count=$(served_count "$port_a")
  expect [ "$(served_version "$port_a")" = "$version" -a "$(served_version "$port_b")" = "$version" ] -- \
    "round $round: both replicas serve version $version ($count PEI)"
  "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -m "$mode" -w stop >/dev/null
  failed_polls_before=$(cat "$work/a.log" "$work/b.log" | grep -c 'snapshot reload failed' || true)
  declare -A statuses=()
  requests=0
  deadline=$(($(now_ms) + down_seconds * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    for port in "$port_a" "$port_b"; do
      for path in "${paths[@]}"; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port$path" || true)
        statuses[$code]=$((${statuses[$code]:-0} + 1))
        requests=$((requests + 1))
      done
    done
    sleep 0.1
  done
  counts_down="$(served_count "$port_a") $(served_count "$port_b")"
  failed_polls=$(($(cat "$work/a.log" "$work/b.log" | grep -c 'snapshot reload failed' || true) - failed_polls_before))
  summary=$(for c in "${!statuses[@]}"; do echo -n "$c: ${statuses[$c]} "; done)
  echo "round $round ($mode shutdown): $requests requests while down: $summary; PEI served $counts_down;" \
       "$failed_polls failed version polls logged"
  expect [ "${statuses[200]:-0}" = "$requests" ] -- "every request answered 200 from memory"
  expect [ "$counts_down" = "$count $count" ] -- "both replicas still serve their $count PEI"
  expect [ "$failed_polls" -gt 0 ] -- "the replicas' polls saw the outage and said so"
  grep -h 'snapshot reload failed' "$work/a.log" | tail -1 | sed 's/^/  a.log: /'

  t0=$(now_ms)
  pg_up
  file=${files[$((round - 1))]}
  n=$(import_pei "$pg_uri" "$file" || echo failed)
  version=$(store_version "$pg_uri")
  t1=$(now_ms)
  caught=()
  for port in "$port_a" "$port_b"; do
    if wait_served "$port" "$version" 20; then caught+=("$(($(now_ms) - t1))"); else caught+=(never); fi
  done
  echo "round $round: PostgreSQL back and version $version published ($n PEI) in $((t1 - t0)) ms;" \
       "served by a after ${caught[0]} ms, by b after ${caught[1]} ms"
  expect [ "$(served_count "$port_a")" = "$n" -a "$(served_count "$port_b")" = "$n" ] -- "both replicas caught up: $n PEI"
done
expect kill -0 "$pid_a" -- "replica a still running"
expect kill -0 "$pid_b" -- "replica b still running"
finish
