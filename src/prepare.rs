//! What every command that reviews a quarter does first: find and read the
//! input, validate it, find the quarters in the data and choose the one to
//! review.

use std::fmt::Write as _;
use std::path::PathBuf;

use polars::prelude::*;

use crate::calendar::{quarter_index, Quarter, Span};
use crate::contract::TABLES;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::findings::format_findings;
use crate::industries::Industries;
use crate::load::{read_input, Hashes};
use crate::metrics::Model;
use crate::progress::{thousands, Progress};
use crate::validate::{validate, Validated};

/// What a command needs to find and read its input.
#[derive(Debug, Clone)]
pub struct InputOptions {
    pub input: PathBuf,
    pub config: Option<PathBuf>,
    /// A built-in mapping's name or a mapping file (see `mapping`).
    pub mapping: Option<String>,
    /// Whether the input files are hashed (the manifest records their
    /// SHA-256): every command but `validate`, which writes nothing.
    pub hashes: Hashes,
}

impl InputOptions {
    /// Native files in `input`, its salesrelay.toml if any.
    pub fn new(input: impl Into<PathBuf>) -> InputOptions {
        InputOptions { input: input.into(), config: None, mapping: None, hashes: Hashes::Taken }
    }
}

/// Loads and validates, reporting both stages.
pub fn load_validated(opts: &InputOptions, lenient: bool, progress: &Progress) -> Result<(Config, Validated)> {
    let mapping = opts.mapping.as_deref().map(crate::mapping::Mapping::resolve).transpose()?;
    let defaults = mapping.as_ref().map(|m| m.config.clone()).unwrap_or_default();
    let (config, _) = Config::resolve(opts.config.as_deref(), &opts.input, &defaults)?;
    let stage = progress.stage("load");
    let raw = match &mapping {
        Some(m) => crate::mapping::read_mapped(&opts.input, m, &config, opts.hashes)?,
        None => read_input(&opts.input, &config, opts.hashes)?,
    };
    let records: u64 = raw.sources.iter().map(|s| s.records).sum();
    stage.done(&format!("{} records in {} files", thousands(records), raw.sources.len()));
    let stage = progress.stage("validate");
    let validated = validate(raw, lenient)?;
    stage.done(&format!("{} problem(s)", thousands(validated.findings.height() as u64)));
    Ok((config, validated))
}

/// Event timestamps that place a quarter in the data (METRICS.md, Conventions).
pub const EVENT_COLUMNS: &[(&str, &str)] = &[
    ("leads", "created_at"),
    ("leads", "qualified_at"),
    ("handoffs", "handed_off_at"),
    ("handoffs", "sent_back_at"),
    ("activities", "occurred_at"),
    ("opportunities", "created_at"),
    ("opportunities", "closed_at"),
];

/// Finds the span of quarters holding events; None when there are none.
pub fn data_span(v: &Validated, config: &Config) -> Result<Option<Span>> {
    // each column's earliest and latest, then theirs (one column of every
    // event made first was a copy of them all: 0.3 s at scale 1000)
    let parts: Vec<LazyFrame> = EVENT_COLUMNS
        .iter()
        .filter_map(|(t, c)| v.lazy(t).map(|lf| lf.select([col(*c).min().alias("earliest"), col(*c).max().alias("latest")])))
        .collect();
    if parts.is_empty() {
        return Ok(None);
    }
    let zone = TimeZone::opt_try_new(Some(config.time_zone.as_str())).ok().flatten().unwrap_or(TimeZone::UTC);
    let latest = col("latest").max();
    let bounds = concat(parts, UnionArgs::default())?
        .select([
            quarter_index(col("earliest").min(), config).alias("first"),
            quarter_index(latest.clone(), config).alias("last"),
            latest.clone().dt().convert_time_zone(zone).dt().date().alias("last_date"),
            latest.dt().timestamp(TimeUnit::Microseconds).alias("last_event"),
        ])
        .collect()?;
    let first = bounds.column("first")?.i32()?.get(0);
    let last = bounds.column("last")?.i32()?.get(0);
    let last_date = bounds.column("last_date")?.date()?.as_date_iter().next().flatten();
    let last_event = bounds.column("last_event")?.i64()?.get(0);
    let (Some(first), Some(last), Some(last_date)) = (first, last, last_date) else { return Ok(None) };
    let last = Quarter(last);
    let complete = |q: Quarter| q.end_date(config) <= last_date + chrono::Days::new(1);
    let last_complete = if complete(last) { Some(last) } else { Some(last.prev()).filter(|q| q.0 >= first) };
    Ok(Some(Span { first: Quarter(first), last, last_complete, last_event, last_date }))
}

/// Events (and room views) more than a year with no event at all apart
/// from the rest of the data, at either end, that are a sliver of it (1%
/// of the events or less, or three or fewer): most likely a year typo (2062
/// for 2026) that passes validation's 1970-2099 bounds. The quarters still run to them (METRICS.md: from the
/// first to the last quarter holding an event), so a warning names them,
/// by table, key and date, and says what they do to the review.
pub fn stray_events(v: &Validated) -> Result<Vec<String>> {
    // each event in its stretch of 30 days since 1970, by its microseconds (at scale 1000 the
    // calendar months of 33M timestamps took 1.1 s, these 0.1 s)
    const STRETCH: i64 = 30 * 86_400_000_000;
    let micros = |c: &str| col(c).dt().timestamp(TimeUnit::Microseconds);
    // the events, and the room views, which end the data for the deals' days without activity
    let columns: Vec<(&str, &str)> = EVENT_COLUMNS.iter().copied().chain([("dsr_views", "viewed_at")]).collect();
    let parts: Vec<LazyFrame> = columns
        .iter()
        .filter_map(|(t, c)| {
            v.lazy(t).map(|lf| {
                lf.select([micros(c).alias("t")])
                    .drop_nulls(None)
                    .group_by([col("t").floor_div(lit(STRETCH)).alias("s")])
                    .agg([len().cast(DataType::Int64).alias("n")])
            })
        })
        .collect();
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let stretches = concat(parts, UnionArgs::default())?
        .group_by([col("s")])
        .agg([col("n").sum()])
        .sort(["s"], Default::default())
        // (counts, the same in any order: the streaming engine groups many rows faster)
        .collect_with_engine(Engine::Streaming)?
        .unwrap_single();
    let ints = |c: &str| -> Result<Vec<i64>> { Ok(stretches.column(c)?.i64()?.into_no_null_iter().collect()) };
    let (s, n) = (ints("s")?, ints("n")?);
    let total: i64 = n.iter().sum();
    // a sliver: 1% of the events or less, or a few on a small input
    let sliver = |events: i64| events * 100 <= total || events <= 3;
    let month = |micros: i64| chrono::DateTime::from_timestamp_micros(micros).map(|d| d.format("%B %Y").to_string()).unwrap_or_default();
    let mut out = Vec::new();
    // more than a year with no event: 13 or more empty stretches of 30 days (390 days) between two
    let gaps: Vec<usize> = (1..s.len()).filter(|&i| s[i] - s[i - 1] > 13).collect();
    let late = gaps.last().copied().filter(|&i| sliver(n[i..].iter().sum()));
    let early = gaps.first().copied().filter(|&i| sliver(n[..i].iter().sum()) && Some(i) != late);
    for (after, at) in [(true, late), (false, early)] {
        let Some(i) = at else { continue };
        // the stray events: from stretch s[i] on, or before it
        let from = lit(s[i] * STRETCH);
        let is_stray = |c: &str| if after { micros(c).gt_eq(from.clone()) } else { micros(c).lt(from.clone()) };
        // the rest's end (or start), worked out only here
        let edge: Vec<LazyFrame> = columns
            .iter()
            .filter_map(|(t, c)| v.lazy(t).map(|lf| lf.select([micros(c).filter(is_stray(c).not()).alias("t")])))
            .collect();
        let edge = concat(edge, UnionArgs::default())?.select([if after { col("t").max() } else { col("t").min() }]).collect()?;
        let edge = month(edge.column("t")?.i64()?.get(0).unwrap_or_default());
        let (count, rest) = if after {
            (n[i..].iter().sum::<i64>(), format!("which ends in {edge}"))
        } else {
            (n[..i].iter().sum::<i64>(), format!("which starts in {edge}"))
        };
        // a few of them by their table's key, as the file has it
        let mut named = Vec::new();
        for &(t, c) in &columns {
            let (Some(lf), Some(spec)) = (v.lazy(t), crate::contract::table(t)) else { continue };
            let stray = is_stray(c);
            let mut picked: Vec<Expr> = spec.key.iter().map(|k| col(*k)).collect();
            picked.push(col(c).dt().to_string("%Y-%m-%d").alias("__date"));
            let rows = v.ids.decode_table(t, lf.filter(stray).select(picked).limit(3).collect()?).collect()?;
            for r in 0..rows.height() {
                let key: Vec<String> = spec.key.iter().map(|k| rows.column(k).ok().and_then(|k| k.get(r).ok()).map(|x| x.str_value().to_string()).unwrap_or_default()).collect();
                let date = rows.column("__date")?.str()?.get(r).unwrap_or_default().to_string();
                named.push(format!("{t} {} {c} {date}", key.join(" ")));
            }
        }
        named.truncate(3);
        let (events, lie, them) = if count == 1 { ("1 event".to_string(), "lies", "it") } else { (format!("{} events", thousands(count as u64)), "lie", "them") };
        out.push(format!(
            "{events} {lie} more than a year {} the rest of the data ({rest}), with no event between: {}{}. {}? Such a date moves the end (or the start) of the data and of its quarters with it, and the review reads {them} as real; fix the dates, or name the quarter with --period",
            if after { "after" } else { "before" },
            named.join(", "),
            if count as usize > named.len() { ", ..." } else { "" },
            if after { "A year typo" } else { "Old records, or a year typo" },
        ));
    }
    Ok(out)
}

/// The columns whose timestamps make a table's window (`table_windows`):
/// its events, its room views and its stage entries.
const WINDOW_COLUMNS: &[(&str, &str)] = &[
    ("leads", "created_at"),
    ("leads", "qualified_at"),
    ("opportunities", "created_at"),
    ("opportunities", "closed_at"),
    ("handoffs", "handed_off_at"),
    ("handoffs", "sent_back_at"),
    ("activities", "occurred_at"),
    ("stage_history", "entered_at"),
    ("dsr_views", "viewed_at"),
];

/// The least gap, in days, between a table's last event and the rest of
/// the data's that `table_windows` names: two weeks, or ten of the table's
/// own mean intervals between rows where those are longer (a small table's
/// events are far apart anyway).
const WINDOW_GAP_DAYS: f64 = 14.0;

/// The same at the start, a quarter: a later table of the funnel starts
/// later by its cycle (the first deals weeks after the first leads, as in
/// the Olist funnel: 27 days).
const WINDOW_START_GAP_DAYS: f64 = 92.0;

/// A table whose events start well after the rest of the data starts, or
/// end well before it ends (more than `WINDOW_START_GAP_DAYS` or
/// `WINDOW_GAP_DAYS`, or ten of its mean intervals): an export cut at another date than the others (a table
/// pulled later, activities kept for 90 days, a history that starts when
/// the CRM began tracking it). Its numbers read 0 (or not available)
/// where it has no rows, while the quarters are counted complete from the
/// other tables, so each such table is a warning, with the dates. Left
/// out where stray events (`stray_events`) move the data's ends.
pub fn table_windows(v: &Validated, config: &Config) -> Result<Vec<String>> {
    const DAY: f64 = 86_400_000_000.0;
    let micros = |e: Expr| e.dt().timestamp(TimeUnit::Microseconds);
    // (table, first, last, rows), each table's columns in one pass
    let mut windows: Vec<(&str, i64, i64, usize)> = Vec::new();
    for spec in crate::contract::TABLES {
        let cols: Vec<&str> = WINDOW_COLUMNS.iter().filter(|(t, _)| *t == spec.name).map(|(_, c)| *c).collect();
        let Some(lf) = v.lazy(spec.name).filter(|_| !cols.is_empty()) else { continue };
        let schema = lf.clone().collect_schema()?;
        let present: Vec<&str> = cols.into_iter().filter(|c| schema.get(c).is_some()).collect();
        if present.is_empty() {
            continue;
        }
        let mut bounds: Vec<Expr> = present.iter().map(|c| micros(col(*c)).min().alias(format!("min {c}"))).collect();
        bounds.extend(present.iter().map(|c| micros(col(*c)).max().alias(format!("max {c}"))));
        let ends = lf.select(bounds).collect()?;
        let of = |side: &str| -> Result<Vec<i64>> {
            let mut found = Vec::new();
            for c in &present {
                found.extend(ends.column(&format!("{side} {c}"))?.i64()?.get(0));
            }
            Ok(found)
        };
        let (Some(first), Some(last)) = (of("min")?.into_iter().min(), of("max")?.into_iter().max()) else { continue };
        windows.push((spec.name, first, last, v.tables.get(spec.name).map_or(0, |df| df.height())));
    }
    let date = |m: i64| -> String {
        let utc = chrono::DateTime::from_timestamp_micros(m).unwrap_or_default();
        match config.time_zone.parse::<chrono_tz::Tz>() {
            Ok(tz) => utc.with_timezone(&tz).format("%Y-%m-%d").to_string(),
            Err(_) => utc.format("%Y-%m-%d").to_string(),
        }
    };
    // the tables that start late and end early against the rest, with their gap in days
    let gap_of = |&(_, first, last, rows): &(&str, i64, i64, usize), least: f64| -> f64 {
        let interval = if rows > 1 { (last - first) as f64 / DAY / (rows - 1) as f64 } else { f64::INFINITY };
        least.max(10.0 * interval)
    };
    let mut late = Vec::new();
    let mut early = Vec::new();
    for w in &windows {
        let others = windows.iter().filter(|o| o.0 != w.0);
        let (Some(start), Some(end)) = (others.clone().min_by_key(|o| o.1), others.max_by_key(|o| o.2)) else { continue };
        if (w.1 - start.1) as f64 / DAY > gap_of(w, WINDOW_START_GAP_DAYS) {
            late.push((w, *start));
        }
        if (end.2 - w.2) as f64 / DAY > gap_of(w, WINDOW_GAP_DAYS) {
            early.push((w, *end));
        }
    }
    let days = |a: i64, b: i64| ((a - b) as f64 / DAY).round();
    let mut out = Vec::new();
    // every table but one ends early: that one runs late (a table exported after the others)
    if early.len() >= 2 && early.len() + 1 == windows.len() {
        let (_, end) = early[0];
        let rest_end = early.iter().map(|(w, _)| w.2).max().unwrap_or(end.2);
        let names: Vec<&str> = early.iter().map(|(w, _)| w.0).collect();
        out.push(format!(
            "the events of {} run to {}, {} days past every other table ({} end by {}): the quarters are counted complete to {} from {} alone, so the other tables' numbers after {} are missing and a quarter ending between the two dates is partial. An export of {} pulled later than the others?",
            end.0,
            date(end.2),
            days(end.2, rest_end),
            names.join(", "),
            date(rest_end),
            date(end.2),
            end.0,
            date(rest_end),
            end.0
        ));
    } else {
        for (w, end) in &early {
            out.push(format!(
                "the events of {} end on {}, {} days before the rest of the data ends ({}, {}): numbers drawn from {} read 0 or not available after then, though the quarters are counted complete to {}. An export cut earlier than the others?",
                w.0,
                date(w.2),
                days(end.2, w.2),
                date(end.2),
                end.0,
                w.0,
                date(end.2)
            ));
        }
    }
    // every table but one starts late: that one reaches back further (older history kept)
    if late.len() >= 2 && late.len() + 1 == windows.len() {
        let (_, start) = late[0];
        let rest_start = late.iter().map(|(w, _)| w.1).min().unwrap_or(start.1);
        let names: Vec<&str> = late.iter().map(|(w, _)| w.0).collect();
        out.push(format!(
            "the events of {} start on {}, {} days before every other table ({} start from {}): the quarters before {} hold {} alone, so their other numbers read 0 or not available. An export of {} with older history than the others?",
            start.0,
            date(start.1),
            days(rest_start, start.1),
            names.join(", "),
            date(rest_start),
            date(rest_start),
            start.0,
            start.0
        ));
    } else {
        for (w, start) in &late {
            out.push(format!(
                "the events of {} start on {}, {} days after the rest of the data starts ({}, {}): numbers drawn from {} read 0 or not available before then, so a comparison with those quarters (the one before, a year before) is not like for like. An export of recent history only?",
                w.0,
                date(w.1),
                days(w.1, start.1),
                date(start.1),
                start.0,
                w.0
            ));
        }
    }
    Ok(out)
}

/// The share of the activities on a lead that come before their lead was
/// created from which `activities_before_leads` warns: 5% (a rep calling
/// before the CRM has the lead is unusual, not a pattern), and at least
/// `BEFORE_LEADS_LEAST` of them.
const BEFORE_LEADS_SHARE: f64 = 0.05;
const BEFORE_LEADS_LEAST: usize = 20;

/// Activities before their lead was created, where they are a pattern
/// (`BEFORE_LEADS_SHARE`), as a warning: each counts as a response within
/// the hour, so response times and the within-1h share read better than
/// they are. At most the configured zone's offset before (9 hours in
/// Tokyo: the lead's own delay shortens the rest) they are most likely UTC
/// written without its offset, read as local time: the warning says so.
/// None otherwise.
pub fn activities_before_leads(v: &Validated, config: &Config) -> Result<Option<String>> {
    let before = v.unusual.clone().lazy().filter(col("rule").eq(lit("activity_before_lead_created"))).select([col("value"), col("detail")]).collect()?;
    let n = before.height();
    let Some(acts) = v.tables.get("activities") else { return Ok(None) };
    let on_leads = acts.column("lead_id").map(|c| c.len() - c.null_count()).unwrap_or(0);
    if n < BEFORE_LEADS_LEAST || (n as f64) < BEFORE_LEADS_SHARE * on_leads as f64 {
        return Ok(None);
    }
    // each one's lead (the detail ends with the lead's created_at, in UTC) minus its time, in hours
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t.trim()).ok().map(|d| d.timestamp());
    let (values, details) = (before.column("value")?.str()?.clone(), before.column("detail")?.str()?.clone());
    let mut hours: Vec<f64> = values
        .iter()
        .zip(details.iter())
        .filter_map(|(v, d)| {
            let earlier = d?.rsplit_once('(')?.1.trim_end_matches(')');
            Some((parse(earlier)? - parse(v?)?) as f64 / 3600.0)
        })
        .collect();
    hours.sort_by(f64::total_cmp);
    let (Some(median), Some(most)) = (hours.get(hours.len() / 2).copied(), hours.last().copied()) else { return Ok(None) };
    let share = 100.0 * n as f64 / on_leads.max(1) as f64;
    // the zone's offset when the first of them happened (a zone with summer time has two)
    let at = values.iter().flatten().next().and_then(parse).and_then(|t| chrono::DateTime::from_timestamp(t, 0)).map(|d| d.naive_utc());
    let offset = config.time_zone.parse::<chrono_tz::Tz>().ok().zip(at).map(|(tz, at)| {
        use chrono::Offset;
        chrono::TimeZone::offset_from_utc_datetime(&tz, &at).fix().local_minus_utc() as f64 / 3600.0
    });
    let head = format!(
        "{} of {} activities on a lead ({share:.0}%) come before their lead was created, by a median of {median:.1} hours and at most {most:.1}",
        thousands(n as u64),
        thousands(on_leads as u64)
    );
    Ok(Some(match offset {
        // a clock shifted by the zone's offset puts a response at most that far before its lead
        Some(o) if o != 0.0 && (most - o.abs()).abs() <= 0.75 => format!(
            "{head}, the offset of {} from UTC: are activities.occurred_at written in UTC without their offset (a timestamp without one is read as local time, {})? Each counts as a response within the hour, so response times and the within-1h share read better than they are; write the offset (or Z) in the export",
            config.time_zone, config.time_zone
        ),
        _ => format!("{head}: each counts as a response within the hour, so response times and the within-1h share read better than they are; are the two tables' clocks (or time zones) the same?"),
    }))
}

/// Deals a handoff links to a lead (handoffs.opportunity_id and lead_id)
/// whose own lead_id is empty, as a warning: IS-sourced means lead_id set,
/// so they count as FS-sourced while the handoffs say inside sales brought
/// them (lead_id filled only on recent deals, say). None where there are
/// none, or where opportunities has no lead_id at all (the IS/FS split is
/// then not available anyway).
pub fn handed_off_deals_without_lead(v: &Validated) -> Result<Option<String>> {
    let (Some(h), Some(o)) = (v.lazy("handoffs"), v.lazy("opportunities")) else { return Ok(None) };
    if v.unavailable.contains_key("opportunities.lead_id") || v.tables.get("handoffs").is_some_and(|h| h.column("opportunity_id").is_err()) {
        return Ok(None);
    }
    // the deals a handoff links to a lead, each with whether its own lead_id is empty: both counts
    // from one scan of the handoffs
    let unlinked = o.select([col("opportunity_id"), col("lead_id").is_null().alias("__unlinked")]);
    let counts = h
        .filter(col("opportunity_id").is_not_null().and(col("lead_id").is_not_null()))
        .select([col("opportunity_id")])
        .unique(None, UniqueKeepStrategy::Any)
        .join(unlinked, [col("opportunity_id")], [col("opportunity_id")], JoinArgs::new(JoinType::Left))
        .select([len().cast(DataType::UInt64).alias("all"), col("__unlinked").fill_null(lit(false)).sum().cast(DataType::UInt64).alias("n")])
        .collect()?;
    let get = |c: &str| -> Result<u64> { Ok(counts.column(c)?.u64()?.get(0).unwrap_or(0)) };
    let (n, all) = (get("n")?, get("all")?);
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(format!(
        "{} of the {} deals a handoff links to a lead have no lead_id in opportunities: IS-sourced means lead_id set, so they count as FS-sourced (IS-sourced revenue and its drivers read lower, FS-sourced higher) while the handoffs say inside sales brought them; fill lead_id where the handoff names the lead",
        thousands(n),
        thousands(all)
    )))
}

/// A validated input with its reviewed quarter, ready to compute.
pub struct Prepared {
    pub config: Config,
    pub validated: Validated,
    pub span: Span,
    /// The reviewed quarter.
    pub quarter: Quarter,
    pub label: String,
    pub compare_to: Option<String>,
    pub industries: Industries,
    /// Events far apart from the rest of the data (`stray_events`), else
    /// the tables whose events start late or end early (`table_windows`).
    pub stray: Vec<String>,
}

impl Prepared {
    /// What the reader must know before any number: a partial quarter, rows
    /// --lenient set aside, headers that look like misspelt contract columns.
    /// Shown at the top of the run summary and of the report.
    pub fn warnings(&self) -> Vec<String> {
        let (config, span, q) = (&self.config, &self.span, self.quarter);
        let mut out = Vec::new();
        if !span.is_complete(q, config) {
            let full = (q.end_date(config) - q.start_date(config)).num_days();
            let instead = match span.last_complete {
                Some(c) => format!("; the last complete quarter is {}", c.label(config)),
                None => String::new(),
            };
            out.push(format!(
                "{} is partial: the data covers {} of its {full} days (to {}), so its counts and sums are not comparable with full quarters{instead}",
                self.label,
                span.days_covered(q, config),
                span.last_date
            ));
        }
        // a file that holds only its header: every number drawn from it reads 0, not "not available"
        for spec in TABLES {
            if self.validated.tables.get(spec.name).is_some_and(|df| df.height() == 0) {
                out.push(format!("{} has no rows (its file holds only a header, or every row was set aside): every number drawn from it reads 0", spec.name));
            }
        }
        out.extend(self.stray.iter().cloned());
        if let Some(applied) = &self.validated.mapping {
            out.extend(applied.lookups_missing.iter().cloned());
        }
        let set_aside = set_aside_lines(&self.validated);
        if !set_aside.is_empty() {
            out.push(format!(
                "--lenient left out input with problems, so the numbers below do not count it ({}); tables/data_quality.parquet lists every problem",
                set_aside.join("; ")
            ));
        }
        let misspelt: Vec<_> = self.validated.ignored.iter().filter(|c| c.suggestion.is_some()).cloned().collect();
        for line in crate::load::ignored_lines(&misspelt) {
            out.push(format!("{line}: a misspelt header leaves its column empty"));
        }
        out
    }

    /// The model the metrics read.
    pub fn model(&self) -> Model<'_> {
        let mut m = Model::new(&self.config, &self.validated.tables, &self.validated.ids, &self.industries, self.span, self.quarter, &self.validated.unavailable);
        m.passthrough = self.validated.passthrough.as_ref();
        m
    }
}

/// Loads, validates (stopping on problems unless `lenient`) and chooses the
/// quarter to review: `period` if given, else the last complete one.
/// `lenient_flag`: how the calling command sets bad rows aside, suggested
/// when problems stop it (None where the command has no such flag).
pub fn prepare(input: &InputOptions, lenient: bool, lenient_flag: Option<&str>, period: Option<&str>, progress: &Progress) -> Result<Prepared> {
    let (config, v) = load_validated(input, lenient, progress)?;
    let n = v.findings.height();
    if v.has_fatal() || (n > 0 && !lenient) {
        return Err(stop_on_problems(&v, lenient_flag)?);
    }
    if lenient && n > 0 {
        check_set_aside(&v, &config)?;
    }
    let span = crate::progress::timed("    the quarters in the data", || data_span(&v, &config), |_| None)?.ok_or_else(|| Error::Input("the input holds no events (no leads, activities or opportunities with dates)".into()))?;
    let period = match period {
        Some(p) => Quarter::parse(p, &config).map_err(|why| Error::Config(format!("--period {p:?} {why}")))?,
        None => span.last_complete.ok_or_else(|| {
            Error::Input("no complete quarter in the data; name one with --period".into())
        })?,
    };
    if period < span.first || period > span.last {
        return Err(Error::Config(format!(
            "--period {} is outside the data ({} .. {})",
            period.label(&config),
            span.first.label(&config),
            span.last.label(&config)
        )));
    }
    let label = period.label(&config);
    let compare_to = (period > span.first).then(|| period.prev().label(&config));
    let industries = Industries::load(&input.input, &config)?;
    let mut stray = crate::progress::timed("    events apart from the rest", || stray_events(&v), |_| None)?;
    // stray events move the data's ends: the tables' windows are then measured against them
    if stray.is_empty() {
        stray = crate::progress::timed("    tables' windows", || table_windows(&v, &config), |_| None)?;
    }
    stray.extend(activities_before_leads(&v, &config)?);
    stray.extend(handed_off_deals_without_lead(&v)?);
    Ok(Prepared { config, validated: v, span, quarter: period, label, compare_to, industries, stray })
}

/// The lines that come before the findings: files `encoding = "auto"` read
/// as Shift_JIS, and every header outside the contract (ignored), once per
/// file, with the column it most likely meant.
pub fn preamble(v: &Validated) -> Vec<String> {
    let mut lines = v.notes.clone();
    lines.extend(crate::load::ignored_lines(&v.ignored));
    lines
}

/// The preamble, then the findings grouped (three examples each): what a
/// command that stops on problems shows first.
pub fn problems_text(v: &Validated) -> Result<String> {
    let mut out = String::new();
    for line in preamble(v) {
        let _ = writeln!(out, "{line}");
    }
    out.push_str(&format_findings(&v.findings, 3)?);
    Ok(out)
}

/// The error that stops a command on the input's problems, carrying them
/// to be shown first. `lenient_flag` is how this command would set the bad
/// rows aside (None where it cannot); it is suggested only where it would
/// help, i.e. when no finding makes a whole table unusable.
pub fn stop_on_problems(v: &Validated, lenient_flag: Option<&str>) -> Result<Error> {
    let hint = if v.has_fatal() {
        "; a table cannot be used at all (effect unusable above), which --lenient cannot mend: fix the file(s) named".to_string()
    } else {
        lenient_flag.map(|f| format!(" (use {f} to set the bad rows aside)")).unwrap_or_default()
    };
    Ok(Error::Problems { summary: String::new(), problems: problems_text(v)?, reason: Box::new(Error::Invalid { count: v.findings.height(), hint }) })
}

/// With --lenient: stops when more than `lenient.max_share` of any table's
/// rows would be set aside, naming the table and the top causes.
pub fn check_set_aside(v: &Validated, config: &Config) -> Result<()> {
    let max = config.lenient.max_share;
    let over: Vec<&crate::validate::SetAside> = v.set_aside.iter().filter(|s| s.share() > max).collect();
    if over.is_empty() {
        return Ok(());
    }
    let mut msg = String::new();
    for s in over {
        let causes = v
            .findings
            .clone()
            .lazy()
            .filter(col("table").eq(lit(s.table)).and(col("effect").eq(lit("set_aside"))))
            .group_by_stable([col("rule"), col("column")])
            .agg([len().alias("n")])
            .sort(["n"], SortMultipleOptions::default().with_order_descending(true).with_maintain_order(true))
            .limit(3)
            .collect()?;
        let rules = crate::output::text_column(&causes, "rule")?;
        let columns = crate::output::text_column(&causes, "column")?;
        let counts = crate::output::number_column(&causes, "n")?;
        let list: Vec<String> = (0..causes.height())
            .map(|i| {
                let column = if columns[i].is_empty() { String::new() } else { format!(" in {}", columns[i]) };
                format!("{}{column} x {}", rules[i], thousands(counts[i].unwrap_or(0.0) as u64))
            })
            .collect();
        let _ = writeln!(
            msg,
            "--lenient would set aside {} of {} {} rows ({:.1}%), more than lenient.max_share = {}%; top causes: {}",
            thousands(s.set_aside as u64),
            thousands(s.rows as u64),
            s.table,
            100.0 * s.share(),
            100.0 * max,
            list.join(", ")
        );
    }
    msg.push_str("Nothing was written: fix the input (see the problems above), or raise [lenient] max_share in salesrelay.toml if so much may really be left out");
    Err(Error::Problems { summary: String::new(), problems: problems_text(v)?, reason: Box::new(Error::Input(msg)) })
}

/// One line per table that --lenient changed: "opportunities: 12 of 1,149
/// rows set aside (1.0%)", "accounts: 1 value emptied".
pub fn set_aside_lines(v: &Validated) -> Vec<String> {
    v.set_aside
        .iter()
        .filter(|s| s.set_aside > 0 || s.values_nulled > 0)
        .map(|s| {
            let mut parts = Vec::new();
            if s.set_aside > 0 {
                parts.push(format!("{} of {} rows set aside ({:.1}%)", thousands(s.set_aside as u64), thousands(s.rows as u64), 100.0 * s.share()));
            }
            if s.values_nulled > 0 {
                parts.push(format!("{} emptied in rows that were kept", crate::summary::count(s.values_nulled as u64, "bad value", "bad values")));
            }
            format!("{}: {}", s.table, parts.join(", "))
        })
        .collect()
}

/// One line per table: rows loaded, or why it is absent; then the quarters
/// in the data (`span`, if any).
pub fn loaded_lines(v: &Validated, span: Option<Span>, config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(m) = &v.mapping {
        out.push(format!("  read through the mapping {}", m.name));
        if !m.deleted.is_empty() {
            let each: Vec<String> = m.deleted.iter().map(|(file, flag, n)| format!("{file} {} ({flag})", thousands(*n as u64))).collect();
            out.push(format!("  left out rows the CRM marks deleted: {}", each.join(", ")));
        }
        let lines = m.fell_through_lines();
        for line in lines.iter().take(10) {
            out.push(format!("  {line}"));
        }
        if lines.len() > 10 {
            out.push(format!("  and {} more values no map names or expression matches (data_coverage, kind unmapped value)", lines.len() - 10));
        }
    }
    for spec in TABLES {
        out.push(match v.tables.get(spec.name) {
            Some(df) => format!("  {:<14} {:>12} rows", spec.name, thousands(df.height() as u64)),
            None if v.missing.contains(&spec.name) => {
                let why = v.unavailable.get(spec.name).map(String::as_str).unwrap_or("no file");
                format!("  {:<14} not available ({why})", spec.name)
            }
            None => format!("  {:<14} {:>12}", spec.name, "not loaded (see problems)"),
        });
    }
    if let Some(span) = span {
        out.push(format!(
            "  quarters       {} .. {} (last complete: {})",
            span.first.label(config),
            span.last.label(config),
            span.last_complete.map(|q| q.label(config)).unwrap_or_else(|| "none".into())
        ));
    }
    out
}
