//! The plan: targets validated like every table, plan_vs_actual and
//! required_volumes by hand on the fixture (kpi.rs has its actuals), the
//! round trip of the reverse funnel on generated data.

use polars::prelude::*;

use crate::kpi::{table, tables};
use crate::util::{f64s, findings, load, rows, strs, tiny, Dir};

/// The fixture's FY2026-Q2 actuals (kpi.rs): revenue 3.3M = IS 2.6M (6 leads
/// x 5/6 x 1 x 1 x 0.4 x 1.3M) + FS 0.7M (2 x 0.5 x 700k). The plan: 3.0M =
/// 2.4M (6 x 0.5 x 1 x 0.8 x 0.5 x 2.0M) + 0.6M (2 x 0.5 x 600k).
const TARGETS: &str = "period,segment_kind,segment,node,target
FY2026-Q2,total,all,revenue,3000000
FY2026-Q2,total,all,revenue_is,2400000
FY2026-Q2,total,all,revenue_fs,600000
FY2026-Q2,total,all,leads,6
FY2026-Q2,total,all,sql_rate,0.5
FY2026-Q2,total,all,handoff_rate,1
FY2026-Q2,total,all,acceptance_rate,0.8
FY2026-Q2,total,all,win_yield_is,0.5
FY2026-Q2,total,all,deal_size_is,2000000
FY2026-Q2,total,all,opps_fs,2
FY2026-Q2,total,all,win_yield_fs,0.5
FY2026-Q2,total,all,deal_size_fs,600000
FY2026-Q2,source,inbound,revenue,2000000
FY2026-Q2,region,Mars,revenue,100
FY2026-Q3,total,all,revenue,4000000
";

fn planned() -> Dir {
    let d = Dir::copy_of(&tiny());
    d.write("targets.csv", TARGETS);
    d
}

/// One row of `df` where `node` (and `segment`, `period`) match.
fn row(df: &DataFrame, period: &str, segment: &str, node: &str) -> DataFrame {
    let r = rows(df, col("period").eq(lit(period)).and(col("segment").eq(lit(segment))).and(col("node").eq(lit(node))));
    assert_eq!(r.height(), 1, "{period} {segment} {node}");
    r
}

fn one(df: &DataFrame, c: &str) -> Option<f64> {
    f64s(df, c)[0]
}

fn close(got: Option<f64>, want: f64, what: &str) {
    let g = got.unwrap_or_else(|| panic!("{what}: null, want {want}"));
    assert!((g - want).abs() <= 1e-9 * want.abs().max(1.0), "{what}: got {g}, want {want}");
}

#[test]
fn plan_vs_actual_by_hand() {
    let p = table(&tables(planned().path()), "plan_vs_actual");
    assert_eq!(p.height(), 15);
    let r = row(&p, "FY2026-Q2", "all", "revenue");
    assert_eq!((one(&r, "target"), one(&r, "actual"), one(&r, "gap"), one(&r, "contribution")), (Some(3e6), Some(3.3e6), Some(300_000.0), None));
    close(one(&r, "attainment"), 1.1, "attainment");
    // revenue = IS + FS: each branch carries its own gap
    close(one(&row(&p, "FY2026-Q2", "all", "revenue_is"), "contribution"), 200_000.0, "revenue_is");
    close(one(&row(&p, "FY2026-Q2", "all", "revenue_fs"), "contribution"), 100_000.0, "revenue_fs");
    // IS factors: L(2.6M, 2.4M) x ln(actual / target)
    let l = 200_000.0 / (2.6f64 / 2.4).ln();
    for (node, actual, target) in [
        ("leads", 6.0f64, 6.0f64),
        ("sql_rate", 5.0 / 6.0, 0.5),
        ("handoff_rate", 1.0, 1.0),
        ("acceptance_rate", 1.0, 0.8),
        ("win_yield_is", 0.4, 0.5),
        ("deal_size_is", 1.3e6, 2.0e6),
    ] {
        let r = row(&p, "FY2026-Q2", "all", node);
        close(one(&r, "contribution"), l * (actual / target).ln(), node);
        close(one(&r, "gap"), actual - target, node);
    }
    // FS: only deal size moved, so it carries the whole 100k
    close(one(&row(&p, "FY2026-Q2", "all", "deal_size_fs"), "contribution"), 100_000.0, "deal_size_fs");
    close(one(&row(&p, "FY2026-Q2", "all", "opps_fs"), "contribution"), 0.0, "opps_fs");
    // the IS contributions add up to the IS gap exactly
    let is: f64 = ["leads", "sql_rate", "handoff_rate", "acceptance_rate", "win_yield_is", "deal_size_is"]
        .iter()
        .map(|n| one(&row(&p, "FY2026-Q2", "all", n), "contribution").unwrap())
        .sum();
    close(Some(is), 200_000.0, "IS contributions");
    // a segment target without factor targets: attainment, no decomposition
    let r = row(&p, "FY2026-Q2", "inbound", "revenue");
    assert_eq!((one(&r, "actual"), one(&r, "contribution")), (Some(2.6e6), None));
    close(one(&r, "attainment"), 1.3, "inbound attainment");
    // no actual: said why, never 0
    let mars = row(&p, "FY2026-Q2", "Mars", "revenue");
    assert_eq!(one(&mars, "actual"), None);
    assert!(strs(&mars, "note")[0].as_deref().unwrap().starts_with("no such segment in the data"));
    let q3 = row(&p, "FY2026-Q3", "all", "revenue");
    assert_eq!((one(&q3, "actual"), one(&q3, "attainment")), (None, None));
    assert_eq!(strs(&q3, "note")[0].as_deref(), Some("the quarter is after the data: no actual yet"));
}

#[test]
fn a_plan_whose_factors_do_not_make_its_target_is_not_decomposed() {
    let d = planned();
    d.replace("targets.csv", "FY2026-Q2,total,all,deal_size_is,2000000", "FY2026-Q2,total,all,deal_size_is,2100000");
    let p = table(&tables(d.path()), "plan_vs_actual");
    for node in ["leads", "sql_rate", "deal_size_is"] {
        assert_eq!(one(&row(&p, "FY2026-Q2", "all", node), "contribution"), None, "{node}");
    }
    // the FS branch still adds up
    close(one(&row(&p, "FY2026-Q2", "all", "deal_size_fs"), "contribution"), 100_000.0, "deal_size_fs");
}

#[test]
fn required_volumes_by_hand_and_back() {
    let r = table(&tables(planned().path()), "required_volumes");
    // FY2026-Q3: 4.0M at the pooled rates of FY2026-Q1..Q2: FS share 1.0M / 4.6M,
    // IS deal size 3.6M / 3, win yield 3 / 7, acceptance 7 / 8, handoff rate 8 / 8, SQL rate 8 / 11
    let fs = 4.0e6 * 1.0 / 4.6;
    let is = 4.0e6 - fs;
    let wins = is / 1.2e6;
    let accepted = wins / (3.0 / 7.0);
    let handoffs = accepted / (7.0 / 8.0);
    let sqls = handoffs;
    let leads = sqls / (8.0 / 11.0);
    for (node, want) in [("revenue", 4.0e6), ("revenue_fs", fs), ("revenue_is", is), ("wins_is", wins), ("accepted", accepted), ("handoffs", handoffs), ("sqls", sqls), ("leads", leads)] {
        close(one(&row(&r, "FY2026-Q3", "all", node), "required"), want, node);
    }
    // FS: deal size 1.0M / 2, win yield 2 / 3, meetings per opportunity 5 / 5
    close(one(&row(&r, "FY2026-Q3", "all", "opps_fs"), "required"), fs / 500_000.0 / (2.0 / 3.0), "opps_fs");
    assert_eq!(strs(&row(&r, "FY2026-Q3", "all", "leads"), "rate_basis")[0].as_deref(), Some("SQL rate 0.7273 = sqls 8 / leads 11, FY2026-Q1..FY2026-Q2"));
    // the reviewed quarter uses revenue_fs's own target, and shows what was delivered
    let fs_q2 = row(&r, "FY2026-Q2", "all", "revenue_fs");
    assert_eq!((one(&fs_q2, "required"), one(&fs_q2, "actual_to_date")), (Some(600_000.0), Some(700_000.0)));
    assert_eq!(one(&row(&r, "FY2026-Q3", "all", "leads"), "actual_to_date"), None);
    // an inbound target needs nothing from the FS branch
    assert_eq!(one(&row(&r, "FY2026-Q2", "inbound", "opps_fs"), "required"), Some(0.0));
}

#[test]
fn bad_targets_are_named_by_row_and_column() {
    let d = planned();
    d.append(
        "targets.csv",
        "2026-Q4,total,all,revenue,1\nFY2026-Q4,total,all,revenu,1\nFY2026-Q4,source,direct,revenue,1\nFY2026-Q4,total,all,leads,-5\nFY2026-Q4,total,all,win_rate,35\nFY2026-Q4,total,all,sql_rate,1.4\nFY2026-Q3,total,all,revenue,5000000\n",
    );
    let v = load(d.path(), false);
    let got: Vec<(Option<i64>, Option<String>, String)> = findings(&v).into_iter().filter(|f| f.0 == "targets").map(|f| (f.1, f.2, f.3)).collect();
    let want = [
        (Some(17), Some("period"), "not_a_quarter"),
        (Some(18), Some("node"), "unknown_node"),
        (Some(19), Some("segment"), "unknown_segment"),
        (Some(20), Some("target"), "negative_value"),
        (Some(21), Some("target"), "out_of_range"),
    ];
    for (row, column, rule) in want {
        assert!(got.iter().any(|g| g.0 == row && g.1.as_deref() == column && g.2 == rule), "{row:?} {column:?} {rule} in {got:?}");
    }
    // a flow ratio may exceed 1; the repeated FY2026-Q3 revenue is a duplicate key named in full
    assert!(!got.iter().any(|g| g.0 == Some(22)), "{got:?}");
    assert!(got.iter().any(|g| g.2 == "duplicate_key" && g.1.as_deref() == Some("period + segment_kind + segment + node")), "{got:?}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 3, ..proptest::prelude::ProptestConfig::default() })]
    /// On generated histories: required leads multiplied back through the
    /// pooled rates give the IS-sourced target, and plan contributions add up
    /// to the gap, within 1e-9.
    #[test]
    fn the_reverse_funnel_round_trips_and_plan_contributions_sum_to_the_gap(seed in 0u64..1000) {
        let dir = tempfile::tempdir().unwrap();
        salesrelay::generate::generate(dir.path(), 1, seed).unwrap();
        let all = tables(dir.path());
        let r = table(&all, "required_volumes");
        proptest::prop_assert!(r.height() > 0);
        let total = rows(&r, col("segment_kind").eq(lit("total")));
        let periods: std::collections::BTreeSet<String> = strs(&total, "period").into_iter().flatten().collect();
        for p in periods {
            let get = |n: &str| one(&row(&r, &p, "all", n), "required").unwrap();
            let rate = |n: &str| {
                let basis = strs(&row(&r, &p, "all", n), "rate_basis")[0].clone().unwrap();
                // "SQL rate 0.7273 = sqls 8 / leads 11, ...": the exact rate is numerator / denominator
                let nums: Vec<f64> = basis.split(" = ").nth(1).unwrap().split(',').next().unwrap().split(" / ").map(|x| x.rsplit(' ').next().unwrap().parse().unwrap()).collect();
                nums[0] / nums[1]
            };
            let back = get("leads") * rate("leads") * rate("sqls") * rate("handoffs") * rate("accepted") * rate("wins_is");
            proptest::prop_assert!((back - get("revenue_is")).abs() <= 1e-9 * get("revenue_is"), "{} vs {}", back, get("revenue_is"));
        }
        let pva = table(&all, "plan_vs_actual");
        let sums = pva.clone().lazy()
            .filter(col("contribution").is_not_null().and(col("node").is_in(salesrelay::typing::str_list(&["leads", "sql_rate", "handoff_rate", "acceptance_rate", "win_yield_is", "deal_size_is"]), false)))
            .group_by([col("period"), col("segment_kind"), col("segment")])
            .agg([col("contribution").sum().alias("s"), len().alias("n")])
            .collect().unwrap();
        proptest::prop_assert!(sums.height() > 0, "some IS gaps are decomposed");
        for i in 0..sums.height() {
            let (p, k, s) = (strs(&sums, "period")[i].clone().unwrap(), strs(&sums, "segment_kind")[i].clone().unwrap(), strs(&sums, "segment")[i].clone().unwrap());
            let gap = one(&rows(&pva, col("period").eq(lit(p)).and(col("segment_kind").eq(lit(k))).and(col("segment").eq(lit(s))).and(col("node").eq(lit("revenue_is")))), "gap").unwrap();
            let sum = f64s(&sums, "s")[i].unwrap();
            proptest::prop_assert!((sum - gap).abs() <= 1e-9 * gap.abs().max(1.0), "{} vs {}", sum, gap);
        }
    }
}

#[test]
fn pipeline_coverage_by_hand() {
    let d = planned();
    // expected_close_at for deals without stage history
    let opps = d.read("opportunities.csv");
    let mut lines: Vec<String> = opps.lines().map(|l| format!("{l},")).collect();
    lines[0] = lines[0].replace("competitor,", "competitor,expected_close_at");
    lines.push("O9,A2,,R5,2026-09-01T10:00:00+09:00,300000,Proposal,,open,,,,".into());
    lines.push("O10,A2,,R5,2026-09-02T10:00:00+09:00,250000,Qualification,,open,,,,".into());
    lines.push("O11,A1,,R4,2026-09-03T10:00:00+09:00,200000,Qualification,,open,,,,2027-02-10".into());
    d.write("opportunities.csv", &(lines.join("\n") + "\n"));
    // O4 was pushed out from 30 September to 30 November (stage history); O9 pulled in from January to December
    d.append("stage_history.csv", "O9,Qualification,2026-09-01T10:00:00+09:00,300000,2027-01-15\nO9,Proposal,2026-09-20T10:00:00+09:00,300000,2026-12-20\n");
    let all = tables(d.path());
    let c = table(&all, "pipeline_coverage");
    let total = |p: &str| rows(&c, col("period").eq(lit(p)).and(col("segment_kind").eq(lit("total"))).and(col("forecast_category").eq(lit("all"))));
    // FY2026-Q3 (October-December): O4 (800k, pushed into it) and O9 (300k, pulled into it);
    // O10 has no close date; O11 (200k) expects February, FY2026-Q4; closed deals never count
    let q3 = total("FY2026-Q3");
    assert_eq!(f64s(&q3, "open_deals"), vec![Some(2.0)]);
    assert_eq!(f64s(&q3, "pipeline"), vec![Some(1_100_000.0)]);
    // no stage has 5 closed deals: every deal weighs the overall win rate, 5 won of 7 closed
    close(one(&q3, "weighted_pipeline"), 1_100_000.0 * 5.0 / 7.0, "weighted");
    // the 4.0M target, nothing won yet in a quarter after the data
    assert_eq!((one(&q3, "won_so_far"), one(&q3, "target")), (Some(0.0), Some(4_000_000.0)));
    close(one(&q3, "coverage"), 1_100_000.0 / 4_000_000.0, "coverage");
    let q4 = total("FY2026-Q4");
    assert_eq!((one(&q4, "open_deals"), one(&q4, "pipeline"), one(&q4, "coverage")), (Some(1.0), Some(200_000.0), None));
    // by source: O9 is FS-sourced, O4 came from an outbound lead
    let fs = rows(&c, col("period").eq(lit("FY2026-Q3")).and(col("segment").eq(lit("fs_sourced"))));
    assert_eq!(f64s(&fs, "pipeline"), vec![Some(300_000.0)]);
}

#[test]
fn the_report_and_its_charts_read_against_the_plan() {
    let d = planned();
    let out = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(d.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap(), "--queries", "none"]);
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // 3.3M against 3.0M; the SQL rate's share L(2.6M, 2.4M) x ln(5/3) = +1.28M is the largest
    assert!(stdout.contains("  against plan: revenue 3.3M vs target 3.0M (110.0%, +300k)\n"), "{stdout}");
    assert!(stdout.contains("  - the gap by driver: SQL rate +1.3M, IS deal size -1.1M, FS acceptance rate +558k\n"), "{stdout}");
    // FY2026-Q3 at the FY2026-Q1..Q2 rates: 9.57 leads, 6.96 SQLs ... rounded up
    assert!(stdout.contains("  - to reach 4.0M in FY2026-Q3 at the rates of FY2026-Q1..FY2026-Q2: 10 leads, 7 SQLs, 7 handoffs, 7 accepted, 3 IS wins, 3 FS opportunities\n"), "{stdout}");
    let folder = out.path().join("FY2026-Q2");
    let md = std::fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(md.contains("## Against plan\n\nRevenue 3.3M vs target 3.0M (110.0%, +300k)\n"), "{md}");
    let svg = |name: &str| std::fs::read_to_string(folder.join(format!("charts/{name}.svg"))).unwrap();
    assert!(svg("plan_bridge").contains("Revenue 3.3M is 300k above the plan of 3.0M: SQL rate moved it most (+1.3M)"), "{}", svg("plan_bridge"));
    // O4 (800k) is the only open deal, expected in November; weighted by the overall win rate 5/7
    assert!(svg("pipeline_coverage").contains("FY2026-Q3: open pipeline 800k covers 0.2x of the 4.0M still to win (0.1x weighted by stage win rates)"), "{}", svg("pipeline_coverage"));
}

/// A plan without its FS-sourced revenue target: the IS branch is split
/// into drivers, which make only the IS part of the gap (2.6M - 2.4M =
/// +200k); the summary says the FS part is not split, and the bridge ends
/// with the rest (3.3M - 3.0M - 200k = +100k) as one grey step, so its
/// steps reach the actual. Without qualified_at the IS factors sql_rate
/// and handoff_rate have no actual: named, not "targets do not multiply".
#[test]
fn a_plan_without_a_branch_target_or_factor_actuals_says_which() {
    let d = planned();
    d.replace("targets.csv", "FY2026-Q2,total,all,revenue_fs,600000\n", "");
    let out = tempfile::tempdir().unwrap();
    let run = |d: &Dir| {
        let o = crate::util::salesrelay(d.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap(), "--queries", "none", "--period", "FY2026-Q2"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let stdout = run(&d);
    assert!(stdout.contains("  - FS-sourced revenue: no target for FY2026-Q2, so its part of the gap is not split into drivers\n"), "{stdout}");
    let svg = std::fs::read_to_string(out.path().join("FY2026-Q2/charts/plan_bridge.svg")).unwrap();
    assert!(svg.contains("FS-sourced") && svg.contains("revenue, no target") && svg.contains("+100k"), "{svg}");
    // leads.csv without qualified_at (its 7th column)
    let d = planned();
    let leads: Vec<String> = d
        .read("leads.csv")
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(6);
            f.join(",")
        })
        .collect();
    assert!(leads[0].split(',').all(|h| h != "qualified_at"), "{}", leads[0]);
    d.write("leads.csv", &(leads.join("\n") + "\n"));
    let stdout = run(&d);
    assert!(stdout.contains("  - IS-sourced revenue: sql_rate, handoff_rate not available for this input (see Data coverage), so its gap is not split into drivers\n"), "{stdout}");
}
