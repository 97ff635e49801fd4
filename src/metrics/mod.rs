//! Metrics: one pub fn per output table, each returning a LazyFrame built
//! from the validated tables. Names follow METRICS.md verbatim.

pub mod engagement;
pub mod events;
pub mod handoffs;
pub mod hybrid;
pub mod lmdi;
pub mod losses;
pub mod movement;
pub mod plan;
pub mod reps;
pub mod runs;
pub mod tree;
pub mod visit_plan;
pub mod visits;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::sync::locked;

use polars::prelude::*;

use crate::calendar::{quarter_index, quarter_label};
use crate::config::Config;
use crate::contract::Need;
use crate::error::Result;
use crate::industries::Industries;
use crate::calendar::{Quarter, Span};
use crate::output::TableDoc;

/// What every metric reads: the validated tables, the configuration, the
/// industry reference, the span of quarters in the data and the reviewed
/// quarter; and what is built from them once per run.
pub struct Model<'a> {
    pub config: &'a Config,
    pub tables: &'a BTreeMap<&'static str, DataFrame>,
    /// The dictionaries that give the tables' ids as text (`ids::Ids`).
    pub ids: &'a crate::ids::Ids,
    pub industries: &'a Industries,
    pub span: Span,
    /// The reviewed quarter (kpi_attribution's bridge).
    pub quarter: Quarter,
    /// What the input cannot support and why (tables, `table.column`,
    /// facts a mapping declares missing such as `opportunities.not_won`).
    pub unavailable: &'a BTreeMap<String, String>,
    /// The event frames, built once on first use (see `events`).
    pub facts: events::Facts,
    /// The export's own opportunity columns a mapping passes through into
    /// every output table with an opportunity_id (see `with_passthrough`).
    pub passthrough: Option<&'a crate::contract::Passthrough>,
    built: Built,
}

/// Frames held by name until let go: the shared output tables
/// (`Model::built`) and the event frames (`events::Facts`). None where the
/// input has none. Tables computed side by side (`compute_each_on`) share
/// them: a frame is built by the first to ask, the others wait for it
/// (`building`).
#[derive(Default)]
pub struct Held {
    frames: Mutex<BTreeMap<&'static str, Option<DataFrame>>>,
    /// One lock per name, held while its frame is built.
    building: Mutex<BTreeMap<&'static str, Arc<Mutex<()>>>>,
}

/// A frame `Held::get_or_build` found held, or what its build gave.
pub enum Got<T> {
    Held(Option<DataFrame>),
    Built(T),
}

impl Held {
    /// The frame held as `name`, if one is.
    pub fn get(&self, name: &str) -> Option<Option<DataFrame>> {
        locked(&self.frames).get(name).cloned()
    }

    /// Holds `df` as `name`.
    pub fn insert(&self, name: &'static str, df: Option<DataFrame>) {
        locked(&self.frames).insert(name, df);
    }

    /// The frame held as `name`, else what `build` gives (which holds its
    /// frame): one thread builds a name at a time, and a thread that
    /// waited for another's build gets its frame (`Got::Held`).
    pub fn get_or_build<T>(&self, name: &'static str, build: impl FnOnce() -> T) -> Got<T> {
        if let Some(df) = self.get(name) {
            return Got::Held(df);
        }
        let lock = locked(&self.building).entry(name).or_default().clone();
        let asked = std::time::Instant::now();
        let _building = locked(&lock);
        match self.get(name) {
            Some(df) => {
                waited(name, asked);
                Got::Held(df)
            }
            None => Got::Built(build()),
        }
    }

    /// Lets go of the frames `done` says no table still to be computed reads.
    pub fn let_go(&self, done: impl Fn(&str) -> bool) {
        locked(&self.frames).retain(|name, _| !done(name));
    }

    /// The frames held now, by name.
    pub fn names(&self) -> Vec<&'static str> {
        locked(&self.frames).keys().copied().collect()
    }
}

/// Under `SALESRELAY_TIMINGS`, how long since `since` a table waited for
/// `name`, which another worker was building (from a millisecond on).
fn waited(name: &str, since: std::time::Instant) {
    let seconds = since.elapsed().as_secs_f64();
    if seconds >= 0.001 && crate::progress::timings() {
        crate::tell!("      waited {seconds:.2}s for {name}, built by the other worker");
    }
}

/// Frames several output tables read, built once on first use: the shared
/// output tables, the wide per-segment aggregates and the end of the data.
#[derive(Default)]
struct Built {
    tables: Held,
    /// Held while built, so a second reader waits for it.
    wide: Mutex<Option<DataFrame>>,
    data_end: OnceLock<i64>,
    segments: OnceLock<Vec<(String, String)>>,
}

/// One output table of the review: its documentation, what it needs from
/// the input and how it is built. Coverage, the manifest, the data
/// dictionary and the query-name check all read `OUTPUT_TABLES`, so adding
/// a table is one entry in its own module, one line there and one in
/// `COMPUTE_ORDER` (a test fails without it).
pub struct OutputTable {
    pub doc: TableDoc,
    /// What the table needs beyond the required tables; without it the
    /// table is not available (data_coverage says why).
    pub needs: &'static [Need],
    /// Columns that need more than the table does: null where the input
    /// cannot support them.
    pub column_needs: &'static [(&'static [&'static str], Need)],
    /// The table's plan; None where the input holds nothing to build it from.
    pub build: fn(&Model) -> Result<Option<LazyFrame>>,
}

/// Every output table computed from the input, in output order (data_quality
/// and data_coverage, which describe the input, follow them).
pub const OUTPUT_TABLES: &[&OutputTable] = &[
    &tree::KPI_TREE,
    &losses::LOSSES,
    &handoffs::HANDOFFS,
    &engagement::DSR_ENGAGEMENT,
    &visit_plan::PRIORITY_DEALS,
    &tree::KPI_ATTRIBUTION,
    &handoffs::FUNNEL_PERIOD,
    &reps::IS_REPS,
    &reps::FS_REPS,
    &losses::LOSS_SUMMARY,
    &visits::INDUSTRY_VISIT_RATIO,
    &visits::VISIT_MIX_REPS,
    &movement::PIPELINE_MOVEMENT,
    &movement::STAGE_CONVERSION,
    &handoffs::FUNNEL_COHORT,
    &handoffs::HANDOFF_QUALITY,
    &losses::LOSS_FEEDBACK,
    &engagement::ENGAGEMENT_EFFECT,
    &engagement::STALLED_DEALS,
    &visit_plan::VISIT_PLAN,
    &visit_plan::LOCATIONS_NEEDED,
    &plan::PLAN_VS_ACTUAL,
    &plan::REQUIRED_VOLUMES,
    &plan::PIPELINE_COVERAGE,
    &hybrid::MEETING_PATTERN,
    &hybrid::ABM_COVERAGE,
];

/// The output table called `name`, if there is one.
pub fn output_table(name: &str) -> Option<&'static OutputTable> {
    OUTPUT_TABLES.iter().copied().find(|t| t.doc.name == name)
}

/// Segment kinds in output order.
pub const SEGMENT_KINDS: [&str; 4] = ["total", "source", "industry", "region"];
/// The source segments.
pub const SOURCES: [&str; 3] = ["inbound", "outbound", events::FS_SOURCED];

impl<'a> Model<'a> {
    /// The model of a validated input reviewing `quarter`.
    pub fn new(
        config: &'a Config,
        tables: &'a BTreeMap<&'static str, DataFrame>,
        ids: &'a crate::ids::Ids,
        industries: &'a Industries,
        span: Span,
        quarter: Quarter,
        unavailable: &'a BTreeMap<String, String>,
    ) -> Model<'a> {
        Model { config, tables, ids, industries, span, quarter, unavailable, facts: Default::default(), passthrough: None, built: Default::default() }
    }

    /// The reviewed quarter's label (FY2026-Q2).
    pub fn period_label(&self) -> String {
        self.quarter.label(self.config)
    }

    /// Whether the input supports output table `t`.
    pub fn supports(&self, t: &OutputTable) -> bool {
        self.has_all(t.needs)
    }

    /// Output table `t` collected, built once per run (for the tables other
    /// tables read); None where the input does not support it.
    pub fn built(&self, t: &OutputTable) -> Result<Option<DataFrame>> {
        let name = t.doc.name;
        let tables = &self.built.tables;
        let build = || -> Result<Option<DataFrame>> {
            let df = if self.supports(t) { (t.build)(self)?.map(|lf| lf.collect()).transpose()? } else { None };
            tables.insert(name, df.clone());
            Ok(df)
        };
        match tables.get_or_build(name, build) {
            Got::Held(df) => Ok(df),
            Got::Built(built) => built,
        }
    }

    /// The shared tables built so far (`built`) and not let go, by name.
    pub fn built_names(&self) -> Vec<&'static str> {
        self.built.tables.names()
    }

    /// Lets go of kpi_tree's aggregates, and of any event frame still
    /// held, once every table is computed (the shared tables and event
    /// frames went after their last reader, `COMPUTE_ORDER`): no later
    /// step reads them.
    pub fn release(&mut self) {
        self.facts = Default::default();
        self.built.wide = Default::default();
    }

    /// kpi_tree's wide per-quarter, per-segment aggregates, built once.
    pub fn wide(&self) -> Result<LazyFrame> {
        let asked = std::time::Instant::now();
        let mut wide = locked(&self.built.wide);
        if let Some(df) = wide.as_ref() {
            waited("kpi_tree's aggregates", asked);
            return Ok(df.clone().lazy());
        }
        let clock = std::time::Instant::now();
        let df = tree::kpi_wide(self)?.collect()?;
        if crate::progress::timings() {
            crate::tell!("    compute the wide per-segment aggregates: {:.2}s", clock.elapsed().as_secs_f64());
        }
        *wide = Some(df.clone());
        Ok(df.lazy())
    }

    /// The end of the data: the latest event or room view (UTC microseconds).
    pub fn data_end(&self) -> Result<i64> {
        if let Some(end) = self.built.data_end.get() {
            return Ok(*end);
        }
        let end = engagement::data_end(self)?;
        let _ = self.built.data_end.set(end);
        Ok(end)
    }

    /// A table as a LazyFrame, if it came in (enums as text: see `ids::is_coded_enum`).
    pub fn lazy(&self, name: &str) -> Option<LazyFrame> {
        self.coded(name).map(|lf| crate::ids::text_enums(name, lf))
    }

    /// A table as a LazyFrame with its coded enums still coded (see
    /// `ids::is_coded_enum`), for plans that only compare them with text
    /// (`col("kind").eq(lit("call"))` compares codes) or group by them:
    /// decoding 17M activities' kind and outcome took longer than the
    /// aggregates that read them. A coded column is cast to text before it
    /// meets text in a join or a union (output tables are written as text
    /// in any case: `ids::Ids::decode`).
    pub fn coded(&self, name: &str) -> Option<LazyFrame> {
        self.tables.get(name).map(|df| df.clone().lazy())
    }

    /// Whether the input supports `need`.
    pub fn has(&self, need: Need) -> bool {
        match need {
            Need::ExpectedCloseDates => {
                self.has_key("stage_history.close_date") || self.has(Need::OpportunitiesExpectedCloseAt)
            }
            _ => self.has_key(need.key()),
        }
    }

    /// Whether the input supports every one of `needs`.
    pub fn has_all(&self, needs: &[Need]) -> bool {
        needs.iter().all(|n| self.has(*n))
    }

    /// Why `need` is not available, if it is not.
    pub fn why_not(&self, need: Need) -> Option<String> {
        match need {
            Need::ExpectedCloseDates if !self.has(need) => {
                Some("no expected close dates: neither stage_history.close_date nor opportunities.expected_close_at is in the input".into())
            }
            Need::ExpectedCloseDates => None,
            _ => self.why_not_key(need.key()),
        }
    }

    /// Whether the input supports `key`: a table (`handoffs`), a column
    /// (`leads.qualified_at`) or a fact (`opportunities.not_won`), i.e. its
    /// table came in and nothing says it is unavailable.
    pub fn has_key(&self, key: &str) -> bool {
        let table = key.split_once('.').map_or(key, |(t, _)| t);
        self.tables.contains_key(table) && !self.unavailable.contains_key(key)
    }

    /// Why `key` (see `has_key`) is not available, if it is not.
    pub fn why_not_key(&self, key: &str) -> Option<String> {
        if self.has_key(key) {
            return None;
        }
        let table = key.split_once('.').map_or(key, |(t, _)| t);
        Some(
            self.unavailable
                .get(key)
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
        if let Some(segments) = self.built.segments.get() {
            return Ok(segments.clone());
        }
        let mut out = vec![("total".to_string(), "all".to_string())];
        out.extend(SOURCES.iter().map(|s| ("source".to_string(), s.to_string())));
        out.extend(self.industries.names.iter().map(|s| ("industry".to_string(), s.clone())));
        let regions = events::accounts(self).select([col("region").cast(DataType::String)]).unique(None, UniqueKeepStrategy::Any).sort(["region"], Default::default()).collect()?;
        for r in regions.column("region")?.str()?.iter().flatten() {
            out.push(("region".to_string(), r.to_string()));
        }
        let _ = self.built.segments.set(out.clone());
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

/// One table of `COMPUTE_ORDER` and what its plan reads.
pub struct Step {
    /// The output table.
    pub table: &'static str,
    /// The shared output tables it reads (`Model::built`).
    pub tables: &'static [&'static str],
    /// The event frames it asks for (`events::Facts`), built or not by then.
    pub facts: &'static [&'static str],
}

/// The order the tables are computed in, each with the shared tables and
/// the event frames it reads. First those that need the most memory beyond
/// what they read, while nothing else is held (pipeline_movement first and
/// stage_conversion some tables later: two workers took them side by
/// side, and at scale 1000 the compute's live peak was theirs, 3.35 GiB;
/// apart, 3.03 GiB, and the run 32.2-32.4 s against 33.2-33.6 s, in
/// turn); then those that read no shared table; then the shared tables,
/// each with its readers soon after it, so that it is let go after its
/// last reader instead of being held through the rest (scale 3000: the
/// four largest held 1.4 GB). Where two workers compute side by side, a
/// reader taken while its shared table (or kpi_tree's aggregates,
/// `Model::wide`) is still being built waits for it: so the aggregates'
/// builder (funnel_period) goes before tables that do not read them, and
/// a table that reads neither goes between a shared table and its first
/// reader where one is left; the longest of the last tables (visit_plan)
/// goes before the short ones, so the workers end together
/// (`sample_data/` 0.350 -> 0.325 s, scale 10 0.730 -> 0.660 s, medians
/// of 30 runs in turn, with the maps' underlay decoded beside the compute;
/// scale 1000, one worker: the same time and peak). `SALESRELAY_TIMINGS`
/// prints each wait left (`waited`). An event frame is let go
/// after its last reader too (scale 1000: the activities' alone holds 0.4
/// GB beyond the validated table). A reader listed before its shared
/// table, or a read not listed, would still be right (the shared table or
/// frame is built again when asked for), only slower or held longer; a test
/// keeps the lists true to what each table's plan asks for.
pub const COMPUTE_ORDER: &[Step] = &[
    Step { table: "pipeline_movement", tables: &[], facts: &["accounts", "opportunities"] },
    Step { table: "is_reps", tables: &[], facts: &["accounts", "activities", "first_is_touch", "leads", "leads_won", "opportunities"] },
    Step { table: "industry_visit_ratio", tables: &[], facts: &["activities", "closed_deal_modes", "fs_meetings", "opportunities"] },
    Step { table: "visit_mix_reps", tables: &[], facts: &["closed_deal_modes", "fs_meetings"] },
    Step { table: "funnel_cohort", tables: &[], facts: &["leads", "leads_won"] },
    Step { table: "meeting_pattern", tables: &[], facts: &["fs_meetings"] },
    Step { table: "fs_reps", tables: &[], facts: &["fs_meetings", "handoffs", "leads"] },
    Step { table: "abm_coverage", tables: &[], facts: &["activities"] },
    Step { table: "stage_conversion", tables: &[], facts: &["opportunities"] },
    Step { table: "funnel_period", tables: &[], facts: &["activities", "handoffs", "leads", "leads_won", "opportunities"] },
    Step { table: "handoffs", tables: &[], facts: &["handoffs"] },
    Step { table: "losses", tables: &[], facts: &["opportunities"] },
    Step { table: "handoff_quality", tables: &["handoffs"], facts: &[] },
    Step { table: "loss_summary", tables: &["losses"], facts: &[] },
    Step { table: "loss_feedback", tables: &["losses", "handoffs"], facts: &[] },
    Step { table: "required_volumes", tables: &[], facts: &[] },
    Step { table: "pipeline_coverage", tables: &[], facts: &["opportunities", "stage_win_rates"] },
    Step { table: "kpi_tree", tables: &[], facts: &[] },
    Step { table: "priority_deals", tables: &[], facts: &["stage_win_rates"] },
    Step { table: "visit_plan", tables: &["priority_deals"], facts: &[] },
    Step { table: "dsr_engagement", tables: &[], facts: &["opportunities"] },
    Step { table: "kpi_attribution", tables: &["kpi_tree"], facts: &[] },
    Step { table: "plan_vs_actual", tables: &["kpi_tree"], facts: &[] },
    Step { table: "engagement_effect", tables: &["dsr_engagement", "handoffs"], facts: &[] },
    Step { table: "stalled_deals", tables: &["dsr_engagement"], facts: &[] },
    Step { table: "locations_needed", tables: &["priority_deals"], facts: &[] },
];

/// Whether output table `name` is read by another table (`COMPUTE_ORDER`
/// lists it among a table's reads): such a table is collected once and
/// held until its last reader (`Model::built`).
pub fn is_shared(name: &str) -> bool {
    COMPUTE_ORDER.iter().any(|step| step.tables.contains(&name))
}

/// Every output table the input supports, in table order (see
/// `compute_each`), computed as a run computes them (`compute_workers`).
pub fn compute_tables(m: &Model) -> Result<Vec<(crate::output::Doc, DataFrame)>> {
    let mut outputs = Vec::new();
    compute_each_on(m, compute_workers(m), |place, doc, df| {
        outputs.push((place, doc, df));
        Ok(())
    })?;
    outputs.sort_by_key(|(place, _, _)| *place);
    Ok(outputs.into_iter().map(|(_, doc, df)| (doc, df)).collect())
}

/// Computes every output table the input supports, one at a time in
/// `COMPUTE_ORDER`, and hands each to `each` as soon as it is finished, with
/// its place in table order (`OUTPUT_TABLES`), so a caller can write it and
/// let it go. Each has the columns it cannot support nulled and the
/// completeness of its quarters added; a shared table is let go after its
/// last reader. data_coverage says what is left out.
pub fn compute_each(m: &Model, each: impl FnMut(usize, crate::output::Doc, DataFrame) -> Result<()> + Send) -> Result<()> {
    compute_each_on(m, 1, each)
}

/// How many tables `compute_each_on` computes side by side in a run: two
/// on a machine of two cores or more whose free memory (`memory_room`:
/// the system's, or a memory limit's) is at least twice the validated
/// tables' size and 1 GiB besides (two tables' work at once holds more
/// than one's: their event frames and intermediate frames), for validated
/// tables under `ONE_AT_A_TIME_FROM`; else one.
/// `SALESRELAY_COMPUTE_THREADS` sets it.
pub fn compute_workers(m: &Model) -> usize {
    if let Some(n) = std::env::var("SALESRELAY_COMPUTE_THREADS").ok().and_then(|v| v.trim().parse::<usize>().ok()) {
        return n.max(1);
    }
    workers_for(crate::sync::cores(), validated_bytes(m), crate::progress::memory_room())
}

/// The validated tables' size in bytes.
fn validated_bytes(m: &Model) -> u64 {
    m.tables.values().map(|df| df.estimated_size() as u64).sum()
}

/// The size of the validated tables from which `streamed` plans run on
/// Polars' streaming engine: 32 MiB. Below, its cost of starting each plan
/// outweighs what it saves: on `sample_data/` (under 1 MiB) the run took
/// 0.58 s with it against 0.48 s without (`hyperfine -N -r 20`, in turn,
/// both orders), the same at scale 10 (7 MiB: 0.98 against 0.99 s), while
/// at scale 100 (110 MiB) it is faster (4.01 against 4.15 s) and at scale
/// 1000 it is what earlier sessions measured it for (README, "Development").
pub const STREAM_FROM: u64 = 32 << 20;

/// Whether the `streamed` plans of a run over `m` take Polars' streaming
/// engine (from `STREAM_FROM` of validated tables); both engines give the
/// same tables. `SALESRELAY_STREAMING=always` or `never` overrides the
/// size (the tests compare the two).
pub fn streams(m: &Model) -> bool {
    match std::env::var("SALESRELAY_STREAMING").as_deref() {
        Ok("always") => true,
        Ok("never") => false,
        _ => validated_bytes(m) >= STREAM_FROM,
    }
}

/// `compute_workers` for a machine of `cores`, validated tables of
/// `tables` bytes and `room` bytes of free memory (None where it cannot
/// be known: then only a small input goes two at a time).
pub fn workers_for(cores: usize, tables: u64, room: Option<u64>) -> usize {
    let needed = 2 * tables + (1 << 30);
    let room = room.unwrap_or(if tables < (256 << 20) { u64::MAX } else { 0 });
    if cores >= 2 && room >= needed && tables < ONE_AT_A_TIME_FROM {
        2
    } else {
        1
    }
}

/// The size of the validated tables from which a run computes its tables
/// one at a time whatever its memory room (`compute_workers`): 512 MiB.
/// So large a table's own work keeps both cores busy, and a second table
/// beside it only adds its memory: at scale 1000 (1.1 GiB of validated
/// tables) one at a time took as long as two (the whole run 29.5, 32.7
/// and 34.7 s against 29.5, 31.4 and 35.4 s, in turn) with a resident
/// peak of 2.64-2.66 GiB against 2.97-3.10 GiB. At scale 100 (110 MiB)
/// two at a time are faster (3.33 s against 3.80 s, `hyperfine`).
/// README, "Development", has the figures.
pub const ONE_AT_A_TIME_FROM: u64 = 512 << 20;

/// `compute_each` with `workers` tables computed side by side, each worker
/// taking the next table of `COMPUTE_ORDER` when it is done with one: a
/// table's plan leaves part of the cores idle (a sort's merge, a
/// group-by's last groups, the planning of a small table), which the other
/// table's work fills. The tables come out in the order they are
/// finished; each is the table `compute_each` gives. A shared table or
/// event frame is let go once no table still to be finished reads it, and
/// is built once whichever worker asks first (the other waits for it).
/// After a failed table no worker takes another, and the error of the
/// earliest failed table in `COMPUTE_ORDER` is returned.
pub fn compute_each_on(m: &Model, workers: usize, each: impl FnMut(usize, crate::output::Doc, DataFrame) -> Result<()> + Send) -> Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    if crate::progress::timings() {
        let sizes: Vec<String> = m.tables.iter().map(|(name, df)| format!("{name} {}", df.estimated_size() >> 20)).collect();
        crate::tell!("    validated tables (MiB): {}", sizes.join(", "));
    }
    let (next, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let finished = Mutex::new(vec![false; COMPUTE_ORDER.len()]);
    let failed: Mutex<Option<(usize, crate::error::Error)>> = Mutex::new(None);
    let each = Mutex::new(each);
    let work = || {
        while !stop.load(Ordering::Relaxed) {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(step) = COMPUTE_ORDER.get(k) else { break };
            let done = compute_step(m, step).and_then(|out| {
                // a shared table or event frame no table still to be finished reads is let go
                // (a later reader would build it again)
                {
                    let mut finished = locked(&finished);
                    finished[k] = true;
                    let unfinished = || COMPUTE_ORDER.iter().zip(finished.iter()).filter(|(_, f)| !**f).map(|(s, _)| s);
                    m.built.tables.let_go(|shared| !unfinished().any(|s| s.tables.contains(&shared)));
                    m.facts.frames.let_go(|fact| !unfinished().any(|s| s.facts.contains(&fact)));
                }
                crate::progress::hand_back();
                let Some((place, t, df)) = out else { return Ok(()) };
                let (doc, df) = with_completeness(m, t.doc.into(), null_unsupported(m, t, m.ids.decode(df)?)?)?;
                let (doc, df) = with_passthrough(m, doc, df)?;
                (locked(&each))(place, doc, df)
            });
            if let Err(e) = done {
                stop.store(true, Ordering::Relaxed);
                let mut failed = locked(&failed);
                if failed.as_ref().is_none_or(|(first, _)| k < *first) {
                    *failed = Some((k, e));
                }
            }
        }
    };
    if workers <= 1 {
        work(); // on this thread (the registry test counts the memory handed back here)
    } else {
        crate::sync::on_threads((0..workers).map(|_| &work));
    }
    match failed.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()) {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// Step `step` of `COMPUTE_ORDER` computed: its place in table order, its
/// table and its rows (ids still codes); None where the input does not
/// support it.
fn compute_step(m: &Model, step: &Step) -> Result<Option<(usize, &'static OutputTable, DataFrame)>> {
    let name = step.table;
    let Some(place) = OUTPUT_TABLES.iter().position(|t| t.doc.name == name) else {
        return Err(crate::error::Error::Input(format!("COMPUTE_ORDER names {name}, which is no output table")));
    };
    let t = OUTPUT_TABLES[place];
    if !m.supports(t) {
        return Ok(None);
    }
    if profiled(name) {
        if let Some(plan) = (t.build)(m)? {
            print_profile(name, plan)?;
        }
    }
    let label = format!("    compute {name}");
    let df = if is_shared(name) {
        let held = |built: &Result<Option<DataFrame>>| Some(built.as_ref().ok().and_then(Option::as_ref).map_or(0, DataFrame::estimated_size));
        crate::progress::timed(&label, || m.built(t), held)?
    } else {
        let collected = || -> Result<Option<DataFrame>> { Ok((t.build)(m)?.map(LazyFrame::collect).transpose()?) };
        crate::progress::timed(&label, collected, |_| None)?
    };
    Ok(df.map(|df| (place, t, df)))
}

/// Whether `SALESRELAY_PROFILE` names `name` (a table, or `wide` for
/// kpi_tree's aggregates).
pub fn profiled(name: &str) -> bool {
    std::env::var("SALESRELAY_PROFILE").is_ok_and(|v| v.split(',').any(|n| n == name))
}

/// Runs `lf` again under Polars' profiler and prints its slowest plan
/// nodes (`SALESRELAY_PROFILE=pipeline_movement,is_reps`: where a table's
/// time goes).
pub fn print_profile(name: &str, lf: LazyFrame) -> Result<()> {
    let (_, nodes) = lf.profile()?;
    let slowest = nodes
        .lazy()
        .select([col("node"), ((col("end") - col("start")).cast(DataType::Float64) / lit(1e6)).alias("seconds")])
        .sort(["seconds"], SortMultipleOptions::default().with_order_descending(true))
        .limit(15)
        .collect()?;
    crate::tell!("    {name}: its slowest plan nodes\n{slowest}");
    Ok(())
}

/// Adds the mapping's `[passthrough]` columns (the export's own fields,
/// as text) to a table with an `opportunity_id`, matched on it; other
/// tables pass through.
pub fn with_passthrough(m: &Model, mut doc: crate::output::Doc, df: DataFrame) -> Result<(crate::output::Doc, DataFrame)> {
    let Some(p) = m.passthrough else { return Ok((doc, df)) };
    if df.column("opportunity_id").is_err() {
        return Ok((doc, df));
    }
    // DuckDB and pandas users select columns ignoring case
    for (c, _) in &p.columns {
        if let Some(clash) = df.get_column_names().into_iter().find(|n| n.eq_ignore_ascii_case(c)) {
            return Err(crate::error::Error::Config(format!(
                "[passthrough] opportunities: {c} has the name of {}'s column {clash} (DuckDB and pandas match names ignoring case), so it cannot be passed through",
                doc.name
            )));
        }
    }
    let out = df
        .lazy()
        .join(
            p.frame.clone().lazy(),
            [col("opportunity_id")],
            [col("opportunity_id")],
            events::in_order(),
        )
        .collect()?;
    doc.columns.extend(p.columns.iter().cloned());
    Ok((doc, out))
}

/// The output columns this input cannot support (`column_needs`): (table,
/// column, the need's key and why), as data_coverage lists them.
pub fn unsupported_columns(m: &Model) -> Vec<(&'static str, &'static str, String)> {
    let mut out = Vec::new();
    for t in OUTPUT_TABLES {
        for (columns, need) in t.column_needs {
            if let Some(why) = m.why_not(*need) {
                out.extend(columns.iter().map(|c| (t.doc.name, *c, format!("{}: {why}", need.key()))));
            }
        }
    }
    out
}

/// kpi_tree's per-segment measures drawn from deals (and the nodes made of
/// them alone): a deal's source segment is its lead's, so without
/// opportunities.lead_id they are null in the source segments.
pub const DEAL_MEASURES_OF_TREE: [&str; 15] = [
    "wins_is", "wins_fs", "losses_is", "losses_fs", "revenue_is", "revenue_fs", "lost_amount", "opps_is", "opps_fs", "pipeline_created_is",
    "pipeline_created_fs", "revenue", "win_rate", "win_rate_amount", "sales_cycle_days_median",
];

/// The per-segment tables of deals and their measure columns: a deal's
/// source segment is its lead's, so without opportunities.lead_id these
/// are null in the rows of segment_kind source (every deal would read
/// fs_sourced). kpi_tree's are `DEAL_MEASURES_OF_TREE`.
const DEAL_MEASURES_BY_SOURCE: [(&str, &[&str]); 4] = [
    (
        "pipeline_movement",
        &[
            "open_start_count", "created_count", "pulled_in_count", "amount_up_changes", "amount_down_changes", "pushed_out_count", "lost_count",
            "won_count", "open_end_count", "open_start_amount", "created_amount", "pulled_in_amount", "amount_up", "amount_down",
            "pushed_out_amount", "lost_amount", "won_amount", "open_end_amount",
        ],
    ),
    ("stage_conversion", &["entered", "advanced", "conversion", "won", "days_in_stage_median"]),
    ("loss_summary", &["losses", "amount", "share", "amount_share", "prior_losses", "losses_change", "share_change"]),
    ("pipeline_coverage", &["open_deals", "pipeline", "weighted_pipeline", "won_so_far", "target_remaining", "coverage", "weighted_coverage"]),
];

/// Nulls the columns of output table `t` the input cannot support, and
/// the deal measures of its source segments where deals have no lead_id
/// (`DEAL_MEASURES_BY_SOURCE`).
pub fn null_unsupported(m: &Model, t: &OutputTable, mut df: DataFrame) -> Result<DataFrame> {
    for (columns, need) in t.column_needs {
        if m.has(*need) {
            continue;
        }
        for c in *columns {
            if let Ok(existing) = df.column(c) {
                let nulls = Column::full_null((*c).into(), df.height(), existing.dtype());
                df.with_column(nulls)?;
            }
        }
    }
    let by_source = DEAL_MEASURES_BY_SOURCE.iter().find(|(name, _)| *name == t.doc.name);
    if let (Some((_, columns)), false) = (by_source, m.has(Need::OpportunitiesLeadId)) {
        let schema = df.schema().clone();
        let source = col("segment_kind").eq(lit("source"));
        let nulled: Vec<Expr> = columns
            .iter()
            .filter_map(|c| schema.get(c).map(|dt| when(source.clone()).then(lit(NULL).cast(dt.clone())).otherwise(col(*c)).alias(*c)))
            .collect();
        df = df.lazy().with_columns(nulled).collect()?;
    }
    Ok(df)
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
            events::in_order(),
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
    // the flags' sum, not a sum of 64-bit numbers: hoisted before a
    // group-by (`hoist_sums`) the flags are a bit a row, not 8 bytes
    cond.fill_null(lit(false)).sum().cast(DataType::Int64)
}

/// Sum of `value` over rows satisfying `cond`; 0 when none.
pub fn sum_if(value: Expr, cond: Expr) -> Expr {
    when(cond.fill_null(lit(false))).then(value).otherwise(lit(0.0)).cast(DataType::Float64).sum()
}

/// Aggregates `name = X.sum()` with `X` row by row (`count_if`, `sum_if`)
/// computed as columns of `lf` before grouping: each group-by then only
/// sums a column. Inside a group-by the same `X` gathers every column it
/// reads group by group, once per aggregate and grouping (pipeline_movement
/// at scale 1000: its four group-bys 1.2-1.8 s each -> 0.4 s each). A
/// filter under a null-skipping aggregate becomes a column first as well
/// (`hoist_filter`). Other aggregates stay as they are.
fn hoist_sums(lf: LazyFrame, aggs: &[Expr]) -> (LazyFrame, Vec<Expr>) {
    let mut columns = Vec::new();
    let aggs: Vec<Expr> = aggs.iter().map(|e| hoist_filter(e, &mut columns)).collect();
    let aggs = aggs
        .iter()
        .map(|e| match e {
            Expr::Alias(inner, name) => {
                // `X.sum()`, or `X.sum().cast(..)` (`count_if`: a count of flags)
                let (sum, cast) = match inner.as_ref() {
                    Expr::Cast { expr, dtype, options } => (expr.as_ref(), Some((dtype.clone(), *options))),
                    other => (other, None),
                };
                match sum {
                    // a column's own sum is the group-by's fast path already
                    Expr::Agg(AggExpr::Sum(x)) if !matches!(x.as_ref(), Expr::Column(_)) && row_by_row(x) => {
                        let hoisted = format!("__sum_{}", columns.len());
                        columns.push(x.as_ref().clone().alias(hoisted.as_str()));
                        let summed = col(hoisted.as_str()).sum();
                        let summed = match cast {
                            Some((dtype, options)) => Expr::Cast { expr: Arc::new(summed), dtype, options },
                            None => summed,
                        };
                        summed.alias(name.clone())
                    }
                    _ => e.clone(),
                }
            }
            _ => e.clone(),
        })
        .collect();
    if columns.is_empty() {
        return (lf, aggs);
    }
    (lf.with_columns(columns), aggs)
}

/// Aggregate `e` with a filter under an aggregate that skips nulls (`x.filter(c)`
/// under a median, mean, minimum, maximum or sum; `x` and `c` row by row) reading
/// a column `columns` gains instead: `x` where `c` holds, else null. The same
/// values reach the aggregate, and the group-by no longer filters group by
/// group (fs_reps' medians of accepted handoffs and of won deals per rep and
/// quarter). Other aggregates stay as they are.
fn hoist_filter(e: &Expr, columns: &mut Vec<Expr>) -> Expr {
    let Expr::Alias(inner, name) = e else { return e.clone() };
    let mut hoisted = |x: &Expr, by: &Expr| -> Option<Expr> {
        if !row_by_row(x) || !row_by_row(by) {
            return None;
        }
        let name = format!("__filtered_{}", columns.len());
        columns.push(when(by.clone()).then(x.clone()).otherwise(lit(NULL)).alias(name.as_str()));
        Some(col(name.as_str()))
    };
    let filtered = |x: &Expr| match x {
        Expr::Filter { input, by } => Some((input.as_ref().clone(), by.as_ref().clone())),
        _ => None,
    };
    let rewritten = match inner.as_ref() {
        Expr::Function { input, function } if function.to_string() == "quantile" && input.len() == 2 => {
            filtered(&input[0]).and_then(|(x, by)| hoisted(&x, &by)).map(|x| Expr::Function { input: vec![x, input[1].clone()], function: function.clone() })
        }
        Expr::Agg(agg) => {
            // the aggregates that skip nulls, their input swapped for the hoisted column
            let swapped = |x: Expr| {
                let x = Arc::new(x);
                match agg {
                    AggExpr::Min { propagate_nans, .. } => AggExpr::Min { input: x, propagate_nans: *propagate_nans },
                    AggExpr::Max { propagate_nans, .. } => AggExpr::Max { input: x, propagate_nans: *propagate_nans },
                    AggExpr::Mean(_) => AggExpr::Mean(x),
                    AggExpr::Median(_) => AggExpr::Median(x),
                    _ => AggExpr::Sum(x),
                }
            };
            match agg {
                AggExpr::Min { input, .. } | AggExpr::Max { input, .. } | AggExpr::Mean(input) | AggExpr::Median(input) | AggExpr::Sum(input) => {
                    filtered(input).and_then(|(x, by)| hoisted(&x, &by)).map(|x| Expr::Agg(swapped(x)))
                }
                _ => None,
            }
        }
        _ => None,
    };
    rewritten.map_or_else(|| e.clone(), |r| r.alias(name.clone()))
}

/// `group_by(by).agg(aggs)` with the aggregates' row-by-row sums and
/// filtered values computed before grouping (see `hoist_sums`).
pub trait GroupAgg {
    fn group_agg<B: AsRef<[Expr]>, A: AsRef<[Expr]>>(self, by: B, aggs: A) -> LazyFrame;
}

impl GroupAgg for LazyFrame {
    fn group_agg<B: AsRef<[Expr]>, A: AsRef<[Expr]>>(self, by: B, aggs: A) -> LazyFrame {
        let (mut lf, aggs) = hoist_sums(self, aggs.as_ref());
        let Some(Coded { keys, taken, out, fits }) = coded_keys(&mut lf, by.as_ref(), &aggs) else {
            return lf.group_by(by.as_ref()).agg(aggs);
        };
        let coded = |lf: LazyFrame| lf.group_by(keys).agg(taken.into_iter().chain(aggs.iter().cloned()).collect::<Vec<_>>()).select(out);
        let Some(fits) = fits else { return coded(lf) };
        // the rows whose keys fit the packed number, and the others (none, as a rule) plainly:
        // whether a row fits depends on its keys alone, so no group is split between the two
        let lf = lf.cache();
        let rest = lf.clone().filter(fits.clone().not()).group_by(by.as_ref()).agg(aggs.clone());
        concat([coded(lf.filter(fits)), rest], UnionArgs::default()).expect("the plain group-by's columns in both parts")
    }
}

/// How `group_agg` groups by coded keys (`coded_keys`): the keys to group
/// by, the aggregates that take the keys back, the output columns in the
/// plain group-by's order, and, where the keys are packed into one number
/// that not every row's keys may fit (`packed_keys`), which rows fit.
struct Coded {
    keys: Vec<Expr>,
    taken: Vec<Expr>,
    out: Vec<Expr>,
    fits: Option<Expr>,
}

/// Several group keys are encoded row by row, a categorical spelled out as
/// its text: such a key (a column, maybe renamed) groups by its 4-byte code
/// instead and is taken back from each group's first row (is_reps'
/// activities by rep and quarter at scale 1000: 5.0 -> 2.0 s). Keys that
/// are all categoricals or 32-bit integers (quarters), at least one a
/// categorical, group as one 64-bit number (`packed_keys`): no row
/// encoding at all (the activities' 17M rows by quarter, source, industry
/// and region at scale 1000: 28 bytes a row encoded, 8 packed). None where
/// the plain group-by is as good (one key, no categorical) or a name is
/// not known.
fn coded_keys(lf: &mut LazyFrame, by: &[Expr], aggs: &[Expr]) -> Option<Coded> {
    if by.len() < 2 {
        return None;
    }
    let schema = lf.collect_schema().ok()?;
    // each key's output name and, where it is a column, the column and its type
    let mut named = Vec::new();
    for key in by {
        let name = key.clone().meta().output_name().ok()?;
        let source = match key {
            Expr::Alias(inner, _) => inner.as_ref(),
            other => other,
        };
        let column = match source {
            Expr::Column(c) => schema.get(c.as_str()).map(|t| (c.clone(), t.clone())),
            _ => None,
        };
        named.push((key, name, column));
    }
    let mut out: Vec<Expr> = named.iter().map(|(_, name, _)| col(name.clone())).collect();
    for a in aggs {
        out.push(col(a.clone().meta().output_name().ok()?));
    }
    let take = |c: &PlSmallStr, name: &PlSmallStr| col(c.clone()).first().alias(name.clone());
    let columns: Option<Vec<(&PlSmallStr, &DataType)>> = named.iter().map(|(_, _, c)| c.as_ref().map(|(c, t)| (c, t))).collect();
    if let Some((key, fits)) = columns.and_then(|columns| packed_keys(&columns)) {
        let taken = named.iter().map(|(_, name, c)| take(&c.as_ref().expect("every key a column").0, name)).collect();
        return Some(Coded { keys: vec![key.alias("__key")], taken, out, fits });
    }
    let (mut keys, mut taken) = (Vec::new(), Vec::new());
    for (i, (key, name, column)) in named.iter().enumerate() {
        match column {
            Some((c, DataType::Categorical(..))) => {
                keys.push(col(c.clone()).to_physical().alias(format!("__key_{i}")));
                taken.push(take(c, name));
            }
            _ => keys.push((*key).clone()),
        }
    }
    if taken.is_empty() {
        return None;
    }
    Some(Coded { keys, taken, out, fits: None })
}

/// A UInt64 literal, for arithmetic on packed keys and places.
pub(crate) fn u64_lit(v: u64) -> Expr {
    lit(v).cast(DataType::UInt64)
}

/// Group keys `keys` (columns and their types) as one unsigned 64-bit
/// number, equal exactly where every key is (nulls included), and which
/// rows' keys fit it (None: every row's do). Each key has bits of its own:
/// an Int32 or UInt32 33 (its 32 bits, a null as the 33rd), a coded key
/// (a categorical, or an id's own code: `ids::own_bound`) an equal share
/// of the rest (at most 32) holding its code + 1 (0 for null). A code too
/// large for its share does not fit: unless the dictionary is too small to
/// hand one out (a categorical's size with a margin of 2^30 for codes
/// added while the plan runs; own codes' as it is), the rows say whether
/// theirs fit. None for keys of any other type, without a coded key, or
/// where a share would be under 8 bits.
fn packed_keys(keys: &[(&PlSmallStr, &DataType)]) -> Option<(Expr, Option<Expr>)> {
    // a coded key's bound: a categorical's with a margin for codes added while the plan runs, own codes' as is
    let coded = |c: &str, t: &DataType| match t {
        DataType::Categorical(..) => Some(crate::ids::code_bound(t).map(|b| b.saturating_add(1 << 30))),
        _ => crate::ids::own_bound(c, t).map(Some),
    };
    let codes = keys.iter().filter(|(c, t)| coded(c, t).is_some()).count() as u32;
    let ints = keys.iter().filter(|(c, t)| coded(c, t).is_none() && matches!(t, DataType::Int32 | DataType::UInt32)).count() as u32;
    if codes == 0 || ints + codes != keys.len() as u32 || 33 * ints >= 64 {
        return None;
    }
    let width = ((64 - 33 * ints) / codes).min(32);
    if width < 8 {
        return None;
    }
    // the largest code a share holds (its value, code + 1, below 2^width)
    let largest = (1u64 << width) - 2;
    let (mut placed, mut fits, mut shift) = (Vec::new(), Vec::new(), 0u32);
    for (c, t) in keys {
        let bound = coded(c, t);
        let c = col((*c).clone());
        let (field, bits) = match t {
            _ if bound.is_some() => {
                let code = c.to_physical().cast(DataType::UInt64);
                if bound.flatten().is_none_or(|b| b > largest) {
                    fits.push(code.clone().lt_eq(u64_lit(largest)).fill_null(lit(true)));
                }
                ((code + u64_lit(1)).fill_null(u64_lit(0)), width)
            }
            DataType::Int32 => ((c.cast(DataType::Int64) - lit(i32::MIN as i64)).cast(DataType::UInt64).fill_null(u64_lit(1 << 32)), 33),
            // UInt32, the one other type the counts above let through
            _ => (c.cast(DataType::UInt64).fill_null(u64_lit(1 << 32)), 33),
        };
        placed.push(if shift == 0 { field } else { field * u64_lit(1 << shift) });
        shift += bits;
    }
    Some((placed.into_iter().reduce(|a, b| a + b)?, fits.into_iter().reduce(Expr::and)))
}

/// Per row of `keys` (`a` and `__p`, a quarter index): how many distinct
/// values of `b` (an id or segment code; null counts as one value) the
/// rows of `lf` with that `a` and `__p` hold, as column `name` (0 where
/// none). The codes of `b` are counted distinct within each group of
/// (`a`, `__p`), whose two keys `group_agg` packs into one number.
/// Counting distinct (`a`, `b`, quarter) numbers over the whole frame
/// instead took 1.29-1.59 s against 0.62-1.55 s for is_reps' leads
/// touched at scale 1000 (four runs each, in turn): millions of distinct
/// numbers hash slower than groups of a few dozen values each.
pub fn distinct_counts_by_quarter(lf: LazyFrame, a: &str, b: &str, keys: LazyFrame, name: &str) -> LazyFrame {
    let on = [col(a), col("__p")];
    let distinct = settled(lf.group_agg(on.clone(), [col(b).to_physical().n_unique().cast(DataType::Int64).alias(name)]));
    keys.join(distinct, on.clone(), on, JoinArgs { nulls_equal: true, ..JoinArgs::new(JoinType::Left) }).with_column(col(name).fill_null(lit(0i64)))
}

/// Whether `e` gives each row's value from that row alone (so it means
/// the same inside a group-by and before it): columns, literals, casts,
/// arithmetic, comparisons, when/then and row-by-row functions only.
fn row_by_row(e: &Expr) -> bool {
    e.into_iter().all(|node| match node {
        Expr::Alias(..) | Expr::Column(_) | Expr::Literal(_) | Expr::BinaryExpr { .. } | Expr::Cast { .. } | Expr::Ternary { .. } => true,
        // a list of values to look a row's value up in (`str_list`)
        Expr::Agg(AggExpr::Implode { input, .. }) => matches!(input.as_ref(), Expr::Literal(_)),
        Expr::Function { function, .. } => {
            let name = function.to_string();
            ROW_BY_ROW_FUNCTIONS.iter().any(|f| name == *f)
        }
        _ => false,
    })
}

/// Functions (as Polars names them) that work row by row.
const ROW_BY_ROW_FUNCTIONS: &[&str] = &["fill_null", "is_null", "is_not_null", "not", "negate", "is_in", "is_finite", "abs", "coalesce", "is_between"];

/// Groups `lf` (with `period`, `source`, `industry`, `region`) by period and
/// each segment kind, computing `aggs` for each: `period`, `segment_kind`,
/// `segment`, then the aggregates.
pub fn by_segment(lf: LazyFrame, aggs: &[Expr]) -> LazyFrame {
    by_segment_keyed(lf, &[], aggs)
}

/// `by_segment` with extra group keys (e.g. a stage) kept as columns.
pub fn by_segment_keyed(lf: LazyFrame, keys: &[&str], aggs: &[Expr]) -> LazyFrame {
    // one scan of the input feeds the four groupings; each computes its
    // sums' columns as it goes (cached, they would be held all at once)
    let lf = lf.cache();
    let extra: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    let mut by = vec![col("period")];
    by.extend(extra.clone());
    let mut parts = vec![lf
        .clone()
        .group_agg(by, aggs)
        .with_columns([lit("total").alias("segment_kind"), lit("all").alias("segment")])];
    for kind in ["source", "industry", "region"] {
        let mut by = vec![col("period"), col(kind).alias("segment")];
        by.extend(extra.clone());
        // a coded segment (the facts') is text again once grouped
        parts.push(lf.clone().group_agg(by, aggs).with_columns([lit(kind).alias("segment_kind"), col("segment").cast(DataType::String)]));
    }
    // the groupings one after another: the activities' distinct leads per segment at scale 1000
    // held four groupings of 14.6M rows at once (live peak 3.98 -> 3.86 GiB, the run's highest)
    concat(parts, UnionArgs { to_supertypes: true, diagonal: true, parallel: false, ..Default::default() })
        .expect("same columns in every part")
}

/// `by_segment` in one pass for aggregates that add up across segments
/// (`additive`: counts and sums): one group-by at the finest cell (period,
/// source, industry, region), then each segment kind sums its cells. The
/// others (`exact`: medians, distinct counts) go through `by_segment`.
pub fn by_segment_rolled(m: &Model, lf: LazyFrame, additive: &[Expr], exact: &[Expr]) -> LazyFrame {
    let lf = lf.cache();
    let names: Vec<PlSmallStr> = additive.iter().map(|e| e.clone().meta().output_name().expect("an aliased aggregate")).collect();
    // coded segments (the facts') are grouped by code and text again once grouped
    let fine = lf
        .clone()
        .group_agg([col("period"), col("source"), col("industry"), col("region")], additive)
        .with_columns(["source", "industry", "region"].map(|c| col(c).cast(DataType::String)));
    // counts (and sums of whole numbers) come out the same in any order of adding: grouped by
    // the streaming engine, which groups many rows faster (the activities' 17M at scale 1000:
    // their measures 2.2-2.5 s -> 1.8-2.0 s); a sum of floats keeps the in-memory engine, which
    // adds each group's rows in their order, so a run gives the same last digit every time
    let whole = fine.clone().collect_schema().is_ok_and(|s| names.iter().all(|n| s.get(n).is_some_and(DataType::is_integer)));
    let fine = if whole { streamed(m, fine) } else { fine.cache() };
    let sums: Vec<Expr> = names.iter().map(|n| col(n.clone()).sum()).collect();
    let mut parts = vec![fine
        .clone()
        .group_by([col("period")])
        .agg(sums.clone())
        .with_columns([lit("total").alias("segment_kind"), lit("all").alias("segment")])];
    for kind in ["source", "industry", "region"] {
        parts.push(fine.clone().group_by([col("period"), col(kind).alias("segment")]).agg(sums.clone()).with_column(lit(kind).alias("segment_kind")));
    }
    let rolled = concat(parts, UnionArgs { to_supertypes: true, diagonal: true, ..Default::default() }).expect("same columns in every part");
    if exact.is_empty() {
        return rolled;
    }
    let keys = [col("period"), col("segment_kind"), col("segment")];
    settled(rolled).join(settled(by_segment(lf, exact)), keys.clone(), keys, JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns))
}

/// Adds distinct counts to per-segment aggregates `rolled` (a row per
/// period and segment of `lf`): for each `(name, id, flag)`, how many
/// distinct `id` values the rows of `lf` with `flag` set hold in the
/// segment (0 where none; the ids are never null where `flag` is set).
/// Each is counted on its flagged rows alone, so the group-by counts a
/// plain column (a filter inside the aggregate runs group by group).
pub fn with_distinct_counts(rolled: LazyFrame, lf: LazyFrame, counts: &[(&str, &str, &str)]) -> LazyFrame {
    let lf = lf.cache();
    let keys = [col("period"), col("segment_kind"), col("segment")];
    // the aggregates, then each count, computed one after another (`settled`)
    counts.iter().fold(settled(rolled), |acc, (name, id, flag)| {
        // a code stands for one id: counting distinct codes counts distinct ids, faster
        let distinct = settled(by_segment(lf.clone().filter(col(*flag)), &[col(*id).to_physical().n_unique().cast(DataType::Int64).alias(*name)]));
        acc.join(distinct, keys.clone(), keys.clone(), JoinArgs::new(JoinType::Left)).with_column(col(*name).fill_null(lit(0i64)))
    })
}

/// `lf` computed now, as a plan over its result: a part of a table made
/// before the next, where a plan would run the parts side by side (Polars
/// computes the two sides of a join at once, and a chain of joins all its
/// parts) and their working sets would add up. An error is left for the
/// table's own collect to report.
pub fn settled(lf: LazyFrame) -> LazyFrame {
    match lf.clone().collect() {
        Ok(df) => df.lazy(),
        Err(_) => lf,
    }
}

/// `settled` by Polars' streaming engine where the input is large enough
/// (`streams`): for a group-by of many rows or into very many groups (a
/// group per lead or deal), which it groups without building each group's
/// row list first. Only for plans whose
/// result does not depend on row order within a group (counts, sums of
/// whole numbers, minima, maxima; not sums of floats, whose last digit
/// depends on the order they are added in: the engine does not keep the
/// rows' order), and whose rows are then joined onto a frame in order or
/// sorted (they come out in no set order). Should it fail, the plan goes
/// back as it is and the table's own collect reports the error.
pub fn streamed(m: &Model, lf: LazyFrame) -> LazyFrame {
    if !streams(m) {
        return settled(lf);
    }
    match lf.clone().collect_with_engine(Engine::Streaming) {
        Ok(df) => df.unwrap_single().lazy(),
        Err(_) => lf,
    }
}

/// Left-joins per-segment aggregates onto the grid.
pub fn onto_grid(grid: LazyFrame, part: LazyFrame) -> LazyFrame {
    let keys = [col("period"), col("segment_kind"), col("segment")];
    grid.join(part, keys.clone(), keys, JoinArgs::new(JoinType::Left))
}
