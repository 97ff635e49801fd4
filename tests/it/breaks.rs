//! Defects users found, each with the test that would have caught it:
//! a closed stdout, query table names, out-of-range periods, composite keys,
//! files a user added to a report folder, a run killed mid-write and
//! cross-table dates.

use std::process::{Command, Stdio};

use crate::util::{salesrelay, tiny, Dir};

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

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn query_table_names_are_checked_and_never_leave_the_report() {
    let d = Dir::copy_of(&tiny());
    let q = tempfile::tempdir().unwrap();
    for (file, sql) in [
        ("escape.sql", "-- table: ../../x\nSELECT 1 AS one"),
        ("fine.sql", "SELECT 1 AS one"),
        ("fine_again.sql", "-- table: fine\nSELECT 2 AS two"),
        ("quality.sql", "-- table: data_quality\nSELECT 1 AS one"),
        ("slash.sql", "-- table: a/b\nSELECT 1 AS one"),
        ("Upper Case.sql", "SELECT 1 AS one"),
    ] {
        std::fs::write(q.path().join(file), sql).unwrap();
    }
    let qd = q.path().display().to_string();
    let out = tempfile::tempdir().unwrap();
    let reports = out.path().join("reports");
    let args = ["run", "--input", ".", "--out", reports.to_str().unwrap(), "--queries", &qd];
    let o = salesrelay(d.path(), &args);
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let problems = [
        format!("{qd}/Upper Case.sql: table name \"Upper Case\" is not allowed: use lower-case letters, digits and _ only (set it with a `-- table:` line; without one the file name is used)"),
        format!("{qd}/escape.sql: table name \"../../x\" is not allowed: use lower-case letters, digits and _ only (set it with a `-- table:` line; without one the file name is used)"),
        format!("{qd}/fine_again.sql: table name \"fine\" is already written by {qd}/fine.sql; rename one of the queries"),
        format!("{qd}/quality.sql: table name \"data_quality\" is taken by a built-in table; rename the query"),
        format!("{qd}/slash.sql: table name \"a/b\" is not allowed: use lower-case letters, digits and _ only (set it with a `-- table:` line; without one the file name is used)"),
    ];
    for p in &problems {
        assert!(stderr.contains(&format!("query failed (the other outputs are written; --strict stops instead): {p}\n")), "{p} in\n{stderr}");
        assert!(stdout.contains(&format!("  query failed: {p}\n")), "{p} in\n{stdout}");
    }
    // nothing outside the report folder; the one good query and every built-in table written
    let files = files_under(out.path());
    assert!(files.iter().all(|f| f.starts_with("reports/FY2026-Q2/")), "{files:?}");
    let folder = reports.join("FY2026-Q2");
    let read = |t: &str| crate::util::report_table(&folder, t);
    assert_eq!(read("fine").get_column_names(), ["one"]);
    assert!(read("data_quality").get_column_names().iter().any(|c| c.as_str() == "rule"), "the built-in data_quality");
    assert!(folder.join("tables/kpi_tree.parquet").is_file());
    // --strict stops at the first (files run in name order), nothing written
    let strict_out = tempfile::tempdir().unwrap();
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", strict_out.path().to_str().unwrap(), "--queries", &qd, "--strict"]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.ends_with(&format!("error: {}\n", problems[0])), "{stderr}");
    assert_eq!(files_under(strict_out.path()), Vec::<String>::new());
}

#[test]
fn a_period_out_of_range_is_a_configuration_error_naming_the_flag() {
    let d = Dir::copy_of(&tiny());
    let out = tempfile::tempdir().unwrap();
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap(), "--period", "FY999999999-Q1"]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.ends_with("error: configuration: --period \"FY999999999-Q1\" names the year 999999999 outside 1900-2200\n"), "{stderr}");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("FY-"), "no wrapped year");
    assert_eq!(files_under(out.path()), Vec::<String>::new());
    d.write("x.sql", "SELECT * FROM review");
    let o = salesrelay(d.path(), &["query", "x.sql", "--input", ".", "--period", "FY2026-Q5"]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.ends_with("error: configuration: --period \"FY2026-Q5\" names quarter 5; a fiscal year has quarters 1-4\n"), "{stderr}");
    // the edges, and labels that are no quarter at all
    use salesrelay::calendar::Quarter;
    let config = salesrelay::config::Config::default();
    let parse = |s: &str| Quarter::parse(s, &config).map(|q| q.label(&config));
    assert_eq!(parse("FY1900-Q1"), Ok("FY1900-Q1".to_string()));
    assert_eq!(parse("fy2200-q4"), Ok("FY2200-Q4".to_string()));
    assert_eq!(parse("FY1899-Q4"), Err("names the year 1899 outside 1900-2200".to_string()));
    assert_eq!(parse("FY2201-Q1"), Err("names the year 2201 outside 1900-2200".to_string()));
    assert_eq!(parse("FY-5-Q1"), Err("names the year -5 outside 1900-2200".to_string()));
    assert_eq!(parse("FY99999999999999999999-Q1"), Err("names the year 99999999999999999999 outside 1900-2200".to_string()));
    assert_eq!(parse("FY2026-Q0"), Err("names quarter 0; a fiscal year has quarters 1-4".to_string()));
    assert_eq!(parse("FY2026-Q99999999999999999999"), Err("names quarter 99999999999999999999; a fiscal year has quarters 1-4".to_string()));
    for bad in ["2026-Q2", "FY2026Q2", "FY2026-Q", "FYabcd-Q1", ""] {
        assert_eq!(parse(bad), Err("is not a fiscal quarter like FY2026-Q2".to_string()), "{bad:?}");
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    files_under(dir).into_iter().map(|f| {
        let bytes = std::fs::read(dir.join(&f)).unwrap();
        (f, bytes)
    }).collect()
}

/// The names in `dir`, sorted.
fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn files_you_added_to_a_report_survive_a_rerun() {
    let d = Dir::copy_of(&tiny());
    let out = tempfile::tempdir().unwrap();
    let out_s = out.path().to_str().unwrap();
    let queries = tempfile::tempdir().unwrap();
    let run = |with_query: bool| {
        let q = if with_query { queries.path().to_str().unwrap() } else { "none" };
        let o = salesrelay(d.path(), &["run", "--input", ".", "--out", out_s, "--queries", q]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let stdout = run(false);
    assert!(!stdout.contains("kept"), "{stdout}");
    let folder = out.path().join("FY2026-Q2");
    std::fs::write(folder.join("mynotes.txt"), "call Tanaka about O4").unwrap();
    std::fs::create_dir_all(folder.join("notebooks/empty")).unwrap();
    std::fs::write(folder.join("notebooks/analysis.ipynb"), "{\"cells\": []}").unwrap();
    std::fs::write(folder.join("tables/extra.parquet"), "mine, not a query's").unwrap();
    // the rerun writes tables/extra.parquet from a query: the user's file goes beside it
    std::fs::write(queries.path().join("extra.sql"), "SELECT 1 AS one").unwrap();
    let stdout = run(true);
    assert!(
        stdout.ends_with(&format!(
            "  report: {}\n  kept 3 files you added: mynotes.txt, notebooks/analysis.ipynb, tables/extra.parquet (as tables/extra.parquet.kept: the new report writes that name)\n",
            folder.display()
        )),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(folder.join("mynotes.txt")).unwrap(), "call Tanaka about O4");
    assert_eq!(std::fs::read_to_string(folder.join("notebooks/analysis.ipynb")).unwrap(), "{\"cells\": []}");
    assert!(folder.join("notebooks/empty").is_dir());
    assert_eq!(std::fs::read_to_string(folder.join("tables/extra.parquet.kept")).unwrap(), "mine, not a query's");
    assert!(std::fs::metadata(folder.join("tables/extra.parquet")).unwrap().len() > 100, "the query's table");
    // without the query its table goes (the manifest lists it); the user's files stay
    let stdout = run(false);
    assert!(stdout.contains("  kept 3 files you added: mynotes.txt, notebooks/analysis.ipynb, tables/extra.parquet.kept\n"), "{stdout}");
    assert!(!folder.join("tables/extra.parquet").exists());
    assert_eq!(names_in(out.path()), ["FY2026-Q2"], "no temporary folder or lock file is left");
}

#[test]
fn a_failed_rerun_leaves_the_report_and_your_files_as_they_were() {
    let d = Dir::copy_of(&tiny());
    let out = tempfile::tempdir().unwrap();
    let out_s = out.path().to_str().unwrap();
    assert!(salesrelay(d.path(), &["run", "--input", ".", "--out", out_s]).status.success());
    let folder = out.path().join("FY2026-Q2");
    std::fs::write(folder.join("mynotes.txt"), "notes").unwrap();
    std::fs::create_dir_all(folder.join("nb")).unwrap();
    std::fs::write(folder.join("nb/a.ipynb"), "{}").unwrap();
    let before = snapshot(out.path());
    // bad input stops before anything is written; a failing query under --strict too
    let mut bad = Dir::copy_of(&tiny());
    bad.replace("opportunities.csv", ",300000,", ",-3200,");
    assert_eq!(salesrelay(bad.path(), &["run", "--input", ".", "--out", out_s]).status.code(), Some(1));
    bad = Dir::copy_of(&tiny());
    bad.write("broken.sql", "SELECT nothing FROM nowhere_at_all");
    assert_eq!(salesrelay(bad.path(), &["run", "--input", ".", "--out", out_s, "--queries", ".", "--strict"]).status.code(), Some(1));
    assert!(before == snapshot(out.path()), "the report and the files added to it are unchanged");
    assert_eq!(names_in(out.path()), ["FY2026-Q2"]);
}

/// A file of the report's name is the user's: the run stops before any
/// work, saying so, and leaves it and the folder as they were. A file given
/// as --out or --input is named as such; an OS error is said once.
#[test]
fn a_file_where_a_folder_is_expected_is_named_and_left_alone() {
    let d = Dir::copy_of(&tiny());
    let out = tempfile::tempdir().unwrap();
    let out_s = out.path().to_str().unwrap();
    std::fs::write(out.path().join("FY2026-Q2"), "my Q2 notes").unwrap();
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", out_s]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("FY2026-Q2 is a file, not a report folder"), "{stderr}");
    assert_eq!(names_in(out.path()), ["FY2026-Q2"]);
    assert_eq!(std::fs::read_to_string(out.path().join("FY2026-Q2")).unwrap(), "my Q2 notes");
    // --out a file
    let file = out.path().join("FY2026-Q2");
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("is a file, not a folder"), "{stderr}");
    // --input a file
    let o = salesrelay(d.path(), &["validate", "--input", "reps.csv"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--input reps.csv is a file: give the folder that holds the tables"), "{stderr}");
    // an OS error is said once
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", "/proc/version/x"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
}

/// What a run killed between its two renames leaves: the old report aside
/// as `.<name>.previous-<pid>` and no report under its name. The next run
/// puts it back (and so keeps the user's files in it) before replacing it;
/// a live run's folder (its lock held) is left alone.
#[test]
fn leftovers_of_dead_runs_are_recovered_or_cleaned_and_live_ones_left_alone() {
    let d = Dir::copy_of(&tiny());
    let out = tempfile::tempdir().unwrap();
    let previous = out.path().join(".FY2026-Q2.previous-999999");
    std::fs::create_dir_all(&previous).unwrap();
    std::fs::write(previous.join("manifest.json"), "{\"outputs\": [{\"path\": \"tables/old.parquet\"}], \"files\": []}").unwrap();
    std::fs::create_dir_all(previous.join("tables")).unwrap();
    std::fs::write(previous.join("tables/old.parquet"), "an output of the old report").unwrap();
    std::fs::write(previous.join("mynotes.txt"), "mine").unwrap();
    std::fs::write(out.path().join(".FY2026-Q2.tmp-999999.lock"), "").unwrap(); // its lock, no longer held
    std::fs::create_dir_all(out.path().join(".FY2026-Q2.tmp-999997/tables")).unwrap(); // dead, without a lock file
    // a live run: its lock is held (by this test)
    let live_lock = std::fs::File::create(out.path().join(".FY2026-Q2.tmp-999998.lock")).unwrap();
    live_lock.lock().unwrap();
    std::fs::create_dir_all(out.path().join(".FY2026-Q2.tmp-999998/tables")).unwrap();
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("  kept 1 file you added: mynotes.txt\n"));
    assert_eq!(std::fs::read_to_string(out.path().join("FY2026-Q2/mynotes.txt")).unwrap(), "mine");
    assert!(!out.path().join("FY2026-Q2/tables/old.parquet").exists());
    assert_eq!(names_in(out.path()), [".FY2026-Q2.tmp-999998", ".FY2026-Q2.tmp-999998.lock", "FY2026-Q2"]);
    drop(live_lock);
}

/// SIGKILL during `run`, at several moments while a new report of the same
/// quarter is written over an earlier one: the earlier report stays
/// byte-identical, no half-written folder takes its name, and the next run
/// cleans what the killed ones left.
#[cfg(unix)]
#[test]
fn a_run_killed_mid_write_leaves_the_earlier_report_byte_identical() {
    use std::os::unix::process::ExitStatusExt;
    use std::time::{Duration, Instant};
    let started = Instant::now();
    let big = tempfile::tempdir().unwrap();
    let big_s = big.path().to_str().unwrap();
    let o = salesrelay(big.path(), &["generate", "--out", big_s, "--scale", "3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d = Dir::copy_of(&tiny());
    let out = tempfile::tempdir().unwrap();
    let out_s = out.path().to_str().unwrap();
    assert!(salesrelay(d.path(), &["run", "--input", ".", "--out", out_s]).status.success());
    std::fs::write(out.path().join("FY2026-Q2/mynotes.txt"), "mine").unwrap();
    let before = snapshot(&out.path().join("FY2026-Q2"));
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_salesrelay"))
            .current_dir(big.path())
            .args(["run", "--input", ".", "--queries", "none", "--out", out_s])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // killed while loading or computing, then at once and a little after its
    // temporary folder appears (the write stage takes about 0.15 s)
    let mut mid_write = 0;
    for (after_temp, delay_ms) in [(false, 150), (false, 500), (true, 0), (true, 2), (true, 10), (true, 25)] {
        let mut child = spawn();
        let temp = out.path().join(format!(".FY2026-Q2.tmp-{}", child.id()));
        if after_temp {
            let t0 = Instant::now();
            while !temp.exists() {
                assert!(t0.elapsed() < Duration::from_secs(30), "the run never started writing");
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "the run finished before it was killed ({after_temp}, {delay_ms} ms): lower the delays");
        mid_write += temp.exists() as usize;
        assert!(before == snapshot(&out.path().join("FY2026-Q2")), "the earlier report changed (killed {after_temp}, {delay_ms} ms)");
        for name in names_in(out.path()) {
            assert!(name == "FY2026-Q2" || name.starts_with(".FY2026-Q2.tmp-"), "{name}");
        }
    }
    assert!(mid_write >= 1, "no kill landed while the report was being written");
    // the next run replaces the report, keeps the user's file and cleans the leftovers
    let o = salesrelay(big.path(), &["run", "--input", ".", "--queries", "none", "--out", out_s]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("kept 1 file you added: mynotes.txt"));
    assert_eq!(names_in(out.path()), ["FY2026-Q2"]);
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
}
