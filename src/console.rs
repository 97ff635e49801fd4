//! What the commands print: results and the run summary on stdout (`say!`),
//! progress and messages on stderr (`tell!`). A reader that goes away is not
//! a failure: with `salesrelay run | head -1` the rest of the summary has
//! nowhere to go, the report is already committed, and the command ends as
//! its work went (status 0 there). `println!` would panic on the closed pipe
//! (exit 101) instead, so the commands print through these.

use std::fmt;
use std::io::{self, Write};

use crate::error::{Error, Result};

/// Writes to stdout. A closed pipe (the reader has gone, as with `| head`)
/// is ignored, so the command finishes as its work went; any other write
/// error (a full disk under `> summary.txt`) is returned, naming stdout.
pub fn out(args: fmt::Arguments) -> Result<()> {
    match io::stdout().lock().write_fmt(args) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::io("stdout", e)),
        _ => Ok(()),
    }
}

/// Writes to stderr; a failure is ignored, as there is nowhere left to say it.
pub fn err(args: fmt::Arguments) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// `println!` to stdout through `console::out`: `say!("{n} rows")?`.
#[macro_export]
macro_rules! say {
    () => { $crate::console::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprintln!` through `console::err`: never panics.
#[macro_export]
macro_rules! tell {
    () => { $crate::console::err(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::err(format_args!("{}\n", format_args!($($arg)*))) };
}
