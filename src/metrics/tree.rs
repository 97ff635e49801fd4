//! The KPI tree: every count, identity factor and leading indicator of
//! METRICS.md per quarter and segment, each compared with the quarter
//! before, with each identity node's LMDI share of its parent's change.

use polars::prelude::*;
use super::OutputTable;

use super::events;
use super::lmdi::product_contributions;
use super::{by_segment_rolled, by_segment, with_distinct_counts, count_if, days_between, hours_between, median, onto_grid, ratio, sum_if, Model};
use crate::error::Result;
use crate::output::TableDoc;

/// Where a node sits in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Identity,
    Factor,
    Count,
    Indicator,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Identity => "identity",
            NodeKind::Factor => "factor",
            NodeKind::Count => "count",
            NodeKind::Indicator => "indicator",
        }
    }
}

/// A node's unit (the kpi_tree `unit` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Ratio,
    Currency,
    Hours,
    Days,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Ratio => "ratio",
            Unit::Currency => "currency",
            Unit::Hours => "hours",
            Unit::Days => "days",
        }
    }
}

/// One of the 40 nodes: name, its name in words (charts, report, summary),
/// parent, kind, unit, what it needs from the input and its definition (one
/// sentence; `salesrelay metrics` prints it).
#[derive(Debug, Clone, Copy)]
pub struct Node {
    pub name: &'static str,
    pub label: &'static str,
    pub parent: Option<&'static str>,
    pub kind: NodeKind,
    pub unit: Unit,
    pub needs: &'static [Need],
    pub definition: &'static str,
}

const fn node(
    name: &'static str,
    label: &'static str,
    parent: &'static str,
    kind: NodeKind,
    unit: Unit,
    needs: &'static [Need],
    definition: &'static str,
) -> Node {
    Node { name, label, parent: Some(parent), kind, unit, needs, definition }
}

/// Ratios of one quarter's events that can exceed 1 (METRICS.md: flow
/// ratios): every other ratio node is a share, within 0..1.
pub const FLOW_RATIOS: [&str; 5] = ["sql_rate", "handoff_rate", "win_yield_is", "win_yield_fs", "send_back_rate"];

impl Node {
    /// A share: a ratio node that cannot exceed 1.
    pub fn is_share(&self) -> bool {
        self.unit == Unit::Ratio && !FLOW_RATIOS.contains(&self.name)
    }
}

/// The node called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Node> {
    NODES.iter().find(|n| n.name == name)
}

/// `name` in words: the node's label, else the name itself.
pub fn label(name: &str) -> &str {
    find(name).map_or(name, |n| n.label)
}

/// The factors of product node `parent` (revenue_is, revenue_fs, leads), in
/// tree order: the drivers its LMDI attribution splits the change over.
pub fn factors_of(parent: &str) -> Vec<&'static str> {
    NODES.iter().filter(|n| n.kind == NodeKind::Factor && n.parent == Some(parent)).map(|n| n.name).collect()
}

/// The drivers of the revenue bridge in tree order, with their branch
/// (`is`: the factors of revenue_is, `fs`: of revenue_fs).
pub fn drivers() -> Vec<(&'static str, &'static str)> {
    let is = factors_of("revenue_is").into_iter().map(|f| (f, "is"));
    is.chain(factors_of("revenue_fs").into_iter().map(|f| (f, "fs"))).collect()
}

use NodeKind::*;

use crate::contract::Need;

const L: &[Need] = &[Need::Leads];
const H: &[Need] = &[Need::Handoffs];
const A: &[Need] = &[Need::Activities];
const LA: &[Need] = &[Need::Leads, Need::Activities];
const O: &[Need] = &[];
/// SQLs need the qualification time.
const Q: &[Need] = &[Need::LeadsQualifiedAt];
const QH: &[Need] = &[Need::LeadsQualifiedAt, Need::Handoffs];
/// Rates over all deals need the deals that were not won (an export of won deals only has none).
const NW: &[Need] = &[Need::OpportunitiesNotWon];
/// IS-sourced opportunities need to know which came from a lead (an export without lead_id cannot say).
const NWL: &[Need] = &[Need::OpportunitiesNotWon, Need::OpportunitiesLeadId];
/// Which deals IS sourced (lead_id set) and which FS sourced: an export without lead_id cannot say,
/// so the split is not available rather than every deal FS-sourced.
const LI: &[Need] = &[Need::OpportunitiesLeadId];
const HLI: &[Need] = &[Need::Handoffs, Need::OpportunitiesLeadId];
const LLI: &[Need] = &[Need::Leads, Need::OpportunitiesLeadId];
const LQI: &[Need] = &[Need::LeadsQualifiedAt, Need::OpportunitiesNotWon, Need::OpportunitiesLeadId];
const FC: &[Need] = &[Need::HandoffsFirstFsContactAt];
const SB: &[Need] = &[Need::HandoffsSentBackAt];
const AO: &[Need] = &[Need::ActivitiesOutcome];
const DM: &[Need] = &[Need::ActivitiesOutcome, Need::ActivitiesWithDecisionMaker];

/// The 40 kpi_tree nodes in tree order (METRICS.md, "kpi_tree: the nodes").
pub const NODES: &[Node] = &[
    Node {
        name: "revenue", label: "Revenue", parent: None, kind: Identity, unit: Unit::Currency, needs: O,
        definition: "Revenue won in the quarter: revenue_is + revenue_fs.",
    },
    node("revenue_is", "IS-sourced revenue", "revenue", Identity, Unit::Currency, LI,
        "Sum of amount over wins_is, the IS-sourced opportunities won in the quarter."),
    node("revenue_fs", "FS-sourced revenue", "revenue", Identity, Unit::Currency, LI,
        "Sum of amount over wins_fs, the FS-sourced opportunities won in the quarter."),
    node("leads", "Leads", "revenue_is", Factor, Unit::Count, L,
        "Leads with created_at in the quarter."),
    node("sql_rate", "SQL rate", "revenue_is", Factor, Unit::Ratio, Q,
        "sqls / leads, a flow ratio of one quarter's events that can exceed 1."),
    node("handoff_rate", "Handoff rate", "revenue_is", Factor, Unit::Ratio, QH,
        "handoffs / sqls, a flow ratio of one quarter's events that can exceed 1."),
    node("acceptance_rate", "FS acceptance rate", "revenue_is", Factor, Unit::Ratio, H,
        "accepted / handoffs, both counted by handed_off_at in the quarter."),
    node("win_yield_is", "IS win yield", "revenue_is", Factor, Unit::Ratio, HLI,
        "wins_is / accepted, a flow ratio of one quarter's events that can exceed 1."),
    node("deal_size_is", "IS deal size", "revenue_is", Factor, Unit::Currency, LI,
        "revenue_is / wins_is, the mean amount of an IS-sourced win in the quarter."),
    node("leads_inbound", "Inbound leads", "leads", Factor, Unit::Count, L,
        "Leads with created_at in the quarter and source inbound."),
    node("leads_outbound", "Outbound leads", "leads", Factor, Unit::Count, L,
        "Leads with created_at in the quarter and source outbound."),
    node("opps_fs", "FS-sourced opportunities", "revenue_fs", Factor, Unit::Count, NWL,
        "Opportunities created in the quarter with lead_id empty (FS-sourced)."),
    node("win_yield_fs", "FS win yield", "revenue_fs", Factor, Unit::Ratio, NWL,
        "wins_fs / opps_fs, a flow ratio of one quarter's events that can exceed 1."),
    node("deal_size_fs", "FS deal size", "revenue_fs", Factor, Unit::Currency, LI,
        "revenue_fs / wins_fs, the mean amount of an FS-sourced win in the quarter."),
    node("sqls", "SQLs", "revenue_is", Count, Unit::Count, Q,
        "Leads with qualified_at in the quarter."),
    node("handoffs", "Handoffs", "revenue_is", Count, Unit::Count, H,
        "Handoffs with handed_off_at in the quarter, whatever their status."),
    node("accepted", "Accepted handoffs", "revenue_is", Count, Unit::Count, H,
        "Handoffs with handed_off_at in the quarter whose status is accepted or sent_back."),
    node("opps_is", "IS-sourced opportunities", "revenue_is", Count, Unit::Count, NWL,
        "Opportunities created in the quarter with lead_id set (IS-sourced)."),
    node("wins_is", "IS wins", "revenue_is", Count, Unit::Count, LI,
        "Opportunities with closed_at in the quarter and outcome won that are IS-sourced (lead_id set)."),
    node("losses_is", "IS losses", "revenue_is", Count, Unit::Count, NWL,
        "Opportunities with closed_at in the quarter and outcome lost that are IS-sourced (lead_id set)."),
    node("wins_fs", "FS wins", "revenue_fs", Count, Unit::Count, LI,
        "Opportunities with closed_at in the quarter and outcome won that are FS-sourced (lead_id empty)."),
    node("losses_fs", "FS losses", "revenue_fs", Count, Unit::Count, NWL,
        "Opportunities with closed_at in the quarter and outcome lost that are FS-sourced (lead_id empty)."),
    node("response_time_median_h", "Median response time", "sql_rate", Indicator, Unit::Hours, LA,
        "Over inbound leads created in the quarter, the lower median of hours from created_at to the first activity of an IS rep on the lead (leads without one are left out)."),
    node("contacted_within_1h_share", "Contacted within 1 h", "sql_rate", Indicator, Unit::Ratio, LA,
        "Inbound leads created in the quarter whose first IS activity came within 1 hour of created_at (inclusive) / inbound leads created in the quarter."),
    node("touches_per_lead", "Touches per lead", "sql_rate", Indicator, Unit::Count, A,
        "IS activities in the quarter with a lead_id / distinct leads among them."),
    node("connect_rate", "Connect rate", "sql_rate", Indicator, Unit::Ratio, AO,
        "IS calls in the quarter with outcome connected or appointment_set / IS calls in the quarter."),
    node("dm_connect_rate", "Decision-maker connect rate", "sql_rate", Indicator, Unit::Ratio, DM,
        "BDR calls in the quarter that connected (connected or appointment_set) with with_decision_maker true / BDR calls in the quarter."),
    node("appointment_rate", "Appointment rate", "sql_rate", Indicator, Unit::Ratio, AO,
        "IS calls in the quarter with outcome appointment_set / IS calls in the quarter that connected."),
    node("sla_met_rate", "First-contact SLA met", "win_yield_is", Indicator, Unit::Ratio, FC,
        "Accepted handoffs of the quarter whose first FS contact came within sla_business_days business days (configured time_zone, weekends and holidays excluded; Friday 18:00 + 2 days = Tuesday 18:00) / accepted handoffs of the quarter. No contact is not met; a contact before the handoff is met."),
    node("days_to_first_contact_median", "Median days to first FS contact", "win_yield_is", Indicator, Unit::Days, FC,
        "Over accepted handoffs of the quarter with a first contact, the lower median of days from handed_off_at to first_fs_contact_at."),
    node("send_back_rate", "Send-back rate", "win_yield_is", Indicator, Unit::Ratio, SB,
        "Handoffs with sent_back_at in the quarter / accepted handoffs of the quarter."),
    node("pipeline_created_is", "IS pipeline created", "revenue_is", Indicator, Unit::Currency, NWL,
        "Sum of amount over opps_is, the IS-sourced opportunities created in the quarter."),
    node("pipeline_share_is", "IS share of pipeline", "revenue_is", Indicator, Unit::Ratio, NWL,
        "pipeline_created_is / the amount of all opportunities created in the quarter (pipeline created IS + FS)."),
    node("order_lead_time_days_median", "Median order lead time", "revenue_is", Indicator, Unit::Days, LLI,
        "Over IS-sourced wins in the quarter, the lower median of days from the lead's created_at to closed_at."),
    node("sql_to_win", "SQL-to-win rate", "revenue_is", Indicator, Unit::Ratio, LQI,
        "Leads qualified in the quarter that have an opportunity won at any time in the data / leads qualified in the quarter (a cohort number: it grows as the cohort's deals close; kpi_tree's open_deals and mature say whether it still can)."),
    node("visits_per_opp", "Meetings per opportunity", "revenue", Indicator, Unit::Count, A,
        "FS visits and online meetings in the quarter with an opportunity_id / distinct opportunities among them."),
    node("in_person_share", "In-person share of FS meetings", "revenue", Indicator, Unit::Ratio, A,
        "FS visits / (FS visits + FS online meetings) in the quarter."),
    node("win_rate", "Win rate (count)", "revenue", Indicator, Unit::Ratio, NW,
        "Wins / (wins + losses) closed in the quarter, IS- and FS-sourced together."),
    node("win_rate_amount", "Win rate (amount)", "revenue", Indicator, Unit::Ratio, NW,
        "Won amount / (won + lost amount) of the opportunities closed in the quarter."),
    node("sales_cycle_days_median", "Median sales cycle", "revenue", Indicator, Unit::Days, O,
        "Over wins in the quarter, the lower median of days from created_at to closed_at."),
];


fn null_f64(name: &str) -> Expr {
    lit(NULL).cast(DataType::Float64).alias(name)
}

/// Per-segment aggregates of leads: by created_at and by qualified_at.
fn lead_measures(m: &Model) -> Option<(LazyFrame, LazyFrame)> {
    let leads = events::leads(m)?;
    let inbound = col("source").eq(lit("inbound"));
    let response_h = hours_between(col("first_is_at"), col("created_at"));
    let created = by_segment_rolled(m,
        leads.clone().with_columns([m.period("created_at").alias("period"), response_h.alias("response_h")]),
        &[
            len().cast(DataType::Int64).alias("leads"),
            count_if(inbound.clone()).alias("leads_inbound"),
            count_if(col("source").eq(lit("outbound"))).alias("leads_outbound"),
            count_if(inbound.clone().and(super::within_1h(col("response_h")))).alias("inbound_within_1h"),
        ],
        &[median(col("response_h").filter(inbound)).alias("response_time_median_h")],
    );
    let qualified = by_segment_rolled(m,
        leads
            .filter(col("qualified_at").is_not_null())
            .join(events::leads_won(m), [col("lead_id")], [col("lead_id")], JoinArgs::new(JoinType::Left))
            .with_column(m.period("qualified_at").alias("period")),
        &[
            len().cast(DataType::Int64).alias("sqls"),
            count_if(col("has_won")).alias("sqls_won"),
            col("deals").fill_null(lit(0i64)).sum().alias("sqls_deals"),
            col("open_deals").fill_null(lit(0i64)).sum().alias("sqls_open_deals"),
        ],
        &[],
    );
    Some((created, qualified))
}

/// Per-segment aggregates of handoffs: by handed_off_at and by sent_back_at.
fn handoff_measures(m: &Model) -> Option<(LazyFrame, LazyFrame)> {
    let handoffs = events::handoffs(m)?;
    let accepted = col("accepted_flag");
    let handed = by_segment_rolled(m,
        handoffs.clone().with_column(m.period("handed_off_at").alias("period")),
        &[
            len().cast(DataType::Int64).alias("handoffs"),
            count_if(accepted.clone()).alias("accepted"),
            count_if(accepted.clone().and(col("sla_met"))).alias("sla_met"),
        ],
        &[median(col("days_to_first_contact").filter(accepted)).alias("days_to_first_contact_median")],
    );
    let sent_back = by_segment(
        handoffs.filter(col("sent_back_at").is_not_null()).with_column(m.period("sent_back_at").alias("period")),
        &[len().cast(DataType::Int64).alias("sent_back")],
    );
    Some((handed, sent_back))
}


/// Per-segment aggregates of opportunities: by created_at and by closed_at.
fn opportunity_measures(m: &Model) -> (LazyFrame, LazyFrame) {
    let opps = events::opportunities(m);
    let is = col("lead_id").is_not_null();
    let fs = col("lead_id").is_null();
    let created = by_segment_rolled(m,
        opps.clone().with_column(m.period("created_at").alias("period")),
        &[
            count_if(is.clone()).alias("opps_is"),
            count_if(fs.clone()).alias("opps_fs"),
            sum_if(col("amount"), is.clone()).alias("pipeline_created_is"),
            sum_if(col("amount"), fs.clone()).alias("pipeline_created_fs"),
        ],
        &[],
    );
    let won = col("outcome").eq(lit("won"));
    let lost = col("outcome").eq(lit("lost"));
    let closed = by_segment_rolled(m,
        opps.filter(col("closed_at").is_not_null()).with_columns([
            m.period("closed_at").alias("period"),
            days_between(col("closed_at"), col("created_at")).alias("cycle_days"),
            days_between(col("closed_at"), col("lead_created_at")).alias("order_lead_days"),
        ]),
        &[
            count_if(won.clone().and(is.clone())).alias("wins_is"),
            count_if(won.clone().and(fs.clone())).alias("wins_fs"),
            count_if(lost.clone().and(is.clone())).alias("losses_is"),
            count_if(lost.clone().and(fs.clone())).alias("losses_fs"),
            sum_if(col("amount"), won.clone().and(is.clone())).alias("revenue_is"),
            sum_if(col("amount"), won.clone().and(fs)).alias("revenue_fs"),
            sum_if(col("amount"), lost).alias("lost_amount"),
        ],
        &[
            median(col("cycle_days").filter(won.clone())).alias("sales_cycle_days_median"),
            median(col("order_lead_days").filter(won.and(is))).alias("order_lead_time_days_median"),
        ],
    );
    (created, closed)
}

/// Per-segment aggregates of activities by occurred_at.
fn activity_measures(m: &Model) -> Option<LazyFrame> {
    let acts = events::activities(m)?;
    let is = col("team").eq(lit("is"));
    let fs = col("team").eq(lit("fs"));
    let call = col("kind").eq(lit("call"));
    let connected = super::connected(col("outcome"));
    let meeting = events::meeting_kind();
    let bdr_call = col("role").eq(lit("bdr")).and(call.clone());
    // each row's flags once, on the columns the sums need only: the sums then add booleans
    let flags = [
        ("is_touches", is.clone().and(col("lead_id").is_not_null())),
        ("is_calls", is.clone().and(call.clone())),
        ("is_connected", is.clone().and(call.clone()).and(connected.clone())),
        ("is_appointments", is.and(call).and(col("outcome").eq(lit("appointment_set")))),
        ("bdr_calls", bdr_call.clone()),
        ("bdr_dm_connects", bdr_call.and(connected).and(col("with_decision_maker").fill_null(lit(false)))),
        ("fs_meetings_with_opp", fs.clone().and(meeting).and(col("opportunity_id").is_not_null())),
        ("fs_visits", fs.clone().and(col("kind").eq(lit("visit")))),
        ("fs_online", fs.and(col("kind").eq(lit("online_meeting")))),
    ];
    let mut columns = vec![col(events::QUARTER).alias("period"), col("source"), col("industry"), col("region"), col("lead_id"), col("opportunity_id")];
    columns.extend(flags.iter().map(|(name, e)| e.clone().fill_null(lit(false)).alias(format!("__{name}"))));
    let acts = acts.select(columns).cache();
    let sums = by_segment_rolled(m,
        acts.clone(),
        &flags.iter().map(|(name, _)| super::count_if(col(format!("__{name}"))).alias(*name)).collect::<Vec<_>>(),
        &[],
    );
    // distinct leads and deals: a lead's activities may sit on accounts of different segments
    Some(with_distinct_counts(sums, acts, &[("touched_leads", "lead_id", "__is_touches"), ("fs_opps_met", "opportunity_id", "__fs_meetings_with_opp")]))
}

const COUNT_MEASURES: &[&str] = &[
    "leads", "leads_inbound", "leads_outbound", "inbound_within_1h", "sqls", "sqls_won", "sqls_deals", "sqls_open_deals", "handoffs", "accepted", "sla_met",
    "sent_back", "opps_is", "opps_fs", "pipeline_created_is", "pipeline_created_fs", "wins_is", "wins_fs", "losses_is",
    "losses_fs", "revenue_is", "revenue_fs", "lost_amount", "is_touches", "touched_leads", "is_calls", "is_connected",
    "is_appointments", "bdr_calls", "bdr_dm_connects", "fs_meetings_with_opp", "fs_opps_met", "fs_visits", "fs_online",
];

/// One row per quarter and segment with every base measure and node value:
/// the wide form the tree, the funnel and the reps read.
pub fn kpi_wide(m: &Model) -> Result<LazyFrame> {
    let mut wide = m.grid()?;
    let mut present: Vec<String> = Vec::new();
    // each part is collected on its own, one after another: planned
    // together, their scans ran side by side and their working sets added up
    // (scale 1000: the aggregates' peak 5.3 -> 5.1 GiB, same time)
    // a part's time counts from the end of the part before: building a part's plan computes
    // some of it already (`settled`), and a pair built together (leads and SQLs) is timed on its first
    let mut clock = std::time::Instant::now();
    let mut add = |wide: LazyFrame, part: LazyFrame, names: &[&str]| -> Result<LazyFrame> {
        present.extend(names.iter().map(|s| s.to_string()));
        if super::profiled("wide") {
            super::print_profile(&format!("wide {}..", names[0]), part.clone())?;
        }
        let part = part.collect()?;
        if crate::progress::timings() {
            crate::tell!("      wide {}..: {:.2}s, peak {}", names[0], clock.elapsed().as_secs_f64(), crate::progress::peak_since());
        }
        clock = std::time::Instant::now();
        Ok(onto_grid(wide, part.lazy()))
    };
    if let Some((created, qualified)) = lead_measures(m) {
        wide = add(wide, created, &["leads", "leads_inbound", "leads_outbound", "inbound_within_1h", "response_time_median_h"])?;
        wide = add(wide, qualified, &["sqls", "sqls_won", "sqls_deals", "sqls_open_deals"])?;
    }
    if let Some((handed, sent_back)) = handoff_measures(m) {
        wide = add(wide, handed, &["handoffs", "accepted", "sla_met", "days_to_first_contact_median"])?;
        wide = add(wide, sent_back, &["sent_back"])?;
    }
    let (created, closed) = opportunity_measures(m);
    wide = add(wide, created, &["opps_is", "opps_fs", "pipeline_created_is", "pipeline_created_fs"])?;
    wide = add(
        wide,
        closed,
        &["wins_is", "wins_fs", "losses_is", "losses_fs", "revenue_is", "revenue_fs", "lost_amount", "sales_cycle_days_median", "order_lead_time_days_median"],
    )?;
    if let Some(acts) = activity_measures(m) {
        wide = add(
            wide,
            acts,
            &["is_touches", "touched_leads", "is_calls", "is_connected", "is_appointments", "bdr_calls", "bdr_dm_connects", "fs_meetings_with_opp", "fs_opps_met", "fs_visits", "fs_online"],
        )?;
    }
    // the aggregates are a few hundred rows: collected here, the node formulas run on them alone
    // (planned together with the scans, the optimizer re-ran part of the scans: 1.1 s more at scale 100)
    if crate::progress::timings() {
        crate::tell!("      the facts built: peak {}, now {} MiB", crate::progress::peak_since(), crate::progress::resident_mib());
    }
    let wide = wide.collect()?.lazy();
    if crate::progress::timings() {
        crate::tell!("      the aggregates: peak {}", crate::progress::peak_since());
    }
    // measures of missing tables: counts 0 would be invented, so they stay null
    let mut fill = Vec::new();
    for name in COUNT_MEASURES {
        if present.iter().any(|p| p == name) {
            fill.push(col(*name).fill_null(lit(0)).cast(DataType::Float64).alias(*name));
        } else {
            fill.push(null_f64(name));
        }
    }
    for name in ["response_time_median_h", "days_to_first_contact_median", "sales_cycle_days_median", "order_lead_time_days_median"] {
        if !present.iter().any(|p| p == name) {
            fill.push(null_f64(name));
        }
    }
    let c = |n: &str| col(n);
    let wide = wide.with_columns(fill).with_columns([
        (c("revenue_is") + c("revenue_fs")).alias("revenue"),
        ratio(c("sqls"), c("leads")).alias("sql_rate"),
        ratio(c("handoffs"), c("sqls")).alias("handoff_rate"),
        ratio(c("accepted"), c("handoffs")).alias("acceptance_rate"),
        ratio(c("wins_is"), c("accepted")).alias("win_yield_is"),
        ratio(c("revenue_is"), c("wins_is")).alias("deal_size_is"),
        ratio(c("wins_fs"), c("opps_fs")).alias("win_yield_fs"),
        ratio(c("revenue_fs"), c("wins_fs")).alias("deal_size_fs"),
        ratio(c("inbound_within_1h"), c("leads_inbound")).alias("contacted_within_1h_share"),
        ratio(c("is_touches"), c("touched_leads")).alias("touches_per_lead"),
        ratio(c("is_connected"), c("is_calls")).alias("connect_rate"),
        ratio(c("bdr_dm_connects"), c("bdr_calls")).alias("dm_connect_rate"),
        ratio(c("is_appointments"), c("is_connected")).alias("appointment_rate"),
        ratio(c("sla_met"), c("accepted")).alias("sla_met_rate"),
        ratio(c("sent_back"), c("accepted")).alias("send_back_rate"),
        ratio(c("pipeline_created_is"), c("pipeline_created_is") + c("pipeline_created_fs")).alias("pipeline_share_is"),
        ratio(c("sqls_won"), c("sqls")).alias("sql_to_win"),
        ratio(c("fs_meetings_with_opp"), c("fs_opps_met")).alias("visits_per_opp"),
        super::in_person_share(c("fs_visits"), c("fs_online")).alias("in_person_share"),
        ratio(c("wins_is") + c("wins_fs"), c("wins_is") + c("wins_fs") + c("losses_is") + c("losses_fs")).alias("win_rate"),
        ratio(c("revenue_is") + c("revenue_fs"), c("revenue_is") + c("revenue_fs") + c("lost_amount")).alias("win_rate_amount"),
    ]);
    // what the input cannot support is null, never a computed zero or a 100% over half the deals
    let mut unsupported: Vec<Expr> = NODES
        .iter()
        .filter(|n| !m.has_all(n.needs))
        .map(|n| null_f64(n.name))
        .collect();
    for (measure, need) in [
        ("sqls_won", Need::LeadsQualifiedAt),
        ("sqls_deals", Need::LeadsQualifiedAt),
        ("sqls_open_deals", Need::LeadsQualifiedAt),
        ("lost_amount", Need::OpportunitiesNotWon),
        ("pipeline_created_fs", Need::OpportunitiesNotWon),
    ] {
        if !m.has(need) {
            unsupported.push(null_f64(measure));
        }
    }
    let wide = if unsupported.is_empty() { wide } else { wide.with_columns(unsupported) };
    // without lead_id a deal's source is not known (every deal would read fs_sourced): the source
    // segments' deal measures are null, the other segments' stand
    if m.has(Need::OpportunitiesLeadId) {
        return Ok(wide);
    }
    let by_source = col("segment_kind").eq(lit("source"));
    Ok(wide.with_columns(super::DEAL_MEASURES_OF_TREE.map(|n| when(by_source.clone()).then(lit(NULL).cast(DataType::Float64)).otherwise(col(n)).alias(n))))
}

/// The two comparisons every kpi_tree row is made in: (name, quarters back).
pub const COMPARISONS: [(&str, i32); 2] = [("prior_quarter", 1), ("year_ago", 4)];

/// kpi_tree: one row per quarter, comparison, segment and node (the nodes
/// whose tables came in), with the value compared with, the change and the
/// LMDI contribution: against the quarter before (`prior_quarter`) and the
/// same quarter a year earlier (`year_ago`), same formulas and zero rules.
pub fn kpi_tree(m: &Model, wide: LazyFrame) -> Result<LazyFrame> {
    let parts = COMPARISONS
        .iter()
        .enumerate()
        .map(|(order, (name, lag))| kpi_rows(m, wide.clone(), name, *lag, order as u32))
        .collect::<Result<Vec<LazyFrame>>>()?;
    Ok(concat(parts, UnionArgs::default())?
        .sort(["__period", "__comparison", "__segment_order", "__node_order"], Default::default())
        .drop(by_name(["__period", "__comparison", "__segment_order", "__node_order"], true, false)))
}

/// kpi_tree's rows of comparison `name`: each quarter against the quarter
/// `lag` quarters before it (null where that is before the data).
fn kpi_rows(m: &Model, wide: LazyFrame, name: &str, lag: i32, order: u32) -> Result<LazyFrame> {
    let nodes: Vec<&Node> = NODES.iter().filter(|n| m.has_all(n.needs)).collect();
    let prior_cols: Vec<Expr> = std::iter::once((col("period") + lit(lag)).alias("period"))
        .chain([col("segment_kind"), col("segment")])
        .chain(NODES.iter().map(|n| col(n.name).alias(format!("{}__prior", n.name))))
        .collect();
    let keys = [col("period"), col("segment_kind"), col("segment")];
    let joined = wide.clone().join(wide.select(prior_cols), keys.clone(), keys, JoinArgs::new(JoinType::Left));
    let p = |n: &str| col(format!("{n}__prior"));
    let (is_factors, fs_factors) = (factors_of("revenue_is"), factors_of("revenue_fs"));
    let is_contrib = product_contributions(
        p("revenue_is"),
        col("revenue_is"),
        &is_factors.iter().map(|f| (p(f), col(*f))).collect::<Vec<_>>(),
    );
    let fs_contrib = product_contributions(
        p("revenue_fs"),
        col("revenue_fs"),
        &fs_factors.iter().map(|f| (p(f), col(*f))).collect::<Vec<_>>(),
    );
    let change = |n: &str| col(n) - p(n);
    // a branch with a factor the input cannot support has no decomposition
    let supported = |factors: &[&str]| {
        factors.iter().all(|f| nodes.iter().any(|n| n.name == *f))
    };
    let (is_ok, fs_ok) = (supported(&is_factors), supported(&fs_factors));
    let mut contributions: Vec<Expr> = Vec::new();
    for (f, e, ok) in is_factors
        .iter()
        .zip(is_contrib)
        .map(|(f, e)| (f, e, is_ok))
        .chain(fs_factors.iter().zip(fs_contrib).map(|(f, e)| (f, e, fs_ok)))
    {
        let e = if ok { e } else { lit(NULL).cast(DataType::Float64) };
        contributions.push(e.alias(format!("{f}__contribution")));
    }
    for n in ["revenue_is", "revenue_fs", "leads_inbound", "leads_outbound"] {
        contributions.push(change(n).alias(format!("{n}__contribution")));
    }
    // a row per quarter and segment (a few hundred), each node's value, its
    // value compared with and its contribution side by side
    let side = joined.with_columns(contributions).collect()?;
    // then a row per quarter, segment and node: each node's columns stacked
    // under the one before's. (Picking each row's node's value from 40
    // columns in one plan, a chain of 40 `when`s for each of the four
    // columns, took 25 ms of planning at every scale; a union of a plan per
    // node, 0.2 s.)
    let rows = side.height();
    let f64_of = |c: &Column| c.cast(&DataType::Float64);
    let by_row = side.select(["period", "__segment_order", "segment_kind", "segment", "sqls_deals", "sqls_open_deals"])?;
    // (no node at all: the frame's columns, no rows)
    let mut long = by_row.clear().hstack(&[
        Column::new_empty("__node_order".into(), &DataType::UInt32),
        Column::new_empty("value".into(), &DataType::Float64),
        Column::new_empty("prior_value".into(), &DataType::Float64),
        Column::new_empty("change".into(), &DataType::Float64),
        Column::new_empty("contribution".into(), &DataType::Float64),
    ])?;
    for (i, n) in nodes.iter().enumerate() {
        let (value, prior) = (side.column(n.name)?, side.column(&format!("{}__prior", n.name))?);
        // a driver's share of its parent's change (identities and factors under a parent)
        let contribution = if matches!(n.kind, Identity | Factor) && n.parent.is_some() {
            f64_of(side.column(&format!("{}__contribution", n.name))?)?
        } else {
            Column::full_null("contribution".into(), rows, &DataType::Float64)
        };
        long.vstack_mut_owned(by_row.hstack(&[
            Column::new_scalar("__node_order".into(), Scalar::from(i as u32), rows),
            f64_of(value)?.with_name("value".into()),
            f64_of(prior)?.with_name("prior_value".into()),
            f64_of(&(value - prior)?)?.with_name("change".into()),
            contribution.with_name("contribution".into()),
        ])?)?;
    }
    let node_frame = df!(
        "__node_order" => (0..nodes.len() as u32).collect::<Vec<_>>(),
        "node" => nodes.iter().map(|n| n.name).collect::<Vec<_>>(),
        "parent" => nodes.iter().map(|n| n.parent).collect::<Vec<_>>(),
        "node_kind" => nodes.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>(),
        "unit" => nodes.iter().map(|n| n.unit.as_str()).collect::<Vec<_>>(),
    )?;
    let first = m.span.first.0;
    let sql_to_win = col("node").eq(lit("sql_to_win"));
    Ok(long
        .lazy()
        .join(node_frame.lazy(), [col("__node_order")], [col("__node_order")], JoinArgs::new(JoinType::Inner))
        .select([
            col("period").alias("__period"),
            col("__segment_order"),
            col("__node_order"),
            lit(order).alias("__comparison"),
            m.label(col("period")).alias("period"),
            lit(name.to_string()).alias("comparison"),
            when((col("period") - lit(lag)).lt(lit(first)))
                .then(lit(NULL).cast(DataType::String))
                .otherwise(m.label(col("period") - lit(lag)))
                .alias("compare_to"),
            col("segment_kind"),
            col("segment"),
            col("node"),
            col("parent"),
            col("node_kind"),
            col("value"),
            col("prior_value"),
            col("change"),
            col("contribution"),
            col("unit"),
            // sql_to_win follows its cohort to the end of the data: it can still rise
            when(sql_to_win.clone()).then(col("sqls_open_deals").cast(DataType::Int64)).otherwise(lit(NULL).cast(DataType::Int64)).alias("open_deals"),
            when(sql_to_win)
                .then(super::mature(m, super::quarter_complete(m, col("period")), col("sqls_deals"), col("sqls_open_deals")))
                .otherwise(lit(NULL).cast(DataType::Boolean))
                .alias("mature"),
        ]))
}

/// The bridge step of each driver (tree order), and of each branch's
/// not-decomposed step: IS drivers 1-6, IS not decomposed 7, FS drivers
/// 8-10, FS not decomposed 11; 0 is the prior revenue and 12 the current.
fn bridge_step(driver_index: usize) -> u32 {
    if driver_index < factors_of("revenue_is").len() { driver_index as u32 + 1 } else { driver_index as u32 + 2 }
}
const STEP_CURRENT: u32 = 12;
/// The step of the whole change where the input has no IS/FS split: the
/// FS branch's not-decomposed step, which it stands in for.
const STEP_UNSPLIT: u32 = 11;

/// kpi_attribution: the revenue bridge of the reviewed quarter per
/// comparison (against the quarter before and a year before) and segment:
/// base revenue, each driver's contribution in tree order, current revenue,
/// with the running total after each step. A branch whose drivers have no
/// contribution (a factor the input cannot support) gets one
/// `not_decomposed` step with its whole change, so the steps always add up.
pub fn kpi_attribution(tree: LazyFrame, period_label: &str) -> LazyFrame {
    let in_period = tree.filter(col("period").eq(lit(period_label.to_string())));
    let step = |node: &str, step: u32, item: &str, branch: Option<&str>, kind: &str, amount: Expr| {
        in_period.clone().filter(col("node").eq(lit(node.to_string()))).select([
            col("period"),
            col("comparison"),
            col("compare_to"),
            col("segment_kind"),
            col("segment"),
            lit(step).alias("step"),
            lit(item.to_string()).alias("item"),
            match branch { Some(b) => lit(b.to_string()), None => lit(NULL).cast(DataType::String) }.alias("branch"),
            lit(kind.to_string()).alias("kind"),
            amount.alias("amount"),
            col("prior_value"),
            col("value"),
        ])
    };
    let mut parts = vec![step("revenue", 0, "revenue_prior", None, "base", col("prior_value"))
        .with_column(col("prior_value").alias("value"))];
    for (i, (driver, branch)) in drivers().into_iter().enumerate() {
        parts.push(step(driver, bridge_step(i), driver, Some(branch), "driver", col("contribution")));
    }
    let segment = [col("comparison"), col("segment_kind"), col("segment")];
    for (revenue, branch, at) in [("revenue_is", "is", 7u32), ("revenue_fs", "fs", 11)] {
        let factors = factors_of(revenue);
        let decomposed = in_period
            .clone()
            .filter(col("node").is_in(crate::typing::str_list(&factors), false))
            .group_by(segment.clone())
            .agg([col("contribution").is_not_null().any(true).alias("__decomposed")]);
        parts.push(
            step(revenue, at, revenue, Some(branch), "not_decomposed", col("change"))
                .join(decomposed, segment.clone(), segment.clone(), JoinArgs::new(JoinType::Left))
                .filter(col("__decomposed").fill_null(lit(false)).not().and(col("amount").is_not_null()))
                .drop(by_name(["__decomposed"], true, false)),
        );
    }
    // an input that cannot tell IS- from FS-sourced deals (no opportunities.lead_id) has neither
    // branch: the whole change is one step, not decomposed, so the steps still add up
    let split = in_period
        .clone()
        .filter(col("node").is_in(crate::typing::str_list(&["revenue_is", "revenue_fs"]), false))
        .group_by(segment.clone())
        .agg([len().alias("__split")]);
    parts.push(
        step("revenue", STEP_UNSPLIT, "revenue", None, "not_decomposed", col("change"))
            .join(split, segment.clone(), segment.clone(), JoinArgs::new(JoinType::Left))
            .filter(col("__split").is_null().and(col("amount").is_not_null()))
            .drop(by_name(["__split"], true, false)),
    );
    parts.push(step("revenue", STEP_CURRENT, "revenue", None, "current", col("value")));
    // sort keeps the tree's segment order (stable), then steps
    concat(parts, UnionArgs::default())
        .expect("same columns")
        .with_row_index("__i", None)
        .with_column(col("__i").min().over(segment.clone()).expect("static window").alias("__seg"))
        .sort(["__seg", "step"], Default::default())
        .with_column(
            when(col("kind").eq(lit("current")))
                .then(col("amount"))
                .otherwise(col("amount").cum_sum(false).over(segment).expect("static window"))
                .alias("running_total"),
        )
        .drop(by_name(["__i", "__seg"], true, false))
}

/// Column docs of kpi_tree.
pub const KPI_TREE_DOC: TableDoc = TableDoc {
    name: "kpi_tree",
    description: "Every node of the IS/FS KPI tree per fiscal quarter, comparison and segment: compared with the quarter before and with the same quarter a year earlier, with each identity node's exact LMDI share of its parent's change.",
    columns: &[
        ("period", "fiscal quarter, e.g. FY2026-Q2"),
        ("comparison", "prior_quarter (against the quarter before) or year_ago (against the same quarter of the fiscal year before); every row is in both"),
        ("compare_to", "the quarter compared with (null where it is before the data: the first quarter for prior_quarter, the first four for year_ago)"),
        ("segment_kind", "total, source, industry or region"),
        ("segment", "all for the total; inbound/outbound/fs_sourced; a reference industry; a region"),
        ("node", "metric name (salesrelay metrics defines each)"),
        ("parent", "the node it hangs under (null at the root)"),
        ("node_kind", "identity, factor, count or indicator"),
        ("value", "the node's value in the quarter (null where a ratio's denominator is 0 or a median has no values)"),
        ("prior_value", "the value in compare_to"),
        ("change", "value - prior_value"),
        ("contribution", "share of the parent's change: LMDI-I for factors of a product, own change for children of a sum; null for the root, counts and indicators"),
        ("unit", "count, ratio (0-1), currency (input currency), hours or days"),
        ("open_deals", "cohort nodes (sql_to_win): the cohort's opportunities still open at the end of the data, so the value can still rise; null for flow nodes"),
        ("mature", "cohort nodes: the quarter is complete and at least maturity.closed_share (default 90%) of the cohort's opportunities are closed; an immature value is not final and is not ranked; null for flow nodes"),
    ],
};

/// Column docs of kpi_attribution.
pub const KPI_ATTRIBUTION_DOC: TableDoc = TableDoc {
    name: "kpi_attribution",
    description: "The revenue bridge of the reviewed quarter per comparison and segment: revenue in the quarter compared with, each driver's LMDI contribution in tree order, current revenue.",
    columns: &[
        ("period", "the reviewed fiscal quarter"),
        ("comparison", "prior_quarter (from the quarter before) or year_ago (from the same quarter a year earlier)"),
        ("compare_to", "the quarter compared with (null where it is before the data)"),
        ("segment_kind", "total, source, industry or region"),
        ("segment", "segment value (all for the total)"),
        ("step", "order of the bridge: 0 = prior revenue, 1-6 = IS drivers, 7 = IS branch not decomposed, 8-10 = FS drivers, 11 = FS branch not decomposed (or, item revenue, the whole change where the input cannot tell IS- from FS-sourced deals), 12 = current revenue (7 and 11 only where a branch cannot be split into drivers)"),
        ("item", "revenue_prior, a driver node name, revenue_is / revenue_fs (not decomposed), or revenue"),
        ("branch", "is (inside-sales-sourced revenue) or fs (field-sourced revenue) for drivers and a branch's not-decomposed step; null otherwise"),
        ("kind", "base, driver, not_decomposed (a branch's whole change where the input cannot support one of its factors; revenue's whole change where it cannot tell IS- from FS-sourced deals) or current"),
        ("amount", "revenue for base and current; the driver's contribution for drivers (null where the branch is not decomposed); the branch's change for not_decomposed (currency)"),
        ("prior_value", "the driver's (or revenue's) value in compare_to"),
        ("value", "the driver's (or revenue's) value in the reviewed quarter"),
        ("running_total", "revenue after this step; equals current revenue after the last driver"),
    ],
};

/// kpi_tree in the registry: read by kpi_attribution, so collected once.
pub const KPI_TREE: OutputTable = OutputTable {
    doc: KPI_TREE_DOC,
    needs: &[],
    column_needs: &[],
    build: |m| Ok(Some(kpi_tree(m, m.wide()?)?)),
};

/// kpi_attribution in the registry: the bridge of the reviewed quarter.
pub const KPI_ATTRIBUTION: OutputTable = OutputTable {
    doc: KPI_ATTRIBUTION_DOC,
    needs: &[],
    column_needs: &[],
    build: |m| Ok(m.built(&KPI_TREE)?.map(|kpi| kpi_attribution(kpi.lazy(), &m.period_label()))),
};
