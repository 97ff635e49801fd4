//! A mutation fuzzer over the tiny fixture's bytes: cut files, duplicated or
//! deleted lines, flipped bytes (invalid UTF-8 included), swapped and emptied
//! fields, huge and odd numbers, stray quotes, BOMs and Japanese text. Each
//! case loads and validates strictly and with --lenient, then computes every
//! table from what --lenient kept. It asserts: no panic, every error is an
//! error (not a crash), and every finding names its table, rule and detail,
//! and its column unless it is about a whole file or record.
//!
//! `cargo test` runs `SALESRELAY_FUZZ_CASES` cases (default 150);
//! `tests/bench/fuzz.sh` runs many more and reports executions and panics.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use salesrelay::config::Config;
use salesrelay::industries::Industries;
use salesrelay::load::read_input;
use salesrelay::metrics::Model;
use salesrelay::metrics::compute_tables;
use salesrelay::prepare::data_span;
use salesrelay::validate::validate;

use crate::util::{strs, tiny, Dir};

const FILES: [&str; 10] = [
    "accounts.csv",
    "reps.csv",
    "leads.csv",
    "opportunities.csv",
    "handoffs.csv",
    "activities.csv",
    "stage_history.csv",
    "dsr_views.csv",
    "targets.csv",
    "exchange_rates.csv",
];

/// The plan and the rates the fuzzed copies carry too (the fixture has neither).
const TARGETS: &str = "period,segment_kind,segment,node,target\nFY2026-Q2,total,all,revenue,3000000\nFY2026-Q2,total,all,revenue_is,2400000\nFY2026-Q2,total,all,revenue_fs,600000\nFY2026-Q3,source,inbound,revenue,2000000\nFY2026-Q2,total,all,sql_rate,0.5\n";
const RATES: &str = "currency,valid_from,rate\nUSD,2026-01-01,0.0068\nEUR,2026-04-01,0.0062\n";

/// Rules about a whole file or record, which name no column.
const NO_COLUMN: &[&str] = &[
    "missing_table", "ambiguous_table", "empty_file", "malformed_csv", "malformed_parquet", "not_utf8", "not_shift_jis",
    "unknown_encoding", "wrong_delimiter", "ragged_row", "report_footer", "unclosed_quote", "not_a_file", "repeated_header",
];

/// One random edit of `bytes`.
fn mutate(bytes: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    let lines: Vec<(usize, usize)> = {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                out.push((start, i + 1));
                start = i + 1;
            }
        }
        if start < bytes.len() {
            out.push((start, bytes.len()));
        }
        out
    };
    let pos = if bytes.is_empty() { 0 } else { rng.gen_range(0..bytes.len()) };
    let line = if lines.is_empty() { (0, 0) } else { lines[rng.gen_range(0..lines.len())] };
    match rng.gen_range(0..11) {
        0 => bytes.truncate(pos),
        1 => {
            let copy = bytes[line.0..line.1].to_vec();
            bytes.splice(line.1..line.1, copy);
        }
        2 => {
            bytes.drain(line.0..line.1);
        }
        3 if !bytes.is_empty() => bytes[pos] = rng.gen(),
        4 => {
            // swap two fields of a line
            let text = String::from_utf8_lossy(&bytes[line.0..line.1]).into_owned();
            let mut fields: Vec<&str> = text.trim_end_matches('\n').split(',').collect();
            if fields.len() > 1 {
                let (a, b) = (rng.gen_range(0..fields.len()), rng.gen_range(0..fields.len()));
                fields.swap(a, b);
                let joined = format!("{}\n", fields.join(","));
                bytes.splice(line.0..line.1, joined.into_bytes());
            }
        }
        5 => {
            // empty a field
            let text = String::from_utf8_lossy(&bytes[line.0..line.1]).into_owned();
            let mut fields: Vec<String> = text.trim_end_matches('\n').split(',').map(str::to_string).collect();
            let i = rng.gen_range(0..fields.len());
            fields[i].clear();
            bytes.splice(line.0..line.1, format!("{}\n", fields.join(",")).into_bytes());
        }
        6 => {
            let odd = ["99999999999999999999999999999999999999", "1e400", "-0", "NaN", "inf", "-1", "0x1F", "1,5", " 7 ", "9223372036854775808"];
            let text = String::from_utf8_lossy(&bytes[line.0..line.1]).into_owned();
            let mut fields: Vec<String> = text.trim_end_matches('\n').split(',').map(str::to_string).collect();
            let i = rng.gen_range(0..fields.len());
            fields[i] = odd[rng.gen_range(0..odd.len())].to_string();
            bytes.splice(line.0..line.1, format!("{}\n", fields.join(",")).into_bytes());
        }
        7 => bytes.insert(pos, b'"'),
        8 => {
            let odd: [&[u8]; 6] = ["\u{feff}".as_bytes(), "予算".as_bytes(), b"\r", b"\xff\xfe", b";", b"\x00"];
            let s = odd[rng.gen_range(0..odd.len())];
            bytes.splice(pos..pos, s.iter().copied());
        }
        9 => {
            let dates = ["2026-02-30", "9999-12-31T23:59:59Z", "0001-01-01", "2026-13-01T00:00:00+09:00", "2026-04-01T25:00", "yesterday"];
            let text = String::from_utf8_lossy(&bytes[line.0..line.1]).into_owned();
            let mut fields: Vec<String> = text.trim_end_matches('\n').split(',').map(str::to_string).collect();
            let i = rng.gen_range(0..fields.len());
            fields[i] = dates[rng.gen_range(0..dates.len())].to_string();
            bytes.splice(line.0..line.1, format!("{}\n", fields.join(",")).into_bytes());
        }
        _ => bytes.extend_from_slice(b"\nTotal,,,,\n"),
    }
}

/// Loads, validates (strict and lenient) and computes every table on `dir`;
/// Err with the reason when a finding is badly formed. A panic propagates.
fn exercise(dir: &Path) -> Result<usize, String> {
    let (config, _) = match Config::resolve(None, dir, &Default::default()) {
        Ok(c) => c,
        Err(_) => return Ok(0),
    };
    let mut findings = 0;
    for lenient in [false, true] {
        let Ok(raw) = read_input(dir, &config, salesrelay::load::Hashes::Taken) else { continue };
        let Ok(v) = validate(raw, lenient) else { continue };
        let f = &v.findings;
        findings = f.height();
        let (tables, rules, columns, details) = (strs(f, "table"), strs(f, "rule"), strs(f, "column"), strs(f, "detail"));
        for i in 0..f.height() {
            let rule = rules[i].clone().unwrap_or_default();
            if tables[i].as_deref().unwrap_or("").is_empty() || rule.is_empty() || details[i].as_deref().unwrap_or("").is_empty() {
                return Err(format!("finding {i} lacks table, rule or detail:\n{f}"));
            }
            if columns[i].is_none() && !NO_COLUMN.contains(&rule.as_str()) {
                return Err(format!("finding {i} ({rule}) names no column:\n{f}"));
            }
        }
        if lenient && !v.has_fatal() {
            let Ok(Some(span)) = data_span(&v, &config) else { continue };
            let Ok(industries) = Industries::load(dir, &config) else { continue };
            let m = Model::new(&config, &v.tables, &v.ids, &industries, span, span.last, &v.unavailable);
            let _ = compute_tables(&m);
        }
    }
    Ok(findings)
}

/// Runs `cases` mutated copies of the tiny fixture from `seed`; returns the
/// cases run and the failures (panics or badly formed findings) with their seeds.
pub fn fuzz(seed: u64, cases: u64) -> (u64, Vec<String>) {
    let mut failures = Vec::new();
    for case in seed..seed + cases {
        let mut rng = ChaCha8Rng::seed_from_u64(case);
        let d = Dir::copy_of(&tiny());
        d.write("targets.csv", TARGETS);
        d.write("exchange_rates.csv", RATES);
        d.append("salesrelay.toml", "base_currency = \"JPY\"\n");
        for _ in 0..rng.gen_range(1..4) {
            let file = FILES[rng.gen_range(0..FILES.len())];
            let mut bytes = std::fs::read(d.file(file)).unwrap();
            mutate(&mut bytes, &mut rng);
            std::fs::write(d.file(file), &bytes).unwrap();
        }
        match catch_unwind(AssertUnwindSafe(|| exercise(d.path()))) {
            Ok(Ok(_)) => {}
            Ok(Err(why)) => failures.push(format!("case {case}: {why}")),
            Err(panic) => {
                let text = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                failures.push(format!("case {case}: panic: {}", text.unwrap_or_default()));
            }
        }
    }
    (cases, failures)
}

#[test]
fn mutated_inputs_never_panic_and_every_finding_is_named() {
    let cases = std::env::var("SALESRELAY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(150);
    let seed = std::env::var("SALESRELAY_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let started = std::time::Instant::now();
    let (ran, failures) = fuzz(seed, cases);
    eprintln!("fuzz: {ran} executions from seed {seed} in {:.1} s, {} failures", started.elapsed().as_secs_f64(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
