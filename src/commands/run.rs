//! `run`: review a quarter and write the report folder.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use crate::commands::query::sql_tables;
use crate::config::Config;
use crate::contract::TABLES;
use crate::error::{Error, Result};
use crate::findings::DATA_QUALITY_DOC;
use crate::output::{schema_of, write_parquet, Doc, ReportDir, Written};
use crate::prepare::{loaded_lines, preamble, prepare, InputOptions};
use crate::progress::{thousands, Progress};
use crate::validate::Validated;

/// How Polars' SQL says a query names a table that is not there: the
/// table's name.
static NOT_FOUND: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"relation '([A-Za-z0-9_]+)' was not found").expect("static regex"));

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

/// What `run` leaves behind, for the summary and tests.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub period: String,
    pub folder: PathBuf,
    pub outputs: Vec<Written>,
    /// Problems found (with --lenient, their rows were set aside).
    pub problems: usize,
    /// The run summary for the screen (the binary prints it).
    pub summary: String,
}

/// Why a query's table name cannot be used, if it cannot: it must be
/// `[a-z0-9_]+` (it becomes `tables/<name>.parquet` and a SQL name), not a
/// built-in table's (whether or not this input supports that table) and not
/// an earlier query's (`taken`: name -> file).
fn table_name_problem(q: &crate::sql::Query, tables: &BTreeMap<String, LazyFrame>, taken: &BTreeMap<String, PathBuf>) -> Option<String> {
    let (file, name) = (q.path.display(), q.doc.name.as_str());
    let builtin = tables.contains_key(name)
        || TABLES.iter().any(|t| t.name == name)
        || crate::metrics::output_table(name).is_some()
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

/// Runs the queries (queries/*.sql, `sql::read_queries`) over every table;
/// a broken query is reported and skipped, or stops the run with `strict`.
/// Returns the tables, the errors and the queries not run because they
/// need a table the input cannot support, or read an output column of
/// `unsupported` (`metrics::unsupported_columns`: null throughout, so a
/// filter on it would find nothing and read as none, such as no handoff
/// missing an SLA the input has no contact times for).
#[allow(clippy::type_complexity)]
pub fn run_queries(
    queries: Vec<crate::sql::Query>,
    tables: &BTreeMap<String, LazyFrame>,
    unsupported: &[(&str, &str, String)],
    strict: bool,
) -> Result<(Vec<(Doc, DataFrame)>, Vec<String>, Vec<String>)> {
    let mut ctx = crate::sql::context(tables);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut skipped = Vec::new();
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    for q in queries {
        if let Some(msg) = table_name_problem(&q, tables, &names) {
            if strict {
                return Err(Error::Input(msg));
            }
            errors.push(msg);
            continue;
        }
        names.insert(q.doc.name.clone(), q.path.clone());
        if let Some((t, c, why)) = unsupported.iter().find(|(t, c, _)| crate::sql::names_word(&q.sql, t) && crate::sql::names_word(&q.sql, c)) {
            skipped.push(format!("{}: reads {t}.{c}, which this input does not support (needs {why})", q.path.display()));
            continue;
        }
        match crate::sql::run_query(&mut ctx, &q) {
            Ok(df) => {
                let doc = Doc { name: q.doc.name.clone(), description: q.doc.description.clone(), columns: q.doc.columns.clone() };
                out.push((doc, df));
            }
            Err(e) => {
                // a query over a table this input cannot support is not broken: it is not available
                let text = e.to_string();
                let missing = NOT_FOUND
                    .captures(&text)
                    .map(|c| c[1].to_string())
                    .filter(|t| TABLES.iter().any(|s| s.name == t) || crate::metrics::output_table(t).is_some());
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
    let mut p = prepare(&opts.input, opts.lenient, flag, opts.period.as_deref(), &progress)?;
    // the ids that only order ties, as their rank where no query may read them (the queries are
    // read once, here, and run after the tables)
    let queries = crate::sql::read_queries(&opts.queries)?;
    let unread = |(_, key): &(&str, &str)| !queries.iter().any(|q| crate::sql::may_read_column(&q.sql, key));
    let order_only: Vec<_> = crate::validate::ORDER_ONLY_KEYS.into_iter().filter(unread).collect();
    p.validated.keys_as_order(&order_only)?;
    // the input columns no table reads, let go where no query may read them
    let unread_columns: Vec<_> = crate::validate::UNREAD_COLUMNS.into_iter().filter(unread).collect();
    p.validated.let_go(&unread_columns);
    let (config, v, span, label) = (&p.config, &p.validated, p.span, p.label.clone());
    let n = v.findings.height();
    let mut model = p.model();
    let warnings = p.warnings();
    // the report's folder, out of sight until committed: each table is
    // written there as soon as it is computed, and let go
    let dir = ReportDir::create(&opts.out, &label)?;
    let stage = progress.stage("compute");
    // the visit-plan maps' underlay decoded on a thread of its own while the tables are
    // computed (8-13 ms the first map drawn would otherwise wait for)
    if model.supports(&crate::metrics::visit_plan::VISIT_PLAN) {
        std::thread::spawn(crate::charts::geo::world);
    }
    // before the tables: the accounts' frame is let go after its last table reader
    let unmapped = crate::progress::timed("    the industries not in the mapping", || crate::metrics::visits::unmapped_industries(&model).collect(), |_| None)?;
    let currency = crate::charts::money(config, v.base_currency.as_deref());
    let charts_dir = dir.path().join("charts");
    let setting = crate::charts::Setting::new(&charts_dir, &label, config, &currency);
    let (mut written, drawn) = compute_and_write(&model, dir.path(), setting)?;
    let unsupported = crate::metrics::unsupported_columns(&model);
    model.release();
    let rows: usize = written.iter().map(|(w, _, _)| w.rows).sum();
    stage.done(&format!("{} tables, {} rows", written.len(), thousands(rows as u64)));
    // the queries, the charts, the report and the summary read the written
    // tables, each only the rows and columns it needs
    let mut tables = scans(dir.path(), &written)?;
    let stage = progress.stage("queries");
    let (queried, query_errors, query_skipped) = run_queries(queries, &sql_tables(&p, &tables)?, &unsupported, opts.strict)?;
    stage.done(&format!("{} ran, {} not available, {} failed", queried.len(), query_skipped.len(), query_errors.len()));
    for e in &query_errors {
        crate::tell!("query failed (the other outputs are written; --strict stops instead): {e}");
    }
    let stage = progress.stage("write");
    let mut rest = queried;
    rest.push((DATA_QUALITY_DOC.into(), v.data_quality()?));
    let produced: Vec<(&str, usize)> =
        written.iter().map(|(w, doc, _)| (doc.name.as_str(), w.rows)).chain(rest.iter().map(|(doc, df)| (doc.name.as_str(), df.height()))).collect();
    let coverage = crate::coverage::data_coverage(&model, v, &produced)?;
    rest.push((crate::coverage::DATA_COVERAGE_DOC.into(), coverage.clone()));
    let rest = write_tables(dir.path(), rest)?;
    tables.extend(scans(dir.path(), &rest)?);
    written.extend(rest);
    // the loss mix and the model's cross-validation, once for the summary and the report,
    // on a thread of its own beside the charts (their data is read a chart at a time)
    let losses = crate::charts::table(&tables, "losses")?;
    let clock = std::time::Instant::now();
    let (later, loss_lines) = std::thread::scope(|scope| {
        let lines = scope.spawn(|| {
            let cross_validated = || match &losses {
                Some(l) => crate::metrics::losses::classification_lines(l),
                None => Ok(Vec::new()),
            };
            crate::progress::timed("      the loss model cross-validated", cross_validated, |_| None)
        });
        let draw = || -> Result<_> {
            // the charts of a table the input does not support (left out, with the reason): the
            // others were planned as their tables were written
            let later = crate::charts::plan(&tables, setting, |t| !tables.contains_key(t))?;
            // the drawings planned while the tables were computed and not yet done come first
            let mut all = drawn.with(later);
            all.draw_on_every_core()?;
            Ok(all)
        };
        let later = crate::progress::timed("      charts drawn", draw, |_| None);
        (later, lines.join().unwrap_or_else(|_| Err(Error::Input("the loss model's cross-validation panicked".into()))))
    });
    let (later, loss_lines) = (later?, loss_lines?);
    let (charts, left_out) = later.in_order();
    if crate::progress::timings() {
        crate::tell!("    charts drawn and the loss model cross-validated: {:.2}s", clock.elapsed().as_secs_f64());
    }
    let (outputs, dictionary): (Vec<Written>, Vec<(Doc, Schema)>) = written.into_iter().map(|(w, doc, schema)| (w, (doc, schema))).unzip();
    let nodes: Vec<(&str, Option<&str>, &str, &str, &str)> =
        crate::metrics::tree::NODES.iter().map(|n| (n.name, n.parent, n.kind.as_str(), n.unit.as_str(), n.definition)).collect();
    let dict_path = dir.path().join("data_dictionary.md");
    std::fs::write(&dict_path, crate::output::data_dictionary(&dictionary, &nodes)).map_err(|e| Error::io(&dict_path, e))?;
    let parts = crate::report::ReportParts {
        tables: &tables,
        charts: &charts,
        outputs: &outputs,
        period: &label,
        compare_to: p.compare_to.as_deref(),
        compare: config.report.compare,
        loss_lines: &loss_lines,
        mapping: v.mapping.as_ref(),
        warnings: &warnings,
        left_out: &left_out,
    };
    crate::report::write_report(dir.path(), &parts)?;
    let mut files: Vec<String> = charts.iter().flat_map(|c| [format!("charts/{}.svg", c.name), format!("charts/{}.png", c.name)]).collect();
    files.extend(["report.md".to_string(), "report.html".to_string(), "data_dictionary.md".to_string()]);
    write_manifest(dir.path(), &opts.input.input, config, &label, v, &outputs, &files)?;
    // the summary reads the tables before the folder takes its name
    let mut summary = String::new();
    let _ = writeln!(summary, "salesrelay reviewed {label} (quarters in data: {} .. {})", span.first.label(config), span.last.label(config));
    for w in &warnings {
        let _ = writeln!(summary, "  warning: {w}");
    }
    if let Some(attribution) = crate::charts::table(&tables, "kpi_attribution")? {
        summary.push_str(&crate::summary::headline(&attribution, &label)?);
    }
    for line in crate::summary::hybrid_lines(&tables, &label)? {
        let _ = writeln!(summary, "  {line}");
    }
    for line in crate::summary::plan_lines(&tables, &label)? {
        let _ = writeln!(summary, "  {line}");
    }
    if let Some(losses) = &losses {
        let rules = config.losses.effective().map_err(Error::Config)?;
        let (never, unclassified) = crate::metrics::losses::rule_report(losses, &rules, 5)?;
        for (i, line) in loss_lines.iter().enumerate() {
            let _ = writeln!(summary, "  {}{line}", if i == 0 { "" } else { "  " });
        }
        if !never.is_empty() {
            let _ = writeln!(summary, "    rules that never fired: {}", never.join(", "));
        }
        for (text, n) in unclassified {
            let _ = writeln!(summary, "    unclassified x{n}: {text:?}");
        }
    }
    if unmapped.height() > 0 {
        let names = unmapped.column("industry_raw")?.str()?.clone();
        let counts = unmapped.column("accounts")?.u32()?.clone();
        let list: Vec<String> = (0..unmapped.height().min(10))
            .map(|i| format!("{:?} ({})", names.get(i).unwrap_or(""), counts.get(i).unwrap_or(0)))
            .collect();
        let more = if unmapped.height() > 10 { format!(" and {} more", unmapped.height() - 10) } else { String::new() };
        let _ = writeln!(summary, "  industries not in the mapping, counted as Other services: {}{more}", list.join(", "));
    }
    for line in loaded_lines(v, Some(span), config) {
        let _ = writeln!(summary, "{line}");
    }
    for (what, why) in crate::coverage::not_available_summary(&coverage)? {
        let _ = writeln!(summary, "  not available: {what} ({why})");
    }
    for line in preamble(v) {
        let _ = writeln!(summary, "  {line}");
    }
    if n > 0 {
        let _ = writeln!(summary, "  {} problem(s) found, handled as data_quality.parquet's effect column says", thousands(n as u64));
    }
    for line in v.unusual_lines()? {
        let _ = writeln!(summary, "  {line}");
    }
    for e in &query_skipped {
        let _ = writeln!(summary, "  query not run: {e}");
    }
    for e in &query_errors {
        let _ = writeln!(summary, "  query failed: {e}");
    }
    let committed = dir.commit()?;
    let folder = committed.folder.clone();
    stage.done(&format!("{} table(s), {} charts, report.html, report.md", outputs.len(), charts.len()));
    let _ = writeln!(summary, "  report: {}", folder.display());
    if let Some(line) = kept_line(&committed.kept) {
        let _ = writeln!(summary, "  {line}");
    }
    Ok(RunReport { period: label, folder, outputs, problems: n, summary })
}

/// A table written: what the manifest says of it, its doc and its schema.
type WrittenTable = (Written, Doc, Schema);

/// Computes every output table and writes each to `tables/<name>.parquet`
/// under `dir` as soon as it is finished, on a second thread while the next
/// one is computed, so no finished table waits in memory beside the next
/// one's work (scale 1000: they held 1 GB until the end). Each chart is
/// planned on a third thread as soon as the table it reads is written, and
/// drawn there a chart at a time until the last table is written; the rest
/// are drawn on every core after (scale 1000: the charts' 0.65 s after the
/// last table became 0.0 s, the run 33.6 s against 34.6 s, medians of 8
/// in turn; below scale 100 the same time, the tables' work keeping both
/// cores busy). Returns what `write_tables` does, in table order, and the
/// charts planned, drawn or not.
fn compute_and_write<'a>(m: &crate::metrics::Model, dir: &Path, charts: crate::charts::Setting<'a>) -> Result<(Vec<WrittenTable>, crate::charts::Planned<'a>)> {
    let (send, receive) = std::sync::mpsc::channel::<(usize, Doc, DataFrame)>();
    let (to_draw, drawing) = std::sync::mpsc::channel::<(String, PathBuf)>();
    let (computed, written, drawn) = std::thread::scope(|scope| {
        let drawer = scope.spawn(move || -> Result<crate::charts::Planned<'a>> {
            let mut drawn = crate::charts::Planned::default();
            let mut tables = crate::charts::Tables::new();
            let mut plan_charts_of = |drawn: crate::charts::Planned<'a>, (name, path): (String, PathBuf)| -> Result<_> {
                tables.insert(name.clone(), scan(&path)?);
                let plan = || crate::charts::plan(&tables, charts, |t| t == name);
                Ok(drawn.with(crate::progress::timed(&format!("      charts of {name} planned"), plan, |_| None)?))
            };
            // the tables written meanwhile planned first, then a chart at a time; what is
            // left when the last table is written is drawn on every core (below)
            loop {
                drawn = match drawing.try_recv() {
                    Ok(written) => plan_charts_of(drawn, written)?,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => return Ok(drawn),
                    // no table new: the next chart, else (none left) wait for the next table
                    Err(std::sync::mpsc::TryRecvError::Empty) if drawn.draw_next()? => drawn,
                    Err(std::sync::mpsc::TryRecvError::Empty) => match drawing.recv() {
                        Ok(written) => plan_charts_of(drawn, written)?,
                        Err(_) => return Ok(drawn),
                    },
                };
            }
        });
        let writer = scope.spawn(move || {
            let mut written = Vec::new();
            for (place, doc, df) in receive {
                let w = write_table(dir, doc, df);
                let failed = w.is_err();
                if let Ok((w, doc, _)) = &w {
                    if crate::charts::CHART_TABLES.contains(&doc.name.as_str()) {
                        // a drawing that failed has stopped taking tables: its error is told below
                        let _ = to_draw.send((doc.name.clone(), dir.join(&w.path)));
                    }
                }
                written.push((place, w));
                // the next hand-over fails, which stops the computing
                if failed {
                    break;
                }
            }
            written
        });
        let workers = crate::metrics::compute_workers(m);
        if crate::progress::timings() {
            crate::tell!("    tables computed {workers} at a time");
        }
        let computed = crate::metrics::compute_each_on(m, workers, |place, doc, df| {
            send.send((place, doc, df)).map_err(|_| Error::Input("writing the tables stopped".into()))
        });
        drop(send);
        let written = writer.join();
        (computed, written, drawer.join())
    });
    let written = written.map_err(|_| Error::Input("writing the tables failed".into()))?;
    // a failed write says more than the hand-over it stopped
    let mut written: Vec<(usize, (Written, Doc, Schema))> = written.into_iter().map(|(place, w)| w.map(|w| (place, w))).collect::<Result<_>>()?;
    computed?;
    let drawn = drawn.map_err(|_| Error::Input("a chart's drawing thread panicked".into()))??;
    written.sort_by_key(|(place, _)| *place);
    Ok((written.into_iter().map(|(_, w)| w).collect(), drawn))
}

/// A written table, as a scan of its file.
fn scan(path: &Path) -> Result<LazyFrame> {
    // the path is a file's, never a pattern or a partitioned folder
    let args = ScanArgsParquet { glob: false, hive_options: polars::io::HiveOptions::new_disabled(), ..Default::default() };
    Ok(LazyFrame::scan_parquet(PlRefPath::try_from_path(path)?, args)?)
}

/// The written tables by name, as scans of their files under `dir`.
fn scans(dir: &Path, written: &[(Written, Doc, Schema)]) -> Result<crate::charts::Tables> {
    written.iter().map(|(w, doc, _)| Ok((doc.name.clone(), scan(&dir.join(&w.path))?))).collect()
}

/// Writes each table to `tables/<name>.parquet` under `dir`: what the
/// manifest says of each, its doc and its schema (for the data dictionary).
fn write_tables(dir: &Path, tables: Vec<(Doc, DataFrame)>) -> Result<Vec<(Written, Doc, Schema)>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    // the Parquet writer encodes a table on one core at a time: two tables
    // at once, the longest first, each worker taking the next when done;
    // a slot a worker never filled (it panicked) is an error
    let mut order: Vec<usize> = (0..tables.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(tables[i].1.height()));
    let next = AtomicUsize::new(0);
    type Slot = Mutex<Option<Result<(Written, Doc, Schema)>>>;
    let slots: Vec<Slot> = tables.iter().map(|_| Mutex::new(None)).collect();
    let tables: Vec<Mutex<Option<(Doc, DataFrame)>>> = tables.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let work = || {
        while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            let Some((doc, df)) = tables[i].lock().ok().and_then(|mut t| t.take()) else { continue };
            let written = write_table(dir, doc, df);
            if let Ok(mut slot) = slots[i].lock() {
                *slot = Some(written);
            }
        }
    };
    std::thread::scope(|scope| {
        let helper = scope.spawn(work);
        work();
        let _ = helper.join();
    });
    slots
        .into_iter()
        .map(|slot| slot.into_inner().ok().flatten().unwrap_or_else(|| Err(Error::Input("writing a table failed".into()))))
        .collect()
}

/// Writes output table `doc` as `tables/<name>.parquet` in `dir`.
fn write_table(dir: &Path, doc: Doc, mut df: DataFrame) -> Result<(Written, Doc, Schema)> {
    let rel = format!("tables/{}.parquet", doc.name);
    let clock = std::time::Instant::now();
    write_parquet(&mut df, &dir.join(&rel), &doc)?;
    if crate::progress::timings() {
        crate::tell!("      {}: {} rows written in {:.2}s", doc.name, df.height(), clock.elapsed().as_secs_f64());
    }
    let schema = df.schema().as_ref().clone();
    Ok((Written { path: rel, rows: df.height(), schema: schema_of(&df) }, doc, schema))
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
        .map(|s| {
            let file = s.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            Ok(ManifestInput {
                table: s.table.to_string(),
                sha256: s.sha256.clone().ok_or_else(|| Error::Input(format!("{file} was read without its hash, which the manifest needs")))?,
                file,
                bytes: s.bytes,
                records: s.records,
                rows_loaded: s.table.split(", ").filter_map(|t| v.tables.get(t)).map(|d| d.height()).sum(),
            })
        })
        .collect::<Result<_>>()?;
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


#[cfg(test)]
mod tests {
    use super::*;

    /// A table that cannot be written stops the computing, and the error
    /// is the write's, naming the file, not the hand-over it stopped.
    #[test]
    fn a_failed_write_stops_the_computing_with_its_own_error() {
        let input = InputOptions::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny"));
        let p = prepare(&input, false, None, None, &Progress::new(true)).unwrap();
        // a folder without tables/ in it: the first write fails
        let dir = tempfile::tempdir().unwrap();
        let charts = dir.path().join("charts");
        let err = compute_and_write(&p.model(), dir.path(), crate::charts::Setting::new(&charts, &p.label, &p.config, "JPY")).map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("tables/") && err.contains(".parquet"), "{err}");
        assert!(!err.contains("writing the tables stopped"), "{err}");
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing written");
    }
}
