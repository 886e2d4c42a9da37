#!/usr/bin/env bash
# Schéma communal: greedy against exact (COIN-OR CBC) on every commune of a department, same store,
# same run: actions and cost of each plan, communes where the greedy plan is worse, time per commune
# (problem + solve, snapshot load excluded), the largest set-cover instance. Straight-line distances
# (the corpus has no road network outside Marseille 10e), then Marseille 10e along its roads.
# Usage: scripts/bench/schema.sh [BUILD_DIR] [DEPT...]   (default: 90; 21 and 71 take a minute more)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
shift || true
depts=("$@")
[ ${#depts[@]} -eq 0 ] && depts=(90)
ideo=$build/ideo
shared=${IDEO_SHARED:-$root/../shared}
data=$shared/data
work=$(mktemp -d /tmp/ideo-schema-bench-XXXX)
trap 'rm -rf "$work"' EXIT

import() {  # STORE LAYER FILE [--source ID]
  local store=$1 layer=$2 file=$3
  shift 3
  "$ideo" import "$layer" "$file" --store "$store" --layers "$root/layers" "$@" >/dev/null
}

# Sums over a department's CSV (insee;name;risks;covered_before;covered_after;actions;total_cost_eur;solver;candidate_actions;seconds).
summarise() {  # LABEL GREEDY_CSV EXACT_CSV
  join -t';' <(tail -n +2 "$2" | cut -d';' -f1,3-10 | sort) <(tail -n +2 "$3" | cut -d';' -f1,3-10 | sort) |
    awk -F';' -v label="$1" '
      { n++; risks += $2; before += $3; after_g += $4; after_e += $12
        ag += $5; ae += $13; cg += $6; ce += $14; tg += $9; te += $17
        if ($8 > maxc) maxc = $8
        if ($17 > maxte) { maxte = $17; maxte_c = $8 }
        if ($9 > maxtg) maxtg = $9
        if ($15 != "exact") fallback++
        if ($5 > $13 || ($5 == $13 && $6 > $14)) { worse++; if ($5 > $13) worse_count++ }
        if ($5 > 0) { gap += ($6 - $14) / ($14 > 0 ? $14 : 1) } }
      END {
        printf "%-12s %5d %6d %6d %6d/%-6d %7d %7d %12.0f %12.0f %+6.2f%% %5d %5d %8.1f %8.1f %8.1f %6d %5d\n",
          label, n, risks, before, after_g, after_e, ag, ae, cg, ce, (ce > 0 ? 100 * (cg - ce) / ce : 0), worse, worse_count,
          1000 * tg / n, 1000 * maxtg, 1000 * maxte, maxc, fallback + 0 }'
}

header() {
  printf "%-12s %5s %6s %6s %13s %7s %7s %12s %12s %7s %5s %5s %8s %8s %8s %6s %5s\n" \
    dept communes risks before "after g/e" "act.g" "act.e" "cost g (EUR)" "cost e (EUR)" "gap" worse "+act" \
    "ms/com g" "max g ms" "max e ms" "max n" "fallb"
}

results=()
for dept in "${depts[@]}"; do
  store=$work/ideo-$dept.gpkg
  case $dept in
    90) import "$store" communes "$data/communes/communes-90-territoire-de-belfort.geojson"
        import "$store" pei "$data/deci/d_pei_cd90_p.zip"
        import "$store" erp "$data/deci/erp-90-prefecture.csv"
        import "$store" icpe "$data/icpe/ign_installation.csv" ;;
    21) import "$store" communes "$data/communes/communes-21-cote-d-or.geojson"
        import "$store" pei "$data/deci/pei-21-sdis21.geojson"
        import "$store" erp "$data/deci/erp-21-prefecture.csv"
        import "$store" icpe "$data/deci/icpe-21-georisques.csv" ;;
    71) import "$store" communes "$data/communes/communes-71-saone-et-loire.geojson"
        import "$store" pei "$data/deci/pei-71-communes.xlsx"
        import "$store" erp "$data/deci/erp-71-prefecture.csv"
        import "$store" icpe "$data/deci/icpe-71-georisques.csv" ;;
    *) echo "schema.sh: no corpus for department $dept" >&2; exit 2 ;;
  esac
  for solver in greedy exact; do
    "$ideo" schema "$dept" --solver "$solver" --store "$store" --layers "$root/layers" -o "$work/$dept-$solver.csv" >/dev/null
  done
  results+=("$(summarise "$dept" "$work/$dept-greedy.csv" "$work/$dept-exact.csv")")
done

# Marseille 10e along the roads: the fixture's PEI, ERP placed in its box without hydrants.
store=$work/ideo-13.gpkg
import "$store" communes "$data/roads/zone-13210-marseille10.geojson"
import "$store" roads "$data/roads/troncon_route_marseille10.gpkg"
import "$store" pei "$data/deci/pei-13210-marseille10.geojson"
{
  head -1 "$data/deci/erp-90-prefecture.csv"
  i=0
  for x in 896550 896750 896950 897150; do
    for y in 6244100 6244300 6244500; do
      i=$((i + 1))
      echo "ERP13BENCH$i;Etablissement;R;$((3 + i % 3));rue;13210;MARSEILLE;100;$x,00;$y,00;01/01/2024"
    done
  done
} >"$work/erp-13210.csv"
import "$store" erp "$work/erp-13210.csv" --source prefecture90
for solver in greedy exact; do
  "$ideo" schema 13210 --mode road --solver "$solver" --store "$store" --layers "$root/layers" -o "$work/13210-$solver.geojson" |
    sed 's/^wrote [^:]*: /  13210 road: /'
done

echo
echo "Schéma communal, greedy (g) vs exact CBC (e), straight-line distances, default costs; time = problem + solve per commune"
header
printf '%s\n' "${results[@]}"
echo "gap: greedy cost over exact cost on the department; worse: communes where greedy is worse (+act: by more actions);"
echo "max n: largest set-cover instance (candidate actions after pruning); fallb: communes where exact fell back to greedy"

# Where the exact solver's limit comes from: its time by instance size on random communes (sparse, then dense).
echo
echo "Exact solver (CBC) time by instance size, random communes (tests/unit/schema_test.cpp SchemaBench)"
"$build/schema_test" --gtest_also_run_disabled_tests --gtest_filter='SchemaBench.*' | grep -v '^\[\|^Running\|^Note'
