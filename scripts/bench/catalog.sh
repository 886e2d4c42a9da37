#!/usr/bin/env bash
# The catalogue benchmark (issues 3 and 4), in one run on one machine:
#   1. 8,000 records from 33 partners over the portal's 14 themes, generated (fixed seed) from the
#      real records of ../shared/data/catalog by scripts/bench/catalog/make_catalog.py, served over
#      loopback by ideo-partner-sim with each protocol's paging and conditional GET;
#   2. `ideo harvest` timed by hyperfine: the full run into an empty store, the incremental re-run,
#      and the run after a day of edits at the partners (records updated, added, withdrawn); the
#      reports' counts are checked against what the generator changed;
#   3. `ideo serve` answering /catalog/records (full text, facets, filters, bbox, paging) and
#      /catalog/dcat.jsonld pages under wrk at 1, 16 and 64 connections, side by side with
#      PostgreSQL 15 full-text search (to_tsvector('french', unaccent(...)), GIN index) doing the
#      same work (count, ranked page, four facets) under pgbench, at the SQL level (no HTTP).
# Usage: scripts/bench/catalog.sh [BUILD_DIR]    env: RECORDS (8000), RUNS (3), DURATION (8 s), KEEP=1,
#        BASELINE=OTHER_BUILD_DIR (an earlier commit's build: its harvests and server measured in the same run)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:-$root/build}")
records=${RECORDS:-8000}
runs=${RUNS:-3}
duration=${DURATION:-8}
tools=$root/scripts/bench/catalog
work=$(mktemp -d /tmp/ideo-bench-catalog-XXXX)
chmod 755 "$work"  # the postgres user reads the COPY file and writes its socket here
pgdata=$work/pg
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -d "$pgdata" ] && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$pgdata" -m immediate stop >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

# --- what the benchmark needs (Debian): the timers, the load generators, the generator's XML library, PostgreSQL
pkgs=(hyperfine wrk python3-lxml postgresql-15 postgresql-contrib curl)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; fi
[ -x "$build/ideo" ] && [ -x "$build/ideo-partner-sim" ] || cmake --build "$build" --target ideo ideo-partner-sim
ideo=$build/ideo
py=/usr/bin/python3

# --- 1. the partners, before and after their edits, and the simulator serving them
t0=$(date +%s.%N)
$py "$tools/make_catalog.py" "$work/before" --records "$records" >/dev/null
$py "$tools/make_catalog.py" "$work/after" --records "$records" --changes >/dev/null
gen_s=$(echo "$(date +%s.%N) - $t0" | bc -l)
read -r upd add wd total_after < <($py -c "import json,sys; m=json.load(open(sys.argv[1])); c=m['changes']; print(c['updated'], c['added'], c['withdrawn'], m['records'])" "$work/after/manifest.json")
ln -sfn "$work/before" "$work/world"
mkdir -p "$work/layers/catalog"
cp "$root/layers/catalog/themes.json" "$work/layers/catalog/"
"$build/ideo-partner-sim" "$work/world" --partners-out "$work/layers/partners" > "$work/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do grep -q listening "$work/sim.log" && break; sleep 0.1; done
sim=$(grep -o 'http://[0-9.:]*' "$work/sim.log" | head -1)
sim_pid=${pids[-1]}
[ -n "$sim" ] || { cat "$work/sim.log"; exit 1; }
echo "partners: $(sed 's/.*(//; s/)//' "$work/sim.log" | head -1) at $sim; generated in $(printf %.0f "$gen_s") s ($(du -sh "$work/before/partners" | cut -f1))"
requests() { curl -fsS "$sim/_sim/requests${1:+?status=$1}"; }
sim_cpu() { awk '{print $14 + $15}' "/proc/$sim_pid/stat"; }  # the simulator's CPU, in 1/100 s
hz=$(getconf CLK_TCK)

# --- 2. the harvests, timed; each report's counts checked
hf() {  # name, prepare, command
  hyperfine --style basic --runs "$runs" --prepare "$2" --export-json "$work/$1.hf.json" -n "$1" "$3" > "$work/$1.hf.txt" 2>&1 \
    || { cat "$work/$1.hf.txt"; exit 1; }
}
declare -A req r304 simcpu
measure() {  # name, prepare, command: hyperfine, and the simulator's requests, 304 answers and CPU per run
  local b b304 c0
  b=$(requests); b304=$(requests 304); c0=$(sim_cpu)
  hf "$1" "$2" "$3"
  req[$1]=$(( ($(requests) - b) / runs )); r304[$1]=$(( ($(requests 304) - b304) / runs ))
  simcpu[$1]=$(echo "($(sim_cpu) - $c0) / $hz / $runs" | bc -l)
}
world() {  # before | after: what the partners serve
  ln -sfn "$work/$1" "$work/world"
  curl -fsS -X POST "$sim/_sim/reload" >/dev/null
}
harvests() {  # prefix of the names, ideo binary: full, incremental and after the edits
  local p=$1 h="$2 harvest --layers $work/layers --json"
  world before
  measure "${p}full" "rm -f $work/${p}run.gpkg*" "$h --store $work/${p}run.gpkg > $work/${p}full.json"
  $py "$tools/bench_tools.py" check "$work/${p}full.json" added="$records" updated=0 unchanged=0 withdrawn=0 failed=0
  cp "$work/${p}run.gpkg" "$work/${p}full.gpkg"
  measure "${p}incremental" "cp $work/${p}full.gpkg $work/${p}run.gpkg" "$h --store $work/${p}run.gpkg > $work/${p}incremental.json"
  $py "$tools/bench_tools.py" check "$work/${p}incremental.json" added=0 updated=0 unchanged="$records" withdrawn=0 failed=0
  world after
  measure "${p}edits" "cp $work/${p}full.gpkg $work/${p}run.gpkg" "$h --store $work/${p}run.gpkg > $work/${p}edits.json"
  $py "$tools/bench_tools.py" check "$work/${p}edits.json" added="$add" updated="$upd" withdrawn="$wd" \
    unchanged=$((records - upd - wd)) failed=0
}
# BASELINE=DIR (the build folder of an earlier commit): its ideo harvests and serves the same partners in this run.
[ -n "${BASELINE:-}" ] && harvests base- "$(realpath "$BASELINE")/ideo"
harvests "" "$ideo"
store_mb=$(du -m "$work/full.gpkg" | cut -f1)

# --- 3. search: ideo serve on the full harvest, and PostgreSQL full-text search on the same records
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
"$ideo" serve --store "$work/full.gpkg" --layers "$work/layers" --listen "127.0.0.1:$port" > "$work/serve.log" 2>&1 &
ideo_pid=$!
pids+=($ideo_pid)
for _ in $(seq 300); do curl -fsS -o /dev/null "http://127.0.0.1:$port/catalog/records?limit=1" 2>/dev/null && break; sleep 0.1; done
cp "/proc/$ideo_pid/status" "$work/serve-loaded.status"  # the peak of loading the snapshot, before any request
nq=$($py "$tools/bench_tools.py" queries "$work/full.gpkg" "$work/q")
listed=$(curl -fsS "http://127.0.0.1:$port/catalog/records?limit=1" | $py -c 'import json,sys; print(json.load(sys.stdin)["numberMatched"])')

export PATH=/usr/lib/postgresql/15/bin:$PATH
mkdir -p "$pgdata" && chown postgres "$pgdata" "$work"
cp "$tools/postgres.sql" "$work/"
runuser -u postgres -- initdb -D "$pgdata" -A trust >/dev/null
runuser -u postgres -- pg_ctl -D "$pgdata" -o "-k $work -p 54331 -c listen_addresses='' -c max_connections=120" \
  -l "$work/pg.log" -w start >/dev/null
psql_() { runuser -u postgres -- psql -h "$work" -p 54331 -d postgres -qAt -v ON_ERROR_STOP=1 "$@"; }
$py "$tools/bench_tools.py" pg-rows "$work/full.gpkg" "$work/records.tsv"
psql_ -f "$work/postgres.sql" -c "\\copy records (id, title, description, keywords, publisher, themes, formats, bbox, doc) FROM '$work/records.tsv'" \
  -c "UPDATE records SET tsv = setweight(to_tsvector('french', unaccent(title)), 'A') ||
        setweight(to_tsvector('french', unaccent(array_to_string(keywords, ' '))), 'B') ||
        setweight(to_tsvector('french', unaccent(description)), 'C');
      CREATE INDEX ON records USING gin (tsv); CREATE INDEX ON records USING gin (themes);
      CREATE INDEX ON records USING gin (keywords); CREATE INDEX ON records USING gin (formats);
      CREATE INDEX ON records (publisher); CREATE INDEX ON records USING gist (bbox);" -c "VACUUM ANALYZE records" >/dev/null
pg_rows=$(psql_ -c "SELECT count(*) FROM records")

# The same questions, the same answers' work: matched count, the ranked page, four facets.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }
: > "$work/results.txt"
wrk_run() {  # connections
  local c=$1 t=1
  [ "$c" -gt 1 ] && t=2
  PATHS="$work/q/paths.txt" wrk -t"$t" -c"$c" -d"${duration}s" --latency -s "$tools/cycle.lua" "http://127.0.0.1:$port" > "$work/wrk-$c.txt" 2>&1
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$work/wrk-$c.txt")
  p50=$(ms "$(awk '$1 == "50%" {print $2}' "$work/wrk-$c.txt")")
  p99=$(ms "$(awk '$1 == "99%" {print $2}' "$work/wrk-$c.txt")")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' "$work/wrk-$c.txt" | tr '\n' ' ')
  echo "ideo|$c|$rps|$p50|$p99|$errors" >> "$work/results.txt"
}
pgbench_run() {  # connections
  local c=$1 t=1 scripts=()
  [ "$c" -gt 1 ] && t=2
  for f in "$work"/q/pg/*.sql; do scripts+=(-f "$f"); done
  rm -f "$work"/pgbench_log.*
  (cd "$work" && runuser -u postgres -- pgbench -h "$work" -p 54331 -n -c "$c" -j "$t" -T "$duration" -l "${scripts[@]}" postgres) > "$work/pgbench-$c.txt" 2>&1
  local tps p50 p99
  tps=$(awk '/^tps/ {printf "%.0f", $3; exit}' "$work/pgbench-$c.txt")
  read -r p50 p99 < <($py "$tools/bench_tools.py" pgbench-percentiles "$work"/pgbench_log.*)
  echo "postgresql|$c|$tps|$p50|$p99|" >> "$work/results.txt"
}
PATHS="$work/q/paths.txt" wrk -t2 -c8 -d2s -s "$tools/cycle.lua" "http://127.0.0.1:$port" >/dev/null 2>&1 || true  # warm-up
for c in 1 16 64; do wrk_run "$c"; pgbench_run "$c"; done
ideo_rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$ideo_pid/status")
ideo_rss_loaded=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "$work/serve-loaded.status")
base_serve=""
if [ -n "${BASELINE:-}" ]; then  # the baseline's server on its own store: the same requests, 16 connections
  bport=$(free_port)
  "$(realpath "$BASELINE")/ideo" serve --store "$work/base-full.gpkg" --layers "$work/layers" --listen "127.0.0.1:$bport" > "$work/base-serve.log" 2>&1 &
  bpid=$!
  pids+=($bpid)
  for _ in $(seq 300); do curl -fsS -o /dev/null "http://127.0.0.1:$bport/catalog/records?limit=1" 2>/dev/null && break; sleep 0.1; done
  base_loaded=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$bpid/status")
  PATHS="$work/q/paths.txt" wrk -t2 -c16 -d"${duration}s" --latency -s "$tools/cycle.lua" "http://127.0.0.1:$bport" > "$work/base-wrk.txt" 2>&1
  PATHS="$work/q/paths.txt" wrk -t2 -c16 -d"${duration}s" --latency -s "$tools/cycle.lua" "http://127.0.0.1:$port" > "$work/wrk-16-again.txt" 2>&1
  base_serve="baseline ideo serve: peak memory $(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$bpid/status") MB ($base_loaded MB once loaded); 16 connections, back to back: baseline $(awk '/Requests\/sec/ {printf "%.0f", $2}' "$work/base-wrk.txt") requests/s (p50 $(ms "$(awk '$1 == "50%" {print $2}' "$work/base-wrk.txt")") ms), this build $(awk '/Requests\/sec/ {printf "%.0f", $2}' "$work/wrk-16-again.txt") requests/s (p50 $(ms "$(awk '$1 == "50%" {print $2}' "$work/wrk-16-again.txt")") ms)"
  kill "$bpid" 2>/dev/null || true
fi

# One connection, per kind of request: where the time goes (ideo over HTTP keep-alive, PostgreSQL in SQL).
$py "$tools/bench_tools.py" latency "http://127.0.0.1:$port" "$work/q/paths.txt" 20 > "$work/ideo-kinds.txt"
: > "$work/pg-kinds.txt"
paste -d'|' "$work/q/kinds.txt" <(ls "$work"/q/pg/*.sql) | while IFS='|' read -r kind f; do
  psql_ -c '\timing on' -c "$(cat "$f")" -c "$(cat "$f")" -c "$(cat "$f")" -c "$(cat "$f")" 2>&1 \
    | grep -o 'Time: [0-9.]*' | tail -3 | awk -v k="$kind" '{s += $2} END {printf "%s %.3f\n", k, s / NR}'
done > "$work/pg-kinds.txt"
# Do both find as much? (French stemming in PostgreSQL, plural trimming in ideo: the counts differ a little.)
compare=""
for q in "eau potable" "defense incendie" "zones humides"; do
  enc=$($py -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$q")
  a=$(curl -fsS "http://127.0.0.1:$port/catalog/records?q=$enc&limit=1" | $py -c 'import json,sys; print(json.load(sys.stdin)["numberMatched"])')
  b=$(psql_ -c "SELECT count(*) FROM records WHERE tsv @@ plainto_tsquery('french', unaccent('$q'))")
  compare+="\"$q\": ideo $a, PostgreSQL $b; "
done

# --- report
row() {  # name, hyperfine json, requests, simulator CPU, 304 answers
  read -r mean sd min user sys < <($py "$tools/bench_tools.py" hyperfine "$work/$2.hf.json")
  read -r a u un w f < <($py "$tools/bench_tools.py" totals "$work/$2.json")
  printf '| %s | %.2f ± %.2f | %.2f | %.2f | %.2f | %s | %s | %s / %s / %s / %s |\n' "$1" "$mean" "$sd" "$min" \
    "$(echo "$user + $sys" | bc -l)" "$4" "$3" "$5" "$a" "$u" "$un" "$w"
}
load=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "Catalogue: $records records from 33 partners (CSW ISO 19139 GET and POST, CSW Dublin Core, CKAN, udata,"
  echo "DCAT RDF/XML, Turtle and JSON-LD with Hydra, OpenDataSoft v2.1 and its DCAT export), generated in $(printf %.0f "$gen_s") s;"
  echo "$(nproc) cores shared by ideo, the partner simulator, wrk and PostgreSQL (load average at the end: $load); hyperfine $runs runs; $(date -u +%Y-%m-%d)"
  echo
  echo "| harvest | wall s (mean ± σ) | min s | ideo CPU s | simulator CPU s | requests | 304 | added / updated / unchanged / withdrawn |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|"
  for p in ${BASELINE:+base-} ""; do
    label=${p:+"baseline: "}
    row "${label}full, empty store" "${p}full" "${req[${p}full]}" "${simcpu[${p}full]}" "${r304[${p}full]}"
    row "${label}incremental, nothing changed" "${p}incremental" "${req[${p}incremental]}" "${simcpu[${p}incremental]}" "${r304[${p}incremental]}"
    row "${label}after the edits ($upd updated, $add added, $wd withdrawn)" "${p}edits" "${req[${p}edits]}" "${simcpu[${p}edits]}" "${r304[${p}edits]}"
  done
  echo
  echo "store: $store_mb MB; listed records served: $listed; PostgreSQL rows: $pg_rows; $nq requests in the list"
  echo
  echo "| search | connections | requests/s | p50 ms | p99 ms | ideo ÷ PostgreSQL (throughput) |"
  echo "|---|---:|---:|---:|---:|---:|"
  while IFS='|' read -r name c rps p50 p99 errors; do
    pg=$(awk -F'|' -v c="$c" '$1 == "postgresql" && $2 == c {print $3}' "$work/results.txt")
    ratio=$(awk -v a="$rps" -v b="$pg" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }')
    [ "$name" = ideo ] || ratio=1
    echo "| $name | $c | $rps | $p50 | $p99 | $ratio |${errors:+ $errors}"
  done < <(sort -t'|' -k2,2n -k1,1 "$work/results.txt")
  echo
  echo "One connection, mean ms per kind of request (ideo over HTTP; PostgreSQL in SQL, psql \\timing):"
  echo
  echo "| request | ideo ms | PostgreSQL ms |"
  echo "|---|---:|---:|"
  while read -r kind mean max; do
    pgm=$(awk -v k="$kind" '$1 == k {s += $2; n++} END { if (n) printf "%.2f", s / n }' "$work/pg-kinds.txt")
    printf '| %s | %.2f | %s |\n' "$kind" "$mean" "$pgm"
  done < "$work/ideo-kinds.txt"
  echo
  echo "matched: $compare"
  echo "ideo serve peak memory (VmHWM): $ideo_rss MB ($ideo_rss_loaded MB once loaded)"
  [ -z "$base_serve" ] || echo "$base_serve"
} | tee "$work/results.md"
