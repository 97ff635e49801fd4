//! The FS visit plan for the working week after the data ends: each FS
//! rep's priority open deals, existing customers near them that nobody has
//! visited lately ("visit on the way"), and day routes.
//!
//! Priority (documented in README): for each open deal an FS rep owns,
//!   priority_score = amount x stage_win_rate x (1 + min(days_since_fs_touch, 56) / 28)
//! where stage_win_rate is the share won among closed deals that ever
//! entered the deal's current stage (stage_history; at least
//! MIN_STAGE_DEALS closed deals, else the overall win rate, else 1), and
//! days_since_fs_touch runs from the last FS activity on the deal (else its
//! creation) to the end of the data. An account's score is the sum over its
//! open deals; a rep's top `days x priority_stops_per_day` located accounts
//! are the week's priority stops.
//!
//! Days: the priority stops in nearest-neighbour order from the top one,
//! cut into days of `priority_stops_per_day`. Each day then takes the
//! nearest customers within `radius_km` of one of its priority stops (each
//! customer once in the week, at its nearest stop) up to
//! `max_stops_per_day`. A day's stops are ordered from its top priority
//! stop by nearest neighbour, then improved by 2-opt and or-opt moves
//! (open path: the day starts at that stop and ends at the last one).
//!
//! Neighbour search is a grid join, not a scan of every pair: points are
//! placed on a 3-D grid of cubes `s` km wide (the point on the sphere in
//! km, x = R cos(lat) cos(lon) ...); two points within `s` along the
//! surface are within `s` in a straight line, so in the same or a
//! neighbouring cube. Each priority stop is joined with the customers in
//! its 27 cubes, then the exact distance is checked. Passes go from cubes of
//! radius/64 to the radius itself (GRID_LEVELS), each taking only customers
//! within its cube width, so a dense city never pairs every stop with every
//! customer in it. It works
//! the same near the poles and across the 180th meridian, and needs no
//! spatial-index crate. Routing (at most `max_stops_per_day` points) is
//! the only part done point by point, outside Polars.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use polars::prelude::*;
use super::OutputTable;
use crate::contract::Need;

use super::{days_between, events, Model};
use crate::error::Result;
use crate::output::TableDoc;

/// Mean Earth radius (IUGG), km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;
/// Fewest closed deals through a stage for its own win rate to be used.
pub const MIN_STAGE_DEALS: i64 = 5;
/// Days without an FS touch after which a deal's urgency stops growing.
pub const TOUCH_CAP_DAYS: f64 = 56.0;

/// Great-circle distance in km between two points given in degrees (haversine).
pub fn great_circle_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// The same distance as a Polars expression over degree columns.
pub fn great_circle_expr(lat1: Expr, lon1: Expr, lat2: Expr, lon2: Expr) -> Expr {
    let rad = |e: Expr| e * lit(std::f64::consts::PI / 180.0);
    let (p1, p2) = (rad(lat1), rad(lat2));
    let dp = p2.clone() - p1.clone();
    let dl = rad(lon2 - lon1);
    let half = |e: Expr| (e / lit(2.0)).sin().pow(2);
    let a = half(dp) + p1.cos() * p2.cos() * half(dl);
    lit(2.0 * EARTH_RADIUS_KM) * a.sqrt().clip_max(lit(1.0)).arcsin()
}

/// A point on the sphere in km (x = R cos(lat) cos(lon) ...): columns
/// `{prefix}x`, `{prefix}y`, `{prefix}z`.
fn position(lat: &str, lon: &str, prefix: &str) -> [Expr; 3] {
    let rad = |c: &str| col(c) * lit(std::f64::consts::PI / 180.0);
    let r = lit(EARTH_RADIUS_KM);
    [
        (r.clone() * rad(lat).cos() * rad(lon).cos()).alias(format!("{prefix}x")),
        (r.clone() * rad(lat).cos() * rad(lon).sin()).alias(format!("{prefix}y")),
        (r * rad(lat).sin()).alias(format!("{prefix}z")),
    ]
}

/// The grid cube of the position in `{prefix}x..z`, moved by `offset`
/// cubes along each axis, as one number (three 21-bit fields). The cubes
/// are `size` km wide, or 10 m where `size` is finer (a grid that fine
/// would not fit the fields): wider cubes still hold every pair within
/// `size` in the same or neighbouring ones.
fn cube_key(prefix: &str, size: f64, offset: [Expr; 3]) -> Expr {
    let width = size.max(MIN_CUBE_KM);
    let [dx, dy, dz] = offset;
    let axis = |a: &str, d: Expr| (col(format!("{prefix}{a}")) / lit(width)).floor().cast(DataType::Int64) + d + lit(1i64 << 20);
    axis("x", dx) * lit(1i64 << 42) + axis("y", dy) * lit(1i64 << 21) + axis("z", dz)
}

/// The finest cube `cube_key` packs: Earth's radius over it, plus a
/// neighbour, stays within 20 bits either side of zero.
const MIN_CUBE_KM: f64 = 0.01;

/// The working days of the week after `end` (a local date): Monday to
/// Friday of the next calendar week, without the configured holidays.
pub fn plan_days(end: NaiveDate, holidays: &[NaiveDate]) -> Vec<NaiveDate> {
    let to_monday = 7 - end.weekday().num_days_from_monday() as u64;
    let monday = end + chrono::Days::new(to_monday);
    (0..5)
        .map(|i| monday + chrono::Days::new(i))
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(d))
        .collect()
}

/// Accounts with a usable location: both coordinates, and not exactly
/// (0, 0), which exports use for "unknown".
fn located() -> Expr {
    col("latitude")
        .is_not_null()
        .and(col("longitude").is_not_null())
        .and(col("latitude").neq(lit(0.0)).or(col("longitude").neq(lit(0.0))))
}

/// Win rate of closed deals by stage entered (`stage`, `__rate`; built once
/// a run, `events::stage_win_rates`), and the overall win rate
/// (`__overall`, one row; null without closed deals).
pub(super) fn stage_win_rates(m: &Model) -> (LazyFrame, LazyFrame) {
    let overall = closed_deals(m).select([
        super::ratio(col("outcome").eq(lit("won")).cast(DataType::Float64).sum(), len()).alias("__overall"),
    ]);
    (super::events::stage_win_rates(m), overall)
}

/// The opportunities won or lost.
fn closed_deals(m: &Model) -> LazyFrame {
    m.lazy("opportunities").expect("opportunities is required").filter(col("outcome").is_in(crate::typing::str_list(&["won", "lost"]), false))
}

/// The plan of `stage_win_rates`' per-stage rates: per stage, the closed
/// deals that entered it and the won ones among them, each deal once
/// (distinct deal codes within a stage's rows: a handful of stages, so no
/// (deal, stage) pairs are made distinct first), stages of at least
/// MIN_STAGE_DEALS closed deals.
pub(super) fn stage_rates_plan(m: &Model) -> LazyFrame {
    match m.lazy("stage_history") {
        // each entry's deal's outcome picked by the deal's code (`events::looked_up_found`),
        // not joined: scale 1000, 4M entries against 0.9M closed deals, the frame 0.35-0.42
        // -> 0.17-0.23 s (in turn); the entries of deals not closed are left out, as the
        // join left them
        Some(sh) => super::events::looked_up_found(
            sh.select([col("opportunity_id"), col("stage").cast(crate::ids::segment_type())]),
            "opportunity_id",
            closed_deals(m).select([col("opportunity_id"), col("outcome")]),
            &["outcome"],
        )
        .group_by([col("stage")])
        .agg([
            col("opportunity_id").to_physical().n_unique().cast(DataType::Int64).alias("__closed"),
            col("opportunity_id").to_physical().filter(col("outcome").eq(lit("won"))).n_unique().cast(DataType::Float64).alias("__won"),
        ])
        .filter(col("__closed").gt_eq(lit(MIN_STAGE_DEALS)))
        .select([col("stage").cast(DataType::String), (col("__won") / col("__closed").cast(DataType::Float64)).alias("__rate")]),
        None => df!("stage" => Vec::<String>::new(), "__rate" => Vec::<f64>::new()).expect("empty").lazy(),
    }
}

pub const PRIORITY_DEALS_DOC: TableDoc = TableDoc {
    name: "priority_deals",
    description: "Every open deal an FS rep owns with its visit priority: priority_score = amount x stage_win_rate x (1 + min(days_since_fs_touch, 56) / 28). Highest first within each rep.",
    columns: &[
        ("rep_id", "the FS rep who owns the deal"),
        ("rank", "rank of the deal within the rep's deals, 1 = highest priority"),
        ("opportunity_id", "the deal"),
        ("account_id", "its account"),
        ("account_name", "account name"),
        ("stage", "stage as exported"),
        ("amount", "deal amount in the base currency"),
        ("amount_original", "deal amount as exported, in its own currency"),
        ("currency", "the deal's currency (ISO 4217; the base currency where the export has none)"),
        ("stage_win_rate", "won share of closed deals that entered this stage (at least 5 of them; else the overall win rate; else 1)"),
        ("last_fs_touch_at", "last FS activity on the deal (UTC); null when none"),
        ("days_since_fs_touch", "days from the last FS touch (else the deal's creation) to the end of the data"),
        ("priority_score", "amount x stage_win_rate x (1 + min(days_since_fs_touch, 56) / 28)"),
        ("latitude", "account latitude"),
        ("longitude", "account longitude"),
        ("has_location", "the account has usable coordinates (else it is listed in locations_needed)"),
    ],
};

/// priority_deals: every open deal owned by an FS rep, scored.
pub fn priority_deals(m: &Model, end: i64) -> LazyFrame {
    let end = super::engagement::timestamp(end);
    let fs = events::reps(m).filter(col("team").eq(lit("fs"))).select([col("rep_id")]);
    let accounts = m.lazy("accounts").expect("accounts is required").select([
        col("account_id"),
        col("account_name"),
        col("latitude"),
        col("longitude"),
    ]);
    let touches = match m.coded("activities") {
        Some(a) => a
            .filter(col("opportunity_id").is_not_null())
            .join(fs.clone(), [col("rep_id")], [col("rep_id")], JoinArgs::new(JoinType::Semi))
            .group_by([col("opportunity_id")])
            .agg([col("occurred_at").max().alias("last_fs_touch_at")]),
        None => df!("opportunity_id" => Vec::<u32>::new())
            .expect("empty frame")
            .lazy()
            .with_column(lit(NULL).cast(crate::typing::utc_type()).alias("last_fs_touch_at")),
    };
    let (stage_rates, overall) = stage_win_rates(m);
    m.lazy("opportunities")
        .expect("opportunities is required")
        .filter(col("outcome").eq(lit("open")))
        .join(fs, [col("owner_rep_id")], [col("rep_id")], JoinArgs::new(JoinType::Semi))
        .join(touches, [col("opportunity_id")], [col("opportunity_id")], JoinArgs::new(JoinType::Left))
        .join(stage_rates, [col("stage")], [col("stage")], JoinArgs::new(JoinType::Left))
        .cross_join(overall, None)
        .join(accounts, [col("account_id")], [col("account_id")], JoinArgs::new(JoinType::Left))
        .with_columns([
            col("owner_rep_id").alias("rep_id"),
            coalesce(&[col("__rate"), col("__overall"), lit(1.0)]).alias("stage_win_rate"),
            days_between(end, coalesce(&[col("last_fs_touch_at"), col("created_at")])).clip_min(lit(0.0)).alias("days_since_fs_touch"),
            located().alias("has_location"),
        ])
        .with_column(
            (col("amount") * col("stage_win_rate") * (lit(1.0) + col("days_since_fs_touch").clip_max(lit(TOUCH_CAP_DAYS)) / lit(TOUCH_CAP_DAYS / 2.0)))
                .alias("priority_score"),
        )
        .sort_by_exprs(
            [col("rep_id"), col("priority_score"), col("opportunity_id")],
            SortMultipleOptions::default().with_order_descending_multi([false, true, false]),
        )
        .with_column((col("rep_id").cum_count(false).over([col("rep_id")]).expect("static window")).cast(DataType::Int64).alias("rank"))
        .select(PRIORITY_DEALS_DOC.columns.iter().map(|(c, _)| col(*c)).collect::<Vec<_>>())
}

pub const LOCATIONS_NEEDED_DOC: TableDoc = TableDoc {
    name: "locations_needed",
    description: "Accounts the visit plan could not place on the map (no latitude/longitude, or exactly 0,0): those with open FS deals, highest priority first, then existing customers. Add their coordinates to the CRM.",
    columns: &[
        ("account_id", "the account"),
        ("account_name", "account name"),
        ("region", "account region"),
        ("open_deals", "open deals FS reps own at the account"),
        ("open_amount", "their amount"),
        ("priority_score", "their summed priority score (see priority_deals)"),
        ("owners", "the FS reps who own them, comma-separated"),
        ("customer", "the account has a won deal (a candidate for nearby visits)"),
    ],
};

/// locations_needed: accounts without a usable location that the plan would use.
pub fn locations_needed(m: &Model, priority: LazyFrame) -> LazyFrame {
    let deals = priority
        .filter(col("has_location").not())
        // the owners' ids as text before the grouping: a lookup inside an aggregate runs group by
        // group (scale 1000: 3 s and 1 GiB more resident for this table)
        .with_column(m.ids.text("rep_id"))
        .group_by([col("account_id")])
        .agg([
            len().cast(DataType::Int64).alias("open_deals"),
            col("amount").sum().alias("open_amount"),
            col("priority_score").sum().alias("priority_score"),
            col("rep_id").unique().sort(Default::default()).str().join(",", true).alias("owners"),
        ]);
    let customers = customers(m).select([col("account_id"), lit(true).alias("customer")]);
    m.lazy("accounts")
        .expect("accounts is required")
        .filter(located().not())
        .join(deals, [col("account_id")], [col("account_id")], JoinArgs::new(JoinType::Left))
        .join(customers, [col("account_id")], [col("account_id")], JoinArgs::new(JoinType::Left))
        .with_columns([col("customer").fill_null(lit(false)), col("open_deals").fill_null(lit(0i64))])
        .filter(col("open_deals").gt(lit(0i64)).or(col("customer")))
        .sort_by_exprs(
            [col("priority_score"), col("account_id")],
            SortMultipleOptions::default().with_order_descending_multi([true, false]).with_nulls_last(true),
        )
        .select(LOCATIONS_NEEDED_DOC.columns.iter().map(|(c, _)| col(*c)).collect::<Vec<_>>())
}

/// Accounts with a won deal: `account_id`.
fn customers(m: &Model) -> LazyFrame {
    m.lazy("opportunities")
        .expect("opportunities is required")
        .filter(col("outcome").eq(lit("won")))
        .select([col("account_id")])
        .unique(None, UniqueKeepStrategy::First)
}

pub const VISIT_PLAN_DOC: TableDoc = TableDoc {
    name: "visit_plan",
    description: "Each FS rep's plan for the working week after the data ends: priority deals and nearby existing customers not visited lately, at most max_stops_per_day stops a day, ordered from the day's top priority stop by nearest neighbour, then 2-opt and or-opt (open path). Distances are great-circle; road km = great-circle x road_factor.",
    columns: &[
        ("rep_id", "the FS rep"),
        ("rep_name", "rep's name"),
        ("rep_region", "rep's region"),
        ("day", "the planned date (local)"),
        ("stop", "order of the stop in the day, from 1"),
        ("account_id", "the account visited"),
        ("account_name", "account name"),
        ("account_region", "account region"),
        ("reason", "priority_deal or nearby_customer"),
        ("opportunity_id", "priority_deal: the account's top open deal"),
        ("open_amount", "priority_deal: the rep's open amount at the account"),
        ("priority_score", "priority_deal: the account's summed priority score"),
        ("near_account_id", "nearby_customer: the priority stop it is near"),
        ("km_to_priority_stop", "nearby_customer: great-circle km to that stop"),
        ("last_visit_at", "nearby_customer: the last visit by anyone (UTC); null when never visited"),
        ("latitude", "account latitude"),
        ("longitude", "account longitude"),
        ("km_from_previous", "great-circle km from the previous stop (0 for the first)"),
        ("road_km_from_previous", "km_from_previous x road_factor"),
        ("day_road_km", "the rep's estimated road km that day (the day's road_km_from_previous summed; no return leg), never above max_road_km_per_day"),
        ("note", "a priority stop moved to another day to keep a day within max_road_km_per_day, or left for the rep's judgement (day, stop and km null) when no day can take it"),
    ],
};

/// visit_plan: the week's day routes. `end` is the end of the data (UTC
/// microseconds); `priority` is priority_deals.
pub fn visit_plan(m: &Model, priority: LazyFrame, end_micros: i64) -> Result<LazyFrame> {
    let clock = Clock::start();
    let cfg = &m.config.visit_plan;
    let tz = m.config.tz();
    let end_date = chrono::DateTime::from_timestamp_micros(end_micros)
        .map(|t| t.with_timezone(&tz).date_naive())
        .unwrap_or_default();
    let days = plan_days(end_date, &m.config.holiday_dates());
    let per_day = cfg.priority_stops_per_day as i64;
    let end = super::engagement::timestamp(end_micros);
    // priority stops: per rep, located accounts by summed score
    let stops = priority
        .filter(col("has_location"))
        .group_by([col("rep_id"), col("account_id")])
        .agg([
            col("opportunity_id").sort_by([col("rank")], Default::default()).first().alias("opportunity_id"),
            col("amount").sum().alias("open_amount"),
            col("priority_score").sum().alias("priority_score"),
            col("latitude").first(),
            col("longitude").first(),
        ])
        .sort_by_exprs(
            [col("rep_id"), col("priority_score"), col("account_id")],
            SortMultipleOptions::default().with_order_descending_multi([false, true, false]),
        )
        .filter(col("rep_id").cum_count(false).over([col("rep_id")]).expect("static window").lt_eq(lit(days.len() as i64 * per_day)))
        .collect()?;
    // cut each rep's nearest-neighbour tour of them into days
    let text = stops.clone().lazy().with_columns([m.ids.text("rep_id"), m.ids.text("account_id")]).collect()?;
    let day_of = m.ids.encode(assign_days(&text, per_day as usize)?)?;
    clock.lap("priority stops and days");
    let stops = stops.lazy().join(day_of.lazy(), [col("rep_id"), col("account_id")], [col("rep_id"), col("account_id")], JoinArgs::new(JoinType::Inner));
    let stops = stops.with_column(lit("priority_deal").alias("reason")).collect()?;

    // nearby customers not visited lately, not already a stop this week
    let Some(activities) = m.coded("activities") else {
        return Err(crate::error::Error::Input("visit_plan needs activities".into()));
    };
    let last_visit = activities
        .filter(col("kind").eq(lit("visit")))
        .group_by([col("account_id")])
        .agg([col("occurred_at").max().alias("last_visit_at")]);
    let candidates = m
        .lazy("accounts")
        .expect("accounts is required")
        .filter(located())
        .join(customers(m), [col("account_id")], [col("account_id")], JoinArgs::new(JoinType::Semi))
        .join(stops.clone().lazy().select([col("account_id")]), [col("account_id")], [col("account_id")], JoinArgs::new(JoinType::Anti))
        .join(last_visit, [col("account_id")], [col("account_id")], JoinArgs::new(JoinType::Left))
        .filter(col("last_visit_at").is_null().or(days_between(end, col("last_visit_at")).gt_eq(lit(cfg.not_visited_days))))
        .select([col("account_id"), col("latitude"), col("longitude"), col("last_visit_at")])
        .collect()?;
    let mut slots = stops
        .clone()
        .lazy()
        .group_by([col("rep_id"), col("day")])
        .agg([(lit(cfg.max_stops_per_day as i64) - len().cast(DataType::Int64)).alias("__slots")])
        .collect()?;
    clock.lap("customer candidates");
    let mut taken = df!("account_id" => Vec::<u32>::new())?;
    let mut nearby = Vec::new();
    for level in GRID_LEVELS {
        let picked = nearby_at(&stops, &candidates, &slots, &taken, cfg.radius_km / level)?;
        let used = picked.clone().lazy().group_by([col("rep_id"), col("day")]).agg([len().cast(DataType::Int64).alias("__used")]);
        slots = slots
            .lazy()
            .join(used, [col("rep_id"), col("day")], [col("rep_id"), col("day")], JoinArgs::new(JoinType::Left))
            .with_column((col("__slots") - col("__used").fill_null(lit(0i64))).alias("__slots"))
            .select([col("rep_id"), col("day"), col("__slots")])
            .collect()?;
        taken = concat([taken.lazy(), picked.clone().lazy().select([col("account_id")])], UnionArgs::default())?.collect()?;
        clock.lap(&format!("neighbours within radius/{level}: {} found", picked.height()));
        nearby.push(picked.lazy());
    }
    let nearby = concat(nearby, UnionArgs::default())?.with_column(lit("nearby_customer").alias("reason"));
    let all = concat([stops.lazy(), nearby], UnionArgs { to_supertypes: true, diagonal: true, ..Default::default() })?
        .sort_by_exprs(
            [col("rep_id"), col("day"), col("priority_score"), col("account_id")],
            SortMultipleOptions::default().with_order_descending_multi([false, false, true, false]).with_nulls_last(true),
        )
        .collect()?;
    let text = all.clone().lazy().with_columns([m.ids.text("rep_id"), m.ids.text("account_id"), m.ids.text_as("near_account_id", "account_id")]).collect()?;
    let route = m.ids.encode(route_days(&text, cfg, &days)?)?;
    clock.lap("routes");
    let dates = df!(
        "day" => (0..days.len() as i64).collect::<Vec<_>>(),
        "__date" => days.clone(),
    )?;
    let reps = m.lazy("reps").expect("reps is required").select([col("rep_id"), col("rep_name"), col("region").alias("rep_region")]);
    let accounts = m.lazy("accounts").expect("accounts is required").select([
        col("account_id"),
        col("account_name"),
        col("region").alias("account_region"),
    ]);
    Ok(all
        .lazy()
        .drop(by_name(["day"], true, false))
        .join(route.lazy(), [col("rep_id"), col("account_id")], [col("rep_id"), col("account_id")], JoinArgs::new(JoinType::Inner))
        .join(dates.lazy(), [col("day")], [col("day")], JoinArgs::new(JoinType::Left))
        .join(reps, [col("rep_id")], [col("rep_id")], JoinArgs::new(JoinType::Left))
        .join(accounts, [col("account_id")], [col("account_id")], JoinArgs::new(JoinType::Left))
        .with_columns([
            col("__date").alias("day"),
            when(col("day").is_null())
                .then(lit(NULL).cast(DataType::Float64))
                .otherwise(col("road_km_from_previous").sum().over([col("rep_id"), col("day")]).expect("static window"))
                .alias("day_road_km"),
        ])
        .sort(["rep_id", "day", "stop", "account_id"], SortMultipleOptions::default().with_nulls_last(true))
        // a column of account ids by another name: as text here (`ids::Ids::decode` knows ids by the input's names)
        .with_column(m.ids.text_as("near_account_id", "account_id"))
        .select(VISIT_PLAN_DOC.columns.iter().map(|(c, _)| col(*c)).collect::<Vec<_>>()))
}

/// The grid's cube sizes, as fractions of the radius, finest first: each
/// pass takes only customers within one cube width (all of which are in
/// the 27 cubes around a stop), so in dense cities the fine passes fill
/// the days and the coarse ones only see what is left.
const GRID_LEVELS: [f64; 4] = [64.0, 16.0, 4.0, 1.0];

/// One pass of the neighbour search with cubes `size` km wide: for stops
/// with free slots, the customers not yet taken within `size` km; each
/// customer at its nearest stop, each day its nearest up to its free slots.
fn nearby_at(stops: &DataFrame, candidates: &DataFrame, slots: &DataFrame, taken: &DataFrame, size: f64) -> Result<DataFrame> {
    let offsets: Vec<i64> = (-1..=1).collect();
    let cube_offsets = df!("__dx" => offsets.clone())?
        .lazy()
        .cross_join(df!("__dy" => offsets.clone())?.lazy(), None)
        .cross_join(df!("__dz" => offsets)?.lazy(), None);
    let open = slots.clone().lazy().filter(col("__slots").gt(lit(0i64)));
    let probe = stops
        .clone()
        .lazy()
        .join(open.clone(), [col("rep_id"), col("day")], [col("rep_id"), col("day")], JoinArgs::new(JoinType::Semi))
        .select([
            col("rep_id"),
            col("day"),
            col("account_id").alias("near_account_id"),
            col("latitude").alias("__plat"),
            col("longitude").alias("__plon"),
        ])
        .with_columns(position("__plat", "__plon", "__p"))
        .cross_join(cube_offsets, None)
        .with_column(cube_key("__p", size, [col("__dx"), col("__dy"), col("__dz")]).alias("__cube"));
    let customers = candidates
        .clone()
        .lazy()
        .join(taken.clone().lazy(), [col("account_id")], [col("account_id")], JoinArgs::new(JoinType::Anti))
        .with_columns(position("latitude", "longitude", "__c"))
        .with_column(cube_key("__c", size, [lit(0i64), lit(0i64), lit(0i64)]).alias("__cube"));
    let squared = |a: &str| (col(format!("__p{a}")) - col(format!("__c{a}"))).pow(2);
    // the straight line between two points is never longer than the way along
    // the surface: pairs farther apart than `size` in a straight line are
    // dropped before the great-circle distance is worked out (with a margin
    // for rounding; the exact distance decides)
    let near_enough = (squared("x") + squared("y") + squared("z")).lt_eq(lit(size * size * (1.0 + 1e-9) + 1e-9));
    Ok(probe
        .join(customers, [col("__cube")], [col("__cube")], JoinArgs::new(JoinType::Inner))
        .filter(near_enough)
        .with_column(great_circle_expr(col("__plat"), col("__plon"), col("latitude"), col("longitude")).alias("km_to_priority_stop"))
        .filter(col("km_to_priority_stop").lt_eq(lit(size)))
        // each customer once in the week, at its nearest priority stop (the ties
        // by text; the customers only grouped, by their codes: the order across
        // customers and reps is set by the sort after this pass)
        .sort_by_exprs(
            [super::runs::by_code("account_id"), col("km_to_priority_stop"), col("rep_id"), col("day"), col("near_account_id")],
            Default::default(),
        )
        .unique_stable_generic(Some(vec![col("account_id")]), UniqueKeepStrategy::First)
        .join(open, [col("rep_id"), col("day")], [col("rep_id"), col("day")], JoinArgs::new(JoinType::Inner))
        .sort_by_exprs([super::runs::by_code("rep_id"), col("day"), col("km_to_priority_stop"), col("account_id")], Default::default())
        .filter(col("account_id").cum_count(false).over([col("rep_id"), col("day")]).expect("static window").cast(DataType::Int64).lt_eq(col("__slots")))
        .select([
            col("rep_id"),
            col("day"),
            col("account_id"),
            col("latitude"),
            col("longitude"),
            col("near_account_id"),
            col("km_to_priority_stop"),
            col("last_visit_at"),
        ])
        .collect()?)
}

/// Phase times of the visit plan, printed when SALESRELAY_TIMINGS is set.
struct Clock(Option<std::cell::Cell<std::time::Instant>>);

impl Clock {
    fn start() -> Clock {
        Clock(crate::progress::timings().then(|| std::cell::Cell::new(std::time::Instant::now())))
    }
    fn lap(&self, what: &str) {
        if let Some(t) = &self.0 {
            crate::tell!("    visit_plan {what}: {:.2}s", t.get().elapsed().as_secs_f64());
            t.set(std::time::Instant::now());
        }
    }
}

/// Points of one group: (key, latitude, longitude).
type Points = Vec<(String, f64, f64)>;

/// Visits `points` by nearest neighbour from the first; returns the order.
pub fn nearest_neighbour(points: &[(f64, f64)]) -> Vec<usize> {
    let mut order = Vec::with_capacity(points.len());
    if points.is_empty() {
        return order;
    }
    let mut left: Vec<usize> = (1..points.len()).collect();
    order.push(0);
    while !left.is_empty() {
        let (a, b) = points[*order.last().expect("non-empty")];
        let (pos, _) = left
            .iter()
            .enumerate()
            .map(|(i, &j)| (i, great_circle_km(a, b, points[j].0, points[j].1)))
            .fold((0, f64::INFINITY), |best, x| if x.1 < best.1 { x } else { best });
        order.push(left.remove(pos));
    }
    order
}

/// Length in km of the open path through `points` in `order`.
pub fn path_km(points: &[(f64, f64)], order: &[usize]) -> f64 {
    order.windows(2).map(|w| great_circle_km(points[w[0]].0, points[w[0]].1, points[w[1]].0, points[w[1]].1)).sum()
}

/// Improves an open path with a fixed first point until no move shortens
/// it: 2-opt (reverse a segment) and or-opt (move one stop elsewhere),
/// which escapes the 2-opt dead end where a stop left behind belongs at the start.
pub fn improve_route(points: &[(f64, f64)], mut order: Vec<usize>) -> Vec<usize> {
    let n = order.len();
    let mut best = path_km(points, &order);
    let mut improved = true;
    while improved {
        improved = false;
        let try_move = |candidate: Vec<usize>, order: &mut Vec<usize>, best: &mut f64| {
            let km = path_km(points, &candidate);
            if km + 1e-9 < *best {
                *order = candidate;
                *best = km;
                true
            } else {
                false
            }
        };
        for i in 1..n {
            for j in i + 1..n {
                let mut candidate = order.clone();
                candidate[i..=j].reverse();
                improved |= try_move(candidate, &mut order, &mut best);
            }
        }
        for i in 1..n {
            for j in 1..n {
                if i == j {
                    continue;
                }
                let mut candidate = order.clone();
                let stop = candidate.remove(i);
                candidate.insert(j, stop);
                improved |= try_move(candidate, &mut order, &mut best);
            }
        }
    }
    order
}

/// The groups of a frame sorted by `keys`: (first row, end row).
fn groups(df: &DataFrame, keys: &[&str]) -> Result<Vec<(usize, usize)>> {
    let key_cols: Vec<Vec<String>> = keys.iter().map(|k| crate::output::text_column(df, k)).collect::<Result<_>>()?;
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=df.height() {
        if i == df.height() || key_cols.iter().any(|c| c[i] != c[start]) {
            out.push((start, i));
            start = i;
        }
    }
    Ok(out)
}

fn points(df: &DataFrame) -> Result<Points> {
    let ids = crate::output::text_column(df, "account_id")?;
    let lat = df.column("latitude")?.f64()?.clone();
    let lon = df.column("longitude")?.f64()?.clone();
    Ok((0..df.height()).map(|i| (ids[i].clone(), lat.get(i).unwrap_or(0.0), lon.get(i).unwrap_or(0.0))).collect())
}

/// For stops sorted by rep then score: `rep_id`, `account_id`, `day` (0-based).
fn assign_days(stops: &DataFrame, per_day: usize) -> Result<DataFrame> {
    let pts = points(stops)?;
    let reps = crate::output::text_column(stops, "rep_id")?;
    let (mut rep_out, mut acc_out, mut day_out) = (Vec::new(), Vec::new(), Vec::new());
    for (a, b) in groups(stops, &["rep_id"])? {
        let coords: Vec<(f64, f64)> = pts[a..b].iter().map(|p| (p.1, p.2)).collect();
        for (k, i) in nearest_neighbour(&coords).into_iter().enumerate() {
            rep_out.push(reps[a].clone());
            acc_out.push(pts[a + i].0.clone());
            day_out.push((k / per_day.max(1)) as i64);
        }
    }
    Ok(df!("rep_id" => rep_out, "account_id" => acc_out, "day" => day_out)?)
}

/// One stop of a rep's week while days are capped: its row in `all`.
#[derive(Clone, Copy)]
struct Planned {
    row: usize,
    priority: bool,
}

/// The road km of an open path through `stops` in that order.
fn road_km(coords: &[(f64, f64)], stops: &[Planned], road_factor: f64) -> f64 {
    stops.windows(2).map(|w| great_circle_km(coords[w[0].row].0, coords[w[0].row].1, coords[w[1].row].0, coords[w[1].row].1)).sum::<f64>() * road_factor
}

/// `stops` routed: nearest neighbour from the first, then 2-opt and or-opt.
fn routed(coords: &[(f64, f64)], stops: &[Planned]) -> Vec<Planned> {
    let pts: Vec<(f64, f64)> = stops.iter().map(|p| coords[p.row]).collect();
    improve_route(&pts, nearest_neighbour(&pts)).into_iter().map(|i| stops[i]).collect()
}

/// One rep's days (day index -> stops, the day's top priority stop first)
/// routed within `cap` road km: while a day is longer, a stop goes (never
/// the day's first): the nearby customer that saves most when leaving it
/// out is enough, else the stop whose removal shortens the day most. A
/// removed priority stop takes its nearby customers with it and moves to the
/// day it lengthens least within the cap, `max_stops_per_day` and
/// `priority_stops_per_day` (else a free day of the week); failing that it
/// is left unplanned. Returns the routed days, the moved and the unplanned
/// stops, each with the day it came from.
#[allow(clippy::type_complexity)]
fn capped_week(
    coords: &[(f64, f64)],
    near: &[String],
    accounts: &[String],
    mut days: BTreeMap<i64, Vec<Planned>>,
    week: i64,
    cfg: &crate::config::VisitPlanConfig,
) -> (BTreeMap<i64, Vec<Planned>>, Vec<(Planned, i64)>, Vec<(Planned, i64)>) {
    let cap = cfg.max_road_km_per_day;
    let mut pending: Vec<(Planned, i64)> = Vec::new();
    for (day, stops) in days.iter_mut() {
        let mut route = routed(coords, stops);
        while route.len() > 1 && road_km(coords, &route, cfg.road_factor) > cap {
            let saving = |i: usize| {
                let mut without = route.clone();
                without.remove(i);
                road_km(coords, &route, cfg.road_factor) - road_km(coords, &without, cfg.road_factor)
            };
            let best = |which: &dyn Fn(&Planned) -> bool| {
                (1..route.len()).filter(|&i| which(&route[i])).map(|i| (i, saving(i))).fold(None, |b: Option<(usize, f64)>, x| if b.is_none_or(|b| x.1 > b.1) { Some(x) } else { b })
            };
            // a nearby customer when leaving one out is enough, else whichever stop saves most
            let over = road_km(coords, &route, cfg.road_factor) - cap;
            let Some((i, _)) = best(&|p| !p.priority).filter(|(_, saved)| *saved >= over).or_else(|| best(&|_| true)) else { break };
            let removed = route.remove(i);
            if removed.priority {
                let anchor = &accounts[removed.row];
                route.retain(|p| p.priority || near[p.row] != *anchor);
                pending.push((removed, *day));
            }
            route = routed(coords, &route);
        }
        *stops = route;
    }
    let mut moved = Vec::new();
    let mut unplanned = Vec::new();
    for (stop, from) in pending {
        // the cheapest insertion after a day's first stop that keeps the day within the cap
        let mut best: Option<(i64, usize, f64)> = None;
        let room = |r: &Vec<Planned>| r.len() < cfg.max_stops_per_day as usize && r.iter().filter(|p| p.priority).count() < cfg.priority_stops_per_day as usize;
        for (day, route) in days.iter().filter(|(d, r)| **d != from && !r.is_empty() && room(r)) {
            let before = road_km(coords, route, cfg.road_factor);
            for pos in 1..=route.len() {
                let mut with = route.clone();
                with.insert(pos, stop);
                let km = road_km(coords, &with, cfg.road_factor);
                if km <= cap && best.is_none_or(|b| km - before < b.2) {
                    best = Some((*day, pos, km - before));
                }
            }
        }
        let free = (0..week).find(|d| days.get(d).is_none_or(|r| r.is_empty()));
        match (best, free) {
            (Some((day, pos, _)), _) => {
                let route = days.get_mut(&day).expect("a day of the rep");
                route.insert(pos, stop);
                // routed from its first stop, which stays first
                *route = routed(coords, route);
                moved.push((stop, from));
            }
            (None, Some(day)) => {
                days.insert(day, vec![stop]);
                moved.push((stop, from));
            }
            (None, None) => unplanned.push((stop, from)),
        }
    }
    (days, moved, unplanned)
}

/// For stops sorted by rep, day, then score (the top priority stop first):
/// `rep_id`, `account_id`, `day` (null: left unplanned), `stop`,
/// `km_from_previous`, `road_km_from_previous` and `note` (why a stop moved
/// or is unplanned), each day within `max_road_km_per_day`.
fn route_days(all: &DataFrame, cfg: &crate::config::VisitPlanConfig, dates: &[NaiveDate]) -> Result<DataFrame> {
    let pts = points(all)?;
    let coords: Vec<(f64, f64)> = pts.iter().map(|p| (p.1, p.2)).collect();
    let accounts: Vec<String> = pts.iter().map(|p| p.0.clone()).collect();
    let reps = crate::output::text_column(all, "rep_id")?;
    let reasons = crate::output::text_column(all, "reason")?;
    let near = crate::output::text_column(all, "near_account_id")?;
    let days = all.column("day")?.cast(&DataType::Int64)?.i64()?.clone();
    let date = |d: i64| dates.get(d as usize).map(|d| d.to_string()).unwrap_or_else(|| format!("day {}", d + 1));
    let cap = cfg.max_road_km_per_day;
    let mut rep_out: Vec<String> = Vec::new();
    let mut acc_out: Vec<String> = Vec::new();
    let (mut day_out, mut stop_out): (Vec<Option<i64>>, Vec<Option<i64>>) = (Vec::new(), Vec::new());
    let (mut km_out, mut road_out): (Vec<Option<f64>>, Vec<Option<f64>>) = (Vec::new(), Vec::new());
    let mut note_out: Vec<Option<String>> = Vec::new();
    for (a, b) in groups(all, &["rep_id"])? {
        let mut week: BTreeMap<i64, Vec<Planned>> = BTreeMap::new();
        for (row, reason) in reasons.iter().enumerate().take(b).skip(a) {
            week.entry(days.get(row).unwrap_or(0)).or_default().push(Planned { row, priority: reason == "priority_deal" });
        }
        let (week, moved, unplanned) = capped_week(&coords, &near, &accounts, week, dates.len() as i64, cfg);
        for (day, route) in &week {
            let mut prev: Option<usize> = None;
            for (k, p) in route.iter().enumerate() {
                let km = prev.map_or(0.0, |q| great_circle_km(coords[q].0, coords[q].1, coords[p.row].0, coords[p.row].1));
                rep_out.push(reps[a].clone());
                acc_out.push(accounts[p.row].clone());
                day_out.push(Some(*day));
                stop_out.push(Some(k as i64 + 1));
                km_out.push(Some(km));
                road_out.push(Some(km * cfg.road_factor));
                note_out.push(moved.iter().find(|(m, _)| m.row == p.row).map(|(_, from)| format!("moved from {} to keep that day within {cap} road km", date(*from))));
                prev = Some(p.row);
            }
        }
        for (p, from) in &unplanned {
            rep_out.push(reps[a].clone());
            acc_out.push(accounts[p.row].clone());
            day_out.push(None);
            stop_out.push(None);
            km_out.push(None);
            road_out.push(None);
            note_out.push(Some(format!(
                "left for the rep's judgement: planned for {}, but no day of the week can take it within {cap} road km",
                date(*from)
            )));
        }
    }
    Ok(df!(
        "rep_id" => rep_out,
        "account_id" => acc_out,
        "day" => day_out,
        "stop" => stop_out,
        "km_from_previous" => km_out,
        "road_km_from_previous" => road_out,
        "note" => note_out,
    )?)
}

/// priority_deals in the registry: read by visit_plan and
/// locations_needed, so collected once.
pub const PRIORITY_DEALS: OutputTable = OutputTable {
    doc: PRIORITY_DEALS_DOC,
    needs: &[Need::OpportunitiesNotWon],
    column_needs: &[(&["last_fs_touch_at"], Need::Activities)],
    build: |m| Ok(Some(priority_deals(m, m.data_end()?))),
};

/// visit_plan in the registry (collected as it is built: the routes are
/// improved outside Polars).
pub const VISIT_PLAN: OutputTable = OutputTable {
    doc: VISIT_PLAN_DOC,
    needs: &[Need::OpportunitiesNotWon, Need::AccountsLatitude, Need::AccountsLongitude, Need::Activities],
    column_needs: &[],
    build: |m| {
        let Some(priority) = m.built(&PRIORITY_DEALS)? else { return Ok(None) };
        let started = std::time::Instant::now();
        let plan = visit_plan(m, priority.lazy(), m.data_end()?)?.collect()?;
        if crate::progress::timings() {
            crate::tell!("  visit_plan: {} stops in {:.2}s", plan.height(), started.elapsed().as_secs_f64());
        }
        Ok(Some(plan.lazy()))
    },
};

/// locations_needed in the registry.
pub const LOCATIONS_NEEDED: OutputTable = OutputTable {
    doc: LOCATIONS_NEEDED_DOC,
    needs: &[Need::OpportunitiesNotWon, Need::AccountsLatitude, Need::AccountsLongitude],
    column_needs: &[],
    build: |m| Ok(m.built(&PRIORITY_DEALS)?.map(|p| locations_needed(m, p.lazy()))),
};
