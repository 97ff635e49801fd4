//! Mapping files: the built-in salesforce mapping on a hand-written
//! Salesforce-shaped export, the built-in olist mapping on the public
//! dataset (counted independently here), and mapping errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use salesrelay::metrics::compute_tables;
use salesrelay::prepare::{prepare, InputOptions};

use crate::util::{root, text, Dir};

pub fn salesforce() -> PathBuf {
    root().join("tests/fixtures/salesforce")
}

pub fn mapped(input: &Path, mapping: &str) -> InputOptions {
    InputOptions { mapping: Some(mapping.to_string()), ..InputOptions::new(input) }
}

fn quiet() -> salesrelay::progress::Progress {
    salesrelay::progress::Progress::new(true)
}

/// Every output table of a mapped input, by name.
pub fn outputs(opts: &InputOptions) -> (salesrelay::prepare::Prepared, BTreeMap<String, DataFrame>) {
    let p = prepare(opts, false, None, None, &quiet()).expect("prepare");
    let tables = compute_tables(&p.model()).expect("compute").into_iter().map(|(d, df)| (d.name, df)).collect();
    (p, tables)
}

/// kpi_tree value of `node` for the total segment in `period`.
pub fn node(kpi: &DataFrame, period: &str, n: &str) -> Option<f64> {
    let df = kpi
        .clone()
        .lazy()
        .filter(col("period").eq(lit(period)).and(col("segment_kind").eq(lit("total"))).and(col("node").eq(lit(n))).and(col("comparison").eq(lit("prior_quarter"))))
        .collect()
        .unwrap();
    assert!(df.height() <= 1);
    (df.height() == 1).then(|| df.column("value").unwrap().f64().unwrap().get(0)).flatten()
}

fn has_node(kpi: &DataFrame, n: &str) -> bool {
    kpi.column("node").unwrap().str().unwrap().iter().any(|v| v == Some(n))
}

/// One text cell of `table` where `key_col` = `key`.
pub fn cell(df: &DataFrame, key_col: &str, key: &str, column: &str) -> Option<String> {
    let hit = df.clone().lazy().filter(col(key_col).eq(lit(key))).select([col(column).cast(DataType::String)]).collect().unwrap();
    assert_eq!(hit.height(), 1, "{key_col} = {key}");
    hit.column(column).unwrap().str().unwrap().get(0).map(str::to_string)
}

#[test]
fn salesforce_export_maps_onto_every_table_it_supports() {
    let (p, out) = outputs(&mapped(&salesforce(), "salesforce"));
    let v = &p.validated;
    assert_eq!(v.findings.height(), 0, "{}", v.findings);
    let rows: BTreeMap<&str, usize> = v.tables.iter().map(|(n, df)| (*n, df.height())).collect();
    // 4 accounts + Umeda Foods (a lead whose company is no account); 8 users; 6 leads;
    // 6 opportunities; 3 converted leads = 3 handoffs; 6 tasks - 1 to-do + 6 events; 7 history rows
    let expected = [("accounts", 5), ("reps", 8), ("leads", 6), ("opportunities", 6), ("handoffs", 3), ("activities", 11), ("stage_history", 7)];
    assert_eq!(rows, expected.into_iter().collect());
    assert!(!v.tables.contains_key("dsr_views"));

    let reps = &text(v, "reps");
    for (id, team, role) in [("005A1", "is", "sdr"), ("005A2", "is", "bdr"), ("005A3", "fs", "fs"), ("005A5", "is", "ai_sdr"), ("005A6", "cs", "cs")] {
        assert_eq!(cell(reps, "rep_id", id, "team").unwrap().to_lowercase(), team, "{id}");
        assert_eq!(cell(reps, "rep_id", id, "role").unwrap().to_lowercase(), role, "{id}");
    }
    let leads = &text(v, "leads");
    assert_eq!(cell(leads, "lead_id", "00QC3", "account_id").as_deref(), Some("lead-company:Umeda Foods"));
    assert_eq!(cell(leads, "lead_id", "00QC4", "account_id").as_deref(), Some("001B3"), "matched by company name");
    assert_eq!(cell(leads, "lead_id", "00QC2", "source").as_deref(), Some("outbound"), "Purchased List");
    assert_eq!(cell(leads, "lead_id", "00QC4", "source").as_deref(), Some("inbound"), "Phone Inquiry");
    assert!(cell(leads, "lead_id", "00QC4", "qualified_at").is_none());
    assert!(cell(leads, "lead_id", "00QC4", "disqualified_at").unwrap().starts_with("2026-07-20 05:00:00"));
    // ConvertedDate 2026-04-10 is local midnight in Asia/Tokyo = 15:00 UTC the day before
    assert!(cell(leads, "lead_id", "00QC1", "qualified_at").unwrap().starts_with("2026-04-09 15:00:00"));

    let opps = &text(v, "opportunities");
    assert_eq!(cell(opps, "opportunity_id", "006D1", "lead_id").as_deref(), Some("00QC1"), "reverse lookup of ConvertedOpportunityId");
    assert_eq!(cell(opps, "opportunity_id", "006D4", "lead_id"), None, "FS-sourced");
    assert_eq!(cell(opps, "opportunity_id", "006D2", "outcome").as_deref(), Some("lost"));
    assert_eq!(cell(opps, "opportunity_id", "006D5", "outcome").as_deref(), Some("open"));
    assert_eq!(cell(opps, "opportunity_id", "006D5", "closed_at"), None, "CloseDate only when IsClosed");

    let acts = &text(v, "activities");
    assert_eq!(cell(acts, "activity_id", "00UG1", "kind").as_deref(), Some("visit"), "Kobe HQ");
    assert_eq!(cell(acts, "activity_id", "00UG2", "kind").as_deref(), Some("online_meeting"), "zoom link");
    assert_eq!(cell(acts, "activity_id", "00TF3", "outcome").as_deref(), Some("appointment_set"), "Meeting Booked");
    assert_eq!(cell(acts, "activity_id", "00TF4", "outcome"), None, "an email has no disposition");
    assert_eq!(cell(acts, "activity_id", "00TF4", "account_id").as_deref(), Some("lead-company:Umeda Foods"));
    assert_eq!(cell(acts, "activity_id", "00TF1", "account_id").as_deref(), Some("001B1"), "through the converted lead");
    assert_eq!(cell(acts, "activity_id", "00UG3", "opportunity_id").as_deref(), Some("006D3"));
    assert_eq!(cell(acts, "activity_id", "00TF1", "duration_min").as_deref(), Some("5.0"), "300 s");
    let handoffs = &text(v, "handoffs");
    assert_eq!(cell(handoffs, "handoff_id", "00QC5", "to_rep_id").as_deref(), Some("005A3"), "the opportunity's owner");

    // FY2026-Q2 (Jul-Sep 2026) and Q1, worked by hand from the CSVs:
    // leads by CreatedDate: Q1 00QC1-3 (inbound 1, 3; outbound 2), Q2 00QC4-6;
    // SQLs by ConvertedDate: Q1 00QC1, 00QC2; Q2 00QC5; wins by CloseDate:
    // Q1 006D1 1.0M (IS); Q2 006D3 3.0M (IS), 006D4 0.5M (FS); losses 006D6 (Q1, FS), 006D2 (Q2, IS).
    let kpi = &out["kpi_tree"];
    assert_eq!(p.label, "FY2026-Q2");
    let q2 = |n| node(kpi, "FY2026-Q2", n);
    let q1 = |n| node(kpi, "FY2026-Q1", n);
    assert_eq!((q1("leads"), q1("leads_inbound"), q1("leads_outbound")), (Some(3.0), Some(2.0), Some(1.0)));
    assert_eq!((q2("leads"), q1("sqls"), q2("sqls")), (Some(3.0), Some(2.0), Some(1.0)));
    assert_eq!((q2("handoffs"), q2("accepted"), q2("wins_is")), (Some(1.0), Some(1.0), Some(1.0)));
    assert_eq!((q1("revenue"), q2("revenue"), q2("revenue_fs")), (Some(1_000_000.0), Some(3_500_000.0), Some(500_000.0)));
    assert_eq!(q2("win_rate"), Some(2.0 / 3.0), "006D3, 006D4 won; 006D2 lost");
    assert_eq!((q2("opps_fs"), q2("win_yield_fs")), (Some(2.0), Some(0.5)), "006D4, 006D5 created in Q2; 006D4 won");
    // FS meetings: Q1 00UG1 visit, 00UG2 and 00UG4 online; Q2 00UG3 and 00UG5 visits
    assert_eq!((q1("in_person_share"), q2("in_person_share")), (Some(1.0 / 3.0), Some(1.0)));
    // inbound leads of Q1: 00QC1 (call 00TF1 after 30 min) and 00QC3 (AI SDR email 00TF4 after 5 min)
    assert_eq!(q1("contacted_within_1h_share"), Some(1.0));
    // no first FS contact in standard Salesforce: not available, not 0
    assert!(!has_node(kpi, "sla_met_rate"));
    assert!(has_node(kpi, "acceptance_rate"));

    // the losses exist but cannot be classified without a custom field
    let losses = &out["losses"];
    assert_eq!(losses.height(), 2);
    assert!(losses.column("category").unwrap().str().unwrap().iter().all(|c| c == Some("unclassified")));
}

#[test]
fn salesforce_run_reports_its_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let opts = salesrelay::commands::run::RunOptions {
        input: mapped(&salesforce(), "salesforce"),
        out: dir.path().to_path_buf(),
        period: None,
        lenient: false,
        quiet: true,
        queries: root().join("queries"),
        strict: true,
    };
    let report = salesrelay::commands::run::run_command(&opts).expect("run");
    let coverage = ParquetReader::new(std::fs::File::open(report.folder.join("tables/data_coverage.parquet")).unwrap()).finish().unwrap();
    let status = |name: &str| cell(&coverage, "name", name, "status");
    assert_eq!(status("activities").as_deref(), Some("loaded"));
    assert_eq!(cell(&coverage, "name", "activities", "source").as_deref(), Some("Task.csv, Event.csv (mapping salesforce)"));
    let note = cell(&coverage, "name", "activities", "reason").unwrap();
    assert!(note.contains("Task.csv: 5 of 6 rows (filter"), "{note}");
    assert_eq!(status("dsr_views").as_deref(), Some("not available"));
    assert_eq!(status("handoffs.first_fs_contact_at").as_deref(), Some("not available"));
    assert_eq!(status("sla_met_rate").as_deref(), Some("not available"));
    assert_eq!(status("win_rate").as_deref(), Some("computed"));
    let md = std::fs::read_to_string(report.folder.join("report.md")).unwrap();
    assert!(md.contains("## Data coverage"));
    assert!(md.contains("Input read through the mapping salesforce"));
    assert!(md.contains("note on handoffs: Standard Salesforce has no handoff record"));
    let manifest = std::fs::read_to_string(report.folder.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"file\": \"Lead.csv\""), "{manifest}");
}

/// The Olist dataset as it circulates: the test reads it from ../shared
/// (beside the repository in CI) and is skipped, saying so, without it.
fn olist() -> Option<PathBuf> {
    let dir = root().join("../shared/data/olist");
    if dir.join("olist_closed_deals_dataset.csv").is_file() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} not found (the public Olist dataset is not committed)", dir.display());
        None
    }
}

/// Calendar quarter label (the olist mapping sets fiscal_year_start_month = 1)
/// of a DD-MM-YYYY[ HH:MM] date, read by splitting the text.
fn quarter_of(ddmmyyyy: &str) -> String {
    let date = ddmmyyyy.split(' ').next().unwrap();
    let parts: Vec<&str> = date.split('-').collect();
    let month: u32 = parts[1].parse().unwrap();
    format!("FY{}-Q{}", parts[2], (month - 1) / 3 + 1)
}

#[test]
fn olist_headline_counts_match_the_csv_files() {
    let Some(dir) = olist() else { return };
    // Independent count: the csv crate reads both files; leads per quarter of
    // first_contact_date, wins and declared revenue per quarter of won_date.
    let mut leads: BTreeMap<String, f64> = BTreeMap::new();
    let mut mqls = 0usize;
    for r in csv::Reader::from_path(dir.join("olist_marketing_qualified_leads_dataset.csv")).unwrap().records() {
        let r = r.unwrap();
        *leads.entry(quarter_of(&r[1])).or_default() += 1.0;
        mqls += 1;
    }
    let mut wins: BTreeMap<String, f64> = BTreeMap::new();
    let mut revenue: BTreeMap<String, f64> = BTreeMap::new();
    let mut deals = 0usize;
    for r in csv::Reader::from_path(dir.join("olist_closed_deals_dataset.csv")).unwrap().records() {
        let r = r.unwrap();
        let q = quarter_of(&r[4]);
        *wins.entry(q.clone()).or_default() += 1.0;
        *revenue.entry(q).or_default() += r[13].parse::<f64>().unwrap();
        deals += 1;
    }
    assert_eq!((mqls, deals), (8000, 842));

    let (p, out) = outputs(&mapped(&dir, "olist"));
    let v = &p.validated;
    assert_eq!(v.findings.height(), 0, "{}", v.findings);
    assert_eq!(v.tables["leads"].height(), 8000);
    assert_eq!(v.tables["opportunities"].height(), 842);
    // 32 SDRs and 22 SRs, each role its own rep, and `unassigned`
    assert_eq!(v.tables["reps"].height(), 32 + 22 + 1);
    let kpi = &out["kpi_tree"];
    for (q, n) in &leads {
        assert_eq!(node(kpi, q, "leads"), Some(*n), "leads in {q}");
        assert_eq!(node(kpi, q, "leads_inbound"), Some(*n), "every MQL is inbound ({q})");
    }
    for (q, n) in &wins {
        assert_eq!(node(kpi, q, "wins_is"), Some(*n), "wins in {q}");
        assert_eq!(node(kpi, q, "revenue"), Some(revenue[q]), "declared revenue in {q}");
    }
    assert_eq!(wins.values().sum::<f64>(), 842.0);
    // not in the data: not available, never 0 or 100%
    for n in ["win_rate", "sql_rate", "sqls", "losses_is", "in_person_share", "acceptance_rate", "pipeline_created_is"] {
        assert!(!has_node(kpi, n), "{n} must be left out");
    }
    for t in ["losses", "loss_summary", "handoffs", "industry_visit_ratio", "pipeline_movement"] {
        assert!(!out.contains_key(t), "{t} must be not available");
    }
    assert!(out["is_reps"].column("sqls").unwrap().null_count() == out["is_reps"].height(), "SQLs per rep are not available");
    // the calendar quarters come from the mapping's [config]
    assert_eq!(p.config.fiscal_year_start_month, 1);
    assert_eq!(p.config.time_zone, "America/Sao_Paulo");
}

#[test]
fn olist_dates_in_a_dst_gap_start_at_the_first_local_hour() {
    let Some(dir) = olist() else { return };
    // Brazil moved clocks from 00:00 to 01:00 on 2017-10-15: that day starts at 01:00 local = 03:00 UTC
    let (p, _) = outputs(&mapped(&dir, "olist"));
    let leads = &p.validated.tables["leads"];
    let that_day = leads
        .clone()
        .lazy()
        .filter(col("created_at").cast(DataType::String).str().starts_with(lit("2017-10-15")))
        .collect()
        .unwrap();
    assert!(that_day.height() > 0);
    let times: Vec<String> = that_day.column("created_at").unwrap().cast(&DataType::String).unwrap().str().unwrap().iter().map(|s| s.unwrap().to_string()).collect();
    assert!(times.iter().all(|t| t.starts_with("2017-10-15 03:00:00")), "{times:?}");
}

/// A mapping error as text.
pub fn mapping_error(mapping_text: &str, input: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.toml");
    std::fs::write(&file, mapping_text).unwrap();
    let opts = mapped(input, file.to_str().unwrap());
    match prepare(&opts, false, None, None, &quiet()) {
        Ok(_) => panic!("mapping accepted"),
        Err(e) => e.to_string(),
    }
}

const MINIMAL: &str = r#"
[[accounts]]
file = "Account"
[accounts.columns]
account_id = "Id"
industry = "Industry"

[[reps]]
file = "User"
[reps.columns]
rep_id = "Id"
team = { value = "FS" }
role = { value = "FS" }

[[opportunities]]
file = "Opportunity"
[opportunities.columns]
opportunity_id = "Id"
account_id = "AccountId"
owner_rep_id = "OwnerId"
created_at = "CreatedDate"
amount = "Amount"
outcome = { expr = "CASE WHEN IsWon = 'true' THEN 'won' WHEN IsClosed = 'true' THEN 'lost' ELSE 'open' END" }
closed_at = { expr = "CASE WHEN IsClosed = 'true' THEN CloseDate END" }
"#;

#[test]
fn a_minimal_mapping_runs_and_names_every_table_it_leaves_out() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.toml");
    std::fs::write(&file, MINIMAL).unwrap();
    let (p, out) = outputs(&mapped(&salesforce(), file.to_str().unwrap()));
    assert_eq!(p.validated.tables["opportunities"].height(), 6);
    assert!(p.validated.missing.contains(&"leads"));
    let kpi = &out["kpi_tree"];
    assert_eq!(node(kpi, "FY2026-Q2", "revenue"), Some(3_500_000.0));
    assert!(!has_node(kpi, "leads"));
    // without lead_id nobody knows which deals came from inside sales: not available, never 0
    for n in ["opps_is", "pipeline_created_is", "pipeline_share_is", "revenue_is", "revenue_fs", "wins_fs", "deal_size_fs", "opps_fs"] {
        assert!(!has_node(kpi, n), "{n}");
    }
    let coverage = salesrelay::coverage::data_coverage(&p.model(), &p.validated, &[]).unwrap();
    let why = cell(&coverage, "name", "opps_is", "reason").unwrap_or_default();
    assert!(why.starts_with("needs opportunities.lead_id"), "{why}");
}

#[test]
fn mapping_errors_name_the_key_and_the_source_column() {
    let sf = salesforce();
    let cases: Vec<(String, Vec<&str>)> = vec![
        (MINIMAL.replace(r#"account_id = "AccountId""#, r#"account_id = "AcountId""#), vec!["opportunities[0].columns.account_id", "Opportunity.csv has no column AcountId (did you mean AccountId?)"]),
        (MINIMAL.replace("IsWon = 'true'", "IsWonn = 'true'"), vec!["opportunities[0].columns.outcome", "names column IsWonn", "(did you mean IsWon?)"]),
        (MINIMAL.replace(r#"amount = "Amount""#, r#"amount = { expr = "CloseDate - CreatedDate" }"#), vec!["opportunities[0].columns.amount", "cannot be computed from Opportunity.csv"]),
        (MINIMAL.replace("IsWon = 'true'", "IsWonX = 'true'"), vec!["opportunities[0].columns.outcome", "names column IsWonX", "Opportunity.csv"]),
        (MINIMAL.replace("CASE WHEN IsWon", "CASE WHEN WHEN IsWon"), vec!["opportunities[0].columns.outcome", "is not an SQL expression"]),
        (MINIMAL.replace(r#"industry = "Industry""#, r#"industry = "Industry"
sector = "Industry""#), vec!["accounts[0].columns.sector", "accounts has no column sector"]),
        (MINIMAL.replace(r#"industry = "Industry""#, ""), vec!["accounts[0].columns", "required column industry"]),
        (MINIMAL.replace(r#"role = { value = "FS" }"#, r#"role = { value = "FS", column = "Title" }"#), vec!["reps[0].columns.role", "exactly one of column, expr or value"]),
        (MINIMAL.replace(r#"role = { value = "FS" }"#, r#"role = { value = "FS", colour = "red" }"#), vec!["reps[0].columns.role", "colour"]),
        (format!("{MINIMAL}\n[[deals]]\nfile = \"Opportunity\"\n"), vec!["deals", "unknown key"]),
        (MINIMAL.replace("[[opportunities]]\nfile = \"Opportunity\"", "[[opportunities]]\nfile = \"Opportunity\"\nlookups = [{ as = \"lead\", file = \"Lead\", key = \"ConvertedOppId\", on = \"Id\" }]"), vec!["opportunities[0].lookups[0].key", "Lead.csv has no column ConvertedOppId"]),
        (MINIMAL.replace("[[opportunities]]\nfile = \"Opportunity\"", "[[opportunities]]\nfile = \"Opportunity\"\nfilter = \"Stage = 'x'\""), vec!["opportunities[0].filter", "names column Stage"]),
    ];
    for (text, wanted) in cases {
        let e = mapping_error(&text, &sf);
        for w in wanted {
            assert!(e.contains(w), "{w:?} not in {e:?}");
        }
    }
    let e = mapping_error("not toml = = 1", &sf);
    assert!(e.contains("TOML"), "{e}");
    let opts = mapped(&sf, "zoho");
    let e = prepare(&opts, false, None, None, &quiet()).err().unwrap().to_string();
    assert!(e.contains("--mapping zoho") && e.contains("salesforce, olist, hubspot"), "{e}");
}

#[test]
fn bad_values_in_a_mapped_export_are_named_by_source_file_row_and_mapping_key() {
    let d = Dir::copy_of(&salesforce());
    // line 4 of Event.csv (00UG3) gets a start time that is no timestamp
    d.replace("Event.csv", "2026-07-20T01:00:00.000Z", "next Tuesday");
    // line 3 of Task.csv (00TF2) an unknown lead: its account is empty
    d.replace("Task.csv", "00TF2,00QC2,", "00TF2,00QC9,");
    d.remove("OpportunityHistory.csv");
    d.write("salesrelay.toml", "[lenient]\nmax_share = 0.5\n"); // the fixture is tiny: 2 of 11 activities
    let p = prepare(&mapped(d.path(), "salesforce"), true, None, None, &quiet()).expect("lenient run");
    let f = &p.validated.findings;
    let rows: Vec<(String, String, i64, String, String)> = (0..f.height())
        .map(|i| {
            let s = |c: &str| f.column(c).unwrap().str().unwrap().get(i).unwrap_or("").to_string();
            (s("table"), s("file"), f.column("row").unwrap().i64().unwrap().get(i).unwrap_or(-1), s("column"), s("rule"))
        })
        .collect();
    assert!(rows.contains(&("activities".into(), "Event.csv".into(), 4, "occurred_at".into(), "not_a_timestamp".into())), "{rows:?}");
    assert!(rows.contains(&("activities".into(), "Task.csv".into(), 3, "account_id".into(), "missing_value".into())), "{rows:?}");
    let detail = f.column("detail").unwrap().str().unwrap().get(rows.iter().position(|r| r.1 == "Event.csv").unwrap()).unwrap().to_string();
    assert!(detail.contains("Event.csv column StartDateTime, mapping salesforce key activities[1].columns.occurred_at"), "{detail}");
    // both rows set aside, the other nine kept; a missing optional file is not available, not an error
    assert_eq!(p.validated.tables["activities"].height(), 9);
    assert!(p.validated.missing.contains(&"stage_history"));
    let why = &p.validated.unavailable["stage_history"];
    assert!(why.contains("OpportunityHistory.csv (mapping key stage_history[0].file) not in the input"), "{why}");
    // data_coverage counts them and the to-do the Task filter left out
    let coverage = salesrelay::coverage::data_coverage(&p.model(), &p.validated, &[]).unwrap();
    let note = cell(&coverage, "name", "activities", "reason").unwrap();
    assert!(note.contains("Task.csv: 5 of 6 rows (filter") && note.ends_with("2 problem(s), see data_quality"), "{note}");
    assert_eq!(cell(&coverage, "name", "activities", "rows").as_deref(), Some("9"));
    assert_eq!(cell(&coverage, "name", "stage_history", "status").as_deref(), Some("not available"));
}

#[test]
fn date_formats_value_maps_defaults_and_literal_rows() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("deals.csv"),
        "ref,who,opened,closed,state,value,sector\nA1,r1,31-03-2026,02-04-2026 17:30,W,100,Banking\nA2,r1,01-04-2026,,open,,\nA3,r2,15/05/2026,20-05-2026 09:00,L,50,bank\nA4,r2,20-05-2026,21-05-2026 10:00,X,10,Banking\n",
    )
    .unwrap();
    let mapping = r#"
[config]
fiscal_year_start_month = 1
[[accounts]]
file = "deals"
[accounts.columns]
account_id = "ref"
industry = { column = "sector", map = { "bank" = "Banking" }, default = "Other" }
[[reps]]
rows = [{ id = "r1" }, { id = "r2" }]
[reps.columns]
rep_id = "id"
team = { value = "FS" }
role = { value = "FS" }
[[opportunities]]
file = "deals"
[opportunities.columns]
opportunity_id = "ref"
account_id = "ref"
owner_rep_id = "who"
created_at = { column = "opened", format = ["%d-%m-%Y", "%d/%m/%Y"] }
closed_at = { column = "closed", format = "%d-%m-%Y %H:%M" }
amount = { column = "value", default = 0 }
outcome = { column = "state", map = { "W" = "won", "L" = "lost" } }
"#;
    std::fs::write(d.path().join("m.toml"), mapping).unwrap();
    std::fs::write(d.path().join("salesrelay.toml"), "[lenient]\nmax_share = 1.0\n").unwrap();
    let p = prepare(&mapped(d.path(), d.path().join("m.toml").to_str().unwrap()), true, None, None, &quiet()).expect("lenient");
    let opps = &text(&p.validated, "opportunities");
    // A4's outcome X is in no map and passes through: an unknown value, set aside
    assert_eq!(opps.height(), 3);
    let f = &p.validated.findings;
    assert_eq!(f.height(), 1, "{f}");
    assert_eq!(f.column("rule").unwrap().str().unwrap().get(0), Some("unknown_value"));
    assert_eq!(f.column("row").unwrap().i64().unwrap().get(0), Some(5));
    // 31-03-2026 is a date: local midnight in Tokyo = 15:00 UTC the day before; 15/05/2026 by the second format
    assert!(cell(opps, "opportunity_id", "A1", "created_at").unwrap().starts_with("2026-03-30 15:00:00"));
    assert!(cell(opps, "opportunity_id", "A3", "created_at").unwrap().starts_with("2026-05-14 15:00:00"));
    assert!(cell(opps, "opportunity_id", "A1", "closed_at").unwrap().starts_with("2026-04-02 08:30:00"));
    assert_eq!(cell(opps, "opportunity_id", "A2", "amount").as_deref(), Some("0.0"), "default");
    assert_eq!(cell(opps, "opportunity_id", "A3", "outcome").as_deref(), Some("lost"));
    let accounts = &text(&p.validated, "accounts");
    assert_eq!(cell(accounts, "account_id", "A3", "industry").as_deref(), Some("Banking"), "value maps ignore case");
    assert_eq!(cell(accounts, "account_id", "A2", "industry").as_deref(), Some("Other"), "default for an empty value");
    assert_eq!(p.validated.tables["reps"].height(), 2);
}

#[test]
fn olist_quarters_without_revenue_rank_no_driver_and_draw_no_bridge() {
    let Some(dir) = olist() else { return };
    let out = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(
        &root(),
        &["run", "--input", dir.to_str().unwrap(), "--mapping", "olist", "--period", "FY2018-Q2", "--queries", "none", "--out", out.path().to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    // declared revenue starts in 2018-Q3: 0 in both quarters, so nothing moved it
    assert!(stdout.contains("  - biggest movers: revenue was 0 in both FY2018-Q1 and FY2018-Q2: there is no change to attribute\n"), "{stdout}");
    assert!(!stdout.contains("Leads fell"), "{stdout}");
    let folder = out.path().join("FY2018-Q2");
    assert!(!folder.join("charts/revenue_bridge.svg").exists());
    let md = std::fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(md.contains("- revenue_bridge: revenue was 0 in both FY2018-Q1 and FY2018-Q2: there is no change to attribute"), "{md}");
    // no SQLs in Olist: no IS-rep scatter of empty axes, but the reason; the trend panels say what is missing
    assert!(!folder.join("charts/is_reps.svg").exists());
    assert!(md.contains("- is_reps: no IS rep has both SQLs and a SQL-to-win in FY2018-Q2: the input lacks qualified leads or their deals (see Data coverage)"), "{md}");
    let trends = std::fs::read_to_string(folder.join("charts/trends.svg")).unwrap();
    assert_eq!(trends.matches("not available in this input (see Data coverage)").count(), 3, "SQL rate, win yield, in-person share");
}

/// An optional table's file the input lacks is named with its mapping key
/// and the folder's file it most likely meant.
#[test]
fn a_missing_file_is_named_with_its_key_and_a_guess() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.toml");
    let text = format!("{MINIMAL}\n[[stage_history]]\nfile = \"OpportunityHistoy\"\n[stage_history.columns]\nopportunity_id = \"OpportunityId\"\nstage = \"StageName\"\nentered_at = \"CreatedDate\"\n");
    std::fs::write(&file, text).unwrap();
    let (p, _) = outputs(&mapped(&salesforce(), file.to_str().unwrap()));
    let why = p.validated.unavailable.get("stage_history").cloned().unwrap_or_default();
    assert!(why.contains("OpportunityHistoy.csv (mapping key stage_history[0].file, did you mean OpportunityHistory.csv?)"), "{why}");
}

/// `[defaults] date_format` reads every timestamp column without its own
/// format (a report export with US dates).
#[test]
fn default_date_formats_read_us_dates() {
    let d = tempfile::tempdir().unwrap();
    let w = |f: &str, t: &str| std::fs::write(d.path().join(f), t).unwrap();
    w("Account.csv", "Id,Industry\nA1,Banking\n");
    w("User.csv", "Id\nU1\n");
    w("Opportunity.csv", "Id,AccountId,OwnerId,CreatedDate,Amount,IsWon,IsClosed,CloseDate\nO1,A1,U1,04/10/2026 09:30,1000,true,true,06/20/2026\nO2,A1,U1,07/01/2026 14:00,500,false,false,\n");
    let mapping = format!("[defaults]\ndate_format = [\"%m/%d/%Y %H:%M\", \"%m/%d/%Y\"]\n{MINIMAL}");
    let file = d.path().join("m.toml");
    std::fs::write(&file, mapping).unwrap();
    let opts = mapped(d.path(), file.to_str().unwrap());
    let (_, v) = salesrelay::prepare::load_validated(&opts, false, &quiet()).unwrap();
    assert_eq!(v.findings.height(), 0, "{}", v.findings);
    let o = &text(&v, "opportunities");
    let text = |c: &str| o.column(c).unwrap().cast(&DataType::String).unwrap().str().unwrap().get(0).map(str::to_string);
    // Tokyo time (the default zone): 09:30 local is 00:30 UTC; a bare date is local midnight
    assert_eq!(text("created_at").as_deref(), Some("2026-04-10 00:30:00.000000+00:00"));
    assert_eq!(text("closed_at").as_deref(), Some("2026-06-19 15:00:00.000000+00:00"));
    // an unknown key in [defaults] is named
    std::fs::write(&file, format!("[defaults]\ndate_fmt = \"%m/%d/%Y\"\n{MINIMAL}")).unwrap();
    let e = prepare(&mapped(d.path(), file.to_str().unwrap()), false, None, None, &quiet()).err().unwrap().to_string();
    assert!(e.contains("defaults.date_fmt: unknown key"), "{e}");
}

/// A required column read only from a lookup whose file the input lacks
/// stops the run, naming the file, the source and the column; an optional
/// one is not available (the built-in mappings' case, in
/// salesforce_export.rs and hubspot.rs).
#[test]
fn a_required_column_looked_up_in_a_missing_file_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.toml");
    let text = MINIMAL
        .replace("[[opportunities]]\nfile = \"Opportunity\"", "[[opportunities]]\nfile = \"Opportunity\"\nlookups = [{ as = \"owner\", file = \"Owner\", key = \"Id\", on = \"OwnerId\" }]")
        .replace(r#"owner_rep_id = "OwnerId""#, r#"owner_rep_id = "owner.Id""#);
    std::fs::write(&file, text).unwrap();
    let o = crate::util::salesrelay(&salesforce(), &["validate", "--input", ".", "--mapping", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let wanted = format!("opportunities: missing_table x 1 — Opportunity.csv looks up Owner.csv (opportunities[0], mapping {}) for the required opportunities.owner_rep_id, which is not in the input", file.display());
    assert!(stderr.contains(&wanted), "{stderr}");
}
