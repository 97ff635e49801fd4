//! The binary's edge: parse the command line, run, map errors to exit codes
//! (0 ok, 1 bad input or failure, 2 usage). Output goes through `console`,
//! so a closed stdout (`| head`) never panics.

use std::process::ExitCode;

use clap::Parser;
use salesrelay::cli::{Cli, Command};
use salesrelay::commands::query::query_command;
use salesrelay::commands::run::{run_command, RunOptions};
use salesrelay::commands::validate::validate_command;
use salesrelay::console::out;
use salesrelay::error::Error;

/// Polars allocates and frees many short-lived buffers from several
/// threads; mimalloc hands memory back to the system sooner than glibc's
/// per-thread arenas (README, "Development").
#[global_allocator]
static GLOBAL: Counted = Counted(mimalloc::MiMalloc);

/// mimalloc, reporting what it hands out and takes back while the timings
/// count the live heap (`salesrelay::progress::heap_counted`): the memory a
/// limit cannot take back, beside the resident size.
struct Counted(mimalloc::MiMalloc);

/// `p`, after counting `bytes` more held where it is a block handed out
/// and the heap is counted.
fn counted(p: *mut u8, bytes: i64) -> *mut u8 {
    if !p.is_null() && salesrelay::progress::heap_counted() {
        salesrelay::progress::count_heap(bytes);
    }
    p
}

// SAFETY: every call goes to mimalloc unchanged; the counting only reads
// the sizes given.
unsafe impl std::alloc::GlobalAlloc for Counted {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        counted(unsafe { self.0.alloc(layout) }, layout.size() as i64)
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        counted(unsafe { self.0.alloc_zeroed(layout) }, layout.size() as i64)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { self.0.dealloc(ptr, layout) };
        counted(ptr, -(layout.size() as i64));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        counted(unsafe { self.0.realloc(ptr, layout, new_size) }, new_size as i64 - layout.size() as i64)
    }
}

/// mimalloc's `mi_option_purge_decommits` and `mi_option_allow_thp`
/// (mimalloc.h, v3: `MIMALLOC_VERBOSE=1` lists the options in index order,
/// which a test checks).
const MI_OPTION_PURGE_DECOMMITS: std::os::raw::c_int = 5;
const MI_OPTION_PURGE_DELAY: std::os::raw::c_int = 15;
const MI_OPTION_ALLOW_THP: std::os::raw::c_int = 43;

/// The options `tune_allocator` sets, each unless the user set its
/// variable: (variable, option, value).
const ALLOCATOR_OPTIONS: [(&str, std::os::raw::c_int, std::os::raw::c_long); 3] = [
    ("MIMALLOC_PURGE_DECOMMITS", MI_OPTION_PURGE_DECOMMITS, 0),
    ("MIMALLOC_PURGE_DELAY", MI_OPTION_PURGE_DELAY, 100),
    ("MIMALLOC_ALLOW_THP", MI_OPTION_ALLOW_THP, 0),
];

extern "C" {
    /// mimalloc.h: `void mi_option_set(mi_option_t option, long value)`.
    fn mi_option_set(option: std::os::raw::c_int, value: std::os::raw::c_long);
    /// mimalloc.h: `void mi_collect(bool force)`.
    fn mi_collect(force: bool);
    /// mimalloc.h: `long mi_option_get(mi_option_t option)`.
    #[cfg(test)]
    fn mi_option_get(option: std::os::raw::c_int) -> std::os::raw::c_long;
}

/// The allocator settings the binary runs with (README, "Development"),
/// each unless the user set its `MIMALLOC_...` variable:
/// - memory a table's computing frees is handed back to the system as
///   reclaimable (MADV_FREE, `purge_decommits` 0), not unmapped
///   (MADV_DONTNEED): the kernel takes it the moment another program or a
///   memory limit needs it, and until then the next table reuses it
///   without the kernel zeroing it page by page again (at scale 1000 the
///   zeroing was a fifth to a third of the run's CPU time). The resident
///   size a tool such as `top` shows then includes pages the kernel may
///   take back.
/// - freed memory is handed back 100 ms after it is freed (`purge_delay`;
///   mimalloc v3's default is 1000 ms): a second's worth of a table's
///   freed buffers is more than the margin under a memory cap. At scale
///   1000 the run now completes in 4.5 GiB (killed at 33 s with the
///   default), at no measurable cost in time (47.1-49.6 s against
///   45.4-51.3 s); 10 ms also completed there, 0 was 2-5 s slower.
/// - mimalloc does not ask for transparent huge pages (`allow_thp` 0) for
///   memory it maps from here on: a huge page is zeroed whole when first
///   touched and again when part of it is handed back and reused; at
///   scale 1000 asking for them cost 12-18 s of a 70-93 s run (system
///   time 41-55 s against 29-33 s). The arena mimalloc mapped before
///   `main` keeps them: turning them off for the whole process as well
///   (`prctl(PR_SET_THP_DISABLE)`, what `MIMALLOC_ALLOW_THP=0` does) made
///   validate at scale 1000 slower (29.5-31.2 s against 22.7-25.7 s).
///   The system's own setting still applies (`/sys/kernel/mm/transparent_hugepage`).
fn tune_allocator() {
    for (variable, option, value) in ALLOCATOR_OPTIONS {
        if std::env::var_os(variable).is_none() {
            // SAFETY: mi_option_set only stores an option's value; mimalloc
            // reads these at each purge and each request for memory from
            // the system, so setting them at any time is sound.
            unsafe { mi_option_set(option, value) };
        }
    }
}

/// Where the machine has room for it (`room_to_keep_freed_memory`: four
/// times the input and 2 GiB besides), the memory a run frees stays with
/// it for reuse (`purge_delay` -1: mimalloc purges nothing, not even at
/// `hand_back`), unless the user set `MIMALLOC_PURGE_DELAY`: the kernel
/// then zeroes no page twice (scale 10: 1.63-1.75 s against 1.80-2.05 s,
/// scale 100: 6.9-7.3 s against 7.9-8.6 s; the resident peak 40-70 MiB
/// higher). Under a memory limit the input would crowd, freed memory is
/// handed back 100 ms after (`tune_allocator`).
fn keep_freed_memory(command: &Command) {
    let input = match command {
        Command::Run(a) => &a.input.input,
        Command::Validate(a) => &a.input,
        Command::Query(a) => &a.input.input,
        _ => return,
    };
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    let room = salesrelay::progress::memory_room();
    if salesrelay::progress::room_to_keep_freed_memory(salesrelay::load::input_bytes(input), room) {
        // SAFETY: as in tune_allocator
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
        if salesrelay::progress::timings() {
            salesrelay::tell!("    freed memory kept for reuse ({} MiB of room)", room.unwrap_or(0) >> 20);
        }
    }
}

/// Frees and purges the memory mimalloc holds unused, now
/// (`salesrelay::progress::hand_back` calls it between steps).
fn collect() {
    // SAFETY: mi_collect only frees and purges memory no allocation holds
    unsafe { mi_collect(true) };
}

fn main() -> ExitCode {
    tune_allocator();
    salesrelay::progress::start_heap_count();
    salesrelay::progress::on_hand_back(collect);
    let cli = Cli::parse();
    keep_freed_memory(&cli.command);
    let result: Result<(), Error> = match cli.command {
        Command::Run(a) => run_command(&RunOptions {
            input: a.input.options(),
            out: a.out,
            period: a.period,
            lenient: a.lenient,
            quiet: false,
            queries: a.queries,
            strict: a.strict,
        })
        .and_then(|report| out(format_args!("{}", report.summary))),
        Command::Validate(a) => validate_command(&a.options(), false).and_then(|summary| out(format_args!("{summary}"))),
        Command::Generate(a) => salesrelay::generate::generate(&a.out, a.scale, a.seed).map(|stats| salesrelay::tell!("{stats}")),
        Command::Query(a) => query_command(
            &a.file,
            &a.input.options(),
            a.period.as_deref(),
            a.out.as_deref(),
            false,
        )
        .and_then(|result| if a.out.is_none() { salesrelay::say!("{result}") } else { Ok(()) }),
        Command::Schema(a) => salesrelay::describe::schema(a.table.as_deref()).and_then(|text| out(format_args!("{text}"))),
        Command::ParseFloor(a) => salesrelay::load::parse_floor(&a.input).and_then(|(rows, secs)| salesrelay::say!("{rows} rows in {secs:.3} s")),
        Command::Mapping(a) => out(format_args!("{}", salesrelay::mapping::describe(a.name.as_deref()))),
        Command::Metrics(a) => salesrelay::describe::metrics(a.node.as_deref()).and_then(|text| out(format_args!("{text}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Problems { summary, problems, reason }) => {
            // what was loaded on stdout, the problems then the reason on stderr
            let _ = out(format_args!("{summary}"));
            salesrelay::console::err(format_args!("{problems}"));
            fail(anyhow::Error::from(*reason))
        }
        Err(e) => fail(e.into()),
    }
}

/// Says why the command failed; exit status 1.
fn fail(e: anyhow::Error) -> ExitCode {
    salesrelay::tell!("error: {e:#}");
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With no MIMALLOC_... variable of the user's, each option main sets
    /// (by index: the integration test checks the names) holds main's value
    /// afterwards (purge_decommits 0, purge_delay 100 ms, allow_thp 0), not
    /// mimalloc's default (1, 1000, 1); with one, main leaves the option as
    /// mimalloc read it.
    #[test]
    fn main_sets_purge_decommits_purge_delay_and_huge_pages_unless_the_user_set_them() {
        // SAFETY: mi_option_get only reads an option's value.
        let get = |option| unsafe { mi_option_get(option) };
        let defaults = [1, 1000, 1];
        let before: Vec<_> = ALLOCATOR_OPTIONS.iter().map(|(_, o, _)| get(*o)).collect();
        tune_allocator();
        for (((variable, option, value), before), default) in ALLOCATOR_OPTIONS.iter().zip(before).zip(defaults) {
            if std::env::var_os(variable).is_some() {
                assert_eq!(get(*option), before, "the user's {variable} was overridden");
            } else {
                assert_eq!(before, default, "mimalloc's default for {variable}");
                assert_eq!(get(*option), *value, "{variable}");
            }
        }
        assert_eq!(ALLOCATOR_OPTIONS.map(|(_, _, v)| v), [0, 100, 0]);
    }
}
