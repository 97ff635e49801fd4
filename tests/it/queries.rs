//! queries/: the starter set on the fixture with hand-worked results, the
//! header documentation in the metadata, and broken queries.

use polars::prelude::*;

use crate::util::{f64s, report_table as read, root, salesrelay, strs, tiny, Dir};

fn run_tiny(extra: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    run_tiny_with(&root().join("queries"), extra)
}

/// `run` on the fixture with the queries of folder `queries`.
fn run_tiny_with(queries: &std::path::Path, extra: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    let out = tempfile::tempdir().unwrap();
    let input = tiny();
    let mut args = vec!["run", "--input", input.to_str().unwrap(), "--out", out.path().to_str().unwrap(), "--queries", queries.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = salesrelay(&root(), &args);
    (out, o)
}

#[test]
fn starter_queries_on_the_fixture() {
    let (out, o) = run_tiny(&[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let folder = out.path().join("FY2026-Q2");
    // SQLs in Q2: R1 2 (pipeline 2.0M), R3 2 (0.6M), R2 1
    let board = read(&folder, "is_rep_leaderboard");
    assert_eq!(strs(&board, "rep_id"), ["R1", "R3", "R2"].map(|s| Some(s.to_string())));
    assert_eq!(f64s(&board, "sqls"), [2.0, 2.0, 1.0].map(Some));
    // FSI: O3 visited and won, O8 online only and won: uplift 0; ICT: O5 visited won, O2 online lost: uplift 1
    let mode = read(&folder, "fs_win_rate_by_industry_mode");
    assert_eq!(mode.height(), 10);
    assert_eq!(strs(&mode, "industry")[..2], [Some("Financial Services and Insurance".to_string()), Some("Information and Communications".to_string())]);
    assert_eq!(f64s(&mode, "visit_uplift")[..3], [Some(0.0), Some(1.0), None]);
    // accepted Q2 handoffs that missed the SLA: H6 (never contacted), H8 (121 h)
    let missed = read(&folder, "sla_missed_handoffs");
    assert_eq!(strs(&missed, "handoff_id"), ["H6", "H8"].map(|s| Some(s.to_string())));
    assert_eq!(f64s(&missed, "hours_to_first_contact"), [None, Some(121.0)]);
    assert_eq!(strs(&missed, "opportunity_outcome"), [Some("open".to_string()), None]);
    // Q1 had no losses; Q2: O7 competitor (0.4M), O2 customer (0.5M): one loss each, by name
    let mix = read(&folder, "loss_mix_qoq");
    let q2 = mix.clone().lazy().filter(col("period").eq(lit("FY2026-Q2")).and(col("losses").gt(lit(0)))).collect().unwrap();
    assert_eq!(strs(&q2, "category"), ["competitor", "customer"].map(|s| Some(s.to_string())));
    assert_eq!(f64s(&q2, "share"), [0.5, 0.5].map(Some));
    assert_eq!(mix.height(), 10);
    // the only open deal, O4, never had an FS meeting
    let stale = read(&folder, "stale_open_deals");
    assert_eq!(strs(&stale, "opportunity_id"), [Some("O4".to_string())]);
    assert_eq!(strs(&stale, "account_name"), [Some("Tokai Build".to_string())]);
    assert_eq!(strs(&stale, "last_meeting_at"), [None]);
    // data_end: L11 created 2026-09-30 15:00 JST
    let end = stale.column("data_end").unwrap().as_materialized_series().datetime().unwrap().to_string("%Y-%m-%dT%H:%M:%SZ").unwrap();
    assert_eq!(end.get(0), Some("2026-09-30T06:00:00Z"));
}

#[test]
fn query_headers_document_the_tables() {
    let (out, o) = run_tiny(&[]);
    assert!(o.status.success());
    let mut reader = ParquetReader::new(std::fs::File::open(out.path().join("FY2026-Q2/tables/stale_open_deals.parquet")).unwrap());
    let kv: std::collections::BTreeMap<String, String> = reader
        .get_metadata()
        .unwrap()
        .key_value_metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|k| (k.key, k.value.unwrap_or_default()))
        .collect();
    assert!(kv["salesrelay.description"].starts_with("The 50 largest open deals"), "{kv:?}");
    let cols: serde_json::Value = serde_json::from_str(&kv["salesrelay.columns"]).unwrap();
    assert_eq!(cols["owner_rep_id"], "the FS rep who owns it");
    let doc = salesrelay::sql::parse_header("-- table: t\n-- description: one\n-- two\n-- column a: first\nSELECT 1", "x");
    assert_eq!(doc.name, "t");
    assert_eq!(doc.description, "one two");
    assert_eq!(doc.columns, vec![("a".to_string(), "first".to_string())]);
}

#[test]
fn a_broken_query_is_named_and_does_not_stop_the_others_unless_strict() {
    let d = Dir::copy_of(&tiny());
    let queries = tempfile::tempdir().unwrap();
    std::fs::write(queries.path().join("broken.sql"), "SELECT no_such_column FROM kpi_tree").unwrap();
    std::fs::write(queries.path().join("fine.sql"), "-- description: nodes\nSELECT DISTINCT node FROM kpi_tree").unwrap();
    let out = tempfile::tempdir().unwrap();
    let args = ["run", "--input", ".", "--out", out.path().to_str().unwrap(), "--queries", queries.path().to_str().unwrap()];
    let o = salesrelay(d.path(), &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("broken.sql") && stderr.contains("no_such_column"), "{stderr}");
    assert_eq!(read(&out.path().join("FY2026-Q2"), "fine").height(), 40);
    assert!(!out.path().join("FY2026-Q2/tables/broken.parquet").exists());
    let mut strict = args.to_vec();
    strict.push("--strict");
    let o = salesrelay(d.path(), &strict);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("broken.sql"));
}

#[test]
fn query_command_sees_inputs_outputs_and_review() {
    let d = Dir::copy_of(&tiny());
    std::fs::write(
        d.file("rev.sql"),
        "SELECT t.node, t.value FROM kpi_tree t JOIN review v ON t.period = v.period WHERE t.segment_kind = 'total' AND t.node = 'revenue' AND t.comparison = 'prior_quarter'",
    )
    .unwrap();
    let o = salesrelay(d.path(), &["query", "rev.sql", "--input", ".", "--out", "rev.csv"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(d.read("rev.csv"), "node,value\nrevenue,3300000.0\n");
}

/// `review.data_end` is the end every table reads: the latest event or room view.
#[test]
fn review_data_end_counts_room_views_like_the_engagement_tables() {
    let d = crate::util::Dir::copy_of(&crate::util::tiny());
    d.append("dsr_views.csv", "V6,O4,L7,contact,pricing,2026-10-02T10:00:00+09:00,60\n");
    std::fs::write(d.file("end.sql"), "SELECT data_end FROM review").unwrap();
    let out = d.file("end.csv");
    let o = crate::util::salesrelay(d.path(), &["query", "end.sql", "--input", ".", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("2026-10-02T01:00:00"), "{text}");
}

/// A query that may read activity_id or view_id gets them as given: `run`
/// holds such a key as its rank only where no query may read it.
#[test]
fn a_query_reading_the_ids_sees_their_text() {
    use salesrelay::sql::may_read_column;
    let starter = std::fs::read_to_string(root().join("queries/stale_open_deals.sql")).unwrap();
    assert!(!may_read_column(&starter, "activity_id"), "reads activities, not their ids");
    assert!(may_read_column("SELECT Activity_ID FROM activities", "activity_id"));
    assert!(may_read_column("SELECT a.* FROM activities a", "activity_id"));
    assert!(may_read_column("SELECT *\nFROM dsr_views", "view_id"));
    assert!(!may_read_column("SELECT kind, COUNT( * ) AS n FROM activities GROUP BY kind", "activity_id"));
    assert!(may_read_column("SELECT COUNT(*) * 2 FROM activities", "activity_id"));

    // ascending ids (T001 ...) that a query selects: written as text
    let d = Dir::copy_of(&tiny());
    d.pad_activity_ids();
    let queries = tempfile::tempdir().unwrap();
    std::fs::write(queries.path().join("visits.sql"), "SELECT activity_id FROM activities WHERE kind = 'visit' ORDER BY activity_id").unwrap();
    std::fs::write(queries.path().join("views.sql"), "SELECT * FROM dsr_views ORDER BY view_id LIMIT 2").unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap(), "--queries", queries.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let folder = out.path().join("FY2026-Q2");
    // the fixture's visits: T6, T12, T14
    assert_eq!(strs(&read(&folder, "visits"), "activity_id"), ["T006", "T012", "T014"].map(|s| Some(s.to_string())));
    assert_eq!(strs(&read(&folder, "views"), "view_id"), ["V1", "V2"].map(|s| Some(s.to_string())));
}

/// A query that names an input column no table reads still reads it:
/// `run` lets such a column go only where no query may read it. The
/// fixture's T1 took 5 minutes, T2 12 and T6 60 (activities.csv).
#[test]
fn a_query_reads_an_input_column_no_table_reads() {
    let queries = tempfile::tempdir().unwrap();
    std::fs::write(
        queries.path().join("activity_minutes.sql"),
        "-- minutes of three activities\nSELECT activity_id, duration_min FROM activities WHERE activity_id IN ('T1', 'T2', 'T6') ORDER BY duration_min",
    )
    .unwrap();
    let (out, o) = run_tiny_with(queries.path(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let minutes = read(&out.path().join("FY2026-Q2"), "activity_minutes");
    assert_eq!(strs(&minutes, "activity_id"), ["T1", "T2", "T6"].map(|s| Some(s.to_string())));
    assert_eq!(f64s(&minutes, "duration_min"), [5.0, 12.0, 60.0].map(Some));
}
