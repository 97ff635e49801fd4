#!/usr/bin/env bash
# Benchmark (figures, never pass/fail): generate scale 10, 100 and 1000 and time
# load + validate (`salesrelay validate`) on each, printing rows per second and
# peak memory from /usr/bin/time -v.
#   bash tests/bench/load_validate.sh [SCALES...]   (default: 10 100 1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
scales=("${@:-10 100 1000}")
[ $# -gt 0 ] || scales=(10 100 1000)
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/salesrelay"
work="${BENCH_DIR:-/tmp/salesrelay-bench}"
mkdir -p "$work"
printf '%-6s %14s %12s %10s %14s %10s\n' scale rows gen_s load_val_s rows_per_s peak_MiB
for s in "${scales[@]}"; do
  dir="$work/scale-$s"
  gen_s="cached"
  if [ ! -f "$dir/leads.csv" ]; then
    start=$(date +%s.%N)
    "$bin" generate --out "$dir" --scale "$s" --seed 1 >/dev/null 2>&1
    gen_s=$(echo "$(date +%s.%N) - $start" | bc)
  fi
  rows=$(cat "$dir"/*.csv | wc -l)
  /usr/bin/time -v "$bin" validate --input "$dir" >/dev/null 2>"$work/time-$s.txt" || true
  wall=$(grep 'Elapsed (wall clock)' "$work/time-$s.txt" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep 'Maximum resident set size' "$work/time-$s.txt" | awk '{print $NF}')
  printf '%-6s %14s %12s %10.2f %14.0f %10.0f\n' "$s" "$rows" "$gen_s" "$wall" "$(echo "$rows / $wall" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
done
