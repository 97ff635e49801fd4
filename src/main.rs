//! The binary's edge: parse the command line, run, map errors to exit codes
//! (0 ok, 1 bad input or failure, 2 usage). Output goes through `console`,
//! so a closed stdout (`| head`) never panics.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use salesrelay::cli::{Cli, Command};
use salesrelay::commands::query::query_command;
use salesrelay::commands::run::{run_command, RunOptions};
use salesrelay::commands::validate::validate_command;
use salesrelay::console::out;
use salesrelay::error::Error;

/// Polars allocates and frees many short-lived buffers from several
/// threads: the small ones go to mimalloc, which hands them out per thread
/// without a lock; the large ones (a column's buffer, a hash table), where
/// the run keeps the memory it frees, to glibc's allocator, one heap for
/// every thread (`LARGE`; README, "Development"), except those made while
/// the input is read, which get pages of their own (`load_blocks`).
#[global_allocator]
static GLOBAL: Counted = Counted(mimalloc::MiMalloc);

/// The allocator: mimalloc, and glibc for the blocks of `LARGE` bytes or
/// more where freed memory is kept (`large_blocks`; while the input is
/// read, `load_blocks`), reporting what it
/// hands out and takes back while the timings count the live heap
/// (`salesrelay::progress::heap_counted`): the memory a limit cannot take
/// back, beside the resident size.
struct Counted(mimalloc::MiMalloc);

/// The size from which a block comes from glibc once `large_blocks::keep`
/// has run (on Linux with glibc, where the run keeps the memory it frees).
///
/// In mimalloc's pages (2 MiB huge pages, blocks of every size side by
/// side) a large block freed left room that the next large block, of
/// another size, seldom fitted, so a run kept touching memory it had never
/// used (the resident size about twice the live heap), and on a VM that
/// backs fresh memory slowly the kernel's zeroing of it took most of the
/// system time. glibc's heap puts a freed large block together with its
/// free neighbours and hands the best fit out again. 64 KiB gave the
/// lowest resident peak of the thresholds measured (README, "Development",
/// has the figures).
const LARGE: usize = 64 << 10;

/// Whether new large blocks come from glibc (`large_blocks::keep` sets
/// it, before any thread but main's starts; it is never unset).
static LARGE_FROM_GLIBC: AtomicBool = AtomicBool::new(false);

/// Whether a new block of `size` bytes comes from glibc.
fn from_glibc(size: usize) -> bool {
    size >= LARGE && LARGE_FROM_GLIBC.load(Ordering::Relaxed)
}

/// Whether the block of `size` bytes at `ptr` came from glibc: a large
/// block mimalloc does not own (one handed out before glibc took the large
/// blocks is mimalloc's).
///
/// # Safety
/// `ptr` is a block this allocator handed out.
unsafe fn glibcs(ptr: *mut u8, size: usize) -> bool {
    // SAFETY: mi_is_in_heap_region only looks the address up in mimalloc's page map
    from_glibc(size) && !unsafe { mi_is_in_heap_region(ptr) }
}

/// `p`, after counting `bytes` more held where it is a block handed out
/// and the heap is counted.
fn counted(p: *mut u8, bytes: i64) -> *mut u8 {
    if !p.is_null() && salesrelay::progress::heap_counted() {
        salesrelay::progress::count_heap(bytes);
    }
    p
}

impl Counted {
    /// A block of `layout` from glibc or from mimalloc.
    ///
    /// # Safety
    /// As `GlobalAlloc::alloc`.
    unsafe fn alloc_from(&self, glibc: bool, layout: Layout) -> *mut u8 {
        if glibc {
            unsafe { System.alloc(layout) }
        } else {
            unsafe { self.0.alloc(layout) }
        }
    }

    /// Gives block `ptr` of `layout` back to glibc or to mimalloc.
    ///
    /// # Safety
    /// As `GlobalAlloc::dealloc`, `ptr` from the allocator named.
    unsafe fn free_to(&self, glibc: bool, ptr: *mut u8, layout: Layout) {
        if glibc {
            unsafe { System.dealloc(ptr, layout) }
        } else {
            unsafe { self.0.dealloc(ptr, layout) }
        }
    }
}

// SAFETY: a block goes back to where it came from (`load_blocks::owns`,
// then `glibcs`); a block `realloc` moves from one to another is copied
// into a new block of the other's, then freed. The counting only reads the sizes given.
unsafe impl GlobalAlloc for Counted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let glibc = from_glibc(layout.size());
        if glibc && salesrelay::progress::is_reading_input() {
            let p = load_blocks::alloc(layout);
            if !p.is_null() {
                return counted(p, layout.size() as i64);
            }
        }
        counted(unsafe { self.alloc_from(glibc, layout) }, layout.size() as i64)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = if from_glibc(layout.size()) { unsafe { System.alloc_zeroed(layout) } } else { unsafe { self.0.alloc_zeroed(layout) } };
        counted(p, layout.size() as i64)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if load_blocks::owns(ptr) {
            unsafe { load_blocks::free(ptr, layout) };
        } else {
            unsafe { self.free_to(glibcs(ptr, layout.size()), ptr, layout) };
        }
        counted(ptr, -(layout.size() as i64));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees new_size, rounded up to the alignment, fits an isize
        let moved = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let grown = new_size as i64 - layout.size() as i64;
        if load_blocks::owns(ptr) {
            if load_blocks::fits(layout, moved) {
                return counted(ptr, grown);
            }
        } else if !(from_glibc(new_size) && salesrelay::progress::is_reading_input()) {
            // within one allocator: its own realloc
            match (unsafe { glibcs(ptr, layout.size()) }, from_glibc(new_size)) {
                (false, false) => return counted(unsafe { self.0.realloc(ptr, layout, new_size) }, grown),
                (true, true) => return counted(unsafe { System.realloc(ptr, layout, new_size) }, grown),
                _ => {}
            }
        }
        // from one place to another: a new block where `alloc` puts one, the bytes copied,
        // the old block freed (each counted there)
        let q = unsafe { self.alloc(moved) };
        if !q.is_null() {
            // SAFETY: both blocks hold at least the smaller size and do not overlap
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, q, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        q
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
    /// mimalloc.h: whether `p` is in memory mimalloc manages.
    fn mi_is_in_heap_region(p: *const u8) -> bool;
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
/// `hand_back`, unless the user set `MIMALLOC_PURGE_DELAY`; and glibc's
/// heap takes the large blocks and keeps their pages, `large_blocks::keep`): the kernel
/// then zeroes no page twice (scale 10: 1.63-1.75 s against 1.80-2.05 s,
/// scale 100: 6.9-7.3 s against 7.9-8.6 s; the resident peak 40-70 MiB
/// higher). Under a memory limit the input would crowd, freed memory is
/// handed back 100 ms after (`tune_allocator`), and every block comes
/// from mimalloc.
fn keep_freed_memory(command: &Command) {
    let input = match command {
        Command::Run(a) => &a.input.input,
        Command::Validate(a) => &a.input,
        Command::Query(a) => &a.input.input,
        _ => return,
    };
    let room = salesrelay::progress::memory_room();
    if salesrelay::progress::room_to_keep_freed_memory(salesrelay::load::input_bytes(input), room) {
        large_blocks::keep();
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: as in tune_allocator
            unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
        }
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

/// glibc's allocator, which takes the blocks of `LARGE` bytes or more
/// where the run keeps the memory it frees (`keep`), set up for them: one
/// heap for every thread (`M_ARENA_MAX` 1), nothing handed back
/// (`M_TRIM_THRESHOLD` as high as it goes), so a freed block is joined to
/// its free neighbours and reused, and no block below `MAPPED` mapped on
/// its own (`M_MMAP_THRESHOLD`: glibc unmaps such a block when it is
/// freed, and the kernel zeroes the next one afresh). A block of `MAPPED`
/// or more is mapped on its own and unmapped when freed: one of those (a
/// column of 17M rows at scale 1000) fitted none of the holes the freed
/// pieces of the load left in the heap, so each grew the heap's top
/// instead. The user's `GLIBC_TUNABLES`, where set, stand instead.
/// Under a memory limit every block stays with mimalloc,
/// which hands freed memory back as reclaimable (glibc's heap holds freed
/// blocks as its own: under a 3 GiB cap at scale 1000 the run was killed
/// at 16 s, where with mimalloc alone it completes). The measurements are
/// in README, "Development".
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod large_blocks {
    use std::os::raw::c_int;

    extern "C" {
        /// malloc.h: `int mallopt(int param, int value)`.
        fn mallopt(param: c_int, value: c_int) -> c_int;
        /// malloc.h: the allocator's counts (glibc 2.33 and later).
        fn mallinfo2() -> MallInfo2;
    }

    /// malloc.h's parameters.
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_MMAP_THRESHOLD: c_int = -3;
    const M_ARENA_MAX: c_int = -8;

    /// The size from which glibc maps a block on its own once set up
    /// (`keep`): the largest `M_MMAP_THRESHOLD` glibc takes on 64 bits (a
    /// lower one cost system time for no lower peak; README,
    /// "Development", has the figures).
    pub const MAPPED: usize = 32 << 20;

    /// From now on the large blocks come from glibc, set up for them (see
    /// the module). Called before any thread but main's starts: a thread's
    /// first block from glibc ties it to a heap for good.
    pub fn keep() {
        if std::env::var_os("GLIBC_TUNABLES").is_none() {
            // SAFETY: mallopt only sets a parameter glibc reads on its next call
            unsafe {
                mallopt(M_ARENA_MAX, 1);
                mallopt(M_MMAP_THRESHOLD, MAPPED as c_int);
                mallopt(M_TRIM_THRESHOLD, c_int::MAX);
            }
        }
        super::LARGE_FROM_GLIBC.store(true, std::sync::atomic::Ordering::Relaxed);
        super::load_blocks::reserve();
    }

    /// malloc.h's `struct mallinfo2`: every field, for its layout; two are read.
    #[repr(C)]
    #[allow(dead_code)]
    struct MallInfo2 {
        arena: usize,
        ordblks: usize,
        smblks: usize,
        hblks: usize,
        hblkhd: usize,
        usmblks: usize,
        fsmblks: usize,
        uordblks: usize,
        fordblks: usize,
        keepcost: usize,
    }

    /// What glibc holds now, for the timings: its heap's size and the
    /// blocks mapped on their own (once set up, only blocks of `MAPPED` or
    /// more, and none once they are freed).
    pub fn report() -> Option<String> {
        let (heap, mapped) = held();
        Some(format!(
            "large blocks: glibc's heap {} MiB, {mapped} block(s) mapped on their own, {} MiB of address space for the load's",
            heap >> 20,
            super::load_blocks::used() >> 20
        ))
    }

    /// glibc's heap's size in bytes and the blocks it holds mapped on their own.
    pub fn held() -> (usize, usize) {
        // SAFETY: mallinfo2 only reads the allocator's counts
        let info = unsafe { mallinfo2() };
        (info.arena, info.hblks)
    }
}

/// The large blocks made while the input is read (`salesrelay::progress::
/// reading_input`), where the run keeps the memory it frees: each in
/// pages of its own, apart from glibc's heap, and reused by the next block
/// of its size while the input is read; once it is read, the pages of the
/// freed ones go back to the system at once (`release`) and the blocks
/// still held (the typed tables) keep only theirs.
///
/// In glibc's heap the load's short-lived blocks (the text of each piece
/// of a file, the typing's working columns) lay between the typed pieces
/// it keeps, and left the heap, at the load's end, with holes the tables'
/// larger blocks did not fit: at scale 1000 its heap reached 2.9-3.1 GiB
/// for a live peak of 2.7 GiB, the resident peak 3.2-3.5 GiB. Apart,
/// the heap serves the tables alone (1.3 GiB at the run's end).
///
/// A block's size is rounded up to a power of two (a class, 64 KiB and
/// up), within one range of address space reserved at the start and
/// committed page by page as it is touched; a reused block hands back
/// the pages past what it is asked for.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod load_blocks {
    use std::alloc::Layout;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use memmap2::{MmapMut, MmapOptions, UncheckedAdvice};

    const PAGE: usize = 4096;

    /// The address space reserved: 256 GiB, none of it committed until
    /// touched (`MAP_NORESERVE`). The blocks of one load take a few GiB of
    /// it (freed ones reused); should it run out, blocks come from glibc.
    const RESERVED: usize = 1 << 38;
    /// The smallest class, 64 KiB (`LARGE`: smaller blocks are mimalloc's).
    const SMALLEST: u32 = 16;
    /// Classes up to 2^(16 + 21) bytes (larger blocks come from glibc).
    const CLASSES: usize = 22;
    /// Freed blocks kept for reuse per class while the input is read (more are handed back).
    const SLOTS: usize = 64;

    /// The reserved range (None where the system would not map it).
    static RANGE: std::sync::OnceLock<Option<MmapMut>> = std::sync::OnceLock::new();
    /// Its first address aligned to the smallest class (0 where none is reserved).
    static BASE: AtomicUsize = AtomicUsize::new(0);
    /// How much of the range has been handed out.
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    #[allow(clippy::declare_interior_mutable_const)]
    const NONE: AtomicUsize = AtomicUsize::new(0);
    #[allow(clippy::declare_interior_mutable_const)]
    const NO_SLOTS: [AtomicUsize; SLOTS] = [NONE; SLOTS];
    /// The freed blocks kept for reuse, by class (0: an empty slot).
    static FREE: [[AtomicUsize; SLOTS]; CLASSES] = [NO_SLOTS; CLASSES];

    /// Reserves the range, once (`large_blocks::keep`); without it every
    /// block comes from glibc as before (a system that will not map so much
    /// address space uncommitted, `vm.overcommit_memory` 2).
    pub fn reserve() {
        // one class's alignment more, so every block is aligned to its class's smallest size
        let align = 1usize << SMALLEST;
        // committed page by page as it is touched (`MAP_NORESERVE`)
        if let Some(range) = RANGE.get_or_init(|| MmapOptions::new().len(RESERVED + align).no_reserve_swap().map_anon().ok()) {
            BASE.store((range.as_ptr() as usize).next_multiple_of(align), Ordering::Release);
        }
    }

    /// Hands back the pages of `len` bytes at `at`, a block of ours or its tail: they read
    /// as zeros when next touched.
    fn hand_back(at: usize, len: usize) {
        let Some(Some(range)) = RANGE.get() else { return };
        // SAFETY: the bytes are within the range and no block in use (a free block, or the
        // part of one past what its user asked for): nothing reads them before they are
        // written again
        let _ = unsafe { range.unchecked_advise_range(UncheckedAdvice::DontNeed, at - range.as_ptr() as usize, len) };
    }

    /// The class of a block of `layout`; None for one too large or too strictly aligned.
    fn class(layout: Layout) -> Option<usize> {
        if layout.align() > 1 << SMALLEST {
            return None;
        }
        let bits = layout.size().max(1).next_power_of_two().trailing_zeros().max(SMALLEST);
        let c = (bits - SMALLEST) as usize;
        (c < CLASSES).then_some(c)
    }

    /// The size of class `c`'s blocks.
    fn class_size(c: usize) -> usize {
        1usize << (c as u32 + SMALLEST)
    }

    /// Whether block `ptr` is one of these.
    pub fn owns(ptr: *mut u8) -> bool {
        let base = BASE.load(Ordering::Relaxed);
        base != 0 && (ptr as usize) >= base && (ptr as usize) < base + RESERVED
    }

    /// Whether a block of `old` (one of these) holds `new` as it is.
    pub fn fits(old: Layout, new: Layout) -> bool {
        class(old).is_some() && class(old) == class(new)
    }

    /// A block for `layout`: a freed one of its class, else fresh pages;
    /// null where there is none (no range, too large, the range used up).
    pub fn alloc(layout: Layout) -> *mut u8 {
        let base = BASE.load(Ordering::Acquire);
        let Some(c) = class(layout).filter(|_| base != 0) else { return std::ptr::null_mut() };
        let size = class_size(c);
        for slot in &FREE[c] {
            let p = slot.load(Ordering::Relaxed);
            if p != 0 && slot.compare_exchange(p, 0, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                // the pages past the request handed back, so a held block keeps only its own
                let used = layout.size().next_multiple_of(PAGE);
                if size - used >= 1 << SMALLEST {
                    hand_back(p + used, size - used);
                }
                return p as *mut u8;
            }
        }
        let at = NEXT.fetch_add(size, Ordering::Relaxed);
        if at + size > RESERVED {
            return std::ptr::null_mut();
        }
        (base + at) as *mut u8
    }

    /// Frees block `ptr` of `layout`: kept for reuse while the input is
    /// read (and a slot of its class is free), else its pages handed back.
    ///
    /// # Safety
    /// `ptr` a block of `layout` (or of a layout of its class) from `alloc`, not used again.
    pub unsafe fn free(ptr: *mut u8, layout: Layout) {
        let Some(c) = class(layout) else { return };
        if salesrelay::progress::is_reading_input() {
            for slot in &FREE[c] {
                if slot.compare_exchange(0, ptr as usize, Ordering::Release, Ordering::Relaxed).is_ok() {
                    return;
                }
            }
        }
        // (its address space is not reused)
        hand_back(ptr as usize, class_size(c));
    }

    /// The input is read: the pages of the blocks kept for reuse go back to the system.
    pub fn release() {
        for (c, slots) in FREE.iter().enumerate() {
            for slot in slots {
                let p = slot.swap(0, Ordering::Acquire);
                if p != 0 {
                    // taken out of its slot: its address space is not reused
                    hand_back(p, class_size(c));
                }
            }
        }
    }

    /// The address space handed out so far, in bytes (for the timings).
    pub fn used() -> usize {
        NEXT.load(Ordering::Relaxed)
    }
}

/// Elsewhere no block is kept apart.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod load_blocks {
    use std::alloc::Layout;
    pub fn reserve() {}
    pub fn owns(_: *mut u8) -> bool {
        false
    }
    pub fn fits(_: Layout, _: Layout) -> bool {
        false
    }
    pub fn alloc(_: Layout) -> *mut u8 {
        std::ptr::null_mut()
    }
    /// # Safety
    /// Never called: `owns` is false.
    pub unsafe fn free(_: *mut u8, _: Layout) {}
    pub fn release() {}
    pub fn used() -> usize {
        0
    }
}

/// Elsewhere every block comes from mimalloc: nothing to set up.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod large_blocks {
    pub fn keep() {}
    pub fn report() -> Option<String> {
        None
    }
}

fn main() -> ExitCode {
    tune_allocator();
    salesrelay::progress::start_heap_count();
    salesrelay::progress::on_hand_back(collect);
    salesrelay::progress::on_input_read(load_blocks::release);
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
    if salesrelay::progress::timings() {
        if let Some(line) = large_blocks::report() {
            salesrelay::tell!("    {line}");
        }
    }
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

    /// Once `large_blocks::keep` has run, a block of `LARGE` bytes or more
    /// comes from glibc and a smaller one from mimalloc; a large block
    /// mimalloc handed out before goes back to mimalloc; a block `realloc`
    /// moves from one to the other keeps its bytes, as does a large block
    /// grown. A block of `MAPPED` or more is mapped on its own and unmapped
    /// when freed; one just below comes from the heap. (tests/it/run.rs
    /// checks the set-up on the binary, where `keep` comes before any other
    /// thread's first block.) Then the blocks made while the input is read
    /// (`blocks_made_while_the_input_is_read_...`).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn large_blocks_come_from_glibc_small_ones_from_mimalloc_and_keep_their_bytes_when_moved() {
        let pattern = |n: usize| (0..n).map(|i| (i * 7 % 251) as u8).collect::<Vec<u8>>();
        // SAFETY: every block is asked for with a non-zero size, written and read within
        // its size and freed once with the layout it has
        unsafe {
            // a large block of mimalloc's, from before, freed and moved after
            let early = Layout::from_size_align(2 * LARGE, 8).unwrap();
            let (e, f) = (GLOBAL.alloc(early), GLOBAL.alloc(early));
            assert!(!e.is_null() && mi_is_in_heap_region(e) && mi_is_in_heap_region(f), "before keep: mimalloc's");
            std::ptr::copy_nonoverlapping(pattern(2 * LARGE).as_ptr(), f, 2 * LARGE);
            large_blocks::keep();
            GLOBAL.dealloc(e, early);
            let f = GLOBAL.realloc(f, early, 3 * LARGE);
            assert!(!f.is_null() && !mi_is_in_heap_region(f), "grown after keep: moved to glibc");
            assert_eq!(std::slice::from_raw_parts(f, 2 * LARGE), &pattern(2 * LARGE)[..]);
            GLOBAL.dealloc(f, Layout::from_size_align(3 * LARGE, 8).unwrap());
            let small = Layout::from_size_align(1000, 8).unwrap();
            let p = GLOBAL.alloc(small);
            assert!(!p.is_null() && mi_is_in_heap_region(p), "a small block from mimalloc");
            std::ptr::copy_nonoverlapping(pattern(1000).as_ptr(), p, 1000);
            // up across LARGE: into glibc's heap, the bytes along
            let p = GLOBAL.realloc(p, small, LARGE + 1);
            assert!(!p.is_null() && !mi_is_in_heap_region(p), "moved up to glibc");
            assert_eq!(std::slice::from_raw_parts(p, 1000), &pattern(1000)[..]);
            std::ptr::copy_nonoverlapping(pattern(LARGE + 1).as_ptr(), p, LARGE + 1);
            // down again: back in mimalloc, the first bytes along
            let p = GLOBAL.realloc(p, Layout::from_size_align(LARGE + 1, 8).unwrap(), 300);
            assert!(!p.is_null() && mi_is_in_heap_region(p), "moved down to mimalloc");
            assert_eq!(std::slice::from_raw_parts(p, 300), &pattern(300)[..]);
            GLOBAL.dealloc(p, Layout::from_size_align(300, 8).unwrap());
            // a large block grown within glibc keeps its bytes
            let large = Layout::from_size_align(LARGE, 64).unwrap();
            let q = GLOBAL.alloc_zeroed(large);
            assert!(!q.is_null() && !mi_is_in_heap_region(q), "a large block from glibc");
            assert!(std::slice::from_raw_parts(q, LARGE).iter().all(|b| *b == 0), "zeroed");
            *q.add(LARGE - 1) = 9;
            let q = GLOBAL.realloc(q, large, 4 * LARGE);
            assert_eq!(*q.add(LARGE - 1), 9);
            GLOBAL.dealloc(q, Layout::from_size_align(4 * LARGE, 64).unwrap());
            // from MAPPED up a block of its own, unmapped when freed; below, the heap's
            // (the binary's other test maps no block, so the count moves with these alone)
            let mapped = || large_blocks::held().1;
            let huge = Layout::from_size_align(large_blocks::MAPPED, 64).unwrap();
            let before = mapped();
            let h = GLOBAL.alloc(huge);
            assert!(!h.is_null() && !mi_is_in_heap_region(h), "a block of MAPPED from glibc");
            assert_eq!(mapped(), before + 1, "a block of MAPPED is mapped on its own");
            GLOBAL.dealloc(h, huge);
            assert_eq!(mapped(), before, "and unmapped when freed");
            let below = Layout::from_size_align(large_blocks::MAPPED - 4096, 64).unwrap();
            let b = GLOBAL.alloc(below);
            assert!(!b.is_null() && !mi_is_in_heap_region(b), "a block just below MAPPED from glibc");
            assert_eq!(mapped(), before, "a block below MAPPED comes from the heap");
            GLOBAL.dealloc(b, below);
        }
        blocks_made_while_the_input_is_read_get_pages_of_their_own_and_are_reused_while_it_is();
    }

    /// While the input is read (and the large blocks are kept, `keep`), a
    /// block of `LARGE` bytes or more comes from the load's range, and a
    /// freed one is handed out again for the next of its class; grown
    /// within its class it stays where it is, beyond it moves, its bytes
    /// along either way. A small block stays mimalloc's. Once the input is
    /// read, new large blocks come from glibc. (Run at the end of the test
    /// above: `keep` holds for the process once called, and that test
    /// checks what comes before it.)
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn blocks_made_while_the_input_is_read_get_pages_of_their_own_and_are_reused_while_it_is() {
        let pattern = |n: usize| (0..n).map(|i| (i * 13 % 251) as u8).collect::<Vec<u8>>();
        let layout = |n: usize| Layout::from_size_align(n, 64).unwrap();
        // SAFETY: every block is asked for with a non-zero size, written and read within
        // its size and freed once with the layout it has
        salesrelay::progress::reading_input(|| unsafe {
            let a = GLOBAL.alloc(layout(3 * LARGE));
            assert!(load_blocks::owns(a), "a large block from the load's range");
            std::ptr::copy_nonoverlapping(pattern(3 * LARGE).as_ptr(), a, 3 * LARGE);
            // 3 x 64 KiB is of the 256 KiB class: grown to 4 x 64 KiB it stays
            let b = GLOBAL.realloc(a, layout(3 * LARGE), 4 * LARGE);
            assert_eq!(b, a, "grown within its class: in place");
            assert_eq!(std::slice::from_raw_parts(b, 3 * LARGE), &pattern(3 * LARGE)[..]);
            // beyond its class it moves, its bytes along
            let c = GLOBAL.realloc(b, layout(4 * LARGE), 5 * LARGE);
            assert!(c != b && load_blocks::owns(c), "grown beyond its class: moved within the range");
            assert_eq!(std::slice::from_raw_parts(c, 3 * LARGE), &pattern(3 * LARGE)[..]);
            // a freed 256 KiB block (`a`) is the next one of its class: no new address space
            let used = load_blocks::used();
            let d = GLOBAL.alloc(layout(2 * LARGE + 1));
            assert!(load_blocks::owns(d) && load_blocks::used() == used, "a freed block handed out again");
            let small = GLOBAL.alloc(layout(100));
            assert!(!load_blocks::owns(small) && mi_is_in_heap_region(small), "a small block stays mimalloc's");
            GLOBAL.dealloc(small, layout(100));
            GLOBAL.dealloc(d, layout(2 * LARGE + 1));
            GLOBAL.dealloc(c, layout(5 * LARGE));
        });
        load_blocks::release();
        // SAFETY: as above
        unsafe {
            let e = GLOBAL.alloc(layout(3 * LARGE));
            assert!(!load_blocks::owns(e) && !mi_is_in_heap_region(e), "once the input is read: glibc's");
            GLOBAL.dealloc(e, layout(3 * LARGE));
        }
    }
}
