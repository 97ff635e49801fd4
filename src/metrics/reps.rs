//! Per-rep tables: inside sales (AI_SDR, SDR, BDR side by side) and field
//! sales, one row per rep and quarter.

use polars::prelude::*;
use super::GroupAgg;
use super::OutputTable;
use crate::contract::Need;

use super::events::handoff_facts;
use super::{count_if, days_between, events, hours_between, median, ratio, sum_if, Model};
use crate::output::TableDoc;

/// Every rep of `team` x every quarter: `rep_id`, `rep_name`, `role`, `__p`.
fn rep_grid(m: &Model, team: &str) -> LazyFrame {
    let periods = df!("__p" => m.periods()).expect("periods").lazy();
    events::reps(m)
        .filter(col("team").eq(lit(team.to_string())))
        .select([col("rep_id"), col("rep_name"), col("role")])
        .cross_join(periods, None)
}

/// `part` joined onto `grid` by rep and quarter, computed first (`settled`).
fn onto(grid: LazyFrame, part: LazyFrame) -> LazyFrame {
    grid.join(super::settled(part), [col("rep_id"), col("__p")], [col("rep_id"), col("__p")], JoinArgs::new(JoinType::Left))
}

fn zero_fill(lf: LazyFrame, names: &[&str]) -> LazyFrame {
    lf.with_columns(names.iter().map(|c| col(*c).fill_null(lit(0)).alias(*c)).collect::<Vec<_>>())
}

/// is_reps: per IS rep and quarter: leads owned, response, touches, call
/// outcomes, SQLs, handoffs and their acceptance, pipeline and wins sourced.
pub fn is_reps(m: &Model) -> LazyFrame {
    let mut lf = rep_grid(m, "is");
    let mut counts: Vec<&str> = Vec::new();
    // the leads frame, with each lead's first IS activity (joined once for every table)
    if let Some(leads) = events::leads(m) {
        let leads = leads.select([col("lead_id"), col("owner_rep_id").alias("rep_id"), col("source"), col("created_at"), col("qualified_at"), col("first_is_at")]);
        let inbound = col("source").eq(lit("inbound"));
        let created = leads
            .clone()
            .with_columns([m.period("created_at").alias("__p"), hours_between(col("first_is_at"), col("created_at")).alias("response_h")])
            .group_agg([col("rep_id"), col("__p")], [
                len().cast(DataType::Int64).alias("leads_owned"),
                count_if(inbound.clone()).alias("inbound_leads"),
                count_if(inbound.clone().and(super::within_1h(col("response_h")))).alias("__within_1h"),
                median(col("response_h").filter(inbound)).alias("response_time_median_h"),
            ]);
        let qualified = leads
            .clone()
            .filter(col("qualified_at").is_not_null())
            .join(events::leads_won(m), [col("lead_id")], [col("lead_id")], JoinArgs::new(JoinType::Left))
            .with_column(m.period("qualified_at").alias("__p"))
            .group_agg([col("rep_id"), col("__p")], [
                len().cast(DataType::Int64).alias("sqls"),
                count_if(col("has_won")).alias("__sqls_won"),
                col("deals").fill_null(lit(0i64)).sum().alias("__sqls_deals"),
                col("open_deals").fill_null(lit(0i64)).sum().alias("__sqls_open_deals"),
            ]);
        let owned_opps = m
            .lazy("opportunities")
            .expect("required")
            .filter(col("lead_id").is_not_null())
            .join(leads.select([col("lead_id"), col("rep_id")]), [col("lead_id")], [col("lead_id")], JoinArgs::new(JoinType::Inner));
        let pipeline = owned_opps
            .clone()
            .with_column(m.period("created_at").alias("__p"))
            .group_agg([col("rep_id"), col("__p")], [len().cast(DataType::Int64).alias("opportunities_sourced"), col("amount").sum().alias("pipeline_created")]);
        let won = owned_opps
            .filter(col("outcome").eq(lit("won")).and(col("closed_at").is_not_null()))
            .with_column(m.period("closed_at").alias("__p"))
            .group_agg([col("rep_id"), col("__p")], [len().cast(DataType::Int64).alias("wins_sourced"), col("amount").sum().alias("revenue_sourced")]);
        lf = onto(onto(onto(onto(lf, created), qualified), pipeline), won);
        counts.extend(["leads_owned", "inbound_leads", "__within_1h", "sqls", "__sqls_won", "__sqls_deals", "__sqls_open_deals", "opportunities_sourced", "pipeline_created", "wins_sourced", "revenue_sourced"]);
    }
    if let Some(acts) = events::activities(m) {
        let call = col("kind").eq(lit("call"));
        let connected = super::connected(col("outcome"));
        let touch = col("lead_id").is_not_null();
        // every rep's activities are counted and the grid (IS reps only) keeps the IS reps': picking
        // the IS reps' 14.6M of 17.2M activities out first (scale 1000) held a copy of them, 0.06 GiB
        // more at is_reps' peak, in the same time. The touches whose distinct leads are counted (every
        // distinct value is kept) are the IS reps' alone.
        let acts = acts.with_column(col(events::QUARTER).alias("__p"));
        let touches = acts.clone().filter(touch.clone().and(col("team").eq(lit("is")))).select([col("rep_id"), col("__p"), col("lead_id")]);
        let part = acts
            .group_agg([col("rep_id"), col("__p")], [
                count_if(touch.clone()).alias("touches"),
                count_if(call.clone()).alias("calls"),
                count_if(call.clone().and(connected.clone())).alias("connected_calls"),
                count_if(call.clone().and(connected).and(col("with_decision_maker").fill_null(lit(false)))).alias("dm_connects"),
                count_if(call.and(col("outcome").eq(lit("appointment_set")))).alias("appointments"),
            ]);
        // computed before the distinct leads, which join onto it: side by side, the two passes over
        // 17M activities (scale 1000) made is_reps the run's highest peak (live heap 3.16 -> 2.67 GiB)
        // (counts alone: the same in any order of adding, so grouped by the streaming engine,
        // faster over 17M rows)
        let part = super::streamed(m, part);
        // the distinct leads each rep touched in each quarter (a rep with touches in a quarter has
        // activities in it, so `part` has its row), a row per rep and quarter
        let counted = super::distinct_counts_by_quarter(touches, "rep_id", "lead_id", part, "leads_touched");
        lf = onto(lf, counted);
        counts.extend(["touches", "leads_touched", "calls", "connected_calls", "dm_connects", "appointments"]);
    }
    if let Some(h) = m.lazy("handoffs") {
        let part = h
            .with_columns(handoff_facts(m))
            .with_column(m.period("handed_off_at").alias("__p"))
            .group_agg([col("from_rep_id").alias("rep_id"), col("__p")], [len().cast(DataType::Int64).alias("handoffs"), count_if(col("accepted_flag")).alias("accepted")]);
        lf = onto(lf, part);
        counts.extend(["handoffs", "accepted"]);
    }
    let lf = zero_fill(lf, &counts);
    let has = |c: &str| counts.contains(&c);
    let pick = |name: &str, e: Expr| if has(name) { e } else { lit(NULL).cast(DataType::Float64) };
    let mut select = vec![m.label(col("__p")).alias("period"), col("rep_id"), col("rep_name"), col("role")];
    for c in ["leads_owned", "inbound_leads"] {
        select.push(pick(c, col(c)).alias(c));
    }
    select.push(pick("leads_owned", col("response_time_median_h")).alias("response_time_median_h"));
    select.push(pick("__within_1h", ratio(col("__within_1h"), col("inbound_leads"))).alias("contacted_within_1h_share"));
    for c in ["touches", "leads_touched", "calls", "connected_calls"] {
        select.push(pick(c, col(c)).alias(c));
    }
    select.push(pick("calls", ratio(col("connected_calls"), col("calls"))).alias("connect_rate"));
    select.push(pick("dm_connects", col("dm_connects")).alias("dm_connects"));
    select.push(pick("calls", ratio(col("dm_connects"), col("calls"))).alias("dm_connect_rate"));
    select.push(pick("appointments", col("appointments")).alias("appointments"));
    select.push(pick("appointments", ratio(col("appointments"), col("connected_calls"))).alias("appointment_rate"));
    select.push(pick("sqls", col("sqls")).alias("sqls"));
    select.push(pick("handoffs", col("handoffs")).alias("handoffs"));
    select.push(pick("accepted", col("accepted")).alias("accepted"));
    select.push(pick("handoffs", ratio(col("accepted"), col("handoffs"))).alias("acceptance_rate"));
    for c in ["opportunities_sourced", "pipeline_created", "wins_sourced", "revenue_sourced"] {
        select.push(pick(c, col(c)).alias(c));
    }
    select.push(pick("__sqls_won", ratio(col("__sqls_won"), col("sqls"))).alias("sql_to_win"));
    select.push(pick("__sqls_won", col("__sqls_open_deals")).cast(DataType::Int64).alias("sql_to_win_open_deals"));
    let mature = super::mature(m, super::quarter_complete(m, col("__p")), col("__sqls_deals"), col("__sqls_open_deals"));
    select.push(if has("__sqls_won") { mature } else { lit(NULL).cast(DataType::Boolean) }.alias("sql_to_win_mature"));
    lf.sort(["__p", "rep_id"], Default::default()).select(select)
}

/// fs_reps: per FS rep and quarter: handoffs received and the SLA, meetings
/// by mode, opportunities, wins and losses by count and amount, deal size,
/// cycle, send-backs.
pub fn fs_reps(m: &Model) -> LazyFrame {
    let mut lf = rep_grid(m, "fs");
    let mut counts: Vec<&str> = Vec::new();
    // the handoffs frame carries each handoff's facts (acceptance, SLA in business time: the
    // time zone and calendar work of 1M handoffs at scale 1000, 0.5 s), worked out once a run
    if let Some(h) = events::handoffs(m) {
        let received = h
            .clone()
            .with_column(m.period("handed_off_at").alias("__p"))
            .group_agg([col("to_rep_id").alias("rep_id"), col("__p")], [
                len().cast(DataType::Int64).alias("handoffs_received"),
                count_if(col("accepted_flag")).alias("accepted"),
                count_if(col("accepted_flag").and(col("sla_met"))).alias("__sla_met"),
                median(col("days_to_first_contact").filter(col("accepted_flag"))).alias("days_to_first_contact_median"),
            ]);
        let sent_back = h
            .filter(col("sent_back_at").is_not_null())
            .with_column(m.period("sent_back_at").alias("__p"))
            .group_agg([col("to_rep_id").alias("rep_id"), col("__p")], [len().cast(DataType::Int64).alias("send_backs")]);
        lf = onto(onto(lf, received), sent_back);
        counts.extend(["handoffs_received", "accepted", "__sla_met", "send_backs"]);
    }
    if let Some(meetings) = events::fs_meetings(m) {
        // only FS reps' meetings count (the grid holds FS reps): the other activities are not grouped at all
        let part = meetings
            .with_column(col(events::QUARTER).alias("__p"))
            .group_agg([col("rep_id"), col("__p")], [
                count_if(col("kind").eq(lit("visit"))).alias("visits"),
                count_if(col("kind").eq(lit("online_meeting"))).alias("online_meetings"),
            ]);
        lf = onto(lf, part);
        counts.extend(["visits", "online_meetings"]);
    }
    let opps = m.lazy("opportunities").expect("required").with_column(col("owner_rep_id").alias("rep_id"));
    let created = opps
        .clone()
        .with_column(m.period("created_at").alias("__p"))
        .group_agg([col("rep_id"), col("__p")], [
            len().cast(DataType::Int64).alias("opportunities"),
            count_if(col("lead_id").is_not_null()).alias("opportunities_is"),
            count_if(col("lead_id").is_null()).alias("opportunities_fs"),
        ]);
    let won = col("outcome").eq(lit("won"));
    let lost = col("outcome").eq(lit("lost"));
    let closed = opps
        .filter(col("closed_at").is_not_null())
        .with_columns([m.period("closed_at").alias("__p"), days_between(col("closed_at"), col("created_at")).alias("cycle_days")])
        .group_agg([col("rep_id"), col("__p")], [
            count_if(won.clone()).alias("wins"),
            count_if(lost.clone()).alias("losses"),
            sum_if(col("amount"), won.clone()).alias("won_amount"),
            sum_if(col("amount"), lost).alias("lost_amount"),
            median(col("cycle_days").filter(won)).alias("sales_cycle_days_median"),
        ]);
    lf = onto(onto(lf, created), closed);
    counts.extend(["opportunities", "opportunities_is", "opportunities_fs", "wins", "losses", "won_amount", "lost_amount"]);
    let lf = zero_fill(lf, &counts);
    let has = |c: &str| counts.contains(&c);
    let pick = |name: &str, e: Expr| if has(name) { e } else { lit(NULL).cast(DataType::Float64) };
    let mut select = vec![m.label(col("__p")).alias("period"), col("rep_id"), col("rep_name")];
    select.push(pick("handoffs_received", col("handoffs_received")).alias("handoffs_received"));
    select.push(pick("accepted", col("accepted")).alias("accepted"));
    select.push(pick("__sla_met", ratio(col("__sla_met"), col("accepted"))).alias("sla_met_rate"));
    select.push(pick("accepted", col("days_to_first_contact_median")).alias("days_to_first_contact_median"));
    select.push(pick("visits", col("visits")).alias("visits"));
    select.push(pick("online_meetings", col("online_meetings")).alias("online_meetings"));
    select.push(pick("visits", super::in_person_share(col("visits"), col("online_meetings"))).alias("in_person_share"));
    for c in ["opportunities", "opportunities_is", "opportunities_fs", "wins", "losses", "won_amount", "lost_amount"] {
        select.push(col(c));
    }
    select.push(ratio(col("wins"), col("wins") + col("losses")).alias("win_rate"));
    select.push(ratio(col("won_amount"), col("won_amount") + col("lost_amount")).alias("win_rate_amount"));
    select.push(ratio(col("won_amount"), col("wins")).alias("deal_size"));
    select.push(col("sales_cycle_days_median"));
    select.push(pick("send_backs", col("send_backs")).alias("send_backs"));
    select.push(pick("send_backs", ratio(col("send_backs"), col("accepted"))).alias("send_back_rate"));
    lf.sort(["__p", "rep_id"], Default::default()).select(select)
}

pub const IS_REPS_DOC: TableDoc = TableDoc {
    name: "is_reps",
    description: "Per inside-sales rep (AI_SDR, SDR, BDR) and fiscal quarter: volume and quality of the lead work, comparable across roles.",
    columns: &[
        ("period", "fiscal quarter"),
        ("rep_id", "rep key"),
        ("rep_name", "rep name"),
        ("role", "ai_sdr, sdr or bdr"),
        ("leads_owned", "leads created in the quarter owned by the rep"),
        ("inbound_leads", "of which inbound"),
        ("response_time_median_h", "median hours from an owned inbound lead's creation to its first IS activity (by anyone)"),
        ("contacted_within_1h_share", "owned inbound leads first touched within 1 hour / owned inbound leads"),
        ("touches", "the rep's activities in the quarter with a lead"),
        ("leads_touched", "distinct leads among them"),
        ("calls", "the rep's calls"),
        ("connected_calls", "calls with outcome connected or appointment_set"),
        ("connect_rate", "connected_calls / calls"),
        ("dm_connects", "connected calls with a decision maker"),
        ("dm_connect_rate", "dm_connects / calls (the BDR measure; shown for every role)"),
        ("appointments", "calls with outcome appointment_set"),
        ("appointment_rate", "appointments / connected_calls"),
        ("sqls", "owned leads qualified in the quarter"),
        ("handoffs", "handoffs the rep made in the quarter"),
        ("accepted", "of which accepted or sent back"),
        ("acceptance_rate", "accepted / handoffs"),
        ("opportunities_sourced", "opportunities created in the quarter from the rep's leads"),
        ("pipeline_created", "their amount (currency)"),
        ("wins_sourced", "opportunities from the rep's leads won in the quarter"),
        ("revenue_sourced", "their amount (currency)"),
        ("sql_to_win", "owned leads qualified in the quarter that have a won opportunity (at any time) / sqls"),
        ("sql_to_win_open_deals", "opportunities of those SQLs still open at the end of the data: sql_to_win can still rise"),
        ("sql_to_win_mature", "the quarter is complete and at least maturity.closed_share of those opportunities are closed; an immature sql_to_win is not final and is not ranked"),
    ],
};

pub const FS_REPS_DOC: TableDoc = TableDoc {
    name: "fs_reps",
    description: "Per field-sales rep and fiscal quarter: handoffs received and first contact, meetings by mode, opportunities and results.",
    columns: &[
        ("period", "fiscal quarter"),
        ("rep_id", "rep key"),
        ("rep_name", "rep name"),
        ("handoffs_received", "handoffs to the rep in the quarter"),
        ("accepted", "of which accepted or sent back"),
        ("sla_met_rate", "accepted handoffs first contacted within the SLA / accepted"),
        ("days_to_first_contact_median", "median days from handoff to first contact over accepted handoffs with a contact"),
        ("visits", "the rep's in-person visits in the quarter"),
        ("online_meetings", "the rep's online meetings"),
        ("in_person_share", "visits / (visits + online_meetings)"),
        ("opportunities", "opportunities created in the quarter owned by the rep"),
        ("opportunities_is", "of which IS-sourced"),
        ("opportunities_fs", "of which FS-sourced"),
        ("wins", "owned opportunities won in the quarter"),
        ("losses", "owned opportunities lost in the quarter"),
        ("won_amount", "amount won (currency)"),
        ("lost_amount", "amount lost (currency)"),
        ("win_rate", "wins / (wins + losses)"),
        ("win_rate_amount", "won_amount / (won_amount + lost_amount)"),
        ("deal_size", "won_amount / wins (currency)"),
        ("sales_cycle_days_median", "median days from creation to close of the wins"),
        ("send_backs", "handoffs to the rep sent back in the quarter"),
        ("send_back_rate", "send_backs / accepted"),
    ],
};

/// is_reps in the registry.
pub const IS_REPS: OutputTable = OutputTable {
    doc: IS_REPS_DOC,
    needs: &[],
    column_needs: &[
        (&["sqls", "sql_to_win", "sql_to_win_open_deals", "sql_to_win_mature"], Need::LeadsQualifiedAt),
        (&["sql_to_win_open_deals", "sql_to_win_mature"], Need::OpportunitiesNotWon),
        (&["connected_calls", "connect_rate", "appointments", "appointment_rate"], Need::ActivitiesOutcome),
        (&["dm_connects", "dm_connect_rate"], Need::ActivitiesWithDecisionMaker),
        (&["pipeline_created"], Need::OpportunitiesNotWon),
        // the deals an IS rep sourced are those of the rep's leads (opportunities.lead_id)
        (
            &["opportunities_sourced", "pipeline_created", "wins_sourced", "revenue_sourced", "sql_to_win", "sql_to_win_open_deals", "sql_to_win_mature"],
            Need::OpportunitiesLeadId,
        ),
    ],
    build: |m| Ok(Some(is_reps(m))),
};

/// fs_reps in the registry.
pub const FS_REPS: OutputTable = OutputTable {
    doc: FS_REPS_DOC,
    needs: &[],
    column_needs: &[
        (&["sla_met_rate", "days_to_first_contact_median"], Need::HandoffsFirstFsContactAt),
        (&["send_backs", "send_back_rate"], Need::HandoffsSentBackAt),
        (
            &["opportunities", "opportunities_is", "opportunities_fs", "losses", "lost_amount", "win_rate", "win_rate_amount"],
            Need::OpportunitiesNotWon,
        ),
        (&["opportunities_is", "opportunities_fs"], Need::OpportunitiesLeadId),
    ],
    build: |m| Ok(Some(fs_reps(m))),
};
