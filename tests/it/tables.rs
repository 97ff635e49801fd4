//! The other review tables on the hand-checked fixture (values worked out
//! from the fixture files; see kpi.rs for the calendar).

use polars::prelude::*;

use crate::kpi::{table, tables};
use crate::util::{f64s, rows, strs, tiny};


fn num(df: &DataFrame, column: &str) -> Vec<Option<f64>> {
    f64s(df, column)
}

fn approx(got: &[Option<f64>], want: &[Option<f64>]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        match (g, w) {
            (Some(g), Some(w)) => assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{got:?} vs {want:?}"),
            _ => assert_eq!(g, w, "{got:?} vs {want:?}"),
        }
    }
}

#[test]
fn kpi_attribution_bridges_prior_to_current_revenue() {
    let all = tables(&tiny());
    let a = rows(&table(&all, "kpi_attribution"), col("segment_kind").eq(lit("total")).and(col("comparison").eq(lit("prior_quarter"))));
    assert_eq!(
        strs(&a, "item").into_iter().map(Option::unwrap).collect::<Vec<_>>(),
        ["revenue_prior", "leads", "sql_rate", "handoff_rate", "acceptance_rate", "win_yield_is", "deal_size_is", "opps_fs", "win_yield_fs", "deal_size_fs", "revenue"]
    );
    let amount = num(&a, "amount");
    let running = num(&a, "running_total");
    assert_eq!(amount[0], Some(1_300_000.0));
    assert_eq!(amount[10], Some(3_300_000.0));
    // after the IS drivers: 1.3M + 1.6M; after the FS drivers: + 0.4M
    assert!((running[6].unwrap() - 2_900_000.0).abs() < 1e-6);
    assert!((running[9].unwrap() - 3_300_000.0).abs() < 1e-6);
    // every segment's bridge closes
    // 11 steps per segment in each of the two comparisons
    let segments = table(&all, "kpi_attribution").height() / (2 * 11);
    assert_eq!(segments, 16);
}

#[test]
fn funnel_period_counts_each_stage_in_its_own_quarter() {
    let all = tables(&tiny());
    let f = rows(&table(&all, "funnel_period"), col("period").eq(lit("FY2026-Q2")).and(col("segment_kind").eq(lit("source"))));
    // inbound, outbound, fs_sourced
    approx(&num(&f, "leads"), &[Some(4.0), Some(2.0), Some(0.0)]);
    approx(&num(&f, "sqls"), &[Some(4.0), Some(1.0), Some(0.0)]); // L10 L5 L6 L9; L7
    approx(&num(&f, "handoffs"), &[Some(4.0), Some(1.0), Some(0.0)]); // H7 H4 H5 H8; H6
    approx(&num(&f, "wins_is"), &[Some(2.0), Some(0.0), Some(0.0)]);
    approx(&num(&f, "opps_fs"), &[Some(0.0), Some(0.0), Some(2.0)]);
    approx(&num(&f, "sql_rate"), &[Some(1.0), Some(0.5), None]);
    approx(&num(&f, "win_yield_is"), &[Some(0.5), Some(0.0), None]);
    approx(&num(&f, "deal_size_is"), &[Some(1_300_000.0), None, None]);
}

#[test]
fn funnel_cohort_follows_leads_to_their_outcome() {
    let all = tables(&tiny());
    let c = rows(&table(&all, "funnel_cohort"), col("segment_kind").eq(lit("total")));
    assert_eq!(strs(&c, "cohort"), [Some("FY2026-Q1".to_string()), Some("FY2026-Q2".to_string())]);
    approx(&num(&c, "age_quarters"), &[Some(1.0), Some(0.0)]);
    // Q1 cohort L1 L2 L3 L4 L10: qualified L1 L2 L3 L10; handed off the same four; accepted L1 L2 L10;
    // opportunities O1 O2 O5; won O1 O5 (1.0M + 0.6M)
    approx(&num(&c, "leads"), &[Some(5.0), Some(6.0)]);
    approx(&num(&c, "sqls"), &[Some(4.0), Some(4.0)]);
    approx(&num(&c, "accepted"), &[Some(3.0), Some(4.0)]);
    approx(&num(&c, "opportunities"), &[Some(3.0), Some(2.0)]);
    approx(&num(&c, "open_opportunities"), &[Some(0.0), Some(1.0)]); // O4 is still open
    approx(&num(&c, "won"), &[Some(2.0), Some(1.0)]);
    approx(&num(&c, "won_amount"), &[Some(1_600_000.0), Some(2_000_000.0)]);
    approx(&num(&c, "sql_to_win"), &[Some(0.5), Some(0.25)]);
    approx(&num(&c, "lead_to_win"), &[Some(0.4), Some(1.0 / 6.0)]);
}

#[test]
fn handoffs_carry_their_quality_and_outcome() {
    let all = tables(&tiny());
    let h = table(&all, "handoffs");
    assert_eq!(
        strs(&h, "handoff_id").into_iter().map(Option::unwrap).collect::<Vec<_>>(),
        ["H1", "H2", "H3", "H7", "H4", "H5", "H6", "H8"]
    );
    approx(&num(&h, "bant_score"), &[3.0, 3.0, 1.0, 3.0, 4.0, 2.0, 3.0, 4.0].map(Some));
    let meets: Vec<Option<bool>> = h.column("meets_tossup_rule").unwrap().bool().unwrap().iter().collect();
    assert_eq!(meets, [true, true, false, true, true, false, true, true].map(Some));
    approx(&num(&h, "sheet_completeness"), &[10.0 / 12.0, 1.0, 0.5, 11.0 / 12.0, 1.0, 8.0 / 12.0, 0.75, 1.0].map(Some));
    // elapsed (not business) hours to the first contact
    approx(&num(&h, "hours_to_first_contact"), &[Some(29.0), Some(119.0), None, Some(73.0), Some(95.0), Some(97.0), None, Some(121.0)]);
    let sla: Vec<Option<bool>> = h.column("sla_met").unwrap().bool().unwrap().iter().collect();
    assert_eq!(sla, [true, false, false, true, true, true, false, false].map(Some));
    assert_eq!(
        strs(&h, "opportunity_outcome"),
        [Some("won"), Some("lost"), None, Some("won"), Some("won"), None, Some("open"), None].map(|s| s.map(str::to_string))
    );
}

#[test]
fn handoff_quality_by_bant_band() {
    let all = tables(&tiny());
    let q = rows(&table(&all, "handoff_quality"), col("period").eq(lit("FY2026-Q2")));
    // bands 0..4 in Q2: H5 (2); H7 H6 (3); H4 H8 (4)
    approx(&num(&q, "handoffs"), &[0.0, 0.0, 1.0, 2.0, 2.0].map(Some));
    approx(&num(&q, "accepted"), &[0.0, 0.0, 1.0, 2.0, 2.0].map(Some));
    approx(&num(&q, "won"), &[0.0, 0.0, 0.0, 1.0, 1.0].map(Some)); // H7 -> O5, H4 -> O3
    approx(&num(&q, "win_yield"), &[None, None, Some(0.0), Some(0.5), Some(0.5)]);
    approx(&num(&q, "send_back_rate"), &[None, None, Some(1.0), Some(0.0), Some(0.0)]);
    approx(&num(&q, "recycle_rate"), &[None, None, Some(0.0), None, None]); // H5 was not handed off again
    approx(&num(&q, "sla_met_rate"), &[None, None, Some(1.0), Some(0.5), Some(0.5)]);
}

#[test]
fn is_reps_compare_ai_and_human_sdrs() {
    let all = tables(&tiny());
    let r = rows(&table(&all, "is_reps"), col("period").eq(lit("FY2026-Q2")));
    assert_eq!(strs(&r, "role"), ["sdr", "bdr", "ai_sdr"].map(|s| Some(s.to_string())));
    // R1: L5 L9; R2: L7 L8; R3: L6 L11
    approx(&num(&r, "leads_owned"), &[2.0, 2.0, 2.0].map(Some));
    approx(&num(&r, "response_time_median_h"), &[Some(2.5), None, Some(30.0 / 3600.0)]);
    approx(&num(&r, "contacted_within_1h_share"), &[Some(0.0), None, Some(0.5)]);
    approx(&num(&r, "calls"), &[1.0, 2.0, 0.0].map(Some));
    approx(&num(&r, "connect_rate"), &[Some(1.0), Some(0.5), None]);
    approx(&num(&r, "dm_connect_rate"), &[Some(0.0), Some(0.5), None]);
    approx(&num(&r, "sqls"), &[2.0, 1.0, 2.0].map(Some)); // L5 L9; L7; L10 L6
    approx(&num(&r, "handoffs"), &[2.0, 1.0, 2.0].map(Some));
    approx(&num(&r, "pipeline_created"), &[2_000_000.0, 800_000.0, 600_000.0].map(Some));
    approx(&num(&r, "sql_to_win"), &[0.5, 0.0, 0.5].map(Some));
    approx(&num(&r, "touches"), &[1.0, 2.0, 1.0].map(Some)); // T8; T10 T11; T9
    approx(&num(&r, "leads_touched"), &[1.0, 2.0, 1.0].map(Some)); // L5; L7 L8; L6
    // the quarter before, two touches on one lead count it once: R1 T1 T2 on L1, R2 T4 T5 on L3, R3 T3 on L2
    let q1 = rows(&table(&all, "is_reps"), col("period").eq(lit("FY2026-Q1")));
    assert_eq!(strs(&q1, "rep_id"), ["R1", "R2", "R3"].map(|s| Some(s.to_string())));
    approx(&num(&q1, "touches"), &[2.0, 2.0, 1.0].map(Some));
    approx(&num(&q1, "leads_touched"), &[1.0, 1.0, 1.0].map(Some));
}

#[test]
fn fs_reps_results_and_first_contact() {
    let all = tables(&tiny());
    let r = rows(&table(&all, "fs_reps"), col("period").eq(lit("FY2026-Q2")));
    // R4 received H4 H6 H8 (SLA met once); R5 received H7 H5 (both met)
    approx(&num(&r, "handoffs_received"), &[3.0, 2.0].map(Some));
    approx(&num(&r, "sla_met_rate"), &[1.0 / 3.0, 1.0].map(Some));
    approx(&num(&r, "days_to_first_contact_median"), &[3.0 + 23.0 / 24.0, 3.0 + 1.0 / 24.0].map(Some));
    // R4: T12 visit, T13 online meeting; R5: T14 visit (their other activities are not meetings)
    approx(&num(&r, "visits"), &[1.0, 1.0].map(Some));
    approx(&num(&r, "online_meetings"), &[1.0, 0.0].map(Some));
    approx(&num(&r, "in_person_share"), &[0.5, 1.0].map(Some));
    approx(&num(&r, "opportunities"), &[4.0, 1.0].map(Some));
    approx(&num(&r, "win_rate"), &[2.0 / 3.0, 0.5].map(Some));
    approx(&num(&r, "win_rate_amount"), &[2.7 / 3.1, 0.6 / 1.1].map(Some));
    approx(&num(&r, "deal_size"), &[1_350_000.0, 600_000.0].map(Some));
    approx(&num(&r, "sales_cycle_days_median"), &[54.0, 80.0 + 23.0 / 24.0].map(Some));
    approx(&num(&r, "send_back_rate"), &[0.0, 0.5].map(Some));
}
