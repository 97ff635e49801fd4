//! Bad input, case by case: each names the exact table, row (line in the
//! file), column and rule. The fixture is clean, so each edit yields exactly
//! the findings listed.

use polars::prelude::*;
use crate::util::{findings, load, tiny, Dir};

type F = (String, Option<i64>, Option<String>, String);

fn f(table: &str, row: Option<i64>, column: Option<&str>, rule: &str) -> F {
    (table.into(), row, column.map(str::to_string), rule.into())
}

/// Applies `edit` to a copy of the fixture and returns its findings (strict mode).
fn check(edit: impl FnOnce(&Dir)) -> Vec<F> {
    let d = Dir::copy_of(&tiny());
    edit(&d);
    findings(&load(d.path(), false))
}

#[test]
fn the_fixture_is_clean() {
    assert_eq!(check(|_| {}), vec![]);
}

#[test]
fn empty_required_value() {
    // leads.csv line 4 is L3
    let got = check(|d| d.replace("leads.csv", "L3,A3,", "L3,,"));
    assert_eq!(got, vec![f("leads", Some(4), Some("account_id"), "missing_value")]);
}

#[test]
fn quoted_empty_is_null() {
    let got = check(|d| d.replace("leads.csv", ",Inbound,", ",\"\","));
    assert_eq!(got, vec![f("leads", Some(3), Some("source"), "missing_value")]);
}

#[test]
fn unparseable_timestamp() {
    let got = check(|d| d.replace("leads.csv", "2026-04-10 09:00", "next tuesday"));
    assert_eq!(got, vec![f("leads", Some(3), Some("created_at"), "not_a_timestamp")]);
}

#[test]
fn impossible_calendar_date() {
    let got = check(|d| d.replace("leads.csv", "2026-05-11,", "2026-02-30,"));
    assert_eq!(got, vec![f("leads", Some(4), Some("created_at"), "not_a_timestamp")]);
}

#[test]
fn thousands_separator_is_not_a_number() {
    // opportunities.csv line 4 is O6
    let got = check(|d| d.replace("opportunities.csv", ",300000,", ",\"300,000\","));
    assert_eq!(got, vec![f("opportunities", Some(4), Some("amount"), "not_a_number")]);
}

#[test]
fn negative_amount() {
    let got = check(|d| d.replace("opportunities.csv", ",300000,", ",-3200,"));
    assert_eq!(got, vec![f("opportunities", Some(4), Some("amount"), "negative_amount")]);
}

#[test]
fn non_finite_amount() {
    let got = check(|d| d.replace("opportunities.csv", ",300000,", ",NaN,"));
    assert_eq!(got, vec![f("opportunities", Some(4), Some("amount"), "non_finite")]);
}

#[test]
fn an_amount_past_the_exact_floats_is_too_large() {
    // 2^53 itself is kept; one more whole number (as written) is past it, and so is 1.7e308,
    // two of which add up to infinity
    let got = check(|d| d.replace("opportunities.csv", ",300000,", ",9007199254740992,"));
    assert_eq!(got, vec![]);
    let got = check(|d| d.replace("opportunities.csv", ",300000,", ",9007199254740994,"));
    assert_eq!(got, vec![f("opportunities", Some(4), Some("amount"), "too_large")]);
    let got = check(|d| d.replace("opportunities.csv", ",300000,", ",1.7e308,"));
    assert_eq!(got, vec![f("opportunities", Some(4), Some("amount"), "too_large")]);
}

#[test]
fn unknown_enum_value() {
    // O4 is on line 8
    let got = check(|d| d.replace("opportunities.csv", ",Proposal,,open,", ",Proposal,,pending,"));
    assert_eq!(got, vec![f("opportunities", Some(8), Some("outcome"), "unknown_value")]);
}

#[test]
fn unknown_role() {
    let got = check(|d| d.replace("reps.csv", "R1,Sato,IS,SDR", "R1,Sato,IS,Manager"));
    assert_eq!(got, vec![f("reps", Some(2), Some("role"), "unknown_value")]);
}

#[test]
fn bad_boolean() {
    // handoffs.csv line 3 is H2
    let got = check(|d| d.replace("handoffs.csv", "2026-04-16T10:00:00+09:00,yes,", "2026-04-16T10:00:00+09:00,maybe,"));
    assert_eq!(got, vec![f("handoffs", Some(3), Some("budget"), "not_a_boolean")]);
}

#[test]
fn fractional_integer() {
    let got = check(|d| d.replace("handoffs.csv", "low,6,12,rejected", "low,6,12.5,rejected"));
    assert_eq!(got, vec![f("handoffs", Some(4), Some("sheet_fields_total"), "not_an_integer")]);
}

#[test]
fn duplicate_key_with_different_values() {
    // the appended row is line 13 (header + 11 leads)
    let got = check(|d| d.append("leads.csv", "L1,A2,2026-04-06T10:00:00+09:00,inbound,web_form,R1,,\n"));
    assert_eq!(got, vec![f("leads", Some(13), Some("lead_id"), "duplicate_key")]);
}

#[test]
fn duplicate_key_in_a_file_in_key_order() {
    // H1 H2 H3 H3 H4 ...: the keys never fall, but one repeats (line 5)
    let got = check(|d| d.replace("handoffs.csv", "\nH7,", "\nH3,"));
    assert_eq!(got, vec![f("handoffs", Some(5), Some("handoff_id"), "duplicate_key")]);
}

#[test]
fn a_key_repeated_anywhere_in_a_file_in_key_order_is_found() {
    // H1 H2 H3 H35 H4 H5 H6 H8 rise; each line in turn takes the key of the line
    // before, wherever the parts the rising keys are compared in meet
    for line in 3..=9 {
        let got = check(|d| {
            let text = d.read("handoffs.csv").replace("\nH7,", "\nH35,");
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            let before = lines[line - 2].split(',').next().unwrap().to_string();
            let rest = lines[line - 1].split_once(',').unwrap().1.to_string();
            lines[line - 1] = format!("{before},{rest}");
            d.write("handoffs.csv", &(lines.join("\n") + "\n"));
        });
        assert!(got.contains(&f("handoffs", Some(line as i64), Some("handoff_id"), "duplicate_key")), "line {line}: {got:?}");
    }
}

#[test]
fn accounts_and_leads_both_missing_are_named_not_a_panic() {
    // Polars' plan optimizer panicked on the opportunities' checks when neither table
    // was there (the fuzz run, case 4244073: one not UTF-8, the other without its header)
    let got = check(|d| {
        std::fs::remove_file(d.file("accounts.csv")).unwrap();
        std::fs::remove_file(d.file("leads.csv")).unwrap();
    });
    assert_eq!(got, vec![f("accounts", None, None, "missing_table")]);
}

#[test]
fn keys_in_rising_order_are_distinct() {
    // H1 H2 H3 H35 H4 ...: each key above the one before, none repeats
    let got = check(|d| d.replace("handoffs.csv", "\nH7,", "\nH35,"));
    assert_eq!(got, vec![]);
}

#[test]
fn repeated_identical_row() {
    let got = check(|d| d.append("leads.csv", "L9,A1,2026-09-01T10:00:00+09:00,inbound,web_form,R1,2026-09-03T10:00:00+09:00,\n"));
    assert_eq!(got, vec![f("leads", Some(13), Some("lead_id"), "duplicate_row")]);
}

#[test]
fn dangling_reference() {
    // L8 (line 10) points at an account that does not exist
    let got = check(|d| d.replace("leads.csv", "L8,A4,", "L8,A99,"));
    assert_eq!(got, vec![f("leads", Some(10), Some("account_id"), "dangling_reference")]);
}

#[test]
fn dangling_rep_on_handoff() {
    let got = check(|d| d.replace("handoffs.csv", "H3,L3,,R2,R4", "H3,L3,,R2,R9"));
    assert_eq!(got, vec![f("handoffs", Some(4), Some("to_rep_id"), "dangling_reference")]);
}

#[test]
fn closed_before_created() {
    // O7 (line 7) closes before it was created
    let got = check(|d| d.replace("opportunities.csv", "2026-08-30T10:00:00+09:00", "2026-06-30T10:00:00+09:00"));
    assert_eq!(got, vec![f("opportunities", Some(7), Some("closed_at"), "closed_before_created")]);
}

#[test]
fn qualified_before_created() {
    let got = check(|d| d.replace("leads.csv", "R1,2026-04-08T10:00:00+09:00", "R1,2026-04-01T10:00:00+09:00"));
    assert_eq!(got, vec![f("leads", Some(2), Some("qualified_at"), "qualified_before_created")]);
}

#[test]
fn won_without_closed_at() {
    let got = check(|d| d.replace("opportunities.csv", ",2026-06-20T10:00:00+09:00,won", ",,won"));
    assert_eq!(got, vec![f("opportunities", Some(4), Some("closed_at"), "closed_without_date")]);
}

#[test]
fn sent_back_before_handoff() {
    // H5 is line 7
    let got = check(|d| d.replace("handoffs.csv", "2026-08-20T10:00:00+09:00,timing_slip", "2026-07-01T10:00:00+09:00,timing_slip"));
    assert_eq!(got, vec![f("handoffs", Some(7), Some("sent_back_at"), "sent_back_before_handoff")]);
}

#[test]
fn more_sheet_fields_filled_than_exist() {
    let got = check(|d| d.replace("handoffs.csv", "medium,9,12,accepted", "medium,13,12,accepted"));
    assert_eq!(got, vec![f("handoffs", Some(8), Some("sheet_fields_filled"), "sheet_fields_over_total")]);
}

#[test]
fn latitude_off_the_globe() {
    let got = check(|d| d.replace("accounts.csv", ",35.68,", ",135.68,"));
    assert_eq!(got, vec![f("accounts", Some(2), Some("latitude"), "out_of_range")]);
}

#[test]
fn negative_duration() {
    let got = check(|d| d.replace("activities.csv", "call,connected,false,5", "call,connected,false,-5"));
    assert_eq!(got, vec![f("activities", Some(2), Some("duration_min"), "negative_value")]);
}

#[test]
fn ragged_row() {
    // T4 is line 5 of activities.csv; one field too many
    let got = check(|d| d.replace("activities.csv", "call,no_answer,,\n", "call,no_answer,,,\n"));
    assert_eq!(got, vec![f("activities", Some(5), None, "ragged_row")]);
}

#[test]
fn pasted_report_footer() {
    // a blank line (10), then two footer lines (11, 12) under the 8 opportunities
    let got = check(|d| {
        d.append("opportunities.csv", "\nGrand Totals (8 records)\n\"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.\"\n")
    });
    assert_eq!(
        got,
        vec![f("opportunities", Some(11), None, "report_footer"), f("opportunities", Some(12), None, "report_footer")]
    );
}

#[test]
fn a_last_record_cut_short_is_ragged_not_a_footer() {
    // the file's last record (O8, line 9) cut in its closed_at: 8 of its 12 fields
    let got = check(|d| {
        let text = d.read("opportunities.csv");
        let cut = text.rfind(",2026-09-28T").unwrap() + 12;
        d.write("opportunities.csv", &text[..cut]);
    });
    // (the activity of O8, line 14, then names a deal that is not there)
    assert_eq!(got, vec![f("opportunities", Some(9), None, "ragged_row"), f("activities", Some(14), Some("opportunity_id"), "dangling_reference")]);
}

#[test]
fn a_header_pasted_again_is_one_finding() {
    // two exports in one file: reps.csv's header again on line 4, before R3
    let got = check(|d| {
        let text = d.read("reps.csv");
        let header = text.lines().next().unwrap().to_uppercase();
        d.replace("reps.csv", "R3,AI Agent 1,", &format!("{header}\nR3,AI Agent 1,"));
    });
    assert_eq!(got, vec![f("reps", Some(4), None, "repeated_header")]);
    // in a table with references (activities: account, lead, deal, rep), the row is no
    // reference to "account_id" either: still the one finding
    let got = check(|d| {
        let text = d.read("activities.csv");
        let mut lines: Vec<&str> = text.lines().collect();
        lines.insert(4, lines[0]);
        d.write("activities.csv", &(lines.join("\n") + "\n"));
    });
    assert_eq!(got, vec![f("activities", Some(5), None, "repeated_header")]);
}

#[test]
fn missing_required_column() {
    let got = check(|d| d.replace("opportunities.csv", "created_at,amount,", "created_at,amt,"));
    assert_eq!(got, vec![f("opportunities", None, Some("amount"), "missing_column")]);
}

#[test]
fn missing_required_table() {
    let got = check(|d| d.remove("reps.csv"));
    assert_eq!(got, vec![f("reps", None, None, "missing_table")]);
}

#[test]
fn two_headers_naming_one_column() {
    let got = check(|d| d.replace("accounts.csv", "account_id,account_name,", "account_id,ACCOUNT_ID,"));
    assert_eq!(got, vec![f("accounts", None, Some("ACCOUNT_ID"), "duplicate_column")]);
}

#[test]
fn csv_and_parquet_for_one_table() {
    let got = check(|d| {
        let mut df = polars::df!("lead_id" => ["L1"]).unwrap();
        let file = std::fs::File::create(d.file("leads.parquet")).unwrap();
        polars::prelude::ParquetWriter::new(file).finish(&mut df).unwrap();
    });
    assert_eq!(got, vec![f("leads", None, None, "ambiguous_table")]);
}

#[test]
fn not_utf8_names_the_row_and_the_encoding_key() {
    let d = Dir::copy_of(&tiny());
    let mut bytes = d.read("leads.csv").into_bytes();
    let at = String::from_utf8(bytes.clone()).unwrap().find("webinar").unwrap();
    bytes[at + 3] = 0xE9; // Latin-1 e-acute
    std::fs::write(d.file("leads.csv"), bytes).unwrap();
    // auto: not UTF-8, but 0xE9 0x6E is a Shift_JIS character, so the file reads as
    // Shift_JIS, which every run says (a Latin-1 file needs its encoding set)
    let v = load(d.path(), false);
    assert_eq!(findings(&v), vec![]);
    assert_eq!(v.notes, vec!["leads.csv: read as Shift_JIS / CP932, as it is not UTF-8 (set `encoding` if it is neither)".to_string()]);
    assert_eq!(salesrelay::prepare::preamble(&v), v.notes);
    d.append("salesrelay.toml", "encoding = \"utf-8\"\n");
    let v = load(d.path(), false);
    assert_eq!(findings(&v), vec![f("leads", Some(3), None, "not_utf8")]);
    let detail = v.findings.column("detail").unwrap().str().unwrap().get(0).unwrap().to_string();
    assert!(detail.contains("encoding = \"auto\""), "{detail}");
}

#[test]
fn empty_file() {
    let got = check(|d| d.write("dsr_views.csv", ""));
    assert_eq!(got, vec![f("dsr_views", None, None, "empty_file")]);
}

#[test]
fn every_problem_is_listed_not_just_the_first() {
    let got = check(|d| {
        d.replace("opportunities.csv", ",300000,", ",-1,");
        d.replace("leads.csv", "L8,A4,", "L8,A99,");
        d.replace("reps.csv", "R1,Sato,IS,SDR", "R1,Sato,XX,SDR");
    });
    assert_eq!(
        got,
        vec![
            f("reps", Some(2), Some("team"), "unknown_value"),
            f("leads", Some(10), Some("account_id"), "dangling_reference"),
            f("opportunities", Some(4), Some("amount"), "negative_amount"),
        ]
    );
}

#[test]
fn lenient_sets_rows_aside_and_cascades_through_references() {
    let d = Dir::copy_of(&tiny());
    d.replace("accounts.csv", "Pet Grooming,12,Kansai", ",12,Kansai"); // A4, line 5: a required value
    let v = load(d.path(), true);
    let got = findings(&v);
    assert_eq!(
        got,
        vec![
            f("accounts", Some(5), Some("industry"), "missing_value"),
            f("leads", Some(5), Some("account_id"), "dangling_reference"), // L4
            f("leads", Some(10), Some("account_id"), "dangling_reference"), // L8
            f("opportunities", Some(4), Some("account_id"), "dangling_reference"), // O6
            f("activities", Some(12), Some("account_id"), "dangling_reference"), // T11
            f("activities", Some(12), Some("lead_id"), "dangling_reference"),
        ]
    );
    assert_eq!(v.tables["accounts"].height(), 3);
    assert_eq!(v.tables["leads"].height(), 9);
    assert_eq!(v.tables["opportunities"].height(), 7);
    assert_eq!(v.tables["activities"].height(), 13);
}

#[test]
fn a_composite_key_is_named_in_full() {
    // stage_history's key is opportunity_id + entered_at: O1 entering a second
    // stage at the moment it entered Qualification (line 12) repeats the key,
    // an exact copy of line 3 (line 13) repeats the row; O1 itself may repeat
    let d = Dir::copy_of(&tiny());
    d.append("stage_history.csv", "O1,Proposal,2026-04-10T15:00:00+09:00,1000000,2026-06-30\n");
    d.append("stage_history.csv", "O1,Closed Won,2026-06-15T10:00:00+09:00,1000000,2026-06-15\n");
    let v = load(d.path(), false);
    assert_eq!(
        findings(&v),
        vec![
            f("stage_history", Some(12), Some("opportunity_id + entered_at"), "duplicate_key"),
            f("stage_history", Some(13), Some("opportunity_id + entered_at"), "duplicate_row"),
        ]
    );
    let text = salesrelay::findings::format_findings(&v.findings, 3).unwrap();
    assert!(
        text.starts_with(
            "stage_history, column opportunity_id + entered_at: duplicate_key x 1 — the key opportunity_id + entered_at (together) repeats an earlier row with different values\n    row 12: \"O1 | 2026-04-10 06:00:00.000000+00:00\"\n"
        ),
        "{text}"
    );
    let effects = crate::util::strs(&v.findings, "effect");
    assert_eq!(effects, [Some("set_aside".to_string()), Some("set_aside".to_string())]);
}

#[test]
fn composite_keys_that_fold_alike_are_still_told_apart() {
    // the key check first folds a deal's code and entered_at into one integer
    // (code x 1,000,003 + microseconds); two different keys folding alike
    // (O2 entering a stage (code(O1) - code(O2)) x 1,000,003 us after O1
    // entered its) must not be taken for a repeat, and a true repeat beside them is still found
    use polars::prelude::*;
    // the deals' load codes, which the load below gives them too (held, they are kept for it)
    let _coding = salesrelay::ids::Coding::default();
    let codes = salesrelay::ids::encode_ids(&Series::new("o".into(), ["O1", "O2"]), ("opportunities", "opportunity_id")).unwrap();
    let codes = codes.into_series().cast(&DataType::Int64).unwrap();
    let (o1, o2) = (codes.i64().unwrap().get(0).unwrap(), codes.i64().unwrap().get(1).unwrap());
    let base = chrono::DateTime::parse_from_rfc3339("2026-05-01T09:00:00+09:00").unwrap();
    let o2_at = base + chrono::Duration::microseconds((o1 - o2) * 1_000_003);
    let d = Dir::copy_of(&tiny());
    d.append("stage_history.csv", &format!("O1,Proposal,{},1000000,2026-06-30\n", base.to_rfc3339()));
    d.append("stage_history.csv", &format!("O2,Negotiation,{},500000,2026-07-31\n", o2_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)));
    let v = load(d.path(), false);
    assert_eq!(findings(&v), vec![]);
    assert_eq!(v.tables["stage_history"].height(), 12);
    // the premise: the two new rows' keys do fold alike
    let fold = col("opportunity_id").to_physical().cast(DataType::Int64) * lit(1_000_003i64) + col("entered_at").to_physical().cast(DataType::Int64);
    let folds = v.tables["stage_history"].clone().lazy().select([fold.n_unique().alias("n")]).collect().unwrap();
    assert_eq!(folds.column("n").unwrap().cast(&DataType::UInt64).unwrap().u64().unwrap().get(0), Some(11));
    // the same two rows and a repeat of the first: the one duplicate named
    d.append("stage_history.csv", &format!("O1,Negotiation,{},1000000,2026-06-30\n", base.to_rfc3339()));
    let v = load(d.path(), false);
    assert_eq!(findings(&v), vec![f("stage_history", Some(14), Some("opportunity_id + entered_at"), "duplicate_key")]);
}

/// The unusual orders as (table, row, column, rule), like `findings`.
fn unusual(v: &salesrelay::validate::Validated) -> Vec<F> {
    let mut all = load_findings_of(&v.unusual);
    all.sort();
    all
}

fn load_findings_of(df: &polars::prelude::DataFrame) -> Vec<F> {
    let s = |c: &str| crate::util::strs(df, c);
    let rows = crate::util::f64s(df, "row");
    let (t, c, r) = (s("table"), s("column"), s("rule"));
    (0..df.height()).map(|i| (t[i].clone().unwrap(), rows[i].map(|x| x as i64), c[i].clone(), r[i].clone().unwrap())).collect()
}

#[test]
fn a_handoff_before_its_lead_was_created_is_impossible() {
    // H1 (line 2) hands off L1, created 2026-04-06 10:00 JST, on 2025-04-09: a year typo
    let d = Dir::copy_of(&tiny());
    d.replace("handoffs.csv", "H1,L1,O1,R1,R4,2026-04-09T10:00:00+09:00", "H1,L1,O1,R1,R4,2025-04-09T10:00:00+09:00");
    let v = load(d.path(), false);
    assert_eq!(findings(&v), vec![f("handoffs", Some(2), Some("handed_off_at"), "handoff_before_lead_created")]);
    let text = salesrelay::findings::format_findings(&v.findings, 3).unwrap();
    assert_eq!(
        text,
        "handoffs, column handed_off_at: handoff_before_lead_created x 1 — handed_off_at is before the created_at of its lead L1 (2026-04-06T01:00:00Z)\n    row 2: \"2025-04-09T01:00:00Z\"\n"
    );
    // --lenient sets the handoff aside like any other finding
    let v = load(d.path(), true);
    assert_eq!(crate::util::strs(&v.findings, "effect"), [Some("set_aside".to_string())]);
    assert_eq!(v.tables["handoffs"].height(), 7);
}

#[test]
fn a_deal_closed_before_its_lead_was_created_is_unusual() {
    // O1 (line 2) created 2026-03-02 and won 2026-04-03, before its lead L1 was
    // created (2026-04-06 10:00 JST): L1 was converted into a deal that existed
    let d = Dir::copy_of(&tiny());
    d.replace(
        "opportunities.csv",
        "O1,A1,L1,R4,2026-04-10T15:00:00+09:00,1000000,Closed Won,2026-06-15T10:00:00+09:00,won",
        "O1,A1,L1,R4,2026-03-02T15:00:00+09:00,1000000,Closed Won,2026-04-03T10:00:00+09:00,won",
    );
    let v = load(d.path(), false);
    assert_eq!(findings(&v), vec![]);
    assert_eq!(unusual(&v), vec![f("opportunities", Some(2), Some("closed_at"), "closed_before_lead_created")]);
    assert_eq!(
        crate::util::strs(&v.unusual, "detail"),
        [Some("closed_at is before the created_at of its lead L1 (2026-04-06T01:00:00Z)".to_string())]
    );
    assert_eq!(
        v.unusual_lines().unwrap(),
        ["unusual: 1 deal closed before its lead was created (kept: a lead converted into a deal that already existed does this)"]
    );
    // closed before its own creation too: the impossible order is the finding
    let d = Dir::copy_of(&tiny());
    d.replace("opportunities.csv", "2026-09-10T10:00:00+09:00,won", "2025-09-10T10:00:00+09:00,won"); // O3, line 5
    let v = load(d.path(), true);
    assert_eq!(findings(&v)[0], f("opportunities", Some(5), Some("closed_at"), "closed_before_created"));
    assert_eq!((v.tables["opportunities"].height(), v.unusual.height()), (7, 0));
}

#[test]
fn contacts_before_the_handoff_or_the_lead_are_unusual_not_problems() {
    // H2 (line 3) handed off 2026-04-16 10:00, FS first met the customer on 04-15;
    // T1 (line 2) called L1 at 09:30, half an hour before the lead was created
    let d = Dir::copy_of(&tiny());
    d.replace("handoffs.csv", "accepted,2026-04-21T09:00:00+09:00", "accepted,2026-04-15T09:00:00+09:00");
    d.replace("activities.csv", "T1,R1,A1,L1,,2026-04-06T10:30:00+09:00", "T1,R1,A1,L1,,2026-04-06T09:30:00+09:00");
    let v = load(d.path(), false);
    assert_eq!(findings(&v), vec![]);
    assert_eq!(
        unusual(&v),
        vec![
            f("activities", Some(2), Some("occurred_at"), "activity_before_lead_created"),
            f("handoffs", Some(3), Some("first_fs_contact_at"), "first_fs_contact_before_handoff"),
        ]
    );
    assert_eq!(crate::util::strs(&v.unusual, "effect"), [Some("none".to_string()), Some("none".to_string())]);
    assert_eq!(
        v.unusual_lines().unwrap(),
        [
            "unusual: 1 first FS contact before the handoff (counted as SLA met)",
            "unusual: 1 activity before its lead was created (kept; an IS rep's first one counts as a response within the hour)",
        ]
    );
    // --lenient keeps both rows as they are
    let v = load(d.path(), true);
    assert_eq!((v.tables["handoffs"].height(), v.tables["activities"].height()), (8, 14));
    assert_eq!(v.unusual.height(), 2);
    // the run goes on, says so in its summary and lists them in data_quality
    let out = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(d.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(
            "  unusual: 1 first FS contact before the handoff (counted as SLA met)\n  unusual: 1 activity before its lead was created (kept; an IS rep's first one counts as a response within the hour)\n"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("problem(s) found"), "{stdout}");
    let dq = {
        use polars::prelude::SerReader;
        let file = std::fs::File::open(out.path().join("FY2026-Q2/tables/data_quality.parquet")).unwrap();
        polars::prelude::ParquetReader::new(file).finish().unwrap()
    };
    assert_eq!(load_findings_of(&dq), vec![
        f("handoffs", Some(3), Some("first_fs_contact_at"), "first_fs_contact_before_handoff"),
        f("activities", Some(2), Some("occurred_at"), "activity_before_lead_created"),
    ]);
    assert_eq!(
        crate::util::strs(&dq, "detail"),
        [
            Some("first_fs_contact_at is before handed_off_at (2026-04-16T01:00:00Z)".to_string()),
            Some("occurred_at is before the created_at of its lead L1 (2026-04-06T01:00:00Z)".to_string()),
        ]
    );
    let o = crate::util::salesrelay(d.path(), &["validate", "--input", "."]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("  unusual: 1 first FS contact before the handoff (counted as SLA met)\n"));
}

/// A table read in pieces (each piece one chunk a column, as typing makes
/// them) is validated as it is, its chunks lined up, so no later filter
/// copies misaligned columns whole; a table whose columns' chunks do not
/// line up is made one chunk a column. The activities of `tiny` split into
/// pieces of 5, 4 and the rest keep those three chunks in every column;
/// with one column in one chunk and the others in three, every column
/// comes out one chunk; both with the same values as read whole.
#[test]
fn validated_tables_hold_chunks_that_line_up() {
    use salesrelay::config::Config;
    use salesrelay::load::read_input;
    use salesrelay::validate::validate;
    let dir = tiny();
    let (config, _) = Config::resolve(None, &dir, &Default::default()).unwrap();
    let whole = validate(read_input(&dir, &config, salesrelay::load::Hashes::Taken).unwrap(), false).unwrap();
    assert!(whole.tables.values().all(|df| !df.should_rechunk()), "the loaders' tables line up");
    let lengths = |c: &polars::prelude::Column| c.as_materialized_series().chunk_lengths().collect::<Vec<_>>();
    for misaligned in [false, true] {
        let mut raw = read_input(&dir, &config, salesrelay::load::Hashes::Taken).unwrap();
        let acts = &mut raw.tables.get_mut("activities").unwrap().df;
        let mut pieces = acts.slice(0, 5);
        pieces.vstack_mut(&acts.slice(5, 4)).unwrap();
        pieces.vstack_mut(&acts.slice(9, acts.height())).unwrap();
        assert!(pieces.columns().iter().all(|c| c.n_chunks() == 3), "the pieces are chunks of their own");
        if misaligned {
            // kind in one chunk, the other columns in three
            let kind = pieces.column("kind").unwrap().as_materialized_series().rechunk();
            pieces.replace("kind", polars::prelude::Column::from(kind)).unwrap();
            assert!(pieces.should_rechunk());
        }
        *acts = pieces;
        let split = validate(raw, false).unwrap();
        for (name, df) in &split.tables {
            assert!(!df.should_rechunk(), "{name}'s chunks line up");
        }
        let acts = &split.tables["activities"];
        let expected: Vec<usize> = if misaligned { vec![acts.height()] } else { vec![5, 4, acts.height() - 9] };
        for c in acts.columns() {
            assert_eq!(lengths(c), expected, "activities.{} (misaligned: {misaligned})", c.name());
        }
        assert!(acts.equals_missing(&whole.tables["activities"]));
    }
}

/// A text column of the chunks `chunks` (each a chunk of its own), as frame column "k".
fn chunked_text(chunks: &[Vec<Option<&str>>]) -> DataFrame {
    let mut text = StringChunked::new("k".into(), chunks[0].clone());
    for c in &chunks[1..] {
        text.append(&StringChunked::new("k".into(), c.clone())).unwrap();
    }
    assert_eq!(text.chunks().len(), chunks.len());
    DataFrame::new(text.len(), vec![text.into_series().into_column()]).unwrap()
}

/// `validate::ascending_text`, by hand: each value above the one before,
/// within a chunk and across the chunks' edges; an equal or smaller
/// value, or a null, anywhere makes it no.
#[test]
fn text_keys_ascend_within_and_across_chunks() {
    use salesrelay::validate::ascending_text;
    let asc = |chunks: &[Vec<Option<&str>>]| ascending_text(&chunked_text(chunks), "k").unwrap();
    assert!(asc(&[vec![Some("a"), Some("b"), Some("c")]]));
    assert!(asc(&[vec![Some("a"), Some("b"), Some("c")], vec![Some("d"), Some("e")]]));
    assert!(asc(&[vec![Some("a")], vec![Some("b")], vec![Some("c")]]));
    // equal across an edge, smaller within a chunk, smaller across an edge
    assert!(!asc(&[vec![Some("a"), Some("b"), Some("c")], vec![Some("c"), Some("d")]]));
    assert!(!asc(&[vec![Some("a"), Some("c"), Some("b")], vec![Some("d")]]));
    assert!(!asc(&[vec![Some("b")], vec![Some("a")]]));
    // text order, not number order: T10 is below T9
    assert!(!asc(&[vec![Some("T8"), Some("T9")], vec![Some("T10")]]));
    // a null within a chunk or at an edge
    assert!(!asc(&[vec![Some("a"), None, Some("c")]]));
    assert!(!asc(&[vec![Some("a"), Some("b")], vec![None, Some("d")]]));
    assert!(!asc(&[vec![Some("a"), Some("b")], vec![Some("c"), None]]));
    // one row, or a column that is not text: no
    assert!(!asc(&[vec![Some("a")]]));
    let numbers = df!("k" => [1i64, 2, 3]).unwrap();
    assert!(!ascending_text(&numbers, "k").unwrap());
}

proptest::proptest! {
    /// On any text column cut into any chunks, `ascending_text` says yes
    /// exactly where every value is above the one before and none is null.
    #[test]
    fn text_keys_ascend_as_the_values_do(values in proptest::collection::vec(proptest::option::weighted(0.95, "[a-d]{1,3}"), 2..60), cuts in proptest::collection::vec(1usize..60, 0..6)) {
        let mut cuts: Vec<usize> = cuts.into_iter().filter(|c| *c < values.len()).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut chunks = Vec::new();
        let mut from = 0;
        for c in cuts.into_iter().chain([values.len()]) {
            chunks.push(values[from..c].iter().map(|v| v.as_deref()).collect::<Vec<_>>());
            from = c;
        }
        let expected = values.iter().all(Option::is_some) && values.windows(2).all(|w| w[1] > w[0]);
        proptest::prop_assert_eq!(salesrelay::validate::ascending_text(&chunked_text(&chunks), "k").unwrap(), expected);
    }
}

/// A report's footer under the data (a Salesforce report export's last
/// lines) is no row of the table: --lenient counts neither its lines among
/// opportunities' 8 rows nor among those set aside, so a footer alone never
/// exceeds max_share; the findings still name each line.
#[test]
fn a_report_footer_is_not_counted_as_rows_set_aside() {
    let d = Dir::copy_of(&tiny());
    d.append("opportunities.csv", "\n\n\"Opportunity Pipeline\"\n\"Copyright (c) 2000-2026 salesforce.com, inc.\"\n\"Confidential\"\n");
    let v = load(d.path(), true);
    let opps = v.set_aside.iter().find(|s| s.table == "opportunities").unwrap();
    assert_eq!((opps.rows, opps.set_aside), (8, 0));
    let footers: Vec<_> = findings(&v).into_iter().filter(|f| f.3 == "report_footer").map(|f| f.1).collect();
    assert_eq!(footers, vec![Some(12), Some(13), Some(14)]);
}
