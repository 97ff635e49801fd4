#!/usr/bin/env bash
# Whether `salesrelay run` completes within a memory limit (figures, never
# pass/fail): the run goes into a memory cgroup capped at GIB, so freed
# memory the allocator handed back as reclaimable (MADV_FREE, which the
# resident size `time -v` reports still counts) is taken back by the kernel
# as the cap is reached, as it would be on a machine with only that much.
# Prints the run's seconds, resident peak, the cgroup's peak and whether
# the kernel had to kill it.
#   bash tests/bench/limit.sh GIB [SCALE]   (default scale 1000; needs root)
#   SALESRELAY_BIN=/tmp/old-build bash tests/bench/limit.sh GIB [SCALE]   (another build)
# The input is the benchmark's cached generated data (run.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 1 ] || { echo "usage: bash tests/bench/limit.sh GIB [SCALE]"; exit 2; }
gib="$1"; scale="${2:-1000}"
work="${BENCH_DIR:-/tmp/salesrelay-bench}"
dir="$work/scale-$scale"
[ -f "$dir/.complete" ] || { echo "no input at $dir: run bash tests/bench/run.sh $scale first"; exit 1; }
# SALESRELAY_BIN=path runs that build instead (to compare two builds' needs)
if [ -n "${SALESRELAY_BIN:-}" ]; then
  bin="$SALESRELAY_BIN"
else
  cargo build --release --quiet
  bin="${CARGO_TARGET_DIR:-target}/release/salesrelay"
fi
bytes=$(echo "$gib * 1073741824 / 1" | bc)
if [ -d /sys/fs/cgroup/memory ]; then # cgroup v1
  cg=/sys/fs/cgroup/memory/salesrelay-bench
  mkdir -p "$cg"
  echo "$bytes" >"$cg/memory.limit_in_bytes"
  echo 0 >"$cg/memory.max_usage_in_bytes"
  peak_file="$cg/memory.max_usage_in_bytes"
else # cgroup v2
  cg=/sys/fs/cgroup/salesrelay-bench
  mkdir -p "$cg"
  echo "$bytes" >"$cg/memory.max"
  peak_file="$cg/memory.peak"
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
log="$out/time.txt"
status=completed
( echo $BASHPID >"$cg/cgroup.procs"; exec /usr/bin/time -v "$bin" run --input "$dir" --out "$out/reports" >/dev/null 2>"$log" ) || status="failed (exit $?; killed by the kernel if 137)"
wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')
rss=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
echo "scale $scale in $gib GiB: $status in $wall, resident peak $((rss / 1024)) MiB, cgroup peak $(( $(cat "$peak_file") / 1048576 )) MiB"
