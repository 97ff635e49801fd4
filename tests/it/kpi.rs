//! The KPI tree on the hand-checked fixture: every node of FY2026-Q2 (and
//! its prior, FY2026-Q1) against values worked out by hand, the LMDI
//! contributions, the zero rules on purpose-built segments, and the
//! identity on the generated sample.
//!
//! Fixture calendar (Asia/Tokyo, fiscal year from April):
//! FY2026-Q1 = 2026-04-01 .. 2026-06-30, FY2026-Q2 = 2026-07-01 .. 2026-09-30.

use polars::prelude::*;
use salesrelay::config::Config;
use salesrelay::industries::Industries;
use salesrelay::metrics::Model;
use salesrelay::metrics::compute_tables;
use salesrelay::prepare::data_span;

use salesrelay::metrics::tree::{NodeKind, NODES};

use crate::util::{load, root, rows, strs, tiny, Dir};

/// All output tables for a folder, by name.
pub fn tables(dir: &std::path::Path) -> Vec<(String, DataFrame)> {
    tables_of(dir, &load(dir, false))
}

/// All output tables of validated input `v` read from `dir`, by name.
pub fn tables_of(dir: &std::path::Path, v: &salesrelay::validate::Validated) -> Vec<(String, DataFrame)> {
    let (config, _) = Config::resolve(None, dir, &Default::default()).unwrap();
    let industries = Industries::load(dir, &config).unwrap();
    let span = data_span(v, &config).unwrap().unwrap();
    let m = Model::new(&config, &v.tables, &v.ids, &industries, span, span.last_complete.unwrap(), &v.unavailable);
    compute_tables(&m).unwrap().into_iter().map(|(d, df)| (d.name.to_string(), df)).collect()
}

pub fn table(all: &[(String, DataFrame)], name: &str) -> DataFrame {
    all.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no table {name}")).1.clone()
}

/// (value, prior_value, change, contribution) of one kpi_tree row against
/// the quarter before.
pub fn node(kpi: &DataFrame, period: &str, kind: &str, segment: &str, node: &str) -> [Option<f64>; 4] {
    node_in(kpi, "prior_quarter", period, kind, segment, node)
}

/// (value, prior_value, change, contribution) of one kpi_tree row in `comparison`.
pub fn node_in(kpi: &DataFrame, comparison: &str, period: &str, kind: &str, segment: &str, node: &str) -> [Option<f64>; 4] {
    let row = kpi
        .clone()
        .lazy()
        .filter(
            col("period")
                .eq(lit(period))
                .and(col("comparison").eq(lit(comparison)))
                .and(col("segment_kind").eq(lit(kind)))
                .and(col("segment").eq(lit(segment)))
                .and(col("node").eq(lit(node))),
        )
        .collect()
        .unwrap();
    assert_eq!(row.height(), 1, "{period} {kind} {segment} {node}");
    let get = |c: &str| row.column(c).unwrap().f64().unwrap().get(0);
    [get("value"), get("prior_value"), get("change"), get("contribution")]
}

fn close(got: Option<f64>, want: f64, what: &str) {
    let g = got.unwrap_or_else(|| panic!("{what}: null, want {want}"));
    assert!((g - want).abs() <= 1e-9 * want.abs().max(1.0), "{what}: got {g}, want {want}");
}

/// kpi_tree's rows of one comparison (`prior_quarter` or `year_ago`).
pub fn compared(df: &DataFrame, comparison: &str) -> DataFrame {
    crate::util::rows(df, col("comparison").eq(lit(comparison.to_string())))
}

/// The fixture's kpi_tree against the quarter before.
fn kpi() -> DataFrame {
    compared(&table(&tables(&tiny()), "kpi_tree"), "prior_quarter")
}

#[test]
fn forty_nodes_for_every_quarter_and_segment() {
    let k = table(&tables(&tiny()), "kpi_tree");
    // 2 quarters x 2 comparisons x (1 total + 3 sources + 10 industries + 2 regions) x 40 nodes
    assert_eq!(k.height(), 2 * 2 * 16 * 40);
    let names: Vec<String> = k.column("node").unwrap().str().unwrap().iter().take(40).map(|s| s.unwrap().to_string()).collect();
    assert_eq!(names.len(), 40);
    assert_eq!(&names[..3], ["revenue", "revenue_is", "revenue_fs"]);
    let schema: Vec<String> = k.get_column_names().iter().map(|s| s.to_string()).collect();
    assert_eq!(
        schema,
        [
            "period", "comparison", "compare_to", "segment_kind", "segment", "node", "parent", "node_kind", "value", "prior_value", "change", "contribution", "unit",
            "open_deals", "mature", "days_covered", "complete"
        ]
    );
}

#[test]
fn every_count_of_the_reviewed_quarter_and_the_one_before() {
    let k = kpi();
    // (node, FY2026-Q2, FY2026-Q1), counted from the fixture files:
    let expected = [
        ("leads", 6.0, 5.0),          // Q2: L5 L6 L7 L8 L9 L11; Q1: L1 L2 L3 L4 L10
        ("leads_inbound", 4.0, 4.0),  // L5 L6 L9 L11; L1 L2 L4 L10
        ("leads_outbound", 2.0, 1.0), // L7 L8; L3
        ("sqls", 5.0, 3.0),           // qualified: L10 (07-02) L5 L6 L7 L9; L1 L2 L3
        ("handoffs", 5.0, 3.0),       // H7 H4 H5 H6 H8; H1 H2 H3
        ("accepted", 5.0, 2.0),       // sent_back H5 counts; H3 rejected
        ("opps_is", 3.0, 2.0),        // O3 O5 O4; O1 O2
        ("opps_fs", 2.0, 1.0),        // O7 O8; O6
        ("wins_is", 2.0, 1.0),        // O3 O5; O1
        ("losses_is", 1.0, 0.0),      // O2 (closed 07-15)
        ("wins_fs", 1.0, 1.0),        // O8; O6
        ("losses_fs", 1.0, 0.0),      // O7
        ("revenue_is", 2_600_000.0, 1_000_000.0), // 2.0M + 0.6M; 1.0M
        ("revenue_fs", 700_000.0, 300_000.0),
        ("revenue", 3_300_000.0, 1_300_000.0),
    ];
    for (n, q2, q1) in expected {
        let [v, p, c, _] = node(&k, "FY2026-Q2", "total", "all", n);
        close(v, q2, n);
        close(p, q1, n);
        close(c, q2 - q1, n);
    }
}

#[test]
fn identity_factors_of_the_reviewed_quarter() {
    let k = kpi();
    let expected = [
        ("sql_rate", 5.0 / 6.0, 3.0 / 5.0),
        ("handoff_rate", 1.0, 1.0),
        ("acceptance_rate", 1.0, 2.0 / 3.0),
        ("win_yield_is", 2.0 / 5.0, 1.0 / 2.0),
        ("deal_size_is", 1_300_000.0, 1_000_000.0),
        ("win_yield_fs", 1.0 / 2.0, 1.0),
        ("deal_size_fs", 700_000.0, 300_000.0),
    ];
    for (n, q2, q1) in expected {
        let [v, p, _, _] = node(&k, "FY2026-Q2", "total", "all", n);
        close(v, q2, n);
        close(p, q1, n);
    }
}

#[test]
fn lmdi_contributions_of_the_total() {
    let k = kpi();
    // revenue_is 1.0M -> 2.6M: L = 1.6M / ln 2.6 = 1,674,495.70...
    let l = 1_600_000.0 / (2.6f64).ln();
    let expected = [
        ("leads", l * (6.0f64 / 5.0).ln()),                            // 305,296.70
        ("sql_rate", l * ((5.0 / 6.0) / 0.6f64).ln()),                 // 550,078.71
        ("handoff_rate", 0.0),
        ("acceptance_rate", l * (1.5f64).ln()),                        // 678,949.66
        ("win_yield_is", l * (0.8f64).ln()),                           // -373,652.96
        ("deal_size_is", l * (1.3f64).ln()),                           // 439,327.89
    ];
    let mut sum = 0.0;
    for (n, want) in expected {
        let c = node(&k, "FY2026-Q2", "total", "all", n)[3];
        close(c, want, n);
        sum += c.unwrap();
    }
    assert!((sum - 1_600_000.0).abs() < 1e-6, "contributions sum to the change: {sum}");
    close(Some(305_296.699886), expected[0].1, "leads by hand");
    // revenue_fs 300k -> 700k: L = 400k / ln(7/3); opps_fs x2 and win_yield_fs x0.5 cancel
    let lf = 400_000.0 / (7.0f64 / 3.0).ln();
    close(node(&k, "FY2026-Q2", "total", "all", "opps_fs")[3], lf * 2f64.ln(), "opps_fs");
    close(node(&k, "FY2026-Q2", "total", "all", "win_yield_fs")[3], -lf * 2f64.ln(), "win_yield_fs");
    close(node(&k, "FY2026-Q2", "total", "all", "deal_size_fs")[3], 400_000.0, "deal_size_fs");
    // children of the additive nodes carry their own change
    close(node(&k, "FY2026-Q2", "total", "all", "revenue_is")[3], 1_600_000.0, "revenue_is");
    close(node(&k, "FY2026-Q2", "total", "all", "revenue_fs")[3], 400_000.0, "revenue_fs");
    close(node(&k, "FY2026-Q2", "total", "all", "leads_outbound")[3], 1.0, "leads_outbound");
    close(node(&k, "FY2026-Q2", "total", "all", "leads_inbound")[3], 0.0, "leads_inbound");
    // the root, counts and indicators have none
    assert_eq!(node(&k, "FY2026-Q2", "total", "all", "revenue")[3], None);
    assert_eq!(node(&k, "FY2026-Q2", "total", "all", "sqls")[3], None);
    assert_eq!(node(&k, "FY2026-Q2", "total", "all", "win_rate")[3], None);
}

#[test]
fn leading_indicators_of_the_reviewed_quarter() {
    let k = kpi();
    let expected = [
        // inbound leads created in Q2: L5 (first IS touch T8 after 2.5 h), L6 (T9 after 30 s), L9, L11 (none)
        ("response_time_median_h", 30.0 / 3600.0, 5.0 / 60.0), // lower median of {30 s, 2.5 h}; Q1 {5 min, 30 min}
        ("contacted_within_1h_share", 1.0 / 4.0, 2.0 / 4.0),
        ("touches_per_lead", 4.0 / 4.0, 5.0 / 3.0),          // T8 T9 T10 T11 over L5 L6 L7 L8; T1-T5 over L1 L2 L3
        ("connect_rate", 2.0 / 3.0, 3.0 / 4.0),              // IS calls T8 T10 T11; T1 T2 T4 T5
        ("dm_connect_rate", 1.0 / 2.0, 1.0 / 2.0),           // BDR calls T10 (dm) T11; T4 T5 (dm)
        ("appointment_rate", 1.0 / 2.0, 1.0 / 3.0),          // T8 of {T8, T10}; T2 of {T1, T2, T5}
        // SLA 2 business days; H7 Fri 10:00 -> Mon 11:00 = 25 h met; H4 Fri 18:00 -> Tue 17:00 = 47 h met;
        // H5 Fri 07-17 10:00 -> Tue 07-21 11:00 = 14 + 0 (Mon 07-20 holiday) + 11 = 25 h met;
        // H6 no contact; H8 Fri 09-04 10:00 -> Wed 09-09 11:00 = 73 h missed
        ("sla_met_rate", 3.0 / 5.0, 1.0 / 2.0),              // Q1: H1 29 h met, H2 71 h missed
        // days to first contact: H7 3d1h, H4 3d23h, H5 4d1h, H8 5d1h -> lower median 3d23h; Q1 H1 1d5h, H2 4d23h
        ("days_to_first_contact_median", 3.0 + 23.0 / 24.0, 1.0 + 5.0 / 24.0),
        ("send_back_rate", 1.0 / 5.0, 0.0),                  // H5 sent back 08-20
        ("pipeline_created_is", 3_400_000.0, 1_500_000.0),   // O3 2.0M + O5 0.6M + O4 0.8M; O1 1.0M + O2 0.5M
        ("pipeline_share_is", 3.4 / 4.5, 1.5 / 1.8),
        ("order_lead_time_days_median", 66.0, 70.0),         // O3: L5 07-06 -> 09-10; O5: L10 06-20 -> 09-25 = 97
        ("sql_to_win", 2.0 / 5.0, 1.0 / 3.0),                // L10 and L5 of the five Q2 SQLs have a win
        ("visits_per_opp", 1.0, 1.0),                        // T12 T13 T14 over O3 O8 O5; T6 T7 over O1 O2
        ("in_person_share", 2.0 / 3.0, 1.0 / 2.0),
        ("win_rate", 3.0 / 5.0, 1.0),
        ("win_rate_amount", 3.3 / 4.2, 1.0),                 // won 3.3M, lost O2 0.5M + O7 0.4M
        // wins: O8 54d, O3 57d17h, O5 80d23h; Q1: O6 50d, O1 65d19h
        ("sales_cycle_days_median", 57.0 + 17.0 / 24.0, 50.0),
    ];
    for (n, q2, q1) in expected {
        let [v, p, _, _] = node(&k, "FY2026-Q2", "total", "all", n);
        close(v, q2, n);
        close(p, q1, &format!("{n} prior"));
    }
}

#[test]
fn the_sla_counts_holidays_as_non_business_days() {
    let d = Dir::copy_of(&tiny());
    d.replace("salesrelay.toml", "holidays = [\"2026-07-20\"]", "holidays = []");
    let k = table(&tables(d.path()), "kpi_tree");
    // without the holiday H5 takes 14 + 24 + 11 = 49 h > 48 h: missed
    close(node(&k, "FY2026-Q2", "total", "all", "sla_met_rate")[0], 2.0 / 5.0, "sla_met_rate");
}

#[test]
fn the_first_quarter_has_no_comparison() {
    let k = kpi();
    let [v, p, c, contribution] = node(&k, "FY2026-Q1", "total", "all", "revenue_is");
    close(v, 1_000_000.0, "revenue_is");
    assert_eq!((p, c, contribution), (None, None, None));
    let first = k.clone().lazy().filter(col("period").eq(lit("FY2026-Q1"))).collect().unwrap();
    assert_eq!(first.column("compare_to").unwrap().null_count(), first.height());
    let second = k.lazy().filter(col("period").eq(lit("FY2026-Q2"))).collect().unwrap();
    assert!(second.column("compare_to").unwrap().str().unwrap().iter().all(|s| s == Some("FY2026-Q1")));
}

#[test]
fn segments_are_attributed_on_themselves() {
    let k = kpi();
    // inbound: revenue_is 1.0M (O1) -> 2.6M (O3, O5); leads 4 -> 4, sql_rate 2/4 -> 4/4,
    // handoff and acceptance 1 -> 1, win_yield 1/2 -> 2/4, deal size 1.0M -> 1.3M
    let l = 1_600_000.0 / (2.6f64).ln();
    close(node(&k, "FY2026-Q2", "source", "inbound", "sql_rate")[0], 1.0, "inbound sql_rate");
    close(node(&k, "FY2026-Q2", "source", "inbound", "sql_rate")[3], l * 2f64.ln(), "inbound sql_rate contribution");
    close(node(&k, "FY2026-Q2", "source", "inbound", "deal_size_is")[3], l * 1.3f64.ln(), "inbound deal size");
    close(node(&k, "FY2026-Q2", "source", "inbound", "leads")[3], 0.0, "inbound leads");
    // Financial Services (A1 "Banking"): 1.0M -> 2.0M; leads 1 -> 2, win_yield 1 -> 1/2, deal 1M -> 2M
    let fsi = "Financial Services and Insurance";
    close(node(&k, "FY2026-Q2", "industry", fsi, "leads")[3], 1_000_000.0, "fsi leads");
    close(node(&k, "FY2026-Q2", "industry", fsi, "win_yield_is")[3], -1_000_000.0, "fsi win yield");
    close(node(&k, "FY2026-Q2", "industry", fsi, "deal_size_is")[3], 1_000_000.0, "fsi deal size");
    // fs_sourced has no leads: leads 0, sql_rate null, and the FS branch as in the total
    close(node(&k, "FY2026-Q2", "source", "fs_sourced", "leads")[0], 0.0, "fs leads");
    assert_eq!(node(&k, "FY2026-Q2", "source", "fs_sourced", "sql_rate")[0], None);
    close(node(&k, "FY2026-Q2", "source", "fs_sourced", "revenue_fs")[0], 700_000.0, "fs revenue");
    // regions: Kanto = A1 + A3
    close(node(&k, "FY2026-Q2", "region", "Kanto", "revenue")[0], 2_700_000.0, "Kanto revenue"); // O3 2.0M + O8 0.7M
}

#[test]
fn zero_rules() {
    let k = kpi();
    // Information and Communications (A2 "Software"): revenue_is 0 in Q1 (O2 lost in Q2)
    // and 600k in Q2 (O5). Zero in Q1, where leads 2, sql_rate 1/2, handoff_rate 1,
    // acceptance 1, win_yield 0/1 = 0: the whole change goes to win_yield_is.
    let ict = "Information and Communications";
    for (n, want) in [("leads", 0.0), ("sql_rate", 0.0), ("handoff_rate", 0.0), ("acceptance_rate", 0.0), ("win_yield_is", 600_000.0), ("deal_size_is", 0.0)] {
        close(node(&k, "FY2026-Q2", "industry", ict, n)[3], want, n);
    }
    // a flow ratio above 1: two SQLs (L10, L6) from one lead created in Q2
    close(node(&k, "FY2026-Q2", "industry", ict, "sql_rate")[0], 2.0, "ict sql_rate");
    // Other services (A4 "Pet Grooming", unmapped): revenue_fs 300k (O6) -> 0; zero in Q2,
    // where opps_fs = 0 is the first zero factor
    for (n, want) in [("opps_fs", -300_000.0), ("win_yield_fs", 0.0), ("deal_size_fs", 0.0)] {
        close(node(&k, "FY2026-Q2", "industry", "Other services", n)[3], want, n);
    }
    // Construction: revenue_is zero in both quarters: every factor 0
    for n in ["leads", "sql_rate", "handoff_rate", "acceptance_rate", "win_yield_is", "deal_size_is"] {
        close(node(&k, "FY2026-Q2", "industry", "Construction", n)[3], 0.0, n);
    }
}

/// The identity and the additivity on every row of the generated sample, in
/// both comparisons (the year-ago pairs are four quarters apart).
#[test]
fn identity_holds_and_contributions_sum_on_sample_data() {
    let k = table(&tables(&root().join("sample_data")), "kpi_tree");
    let wide = k
        .clone()
        .lazy()
        .group_by([col("period"), col("comparison"), col("segment_kind"), col("segment")])
        .agg(
            ["revenue", "revenue_is", "revenue_fs", "leads", "sql_rate", "handoff_rate", "acceptance_rate", "win_yield_is", "deal_size_is", "opps_fs", "win_yield_fs", "deal_size_fs"]
                .iter()
                .map(|n| col("value").filter(col("node").eq(lit(*n))).first().alias(*n))
                .chain(["revenue_is", "revenue_fs"].iter().map(|n| col("change").filter(col("node").eq(lit(*n))).first().alias(format!("{n}_change"))))
                .chain([
                    col("contribution").filter(col("parent").eq(lit("revenue_is")).and(col("node_kind").eq(lit("factor")))).sum().alias("is_sum"),
                    col("contribution").filter(col("parent").eq(lit("revenue_fs")).and(col("node_kind").eq(lit("factor")))).sum().alias("fs_sum"),
                ])
                .collect::<Vec<_>>(),
        )
        .collect()
        .unwrap();
    let g = |c: &str| wide.column(c).unwrap().f64().unwrap().clone();
    let (rev, is, fs) = (g("revenue"), g("revenue_is"), g("revenue_fs"));
    let factors: Vec<_> = ["leads", "sql_rate", "handoff_rate", "acceptance_rate", "win_yield_is", "deal_size_is"].iter().map(|c| g(c)).collect();
    let fs_factors: Vec<_> = ["opps_fs", "win_yield_fs", "deal_size_fs"].iter().map(|c| g(c)).collect();
    let (is_change, fs_change, is_sum, fs_sum) = (g("revenue_is_change"), g("revenue_fs_change"), g("is_sum"), g("fs_sum"));
    let mut checked = 0;
    let year_ago = wide.column("comparison").unwrap().str().unwrap().iter().zip(is_change.iter()).filter(|(c, x)| *c == Some("year_ago") && x.is_some()).count();
    assert!(year_ago > 100, "year-ago changes on {year_ago} rows");
    for i in 0..wide.height() {
        assert!((rev.get(i).unwrap() - is.get(i).unwrap() - fs.get(i).unwrap()).abs() < 1e-6);
        let product: Option<f64> = factors.iter().map(|f| f.get(i)).product();
        if let (Some(p), Some(v)) = (product, is.get(i)) {
            if v > 0.0 {
                assert!((p - v).abs() <= 1e-9 * v, "row {i}: product {p} vs revenue_is {v}");
                checked += 1;
            }
        }
        let product: Option<f64> = fs_factors.iter().map(|f| f.get(i)).product();
        if let (Some(p), Some(v)) = (product, fs.get(i)) {
            if v > 0.0 {
                assert!((p - v).abs() <= 1e-9 * v);
            }
        }
        if let Some(c) = is_change.get(i) {
            assert!((is_sum.get(i).unwrap() - c).abs() <= 1e-9 * c.abs().max(1.0), "row {i}: IS contributions {} vs change {c}", is_sum.get(i).unwrap());
            let c = fs_change.get(i).unwrap();
            assert!((fs_sum.get(i).unwrap() - c).abs() <= 1e-9 * c.abs().max(1.0));
        }
    }
    assert!(checked > 100, "the identity was checked on {checked} rows");
}

/// The fixture with FY2026-Q1 (April-June 2026) moved to FY2025-Q2 (July-
/// September 2025): the reviewed FY2026-Q2 then has the old quarter before
/// it a year earlier, and an empty quarter just before it.
fn a_year_apart() -> Dir {
    let d = Dir::copy_of(&tiny());
    for file in ["leads.csv", "activities.csv", "handoffs.csv", "opportunities.csv", "stage_history.csv", "dsr_views.csv"] {
        let text = d.read(file).replace("2026-04-", "2025-07-").replace("2026-05-", "2025-08-").replace("2026-06-", "2025-09-");
        d.write(file, &text);
    }
    d
}

/// Year-ago rows are computed like prior-quarter rows: on the moved fixture
/// every count, factor and identity of FY2026-Q2 against FY2025-Q2 equals
/// the original's against FY2026-Q1 (checked by hand above), and the
/// quarter before (empty) has revenue 0.
#[test]
fn year_ago_compares_with_the_same_quarter_a_year_earlier() {
    let original = table(&tables(&tiny()), "kpi_tree");
    let moved = table(&tables(a_year_apart().path()), "kpi_tree");
    let year_ago = rows(&moved, col("comparison").eq(lit("year_ago")).and(col("period").eq(lit("FY2026-Q2"))));
    assert!(strs(&year_ago, "compare_to").iter().all(|c| c.as_deref() == Some("FY2025-Q2")));
    let [v, p, c, _] = node_in(&moved, "year_ago", "FY2026-Q2", "total", "all", "revenue");
    assert_eq!((v, p, c), (Some(3_300_000.0), Some(1_300_000.0), Some(2_000_000.0)));
    let segments: Vec<(String, String)> = strs(&year_ago, "segment_kind").into_iter().zip(strs(&year_ago, "segment")).map(|(k, s)| (k.unwrap(), s.unwrap())).collect();
    let mut compared = 0;
    for n in NODES.iter().filter(|n| n.kind != NodeKind::Indicator) {
        for (kind, segment) in segments.iter().filter(|(_, s)| s != "fs_sourced" || !n.name.starts_with("lead")) {
            let want = node(&original, "FY2026-Q2", kind, segment, n.name);
            let got = node_in(&moved, "year_ago", "FY2026-Q2", kind, segment, n.name);
            for (g, w) in got.iter().zip(want) {
                match (g, w) {
                    (Some(g), Some(w)) => assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{kind} {segment} {}: {got:?} vs {want:?}", n.name),
                    _ => assert_eq!(*g, w, "{kind} {segment} {}", n.name),
                }
            }
            compared += 1;
        }
    }
    assert!(compared > 300, "{compared}");
    // against the quarter before, FY2026-Q1, which is now empty
    let [v, p, c, _] = node_in(&moved, "prior_quarter", "FY2026-Q2", "total", "all", "revenue");
    assert_eq!((v, p, c), (Some(3_300_000.0), Some(0.0), Some(3_300_000.0)));
    // the first four quarters have no year-ago comparison, never a zero one
    for q in ["FY2025-Q2", "FY2025-Q3", "FY2025-Q4", "FY2026-Q1"] {
        let [_, p, c, contribution] = node_in(&moved, "year_ago", q, "total", "all", "leads");
        assert_eq!((p, c, contribution), (None, None, None), "{q}");
        let first = rows(&moved, col("comparison").eq(lit("year_ago")).and(col("period").eq(lit(q))));
        assert!(strs(&first, "compare_to").iter().all(Option::is_none), "{q}");
    }
}

/// `[report] compare = "year_ago"`: the bridge and the KPI tree chart are
/// drawn against the same quarter a year before, the movers against it come
/// first; the headline table shows both; the run summary gives both.
#[test]
fn the_report_compares_with_a_year_before_when_asked() {
    let d = a_year_apart();
    let out = tempfile::tempdir().unwrap();
    let args = ["run", "--input", ".", "--out", out.path().to_str().unwrap(), "--queries", "none", "--period", "FY2026-Q2"];
    let o = crate::util::salesrelay(d.path(), &args);
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // against the empty quarter before: nothing to split; a year before: 1.3M -> 3.3M
    assert!(stdout.contains("  revenue 3.3M vs 0 the quarter before: +3.3M\n"), "{stdout}");
    assert!(stdout.contains("  a year before (FY2025-Q2): 1.3M, so +2.0M (+153.8%); moved most by "), "{stdout}");
    let default_md = std::fs::read_to_string(out.path().join("FY2026-Q2/report.md")).unwrap();
    assert!(default_md.contains("| | FY2026-Q2 | FY2026-Q1 | FY2025-Q2 |\n"), "{default_md}");
    assert!(default_md.contains("| Revenue | 3.3M | 0 | 1.3M |\n"), "{default_md}");
    let first_heading = |md: &str| md.lines().find(|l| l.starts_with("Against ")).unwrap_or("").to_string();
    assert_eq!(first_heading(&default_md), "Against FY2026-Q1 (the quarter before):");

    d.append("salesrelay.toml", "\n[report]\ncompare = \"year_ago\"\n");
    let o = crate::util::salesrelay(d.path(), &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let folder = out.path().join("FY2026-Q2");
    let md = std::fs::read_to_string(folder.join("report.md")).unwrap();
    assert_eq!(first_heading(&md), "Against FY2025-Q2 (a year before):");
    assert!(md.contains("## Revenue rose 1.3M to 3.3M: "), "{md}");
    let tree = std::fs::read_to_string(folder.join("charts/kpi_tree.svg")).unwrap();
    assert!(tree.contains("FY2026-Q2: revenue 3.3M (+153.8% vs a year before)"));
    let bridge = std::fs::read_to_string(folder.join("charts/revenue_bridge.svg")).unwrap();
    assert!(bridge.contains("FY2025-Q2") && !bridge.contains("FY2026-Q1"), "the bridge starts from a year before");

    d.replace("salesrelay.toml", "compare = \"year_ago\"", "compare = \"last_year\"");
    let o = crate::util::salesrelay(d.path(), &args);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("compare") && err.contains("prior_quarter") && err.contains("year_ago"), "{err}");
}

/// Each activity's segments (METRICS.md, "Which segment an event belongs
/// to"): its lead's source, else its deal's, else its rep's role's (SDR and
/// AI_SDR inbound, BDR outbound, FS fs_sourced, any other unknown); the
/// industry and region of its own account; the team and role of its rep.
#[test]
fn activity_segments_by_lead_deal_or_role() {
    let d = Dir::copy_of(&tiny());
    d.append(
        "activities.csv",
        "T15,R2,A4,,,2026-08-21T10:00:00+09:00,call,connected,false,5\n\
         T16,R1,A1,,,2026-08-21T11:00:00+09:00,call,connected,false,5\n\
         T17,R6,A2,,,2026-08-21T12:00:00+09:00,call,connected,false,5\n\
         T18,R4,A3,,,2026-08-21T13:00:00+09:00,visit,held,true,60\n\
         T19,R1,A3,,O4,2026-08-21T14:00:00+09:00,call,connected,false,5\n",
    );
    let v = load(d.path(), false);
    let (config, _) = Config::resolve(None, d.path(), &Default::default()).unwrap();
    let industries = Industries::load(d.path(), &config).unwrap();
    let span = data_span(&v, &config).unwrap().unwrap();
    let m = Model::new(&config, &v.tables, &v.ids, &industries, span, span.last_complete.unwrap(), &v.unavailable);
    let acts = salesrelay::metrics::events::activities(&m).unwrap();
    let acts = m.ids.decode(acts.collect().unwrap()).unwrap();
    let accounts = m.ids.decode(salesrelay::metrics::events::accounts(&m).collect().unwrap()).unwrap();
    let industry_of = |account: &str| {
        let ids = strs(&accounts, "account_id");
        let i = ids.iter().position(|a| a.as_deref() == Some(account)).unwrap();
        strs(&accounts, "industry")[i].clone()
    };
    let ids = strs(&acts, "activity_id");
    let of = |id: &str, column: &str| strs(&acts, column)[ids.iter().position(|a| a.as_deref() == Some(id)).unwrap()].clone();
    // (activity, source, team, role, account, region)
    for (id, source, team, role, account, region) in [
        ("T3", "inbound", "is", "ai_sdr", "A2", "Kansai"),  // its lead L2 (written "Inbound")
        ("T13", "fs_sourced", "fs", "fs", "A1", "Kanto"),   // no lead; its deal O8 has none
        ("T15", "outbound", "is", "bdr", "A4", "Kansai"),   // neither: the BDR's
        ("T16", "inbound", "is", "sdr", "A1", "Kanto"),     // neither: the SDR's
        ("T17", "unknown", "cs", "cs", "A2", "Kansai"),     // neither, and a CS rep
        ("T18", "fs_sourced", "fs", "fs", "A3", "Kanto"),   // neither: the FS rep's
        ("T19", "outbound", "is", "sdr", "A3", "Kanto"),    // its deal O4's lead L7, not the SDR's role
    ] {
        assert_eq!(of(id, "source").as_deref(), Some(source), "{id} source");
        assert_eq!(of(id, "team").as_deref(), Some(team), "{id} team");
        assert_eq!(of(id, "role").as_deref(), Some(role), "{id} role");
        assert_eq!(of(id, "region").as_deref(), Some(region), "{id} region");
        assert_eq!(of(id, "industry"), industry_of(account), "{id} industry");
        assert!(of(id, "industry").is_some(), "{id} industry");
    }
    assert_eq!(acts.height(), 19);
}
