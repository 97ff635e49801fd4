//! The salesforce mapping on what real org exports carry beyond the
//! standard objects: several currencies (dated or static rates, the
//! corporate currency), deleted rows, the org's own fields passed through,
//! and an expression that leaves values without a contract value.
//!
//! The base export (tests/fixtures/salesforce, worked by hand in
//! mapping.rs): revenue FY2026-Q1 1,000,000 (006D1, IS); FY2026-Q2
//! 3,500,000 = 006D3 3,000,000 (IS) + 006D4 500,000 (FS).

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::mapping::{cell, mapped, node, outputs, salesforce};
use crate::util::{report_folder, root, rows, strs, Dir};

/// The export with 006D1 in USD (10,000) and 006D3 in EUR (15,000).
fn in_three_currencies() -> Dir {
    let d = Dir::copy_of(&salesforce());
    let opps: Vec<String> = d
        .read("Opportunity.csv")
        .lines()
        .map(|l| match l.split(',').next().unwrap() {
            "Id" => format!("{l},CurrencyIsoCode"),
            "006D1" => format!("{},USD", l.replace(",1000000,", ",10000,")),
            "006D3" => format!("{},EUR", l.replace(",3000000,", ",15000,")),
            _ => format!("{l},JPY"),
        })
        .collect();
    d.write("Opportunity.csv", &(opps.join("\n") + "\n"));
    d
}

fn revenue(d: &Dir) -> (Option<f64>, Option<f64>, Option<f64>) {
    let (_, out) = outputs(&mapped(d.path(), "salesforce"));
    let kpi = &out["kpi_tree"];
    (node(kpi, "FY2026-Q1", "revenue"), node(kpi, "FY2026-Q2", "revenue"), node(kpi, "FY2026-Q2", "revenue_fs"))
}

/// Dated rates: two per currency, the one in force on CloseDate applies.
/// 006D1 closed 20 Jun 2026: 10,000 USD / 0.01 (from 1 Jan 2026) = 1,000,000
/// (0.0095 from 1 Jul would give 1,052,632); 006D3 closed 10 Sep 2026:
/// 15,000 EUR / 0.005 (from 1 Aug) = 3,000,000 (0.006 before: 2,500,000).
/// So the numbers are the yen export's.
#[test]
fn dated_rates_give_the_same_numbers_as_the_yen_export() {
    let d = in_three_currencies();
    d.write(
        "DatedConversionRate.csv",
        "Id,IsoCode,ConversionRate,StartDate,NextStartDate\n\
         04w0,USD,0.01,0001-01-01,2026-07-01\n04w1,USD,0.0095,2026-07-01,9999-12-31\n\
         04w2,EUR,0.006,0001-01-01,2026-08-01\n04w3,EUR,0.005,2026-08-01,9999-12-31\n",
    );
    d.write("salesrelay.toml", "base_currency = \"JPY\"\n");
    assert_eq!(revenue(&d), (Some(1_000_000.0), Some(3_500_000.0), Some(500_000.0)));
    assert_eq!(revenue(&Dir::copy_of(&salesforce())), (Some(1_000_000.0), Some(3_500_000.0), Some(500_000.0)));
}

/// Without advanced currency management: CurrencyType's static rates, and
/// the base from IsCorporate, with no base_currency in salesrelay.toml.
#[test]
fn currency_type_gives_static_rates_and_the_corporate_currency() {
    let d = in_three_currencies();
    d.write(
        "CurrencyType.csv",
        "Id,IsoCode,ConversionRate,DecimalPlaces,IsActive,IsCorporate\n\
         01L1,JPY,1,0,true,true\n01L2,USD,0.01,2,true,false\n01L3,EUR,0.005,2,true,false\n",
    );
    let (p, out) = outputs(&mapped(d.path(), "salesforce"));
    assert_eq!(p.validated.base_currency.as_deref(), Some("JPY"), "from CurrencyType.IsCorporate");
    assert_eq!(p.validated.tables["exchange_rates"].height(), 3);
    let kpi = &out["kpi_tree"];
    assert_eq!((node(kpi, "FY2026-Q1", "revenue"), node(kpi, "FY2026-Q2", "revenue")), (Some(1_000_000.0), Some(3_500_000.0)));
    let note = p.validated.mapping.as_ref().unwrap().notes.get("base currency").cloned().unwrap_or_default();
    assert!(note.starts_with("JPY: the export's own (CurrencyType.IsoCode where LOWER(IsCorporate)"), "{note}");
    // the same with dated rates present: they win, CurrencyType is not read for rates
    d.write("DatedConversionRate.csv", "Id,IsoCode,ConversionRate,StartDate,NextStartDate\n04w0,USD,0.02,0001-01-01,9999-12-31\n04w2,EUR,0.005,0001-01-01,9999-12-31\n");
    let (p, out) = outputs(&mapped(d.path(), "salesforce"));
    assert_eq!(p.validated.tables["exchange_rates"].height(), 2);
    // 006D1: 10,000 USD / 0.02 = 500,000
    assert_eq!(node(&out["kpi_tree"], "FY2026-Q1", "revenue"), Some(500_000.0));
    // a salesrelay.toml that names another base contradicts the export's rates
    d.write("salesrelay.toml", "base_currency = \"USD\"\n");
    let opts = mapped(d.path(), "salesforce");
    let (_, v) = salesrelay::prepare::load_validated(&opts, false, &salesrelay::progress::Progress::new(true)).unwrap();
    let detail: Vec<String> = strs(&v.findings, "detail").into_iter().flatten().collect();
    assert!(
        detail.iter().any(|t| t.starts_with("salesrelay.toml says base_currency = \"USD\" but the export's base currency is JPY")),
        "{detail:?}"
    );
}

/// Rows with IsDeleted = true are left out of every file and counted.
#[test]
fn deleted_rows_are_left_out_and_counted() {
    let d = Dir::copy_of(&salesforce());
    // a deleted 9,000,000 win in Q2 and a deleted lead
    let opps: Vec<String> = d.read("Opportunity.csv").lines().map(|l| if l.starts_with("Id,") { format!("{l},IsDeleted") } else { format!("{l},false") }).collect();
    let mut opps = opps.join("\n");
    opps.push_str("\n006D9,001B1,005A3,Deleted deal,Closed Won,9000000,2026-09-01,true,true,2026-07-01T02:00:00.000Z,Web,New Customer,true\n");
    d.write("Opportunity.csv", &opps);
    let leads: Vec<String> = d.read("Lead.csv").lines().map(|l| if l.starts_with("Id,") { format!("{l},IsDeleted") } else { format!("{l},0") }).collect();
    let mut leads = leads.join("\n");
    leads.push_str("\n00QC9,Ghost Ltd,Open - Not Contacted,Web,005A1,2026-08-03T01:00:00.000Z,false,,,,Other,Tokyo,Japan,2026-08-03T01:00:00.000Z,1\n");
    d.write("Lead.csv", &leads);
    // revenue as without them; leads of Q2 still 3
    let (p, out) = outputs(&mapped(d.path(), "salesforce"));
    let kpi = &out["kpi_tree"];
    assert_eq!((node(kpi, "FY2026-Q2", "revenue"), node(kpi, "FY2026-Q2", "leads")), (Some(3_500_000.0), Some(3.0)));
    assert_eq!(p.validated.tables["opportunities"].height(), 6);
    let deleted = &p.validated.mapping.as_ref().unwrap().deleted;
    assert_eq!(deleted, &vec![("Lead.csv".to_string(), "IsDeleted".to_string(), 1), ("Opportunity.csv".to_string(), "IsDeleted".to_string(), 1)]);
    // said in the run summary and in data_coverage's note on the table
    let out_dir = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(d.path(), &["run", "--input", ".", "--mapping", "salesforce", "--out", out_dir.path().to_str().unwrap(), "--queries", "none"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("  left out rows the CRM marks deleted: Lead.csv 1 (IsDeleted), Opportunity.csv 1 (IsDeleted)\n"), "{stdout}");
    let folder = report_folder(out_dir.path());
    let coverage = ParquetReader::new(std::fs::File::open(folder.join("tables/data_coverage.parquet")).unwrap()).finish().unwrap();
    let row = rows(&coverage, col("kind").eq(lit("input")).and(col("name").eq(lit("opportunities"))));
    let reason = strs(&row, "reason")[0].clone().unwrap_or_default();
    assert!(reason.contains("Opportunity.csv: 6 of 7 rows (1 deleted (IsDeleted = true))"), "{reason}");
}

/// IsClosed and IsWon in another spelling of a boolean (yes/no, as a
/// spreadsheet writes them) give the same outcomes; a value that is no
/// boolean leaves the outcome empty, named by its row, never a closed deal
/// read as open.
#[test]
fn yes_and_no_in_is_closed_and_is_won_read_as_true_and_false() {
    let d = Dir::copy_of(&salesforce());
    d.write("Opportunity.csv", &d.read("Opportunity.csv").replace(",true,true,", ",Yes,yes,").replace(",true,false,", ",yes,NO,"));
    let (_, out) = outputs(&mapped(d.path(), "salesforce"));
    let kpi = &out["kpi_tree"];
    assert_eq!((node(kpi, "FY2026-Q1", "revenue"), node(kpi, "FY2026-Q2", "revenue")), (Some(1_000_000.0), Some(3_500_000.0)));
    let d = Dir::copy_of(&salesforce());
    d.replace("Opportunity.csv", ",2026-08-05,true,false,", ",2026-08-05,true,checked,");
    let o = crate::util::salesrelay(d.path(), &["validate", "--input", ".", "--mapping", "salesforce"]);
    let said = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{said}");
    assert!(said.contains("missing_value"), "{said}");
    assert!(said.contains("outcome"), "{said}");
}

/// An empty Amount the mapping's default reads as 0 is counted and said
/// (summary, data_coverage), never a won deal's revenue gone quiet.
#[test]
fn an_empty_amount_the_default_fills_is_said() {
    let d = Dir::copy_of(&salesforce());
    // 006D4, the 500,000 FS win of FY2026-Q2
    let line = d.read("Opportunity.csv").lines().find(|l| l.starts_with("006D4,")).unwrap().to_string();
    d.replace("Opportunity.csv", &line, &line.replacen(",500000,", ",,", 1));
    let (_, out) = outputs(&mapped(d.path(), "salesforce"));
    assert_eq!(node(&out["kpi_tree"], "FY2026-Q2", "revenue"), Some(3_000_000.0));
    let out_dir = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(d.path(), &["run", "--input", ".", "--mapping", "salesforce", "--out", out_dir.path().to_str().unwrap(), "--queries", "none"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("Opportunity.Amount: '(empty)' x 1 became 0 (the mapping's default); fill it in the export where the value is known"), "{stdout}");
}

/// Headers in another case (an export tool that lower-cases them) are read
/// as the contract's headers are, ignoring case, in the mapping's
/// expressions as in its columns: the same numbers.
#[test]
fn an_export_with_lower_cased_headers_reads_the_same() {
    let d = Dir::copy_of(&salesforce());
    let text = d.read("Opportunity.csv");
    let header = text.lines().next().unwrap().to_string();
    d.replace("Opportunity.csv", &header, &header.to_lowercase());
    let (_, out) = outputs(&mapped(d.path(), "salesforce"));
    let kpi = &out["kpi_tree"];
    assert_eq!((node(kpi, "FY2026-Q1", "revenue"), node(kpi, "FY2026-Q2", "revenue")), (Some(1_000_000.0), Some(3_500_000.0)));
}

/// `salesrelay validate --mapping salesforce` on `d`, which must stop on
/// its problems (exit code 1): what it writes to stderr.
fn refused(d: &Dir) -> String {
    let o = crate::util::salesrelay(d.path(), &["validate", "--input", ".", "--mapping", "salesforce"]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    stderr
}

/// The salesforce mapping with lines appended.
fn salesforce_with(extra: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("my_salesforce.toml");
    let text = std::fs::read_to_string(root().join("src/mappings/salesforce.toml")).unwrap();
    std::fs::write(&file, format!("{text}\n{extra}\n")).unwrap();
    let path = file.to_str().unwrap().to_string();
    (dir, path)
}

/// `[passthrough] opportunities = ["Type"]`: the org's field reaches every
/// output table with an opportunity_id, as text, documented.
#[test]
fn passthrough_columns_reach_the_deal_level_tables() {
    let (_keep, mapping) = salesforce_with("[passthrough]\nopportunities = [\"Type\"]");
    let (_, out) = outputs(&mapped(&salesforce(), &mapping));
    // losses: 006D2 and 006D6, both New Customer
    assert_eq!(cell(&out["losses"], "opportunity_id", "006D2", "Type").as_deref(), Some("New Customer"));
    assert_eq!(cell(&out["losses"], "opportunity_id", "006D6", "Type").as_deref(), Some("New Customer"));
    // the open 006D5 in priority_deals; the handoffs of converted leads carry their deal's
    assert_eq!(cell(&out["priority_deals"], "opportunity_id", "006D5", "Type").as_deref(), Some("Existing Customer - Upgrade"));
    assert_eq!(cell(&out["handoffs"], "handoff_id", "00QC1", "Type").as_deref(), Some("New Customer"));
    // tables without an opportunity_id are as they were
    assert!(out["kpi_tree"].column("Type").is_err());
    // documented in the data dictionary, with where it comes from
    let d = Dir::copy_of(&salesforce());
    let out_dir = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(d.path(), &["run", "--input", ".", "--mapping", &mapping, "--out", out_dir.path().to_str().unwrap(), "--queries", "none"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dictionary = std::fs::read_to_string(report_folder(out_dir.path()).join("data_dictionary.md")).unwrap();
    assert!(dictionary.contains("Type"), "{dictionary}");
    assert!(dictionary.contains("the export's own field Opportunity.Type, as text"), "{dictionary}");
    // and it loads as text in the Parquet file
    let losses = ParquetReader::new(std::fs::File::open(report_folder(out_dir.path()).join("tables/losses.parquet")).unwrap()).finish().unwrap();
    assert_eq!(losses.column("Type").unwrap().dtype(), &DataType::String);
}

#[test]
fn passthrough_mistakes_are_named() {
    let (_k1, misspelt) = salesforce_with("[passthrough]\nopportunities = [\"Typ\"]");
    let err = crate::mapping::mapping_error(&std::fs::read_to_string(&misspelt).unwrap(), &salesforce());
    assert!(err.contains("passthrough.opportunities: Opportunity.csv (opportunities[0]) has no column Typ (did you mean Type?)"), "{err}");
    let (_k2, clash) = salesforce_with("[passthrough]\nopportunities = [\"Amount\"]");
    let err = crate::mapping::mapping_error(&std::fs::read_to_string(&clash).unwrap(), &salesforce());
    assert!(err.contains("Amount is also the name of a salesrelay column"), "{err}");
    let (_k3, other) = salesforce_with("[passthrough]\nleads = [\"Rating\"]");
    let err = crate::mapping::mapping_error(&std::fs::read_to_string(&other).unwrap(), &salesforce());
    assert!(err.contains("passthrough.leads: only opportunities' columns can be passed through"), "{err}");
}

/// A CASE without ELSE for an enum column: the titles it does not match are
/// listed with their counts, once each (not the column name repeated).
#[test]
fn values_a_case_leaves_without_a_value_are_listed() {
    let text = std::fs::read_to_string(root().join("src/mappings/salesforce.toml")).unwrap();
    let no_else = text.replacen("    ELSE 'FS' END\"\"\" }", "    END\"\"\" }", 1);
    assert_ne!(no_else, text);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.toml");
    std::fs::write(&file, no_else).unwrap();
    let d = Dir::copy_of(&salesforce());
    let o = crate::util::salesrelay(d.path(), &["validate", "--input", ".", "--mapping", file.to_str().unwrap()]);
    assert!(!o.status.success());
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    // User.csv: Account Executive, Senior Account Executive, VP Sales match no WHEN of role's CASE
    for title in ["Account Executive", "Senior Account Executive", "VP Sales"] {
        let line = format!(
            "  User.Title (reps[0].columns.role): '{title}' x 1 became empty: reps.role must be one of ai_sdr, sdr, bdr, fs, cs; give it a value in the mapping's expression (a CASE needs a WHEN or an ELSE for it)\n"
        );
        assert!(stdout.contains(&line), "{stdout}");
    }
    assert!(stderr.contains("reps, column role: missing_value x 3 — required value is empty (from User.csv column Title, mapping"), "{stderr}");
    // and data_coverage keeps each value with its count (run --lenient sets the three reps, and so
    // their deals, aside: allowed here)
    d.write("salesrelay.toml", "[lenient]\nmax_share = 1.0\n");
    let out = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(d.path(), &["run", "--lenient", "--input", ".", "--mapping", file.to_str().unwrap(), "--out", out.path().to_str().unwrap(), "--queries", "none"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let coverage = ParquetReader::new(std::fs::File::open(report_folder(out.path()).join("tables/data_coverage.parquet")).unwrap()).finish().unwrap();
    let row = rows(&coverage, col("kind").eq(lit("unmapped value")).and(col("name").eq(lit("reps.role"))).and(col("reason").str().contains_literal(lit("'VP Sales'"))));
    assert_eq!(strs(&row, "status"), vec![Some("not matched by the expression".to_string())]);
    assert_eq!(crate::util::f64s(&row.lazy().with_column(col("rows").cast(DataType::Float64)).collect().unwrap(), "rows"), vec![Some(1.0)]);
}

/// `salesrelay mapping NAME` prints the built-in mapping to copy, which
/// reads the export as `--mapping NAME` does; without a name, the list.
#[test]
fn a_built_in_mapping_can_be_printed_and_copied() {
    let d = Dir::copy_of(&salesforce());
    let o = crate::util::salesrelay(d.path(), &["mapping", "salesforce"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text, std::fs::read_to_string(root().join("src/mappings/salesforce.toml")).unwrap());
    let copy = tempfile::tempdir().unwrap();
    let file = copy.path().join("my_salesforce.toml");
    std::fs::write(&file, &text).unwrap();
    let (_, out) = outputs(&mapped(d.path(), file.to_str().unwrap()));
    assert_eq!(node(&out["kpi_tree"], "FY2026-Q2", "revenue"), Some(3_500_000.0));
    let list = String::from_utf8(crate::util::salesrelay(d.path(), &["mapping"]).stdout).unwrap();
    for name in ["salesforce", "hubspot", "olist", "[passthrough] opportunities", "[defaults] deleted", "fallback = true"] {
        assert!(list.contains(name), "{list}");
    }
}

/// An export without Lead.csv (which opportunities and activities look up)
/// is read, not refused: what is looked up there reads as empty. By hand:
/// the deals' revenue is the same (Q1 006D1 1,000,000; Q2 3,500,000), but
/// with no lead to say which deals IS sourced, opportunities.lead_id is not
/// available and so is the IS/FS split (not 0). The five calls and emails
/// on leads (00TF1-4, 00TF6) had their account only through the lead: each
/// is a missing account_id, set aside by --lenient (5 of 11 activities);
/// the six events keep theirs. Each activities source warns that its
/// account_id comes from its own columns alone.
#[test]
fn an_export_without_the_looked_up_lead_file_is_read_with_what_it_lacks_said() {
    let d = Dir::copy_of(&salesforce());
    d.remove("Lead.csv");
    d.write("salesrelay.toml", "[lenient]\nmax_share = 0.5\n");
    let p = salesrelay::prepare::prepare(&mapped(d.path(), "salesforce"), true, None, None, &salesrelay::progress::Progress::new(true)).unwrap();
    let v = &p.validated;
    assert_eq!((v.tables["opportunities"].height(), v.tables["activities"].height()), (6, 6));
    assert!(!v.tables.contains_key("leads") && !v.tables.contains_key("handoffs"));
    let set_aside: Vec<(String, Option<i64>, Option<String>, String)> = crate::util::findings(v);
    let rules: Vec<(&str, Option<&str>, &str)> = set_aside.iter().map(|(t, _, c, r)| (t.as_str(), c.as_deref(), r.as_str())).collect();
    assert_eq!(rules, vec![("activities", Some("account_id"), "missing_value"); 5]);
    assert_eq!(
        v.unavailable.get("opportunities.lead_id").map(String::as_str),
        Some("Lead.csv not in the input (the mapping salesforce looks it up there for Opportunity.csv)")
    );
    let warnings = p.warnings();
    for file in ["Task.csv", "Event.csv"] {
        let i = if file == "Task.csv" { 0 } else { 1 };
        let line = format!(
            "activities.account_id reads Lead.csv, which is not in the input: its values come from {file}'s AccountId, opp.AccountId alone (mapping salesforce key activities[{i}].columns.account_id); add Lead.csv to the input"
        );
        assert!(warnings.contains(&line), "{warnings:#?}");
    }
    let all: BTreeMap<String, DataFrame> = salesrelay::metrics::compute_tables(&p.model()).unwrap().into_iter().map(|(d, df)| (d.name, df)).collect();
    let kpi = &all["kpi_tree"];
    assert_eq!((node(kpi, "FY2026-Q1", "revenue"), node(kpi, "FY2026-Q2", "revenue")), (Some(1_000_000.0), Some(3_500_000.0)));
    assert_eq!((node(kpi, "FY2026-Q2", "revenue_is"), node(kpi, "FY2026-Q2", "opps_is")), (None, None));
}

/// Record ids in both of Salesforce's forms: Opportunity.csv,
/// OpportunityHistory.csv and Lead.csv from Data Loader (18 characters),
/// Event.csv from a report (15). 006D1 becomes "0065g00000AbCdE" /
/// "0065g00000AbCdEAAV" (the suffix by hand in mapping.rs's unit test): its
/// two meetings (00UG1 visit, 00UG2 online) still find their deal, and the
/// numbers are the base export's.
#[test]
fn a_15_character_what_id_finds_its_18_character_opportunity() {
    let (id15, id18) = ("0065g00000AbCdE", "0065g00000AbCdEAAV");
    let d = Dir::copy_of(&salesforce());
    for file in ["Opportunity.csv", "OpportunityHistory.csv", "Lead.csv"] {
        d.write(file, &d.read(file).replace("006D1", id18));
    }
    d.write("Event.csv", &d.read("Event.csv").replace("006D1", id15));
    let (p, out) = outputs(&mapped(d.path(), "salesforce"));
    let acts = &crate::util::text(&p.validated, "activities");
    for meeting in ["00UG1", "00UG2"] {
        assert_eq!(cell(acts, "activity_id", meeting, "opportunity_id").as_deref(), Some(id18), "{meeting}");
    }
    let opps = &crate::util::text(&p.validated, "opportunities");
    assert_eq!(cell(opps, "opportunity_id", id18, "lead_id").as_deref(), Some("00QC1"));
    let kpi = &out["kpi_tree"];
    assert_eq!((node(kpi, "FY2026-Q1", "revenue"), node(kpi, "FY2026-Q2", "revenue")), (Some(1_000_000.0), Some(3_500_000.0)));
    // Q1's FS meetings with a deal: 00UG1, 00UG2 (006D1) and 00UG4 (006D2), over two deals
    assert_eq!(node(kpi, "FY2026-Q1", "visits_per_opp"), Some(1.5));
}

/// A Lead Status in another language: the mapping's CASE WHEN Status =
/// 'Closed - Not Converted' matches no lead, so disqualified_at is empty
/// in every row. Said in the run summary with the Status values (by hand
/// from the fixture: 3 converted, 1 not converted, 1 open, 1 working), the
/// dates (a value a row, not what a CASE tests) left out.
#[test]
fn an_expression_that_gives_no_row_a_value_is_said_with_the_values_it_tests() {
    let d = Dir::copy_of(&salesforce());
    let lead = d.read("Lead.csv");
    let lead = lead
        .replace("Closed - Not Converted", "Geschlossen - Nicht konvertiert")
        .replace("Closed - Converted", "Geschlossen - Konvertiert")
        .replace("Open - Not Contacted", "Offen")
        .replace("Working - Contacted", "In Bearbeitung");
    d.write("Lead.csv", &lead);
    let out_dir = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(d.path(), &["run", "--input", ".", "--mapping", "salesforce", "--out", out_dir.path().to_str().unwrap(), "--queries", "none"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<&str> = stdout.lines().filter(|l| l.contains("disqualified_at")).collect();
    let said = |value: &str, n: u32| {
        format!("  Lead.Status (leads[0].columns.disqualified_at): '{value}' x {n} became empty: the expression gives leads.disqualified_at a value in no row; if this value should give one, name it in the mapping's expression (a WHEN spelled as the export spells it)")
    };
    assert_eq!(lines, vec![said("Geschlossen - Konvertiert", 3), said("Geschlossen - Nicht konvertiert", 1), said("In Bearbeitung", 1), said("Offen", 1)], "{stdout}");
    // the export as it is: every value the expression tests gives some row a value
    let o = crate::util::salesrelay(&salesforce(), &["run", "--input", ".", "--mapping", "salesforce", "--out", out_dir.path().to_str().unwrap(), "--queries", "none"]);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("a value in no row"));
}

/// Titles in Japanese read as the English ones (an SDR's
/// インサイドセールス is IS / SDR, カスタマーサクセス is CS), and a lead
/// converted without an opportunity is no handoff (it reached no FS rep):
/// still the base export's 3 handoffs.
#[test]
fn japanese_titles_and_a_conversion_without_a_deal_read_as_they_mean() {
    let d = Dir::copy_of(&salesforce());
    d.replace("User.csv", "Aiko Sato,Sales Development Representative", "Aiko Sato,インサイドセールス");
    d.replace("User.csv", "Fumi Abe,Customer Success Manager", "Fumi Abe,カスタマーサクセス マネージャー");
    d.append("Lead.csv", "00QC7,Umeda Foods,Closed - Converted,Web,005A1,2026-07-01T00:00:00.000Z,true,2026-07-15,001B3,,Food & Beverage,Osaka,Japan,2026-07-15T03:00:00.000Z\n");
    let (p, _) = outputs(&mapped(d.path(), "salesforce"));
    let reps = &crate::util::text(&p.validated, "reps");
    for (id, team, role) in [("005A1", "is", "sdr"), ("005A6", "cs", "cs")] {
        assert_eq!(cell(reps, "rep_id", id, "team").unwrap().to_lowercase(), team, "{id}");
        assert_eq!(cell(reps, "rep_id", id, "role").unwrap().to_lowercase(), role, "{id}");
    }
    assert_eq!(p.validated.tables["handoffs"].height(), 3);
    assert_eq!(p.validated.tables["leads"].height(), 7);
}

/// Two exports pasted into one Opportunity.csv: the header line again (line
/// 5, before 006D4) is one repeated_header finding of the row, not a deal
/// whose values are the source's column names (a dangling OwnerId, a
/// CreatedDate that is no timestamp, ...).
#[test]
fn a_header_pasted_again_into_a_source_file_is_one_finding() {
    let d = Dir::copy_of(&salesforce());
    let text = d.read("Opportunity.csv");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(4, lines[0]);
    d.write("Opportunity.csv", &(lines.join("\n") + "\n"));
    let stderr = refused(&d);
    assert!(stderr.contains("opportunities: repeated_header x 1 — the header line again (two exports pasted into one file?)\n    row 5"), "{stderr}");
    assert!(stderr.contains("error: 1 problem(s) in the input"), "{stderr}");
}

/// A report's title lines above User.csv's header, or Excel's sep=, line
/// above Opportunity.csv's, are said of the file, not blamed on the
/// mapping's first column the file seems to lack.
#[test]
fn lines_above_a_source_header_are_said_of_the_file() {
    let d = Dir::copy_of(&salesforce());
    d.write("User.csv", &format!("User List\nAcme KK\n\n{}", d.read("User.csv")));
    let stderr = refused(&d);
    assert!(stderr.contains("error: User.csv's first line holds one column (\"User List\"), not the export's header: a report's title lines above the data? Delete the lines above the header"), "{stderr}");
    assert!(!stderr.contains("mapping salesforce"), "{stderr}");
    let d = Dir::copy_of(&salesforce());
    d.write("Opportunity.csv", &format!("sep=,\n{}", d.read("Opportunity.csv")));
    let stderr = refused(&d);
    assert!(stderr.contains("error: Opportunity.csv starts with Excel's \"sep=\" line, above its header: delete that line"), "{stderr}");
}

/// Deals in several currencies without the export's rates: the advice names
/// the files the mapping reads them from (DatedConversionRate.csv,
/// CurrencyType.csv), not an exchange_rates.csv the mapping ignores.
#[test]
fn several_currencies_without_rates_name_the_exports_rate_files() {
    let d = in_three_currencies();
    let stderr = refused(&d);
    assert!(
        stderr.contains("opportunities are in EUR, JPY, USD: set base_currency in salesrelay.toml (e.g. base_currency = \"EUR\") and add the export's exchange rates: DatedConversionRate.csv (mapping key exchange_rates[0].file) and CurrencyType.csv (mapping key exchange_rates[1].file) not in the input (mapping salesforce)"),
        "{stderr}"
    );
}

/// A deleted deal whose history and converted lead still name it (Salesforce
/// keeps them): the references that dangle say the export's deleted rows
/// were left out, so the user looks there, not for a missing deal.
#[test]
fn a_reference_to_a_deleted_record_says_deleted_rows_were_left_out() {
    let d = Dir::copy_of(&salesforce());
    let opps: Vec<String> = d
        .read("Opportunity.csv")
        .lines()
        .map(|l| if l.starts_with("Id,") { format!("{l},IsDeleted") } else if l.starts_with("006D3,") { format!("{l},true") } else { format!("{l},false") })
        .collect();
    d.write("Opportunity.csv", &(opps.join("\n") + "\n"));
    let stderr = refused(&d);
    // 00QC5 converted into 006D3 (Lead.csv line 6); 006D3's three history rows (lines 5-7)
    let hint = "no opportunities row has opportunity_id = this value (rows the export marks deleted were left out: 1 of Opportunity.csv (IsDeleted = true); a row of a deleted record?)";
    assert!(stderr.contains(&format!("handoffs, column opportunity_id: dangling_reference x 1 — {hint}")), "{stderr}");
    assert!(stderr.contains(&format!("stage_history, column opportunity_id: dangling_reference x 3 — {hint}")), "{stderr}");
}

/// Opportunity.csv saved as a browser's second download, `Opportunity
/// (1).csv`: the missing table names it as the likely file (not
/// OpportunityHistory.csv, which the mapping reads already).
#[test]
fn a_second_download_of_a_source_file_is_named_as_the_likely_one() {
    let d = Dir::copy_of(&salesforce());
    std::fs::rename(d.file("Opportunity.csv"), d.file("Opportunity (1).csv")).unwrap();
    let stderr = refused(&d);
    assert!(
        stderr.contains("required table opportunities: Opportunity.csv (mapping key opportunities[0].file, did you mean Opportunity (1).csv?) not in the input (mapping salesforce)"),
        "{stderr}"
    );
}
