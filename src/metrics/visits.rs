//! Field activity by industry and visit mode against the survey benchmark,
//! and whether the visits pay: deals with at least one visit vs online only.

use polars::prelude::*;
use super::GroupAgg;
use super::OutputTable;
use crate::contract::Need;

use super::{count_if, events, median, ratio, sum_if, Model};
use crate::output::TableDoc;

/// Points of gap to the benchmark beyond which an industry is above or below it.
pub const GAP_THRESHOLD_PT: f64 = 10.0;

/// FS visits and online meetings with the account's reference industry and
/// the quarter: `opportunity_id`, `rep_id`, `industry` (coded: see
/// `events::activities`), `__p`, `visit`, `online`.
fn fs_meetings(m: &Model) -> Option<LazyFrame> {
    Some(
        events::fs_meetings(m)?
            .with_columns([
                col(events::QUARTER).alias("__p"),
                col("kind").eq(lit("visit")).alias("visit"),
                col("kind").eq(lit("online_meeting")).alias("online"),
            ]),
    )
}

/// The per-mode deal measures for one group of closed deals.
fn mode_aggs(mode: &str) -> Vec<Expr> {
    let is_mode = col("mode").eq(lit(mode.to_string()));
    let won = col("outcome").eq(lit("won"));
    vec![
        count_if(is_mode.clone()).alias(format!("deals_{mode}")),
        count_if(is_mode.clone().and(won.clone())).alias(format!("__wins_{mode}")),
        sum_if(col("amount"), is_mode.clone().and(won.clone())).alias(format!("__won_amount_{mode}")),
        median(col("__cycle").filter(is_mode.and(won))).alias(format!("cycle_days_median_{mode}")),
    ]
}

fn mode_columns(mode: &str) -> Vec<Expr> {
    vec![
        ratio(col(format!("__wins_{mode}")), col(format!("deals_{mode}"))).alias(format!("win_rate_{mode}")),
        ratio(col(format!("__won_amount_{mode}")), col(format!("__wins_{mode}"))).alias(format!("mean_won_amount_{mode}")),
    ]
}

/// The plain recommendation for an industry in a quarter (see README for the
/// rule): win rates are compared only with `min_deals` closed deals behind
/// them (visited and online-only together, each mode at least one).
fn recommendation(min_deals: u32) -> Expr {
    let meetings = col("visits") + col("online_meetings");
    let gap = col("gap_pt");
    let v = col("win_rate_visited");
    let o = col("win_rate_online_only");
    let deals = col("deals_visited") + col("deals_online_only");
    let comparable = v.clone().is_not_null().and(o.clone().is_not_null()).and(deals.clone().gt_eq(lit(min_deals as i64)));
    let too_few = |side: &str| {
        concat_str(
            [lit(format!("visits {side} benchmark; too few closed deals to judge the payoff (n=")), deals.clone().cast(DataType::String), lit(format!(", needs {min_deals})"))],
            "",
            false,
        )
    };
    let gain = v.gt(o);
    when(meetings.eq(lit(0)))
        .then(lit("no FS meetings recorded"))
        .when(gap.clone().gt(lit(GAP_THRESHOLD_PT)).and(comparable.clone()).and(gain.clone().not()))
        .then(lit("visits above benchmark with no win-rate gain: move mid-stage meetings online"))
        .when(gap.clone().gt(lit(GAP_THRESHOLD_PT)).and(comparable.clone()))
        .then(lit("visits above benchmark and visited deals win more: keep the in-person mix"))
        .when(gap.clone().lt(lit(-GAP_THRESHOLD_PT)).and(comparable.clone()).and(gain.clone()))
        .then(lit("visits below benchmark and visited deals win more: visit key deals in person"))
        .when(gap.clone().lt(lit(-GAP_THRESHOLD_PT)).and(comparable))
        .then(lit("visits below benchmark with no win-rate loss: online meetings are working"))
        .when(gap.clone().gt(lit(GAP_THRESHOLD_PT)))
        .then(too_few("above"))
        .when(gap.lt(lit(-GAP_THRESHOLD_PT)))
        .then(too_few("below"))
        .otherwise(lit("in line with the benchmark"))
}

/// industry_visit_ratio: per quarter and reference industry.
pub fn industry_visit_ratio(m: &Model) -> Option<LazyFrame> {
    // (counts, the same in any order: grouped by the streaming engine, as below)
    let meetings = super::streamed(m,
        fs_meetings(m)?.group_agg([col("__p"), col("industry")], [count_if(col("visit")).alias("visits"), count_if(col("online")).alias("online_meetings")]),
    )
    .with_column(col("industry").cast(DataType::String));
    let mut aggs = mode_aggs("visited");
    aggs.extend(mode_aggs("online_only"));
    let deals = events::closed_deal_modes(m)?.group_agg([col("__p"), col("industry")], aggs).with_column(col("industry").cast(DataType::String));
    let periods = df!("__p" => m.periods()).ok()?.lazy();
    let bench = m.industries.benchmark.clone().lazy().with_row_index("__order", None);
    let grid = periods.cross_join(bench, None);
    let keys = || [col("__p"), col("reference_industry")];
    let dkeys = || [col("__p"), col("industry")];
    let mut cols_out = vec![
        m.label(col("__p")).alias("period"),
        col("reference_industry").alias("industry"),
        col("visits"),
        col("online_meetings"),
        col("in_person_share"),
        col("benchmark_share"),
        col("gap_pt"),
    ];
    for mode in ["visited", "online_only"] {
        cols_out.push(col(format!("deals_{mode}")));
        cols_out.push(col(format!("win_rate_{mode}")));
        cols_out.push(col(format!("mean_won_amount_{mode}")));
        cols_out.push(col(format!("cycle_days_median_{mode}")));
    }
    cols_out.push(col("recommendation"));
    cols_out.push(col("benchmark_n"));
    cols_out.push(col("benchmark_source"));
    let counts = ["visits", "online_meetings", "deals_visited", "__wins_visited", "deals_online_only", "__wins_online_only"];
    Some(
        grid.join(meetings, keys(), dkeys(), JoinArgs::new(JoinType::Left))
            .join(deals, keys(), dkeys(), JoinArgs::new(JoinType::Left))
            .with_columns(counts.map(|c| col(c).fill_null(lit(0i64)).alias(c)))
            .with_columns(["__won_amount_visited", "__won_amount_online_only"].map(|c| col(c).fill_null(lit(0.0)).alias(c)))
            .with_column(super::in_person_share(col("visits"), col("online_meetings")).alias("in_person_share"))
            .with_column((lit(100.0) * (col("in_person_share") - col("benchmark_share"))).alias("gap_pt"))
            .with_columns(mode_columns("visited"))
            .with_columns(mode_columns("online_only"))
            .with_column(recommendation(m.config.advice.min_deals).alias("recommendation"))
            .sort(["__p", "__order"], Default::default())
            .select(cols_out),
    )
}

/// visit_mix_reps: per quarter, FS rep and reference industry where the rep
/// met or closed deals: the visit mix against the benchmark and the win rate
/// of the rep's closed deals in that industry.
pub fn visit_mix_reps(m: &Model) -> Option<LazyFrame> {
    // (counts, the same in any order of adding: grouped by the streaming engine)
    let meetings = super::streamed(m,
        fs_meetings(m)?.group_agg([col("__p"), col("rep_id"), col("industry")], [count_if(col("visit")).alias("visits"), count_if(col("online")).alias("online_meetings")]),
    );
    let deals = events::closed_deal_modes(m)?
        .group_agg([col("__p"), col("owner_rep_id").alias("rep_id"), col("industry")], [
            len().cast(DataType::Int64).alias("deals_closed"),
            count_if(col("outcome").eq(lit("won"))).alias("wins"),
            count_if(col("mode").eq(lit("visited"))).alias("deals_visited"),
        ]);
    // joined and sorted by the industry's code (a categorical sorts as its text does), text once sorted
    let keys = || [col("__p"), col("rep_id"), col("industry")];
    let bench = m.industries.benchmark.clone().lazy().select([col("reference_industry").cast(crate::ids::segment_type()), col("benchmark_share")]);
    Some(
        meetings
            .join(deals, keys(), keys(), JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns))
            .join(bench, [col("industry")], [col("reference_industry")], JoinArgs::new(JoinType::Left))
            .join(
                events::reps(m).select([col("rep_id"), col("rep_name")]),
                [col("rep_id")],
                [col("rep_id")],
                JoinArgs::new(JoinType::Left),
            )
            .with_columns(["visits", "online_meetings", "deals_closed", "wins", "deals_visited"].map(|c| col(c).fill_null(lit(0i64)).alias(c)))
            .with_column(super::in_person_share(col("visits"), col("online_meetings")).alias("in_person_share"))
            .with_columns([
                (lit(100.0) * (col("in_person_share") - col("benchmark_share"))).alias("gap_pt"),
                ratio(col("wins"), col("deals_closed")).alias("win_rate"),
            ])
            // an id's own code is its place among the ids sorted as text: the rows sort as by the text
            .sort(["__p", "rep_id", "industry"], Default::default())
            .select([
                m.label(col("__p")).alias("period"),
                col("rep_id"),
                col("rep_name"),
                col("industry").cast(DataType::String),
                col("visits"),
                col("online_meetings"),
                col("in_person_share"),
                col("benchmark_share"),
                col("gap_pt"),
                col("deals_closed"),
                col("deals_visited"),
                col("wins"),
                col("win_rate"),
            ]),
    )
}

/// Account industries the mapping does not cover (they went to "Other
/// services"): `industry_raw`, `accounts`.
pub fn unmapped_industries(m: &Model) -> LazyFrame {
    let covered = m.industries.mapping.clone().lazy().select([col("industry_key")]);
    events::accounts(m)
        .with_column(crate::industries::industry_key(col("industry_raw")).alias("__key"))
        .join(covered, [col("__key")], [col("industry_key")], JoinArgs::new(JoinType::Anti))
        .group_agg([col("industry_raw")], [len().alias("accounts")])
        .sort_by_exprs([col("accounts"), col("industry_raw")], SortMultipleOptions::default().with_order_descending_multi([true, false]))
}

pub const INDUSTRY_VISIT_RATIO_DOC: TableDoc = TableDoc {
    name: "industry_visit_ratio",
    description: "FS visits and online meetings per fiscal quarter and reference industry against the survey benchmark (n=1,817, May 2026), and whether visited deals win more than online-only ones.",
    columns: &[
        ("period", "fiscal quarter"),
        ("industry", "reference industry (accounts mapped by the industry mapping; unmapped text counts as Other services)"),
        ("visits", "FS reps' in-person visits in the quarter (every outcome)"),
        ("online_meetings", "FS reps' online meetings in the quarter"),
        ("in_person_share", "visits / (visits + online_meetings)"),
        ("benchmark_share", "the survey's in-person share for the industry"),
        ("gap_pt", "100 x (in_person_share - benchmark_share), in percentage points"),
        ("deals_visited", "opportunities closed (won or lost) in the quarter that had at least one FS visit"),
        ("win_rate_visited", "their wins / deals_visited"),
        ("mean_won_amount_visited", "mean amount of their wins (currency)"),
        ("cycle_days_median_visited", "median days from creation to close of their wins"),
        ("deals_online_only", "opportunities closed in the quarter whose FS meetings were all online"),
        ("win_rate_online_only", "their wins / deals_online_only"),
        ("mean_won_amount_online_only", "mean amount of their wins (currency)"),
        ("cycle_days_median_online_only", "median days from creation to close of their wins"),
        ("recommendation", "the plain reading: gap beyond +/-10 points against whether visited deals win more, judged only with advice.min_deals (default 20) closed deals behind it; below that it says too few deals (n=...)"),
        ("benchmark_n", "survey respondents"),
        ("benchmark_source", "the survey"),
    ],
};

pub const VISIT_MIX_REPS_DOC: TableDoc = TableDoc {
    name: "visit_mix_reps",
    description: "Per fiscal quarter, FS rep and reference industry where the rep met customers or closed deals: visit mix against the benchmark and win rate.",
    columns: &[
        ("period", "fiscal quarter"),
        ("rep_id", "FS rep"),
        ("rep_name", "rep name"),
        ("industry", "reference industry"),
        ("visits", "the rep's visits in the quarter in the industry"),
        ("online_meetings", "the rep's online meetings"),
        ("in_person_share", "visits / (visits + online_meetings)"),
        ("benchmark_share", "the survey's in-person share"),
        ("gap_pt", "100 x (in_person_share - benchmark_share)"),
        ("deals_closed", "the rep's deals with FS meetings closed (won or lost) in the quarter"),
        ("deals_visited", "of which had at least one visit"),
        ("wins", "of which won"),
        ("win_rate", "wins / deals_closed"),
    ],
};

/// industry_visit_ratio in the registry.
pub const INDUSTRY_VISIT_RATIO: OutputTable = OutputTable {
    doc: INDUSTRY_VISIT_RATIO_DOC,
    needs: &[Need::Activities],
    column_needs: &[],
    build: |m| Ok(industry_visit_ratio(m)),
};

/// visit_mix_reps in the registry.
pub const VISIT_MIX_REPS: OutputTable = OutputTable {
    doc: VISIT_MIX_REPS_DOC,
    needs: &[Need::Activities],
    column_needs: &[],
    build: |m| Ok(visit_mix_reps(m)),
};
