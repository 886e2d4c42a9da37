#!/usr/bin/env bash
# Disk full during a GeoPackage publish: the store on a small tmpfs (size=SIZE), holding the first 5,000
# rows of the SDIS 21 export and served by `ideo serve`; the filesystem filled up to FREE bytes, then all
# 9,874 rows imported. For each FREE: the import fails with an error naming the store (exit non-zero) or,
# with room enough, publishes; either way sqlite3's integrity_check is ok and the store and the server
# hold one whole version. The space given back, the next import publishes.
# Usage: scripts/faults/disk_full.sh [FREE_KIB... (0 64 512 2048 8192)]    env: SIZE (32m), BUILD_DIR, KEEP=1
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "disk_full.sh mounts a tmpfs: run it as root" >&2; exit 1; }
levels=("$@")
[ ${#levels[@]} -gt 0 ] || levels=(0 64 512 2048 8192)
size=${SIZE:-32m}

disk=$work/disk
mkdir "$disk"
mount -t tmpfs -o "size=$size" ideo-faults "$disk"
cleanups+=("umount \"$disk\"")
store=$disk/ideo.gpkg
make_half

"$ideo" import communes "$communes21" --store "$store" >/dev/null
half_count=$(import_pei "$store" "$half")
serve_start gpkg --store "$store"
avail() { df --output=avail -B1 "$disk" | tail -1; }
echo "disk full during a publish: tmpfs of $size, store $(du -k "$store" | cut -f1) KiB with $half_count PEI," \
     "$(($(avail) / 1024)) KiB free"

full_failed=0
for free_kib in "${levels[@]}"; do
  prev_version=$(store_version "$store")
  prev_rows=$(store_pei_rows "$store")
  filler=$((($(avail) - free_kib * 1024)))
  [ "$filler" -gt 0 ] && fallocate -l "$filler" "$disk/filler"
  start_free=$(avail)
  rc=0
  out=$("$ideo" import pei "$pei21" --store "$store" --source sdis21 2>&1) || rc=$?
  message=$(grep '^ideo: \|^published ' <<<"$out" | head -3 | tr '\n' ' ')
  end_free=$(avail)
  rm -f "$disk/filler"
  integrity=$(gpkg_integrity "$store")
  version=$(store_version "$store")
  rows=$(store_pei_rows "$store")
  sleep 2.5  # the server's 2 s poll
  served=$(served_count "$port_gpkg")
  echo "free $free_kib KiB ($((start_free / 1024)) KiB at the start, $((end_free / 1024)) at the end): exit $rc," \
       "version $prev_version -> $version, rows $prev_rows -> $rows, served $served, integrity $integrity"
  echo "  says: $message"
  expect [ "$integrity" = ok ] -- "integrity_check ok"
  if [ "$rc" -ne 0 ]; then
    full_failed=$((full_failed + 1))
    expect grep -q "$store" <<<"$out" -- "the error names the store"
    expect grep -qi "full\|no space" <<<"$out" -- "the error says the disk is full"
    expect [ "$version" = "$prev_version" -a "$rows" = "$prev_rows" -a "$served" = "$prev_rows" ] -- \
      "the previous version stays, stored and served ($prev_rows PEI)"
  else
    expect [ "$version" = $((prev_version + 1)) -a "$served" = "$rows" ] -- "published with room enough: $rows PEI served"
    import_pei "$store" "$half" >/dev/null  # back to the smaller version for the next level
    wait_served "$port_gpkg" "$(store_version "$store")" 10 || true
  fi
done
expect [ "$full_failed" -gt 0 ] -- "at least one publish ran out of space ($full_failed of ${#levels[@]})"

n=$(import_pei "$store" "$pei21" || echo failed)
version=$(store_version "$store")
wait_served "$port_gpkg" "$version" 10 || true
expect [ "$n" = "$(served_count "$port_gpkg")" -a "$(gpkg_integrity "$store")" = ok ] -- \
  "with the space given back, the next import publishes: $n PEI served at version $version"
expect kill -0 "$pid_gpkg" -- "ideo serve still running"
finish
