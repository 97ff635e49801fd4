#!/usr/bin/env bash
# Benchmark (figures, never pass/fail): the whole review (`salesrelay run`:
# load, validate, the KPI tree and every table, write) next to load+validate
# alone, at several scales, with rows per second and peak memory.
#   bash tests/bench/run.sh [SCALES...]   (default: 10 100 1000)
# Generated inputs are cached under $BENCH_DIR (default /tmp/salesrelay-bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
scales=("$@")
[ $# -gt 0 ] || scales=(10 100 1000)
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/salesrelay"
work="${BENCH_DIR:-/tmp/salesrelay-bench}"
mkdir -p "$work"

measure() { # label, then the command; prints "seconds peak_MiB"
  local log="$work/time.txt"
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || { echo "failed: $*" >&2; tail -5 "$log" >&2; }
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
  echo "$wall $rss"
}

printf '%-6s %12s %8s | %-28s | %-28s\n' scale rows gen_s "load+validate s  rows/s  MiB" "run s  rows/s  MiB"
for s in "${scales[@]}"; do
  dir="$work/scale-$s"
  gen="cached"
  if [ ! -f "$dir/.complete" ]; then
    start=$(date +%s.%N)
    "$bin" generate --out "$dir" --scale "$s" --seed 1 >/dev/null 2>&1
    touch "$dir/.complete"
    gen=$(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)")
  fi
  rows=$(( $(cat "$dir"/*.csv | wc -l) - 8 ))
  read -r vs vm <<<"$(measure "$bin" validate --input "$dir")"
  read -r rs rm <<<"$(measure "$bin" run --input "$dir" --out "$work/reports")"
  printf '%-6s %12s %8s | %7.2f %10.0f %7.0f   | %7.2f %10.0f %7.0f\n' "$s" "$rows" "$gen" \
    "$vs" "$(echo "$rows / $vs" | bc -l)" "$(echo "$vm / 1024" | bc -l)" \
    "$rs" "$(echo "$rows / $rs" | bc -l)" "$(echo "$rm / 1024" | bc -l)"
done
