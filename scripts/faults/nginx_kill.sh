#!/usr/bin/env bash
# Two `ideo serve` replicas behind nginx (upstream on two loopback ports, nginx's default retry of a
# failed upstream: `proxy_next_upstream error timeout`) on one PostGIS; wrk at CONNECTIONS for DURATION
# seconds over items, single features, tiles, collections and health, an import publishing every 10 s,
# replica a killed (kill -9) midway. Expected: errors only for the requests a had in flight (at most
# one per connection), none before the kill nor once nginx has marked a down, replica b keeps serving
# and picks up every publish. Prints wrk's figures (non-2xx, socket errors, p50/p99) and nginx's log
# per replica and per second around the kill.
# Usage: scripts/faults/nginx_kill.sh [DURATION (60)] [CONNECTIONS (64)]
#   env: NEXT_UPSTREAM (nginx's proxy_next_upstream, "error timeout"; "off" to see the in-flight requests fail), BUILD_DIR, KEEP=1
source "$(dirname "$0")/lib.sh"
duration=${1:-60}
connections=${2:-64}
next_upstream=${NEXT_UPSTREAM:-error timeout}  # nginx's default; "off": a failed upstream's requests are not retried
for tool in wrk nginx; do command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps" >&2; exit 1; }; done
make_half

pg_two_replicas "$half"
# Single features of both versions (the 5,000 first rows are in both): a 404 would be an error.
curl -fsS "http://127.0.0.1:$port_a/collections/pei/items?limit=300&properties=insee" | jq -r '.features[].id' >"$work/ids"
import_pei "$pg_uri" "$pei21" >/dev/null
wait_served "$port_a" "$(store_version "$pg_uri")" 10 && wait_served "$port_b" "$(store_version "$pg_uri")" 10
nginx_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

mkdir -p "$work/nginx"
chmod 777 "$work/nginx"  # nginx's workers (user nobody) write their temporary files there
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  log_format faults '\$msec \$status \$upstream_addr \$upstream_status \$request_time';
  access_log $work/nginx/access.log faults buffer=256k;
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fcgi; uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  upstream ideo {
    server 127.0.0.1:$port_a max_fails=1 fail_timeout=10s;
    server 127.0.0.1:$port_b max_fails=1 fail_timeout=10s;
    keepalive 32;
  }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://ideo;
      proxy_next_upstream $next_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' >"$work/nginx/stderr.log" 2>&1 &
started_pids+=($!)
front=http://127.0.0.1:$nginx_port
for _ in $(seq 100); do curl -fsS -o /dev/null "$front/health" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "$front/health" || { cat "$work/nginx/"*.log >&2; exit 1; }

# The request mix: pages of items, single features, tiles around Dijon (z12-z14), collections, health.
{
  for i in $(seq 0 49); do echo "/collections/pei/items?limit=20&offset=$((i * 20))"; done
  sed 's|^|/collections/pei/items/|' "$work/ids"
  for z in 12 13 14; do
    read -r x y < <(python3 -c "import math; z=$z; lon, lat = 5.04, 47.32; n = 2 ** z
print(int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))")
    for dx in -1 0 1; do for dy in -1 0 1; do echo "/tiles/pei/$z/$((x + dx))/$((y + dy)).mvt"; done; done
  done
  echo /collections; echo /collections/pei; echo /health
} >"$work/paths"
cat >"$work/mix.lua" <<'LUA'
local paths = {}
for line in io.lines(os.getenv("FAULTS_PATHS")) do paths[#paths + 1] = line end
local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("FAULTS requests %d non2xx %d connect %d read %d write %d timeout %d p50_ms %.2f p99_ms %.2f\n",
    summary.requests, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
echo "two replicas (ports $port_a, $port_b) behind nginx ($nginx_port) on one PostGIS: $(wc -l <"$work/paths") paths," \
     "$connections connections for $duration s, a publish every 10 s, replica a killed at $((duration / 2)) s," \
     "proxy_next_upstream $next_upstream"

t_start=$(now_ms)
FAULTS_PATHS=$work/paths wrk -t2 -c"$connections" -d"${duration}s" --timeout 5s -s "$work/mix.lua" "$front" >"$work/wrk.out" 2>&1 &
wrk_pid=$!
started_pids+=("$wrk_pid")

# The publisher: the two versions of the source in turn, every 10 s, while wrk runs.
(
  for i in $(seq 1 $(((duration - 1) / 10))); do
    wait_ms=$((t_start + i * 10000 - $(now_ms)))
    [ "$wait_ms" -gt 0 ] && sleep "$((wait_ms / 1000)).$(printf %03d $((wait_ms % 1000)))"
    if [ $((i % 2)) -eq 1 ]; then f=$half; else f=$pei21; fi
    n=$(import_pei "$pg_uri" "$f" || echo failed)
    echo "$(($(now_ms) - t_start)) $(store_version "$pg_uri") $n"
  done
) >"$work/publishes" 2>&1 &
publisher_pid=$!
started_pids+=("$publisher_pid")

sleep "$((duration / 2))"
t_kill=$(now_ms)
kill -9 "$pid_a"
{ wait "$pid_a"; } 2>/dev/null || true
echo "replica a killed at $(((t_kill - t_start) / 1000)).$(((t_kill - t_start) % 1000 / 100)) s"
wait "$wrk_pid" || true
wait "$publisher_pid" || true
kill -HUP "$(cat "$work/nginx/nginx.pid")"  # reopens the log: the buffer is written out
sleep 0.5

cat "$work/wrk.out" | grep -v '^FAULTS'
read -r requests non2xx e_connect e_read e_write e_timeout p50 p99 < <(sed -n 's/^FAULTS requests \([0-9]*\) non2xx \([0-9]*\) connect \([0-9]*\) read \([0-9]*\) write \([0-9]*\) timeout \([0-9]*\) p50_ms \([0-9.]*\) p99_ms \([0-9.]*\)$/\1 \2 \3 \4 \5 \6 \7 \8/p' "$work/wrk.out")
echo "wrk: $requests requests, non-2xx $non2xx, socket errors connect $e_connect read $e_read write $e_write timeout $e_timeout," \
     "p50 $p50 ms, p99 $p99 ms"
echo "publishes (ms since the start, version, PEI): $(tr '\n' ';' <"$work/publishes")"

# nginx's log: per replica, the requests a had in flight (answered by nginx's retry on b, or 502),
# and every non-2xx with its time from the kill.
python3 - "$work/nginx/access.log" "$port_a" "$port_b" "$t_kill" >"$work/log_summary" <<'PY'
import sys, collections
log, a, b, t_kill = sys.argv[1], "127.0.0.1:" + sys.argv[2], "127.0.0.1:" + sys.argv[3], int(sys.argv[4]) / 1000
served = collections.Counter(); statuses = collections.Counter(); bad = []; retried = 0; after_kill_on_a = 0
closed_by_wrk = 0
for line in open(log):
    msec, status, rest = line.split(" ", 2)
    t = float(msec) - t_kill
    statuses[status] += 1
    upstreams = [u.strip(", ") for u in rest.split(" ") if u.startswith("127.0.0.1:")]
    if upstreams:
        served[("a" if upstreams[-1] == a else "b") + (" before" if t < 0 else " after")] += 1
    if len(upstreams) > 1 and upstreams[0] == a: retried += 1
    if status == "499": closed_by_wrk += 1  # wrk closing its connections at the end of its run
    elif not status.startswith("2"): bad.append((status, t, upstreams[-1] if upstreams else ""))
    if t > 0 and upstreams and upstreams[-1] == a and status.startswith("2"): after_kill_on_a += 1
print("statuses", dict(statuses))
print("answered by", dict(sorted(served.items())))
print("in_flight_on_a_retried_on_b", retried)
in_window = lambda t: -0.5 <= t <= 3
print("in_flight_on_a_failed", sum(1 for status, t, _ in bad if status.startswith("5") and in_window(t)))
# Without retries, nginx tries a dead upstream again once per fail_timeout (10 s): that one request fails.
probes = sum(1 for status, t, u in bad if not in_window(t) and u == a and status == "502")
print("probes_of_a_failed", probes)
print("answered_by_a_after_kill", after_kill_on_a)
print("closed_by_the_client_499", closed_by_wrk)
per_second = collections.Counter((status, int(t // 1)) for status, t, _ in bad)
print("non2xx_by_second_from_kill", " ".join(f"{s}@{sec}s:{n}" for (s, sec), n in sorted(per_second.items(), key=lambda k: k[0][1])) or "none")
print("non2xx_outside_kill", sum(1 for _, t, _ in bad if not in_window(t)) - probes)
PY
sed 's/^/nginx log: /' "$work/log_summary"
outside=$(sed -n 's/^non2xx_outside_kill //p' "$work/log_summary")
after_on_b=$(grep -o "'b after': [0-9]*" "$work/log_summary" | grep -o '[0-9]*$' || echo 0)
last_version=$(store_version "$pg_uri")
wait_served "$port_b" "$last_version" 10 || true

expect [ -n "$requests" ] -- "wrk ran ($requests requests)"
expect [ "$e_connect" = 0 -a "$e_write" = 0 -a "$e_timeout" = 0 ] -- "no connect, write or timeout socket errors"
probes=$(sed -n 's/^probes_of_a_failed //p' "$work/log_summary")
expect [ "$outside" = 0 ] -- "no error before the kill nor more than 3 s after it (but nginx's probes of a: $probes)"
expect [ $((non2xx + e_read - probes)) -le "$connections" ] -- \
  "errors ($non2xx non-2xx, $e_read read errors, $probes of them probes) no more than the requests a could have in flight ($connections)"
expect [ "$probes" -le $(((duration - duration / 2) / 10 + 1)) ] -- "at most one failed probe of a per fail_timeout (10 s)"
expect [ "$after_on_b" -gt 0 ] -- "replica b answered after the kill ($after_on_b requests)"
expect [ "$(served_version "$port_b")" = "$last_version" ] -- "replica b serves the last publish (version $last_version)"
expect [ "$(grep -c ' failed$' "$work/publishes" || true)" = 0 ] -- "every publish succeeded"
expect kill -0 "$pid_b" -- "replica b still running"
finish
