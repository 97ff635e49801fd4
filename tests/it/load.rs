//! The fixture loads to known frames, whatever dialect it is written in.

use polars::prelude::*;

use crate::util::{findings, load, strs, text, tiny, Dir};

fn utc(df: &DataFrame, column: &str) -> Vec<Option<String>> {
    let c = df
        .column(column)
        .unwrap()
        .as_materialized_series()
        .datetime()
        .unwrap()
        .to_string("%Y-%m-%dT%H:%M:%S%.6fZ")
        .unwrap();
    c.iter().map(|s| s.map(str::to_string)).collect()
}

#[test]
fn fixture_row_counts() {
    let v = load(&tiny(), false);
    let count = |t: &str| v.tables[t].height();
    assert_eq!(
        [count("accounts"), count("reps"), count("leads"), count("opportunities"), count("handoffs"), count("activities"), count("stage_history"), count("dsr_views")],
        [4, 6, 11, 8, 8, 14, 10, 5]
    );
    // the fixture has no plan
    assert_eq!(v.missing, ["exchange_rates", "targets"]);
}

#[test]
fn timestamps_in_every_accepted_form_become_utc() {
    let v = load(&tiny(), false);
    let leads = &v.tables["leads"];
    let created = utc(leads, "created_at");
    // Asia/Tokyo is UTC+9 with no daylight saving
    assert_eq!(created[0].as_deref(), Some("2026-04-06T01:00:00.000000Z")); // +09:00
    assert_eq!(created[1].as_deref(), Some("2026-04-10T00:00:00.000000Z")); // "2026-04-10 09:00", local
    assert_eq!(created[2].as_deref(), Some("2026-05-10T15:00:00.000000Z")); // bare date = local midnight
    assert_eq!(created[3].as_deref(), Some("2026-06-01T01:00:00.000000Z")); // Z
    assert_eq!(created[6].as_deref(), Some("2026-07-07T02:00:00.000000Z")); // +0900
    assert_eq!(created[7].as_deref(), Some("2026-08-03T00:30:00.500000Z")); // fraction
    assert_eq!(
        leads.column("created_at").unwrap().dtype(),
        &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
    );
}

#[test]
fn timestamps_at_other_offsets_than_the_first_value() {
    // the first value's offset (+09:00) is read by the fast form; other
    // offsets, and bad values at the usual one, fall to the next reading
    let d = Dir::copy_of(&tiny());
    d.replace("leads.csv", "2026-04-15T12:00:00+09:00", "2026-04-15T12:00:00-05:00");
    d.replace("leads.csv", "2026-05-20T09:00:00+09:00", "2026-05-20T09:00:00+05:30");
    d.replace("leads.csv", "2026-07-02T10:00:00+09:00", "2026-13-02T10:00:00+09:00");
    d.replace("leads.csv", "2026-07-09T10:00:00+09:00", "2026-07-09T24:00:00+09:00");
    d.replace("leads.csv", "2026-08-10T10:00:00+09:00", "2026-08-10T10:00+09:00");
    let v = load(d.path(), false);
    let qualified = utc(&v.tables["leads"], "qualified_at");
    assert_eq!(qualified[0].as_deref(), Some("2026-04-08T01:00:00.000000Z")); // +09:00
    assert_eq!(qualified[1].as_deref(), Some("2026-04-15T17:00:00.000000Z")); // -05:00
    assert_eq!(qualified[2].as_deref(), Some("2026-05-20T03:30:00.000000Z")); // +05:30
    assert_eq!(qualified[7].as_deref(), Some("2026-08-10T01:00:00.000000Z")); // no seconds
    let bad: Vec<_> = findings(&v).into_iter().filter(|f| f.0 == "leads").collect();
    let at = |row: i64| ("leads".to_string(), Some(row), Some("qualified_at".to_string()), "not_a_timestamp".to_string());
    assert_eq!(bad, [at(6), at(7)]); // month 13, hour 24
}

#[test]
fn local_time_follows_the_configured_zone() {
    let d = Dir::copy_of(&tiny());
    d.replace("salesrelay.toml", "Asia/Tokyo", "Europe/London");
    let v = load(d.path(), false);
    // 2026-04-10 09:00 in London (BST, UTC+1) is 08:00 UTC; offsets written stay as written
    let created = utc(&v.tables["leads"], "created_at");
    assert_eq!(created[1].as_deref(), Some("2026-04-10T08:00:00.000000Z"));
    assert_eq!(created[0].as_deref(), Some("2026-04-06T01:00:00.000000Z"));
}

#[test]
fn enums_and_booleans_are_normalised() {
    let v = load(&tiny(), false);
    assert_eq!(strs(&v.tables["leads"], "source")[1].as_deref(), Some("inbound")); // "Inbound"
    assert_eq!(strs(&v.tables["activities"], "kind")[6].as_deref(), Some("online_meeting")); // "Online Meeting"
    assert_eq!(strs(&v.tables["handoffs"], "interest_level")[3].as_deref(), Some("high")); // "High"
    assert_eq!(strs(&v.tables["reps"], "role")[2].as_deref(), Some("ai_sdr"));
    let budget: Vec<Option<bool>> = v.tables["handoffs"].column("budget").unwrap().bool().unwrap().iter().collect();
    // true, yes, false, t, 1, true, true, true
    assert_eq!(budget, [true, true, false, true, true, true, true, true].map(Some).to_vec());
    let dm: Vec<Option<bool>> = v.tables["activities"].column("with_decision_maker").unwrap().bool().unwrap().iter().collect();
    assert_eq!(dm[9], Some(true)); // "yes"
    assert_eq!(dm[2], None); // empty
}

#[test]
fn quoted_commas_and_unicode_survive() {
    let v = load(&tiny(), false);
    assert_eq!(strs(&v.tables["accounts"], "account_name")[3].as_deref(), Some("Paws & Co, Ltd."));
    let texts = strs(&v.tables["opportunities"], "loss_reason_text");
    assert_eq!(texts[1].as_deref(), Some("予算が確保できなかった"));
    assert_eq!(texts[5].as_deref(), Some("Lost to competitor on price, again"));
}

#[test]
fn header_names_match_ignoring_case_and_underscores() {
    let d = Dir::copy_of(&tiny());
    d.replace("accounts.csv", "account_id,account_name,industry,employees,region,latitude,longitude,is_target", "AccountId,Account_Name,INDUSTRY,Employees,Region,LATITUDE,longitude,IsTarget,Notes");
    let text = d.read("accounts.csv").replace("true\n", "true,x\n").replace("false\n", "false,x\n").replace("yes\n", "yes,x\n").replace("no\n", "no,x\n");
    d.write("accounts.csv", &text);
    let v = load(d.path(), false);
    assert_eq!(findings(&v), vec![]);
    assert_eq!(strs(&crate::util::text(&v, "accounts"), "account_id"), ["A1", "A2", "A3", "A4"].map(|s| Some(s.to_string())).to_vec());
    assert!(v.tables["accounts"].column("notes").is_err(), "columns outside the contract are ignored");
}

#[test]
fn bom_and_crlf_load_the_same() {
    let d = Dir::copy_of(&tiny());
    let text = format!("\u{feff}{}", d.read("leads.csv").replace('\n', "\r\n"));
    d.write("leads.csv", &text);
    let v = load(d.path(), false);
    assert_eq!(findings(&v), vec![]);
    let plain = load(&tiny(), false);
    assert!(v.tables["leads"].equals_missing(&plain.tables["leads"]), "{:?}\n{:?}", v.tables["leads"], plain.tables["leads"]);
}

#[test]
fn an_old_mac_file_ending_its_lines_in_cr_alone_names_each_row_by_its_line() {
    // accounts.csv line 3 is A2; reps.csv line 4 is R3
    let d = Dir::copy_of(&tiny());
    d.replace("accounts.csv", ",34.70,", ",abc,");
    d.replace("reps.csv", "R3,AI Agent 1,IS,AI_SDR,", "R3,AI Agent 1,Inside,AI_SDR,");
    for name in ["accounts.csv", "reps.csv"] {
        d.write(name, &d.read(name).replace('\n', "\r"));
    }
    let v = load(d.path(), false);
    let got: Vec<_> = findings(&v).into_iter().filter(|f| f.0 == "accounts" || f.0 == "reps").collect();
    assert_eq!(
        got,
        vec![
            ("accounts".to_string(), Some(3), Some("latitude".to_string()), "not_a_number".to_string()),
            ("reps".to_string(), Some(4), Some("team".to_string()), "unknown_value".to_string()),
        ]
    );
    // with --lenient that rep alone is set aside and that latitude alone emptied
    let (plain, lenient) = (load(&tiny(), false), load(d.path(), true));
    assert_eq!(lenient.tables["reps"].height(), plain.tables["reps"].height() - 1);
    let nulls = |v: &salesrelay::validate::Validated| v.tables["accounts"].column("latitude").unwrap().null_count();
    assert_eq!(nulls(&lenient), nulls(&plain) + 1);
}

#[test]
fn a_folder_or_a_broken_link_of_a_tables_name_is_named_not_taken_for_a_missing_table() {
    // dsr_views is optional: a folder of its name (Spark's df.write.csv) must not read as "not given"
    let d = Dir::copy_of(&tiny());
    std::fs::remove_file(d.file("dsr_views.csv")).unwrap();
    std::fs::create_dir(d.file("dsr_views.csv")).unwrap();
    std::fs::write(d.file("dsr_views.csv").join("part-00000.csv"), "x\n").unwrap();
    let v = load(d.path(), false);
    assert_eq!(findings(&v), vec![("dsr_views".to_string(), None, None, "not_a_file".to_string())]);
    assert!(v.findings.column("detail").unwrap().str().unwrap().get(0).unwrap().contains("dsr_views.csv in"), "{:?}", v.findings);
    // a required table's file as a link to nothing
    let d = Dir::copy_of(&tiny());
    std::fs::remove_file(d.file("opportunities.csv")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/opportunities.csv", d.file("opportunities.csv")).unwrap();
    let v = load(d.path(), false);
    let got: Vec<_> = findings(&v).into_iter().filter(|f| f.0 == "opportunities").collect();
    assert_eq!(got, vec![("opportunities".to_string(), None, None, "not_a_file".to_string())]);
}

#[test]
fn a_quote_left_open_is_named_with_the_lines_it_takes_in() {
    // line 3's reason text opens a quote that the next quote, on line 7, closes: lines 3-7 read
    // as one record of 13 fields
    let d = Dir::copy_of(&tiny());
    d.replace("opportunities.csv", ",Budget,予算", ",Budget,\"予算");
    let v = load(d.path(), false);
    let got: Vec<_> = findings(&v).into_iter().filter(|f| f.0 == "opportunities").collect();
    // the line it opens on, and each line it takes in (rows --lenient would lose)
    let rows: Vec<_> = (3..=7).map(|r| ("opportunities".to_string(), Some(r), None, "unclosed_quote".to_string())).collect();
    assert_eq!(got, rows);
    let detail = v.findings.column("detail").unwrap().str().unwrap().iter().flatten().find(|d| d.contains("quoted field opened here")).unwrap().to_string();
    assert!(detail.contains("runs over 4 more line(s), to line 7, and the record has 13 field(s), the header 12"), "{detail}");
    // a quote opened on the last line but one runs to the end of the file: over line 9, the last
    // (the file's final line break ends no line of its own)
    let d = Dir::copy_of(&tiny());
    d.replace("opportunities.csv", "O4,A3,L7,R4,", "O4,A3,L7,\"R4,");
    let v = load(d.path(), false);
    let got: Vec<_> = findings(&v).into_iter().filter(|f| f.0 == "opportunities").map(|f| f.1).collect();
    assert_eq!(got, vec![Some(8), Some(9)]);
    let detail = v.findings.column("detail").unwrap().str().unwrap().iter().flatten().find(|d| d.contains("quoted field opened here")).unwrap().to_string();
    assert!(detail.contains("runs over 1 more line(s), to line 9,"), "{detail}");
}

#[test]
fn a_utf16_file_is_named_as_such() {
    // Excel's "Unicode Text": UTF-16LE with its byte order mark, tab-separated
    let d = Dir::copy_of(&tiny());
    let text = d.read("reps.csv").replace(',', "\t");
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(d.file("reps.csv"), bytes).unwrap();
    let v = load(d.path(), false);
    let got: Vec<_> = findings(&v).into_iter().filter(|f| f.0 == "reps").collect();
    assert_eq!(got, vec![("reps".to_string(), Some(1), None, "unknown_encoding".to_string())]);
    let detail = v.findings.column("detail").unwrap().str().unwrap().get(0).unwrap().to_string();
    assert!(detail.contains("reps.csv is UTF-16 (as Excel saves \"Unicode Text\", tab-separated)"), "{detail}");
}

#[test]
fn excels_separator_line_above_the_header_is_named() {
    let d = Dir::copy_of(&tiny());
    let text = d.read("reps.csv");
    d.write("reps.csv", &format!("sep=,\n{text}"));
    let v = load(d.path(), false);
    let details: Vec<String> = v.findings.column("detail").unwrap().str().unwrap().iter().flatten().map(str::to_string).collect();
    assert!(details.iter().any(|d| d.contains("is Excel's line naming the separator: delete it")), "{details:?}");
}

#[test]
fn quoted_newline_keeps_row_numbers_as_lines() {
    let d = Dir::copy_of(&tiny());
    d.replace("opportunities.csv", "\"Lost to competitor on price, again\"", "\"Lost to competitor\non price\"");
    // O4, after the two-line record, now starts on line 9; make it bad to see its number
    d.replace("opportunities.csv", ",Proposal,,open,", ",Proposal,,pending,");
    let v = load(d.path(), false);
    assert_eq!(findings(&v), vec![("opportunities".to_string(), Some(9), Some("outcome".to_string()), "unknown_value".to_string())]);
    assert_eq!(strs(&v.tables["opportunities"], "loss_reason_text")[5].as_deref(), Some("Lost to competitor\non price"));
}

#[test]
fn shift_jis_loads_when_configured() {
    let d = Dir::copy_of(&tiny());
    let text = d.read("opportunities.csv");
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    std::fs::write(d.file("opportunities.csv"), &bytes).unwrap();
    let config = d.read("salesrelay.toml");
    d.append("salesrelay.toml", "encoding = \"utf-8\"\n");
    let strict = load(d.path(), false);
    assert_eq!(findings(&strict), vec![("opportunities".to_string(), Some(3), None, "not_utf8".to_string())]);
    d.write("salesrelay.toml", &format!("{config}encoding = \"shift_jis\"\n"));
    let v = load(d.path(), false);
    assert_eq!(findings(&v), vec![]);
    assert_eq!(strs(&v.tables["opportunities"], "loss_reason_text")[1].as_deref(), Some("予算が確保できなかった"));
}

#[test]
fn parquet_input_loads_like_csv() {
    let d = Dir::copy_of(&tiny());
    let csv = load(&tiny(), false);
    // a typed Parquet export: real timestamps with a zone, booleans, numbers
    let mut opps = text(&csv, "opportunities");
    let file = std::fs::File::create(d.file("opportunities.parquet")).unwrap();
    ParquetWriter::new(file).finish(&mut opps).unwrap();
    d.remove("opportunities.csv");
    // and a text-only Parquet export
    let mut leads = DataFrame::new(
        2,
        vec![
            Column::new("LeadId".into(), ["L1", "L2"]),
            Column::new("account_id".into(), ["A1", "A2"]),
            Column::new("created_at".into(), ["2026-04-06T10:00:00+09:00", "2026-04-10 09:00"]),
            Column::new("source".into(), ["inbound", "Inbound"]),
            Column::new("owner_rep_id".into(), ["R1", "R3"]),
        ],
    )
    .unwrap();
    let file = std::fs::File::create(d.file("leads.parquet")).unwrap();
    ParquetWriter::new(file).finish(&mut leads).unwrap();
    d.remove("leads.csv");
    d.remove("handoffs.csv");
    d.remove("activities.csv");
    d.remove("dsr_views.csv");
    let v = load(d.path(), false);
    // the opportunities' leads L5, L7, L10 are not in the two-row leads file
    let got = findings(&v);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|f| f.0 == "opportunities" && f.3 == "dangling_reference"));
    assert_eq!(got.iter().map(|f| f.1).collect::<Vec<_>>(), vec![Some(4), Some(5), Some(7)]);
    let mut left = text(&v, "opportunities");
    left.rechunk_mut();
    assert!(left.equals_missing(&text(&csv, "opportunities")));
    assert_eq!(utc(&v.tables["leads"], "created_at")[1].as_deref(), Some("2026-04-10T00:00:00.000000Z"));
    assert_eq!(v.missing, vec!["exchange_rates", "handoffs", "activities", "dsr_views", "targets"]);
}

/// The validated tables carry the contract's columns only: the line numbers
/// named the findings and are not kept beside every row.
#[test]
fn validated_tables_keep_no_line_numbers() {
    let v = load(&tiny(), false);
    for (name, df) in &v.tables {
        assert!(df.column("_row").is_err(), "{name} kept _row");
        let spec = salesrelay::contract::TABLES.iter().find(|t| t.name == *name).unwrap();
        assert!(spec.columns.iter().all(|c| df.column(c.name).is_ok()), "{name} lost a contract column");
    }
    // the enums of the large tables are held as codes (an Enum, one byte a row), and read as the same text
    let kind = v.tables["activities"].column("kind").unwrap();
    assert!(matches!(kind.dtype(), DataType::Enum(..)), "{:?}", kind.dtype());
    let text = salesrelay::ids::text_enums("activities", v.tables["activities"].clone().lazy()).collect().unwrap();
    assert_eq!(text.column("kind").unwrap().dtype(), &DataType::String);
    assert_eq!(strs(&text, "kind"), strs(&v.tables["activities"], "kind"));
    assert_eq!(strs(&text, "kind")[6].as_deref(), Some("online_meeting")); // written "Online Meeting"
}

#[test]
fn bare_dates_spanning_centuries_read_as_local_midnight_row_by_row() {
    // a year typo stretches close_date over more days than are worked out
    // once each: the column then goes through the zone's rules row by row,
    // with the same values, and the typo is named
    let d = Dir::copy_of(&tiny());
    d.replace("salesrelay.toml", "Asia/Tokyo", "America/Sao_Paulo");
    d.replace("stage_history.csv", "500000,2026-07-15", "500000,1702-07-15");
    let v = load(d.path(), false);
    let close = utc(&v.tables["stage_history"], "close_date");
    assert_eq!(close[0].as_deref(), Some("2026-06-30T03:00:00.000000Z")); // Sao Paulo midnight (UTC-3)
    assert_eq!(close[1].as_deref(), Some("2026-06-15T03:00:00.000000Z"));
    assert_eq!(close[8].as_deref(), Some("2026-09-30T03:00:00.000000Z"));
    // read (else it would be not_a_timestamp), then named as a typo
    let typo: Vec<_> = findings(&v).into_iter().filter(|f| f.0 == "stage_history").collect();
    assert_eq!(typo, [("stage_history".to_string(), Some(6), Some("close_date".to_string()), "out_of_range".to_string())]);
}

#[test]
fn a_column_of_bare_dates_reads_other_forms_too() {
    // close_date's first value is a bare date, so bare dates are read first;
    // every other form still reads as it would anywhere, a bad date is named,
    // and a midnight a DST change skips starts the day at the first local time
    let d = Dir::copy_of(&tiny());
    d.replace("salesrelay.toml", "Asia/Tokyo", "America/Sao_Paulo");
    d.replace("stage_history.csv", "500000,2026-06-30", "500000,2026-06-30T12:00:00+09:00");
    d.replace("stage_history.csv", "500000,2026-07-31", "500000,2026-07-31 09:00");
    d.replace("stage_history.csv", "500000,2026-07-15", "500000,2018-11-04");
    d.replace("stage_history.csv", "2000000,2026-09-10", "2000000,2026-02-30");
    let v = load(d.path(), false);
    let close = utc(&v.tables["stage_history"], "close_date");
    assert_eq!(close[0].as_deref(), Some("2026-06-30T03:00:00.000000Z")); // bare date, Sao Paulo midnight (UTC-3)
    assert_eq!(close[2].as_deref(), Some("2026-06-30T03:00:00.000000Z")); // +09:00 noon
    assert_eq!(close[3].as_deref(), Some("2026-07-31T12:00:00.000000Z")); // local 09:00
    assert_eq!(close[4].as_deref(), Some("2018-11-04T03:00:00.000000Z")); // midnight skipped: 01:00 local (UTC-2)
    let bad: Vec<_> = findings(&v).into_iter().filter(|f| f.0 == "stage_history").collect();
    assert_eq!(bad, [("stage_history".to_string(), Some(9), Some("close_date".to_string()), "not_a_timestamp".to_string())]);
}

/// `validate` reads the input without hashing it (it writes no manifest):
/// the same tables, each file's size, and no hash where the hash would
/// cost a pass of its own (a well-formed CSV, a Parquet file); a CSV read
/// record by record is hashed on the way, as for `run`. `run` hashes every
/// file (its manifest's hashes: `run::a_run_writes_the_report_folder`).
#[test]
fn a_load_that_skips_the_hashes_reads_the_same_tables() {
    use salesrelay::load::{read_input, Hashes};
    use sha2::Digest;
    let d = Dir::copy_of(&tiny());
    // a Parquet file, and a CSV whose structure sends it record by record (a ragged row)
    let mut opps = text(&load(&tiny(), false), "opportunities");
    ParquetWriter::new(std::fs::File::create(d.file("opportunities.parquet")).unwrap()).finish(&mut opps).unwrap();
    d.remove("opportunities.csv");
    let views = std::fs::read_to_string(d.file("dsr_views.csv")).unwrap();
    let (header, rows) = views.split_once('\n').unwrap();
    d.write("dsr_views.csv", &format!("{header}\nx,y\n{rows}"));
    let (config, _) = salesrelay::config::Config::resolve(None, d.path(), &Default::default()).unwrap();
    let taken = read_input(d.path(), &config, Hashes::Taken).unwrap();
    let skipped = read_input(d.path(), &config, Hashes::Skipped).unwrap();
    assert_eq!(taken.sources.len(), 8);
    for (t, s) in taken.sources.iter().zip(&skipped.sources) {
        let bytes = std::fs::read(&t.path).unwrap();
        let want: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!((&t.path, t.sha256.as_deref(), t.bytes, t.records), (&s.path, Some(want.as_str()), bytes.len() as u64, s.records));
        let record_by_record = t.table == "dsr_views";
        assert_eq!(s.sha256.as_deref(), record_by_record.then_some(want.as_str()), "{}", t.table);
        assert_eq!(s.bytes, bytes.len() as u64, "{}", t.table);
    }
    assert_eq!(taken.tables.len(), skipped.tables.len());
    for (name, table) in &taken.tables {
        assert!(table.df.equals_missing(&skipped.tables[name].df), "{name}");
        assert!(table.findings.equals_missing(&skipped.tables[name].findings), "{name}");
    }
    let (t, s) = (findings_of(&taken), findings_of(&skipped));
    assert!(t.contains(&"dsr_views ragged_row".to_string()), "{t:?}");
    assert_eq!(t, s);
}

fn findings_of(raw: &salesrelay::load::RawInput) -> Vec<String> {
    raw.findings.iter().map(|f| format!("{} {}", f.table, f.rule)).collect()
}
