//! The quarter of a timestamp (`calendar::quarter_index`): placed among
//! precomputed quarter starts, it gives what converting each timestamp to
//! local time gives, in every zone and fiscal year start, at the edges too.

use polars::prelude::*;
use proptest::prelude::*;
use salesrelay::calendar::{quarter_index, quarter_index_by_conversion, quarters_by_starts};
use salesrelay::config::Config;

fn config(zone: &str, start: u32) -> Config {
    Config { time_zone: zone.into(), fiscal_year_start_month: start, ..Config::default() }
}

/// Both expressions over UTC microseconds `us`.
fn both(us: &[i64], config: &Config) -> (Vec<Option<i32>>, Vec<Option<i32>>) {
    let df = df!("ts" => us).unwrap();
    let out = df
        .lazy()
        .with_column(col("ts").cast(salesrelay::typing::utc_type()))
        .select([quarter_index(col("ts"), config).alias("fast"), quarter_index_by_conversion(col("ts"), config).alias("exact")])
        .collect()
        .unwrap();
    let get = |c: &str| out.column(c).unwrap().i32().unwrap().iter().collect::<Vec<_>>();
    (get("fast"), get("exact"))
}

const ZONES: [&str; 9] = [
    "Asia/Tokyo",
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Pacific/Chatham",
    "America/St_Johns",
];

#[test]
fn by_hand_in_tokyo_with_april_years() {
    // FY starts in April (index = 4 x start year + quarter - 1); Tokyo is UTC+9 all year
    let c = config("Asia/Tokyo", 4);
    let us = [
        // 2026-03-31T14:59:59Z = 23:59:59 on 31 March in Tokyo: FY2025-Q4
        1_774_969_199_000_000,
        // a second later, 1 April 00:00 in Tokyo: FY2026-Q1
        1_774_969_200_000_000,
        // 2026-07-01T00:00:00Z = 09:00 on 1 July: FY2026-Q2
        1_782_864_000_000_000,
        // 1970-01-01T00:00:00Z = 09:00 on 1 January 1970: FY1969-Q4
        0,
    ];
    let (fast, exact) = both(&us, &c);
    assert_eq!(fast, [Some(2025 * 4 + 3), Some(2026 * 4), Some(2026 * 4 + 1), Some(1969 * 4 + 3)]);
    assert_eq!(fast, exact);
}

#[test]
fn every_quarter_start_and_its_neighbours_match_in_every_zone() {
    // each quarter start of 1970-2099 (UTC midnight on the 1st of every month,
    // +- a day and the hours around it), in zones with and without DST, half-
    // and quarter-hour offsets
    let mut us = Vec::new();
    for year in 1970..2100 {
        for month in 1..=12 {
            let day = chrono::NaiveDate::from_ymd_opt(year, month, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros();
            for hours in -26i64..=26 {
                us.push(day + hours * 3_600_000_000);
                us.push(day + hours * 3_600_000_000 - 1);
            }
        }
    }
    // the usual zones take the fast way (else this test would compare the exact way with itself)
    for zone in ["Asia/Tokyo", "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"] {
        assert!(quarters_by_starts(&config(zone, 4)), "{zone}");
    }
    for zone in ZONES {
        for start in [1, 4, 7, 10, 2, 12] {
            let (fast, exact) = both(&us, &config(zone, start));
            let bad: Vec<_> = fast.iter().zip(&exact).zip(&us).filter(|((f, e), _)| f != e).take(3).collect();
            assert!(bad.is_empty(), "{zone}, fiscal year from month {start}: {bad:?}");
        }
    }
}

proptest! {
    #[test]
    fn any_timestamp_matches(us in prop::collection::vec(0i64..4_102_444_800_000_000, 1..40), zone in 0usize..ZONES.len(), start in 1u32..=12) {
        let (fast, exact) = both(&us, &config(ZONES[zone], start));
        prop_assert_eq!(fast, exact);
    }
}

#[test]
fn outside_the_precomputed_starts_a_timestamp_has_no_quarter() {
    // the starts run from fiscal year 1959 to the start of 2111; in Tokyo with
    // April years FY1959-Q1 starts 1959-03-31T15:00:00Z and FY2111-Q1 2111-03-31T15:00:00Z
    let c = config("Asia/Tokyo", 4);
    let first = chrono::NaiveDate::from_ymd_opt(1959, 3, 31).unwrap().and_hms_opt(15, 0, 0).unwrap().and_utc().timestamp_micros();
    let last = chrono::NaiveDate::from_ymd_opt(2111, 3, 31).unwrap().and_hms_opt(15, 0, 0).unwrap().and_utc().timestamp_micros();
    let df = df!("ts" => [i64::MIN, first - 1, first, last - 1, last, last + 86_400_000_000, i64::MAX]).unwrap();
    let out = df
        .lazy()
        .with_column(col("ts").cast(salesrelay::typing::utc_type()))
        .select([quarter_index(col("ts"), &c).alias("q")])
        .collect()
        .unwrap();
    let q: Vec<Option<i32>> = out.column("q").unwrap().i32().unwrap().iter().collect();
    assert_eq!(q, [None, None, Some(1959 * 4), Some(2110 * 4 + 3), None, None, None]);
}
