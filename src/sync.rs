//! Small helpers for the work the crate spreads over threads.

use std::sync::{Mutex, MutexGuard};

/// `m` locked, whether or not a thread panicked holding it (what the
/// crate's mutexes guard is whole between calls).
pub fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The cores the machine gives this process (1 where it cannot be told).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Each of `jobs` on a thread of its own, their results in the jobs'
/// order; a job's panic goes on in the caller.
pub fn on_threads<T: Send, F: FnOnce() -> T + Send>(jobs: impl IntoIterator<Item = F>) -> Vec<T> {
    std::thread::scope(|scope| {
        let threads: Vec<_> = jobs.into_iter().map(|job| scope.spawn(job)).collect();
        threads.into_iter().map(|t| t.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}
