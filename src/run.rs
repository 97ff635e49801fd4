//! The commands: load and validate shared by all, then what each one adds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use crate::calendar::{quarter_index, Quarter, Span};
use crate::config::Config;
use crate::contract::TABLES;
use crate::industries::Industries;
use crate::metrics::Model;
use crate::error::{Error, Result};
use crate::load::read_input;
use crate::output::{schema_of, write_parquet, Doc, ReportDir, TableDoc, Written};
use crate::progress::{thousands, Progress};
use crate::validate::{validate, Validated};

/// What a command needs to find and read its input.
#[derive(Debug, Clone)]
pub struct InputOptions {
    pub input: PathBuf,
    pub config: Option<PathBuf>,
    /// A built-in mapping's name or a mapping file (see `mapping`).
    pub mapping: Option<String>,
}

impl InputOptions {
    /// Native files in `input`, its salesrelay.toml if any.
    pub fn new(input: impl Into<PathBuf>) -> InputOptions {
        InputOptions { input: input.into(), config: None, mapping: None }
    }
}

/// `run`'s options.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub input: InputOptions,
    pub out: PathBuf,
    pub period: Option<String>,
    pub lenient: bool,
    pub quiet: bool,
    /// Folder of `*.sql` files run into extra tables.
    pub queries: PathBuf,
    /// Stop on a broken query instead of reporting it.
    pub strict: bool,
}

/// Loads and validates, reporting both stages.
pub fn load_validated(opts: &InputOptions, lenient: bool, progress: &Progress) -> Result<(Config, Validated)> {
    let mapping = opts.mapping.as_deref().map(crate::mapping::Mapping::resolve).transpose()?;
    let defaults = mapping.as_ref().map(|m| m.config.clone()).unwrap_or_default();
    let (config, _) = Config::resolve(opts.config.as_deref(), &opts.input, &defaults)?;
    let stage = progress.stage("load");
    let raw = match &mapping {
        Some(m) => crate::mapping::read_mapped(&opts.input, m, &config)?,
        None => read_input(&opts.input, &config)?,
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
    let parts: Vec<LazyFrame> = EVENT_COLUMNS
        .iter()
        .filter_map(|(t, c)| v.lazy(t).map(|lf| lf.select([col(*c).alias("ts")])))
        .collect();
    if parts.is_empty() {
        return Ok(None);
    }
    let zone = TimeZone::opt_try_new(Some(config.time_zone.as_str())).ok().flatten().unwrap_or(TimeZone::UTC);
    let bounds = concat(parts, UnionArgs::default())?
        .select([
            quarter_index(col("ts").min(), config).alias("first"),
            quarter_index(col("ts").max(), config).alias("last"),
            col("ts").max().dt().convert_time_zone(zone).dt().date().alias("last_date"),
            col("ts").max().dt().timestamp(TimeUnit::Microseconds).alias("last_event"),
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

/// Prints the findings grouped by table, rule and column, with a count and
/// the first few examples of each.
pub fn format_findings(findings: &DataFrame, max_examples: usize) -> Result<String> {
    let grouped = findings
        .clone()
        .lazy()
        .group_by_stable([col("table"), col("rule"), col("column")])
        .agg([
            len().alias("count"),
            col("detail").first().alias("detail"),
            col("row").head(Some(max_examples)).alias("rows"),
            col("value").head(Some(max_examples)).alias("values"),
            col("detail").head(Some(max_examples)).alias("details"),
        ])
        .collect()?;
    let mut out = String::new();
    let tables = grouped.column("table")?.str()?.clone();
    let rules = grouped.column("rule")?.str()?.clone();
    let columns = grouped.column("column")?.str()?.clone();
    let counts = grouped.column("count")?.u32()?.clone();
    let details = grouped.column("detail")?.str()?.clone();
    let rows = grouped.column("rows")?.list()?.clone();
    let values = grouped.column("values")?.list()?.clone();
    let all_details = grouped.column("details")?.list()?.clone();
    for i in 0..grouped.height() {
        let table = tables.get(i).unwrap_or("");
        let rule = rules.get(i).unwrap_or("");
        let count = counts.get(i).unwrap_or(0);
        let column = columns.get(i).map(|c| format!(", column {c}")).unwrap_or_default();
        let _ = writeln!(out, "{table}{column}: {rule} x {} — {}", thousands(count as u64), details.get(i).unwrap_or(""));
        let row_list = rows.get_as_series(i);
        let value_list = values.get_as_series(i);
        let detail_list = all_details.get_as_series(i);
        if let (Some(r), Some(v), Some(d)) = (row_list, value_list, detail_list) {
            let r = r.i64()?.clone();
            let v = v.str()?.clone();
            let d = d.str()?.clone();
            for j in 0..r.len() {
                let row = r.get(j).map(|x| format!("row {x}")).unwrap_or_else(|| "file".into());
                let value = v.get(j).map(|x| format!(": {x:?}")).unwrap_or_default();
                let detail = if d.get(j) != details.get(i) { format!(" ({})", d.get(j).unwrap_or("")) } else { String::new() };
                let _ = writeln!(out, "    {row}{value}{detail}");
            }
            if count as usize > r.len() {
                let _ = writeln!(out, "    ... and {} more", thousands(count as u64 - r.len() as u64));
            }
        }
    }
    Ok(out)
}

/// The lines that come before the findings: files `encoding = "auto"` read
/// as Shift_JIS, and every header outside the contract (ignored), once per
/// file, with the column it most likely meant.
pub fn preamble(v: &Validated) -> Vec<String> {
    let mut lines = v.notes.clone();
    lines.extend(crate::load::ignored_lines(&v.ignored));
    lines
}

/// Prints the preamble and the findings to stderr and returns the error
/// that stops the command. `lenient_flag` is how this command would set the
/// bad rows aside (None where it cannot); it is suggested only where it
/// would help, i.e. when no finding makes a whole table unusable.
fn stop_on_problems(v: &Validated, lenient_flag: Option<&str>) -> Result<Error> {
    print_problems(v)?;
    let hint = if v.has_fatal() {
        "; a table cannot be used at all (effect unusable above), which --lenient cannot mend: fix the file(s) named".to_string()
    } else {
        lenient_flag.map(|f| format!(" (use {f} to set the bad rows aside)")).unwrap_or_default()
    };
    Ok(Error::Invalid { count: v.findings.height(), hint })
}

/// The preamble, then the findings grouped, to stderr.
fn print_problems(v: &Validated) -> Result<()> {
    for line in preamble(v) {
        crate::tell!("{line}");
    }
    crate::console::err(format_args!("{}", format_findings(&v.findings, 3)?));
    Ok(())
}

/// `validate`: prints every problem; Err(Invalid) when there are any.
pub fn validate_command(opts: &InputOptions, quiet: bool) -> Result<()> {
    let progress = Progress::new(quiet);
    let (config, v) = load_validated(opts, false, &progress)?;
    print_loaded(&v, &config)?;
    if v.findings.height() > 0 {
        return Err(stop_on_problems(&v, Some("`salesrelay run --lenient`"))?);
    }
    for line in preamble(&v) {
        crate::say!("  {line}")?;
    }
    for line in v.unusual_lines()? {
        crate::say!("  {line}")?;
    }
    if v.unusual.height() > 0 {
        crate::console::out(format_args!("{}", format_findings(&v.unusual, 3)?))?;
    }
    crate::say!("no problems found")?;
    Ok(())
}

/// With --lenient: stops when more than `lenient.max_share` of any table's
/// rows would be set aside, naming the table and the top causes.
fn check_set_aside(v: &Validated, config: &Config) -> Result<()> {
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
    Err(Error::Input(msg))
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

/// One line per table: rows loaded, or why it is absent.
pub fn print_loaded(v: &Validated, config: &Config) -> Result<()> {
    if let Some(m) = &v.mapping {
        crate::say!("  read through the mapping {}", m.name)?;
    }
    for spec in TABLES {
        match v.tables.get(spec.name) {
            Some(df) => crate::say!("  {:<14} {:>12} rows", spec.name, thousands(df.height() as u64))?,
            None if v.missing.contains(&spec.name) => {
                let why = v.unavailable.get(spec.name).map(String::as_str).unwrap_or("no file");
                crate::say!("  {:<14} not available ({why})", spec.name)?
            }
            None => crate::say!("  {:<14} {:>12}", spec.name, "not loaded (see problems)")?,
        }
    }
    if let Some(span) = data_span(v, config)? {
        crate::say!(
            "  quarters       {} .. {} (last complete: {})",
            span.first.label(config),
            span.last.label(config),
            span.last_complete.map(|q| q.label(config)).unwrap_or_else(|| "none".into())
        )?;
    }
    Ok(())
}

/// What `run` leaves behind, for the summary and tests.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub period: String,
    pub folder: PathBuf,
    pub outputs: Vec<Written>,
    /// Problems found (with --lenient, their rows were set aside).
    pub problems: usize,
}

/// The data_quality table's documentation.
pub const DATA_QUALITY_DOC: TableDoc = TableDoc {
    name: "data_quality",
    description: "Every problem found in the input (with --lenient the rows named here were set aside), then the unusual but possible orders of dates (effect none).",
    columns: &[
        ("table", "input table the problem is in"),
        ("file", "the file the row is in (with a mapping: the export's source file)"),
        ("row", "row number as in the file (CSV: line number, header = 1; Parquet: record number from 1); null for a whole-file problem"),
        ("column", "column the problem is in; null for a whole-row problem"),
        ("value", "the value as written"),
        ("rule", "which check found it (missing_value, not_a_timestamp, duplicate_key, dangling_reference, handoff_before_lead_created, first_fs_contact_before_handoff, ...)"),
        ("detail", "the problem in words"),
        ("effect", "what --lenient does: set_aside (the row, and rows referring to it), null_value (the bad value in an optional column is emptied, the row kept) or unusable (the whole table; even --lenient stops); none for an unusual but possible order (the row kept as it is, counted in the run summary, never stops a run)"),
        ("fatal", "true when the problem makes the whole table unusable"),
    ],
};

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
        Model {
            config: &self.config,
            tables: &self.validated.tables,
            industries: &self.industries,
            span: self.span,
            unavailable: &self.validated.unavailable,
            facts: Default::default(),
        }
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
        if let Err(e) = check_set_aside(&v, &config) {
            print_problems(&v)?;
            return Err(e);
        }
    }
    let span = data_span(&v, &config)?.ok_or_else(|| Error::Input("the input holds no events (no leads, activities or opportunities with dates)".into()))?;
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
    Ok(Prepared { config, validated: v, span, quarter: period, label, compare_to, industries })
}

/// Every table by name for SQL: the validated inputs (without the internal
/// row numbers), the outputs, and `review`.
pub fn sql_tables(p: &Prepared, outputs: &[(Doc, DataFrame)]) -> Result<BTreeMap<String, DataFrame>> {
    let mut tables = BTreeMap::new();
    for (name, df) in &p.validated.tables {
        tables.insert(name.to_string(), df.drop(crate::contract::ROW).unwrap_or_else(|_| df.clone()));
    }
    for (doc, df) in outputs {
        tables.insert(doc.name.clone(), df.clone());
    }
    // the end of the data as every table reads it: the latest event or room view
    let end = crate::metrics::engagement::data_end(&p.model())?;
    tables.insert("review".into(), crate::sql::review_table(&p.label, p.compare_to.as_deref(), Some(end))?);
    Ok(tables)
}

/// Why a query's table name cannot be used, if it cannot: it must be
/// `[a-z0-9_]+` (it becomes `tables/<name>.parquet` and a SQL name), not a
/// built-in table's (whether or not this input supports that table) and not
/// an earlier query's (`taken`: name -> file).
fn table_name_problem(q: &crate::sql::Query, tables: &BTreeMap<String, DataFrame>, taken: &BTreeMap<String, PathBuf>) -> Option<String> {
    let (file, name) = (q.path.display(), q.doc.name.as_str());
    let builtin = tables.contains_key(name)
        || TABLES.iter().any(|t| t.name == name)
        || crate::coverage::TABLE_NEEDS.iter().any(|(n, _)| *n == name)
        || [DATA_QUALITY_DOC.name, crate::coverage::DATA_COVERAGE_DOC.name].contains(&name);
    if !crate::sql::is_table_name(name) {
        Some(format!(
            "{file}: table name {name:?} is not allowed: use lower-case letters, digits and _ only (set it with a `-- table:` line; without one the file name is used)"
        ))
    } else if builtin {
        Some(format!("{file}: table name {name:?} is taken by a built-in table; rename the query"))
    } else {
        taken.get(name).map(|other| format!("{file}: table name {name:?} is already written by {}; rename one of the queries", other.display()))
    }
}

/// Runs queries/*.sql over every table; a broken query is reported and
/// skipped, or stops the run with `strict`.
/// Returns the tables, the errors and the queries not run because they
/// need a table the input cannot support.
#[allow(clippy::type_complexity)]
pub fn run_queries(dir: &Path, tables: &BTreeMap<String, DataFrame>, strict: bool) -> Result<(Vec<(Doc, DataFrame)>, Vec<String>, Vec<String>)> {
    let mut ctx = crate::sql::context(tables);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut skipped = Vec::new();
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    for q in crate::sql::read_queries(dir)? {
        if let Some(msg) = table_name_problem(&q, tables, &names) {
            if strict {
                return Err(Error::Input(msg));
            }
            errors.push(msg);
            continue;
        }
        names.insert(q.doc.name.clone(), q.path.clone());
        match crate::sql::run_query(&mut ctx, &q) {
            Ok(df) => {
                let doc = Doc { name: q.doc.name.clone(), description: q.doc.description.clone(), columns: q.doc.columns.clone() };
                out.push((doc, df));
            }
            Err(e) => {
                // a query over a table this input cannot support is not broken: it is not available
                let text = e.to_string();
                let missing = regex::Regex::new(r"relation '([A-Za-z0-9_]+)' was not found")
                    .expect("static regex")
                    .captures(&text)
                    .map(|c| c[1].to_string())
                    .filter(|t| TABLES.iter().any(|s| s.name == t) || crate::coverage::TABLE_NEEDS.iter().any(|(n, _)| n == t));
                match missing {
                    Some(t) => skipped.push(format!("{}: needs {t}, which this input does not support", q.path.display())),
                    None if strict => return Err(e),
                    None => errors.push(text),
                }
            }
        }
    }
    Ok((out, errors, skipped))
}

/// `run`: load, validate, choose the period, compute, write the report folder.
pub fn run_command(opts: &RunOptions) -> Result<RunReport> {
    let progress = Progress::new(opts.quiet);
    let flag = (!opts.lenient).then_some("--lenient");
    let p = prepare(&opts.input, opts.lenient, flag, opts.period.as_deref(), &progress)?;
    let (config, v, span, label) = (&p.config, &p.validated, p.span, p.label.clone());
    let n = v.findings.height();
    let model = p.model();
    let warnings = p.warnings();
    let stage = progress.stage("compute");
    let tables = compute_tables(&model, &label)?;
    let unmapped = crate::metrics::visits::unmapped_industries(&model).collect()?;
    let rows: usize = tables.iter().map(|(_, df)| df.height()).sum();
    stage.done(&format!("{} tables, {} rows", tables.len(), thousands(rows as u64)));
    let stage = progress.stage("queries");
    let (queried, query_errors, query_skipped) = run_queries(&opts.queries, &sql_tables(&p, &tables)?, opts.strict)?;
    stage.done(&format!("{} ran, {} not available, {} failed", queried.len(), query_skipped.len(), query_errors.len()));
    for e in &query_errors {
        crate::tell!("query failed (the other outputs are written; --strict stops instead): {e}");
    }
    let stage = progress.stage("write");
    let dir = ReportDir::create(&opts.out, &label)?;
    let mut outputs = Vec::new();
    let mut all = tables;
    all.extend(queried);
    all.push((DATA_QUALITY_DOC.into(), v.data_quality()?));
    let coverage = crate::coverage::data_coverage(&model, v, &all)?;
    all.push((crate::coverage::DATA_COVERAGE_DOC.into(), coverage.clone()));
    let table_map: crate::charts::Tables = all.iter().map(|(d, df)| (d.name.clone(), df.clone())).collect();
    let mut dictionary = Vec::new();
    for (doc, mut df) in all {
        let rel = format!("tables/{}.parquet", doc.name);
        write_parquet(&mut df, &dir.path().join(&rel), &doc)?;
        outputs.push(Written { path: rel, rows: df.height(), schema: schema_of(&df) });
        dictionary.push((doc, df.schema().as_ref().clone()));
    }
    let nodes: Vec<(&str, Option<&str>, &str, &str, &str)> =
        crate::metrics::tree::NODES.iter().map(|n| (n.name, n.parent, n.kind.as_str(), n.unit, n.definition)).collect();
    let dict_path = dir.path().join("data_dictionary.md");
    std::fs::write(&dict_path, crate::output::data_dictionary(&dictionary, &nodes)).map_err(|e| Error::io(&dict_path, e))?;
    stage.done(&format!("{} table(s)", outputs.len()));
    let stage = progress.stage("charts");
    let (charts, left_out) = crate::charts::render_all(&dir.path().join("charts"), &table_map, &label, config.sla_business_days)?;
    crate::report::write_report(dir.path(), &table_map, &charts, &outputs, &label, p.compare_to.as_deref(), v.mapping.as_ref(), &warnings, &left_out)?;
    let mut files: Vec<String> = charts.iter().flat_map(|c| [format!("charts/{}.svg", c.name), format!("charts/{}.png", c.name)]).collect();
    files.extend(["report.md".to_string(), "report.html".to_string(), "data_dictionary.md".to_string()]);
    write_manifest(dir.path(), &opts.input.input, config, &label, v, &outputs, &files)?;
    let committed = dir.commit()?;
    let folder = committed.folder.clone();
    stage.done(&format!("{} charts, report.html, report.md", charts.len()));
    crate::say!("salesrelay reviewed {label} (quarters in data: {} .. {})", span.first.label(config), span.last.label(config))?;
    for w in &warnings {
        crate::say!("  warning: {w}")?;
    }
    if let Some(attribution) = table_map.get("kpi_attribution") {
        crate::console::out(format_args!("{}", crate::summary::headline(attribution, &label)?))?;
    }
    if let Some(losses) = table_map.get("losses") {
        let rules = config.losses.effective().map_err(Error::Config)?;
        let (never, unclassified) = crate::metrics::losses::rule_report(losses, &rules, 5)?;
        let classified = losses.column("category")?.str()?.iter().filter(|c| *c != Some("unclassified")).count();
        crate::say!("  losses: {} of {} classified", thousands(classified as u64), thousands(losses.height() as u64))?;
        if !never.is_empty() {
            crate::say!("    rules that never fired: {}", never.join(", "))?;
        }
        for (text, n) in unclassified {
            crate::say!("    unclassified x{n}: {text:?}")?;
        }
    }
    if unmapped.height() > 0 {
        let names = unmapped.column("industry_raw")?.str()?.clone();
        let counts = unmapped.column("accounts")?.u32()?.clone();
        let list: Vec<String> = (0..unmapped.height().min(10))
            .map(|i| format!("{:?} ({})", names.get(i).unwrap_or(""), counts.get(i).unwrap_or(0)))
            .collect();
        let more = if unmapped.height() > 10 { format!(" and {} more", unmapped.height() - 10) } else { String::new() };
        crate::say!("  industries not in the mapping, counted as Other services: {}{more}", list.join(", "))?;
    }
    print_loaded(v, config)?;
    for (what, why) in crate::coverage::not_available_summary(&coverage)? {
        crate::say!("  not available: {what} ({why})")?;
    }
    for line in preamble(v) {
        crate::say!("  {line}")?;
    }
    if n > 0 {
        crate::say!("  {} problem(s) found, handled as data_quality.parquet's effect column says", thousands(n as u64))?;
    }
    for line in v.unusual_lines()? {
        crate::say!("  {line}")?;
    }
    for e in &query_skipped {
        crate::say!("  query not run: {e}")?;
    }
    for e in &query_errors {
        crate::say!("  query failed: {e}")?;
    }
    crate::say!("  report: {}", folder.display())?;
    if let Some(line) = kept_line(&committed.kept) {
        crate::say!("  {line}")?;
    }
    Ok(RunReport { period: label, folder, outputs, problems: n })
}

/// What the summary says about files the user had added to the replaced
/// report: "kept 2 files you added: mynotes.txt, notebooks/a.ipynb",
/// naming ten at most; one whose name the new report writes says where it went.
fn kept_line(kept: &[crate::output::Kept]) -> Option<String> {
    if kept.is_empty() {
        return None;
    }
    let names: Vec<String> = kept
        .iter()
        .take(10)
        .map(|k| match &k.renamed {
            Some(to) => format!("{} (as {to}: the new report writes that name)", k.path),
            None => k.path.clone(),
        })
        .collect();
    let more = if kept.len() > 10 { format!(" and {} more", thousands(kept.len() as u64 - 10)) } else { String::new() };
    Some(format!("kept {} you added: {}{more}", crate::summary::count(kept.len() as u64, "file", "files"), names.join(", ")))
}

/// Every metric table of the review the input supports, computed together
/// (see `coverage` for what is left out and why).
pub fn compute_tables(m: &Model, period_label: &str) -> Result<Vec<(Doc, DataFrame)>> {
    use crate::coverage::table_needs;
    use crate::metrics::{engagement as e, handoffs as h, losses, movement, reps, tree, visit_plan as vp, visits};
    let rules = m.config.losses.effective().map_err(Error::Config)?;
    let supports = |name: &str| m.has_all(table_needs(name));
    // frames several tables read: computed once
    let timings = std::env::var_os("SALESRELAY_TIMINGS").is_some();
    let clock = std::time::Instant::now();
    let lap = |what: &str| {
        if timings {
            crate::tell!("    compute {what}: {:.2}s", clock.elapsed().as_secs_f64());
        }
    };
    let wide = tree::kpi_wide(m)?.collect()?.lazy();
    lap("kpi_wide");
    let kpi = tree::kpi_tree(m, wide.clone()).collect()?;
    lap("kpi_tree");
    let lost = if supports("losses") { Some(losses::losses(m, &rules).collect()?) } else { None };
    lap("losses");
    let handoffs = h::handoffs(m).map(|lf| lf.collect()).transpose()?;
    lap("handoffs");
    let end = e::data_end(m)?;
    let engagement = if supports("dsr_engagement") { e::dsr_engagement(m, end).map(|lf| lf.collect()).transpose()? } else { None };
    lap("dsr_engagement");
    let priority = if supports("priority_deals") { Some(vp::priority_deals(m, end).collect()?) } else { None };
    lap("priority_deals");
    let mut plans: Vec<(TableDoc, LazyFrame)> = vec![
        (tree::KPI_ATTRIBUTION_DOC, tree::kpi_attribution(kpi.clone().lazy(), period_label)),
        (h::FUNNEL_PERIOD_DOC, h::funnel_period(m, wide)),
        (reps::IS_REPS_DOC, reps::is_reps(m)),
        (reps::FS_REPS_DOC, reps::fs_reps(m)),
    ];
    if let Some(lost) = &lost {
        plans.push((losses::LOSS_SUMMARY_DOC, losses::loss_summary(m, lost.clone().lazy())?));
    }
    if let Some(ratio) = visits::industry_visit_ratio(m) {
        plans.push((visits::INDUSTRY_VISIT_RATIO_DOC, ratio));
    }
    if let Some(mix) = visits::visit_mix_reps(m) {
        plans.push((visits::VISIT_MIX_REPS_DOC, mix));
    }
    if supports("pipeline_movement") {
        if let Some(moves) = movement::pipeline_movement(m)? {
            plans.push((movement::PIPELINE_MOVEMENT_DOC, moves));
        }
        if let Some(conversion) = movement::stage_conversion(m)? {
            plans.push((movement::STAGE_CONVERSION_DOC, conversion));
        }
    }
    if let Some(cohort) = h::funnel_cohort(m) {
        plans.push((h::FUNNEL_COHORT_DOC, cohort));
    }
    if let Some(handoffs) = &handoffs {
        plans.push((h::HANDOFF_QUALITY_DOC, h::handoff_quality(m, handoffs.clone().lazy())));
        if let Some(lost) = &lost {
            plans.push((losses::LOSS_FEEDBACK_DOC, losses::loss_feedback(lost.clone().lazy(), handoffs.clone().lazy())));
        }
    }
    if let Some(engagement) = &engagement {
        if supports("engagement_effect") {
            plans.push((e::ENGAGEMENT_EFFECT_DOC, e::engagement_effect(m, engagement.clone().lazy(), handoffs.clone().map(|h| h.lazy()))));
        }
        if supports("stalled_deals") {
            plans.push((e::STALLED_DEALS_DOC, e::stalled_deals(m, engagement.clone().lazy(), end)));
        }
    }
    if let Some(priority) = &priority {
        if supports("visit_plan") {
            let started = std::time::Instant::now();
            let plan = vp::visit_plan(m, priority.clone().lazy(), end)?.collect()?;
            if std::env::var_os("SALESRELAY_TIMINGS").is_some() {
                crate::tell!("  visit_plan: {} stops in {:.2}s", plan.height(), started.elapsed().as_secs_f64());
            }
            plans.push((vp::VISIT_PLAN_DOC, plan.lazy()));
            plans.push((vp::LOCATIONS_NEEDED_DOC, vp::locations_needed(m, priority.clone().lazy())));
        }
    }
    lap("visit_plan");
    if timings {
        for (doc, lf) in &plans {
            let t = std::time::Instant::now();
            lf.clone().collect()?;
            crate::tell!("      {}: {:.2}s alone", doc.name, t.elapsed().as_secs_f64());
        }
    }
    let (docs, lfs): (Vec<TableDoc>, Vec<LazyFrame>) = plans.into_iter().unzip();
    let frames = LazyFrame::collect_all_with_engine(
        lfs.into_iter().map(|lf| lf.logical_plan).collect(),
        Engine::Auto,
        OptFlags::default(),
    )?;
    lap("the other tables");
    let mut out: Vec<(Doc, DataFrame)> = vec![(tree::KPI_TREE_DOC.into(), kpi)];
    if let Some(lost) = lost {
        out.push((losses::LOSSES_DOC.into(), lost));
    }
    if let Some(handoffs) = handoffs {
        out.push((h::HANDOFFS_DOC.into(), handoffs));
    }
    if let Some(engagement) = engagement {
        out.push((e::DSR_ENGAGEMENT_DOC.into(), engagement));
    }
    if let Some(priority) = priority {
        out.push((vp::PRIORITY_DEALS_DOC.into(), priority));
    }
    out.extend(docs.into_iter().map(Doc::from).zip(frames));
    out.into_iter()
        .map(|(doc, df)| {
            let df = crate::coverage::null_unsupported(m, &doc.name, df)?;
            crate::metrics::with_completeness(m, doc, df)
        })
        .collect()
}

#[derive(Serialize)]
struct Manifest<'a> {
    salesrelay_version: &'a str,
    schema_version: &'a str,
    period: &'a str,
    input: String,
    /// The mapping the input was read through, if any.
    mapping: Option<String>,
    config: &'a Config,
    inputs: Vec<ManifestInput>,
    not_available: Vec<&'a str>,
    outputs: &'a [Written],
    /// Charts, the report and the data dictionary.
    files: &'a [String],
}

#[derive(Serialize)]
struct ManifestInput {
    table: String,
    file: String,
    sha256: String,
    bytes: u64,
    records: u64,
    rows_loaded: usize,
}

fn write_manifest(dir: &Path, input: &Path, config: &Config, period: &str, v: &Validated, outputs: &[Written], files: &[String]) -> Result<()> {
    let inputs = v
        .sources
        .iter()
        .map(|s| ManifestInput {
            table: s.table.to_string(),
            file: s.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
            sha256: s.sha256.clone(),
            bytes: s.bytes,
            records: s.records,
            rows_loaded: s.table.split(", ").filter_map(|t| v.tables.get(t)).map(|d| d.height()).sum(),
        })
        .collect();
    let manifest = Manifest {
        salesrelay_version: env!("CARGO_PKG_VERSION"),
        schema_version: crate::output::SCHEMA_VERSION,
        period,
        input: input.display().to_string(),
        mapping: v.mapping.as_ref().map(|m| m.name.clone()),
        config,
        inputs,
        not_available: v.missing.clone(),
        outputs,
        files,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| Error::Input(e.to_string()))?;
    let path = dir.join("manifest.json");
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    Ok(())
}

/// `query`: runs one SQL file over the validated inputs, every output table
/// of the review and `review`; prints the result or writes it.
pub fn query_command(file: &Path, opts: &InputOptions, period: Option<&str>, out: Option<&Path>, quiet: bool) -> Result<DataFrame> {
    let sql = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let progress = Progress::new(quiet);
    let p = prepare(opts, false, None, period, &progress)?;
    let stage = progress.stage("compute");
    let outputs = compute_tables(&p.model(), &p.label)?;
    stage.done(&format!("{} tables", outputs.len()));
    let tables = sql_tables(&p, &outputs)?;
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let query = crate::sql::Query { path: file.to_path_buf(), doc: crate::sql::parse_header(&sql, &stem), sql };
    let mut ctx = crate::sql::context(&tables);
    let mut result = crate::sql::run_query(&mut ctx, &query)
        .map_err(|e| Error::Input(format!("{e} (tables: {})", tables.keys().cloned().collect::<Vec<_>>().join(", "))))?;
    match out {
        Some(path) => {
            let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
            if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
                CsvWriter::new(f).finish(&mut result)?;
            } else {
                write_parquet(&mut result, path, &Doc { name: query.doc.name, description: query.doc.description, columns: query.doc.columns })?;
            }
        }
        None => crate::say!("{result}")?,
    }
    Ok(result)
}
