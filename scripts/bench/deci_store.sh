# Sourced by scripts/bench/heavy_vs_light.sh and load_with_publish.sh: the DECI store of a generated
# corpus and the request lists over it, and what both need (Debian packages, the build, a cleanup of the
# processes listed in $pids). Needs $root, $build, $W and $scale set.
shared="$root/../shared/data"

pkgs=(wrk curl gdal-bin python3-gdal)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; fi
[ -x "$build/ideo" ] || cmake --build "$build" --target ideo

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT


# The corpus (../shared/tools/make_deci_data.py, department 90) and the store, imported by $build.
[ -f "$W/corpus/manifest.json" ] || /usr/bin/python3 "$root/../shared/tools/make_deci_data.py" "$W/corpus" --scale "$scale" --depts 90 >/dev/null
if [ ! -f "$W/ideo.gpkg" ]; then
  "$build/ideo" import communes "$shared/communes/communes-90-territoire-de-belfort.geojson" --store "$W/ideo.gpkg" --layers "$root/layers" >/dev/null
  for layer in pei erp; do
    "$build/ideo" import "$layer" "$(ls "$W"/corpus/*"$layer"* | head -1)" --store "$W/ideo.gpkg" --layers "$root/layers" >/dev/null
  done
  "$build/ideo" import icpe "$shared/icpe/ign_installation.csv" --store "$W/ideo.gpkg" --layers "$root/layers" >/dev/null
fi
pei=$(ogrinfo -ro -so "$W/ideo.gpkg" pei | sed -n 's/Feature Count: //p')

# --- the request lists
/usr/bin/python3 "$root/scripts/bench/tiles/tile_list.py" "$shared/communes/departement-90-territoire-de-belfort.geojson" 60 |
  sed 's|^|/tiles/pei/|; s|$|.mvt|' > "$W/tiles.txt"
/usr/bin/python3 - "$W" <<'EOF'
import random, sys
w = sys.argv[1]
rnd = random.Random(17)
with open(f"{w}/items.txt", "w") as f:
    for _ in range(400):
        if rnd.random() < 0.5:
            f.write(f"/collections/pei/items?limit=50&offset={rnd.randrange(0, 2000)}\n")
        else:  # a small bbox in the department, a map's view at street level
            x, y = rnd.uniform(6.76, 7.14), rnd.uniform(47.43, 47.82)
            f.write(f"/collections/pei/items?limit=100&bbox={x:.4f},{y:.4f},{x + 0.02:.4f},{y + 0.015:.4f}\n")
EOF
ogrinfo -ro -q -sql "SELECT code FROM communes ORDER BY code" "$W/ideo.gpkg" | sed -n 's/.*code (String) = //p' > "$W/insee.txt"
{
  i=0
  while read -r insee; do
    case $((i % 4)) in
      0) echo "/deci/communes/$insee/extract.xlsx" ;;
      1) echo "/deci/communes/$insee/extract.gpkg" ;;
      2) echo "/deci/communes/$insee/extract.csv" ;;
      3) echo "/deci/extract.xlsx?dept=90" ;;
    esac
    i=$((i + 1))
  done < "$W/insee.txt"
} > "$W/extracts.txt"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wrk's latency ("812.00us", "1.20ms", "2.01s") in ms
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }
pct() { ms "$(awk -v p="$1" '$1 == p {print $2}' "$2")"; }  # percentile ("99%"), wrk --latency output
errors_of() { awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' "$1"; }
wait_http() { for _ in $(seq 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; echo "no answer from $1" >&2; return 1; }
