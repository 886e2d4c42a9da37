#!/usr/bin/env bash
# Builds the CQL2 fuzz target with clang++ and runs it for a bounded time from the seed corpus.
# usage: tests/fuzz/run.sh BUILD_DIR [RUNS] [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:?usage: run.sh BUILD_DIR [RUNS] [SECONDS]}"
runs="${2:-50000}"
seconds="${3:-30}"
clangxx="$(command -v clang++ || command -v clang++-14)"
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$clangxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" >/dev/null
# New inputs go to a scratch corpus: the seeds in the tree stay as committed.
work="$build/corpus"
mkdir -p "$work"
ASAN_OPTIONS=detect_leaks=1 "$build/cql2_fuzz" -runs="$runs" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -artifact_prefix="$build/" "$work" "$here/cql2_corpus"
