#!/usr/bin/env bash
# Where a run keeps the cores busy (figures, never pass/fail): one
# `salesrelay run` with SALESRELAY_TIMINGS=1, its CPU time (user and
# system, from /proc) read every tenth of a second; for each timed line
# the run prints (a file read, validate, each fact and table, write), the
# seconds since the line before and the cores busy on average over them.
# A table that keeps fewer than all cores busy has a stretch on one core
# (planning, a sort or gather of its own, a single-threaded kernel); the
# whole run's average is the ceiling any speed-up of the tables' work
# alone has to beat.
#   bash tests/bench/cores.sh [SCALE] [BIN]
#   SCALE: a cached benchmark input (run.sh makes it; default 100), or
#   "sample" for sample_data/; BIN: the binary (default the release build).
# With two tables at a time (small inputs) a stretch holds the end of one
# table and part of another: read it with SALESRELAY_COMPUTE_THREADS=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
scale="${1:-100}"
bin="${2:-${CARGO_TARGET_DIR:-target}/release/salesrelay}"
if [ "$scale" = sample ]; then
  dir=sample_data
else
  dir="${BENCH_DIR:-/tmp/salesrelay-bench}/scale-$scale"
  [ -f "$dir/.complete" ] || { echo "no input at $dir: run bash tests/bench/run.sh $scale first"; exit 1; }
fi
[ -x "$bin" ] || { echo "no binary at $bin: cargo build --release first"; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
python3 - "$bin" "$dir" "$out" <<'PY'
import os, re, resource, subprocess, sys, threading, time

binary, input_dir, out = sys.argv[1:4]
env = dict(os.environ, SALESRELAY_TIMINGS="1")
tick = os.sysconf("SC_CLK_TCK")
start = time.time()
run = subprocess.Popen([binary, "run", "--input", input_dir, "--out", out],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
lines = []

def read_stderr():
    for line in run.stderr:
        lines.append((time.time() - start, line.rstrip("\n")))

reader = threading.Thread(target=read_stderr)
reader.start()
samples = []  # (seconds since start, CPU seconds so far)
while run.poll() is None:
    try:
        fields = open(f"/proc/{run.pid}/stat").read().rsplit(")", 1)[1].split()
        samples.append((time.time() - start, (int(fields[11]) + int(fields[12])) / tick))
    except (OSError, IndexError):
        pass
    time.sleep(0.1)
reader.join()
wall = time.time() - start
if run.returncode != 0:
    sys.exit(f"the run failed (exit {run.returncode}): " + "\n".join(l for _, l in lines[-5:]))

# a timed line: a file read, a stage, a fact or a table
timed = re.compile(r"^\s+(\S+\.(csv|parquet): scan|(load|validate|compute|queries|write)\s|fact \S+:|compute \S+:|wide \S+:|visit_plan \S)")

def cpu_at(t):
    """CPU seconds used by time t (the last sample at or before it)."""
    used = 0.0
    for at, cpu in samples:
        if at > t:
            break
        used = cpu
    return used

print(f"{'at s':>7} {'took s':>7} {'cores':>5}  line")
last = 0.0
for at, line in lines:
    if not timed.match(line) or " memory: " in line:
        continue
    took = at - last
    # CPU time is read every 0.1 s: a shorter stretch has no average worth showing
    cores = f"{(cpu_at(at) - cpu_at(last)) / took:5.2f}" if took >= 0.3 else "    -"
    shown = re.sub(r", peak.*", "", line.strip())
    print(f"{at:7.2f} {took:7.2f} {cores}  {shown[:100]}")
    last = at
# the whole run's CPU time, as the system counted it once the run ended
used = resource.getrusage(resource.RUSAGE_CHILDREN)
total_cpu = used.ru_utime + used.ru_stime
print(f"whole run: {wall:.2f} s, {used.ru_utime:.1f} s user and {used.ru_stime:.1f} s system CPU,"
      f" {total_cpu / wall:.2f} of {os.cpu_count()} cores busy on average")
PY
