//! Metrics: one pub fn per output table, each returning a LazyFrame built
//! from the validated tables. Names follow METRICS.md verbatim.

pub mod engagement;
pub mod events;
pub mod handoffs;
pub mod lmdi;
pub mod losses;
pub mod movement;
pub mod reps;
pub mod tree;
pub mod visit_plan;
pub mod visits;

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::calendar::{quarter_index, quarter_label};
use crate::config::Config;
use crate::error::Result;
use crate::industries::Industries;
use crate::calendar::Span;

/// What every metric reads: the validated tables, the configuration, the
/// industry reference and the span of quarters in the data.
pub struct Model<'a> {
    pub config: &'a Config,
    pub tables: &'a BTreeMap<&'static str, DataFrame>,
    pub industries: &'a Industries,
    pub span: Span,
    /// What the input cannot support and why (tables, `table.column`,
    /// facts a mapping declares missing such as `opportunities.lost`).
    pub unavailable: &'a BTreeMap<String, String>,
    /// The event frames, built once on first use (see `events`).
    pub facts: events::Facts,
}

/// Segment kinds in output order.
pub const SEGMENT_KINDS: [&str; 4] = ["total", "source", "industry", "region"];
/// The source segments.
pub const SOURCES: [&str; 3] = ["inbound", "outbound", events::FS_SOURCED];

impl Model<'_> {
    /// A table as a LazyFrame, if it came in.
    pub fn lazy(&self, name: &str) -> Option<LazyFrame> {
        self.tables.get(name).map(|df| df.clone().lazy())
    }

    /// Whether the input supports `need`: a table (`handoffs`), a column
    /// (`leads.qualified_at`) or a fact (`opportunities.lost`: lost deals are
    /// recorded), i.e. its table came in and nothing says it is unavailable.
    pub fn has(&self, need: &str) -> bool {
        let table = need.split_once('.').map_or(need, |(t, _)| t);
        self.tables.contains_key(table) && !self.unavailable.contains_key(need)
    }

    /// Whether the input supports every one of `needs`.
    pub fn has_all(&self, needs: &[&str]) -> bool {
        needs.iter().all(|n| self.has(n))
    }

    /// Why `need` is not available, if it is not.
    pub fn why_not(&self, need: &str) -> Option<String> {
        if self.has(need) {
            return None;
        }
        let table = need.split_once('.').map_or(need, |(t, _)| t);
        Some(
            self.unavailable
                .get(need)
                .or_else(|| self.unavailable.get(table))
                .cloned()
                .unwrap_or_else(|| format!("no {table} in the input")),
        )
    }

    /// The quarter index of timestamp column `ts`.
    pub fn period(&self, ts: &str) -> Expr {
        quarter_index(col(ts), self.config)
    }

    /// The label of a quarter index expression.
    pub fn label(&self, index: Expr) -> Expr {
        quarter_label(index, self.config)
    }

    /// Quarter indexes from the first to the last quarter in the data.
    pub fn periods(&self) -> Vec<i32> {
        (self.span.first.0..=self.span.last.0).collect()
    }

    /// Every (segment_kind, segment): total/all, the three sources, the
    /// reference industries, the accounts' regions.
    pub fn segments(&self) -> Result<Vec<(String, String)>> {
        let mut out = vec![("total".to_string(), "all".to_string())];
        out.extend(SOURCES.iter().map(|s| ("source".to_string(), s.to_string())));
        out.extend(self.industries.names.iter().map(|s| ("industry".to_string(), s.clone())));
        let regions = events::accounts(self).select([col("region")]).unique(None, UniqueKeepStrategy::Any).sort(["region"], Default::default()).collect()?;
        for r in regions.column("region")?.str()?.iter().flatten() {
            out.push(("region".to_string(), r.to_string()));
        }
        Ok(out)
    }

    /// Every quarter x every segment: `period`, `segment_kind`, `segment`.
    pub fn grid(&self) -> Result<LazyFrame> {
        let segments = self.segments()?;
        let periods = df!("period" => self.periods())?;
        let segs = df!(
            "segment_kind" => segments.iter().map(|s| s.0.clone()).collect::<Vec<_>>(),
            "segment" => segments.iter().map(|s| s.1.clone()).collect::<Vec<_>>(),
            "__segment_order" => (0..segments.len() as u32).collect::<Vec<_>>(),
        )?;
        Ok(periods.lazy().cross_join(segs.lazy(), None))
    }
}

/// The docs of the two columns `with_completeness` adds.
pub const COMPLETENESS_COLUMNS: [(&str, &str); 2] = [
    ("days_covered", "days of the quarter the data covers: all of them before the last quarter in the data; for the last, from its start to the last event's local date, inclusive (null for period all)"),
    ("complete", "false for a quarter the data covers only partly: its counts and sums are not comparable with full quarters (null for period all)"),
];

/// Adds `days_covered` and `complete` (per quarter, see `Span`) to a table
/// with a `period` column of quarter labels, so a partial last quarter can
/// never pass for a full one. Other tables pass through.
pub fn with_completeness(m: &Model, mut doc: crate::output::Doc, df: DataFrame) -> Result<(crate::output::Doc, DataFrame)> {
    if !matches!(df.schema().get("period"), Some(DataType::String)) || df.schema().get("complete").is_some() {
        return Ok((doc, df));
    }
    let quarters: Vec<crate::calendar::Quarter> = m.periods().into_iter().map(crate::calendar::Quarter).collect();
    let coverage = df!(
        "period" => quarters.iter().map(|q| q.label(m.config)).collect::<Vec<_>>(),
        "days_covered" => quarters.iter().map(|q| m.span.days_covered(*q, m.config) as i32).collect::<Vec<_>>(),
        "complete" => quarters.iter().map(|q| m.span.is_complete(*q, m.config)).collect::<Vec<_>>(),
    )?;
    let out = df
        .lazy()
        .join(
            coverage.lazy(),
            [col("period")],
            [col("period")],
            JoinArgs { maintain_order: MaintainOrderJoin::Left, ..JoinArgs::new(JoinType::Left) },
        )
        .collect()?;
    doc.columns.extend(COMPLETENESS_COLUMNS.iter().map(|(c, d)| (c.to_string(), d.to_string())));
    Ok((doc, out))
}

/// Whether the quarter with index `period` is complete (every quarter but
/// a partial last one).
pub fn quarter_complete(m: &Model, period: Expr) -> Expr {
    let last = m.span.last;
    period.lt(lit(last.0)).or(lit(m.span.is_complete(last, m.config)))
}

/// Whether a cohort's win numbers are final enough to rank on: its quarter
/// is `complete` and at least `maturity.closed_share` of its `deals` are
/// closed (`open` still open). A cohort without deals has nothing pending.
/// Until then its win rate is only a lower bound.
pub fn mature(m: &Model, complete: Expr, deals: Expr, open: Expr) -> Expr {
    let deals = deals.cast(DataType::Float64);
    let closed_share = (deals.clone() - open.cast(DataType::Float64)) / deals.clone();
    complete.and(deals.clone().eq(lit(0.0)).or(closed_share.gt_eq(lit(m.config.maturity.closed_share))))
}

/// A handoff FS accepted: status accepted or sent_back (sent back implies
/// accepted first). Every table that counts acceptances uses this.
pub fn accepted(status: Expr) -> Expr {
    status.is_in(crate::typing::str_list(&["accepted", "sent_back"]), false)
}

/// A call that connected: outcome connected or appointment_set.
pub fn connected(outcome: Expr) -> Expr {
    outcome.is_in(crate::typing::str_list(&["connected", "appointment_set"]), false)
}

/// A response within one hour, inclusive (`hours` from the lead's creation).
pub fn within_1h(hours: Expr) -> Expr {
    hours.lt_eq(lit(1.0))
}

/// In-person share of meetings: visits / (visits + online meetings).
pub fn in_person_share(visits: Expr, online: Expr) -> Expr {
    ratio(visits.clone(), visits + online)
}

/// num / den as Float64; null where den is zero or null (never 0, never NaN).
pub fn ratio(num: Expr, den: Expr) -> Expr {
    let den = den.cast(DataType::Float64);
    when(den.clone().eq(lit(0.0)).or(den.clone().is_null()))
        .then(lit(NULL).cast(DataType::Float64))
        .otherwise(num.cast(DataType::Float64) / den)
}

/// The lower median (no interpolation), so it is one of the values.
pub fn median(e: Expr) -> Expr {
    e.quantile(lit(0.5), QuantileMethod::Lower)
}

/// Exact elapsed hours from `from` to `to` (fractional).
pub fn hours_between(to: Expr, from: Expr) -> Expr {
    (to - from).dt().total_microseconds(false).cast(DataType::Float64) / lit(3_600_000_000.0)
}

/// Exact elapsed days from `from` to `to` (fractional).
pub fn days_between(to: Expr, from: Expr) -> Expr {
    (to - from).dt().total_microseconds(false).cast(DataType::Float64) / lit(86_400_000_000.0)
}

/// How many rows satisfy `cond` (nulls count as false).
pub fn count_if(cond: Expr) -> Expr {
    cond.fill_null(lit(false)).cast(DataType::Int64).sum()
}

/// Sum of `value` over rows satisfying `cond`; 0 when none.
pub fn sum_if(value: Expr, cond: Expr) -> Expr {
    when(cond.fill_null(lit(false))).then(value).otherwise(lit(0.0)).cast(DataType::Float64).sum()
}

/// Groups `lf` (with `period`, `source`, `industry`, `region`) by period and
/// each segment kind, computing `aggs` for each: `period`, `segment_kind`,
/// `segment`, then the aggregates.
pub fn by_segment(lf: LazyFrame, aggs: &[Expr]) -> LazyFrame {
    by_segment_keyed(lf, &[], aggs)
}

/// `by_segment` with extra group keys (e.g. a stage) kept as columns.
pub fn by_segment_keyed(lf: LazyFrame, keys: &[&str], aggs: &[Expr]) -> LazyFrame {
    // one scan of the input feeds the four groupings
    let lf = lf.cache();
    let extra: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    let mut by = vec![col("period")];
    by.extend(extra.clone());
    let mut parts = vec![lf
        .clone()
        .group_by(by)
        .agg(aggs.to_vec())
        .with_columns([lit("total").alias("segment_kind"), lit("all").alias("segment")])];
    for kind in ["source", "industry", "region"] {
        let mut by = vec![col("period"), col(kind).alias("segment")];
        by.extend(extra.clone());
        parts.push(lf.clone().group_by(by).agg(aggs.to_vec()).with_column(lit(kind).alias("segment_kind")));
    }
    concat(parts, UnionArgs { to_supertypes: true, diagonal: true, ..Default::default() })
        .expect("same columns in every part")
}

/// Left-joins per-segment aggregates onto the grid.
pub fn onto_grid(grid: LazyFrame, part: LazyFrame) -> LazyFrame {
    let keys = [col("period"), col("segment_kind"), col("segment")];
    grid.join(part, keys.clone(), keys, JoinArgs::new(JoinType::Left))
}
