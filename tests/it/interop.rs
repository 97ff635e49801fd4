//! The output tables open unchanged in pyarrow, pandas, Polars (Python) and
//! DuckDB (tests/interop/check_tables.py). `.ci/run` installs them into
//! .venv; elsewhere the test is skipped with a printed reason, except under
//! CI, where a missing library is a failure.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{root, salesrelay};

fn python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("SALESRELAY_PYTHON").map(PathBuf::from),
        Some(root().join(".venv/bin/python")),
        Some(PathBuf::from("python3")),
    ];
    candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .args(["-c", "import pyarrow, pandas, polars, duckdb"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    })
}

#[test]
fn every_table_opens_in_pyarrow_pandas_polars_and_duckdb() {
    let Some(python) = python() else {
        let reason = "no Python with pyarrow, pandas, polars and duckdb (set SALESRELAY_PYTHON or run .ci/run)";
        assert!(std::env::var_os("CI").is_none(), "interop libraries missing under CI: {reason}");
        println!("skipped: {reason}");
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let o = salesrelay(&root(), &["run", "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let check = Command::new(&python)
        .arg(root().join("tests/interop/check_tables.py"))
        .arg(out.path().join("FY2026-Q2"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&check.stderr));
    assert!(stdout.contains("checked 33 tables"), "{stdout}");
}

/// reports/example/analysis.ipynb runs (nbclient) against a fresh report and
/// its assertions about the bridge and the visit ratio hold.
#[test]
fn the_example_notebook_runs_against_a_fresh_report() {
    let Some(python) = python().filter(|p| {
        Command::new(p).args(["-c", "import nbclient, nbformat, ipykernel"]).output().map(|o| o.status.success()).unwrap_or(false)
    }) else {
        let reason = "no Python with nbclient, nbformat and ipykernel (run .ci/run)";
        assert!(std::env::var_os("CI").is_none(), "notebook libraries missing under CI: {reason}");
        println!("skipped: {reason}");
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let o = salesrelay(&root(), &["run", "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = Command::new(&python)
        .arg(root().join("tests/interop/run_notebook.py"))
        .arg(root().join("reports/example/analysis.ipynb"))
        .arg(out.path().join("FY2026-Q2"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("executed 3 code cells"), "{stdout}");
}
