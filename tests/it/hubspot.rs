//! The built-in hubspot mapping end to end on a hand-made HubSpot export
//! (tests/fixtures/hubspot, its README lists every row). Dates: every
//! timestamp is 00:00-09:05 UTC, so its Tokyo date is its UTC date.

use polars::prelude::*;

use crate::kpi::node;
use crate::util::{f64s, rows, strs, text, Dir};

/// A copy of the HubSpot fixture with yen as the base currency and the
/// dollar's rates: 0.0068 USD per yen from 1 January 2026, 0.006 from 1
/// September (the fixture's deals are in yen and dollars).
pub fn hubspot_in_yen() -> Dir {
    let d = Dir::copy_of(&crate::util::root().join("tests/fixtures/hubspot"));
    d.write("salesrelay.toml", "base_currency = \"JPY\"\n");
    d.write("exchange_rates.csv", "currency,valid_from,rate\nUSD,2026-01-01,0.0068\nUSD,2026-09-01,0.006\n");
    d
}

#[test]
fn a_hubspot_export_reviewed_by_hand() {
    // deal 3005 is 45,000 USD, won 10 September: 0.006 USD per yen from 1 September = 7,500,000 yen
    let d = hubspot_in_yen();
    let opts = salesrelay::prepare::InputOptions { mapping: Some("hubspot".into()), ..salesrelay::prepare::InputOptions::new(d.path()) };
    let p = salesrelay::prepare::prepare(&opts, false, None, Some("FY2026-Q2"), &salesrelay::progress::Progress::new(true)).unwrap();
    let v = &p.validated;
    let heights: Vec<(&str, usize)> = ["accounts", "reps", "leads", "opportunities", "handoffs", "activities", "stage_history"].iter().map(|t| (*t, v.tables[t].height())).collect();
    // 6 companies, 4 owners, 10 contacts, 8 deals, 5 deals with a contact (3001, 3003, 3004, 3006, 3007),
    // 10 calls + 6 completed or no-show meetings, 35 stage entries
    assert_eq!(heights, [("accounts", 6), ("reps", 4), ("leads", 10), ("opportunities", 8), ("handoffs", 5), ("activities", 16), ("stage_history", 35)]);
    let o = rows(&text(v, "opportunities"), col("opportunity_id").eq(lit("3005")));
    assert_eq!((f64s(&o, "amount")[0], f64s(&o, "amount_original")[0]), (Some(7_500_000.0), Some(45_000.0)));
    assert_eq!(strs(&o, "currency")[0].as_deref(), Some("USD"));
    // owners: Inside Sales is IS/SDR, Field Sales FS
    let reps = &text(v, "reps");
    assert_eq!(strs(reps, "team"), vec![Some("is".into()), Some("is".into()), Some("fs".into()), Some("fs".into())]);
    let all: std::collections::BTreeMap<String, DataFrame> = salesrelay::metrics::compute_tables(&p.model()).unwrap().into_iter().map(|(d, df)| (d.name, df)).collect();
    let kpi = &all["kpi_tree"];
    // FY2026-Q1 (April-June): 3001 won 22 May, 4.8M, IS-sourced (contact 2001); 3003 lost 30 June
    assert_eq!(node(kpi, "FY2026-Q1", "total", "all", "revenue")[0], Some(4_800_000.0));
    // FY2026-Q2 (July-September): 3002 12.0M and 3005 7.5M (no contact: FS-sourced), 3004 3.6M (contact 2007)
    let q2 = |n: &str| node(kpi, "FY2026-Q2", "total", "all", n)[0];
    assert_eq!((q2("revenue"), q2("revenue_is"), q2("revenue_fs")), (Some(23_100_000.0), Some(3_600_000.0), Some(19_500_000.0)));
    assert_eq!((q2("wins_fs"), q2("wins_is"), q2("losses_is")), (Some(2.0), Some(1.0), Some(1.0))); // 3006 lost 24 July
    // leads created July-September: 2002, 2004, 2006, 2008; SQLs: 2002 (14 Aug), 2008 (16 Sep)
    assert_eq!((q2("leads"), q2("sqls")), (Some(4.0), Some(2.0)));
    // the lost deals' notes classified by the rules: a cheaper competitor, no budget
    let losses = &all["losses"];
    assert_eq!(strs(losses, "subcategory"), vec![Some("price".into()), Some("budget".into())]);
    // every source value is named in the map: nothing reported as unmapped
    let coverage = salesrelay::coverage::data_coverage(&p.model(), v, &[]).unwrap();
    assert_eq!(rows(&coverage, col("kind").eq(lit("unmapped value"))).height(), 0);
}

/// An export without ids can key its rows by their line in the file (`_row`).
#[test]
fn rows_without_ids_are_keyed_by_their_line() {
    let d = Dir::copy_of(&crate::util::root().join("tests/fixtures/hubspot"));
    d.write("salesrelay.toml", "base_currency = \"JPY\"\n");
    d.write("exchange_rates.csv", "currency,valid_from,rate\nUSD,2026-01-01,0.0068\n");
    let mapping = salesrelay::mapping::BUILT_IN.iter().find(|(n, _)| *n == "hubspot").unwrap().1;
    let text = mapping.replace("activity_id = { expr = \"'call:' || hs_object_id\" }", "activity_id = { expr = \"'call-line:' || CAST(_row AS VARCHAR)\" }");
    assert_ne!(text, mapping);
    d.write("m.toml", &text);
    let opts = salesrelay::prepare::InputOptions { mapping: Some(d.file("m.toml").to_string_lossy().into_owned()), ..salesrelay::prepare::InputOptions::new(d.path()) };
    let (_, v) = salesrelay::prepare::load_validated(&opts, false, &salesrelay::progress::Progress::new(true)).unwrap();
    let ids: Vec<String> = strs(&v.tables["activities"], "activity_id").into_iter().flatten().filter(|i| i.starts_with("call-line:")).collect();
    // ten calls, on lines 2-11 of calls.csv
    assert_eq!(ids.len(), 10);
    assert!(ids.contains(&"call-line:2".to_string()) && ids.contains(&"call-line:11".to_string()), "{ids:?}");
}

/// An export without contacts.csv: leads are not available, and the five
/// deals with a contact are still handoffs, but each one's from_rep_id
/// (the contact's owner, else the deal's) can only be the deal's owner,
/// which is its to_rep_id too: a warning says so at the top of the summary
/// and the report.
#[test]
fn an_export_without_contacts_warns_that_handoffs_come_from_the_deal_owner() {
    let d = hubspot_in_yen();
    d.remove("contacts.csv");
    let opts = salesrelay::prepare::InputOptions { mapping: Some("hubspot".into()), ..salesrelay::prepare::InputOptions::new(d.path()) };
    let p = salesrelay::prepare::prepare(&opts, false, None, None, &salesrelay::progress::Progress::new(true)).unwrap();
    let v = &p.validated;
    assert!(!v.tables.contains_key("leads"));
    let handoffs = text(v, "handoffs");
    assert_eq!(handoffs.height(), 5);
    assert_eq!(strs(&handoffs, "from_rep_id"), strs(&handoffs, "to_rep_id"));
    assert_eq!(
        p.warnings(),
        vec!["handoffs.from_rep_id reads contacts.csv, which is not in the input: its values come from deals.csv's hubspot_owner_id alone (mapping hubspot key handoffs[0].columns.from_rep_id); add contacts.csv to the input".to_string()]
    );
}

/// Deals of a second pipeline (renewals, stages of their own) are left out
/// and counted, with a meeting on one of them kept without its deal; the
/// closed flags read in any boolean spelling (Yes/No). By hand: FY2026-Q2
/// revenue stays 23.1M (3002 12.0M + 3005 7.5M + 3004 3.6M), not 32.1M
/// with renewal 3009 (9.0M, won 31 August).
#[test]
fn deals_of_another_pipeline_are_left_out_and_yes_no_flags_read() {
    let d = hubspot_in_yen();
    let deals = d.read("deals.csv").replace(",true,true,", ",Yes,Yes,").replace(",true,false,", ",Yes,No,").replace(",false,false,", ",No,No,");
    d.write(
        "deals.csv",
        &format!(
            "{deals}3009,Naniwa Bank - Annual Renewal,75943210,75943215,9000000,JPY,2026-08-31T03:00:00.000Z,2026-07-01T00:00:00.000Z,51000004,Yes,Yes,,1002,,,,,,,,\n"
        ),
    );
    d.append("meetings.csv", "4999,2026-08-20T02:00:00.000Z,51000004,Renewal review,Naniwa Bank HQ,COMPLETED,1002,3009\n");
    let opts = salesrelay::prepare::InputOptions { mapping: Some("hubspot".into()), ..salesrelay::prepare::InputOptions::new(d.path()) };
    let p = salesrelay::prepare::prepare(&opts, false, None, Some("FY2026-Q2"), &salesrelay::progress::Progress::new(true)).unwrap();
    let v = &p.validated;
    assert_eq!(v.findings.height(), 0, "{}", v.findings);
    assert_eq!(v.tables["opportunities"].height(), 8);
    let applied = v.mapping.as_ref().unwrap();
    let deals_read: Vec<(usize, usize)> = applied.sources.iter().filter(|s| s.0 == "opportunities").map(|s| (s.2, s.3)).collect();
    assert_eq!(deals_read, vec![(9, 8)], "9 deals read, 8 kept");
    let acts = text(v, "activities");
    let renewal_meeting = rows(&acts, col("activity_id").eq(lit("meeting:4999")));
    assert_eq!(strs(&renewal_meeting, "opportunity_id"), vec![None]);
    let all: std::collections::BTreeMap<String, DataFrame> = salesrelay::metrics::compute_tables(&p.model()).unwrap().into_iter().map(|(d, df)| (d.name, df)).collect();
    let q2 = |n: &str| node(&all["kpi_tree"], "FY2026-Q2", "total", "all", n)[0];
    assert_eq!((q2("revenue"), q2("wins_fs"), q2("losses_is")), (Some(23_100_000.0), Some(2.0), Some(1.0)));
}
