# Shared helpers of the fault scripts (sourced, not run): the ideo binary, the corpus in place, a work
# folder removed at exit, a throwaway PostgreSQL cluster, `ideo serve` on a free loopback port, and
# expectations that make the script exit non-zero. Traffic only to 127.0.0.1; every loop bounded.
set -euo pipefail
faults_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(realpath "${BUILD_DIR:-$faults_root/build}")
ideo=$build/ideo
data=$faults_root/../shared/data
communes21=$data/communes/communes-21-cote-d-or.geojson
pei21=$data/deci/pei-21-sdis21.geojson
pg_bin=${IDEO_PG_BIN:-/usr/lib/postgresql/15/bin}

[ -x "$ideo" ] || cmake --build "$build" --target ideo
for tool in curl sqlite3 python3 jq; do command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps" >&2; exit 1; }; done

work=$(mktemp -d /tmp/ideo-faults-XXXX)
chmod 755 "$work"
started_pids=()   # every process this script started, killed by id at exit
cleanups=()       # further commands run at exit (stop the cluster, unmount)
failures=0
on_exit() {
  local rc=$?
  for p in "${started_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${started_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for c in "${cleanups[@]}"; do eval "$c" || true; done
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap on_exit EXIT
cd "$faults_root"  # ideo reads ./layers

# expect CONDITION_COMMAND... -- MESSAGE: prints ok/FAIL; a failure makes the script exit 1 at `finish`.
expect() {
  local args=() msg
  while [ "$1" != "--" ]; do args+=("$1"); shift; done
  shift; msg=$*
  if "${args[@]}"; then echo "  ok: $msg"; else echo "  FAIL: $msg"; failures=$((failures + 1)); fi
}
finish() {
  if [ "$failures" -gt 0 ]; then echo "$(basename "$0"): $failures expectation(s) failed"; exit 1; fi
  echo "$(basename "$0"): every expectation held"
}

now_ms() { date +%s%3N; }

# --- the PostGIS store: a cluster in $work/pg on a Unix socket, run as postgres when we are root ------
as_postgres=()
[ "$(id -u)" -eq 0 ] && as_postgres=(runuser -u postgres --)
pg_port=5432
pg_start() {
  [ -x "$pg_bin/initdb" ] || { echo "missing $pg_bin/initdb: run scripts/install-deps" >&2; exit 1; }
  [ "$(id -u)" -eq 0 ] && chown postgres "$work"
  "${as_postgres[@]}" "$pg_bin/initdb" -D "$work/pg" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$work/initdb.log" 2>&1
  pg_up
  cleanups+=("\"\${as_postgres[@]}\" \"$pg_bin/pg_ctl\" -D \"$work/pg\" -m immediate -w stop >/dev/null 2>&1")
  psql_q "CREATE EXTENSION postgis" >/dev/null
  pg_uri="PG:host=$work port=$pg_port user=postgres dbname=postgres"
}
pg_up() {
  "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/postgres.log" -w \
    -o "-k $work -p $pg_port -c listen_addresses='' -c max_connections=200" start >/dev/null
}
pg_down() { "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null; }
psql_q() { psql -h "$work" -p "$pg_port" -U postgres -d postgres -XAtqc "$1"; }

# --- store queries -------------------------------------------------------------------------------
gpkg_integrity() { sqlite3 "$1" 'PRAGMA integrity_check' 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
# The store's version and PEI rows, read by the database's own client (not through ideo).
store_version() {
  case $1 in
    PG:*) psql_q "SELECT coalesce(max(version), 0) FROM ideo_publications" ;;
    *) sqlite3 "$1" 'SELECT coalesce(max(version), 0) FROM ideo_publications' ;;
  esac
}
store_pei_rows() {
  case $1 in
    PG:*) psql_q "SELECT count(*) FROM pei" ;;
    *) sqlite3 "$1" 'SELECT count(*) FROM pei' ;;
  esac
}

# --- ideo serve ----------------------------------------------------------------------------------
# serve_start NAME ARGS...: `ideo serve ARGS --listen 127.0.0.1:0` in the background; sets
# port_NAME and pid_NAME once it prints the port it listens on (log in $work/NAME.log).
serve_start() {
  local name=$1; shift
  : >"$work/$name.log"  # there before the first look below: the background shell may not have opened it yet
  "$ideo" serve "$@" --listen 127.0.0.1:0 >>"$work/$name.log" 2>&1 &
  local pid=$! port=""
  started_pids+=("$pid")
  for _ in $(seq 600); do
    port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$work/$name.log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "ideo serve $name did not start:" >&2; cat "$work/$name.log" >&2; exit 1; }
  printf -v "port_$name" %s "$port"
  printf -v "pid_$name" %s "$pid"
}
# numberMatched of the PEI layer as served on PORT ("" when the server does not answer 200).
served_count() {
  curl -fsS --max-time 5 "http://127.0.0.1:$1/collections/pei/items?limit=1" 2>/dev/null | jq -r '.numberMatched // empty' || true
}
served_version() { curl -fsS --max-time 5 "http://127.0.0.1:$1/health" 2>/dev/null | jq -r '.snapshot_version // empty' || true; }
# wait_served PORT VERSION SECONDS: until PORT serves VERSION (0 when it does, 1 after SECONDS).
wait_served() {
  local deadline=$(($(now_ms) + $3 * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    [ "$(served_version "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# A second version of the same source, so that two publishes differ in their counts: the first 5,000
# rows of the SDIS 21 export, written to $half.
half=$work/pei-21-first5000.geojson
make_half() {
  python3 - "$pei21" 5000 "$half" <<'PY'
import json, sys
src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(src, encoding="utf-8") as f:
    doc = json.load(f)
doc["features"] = doc["features"][:n]
with open(out, "w", encoding="utf-8") as f:
    json.dump(doc, f, ensure_ascii=False)
PY
}

# import_pei STORE FILE: one import of the sdis21 source; prints its published count, fails loudly.
import_pei() {
  local out
  if ! out=$("$ideo" import pei "$2" --store "$1" --source sdis21 2>&1); then
    echo "ideo import pei $2 --store $1 failed:" >&2; echo "$out" >&2; return 1
  fi
  sed -n 's/^published pei version [0-9]* (\([0-9]*\) records.*/\1/p' <<<"$out"
}

# pg_two_replicas FILE: a cluster with the communes and FILE published, served by replicas a and b.
pg_two_replicas() {
  pg_start
  "$ideo" import communes "$communes21" --store "$pg_uri" >/dev/null
  import_pei "$pg_uri" "$1" >/dev/null
  serve_start a --store "$pg_uri"
  serve_start b --store "$pg_uri"
}
