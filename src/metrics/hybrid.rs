//! What the two articles ask managers to watch that the funnel does not
//! show: the hybrid meeting pattern (in person for the first and the last
//! meeting, online in between) and the BDR's own numbers on target accounts.

use polars::prelude::*;
use super::GroupAgg;

use super::engagement::{deal_aggs, per_period_and_all, wilson};
use super::{count_if, days_between, events, ratio, Model, OutputTable};
use crate::contract::Need;
use crate::error::Result;
use crate::output::TableDoc;

/// The meeting patterns, in output order.
pub const PATTERNS: [&str; 6] =
    ["single_in_person", "single_online", "in_person_first_and_last", "in_person_first_only", "in_person_last_only", "online_first_and_last"];

/// meeting_pattern: closed deals with at least one FS meeting (an FS rep's
/// visit or online meeting on the deal at or before its close), grouped by
/// whether the first and the last meeting were in person, and by whether
/// the decision maker was met; win rate with its Wilson interval, mean won
/// amount and median cycle, per quarter of close and for all quarters.
pub fn meeting_pattern(m: &Model) -> Result<Option<LazyFrame>> {
    let Some(meetings) = events::fs_meetings(m) else { return Ok(None) };
    let deals = m
        .lazy("opportunities")
        .expect("opportunities is required")
        .filter(col("outcome").is_in(crate::typing::str_list(&["won", "lost"]), false).and(col("closed_at").is_not_null()))
        .select([col("opportunity_id"), col("outcome"), col("amount"), col("created_at"), col("closed_at")]);
    // each meeting's deal's columns picked by the deal's code (`events::looked_up_found`),
    // not joined: scale 1000, the FS meetings on deals against 0.9M closed deals, the table
    // 0.56-0.57 -> 0.53-0.55 s (in turn); a meeting on a deal not closed is left out, as
    // the join left it
    let met = meetings
        .filter(col("opportunity_id").is_not_null())
        .select([col("opportunity_id"), col("activity_id"), col("occurred_at"), col("kind"), col("with_decision_maker")]);
    let per_deal = events::looked_up_found(met, "opportunity_id", deals, &["outcome", "amount", "created_at", "closed_at"])
        .filter(col("occurred_at").lt_eq(col("closed_at")))
        // in time order once (ties: the smaller activity_id first); a group keeps its rows' order
        .sort_by_exprs([col("occurred_at"), col("activity_id")], SortMultipleOptions::default().with_maintain_order(true))
        .group_agg([col("opportunity_id")], [
            len().alias("__meetings"),
            col("kind").first().alias("__first"),
            col("kind").last().alias("__last"),
            col("with_decision_maker").fill_null(lit(false)).any(true).alias("__dm"),
            col("outcome").first(),
            col("amount").first(),
            col("created_at").first(),
            col("closed_at").first(),
        ]);
    let visit = |c: &str| col(c).eq(lit("visit"));
    let single = col("__meetings").eq(lit(1u32));
    let closed = per_deal
        .with_columns([
            when(single.clone().and(visit("__first")))
                .then(lit("single_in_person"))
                .when(single)
                .then(lit("single_online"))
                .when(visit("__first").and(visit("__last")))
                .then(lit("in_person_first_and_last"))
                .when(visit("__first"))
                .then(lit("in_person_first_only"))
                .when(visit("__last"))
                .then(lit("in_person_last_only"))
                .otherwise(lit("online_first_and_last"))
                .alias("pattern"),
            when(col("__dm")).then(lit("true")).otherwise(lit("false")).alias("dm_met"),
            m.label(m.period("closed_at")).alias("period"),
            days_between(col("closed_at"), col("created_at")).alias("__cycle"),
        ])
        .cache();
    let mut parts: Vec<LazyFrame> = Vec::new();
    for dimension in ["pattern", "dm_met"] {
        parts.extend(per_period_and_all(&closed, dimension, deal_aggs()));
    }
    let found = concat(parts, UnionArgs { diagonal: true, to_supertypes: true, ..Default::default() })?;
    // every quarter and "all" x every group: an empty group is 0 deals, not missing
    let mut labels: Vec<String> = m.periods().into_iter().map(|p| crate::calendar::Quarter(p).label(m.config)).collect();
    labels.push("all".into());
    let groups: Vec<(&str, &str)> = PATTERNS.iter().map(|p| ("pattern", *p)).chain([("dm_met", "true"), ("dm_met", "false")]).collect();
    let grid = df!("period" => labels.clone(), "__po" => (0..labels.len() as u32).collect::<Vec<_>>())?.lazy().cross_join(
        df!(
            "dimension" => groups.iter().map(|g| g.0).collect::<Vec<_>>(),
            "group" => groups.iter().map(|g| g.1).collect::<Vec<_>>(),
            "__go" => (0..groups.len() as u32).collect::<Vec<_>>(),
        )?
        .lazy(),
        None,
    );
    let keys = || [col("period"), col("dimension"), col("group")];
    let (low, high) = wilson(col("won"), col("deals"));
    Ok(Some(
        grid.join(found, keys(), keys(), JoinArgs::new(JoinType::Left))
            .with_columns([col("deals").fill_null(lit(0i64)), col("won").fill_null(lit(0i64))])
            .with_columns([ratio(col("won"), col("deals")).alias("win_rate"), low.alias("win_rate_low"), high.alias("win_rate_high")])
            .sort(["__po", "__go"], Default::default())
            .select(MEETING_PATTERN_DOC.columns.iter().map(|(c, _)| col(*c)).collect::<Vec<_>>()),
    ))
}

pub const MEETING_PATTERN_DOC: TableDoc = TableDoc {
    name: "meeting_pattern",
    description: "Closed deals with at least one FS meeting (an FS rep's visit or online meeting on the deal, any outcome, at or before the close), by whether the first and last meetings were in person (the hybrid rule of thumb: visit first and last, online in between) and by whether the decision maker was met; per quarter of close and for all quarters.",
    columns: &[
        ("period", "fiscal quarter of closed_at, or all"),
        ("dimension", "pattern or dm_met"),
        ("group", "pattern: single_in_person, single_online (one meeting), in_person_first_and_last, in_person_first_only, in_person_last_only, online_first_and_last (two or more; meetings ordered by occurred_at, ties by the smaller activity_id); dm_met: true when any of the deal's FS meetings had with_decision_maker true"),
        ("deals", "closed deals (won or lost) in the group"),
        ("won", "of them won"),
        ("win_rate", "won / deals (null without deals)"),
        ("win_rate_low", "Wilson 95% interval, lower bound"),
        ("win_rate_high", "Wilson 95% interval, upper bound"),
        ("mean_won_amount", "mean amount of the won deals (currency)"),
        ("cycle_days_median", "lower median of days from created_at to closed_at over the won deals"),
    ],
};

/// meeting_pattern in the registry.
pub const MEETING_PATTERN: OutputTable = OutputTable {
    doc: MEETING_PATTERN_DOC,
    needs: &[Need::Activities, Need::OpportunitiesNotWon],
    column_needs: &[],
    build: meeting_pattern,
};

/// abm_coverage: the BDR's target-account numbers per quarter, per BDR and
/// for all BDRs (`rep_id` all): target accounts, those approached (a BDR
/// activity on the account in the quarter) and their share, those where a
/// BDR call connected with the decision maker, BDR appointments set on
/// target accounts, and opportunities created on target accounts (any
/// source) with their amount; the four counts also cumulated over the
/// fiscal year to date. A rep's approached and dm_connected count the
/// target accounts that rep reached; its opportunities those created on
/// the target accounts it approached in the quarter. The all row counts
/// distinct accounts.
pub fn abm_coverage(m: &Model) -> Result<Option<LazyFrame>> {
    let Some(activities) = events::activities(m) else { return Ok(None) };
    let targets = m
        .lazy("accounts")
        .expect("accounts is required")
        .filter(col("is_target").fill_null(lit(false)))
        .select([col("account_id")]);
    let n_targets = targets.clone().select([len().cast(DataType::Int64).alias("target_accounts")]);
    let bdr = activities
        .filter(col("role").eq(lit("bdr")))
        .join(targets.clone(), [col("account_id")], [col("account_id")], JoinArgs::new(JoinType::Semi))
        .with_columns([
            col(events::QUARTER).alias("__q"),
            col("kind")
                .eq(lit("call"))
                .and(super::connected(col("outcome")))
                .and(col("with_decision_maker").fill_null(lit(false)))
                .alias("__dm"),
            col("kind").eq(lit("call")).and(col("outcome").eq(lit("appointment_set"))).alias("__appointment"),
        ]);
    let opps = m
        .lazy("opportunities")
        .expect("opportunities is required")
        .join(targets, [col("account_id")], [col("account_id")], JoinArgs::new(JoinType::Semi))
        .select([col("account_id"), m.period("created_at").alias("__q"), col("amount")]);
    // the fiscal year of a quarter index (fiscal year x 4 + quarter - 1)
    let year = |q: Expr| q.floor_div(lit(4));
    // accounts reached per quarter and rep; by anyone: those rows merged per quarter and account
    // (a flag and a count, the same in any order: grouped by the streaming engine)
    let reached_by_rep = super::streamed(m,
        bdr.group_agg([col("__q"), col("rep_id"), col("account_id")], [col("__dm").any(true).alias("__dm"), count_if(col("__appointment")).alias("__appointments")]),
    );
    let mut parts = Vec::new();
    for keyed in [true, false] {
        let by: Vec<Expr> = if keyed { vec![col("__q"), col("rep_id")] } else { vec![col("__q")] };
        let mut reach_keys = by.clone();
        reach_keys.push(col("account_id"));
        let reached = if keyed {
            reached_by_rep.clone()
        } else {
            reached_by_rep
                .clone()
                .group_agg(reach_keys.clone(), [col("__dm").any(true).alias("__dm"), col("__appointments").sum().alias("__appointments")])
                .cache()
        };
        let quarter = reached.clone().group_agg(by.clone(), [
            len().cast(DataType::Int64).alias("approached"),
            count_if(col("__dm")).alias("dm_connected"),
            col("__appointments").sum().cast(DataType::Int64).alias("appointments"),
        ]);
        // a BDR's opportunities: on the target accounts it approached in the quarter; all: every one on a target account
        let mine = if keyed {
            reached.clone().select(reach_keys.clone()).join(opps.clone(), [col("__q"), col("account_id")], [col("__q"), col("account_id")], JoinArgs::new(JoinType::Inner))
        } else {
            opps.clone()
        };
        let created = mine.group_agg(by.clone(), [len().cast(DataType::Int64).alias("opportunities"), col("amount").sum().alias("pipeline")]);
        // year to date, distinct accounts reached in the fiscal year up to the quarter: each
        // account counts from the first quarter of the year it was reached (with a decision
        // maker: the first such quarter), the counts cumulated over the year on the grid below
        // (before, each row was joined to every later quarter of its year and grouped again:
        // the table took 0.16-0.21 s at scale 100, now 0.11)
        let mut firsts_by = by[1..].to_vec();
        firsts_by.extend([year(col("__q")).alias("__y"), col("account_id")]);
        let firsts = reached
            .clone()
            .with_column(when(col("__dm")).then(col("__q")).otherwise(lit(NULL)).alias("__dm_q"))
            .group_agg(firsts_by, [col("__q").min().alias("__first_q"), col("__dm_q").min().alias("__first_dm_q")])
            .cache();
        let first_in = |first: &str, name: &str| {
            let mut new_by = vec![col(first).alias("__q")];
            new_by.extend(by[1..].iter().cloned());
            firsts.clone().filter(col(first).is_not_null()).group_agg(new_by, [len().cast(DataType::Int64).alias(name)])
        };
        let keys: Vec<Expr> = by.clone();
        let full = || JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns);
        let mut part = quarter
            .join(created.clone(), keys.clone(), keys.clone(), full())
            .join(first_in("__first_q", "__approached_first"), keys.clone(), keys.clone(), full())
            .join(first_in("__first_dm_q", "__dm_connected_first"), keys.clone(), keys.clone(), full());
        // the reps' ids as text, beside the row of all of them
        part = part.with_column(if keyed { m.ids.text("rep_id") } else { lit("all").alias("rep_id") });
        parts.push(part);
    }
    let found = concat(parts, UnionArgs { diagonal: true, ..Default::default() })?;
    // every quarter x (every BDR, all)
    let reps = m
        .lazy("reps")
        .expect("reps is required")
        .filter(col("role").eq(lit("bdr")))
        .select([col("rep_id")])
        .sort(["rep_id"], Default::default())
        .select([m.ids.text("rep_id")]);
    let rep_ids = concat([df!("rep_id" => ["all"])?.lazy(), reps], UnionArgs::default())?.with_row_index("__ro", None);
    let grid = df!("__q" => m.periods())?.lazy().cross_join(rep_ids, None).cross_join(n_targets, None);
    let keys = || [col("__q"), col("rep_id")];
    let counts = ["approached", "dm_connected", "appointments", "opportunities", "__approached_first", "__dm_connected_first"];
    // year to date: the quarters' sums within the fiscal year
    let ytd = |c: &str, name: &str| col(c).cum_sum(false).over([col("rep_id"), year(col("__q"))]).expect("static window").alias(name);
    let lf = grid
        .join(found, keys(), keys(), JoinArgs::new(JoinType::Left))
        .with_columns(counts.iter().map(|c| col(*c).fill_null(lit(0i64))).chain([col("pipeline").fill_null(lit(0.0))]).collect::<Vec<_>>())
        .sort(["__ro", "__q"], Default::default())
        .with_columns([
            ytd("opportunities", "opportunities_ytd"),
            ytd("__approached_first", "approached_ytd"),
            ytd("__dm_connected_first", "dm_connected_ytd"),
            ytd("appointments", "appointments_ytd"),
        ])
        .with_columns([ratio(col("approached"), col("target_accounts")).alias("approached_share"), m.label(col("__q")).alias("period")])
        .sort(["__q", "__ro"], Default::default());
    Ok(Some(lf.select(ABM_COVERAGE_DOC.columns.iter().map(|(c, _)| col(*c)).collect::<Vec<_>>())))
}

pub const ABM_COVERAGE_DOC: TableDoc = TableDoc {
    name: "abm_coverage",
    description: "The BDR's target-account numbers (accounts.is_target) per quarter, per BDR and for all BDRs (rep_id all), also cumulated over the fiscal year to date: what the inside-sales article asks BDRs to be judged on.",
    columns: &[
        ("period", "fiscal quarter"),
        ("rep_id", "a BDR, or all (distinct accounts over all BDRs)"),
        ("target_accounts", "accounts with is_target true"),
        ("approached", "target accounts with at least one activity of the BDR (all: of any BDR) in the quarter"),
        ("approached_share", "approached / target_accounts"),
        ("dm_connected", "target accounts with a BDR call in the quarter that connected (connected or appointment_set) with with_decision_maker true"),
        ("appointments", "BDR calls in the quarter with outcome appointment_set on target accounts"),
        ("opportunities", "opportunities created in the quarter on target accounts, any source (a BDR's row: on the target accounts it approached in the quarter)"),
        ("pipeline", "their amount (currency)"),
        ("approached_ytd", "distinct target accounts approached in the fiscal year up to and including the quarter"),
        ("dm_connected_ytd", "distinct target accounts with a decision-maker connection in the fiscal year to date"),
        ("appointments_ytd", "appointments in the fiscal year to date"),
        ("opportunities_ytd", "opportunities in the fiscal year to date"),
    ],
};

/// abm_coverage in the registry: needs the target flag.
pub const ABM_COVERAGE: OutputTable = OutputTable {
    doc: ABM_COVERAGE_DOC,
    needs: &[Need::Activities, Need::AccountsIsTarget],
    column_needs: &[
        (&["dm_connected", "dm_connected_ytd"], Need::ActivitiesWithDecisionMaker),
        (&["dm_connected", "dm_connected_ytd", "appointments", "appointments_ytd"], Need::ActivitiesOutcome),
    ],
    build: abm_coverage,
};
