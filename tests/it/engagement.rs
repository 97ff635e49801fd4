//! Deal-room engagement on the hand-checked fixture with extra views, the
//! Wilson interval against published values, and invariants on generated data.

use polars::prelude::*;
use proptest::prelude::*;
use salesrelay::metrics::engagement::wilson;

use crate::kpi::{table, tables};
use crate::util::{f64s, one, rows, strs, tiny, Dir};

/// The tiny fixture with five more views and narrower bands
/// (low 1, medium 2, high 3 or more views).
fn fixture(stalled_days: f64) -> Dir {
    let dir = Dir::copy_of(&tiny());
    dir.append(
        "dsr_views.csv",
        "V6,O3,L5,contact,pricing,2026-08-20T10:00:00+09:00,100\n\
         V7,O3,L5,contact,case_study,2026-08-25T10:00:00+09:00,50\n\
         V8,O2,L2,decision_maker,pricing,2026-07-20T10:00:00+09:00,60\n\
         V9,O7,,contact,proposal,2026-07-10T10:00:00+09:00,\n\
         V10,O7,,other,pricing,2026-07-11T10:00:00+09:00,20\n",
    );
    dir.append("salesrelay.toml", &format!("\n[engagement]\nmedium_views = 2\nhigh_views = 3\nstalled_days = {stalled_days}\n"));
    dir
}



#[test]
fn wilson_interval_matches_newcombe_1998() {
    // Newcombe, Statistics in Medicine 17 (1998) 857-872, Table I, method 3 (score, no continuity correction)
    let cases = [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)];
    let s: Vec<i64> = cases.iter().map(|c| c.0).collect();
    let n: Vec<i64> = cases.iter().map(|c| c.1).collect();
    let (low, high) = wilson(col("s"), col("n"));
    let df = df!("s" => s, "n" => n).unwrap().lazy().select([low.alias("low"), high.alias("high")]).collect().unwrap();
    for (i, (_, _, l, h)) in cases.iter().enumerate() {
        assert!((f64s(&df, "low")[i].unwrap() - l).abs() < 5e-5, "case {i}: {df}");
        assert!((f64s(&df, "high")[i].unwrap() - h).abs() < 5e-5, "case {i}: {df}");
    }
    // no deals: no interval
    let empty = df!("s" => [0i64], "n" => [0i64]).unwrap().lazy().select([wilson(col("s"), col("n")).0.alias("low")]).collect().unwrap();
    assert_eq!(f64s(&empty, "low")[0], None);
}

#[test]
fn dsr_engagement_per_deal_by_hand() {
    let dir = fixture(14.0);
    let all = tables(dir.path());
    let e = table(&all, "dsr_engagement");
    assert_eq!(e.height(), 8, "every opportunity, viewed or not");
    let deal = |id: &str| rows(&e, col("opportunity_id").eq(lit(id)));
    // O3: V4 (DM, quote, 200 s), V6 (pricing, 100 s), V7 (case study, 50 s), all before its close on 09-10
    let o3 = deal("O3");
    assert_eq!(one(&o3, "views"), Some(3.0));
    assert_eq!(one(&o3, "seconds"), Some(350.0));
    assert_eq!(one(&o3, "distinct_assets"), Some(3.0));
    assert_eq!(one(&o3, "pricing_seconds"), Some(100.0));
    assert_eq!(one(&o3, "views_decision_maker"), Some(1.0));
    assert_eq!(one(&o3, "views_contact"), Some(2.0));
    assert_eq!(strs(&o3, "last_asset")[0].as_deref(), Some("case_study"));
    let ts = |c: &str| o3.column(c).unwrap().cast(&DataType::String).unwrap().str().unwrap().get(0).map(str::to_string);
    // V4 08-15 10:00 JST and V7 08-25 10:00 JST, stored in UTC
    assert_eq!(ts("first_viewed_at").as_deref(), Some("2026-08-15 01:00:00.000000+00:00"));
    assert_eq!(ts("last_viewed_at").as_deref(), Some("2026-08-25 01:00:00.000000+00:00"));
    assert_eq!(strs(&o3, "engagement_band")[0].as_deref(), Some("high"));
    // created 07-14 17:00, first DM view 08-15 10:00: 31 days 17 hours
    assert!((one(&o3, "days_to_first_dm_view").unwrap() - (31.0 + 17.0 / 24.0)).abs() < 1e-9);
    // FS got it at H4 (07-10 18:00); L5's views all came later
    assert_eq!(one(&o3, "lead_views_before_handoff"), Some(0.0));
    // O1: V1 (the lead's room, 04-08 20:00) came before H1 (04-09 10:00)
    let o1 = deal("O1");
    assert_eq!(one(&o1, "lead_views_before_handoff"), Some(1.0));
    assert_eq!(o1.column("viewed_before_handoff").unwrap().bool().unwrap().get(0), Some(true));
    // created 04-10 15:00, DM view 05-01 10:00: 20 days 19 hours
    assert!((one(&o1, "days_to_first_dm_view").unwrap() - (20.0 + 19.0 / 24.0)).abs() < 1e-9);
    // O2: V3 counted; V8 (a DM, 07-20) came after its close on 07-15
    let o2 = deal("O2");
    assert_eq!(one(&o2, "views"), Some(1.0));
    assert_eq!(one(&o2, "views_after_close"), Some(1.0));
    assert_eq!(one(&o2, "views_decision_maker"), Some(0.0));
    // its one decision maker's view came after the close: no first one
    assert_eq!(one(&o2, "days_to_first_dm_view"), None);
    // O7: a view without seconds adds 0; FS-sourced, so no lead room
    let o7 = deal("O7");
    assert_eq!(one(&o7, "seconds"), Some(20.0));
    assert_eq!(one(&o7, "views_other"), Some(1.0));
    // V9 a proposal, V10 pricing; no decision maker
    assert_eq!(one(&o7, "distinct_assets"), Some(2.0));
    assert_eq!(one(&o7, "days_to_first_dm_view"), None);
    assert_eq!(strs(&o7, "engagement_band")[0].as_deref(), Some("medium"));
    assert_eq!(one(&o7, "lead_views_before_handoff"), None);
    // O6 never viewed
    let o6 = deal("O6");
    assert_eq!(one(&o6, "views"), Some(0.0));
    assert_eq!(one(&o6, "days_since_last_view"), None);
    assert_eq!(strs(&o6, "engagement_band")[0].as_deref(), Some("none"));
    // O4 (open): last view V5 09-01 10:00; the data ends with L11 on 09-30 15:00
    assert!((one(&deal("O4"), "days_since_last_view").unwrap() - (29.0 + 5.0 / 24.0)).abs() < 1e-9);
}

#[test]
fn engagement_effect_win_rates_by_hand() {
    let dir = fixture(14.0);
    let all = tables(dir.path());
    let fx = table(&all, "engagement_effect");
    let group = |period: &str, g: &str| rows(&fx, col("period").eq(lit(period)).and(col("group").eq(lit(g))));
    // FY2026-Q2 closed: O2 low lost, O3 high won, O5 none won, O7 medium lost, O8 none won
    let none = group("FY2026-Q2", "none");
    assert_eq!(one(&none, "deals"), Some(2.0));
    assert_eq!(one(&none, "win_rate"), Some(1.0));
    assert_eq!(one(&none, "mean_won_amount"), Some(650_000.0)); // (600k + 700k) / 2
    assert_eq!(one(&none, "cycle_days_median"), Some(54.0)); // lower median of O8 54 d and O5 80.96 d
    assert_eq!(one(&group("FY2026-Q2", "low"), "win_rate"), Some(0.0));
    assert_eq!(one(&group("FY2026-Q2", "medium"), "win_rate"), Some(0.0));
    let high = group("FY2026-Q2", "high");
    assert_eq!((one(&high, "deals"), one(&high, "won")), (Some(1.0), Some(1.0)));
    // one deal: the interval says how little that is (Wilson for 1/1: 0.2065 to 1)
    assert!((one(&high, "win_rate_low").unwrap() - 0.2065).abs() < 1e-4);
    assert!((one(&high, "win_rate_high").unwrap() - 1.0).abs() < 1e-12);
    assert_eq!(one(&group("FY2026-Q2", "engaged"), "deals"), Some(1.0)); // O3 (O2's DM view came after its close)
    let not_engaged = group("FY2026-Q2", "not_engaged");
    assert_eq!((one(&not_engaged, "deals"), one(&not_engaged, "win_rate")), (Some(4.0), Some(0.5)));
    // the whole history: low = O1 won + O2 lost; DM engaged = O1, O3; not = O2, O6, O5, O7, O8 (3 won)
    assert_eq!(one(&group("all", "low"), "win_rate"), Some(0.5));
    assert_eq!(one(&group("all", "none"), "deals"), Some(3.0));
    assert_eq!(one(&group("all", "engaged"), "win_rate"), Some(1.0));
    assert_eq!(one(&group("all", "not_engaged"), "win_rate"), Some(0.6));
    // an empty group is there with 0 deals and no rate
    let q1_high = group("FY2026-Q1", "high");
    assert_eq!((one(&q1_high, "deals"), one(&q1_high, "win_rate"), one(&q1_high, "win_rate_low")), (Some(0.0), None, None));
    // handoffs: only H1 had room views before it (V1); 6 of the other 7 accepted, 2 of those won (O3, O5)
    let with = group("all", "with");
    assert_eq!((one(&with, "handoffs"), one(&with, "acceptance_rate"), one(&with, "win_yield")), (Some(1.0), Some(1.0), Some(1.0)));
    assert!((one(&with, "acceptance_rate_low").unwrap() - 0.2065).abs() < 1e-4, "Wilson 1/1");
    assert!((one(&with, "win_yield_low").unwrap() - 0.2065).abs() < 1e-4);
    // 6/7 accepted: Wilson 0.4869-0.9743; 2/6 won: 0.0968-0.7000
    let without_rows = group("all", "without");
    assert!((one(&without_rows, "acceptance_rate_low").unwrap() - 0.4869).abs() < 1e-4 && (one(&without_rows, "acceptance_rate_high").unwrap() - 0.9743).abs() < 1e-4);
    assert!((one(&without_rows, "win_yield_low").unwrap() - 0.0968).abs() < 1e-4 && (one(&without_rows, "win_yield_high").unwrap() - 0.7000).abs() < 1e-4);
    let without = group("all", "without");
    assert_eq!((one(&without, "handoffs"), one(&without, "accepted"), one(&without, "handoffs_won")), (Some(7.0), Some(6.0), Some(2.0)));
    assert!((one(&without, "win_yield").unwrap() - 2.0 / 6.0).abs() < 1e-12);
    assert_eq!(one(&without, "deals"), None, "deal columns are null on handoff rows");
}

#[test]
fn stalled_deals_and_the_days_boundary() {
    // O4, the one open deal, last viewed 29 days 5 hours before the data ends
    let all = tables(fixture(14.0).path());
    let stalled = table(&all, "stalled_deals");
    assert_eq!(strs(&stalled, "opportunity_id"), vec![Some("O4".to_string())]);
    assert_eq!(strs(&stalled, "owner_name")[0].as_deref(), Some("Tanaka"));
    assert_eq!(strs(&stalled, "last_asset")[0].as_deref(), Some("other"));
    assert_eq!(f64s(&stalled, "rank")[0], Some(1.0));
    assert!((f64s(&stalled, "days_without_room_activity")[0].unwrap() - (29.0 + 5.0 / 24.0)).abs() < 1e-9);
    assert_eq!(stalled.column("never_viewed").unwrap().bool().unwrap().get(0), Some(false));
    assert_eq!(table(&tables(fixture(29.2).path()), "stalled_deals").height(), 1, "29.2 days: still stalled");
    assert_eq!(table(&tables(fixture(29.3).path()), "stalled_deals").height(), 0, "29.3 days: not yet");
}

#[test]
fn bands_need_an_increasing_threshold() {
    let dir = Dir::copy_of(&tiny());
    dir.append("salesrelay.toml", "\n[engagement]\nmedium_views = 5\nhigh_views = 5\n");
    let err = salesrelay::config::Config::resolve(None, dir.path(), &Default::default()).unwrap_err();
    assert!(err.to_string().contains("engagement.medium_views = 5 and high_views = 5"), "{err}");
}

#[test]
fn report_states_the_effect_with_its_intervals_and_the_stalled_deals() {
    let dir = fixture(14.0);
    let out = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(&crate::util::root(), &["run", "--input", dir.path().to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.path().join("FY2026-Q2/report.md")).unwrap();
    // Wilson by hand: 1/1 -> 20.7%-100%; 3/3 -> 43.8%-100%; 2/2 -> 34.2%-100%; 3/5 -> 23.1%-88.2%
    assert!(md.contains(
        "Over the whole history, deals whose room was used most (band high) won 100% (95% interval 21%-100%, n=1) against 100% (95% interval 44%-100%, n=3) for deals whose room was never viewed, and deals a decision maker viewed won 100% (95% interval 34%-100%, n=2) against 60% (95% interval 23%-88%, n=5)."
    ), "{md}");
    // FY2026-Q2: none = O5, O8 (2/2); DM not engaged = O2, O5, O7, O8 (2/4 -> 15.0%-85.0%)
    assert!(md.contains("In FY2026-Q2 alone the same comparison is 100% (95% interval 21%-100%, n=1) against 100% (95% interval 34%-100%, n=2) (decision maker: 100% (95% interval 21%-100%, n=1) against 50% (95% interval 15%-85%, n=4))"), "{md}");
    // O4: 800k, last viewed 29 days 5 hours before the data ends, asset other
    assert!(md.contains("| 1 | O4 | Tokai Build | Tanaka | 800k | 29 | other |"), "{md}");
    // the chart's title: band high (O3, won) against none (O6, O5, O8, all won) over the whole history
    let svg = std::fs::read_to_string(out.path().join("FY2026-Q2/charts/engagement_effect.svg")).unwrap();
    assert!(svg.contains("Deals whose room was used most won 100% (n=1) vs 100% with no views (n=3), all closed deals"), "{svg}");
    // the tiny fixture's plan: O4 at A3 on Monday 10-05 (the data ends on Wednesday 09-30); A4 (a customer) has no coordinates
    assert!(md.contains("Visit plan on 2026-10-05: 1 FS rep, 1 rep-day, 1 priority-deal stop and 0 nearby customers"), "{md}");
    assert!(md.contains("1 account with open deals or past wins has no coordinates"), "{md}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]
    /// On generated histories: rates and intervals in 0..1 with low <= rate <= high,
    /// and the bands of each quarter add up to the quarter's closed deals.
    #[test]
    fn engagement_invariants_on_generated_data(seed in 0u64..1000) {
        let dir = tempfile::tempdir().unwrap();
        salesrelay::generate::generate(dir.path(), 1, seed).unwrap();
        let all = tables(dir.path());
        let fx = table(&all, "engagement_effect");
        for (r, l, h) in [("win_rate", "win_rate_low", "win_rate_high"), ("acceptance_rate", "acceptance_rate_low", "acceptance_rate_high"), ("win_yield", "win_yield_low", "win_yield_high")] {
            for ((r, l), h) in f64s(&fx, r).into_iter().zip(f64s(&fx, l)).zip(f64s(&fx, h)) {
                if let (Some(r), Some(l), Some(h)) = (r, l, h) {
                    prop_assert!((0.0..=1.0).contains(&l) && (0.0..=1.0).contains(&h) && l <= r + 1e-12 && r <= h + 1e-12);
                }
            }
        }
        let sums = fx.clone().lazy().filter(col("dimension").neq(lit("viewing_data_at_handoff")))
            .group_by([col("period"), col("dimension")]).agg([col("deals").sum()])
            .group_by([col("period")]).agg([col("deals").min().alias("lo"), col("deals").max().alias("hi")]).collect().unwrap();
        prop_assert_eq!(f64s(&sums, "lo"), f64s(&sums, "hi"), "bands and DM groups count the same deals");
        let e = table(&all, "dsr_engagement");
        let closed = e.clone().lazy().filter(col("outcome").neq(lit("open"))).collect().unwrap().height() as f64;
        let total: f64 = f64s(&rows(&fx, col("period").eq(lit("all")).and(col("dimension").eq(lit("engagement_band")))), "deals").into_iter().flatten().sum();
        prop_assert_eq!(total, closed);
    }
}

#[test]
fn without_viewer_roles_or_seconds_those_measures_are_not_available() {
    // dsr_views with only view_id, opportunity_id, lead_id, asset, viewed_at
    let dir = Dir::copy_of(&tiny());
    let text = dir.read("dsr_views.csv");
    let kept: String = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{},{},{}\n", f[0], f[1], f[2], f[4], f[5])
        })
        .collect();
    dir.write("dsr_views.csv", &kept);
    let all = tables(dir.path());
    let e = table(&all, "dsr_engagement");
    let o3 = rows(&e, col("opportunity_id").eq(lit("O3")));
    assert_eq!(one(&o3, "views"), Some(1.0), "views still count");
    assert_eq!(one(&o3, "distinct_assets"), Some(1.0));
    for c in ["seconds", "pricing_seconds", "views_decision_maker", "days_to_first_dm_view"] {
        assert_eq!(one(&o3, c), None, "{c} is null, not 0");
    }
    let fx = table(&all, "engagement_effect");
    assert_eq!(rows(&fx, col("dimension").eq(lit("decision_maker"))).height(), 0, "no 'not engaged' for all");
    assert!(rows(&fx, col("dimension").eq(lit("engagement_band"))).height() > 0);
    let out = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(&crate::util::root(), &["run", "--input", dir.path().to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.path().join("FY2026-Q2/report.md")).unwrap();
    assert!(md.contains("(the input has no viewer roles, so decision makers cannot be told apart)"), "{md}");
    assert!(md.contains("dsr_views.viewer_role") || md.contains("views_decision_maker"), "the gap is in Data coverage: {md}");
}

/// The last asset of a deal whose last two views share a minute: the one
/// with the larger view_id; a view after the close counts for nothing.
#[test]
fn last_asset_breaks_a_tie_by_view_id_and_ignores_views_after_close() {
    let dir = fixture(14.0);
    // O7 closed 2026-08-30: V10 (pricing) and V12 (quote) at the same minute, V13 after the close
    dir.append(
        "dsr_views.csv",
        "V12,O7,,contact,quote,2026-07-11T10:00:00+09:00,5\n\
         V13,O7,,contact,case_study,2026-09-05T10:00:00+09:00,5\n",
    );
    let all = tables(dir.path());
    let o7 = rows(&table(&all, "dsr_engagement"), col("opportunity_id").eq(lit("O7")));
    assert_eq!(strs(&o7, "last_asset")[0].as_deref(), Some("quote"));
    assert_eq!(one(&o7, "views"), Some(3.0));
    assert_eq!(one(&o7, "views_after_close"), Some(1.0));
}
