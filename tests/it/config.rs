//! salesrelay.toml: defaults, and errors that name the key.

use std::path::Path;

use salesrelay::config::{Config, FiscalYearLabel};

fn err(text: &str) -> String {
    Config::from_toml(text, "salesrelay.toml").unwrap_err().to_string()
}

#[test]
fn every_key_has_a_default() {
    let c = Config::from_toml("", "salesrelay.toml").unwrap();
    assert_eq!(c, Config::default());
    assert_eq!(c.fiscal_year_start_month, 4);
    assert_eq!(c.fiscal_year_label, FiscalYearLabel::Start);
    assert_eq!(c.time_zone, "Asia/Tokyo");
    assert_eq!(c.sla_business_days, 2.0);
    assert_eq!((c.tossup.min_bant, c.tossup.min_interest.as_str()), (3, "medium"));
    assert_eq!(c.send_back.timing_slip_months, 6);
    assert_eq!((c.encoding.as_str(), c.csv.delimiter.as_str()), ("auto", ","));
    assert_eq!((c.lenient.max_share, c.maturity.closed_share), (0.05, 0.9));
}

#[test]
fn a_partial_file_keeps_the_other_defaults() {
    let c = Config::from_toml("fiscal_year_start_month = 1\n[tossup]\nmin_bant = 2\n", "x").unwrap();
    assert_eq!(c.fiscal_year_start_month, 1);
    assert_eq!(c.tossup.min_bant, 2);
    assert_eq!(c.tossup.min_interest, "medium");
}

#[test]
fn unknown_key_is_named() {
    let e = err("fiscal_year_start = 4\n");
    assert!(e.contains("fiscal_year_start"), "{e}");
    assert!(e.contains("unknown field"), "{e}");
    let e = err("[tossup]\nmin_bnat = 3\n");
    assert!(e.contains("min_bnat"), "{e}");
}

#[test]
fn bad_values_are_named() {
    assert!(err("fiscal_year_start_month = 13").contains("fiscal_year_start_month = 13"));
    assert!(err("time_zone = \"Mars/Olympus\"").contains("time_zone"));
    assert!(err("encoding = \"latin-1\"").contains("encoding"));
    assert!(err("holidays = [\"2026-13-01\"]").contains("holidays"));
    assert!(err("[tossup]\nmin_bant = 5").contains("tossup.min_bant"));
    assert!(err("[tossup]\nmin_interest = \"huge\"").contains("tossup.min_interest"));
    assert!(err("fiscal_year_label = \"middle\"").contains("fiscal_year_label"));
    assert!(err("sla_business_days = -1").contains("sla_business_days"));
    assert_eq!(
        err("[lenient]\nmax_share = 5"),
        "configuration: salesrelay.toml: lenient.max_share = 5 must be a share between 0 and 1 (0.05 = 5%)"
    );
    assert_eq!(
        err("[maturity]\nclosed_share = 0"),
        "configuration: salesrelay.toml: maturity.closed_share = 0 must be a share above 0 and at most 1 (0.9 = 90%)"
    );
    assert!(err("[csv]\ndelimiter = \";;\"").contains("csv.delimiter = \";;\" must be one character"));
    assert!(err("[csv]\ndelimiter = '\"'").contains("csv.delimiter"));
    assert_eq!(Config::from_toml("[csv]\ndelimiter = \"\\t\"", "x").unwrap().csv.byte(), b'\t');
}

#[test]
fn wrong_type_is_named() {
    let e = err("fiscal_year_start_month = \"April\"");
    assert!(e.contains("fiscal_year_start_month"), "{e}");
}

#[test]
fn file_in_input_folder_is_used_unless_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("salesrelay.toml"), "fiscal_year_start_month = 7\n").unwrap();
    let (c, used) = Config::resolve(None, dir.path(), &Default::default()).unwrap();
    assert_eq!(c.fiscal_year_start_month, 7);
    assert_eq!(used.as_deref(), Some(dir.path().join("salesrelay.toml").as_path()));
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "fiscal_year_start_month = 10\n").unwrap();
    let (c, _) = Config::resolve(Some(&other), dir.path(), &Default::default()).unwrap();
    assert_eq!(c.fiscal_year_start_month, 10);
    let (c, used) = Config::resolve(None, Path::new("/nonexistent-folder"), &Default::default()).unwrap();
    assert_eq!((c, used), (Config::default(), None));
}

/// Numeric keys have generous upper bounds, so a typo cannot hang the run
/// (a day's route is cubic in its stops) or mean nothing (an SLA of a year).
#[test]
fn upper_bounds_are_named() {
    let cases = [
        ("sla_business_days = 61", "sla_business_days = 61 must be a number from 0 to 60 (business days)"),
        ("sla_business_days = -1", "sla_business_days = -1 must be a number from 0 to 60 (business days)"),
        ("[send_back]\ntiming_slip_months = 61", "send_back.timing_slip_months = 61 must be a number from 0 to 60 (months)"),
        ("[engagement]\nhigh_views = 1001", "engagement.high_views = 1001 must be a number from 2 to 1000 (room views of one deal)"),
        ("[engagement]\nstalled_days = 366", "engagement.stalled_days = 366 must be a number from 0 to 365 (days)"),
        ("[engagement]\nstalled_days = nan", "engagement.stalled_days = NaN must be a number from 0 to 365 (days)"),
        ("[visit_plan]\nradius_km = 500.5", "visit_plan.radius_km = 500.5 must be a number above 0 and at most 500 (km)"),
        ("[visit_plan]\nradius_km = 0", "visit_plan.radius_km = 0 must be a number above 0 and at most 500 (km)"),
        ("[visit_plan]\nnot_visited_days = 3651", "visit_plan.not_visited_days = 3651 must be a number from 0 to 3650 (days)"),
        ("[visit_plan]\nmax_stops_per_day = 1000000", "visit_plan.max_stops_per_day = 1000000 must be a number from 1 to 50 (stops in one rep's day)"),
        ("[visit_plan]\nmax_stops_per_day = 0", "visit_plan.max_stops_per_day = 0 must be a number from 1 to 50 (stops in one rep's day)"),
        (
            "[visit_plan]\nmax_stops_per_day = 50\npriority_stops_per_day = 51",
            "visit_plan.priority_stops_per_day = 51 and max_stops_per_day = 50 must satisfy 1 <= priority_stops_per_day <= max_stops_per_day",
        ),
        ("[visit_plan]\nroad_factor = 5.5", "visit_plan.road_factor = 5.5 must be a number from 1 to 5 (road km per great-circle km)"),
    ];
    for (toml, msg) in cases {
        assert_eq!(err(toml), format!("configuration: salesrelay.toml: {msg}"), "{toml}");
    }
    // the bounds themselves are allowed
    let c = Config::from_toml(
        "sla_business_days = 60\n[send_back]\ntiming_slip_months = 60\n[engagement]\nmedium_views = 999\nhigh_views = 1000\nstalled_days = 365\n\
         [visit_plan]\nradius_km = 500\nnot_visited_days = 3650\nmax_stops_per_day = 50\npriority_stops_per_day = 50\nroad_factor = 5\n",
        "x",
    );
    assert!(c.is_ok(), "{c:?}");
}
