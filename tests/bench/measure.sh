# Shared by the benchmarks (sourced, not run): time a command, take medians,
# count an input's records. Expects $work, the folder for their scratch files.

measure() { # the command; prints "seconds peak_MiB system_seconds user_seconds"
  local log="$work/time.txt"
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || { echo "failed: $*" >&2; tail -5 "$log" >&2; }
  local wall rss sys user
  wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
  sys=$(grep 'System time (seconds)' "$log" | awk '{print $NF}')
  user=$(grep 'User time (seconds)' "$log" | awk '{print $NF}')
  echo "$wall $(echo "$rss / 1024" | bc) $sys $user"
}

median() { # the median of the numbers on stdin, one a line (the lower middle one of an even count)
  sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

medians() { # lines of measure's four figures on stdin; prints each figure's own median
  local all
  all=$(cat)
  echo "$(cut -d' ' -f1 <<<"$all" | median) $(cut -d' ' -f2 <<<"$all" | median) $(cut -d' ' -f3 <<<"$all" | median) $(cut -d' ' -f4 <<<"$all" | median)"
}

runs() { # the command RUNS times (default 1); prints the runs' median "seconds peak_MiB system_seconds user_seconds", each figure's own median
  for _ in $(seq "${RUNS:-1}"); do measure "$@"; done | medians
}

rows_in() { # the records of the CSV files in folder $1 (their lines, less each file's header)
  echo $(( $(cat "$1"/*.csv | wc -l) - $(ls "$1"/*.csv | wc -l) ))
}
