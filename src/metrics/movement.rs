//! Pipeline movement per quarter, from stage_history, and stage conversion.
//!
//! "Open for a quarter" means open and expected to close in it (the close
//! date in force, as stage_history.close_date keeps it). Each opportunity's
//! history is a sequence of states: created, each stage_history entry
//! (close date and amount from then on), closed. A state change during
//! quarter Q moves the deal into or out of Q's pipeline, or changes its
//! amount:
//! - out -> in: `created` when the change is the creation, else `pulled_in`
//!   (its close date moved into Q);
//! - in -> in: the amount change goes to `amount_up` or `amount_down`;
//! - in -> out at closing: `won` or `lost` at the opportunity's amount (the
//!   change from the last amount goes to up/down first); a deal that closes
//!   while expected in another quarter is first pulled in (its close date
//!   becomes the day it closed, as CRMs record it);
//! - in -> out otherwise: `pushed_out` (its close date moved out of Q).
//!
//! So, exactly, in count and amount: open at start + created + pulled in +
//! amount up - amount down - pushed out - lost - won = open at end. Without
//! any close_date in stage_history the same is computed on all open
//! pipeline (`basis` says which): nothing is pulled in or pushed out.

use polars::prelude::*;
use super::GroupAgg;
use super::OutputTable;
use crate::contract::Need;

use super::{by_segment_rolled, runs, by_segment_keyed, count_if, events, median, onto_grid, ratio, sum_if, Model};
use crate::calendar::quarter_index;
use crate::output::TableDoc;

/// Which pipeline a quarter's movement is computed on.
pub const BASIS_EXPECTED: &str = "expected_close_in_quarter";
pub const BASIS_ALL_OPEN: &str = "all_open_pipeline";

/// Whether the stage history carries expected close dates.
pub fn has_close_dates(m: &Model) -> bool {
    m.tables.get("stage_history").is_some_and(|df| df.column("close_date").map(|c| c.null_count() < c.len()).unwrap_or(false))
}

/// Every state of every opportunity, in order: `opportunity_id`, `t`, `__order`
/// (0 created, 1 history, 2 closed), `open`, `close_q`, `amount`, segments,
/// `__won` and `__lost` (the deal's outcome), `closed_at`, `opp_amount`.
fn states(m: &Model) -> Option<LazyFrame> {
    let history = m.lazy("stage_history")?;
    let opps = events::opportunities(m).select([
        col("opportunity_id"),
        col("created_at"),
        col("closed_at"),
        // won and lost as two flags (a bit a row) rather than the outcome's text (16 bytes a
        // row): carried to every state, 6M rows at scale 1000
        col("outcome").eq(lit("won")).alias("__won"),
        col("outcome").eq(lit("lost")).alias("__lost"),
        col("amount").alias("opp_amount"),
        // codes (see `events`): carried to every state (6M rows at scale 1000) and grouped by code
        col("source"),
        col("industry"),
        col("region"),
    ]);
    let utc = crate::typing::utc_type();
    let created = opps.clone().select([
        col("opportunity_id"),
        col("created_at").alias("t"),
        lit(0i32).alias("__order"),
        lit(NULL).cast(utc.clone()).alias("close_date"),
        lit(NULL).cast(DataType::Float64).alias("h_amount"),
    ]);
    let closed = opps.clone().filter(col("closed_at").is_not_null()).select([
        col("opportunity_id"),
        col("closed_at").alias("t"),
        lit(2i32).alias("__order"),
        lit(NULL).cast(utc).alias("close_date"),
        lit(NULL).cast(DataType::Float64).alias("h_amount"),
    ]);
    let hist = history.select([
        col("opportunity_id"),
        col("entered_at").alias("t"),
        lit(1i32).alias("__order"),
        col("close_date"),
        col("amount").alias("h_amount"),
    ]);
    // the value in force: the last one before, else the first one after (the frame is sorted by deal)
    let ffill = |c: &str| runs::fill_forward_in_run(c, "opportunity_id").fill_null(runs::fill_backward_in_run(c, "opportunity_id"));
    let all_open = !has_close_dates(m);
    // sorted before the deals' columns are put beside (a sort of 5 columns,
    // not 12), by a gather by code; a history entry of no known deal has no
    // state
    let sorted = concat([created, hist, closed], UnionArgs::default())
        .ok()?
        .sort_by_exprs([runs::by_code("opportunity_id"), col("t"), col("__order")], Default::default());
    let deal_columns = ["created_at", "closed_at", "__won", "__lost", "opp_amount", "source", "industry", "region"];
    Some(
        events::looked_up_found(sorted, "opportunity_id", opps, &deal_columns)
            .with_columns([ffill("close_date").alias("close_date"), ffill("h_amount").alias("h_amount")])
            .with_columns([
                col("t").gt_eq(col("created_at")).and(col("closed_at").is_null().or(col("t").lt(col("closed_at")))).alias("open"),
                if all_open { lit(NULL).cast(DataType::Int32) } else { quarter_index(col("close_date"), m.config) }.alias("close_q"),
                when(col("closed_at").is_not_null().and(col("t").gt_eq(col("closed_at"))))
                    .then(col("opp_amount"))
                    .otherwise(col("h_amount").fill_null(col("opp_amount")))
                    .alias("amount"),
                quarter_index(col("t"), m.config).alias("__q"),
            ]),
    )
}

/// pipeline_movement: per quarter and segment, in count and amount:
/// open_start + created + pulled_in + amount_up - amount_down - pushed_out -
/// lost - won = open_end.
pub fn pipeline_movement(m: &Model) -> crate::error::Result<Option<LazyFrame>> {
    let Some(states) = states(m) else { return Ok(None) };
    // read by the flows and by both snapshots: built once
    let states = states.cache();
    let all_open = !has_close_dates(m);
    // states are sorted by opportunity: the previous row is the previous state of the same deal
    let same_deal = col("opportunity_id").shift(lit(1)).eq(col("opportunity_id")).fill_null(lit(false));
    let prev = |c: &str| when(same_deal.clone()).then(col(c).shift(lit(1))).otherwise(lit(NULL));
    let member = |open: Expr, close_q: Expr, q: Expr| {
        if all_open {
            open.fill_null(lit(false))
        } else {
            open.fill_null(lit(false)).and(close_q.eq(q).fill_null(lit(false)))
        }
    };
    let q = col("__q");
    let prev_in = member(prev("open"), prev("close_q"), q.clone());
    let prev_open = prev("open").fill_null(lit(false));
    let next_in = member(col("open"), col("close_q"), q.clone());
    let closing = col("closed_at").is_not_null().and(col("t").gt_eq(col("closed_at"))).and(prev_open.clone());
    let prev_amount = prev("amount");
    let delta = col("amount") - prev_amount.clone();
    let moves = states
        .clone()
        .with_columns([
            prev_in.alias("__prev_in"),
            next_in.alias("__next_in"),
            closing.alias("__closing"),
            prev_amount.alias("__prev_amount"),
            delta.alias("__delta"),
        ])
        // a deal closing while expected in another quarter is pulled in first
        .with_column(
            col("__closing").and(col("__prev_in").not()).alias("__pulled_at_close"),
        )
        .with_columns([
            col("__prev_in").or(col("__pulled_at_close")).alias("__was_in"),
        ]);
    let entered = col("__was_in").not().and(col("__next_in"));
    let created = entered.clone().and(col("__order").eq(lit(0)));
    let pulled = entered.and(col("__order").neq(lit(0))).or(col("__pulled_at_close"));
    let stayed = col("__prev_in").and(col("__next_in"));
    let left = col("__was_in").and(col("__next_in").not());
    let closed = left.clone().and(col("__closing"));
    let pushed = left.and(col("__closing").not());
    // amount changes while in the pipeline, and on the way out at closing
    let change = when(stayed.or(closed.clone()))
        .then(col("__delta"))
        .otherwise(lit(0.0));
    let won = closed.clone().and(col("__won"));
    let lost = closed.and(col("__lost"));
    // counts and sums: one group-by at the finest cell, rolled up to each segment kind
    let flows = by_segment_rolled(m,
        moves.with_column(col("__q").alias("period")),
        &[
            count_if(created.clone()).alias("created_count"),
            sum_if(col("amount"), created).alias("created_amount"),
            count_if(pulled.clone()).alias("pulled_in_count"),
            // pulled in at closing: at the amount it had before
            sum_if(when(col("__pulled_at_close")).then(col("__prev_amount")).otherwise(col("amount")), pulled).alias("pulled_in_amount"),
            count_if(change.clone().gt(lit(0.0))).alias("amount_up_changes"),
            sum_if(change.clone(), change.clone().gt(lit(0.0))).alias("amount_up"),
            count_if(change.clone().lt(lit(0.0))).alias("amount_down_changes"),
            sum_if(-change.clone(), change.lt(lit(0.0))).alias("amount_down"),
            count_if(pushed.clone()).alias("pushed_out_count"),
            sum_if(col("__prev_amount"), pushed).alias("pushed_out_amount"),
            count_if(lost.clone()).alias("lost_count"),
            sum_if(col("amount"), lost).alias("lost_amount"),
            count_if(won.clone()).alias("won_count"),
            sum_if(col("amount"), won).alias("won_amount"),
        ],
        &[],
    );
    // open at the start of Q: the state in force just before Q starts
    let next_same = col("opportunity_id").shift(lit(-1)).eq(col("opportunity_id")).fill_null(lit(false));
    let next_t = when(next_same).then(col("t").shift(lit(-1))).otherwise(lit(NULL));
    let spans = states.with_columns([next_t.alias("__t_next")]).with_column(
        when(col("__t_next").is_null())
            .then(lit(i32::MAX))
            .otherwise(quarter_index(col("__t_next"), m.config))
            .alias("__q_next"),
    ).cache();
    let snapshot = |offset: i32| -> LazyFrame {
        // state counts at the start of quarter (close_q + offset) for its own quarter close_q
        let filtered = if all_open {
            let periods = df!("period" => m.periods()).expect("periods").lazy();
            spans
                .clone()
                .filter(col("open"))
                .cross_join(periods, None)
                .filter(col("__q").lt(col("period") + lit(offset)).and(col("period").lt_eq(col("__q_next") - lit(offset))))
        } else {
            spans
                .clone()
                .filter(col("open").and(col("close_q").is_not_null()))
                .filter(col("__q").lt(col("close_q") + lit(offset)).and((col("close_q") + lit(offset)).lt_eq(col("__q_next"))))
                .with_column(col("close_q").alias("period"))
        };
        let name = if offset == 0 { "open_start" } else { "open_end" };
        by_segment_rolled(m, filtered, &[len().cast(DataType::Int64).alias(format!("{name}_count")), col("amount").sum().alias(format!("{name}_amount"))], &[])
    };
    let counts = [
        "open_start_count", "created_count", "pulled_in_count", "amount_up_changes", "amount_down_changes", "pushed_out_count", "lost_count",
        "won_count", "open_end_count",
    ];
    let amounts = [
        "open_start_amount", "created_amount", "pulled_in_amount", "amount_up", "amount_down", "pushed_out_amount", "lost_amount", "won_amount",
        "open_end_amount",
    ];
    let grid = m.grid()?;
    let out = onto_grid(onto_grid(onto_grid(grid, snapshot(0)), flows), snapshot(1))
        .with_columns(counts.map(|c| col(c).fill_null(lit(0i64)).alias(c)))
        .with_columns(amounts.map(|c| col(c).fill_null(lit(0.0)).alias(c)))
        .sort(["period", "__segment_order"], Default::default());
    let mut select = vec![
        m.label(col("period")).alias("period"),
        col("segment_kind"),
        col("segment"),
        lit(if all_open { BASIS_ALL_OPEN } else { BASIS_EXPECTED }).alias("basis"),
    ];
    select.extend(counts.iter().chain(amounts.iter()).map(|c| col(*c)));
    Ok(Some(out.select(select)))
}

/// The order stages are worked in, from the history sorted by deal and
/// time with each visit's `__terminal` (entered at or after the deal
/// closed): stages entered before closing by their mean position in the
/// deals' histories, then the closing stages (entered at or after
/// closed_at, such as Closed Won and Closed Lost).
fn stage_order(sorted: LazyFrame) -> LazyFrame {
    sorted
        .with_column(runs::position_in_run("opportunity_id").alias("__pos"))
        .group_by([col("stage")])
        .agg([
            col("__terminal").cast(DataType::Float64).mean().gt(lit(0.5)).alias("__closing_stage"),
            col("__pos").cast(DataType::Float64).mean().alias("__mean_pos"),
        ])
        .sort(["__closing_stage", "__mean_pos", "stage"], Default::default())
        .with_row_index("stage_order", None)
}

/// stage_conversion: per quarter (of first entering the stage), segment and
/// stage: deals that entered it, how many later reached a later stage (in
/// the usual order) or were won, the conversion, and the median days spent
/// in the stage (all visits added up) by the deals that left it.
pub fn stage_conversion(m: &Model) -> crate::error::Result<Option<LazyFrame>> {
    let Some(history) = m.lazy("stage_history") else { return Ok(None) };
    let opps = events::opportunities(m).select([col("opportunity_id"), col("outcome"), col("source"), col("industry"), col("region")]);
    let closed_at = m.lazy("opportunities").expect("required").select([col("opportunity_id"), col("closed_at")]);
    // the history by deal and time, each visit's deal's closed_at beside: sorted
    // once for the stages' order and the visits (scale 1000: 4M rows, sorted twice before)
    let sorted = events::looked_up(history.select([col("opportunity_id"), col("stage"), col("entered_at")]), "opportunity_id", closed_at, &["closed_at"])
        .sort_by_exprs([runs::by_code("opportunity_id"), col("entered_at")], Default::default())
        .with_column(col("closed_at").is_not_null().and(col("entered_at").gt_eq(col("closed_at"))).alias("__terminal"))
        .collect()?;
    // a row per stage, read twice below: worked out once
    let order = stage_order(sorted.clone().lazy()).collect()?.lazy();
    let visits = sorted
        .lazy()
        .join(order.clone().select([col("stage"), col("stage_order")]), [col("stage")], [col("stage")], events::in_order())
        // stages entered at or after closing (Closed Won / Closed Lost) are not progress
        .with_column(
            when(col("__terminal").not())
                .then(col("stage_order"))
                .otherwise(lit(NULL).cast(DataType::UInt32))
                .alias("__progress_order"),
        )
        // sorted by deal: the next row is the deal's next visit when it is the same deal (no window needed)
        .with_column(
            when(col("opportunity_id").shift(lit(-1)).eq(col("opportunity_id")).fill_null(lit(false)))
                .then(col("entered_at").shift(lit(-1)))
                .otherwise(lit(NULL))
                .alias("__left_at"),
        )
        // the furthest stage the deal reached after each visit
        .with_column(runs::max_from_here_in_run("__progress_order", "opportunity_id").alias("__max_after"));
    // grouped by the deal and the stage's number (two keys that pack into
    // one 64-bit number; the stage's text comes from the grid), by the
    // streaming engine: a group a visit, as a rule (scale 1000: 4M groups;
    // the table 2.20-2.48 -> 1.85-2.21 s, in turn). Each aggregate comes out
    // the same in any order of the rows: a visit's time in the stage is
    // added up as whole microseconds, in days once added up
    let per_stage = super::streamed(m,
        visits
            .with_column((col("__left_at") - col("entered_at")).dt().total_microseconds(false).alias("__micros"))
            .group_agg([col("opportunity_id"), col("stage_order")], [
                col("entered_at").min().alias("first_entered_at"),
                col("__micros").sum().alias("__micros_in_stage"),
                col("__left_at").is_not_null().any(false).alias("__left"),
                col("__max_after").max().alias("__furthest"),
            ]),
    )
    .with_column((col("__micros_in_stage").cast(DataType::Float64) / lit(86_400_000_000.0)).alias("__days_in_stage"));
    // each deal's columns picked by its code (`events::looked_up_found`), not joined: scale
    // 1000, 4M (deal, stage) rows against 1M deals, the table 1.50-1.79 -> 1.41-1.54 s (in
    // turn); a row of no known deal is left out, as the join left it
    let per_stage = events::looked_up_found(per_stage, "opportunity_id", opps, &["outcome", "source", "industry", "region"])
        .with_columns([
            col("__furthest").gt(col("stage_order")).or(col("outcome").eq(lit("won"))).alias("__advanced"),
            m.period("first_entered_at").alias("period"),
        ]);
    let stages = order.select([col("stage"), col("stage_order")]).collect()?;
    if stages.height() == 0 {
        return Ok(None);
    }
    // grouped by the stage's number, not its text (keys of numbers group
    // faster), the text from the grid
    let agg = by_segment_keyed(
        per_stage,
        &["stage_order"],
        &[
            len().cast(DataType::Int64).alias("entered"),
            count_if(col("__advanced")).alias("advanced"),
            count_if(col("outcome").eq(lit("won"))).alias("won"),
            median(col("__days_in_stage").filter(col("__left"))).alias("days_in_stage_median"),
        ],
    );
    // every quarter x segment x stage
    let grid = m.grid()?.cross_join(stages.lazy(), None);
    let keys = || [col("period"), col("segment_kind"), col("segment"), col("stage_order")];
    let joined = grid.join(agg, keys(), keys(), JoinArgs::new(JoinType::Left));
    Ok(Some(
        joined
            .with_columns(["entered", "advanced", "won"].map(|c| col(c).fill_null(lit(0i64)).alias(c)))
            .with_column(ratio(col("advanced"), col("entered")).alias("conversion"))
            .sort(["period", "__segment_order", "stage_order"], Default::default())
            .select([
                m.label(col("period")).alias("period"),
                col("segment_kind"),
                col("segment"),
                col("stage_order"),
                col("stage"),
                col("entered"),
                col("advanced"),
                col("conversion"),
                col("won"),
                col("days_in_stage_median"),
            ]),
    ))
}

pub const PIPELINE_MOVEMENT_DOC: TableDoc = TableDoc {
    name: "pipeline_movement",
    description: "How each quarter's pipeline moved, in count and amount: open_start + created + pulled_in + amount_up - amount_down - pushed_out - lost - won = open_end, exactly. Open for a quarter means open and expected to close in it (stage_history.close_date).",
    columns: &[
        ("period", "fiscal quarter"),
        ("segment_kind", "total, source, industry or region"),
        ("segment", "segment value (all for the total)"),
        ("basis", "expected_close_in_quarter, or all_open_pipeline when stage_history has no close_date"),
        ("open_start_count", "deals open and expected to close in the quarter as it starts"),
        ("created_count", "deals created in the quarter expected to close in it"),
        ("pulled_in_count", "deals whose expected close date moved into the quarter (including deals closed while expected elsewhere)"),
        ("amount_up_changes", "amount increases of deals in the quarter's pipeline"),
        ("amount_down_changes", "amount decreases of deals in the quarter's pipeline"),
        ("pushed_out_count", "deals whose expected close date moved out of the quarter"),
        ("lost_count", "deals lost out of the quarter's pipeline"),
        ("won_count", "deals won out of the quarter's pipeline"),
        ("open_end_count", "deals open and expected to close in the quarter as it ends"),
        ("open_start_amount", "their amount (currency)"),
        ("created_amount", "amount at creation"),
        ("pulled_in_amount", "amount when pulled in"),
        ("amount_up", "sum of increases"),
        ("amount_down", "sum of decreases (positive)"),
        ("pushed_out_amount", "amount when pushed out"),
        ("lost_amount", "amount lost"),
        ("won_amount", "amount won (the opportunity's amount)"),
        ("open_end_amount", "amount open at the end"),
    ],
};

pub const STAGE_CONVERSION_DOC: TableDoc = TableDoc {
    name: "stage_conversion",
    description: "Stage-to-stage conversion and time in stage per fiscal quarter (of first entering the stage), segment and stage.",
    columns: &[
        ("period", "fiscal quarter the deals first entered the stage"),
        ("segment_kind", "total, source, industry or region"),
        ("segment", "segment value (all for the total)"),
        ("stage_order", "position of the stage in the usual order: by mean position in the histories, closing stages last"),
        ("stage", "stage name as in stage_history"),
        ("entered", "deals that entered the stage"),
        ("advanced", "of which later reached a later stage before closing, or were won"),
        ("conversion", "advanced / entered"),
        ("won", "of which were won"),
        ("days_in_stage_median", "median days spent in the stage (all visits added up) by the deals that left it"),
    ],
};

/// pipeline_movement in the registry.
pub const PIPELINE_MOVEMENT: OutputTable = OutputTable {
    doc: PIPELINE_MOVEMENT_DOC,
    needs: &[Need::StageHistory, Need::OpportunitiesNotWon],
    column_needs: &[],
    build: pipeline_movement,
};

/// stage_conversion in the registry.
pub const STAGE_CONVERSION: OutputTable = OutputTable {
    doc: STAGE_CONVERSION_DOC,
    needs: &[Need::StageHistory, Need::OpportunitiesNotWon],
    column_needs: &[],
    build: stage_conversion,
};
