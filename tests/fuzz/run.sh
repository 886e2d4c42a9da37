#!/usr/bin/env bash
# Builds the fuzz targets with clang++ and libFuzzer (ASan, UBSan) and runs each for a bounded time from
# its seeds: the committed corpora (cql2_corpus, http_corpus) and the partner answers and files of
# ../shared/data, copied at run time into the scratch corpus (never into the tree). Prints, per target,
# the executions and whether it crashed; exits non-zero when one did (the input is kept as BUILD_DIR/TARGET-crash-*).
# usage: tests/fuzz/run.sh BUILD_DIR [RUNS] [SECONDS] [TARGET]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:?usage: run.sh BUILD_DIR [RUNS] [SECONDS] [TARGET]}"
runs="${2:-50000}"
seconds="${3:-30}"
only="${4:-}"
data="${IDEO_SHARED:-$here/../../../shared}/data"
targets=(cql2_fuzz http_request_fuzz csw_fuzz catalog_json_fuzz dcat_fuzz csv_values_fuzz)
clangxx="$(command -v clang++ || command -v clang++-14)"
mkdir -p "$build"
# Configured and built once, even when CTest runs one target per test in parallel.
(
    flock 9
    if ! { cmake -S "$here" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$clangxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
           cmake --build "$build"; } >"$build/build.log" 2>&1; then
        echo "run.sh: the fuzz targets do not build:" >&2
        grep -E -m 10 'error|undefined reference' "$build/build.log" >&2 || tail -20 "$build/build.log" >&2
        exit 1
    fi
) 9>"$build/.lock"

# The shared files a target starts from, copied into its scratch corpus.
seed() {
    local target="$1" work="$2" f
    case "$target" in
        csw_fuzz) cp "$data"/catalog/csw/*.xml "$work"/ ;;
        catalog_json_fuzz) cp "$data"/catalog/ckan/*.json "$data"/catalog/ods/*.json "$data"/catalog/dcat/*.json "$work"/ ;;
        dcat_fuzz)  # the first byte chooses the syntax: 3 = sniffed from the body, as the harvester does
            for f in "$data"/catalog/dcat/* "$data"/catalog/ods/*.rdf "$data"/catalog/csw/udata_geonetwork-dcat-page-1.xml; do
                { printf '\003'; cat "$f"; } >"$work/$(basename "$f")"
            done ;;
        csv_values_fuzz)  # one seed per distinct cell of the first rows (titles included) of each CSV
            for f in "$data"/deci/*.csv "$data"/icpe/*.csv; do
                head -n 40 "$f" | tr -d '\r' | awk -v out="$work/$(basename "$f" .csv)-" '
                    NR == 1 { FS = index($0, ";") ? ";" : ","; $0 = $0 }
                    { for (i = 1; i <= NF; ++i) if ($i != "" && !seen[$i]++) { n++; printf "%s", $i > (out n); close(out n) } }'
            done ;;
    esac
}

failed=0
for target in "${targets[@]}"; do
    [ -n "$only" ] && [ "$only" != "$target" ] && continue
    work="$build/corpus/$target"
    mkdir -p "$work"
    seed "$target" "$work"
    corpora=("$work")
    committed="$here/${target%_fuzz}_corpus"
    [ "$target" = http_request_fuzz ] && committed="$here/http_corpus"
    [ -d "$committed" ] && corpora+=("$committed")
    case "$target" in csw_fuzz | catalog_json_fuzz | dcat_fuzz) max_len=65536 ;; *) max_len=4096 ;; esac
    log="$build/$target.log"
    rc=0
    ASAN_OPTIONS=detect_leaks=1 "$build/$target" -runs="$runs" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/$target-" "${corpora[@]}" >"$log" 2>&1 || rc=$?
    executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    if [ "$rc" -ne 0 ]; then
        failed=1
        echo "$target: CRASHED after ${executions:-?} executions (exit $rc), see $log:"
        grep -m 3 -E '^==[0-9]+==ERROR|runtime error|Test unit written' "$log" || tail -5 "$log"
    else
        echo "$target: ${executions:-?} executions, no crash ($(ls "$work" | wc -l) inputs in the corpus)"
    fi
done
exit "$failed"
