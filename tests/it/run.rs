//! The binary end to end: exit codes, the report folder, atomic replacement.

use crate::util::{salesrelay, tiny, Dir};

#[test]
fn run_writes_the_report_folder_for_the_last_complete_quarter() {
    let d = Dir::copy_of(&tiny());
    let out = tempfile::tempdir().unwrap();
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("reviewed FY2026-Q2"), "{stdout}");
    // the summary in words, with the LMDI values worked out in kpi.rs
    assert!(stdout.contains("revenue 3.3M vs 1.3M the quarter before: +2.0M (+153.8%)"), "{stdout}");
    assert!(stdout.contains("- FS acceptance rate rose from 66.7% to 100.0%: +679k"), "{stdout}");
    assert!(stdout.contains("- SQL rate rose from 60.0% to 83.3%: +550k"), "{stdout}");
    assert!(stdout.contains("- IS deal size rose from 1.0M to 1.3M: +439k"), "{stdout}");
    assert!(stdout.contains("losses: 2 of 2 classified"), "{stdout}");
    // A4's "Pet Grooming" is not in the mapping
    assert!(stdout.contains("industries not in the mapping, counted as Other services: \"Pet Grooming\" (1)"), "{stdout}");
    let folder = out.path().join("FY2026-Q2");
    assert!(folder.join("tables/data_quality.parquet").is_file());
    // the report's headline table against the fixture's hand-worked values
    let md = std::fs::read_to_string(folder.join("report.md")).unwrap();
    for row in [
        "| Revenue | 3.3M | 1.3M |",
        "| IS-sourced revenue | 2.6M | 1.0M |",
        "| Leads | 6 | 5 |",
        "| SQL rate | 83.3% | 60.0% |",
        "| Win rate (count) | 60.0% | 100.0% |",
        "| First-contact SLA met | 60.0% | 50.0% |",
        "| In-person share of FS meetings | 66.7% | 50.0% |",
    ] {
        assert!(md.contains(row), "{row} in report.md:\n{md}");
    }
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(folder.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["period"], "FY2026-Q2");
    let inputs = manifest["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 8);
    let leads = inputs.iter().find(|i| i["table"] == "leads").unwrap();
    assert_eq!(leads["rows_loaded"], 11);
    // the hash taken while reading is the file's own
    use sha2::Digest;
    let want: String = sha2::Sha256::digest(std::fs::read(d.file("leads.csv")).unwrap()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(leads["sha256"].as_str().unwrap(), want);
    assert_eq!(leads["bytes"].as_u64().unwrap(), std::fs::metadata(d.file("leads.csv")).unwrap().len());
}

#[test]
fn a_failed_run_leaves_the_previous_report_untouched() {
    let d = Dir::copy_of(&tiny());
    let out = tempfile::tempdir().unwrap();
    let out_s = out.path().to_str().unwrap();
    assert!(salesrelay(d.path(), &["run", "--input", ".", "--out", out_s]).status.success());
    let manifest = out.path().join("FY2026-Q2/manifest.json");
    let before = std::fs::read(&manifest).unwrap();
    d.replace("opportunities.csv", ",300000,", ",-3200,");
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", out_s, "--period", "FY2026-Q2"]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("opportunities, column amount: negative_amount x 1"), "{stderr}");
    assert!(stderr.contains("row 4: \"-3200\""), "{stderr}");
    assert_eq!(std::fs::read(&manifest).unwrap(), before);
    let names: Vec<String> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, vec!["FY2026-Q2".to_string()], "no temporary folders are left behind");
}

#[test]
fn lenient_run_sets_rows_aside_into_data_quality() {
    let d = Dir::copy_of(&tiny());
    d.replace("opportunities.csv", ",300000,", ",-3200,");
    d.append("salesrelay.toml", "[lenient]\nmax_share = 0.2\n"); // 1 of 8 deals
    let out = tempfile::tempdir().unwrap();
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap(), "--lenient"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = std::fs::File::open(out.path().join("FY2026-Q2/tables/data_quality.parquet")).unwrap();
    let dq = { use polars::prelude::SerReader; polars::prelude::ParquetReader::new(file).finish().unwrap() };
    assert_eq!(dq.height(), 1);
    assert_eq!(crate::util::strs(&dq, "rule")[0].as_deref(), Some("negative_amount"));
}

#[test]
fn validate_exit_codes() {
    let d = Dir::copy_of(&tiny());
    assert_eq!(salesrelay(d.path(), &["validate", "--input", "."]).status.code(), Some(0));
    d.replace("leads.csv", "L8,A4,", "L8,A99,");
    let o = salesrelay(d.path(), &["validate", "--input", "."]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("leads, column account_id: dangling_reference x 1"));
    assert_eq!(salesrelay(d.path(), &["validate", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(salesrelay(d.path(), &["run", "--period", "FY2026-Q9", "--input", "."]).status.code(), Some(1));
}

#[test]
fn query_runs_sql_over_the_input_tables() {
    let d = Dir::copy_of(&tiny());
    std::fs::write(d.file("wins.sql"), "SELECT owner_rep_id, COUNT(*) AS wins FROM opportunities WHERE outcome = 'won' GROUP BY owner_rep_id ORDER BY owner_rep_id").unwrap();
    let o = salesrelay(d.path(), &["query", "wins.sql", "--input", ".", "--out", "wins.csv"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // O1, O3, O8 won by R4; O5, O6 by R5
    assert_eq!(d.read("wins.csv"), "owner_rep_id,wins\nR4,3\nR5,2\n");
    std::fs::write(d.file("broken.sql"), "SELEC nonsense").unwrap();
    let o = salesrelay(d.path(), &["query", "broken.sql", "--input", "."]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("broken.sql"));
}

/// The review of sample_data end to end: every table, with its schema and
/// the documentation in the Parquet key-value metadata, and the summary.
#[test]
fn run_on_sample_data_writes_documented_tables() {
    use polars::prelude::SerReader;
    let out = tempfile::tempdir().unwrap();
    let o = salesrelay(&crate::util::root(), &["run", "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("reviewed FY2026-Q2"), "{stdout}");
    assert!(stdout.contains("revenue "), "{stdout}");
    // three movers in words: "<driver> rose|fell from A to B: +/-C"
    let movers = stdout.lines().filter(|l| l.trim_start().starts_with("- ") && l.contains(" from ") && l.contains(": ")).count();
    assert_eq!(movers, 3, "{stdout}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    for stage in ["load", "validate", "compute", "write"] {
        assert!(stderr.contains(stage), "progress for {stage}: {stderr}");
    }
    // stderr holds our step lines and nothing else: no library's warning
    // (Polars prints its deprecations there) reaches the user
    for line in stderr.lines() {
        let step = line.strip_prefix("  ").and_then(|l| l.split_whitespace().next());
        assert!(matches!(step, Some("load" | "validate" | "compute" | "queries" | "write")), "a line that is not a step's: {line:?} in\n{stderr}");
    }
    let folder = out.path().join("FY2026-Q2");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(folder.join("manifest.json")).unwrap()).unwrap();
    let outputs = manifest["outputs"].as_array().unwrap();
    let names: Vec<&str> = outputs.iter().map(|o| o["path"].as_str().unwrap()).collect();
    for t in [
        "kpi_tree", "kpi_attribution", "funnel_period", "funnel_cohort", "is_reps", "fs_reps", "handoffs", "handoff_quality", "losses",
        "loss_summary", "loss_feedback", "industry_visit_ratio", "visit_mix_reps", "pipeline_movement", "stage_conversion", "data_quality",
    ] {
        let rel = format!("tables/{t}.parquet");
        assert!(names.contains(&rel.as_str()), "{rel} in manifest");
        let mut reader = polars::prelude::ParquetReader::new(std::fs::File::open(folder.join(&rel)).unwrap());
        let kv: std::collections::BTreeMap<String, String> = reader
            .get_metadata()
            .unwrap()
            .key_value_metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|k| (k.key, k.value.unwrap_or_default()))
            .collect();
        assert_eq!(kv.get("salesrelay.schema_version").map(String::as_str), Some("1"), "{t}");
        assert_eq!(kv.get("salesrelay.table").map(String::as_str), Some(t));
        let docs: serde_json::Value = serde_json::from_str(&kv["salesrelay.columns"]).unwrap();
        let df = reader.finish().unwrap();
        for c in df.get_column_names() {
            assert!(docs.get(c.as_str()).is_some(), "{t}.{c} has a description");
        }
        let entry = outputs.iter().find(|o| o["path"] == rel).unwrap();
        assert_eq!(entry["rows"].as_u64().unwrap() as usize, df.height(), "{t} rows in manifest");
        assert!(t == "data_quality" || df.height() > 0, "{t} is empty");
    }
    let kpi = polars::prelude::ParquetReader::new(std::fs::File::open(folder.join("tables/kpi_tree.parquet")).unwrap()).finish().unwrap();
    // 10 quarters FY2024-Q1 .. FY2026-Q2 plus the partial FY2026-Q3; 2 comparisons; 1 + 3 + 10 + 6 regions; 40 nodes
    assert_eq!(kpi.height(), 11 * 2 * 20 * 40);
    assert_eq!(kpi.column("value").unwrap().dtype(), &polars::prelude::DataType::Float64);
}

/// Polars' reader (well-formed files) and the record-by-record path, typing
/// in chunks of 3 rows, give the same tables and findings: on the tiny
/// fixture (a quoted newline, CRLF and a BOM in leads.csv, bad values) and
/// on sample_data (in chunks of 997).
#[test]
fn polars_reader_and_chunked_exact_path_agree() {
    let d = Dir::copy_of(&tiny());
    d.replace("opportunities.csv", ",300000,", ",-3200,"); // a finding in a later chunk
    d.replace("leads.csv", "L8,A4,", "L8,A99,");
    d.write("leads.csv", &format!("\u{feff}{}", d.read("leads.csv").replace('\n', "\r\n")));
    d.replace("accounts.csv", "Kita Bank", "  Kita Bank  ");
    // ids the reader codes as it parses (a file without padding): an empty
    // required one and one that names no row
    d.replace("activities.csv", "T2,R1,A1,L1,", "T2,,A1,L1,");
    d.replace("activities.csv", "T3,R3,A2,L2,", "T3,R3,A2,L77,");
    // a quote inside a quoted value, and a last record without a line end
    d.replace("opportunities.csv", "\"Lost to competitor on price, again\"", "\"Lost to \"\"Zoho\"\" on price, again\"");
    d.write("activities.csv", d.read("activities.csv").trim_end_matches('\n'));
    d.append("salesrelay.toml", "[lenient]\nmax_share = 0.3\n"); // the tiny tables lose up to 21%
    // more than the scan's 1 MiB blocks: padding in the first block, quotes (a
    // quoted comma and newline, a quoted value) only in a later one
    let big = Dir::copy_of(&tiny());
    let mut rows = String::new();
    for i in 0..16_000 {
        let kind = match i {
            5 => "call ",
            15_990 => "\"call\"",
            15_995 => "\"no, answer\nreally\"",
            _ => "call",
        };
        rows.push_str(&format!("X{i:06},R1,A1,L1,,2026-04-06T10:30:00+09:00,{kind},connected,false,5\n"));
    }
    big.append("activities.csv", &rows);
    assert!(big.read("activities.csv").len() > 1 << 20);
    let sample = crate::util::root().join("sample_data");
    // sample_data runs strictly: the frames --lenient filters are rebuilt, the strict ones are the reader's own
    for (input, chunk, lenient, tables) in [
        (d.path(), "3", true, vec!["data_quality", "kpi_tree", "handoffs", "losses", "pipeline_movement"]),
        (sample.as_path(), "997", false, vec!["data_quality", "kpi_tree", "handoffs", "losses", "dsr_engagement", "fs_reps", "is_reps", "funnel_cohort"]),
        (big.path(), "997", true, vec!["data_quality", "kpi_tree", "is_reps"]),
    ] {
        let run = |path: &str| {
            let out = tempfile::tempdir().unwrap();
            let o = std::process::Command::new(env!("CARGO_BIN_EXE_salesrelay"))
                .current_dir(input)
                .env("SALESRELAY_CSV_PATH", path)
                .env("SALESRELAY_CHUNK_ROWS", chunk)
                .env("SALESRELAY_TIMINGS", "1")
                .args(["run", "--input", ".", "--queries", "none", "--period", "FY2026-Q2", "--out", out.path().to_str().unwrap()])
                .args(if lenient { &["--lenient"][..] } else { &[][..] })
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            (out, String::from_utf8_lossy(&o.stderr).into_owned())
        };
        let ((whole, told), (chunked, _)) = (run("polars"), run("exact"));
        // Polars' parser read the files it was given (it times its pieces), the BOM, CRLF
        // and quoted newline of the tiny leads.csv and the quotes of the big activities.csv
        // included, rather than leaving them to the exact path
        for file in ["leads.csv", "activities.csv", "opportunities.csv"] {
            assert!(told.contains(&format!("    {file}: scan ")), "{file} went record by record:\n{told}");
        }
        compare_tables(&whole, &chunked, &tables);
        if input == d.path() {
            // the ids coded by the reader are named as the text ones were
            use polars::prelude::SerReader;
            let path = whole.path().join("FY2026-Q2/tables/data_quality.parquet");
            let dq = polars::prelude::ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap();
            let found: Vec<String> = (0..dq.height())
                .filter(|i| dq.column("table").unwrap().str().unwrap().get(*i) == Some("activities"))
                .map(|i| {
                    let get = |c: &str| dq.column(c).unwrap().cast(&polars::prelude::DataType::String).unwrap().str().unwrap().get(i).unwrap_or("").to_string();
                    format!("{} {} {} {}", get("row"), get("column"), get("value"), get("rule"))
                })
                .collect();
            let path = whole.path().join("FY2026-Q2/tables/losses.parquet");
            let losses = polars::prelude::ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap();
            let texts: Vec<Option<&str>> = losses.column("loss_reason_text").unwrap().str().unwrap().iter().collect();
            assert!(texts.contains(&Some("Lost to \"Zoho\" on price, again")), "{texts:?}");
            // (L8 is set aside with its account A99, so its activity is named too)
            assert_eq!(found, ["3 rep_id  missing_value", "4 lead_id L77 dangling_reference", "12 lead_id L8 dangling_reference"]);
        }
    }
}

/// A CRM export read through a mapping: Polars' parser (the files are
/// well formed) and the record-by-record path in chunks of 3 rows give the
/// same tables and findings, on the Salesforce export (a quoted comma in
/// Opportunity.csv's loss notes; padded values, a BOM and CRLF line ends
/// added) and on the HubSpot one (padded values and a quoted newline
/// added).
#[test]
fn mapping_sources_read_by_polars_agree_with_the_exact_path() {
    let salesforce = Dir::copy_of(&crate::mapping::salesforce());
    salesforce.replace("Lead.csv", "00QC2,Sakura Bank,", "00QC2 , Sakura Bank ,");
    // a BOM and CRLF line ends, as Excel saves a file
    salesforce.write("Opportunity.csv", &format!("\u{feff}{}", salesforce.read("Opportunity.csv").replace('\n', "\r\n")));
    let hubspot = crate::hubspot::hubspot_in_yen();
    let first = hubspot.read("companies.csv").lines().nth(1).unwrap().to_string();
    let cells: Vec<&str> = first.split(',').collect();
    // (column 5 is the city)
    let padded: Vec<String> = cells.iter().enumerate().map(|(i, c)| if i == 5 { format!("\"{c}\nsecond line\"") } else { format!(" {c} ") }).collect();
    hubspot.replace("companies.csv", &first, &padded.join(","));
    for (input, mapping, files) in [(&salesforce, "salesforce", ["Lead.csv", "Opportunity.csv", "Task.csv"]), (&hubspot, "hubspot", ["companies.csv", "deals.csv", "meetings.csv"])] {
        let run = |path: &str| {
            let out = tempfile::tempdir().unwrap();
            let o = std::process::Command::new(env!("CARGO_BIN_EXE_salesrelay"))
                .current_dir(input.path())
                .env("SALESRELAY_CSV_PATH", path)
                .env("SALESRELAY_CHUNK_ROWS", "3")
                .env("SALESRELAY_TIMINGS", "1")
                .args(["run", "--input", ".", "--mapping", mapping, "--queries", "none", "--period", "FY2026-Q2", "--out", out.path().to_str().unwrap()])
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            (out, String::from_utf8_lossy(&o.stderr).into_owned())
        };
        let ((whole, told), (chunked, exact_told)) = (run("polars"), run("exact"));
        for file in files {
            assert!(told.contains(&format!("    {file}: read by Polars' parser in ")), "{file} went record by record:\n{told}");
            assert!(!exact_told.contains(&format!("    {file}: read by Polars' parser")), "{exact_told}");
        }
        let tables: Vec<String> = std::fs::read_dir(whole.path().join("FY2026-Q2/tables"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".parquet").to_string())
            .collect();
        assert!(["kpi_tree", "losses", "handoffs", "data_quality"].iter().all(|t| tables.iter().any(|n| n == t)), "{tables:?}");
        compare_tables(&whole, &chunked, &tables.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

fn compare_tables(whole: &tempfile::TempDir, chunked: &tempfile::TempDir, tables: &[&str]) {
    for t in tables {
        let read = |dir: &tempfile::TempDir| {
            use polars::prelude::SerReader;
            polars::prelude::ParquetReader::new(std::fs::File::open(dir.path().join(format!("FY2026-Q2/tables/{t}.parquet"))).unwrap()).finish().unwrap()
        };
        let (a, b) = (read(whole), read(chunked));
        assert!(a.equals_missing(&b), "{t} differs between Polars' reader and the exact path in chunks of 3 rows:\n{a}\n{b}");
    }
}

/// The diagnostics README documents: SALESRELAY_TIMINGS prints each stage's
/// peak memory (resident and live heap), the event frames' build times and each table's time and
/// peak, SALESRELAY_PROFILE a table's slowest plan nodes; the report is the same.
#[test]
fn timings_and_profile_print_what_readme_says() {
    let out = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_salesrelay"))
        .current_dir(crate::util::tiny())
        .env("SALESRELAY_TIMINGS", "1")
        .env("SALESRELAY_PROFILE", "pipeline_movement")
        .args(["run", "--input", ".", "--queries", "none", "--out", out.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let printed = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    for line in ["load memory: peak", "validate memory: peak", "compute memory: peak", "fact activities:", "the aggregates: peak", "pipeline_movement: its slowest plan nodes"] {
        assert!(printed.contains(line), "no {line:?} in\n{printed}");
    }
    // every table, shared (kpi_tree) or not (is_reps), with its time and peak
    for table in ["kpi_tree", "is_reps"] {
        assert!(printed.lines().any(|l| l.trim_start().starts_with(&format!("compute {table}: ")) && l.contains("s, peak ")), "no time for {table} in\n{printed}");
        // and the CPU seconds the process spent meanwhile, a number of seconds
        let line = printed.lines().find(|l| l.trim_start().starts_with(&format!("compute {table}: "))).unwrap();
        let cpu: f64 = line.split(", cpu ").nth(1).and_then(|r| r.split('s').next()).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no cpu seconds in {line}"));
        assert!(cpu >= 0.0, "{line}");
    }
    // each peak with the live heap the binary's allocator counted: a number of MiB, never above
    // the resident peak beside it (the heap is part of what the process holds)
    for stage in ["load", "validate", "compute"] {
        let line = printed.lines().find(|l| l.trim_start().starts_with(&format!("{stage} memory: peak "))).unwrap();
        let number = |after: &str| -> u64 { line.split(after).nth(1).and_then(|r| r.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no number after {after:?} in {line}")) };
        assert!(number("(heap ") <= number("peak "), "{line}");
    }
}

/// The CPU seconds of the timings are utime + stime of `/proc/self/stat`,
/// counted after the command name however many spaces and brackets it
/// holds (worked by hand: 250 + 50 ticks), and this process has spent some.
#[test]
fn cpu_seconds_read_utime_and_stime_after_the_command_name() {
    let stat = "4242 (sales relay (x)) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 3 0 100 0";
    assert_eq!(salesrelay::progress::cpu_ticks(stat), Some(300));
    assert_eq!(salesrelay::progress::cpu_ticks("4242 (cut) S 1 2"), None);
    if cfg!(target_os = "linux") {
        let spent = salesrelay::progress::cpu_seconds().unwrap();
        assert!(spent > 0.0 && spent.is_finite(), "{spent}");
    }
}

/// The charts, report and summary read the tables back from the files just
/// written: a report folder whose path looks like a glob pattern or a
/// partitioned folder (`[2026]`, `year=2026`) gives the same report as any
/// other, and no table gains a column from its path.
#[test]
fn a_report_under_a_path_like_a_pattern_reads_its_own_tables() {
    let d = Dir::copy_of(&tiny());
    let plain = tempfile::tempdir().unwrap();
    let odd = tempfile::tempdir().unwrap();
    let odd_out = odd.path().join("reviews [2026]*").join("year=2026");
    let a = salesrelay(d.path(), &["run", "--input", ".", "--out", plain.path().to_str().unwrap()]);
    let b = salesrelay(d.path(), &["run", "--input", ".", "--out", odd_out.to_str().unwrap()]);
    assert!(a.status.success() && b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let (a_out, b_out) = (String::from_utf8_lossy(&a.stdout), String::from_utf8_lossy(&b.stdout));
    let without_folder = |s: &str| s.lines().filter(|l| !l.contains("report: ")).collect::<Vec<_>>().join("\n");
    assert_eq!(without_folder(&a_out), without_folder(&b_out));
    assert!(b_out.contains("revenue 3.3M vs 1.3M the quarter before"), "{b_out}");
    for file in ["report.md", "tables/kpi_tree.parquet", "tables/data_coverage.parquet", "charts/kpi_tree.svg"] {
        let (x, y) = (std::fs::read(plain.path().join("FY2026-Q2").join(file)).unwrap(), std::fs::read(odd_out.join("FY2026-Q2").join(file)).unwrap());
        assert!(x == y, "{file} differs");
    }
}

/// `main` sets mimalloc's options by their index in mimalloc.h (the
/// binary hands freed memory back as reclaimable and asks for no huge
/// pages, README "Development"): the linked mimalloc lists its options in
/// index order under `MIMALLOC_VERBOSE=1`; index 5 must be
/// purge_decommits, index 15 purge_delay and index 43 allow_thp.
#[test]
fn the_allocator_options_main_sets_are_purge_decommits_purge_delay_and_allow_thp() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_salesrelay"))
        .env("MIMALLOC_VERBOSE", "1")
        .env_remove("MIMALLOC_PURGE_DECOMMITS")
        .env_remove("MIMALLOC_PURGE_DELAY")
        .env_remove("MIMALLOC_ALLOW_THP")
        .arg("--version")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let printed = String::from_utf8_lossy(&o.stderr);
    let options: Vec<&str> = printed.lines().filter_map(|l| l.strip_prefix("option '")?.split('\'').next()).collect();
    assert_eq!(options.get(5), Some(&"purge_decommits"), "mimalloc's options in order: {options:?}");
    assert_eq!(options.get(15), Some(&"purge_delay"), "mimalloc's options in order: {options:?}");
    assert_eq!(options.get(43), Some(&"allow_thp"), "mimalloc's options in order: {options:?}");
}

/// On Linux with glibc, where the run keeps the memory it frees, `main`
/// sets glibc's allocator up before any other thread starts: one heap for
/// the large blocks (64 KiB and more), none below 32 MiB mapped on its
/// own, so a freed one is reused (README, "Development").
/// Under `SALESRELAY_TIMINGS` the binary says what glibc holds at the end:
/// its heap grew for the large blocks and none is mapped on its own (no
/// block of the tiny input's reaches 32 MiB); with the user's own
/// `GLIBC_TUNABLES` (which main leaves be) glibc maps a large block on its
/// own again, as it does by default from 128 KiB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn large_blocks_come_from_one_glibc_heap_none_below_32_mib_mapped_on_its_own() {
    let report = |tunables: Option<&str>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_salesrelay"));
        c.env("SALESRELAY_TIMINGS", "1").args(["validate", "--input"]).arg(crate::util::tiny());
        match tunables {
            Some(t) => c.env("GLIBC_TUNABLES", t),
            None => c.env_remove("GLIBC_TUNABLES"),
        };
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        // the large blocks go to glibc only where the run keeps what it frees: 2 GiB of room
        // and four times the input (a few KB here)
        assert!(err.contains("freed memory kept for reuse"), "this test needs 2 GiB of free memory: {err}");
        let line = err.lines().find_map(|l| l.trim().strip_prefix("large blocks: glibc's heap ")).map(str::to_string);
        let line = line.unwrap_or_else(|| panic!("no line on the large blocks: {err}"));
        let numbers: Vec<u64> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
        (numbers[0], numbers[1])
    };
    let (heap_mib, mapped) = report(None);
    assert_eq!(mapped, 0, "set up: no block below 32 MiB mapped on its own");
    assert!(heap_mib > 0, "the large blocks came from the heap (it grew)");
    let (_, mapped) = report(Some("glibc.malloc.check=0"));
    assert!(mapped > 0, "glibc as it comes maps a large block on its own");
}

/// A validated table is made one chunk a column with its columns side by
/// side only where the memory free holds a copy of it and 1 GiB besides
/// (under a cap, a column at a time: one column's copy beside the table).
#[test]
fn columns_are_rechunked_side_by_side_only_where_the_room_holds_a_copy_and_1_gib() {
    use salesrelay::validate::rechunk_side_by_side as side_by_side;
    const GIB: u64 = 1 << 30;
    assert!(side_by_side(635 << 20, Some(20 * GIB)));
    assert!(side_by_side(GIB, Some(2 * GIB)));
    assert!(!side_by_side(GIB, Some(2 * GIB - 1)));
    assert!(!side_by_side(635 << 20, Some(GIB)));
    assert!(!side_by_side(1, None));
    assert!(!side_by_side(u64::MAX, Some(u64::MAX - 1)));
}

/// A run keeps the memory it frees for its own reuse only where the room
/// it may take holds four times its input and 2 GiB besides: at scale 1000
/// (2.7 GB of CSV) on a 23 GiB machine, not under a 3 GiB limit nor where
/// the room is unknown; the input is its CSV bytes and eight times its
/// Parquet bytes, other files not counted.
#[test]
fn freed_memory_is_kept_only_where_the_room_holds_four_inputs_and_2_gib() {
    use salesrelay::progress::room_to_keep_freed_memory as keep;
    const GIB: u64 = 1 << 30;
    assert!(keep(2_700_000_000, Some(23 * GIB)));
    assert!(!keep(2_700_000_000, Some(3 * GIB)));
    assert!(!keep(1, None));
    assert!(keep(GIB, Some(6 * GIB)));
    assert!(!keep(GIB, Some(6 * GIB - 1)));
    assert!(!keep(u64::MAX, Some(u64::MAX - 1)));
    let d = crate::util::Dir::copy_of(&crate::util::tiny());
    let every_csv: u64 = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(every_csv > 0);
    assert_eq!(salesrelay::load::input_bytes(d.path()), every_csv);
    std::fs::write(d.file("targets.parquet"), [0u8; 100]).unwrap();
    std::fs::write(d.file("notes.txt"), [0u8; 1000]).unwrap();
    assert_eq!(salesrelay::load::input_bytes(d.path()), every_csv + 800);
}

/// Activities and DSR views with a header and no rows: the group-bys the
/// streaming engine runs (counts per rep, deal or lead, first views) get
/// no rows, and the run still completes with zeros where counts belong,
/// not an error or a panic.
#[test]
fn a_run_whose_activities_and_views_have_no_rows_completes_with_zero_counts() {
    let d = Dir::copy_of(&tiny());
    for name in ["activities.csv", "dsr_views.csv"] {
        let header = d.read(name).lines().next().unwrap().to_string();
        d.write(name, &format!("{header}\n"));
    }
    let out = tempfile::tempdir().unwrap();
    let o = salesrelay(d.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap(), "--queries", "none"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let folder = crate::util::report_folder(out.path());
    let table = |name: &str| crate::util::report_table(&folder, name);
    let total = |df: &polars::prelude::DataFrame, c: &str| crate::util::f64s(df, c).into_iter().map(|v| v.unwrap_or(0.0)).sum::<f64>();
    let fs = table("fs_reps");
    assert!(fs.height() > 0);
    assert_eq!((total(&fs, "visits"), total(&fs, "online_meetings")), (0.0, 0.0));
    let dsr = table("dsr_engagement");
    assert!(dsr.height() > 0);
    assert_eq!((total(&dsr, "views"), total(&dsr, "views_after_close")), (0.0, 0.0));
}

/// The plans that take Polars' streaming engine on a large input
/// (`metrics::streamed`, from `metrics::STREAM_FROM` of validated tables)
/// give the same tables on the in-memory engine, which a small input takes:
/// `sample_data/` run both ways (`SALESRELAY_STREAMING`) writes the same
/// bytes in every table.
#[test]
fn the_streaming_and_in_memory_engines_write_the_same_tables() {
    let sample = crate::util::root().join("sample_data");
    let run = |engine: &str| {
        let out = tempfile::tempdir().unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_salesrelay"))
            .current_dir(&sample)
            .env("SALESRELAY_STREAMING", engine)
            .args(["run", "--input", ".", "--queries", "none", "--period", "FY2026-Q2", "--out", out.path().to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out
    };
    let (streamed, in_memory) = (run("always"), run("never"));
    let tables = |dir: &tempfile::TempDir| {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path().join("FY2026-Q2/tables"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        files
    };
    let (a, b) = (tables(&streamed), tables(&in_memory));
    assert!(a.len() >= 28, "{} tables", a.len());
    assert_eq!(a.iter().map(|(n, _)| n).collect::<Vec<_>>(), b.iter().map(|(n, _)| n).collect::<Vec<_>>());
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between the streaming and the in-memory engine");
    }
}
