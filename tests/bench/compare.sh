#!/usr/bin/env bash
# Two builds side by side (figures, never pass/fail): the machine's speed
# drifts by 10% or more within minutes, so only runs of the two binaries
# taken in turn say which is faster. Each round runs A then B on the same
# input, once with SALESRELAY_TIMINGS=1 (the stages' times and the tables
# matching PATTERN) and once without (the whole run's seconds, peak, and
# user and system CPU seconds: over a day the user time of one build moved
# within 10%, the system time, and with it the wall clock, by far more on
# a VM that backs fresh memory slowly).
#   bash tests/bench/compare.sh BIN_A BIN_B [SCALE] [ROUNDS] [PATTERN]
#   e.g. bash tests/bench/compare.sh /tmp/salesrelay-old target/release/salesrelay 1000 3 'compute (kpi_tree|is_reps)'
# The input is the benchmark's cached generated data (run.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { echo "usage: bash tests/bench/compare.sh BIN_A BIN_B [SCALE] [ROUNDS] [PATTERN]"; exit 2; }
a="$1"; b="$2"; scale="${3:-100}"; rounds="${4:-3}"; pattern="${5:-^$}"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
work="${BENCH_DIR:-/tmp/salesrelay-bench}"
dir="$work/scale-$scale"
[ -f "$dir/.complete" ] || { echo "no input at $dir: run bash tests/bench/run.sh $scale first"; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for round in $(seq "$rounds"); do
  for side in A B; do
    bin="$a"; [ "$side" = B ] && bin="$b"
    stages=$(SALESRELAY_TIMINGS=1 "$bin" run --input "$dir" --out "$out" 2>&1 >/dev/null \
      | grep -E "^  (load|validate|compute|write) |$pattern" \
      | sed -E 's/^  (load|validate|compute|write) .* ([0-9.]+s)$/\1 \2/; s/, peak.*//; s/^ +//; s/ {2,}/ /g' | paste -sd';' -)
    whole=$(/usr/bin/time -f "%e s %M %U %S" "$bin" run --input "$dir" --out "$out" 2>&1 >/dev/null | tail -1 | awk '{printf "%s s, peak %d MiB, user %s s, sys %s s", $1, $3/1024, $4, $5}')
    echo "round $round $side: run $whole | $stages"
  done
done
