#!/usr/bin/env bash
# The least memory `salesrelay run` completes in (figures, never pass/fail):
# bisects limit.sh's memory cgroup between LOW and HIGH GiB to STEP GiB.
# The resident peak `time -v` reports overstates what a run needs: it also
# counts memory the allocator handed back as reclaimable, which the kernel
# takes back as a limit is reached. This is the figure for "fits on a
# machine with N GiB free".
#   bash tests/bench/need.sh [SCALE] [LOW] [HIGH] [STEP]   (default 1000 3 8 0.25; needs root)
# SALESRELAY_BIN=path bisects another build (see limit.sh).
# Each try is one whole run (about a minute at scale 1000; longer close to
# the limit, where the kernel reclaims as the run goes).
set -euo pipefail
cd "$(dirname "$0")/../.."
scale="${1:-1000}"; low="${2:-3}"; high="${3:-8}"; step="${4:-0.25}"
fits() { # whether the run completes in $1 GiB; prints limit.sh's line
  local line
  line=$(bash tests/bench/limit.sh "$1" "$scale")
  echo "  $line" >&2
  [[ "$line" == *": completed in"* ]]
}
fits "$high" || { echo "scale $scale does not complete in $high GiB"; exit 1; }
if fits "$low"; then echo "scale $scale completes in $low GiB (the lowest tried)"; exit 0; fi
# invariant: fails at low, completes at high
while (( $(echo "$high - $low > $step" | bc) )); do
  mid=$(echo "scale=4; m = ($low + $high) / 2; scale=0; (m / $step + 0.5) / 1 * $step" | bc)
  # a midpoint rounded onto the grid must lie strictly inside
  if (( $(echo "$mid <= $low || $mid >= $high" | bc) )); then mid=$(echo "scale=4; ($low + $high) / 2" | bc); fi
  mid=$(printf '%.2f' "$mid")
  if fits "$mid"; then high=$mid; else low=$mid; fi
done
echo "scale $scale needs between $low and $high GiB: completes in $high, killed in $low"
