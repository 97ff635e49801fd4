//! The binary end to end: exit codes, the report folder, atomic replacement.

use crate::util::{salesrelay, tiny, Dir};

#[test]
fn run_writes_the_report_folder_for_the_last_complete_quarter() {
    let d = Dir::copy_of(&tiny());
    let out = tempfile::tempdir().unwrap();
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("reviewed FY2026-Q2"), "{stdout}");
    let folder = out.path().join("FY2026-Q2");
    assert!(folder.join("tables/data_quality.parquet").is_file());
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(folder.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["period"], "FY2026-Q2");
    let inputs = manifest["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 8);
    let leads = inputs.iter().find(|i| i["table"] == "leads").unwrap();
    assert_eq!(leads["rows_loaded"], 11);
    assert_eq!(leads["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn a_failed_run_leaves_the_previous_report_untouched() {
    let d = Dir::copy_of(&tiny());
    let out = tempfile::tempdir().unwrap();
    let out_s = out.path().to_str().unwrap();
    assert!(salesrelay(d.path(), &["run", "--input", ".", "--out", out_s]).status.success());
    let manifest = out.path().join("FY2026-Q2/manifest.json");
    let before = std::fs::read(&manifest).unwrap();
    d.replace("opportunities.csv", ",300000,", ",-3200,");
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", out_s, "--period", "FY2026-Q2"]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("opportunities, column amount: negative_amount x 1"), "{stderr}");
    assert!(stderr.contains("row 4: \"-3200\""), "{stderr}");
    assert_eq!(std::fs::read(&manifest).unwrap(), before);
    let names: Vec<String> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, vec!["FY2026-Q2".to_string()], "no temporary folders are left behind");
}

#[test]
fn lenient_run_sets_rows_aside_into_data_quality() {
    let d = Dir::copy_of(&tiny());
    d.replace("opportunities.csv", ",300000,", ",-3200,");
    let out = tempfile::tempdir().unwrap();
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap(), "--lenient"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = std::fs::File::open(out.path().join("FY2026-Q2/tables/data_quality.parquet")).unwrap();
    let dq = { use polars::prelude::SerReader; polars::prelude::ParquetReader::new(file).finish().unwrap() };
    assert_eq!(dq.height(), 1);
    assert_eq!(crate::util::strs(&dq, "rule")[0].as_deref(), Some("negative_amount"));
}

#[test]
fn validate_exit_codes() {
    let d = Dir::copy_of(&tiny());
    assert_eq!(salesrelay(d.path(), &["validate", "--input", "."]).status.code(), Some(0));
    d.replace("leads.csv", "L8,A4,", "L8,A99,");
    let o = salesrelay(d.path(), &["validate", "--input", "."]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("leads, column account_id: dangling_reference x 1"));
    assert_eq!(salesrelay(d.path(), &["validate", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(salesrelay(d.path(), &["run", "--period", "FY2026-Q9", "--input", "."]).status.code(), Some(1));
}

#[test]
fn query_runs_sql_over_the_input_tables() {
    let d = Dir::copy_of(&tiny());
    std::fs::write(d.file("wins.sql"), "SELECT owner_rep_id, COUNT(*) AS wins FROM opportunities WHERE outcome = 'won' GROUP BY owner_rep_id ORDER BY owner_rep_id").unwrap();
    let o = salesrelay(d.path(), &["query", "wins.sql", "--input", ".", "--out", "wins.csv"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // O1, O3, O8 won by R4; O5, O6 by R5
    assert_eq!(d.read("wins.csv"), "owner_rep_id,wins\nR4,3\nR5,2\n");
    std::fs::write(d.file("broken.sql"), "SELEC nonsense").unwrap();
    let o = salesrelay(d.path(), &["query", "broken.sql", "--input", "."]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("broken.sql"));
}
