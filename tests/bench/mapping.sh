#!/usr/bin/env bash
# The --mapping path at scale (figures, never pass/fail): a Salesforce
# and a HubSpot export, each read through its built-in mapping, made large
# by repeating the test fixture's records COPIES times, each copy's ids
# made its own (a suffix, or for HubSpot's numbers a shift) so every copy
# is a small world of its own (same dates, same values). Prints, per size, the records read, load+validate and the
# whole run (seconds, records a second, peak MiB; medians of RUNS runs,
# default 1).
#   bash tests/bench/mapping.sh [COPIES...]   (default: 2000 20000)
# The exports are cached under $BENCH_DIR (default /tmp/salesrelay-bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
copies=("$@")
[ $# -gt 0 ] || copies=(2000 20000)
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
command -v python3 >/dev/null || { echo "needs python3 (to write the repeated exports)"; exit 1; }
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/salesrelay"
work="${BENCH_DIR:-/tmp/salesrelay-bench}"
mkdir -p "$work"
# shellcheck source=measure.sh
source tests/bench/measure.sh

repeat() { # fixture folder $1 written $3 times into folder $2, ids matching $4 (a regex; empty: none) suffixed per copy
  # (or, for an export whose ids are numbers, the values of the columns named in $5, comma-separated,
  # shifted by copy x 10^9)
  python3 - "$1" "$2" "$3" "$4" "${5:-}" <<'EOF'
import csv, os, re, sys
src, dst, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
pattern = re.compile(sys.argv[4]) if sys.argv[4] else None
numbered = set(filter(None, sys.argv[5].split(",")))
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    if not name.endswith(".csv"):
        continue
    with open(os.path.join(src, name), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    shifted = [h in numbered for h in rows[0]]
    with open(os.path.join(dst, name), "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(rows[0])
        for k in range(copies):
            for r in rows[1:]:
                w.writerow([str(int(v) + k * 10**9) if s and v else v + "x%d" % k if pattern and pattern.match(v) else v for v, s in zip(r, shifted)])
EOF
}

printf '%-10s %-7s %10s | %-25s | %s\n' export copies records "load+validate s  rec/s  MiB" "run s    rec/s     MiB"
for export in salesforce hubspot; do
  for n in "${copies[@]}"; do
    dir="$work/$export-x$n"
    if [ ! -f "$dir/.complete" ]; then
      rm -rf "$dir"
      if [ "$export" = salesforce ]; then
        # the fixture's ids: 00Q.., 006..
        repeat tests/fixtures/salesforce "$dir" "$n" '^00[0-9A-Z]{3,}$'
      else
        # HubSpot's ids are numbers; its deals are in yen and dollars, so the rates come along
        repeat tests/fixtures/hubspot "$dir" "$n" '' hs_object_id,hubspot_owner_id,associatedcompanyid,associatedcontactid,associateddealid,id
        printf 'base_currency = "JPY"\n' >"$dir/salesrelay.toml"
        printf 'currency,valid_from,rate\nUSD,2026-01-01,0.0068\nUSD,2026-09-01,0.006\n' >"$dir/exchange_rates.csv"
      fi
      touch "$dir/.complete"
    fi
    records=$(rows_in "$dir")
    read -r vs vm _ _ <<<"$(runs "$bin" validate --mapping "$export" --input "$dir")"
    read -r rs rm _ _ <<<"$(runs "$bin" run --mapping "$export" --input "$dir" --out "$work/reports")"
    printf '%-10s %-7s %10s | %7.2f %9.0f %6s | %7.2f %9.0f %6s\n' "$export" "$n" "$records" \
      "$vs" "$(echo "$records / $vs" | bc -l)" "$vm" "$rs" "$(echo "$records / $rs" | bc -l)" "$rm"
  done
done
