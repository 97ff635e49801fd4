//! The input tables as events, each carrying its segments (METRICS.md,
//! "Which segment an event belongs to"):
//! - a lead by its account and its source;
//! - a handoff by its lead;
//! - an opportunity by its own account, and by its lead's source
//!   (fs_sourced without a lead);
//! - an activity by its own account, and by the source of its lead, else of
//!   its opportunity, else of its rep's role (SDR and AI_SDR inbound, BDR
//!   outbound, FS fs_sourced).
//!
//! Every frame here has `source`, `industry` (reference industry) and
//! `region` columns, held as codes in the segments' dictionary
//! (`ids::segment_type`; looked up once per account, lead or rep, never
//! per event): compare them with text
//! (`col("source").eq(lit("inbound"))` compares codes), group by them
//! (`group_agg` and `by_segment` group a code) and cast one to text
//! before joining it with text or putting it beside text in a union;
//! output tables are written as text (`ids::Ids::decode`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use polars::prelude::*;

use super::{GroupAgg, Got, Model};
use crate::sync::locked;

/// Region text for accounts without one.
pub const NO_REGION: &str = "unknown";
/// Source of an opportunity without a lead.
pub const FS_SOURCED: &str = "fs_sourced";

/// Accounts: `account_id`, `industry` (reference industry), `industry_raw`, `region`.
pub fn accounts(m: &Model) -> LazyFrame {
    memo(m, "accounts", || Some(build_accounts(m))).unwrap_or_else(|| build_accounts(m))
}

/// Builds `accounts`.
fn build_accounts(m: &Model) -> LazyFrame {
    let lf = m.lazy("accounts").expect("accounts is a required table").select([
        col("account_id"),
        col("industry"),
        col("region"),
        col("latitude"),
        col("longitude"),
    ]);
    // the segments as codes (see above), looked up once per account
    m.industries
        .map(lf)
        .select([
            col("account_id"),
            col("reference_industry").cast(crate::ids::segment_type()).alias("industry"),
            col("industry").alias("industry_raw"),
            col("region").fill_null(lit(NO_REGION)).cast(crate::ids::segment_type()).alias("region"),
        ])
}

/// Reps: `rep_id`, `team`, `role`.
pub fn reps(m: &Model) -> LazyFrame {
    m.lazy("reps").expect("reps is a required table").select([col("rep_id"), col("team"), col("role"), col("rep_name")])
}

/// Segment text as its code (for a segment every event of a frame shares,
/// or a default beside coded values).
fn coded(text: &str) -> Expr {
    lit(text.to_string()).cast(crate::ids::segment_type())
}

fn with_account(lf: LazyFrame, m: &Model) -> LazyFrame {
    looked_up(lf, "account_id", accounts(m).select([col("account_id"), col("industry"), col("region")]), &["industry", "region"])
}

pub(crate) use crate::typing::in_order;

/// Builds `leads`.
fn build_leads(m: &Model) -> Option<LazyFrame> {
    // source (leads' one coded enum) stays a code, as the other segments
    let leads = with_account(m.coded("leads")?, m);
    // each lead's first IS activity, joined once here for every table that reads it
    Some(match first_is_touch(m) {
        Some(first) => looked_up(leads, "lead_id", first, &["first_is_at"]),
        None => leads.with_column(lit(NULL).cast(crate::typing::utc_type()).alias("first_is_at")),
    })
}

/// Builds `opportunities`.
fn build_opportunities(m: &Model) -> LazyFrame {
    let opps = m.lazy("opportunities").expect("opportunities is a required table");
    let opps = match m.coded("leads") {
        Some(leads) => opps.join(
            leads.select([col("lead_id"), col("source").alias("lead_source"), col("created_at").alias("lead_created_at")]),
            [col("lead_id")],
            [col("lead_id")],
            in_order(),
        ),
        None => opps.with_columns([
            lit(NULL).cast(crate::ids::segment_type()).alias("lead_source"),
            lit(NULL).cast(crate::typing::utc_type()).alias("lead_created_at"),
        ]),
    };
    let opps = opps.with_column(
        when(col("lead_id").is_null())
            .then(coded(FS_SOURCED))
            .otherwise(coalesce(&[col("lead_source"), coded("unknown")]))
            .alias("source"),
    );
    with_account(opps.drop(by_name(["lead_source"], true, false)), m)
}

/// Builds `handoffs`.
fn build_handoffs(m: &Model) -> Option<LazyFrame> {
    let handoffs = m.lazy("handoffs")?;
    let lead_segments = match leads(m) {
        Some(l) => l.select([
            col("lead_id"),
            col("account_id"),
            col("source"),
            col("industry"),
            col("region"),
            col("created_at").alias("lead_created_at"),
        ]),
        None => return Some(handoffs.with_columns([
            lit(NULL).cast(crate::ids::CODE_TYPE).alias("account_id"),
            coded("unknown").alias("source"),
            coded(crate::industries::OTHER).alias("industry"),
            coded(NO_REGION).alias("region"),
        ])),
    };
    Some(handoffs.join(lead_segments, [col("lead_id")], [col("lead_id")], in_order()))
}

/// Builds `activities`: every column of the validated table, rows in
/// order, and the five segment columns as codes. The small tables'
/// segments are coded (reps, leads, deals and accounts: a few million rows
/// at most) and looked up by the activities' id codes (`looked_up`), so no
/// text is built or hashed per activity.
fn build_activities(m: &Model) -> Option<LazyFrame> {
    let acts = m.coded("activities")?;
    // the source by the rep's role worked out per rep (thousands), not per
    // activity; an activity without a known rep has none ("unknown")
    let rep_columns = reps(m).select([
        col("rep_id"),
        contract_enum("team", crate::contract::TEAMS).alias("team"),
        contract_enum("role", crate::contract::ROLES).alias("role"),
        source_by_role(coded).alias("role_source"),
    ]);
    let acts = looked_up(acts, "rep_id", rep_columns, &["team", "role", "role_source"]);
    let acts = match m.coded("leads") {
        Some(l) => looked_up(acts, "lead_id", l.select([col("lead_id"), col("source").alias("lead_source")]), &["lead_source"]),
        None => acts.with_column(lit(NULL).cast(crate::ids::segment_type()).alias("lead_source")),
    };
    let acts = looked_up(acts, "opportunity_id", opportunities(m).select([col("opportunity_id"), col("source").alias("opp_source")]), &["opp_source"]);
    // the lead's source, else the deal's, else the rep's role's
    let acts = acts
        .with_column(coalesce(&[col("lead_source"), col("opp_source"), col("role_source"), coded("unknown")]).alias("source"))
        .drop(by_name(["lead_source", "opp_source", "role_source"], true, false))
        .with_column(m.period("occurred_at").alias(QUARTER));
    Some(with_account(acts, m))
}

/// `looked_up`, keeping only the rows whose `key` `table` holds: what an
/// inner join gives, in `lf`'s order (a flag looked up beside `values`
/// says which rows found theirs, whatever the values hold).
pub fn looked_up_found(lf: LazyFrame, key: &str, table: LazyFrame, values: &[&str]) -> LazyFrame {
    const FOUND: &str = "__found";
    let with_flag: Vec<&str> = values.iter().copied().chain([FOUND]).collect();
    looked_up(lf, key, table.with_column(lit(true).alias(FOUND)), &with_flag)
        .filter(col(FOUND).fill_null(lit(false)))
        .drop(by_name([FOUND], true, false))
}

/// Validated text column `c`, whose values are the contract's `values`,
/// as a Polars Enum of them (`ids::contract_enum_type`): one byte a row (a
/// rep's team and role beside each of 17M activities at scale 1000: 0.1
/// GiB less than codes of the segments' dictionary). The tables only
/// compare them with text.
fn contract_enum(c: &str, values: &[&str]) -> Expr {
    col(c).cast(crate::ids::contract_enum_type(values).unwrap_or_else(crate::ids::segment_type))
}

/// `lf` with the columns `values` of the row of `table` whose column `key`
/// (unique there: a validated table's key, a group-by's keys) holds each
/// row's `key`, null where none: what a left join keeping `lf`'s rows in
/// order gives. For ids, each value is laid out by the key's dictionary
/// code, once (a column as long as the dictionary, gathered from the
/// table's rows by the code's row, which Polars' scatter sets), and picked
/// by each row's code (`ids::taken_at`, the code as it is, not copied for
/// each value): a gather, not a hash join per row, which pays where
/// `lf` is much longer than `table` (17M activities against 23k reps or 3M
/// leads; 1M deals against per-deal aggregates of as many rows was
/// slower). Keys that are not ids or hold a null, a table that will not
/// collect or keys that repeat take the join.
pub fn looked_up(lf: LazyFrame, key: &str, table: LazyFrame, values: &[&str]) -> LazyFrame {
    let join = |lf: LazyFrame, table: LazyFrame| lf.join(table, [col(key)], [col(key)], in_order());
    let Ok(df) = table.clone().collect() else { return join(lf, table) };
    // codes name the same ids only within one dictionary
    let same = lf.clone().collect_schema().is_ok_and(|s| s.get(key).is_some_and(|t| df.column(key).is_ok_and(|k| crate::ids::same_codes(key, k.dtype(), t))));
    match same.then(|| crate::ids::laid_out(&df, key, values)).flatten() {
        Some(picked) => lf
            .with_columns(picked.into_iter().zip(values).map(|(v, name)| crate::ids::taken_at(v, col(key).to_physical()).alias(*name)).collect::<Vec<_>>()),
        None => join(lf, df.lazy()),
    }
}

/// The source an activity with neither lead nor deal has, by its rep's
/// role (SDR and AI_SDR inbound, BDR outbound, FS fs_sourced), each source
/// as `value` spells it.
fn source_by_role(value: impl Fn(&str) -> Expr) -> Expr {
    when(col("role").eq(lit("sdr")).or(col("role").eq(lit("ai_sdr"))))
        .then(value("inbound"))
        .when(col("role").eq(lit("bdr")))
        .then(value("outbound"))
        .when(col("role").eq(lit("fs")))
        .then(value(FS_SOURCED))
        .otherwise(value("unknown"))
}

/// Builds `first_is_touch`.
fn build_first_is_touch(m: &Model) -> Option<LazyFrame> {
    // the activities of IS reps by the fact's team code (a comparison of codes, not a join)
    let touches = activities(m)?
        .filter(col("lead_id").is_not_null().and(col("team").eq(lit("is"))))
        .select([col("lead_id"), col("occurred_at").alias("first_is_at")]);
    // a group per lead (scale 1000: 3.2M groups from 14.6M activities): each lead's
    // first touch kept at its code's place (`ids::least_by_code`; the fact 0.75 -> 0.47 s)
    let touches = match touches.clone().collect() {
        Ok(df) => match crate::ids::least_by_code(&df, "lead_id", "first_is_at") {
            Some(first) => return Some(first.lazy()),
            // the touches found already, not filtered again
            None => df.lazy(),
        },
        // (its error is reported by the plan's own collect below)
        Err(_) => touches,
    };
    // otherwise (ids not coded) grouped by Polars' streaming engine, which groups that
    // many faster than the in-memory one (1.55 -> 1.22 s)
    let plan = touches.group_by([col("lead_id")]).agg([col("first_is_at").min()]);
    // (collected here, so `SALESRELAY_PROFILE=fact_first_is_touch` profiles it here)
    profile_fact("first_is_touch", "fact first_is_touch", &plan);
    Some(super::streamed(m, plan))
}

/// Per lead with opportunities: `has_won` (a won opportunity at any time in
/// the data), `won_amount`, `deals` (its opportunities) and `open_deals`
/// (of which still open at the end of the data: the lead's cohort can
/// still win more).
fn build_leads_won(m: &Model) -> LazyFrame {
    m.lazy("opportunities")
        .expect("opportunities is a required table")
        .filter(col("lead_id").is_not_null())
        .group_by([col("lead_id")])
        .agg([
            col("outcome").eq(lit("won")).any(true).alias("has_won"),
            col("amount").filter(col("outcome").eq(lit("won"))).sum().alias("won_amount"),
            len().cast(DataType::Int64).alias("deals"),
            col("outcome").eq(lit("open")).cast(DataType::Int64).sum().alias("open_deals"),
        ])
}

/// The event frames every table reads, each built (joined to its segments)
/// and materialised once per run, on first use: one walk of the model no
/// longer repeats the same joins table after table. A frame is let go once
/// no table still to be computed reads it (`let_go`, `COMPUTE_ORDER`).
#[derive(Default)]
pub struct Facts {
    /// The frames built so far and not let go, by name.
    pub frames: super::Held,
    /// The frames asked for (built or not) since `take_read` last ran.
    read: Mutex<BTreeSet<&'static str>>,
    /// How many times each frame was built (`COMPUTE_ORDER`'s test: never twice).
    builds: Mutex<BTreeMap<&'static str, usize>>,
}

impl Facts {
    /// The frames asked for since the last call, by name.
    pub fn take_read(&self) -> Vec<&'static str> {
        std::mem::take(&mut *locked(&self.read)).into_iter().collect()
    }

    /// How many times each frame was built, by name.
    pub fn builds(&self) -> BTreeMap<&'static str, usize> {
        locked(&self.builds).clone()
    }
}

/// Event frame `name` of `m`, built by `build` the first time (and again
/// only if it was let go before a reader `COMPUTE_ORDER` does not list).
/// Should it fail to collect, the plan is returned as it is and its
/// consumer reports the error.
fn memo(m: &Model, name: &'static str, build: impl FnOnce() -> Option<LazyFrame>) -> Option<LazyFrame> {
    locked(&m.facts.read).insert(name);
    let build = || {
        *locked(&m.facts.builds).entry(name).or_default() += 1;
        let held = |_: &Option<LazyFrame>| Some(m.facts.frames.get(name).flatten().map_or(0, |df| df.estimated_size()));
        let build = || {
            let lf = build()?;
            // a frame `beside` already collected was profiled there
            if !matches!(lf.logical_plan, DslPlan::DataFrameScan { .. }) {
                profile_fact(name, &format!("fact {name}"), &lf);
            }
            Some(lf)
        };
        crate::progress::timed(&format!("      fact {name}"), || memo_build(m, name, build), held)
    };
    match m.facts.frames.get_or_build(name, build) {
        Got::Held(df) => df.map(DataFrame::lazy),
        Got::Built(lf) => lf,
    }
}

/// `SALESRELAY_PROFILE=fact_<name>` (e.g. fact_first_is_touch): prints the
/// slowest nodes of `lf`, the plan that builds event frame `name`, as `title`.
fn profile_fact(name: &str, title: &str, lf: &LazyFrame) {
    if super::profiled(&format!("fact_{name}")) {
        if let Err(e) = super::print_profile(title, lf.clone()) {
            crate::tell!("    fact {name}: not profiled ({e})");
        }
    }
}

fn memo_build(m: &Model, name: &'static str, build: impl FnOnce() -> Option<LazyFrame>) -> Option<LazyFrame> {
    match build() {
        None => {
            m.facts.frames.insert(name, None);
            None
        }
        Some(lf) => match lf.clone().collect() {
            Ok(df) => {
                m.facts.frames.insert(name, Some(df.clone()));
                Some(df.lazy())
            }
            Err(_) => Some(lf),
        },
    }
}

/// `full`, the rows of `base` in order with the columns `added` that
/// joins put beside them (one matching row each: the keys are unique), as
/// `base`'s own columns, shared with the validated table rather than
/// copied, beside the added ones alone (the joins then carry only their
/// keys: scale 1000, the leads, deals and handoffs frames 420 MB smaller).
/// `full` itself where the added columns do not line up with `base`.
/// The joins run here, so `SALESRELAY_PROFILE=fact_<name>` profiles them here.
fn beside(name: &str, base: Option<LazyFrame>, full: Option<LazyFrame>, added: &[&str]) -> Option<LazyFrame> {
    let full = full?;
    let Some(Ok(base)) = base.map(LazyFrame::collect) else { return Some(full) };
    let columns = full.clone().select(added.iter().map(|c| col(*c)).collect::<Vec<_>>());
    profile_fact(name, &format!("fact {name}, the columns its joins add"), &columns);
    match columns.collect() {
        Ok(columns) if columns.height() == base.height() => base.hstack(columns.columns()).ok().map(DataFrame::lazy).or(Some(full)),
        _ => Some(full),
    }
}

/// Leads with their segments and `first_is_at`, the first IS activity on
/// the lead whenever it happened (null without one).
pub fn leads(m: &Model) -> Option<LazyFrame> {
    memo(m, "leads", || beside("leads", m.coded("leads"), build_leads(m), &["industry", "region", "first_is_at"]))
}

/// Opportunities with their segments and, for IS-sourced ones, the lead's created_at.
pub fn opportunities(m: &Model) -> LazyFrame {
    let build = || beside("opportunities", m.lazy("opportunities"), Some(build_opportunities(m)), &["lead_created_at", "source", "industry", "region"]);
    memo(m, "opportunities", build).unwrap_or_else(|| build_opportunities(m))
}

/// Handoffs with their lead's segments and account, and `handoff_facts`.
pub fn handoffs(m: &Model) -> Option<LazyFrame> {
    memo(m, "handoffs", || {
        let full = build_handoffs(m).map(|h| h.with_columns(handoff_facts(m)));
        let added = ["account_id", "source", "industry", "region", "lead_created_at", "accepted_flag", "days_to_first_contact", "hours_to_first_contact", "sla_met"];
        beside("handoffs", m.lazy("handoffs"), full, &added)
    })
}

/// Per-handoff facts shared by the tree, the handoffs table and the reps:
/// `accepted_flag`, `days_to_first_contact`, `hours_to_first_contact`,
/// `sla_met`. The `handoffs` frame carries them (worked out once a run).
pub fn handoff_facts(m: &Model) -> Vec<Expr> {
    let contact = col("first_fs_contact_at");
    let handed = col("handed_off_at");
    let business = crate::calendar::business_seconds(contact.clone(), m.config) - crate::calendar::business_seconds(handed.clone(), m.config);
    let limit = m.config.sla_business_days * 86_400.0;
    vec![
        super::accepted(col("status")).alias("accepted_flag"),
        super::days_between(contact.clone(), handed.clone()).alias("days_to_first_contact"),
        super::hours_between(contact.clone(), handed.clone()).alias("hours_to_first_contact"),
        when(contact.clone().is_null())
            .then(lit(false))
            .when(contact.lt(handed))
            .then(lit(true))
            .otherwise(business.lt_eq(lit(limit)))
            .alias("sla_met"),
    ]
}

/// Activities with their segments and the rep's team and role. The
/// largest table: only the columns the joins add (the five segments and
/// the quarter) are materialised, beside the validated table's own
/// columns, which are shared, not copied (see `beside`).
///
/// The segments (source, industry, region) and the enums (kind, outcome)
/// are codes (see the module's doc and `Model::coded`), the rep's team and
/// role a Polars Enum of the contract's values (`contract_enum`); `QUARTER`
/// holds each activity's quarter index.
pub fn activities(m: &Model) -> Option<LazyFrame> {
    // the segments held as codes in the segments' dictionary (a handful of values, 4 bytes a row
    // instead of 16), team and role as an Enum (1 byte)
    memo(m, "activities", || beside("activities", m.coded("activities"), build_activities(m), &ACTIVITY_SEGMENTS))
}

/// The columns the activities fact adds to the validated table.
const ACTIVITY_SEGMENTS: [&str; 6] = ["team", "role", "source", "industry", "region", QUARTER];

/// The activities fact's column with each activity's quarter index (of
/// occurred_at), computed once: four tables read it over 17M rows at scale 1000.
pub const QUARTER: &str = "__quarter";

/// FS reps' visits and online meetings (team fs, kind visit or
/// online_meeting), from the activities fact: `rep_id`, `opportunity_id`,
/// `activity_id`, `occurred_at`, `kind` (coded), `with_decision_maker`,
/// `industry` (coded) and `QUARTER`. Four tables read them (fs_reps,
/// industry_visit_ratio, visit_mix_reps, meeting_pattern): picked out of the
/// activities once, not once a table (six passes over 17M rows at scale 1000).
pub fn fs_meetings(m: &Model) -> Option<LazyFrame> {
    let build = || {
        Some(activities(m)?.filter(col("team").eq(lit("fs")).and(meeting_kind())).select([
            col("rep_id"),
            col("opportunity_id"),
            col("activity_id"),
            col("occurred_at"),
            col("kind"),
            col("with_decision_maker"),
            col("industry"),
            col(QUARTER),
        ]))
    };
    memo(m, "fs_meetings", build)
}

/// Whether an activity's kind is a meeting (visit or online_meeting).
pub fn meeting_kind() -> Expr {
    col("kind").is_in(crate::typing::str_list(&["visit", "online_meeting"]), false)
}

/// Closed (won or lost) opportunities that had any FS visit or online
/// meeting: `industry`, `owner_rep_id`, `outcome`, `amount`, `mode`
/// (`visited`: at least one visit, else `online_only`), `__p` (the
/// quarter of close) and `__cycle` (days from creation to close). Read by
/// industry_visit_ratio and visit_mix_reps.
pub fn closed_deal_modes(m: &Model) -> Option<LazyFrame> {
    memo(m, "closed_deal_modes", || build_closed_deal_modes(m))
}

/// Builds `closed_deal_modes`.
fn build_closed_deal_modes(m: &Model) -> Option<LazyFrame> {
    // a group per deal met, a count each (the same in any order): grouped by the streaming engine
    let modes = super::streamed(m,
        fs_meetings(m)?.filter(col("opportunity_id").is_not_null()).group_agg([col("opportunity_id")], [super::count_if(col("kind").eq(lit("visit"))).alias("__visits")]),
    )
    .with_column(when(col("__visits").gt(lit(0))).then(lit("visited")).otherwise(lit("online_only")).alias("mode"));
    Some(
        opportunities(m)
            .filter(col("closed_at").is_not_null().and(col("outcome").is_in(crate::typing::str_list(&["won", "lost"]), false)))
            .join(modes, [col("opportunity_id")], [col("opportunity_id")], JoinArgs::new(JoinType::Inner))
            .with_columns([m.period("closed_at").alias("__p"), super::days_between(col("closed_at"), col("created_at")).alias("__cycle")])
            .select([col("industry"), col("owner_rep_id"), col("outcome"), col("amount"), col("mode"), col("__p"), col("__cycle")]),
    )
}

/// The win rate of closed deals by stage entered, `stage` and `__rate`
/// (`visit_plan::stage_rates_plan`). Read by pipeline_coverage and
/// priority_deals.
pub fn stage_win_rates(m: &Model) -> LazyFrame {
    let build = || super::visit_plan::stage_rates_plan(m);
    memo(m, "stage_win_rates", || Some(build())).unwrap_or_else(build)
}

/// First IS activity on each lead, whenever it happened: `lead_id`, `first_is_at`.
pub fn first_is_touch(m: &Model) -> Option<LazyFrame> {
    memo(m, "first_is_touch", || build_first_is_touch(m))
}

/// Per lead with opportunities: `has_won`, `won_amount`, `deals`, `open_deals` (see `build_leads_won`).
pub fn leads_won(m: &Model) -> LazyFrame {
    memo(m, "leads_won", || Some(build_leads_won(m))).unwrap_or_else(|| build_leads_won(m))
}
