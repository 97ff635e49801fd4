//! The visit plan on tests/fixtures/geo: accounts on one meridian through
//! Tokyo Station, so every distance is R x the latitude difference and can
//! be worked by hand. R = 6371.0088 km; 0.1 degree of latitude = 11.119508 km.

use polars::prelude::*;
use salesrelay::metrics::visit_plan::{great_circle_km, nearest_neighbour, path_km, plan_days, improve_route, EARTH_RADIUS_KM};

use crate::kpi::{table, tables};
use crate::util::{f64s, rows, root, strs, Dir};

fn geo() -> std::path::PathBuf {
    root().join("tests/fixtures/geo")
}


const TOKYO: (f64, f64) = (35.681236, 139.767125);

#[test]
fn great_circle_distances_by_hand() {
    // along a meridian the distance is R x the latitude difference in radians
    let d = great_circle_km(TOKYO.0, TOKYO.1, TOKYO.0 - 0.1, TOKYO.1);
    assert!((d - 11.119_508).abs() < 0.001, "{d}");
    // along the equator, R x the longitude difference: 1 degree = 111.195 km
    let d = great_circle_km(0.0, 10.0, 0.0, 11.0);
    assert!((d - EARTH_RADIUS_KM * std::f64::consts::PI / 180.0).abs() < 0.001, "{d}");
    assert!((d - 111.195_08).abs() < 0.001, "{d}");
    // Tokyo Station to Umeda (Osaka), by the spherical law of cosines instead of haversine
    let (a, b) = ((35.681236f64.to_radians(), 139.767125f64.to_radians()), (34.702485f64.to_radians(), 135.495949f64.to_radians()));
    let cosines = EARTH_RADIUS_KM * (a.0.sin() * b.0.sin() + a.0.cos() * b.0.cos() * (b.1 - a.1).cos()).acos();
    let d = great_circle_km(35.681236, 139.767125, 34.702485, 135.495949);
    assert!((d - cosines).abs() < 0.001, "{d} vs {cosines}");
    assert!((d - 403.4).abs() < 1.0, "about 403 km, as the maps say: {d}");
    // across the 180th meridian, and the same point
    assert!((great_circle_km(0.0, 179.5, 0.0, -179.5) - 111.195_08).abs() < 0.001);
    assert_eq!(great_circle_km(TOKYO.0, TOKYO.1, TOKYO.0, TOKYO.1), 0.0);
}

#[test]
fn route_order_obvious_cases() {
    // on one meridian, start at 0: stops 1 km north, 1.5 km south, 3 km north.
    // Nearest neighbour goes 0 -> +1 -> +3 -> -1.5 (1 + 2 + 4.5 = 7.5 km);
    // the best path goes south first: 0 -> -1.5 -> +1 -> +3 (1.5 + 2.5 + 2 = 6 km). No single
    // segment reversal (2-opt) gets there; moving the stop left behind (or-opt) does.
    let km = |k: f64| TOKYO.0 + k / EARTH_RADIUS_KM * 180.0 / std::f64::consts::PI;
    let points: Vec<(f64, f64)> = [0.0, 1.0, -1.5, 3.0].iter().map(|k| (km(*k), TOKYO.1)).collect();
    let nn = nearest_neighbour(&points);
    assert_eq!(nn, vec![0, 1, 3, 2]);
    assert!((path_km(&points, &nn) - 7.5).abs() < 1e-6);
    let best = improve_route(&points, nn);
    assert_eq!(best, vec![0, 2, 1, 3]);
    assert!((path_km(&points, &best) - 6.0).abs() < 1e-6);
    // four stops on a line, given out of order: visited in line order from the first
    let line: Vec<(f64, f64)> = [0.0, 3.0, 1.0, 2.0].iter().map(|k| (km(*k), TOKYO.1)).collect();
    assert_eq!(improve_route(&line, nearest_neighbour(&line)), vec![0, 2, 3, 1]);
    assert_eq!(improve_route(&line, vec![0, 1, 2, 3]), vec![0, 2, 3, 1], "a crossed path is untangled");
}

#[test]
fn plan_week_skips_weekends_and_holidays() {
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    // data ends on Wednesday 2026-10-21: the next week, Thursday 10-29 a holiday
    assert_eq!(plan_days(d("2026-10-21"), &[d("2026-10-29")]), vec![d("2026-10-26"), d("2026-10-27"), d("2026-10-28"), d("2026-10-30")]);
    // data ending on a Monday plans the following week, not the same one
    assert_eq!(plan_days(d("2026-10-26"), &[])[0], d("2026-11-02"));
}

#[test]
fn visit_plan_by_hand() {
    let all = tables(&geo());
    let plan = table(&all, "visit_plan");
    let f1 = rows(&plan, col("rep_id").eq(lit("F1")));
    // Monday 10-26: P1 (top priority), then north to C1 (9.99 km, inside the 10 km radius),
    // back south past P1 to P2 (9.99 + 11.1195 km), on to C4 (3 km further south).
    assert_eq!(
        strs(&f1, "account_id"),
        ["P1", "C1", "P2", "C4"].map(|s| Some(s.to_string())).to_vec(),
        "{f1}"
    );
    assert_eq!(f64s(&f1, "stop"), vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0)]);
    let days: Vec<String> = f1.column("day").unwrap().cast(&DataType::String).unwrap().str().unwrap().iter().map(|d| d.unwrap().to_string()).collect();
    assert!(days.iter().all(|d| d == "2026-10-26"), "{days:?}");
    assert_eq!(
        strs(&f1, "reason"),
        ["priority_deal", "nearby_customer", "priority_deal", "nearby_customer"].map(|s| Some(s.to_string())).to_vec()
    );
    let expected = [0.0, 9.99, 9.99 + 11.119_508, 3.0];
    for (got, want) in f64s(&f1, "km_from_previous").iter().zip(expected) {
        assert!((got.unwrap() - want).abs() < 0.001, "{got:?} vs {want} (1 m)");
    }
    for (road, km) in f64s(&f1, "road_km_from_previous").iter().zip(f64s(&f1, "km_from_previous")) {
        assert!((road.unwrap() - 1.3 * km.unwrap()).abs() < 1e-9, "road factor 1.3");
    }
    // priority stops carry their deal, amount and score; C4's last visit was A3 on 07-23
    assert_eq!(strs(&f1, "opportunity_id"), vec![Some("O1".into()), None, Some("O2".into()), None]);
    assert_eq!(f64s(&f1, "open_amount"), vec![Some(1_000_000.0), None, Some(500_000.0), None]);
    assert!((f64s(&f1, "priority_score")[0].unwrap() - 1_000_000.0 * 5.0 / 6.0).abs() < 1e-6);
    let last_visit = f1.column("last_visit_at").unwrap().cast(&DataType::String).unwrap();
    assert_eq!(last_visit.str().unwrap().get(3), Some("2026-07-23 08:00:00.000000+00:00"));
    // Monday's estimate: (9.99 + 21.1095 + 3.0) km x 1.3 = 44.342 road km, on every stop of the day
    for day_km in f64s(&f1, "day_road_km") {
        assert!((day_km.unwrap() - 1.3 * (9.99 + 9.99 + 11.119_508 + 3.0)).abs() < 0.002, "{day_km:?}");
    }
    // the nearby customers name the priority stop they are near
    assert_eq!(strs(&f1, "near_account_id"), vec![None, Some("P1".into()), None, Some("P2".into())]);
    assert!((f64s(&f1, "km_to_priority_stop")[3].unwrap() - 3.0).abs() < 0.001);
    // C2 (10.01 km: just outside), C3 (visited 30 days ago), C5 (0,0: no location) are not planned
    for absent in ["C2", "C3", "C5"] {
        assert_eq!(rows(&plan, col("account_id").eq(lit(absent))).height(), 0, "{absent}");
    }
    // F2's one deal in Osaka, alone on Monday; the IS rep's deal is not in anyone's plan
    let f2 = rows(&plan, col("rep_id").eq(lit("F2")));
    assert_eq!(strs(&f2, "account_id"), vec![Some("Q1".into())]);
    assert_eq!(f64s(&f2, "km_from_previous"), vec![Some(0.0)]);
    assert_eq!(rows(&plan, col("opportunity_id").eq(lit("O9"))).height(), 0);
}

#[test]
fn priority_scores_by_hand() {
    let all = tables(&geo());
    let p = table(&all, "priority_deals");
    let deal = |id: &str| rows(&p, col("opportunity_id").eq(lit(id)));
    // no stage history: the overall win rate, 5 won of 6 closed
    let o1 = deal("O1");
    assert!((f64s(&o1, "stage_win_rate")[0].unwrap() - 5.0 / 6.0).abs() < 1e-12);
    // O1 touched (visit A1) at the very end of the data: 1,000,000 x 5/6 x 1
    assert!((f64s(&o1, "priority_score")[0].unwrap() - 1_000_000.0 * 5.0 / 6.0).abs() < 1e-6);
    // O2 never touched: 20 days 17 hours since its creation -> 500,000 x 5/6 x (1 + 20.7083/28)
    let o2 = deal("O2");
    let days = 20.0 + 17.0 / 24.0;
    assert!((f64s(&o2, "days_since_fs_touch")[0].unwrap() - days).abs() < 1e-9);
    assert!((f64s(&o2, "priority_score")[0].unwrap() - 500_000.0 * 5.0 / 6.0 * (1.0 + days / 28.0)).abs() < 1e-6);
    assert_eq!(f64s(&o2, "rank"), vec![Some(2.0)]);
    assert_eq!(deal("O9").height(), 0, "deals owned by IS reps are not FS visits");
}

#[test]
fn accounts_without_coordinates_are_listed() {
    let all = tables(&geo());
    let needed = table(&all, "locations_needed");
    // P3 (an open deal, empty coordinates) first by priority, then C5 (a customer at 0,0)
    assert_eq!(strs(&needed, "account_id"), vec![Some("P3".into()), Some("C5".into())]);
    assert_eq!(strs(&needed, "owners")[0].as_deref(), Some("F1"));
    // O3: 300,000 x 5/6 x (1 + 20.7083/28), like O2
    assert_eq!(f64s(&needed, "open_amount"), vec![Some(300_000.0), None]);
    let days = 20.0 + 17.0 / 24.0;
    assert!((f64s(&needed, "priority_score")[0].unwrap() - 300_000.0 * 5.0 / 6.0 * (1.0 + days / 28.0)).abs() < 1e-6);
    let customer: Vec<Option<bool>> = needed.column("customer").unwrap().bool().unwrap().iter().collect();
    assert_eq!(customer, vec![Some(false), Some(true)]);
    let p3 = rows(&table(&all, "priority_deals"), col("opportunity_id").eq(lit("O3")));
    assert_eq!(p3.column("has_location").unwrap().bool().unwrap().get(0), Some(false));
}

#[test]
fn radius_is_configurable_and_inclusive_at_the_edge() {
    // with a 10.02 km radius, C2 (10.01 km from P1) comes in; C1 stays
    let dir = Dir::copy_of(&geo());
    dir.append("salesrelay.toml", "\n[visit_plan]\nradius_km = 10.02\nmax_stops_per_day = 5\n");
    let plan = table(&tables(dir.path()), "visit_plan");
    let near: Vec<String> = strs(&rows(&plan, col("reason").eq(lit("nearby_customer"))), "account_id").into_iter().flatten().collect();
    assert!(near.contains(&"C1".to_string()) && near.contains(&"C2".to_string()), "{near:?}");
    // with 9.98 km, neither
    let dir = Dir::copy_of(&geo());
    dir.append("salesrelay.toml", "\n[visit_plan]\nradius_km = 9.98\n");
    let plan = table(&tables(dir.path()), "visit_plan");
    let near: Vec<String> = strs(&rows(&plan, col("reason").eq(lit("nearby_customer"))), "account_id").into_iter().flatten().collect();
    assert_eq!(near, vec!["C4".to_string()]);
}

#[test]
fn a_radius_of_metres_still_finds_its_customers() {
    // radius 6 m: the finest grids (radius/64 = 9 cm) are packed as 10 m cubes, which
    // must still find C6, 5.0037 m north of P1 (0.000045 degrees: R x 0.000045 x pi/180),
    // and leave C7, 10.0074 m north of it
    let dir = Dir::copy_of(&geo());
    dir.append("accounts.csv", "C6,Customer Next Door,Retail,100,Kanto,35.6812810,139.7671250,false\nC7,Customer Ten Metres,Retail,100,Kanto,35.6813260,139.7671250,false\n");
    dir.append(
        "opportunities.csv",
        "W6,C6,,F1,2026-01-05T10:00:00+09:00,100000,Closed Won,2026-02-05T10:00:00+09:00,won,,,\nW7,C7,,F1,2026-01-05T10:00:00+09:00,100000,Closed Won,2026-02-05T10:00:00+09:00,won,,,\n",
    );
    dir.append("salesrelay.toml", "\n[visit_plan]\nradius_km = 0.006\n");
    let plan = table(&tables(dir.path()), "visit_plan");
    let near = rows(&plan, col("reason").eq(lit("nearby_customer")));
    assert_eq!(strs(&near, "account_id"), vec![Some("C6".to_string())], "{near}");
    assert_eq!(strs(&near, "near_account_id"), vec![Some("P1".to_string())]);
    let km = f64s(&near, "km_to_priority_stop")[0].unwrap();
    assert!((km - EARTH_RADIUS_KM * 0.000045_f64.to_radians()).abs() < 1e-9, "{km}");
}

#[test]
fn no_coordinates_column_means_no_visit_plan() {
    let dir = Dir::copy_of(&geo());
    let text = dir.read("accounts.csv");
    let stripped: String = text.lines().map(|l| l.split(',').take(5).chain(l.split(',').skip(7)).collect::<Vec<_>>().join(",") + "\n").collect();
    dir.write("accounts.csv", &stripped);
    let all = tables(dir.path());
    assert!(all.iter().all(|(n, _)| n != "visit_plan" && n != "locations_needed"), "not available, not empty");
    assert!(all.iter().any(|(n, _)| n == "priority_deals"), "priorities need no map");
}

#[test]
fn report_gives_the_plan_totals() {
    let out = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(&root(), &["run", "--input", geo().to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.path().join("FY2026-Q2/report.md")).unwrap();
    // F1's Monday (P1, C1, P2, C4: 34.1095 km x 1.3 = 44.3 road km) and F2's (Q1 alone, 0 km)
    assert!(
        md.contains("Visit plan on 2026-10-26: 2 FS reps, 2 rep-days, 3 priority-deal stops and 2 nearby customers not visited lately; 44 road km in all, 22 km per rep-day on average."),
        "{md}"
    );
    assert!(md.contains("2 accounts with open deals or past wins have no coordinates"), "{md}");
    let svg = |region: &str| std::fs::read_to_string(out.path().join(format!("FY2026-Q2/charts/visit_plan_{region}.svg"))).unwrap();
    assert!(svg("kanto").contains("Kanto: 1 FS rep, 2 priority deals and 2 nearby customers over the week, 44 road km"), "{}", svg("kanto"));
    assert!(svg("kansai").contains("Kansai: 1 FS rep, 1 priority deal and 0 nearby customers over the week, 0 road km"));
}

#[test]
fn without_activities_there_is_no_plan_but_there_are_priorities() {
    // nobody can say which customers were visited lately
    let dir = Dir::copy_of(&geo());
    dir.remove("activities.csv");
    let all = tables(dir.path());
    assert!(all.iter().all(|(n, _)| n != "visit_plan"), "visit_plan not available");
    let p = table(&all, "priority_deals");
    let o1 = rows(&p, col("opportunity_id").eq(lit("O1")));
    // no touch known: days since creation, and the data now ends when O1-O3 were created (10-01 00:00)
    assert_eq!(f64s(&o1, "days_since_fs_touch"), vec![Some(0.0)]);
    assert_eq!(o1.column("last_fs_touch_at").unwrap().null_count(), 1);
}

/// The geo fixture with F1's far deal P4 at Umeda, Osaka (403.4 km from
/// Tokyo Station), three priority stops a day, and `extra` config.
fn with_a_far_deal(extra: &str) -> Dir {
    let d = Dir::copy_of(&geo());
    d.append("accounts.csv", "P4,Far Deal,Machinery,300,Kansai,34.7024850,135.4959490,false\n");
    d.append("opportunities.csv", "O4,P4,,F1,2026-10-01T00:00:00+09:00,400000,Proposal,,open,,,\n");
    d.append("salesrelay.toml", &format!("\n[visit_plan]\npriority_stops_per_day = 3\n{extra}\n"));
    d
}

/// No day's route runs above max_road_km_per_day (default 200): the far
/// stop moves to a free day, or is left for the rep's judgement, and the
/// note says which.
#[test]
fn a_day_never_exceeds_the_road_km_cap() {
    // Monday first held P1, P2, P4 (the tour P1 -> P2 -> P4, three a day) and the
    // nearest customer to them, C4 (3 km from P2): over 500 road km. Leaving C4
    // out is not enough, so P4 goes (it saves most); Monday is P1 -> P2 -> C4,
    // (11.119508 + 3.0) x 1.3 = 18.355 road km, and P4 moves to Tuesday, alone.
    let all = tables(with_a_far_deal("").path());
    let f1 = rows(&table(&all, "visit_plan"), col("rep_id").eq(lit("F1")));
    assert_eq!(strs(&f1, "account_id"), ["P1", "P2", "C4", "P4"].map(|s| Some(s.to_string())).to_vec(), "{f1}");
    let days: Vec<Option<String>> = strs(&f1.clone().lazy().with_column(col("day").cast(DataType::String)).collect().unwrap(), "day");
    assert_eq!(days, ["2026-10-26", "2026-10-26", "2026-10-26", "2026-10-27"].map(|s| Some(s.to_string())).to_vec());
    let monday = f64s(&f1, "day_road_km")[0].unwrap();
    assert!((monday - 1.3 * (11.119_508 + 3.0)).abs() < 0.002, "{monday}");
    assert_eq!(f64s(&f1, "day_road_km")[3], Some(0.0));
    assert_eq!(strs(&f1, "note")[3].as_deref(), Some("moved from 2026-10-26 to keep that day within 200 road km"));
    assert_eq!(strs(&f1, "note")[0], None);
    for km in f64s(&table(&all, "visit_plan"), "day_road_km").into_iter().flatten() {
        assert!(km <= 200.0, "{km}");
    }
    // the report counts the move
    let moved = with_a_far_deal("");
    let out = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(moved.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap(), "--queries", "none"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.path().join("FY2026-Q2/report.md")).unwrap();
    assert!(md.contains("No rep-day is planned above [visit_plan] max_road_km_per_day: 1 priority stop moved to another day (visit_plan's note column says which)."), "{md}");

    // with the rest of the week off, no day can take P4: it stays in the table,
    // without a day, for the rep to judge, and the report says so
    let d = with_a_far_deal("");
    d.replace("salesrelay.toml", "holidays = [\"2026-10-29\"]", "holidays = [\"2026-10-27\", \"2026-10-28\", \"2026-10-29\", \"2026-10-30\"]");
    let all = tables(d.path());
    let p4 = rows(&table(&all, "visit_plan"), col("account_id").eq(lit("P4")));
    assert_eq!(p4.height(), 1);
    assert_eq!(p4.column("day").unwrap().null_count(), 1);
    assert_eq!((f64s(&p4, "stop")[0], f64s(&p4, "day_road_km")[0]), (None, None));
    assert_eq!(
        strs(&p4, "note")[0].as_deref(),
        Some("left for the rep's judgement: planned for 2026-10-26, but no day of the week can take it within 200 road km")
    );
    let out = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(d.path(), &["run", "--input", ".", "--out", out.path().to_str().unwrap(), "--queries", "none"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let folder = crate::util::report_folder(out.path());
    let md = std::fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(md.contains("No rep-day is planned above [visit_plan] max_road_km_per_day: 1 priority stop left for the reps' judgement (no day of the week could take it)"), "{md}");

    // a tighter cap: Monday of the plain fixture, P1 -> C1 -> P2 -> C4 = 44.342 road km, is
    // over 30; leaving C1 out saves 25.99 and is enough: P1 -> P2 -> C4, 18.355 road km
    let d = Dir::copy_of(&geo());
    d.append("salesrelay.toml", "\n[visit_plan]\nmax_road_km_per_day = 30\n");
    let f1 = rows(&table(&tables(d.path()), "visit_plan"), col("rep_id").eq(lit("F1")));
    assert_eq!(strs(&f1, "account_id"), ["P1", "P2", "C4"].map(|s| Some(s.to_string())).to_vec(), "{f1}");
}

/// The maps: one panel per rep, headed by the rep's name in the rep's
/// colour; Natural Earth's coastline under the routes (Tokyo Bay is within
/// the view of F1's day around Tokyo Station), city names, weekdays at each
/// day's first stop, a scale bar.
#[test]
fn maps_draw_the_coast_city_names_and_each_rep() {
    let out = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(&root(), &["run", "--input", geo().to_str().unwrap(), "--out", out.path().to_str().unwrap(), "--queries", "none"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let folder = crate::util::report_folder(out.path());
    let svg = |region: &str| std::fs::read_to_string(folder.join(format!("charts/visit_plan_{region}.svg"))).unwrap();
    let texts = |s: &str| -> Vec<String> {
        s.split("<text").skip(1).map(|t| t.split_once('>').unwrap().1.split("</text>").next().unwrap().trim().to_string()).collect()
    };
    let kanto = svg("kanto");
    let coast = kanto.matches("stroke=\"#4682B4\" stroke-width=\"1\"").count();
    assert!(coast >= 1, "the coastline is drawn: {coast} paths");
    let words = texts(&kanto);
    // F1: P1, C1, P2, C4 on Monday, 44.342 road km
    for w in ["Field One: 4 stops, 44 road km", "Tokyo", "Mon", "5 km"] {
        assert!(words.iter().any(|t| t == w), "{w}: {words:?}");
    }
    // F2 alone in Osaka: Umeda, with the city named
    let words = texts(&svg("kansai"));
    assert!(words.iter().any(|t| t == "Field Two: 1 stop, 0 road km") && words.iter().any(|t| t == "Ōsaka"), "{words:?}");
    // the rep's colour heads the panel and draws the route
    assert!(kanto.contains("fill=\"#1F77B4\" font-weight=\"bold\""), "the heading in the first rep's colour");
}

/// The compiled-in underlay decodes, and clipping keeps every point inside
/// the view: Tokyo Bay's shore passes within 10 km of Tokyo Station.
#[test]
fn the_map_underlay_decodes_and_clips() {
    use salesrelay::charts::geo::{labels_in, lines_in, world, Bbox, LabelKind, LineKind};
    let w = world();
    assert!(w.lines.iter().filter(|l| l.kind == LineKind::Coast).count() > 1000);
    assert!(w.lines.iter().any(|l| l.kind == LineKind::State), "US, Canadian, Australian and Brazilian states");
    let view = Bbox { lon0: TOKYO.1 - 0.1, lon1: TOKYO.1 + 0.1, lat0: TOKYO.0 - 0.1, lat1: TOKYO.0 + 0.1 };
    let coast = lines_in(&view, LineKind::Coast);
    assert!(!coast.is_empty());
    for run in &coast {
        assert!(run.len() >= 2);
        for &(lon, lat) in run {
            assert!(view.contains(lon, lat) || (lon - view.lon0).abs() < 1e-9 || (lon - view.lon1).abs() < 1e-9 || (lat - view.lat0).abs() < 1e-9 || (lat - view.lat1).abs() < 1e-9, "({lon}, {lat})");
        }
    }
    // the most important city in view is Tokyo, within 2 km of the station
    let tokyo = labels_in(&view, LabelKind::City).next().unwrap();
    assert_eq!((tokyo.name.as_str(), tokyo.rank), ("Tokyo", 0));
    assert!(great_circle_km(TOKYO.0, TOKYO.1, tokyo.lat, tokyo.lon) < 5.0);
    // and the prefecture's label point lies within half a degree
    let wide = Bbox { lon0: TOKYO.1 - 0.5, lon1: TOKYO.1 + 0.5, lat0: TOKYO.0 - 0.5, lat1: TOKYO.0 + 0.5 };
    assert!(labels_in(&wide, LabelKind::Division).any(|l| l.name == "Tokyo"), "{:?}", labels_in(&wide, LabelKind::Division).map(|l| l.name.clone()).collect::<Vec<_>>());
}

/// A region with more reps than five pages of twelve: the maps stop at five
/// pages and the last title says where every rep's plan is.
#[test]
fn maps_stop_at_five_pages_a_region() {
    let d = Dir::copy_of(&geo());
    let (mut reps, mut opps) = (String::new(), String::new());
    for i in 100..170 {
        reps.push_str(&format!("F{i},Field {i},FS,FS,Kanto,M1\n"));
        opps.push_str(&format!("OF{i},P1,,F{i},2026-10-01T00:00:00+09:00,100000,Proposal,,open,,,\n"));
    }
    d.append("reps.csv", &reps);
    d.append("opportunities.csv", &opps);
    let out = tempfile::tempdir().unwrap();
    let o = crate::util::salesrelay(&root(), &["run", "--input", d.path().to_str().unwrap(), "--out", out.path().to_str().unwrap(), "--queries", "none"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let charts = crate::util::report_folder(out.path()).join("charts");
    // 71 Kanto reps (F1 and F100-F169): pages of 12, five at most
    assert!(charts.join("visit_plan_kanto_5.svg").exists());
    assert!(!charts.join("visit_plan_kanto_6.svg").exists());
    let last = std::fs::read_to_string(charts.join("visit_plan_kanto_5.svg")).unwrap();
    assert!(last.contains("(reps 49-60 of 71; every rep&apos;s plan is in tables/visit_plan.parquet)"), "{}", &last[..2000.min(last.len())]);
}

/// A stop that leaves a day over the cap moves only to a day with room
/// under priority_stops_per_day: F1's week with O2 gone and three deals at
/// Umeda, Osaka (P7, P8, P9, 1 km apart going north), two priority stops a
/// day. The tour from P1 reaches Osaka at P9 (the northernmost, nearest
/// Tokyo), then P8, P7: Monday P1 and P9 (over 500 road km), Tuesday P8 and
/// P7; P9 leaves Monday, and Tuesday, 1 km away, has no room for a third
/// priority stop: P9 goes to Wednesday, alone.
#[test]
fn a_moved_stop_respects_priority_stops_per_day() {
    let d = Dir::copy_of(&geo());
    d.replace("opportunities.csv", "O2,P2,,F1,2026-10-01T00:00:00+09:00,500000,Proposal,,open,,,\n", "");
    d.append("accounts.csv", "P7,Umeda One,Machinery,300,Kansai,34.7024850,135.4959490,false\nP8,Umeda Two,Machinery,300,Kansai,34.7114850,135.4959490,false\nP9,Umeda Three,Machinery,300,Kansai,34.7204850,135.4959490,false\n");
    d.append("opportunities.csv", "O7,P7,,F1,2026-10-01T00:00:00+09:00,400000,Proposal,,open,,,\nO8,P8,,F1,2026-10-01T00:00:00+09:00,300000,Proposal,,open,,,\nO9,P9,,F1,2026-10-01T00:00:00+09:00,200000,Proposal,,open,,,\n");
    let plan = table(&tables(d.path()), "visit_plan");
    let day_of = |account: &str| -> String {
        let r = rows(&plan, col("account_id").eq(lit(account)));
        r.column("day").unwrap().cast(&DataType::String).unwrap().str().unwrap().get(0).unwrap().to_string()
    };
    assert_eq!([day_of("P1"), day_of("P8"), day_of("P7"), day_of("P9")], ["2026-10-26", "2026-10-27", "2026-10-27", "2026-10-28"].map(String::from), "{plan}");
    let p9 = rows(&plan, col("account_id").eq(lit("P9")));
    assert_eq!(strs(&p9, "note")[0].as_deref(), Some("moved from 2026-10-26 to keep that day within 200 road km"));
    assert_eq!(f64s(&p9, "day_road_km")[0], Some(0.0));
}

/// A stage's win rate counts each closed deal that entered it once, however
/// often it did; a stage fewer than MIN_STAGE_DEALS closed deals entered
/// falls back to the overall rate.
#[test]
fn stage_win_rate_counts_each_deal_once() {
    let d = Dir::copy_of(&geo());
    // Proposal: W1 (twice, back from Negotiation), W2, W3, W4 won and X1 lost
    // = 5 closed deals, 4 won (by rows it would be 5 won of 6); W5 never entered it.
    // Negotiation: W1, X1 and W5 (3 < 5 closed deals: no rate of its own).
    let mut history = String::from("opportunity_id,stage,entered_at,amount,close_date\n");
    for (deal, stage, day) in [
        ("W1", "Proposal", 10),
        ("W1", "Negotiation", 12),
        ("W1", "Proposal", 14),
        ("W2", "Proposal", 10),
        ("W3", "Proposal", 10),
        ("W4", "Proposal", 10),
        ("X1", "Proposal", 10),
        ("X1", "Negotiation", 12),
        ("W5", "Negotiation", 12),
        ("O1", "Proposal", 40),
        ("O2", "Negotiation", 40),
    ] {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(day);
        history.push_str(&format!("{deal},{stage},{date}T10:00:00+09:00,100000,\n"));
    }
    d.write("stage_history.csv", &history);
    let p = table(&tables(d.path()), "priority_deals");
    let rate = |id: &str| f64s(&rows(&p, col("opportunity_id").eq(lit(id))), "stage_win_rate")[0].unwrap();
    // O1 is in Proposal: 4 of 5
    assert!((rate("O1") - 0.8).abs() < 1e-12, "{}", rate("O1"));
    // O2 is in Proposal too (its opportunities row says so): the rate goes by the deal's stage
    assert!((rate("O2") - 0.8).abs() < 1e-12, "{}", rate("O2"));
}
