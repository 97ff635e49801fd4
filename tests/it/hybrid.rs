//! The hybrid meeting pattern and the BDR's target-account numbers, by hand
//! on the fixture (activities.csv, opportunities.csv, accounts.csv).

use polars::prelude::*;

use crate::kpi::{table, tables, tables_of};
use crate::util::{f64s, load, rows, strs, tiny, Dir};

fn get(df: &DataFrame, filter: Expr, c: &str) -> Option<f64> {
    let r = rows(df, filter);
    assert_eq!(r.height(), 1, "{r}");
    f64s(&r, c)[0]
}

#[test]
fn meeting_pattern_by_hand() {
    let d = Dir::copy_of(&tiny());
    // O3 gets a second FS meeting, online and later: in person first, online last
    d.append("activities.csv", "T20,R4,A1,L5,O3,2026-08-20T10:00:00+09:00,online_meeting,held,false,30\n");
    let p = table(&tables(d.path()), "meeting_pattern");
    let at = |period: &str, dim: &str, group: &str, c: &str| {
        get(&p, col("period").eq(lit(period)).and(col("dimension").eq(lit(dim))).and(col("group").eq(lit(group))), c)
    };
    // FS meetings on closed deals: O1 (visit T6, won in Q1), O2 (online T7, lost 15 July),
    // O3 (visit T12 then online T20, won), O5 (visit T14, won), O8 (online T13, won);
    // O6 and O7 had no FS meeting and are left out
    assert_eq!(at("FY2026-Q1", "pattern", "single_in_person", "deals"), Some(1.0));
    assert_eq!(at("FY2026-Q2", "pattern", "single_in_person", "deals"), Some(1.0)); // O5
    assert_eq!(at("FY2026-Q2", "pattern", "in_person_first_only", "deals"), Some(1.0)); // O3
    assert_eq!(at("FY2026-Q2", "pattern", "in_person_first_only", "won"), Some(1.0));
    // O2 lost, O8 won: 1 of 2, Wilson 95% (0.0945, 0.9055)
    assert_eq!(at("FY2026-Q2", "pattern", "single_online", "win_rate"), Some(0.5));
    let low = at("FY2026-Q2", "pattern", "single_online", "win_rate_low").unwrap();
    assert!((low - 0.094_531).abs() < 1e-5, "{low}");
    // an empty group is 0 deals with no rate, never a 0% win rate
    assert_eq!(at("FY2026-Q2", "pattern", "online_first_and_last", "deals"), Some(0.0));
    assert_eq!(at("FY2026-Q2", "pattern", "online_first_and_last", "win_rate"), None);
    // the decision maker was met on O3 (T12), O5 (T14): 2 of 2 won; not on O2, O8
    assert_eq!(at("FY2026-Q2", "dm_met", "true", "won"), Some(2.0));
    assert_eq!(at("FY2026-Q2", "dm_met", "false", "deals"), Some(2.0));
    // all quarters: single in person O1, O5 = 2, both won; mean won amount (1.0M + 600k) / 2
    assert_eq!(at("all", "pattern", "single_in_person", "deals"), Some(2.0));
    assert_eq!(at("all", "pattern", "single_in_person", "mean_won_amount"), Some(800_000.0));
    // their cycles: O1 10 April 15:00 -> 15 June 10:00 = 65 d 19 h; O5 6 July 11:00 -> 25 September 10:00 = 80 d 23 h;
    // the lower median is O1's
    let cycle = at("all", "pattern", "single_in_person", "cycle_days_median").unwrap();
    assert!((cycle - (65.0 + 19.0 / 24.0)).abs() < 1e-9, "{cycle}");
}

/// abm_coverage of the tiny fixture with a second BDR, R7, who also works
/// A3 in Q2 and calls A1 there, setting an appointment with the decision
/// maker, and the activities `more` besides.
fn abm_with_a_second_bdr(more: &str) -> DataFrame {
    let d = Dir::copy_of(&tiny());
    d.append("reps.csv", "R7,Abe,IS,BDR,Kanto,M1\n");
    d.append("activities.csv", &format!("T21,R7,A3,,,2026-07-02T10:00:00+09:00,email,replied,,\nT22,R7,A1,,,2026-07-03T10:00:00+09:00,call,appointment_set,true,15\n{more}"));
    table(&tables(d.path()), "abm_coverage")
}

/// Column `c` of abm_coverage's row for `period` and `rep`.
fn abm_at(a: &DataFrame, period: &str, rep: &str, c: &str) -> Option<f64> {
    get(a, col("period").eq(lit(period)).and(col("rep_id").eq(lit(rep))), c)
}

#[test]
fn abm_coverage_by_hand() {
    let a = abm_with_a_second_bdr("");
    let at = |period: &str, rep: &str, c: &str| abm_at(&a, period, rep, c);
    // target accounts: A1 (true), A3 (yes); A2 and A4 are not
    assert_eq!(at("FY2026-Q1", "all", "target_accounts"), Some(2.0));
    // Q1: only R2 (BDR) worked a target, A3 (T4, T5; T5 connected with the DM);
    // A1 was touched only by the SDR R1: not approached
    assert_eq!((at("FY2026-Q1", "all", "approached"), at("FY2026-Q1", "all", "dm_connected")), (Some(1.0), Some(1.0)));
    assert_eq!(at("FY2026-Q1", "all", "approached_share"), Some(0.5));
    // Q1 opportunities on targets, any source: O1 (A1, 1.0M); R2 approached only A3: none
    assert_eq!((at("FY2026-Q1", "all", "opportunities"), at("FY2026-Q1", "all", "pipeline")), (Some(1.0), Some(1_000_000.0)));
    assert_eq!(at("FY2026-Q1", "R2", "opportunities"), Some(0.0));
    // Q2: A3 by R2 (T10) and R7 (T21), A1 by R7 (T22, an appointment with the DM): all counts 2 distinct accounts
    assert_eq!(at("FY2026-Q2", "all", "approached"), Some(2.0));
    assert_eq!(at("FY2026-Q2", "R2", "approached"), Some(1.0));
    assert_eq!(at("FY2026-Q2", "R7", "approached"), Some(2.0));
    assert_eq!((at("FY2026-Q2", "R7", "appointments"), at("FY2026-Q2", "R7", "dm_connected")), (Some(1.0), Some(1.0)));
    // Q2 opportunities on targets: O3 (A1 2.0M), O7 (A3 400k), O4 (A3 800k), O8 (A1 700k); R7 approached both: 4
    assert_eq!((at("FY2026-Q2", "all", "opportunities"), at("FY2026-Q2", "all", "pipeline")), (Some(4.0), Some(3_900_000.0)));
    assert_eq!(at("FY2026-Q2", "R2", "opportunities"), Some(2.0)); // O7, O4 on A3
    // year to date (FY2026 = Q1 + Q2): distinct accounts approached A3, A1; opportunities 1 + 4
    assert_eq!((at("FY2026-Q2", "all", "approached_ytd"), at("FY2026-Q2", "all", "opportunities_ytd")), (Some(2.0), Some(5.0)));
    assert_eq!(at("FY2026-Q2", "R2", "approached_ytd"), Some(1.0));
    // decision-maker connections over the year: A3 (T5 in Q1, T10 in Q2) and A1 (T22): 2 accounts; appointments: T22 only
    assert_eq!((at("FY2026-Q2", "all", "dm_connected_ytd"), at("FY2026-Q2", "all", "appointments_ytd")), (Some(2.0), Some(1.0)));
    assert_eq!(at("FY2026-Q2", "R7", "appointments_ytd"), Some(1.0));
    assert_eq!(strs(&rows(&a, col("period").eq(lit("FY2026-Q2"))), "rep_id"), vec![Some("all".into()), Some("R2".into()), Some("R7".into())]);
}

/// Year to date starts again with each fiscal year (April): R2's call on
/// the target A1 in March 2026 (FY2025-Q4) counts there, not in FY2026,
/// where A1 is first approached by R7 in Q2; a connection with the decision
/// maker in March does not carry over either.
#[test]
fn abm_year_to_date_starts_again_each_fiscal_year() {
    let a = abm_with_a_second_bdr("T20,R2,A1,,,2026-03-16T10:00:00+09:00,call,connected,true,5\n");
    let at = |period: &str, rep: &str, c: &str| abm_at(&a, period, rep, c);
    // FY2025-Q4: R2 approached A1 and met its decision maker
    assert_eq!((at("FY2025-Q4", "all", "approached_ytd"), at("FY2025-Q4", "all", "dm_connected_ytd")), (Some(1.0), Some(1.0)));
    assert_eq!(at("FY2025-Q4", "R2", "approached_ytd"), Some(1.0));
    // FY2026-Q1: A3 alone (R2's T4, T5 with the decision maker): A1's March call is last year's
    assert_eq!((at("FY2026-Q1", "all", "approached_ytd"), at("FY2026-Q1", "all", "dm_connected_ytd")), (Some(1.0), Some(1.0)));
    assert_eq!(at("FY2026-Q1", "R2", "approached_ytd"), Some(1.0));
    // FY2026-Q2: A3 and A1 (R7's T22), each once; R2 still A3 alone this year
    assert_eq!((at("FY2026-Q2", "all", "approached_ytd"), at("FY2026-Q2", "all", "dm_connected_ytd")), (Some(2.0), Some(2.0)));
    assert_eq!(at("FY2026-Q2", "R2", "approached_ytd"), Some(1.0));
    assert_eq!(at("FY2026-Q2", "R7", "approached_ytd"), Some(2.0));
}

#[test]
fn without_is_target_there_is_no_abm_table() {
    let d = Dir::copy_of(&tiny());
    let text = d.read("accounts.csv").lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect::<Vec<_>>().join("\n") + "\n";
    d.write("accounts.csv", &text);
    let all = tables(d.path());
    assert!(all.iter().all(|(n, _)| n != "abm_coverage"), "not available, never all zeros");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 3, ..proptest::prelude::ProptestConfig::default() })]
    /// On generated histories: the patterns partition the closed deals with
    /// FS meetings (so do dm_met's groups); approached <= target accounts;
    /// year to date >= the quarter.
    #[test]
    fn patterns_partition_and_ytd_dominates(seed in 0u64..1000) {
        let dir = tempfile::tempdir().unwrap();
        salesrelay::generate::generate(dir.path(), 1, seed).unwrap();
        let all = tables(dir.path());
        let p = table(&all, "meeting_pattern");
        let sum = |dim: &str| f64s(&rows(&p, col("period").eq(lit("all")).and(col("dimension").eq(lit(dim)))), "deals").into_iter().flatten().sum::<f64>();
        proptest::prop_assert!(sum("pattern") > 0.0);
        proptest::prop_assert_eq!(sum("pattern"), sum("dm_met"));
        let a = table(&all, "abm_coverage");
        let (appr, targets) = (f64s(&a, "approached"), f64s(&a, "target_accounts"));
        proptest::prop_assert!(appr.iter().zip(&targets).all(|(x, t)| x <= t));
        for (q, y) in [("approached", "approached_ytd"), ("dm_connected", "dm_connected_ytd"), ("appointments", "appointments_ytd"), ("opportunities", "opportunities_ytd")] {
            proptest::prop_assert!(f64s(&a, q).iter().zip(f64s(&a, y)).all(|(q, y)| q <= &y), "{}", q);
        }
    }
}

#[test]
fn the_summary_and_report_give_the_pattern_and_the_target_accounts() {
    let out = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(&crate::util::root(), &["run", "--out", out.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    let pattern = "deals whose first and last FS meetings were in person won 43% (n=242) against 36% online first and last (n=155), all quarters";
    let abm = "target accounts approached by BDRs in FY2026-Q2: 98 of 180 (54%), 47 opportunities created on target accounts";
    assert!(stdout.contains(&format!("  {pattern}\n  {abm}\n")), "{stdout}");
    let md = std::fs::read_to_string(out.path().join("FY2026-Q2/report.md")).unwrap();
    assert!(md.contains("## Meetings and target accounts\n\n- Deals whose first and last FS meetings were in person won 43%"), "{md}");
    // the figures come from the tables
    let p = polars::prelude::ParquetReader::new(std::fs::File::open(out.path().join("FY2026-Q2/tables/meeting_pattern.parquet")).unwrap()).finish().unwrap();
    let r = rows(&p, col("period").eq(lit("all")).and(col("group").eq(lit("in_person_first_and_last"))));
    assert_eq!(f64s(&r, "deals"), vec![Some(242.0)]);
    // the chart's title says the same as the summary line
    let chart = std::fs::read_to_string(out.path().join("FY2026-Q2/charts/meeting_pattern.svg")).unwrap();
    assert!(chart.contains("In person first and last won 43% (n=242), online first and last 36% (n=155)"), "{chart}");
}

/// First and last meeting are by time, whatever the file's order, and a tie
/// in time goes to the smaller activity_id.
#[test]
fn meeting_pattern_orders_by_time_then_activity_id() {
    let d = Dir::copy_of(&tiny());
    // O5 had one visit (T14, 15 July 10:00). Appended after it in the file:
    // an online meeting at the very same time with a smaller id (T09: first)
    d.append("activities.csv", "T09,R5,A2,L10,O5,2026-07-15T10:00:00+09:00,online_meeting,held,false,30\n");
    let p = table(&tables(d.path()), "meeting_pattern");
    let at = |group: &str| get(&p, col("period").eq(lit("FY2026-Q2")).and(col("dimension").eq(lit("pattern"))).and(col("group").eq(lit(group))), "deals");
    // O5 (won, 600k): T09 online then T14 in person (same time, T09 < T14): in person last only
    assert_eq!(at("in_person_last_only"), Some(1.0));
    let o5 = get(&p, col("period").eq(lit("FY2026-Q2")).and(col("group").eq(lit("in_person_last_only"))), "mean_won_amount");
    assert_eq!(o5, Some(600_000.0));

    let d = Dir::copy_of(&tiny());
    // an online meeting a day after T14 but written before it in the file
    let text = std::fs::read_to_string(d.path().join("activities.csv")).unwrap();
    let (header, rest) = text.split_once('\n').unwrap();
    std::fs::write(d.path().join("activities.csv"), format!("{header}\nT31,R5,A2,L10,O5,2026-07-16T10:00:00+09:00,online_meeting,held,false,30\n{rest}")).unwrap();
    let p = table(&tables(d.path()), "meeting_pattern");
    let at = |group: &str| get(&p, col("period").eq(lit("FY2026-Q2")).and(col("dimension").eq(lit("pattern"))).and(col("group").eq(lit(group))), "deals");
    // O5: T14 in person (15 July) then T31 online (16 July): in person first only
    assert_eq!(at("in_person_first_only"), Some(1.0));
    assert_eq!(at("in_person_last_only"), Some(0.0));
}

/// The input columns no output table reads (`UNREAD_COLUMNS`: each a
/// column of the contract's, and of the fixture's) are let go
/// (`Validated::let_go`, what `run` does where no query may read them),
/// and every table is the same as with them: a table reading one would
/// fail to find it.
#[test]
fn columns_no_table_reads_let_go_give_the_same_tables() {
    use salesrelay::validate::UNREAD_COLUMNS;
    let mut v = load(&tiny(), false);
    let with_them = tables_of(&tiny(), &v);
    for (table, column) in UNREAD_COLUMNS {
        let spec = salesrelay::contract::TABLES.iter().find(|t| t.name == table).unwrap_or_else(|| panic!("no table {table}"));
        assert!(spec.column(column).is_some(), "{table}.{column} is not a contract column");
        assert!(v.tables[table].column(column).is_ok(), "the fixture has {table}.{column}");
    }
    let heights: Vec<usize> = UNREAD_COLUMNS.iter().map(|(t, _)| v.tables[*t].height()).collect();
    v.let_go(&UNREAD_COLUMNS);
    for ((table, column), height) in UNREAD_COLUMNS.iter().zip(heights) {
        assert!(v.tables[*table].column(column).is_err(), "{table}.{column} let go");
        assert_eq!(v.tables[*table].height(), height, "{table}: every row kept");
    }
    let without = tables_of(&tiny(), &v);
    assert_eq!(with_them.len(), without.len());
    assert!(with_them.len() > 20, "every table computed: {}", with_them.len());
    for ((name, a), (other, b)) in with_them.iter().zip(&without) {
        assert_eq!(name, other);
        assert!(a.equals_missing(b), "{name}: {a} against {b}");
    }
    // letting go of a column the input left out is no error
    v.let_go(&UNREAD_COLUMNS);
}

/// Keys listed in ascending order are held as their order
/// (`Validated::keys_as_order`, what `run` does where no query may read
/// them), and every
/// table is the same as with their text: ties between a deal's meetings
/// at one time, and between its last room views at one time, still go by id.
#[test]
fn keys_held_as_their_order_give_the_same_tables() {
    let d = Dir::copy_of(&tiny());
    d.pad_activity_ids();
    // O3: its visit T012 (20 July), then an online meeting and a visit at one
    // time (T090, T091): by id the visit is last, so in person first and last
    d.append("activities.csv", "T090,R4,A1,L5,O3,2026-08-20T10:00:00+09:00,online_meeting,held,false,30\nT091,R4,A1,L5,O3,2026-08-20T10:00:00+09:00,visit,held,false,30\n");
    // O2's last views: a proposal and a pricing page at one time (V6, V7): the pricing page by id
    d.append("dsr_views.csv", "V6,O2,L2,contact,proposal,2026-06-01T10:00:00+09:00,40\nV7,O2,L2,contact,pricing,2026-06-01T10:00:00+09:00,50\n");
    let mut v = load(d.path(), false);
    let as_text = tables_of(d.path(), &v);
    v.keys_as_order(&salesrelay::validate::ORDER_ONLY_KEYS).unwrap();
    for (table, key) in salesrelay::validate::ORDER_ONLY_KEYS {
        let held = v.tables[table].column(key).unwrap();
        assert_eq!(held.dtype(), &IDX_DTYPE, "{table}.{key}");
        assert_eq!(held.as_materialized_series().cast(&DataType::Int64).unwrap().i64().unwrap().iter().flatten().collect::<Vec<_>>(), (0..held.len() as i64).collect::<Vec<_>>());
    }
    let as_order = tables_of(d.path(), &v);
    assert_eq!(as_text.len(), as_order.len());
    for ((name, a), (other, b)) in as_text.iter().zip(&as_order) {
        assert_eq!(name, other);
        assert!(a.equals_missing(b), "{name}: {a} against {b}");
    }
    let p = table(&as_order, "meeting_pattern");
    let pattern = |group: &str| get(&p, col("period").eq(lit("FY2026-Q2")).and(col("dimension").eq(lit("pattern"))).and(col("group").eq(lit(group))), "deals");
    assert_eq!(pattern("in_person_first_and_last"), Some(1.0));
    assert_eq!(pattern("in_person_first_only"), Some(0.0));
    let e = rows(&table(&as_order, "dsr_engagement"), col("opportunity_id").eq(lit("O2")));
    assert_eq!(strs(&e, "last_asset"), [Some("pricing".to_string())]);

    // the fixture's own ids, T1 .. T9, T10 ..., are not in ascending order: they stay text
    let mut v = load(&tiny(), false);
    v.keys_as_order(&salesrelay::validate::ORDER_ONLY_KEYS).unwrap();
    assert_eq!(v.tables["activities"].column("activity_id").unwrap().dtype(), &DataType::String);
    assert_eq!(v.tables["dsr_views"].column("view_id").unwrap().dtype(), &IDX_DTYPE);
}
