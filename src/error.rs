//! The library's errors. Only the binary turns them into messages and exit codes.

use std::path::PathBuf;

/// Everything that can stop salesrelay. Input problems found row by row are
/// not errors but findings (see `validate`); `Invalid` carries their count.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad `salesrelay.toml` or command-line value; the text names the key.
    #[error("configuration: {0}")]
    Config(String),
    /// The input has problems (listed by the `Problems` that carries this).
    /// `hint` says what can be done (only where it can help).
    #[error("{count} problem(s) in the input; nothing was written{hint}")]
    Invalid { count: usize, hint: String },
    /// A command stopped on the input's problems: `summary` (what was
    /// loaded, for stdout) and `problems` (the findings grouped, for
    /// stderr) are shown before the reason.
    #[error("{reason}")]
    Problems { summary: String, problems: String, reason: Box<Error> },
    /// A file that cannot be read or written at all. (`err` is not the
    /// error's source: the message says it once, where a source would be
    /// said again after it.)
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    /// Something the input cannot support, e.g. no data to review.
    #[error("{0}")]
    Input(String),
    /// Polars failed; this is a bug or an unexpected input shape.
    #[error("data engine: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, err: std::io::Error) -> Error {
        Error::Io { path: path.into(), err }
    }
}

/// Result with the library's error.
pub type Result<T> = std::result::Result<T, Error>;
