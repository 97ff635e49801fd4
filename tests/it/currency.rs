//! Several currencies: amounts converted at the rate in force on the deal's
//! date, by hand on the fixture with two deals in USD and one in EUR; the
//! problems a multi-currency export has, named by table, row and column.

use polars::prelude::*;

use crate::kpi::{node, table, tables};
use crate::util::{f64s, findings, load, rows, strs, text, tiny, Dir};

/// The fixture with O1 (won 15 June) and O3 (won 10 September, and its
/// stage history) in USD and O2 (lost 15 July) in EUR, at rates that give
/// back the fixture's yen amounts: 0.01 USD per yen from April, 0.008 from
/// August; 0.005 EUR per yen from July.
fn multi_currency() -> Dir {
    let d = Dir::copy_of(&tiny());
    let opps = d.read("opportunities.csv");
    let mut lines: Vec<String> = opps.lines().map(|l| format!("{l},")).collect();
    lines[0] = lines[0].replace("competitor,", "competitor,currency");
    for l in lines.iter_mut() {
        if l.starts_with("O1,") {
            *l = l.replace(",1000000,", ",10000,").replace(",,,,", ",,,,USD");
        } else if l.starts_with("O3,") {
            *l = l.replace(",2000000,", ",16000,").replace(",,,,", ",,,,USD");
        } else if l.starts_with("O2,") {
            *l = l.replace(",500000,", ",2500,");
            l.pop();
            l.push_str(",EUR");
        }
    }
    d.write("opportunities.csv", &(lines.join("\n") + "\n"));
    d.replace("stage_history.csv", "O3,Qualification,2026-07-14T17:00:00+09:00,1800000", "O3,Qualification,2026-07-14T17:00:00+09:00,14400");
    d.replace("stage_history.csv", "O3,Proposal,2026-08-01T10:00:00+09:00,2000000", "O3,Proposal,2026-08-01T10:00:00+09:00,16000");
    d.replace("stage_history.csv", "O3,Closed Won,2026-09-10T10:00:00+09:00,2000000", "O3,Closed Won,2026-09-10T10:00:00+09:00,16000");
    d.write("exchange_rates.csv", "currency,valid_from,rate\nUSD,2026-04-01,0.01\nUSD,2026-08-01,0.008\nEUR,2026-07-01,0.005\n");
    d.append("salesrelay.toml", "\nbase_currency = \"JPY\"\n");
    d
}

#[test]
fn amounts_are_converted_at_the_rate_in_force_on_the_deals_date() {
    let d = multi_currency();
    assert!(d.read("opportunities.csv").contains("O2,A2,L2,R5,2026-04-21T09:00:00+09:00,2500,Closed Lost"), "{}", d.read("opportunities.csv"));
    let v = load(d.path(), false);
    assert!(findings(&v).is_empty(), "{:?}", findings(&v));
    let o = &text(&v, "opportunities");
    let at = |id: &str, c: &str| f64s(&rows(o, col("opportunity_id").eq(lit(id))), c)[0];
    // O1: 10,000 USD at 0.01 (June) = 1,000,000; O3: 16,000 USD at 0.008 (from August) = 2,000,000
    assert_eq!((at("O1", "amount"), at("O1", "amount_original")), (Some(1_000_000.0), Some(10_000.0)));
    assert_eq!(at("O3", "amount"), Some(2_000_000.0));
    // O2: 2,500 EUR at 0.005 (July) = 500,000; a yen deal is as it was, currency JPY
    assert_eq!(at("O2", "amount"), Some(500_000.0));
    assert_eq!(strs(&rows(o, col("opportunity_id").eq(lit("O5"))), "currency"), vec![Some("JPY".into())]);
    // O3's stage history at O3's rate: 14,400 USD = 1,800,000
    let sh = rows(&text(&v, "stage_history"), col("opportunity_id").eq(lit("O3")));
    assert_eq!(f64s(&sh, "amount"), vec![Some(1_800_000.0), Some(2_000_000.0), Some(2_000_000.0)]);
    // so every number is the fixture's: revenue 1.3M -> 3.3M
    let all = tables(d.path());
    let kpi = table(&all, "kpi_tree");
    assert_eq!(node(&kpi, "FY2026-Q2", "total", "all", "revenue")[0..2], [Some(3_300_000.0), Some(1_300_000.0)]);
    let losses = table(&all, "losses");
    let o2 = rows(&losses, col("opportunity_id").eq(lit("O2")));
    assert_eq!((f64s(&o2, "amount")[0], f64s(&o2, "amount_original")[0]), (Some(500_000.0), Some(2_500.0)));
    assert_eq!(strs(&o2, "currency")[0].as_deref(), Some("EUR"));
    // the open deal O4 (yen) in priority_deals, with its original amount and currency beside
    let p = rows(&table(&all, "priority_deals"), col("opportunity_id").eq(lit("O4")));
    assert_eq!((f64s(&p, "amount")[0], f64s(&p, "amount_original")[0]), (Some(800_000.0), Some(800_000.0)));
    assert_eq!(strs(&p, "currency")[0].as_deref(), Some("JPY"));
}

/// The fixture in three currencies, two dated rates each, at rates that
/// change the amounts (so revenue, deal size and the bridge are worked out
/// by hand here, not borrowed from the yen fixture):
///   USD 0.0100 per yen from 2026-04-01, 0.0080 from 2026-08-01
///   EUR 0.0050 per yen from 2026-04-01, 0.0040 from 2026-09-01
///   O1 won 15 Jun  10,000 USD / 0.0100 = 1,000,000   (IS, Q1)
///   O6 won 20 Jun   1,200 EUR / 0.0050 =   240,000   (FS, Q1)
///   O3 won 10 Sep  20,000 USD / 0.0080 = 2,500,000   (IS, Q2; 2,000,000 at June's rate)
///   O5 won 25 Sep   3,000 EUR / 0.0040 =   750,000   (IS, Q2; 600,000 at July's rate)
///   O8 won 28 Sep 700,000 JPY          =   700,000   (FS, Q2)
///   O2 lost 15 Jul  2,500 EUR / 0.0050 =   500,000
fn three_currencies() -> Dir {
    let d = Dir::copy_of(&tiny());
    let opps = d.read("opportunities.csv");
    let set = |l: &str, from: &str, to: &str, cur: &str| format!("{},{cur}", l.replace(from, to));
    let lines: Vec<String> = opps
        .lines()
        .map(|l| match l.split(',').next().unwrap() {
            "opportunity_id" => format!("{l},currency"),
            "O1" => set(l, ",1000000,", ",10000,", "USD"),
            "O6" => set(l, ",300000,", ",1200,", "EUR"),
            "O3" => set(l, ",2000000,", ",20000,", "USD"),
            "O5" => set(l, ",600000,", ",3000,", "EUR"),
            "O2" => set(l, ",500000,", ",2500,", "EUR"),
            _ => format!("{l},JPY"),
        })
        .collect();
    d.write("opportunities.csv", &(lines.join("\n") + "\n"));
    for (from, to) in [("O3,Qualification,2026-07-14T17:00:00+09:00,1800000", "O3,Qualification,2026-07-14T17:00:00+09:00,14400"), ("O3,Proposal,2026-08-01T10:00:00+09:00,2000000", "O3,Proposal,2026-08-01T10:00:00+09:00,20000"), ("O3,Closed Won,2026-09-10T10:00:00+09:00,2000000", "O3,Closed Won,2026-09-10T10:00:00+09:00,20000")] {
        d.replace("stage_history.csv", from, to);
    }
    d.write("exchange_rates.csv", "currency,valid_from,rate\nUSD,2026-04-01,0.01\nUSD,2026-08-01,0.008\nEUR,2026-04-01,0.005\nEUR,2026-09-01,0.004\n");
    d.append("salesrelay.toml", "\nbase_currency = \"JPY\"\n");
    d
}

fn near(got: Option<f64>, want: f64, what: &str) {
    let g = got.unwrap_or_else(|| panic!("{what}: null, want {want}"));
    assert!((g - want).abs() <= 1e-6 * want.abs().max(1.0), "{what}: got {g}, want {want}");
}

#[test]
fn revenue_deal_size_and_the_bridge_are_in_the_base_currency() {
    let d = three_currencies();
    let v = load(d.path(), false);
    assert!(findings(&v).is_empty(), "{:?}", findings(&v));
    let all = tables(d.path());
    let kpi = table(&all, "kpi_tree");
    let q2 = |n: &str| node(&kpi, "FY2026-Q2", "total", "all", n);
    // revenue: Q1 1,000,000 + 240,000 = 1,240,000; Q2 2,500,000 + 750,000 + 700,000 = 3,950,000
    assert_eq!(q2("revenue")[0..3], [Some(3_950_000.0), Some(1_240_000.0), Some(2_710_000.0)]);
    // IS: 3,250,000 from 1,000,000 on 2 wins (1): deal size 1,625,000 from 1,000,000
    assert_eq!(q2("revenue_is")[0..2], [Some(3_250_000.0), Some(1_000_000.0)]);
    assert_eq!(q2("deal_size_is")[0..2], [Some(1_625_000.0), Some(1_000_000.0)]);
    // FS: 700,000 from 240,000 on one win each quarter
    assert_eq!(q2("deal_size_fs")[0..2], [Some(700_000.0), Some(240_000.0)]);
    // the summands add: revenue_is moved revenue by 2,250,000, revenue_fs by 460,000
    near(q2("revenue_is")[3], 2_250_000.0, "revenue_is's contribution");
    near(q2("revenue_fs")[3], 460_000.0, "revenue_fs's contribution");
    // LMDI, L(a, b) = (a - b) / ln(a / b):
    // deal_size_is: L(3,250,000, 1,000,000) x ln(1.625) = 1,908,955.5527 x 0.4855078 = 926,812.8408
    near(q2("deal_size_is")[3], 926_812.840_822_3, "deal_size_is's contribution");
    // deal_size_fs: wins_fs did not move (1 and 1), so the whole 460,000 is deal size
    near(q2("deal_size_fs")[3], 460_000.0, "deal_size_fs's contribution");
    // the volume factors of revenue_is multiply by 2 (as in the yen fixture, where
    // revenue_is went 1,000,000 -> 2,600,000): together L x ln 2 = 1,323,187.1592, and
    // each is its yen-fixture contribution scaled by L(3.25M, 1M) / L(2.6M, 1M) = 1.1400180
    let yen = table(&tables(&tiny()), "kpi_tree");
    let volume = ["leads", "sql_rate", "handoff_rate", "acceptance_rate", "win_yield_is"];
    let mut sum = 0.0;
    for n in volume {
        let c = q2(n)[3].unwrap();
        near(Some(c), node(&yen, "FY2026-Q2", "total", "all", n)[3].unwrap() * 1.140_018_049_166_568_3, n);
        sum += c;
    }
    near(Some(sum), 1_323_187.159_177_7, "the volume factors together");
    // and the deal-level tables keep what was exported beside the yen
    let o5 = rows(&table(&all, "dsr_engagement"), col("opportunity_id").eq(lit("O5")));
    assert_eq!((f64s(&o5, "amount")[0], f64s(&o5, "amount_original")[0]), (Some(750_000.0), Some(3_000.0)));
    assert_eq!(strs(&o5, "currency")[0].as_deref(), Some("EUR"));
}

#[test]
fn currency_problems_are_named_by_row_and_column() {
    let d = multi_currency();
    // a deal in pounds with no GBP rate, a rate of 0, a repeated rate date, a code that is not ISO 4217
    d.replace("opportunities.csv", "O5,A2,L10,R5,2026-07-06T11:00:00+09:00,600000,Closed Won,2026-09-25T10:00:00+09:00,won,,,,", "O5,A2,L10,R5,2026-07-06T11:00:00+09:00,6000,Closed Won,2026-09-25T10:00:00+09:00,won,,,,GBP");
    d.replace("opportunities.csv", "O8,A1,,R4,2026-08-05T10:00:00+09:00,700000,Closed Won,2026-09-28T10:00:00+09:00,won,,,,", "O8,A1,,R4,2026-08-05T10:00:00+09:00,700000,Closed Won,2026-09-28T10:00:00+09:00,won,,,,円");
    d.append("exchange_rates.csv", "EUR,2026-09-01,0\nUSD,2026-08-01,0.0081\n");
    let v = load(d.path(), false);
    let got: Vec<(String, Option<i64>, Option<String>, String)> = findings(&v);
    let has = |table: &str, row: i64, column: &str, rule: &str| got.iter().any(|f| f.0 == table && f.1 == Some(row) && f.2.as_deref() == Some(column) && f.3 == rule);
    assert!(has("opportunities", 6, "currency", "no_exchange_rate"), "{got:?}");
    assert!(has("opportunities", 9, "currency", "not_a_currency"), "{got:?}");
    assert!(has("exchange_rates", 5, "rate", "out_of_range"), "{got:?}");
    assert!(has("exchange_rates", 6, "currency + valid_from", "duplicate_key"), "{got:?}");
}

#[test]
fn several_currencies_need_a_base_and_rates() {
    let d = multi_currency();
    d.remove("exchange_rates.csv");
    let got = findings(&load(d.path(), false));
    assert!(got.iter().any(|f| f.0 == "opportunities" && f.3 == "no_exchange_rates"), "{got:?}");
    d.replace("salesrelay.toml", "base_currency = \"JPY\"", "");
    let v = load(d.path(), false);
    let detail: Vec<String> = strs(&v.findings, "detail").into_iter().flatten().collect();
    assert!(detail.iter().any(|t| t.starts_with("opportunities are in EUR, USD: set base_currency in salesrelay.toml")), "{detail:?}");
    // one currency throughout needs nothing: it is the base
    let one = Dir::copy_of(&tiny());
    let opps: Vec<String> = one.read("opportunities.csv").lines().enumerate().map(|(i, l)| if i == 0 { format!("{l},currency") } else { format!("{l},USD") }).collect();
    one.write("opportunities.csv", &(opps.join("\n") + "\n"));
    let v = load(one.path(), false);
    assert!(findings(&v).is_empty(), "{:?}", findings(&v));
    assert_eq!(v.base_currency.as_deref(), Some("USD"));
}

#[test]
fn the_salesforce_mapping_reads_currency_iso_code_and_dated_rates() {
    let d = Dir::copy_of(&crate::util::root().join("tests/fixtures/salesforce"));
    let opps: Vec<String> = d
        .read("Opportunity.csv")
        .lines()
        .enumerate()
        .map(|(i, l)| match i {
            0 => format!("{l},CurrencyIsoCode"),
            // 006D1: 10,000 USD closed 20 June at 0.01 USD per yen = 1,000,000
            _ if l.starts_with("006D1,") => format!("{},USD", l.replace(",1000000,", ",10000,")),
            _ => format!("{l},JPY"),
        })
        .collect();
    d.write("Opportunity.csv", &(opps.join("\n") + "\n"));
    // the first dated period starts at 0001-01-01, as Salesforce writes it
    d.write("DatedConversionRate.csv", "Id,IsoCode,ConversionRate,StartDate,NextStartDate\n04w0,USD,0.02,0001-01-01,2026-01-01\n04w1,USD,0.01,2026-01-01,2026-07-01\n04w2,USD,0.0095,2026-07-01,9999-12-31\n");
    d.write("salesrelay.toml", "base_currency = \"JPY\"\n");
    let opts = salesrelay::prepare::InputOptions { mapping: Some("salesforce".into()), ..salesrelay::prepare::InputOptions::new(d.path()) };
    let (_, v) = salesrelay::prepare::load_validated(&opts, false, &salesrelay::progress::Progress::new(true)).unwrap();
    assert!(v.findings.height() == 0, "{}", v.findings);
    let o = rows(&text(&v, "opportunities"), col("opportunity_id").eq(lit("006D1")));
    assert_eq!((f64s(&o, "amount")[0], f64s(&o, "amount_original")[0]), (Some(1_000_000.0), Some(10_000.0)));
    assert_eq!(strs(&o, "currency")[0].as_deref(), Some("USD"));
    assert_eq!(v.tables["exchange_rates"].height(), 3);
}

/// A picklist value the salesforce mapping does not name is reported with
/// its count and what it became, in data_coverage, the summary and the report.
#[test]
fn a_value_the_mapping_does_not_name_is_reported() {
    let d = Dir::copy_of(&crate::util::root().join("tests/fixtures/salesforce"));
    let lead = d.read("Lead.csv");
    let header: Vec<&str> = lead.lines().next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "LeadSource").expect("LeadSource");
    // every lead whose source was Web now says "Outbound Prospecting", an org's own value
    let lines: Vec<String> = lead
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
            if i > 0 && f.get(at).map(String::as_str) == Some("Web") {
                f[at] = "Outbound Prospecting".into();
            }
            f.join(",")
        })
        .collect();
    let changed = lines.iter().filter(|l| l.contains("Outbound Prospecting")).count();
    assert!(changed > 0);
    d.write("Lead.csv", &(lines.join("\n") + "\n"));
    let out = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(d.path(), &["run", "--input", ".", "--mapping", "salesforce", "--out", out.path().to_str().unwrap(), "--queries", "none"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = format!("  Lead.LeadSource: 'Outbound Prospecting' x {changed} became inbound (not named in the map); name it in the mapping's map if it means something else");
    assert!(stdout.contains(&line), "{stdout}");
    let folder = crate::util::report_folder(out.path());
    let coverage = ParquetReader::new(std::fs::File::open(folder.join("tables/data_coverage.parquet")).unwrap()).finish().unwrap();
    let row = rows(&coverage, col("kind").eq(lit("unmapped value")).and(col("name").eq(lit("leads.source"))));
    let reasons = strs(&row, "reason");
    let at = reasons.iter().position(|r| r.as_deref().is_some_and(|r| r.contains("'Outbound Prospecting'"))).expect("reported");
    assert_eq!(f64s(&row, "rows")[at], Some(changed as f64));
    let md = std::fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(md.contains("leads.source (a value the mapping does not name)"), "{md}");
}

/// One currency and no rates (the usual export): amounts stay as they are,
/// in opportunities and in stage_history; the currency, written " usd" and
/// "USD", is the base, so a deal without one takes it too.
#[test]
fn one_currency_without_rates_keeps_every_amount() {
    let d = Dir::copy_of(&tiny());
    let opps = d.read("opportunities.csv");
    let mut lines: Vec<String> = opps.lines().map(|l| format!("{l},")).collect();
    lines[0] = lines[0].replace("competitor,", "competitor,currency");
    for l in lines.iter_mut().skip(1) {
        if l.starts_with("O1,") {
            l.push_str(" usd");
        } else if !l.starts_with("O2,") {
            l.push_str("USD");
        }
    }
    d.write("opportunities.csv", &(lines.join("\n") + "\n"));
    let plain = load(&tiny(), false);
    let v = load(d.path(), false);
    assert!(findings(&v).is_empty(), "{:?}", findings(&v));
    let o = &v.tables["opportunities"];
    assert_eq!(f64s(o, "amount"), f64s(&plain.tables["opportunities"], "amount"));
    assert_eq!(f64s(o, "amount_original"), f64s(o, "amount"));
    assert!(strs(o, "currency").iter().all(|c| c.as_deref() == Some("USD")), "{:?}", strs(o, "currency"));
    assert_eq!(f64s(&v.tables["stage_history"], "amount"), f64s(&plain.tables["stage_history"], "amount"));
    assert_eq!(v.base_currency.as_deref(), Some("USD"));
}
