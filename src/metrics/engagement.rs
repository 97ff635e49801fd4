//! The customer's side of the deal, from the digital sales room (dsr_views):
//! how each deal's room was used, whether engagement goes with winning, and
//! which open deals have gone quiet.
//!
//! A view belongs to a deal through its `opportunity_id`; a view with only a
//! `lead_id` is the lead's room before there was a deal. A deal's engagement
//! counts its views up to its close (closed deals) or the end of the data
//! (open deals); views after the close are counted apart (`views_after_close`).

use polars::prelude::*;
use super::GroupAgg;
use super::OutputTable;
use crate::contract::Need;

use super::{count_if, days_between, events, median, ratio, sum_if, Model};
use crate::output::TableDoc;
use crate::typing::utc_type;

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The engagement bands, in order.
pub const BANDS: [&str; 4] = ["none", "low", "medium", "high"];

/// The Wilson score interval (95%) of `successes` out of `n`: (low, high);
/// null where n is 0. Its width is what makes a small group visibly small.
pub fn wilson(successes: Expr, n: Expr) -> (Expr, Expr) {
    let n = n.cast(DataType::Float64);
    let p = ratio(successes, n.clone());
    let z2 = Z95 * Z95;
    let denom = lit(1.0) + lit(z2) / n.clone();
    let centre = p.clone() + lit(z2) / (lit(2.0) * n.clone());
    let half = lit(Z95) * (p.clone() * (lit(1.0) - p) / n.clone() + lit(z2) / (lit(4.0) * n.clone() * n)).sqrt();
    // clipped: at 0 or n successes a bound is 0 or 1 up to rounding
    let bound = |e: Expr| e.clip(lit(0.0), lit(1.0));
    (bound((centre.clone() - half.clone()) / denom.clone()), bound((centre + half) / denom))
}

/// The end of the data: the latest event timestamp or room view (UTC
/// microseconds). Days since the last view, the stalled-deal clock and the
/// visit plan's week run from it.
pub fn data_end(m: &Model) -> crate::error::Result<i64> {
    let mut end = m.span.last_event.unwrap_or(0);
    // the coded table: its enums are not read (as text they were 5M rows of text built for nothing)
    if let Some(views) = m.coded("dsr_views") {
        let df = views.select([col("viewed_at").max().dt().timestamp(TimeUnit::Microseconds).alias("end")]).collect()?;
        if let Some(v) = df.column("end")?.i64()?.get(0) {
            end = end.max(v);
        }
    }
    Ok(end)
}

/// A UTC microsecond timestamp as a literal.
pub fn timestamp(micros: i64) -> Expr {
    lit(micros).cast(utc_type())
}

/// The band of a view count.
fn band(views: Expr, m: &Model) -> Expr {
    let e = &m.config.engagement;
    when(views.clone().eq(lit(0i64)))
        .then(lit("none"))
        .when(views.clone().lt(lit(e.medium_views as i64)))
        .then(lit("low"))
        .when(views.lt(lit(e.high_views as i64)))
        .then(lit("medium"))
        .otherwise(lit("high"))
}

pub const DSR_ENGAGEMENT_DOC: TableDoc = TableDoc {
    name: "dsr_engagement",
    description: "One row per opportunity: how the customer used the deal's room (dsr_views with its opportunity_id), counting views up to the close (closed deals) or the end of the data (open deals), and whether the lead's room had views before the handoff.",
    columns: &[
        ("opportunity_id", "the deal"),
        ("account_id", "its account"),
        ("owner_rep_id", "its owner"),
        ("source", "inbound, outbound or fs_sourced"),
        ("industry", "reference industry"),
        ("region", "account region"),
        ("outcome", "open, won or lost"),
        ("stage", "stage as exported"),
        ("amount", "deal amount in the base currency (converted at the rate in force on its close date when the deal is in another currency)"),
        ("amount_original", "deal amount as exported, in its own currency"),
        ("currency", "the deal's currency (ISO 4217; the base currency where the export has none)"),
        ("created_at", "deal created (UTC)"),
        ("closed_at", "deal closed (UTC); null while open"),
        ("views", "room views up to the close (open deals: up to the end of the data)"),
        ("seconds", "seconds viewed, summed over those views (a view without seconds adds 0)"),
        ("distinct_assets", "different assets viewed"),
        ("pricing_seconds", "seconds spent on the pricing asset"),
        ("views_decision_maker", "views by a viewer with role decision_maker (the export has no viewer id, so viewers are counted as views)"),
        ("views_contact", "views by role contact"),
        ("views_other", "views by role other or not recorded"),
        ("dm_viewed", "a decision maker viewed the room before the close"),
        ("first_dm_view_at", "first decision-maker view (UTC)"),
        ("days_to_first_dm_view", "days from the deal's creation to the first decision-maker view (negative when the view came first)"),
        ("first_viewed_at", "first view (UTC)"),
        ("last_viewed_at", "last view (UTC)"),
        ("last_asset", "asset of the last view"),
        ("days_since_last_view", "days from the last view to the end of the data (the latest event or view); null without views"),
        ("views_after_close", "views after the close, not counted above (onboarding, renewals)"),
        ("engagement_band", "none, low, medium or high by views ([engagement] medium_views, high_views)"),
        ("handed_off_at", "when FS got the deal: its handoff (the earliest naming it), else the deal's creation; null for FS-sourced deals"),
        ("lead_views_before_handoff", "views of the deal's lead (dsr_views.lead_id) before handed_off_at; null for FS-sourced deals"),
        ("viewed_before_handoff", "FS entered with viewing data: lead_views_before_handoff > 0; null for FS-sourced deals"),
    ],
};

/// Per `key`: how many views of its lead's room (dsr_views.lead_id) came
/// before its `handed_off_at` (`__before`; keys without such views absent).
fn lead_views_before(keyed: LazyFrame, key: &str, views: LazyFrame) -> LazyFrame {
    keyed
        .select([col(key), col("lead_id"), col("handed_off_at")])
        .join(
            views.filter(col("lead_id").is_not_null()).select([col("lead_id").alias("__lead"), col("viewed_at")]),
            [col("lead_id")],
            [col("__lead")],
            JoinArgs::new(JoinType::Inner),
        )
        .group_agg([col(key)], [count_if(col("viewed_at").lt(col("handed_off_at"))).alias("__before")])
}

/// dsr_engagement: one row per opportunity (those without views too).
pub fn dsr_engagement(m: &Model, end: i64) -> Option<LazyFrame> {
    // viewer_role and asset as their codes (`Model::coded`): only compared with text and
    // grouped, over 5.2M views at scale 1000; the table's rows are written as text
    let views = m.coded("dsr_views")?;
    let end = timestamp(end);
    let opps = events::opportunities(m).select([
        col("opportunity_id"),
        col("account_id"),
        col("owner_rep_id"),
        col("source"),
        col("industry"),
        col("region"),
        col("outcome"),
        col("stage"),
        col("amount"),
        col("amount_original"),
        col("currency"),
        col("created_at"),
        col("closed_at"),
        col("lead_id"),
    ]);
    let closes = opps.clone().select([col("opportunity_id"), col("closed_at").alias("__closed")]);
    let role = |r: &str| col("viewer_role").eq(lit(r.to_string()));
    // each view's deal's close picked by the deal's code (`events::looked_up`), not joined
    let deal_views = events::looked_up(views.clone().filter(col("opportunity_id").is_not_null()), "opportunity_id", closes, &["__closed"])
        .with_column(col("viewed_at").lt_eq(col("__closed").fill_null(end.clone())).alias("__counted"))
        .cache();
    let seconds = || col("seconds").fill_null(lit(0.0));
    // no distinct count inside the group-by, which ran deal by deal (540k deals at scale 1000: 1.7 s
    // of the table's 2.7): the distinct assets are the contract's assets each deal has a view of
    // (the first decision maker's view, a filtered minimum, `group_agg` computes before grouping)
    let asset_views = |i: usize| format!("__asset_{i}_views");
    let mut aggs = vec![
        len().cast(DataType::Int64).alias("views"),
        seconds().sum().alias("seconds"),
        sum_if(seconds(), col("asset").eq(lit("pricing"))).alias("pricing_seconds"),
        count_if(role("decision_maker")).alias("views_decision_maker"),
        count_if(role("contact")).alias("views_contact"),
        count_if(role("other").or(col("viewer_role").is_null())).alias("views_other"),
        col("viewed_at").filter(role("decision_maker")).min().alias("first_dm_view_at"),
        col("viewed_at").min().alias("first_viewed_at"),
        col("viewed_at").max().alias("last_viewed_at"),
    ];
    aggs.extend(crate::contract::ASSETS.iter().enumerate().map(|(i, a)| count_if(col("asset").eq(lit(*a))).alias(asset_views(i))));
    let distinct_assets = crate::contract::ASSETS
        .iter()
        .enumerate()
        .map(|(i, _)| col(asset_views(i)).gt(lit(0i64)).cast(DataType::Int64))
        .reduce(|a, b| a + b)
        .unwrap_or_else(|| lit(0i64));
    // a group per deal with views (540k at scale 1000), none of the aggregates hangs on row order:
    // grouped by the streaming engine (`streamed`)
    let per_opp = super::streamed(m, deal_views.clone().filter(col("__counted")).group_agg([col("opportunity_id")], aggs))
        .with_column(distinct_assets.alias("distinct_assets"));
    // the asset of the deal's last view (ties: the largest view_id): its views at the latest
    // viewed_at, in view_id order, the last taken (sorting each deal's views took 0.5 s of 2)
    // (the deal's latest viewed_at picked from its row of per_opp by the deal's code, not a window
    // hashing every view into its deal's group: the table took 2.15 s at scale 1000, now 1.75)
    let last_at = per_opp.clone().select([col("opportunity_id"), col("last_viewed_at")]);
    let last_asset = events::looked_up(
        deal_views.clone().filter(col("__counted")).select([col("opportunity_id"), col("viewed_at"), col("view_id"), col("asset")]),
        "opportunity_id",
        last_at,
        &["last_viewed_at"],
    )
        .filter(col("viewed_at").eq(col("last_viewed_at")))
        .drop(by_name(["last_viewed_at"], true, false))
        .sort(["view_id"], Default::default())
        .group_agg([col("opportunity_id")], [col("asset").last().alias("last_asset")]);
    let per_opp = per_opp.join(last_asset, [col("opportunity_id")], [col("opportunity_id")], JoinArgs::new(JoinType::Left));
    // counts and a minimum per deal below (the same in any order): grouped by the streaming engine
    let after_close = super::streamed(m,
        deal_views.filter(col("__counted").not()).group_agg([col("opportunity_id")], [len().cast(DataType::Int64).alias("views_after_close")]),
    );
    // when FS got the deal: its earliest handoff, else its creation
    let entered = match m.lazy("handoffs") {
        Some(h) => opps
            .clone()
            .join(
                super::streamed(m,
                    h.filter(col("opportunity_id").is_not_null()).group_agg([col("opportunity_id")], [col("handed_off_at").min().alias("__handoff")]),
                ),
                [col("opportunity_id")],
                [col("opportunity_id")],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(coalesce(&[col("__handoff"), col("created_at")]).alias("handed_off_at")),
        None => opps.clone().with_column(col("created_at").alias("handed_off_at")),
    }
    .filter(col("lead_id").is_not_null())
    .select([col("opportunity_id"), col("lead_id"), col("handed_off_at")]);
    let before = super::streamed(m, lead_views_before(entered.clone(), "opportunity_id", views));
    let entered = entered
        .join(before, [col("opportunity_id")], [col("opportunity_id")], JoinArgs::new(JoinType::Left))
        .select([
            col("opportunity_id"),
            col("handed_off_at"),
            col("__before").fill_null(lit(0i64)).alias("lead_views_before_handoff"),
        ]);
    let counts = ["views", "distinct_assets", "views_decision_maker", "views_contact", "views_other", "views_after_close"];
    Some(
        opps.join(per_opp, [col("opportunity_id")], [col("opportunity_id")], JoinArgs::new(JoinType::Left))
            .join(after_close, [col("opportunity_id")], [col("opportunity_id")], JoinArgs::new(JoinType::Left))
            .join(entered, [col("opportunity_id")], [col("opportunity_id")], JoinArgs::new(JoinType::Left))
            .with_columns(counts.map(|c| col(c).fill_null(lit(0i64)).alias(c)))
            .with_columns(["seconds", "pricing_seconds"].map(|c| col(c).fill_null(lit(0.0)).alias(c)))
            .with_columns([
                col("views_decision_maker").gt(lit(0i64)).alias("dm_viewed"),
                days_between(col("first_dm_view_at"), col("created_at")).alias("days_to_first_dm_view"),
                days_between(end, col("last_viewed_at")).alias("days_since_last_view"),
                band(col("views"), m).alias("engagement_band"),
                col("lead_views_before_handoff").gt(lit(0i64)).alias("viewed_before_handoff"),
            ])
            .sort(["created_at", "opportunity_id"], Default::default())
            .select(DSR_ENGAGEMENT_DOC.columns.iter().map(|(c, _)| col(*c)).collect::<Vec<_>>()),
    )
}

pub const ENGAGEMENT_EFFECT_DOC: TableDoc = TableDoc {
    name: "engagement_effect",
    description: "Whether room engagement goes with winning. Per quarter (period \"all\": the whole history): closed deals (by the quarter of closed_at) by engagement band and by whether a decision maker viewed; handoffs (by the quarter of handed_off_at) by whether the lead's room had views before the handoff. Rates carry a Wilson 95% interval: a wide one means a small group.",
    columns: &[
        ("period", "fiscal quarter, or \"all\" for the whole history"),
        ("dimension", "engagement_band, decision_maker or viewing_data_at_handoff"),
        ("group", "none/low/medium/high; engaged/not_engaged; with/without"),
        ("deals", "closed deals (won + lost) in the group"),
        ("won", "of which won"),
        ("win_rate", "won / deals"),
        ("win_rate_low", "Wilson 95% interval, lower bound"),
        ("win_rate_high", "Wilson 95% interval, upper bound"),
        ("mean_won_amount", "mean amount of the won deals"),
        ("cycle_days_median", "won deals: median days from created_at to closed_at"),
        ("handoffs", "handoffs in the group (viewing_data_at_handoff rows)"),
        ("accepted", "of which accepted (status accepted or sent_back)"),
        ("acceptance_rate", "accepted / handoffs"),
        ("acceptance_rate_low", "Wilson 95% interval, lower bound"),
        ("acceptance_rate_high", "Wilson 95% interval, upper bound"),
        ("handoffs_won", "accepted handoffs whose opportunity was won (by the data's end)"),
        ("win_yield", "handoffs_won / accepted"),
        ("win_yield_low", "Wilson 95% interval, lower bound"),
        ("win_yield_high", "Wilson 95% interval, upper bound"),
        ("open_deals", "viewing_data_at_handoff rows: accepted handoffs whose opportunity is still open at the end of the data, so win_yield can still rise (closed-deal rows: null, they are final)"),
        ("mature", "viewing_data_at_handoff rows: the quarter is complete and at least maturity.closed_share of the accepted handoffs' opportunities are closed (closed-deal rows: null)"),
    ],
};

/// Closed-deal measures of one group.
pub(super) fn deal_aggs() -> Vec<Expr> {
    let won = col("outcome").eq(lit("won"));
    vec![
        len().cast(DataType::Int64).alias("deals"),
        count_if(won.clone()).alias("won"),
        col("amount").filter(won.clone()).mean().alias("mean_won_amount"),
        median(col("__cycle").filter(won)).alias("cycle_days_median"),
    ]
}

fn handoff_aggs() -> Vec<Expr> {
    vec![
        len().cast(DataType::Int64).alias("handoffs"),
        count_if(col("accepted")).alias("accepted"),
        count_if(col("accepted").and(col("opportunity_outcome").eq(lit("won")))).alias("handoffs_won"),
        count_if(col("accepted").and(col("opportunity_outcome").is_not_null())).alias("__handoff_deals"),
        count_if(col("accepted").and(col("opportunity_outcome").eq(lit("open")))).alias("open_deals"),
    ]
}

/// `aggs` of `lf` by `dimension` (a column of `lf`, its groups) per quarter
/// and over the whole history (period "all").
pub(super) fn per_period_and_all(lf: &LazyFrame, dimension: &str, aggs: Vec<Expr>) -> [LazyFrame; 2] {
    let label = |lf: LazyFrame| lf.with_columns([lit(dimension).alias("dimension"), col(dimension).alias("group")]);
    [
        label(lf.clone().group_agg([col("period"), col(dimension)], aggs.clone())),
        label(lf.clone().group_agg([col(dimension)], aggs)).with_column(lit("all").alias("period")),
    ]
}

/// engagement_effect from dsr_engagement and the handoffs table.
pub fn engagement_effect(m: &Model, engagement: LazyFrame, handoffs: Option<LazyFrame>) -> LazyFrame {
    // the dimensions and their groups, in output order; without viewer roles
    // nobody is known to be a decision maker: no such rows, not "not engaged"
    let mut dimensions: Vec<(&str, Vec<&str>)> = vec![("engagement_band", BANDS.to_vec())];
    if m.has(crate::contract::Need::DsrViewsViewerRole) {
        dimensions.push(("decision_maker", vec!["engaged", "not_engaged"]));
    }
    let closed = engagement
        .filter(col("outcome").is_in(crate::typing::str_list(&["won", "lost"]), false).and(col("closed_at").is_not_null()))
        .with_columns([
            m.label(m.period("closed_at")).alias("period"),
            days_between(col("closed_at"), col("created_at")).alias("__cycle"),
            when(col("dm_viewed")).then(lit("engaged")).otherwise(lit("not_engaged")).alias("decision_maker"),
        ])
        .cache();
    let mut parts: Vec<LazyFrame> = dimensions.iter().flat_map(|(d, _)| per_period_and_all(&closed, d, deal_aggs())).collect();
    if let (Some(h), Some(views)) = (handoffs, m.lazy("dsr_views")) {
        // a handoff has viewing data when its lead's room had a view before it: the
        // lead's first view is before it (each handoff joined to all its lead's views and
        // counted before: the table took 1.20 s at scale 1000, now 1.05)
        // (a minimum per lead, the same in any order: grouped by the streaming engine)
        let first_views = super::streamed(m, views.filter(col("lead_id").is_not_null()).group_agg([col("lead_id")], [col("viewed_at").min().alias("__first_view")]));
        let flagged = h
            .join(first_views, [col("lead_id")], [col("lead_id")], JoinArgs::new(JoinType::Left))
            .with_column(
                when(col("__first_view").lt(col("handed_off_at")).fill_null(lit(false)))
                    .then(lit("with"))
                    .otherwise(lit("without"))
                    .alias("viewing_data_at_handoff"),
            )
            .cache();
        parts.extend(per_period_and_all(&flagged, "viewing_data_at_handoff", handoff_aggs()));
        dimensions.push(("viewing_data_at_handoff", vec!["with", "without"]));
    }
    // the handoff columns exist even without handoffs (then null, below)
    let no_handoffs = df!(
        "period" => Vec::<String>::new(),
        "dimension" => Vec::<String>::new(),
        "group" => Vec::<String>::new(),
        "handoffs" => Vec::<i64>::new(),
        "accepted" => Vec::<i64>::new(),
        "handoffs_won" => Vec::<i64>::new(),
        "__handoff_deals" => Vec::<i64>::new(),
        "open_deals" => Vec::<i64>::new(),
    )
    .expect("static frame");
    parts.push(no_handoffs.lazy());
    let found = concat(parts, UnionArgs { to_supertypes: true, diagonal: true, ..Default::default() }).expect("same columns");
    // every quarter x every group, so an empty group shows as 0, not as missing
    let mut labels: Vec<String> = m.periods().into_iter().map(|p| crate::calendar::Quarter(p).label(m.config)).collect();
    labels.push("all".into());
    let (dims, groups): (Vec<&str>, Vec<&str>) = dimensions.iter().flat_map(|(d, gs)| gs.iter().map(move |g| (*d, *g))).unzip();
    let order: Vec<u32> = (0..dims.len() as u32).collect();
    let grid = df!("period" => labels.clone(), "__po" => (0..labels.len() as u32).collect::<Vec<_>>())
        .expect("periods")
        .lazy()
        .cross_join(df!("dimension" => dims, "group" => groups, "__go" => order).expect("groups").lazy(), None);
    let keys = || [col("period"), col("dimension"), col("group")];
    let is_deal = col("dimension").neq(lit("viewing_data_at_handoff"));
    let deal_counts = ["deals", "won"];
    let handoff_counts = ["handoffs", "accepted", "handoffs_won", "__handoff_deals", "open_deals"];
    // a partial last quarter's handoffs are not a full cohort; "all" is the whole history
    let last = m.span.last;
    let complete = col("period").neq(lit(last.label(m.config))).or(lit(m.span.is_complete(last, m.config)));
    let (wl, wh) = wilson(col("won"), col("deals"));
    let (al, ah) = wilson(col("accepted"), col("handoffs"));
    let (yl, yh) = wilson(col("handoffs_won"), col("accepted"));
    grid.join(found, keys(), keys(), JoinArgs::new(JoinType::Left))
        .with_columns(
            deal_counts
                .iter()
                .map(|c| when(is_deal.clone()).then(col(*c).fill_null(lit(0i64))).otherwise(lit(NULL).cast(DataType::Int64)).alias(*c))
                .chain(handoff_counts.iter().map(|c| {
                    when(is_deal.clone()).then(lit(NULL).cast(DataType::Int64)).otherwise(col(*c).fill_null(lit(0i64))).alias(*c)
                }))
                .collect::<Vec<_>>(),
        )
        .with_columns([
            ratio(col("won"), col("deals")).alias("win_rate"),
            wl.alias("win_rate_low"),
            wh.alias("win_rate_high"),
            ratio(col("accepted"), col("handoffs")).alias("acceptance_rate"),
            al.alias("acceptance_rate_low"),
            ah.alias("acceptance_rate_high"),
            ratio(col("handoffs_won"), col("accepted")).alias("win_yield"),
            yl.alias("win_yield_low"),
            yh.alias("win_yield_high"),
            when(is_deal.clone())
                .then(lit(NULL).cast(DataType::Boolean))
                .otherwise(super::mature(m, complete, col("__handoff_deals"), col("open_deals")))
                .alias("mature"),
        ])
        .sort(["__po", "__go"], Default::default())
        .select(ENGAGEMENT_EFFECT_DOC.columns.iter().map(|(c, _)| col(*c)).collect::<Vec<_>>())
}

pub const STALLED_DEALS_DOC: TableDoc = TableDoc {
    name: "stalled_deals",
    description: "Open deals whose room has had no views for [engagement] stalled_days days or more at the end of the data (a deal never viewed counts from its creation), largest first: the approval-support follow-up list.",
    columns: &[
        ("rank", "1 = largest amount"),
        ("opportunity_id", "the deal"),
        ("account_id", "its account"),
        ("account_name", "account name"),
        ("owner_rep_id", "deal owner"),
        ("owner_name", "owner's name"),
        ("stage", "stage as exported"),
        ("amount", "deal amount in the base currency (converted at the rate in force on its expected close date when the deal is in another currency)"),
        ("amount_original", "deal amount as exported, in its own currency"),
        ("currency", "the deal's currency (ISO 4217; the base currency where the export has none)"),
        ("created_at", "deal created (UTC)"),
        ("views", "room views so far"),
        ("last_viewed_at", "last view (UTC); null when never viewed"),
        ("last_asset", "asset of the last view"),
        ("days_without_room_activity", "days from the last view (or the deal's creation when never viewed) to the end of the data"),
        ("never_viewed", "the room was never viewed"),
    ],
};

/// stalled_deals from dsr_engagement.
pub fn stalled_deals(m: &Model, engagement: LazyFrame, end: i64) -> LazyFrame {
    let end = timestamp(end);
    let accounts = m.lazy("accounts").expect("accounts is required").select([col("account_id"), col("account_name")]);
    let reps = events::reps(m).select([col("rep_id"), col("rep_name").alias("owner_name")]);
    engagement
        .filter(col("outcome").eq(lit("open")))
        .with_column(
            days_between(end, coalesce(&[col("last_viewed_at"), col("created_at")])).alias("days_without_room_activity"),
        )
        .filter(col("days_without_room_activity").gt_eq(lit(m.config.engagement.stalled_days)))
        .join(accounts, [col("account_id")], [col("account_id")], JoinArgs::new(JoinType::Left))
        .join(reps, [col("owner_rep_id")], [col("rep_id")], JoinArgs::new(JoinType::Left))
        .sort_by_exprs(
            [col("amount"), col("days_without_room_activity"), col("opportunity_id")],
            SortMultipleOptions::default().with_order_descending_multi([true, true, false]).with_nulls_last(true),
        )
        .with_row_index("rank", Some(1))
        .with_columns([col("rank").cast(DataType::Int64), col("views").eq(lit(0i64)).alias("never_viewed")])
        .select(STALLED_DEALS_DOC.columns.iter().map(|(c, _)| col(*c)).collect::<Vec<_>>())
}

/// dsr_engagement in the registry: read by engagement_effect and
/// stalled_deals, so collected once.
pub const DSR_ENGAGEMENT: OutputTable = OutputTable {
    doc: DSR_ENGAGEMENT_DOC,
    needs: &[Need::DsrViews],
    column_needs: &[
        (&["seconds", "pricing_seconds"], Need::DsrViewsSeconds),
        (&["distinct_assets", "pricing_seconds", "last_asset"], Need::DsrViewsAsset),
        (
            &["views_decision_maker", "views_contact", "views_other", "dm_viewed", "first_dm_view_at", "days_to_first_dm_view"],
            Need::DsrViewsViewerRole,
        ),
    ],
    build: |m| Ok(dsr_engagement(m, m.data_end()?)),
};

/// engagement_effect in the registry.
pub const ENGAGEMENT_EFFECT: OutputTable = OutputTable {
    doc: ENGAGEMENT_EFFECT_DOC,
    needs: &[Need::DsrViews, Need::OpportunitiesNotWon],
    column_needs: &[],
    build: |m| {
        let handoffs = m.built(&super::handoffs::HANDOFFS)?.map(DataFrame::lazy);
        Ok(m.built(&DSR_ENGAGEMENT)?.map(|e| engagement_effect(m, e.lazy(), handoffs)))
    },
};

/// stalled_deals in the registry.
pub const STALLED_DEALS: OutputTable = OutputTable {
    doc: STALLED_DEALS_DOC,
    needs: &[Need::DsrViews, Need::OpportunitiesNotWon],
    column_needs: &[(&["last_asset"], Need::DsrViewsAsset)],
    build: |m| {
        let end = m.data_end()?;
        Ok(m.built(&DSR_ENGAGEMENT)?.map(|e| stalled_deals(m, e.lazy(), end)))
    },
};
