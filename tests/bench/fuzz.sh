#!/usr/bin/env bash
# The long fuzz run (figures, never part of CI): many mutated copies of the
# tiny fixture through load, validate (strict and --lenient) and every table;
# prints executions, seconds and the failing cases (panics or findings that
# do not name their table and column), each reproducible by its seed.
#   bash tests/bench/fuzz.sh [CASES] [SEED]   (default 20000 from seed 1000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
cases="${1:-20000}"
seed="${2:-1000000}"
SALESRELAY_FUZZ_CASES="$cases" SALESRELAY_FUZZ_SEED="$seed" \
  cargo test --release --test it fuzz:: -- --nocapture 2>&1 | grep -E "^fuzz:|case [0-9]+|test result"
