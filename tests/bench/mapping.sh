#!/usr/bin/env bash
# The --mapping path at scale (figures, never pass/fail): a Salesforce
# export, read through the built-in mapping, made large by repeating the
# test fixture's records COPIES times, each copy's ids given a suffix of
# its own so every copy is a small world of its own (same dates, same
# values). Prints, per mapping and size, the records read, load+validate
# and the whole run (seconds, records a second, peak MiB), and the load's
# own seconds.
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

repeat() { # fixture folder $1 written $3 times into folder $2, ids matching $4 suffixed per copy
  python3 - "$1" "$2" "$3" "$4" <<'EOF'
import csv, os, re, sys
src, dst, copies, pattern = sys.argv[1], sys.argv[2], int(sys.argv[3]), re.compile(sys.argv[4])
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    if not name.endswith(".csv"):
        continue
    with open(os.path.join(src, name), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with open(os.path.join(dst, name), "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(rows[0])
        for k in range(copies):
            for r in rows[1:]:
                w.writerow([v + "x%d" % k if pattern.match(v) else v for v in r])
EOF
}

seconds_of() { # "Elapsed (wall clock)" of a time -v log as seconds
  grep 'Elapsed (wall clock)' "$1" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'
}

printf '%-11s %7s %10s | %-25s | %-25s | %s\n' mapping copies records "load+validate s  rec/s  MiB" "run s    rec/s     MiB" "load s"
# the fixture's ids (00Q.., 006..). The HubSpot fixture holds deals in two currencies on
# purpose, so it needs exchange rates a repeat would have to bring along: left out here.
for spec in "salesforce:^00[0-9A-Z]{3,}$"; do
  mapping="${spec%%:*}"; pattern="${spec#*:}"
  for n in "${copies[@]}"; do
    dir="$work/$mapping-x$n"
    if [ ! -f "$dir/.complete" ]; then
      rm -rf "$dir"
      repeat "tests/fixtures/$mapping" "$dir" "$n" "$pattern"
      touch "$dir/.complete"
    fi
    records=$(( $(cat "$dir"/*.csv | wc -l) - $(ls "$dir"/*.csv | wc -l) ))
    log="$work/time.txt"
    /usr/bin/time -v "$bin" validate --mapping "$mapping" --input "$dir" >/dev/null 2>"$log" || { echo "validate failed:"; tail -5 "$log"; exit 1; }
    vs=$(seconds_of "$log"); vm=$(( $(grep 'Maximum resident set size' "$log" | awk '{print $NF}') / 1024 ))
    /usr/bin/time -v "$bin" run --mapping "$mapping" --input "$dir" --out "$work/reports" >/dev/null 2>"$log" || { echo "run failed:"; tail -5 "$log"; exit 1; }
    rs=$(seconds_of "$log"); rm=$(( $(grep 'Maximum resident set size' "$log" | awk '{print $NF}') / 1024 ))
    load=$(SALESRELAY_TIMINGS=1 "$bin" validate --mapping "$mapping" --input "$dir" 2>&1 >/dev/null | grep -E '^  load ' | awk '{print $NF}')
    printf '%-11s %7s %10s | %7.2f %9.0f %6s | %7.2f %9.0f %6s | %s\n' "$mapping" "$n" "$records" \
      "$vs" "$(echo "$records / $vs" | bc -l)" "$vm" "$rs" "$(echo "$records / $rs" | bc -l)" "$rm" "$load"
  done
done
