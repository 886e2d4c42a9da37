#!/usr/bin/env bash
# OGC API Features throughput and latency: `ideo serve` against MapServer 8 (Debian cgi-mapserver,
# FastCGI via spawn-fcgi behind nginx) serving the same GeoPackage, measured in the same run by wrk
# at 1, 16 and 64 connections on the same request list (items?limit=100&bbox= over the communes
# of a department, single items, a CQL2 filter). Prints requests/s, p50, p99 and the ratios.
#
# usage: scripts/bench/features_vs_mapserver.sh [STORE.gpkg] [DURATION_SECONDS]
#   STORE defaults to a fresh store imported from the Territoire de Belfort corpus (../shared/data);
#   `build/ideo harvest --store var/ideo.gpkg` makes a larger one. Needs scripts/install-deps.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
ideo="${IDEO_BINARY:-$root/build/ideo}"
duration="${2:-10}"
work="$(mktemp -d /tmp/ideo-bench.XXXXXX)"
chmod 755 "$work"  # nginx workers (user nobody) reach the FastCGI sockets
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.3; rm -rf "$work"; }
trap cleanup EXIT
[ -n "${BENCH_KEEP:-}" ] && trap - EXIT
for tool in wrk nginx spawn-fcgi curl python3; do command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps" >&2; exit 1; }; done
[ -x /usr/lib/cgi-bin/mapserv ] || { echo "missing /usr/lib/cgi-bin/mapserv (cgi-mapserver): run scripts/install-deps" >&2; exit 1; }
[ -x "$ideo" ] || { echo "missing $ideo: build first (scripts/build)" >&2; exit 1; }

store="${1:-}"
if [ -z "$store" ]; then
  store="$work/ideo.gpkg"
  data="$root/../shared/data"
  "$ideo" import communes "$data/communes/communes-90-territoire-de-belfort.geojson" --store "$store" >/dev/null
  "$ideo" import pei "$data/deci/d_pei_cd90_p.zip" --store "$store" >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ideo_port=$(free_port); nginx_port=$(free_port)

# --- ideo serve -------------------------------------------------------------------------------
"$ideo" serve --store "$store" --listen "127.0.0.1:$ideo_port" >"$work/ideo.log" 2>&1 &
pids+=($!)

# --- MapServer 8: mapfile over the same GeoPackage, FastCGI workers, nginx in front -------------
cat >"$work/ideo.map" <<MAPFILE
MAP
  NAME "ideo"
  EXTENT -180 -90 180 90
  PROJECTION "init=epsg:4326" END
  WEB
    METADATA
      "oga_enable_request" "*"
      "oga_onlineresource" "http://127.0.0.1:$nginx_port/mapserv/ideo/ogcapi"
      "oga_title" "ideo"
      "oga_html_template_directory" "/usr/share/mapserver/ogcapi/templates/html-plain/"
      "ows_title" "ideo"
      "ows_srs" "EPSG:4326 EPSG:2154 EPSG:3857"
    END
  END
  LAYER
    NAME "pei"
    TYPE POINT
    STATUS ON
    TEMPLATE "query"  # MapServer only queries layers with a template
    CONNECTIONTYPE OGR
    CONNECTION "$store"
    DATA "pei"
    PROJECTION "init=epsg:4326" END
    METADATA
      "oga_title" "pei"
      "gml_include_items" "all"
      "gml_featureid" "id_sdis"
      "oga_use_default_extent_for_getfeature" "false"
    END
  END
END
MAPFILE
cat >"$work/mapserver.conf" <<CONF
CONFIG
  ENV
    MS_MAP_PATTERN "^$work"
  END
  MAPS
    "ideo" "$work/ideo.map"
  END
END
CONF
# One FastCGI worker per core, each on its own socket (-n: spawn-fcgi execs mapserv, so $! is the worker).
workers=$(nproc)
upstream=""
for w in $(seq "$workers"); do
  MAPSERVER_CONFIG_FILE="$work/mapserver.conf" MS_MAPFILE="$work/ideo.map" \
    spawn-fcgi -n -M 0666 -s "$work/mapserv-$w.sock" -- /usr/lib/cgi-bin/mapserv >>"$work/fcgi.log" 2>&1 &
  pids+=($!)
  upstream+="server unix:$work/mapserv-$w.sock; "
done
cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx-body; fastcgi_temp_path $work/nginx-fcgi;
  proxy_temp_path $work/nginx-proxy; uwsgi_temp_path $work/nginx-uwsgi; scgi_temp_path $work/nginx-scgi;
  upstream mapserv { $upstream keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port;
    location /mapserv/ {
      fastcgi_pass mapserv;
      fastcgi_keep_conn on;
      include /etc/nginx/fastcgi_params;
      fastcgi_split_path_info ^(/mapserv)(/.*)\$;
      fastcgi_param SCRIPT_NAME /mapserv;
      fastcgi_param PATH_INFO \$fastcgi_path_info;
      fastcgi_param MAPSERVER_CONFIG_FILE $work/mapserver.conf;
    }
  }
}
NGINX
nginx -c "$work/nginx.conf" -g 'daemon off;' >"$work/nginx.log" 2>&1 &
pids+=($!)

wait_for() { for _ in $(seq 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
wait_for "http://127.0.0.1:$ideo_port/collections/pei"
wait_for "http://127.0.0.1:$nginx_port/mapserv/ideo/ogcapi/collections/pei?f=json" || { cat "$work"/*.log >&2; exit 1; }

# --- the request list: same resources on both servers ------------------------------------------
python3 - "$ideo_port" >"$work/requests.txt" <<'PY'
import json, sys, urllib.request, urllib.parse
port = sys.argv[1]
def get(path):
    return json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}{path}"))
communes = get("/collections/communes/items?limit=10000")["features"]
def bbox(geom):
    xs, ys = [], []
    def walk(c):
        if isinstance(c[0], (int, float)): xs.append(c[0]); ys.append(c[1])
        else: [walk(x) for x in c]
    walk(geom["coordinates"]); return f"{min(xs):.5f},{min(ys):.5f},{max(xs):.5f},{max(ys):.5f}"
pei = get("/collections/pei/items?limit=200&properties=id_sdis")["features"]
lines = []
for c in communes[:60]:
    if c["geometry"]: lines.append(f"/collections/pei/items?f=json&limit=100&bbox={bbox(c['geometry'])}")
for f in pei[::4][:40]:
    lines.append(f"/collections/pei/items/{urllib.parse.quote(f['id'])}?f=json")
flt = urllib.parse.quote("type_pei = 'PI' AND debit >= 60")
for c in communes[:20]:
    if c["geometry"]: lines.append(f"/collections/pei/items?f=json&limit=100&filter={flt}&bbox={bbox(c['geometry'])}")
print("\n".join(lines))
PY
echo "requests: $(wc -l <"$work/requests.txt") (bbox over communes, single items, CQL2 filter)"
# MapServer's paths sit under /mapserv/ideo/ogcapi. MapServer 8.0 has no CQL2 `filter`: it ignores the
# parameter and answers the bbox alone (more features than ideo's filtered answer).
cat >"$work/cycle.lua" <<'LUA'
local paths, i, prefix = {}, 0, os.getenv("PREFIX") or ""
for line in io.lines(os.getenv("REQUESTS")) do paths[#paths + 1] = prefix .. line end
request = function() i = i % #paths + 1; return wrk.format("GET", paths[i]) end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status, summary.requests))
end
LUA

run() {  # name url prefix connections
  local out
  out=$(REQUESTS="$work/requests.txt" PREFIX="$3" wrk -t "$(( $4 < 2 ? 1 : 2 ))" -c "$4" -d "${duration}s" --timeout 30s --latency -s "$work/cycle.lua" "$2" 2>&1 | grep '^RESULT')
  echo "$1 $4 ${out#RESULT }"
}
printf '\n%-10s %5s %12s %10s %10s %8s\n' server conns "req/s" "p50 ms" "p99 ms" "non-2xx"
declare -A rps p99
for c in 1 16 64; do
  for s in ideo mapserver; do
    if [ "$s" = ideo ]; then line=$(run ideo "http://127.0.0.1:$ideo_port" "" "$c")
    else line=$(run mapserver "http://127.0.0.1:$nginx_port" "/mapserv/ideo/ogcapi" "$c"); fi
    read -r name conns r p50 p99v errors total <<<"$line"
    printf '%-10s %5s %12s %10s %10s %8s\n' "$name" "$conns" "$r" "$p50" "$p99v" "$errors"
    rps[$s$c]=$r; p99[$s$c]=$p99v
  done
done
echo
printf '%-6s %18s %18s\n' conns "throughput ratio" "p99 ratio (ms/s)"
for c in 1 16 64; do
  python3 -c "import sys; a,b,c,d=map(float,sys.argv[2:]); print(f'{sys.argv[1]:<6} {a/b:17.2f}x {c/d:17.2f}x')" \
    "$c" "${rps[ideo$c]}" "${rps[mapserver$c]}" "${p99[mapserver$c]}" "${p99[ideo$c]}"
done
echo "(throughput ratio = ideo / MapServer req/s; p99 ratio = MapServer p99 / ideo p99; both > 1 favour ideo)"
