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
/// order; a job's panic goes on in the caller. For jobs that may wait for
/// one another (the compute workers wait for the event frames the other
/// builds); jobs that only compute go to `on_cores`.
pub fn on_threads<T: Send, F: FnOnce() -> T + Send>(jobs: impl IntoIterator<Item = F>) -> Vec<T> {
    std::thread::scope(|scope| {
        let threads: Vec<_> = jobs.into_iter().map(|job| scope.spawn(job)).collect();
        threads.into_iter().map(|t| t.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

/// `on_threads` for jobs that only compute (none waits for another): on
/// Polars' own threads, which a run starts once, rather than on threads
/// of their own started for each call.
pub fn on_cores<T: Send, F: FnOnce() -> T + Send>(jobs: impl IntoIterator<Item = F>) -> Vec<T> {
    let jobs: Vec<F> = jobs.into_iter().collect();
    let slots: Vec<Mutex<Option<T>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    polars_core::runtime::RAYON.scope(|scope| {
        for (job, slot) in jobs.into_iter().zip(&slots) {
            scope.spawn(move |_| *locked(slot) = Some(job()));
        }
    });
    slots.into_iter().map(|slot| slot.into_inner().unwrap_or_else(|p| p.into_inner()).expect("every job ran")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each job's result comes back in the jobs' order, more jobs than cores
    /// included, and a job's panic reaches the caller.
    #[test]
    fn on_cores_keeps_the_jobs_order_and_their_panics() {
        let squares = on_cores((0..37u64).map(|k| move || k * k));
        assert_eq!(squares, (0..37u64).map(|k| k * k).collect::<Vec<_>>());
        let nested = on_cores((0..3usize).map(|k| move || on_cores((0..k).map(|j| move || j)).len()));
        assert_eq!(nested, vec![0, 1, 2]);
        let panicked = std::panic::catch_unwind(|| on_cores((0..4).map(|k| move || if k == 2 { panic!("job 2") } else { k })));
        assert!(panicked.is_err());
    }
}
