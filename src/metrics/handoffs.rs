//! The handoff (toss-up) tables and the funnels: one row per handoff with
//! its quality, the quality bands, and the lead funnel by period and cohort.

use polars::prelude::*;
use super::GroupAgg;
use super::OutputTable;
use crate::contract::Need;

use super::{by_segment_rolled, count_if, events, onto_grid, ratio, Model};
use crate::output::TableDoc;

/// interest_level as a rank: high 3, medium 2, low 1, empty 0.
fn interest_rank(e: Expr) -> Expr {
    when(e.clone().eq(lit("high")))
        .then(lit(3))
        .when(e.clone().eq(lit("medium")))
        .then(lit(2))
        .when(e.eq(lit("low")))
        .then(lit(1))
        .otherwise(lit(0))
}

/// bant_score: how many of budget, authority, need, timeline are true (0-4; empty is false).
pub fn bant_score() -> Expr {
    ["budget", "authority", "need", "timeline"]
        .iter()
        .map(|c| col(*c).fill_null(lit(false)).cast(DataType::Int32))
        .reduce(|a, b| a + b)
        .expect("four flags")
}

/// handoffs: one row per handoff with BANT score, toss-up rule, sheet
/// completeness, hours to first FS contact, SLA met, status, recycling and
/// the resulting opportunity's outcome.
pub fn handoffs(m: &Model) -> Option<LazyFrame> {
    let h = events::handoffs(m)?;
    let min_rank = match m.config.tossup.min_interest.to_ascii_lowercase().as_str() {
        "high" => 3,
        "medium" => 2,
        _ => 1,
    };
    let opps = m.lazy("opportunities")?.select([
        col("opportunity_id"),
        col("lead_id").alias("opp_lead_id"),
        col("created_at").alias("opp_created_at"),
        col("outcome").alias("opportunity_outcome"),
        col("amount").alias("opportunity_amount"),
    ]);
    // Without opportunity_id, an accepted handoff's opportunity is its lead's
    // first one created at or after the handoff.
    let inferred = h
        .clone()
        .filter(col("opportunity_id").is_null().and(col("status").eq(lit("accepted"))))
        .select([col("handoff_id"), col("lead_id"), col("handed_off_at")])
        .join(opps.clone(), [col("lead_id")], [col("opp_lead_id")], JoinArgs::new(JoinType::Inner))
        .filter(col("opp_created_at").gt_eq(col("handed_off_at")))
        .sort(["handoff_id", "opp_created_at"], Default::default())
        .group_agg([col("handoff_id")], [col("opportunity_id").first().alias("inferred_opportunity_id")]);
    let h = h
        .join(inferred, [col("handoff_id")], [col("handoff_id")], JoinArgs::new(JoinType::Left))
        .with_column(coalesce(&[col("opportunity_id"), col("inferred_opportunity_id")]).alias("opportunity_id"))
        .join(
            opps.select([col("opportunity_id"), col("opportunity_outcome"), col("opportunity_amount")]),
            [col("opportunity_id")],
            [col("opportunity_id")],
            JoinArgs::new(JoinType::Left),
        );
    Some(
        h.with_columns([
            m.label(m.period("handed_off_at")).alias("period"),
            bant_score().alias("bant_score"),
            ratio(col("sheet_fields_filled"), col("sheet_fields_total")).alias("sheet_completeness"),
            col("status").eq(lit("sent_back")).and(
                col("handed_off_at").max().over([col("lead_id")]).expect("static window").gt(col("handed_off_at")),
            ).alias("recycled"),
        ])
        .with_column(
            col("bant_score")
                .gt_eq(lit(m.config.tossup.min_bant as i32))
                .and(interest_rank(col("interest_level")).gt_eq(lit(min_rank)))
                .alias("meets_tossup_rule"),
        )
        .select([
            col("handoff_id"),
            col("period"),
            col("handed_off_at"),
            col("lead_id"),
            col("opportunity_id"),
            col("from_rep_id"),
            col("to_rep_id"),
            col("source"),
            col("industry"),
            col("region"),
            col("budget"),
            col("authority"),
            col("need"),
            col("timeline"),
            col("bant_score"),
            col("interest_level"),
            col("meets_tossup_rule"),
            col("sheet_fields_filled"),
            col("sheet_fields_total"),
            col("sheet_completeness"),
            col("status"),
            col("accepted_flag").alias("accepted"),
            col("first_fs_contact_at"),
            col("hours_to_first_contact"),
            col("sla_met"),
            col("sent_back_at"),
            col("send_back_reason"),
            col("recycled"),
            col("opportunity_outcome"),
            col("opportunity_amount"),
        ])
        .sort(["handed_off_at", "handoff_id"], Default::default()),
    )
}

/// handoff_quality: per quarter (of handed_off_at) and BANT score band 0-4:
/// count, acceptance, win yield, send-back and recycle rates.
pub fn handoff_quality(m: &Model, handoffs: LazyFrame) -> LazyFrame {
    let periods = df!("__p" => m.periods()).expect("periods").lazy();
    let bands = df!("bant_score" => [0i32, 1, 2, 3, 4]).expect("bands").lazy();
    let grid = periods
        .cross_join(bands, None)
        .with_column(m.label(col("__p")).alias("period"));
    let accepted = col("accepted");
    let agg = handoffs.group_agg([col("period"), col("bant_score")], [
        len().cast(DataType::Int64).alias("handoffs"),
        count_if(col("meets_tossup_rule")).alias("meets_tossup_rule"),
        count_if(accepted.clone()).alias("accepted"),
        count_if(accepted.clone().and(col("opportunity_outcome").eq(lit("won")))).alias("won"),
        count_if(col("status").eq(lit("sent_back"))).alias("sent_back"),
        count_if(col("recycled")).alias("recycled"),
        col("sheet_completeness").mean().alias("mean_sheet_completeness"),
        count_if(accepted.clone().and(col("sla_met"))).alias("sla_met"),
        count_if(accepted.clone().and(col("opportunity_outcome").is_not_null())).alias("__deals"),
        count_if(accepted.and(col("opportunity_outcome").eq(lit("open")))).alias("open_deals"),
    ]);
    let counts = ["handoffs", "meets_tossup_rule", "accepted", "won", "sent_back", "recycled", "sla_met", "__deals", "open_deals"];
    grid.join(agg, [col("period"), col("bant_score")], [col("period"), col("bant_score")], JoinArgs::new(JoinType::Left))
        .with_columns(counts.map(|c| col(c).fill_null(lit(0i64)).alias(c)))
        .with_columns([
            ratio(col("accepted"), col("handoffs")).alias("acceptance_rate"),
            ratio(col("won"), col("accepted")).alias("win_yield"),
            ratio(col("sent_back"), col("accepted")).alias("send_back_rate"),
            ratio(col("recycled"), col("sent_back")).alias("recycle_rate"),
            ratio(col("sla_met"), col("accepted")).alias("sla_met_rate"),
            super::mature(m, super::quarter_complete(m, col("__p")), col("__deals"), col("open_deals")).alias("mature"),
        ])
        .sort(["__p", "bant_score"], Default::default())
        .select([
            col("period"),
            col("bant_score"),
            col("handoffs"),
            col("meets_tossup_rule"),
            col("accepted"),
            col("acceptance_rate"),
            col("won"),
            col("win_yield"),
            col("open_deals"),
            col("mature"),
            col("sent_back"),
            col("send_back_rate"),
            col("recycled"),
            col("recycle_rate"),
            col("sla_met_rate"),
            col("mean_sheet_completeness"),
        ])
}

/// funnel_period: the flow funnel per quarter and segment (counts and the
/// identity's flow ratios), read from the KPI tree's wide frame.
pub fn funnel_period(m: &Model, wide: LazyFrame) -> LazyFrame {
    let counts = ["leads", "sqls", "handoffs", "accepted", "opps_is", "wins_is", "opps_fs", "wins_fs"];
    let mut select = vec![m.label(col("period")).alias("period"), col("segment_kind"), col("segment")];
    select.extend(counts.iter().map(|c| col(*c).cast(DataType::Int64).alias(*c)));
    select.extend(
        ["revenue_is", "revenue_fs", "sql_rate", "handoff_rate", "acceptance_rate", "win_yield_is", "deal_size_is", "win_yield_fs", "deal_size_fs"]
            .map(col),
    );
    wide.sort(["period", "__segment_order"], Default::default()).select(select)
}

/// funnel_cohort: leads by the quarter they were created, followed to SQL,
/// handoff, acceptance, opportunity and win at any time in the data, with
/// the cohort's age so that young cohorts read as immature.
pub fn funnel_cohort(m: &Model) -> Option<LazyFrame> {
    let leads = events::leads(m)?;
    let per_lead_handoffs = match m.lazy("handoffs") {
        Some(h) => h.group_agg([col("lead_id")], [
            lit(true).first().alias("handed_off"),
            count_if(super::accepted(col("status"))).gt(lit(0)).alias("accepted"),
        ]),
        None => df!("lead_id" => Vec::<u32>::new(), "handed_off" => Vec::<bool>::new(), "accepted" => Vec::<bool>::new()).ok()?.lazy(),
    };
    // each lead's deals: the per-lead fact the tree and the reps read (a lead with a row has one)
    let per_lead_opps = events::leads_won(m).select([
        col("lead_id"),
        lit(true).alias("has_opportunity"),
        col("has_won").alias("won"),
        col("open_deals").gt(lit(0i64)).alias("open"),
        col("won_amount"),
        col("deals"),
        col("open_deals"),
    ]);
    let cohort = leads
        .join(per_lead_handoffs, [col("lead_id")], [col("lead_id")], JoinArgs::new(JoinType::Left))
        .join(per_lead_opps, [col("lead_id")], [col("lead_id")], JoinArgs::new(JoinType::Left))
        .with_column(m.period("created_at").alias("period"));
    // counts and sums: one group-by at the finest cell, rolled up to each segment kind
    let agg = by_segment_rolled(m,
        cohort,
        &[
            len().cast(DataType::Int64).alias("leads"),
            count_if(col("qualified_at").is_not_null()).alias("sqls"),
            count_if(col("handed_off")).alias("handed_off"),
            count_if(col("accepted")).alias("accepted"),
            count_if(col("has_opportunity")).alias("opportunities"),
            count_if(col("open")).alias("open_opportunities"),
            count_if(col("won")).alias("won"),
            col("won_amount").fill_null(lit(0.0)).sum().alias("won_amount"),
            col("deals").fill_null(lit(0i64)).sum().alias("deals"),
            col("open_deals").fill_null(lit(0i64)).sum().alias("open_deals"),
        ],
        &[],
    );
    let counts = ["leads", "sqls", "handed_off", "accepted", "opportunities", "open_opportunities", "won", "deals", "open_deals"];
    let last = m.span.last.0;
    Some(
        onto_grid(m.grid().ok()?, agg)
            .with_columns(counts.map(|c| col(c).fill_null(lit(0i64)).alias(c)))
            .with_columns([
                col("won_amount").fill_null(lit(0.0)),
                ratio(col("sqls"), col("leads")).alias("sql_rate"),
                ratio(col("handed_off"), col("sqls")).alias("handoff_rate"),
                ratio(col("accepted"), col("handed_off")).alias("acceptance_rate"),
                ratio(col("won"), col("accepted")).alias("win_yield"),
                ratio(col("won"), col("sqls")).alias("sql_to_win"),
                ratio(col("won"), col("leads")).alias("lead_to_win"),
                (lit(last) - col("period")).alias("age_quarters"),
                super::mature(m, super::quarter_complete(m, col("period")), col("deals"), col("open_deals")).alias("mature"),
            ])
            .sort(["period", "__segment_order"], Default::default())
            .with_column(m.label(col("period")).alias("period"))
            .select([
                col("period").alias("cohort"),
                col("age_quarters"),
                col("segment_kind"),
                col("segment"),
                col("leads"),
                col("sqls"),
                col("handed_off"),
                col("accepted"),
                col("opportunities"),
                col("open_opportunities"),
                col("won"),
                col("won_amount"),
                col("deals"),
                col("open_deals"),
                col("mature"),
                col("sql_rate"),
                col("handoff_rate"),
                col("acceptance_rate"),
                col("win_yield"),
                col("sql_to_win"),
                col("lead_to_win"),
            ]),
    )
}

pub const HANDOFFS_DOC: TableDoc = TableDoc {
    name: "handoffs",
    description: "One row per IS->FS handoff (toss-up) with its quality and what became of it.",
    columns: &[
        ("handoff_id", "handoff key"),
        ("period", "fiscal quarter of handed_off_at"),
        ("handed_off_at", "when IS handed the lead to FS (UTC)"),
        ("lead_id", "the lead handed off"),
        ("opportunity_id", "the opportunity it became (as exported, else the lead's first opportunity created at or after an accepted handoff)"),
        ("from_rep_id", "IS rep who handed off"),
        ("to_rep_id", "FS rep who received it"),
        ("source", "the lead's source: inbound or outbound"),
        ("industry", "the lead's account's reference industry"),
        ("region", "the lead's account's region"),
        ("budget", "BANT: budget confirmed"),
        ("authority", "BANT: authority confirmed"),
        ("need", "BANT: need confirmed"),
        ("timeline", "BANT: timeline confirmed"),
        ("bant_score", "number of BANT elements confirmed, 0-4 (empty counts as not confirmed)"),
        ("interest_level", "high, medium or low"),
        ("meets_tossup_rule", "bant_score >= tossup.min_bant and interest_level >= tossup.min_interest"),
        ("sheet_fields_filled", "handoff-sheet fields filled"),
        ("sheet_fields_total", "handoff-sheet fields in the template"),
        ("sheet_completeness", "sheet_fields_filled / sheet_fields_total"),
        ("status", "accepted, rejected or sent_back"),
        ("accepted", "status is accepted or sent_back (sent back implies accepted first)"),
        ("first_fs_contact_at", "FS's first contact after the handoff (UTC)"),
        ("hours_to_first_contact", "exact hours from handoff to first FS contact"),
        ("sla_met", "first contact within sla_business_days business days (local weekdays outside holidays); no contact = false; contact before the handoff = true"),
        ("sent_back_at", "when FS sent it back to IS nurturing (UTC)"),
        ("send_back_reason", "timing_slip, budget_undetermined, key_person_left or other"),
        ("recycled", "sent back and handed off again later"),
        ("opportunity_outcome", "open, won or lost; null without an opportunity"),
        ("opportunity_amount", "the opportunity's amount (currency)"),
    ],
};

pub const HANDOFF_QUALITY_DOC: TableDoc = TableDoc {
    name: "handoff_quality",
    description: "Handoffs by fiscal quarter of handed_off_at and BANT score band, so the toss-up rule can be judged by its results.",
    columns: &[
        ("period", "fiscal quarter of handed_off_at"),
        ("bant_score", "score band: number of BANT elements confirmed, 0-4"),
        ("handoffs", "handoffs in the band"),
        ("meets_tossup_rule", "of which met the toss-up rule"),
        ("accepted", "accepted or sent back"),
        ("acceptance_rate", "accepted / handoffs"),
        ("won", "accepted handoffs whose opportunity was won (at any time)"),
        ("win_yield", "won / accepted"),
        ("open_deals", "accepted handoffs whose opportunity is still open at the end of the data: win_yield can still rise"),
        ("mature", "the quarter is complete and at least maturity.closed_share (default 90%) of the accepted handoffs' opportunities are closed; an immature win_yield is not final"),
        ("sent_back", "handoffs with status sent_back"),
        ("send_back_rate", "sent_back / accepted"),
        ("recycled", "sent back and handed off again"),
        ("recycle_rate", "recycled / sent_back"),
        ("sla_met_rate", "accepted handoffs contacted within the SLA / accepted"),
        ("mean_sheet_completeness", "mean of sheet_completeness"),
    ],
};

pub const FUNNEL_PERIOD_DOC: TableDoc = TableDoc {
    name: "funnel_period",
    description: "The flow funnel per fiscal quarter and segment: each stage counted in the quarter its event happened, with the identity's flow ratios.",
    columns: &[
        ("period", "fiscal quarter"),
        ("segment_kind", "total, source, industry or region"),
        ("segment", "segment value (all for the total)"),
        ("leads", "leads created in the quarter"),
        ("sqls", "leads qualified in the quarter"),
        ("handoffs", "handoffs in the quarter (every status)"),
        ("accepted", "handoffs in the quarter accepted or sent back"),
        ("opps_is", "IS-sourced opportunities created"),
        ("wins_is", "IS-sourced opportunities won (closed in the quarter)"),
        ("opps_fs", "FS-sourced opportunities created"),
        ("wins_fs", "FS-sourced opportunities won"),
        ("revenue_is", "amount won, IS-sourced (currency)"),
        ("revenue_fs", "amount won, FS-sourced (currency)"),
        ("sql_rate", "sqls / leads"),
        ("handoff_rate", "handoffs / sqls"),
        ("acceptance_rate", "accepted / handoffs"),
        ("win_yield_is", "wins_is / accepted"),
        ("deal_size_is", "revenue_is / wins_is"),
        ("win_yield_fs", "wins_fs / opps_fs"),
        ("deal_size_fs", "revenue_fs / wins_fs"),
    ],
};

pub const FUNNEL_COHORT_DOC: TableDoc = TableDoc {
    name: "funnel_cohort",
    description: "Lead cohorts by the fiscal quarter they were created, followed to their outcome at any time in the data.",
    columns: &[
        ("cohort", "fiscal quarter the leads were created in"),
        ("age_quarters", "quarters from the cohort to the last quarter in the data (0 = the newest, least mature cohort)"),
        ("segment_kind", "total, source, industry or region"),
        ("segment", "segment value (all for the total)"),
        ("leads", "leads created in the cohort quarter"),
        ("sqls", "of which qualified (ever)"),
        ("handed_off", "of which handed off to FS (ever)"),
        ("accepted", "of which had a handoff accepted or sent back"),
        ("opportunities", "of which have an opportunity"),
        ("open_opportunities", "of which have an opportunity still open (the cohort is not finished)"),
        ("won", "of which have a won opportunity"),
        ("won_amount", "amount won from the cohort (currency)"),
        ("deals", "opportunities of the cohort's leads"),
        ("open_deals", "of which still open at the end of the data: the cohort's win numbers can still rise"),
        ("mature", "the cohort quarter is complete and at least maturity.closed_share (default 90%) of its deals are closed; immature win numbers are not final"),
        ("sql_rate", "sqls / leads"),
        ("handoff_rate", "handed_off / sqls"),
        ("acceptance_rate", "accepted / handed_off"),
        ("win_yield", "won / accepted"),
        ("sql_to_win", "won / sqls"),
        ("lead_to_win", "won / leads"),
    ],
};

/// handoffs in the registry: read by handoff_quality, loss_feedback and
/// engagement_effect, so collected once.
pub const HANDOFFS: OutputTable = OutputTable {
    doc: HANDOFFS_DOC,
    needs: &[Need::Handoffs],
    // without first contact times there is no SLA: not met by every handoff
    column_needs: &[(&["hours_to_first_contact", "sla_met"], Need::HandoffsFirstFsContactAt)],
    build: |m| Ok(handoffs(m)),
};

/// handoff_quality in the registry.
pub const HANDOFF_QUALITY: OutputTable = OutputTable {
    doc: HANDOFF_QUALITY_DOC,
    needs: &[Need::Handoffs],
    column_needs: &[(&["open_deals", "mature"], Need::OpportunitiesNotWon), (&["sla_met_rate"], Need::HandoffsFirstFsContactAt)],
    build: |m| Ok(m.built(&HANDOFFS)?.map(|h| handoff_quality(m, h.lazy()))),
};

/// funnel_period in the registry.
pub const FUNNEL_PERIOD: OutputTable = OutputTable {
    doc: FUNNEL_PERIOD_DOC,
    needs: &[],
    column_needs: &[],
    build: |m| Ok(Some(funnel_period(m, m.wide()?))),
};

/// funnel_cohort in the registry.
pub const FUNNEL_COHORT: OutputTable = OutputTable {
    doc: FUNNEL_COHORT_DOC,
    needs: &[Need::Leads],
    column_needs: &[
        (&["sqls", "sql_rate", "handoff_rate", "sql_to_win"], Need::LeadsQualifiedAt),
        (&["handed_off", "accepted", "acceptance_rate", "win_yield"], Need::Handoffs),
        (&["opportunities", "open_opportunities", "deals", "open_deals", "mature"], Need::OpportunitiesNotWon),
        // a lead's deals are those whose lead_id is the lead
        (
            &["opportunities", "open_opportunities", "won", "won_amount", "deals", "open_deals", "mature", "win_yield", "sql_to_win", "lead_to_win"],
            Need::OpportunitiesLeadId,
        ),
    ],
    build: |m| Ok(funnel_cohort(m)),
};
