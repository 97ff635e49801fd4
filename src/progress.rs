//! Progress on stderr: a spinner while a stage runs (only on a terminal),
//! and one line per finished stage with its row count and time.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Reports stages of a command on stderr.
pub struct Progress {
    quiet: bool,
}

/// A running stage; `done` prints its line.
pub struct Stage {
    name: String,
    started: Instant,
    bar: ProgressBar,
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress { quiet }
    }

    /// Starts a stage named `name` (e.g. "load", "validate").
    pub fn stage(&self, name: &str) -> Stage {
        let bar = if self.quiet { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
        bar.set_message(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Stage { name: name.to_string(), started: Instant::now(), bar, quiet: self.quiet }
    }
}

impl Stage {
    /// Ends the stage with a short result, e.g. "41,233 rows".
    pub fn done(self, what: &str) {
        self.bar.finish_and_clear();
        if !self.quiet {
            crate::tell!("  {:<10} {:<40} {:>7.2}s", self.name, what, self.started.elapsed().as_secs_f64());
        }
        if timings() {
            let peak = Peak::now().max(Peak::take(&SEEN_PEAK));
            crate::tell!("    {} memory: peak {peak}, now {} MiB", self.name, resident_mib());
            // start the next stage's peak from here
            Peak::restart();
        }
    }
}

/// A peak of memory, in MiB: the resident size (the kernel's `VmHWM`,
/// which counts pages the allocator handed back as reclaimable) and the
/// live heap (bytes allocated and not yet freed, counted by the binary's
/// allocator: `heap_counted`), what a memory limit cannot take back.
#[derive(Debug, Clone, Copy)]
pub struct Peak {
    resident: u64,
    heap: u64,
}

impl Peak {
    /// The peaks since the last `restart`.
    fn now() -> Peak {
        Peak { resident: memory_kib("VmHWM:") >> 10, heap: (HEAP_PEAK.load(Relaxed).max(0) as u64) >> 20 }
    }

    /// Starts the peaks afresh from what is held now (Linux: clear_refs 5
    /// resets VmHWM).
    fn restart() {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        HEAP_PEAK.store(HEAP_LIVE.load(Relaxed), Relaxed);
    }

    fn max(self, other: Peak) -> Peak {
        Peak { resident: self.resident.max(other.resident), heap: self.heap.max(other.heap) }
    }

    /// Raises the peak `into` holds to at least this one.
    fn raise(self, into: &[AtomicU64; 2]) {
        into[0].fetch_max(self.resident, Relaxed);
        into[1].fetch_max(self.heap, Relaxed);
    }

    /// The peak `from` holds, leaving it at zero.
    fn take(from: &[AtomicU64; 2]) -> Peak {
        Peak { resident: from[0].swap(0, Relaxed), heap: from[1].swap(0, Relaxed) }
    }
}

impl std::fmt::Display for Peak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} MiB", self.resident)?;
        if HEAP_COUNTED.load(Relaxed) {
            write!(f, " (heap {} MiB)", self.heap)?;
        }
        Ok(())
    }
}

/// The highest peak seen in this stage before `peak_since` restarted it.
static SEEN_PEAK: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// The peak memory since the last call (or the stage's start), then
/// a fresh start for the next: what one step inside a stage (an output
/// table) took at most. The stage's own peak still counts it.
pub fn peak_since() -> Peak {
    let peak = Peak::now();
    peak.raise(&SEEN_PEAK);
    peak.raise(&TIMED_PEAK);
    Peak::restart();
    peak
}

/// The highest peak seen inside the innermost `timed` step so far:
/// a step nested in it (an event frame built for a table) restarts the
/// peaks, and the outer step's own peak must still count it.
static TIMED_PEAK: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// `work()`; with `SALESRELAY_TIMINGS`, also prints "<label>: <seconds>s,
/// peak <MiB> MiB (heap <MiB> MiB)" (the peaks from the memory before it:
/// `Peak`) and, where `held`
/// gives the bytes of what it built, ", <MiB> MiB held".
///
/// It also gives the CPU seconds the whole process spent meanwhile
/// (", cpu <seconds>s": every thread's user and system time, so the
/// table's own where nothing else runs beside it, as with
/// `SALESRELAY_COMPUTE_THREADS=1`, the table's write aside): on a VM whose
/// speed drifts, steadier than the wall clock for comparing two builds.
pub fn timed<T>(label: &str, work: impl FnOnce() -> T, held: impl FnOnce(&T) -> Option<usize>) -> T {
    if !timings() {
        return work();
    }
    let clock = Instant::now();
    let cpu = cpu_seconds();
    peak_since();
    let outer = Peak::take(&TIMED_PEAK);
    let out = work();
    let seconds = clock.elapsed().as_secs_f64();
    let cpu = match (cpu, cpu_seconds()) {
        (Some(before), Some(after)) => format!(", cpu {:.2}s", after - before),
        _ => String::new(),
    };
    let peak = peak_since().max(Peak::take(&TIMED_PEAK));
    outer.max(peak).raise(&TIMED_PEAK);
    let held = held(&out).map(|bytes| format!(", {} MiB held", bytes >> 20)).unwrap_or_default();
    crate::tell!("{label}: {seconds:.2}s{cpu}, peak {peak}{held}");
    out
}

/// The CPU seconds (user and system, every thread) this process has
/// spent so far, from `/proc/self/stat`; None where it cannot be read
/// (not Linux).
pub fn cpu_seconds() -> Option<f64> {
    cpu_ticks(&std::fs::read_to_string("/proc/self/stat").ok()?).map(|ticks| ticks as f64 / TICKS_A_SECOND)
}

/// The clock ticks of `/proc/<pid>/stat` (Linux's `USER_HZ`, 100 on every
/// architecture it runs on).
const TICKS_A_SECOND: f64 = 100.0;

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line, in
/// clock ticks. The command name (field 2, in brackets) may hold spaces
/// and brackets itself, so the fields are counted from the last `)`.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// Whether the binary's allocator counts the live heap (`count_heap`).
static HEAP_COUNTED: AtomicBool = AtomicBool::new(false);
/// The bytes allocated and not yet freed since counting began (below what
/// is truly held by what was allocated before it and freed since).
static HEAP_LIVE: AtomicI64 = AtomicI64::new(0);
/// The highest `HEAP_LIVE` since the last `Peak::restart`.
static HEAP_PEAK: AtomicI64 = AtomicI64::new(0);

/// Starts counting the live heap, when the timings are printed: the binary
/// calls it first thing, and its allocator then reports each allocation
/// (`heap_counted`, `count_heap`). Counting costs two atomic operations an
/// allocation, so it is on only with `SALESRELAY_TIMINGS`.
pub fn start_heap_count() {
    HEAP_COUNTED.store(timings(), Relaxed);
}

/// Whether the allocator is to report allocations (`count_heap`).
#[inline]
pub fn heap_counted() -> bool {
    HEAP_COUNTED.load(Relaxed)
}

/// Counts `bytes` more (or, negative, fewer) held on the heap.
#[inline]
pub fn count_heap(bytes: i64) {
    let live = HEAP_LIVE.fetch_add(bytes, Relaxed) + bytes;
    if bytes > 0 {
        HEAP_PEAK.fetch_max(live, Relaxed);
    }
}

/// Whether phase timings and memory are printed (`SALESRELAY_TIMINGS` set).
pub fn timings() -> bool {
    std::env::var_os("SALESRELAY_TIMINGS").is_some()
}

/// The memory the process holds now, in MiB (0 where /proc is not there).
pub fn resident_mib() -> u64 {
    memory_kib("VmRSS:") >> 10
}

/// A line of /proc/self/status in KiB (0 where there is none).
fn memory_kib(key: &str) -> u64 {
    kib_field("/proc/self/status", key).unwrap_or(0)
}

/// The number after `key` (`VmHWM:`, `MemAvailable:`) in a /proc file of
/// `key value kB` lines, if there is one.
fn kib_field(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// The memory this process may still take, in bytes: the system's
/// available memory (`MemAvailable`), or less where the process's memory
/// cgroup (v2 `memory.max`, v1 `memory.limit_in_bytes`) leaves less room
/// above what the cgroup uses now. None where neither can be read (not
/// Linux).
pub fn memory_room() -> Option<u64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let number = |text: Option<String>| text.and_then(|t| t.trim().parse::<u64>().ok());
    let available = kib_field("/proc/meminfo", "MemAvailable:").map(|kib| kib << 10);
    // the cgroup of this process: "0::/path" (v2) or "N:memory:/path" (v1)
    let groups = read("/proc/self/cgroup").unwrap_or_default();
    let cgroup_room = groups.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (limit, usage) = if controllers.is_empty() {
            (format!("/sys/fs/cgroup{path}/memory.max"), format!("/sys/fs/cgroup{path}/memory.current"))
        } else if controllers.split(',').any(|c| c == "memory") {
            (format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"), format!("/sys/fs/cgroup/memory{path}/memory.usage_in_bytes"))
        } else {
            return None;
        };
        // "max" (v2) or a huge number (v1) where there is no limit
        let limit = number(read(&limit))?;
        Some(limit.saturating_sub(number(read(&usage)).unwrap_or(0)))
    });
    match (available, cgroup_room) {
        (Some(a), Some(c)) => Some(a.min(c)),
        (a, c) => a.or(c),
    }
}

/// Whether a run over `input_bytes` of input may keep the memory it frees
/// for its own reuse instead of handing it back to the system between
/// steps: where the room it may take (`memory_room`) is at least four
/// times the input and 2 GiB besides (a run's resident peak was about
/// twice its CSV input: 5.5 GiB at scale 1000). Handed back, freed memory
/// is zeroed page by page by the kernel when it is taken again: a tenth
/// of the run's time at scales 10 and 100. Not where the room is unknown.
pub fn room_to_keep_freed_memory(input_bytes: u64, room: Option<u64>) -> bool {
    room.is_some_and(|room| room >= input_bytes.saturating_mul(4).saturating_add(2 << 30))
}

/// 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// What `hand_back` calls: the binary's allocator's collection, set once by
/// the binary (`on_hand_back`); nothing where none is set (the tests).
static HAND_BACK: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Sets what `hand_back` calls (the binary: mimalloc's `mi_collect(true)`).
pub fn on_hand_back(collect: fn()) {
    let _ = HAND_BACK.set(collect);
}

/// Whether the input is being read (`reading_input`): the binary's
/// allocator keeps the large blocks made meanwhile apart, and hands the
/// freed ones back when the reading ends (`on_input_read`).
static READING_INPUT: AtomicBool = AtomicBool::new(false);

/// What the end of the reading calls, set once by the binary (`on_input_read`).
static INPUT_READ: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Sets what the end of the reading calls (the binary: the freed blocks of
/// the load handed back, see its allocator).
pub fn on_input_read(done: fn()) {
    let _ = INPUT_READ.set(done);
}

/// `read()`, the input being read (`is_reading_input`), then what the
/// binary set for the end of the reading (`on_input_read`), also where
/// `read` panics.
pub fn reading_input<T>(read: impl FnOnce() -> T) -> T {
    /// Ends the reading when dropped.
    struct Reading;
    impl Drop for Reading {
        fn drop(&mut self) {
            READING_INPUT.store(false, Relaxed);
            if let Some(done) = INPUT_READ.get() {
                done();
            }
        }
    }
    READING_INPUT.store(true, Relaxed);
    let _reading = Reading;
    read()
}

/// Whether the input is being read (`reading_input`), on any thread.
pub fn is_reading_input() -> bool {
    READING_INPUT.load(Relaxed)
}

/// Hands the memory freed so far back to the system now, between steps
/// (a piece of a file read, an output table computed), through the
/// allocator's collection the binary set (`on_hand_back`). mimalloc hands
/// freed memory back a little later, and only when a thread next
/// allocates, so memory a table's work freed on Polars' threads could stay
/// unreclaimable while the next table grew: under a 4.5 GiB limit at scale
/// 1000 the run was killed at 23-25 s (4 tries), in the first tables; with
/// this, at 21-39 s (5 tries, 3 past 28 s). The call costs nothing
/// measurable (whole runs 42.8 and 43.4 s against 46.5 and 42.3 s).
pub fn hand_back() {
    if let Some(collect) = HAND_BACK.get() {
        collect();
    }
}
