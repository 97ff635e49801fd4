//! `validate`: check the input against the contract, write nothing.

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::findings::format_findings;
use crate::prepare::{data_span, load_validated, loaded_lines, preamble, stop_on_problems, InputOptions};
use crate::progress::Progress;

/// `validate`: the summary of a clean input (tables loaded, the lines
/// before the findings, the unusual orders of dates). An input with
/// problems is an error carrying the same summary and every problem.
pub fn validate_command(opts: &InputOptions, quiet: bool) -> Result<String> {
    let progress = Progress::new(quiet);
    // nothing is written, so no manifest needs the files' hashes
    let opts = InputOptions { hashes: crate::load::Hashes::Skipped, ..opts.clone() };
    let (config, v) = load_validated(&opts, false, &progress)?;
    let mut summary = String::new();
    for line in loaded_lines(&v, data_span(&v, &config)?, &config) {
        let _ = writeln!(summary, "{line}");
    }
    if v.findings.height() > 0 {
        return Err(match stop_on_problems(&v, Some("`salesrelay run --lenient`"))? {
            Error::Problems { problems, reason, .. } => Error::Problems { summary, problems, reason },
            other => other,
        });
    }
    for line in preamble(&v) {
        let _ = writeln!(summary, "  {line}");
    }
    for line in v.unusual_lines()? {
        let _ = writeln!(summary, "  {line}");
    }
    if v.unusual.height() > 0 {
        summary.push_str(&format_findings(&v.unusual, 3)?);
    }
    summary.push_str("no problems found\n");
    Ok(summary)
}
