//! Raw frames -> typed, checked tables and findings. Every problem is named
//! (table, row as in the file, column, value, rule); nothing is dropped
//! without a finding. In lenient mode the rows with findings are set aside.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::contract::{TableSpec, ROW, TABLES};
use crate::error::Result;
use crate::load::{RawInput, SourceFile};
use crate::findings::{check, findings_frame, Effect, Finding, FINDING_COLUMNS};

/// The validated input: typed tables (bad rows removed when lenient) and every finding.
#[derive(Debug)]
pub struct Validated {
    /// Ids are own codes (see `ids::Ids`; `ids.decode` gives text); rows
    /// in file order, without the line numbers (`_row`) the findings name.
    pub tables: BTreeMap<&'static str, DataFrame>,
    /// Findings sorted by table (contract order), row, column, rule.
    pub findings: DataFrame,
    pub missing: Vec<&'static str>,
    pub sources: Vec<SourceFile>,
    /// What the input cannot support and why (see `coverage`).
    pub unavailable: BTreeMap<String, String>,
    /// The mapping used, if any.
    pub mapping: Option<crate::mapping::Applied>,
    /// Per table, the file(s) it came from.
    pub files: BTreeMap<&'static str, Vec<String>>,
    /// Headers of native files outside the contract (ignored).
    pub ignored: Vec<crate::load::IgnoredColumn>,
    /// How files were read, where worth saying (see `load::RawInput::notes`).
    pub notes: Vec<String>,
    /// Per loaded table, what --lenient set aside (all zero without it).
    pub set_aside: Vec<SetAside>,
    /// Unusual but possible orders in the rows kept (findings schema,
    /// effect `none`): not problems, counted in the summary (`unusual_lines`).
    pub unusual: DataFrame,
    /// The currency amounts are in: the configured base_currency, else the
    /// one currency every deal is in (None: not stated).
    pub base_currency: Option<String>,
    /// A mapping's `[passthrough]` opportunity columns (see `load::Passthrough`).
    pub passthrough: Option<crate::contract::Passthrough>,
    /// The tables whose one-column text key is above the row before's in
    /// every row kept (an export in key order), as the duplicate check
    /// found: `keys_as_order` holds such keys as their rank.
    pub ascending_keys: Vec<&'static str>,
    /// The dictionaries of the tables' ids (`ids::Ids`: own codes, sorted as text).
    pub ids: crate::ids::Ids,
}

/// What --lenient did to one table.
#[derive(Debug, Clone, PartialEq)]
pub struct SetAside {
    pub table: &'static str,
    /// Data rows read (well-formed or not).
    pub rows: usize,
    /// Rows set aside, including those whose parent row was.
    pub set_aside: usize,
    /// Values emptied in rows that were kept.
    pub values_nulled: usize,
}

impl SetAside {
    /// The share of the table's rows set aside (0 for an empty table).
    pub fn share(&self) -> f64 {
        if self.rows == 0 { 0.0 } else { self.set_aside as f64 / self.rows as f64 }
    }
}

impl Validated {
    /// Whether any finding makes a table unusable.
    pub fn has_fatal(&self) -> bool {
        self.findings.column("fatal").ok().and_then(|c| c.bool().ok().map(|b| b.any())).unwrap_or(false)
    }
    /// data_quality: the problems, then the unusual orders.
    pub fn data_quality(&self) -> Result<DataFrame> {
        Ok(self.findings.vstack(&self.unusual)?)
    }

    /// One line per kind of unusual order, for the run summary and
    /// `validate`: "unusual: 3 first FS contacts before the handoff
    /// (counted as SLA met)".
    pub fn unusual_lines(&self) -> Result<Vec<String>> {
        let rules = self.unusual.column("rule")?.str()?.clone();
        Ok(DATE_ORDERS
            .iter()
            .filter_map(|o| {
                let (one, many, meaning) = o.unusual?;
                let n = rules.iter().filter(|r| *r == Some(o.rule)).count() as u64;
                (n > 0).then(|| format!("unusual: {} ({meaning})", crate::summary::count(n, one, many)))
            })
            .collect())
    }

    /// The typed frame of `name` as a LazyFrame, if the table came in.
    pub fn lazy(&self, name: &str) -> Option<LazyFrame> {
        self.tables.get(name).map(|df| df.clone().lazy())
    }

    /// A table as a LazyFrame with its ids and coded enums as text, as the
    /// input gave them (what SQL reads: `ids::Ids::decode_table`).
    pub fn as_text(&self, name: &str) -> Option<LazyFrame> {
        self.tables.get(name).map(|df| self.ids.decode_table(name, df.clone()))
    }

    /// Holds each of `keys` (of `ORDER_ONLY_KEYS`) as its rank among the
    /// table's keys (a UInt32: 0, 1, 2, ...) instead of its text, where
    /// the table lists its keys in ascending order (an export in key
    /// order; see `ascending_keys`): sorting by the rank then gives the
    /// order sorting by the text gave, and nothing else reads them. At
    /// scale 1000 the activities' 17M ids take 0.2 GB less (4 bytes a row
    /// instead of 16), the room views' 5M 0.06 GB. `run` passes the keys no
    /// query may read (`sql::may_read_column`): queries, and the `query`
    /// command, read the input tables as given.
    pub fn keys_as_order(&mut self, keys: &[(&'static str, &'static str)]) -> Result<()> {
        for &(table, key) in keys {
            let Some(df) = self.tables.get_mut(table).filter(|_| self.ascending_keys.contains(&table)) else { continue };
            let rank = IdxCa::from_vec(key.into(), (0..df.height() as IdxSize).collect());
            df.replace(key, rank.into_column())?;
        }
        Ok(())
    }

    /// Lets go of `columns` ((table, column), of `UNREAD_COLUMNS`) where
    /// the table has them: validated, checked and no longer needed.
    pub fn let_go(&mut self, columns: &[(&'static str, &'static str)]) {
        for &(table, column) in columns {
            if let Some(df) = self.tables.get_mut(table) {
                // absent (an optional column the input left out): nothing to let go
                let _ = df.drop_in_place(column);
            }
        }
    }
}

/// Keys that no column names and no output table shows: the tables read
/// them only to order ties (meeting_pattern: a deal's meetings at one time
/// by activity_id; dsr_engagement: a deal's last views at one time by
/// view_id). See `Validated::keys_as_order`.
pub const ORDER_ONLY_KEYS: [(&str, &str); 2] = [("activities", "activity_id"), ("dsr_views", "view_id")];

/// Input columns the contract takes and validation checks that no output
/// table reads (the report shows none of them): `run` lets go of those no
/// query may read (`sql::may_read_column`) before it computes the tables
/// (`Validated::let_go`). At scale 1000 the activities' 17M durations
/// alone take 0.13 GiB.
pub const UNREAD_COLUMNS: [(&str, &str); 5] = [
    ("accounts", "employees"),
    ("reps", "manager_id"),
    ("leads", "channel"),
    ("leads", "disqualified_at"),
    ("activities", "duration_min"),
];

/// An order of timestamps across rows: `later` of `table` should not be
/// before `earlier` of the row its column `via.0` names in table `via.1`
/// (by key `via.2`), or of its own row when `via` is None.
#[derive(Debug, Clone, Copy)]
pub struct DateOrder {
    pub table: &'static str,
    pub later: &'static str,
    pub via: Option<(&'static str, &'static str, &'static str)>,
    pub earlier: &'static str,
    pub rule: &'static str,
    /// None: impossible, a finding like any other (`--lenient` sets the row
    /// aside). Some((one, many, meaning)): unusual but possible, counted in
    /// the run summary as "unusual: N <one|many> (<meaning>)", effect `none`.
    pub unusual: Option<(&'static str, &'static str, &'static str)>,
}

/// The orders checked across tables, after references (so a parent is
/// always one of the rows kept). Impossible: a lead cannot be handed off
/// before it existed; a year typo does that. Unusual: a rep may call a
/// customer before the CRM has the lead, FS may meet one before the
/// handoff is logged, and a lead may be converted into a deal that already
/// existed, even one already closed (a deal closed before its lead but not
/// before its own creation is exactly that; one closed before its own
/// creation is `closed_before_created` already). Each is counted as the
/// metrics define it. An opportunity created before its lead is not
/// checked: the same conversion does that.
pub const DATE_ORDERS: &[DateOrder] = &[
    DateOrder {
        table: "opportunities",
        later: "closed_at",
        via: Some(("lead_id", "leads", "lead_id")),
        earlier: "created_at",
        rule: "closed_before_lead_created",
        unusual: Some((
            "deal closed before its lead was created",
            "deals closed before their lead was created",
            "kept: a lead converted into a deal that already existed does this",
        )),
    },
    DateOrder {
        table: "handoffs",
        later: "handed_off_at",
        via: Some(("lead_id", "leads", "lead_id")),
        earlier: "created_at",
        rule: "handoff_before_lead_created",
        unusual: None,
    },
    DateOrder {
        table: "handoffs",
        later: "first_fs_contact_at",
        via: None,
        earlier: "handed_off_at",
        rule: "first_fs_contact_before_handoff",
        unusual: Some(("first FS contact before the handoff", "first FS contacts before the handoff", "counted as SLA met")),
    },
    DateOrder {
        table: "activities",
        later: "occurred_at",
        via: Some(("lead_id", "leads", "lead_id")),
        earlier: "created_at",
        rule: "activity_before_lead_created",
        unusual: Some((
            "activity before its lead was created",
            "activities before their lead was created",
            "kept; an IS rep's first one counts as a response within the hour",
        )),
    },
];

/// A UTC timestamp expression as text: `2026-04-06T01:00:00Z`.
fn utc_text(ts: Expr) -> Expr {
    ts.dt().to_string("%Y-%m-%dT%H:%M:%SZ")
}

/// The findings of one order over the rows `lf` of its table (`tables`:
/// the rows kept of the tables checked before): each row whose `later`
/// is before `earlier`, the value being `later` and the detail naming the
/// earlier timestamp and, across tables, the row it is in. None when the
/// parent table is absent.
fn date_order_findings(lf: &LazyFrame, o: &DateOrder, tables: &BTreeMap<&'static str, DataFrame>) -> Option<LazyFrame> {
    let (rows, detail) = match o.via {
        None => {
            let detail = concat_str([lit(format!("{} is before {} (", o.later, o.earlier)), utc_text(col(o.earlier)), lit(")")], "", false);
            (lf.clone().with_column(col(o.earlier).alias("__earlier")), detail)
        }
        Some((fk, parent, key)) => {
            let parent_df = tables.get(parent)?;
            // a gather by code needs both ids in one dictionary
            let fk_type = lf.clone().collect_schema().ok()?.get(fk).cloned();
            let coded = parent_df.column(key).is_ok_and(|k| fk_type.as_ref().is_some_and(|t| crate::ids::same_kind((o.table, fk, t), (parent, key, k.dtype()))));
            let laid_out = coded.then(|| crate::ids::laid_out(parent_df, key, &[o.earlier])).flatten().and_then(|mut v| v.pop());
            let noun = parent.strip_suffix('s').unwrap_or(parent);
            let detail = concat_str(
                [lit(format!("{} is before the {} of its {noun} ", o.later, o.earlier)), crate::ids::load_text(o.table, fk), lit(" ("), utc_text(col("__earlier")), lit(")")],
                "",
                false,
            );
            let rows = match laid_out {
                // each row's parent looked up by its id's code (a row without a parent gets null, which no order check flags)
                Some(earlier) => lf.clone().with_column(crate::ids::taken_at(earlier, col(fk).to_physical()).alias("__earlier")),
                None => {
                    let parents =
                        parent_df.clone().lazy().filter(col(key).is_first_distinct()).select([col(key).alias("__key"), col(o.earlier).alias("__earlier")]);
                    lf.clone().join(parents, [col(fk)], [col("__key")], JoinArgs::new(JoinType::Inner))
                }
            };
            (rows, detail)
        }
    };
    let effect = if o.unusual.is_some() { Effect::Noted } else { Effect::of(o.table, Some(o.later), o.rule) };
    Some(rows.filter(col(o.later).lt(col("__earlier"))).select([
        lit(o.table).alias("table"),
        lit(NULL).cast(DataType::String).alias("file"),
        col(ROW).cast(DataType::Int64).alias("row"),
        lit(o.later).alias("column"),
        utc_text(col(o.later)).alias("value"),
        lit(o.rule).alias("rule"),
        detail.alias("detail"),
        lit(effect.as_str()).alias("effect"),
        lit(false).alias("fatal"),
    ]))
}

/// Problems only the whole table shows: a key seen in an earlier row
/// (`duplicate_row` when the whole row repeats it, else `duplicate_key`).
/// The finding's column is the key: `lead_id`, or every column of a
/// composite key joined by ` + ` (`opportunity_id + entered_at`); its value
/// is the key's values joined by ` | `.
/// The plan's own rules: a quarter label, a kpi_tree node, a segment its
/// kind can have (total: all; source: inbound, outbound, fs_sourced), a
/// target >= 0 and, for a share, at most 1. Industries and regions are
/// matched against the data when plan_vs_actual is built.
fn target_checks(lf: &LazyFrame) -> Vec<LazyFrame> {
    use crate::metrics::tree::NODES;
    let nodes: Vec<&str> = NODES.iter().map(|n| n.name).collect();
    let shares: Vec<&str> = NODES.iter().filter(|n| n.is_share()).map(|n| n.name).collect();
    let t = "targets";
    let known = |values: &[&str]| col("segment").is_in(crate::typing::str_list(values), false);
    let bad_segment = (col("segment_kind").eq(lit("total")).and(col("segment").neq(lit("all"))))
        .or(col("segment_kind").eq(lit("source")).and(known(&["inbound", "outbound", "fs_sourced"]).not()));
    vec![
        check(lf, t, Some("period"), col("period"), col("period").str().contains(lit(r"^FY\d{4}-Q[1-4]$"), true).not(), "not_a_quarter", "not a fiscal quarter label such as FY2026-Q3"),
        check(lf, t, Some("node"), col("node"), col("node").is_in(crate::typing::str_list(&nodes), false).not(), "unknown_node", "not a kpi_tree node (salesrelay metrics lists them)"),
        check(lf, t, Some("segment"), col("segment"), bad_segment, "unknown_segment", "not a segment of its kind (total: all; source: inbound, outbound or fs_sourced)"),
        check(lf, t, Some("target"), col("target").cast(DataType::String), col("target").lt(lit(0.0)), "negative_value", "is negative (a target is >= 0)"),
        check(
            lf,
            t,
            Some("target"),
            col("target").cast(DataType::String),
            col("node").is_in(crate::typing::str_list(&shares), false).and(col("target").gt(lit(1.0))),
            "out_of_range",
            "is above 1 for a share (write 35% as 0.35)",
        ),
    ]
}

fn duplicate_checks(lf: &LazyFrame, spec: &TableSpec) -> Vec<LazyFrame> {
    let t = spec.name;
    let mut checks = Vec::new();
    // Duplicates: every occurrence after the first is a finding; an exact
    // repeat of an earlier row says so.
    let key: Vec<Expr> = spec.key.iter().map(|k| col(*k)).collect();
    let all: Vec<Expr> = spec.columns.iter().map(|c| col(c.name)).collect();
    let key_value = if spec.key.len() == 1 {
        crate::ids::load_text(spec.name, spec.key[0])
    } else {
        concat_str(spec.key.iter().map(|k| crate::ids::load_text(spec.name, k)).collect::<Vec<_>>(), " | ", false)
    };
    let key_not_null = spec.key.iter().fold(lit(true), |acc, k| acc.and(col(*k).is_not_null()));
    let dup_key = as_struct(key.clone()).is_first_distinct().not().and(key_not_null);
    // whole-row comparison only where the key repeats (rare), not over every row
    let repeated_key = as_struct(key.clone()).is_duplicated();
    let dup_row = when(repeated_key)
        .then(as_struct(all).is_first_distinct().not())
        .otherwise(lit(false));
    // a composite key is named in full (`opportunity_id + entered_at`), so
    // it never reads as if its first column alone had to be unique
    let key_label = spec.key.join(" + ");
    let detail = if spec.key.len() == 1 {
        format!("{key_label} repeats an earlier row with different values")
    } else {
        format!("the key {key_label} (together) repeats an earlier row with different values")
    };
    checks.push(check(
        lf,
        t,
        Some(&key_label),
        key_value.clone(),
        dup_key.clone().and(dup_row.clone()),
        "duplicate_row",
        "the whole row repeats an earlier row",
    ));
    checks.push(check(lf, t, Some(&key_label), key_value, dup_key.and(dup_row.not()), "duplicate_key", &detail));
    checks
}

/// Whether each value of text column `key` of `df` is above the one before
/// (so every value is distinct); a null makes the answer no. Each chunk
/// the table was typed in is compared on its own, neighbour against
/// neighbour (within a chunk they line up: slices of the whole column at
/// rows 0 and 1 did not, and comparing them copied the column, 17M ids
/// and 0.3 GB of new memory at scale 1000), the chunks a part a core at
/// once (one comparison of 17M ids took 0.3 s on one core), then each
/// chunk's first value against the last one before it.
pub fn ascending_text(df: &DataFrame, key: &str) -> Result<bool> {
    let height = df.height();
    let column = df.column(key)?;
    if column.dtype() != &DataType::String || height < 2 {
        return Ok(false);
    }
    let text = column.as_materialized_series().str()?.clone();
    // where each chunk starts, and the end
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.chunk_lengths().scan(0, |at, n| {
            *at += n;
            Some(*at)
        }))
        .collect();
    let chunks = starts.len() - 1;
    let within = |k: usize| -> bool {
        let (first, n) = (starts[k], starts[k + 1] - starts[k]);
        if n < 2 {
            return true;
        }
        let chunk = text.slice(first as i64, n);
        let above = chunk.slice(1, n - 1).gt(&chunk.slice(0, n - 1));
        above.null_count() == 0 && above.all()
    };
    // (two rows or more: one chunk at least)
    let parts = crate::sync::cores().clamp(1, chunks);
    let part = |p: usize| move || (p * chunks / parts..(p + 1) * chunks / parts).all(within);
    let each = crate::sync::on_cores((0..parts).map(part));
    let across = starts[1..chunks].iter().all(|&at| matches!((text.get(at - 1), text.get(at)), (Some(a), Some(b)) if b > a));
    Ok(each.into_iter().all(|a| a) && across)
}

/// Whether a validated table of `table_bytes` is made one chunk a column
/// with its columns side by side (`validate`): where `room` (the memory
/// the process may still take, `progress::memory_room`) holds a copy of
/// the table and 1 GiB besides.
pub fn rechunk_side_by_side(table_bytes: u64, room: Option<u64>) -> bool {
    room.is_some_and(|room| room >= table_bytes.saturating_add(1 << 30))
}

/// Types and checks every table; with `lenient`, rows with findings are removed
/// (references are checked against the parents' kept rows, so removal cascades).
pub fn validate(raw: RawInput, lenient: bool) -> Result<Validated> {
    // `coding` keeps the ids' load codes readable until they are own codes (below)
    let RawInput { tables: raw_tables, sources, missing, findings: read_findings, unavailable, mapping, ignored, notes, base_currency, passthrough, coding } = raw;
    // the base: configured, else the one currency every deal is in
    let mut base = base_currency.clone();
    let (mut file_rows, mut origin_rows) = (Vec::new(), Vec::new());
    for (name, t) in &raw_tables {
        file_rows.extend(t.files.iter().enumerate().map(|(i, f)| (name.to_string(), i as i64, f.clone())));
        origin_rows.extend(t.origins.iter().map(|(c, i, o)| (name.to_string(), c.to_string(), *i, o.clone())));
    }
    let files: BTreeMap<&'static str, Vec<String>> = raw_tables.iter().map(|(n, t)| (*n, t.files.clone())).collect();
    let mut finding_frames: Vec<LazyFrame> = vec![findings_frame(&read_findings)?.lazy()];
    let mut tables: BTreeMap<&'static str, DataFrame> = BTreeMap::new();
    let mut set_aside = Vec::new();
    let mut ascending_keys = Vec::new();
    let mut unusual: Vec<LazyFrame> = Vec::new();
    let mut raw_tables = raw_tables;
    let mut held_codes: BTreeMap<(&str, &str), Option<Series>> = BTreeMap::new();
    for spec in TABLES {
        // ids arrive as dictionary codes (`typing::type_chunk` coded them, see
        // `ids`): the key and reference checks below hash and compare codes
        let Some(mut loaded) = raw_tables.remove(spec.name) else { continue };
        let clock = std::time::Instant::now();
        if crate::progress::timings() {
            crate::progress::peak_since();
        }
        // columns whose chunks line up: a filter over columns whose chunks do not first
        // copies every column it reads into one (at scale 1000 a check of the activities
        // against their leads copied 0.47 GB for it). The pieces the table was typed in
        // are one chunk a column each (`typing::type_chunk`), so they line up as they are
        // (scale 1000: validate 2.5-2.8 -> 1.7-1.8 s and the run's resident peak 5.5 -> 4.5
        // GB, two and three rounds in turn, without a copy of activities' 635 MB). Else one
        // chunk a column: a column a thread where the memory free has room for the table's
        // copy and 1 GiB besides (scale 1000: 0.6 s against 1.1 s), else a column at a time,
        // so that at most one column's copy is held beside the table (side by side, a run in
        // 3 GiB at scale 1000 failed)
        if loaded.df.should_rechunk() {
            if rechunk_side_by_side(loaded.df.estimated_size() as u64, crate::progress::memory_room()) {
                loaded.df.rechunk_mut_par();
            } else {
                loaded.df.rechunk_mut();
            }
        }
        // a header line pasted again is one finding (typing's repeated_header), not a row the key,
        // reference and order checks below read as data (its "account_id" no account)
        let headers = loaded.findings.clone().lazy().filter(col("rule").eq(lit("repeated_header"))).select([col("row").cast(DataType::Int64)]).collect()?;
        if headers.height() > 0 {
            let rows = headers.column("row")?.as_materialized_series().clone();
            loaded.df = loaded.df.lazy().filter(col(crate::contract::ROW).cast(DataType::Int64).is_in(lit(rows).implode(true), false).not()).collect()?;
        }
        let height = loaded.df.height();
        let lf = loaded.df.clone().lazy();
        let mut checks = vec![loaded.findings.lazy()];
        // only rows whose key repeats can be duplicates (usually none): the
        // whole-row comparison runs on those, not on every row
        let key_repeats = match spec.key {
            [k] => col(*k).is_duplicated(),
            keys => as_struct(keys.iter().map(|k| col(*k)).collect::<Vec<_>>()).is_duplicated(),
        };
        // the common case, every key distinct, is one count of distinct values;
        // a text key each row of which is above the one before (an export in
        // key order) is distinct without hashing a single key
        let distinct_values = |e: Expr| -> Result<Option<u64>> {
            Ok(lf.clone().select([e.n_unique().alias("n")]).collect()?.column("n")?.cast(&DataType::UInt64)?.u64()?.get(0))
        };
        let ascending = match spec.key {
            [k] => ascending_text(&loaded.df, k)?,
            _ => false,
        };
        let distinct = match spec.key {
            _ if ascending => Some(height as u64),
            [k] => distinct_values(col(*k))?,
            keys if keys.iter().all(|k| loaded.df.column(k).is_ok_and(|c| c.dtype().to_physical().is_integer())) => {
                // (stage_history: a deal's code and a timestamp) folded into one
                // integer: equal keys fold alike, so as many distinct folds as
                // rows means distinct keys (a fold two keys share only sends
                // the table through the exact check below)
                distinct_values(keys.iter().fold(lit(0i64), |folded, k| folded * lit(1_000_003i64) + col(*k).to_physical().cast(DataType::Int64)))?
            }
            _ => None,
        };
        let keys_counted = clock.elapsed().as_secs_f64();
        let repeated = if distinct == Some(height as u64) { lf.clone().limit(0).collect()?.lazy() } else { lf.clone().filter(key_repeats).collect()?.lazy() };
        checks.extend(duplicate_checks(&repeated, spec));
        if spec.name == "targets" {
            checks.extend(target_checks(&lf));
        }
        if spec.name == "opportunities" {
            let rates = tables.get("exchange_rates").map(|d| d.clone().lazy());
            let foreign = crate::currency::foreign_currencies(&lf, base.as_deref())?;
            // where the rates come from: the export's own files through a mapping (Salesforce's
            // DatedConversionRate or CurrencyType), else exchange_rates.csv
            let add_rates = |per: &str| match (&mapping, unavailable.get("exchange_rates")) {
                // (a mapping that reads them from files the input lacks: its reason names the mapping)
                (Some(m), Some(why)) if why.ends_with(&format!("(mapping {})", m.name)) => {
                    format!("add the export's exchange rates: {why}")
                }
                _ => format!("add exchange_rates.csv (currency, valid_from, rate = units of the currency per one {per})"),
            };
            if base.is_none() && foreign.len() == 1 && rates.is_none() {
                base = foreign.first().cloned();
            } else if base.is_none() && foreign.len() > 1 {
                let detail = format!(
                    "opportunities are in {}: set base_currency in salesrelay.toml (e.g. base_currency = \"{}\") and {}",
                    foreign.join(", "),
                    foreign[0],
                    add_rates("base unit")
                );
                checks.push(findings_frame(&[Finding::fatal(spec.name, Some("currency".into()), "several_currencies", detail)])?.lazy());
            } else if !foreign.is_empty() && rates.is_none() {
                let detail = format!(
                    "opportunities are in {} besides {}: {}",
                    foreign.join(", "),
                    base.clone().unwrap_or_default(),
                    add_rates(&base.clone().unwrap_or_default())
                );
                checks.push(findings_frame(&[Finding::fatal(spec.name, Some("currency".into()), "no_exchange_rates", detail)])?.lazy());
            } else {
                checks.extend(crate::currency::currency_checks(&lf, rates, base.as_deref())?);
            }
        }
        for c in spec.columns {
            let Some((parent, parent_col)) = c.references else { continue };
            let Some(parent_df) = tables.get(parent) else { continue };
            let named = lf.clone().filter(col(c.name).is_not_null());
            // a parent's codes are laid out once for every column naming it (five name the reps)
            let held = held_codes.entry((parent, parent_col)).or_insert_with(|| parent_df.column(parent_col).ok().and_then(crate::ids::codes_held)).clone();
            let dangling = match held {
                // coded ids: each row's code looked up among the codes the parent holds (a code
                // past the parent's, none of its ids, is dangling too);
                // one filter: a first one keeping the named rows would copy most of them
                Some(held) if loaded.df.column(c.name).is_ok_and(|v| parent_df.column(parent_col).is_ok_and(|p| crate::ids::same_kind((spec.name, c.name, v.dtype()), (parent, parent_col, p.dtype())))) => {
                    lf.clone().filter(col(c.name).is_not_null().and(crate::ids::taken_at(held, col(c.name).to_physical()).fill_null(lit(false)).not()))
                }
                // an anti join only asks whether a key is there: the parent's keys need no unique pass first
                _ => named.join(parent_df.clone().lazy().select([col(parent_col).alias("__key")]), [col(c.name)], [col("__key")], JoinArgs::new(JoinType::Anti)),
            };
            // where the export's deleted rows were left out of the parent's files, the value may
            // name one of them (Salesforce keeps a deleted deal's lead pointing at it)
            let deleted: Vec<String> = match &mapping {
                Some(m) => m
                    .deleted
                    .iter()
                    .filter(|(file, _, _)| files.get(parent).is_some_and(|f| f.contains(file)))
                    .map(|(file, flag, n)| format!("{n} of {file} ({flag} = true)"))
                    .collect(),
                None => Vec::new(),
            };
            let detail = match deleted.as_slice() {
                [] => format!("no {parent} row has {parent_col} = this value"),
                d => format!("no {parent} row has {parent_col} = this value (rows the export marks deleted were left out: {}; a row of a deleted record?)", d.join(", ")),
            };
            checks.push(check(&dangling, spec.name, Some(c.name), crate::ids::load_text(spec.name, c.name), lit(true), "dangling_reference", &detail));
        }
        let orders = || DATE_ORDERS.iter().filter(|o| o.table == spec.name);
        checks.extend(orders().filter(|o| o.unusual.is_none()).filter_map(|o| date_order_findings(&lf, o, &tables)));
        // without Polars' common-subplan elimination: with accounts and leads both unreadable,
        // the opportunities' checks sent its predicate pushdown into an unreachable branch (a
        // panic, polars-plan 0.55.2 cse/cache_states.rs); the checks share only `lf`, a frame
        // in memory, which costs nothing to scan twice
        let checks = concat(checks, UnionArgs::default())?;
        let flags = checks.get_current_optimizations().difference(OptFlags::COMM_SUBPLAN_ELIM);
        let table_findings = checks.with_optimizations(flags).collect()?;
        let checked = clock.elapsed().as_secs_f64();
        let mut kept = lf;
        let mut values_nulled = 0;
        if lenient {
            let of = |effect: Effect| table_findings.clone().lazy().filter(col("effect").eq(lit(effect.as_str())));
            // `_row` is a UInt32 where Polars' reader read the file, an Int64 elsewhere
            let row_type = loaded.df.column(ROW)?.dtype().clone();
            let bad_rows = of(Effect::SetAside).select([col("row").cast(row_type.clone())]).unique(None, UniqueKeepStrategy::Any);
            kept = kept.join(bad_rows, [col(ROW)], [col("row")], JoinArgs::new(JoinType::Anti));
            // a bad optional value is emptied; the row stays
            let nulled = of(Effect::NullValue).select([col("column"), col("row")]).collect()?;
            // (a value of a row set aside is not counted as emptied in a row that was kept)
            let set_aside_rows = of(Effect::SetAside).select([col("row")]).unique(None, UniqueKeepStrategy::Any);
            values_nulled = nulled.clone().lazy().join(set_aside_rows, [col("row")], [col("row")], JoinArgs::new(JoinType::Anti)).collect()?.height();
            let schema = loaded.df.schema().clone();
            for c in spec.columns.iter().filter(|c| !c.required) {
                let rows = nulled.clone().lazy().filter(col("column").eq(lit(c.name))).select([col("row")]).collect()?;
                let (Some(dtype), false) = (schema.get(c.name), rows.height() == 0) else { continue };
                let rows = rows.column("row")?.as_materialized_series().cast(&row_type)?;
                kept = kept.with_column(
                    when(col(ROW).is_in(lit(rows).implode(true), false))
                        .then(lit(NULL).cast(dtype.clone()))
                        .otherwise(col(c.name))
                        .alias(c.name),
                );
            }
        }
        // rows arrive in file order and filters keep it; sorting (which copies
        // every column) only where they do not (a mapping's several sources)
        let kept = kept.collect()?;
        let order = kept.clone().lazy().select([col(ROW).shift(lit(1)).gt(col(ROW)).any(true).alias("o")]).collect()?;
        let out_of_order = order.column("o")?.bool()?.get(0).unwrap_or(false);
        let kept = if out_of_order { kept.sort([ROW], Default::default())? } else { kept };
        // rows removed keep the keys ascending; a sort into file order may not
        if ascending && !out_of_order {
            ascending_keys.push(spec.name);
        }
        let kept_lf = kept.clone().lazy();
        unusual.extend(orders().filter(|o| o.unusual.is_some()).filter_map(|o| date_order_findings(&kept_lf, o, &tables)));
        set_aside.push(SetAside {
            table: spec.name,
            rows: height,
            set_aside: height - kept.height(),
            values_nulled,
        });
        if crate::progress::timings() {
            crate::tell!(
                "    {}: keys counted {keys_counted:.2}s, checks {:.2}s, kept {:.2}s, peak {}",
                spec.name,
                checked - keys_counted,
                clock.elapsed().as_secs_f64() - checked,
                crate::progress::peak_since()
            );
        }
        tables.insert(spec.name, kept);
        finding_frames.push(table_findings.lazy());
    }
    let order = df!(
        "table" => TABLES.iter().map(|t| t.name).collect::<Vec<_>>(),
        "__order" => (0..TABLES.len() as u32).collect::<Vec<_>>(),
    )?;
    let file_names = df!(
        "table" => file_rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        "__src" => file_rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "__file" => file_rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>(),
    )?;
    let origins = df!(
        "table" => origin_rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        "column" => origin_rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
        "__src" => origin_rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "__origin" => origin_rows.iter().map(|r| r.3.clone()).collect::<Vec<_>>(),
    )?;
    let finish = std::time::Instant::now();
    let shift = lit(crate::load::SOURCE_SHIFT);
    // the unusual orders get their files and origins as the problems do, then go apart
    finding_frames.extend(unusual);
    let all = concat(finding_frames, UnionArgs::default())?
        .with_columns([
            (col("row") / shift.clone()).cast(DataType::Int64).fill_null(lit(0i64)).alias("__src"),
            (col("row") % shift).alias("row"),
        ])
        .join(file_names.lazy(), [col("table"), col("__src")], [col("table"), col("__src")], JoinArgs::new(JoinType::Left))
        .join(
            origins.lazy(),
            [col("table"), col("column"), col("__src")],
            [col("table"), col("column"), col("__src")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            coalesce(&[col("file"), col("__file")]).alias("file"),
            when(col("__origin").is_not_null())
                .then(concat_str([col("detail"), lit(" ("), col("__origin"), lit(")")], "", false))
                .otherwise(col("detail"))
                .alias("detail"),
        ])
        .join(order.lazy(), [col("table")], [col("table")], JoinArgs::new(JoinType::Left))
        .sort_by_exprs(
            [col("__order"), col("file"), col("row"), col("column"), col("rule")],
            SortMultipleOptions::default().with_nulls_last(false).with_maintain_order(true),
        )
        .select(FINDING_COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .collect()?;
    if crate::progress::timings() {
        crate::tell!("    the findings and the unusual date orders: {:.2}s, peak {}", finish.elapsed().as_secs_f64(), crate::progress::peak_since());
    }
    let noted = col("effect").eq(lit(Effect::Noted.as_str()));
    let unusual = all.clone().lazy().filter(noted.clone()).collect()?;
    let findings = all.lazy().filter(noted.not()).collect()?;
    // records the reader set aside before typing (ragged rows, a quote's lines) count too; a
    // report's footer under the data or a header line again is no row of the table (a standard
    // Salesforce footer alone exceeded max_share)
    for s in &mut set_aside {
        let row_of_table = |f: &&Finding| !matches!(f.rule.as_str(), "report_footer" | "repeated_header");
        let unread = read_findings.iter().filter(|f| f.table == s.table && f.row.is_some() && !f.fatal).filter(row_of_table).count();
        s.rows += unread;
        if lenient {
            s.set_aside += unread;
        }
    }
    // amounts in the base currency, as exported beside them
    let converting = std::time::Instant::now();
    let mut tables = tables;
    if let Some(opps) = tables.remove("opportunities") {
        let rates = tables.get("exchange_rates").map(|d| d.clone().lazy());
        let (opps, stages) = crate::currency::convert(opps, tables.remove("stage_history"), rates, base.as_deref())?;
        tables.insert("opportunities", opps);
        if let Some(s) = stages {
            tables.insert("stage_history", s);
        }
    }
    if crate::progress::timings() {
        crate::tell!("    amounts in the base currency: {:.2}s, peak {}", converting.elapsed().as_secs_f64(), crate::progress::peak_since());
    }
    // the line numbers named the findings; no metric reads them (8 bytes a row:
    // 260 MB at 33M rows)
    for df in tables.values_mut() {
        let _ = df.drop_in_place(ROW);
    }
    let ids = crate::progress::timed("    ids as own codes", || crate::ids::Ids::own_codes(&mut tables), |_| None)?;
    drop(coding);
    Ok(Validated { ids, tables, findings, missing, sources, unavailable, mapping, files, ignored, notes, set_aside, unusual, base_currency: base, passthrough, ascending_keys })
}
