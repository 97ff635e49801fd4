//! Defects users found, each with the test that would have caught it:
//! a closed stdout, query table names, out-of-range periods, composite keys,
//! files a user added to a report folder, a run killed mid-write and
//! cross-table dates.

use std::process::{Command, Stdio};

use crate::util::{tiny, Dir};

/// Runs the binary with stdout a pipe nobody reads (closed at once, as `|
/// head` does once it has its lines); returns the exit status and stderr.
fn with_stdout_closed(cwd: &std::path::Path, args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_salesrelay"))
        .current_dir(cwd)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run binary");
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("wait");
    (o.status, String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn a_closed_stdout_ends_run_quietly_after_the_report_is_committed() {
    let d = Dir::copy_of(&tiny());
    let out = tempfile::tempdir().unwrap();
    let (status, stderr) = with_stdout_closed(d.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap()]);
    // Rust ignores SIGPIPE, so the write fails with EPIPE instead of killing
    // the process; the summary is dropped and the run ends as its work went
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    assert!(out.path().join("FY2026-Q2/manifest.json").is_file());
}

#[test]
fn a_closed_stdout_ends_query_schema_and_validate_quietly() {
    let d = Dir::copy_of(&tiny());
    d.write("rows.sql", "SELECT * FROM kpi_tree");
    for args in [&["query", "rows.sql", "--input", "."][..], &["schema"], &["metrics"], &["validate", "--input", "."]] {
        let (status, stderr) = with_stdout_closed(d.path(), args);
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // validate still says what is wrong (stderr) and fails when its reader has gone
    d.replace("leads.csv", "L8,A4,", "L8,A99,");
    let (status, stderr) = with_stdout_closed(d.path(), &["validate", "--input", "."]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("leads, column account_id: dangling_reference x 1"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
