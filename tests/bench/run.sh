#!/usr/bin/env bash
# Benchmark (figures, never pass/fail): per scale, the parse floor (Polars'
# own multi-threaded CSV reader reading the same files in the same binary,
# every column as text, no checks), load+validate (`salesrelay validate`,
# which does not hash the files: the run's load also takes their SHA-256
# for its manifest, 1.6 s of CPU at scale 1000),
# the whole review (`salesrelay run`: load, validate, every table, charts,
# report), their peak memory, rows per second and the ratios to the floor,
# the run's microseconds per input row, how far those stray over the scales,
# the fixed cost of a run (on sample_data/) and the time per row past it.
#   bash tests/bench/run.sh [SCALES...]   (default: 10 100 1000)
# Generated inputs are cached under $BENCH_DIR (default /tmp/salesrelay-bench).
# Run it on a quiet machine: a compile beside it doubles every figure.
# The last column is the run's system time: on a VM that backs fresh
# memory slowly it moves the wall-clock figures from one run to the next
# (the same scale-100 validate took 2-5 s), so compare builds with
# compare.sh, which takes them in turn. The floor is the median of
# FLOOR_READS reads (default 3; one read at scale 1000 moved from 5.5 to
# 8.8 s between three reads in a row), the other figures the median of
# RUNS runs (default 1), the reads and runs taken in turn (a read, a
# validate, a run, then again). The user CPU seconds of the floor, load+validate
# and the run, and their ratios, come last: on such a VM the wall clock
# moves with the system time (the kernel zeroing fresh pages took 9% of
# the CPU samples of validate at scale 1000 in one hour and 41% in the
# next; the system time of one run at scale 1000 went from 4 to 33 s over
# a day), while the user time of one build on one input moved within 10%
# (63-70 s): the CPU ratios are the steadier figure, and a smaller change
# is still only told apart by compare.sh, which takes builds in turn.
set -euo pipefail
cd "$(dirname "$0")/../.."
scales=("$@")
[ $# -gt 0 ] || scales=(10 100 1000)
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/salesrelay"
work="${BENCH_DIR:-/tmp/salesrelay-bench}"
mkdir -p "$work"
# shellcheck source=measure.sh
source tests/bench/measure.sh

printf '%-6s %11s | %-16s | %-30s | %-30s | %-13s | %-9s | %-20s | %-23s | %s\n' scale rows "floor s   MiB" "load+validate s  rows/s  MiB" "run s   rows/s   MiB" "x floor (l+v, run)" "run sys s" "user s (floor, l+v, run)" "x floor user (l+v, run)" "run us/row"
per_row=() run_seconds=() run_rows=()
for s in "${scales[@]}"; do
  dir="$work/scale-$s"
  if [ ! -f "$dir/.complete" ]; then
    "$bin" generate --out "$dir" --scale "$s" --seed 1 >/dev/null 2>&1
    touch "$dir/.complete"
  fi
  rows=$(rows_in "$dir")
  # the floor as the reader itself times it (process start-up excluded), its peak from time -v
  read -r _ fm _ fu <<<"$(measure "$bin" parse-floor --input "$dir")"
  # taken in turn, a floor read, a validate and a run a round, so that each
  # ratio's figures come from the same minutes: this VM's speed drifts by a
  # fifth or more within an hour, and taken one after another (the floor's
  # reads, then the validates, then the runs) the ratios moved with it
  floors=() validates=() whole=()
  rounds=$(( ${FLOOR_READS:-3} > ${RUNS:-1} ? ${FLOOR_READS:-3} : ${RUNS:-1} ))
  for r in $(seq "$rounds"); do
    [ "$r" -gt "${FLOOR_READS:-3}" ] || floors+=("$("$bin" parse-floor --input "$dir" | awk '{print $4}')")
    if [ "$r" -le "${RUNS:-1}" ]; then
      validates+=("$(measure "$bin" validate --input "$dir")")
      whole+=("$(measure "$bin" run --input "$dir" --out "$work/reports")")
    fi
  done
  floor=$(printf '%s\n' "${floors[@]}" | median)
  read -r vs vm _ vu <<<"$(printf '%s\n' "${validates[@]}" | medians)"
  read -r rs rm rsys ru <<<"$(printf '%s\n' "${whole[@]}" | medians)"
  us=$(echo "$rs * 1000000 / $rows" | bc -l)
  per_row+=("$us")
  run_seconds+=("$rs") run_rows+=("$rows")
  printf '%-6s %11s | %6.2f %8s | %7.2f %10.0f %7s   | %7.2f %10.0f %7s  | %5.1f %6.1f  | %9.2f | %6.2f %6.2f %6.2f | %5.1f %6.1f               | %6.2f\n' "$s" "$rows" \
    "$floor" "$fm" "$vs" "$(echo "$rows / $vs" | bc -l)" "$vm" "$rs" "$(echo "$rows / $rs" | bc -l)" "$rm" \
    "$(echo "$vs / $floor" | bc -l)" "$(echo "$rs / $floor" | bc -l)" "$rsys" \
    "$fu" "$vu" "$ru" "$(echo "$vu / $fu" | bc -l)" "$(echo "$ru / $fu" | bc -l)" "$us"
done
# the issue's flatness figure: how far the run's time per input row strays, over the scales
# run, from the middle of its lowest and highest (flat within +-20% is the target)
# (`spread`: the lowest and the highest of the numbers it reads, and how far they stray from
# their middle, in percent)
spread() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f %.2f %.0f\n", lo, hi, (hi - lo) / (hi + lo) * 100 }'; }
if [ "${#per_row[@]}" -gt 1 ]; then
  read -r lo hi pct <<<"$(printf '%s\n' "${per_row[@]}" | spread)"
  printf 'run time per input row: %s to %s us over these scales, within +-%s%% of their middle\n' "$lo" "$hi" "$pct"
fi
# what a run costs whatever its size (planning every table's plans, the charts, the loss
# model's cross-validation, writing the files): the whole run on sample_data's few rows
sample_rows=$(rows_in sample_data)
read -r fixed _ _ _ <<<"$(runs "$bin" run --input sample_data --out "$work/reports")"
printf 'fixed cost: run on sample_data (%s rows) %.2f s\n' "$sample_rows" "$fixed"
# the time per row past that fixed cost ((run - fixed) / rows): what grows with the input,
# apart from what a run of any size pays (the flatness figure above counts both)
if [ "${#run_seconds[@]}" -gt 0 ]; then
  past=()
  for i in "${!run_seconds[@]}"; do
    past+=("$(echo "(${run_seconds[$i]} - $fixed) * 1000000 / ${run_rows[$i]}" | bc -l)")
  done
  read -r _ _ pct <<<"$(printf '%s\n' "${past[@]}" | spread)"
  printf 'run time per input row past the fixed cost: %s us (scales %s), within +-%s%% of their middle\n' \
    "$(printf '%.2f ' "${past[@]}" | sed 's/ $//')" "${scales[*]}" "$pct"
fi
