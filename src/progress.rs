//! Progress on stderr: a spinner while a stage runs (only on a terminal),
//! and one line per finished stage with its row count and time.

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
            let peak = (memory_kib("VmHWM:") >> 10).max(SEEN_PEAK.swap(0, std::sync::atomic::Ordering::Relaxed));
            crate::tell!("    {} memory: peak {peak} MiB, now {} MiB", self.name, resident_mib());
            // start the next stage's peak from here (Linux: clear_refs 5 resets VmHWM)
            let _ = std::fs::write("/proc/self/clear_refs", "5");
        }
    }
}

/// The highest peak (MiB) seen in this stage before `peak_since` reset it.
static SEEN_PEAK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The peak memory (MiB) since the last call (or the stage's start), then
/// a fresh start for the next: what one step inside a stage (an output
/// table) took at most. The stage's own peak still counts it.
pub fn peak_since() -> u64 {
    let peak = memory_kib("VmHWM:") >> 10;
    SEEN_PEAK.fetch_max(peak, std::sync::atomic::Ordering::Relaxed);
    TIMED_PEAK.fetch_max(peak, std::sync::atomic::Ordering::Relaxed);
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    peak
}

/// The highest peak (MiB) seen inside the innermost `timed` step so far:
/// a step nested in it (an event frame built for a table) resets the
/// kernel's peak, and the outer step's own peak must still count it.
static TIMED_PEAK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// `work()`; with `SALESRELAY_TIMINGS`, also prints "<label>: <seconds>s,
/// peak <MiB> MiB" (the peak from the memory before it) and, where `held`
/// gives the bytes of what it built, ", <MiB> MiB held".
pub fn timed<T>(label: &str, work: impl FnOnce() -> T, held: impl FnOnce(&T) -> Option<usize>) -> T {
    if !timings() {
        return work();
    }
    use std::sync::atomic::Ordering::Relaxed;
    let clock = Instant::now();
    peak_since();
    let outer = TIMED_PEAK.swap(0, Relaxed);
    let out = work();
    let seconds = clock.elapsed().as_secs_f64();
    let peak = peak_since().max(TIMED_PEAK.load(Relaxed));
    TIMED_PEAK.store(outer.max(peak), Relaxed);
    let held = held(&out).map(|bytes| format!(", {} MiB held", bytes >> 20)).unwrap_or_default();
    crate::tell!("{label}: {seconds:.2}s, peak {peak} MiB{held}");
    out
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
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0)
}

/// 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
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
