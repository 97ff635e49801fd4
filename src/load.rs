//! Input files -> raw frames: one per contract table, every contract column
//! present (null where the file lacks an optional one), plus `_row`, the
//! record's row number as a user sees it in the file.
//!
//! A CSV file is first scanned once (`scan_csv`: SHA-256, UTF-8, a
//! quote-aware count of each record's fields and lines; the scans of the
//! files still to come run ahead on a thread of their own, `ScanAhead`).
//! A well-formed file is then read by Polars' CSV parser, piece by piece (a
//! piece a core at once, the next pieces read while one is typed), each
//! record keeping the line it starts on; any other file
//! (ragged records, a pasted footer, blank lines, Shift_JIS) goes record by
//! record through the `csv` crate, so a bad record is named by its line and
//! set aside instead of shifting columns. Cells are text here; `typing`
//! turns each piece into the contract's types with Polars expressions.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::contract::{normalize_name, TableSpec, ROW, TABLES};
use crate::error::{Error, Result};
use crate::findings::Finding;

/// Where a table came from, for the manifest and messages.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The table(s) it feeds (several when a mapping reads it for more than one).
    pub table: String,
    pub path: PathBuf,
    /// Its SHA-256, for the manifest; None where the load was asked not to
    /// hash (`Hashes::Skipped`) and the hash would have cost a pass of its own.
    pub sha256: Option<String>,
    pub bytes: u64,
    /// Data records read (well-formed or not), excluding the header.
    pub records: u64,
}

/// One table as read and typed: the contract columns in their types and
/// `_row`, with the problems each row has on its own (see
/// `typing::type_chunk`); checks across rows and tables come later.
#[derive(Debug, Clone)]
pub struct RawTable {
    pub spec: &'static TableSpec,
    /// The file(s) it came from; with several (a mapping joining Task and
    /// Event), `_row` carries the file's index above `SOURCE_SHIFT`.
    pub files: Vec<String>,
    pub df: DataFrame,
    pub findings: DataFrame,
    /// Optional columns the input supplied (the others are all null).
    pub supplied: Vec<&'static str>,
    /// (column, source index, where it came from) for messages about mapped columns.
    pub origins: Vec<(&'static str, i64, String)>,
}

/// `_row` of a table read from several files: file index * SOURCE_SHIFT + line.
pub const SOURCE_SHIFT: i64 = 1 << 40;

/// What applying a mapping did, for the report's data-coverage section.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub name: String,
    pub description: String,
    pub notes: BTreeMap<String, String>,
    /// (table, source, rows read, rows kept, why the others were left out).
    pub sources: Vec<(String, String, usize, usize, String)>,
    /// Source values a `map` did not name: (table.column, source column,
    /// value, rows, what they became).
    pub fell_through: Vec<(String, String, String, u64, String)>,
    /// Rows left out as deleted (`[defaults] deleted`): (source file, flag column, rows).
    pub deleted: Vec<(String, String, usize)>,
    /// Contract columns read partly from a file the mapping looks up and
    /// the input lacks, one line each: their values come from the rest of
    /// what they read (HubSpot's handoffs.from_rep_id from the deal owner
    /// without contacts.csv). A warning of the run.
    pub lookups_missing: Vec<String>,
}

impl Applied {
    /// The source values no map names or no expression matched, one line
    /// each with what to do: "Lead.LeadSource: 'Outbound Prospecting' x
    /// 812 became inbound (not named in the map); name it in ...".
    pub fn fell_through_lines(&self) -> Vec<String> {
        self.fell_through
            .iter()
            .map(|(_, from, value, n, became)| {
                let advice = if became.ends_with("(not named in the map)") {
                    "name it in the mapping's map if it means something else"
                } else if became.ends_with("(the mapping's default)") {
                    "fill it in the export where the value is known"
                } else if became.ends_with("a value in no row") {
                    "if this value should give one, name it in the mapping's expression (a WHEN spelled as the export spells it)"
                } else {
                    "give it a value in the mapping's expression (a CASE needs a WHEN or an ELSE for it)"
                };
                format!("{from}: '{value}' x {n} became {became}; {advice}")
            })
            .collect()
    }
}

/// Everything read from an input folder.
#[derive(Debug, Default)]
pub struct RawInput {
    pub tables: BTreeMap<&'static str, RawTable>,
    pub sources: Vec<SourceFile>,
    /// Optional tables with no file.
    pub missing: Vec<&'static str>,
    pub findings: Vec<Finding>,
    /// What the input cannot support and why: a table (`stage_history`), a
    /// column (`leads.qualified_at`) or a fact a mapping declares missing
    /// (`opportunities.lost`). See `coverage`.
    pub unavailable: BTreeMap<String, String>,
    /// The mapping used, if any: its name, notes and rows its filters left out.
    pub mapping: Option<Applied>,
    /// Headers of native files that name no contract column (ignored).
    pub ignored: Vec<IgnoredColumn>,
    /// How files were read where it is worth saying ("leads.csv: read as
    /// Shift_JIS / CP932 (not UTF-8)").
    pub notes: Vec<String>,
    /// The configured base currency (amounts are converted into it).
    pub base_currency: Option<String>,
    /// A mapping's `[passthrough]` columns of opportunities.
    pub passthrough: Option<crate::contract::Passthrough>,
    /// Holds the ids' load codes until they are own codes (`ids::Coding`).
    pub coding: crate::ids::Coding,
}


/// A header outside the contract, ignored, with the contract column it
/// most likely meant (a typo such as `close_at` for `closed_at`).
#[derive(Debug, Clone, PartialEq)]
pub struct IgnoredColumn {
    pub table: String,
    pub file: String,
    pub header: String,
    pub suggestion: Option<&'static str>,
}

impl IgnoredColumn {
    /// `close_at (did you mean closed_at?)`.
    pub fn describe(&self) -> String {
        match self.suggestion {
            Some(s) => format!("{} (did you mean {s}?)", self.header),
            None => self.header.clone(),
        }
    }
}

/// One line per file: "opportunities.csv: 1 column not in the contract,
/// ignored: close_at (did you mean closed_at?)".
pub fn ignored_lines(ignored: &[IgnoredColumn]) -> Vec<String> {
    let mut files: Vec<(&str, Vec<String>)> = Vec::new();
    for c in ignored {
        match files.iter_mut().find(|(f, _)| *f == c.file) {
            Some((_, list)) => list.push(c.describe()),
            None => files.push((&c.file, vec![c.describe()])),
        }
    }
    files
        .into_iter()
        .map(|(file, list)| {
            let n = list.len();
            format!("{file}: {} not in the contract, ignored: {}", crate::summary::count(n as u64, "column", "columns"), list.join(", "))
        })
        .collect()
}

/// The contract column of `spec` a header most likely meant: the nearest by
/// edit distance (names normalised as for matching), at most 2 edits and
/// fewer than half the name, among the columns the file does not supply (a
/// header near one it does supply, `close_at` beside `closed_at`, is a column
/// of its own, not a typo that leaves the column empty).
pub fn nearest_column(header: &str, spec: &TableSpec, supplied: &[&'static str]) -> Option<&'static str> {
    spec.columns
        .iter()
        .filter(|c| !supplied.contains(&c.name))
        .filter_map(|c| crate::contract::typo_distance(header, c.name).map(|d| (c.name, d)))
        .min_by_key(|(_, d)| *d)
        .map(|(name, _)| name)
}

/// Whether a load hashes its input files (SHA-256, which the manifest
/// records): `run` does; `validate`, which writes nothing, does not. Hashing
/// took 1.6 s of CPU at scale 1000 (33M rows, 2.7 GB), beside the reading on
/// 2 cores. A file read record by record is still hashed, on the way, at
/// little cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashes {
    Taken,
    Skipped,
}

/// Reads every contract table found in `input`. Problems that make a file
/// unusable become fatal findings; row problems become row findings.
pub fn read_input(input: &Path, config: &Config, hashes: Hashes) -> Result<RawInput> {
    crate::progress::reading_input(|| read_input_files(input, config, hashes))
}

/// `read_input`'s work.
fn read_input_files(input: &Path, config: &Config, hashes: Hashes) -> Result<RawInput> {
    if input.is_file() {
        let holder = input.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        return Err(Error::Input(format!("--input {} is a file: give the folder that holds the tables (here {})", input.display(), holder.display())));
    }
    if !input.is_dir() {
        return Err(Error::Input(format!("input folder {} does not exist", input.display())));
    }
    let mut files = input_files(input)?;
    let mut out = RawInput { base_currency: config.base_currency.clone(), ..RawInput::default() };
    // the CSV files' structure scans run ahead, on a thread of their own, while
    // earlier files are read and typed
    let csv_files = TABLES
        .iter()
        .filter_map(|spec| match files.get(&normalize_name(spec.name)).map(Vec::as_slice) {
            Some([path]) if !is_parquet(path) && path.is_file() => Some(path.clone()),
            _ => None,
        })
        .collect();
    let ahead = ScanAhead::start(csv_files, config, hashes);
    // the files no table takes, for a table not found (`handoffs (1).csv`, `dsr_view.csv`)
    let others: Vec<PathBuf> =
        files.iter().filter(|(stem, _)| !TABLES.iter().any(|t| normalize_name(t.name) == **stem)).flat_map(|(_, paths)| paths.clone()).collect();
    for spec in TABLES {
        let found = files.remove(&normalize_name(spec.name)).unwrap_or_default();
        read_native_with(spec, found, input, config, &mut out, &ahead, &others)?;
    }
    Ok(out)
}

/// For table `table`, not found in the input: "; the folder has ...",
/// naming a file of the folder no table takes (`others`) whose name looks
/// like it (a near spelling, or the name with more after it, as a
/// browser's second download `handoffs (1).csv`); empty where none does.
fn near_miss(table: &str, others: &[PathBuf]) -> String {
    let name = normalize_name(table);
    let near = others.iter().find(|p| {
        let stem = p.file_stem().map(|s| normalize_name(&s.to_string_lossy())).unwrap_or_default();
        crate::contract::typo_distance(&stem, table).is_some() || stem.starts_with(&name)
    });
    match near.and_then(|p| p.file_name()) {
        Some(file) => format!("; the folder has {}, which no table takes: if it is {table}, name it {table}.csv (or .parquet)", file.to_string_lossy()),
        None => String::new(),
    }
}

/// The structure scans (`scan_csv`) of the CSV files a load will read, run
/// one after another on a thread of their own, in the order the files are
/// read: while one file is read and typed (which kept ~1.2 of 2 cores busy)
/// the next ones are scanned. Dropping it stops the thread after the file
/// it is scanning.
struct ScanAhead {
    scans: RefCell<BTreeMap<PathBuf, std::sync::mpsc::Receiver<Result<CsvScan>>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    /// Whether the scans hash the files (also those not scanned ahead).
    hashes: Hashes,
}

impl ScanAhead {
    /// Nothing is scanned ahead where the files will not take Polars' reader.
    fn start(paths: Vec<PathBuf>, config: &Config, hashes: Hashes) -> ScanAhead {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut scans = BTreeMap::new();
        if fast_csv_allowed(config) && !paths.is_empty() {
            let delimiter = config.csv.byte();
            let mut queue = Vec::new();
            for path in paths {
                let (sender, receiver) = std::sync::mpsc::channel();
                scans.insert(path.clone(), receiver);
                queue.push((path, sender));
            }
            let stopped = stop.clone();
            std::thread::spawn(move || {
                for (path, sender) in queue {
                    if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let _ = sender.send(scan_csv(&path, delimiter, hashes)); // the load may have stopped
                }
            });
        }
        ScanAhead { scans: RefCell::new(scans), stop, hashes }
    }

    /// None: not scanned ahead (scan it now).
    fn take(&self, path: &Path) -> Option<Result<CsvScan>> {
        let receiver = self.scans.borrow_mut().remove(path)?;
        receiver.recv().ok()
    }
}

impl Drop for ScanAhead {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether `path` names a Parquet file (else it is read as CSV).
pub fn is_parquet(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Reads contract table `spec` from its native file(s) `found` in `input`
/// (none: missing; two: ambiguous) into `out`.
pub fn read_native(spec: &'static TableSpec, found: Vec<PathBuf>, input: &Path, config: &Config, hashes: Hashes, out: &mut RawInput) -> Result<()> {
    read_native_with(spec, found, input, config, out, &ScanAhead::start(Vec::new(), config, hashes), &[])
}

/// `read_native`, taking a CSV file's structure scan from `ahead` where it was run ahead;
/// `others`, the folder's files no table takes, one of which a table not found may name.
fn read_native_with(
    spec: &'static TableSpec,
    mut found: Vec<PathBuf>,
    input: &Path,
    config: &Config,
    out: &mut RawInput,
    ahead: &ScanAhead,
    others: &[PathBuf],
) -> Result<()> {
    found.sort();
    match found.len() {
        0 if spec.required => out.findings.push(Finding::fatal(
            spec.name,
            None,
            "missing_table",
            format!(
                "required table {} is missing: put {}.csv or {}.parquet in {}{}",
                spec.name,
                spec.name,
                spec.name,
                input.display(),
                near_miss(spec.name, others)
            ),
        )),
        0 => {
            out.missing.push(spec.name);
            out.unavailable.insert(spec.name.to_string(), format!("no {0}.csv or {0}.parquet in the input{1}", spec.name, near_miss(spec.name, others)));
        }
        1 if !found[0].is_file() => {
            let path = &found[0];
            let file_name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            let what = if path.is_dir() {
                "a folder (as Spark or Hive write a table, in parts)".to_string()
            } else if let Ok(target) = std::fs::read_link(path) {
                format!("a link to {}, which is not there", target.display())
            } else {
                "not a file that can be read".to_string()
            };
            out.findings.push(Finding::fatal(
                spec.name,
                None,
                "not_a_file",
                format!("{file_name} in {} is {what}: put the {} table in one CSV or Parquet file", input.display(), spec.name),
            ));
        }
        1 => {
            let path = &found[0];
            let file_name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            // a CSV read to its end is hashed on the way; anything else is read again for the hash,
            // where one is wanted
            let mut digest = None;
            let mut supplied = Vec::new();
            let read = if is_parquet(path) {
                read_parquet_raw(path, spec, &file_name, config, &mut supplied, &mut out.ignored)
            } else {
                read_csv_raw(path, spec, &file_name, config, &mut digest, &mut supplied, &mut out.ignored, &mut out.notes, ahead)
            }?;
            let (df, records, mut findings) = read;
            out.findings.append(&mut findings);
            let (sha256, bytes) = match digest {
                Some(d) => d,
                None => file_digest(path, ahead.hashes)?,
            };
            out.sources.push(SourceFile { table: spec.name.to_string(), path: path.clone(), sha256, bytes, records });
            if let Some((df, row_findings)) = df {
                for c in spec.columns.iter().filter(|c| !c.required && !supplied.contains(&c.name)) {
                    out.unavailable.insert(format!("{}.{}", spec.name, c.name), format!("{file_name} has no {} column", c.name));
                }
                let table = RawTable { spec, files: vec![file_name], df, findings: row_findings, supplied, origins: Vec::new() };
                out.tables.insert(spec.name, table);
            }
        }
        _ => out.findings.push(Finding::fatal(
            spec.name,
            None,
            "ambiguous_table",
            format!(
                "{} is given twice ({}): which one is meant? Remove one",
                spec.name,
                found.iter().map(|p| p.file_name().unwrap_or_default().to_string_lossy()).collect::<Vec<_>>().join(" and ")
            ),
        )),
    }
    Ok(())
}

/// The size of a folder's input as read: its CSV files' bytes, and eight
/// times its Parquet files' (compressed columns; about what the same table
/// takes as CSV). 0 where the folder cannot be read.
pub fn input_bytes(input: &Path) -> u64 {
    let files = input_files(input).unwrap_or_default();
    files
        .values()
        .flatten()
        .map(|path| {
            let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
            if is_parquet(path) { bytes.saturating_mul(8) } else { bytes }
        })
        .sum()
}

/// The CSV and Parquet files of a folder by normalised stem (`Task.csv` and
/// `task.parquet` are both under `task`).
pub fn input_files(input: &Path) -> Result<BTreeMap<String, Vec<PathBuf>>> {
    let mut files: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(input).map_err(|e| Error::io(input, e))? {
        let path = entry.map_err(|e| Error::io(input, e))?.path();
        let (Some(stem), Some(ext)) = (path.file_stem(), path.extension()) else { continue };
        let ext = ext.to_string_lossy().to_ascii_lowercase();
        // a folder or a broken link of a table's name is found too, to be named (`not_a_file`)
        // rather than taken for a table the input lacks
        if ext == "csv" || ext == "parquet" {
            files.entry(normalize_name(&stem.to_string_lossy())).or_default().push(path);
        }
    }
    Ok(files)
}

/// SHA-256 and size of the bytes that went through a `HashingReader`.
#[derive(Default)]
struct HashState {
    hasher: Sha256,
    bytes: u64,
    at_end: bool,
}

impl HashState {
    /// The file's hex SHA-256 and size, if it was read to its end.
    fn finish(&mut self) -> Option<(Option<String>, u64)> {
        self.at_end.then(|| (Some(hex(&std::mem::take(&mut self.hasher).finalize())), self.bytes))
    }
}

/// Hashes a file as it is read, so the manifest's hash costs no second read.
struct HashingReader<R> {
    inner: R,
    state: Rc<RefCell<HashState>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut s = self.state.borrow_mut();
        if n == 0 && !buf.is_empty() {
            s.at_end = true;
        }
        s.hasher.update(&buf[..n]);
        s.bytes += n as u64;
        Ok(n)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file's SHA-256 (where `hashes` asks for it), read for it alone, and its size.
pub fn file_digest(path: &Path, hashes: Hashes) -> Result<(Option<String>, u64)> {
    if hashes == Hashes::Skipped {
        return Ok((None, std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len()));
    }
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((Some(hex(&hasher.finalize())), total))
}

/// Matches file headers to contract columns. Returns, per header position,
/// the contract column it feeds (None: not in the contract, ignored).
fn match_headers(
    headers: &[String],
    spec: &'static TableSpec,
    file_name: &str,
    findings: &mut Vec<Finding>,
    ignored: &mut Vec<IgnoredColumn>,
) -> Option<Vec<Option<&'static str>>> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    let mut ok = true;
    for h in headers {
        let n = normalize_name(h);
        if n.is_empty() {
            continue;
        }
        if let Some(first) = seen.insert(n, h) {
            ok = false;
            findings.push(
                Finding::fatal(
                    spec.name,
                    Some(h.clone()),
                    "duplicate_column",
                    format!("{file_name}: headers {first:?} and {h:?} name the same column (names match ignoring case and _)"),
                )
                .in_file(file_name),
            );
        }
    }
    let mapping: Vec<Option<&'static str>> = headers
        .iter()
        .map(|h| {
            let n = normalize_name(h);
            spec.columns.iter().find(|c| normalize_name(c.name) == n).map(|c| c.name)
        })
        .collect();
    let supplied: Vec<&'static str> = mapping.iter().flatten().copied().collect();
    let unknown: Vec<IgnoredColumn> = headers
        .iter()
        .zip(&mapping)
        .filter(|(h, m)| m.is_none() && !normalize_name(h).is_empty())
        .map(|(h, _)| IgnoredColumn {
            table: spec.name.to_string(),
            file: file_name.to_string(),
            header: h.clone(),
            suggestion: nearest_column(h, spec, &supplied),
        })
        .collect();
    for c in spec.columns.iter().filter(|c| c.required) {
        if !mapping.contains(&Some(c.name)) {
            ok = false;
            let hint = match unknown.iter().find(|u| u.suggestion == Some(c.name)) {
                Some(u) => format!("; the header {:?} looks like it (did you mean {}?)", u.header, c.name),
                // Excel's first line naming the separator, above the real header
                None if headers.first().is_some_and(|h| h.to_ascii_lowercase().starts_with("sep=")) => {
                    format!(" (the first line, {:?}, is Excel's line naming the separator: delete it, the header is the line after)", headers.join(","))
                }
                None => format!(" (found: {})", headers.join(", ")),
            };
            findings.push(
                Finding::fatal(
                    spec.name,
                    Some(c.name.to_string()),
                    "missing_column",
                    format!("{file_name}: required column {} is missing{hint}", c.name),
                )
                .in_file(file_name),
            );
        }
    }
    ignored.extend(unknown);
    ok.then_some(mapping)
}

/// The typed table with its row findings (if the file could be used), the
/// records read, and the file's own findings.
type FileRead = (Option<(DataFrame, DataFrame)>, u64, Vec<Finding>);

/// A file read, or why it could not be.
type ReadResult = Result<FileRead>;

/// A record's fields picked for the table (`read_csv_chunks`): its values
/// in the table's column order, None where the record cannot be used (its
/// findings noted).
type PickFields<'a> = dyn FnMut(&[String], &mut Vec<Finding>) -> Option<Vec<Option<String>>> + 'a;

/// What `read_csv_chunks` read: whether the file could be used, its data
/// records (well-formed or not), the file's own findings and its hash.
struct CsvRead {
    usable: bool,
    records: u64,
    findings: Vec<Finding>,
    digest: Option<(Option<String>, u64)>,
    /// How the file was decoded, when `encoding = "auto"` chose Shift_JIS.
    note: Option<String>,
}

/// Reads a CSV file as text, `chunk_rows()` records at a time. `pick` sees
/// the headers and says which columns to keep and under which names (None:
/// the file cannot be used; it has pushed the reason). Each chunk goes to
/// `on_chunk` as `_row` (the file's line number: the header is line 1, so
/// they match what a user sees in an editor) and the picked text columns.
/// `table` labels the findings.
fn read_csv_chunks(
    path: &Path,
    table: &str,
    file_name: &str,
    config: &Config,
    pick: &mut PickFields,
    on_chunk: &mut dyn FnMut(DataFrame) -> Result<()>,
) -> Result<CsvRead> {
    let mut out = CsvRead { usable: false, records: 0, findings: Vec::new(), digest: None, note: None };
    let Some(encoding) = choose_encoding(path, table, file_name, config, &mut out.findings)? else {
        return Ok(out);
    };
    if encoding == Encoding::ShiftJis && config.encoding.eq_ignore_ascii_case("auto") {
        out.note = Some(format!("{file_name}: read as Shift_JIS / CP932, as it is not UTF-8 (set `encoding` if it is neither)"));
    }
    let hashing = Rc::new(RefCell::new(HashState::default()));
    let file = HashingReader { inner: File::open(path).map_err(|e| Error::io(path, e))?, state: hashing.clone() };
    // the line of the first byte the Shift_JIS decoder could not read, if any
    let bad_line = Rc::new(Cell::new(None));
    let reader: Box<dyn Read> = match encoding {
        Encoding::Utf8 => Box::new(BufReader::with_capacity(1 << 20, file)),
        Encoding::ShiftJis => Box::new(BufReader::with_capacity(1 << 20, StrictShiftJis::new(file, bad_line.clone()))),
    };
    let delimiter = config.csv.byte();
    let starts = Rc::new(RefCell::new(VecDeque::new()));
    let reader = LineTracker::new(reader, starts.clone(), delimiter);
    let mut csv_reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(reader);
    let next_line = |record: &csv::ByteRecord| {
        starts.borrow_mut().pop_front().unwrap_or_else(|| record.position().map(|p| p.line()).unwrap_or(0))
    };
    let mut record = csv::ByteRecord::new();
    let not_utf8 = |line: u64| {
        Finding::fatal_at(
            table,
            line,
            "not_utf8",
            format!(
                "{file_name} row {line} is not UTF-8 (encoding = \"{}\"): set `encoding = \"auto\"` (or \"shift_jis\") in salesrelay.toml if the CRM exported Shift_JIS",
                config.encoding
            ),
        )
        .in_file(file_name)
    };
    let read_err = |e: csv::Error| match bad_line.get() {
        Some(line) => Finding::fatal_at(
            table,
            line,
            "not_shift_jis",
            format!(
                "{file_name} row {line} is not Shift_JIS (encoding = \"{}\"): is the file UTF-8? Set `encoding = \"auto\"` to detect each file's encoding",
                config.encoding
            ),
        )
        .in_file(file_name),
        None => Finding::fatal(table, None, "malformed_csv", format!("{file_name}: {e}")).in_file(file_name),
    };
    match csv_reader.read_byte_record(&mut record) {
        Ok(true) => {
            next_line(&record);
        }
        Ok(false) => {
            out.findings.push(Finding::fatal(table, None, "empty_file", format!("{file_name} is empty (no header)")).in_file(file_name));
            return Ok(out);
        }
        Err(e) => {
            out.findings.push(read_err(e));
            return Ok(out);
        }
    }
    let mut headers = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let Ok(text) = std::str::from_utf8(field) else {
            out.findings.push(not_utf8(1));
            return Ok(out);
        };
        let text = if i == 0 { text.trim_start_matches('\u{feff}') } else { text };
        headers.push(text.trim().to_string());
    }
    if let Some(finding) = other_delimiter(&headers, delimiter, table, file_name) {
        out.findings.push(finding);
        return Ok(out);
    }
    let Some(mapping) = pick(&headers, &mut out.findings) else {
        return Ok(out);
    };
    let width = headers.len();
    let chunk = chunk_rows();
    let new_builders = || -> Vec<(usize, StringChunkedBuilder)> {
        mapping
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.as_ref().map(|name| (i, StringChunkedBuilder::new(name.as_str().into(), chunk.min(1 << 16)))))
            .collect()
    };
    let finish = |rows: Vec<i64>, builders: Vec<(usize, StringChunkedBuilder)>| -> Result<DataFrame> {
        let height = rows.len();
        let mut columns: Vec<Column> = vec![Column::new(ROW.into(), rows)];
        columns.extend(builders.into_iter().map(|(_, b)| b.finish().into_column()));
        Ok(DataFrame::new(height, columns)?)
    };
    let mut builders = new_builders();
    let mut rows: Vec<i64> = Vec::with_capacity(chunk.min(1 << 16));
    let mut chunks = 0usize;
    // (line, raw text, field count, lines it runs over) of records whose width differs from the header's
    let mut ragged: Vec<(u64, String, usize, u64)> = Vec::new();
    let mut last_good_line = 0u64;
    loop {
        match csv_reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                out.findings.push(read_err(e));
                return Ok(out);
            }
        }
        out.records += 1;
        let line = next_line(&record);
        if record.len() != width {
            let text = record.iter().map(|f| String::from_utf8_lossy(f)).collect::<Vec<_>>().join(",");
            // the line breaks inside its fields: the lines a quote left open ran over (the file's
            // last line break, taken into a quote open to the end, ends no line of its own)
            let fields = record.len();
            let more: u64 = record.iter().enumerate().map(|(i, f)| line_breaks(if i + 1 == fields { f.trim_ascii_end() } else { f })).sum();
            ragged.push((line, text.chars().take(200).collect(), fields, more));
            // each line it ran over is a row of the file not read
            out.records += more;
            continue;
        }
        for (i, builder) in builders.iter_mut() {
            let Ok(text) = std::str::from_utf8(&record[*i]) else {
                out.findings.push(not_utf8(line));
                return Ok(out);
            };
            let text = text.trim();
            if text.is_empty() {
                builder.append_null();
            } else {
                builder.append_value(text);
            }
        }
        rows.push(line as i64);
        last_good_line = line;
        if rows.len() == chunk {
            on_chunk(finish(std::mem::take(&mut rows), std::mem::replace(&mut builders, new_builders()))?)?;
            chunks += 1;
        }
    }
    for (line, text, fields, more) in ragged {
        let (rule, detail) = if more > 0 {
            // a quote left open takes the lines after it into one record, until the next quote
            (
                "unclosed_quote",
                format!(
                    "a quoted field opened here runs over {more} more line(s), to line {}, and the record has {fields} field(s), the header {width}: is a closing quote missing? The lines it runs over are not read as rows: {text:?}",
                    line + more
                ),
            )
        } else if line > last_good_line && fields * 2 < width {
            ("report_footer", format!("text under the data (a pasted report footer?): {text:?}"))
        } else if line > last_good_line {
            // most of a record, where the data ends: cut short (a truncated copy, or an
            // export that drops the empty fields at the end of its last row)
            ("ragged_row", format!("has {fields} field(s), the header has {width}, at the end of the data (cut short?): {text:?}"))
        } else {
            ("ragged_row", format!("has {fields} field(s), the header has {width}: {text:?}"))
        };
        out.findings.push(Finding::row(table, line as i64, None, None, rule, detail).in_file(file_name));
        // and each line it ran over, so --lenient counts every row it loses
        for taken in line + 1..=line + more {
            let detail = format!("inside the quoted field opened on line {line} (is a closing quote missing?): not read as a row");
            out.findings.push(Finding::row(table, taken as i64, None, None, "unclosed_quote", detail).in_file(file_name));
        }
    }
    if !rows.is_empty() || chunks == 0 {
        on_chunk(finish(rows, builders)?)?;
    }
    out.usable = true;
    out.digest = hashing.borrow_mut().finish();
    Ok(out)
}

/// The line breaks in a field (LF, CRLF or a CR on its own, as `LineTracker` counts them).
fn line_breaks(field: &[u8]) -> u64 {
    let crlf = field.windows(2).filter(|w| w == b"\r\n").count();
    (bytecount(field, b'\n') + bytecount(field, b'\r')) - crlf as u64
}

/// How a CSV file's bytes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    /// Shift_JIS with Microsoft's extensions (CP932), decoded strictly.
    ShiftJis,
}

/// Where a file stops being valid UTF-8.
enum Utf8Scan {
    /// Valid UTF-8; whether it holds any byte outside ASCII.
    Valid { non_ascii: bool },
    /// The line (from 1) of the first byte that is not UTF-8.
    InvalidAt(u64),
}

/// Reads a file once to see whether it is UTF-8 (streamed, so a large file
/// is never all in memory).
fn scan_utf8(path: &Path) -> Result<Utf8Scan> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = 0usize; // bytes of a character split across two reads
    let mut line = 1u64;
    let mut non_ascii = false;
    loop {
        let n = file.read(&mut buf[carry..]).map_err(|e| Error::io(path, e))?;
        let len = carry + n;
        let chunk = &buf[..len];
        match simdutf8::compat::from_utf8(chunk) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_none() && n > 0 => {
                // an incomplete character at the end: keep it for the next read
                carry = len - e.valid_up_to();
            }
            Err(e) => {
                let at = e.valid_up_to();
                return Ok(Utf8Scan::InvalidAt(line + bytecount(&chunk[..at], b'\n')));
            }
        }
        let done = len - carry;
        non_ascii |= !chunk[..done].is_ascii();
        line += bytecount(&chunk[..done], b'\n');
        if n == 0 {
            return Ok(Utf8Scan::Valid { non_ascii });
        }
        buf.copy_within(done..len, 0);
    }
}

/// How many bytes of `bytes` are `b` (SIMD: the structure scan counts every
/// separator of every line; a plain loop took four fifths of its time).
fn bytecount(bytes: &[u8], b: u8) -> u64 {
    bytecount::count(bytes, b) as u64
}

/// The encoding to read `path` with, as `config.encoding` says: `auto` takes
/// UTF-8 when the file is valid UTF-8, else Shift_JIS when it decodes
/// cleanly. None (with a fatal finding) when the file is in neither.
fn choose_encoding(path: &Path, table: &str, file_name: &str, config: &Config, findings: &mut Vec<Finding>) -> Result<Option<Encoding>> {
    // UTF-16's byte order mark: Excel's "Unicode Text", tab-separated, named as such
    let mut start = [0u8; 2];
    let read = File::open(path).and_then(|mut f| f.read(&mut start)).map_err(|e| Error::io(path, e))?;
    if read == 2 && (start == [0xff, 0xfe] || start == [0xfe, 0xff]) {
        findings.push(
            Finding::fatal_at(
                table,
                1,
                "unknown_encoding",
                format!("{file_name} is UTF-16 (as Excel saves \"Unicode Text\", tab-separated): save it as \"CSV UTF-8 (comma delimited)\""),
            )
            .in_file(file_name),
        );
        return Ok(None);
    }
    match config.encoding.to_ascii_lowercase().as_str() {
        "utf-8" => Ok(Some(Encoding::Utf8)),
        "auto" => match scan_utf8(path)? {
            Utf8Scan::Valid { .. } => Ok(Some(Encoding::Utf8)),
            Utf8Scan::InvalidAt(utf8_line) => match scan_shift_jis(path)? {
                None => Ok(Some(Encoding::ShiftJis)),
                Some(sjis_line) => {
                    findings.push(
                        Finding::fatal_at(
                            table,
                            utf8_line.max(sjis_line),
                            "unknown_encoding",
                            format!(
                                "{file_name} is neither UTF-8 (row {utf8_line} is not) nor Shift_JIS / CP932 (row {sjis_line} is not): save it as UTF-8"
                            ),
                        )
                        .in_file(file_name),
                    );
                    Ok(None)
                }
            },
        },
        _ => {
            if let Utf8Scan::Valid { non_ascii: true } = scan_utf8(path)? {
                findings.push(
                    Finding::fatal(
                        table,
                        None,
                        "not_shift_jis",
                        format!(
                            "{file_name} is UTF-8, but encoding = \"{}\" would read its non-ASCII text as mojibake: set `encoding = \"auto\"` to detect each file's encoding",
                            config.encoding
                        ),
                    )
                    .in_file(file_name),
                );
                return Ok(None);
            }
            Ok(Some(Encoding::ShiftJis))
        }
    }
}

/// Decodes the whole file as Shift_JIS; the line of the first byte that is
/// not Shift_JIS, or None when it all decodes.
fn scan_shift_jis(path: &Path) -> Result<Option<u64>> {
    let bad = Rc::new(Cell::new(None));
    let mut reader = StrictShiftJis::new(File::open(path).map_err(|e| Error::io(path, e))?, bad.clone());
    let mut sink = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut sink) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => match bad.get() {
                Some(line) => return Ok(Some(line)),
                None => return Err(Error::io(path, e)),
            },
        }
    }
}

/// Shift_JIS (CP932) bytes in, UTF-8 out. Unlike a replacing decoder it
/// stops at the first byte sequence that is not Shift_JIS, with an error,
/// and records the line it is on in `bad_line`, so mojibake never gets in.
struct StrictShiftJis<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    /// Lines decoded so far, from 1.
    line: u64,
    /// Set at the first malformed sequence; every later read fails.
    bad_line: Rc<Cell<Option<u64>>>,
}

impl<R: Read> StrictShiftJis<R> {
    fn new(inner: R, bad_line: Rc<Cell<Option<u64>>>) -> Self {
        StrictShiftJis {
            inner,
            decoder: encoding_rs::SHIFT_JIS.new_decoder_without_bom_handling(),
            input: vec![0u8; 1 << 16],
            in_start: 0,
            in_end: 0,
            output: vec![0u8; 3 * (1 << 16) + 16],
            out_start: 0,
            out_end: 0,
            eof: false,
            line: 1,
            bad_line,
        }
    }
}

impl<R: Read> Read for StrictShiftJis<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.out_start == self.out_end {
            if let Some(line) = self.bad_line.get() {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not Shift_JIS at line {line}")));
            }
            if self.eof && self.in_start == self.in_end {
                return Ok(0);
            }
            if self.in_start == self.in_end {
                let n = self.inner.read(&mut self.input)?;
                self.in_start = 0;
                self.in_end = n;
                self.eof = n == 0;
            }
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.in_start..self.in_end],
                &mut self.output,
                self.eof,
            );
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            self.line += bytecount(&self.output[..written], b'\n');
            if let encoding_rs::DecoderResult::Malformed(..) = result {
                // what decoded before the bad bytes is handed out first
                self.bad_line.set(Some(self.line));
            }
        }
        let n = buf.len().min(self.out_end - self.out_start);
        buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
}

/// A header read as one field that holds another separator: the file is
/// separated by that, not by the configured delimiter.
fn other_delimiter(headers: &[String], delimiter: u8, table: &str, file_name: &str) -> Option<Finding> {
    if headers.len() != 1 {
        return None;
    }
    let (name, shown) = [(b';', ";"), (b'\t', "\\t"), (b'|', "|"), (b',', ",")]
        .into_iter()
        .filter(|(b, _)| *b != delimiter)
        .find(|(b, _)| headers[0].as_bytes().contains(b))?;
    let word = if name == b'\t' { "tabs".to_string() } else { format!("`{shown}`") };
    let header: String = headers[0].chars().take(80).collect();
    Some(
        Finding::fatal(
            table,
            None,
            "wrong_delimiter",
            format!(
                "{file_name} is separated by {word}, not by `{}` (its header reads as one column: {header:?}): set `[csv] delimiter = \"{shown}\"` in salesrelay.toml",
                delimiter as char
            ),
        )
        .in_file(file_name),
    )
}

/// What one pass over a CSV file's bytes shows: its hash, whether Polars'
/// CSV parser can read it exactly as the record-by-record path would, and
/// if so where each record starts and where each piece begins.
#[derive(Default)]
struct CsvScan {
    /// None where the scan was asked not to hash (`Hashes::Skipped`).
    sha256: Option<String>,
    bytes: u64,
    /// The header's fields (BOM stripped, trimmed), if the file is usable fast.
    headers: Vec<String>,
    /// Data records (after the header).
    records: usize,
    /// The line each data record starts on, where that is not simply its
    /// index + 2 (a quoted field spans lines); None when it is.
    starts: Option<Vec<u32>>,
    /// Why the file must take the record-by-record path (not UTF-8, a
    /// ragged record, a blank line, no data): None when it need not.
    slow: Option<&'static str>,
    /// Whether a field may need trimming or be an empty quoted string: a
    /// space or tab beside a separator, a line end or a quote, or a `""`.
    /// When not, Polars' text is used as it is read.
    padded: bool,
    /// Byte offsets where data records 0, S, 2S, ... start (S = `step_rows()`),
    /// then the file's length: where the pieces Polars reads may start and end.
    pieces: Vec<u64>,
}

impl CsvScan {
    /// Whether Polars' parser may read the file (`read_csv_piece`): well
    /// formed, a header of two columns or more (one column may be a header
    /// that holds another separator) and its line numbers within a u32,
    /// which they are held in.
    fn polars_reads(&self) -> bool {
        let last_line = self.starts.as_ref().and_then(|s| s.last().copied().map(u64::from)).unwrap_or(self.records as u64 + 1);
        self.slow.is_none() && self.headers.len() >= 2 && last_line < u32::MAX as u64
    }

    /// The pieces Polars reads, `cores` at a time: (first record, records,
    /// byte range). At most `chunk_rows()` records each, in a multiple of
    /// `cores` pieces of about the same size (whole steps of the scan), so
    /// that no core waits on another: a file of fewer than `cores` times
    /// `chunk_rows()` records is still read on every core (scale 10's
    /// activities, 190k records, were one piece read on one core while the
    /// other idled). The record count may be a multiple of the piece size:
    /// no empty last piece.
    fn piece_list(&self, cores: usize) -> Vec<(usize, usize, (u64, u64))> {
        let step = step_rows();
        let cores = cores.max(1);
        let count = self.records.div_ceil(chunk_rows()).div_ceil(cores) * cores;
        let size = self.records.div_ceil(count.max(1)).div_ceil(step).max(1) * step;
        let last = self.pieces.len().saturating_sub(1);
        (0..self.records)
            .step_by(size)
            .map(|first| {
                let k = first / step;
                (first, size.min(self.records - first), (self.pieces[k.min(last)], self.pieces[(k + size / step).min(last)]))
            })
            .collect()
    }
}

/// Reads a file once: SHA-256 (where `hashes` asks for it), UTF-8
/// validity, and a quote-aware count of each record's fields and lines (the
/// quoting rules of `LineTracker`).
fn scan_csv(path: &Path, delimiter: u8, hashes: Hashes) -> Result<CsvScan> {
    // the mapped file, read where the page cache holds it: each block counted, then
    // hashed while it is in the cache, then its pages let go (the scan runs a file
    // ahead of the reading, see `ScanAhead`, so it is not what the load waits for)
    let Some(file) = FileBytes::map(path)? else {
        // a file system that cannot map files (some network or FUSE mounts): the
        // record-by-record path reads it (and hashes it on the way)
        return Ok(CsvScan { slow: Some("a file that cannot be mapped into memory"), ..CsvScan::default() });
    };
    let (mut hasher, mut released) = ((hashes == Hashes::Taken).then(Sha256::new), 0);
    let scan = scan_bytes(&file.0, delimiter, |block, end| {
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(block);
        }
        // (the page `end` falls in is let go with the next block)
        file.done_with((released, end));
        released = end;
    });
    Ok(CsvScan { sha256: hasher.map(|h| hex(&h.finalize())), ..scan })
}

/// `scan_csv`'s count over a file's `bytes`, a block of 1 MiB at a time,
/// each block handed to `done` with the offset it ends at once counted
/// (the SHA-256 left empty).
fn scan_bytes(bytes: &[u8], delimiter: u8, mut done: impl FnMut(&[u8], u64)) -> CsvScan {
    const BLOCK: usize = 1 << 20;
    let total = bytes.len() as u64;
    let mut scan = CsvScan::default();
    let step = step_rows() as i64;
    let mut consumed = 0u64; // the file offset of the block's first byte
    let blank = |b: u8| b == b' ' || b == b'\t';
    let mut header: Vec<u8> = Vec::new();
    let (mut line, mut record_line) = (1u64, 1u64);
    let (mut in_quotes, mut fields, mut width) = (false, 1usize, 0usize);
    let mut record_bytes = 0usize; // bytes of the current record so far, without its line end
    let mut record_index: i64 = -1; // -1: the header
    loop {
        // the next block: from where the last one's valid text ended
        let block = &bytes[consumed as usize..(consumed as usize + BLOCK).min(bytes.len())];
        let len = block.len();
        let valid = match simdutf8::compat::from_utf8(block) {
            Ok(_) => len,
            // a character split across two blocks: finished in the next block
            Err(e) if e.error_len().is_none() && (consumed + len as u64) < total => e.valid_up_to(),
            Err(_) => {
                scan.slow.get_or_insert("not UTF-8");
                len
            }
        };
        let chunk = &block[..valid];
        if record_index < 0 && header.len() < (1 << 20) {
            header.extend_from_slice(chunk); // the header record is parsed from these bytes below
        }
        if scan.slow.is_none() {
            // a record ends at a line end outside quotes; false: the file must go record by record
            let mut end_record = |at: usize, fields: usize, record_bytes: usize, line: u64, scan: &mut CsvScan| -> bool {
                let content = record_bytes - usize::from(at > 0 && chunk[at - 1] == b'\r');
                if content == 0 {
                    scan.slow = Some("a blank line");
                    return false;
                }
                if record_index < 0 {
                    width = fields;
                } else if fields != width {
                    scan.slow = Some("a record with another number of fields than the header");
                    return false;
                } else {
                    push_start(&mut scan.starts, record_index as usize, record_line);
                }
                record_index += 1;
                if record_index % step == 0 {
                    scan.pieces.push(consumed + at as u64 + 1);
                }
                record_line = line;
                true
            };
            let mut last = 0;
            if !in_quotes && memchr::memchr(b'"', chunk).is_none() {
                // no quote in this block (the usual case): each line is a record,
                // its fields one more than its separators, counted a line at a time
                let special = |b: u8| b == b'\n' || b == delimiter;
                for at in memchr::memchr2_iter(b' ', b'\t', chunk) {
                    scan.padded |= (at > 0 && special(chunk[at - 1])) || chunk.get(at + 1).is_some_and(|b| special(*b));
                }
                for at in memchr::memchr_iter(b'\n', chunk) {
                    fields += bytecount(&chunk[last..at], delimiter) as usize;
                    record_bytes += at - last;
                    last = at + 1;
                    line += 1;
                    if !end_record(at, fields, record_bytes, line, &mut scan) {
                        break;
                    }
                    fields = 1;
                    record_bytes = 0;
                }
                if scan.slow.is_none() {
                    fields += bytecount(&chunk[last..], delimiter) as usize;
                }
            } else {
                for at in memchr::memchr3_iter(b'"', b'\n', delimiter, chunk) {
                    record_bytes += at - last;
                    last = at + 1;
                    let b = chunk[at];
                    // bytes on either side of a separator, line end or quote: padding, or "" (an empty quoted field)
                    let before = if at > 0 { chunk[at - 1] } else { b'\n' };
                    let after = chunk.get(at + 1).copied().unwrap_or(b'\n');
                    scan.padded |= blank(after) || (blank(before) && b != b'"') || (b == b'"' && after == b'"');
                    if b != b'\n' || in_quotes {
                        record_bytes += 1;
                        if b == b'"' {
                            in_quotes = !in_quotes;
                        } else if b == b'\n' {
                            line += 1;
                        } else if !in_quotes {
                            fields += 1;
                        }
                        continue;
                    }
                    line += 1;
                    if !end_record(at, fields, record_bytes, line, &mut scan) {
                        break;
                    }
                    fields = 1;
                    record_bytes = 0;
                }
            }
            record_bytes += chunk.len() - last;
        }
        if len == 0 {
            break;
        }
        consumed += valid as u64;
        done(chunk, consumed);
    }
    scan.bytes = total;
    scan.pieces.push(total);
    if scan.slow.is_none() {
        if in_quotes {
            scan.slow = Some("an unclosed quote");
        } else if record_bytes > 0 {
            // a last record without a line end
            if record_index < 0 || fields != width {
                scan.slow = Some("a record with another number of fields than the header");
            } else {
                push_start(&mut scan.starts, record_index as usize, record_line);
                record_index += 1;
            }
        }
    }
    scan.records = record_index.max(0) as usize;
    if scan.slow.is_none() && scan.records == 0 {
        scan.slow = Some("no data records");
    }
    if scan.slow.is_none() {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).delimiter(delimiter).from_reader(&header[..]);
        let mut record = csv::StringRecord::new();
        match reader.read_record(&mut record) {
            Ok(true) if record.len() == width => {
                scan.headers = record
                    .iter()
                    .enumerate()
                    .map(|(i, f)| if i == 0 { f.trim_start_matches('\u{feff}') } else { f }.trim().to_string())
                    .collect();
            }
            _ => scan.slow = Some("an unreadable header"),
        }
    }
    scan
}

/// Records that data record `index` starts on `line`; the list is kept only
/// once a record starts elsewhere than on line index + 2.
fn push_start(starts: &mut Option<Vec<u32>>, index: usize, line: u64) {
    if starts.is_none() && line != index as u64 + 2 {
        *starts = Some((0..index as u32).map(|i| i + 2).collect());
    }
    if let Some(starts) = starts {
        // past u32::MAX the file goes record by record (`read_csv_polars`)
        starts.push(u32::try_from(line).unwrap_or(u32::MAX));
    }
}

/// A file's bytes as Polars' reader reads them: mapped into memory, so a
/// piece is handed to the reader where the page cache holds it, not copied
/// out first (as Polars' own reader does for a file it is given by path).
/// The scan (`scan_csv`) has counted the bytes: a piece beyond the mapped
/// length (the file shrank since) is None, and the file goes record by
/// record.
struct FileBytes(memmap2::Mmap);

/// The size of a memory page (the smallest on the systems we run on; a
/// larger page only lets go of fewer bytes).
#[cfg(unix)]
const PAGE: u64 = 4096;

impl FileBytes {
    /// The file at `path` mapped; None where its file system cannot map it
    /// (the caller reads it record by record instead).
    fn map(path: &Path) -> Result<Option<FileBytes>> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the map is only read, and only while this file is loaded; as with
        // Polars' reader (which maps a file it reads by path), a file another program
        // truncates during the load is the one thing that can fault it
        Ok(unsafe { memmap2::Mmap::map(&file) }.ok().map(FileBytes))
    }

    /// Bytes `range.0..range.1`, if the file holds them.
    fn get(&self, range: (u64, u64)) -> Option<&[u8]> {
        self.0.get(usize::try_from(range.0).ok()?..usize::try_from(range.1).ok()?)
    }

    /// Lets go of the pages of bytes `range` once read: the page cache keeps
    /// them, this process no longer counts them as its own (read whole, the
    /// mapped activities at scale 1000 put 1.4 GiB on the resident peak).
    #[cfg(unix)]
    fn done_with(&self, (start, end): (u64, u64)) {
        // whole pages only: the page the next piece starts in stays
        let (start, end) = (start / PAGE * PAGE, (end / PAGE * PAGE).min(self.0.len() as u64));
        let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else { return };
        if end > start {
            // SAFETY: the map is a read-only mapping of a file (shared), so letting go of
            // its pages only drops them from this process; a later read of them reads the
            // file again. Polars' reader copies what it keeps out of the bytes it reads.
            let _ = unsafe { self.0.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start) };
        }
    }

    /// (elsewhere the pages stay until the map is dropped)
    #[cfg(not(unix))]
    fn done_with(&self, _: (u64, u64)) {}
}

/// Reads records `first..` of a well-formed UTF-8 CSV, the bytes
/// `range` of the file, with Polars' CSV parser on this thread: the picked
/// columns (header position, contract name) as text, trimmed, empty = null,
/// with `_row` the line each record starts on. None when Polars reads
/// another number of records than the scan counted (then the
/// record-by-record path decides).
///
/// The piece goes to the parser Polars' reader runs on each part of a file
/// (`read_chunk`), not to the reader: the scan has found where the records
/// start and end and that the bytes are UTF-8, which the reader would find
/// out again (a pass counting lines, a tenth of validate's CPU at scale
/// 1000, and one checking UTF-8), and the columns come out in one chunk
/// each rather than in one a part the reader split the piece into (which
/// typing copied into one, another 5%). Pieces are read several at once
/// instead (`read_csv_polars`).
fn read_csv_piece(
    scan: &CsvScan,
    (first, records): (usize, usize),
    range: (u64, u64),
    delimiter: u8,
    picked: &[(usize, PlSmallStr)],
    file: &FileBytes,
) -> Result<Option<DataFrame>> {
    let Some(bytes) = file.get(range) else { return Ok(None) };
    let projection: Vec<usize> = picked.iter().map(|(i, _)| *i).collect();
    // every column as text: ids are coded once typed (`ids::encode_ids`)
    let schema: Schema = (0..scan.headers.len()).map(|i| Field::new(format!("column_{}", i + 1).into(), DataType::String)).collect();
    let options = CsvParseOptions::default().with_separator(delimiter).with_quote_char(Some(b'"'));
    // (the projection is in header order, as the parser needs it)
    let read = polars::io::csv::read::_csv_read_internal::read_chunk(bytes, &options, &schema, false, &projection, 0, records, None, usize::MAX, bytes.len(), Some(0));
    let Ok(df) = read else { return Ok(None) };
    if df.height() != records || df.width() != picked.len() {
        return Ok(None);
    }
    // 4 bytes a line number (the scan counts lines in a u32 already): at scale 1000, 0.13 GB
    // less held through the load than 8
    let rows: Vec<u32> = match &scan.starts {
        Some(starts) => starts[first..first + records].to_vec(),
        None => (first as u32 + 2..(first + records) as u32 + 2).collect(),
    };
    let mut columns = vec![Column::new(ROW.into(), rows)];
    columns.extend(df.columns().iter().zip(picked).map(|(c, (_, name))| c.clone().with_name(name.clone())));
    let df = DataFrame::new(records, columns)?;
    if !scan.padded {
        return Ok(Some(df)); // Polars reads an empty unquoted field as null already
    }
    let text: Vec<Expr> = picked
        .iter()
        .map(|(_, name)| {
            let t = col(name.clone()).cast(DataType::String).str().strip_chars(lit(NULL));
            when(t.clone().str().len_bytes().eq(lit(0u32))).then(lit(NULL).cast(DataType::String)).otherwise(t).alias(name.clone())
        })
        .collect();
    Ok(Some(df.lazy().with_columns(text).collect()?))
}

/// The fast path of `read_csv_raw`: a well-formed UTF-8 file (see
/// `scan_csv`) read by Polars and typed piece by piece. None when the file must go
/// record by record (not UTF-8, ragged, blank lines, a one-column header
/// that may hold another separator, or Polars disagreeing on the records).
#[allow(clippy::too_many_arguments)]
fn read_csv_polars(
    path: &Path,
    spec: &'static TableSpec,
    file_name: &str,
    config: &Config,
    digest: &mut Option<(Option<String>, u64)>,
    supplied: &mut Vec<&'static str>,
    ignored: &mut Vec<IgnoredColumn>,
    ahead: &ScanAhead,
) -> Result<Option<FileRead>> {
    if !fast_csv_allowed(config) {
        return Ok(None);
    }
    let delimiter = config.csv.byte();
    let t0 = std::time::Instant::now();
    let scan = match ahead.take(path) {
        Some(scan) => scan?,
        None => scan_csv(path, delimiter, ahead.hashes)?,
    };
    let t1 = t0.elapsed().as_secs_f64();
    if !scan.polars_reads() {
        return Ok(None);
    }
    let mut findings = Vec::new();
    let mut unknown = Vec::new();
    let records = scan.records as u64;
    let Some(mapping) = match_headers(&scan.headers, spec, file_name, &mut findings, &mut unknown) else {
        ignored.append(&mut unknown);
        *digest = Some((scan.sha256, scan.bytes));
        return Ok(Some((None, records, findings)));
    };
    let picked: Vec<(usize, PlSmallStr)> = mapping.iter().enumerate().filter_map(|(i, m)| m.map(|name| (i, PlSmallStr::from_static(name)))).collect();
    crate::ids::reserve_keys(spec.name, scan.records);
    // piece by piece, so only one piece's text is in memory beside the typed rows
    let (mut typed, mut row_findings) = (Vec::new(), Vec::new());
    let Some(bytes) = FileBytes::map(path)? else { return Ok(None) };
    let mut parsing = 0.0;
    // the next piece is read while this one is typed: both hand their work to Polars'
    // threads, so a core one leaves idle the other uses
    let read_all = std::thread::scope(|s| -> Result<bool> {
        let (sender, pieces) = std::sync::mpsc::sync_channel::<Result<Option<(DataFrame, f64)>>>(1);
        let (scan, picked, bytes) = (&scan, &picked, &bytes);
        s.spawn(move || {
            // a piece a core at once, each on one of Polars' threads (`read_csv_piece`, `sync::on_cores`)
            let cores = crate::sync::cores();
            let pieces = scan.piece_list(cores);
            for group in pieces.chunks(cores) {
                let clock = std::time::Instant::now();
                let jobs = group.iter().map(|&(first, records, range)| move || read_csv_piece(scan, (first, records), range, delimiter, picked, bytes));
                let read = crate::sync::on_cores(jobs);
                let seconds = clock.elapsed().as_secs_f64() / group.len() as f64;
                for (piece, (_, _, range)) in read.into_iter().zip(group) {
                    bytes.done_with(*range);
                    let piece = piece.map(|p| p.map(|df| (df, seconds)));
                    let stop = !matches!(piece, Ok(Some(_)));
                    // the typing side stops taking pieces on an error
                    if sender.send(piece).is_err() || stop {
                        return;
                    }
                }
            }
        });
        for piece in pieces {
            let Some((text, seconds)) = piece? else { return Ok(false) };
            parsing += seconds;
            let (t, f) = crate::typing::type_chunk(contract_frame(text, spec)?, spec, config)?;
            typed.push(t);
            row_findings.push(f);
            crate::progress::hand_back();
        }
        Ok(true)
    })?;
    if !read_all {
        return Ok(None);
    }
    ignored.append(&mut unknown);
    supplied.extend(mapping.iter().flatten().copied());
    *digest = Some((scan.sha256, scan.bytes));
    if crate::progress::timings() {
        let typing = t0.elapsed().as_secs_f64() - t1 - parsing;
        crate::tell!("    {file_name}: scan {t1:.2}s, read {parsing:.2}s, type {typing:.2}s, peak {}", crate::progress::peak_since());
    }
    Ok(Some((Some((concat_frames(typed)?, concat_frames(row_findings)?)), records, findings)))
}

/// Whether CSV input may take Polars' reader (`SALESRELAY_CSV_PATH=exact`
/// forces the record-by-record path, which the tests compare it with), and
/// the configured encoding is UTF-8 or found out.
fn fast_csv_allowed(config: &Config) -> bool {
    let encoding = config.encoding.to_ascii_lowercase();
    std::env::var("SALESRELAY_CSV_PATH").map_or(true, |v| v != "exact") && (encoding == "auto" || encoding == "utf-8")
}

/// Reads a contract table's CSV file: by Polars where `read_csv_polars`
/// can, else record by record, typing chunk by chunk.
#[allow(clippy::too_many_arguments)]
fn read_csv_raw(
    path: &Path,
    spec: &'static TableSpec,
    file_name: &str,
    config: &Config,
    digest: &mut Option<(Option<String>, u64)>,
    supplied: &mut Vec<&'static str>,
    ignored: &mut Vec<IgnoredColumn>,
    notes: &mut Vec<String>,
    ahead: &ScanAhead,
) -> ReadResult {
    if let Some(read) = read_csv_polars(path, spec, file_name, config, digest, supplied, ignored, ahead)? {
        return Ok(read);
    }
    let mut pick = |headers: &[String], findings: &mut Vec<Finding>| {
        let mapping = match_headers(headers, spec, file_name, findings, ignored)?;
        supplied.extend(mapping.iter().flatten().copied());
        Some(mapping.into_iter().map(|m| m.map(str::to_string)).collect())
    };
    // typed chunks and their findings: raw text is held for one chunk at a time
    let mut typed: Vec<DataFrame> = Vec::new();
    let mut chunk_findings: Vec<DataFrame> = Vec::new();
    let mut on_chunk = |chunk: DataFrame| -> Result<()> {
        let (t, f) = crate::typing::type_chunk(contract_frame(chunk, spec)?, spec, config)?;
        typed.push(t);
        chunk_findings.push(f);
        Ok(())
    };
    let read = read_csv_chunks(path, spec.name, file_name, config, &mut pick, &mut on_chunk)?;
    notes.extend(read.note.clone());
    if !read.usable {
        return Ok((None, read.records, read.findings));
    }
    *digest = read.digest;
    Ok((Some((concat_frames(typed)?, concat_frames(chunk_findings)?)), read.records, read.findings))
}

/// Reads a mapping's source file whole, every column as text under its
/// header (trimmed), with `_row`. Headers that collapse to one name are
/// a fatal finding labelled `table`. A well-formed UTF-8 file is read by
/// Polars' parser as the contract's own files are (`read_source_polars`),
/// anything else record by record.
pub fn read_source_csv(path: &Path, table: &str, config: &Config, hashes: Hashes) -> Result<(Option<DataFrame>, CsvSummary)> {
    let file_name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    if let Some(read) = read_source_polars(path, table, &file_name, config, hashes)? {
        return Ok(read);
    }
    let mut pick = |headers: &[String], findings: &mut Vec<Finding>| source_columns(headers, table, &file_name, findings);
    let mut chunks = Vec::new();
    let mut on_chunk = |chunk: DataFrame| -> Result<()> {
        chunks.push(chunk);
        Ok(())
    };
    let read = read_csv_chunks(path, table, &file_name, config, &mut pick, &mut on_chunk)?;
    let (sha256, bytes) = match read.digest {
        Some(d) => d,
        None => file_digest(path, hashes)?,
    };
    let summary = CsvSummary { records: read.records, findings: read.findings, sha256, bytes, note: read.note };
    Ok((read.usable.then(|| concat_frames(chunks)).transpose()?, summary))
}

/// The columns of a mapping's source file kept, by header position, under
/// their headers (None: a header without a name, dropped); None when two
/// headers name the same column (a fatal finding each, labelled `table`).
fn source_columns(headers: &[String], table: &str, file_name: &str, findings: &mut Vec<Finding>) -> Option<Vec<Option<String>>> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    let mut ok = true;
    let mut names = Vec::new();
    for h in headers {
        let n = normalize_name(h);
        if n.is_empty() {
            names.push(None);
            continue;
        }
        if let Some(first) = seen.insert(n, h) {
            ok = false;
            findings.push(
                Finding::fatal(table, Some(h.clone()), "duplicate_column", format!("{file_name}: headers {first:?} and {h:?} name the same column (names match ignoring case and _)"))
                    .in_file(file_name),
            );
        }
        names.push(Some(h.clone()));
    }
    ok.then_some(names)
}

/// The fast path of `read_source_csv`: a well-formed UTF-8 file (see
/// `scan_csv`) read by Polars' parser, a piece a core at once
/// (`read_csv_piece`), `_row` from the scan's line count. None when the
/// file must go record by record (as `read_csv_polars`). A CRM export of a
/// million records was read record by record through the `csv` crate
/// before, several times slower per record than the contract's own files.
fn read_source_polars(path: &Path, table: &str, file_name: &str, config: &Config, hashes: Hashes) -> Result<Option<(Option<DataFrame>, CsvSummary)>> {
    if !fast_csv_allowed(config) {
        return Ok(None);
    }
    let delimiter = config.csv.byte();
    let scan = scan_csv(path, delimiter, hashes)?;
    if !scan.polars_reads() {
        return Ok(None);
    }
    let clock = std::time::Instant::now();
    let mut findings = Vec::new();
    let columns = source_columns(&scan.headers, table, file_name, &mut findings);
    // (an unusable file's records are not read, and not counted, as on the record-by-record path)
    let summary = |records, findings| CsvSummary { records, findings, sha256: scan.sha256.clone(), bytes: scan.bytes, note: None };
    let Some(columns) = columns else { return Ok(Some((None, summary(0, findings)))) };
    let picked: Vec<(usize, PlSmallStr)> = columns.into_iter().enumerate().filter_map(|(i, name)| name.map(|n| (i, PlSmallStr::from_string(n)))).collect();
    let Some(bytes) = FileBytes::map(path)? else { return Ok(None) };
    let pieces = scan.piece_list(crate::sync::cores());
    let (scan_ref, picked, file) = (&scan, &picked, &bytes);
    let jobs = pieces.iter().map(|&(first, records, range)| {
        move || {
            let read = read_csv_piece(scan_ref, (first, records), range, delimiter, picked, file);
            file.done_with(range);
            read
        }
    });
    let mut frames = Vec::with_capacity(pieces.len());
    for piece in crate::sync::on_cores(jobs) {
        let Some(df) = piece? else { return Ok(None) };
        frames.push(df);
    }
    let mut df = concat_frames(frames)?;
    // `_row` as the record-by-record path gives it
    df.with_column(df.column(ROW)?.cast(&DataType::Int64)?)?;
    if crate::progress::timings() {
        crate::tell!("    {file_name}: read by Polars' parser in {:.2}s, peak {}", clock.elapsed().as_secs_f64(), crate::progress::peak_since());
    }
    Ok(Some((Some(df), summary(scan.records as u64, findings))))
}

/// A source file's record count, findings and hash.
#[derive(Debug, Clone)]
pub struct CsvSummary {
    pub records: u64,
    pub findings: Vec<Finding>,
    /// How the file was decoded, when it is worth saying.
    pub note: Option<String>,
    /// None where not asked for (`Hashes::Skipped`).
    pub sha256: Option<String>,
    pub bytes: u64,
}

/// Every contract column in contract order (null where the chunk lacks
/// one) after `_row`.
pub fn contract_frame(chunk: DataFrame, spec: &TableSpec) -> Result<DataFrame> {
    let height = chunk.height();
    let mut columns: Vec<Column> = Vec::with_capacity(spec.columns.len() + 1);
    columns.push(chunk.column(ROW)?.clone());
    for c in spec.columns {
        columns.push(match chunk.column(c.name) {
            Ok(col) => col.clone(),
            Err(_) => Column::full_null(c.name.into(), height, &DataType::String),
        });
    }
    Ok(DataFrame::new(height, columns)?)
}

/// Records typed together: large enough for Polars to work in bulk, small
/// enough that a file's raw text is never all in memory at once. A piece's
/// text and its typing's working set are the load's peak above the tables
/// read so far: at scale 1000, pieces of 2^20 records peaked at a live heap
/// of 3.14 GiB, of 2^18 at 2.90 GiB, in the same time (user CPU of
/// load+validate 21.1-21.4 s for 2^20, 2^19 and 2^18, two rounds each).
/// `SALESRELAY_CHUNK_ROWS` overrides it (the tests use tiny chunks).
fn chunk_rows() -> usize {
    std::env::var("SALESRELAY_CHUNK_ROWS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(1 << 18)
}

/// The records between the offsets the scan keeps (`CsvScan::pieces`),
/// which a piece starts and ends on: 2^14, or `chunk_rows()` where that is
/// not a multiple of it (the tests' tiny chunks).
fn step_rows() -> usize {
    const STEP: usize = 1 << 14;
    let most = chunk_rows();
    if most.is_multiple_of(STEP) { STEP } else { most }
}

/// The frames one after another. Each stays a chunk of its own: copying
/// them into one (a rechunk) cost a second copy of the largest table at
/// its peak, and Polars works on chunked columns as they are.
fn concat_frames(frames: Vec<DataFrame>) -> Result<DataFrame> {
    let mut iter = frames.into_iter();
    let Some(mut first) = iter.next() else { return Ok(DataFrame::empty()) };
    for f in iter {
        first.vstack_mut(&f)?;
    }
    Ok(first)
}

/// Reads a Parquet file; columns keep their stored types and `_row` counts records from 1.
fn read_parquet_raw(
    path: &Path,
    spec: &'static TableSpec,
    file_name: &str,
    config: &Config,
    supplied: &mut Vec<&'static str>,
    ignored: &mut Vec<IgnoredColumn>,
) -> ReadResult {
    let mut findings = Vec::new();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let df = match ParquetReader::new(file).finish() {
        Ok(df) => df,
        Err(e) => {
            findings.push(Finding::fatal(spec.name, None, "malformed_parquet", format!("{file_name}: {e}")).in_file(file_name));
            return Ok((None, 0, findings));
        }
    };
    let headers: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).collect();
    let Some(mapping) = match_headers(&headers, spec, file_name, &mut findings, ignored) else {
        return Ok((None, df.height() as u64, findings));
    };
    supplied.extend(mapping.iter().flatten().copied());
    let height = df.height();
    let mut columns: Vec<Column> = Vec::with_capacity(spec.columns.len() + 1);
    columns.push(Column::new(ROW.into(), (1..=height as i64).collect::<Vec<i64>>()));
    for c in spec.columns {
        let source = mapping.iter().position(|m| *m == Some(c.name));
        let column = match source {
            Some(i) => df.columns()[i].clone().with_name(c.name.into()),
            None => Column::full_null(c.name.into(), height, &DataType::String),
        };
        columns.push(column);
    }
    crate::ids::reserve_keys(spec.name, height);
    let (typed, row_findings) = crate::typing::type_chunk(DataFrame::new(height, columns)?, spec, config)?;
    Ok((Some((typed, row_findings)), height as u64, findings))
}

/// Where each CSV record starts, as a line number of the file. The csv
/// crate's own positions count a skipped blank line or the LF of a CRLF as
/// the next record's start, so this reader follows the same quoting rules
/// as the bytes pass through and queues the line of each record's first
/// byte (blank lines are skipped, as the csv crate skips them).
struct LineTracker<R> {
    inner: R,
    starts: Rc<RefCell<VecDeque<u64>>>,
    line: u64,
    state: QuoteState,
    in_record: bool,
    delimiter: u8,
    /// Whether the byte before was a carriage return (of a CRLF, or one on its own)
    after_cr: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl<R: Read> LineTracker<R> {
    fn new(inner: R, starts: Rc<RefCell<VecDeque<u64>>>, delimiter: u8) -> Self {
        LineTracker { inner, starts, line: 1, state: QuoteState::FieldStart, in_record: false, delimiter, after_cr: false }
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if !self.in_record && b != b'\n' && b != b'\r' {
                self.in_record = true;
                self.starts.borrow_mut().push_back(self.line);
            }
            use QuoteState::*;
            self.state = match (self.state, b) {
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (FieldStart, b'"') => Quoted,
                (QuoteInQuoted, b'"') => Quoted,
                (_, d) if d == self.delimiter => FieldStart,
                (_, b'\n' | b'\r') => FieldStart,
                _ => Unquoted,
            };
            // a line ends at LF, CRLF or a CR on its own (as the csv crate ends a record, and
            // as an old Mac's export and every editor end a line): counted once for a CRLF
            let ends_line = b == b'\r' || (b == b'\n' && !self.after_cr);
            self.after_cr = b == b'\r';
            if ends_line {
                self.line += 1;
                if self.state != Quoted {
                    self.in_record = false;
                }
            }
        }
        Ok(n)
    }
}

/// Reads every CSV of `dir` with Polars' multi-threaded reader, every column
/// as text, no checks: the parse floor of the benchmark. Returns the rows
/// read and the seconds it took.
pub fn parse_floor(dir: &Path) -> Result<(usize, f64)> {
    let started = std::time::Instant::now();
    let mut rows = 0;
    for files in input_files(dir)?.into_values() {
        for path in files.iter().filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))) {
            let df = CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .try_into_reader_with_file_path(Some(path.clone()))?
                .finish()?;
            rows += df.height();
        }
    }
    Ok((rows, started.elapsed().as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file whose text puts a three-byte character across the 1 MiB
    /// boundary between two blocks of the scan: still UTF-8 and well formed,
    /// every byte handed on once and in order (so hashed once), the records
    /// counted.
    #[test]
    fn a_character_across_two_blocks_is_read_whole_and_hashed_once() {
        let mut text = b"id,name\n".to_vec();
        let mut rows = 0;
        // rows of ASCII up to a few bytes before the boundary
        while text.len() < (1 << 20) - 40 {
            text.extend_from_slice(format!("{rows},name {rows}\n").as_bytes());
            rows += 1;
        }
        // pad so that the row's "製" (3 bytes) starts one byte before the boundary
        let prefix = format!("{rows},");
        let pad = (1 << 20) - 1 - text.len() - prefix.len();
        text.extend_from_slice(format!("{prefix}{}製造\n", "x".repeat(pad)).as_bytes());
        assert_eq!(&text[(1 << 20) - 1..(1 << 20) + 2], "製".as_bytes(), "the character straddles the boundary");
        rows += 1;
        for _ in 0..10 {
            text.extend_from_slice(format!("{rows},名前\n").as_bytes());
            rows += 1;
        }
        let mut handed = Vec::new();
        let mut ends = Vec::new();
        let scan = scan_bytes(&text, b',', |block, end| {
            handed.extend_from_slice(block);
            ends.push(end);
        });
        assert_eq!(scan.slow, None);
        assert_eq!(scan.records, rows);
        assert_eq!(scan.bytes, text.len() as u64);
        assert_eq!(handed, text, "each byte handed on once, in order");
        // the first block stops before the split character, the next one starts with it
        assert_eq!(ends[0], (1 << 20) - 1);
        assert_eq!(*ends.last().unwrap(), text.len() as u64);
    }

    /// The pieces split a file of fewer than `cores` times `chunk_rows()`
    /// records between the cores, on whole steps of the scan, and together
    /// cover every record once: each piece's bytes hold its records.
    #[test]
    fn a_small_file_is_read_in_a_piece_a_core() {
        let mut text = b"id,name\n".to_vec();
        let rows = 40_000;
        for i in 0..rows {
            text.extend_from_slice(format!("{i},n{}\n", i % 7).as_bytes());
        }
        let scan = scan_bytes(&text, b',', |_, _| {});
        assert_eq!(scan.records, rows);
        for (cores, sizes) in [(1, vec![40_000]), (2, vec![32_768, 7_232]), (3, vec![16_384, 16_384, 7_232])] {
            let pieces = scan.piece_list(cores);
            assert_eq!(pieces.iter().map(|p| p.1).collect::<Vec<_>>(), sizes, "{cores} core(s)");
            let (mut first, mut at) = (0, "id,name\n".len() as u64);
            for (start, records, (from, to)) in pieces {
                assert_eq!((start, from), (first, at), "{cores} core(s): the pieces follow one another");
                let bytes = &text[from as usize..to as usize];
                assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), records);
                assert!(bytes.starts_with(format!("{start},").as_bytes()));
                (first, at) = (start + records, to);
            }
            assert_eq!((first, at), (rows, text.len() as u64), "{cores} core(s): every record read");
        }
    }

    /// A file its file system cannot map (a device here, as some network and
    /// FUSE mounts answer) is sent record by record, not failed; a file that
    /// cannot be opened is still an error naming it.
    #[test]
    fn a_file_that_cannot_be_mapped_takes_the_record_path() {
        let scan = scan_csv(Path::new("/dev/null"), b',', Hashes::Taken).unwrap();
        assert_eq!(scan.slow, Some("a file that cannot be mapped into memory"));
        let Err(missing) = scan_csv(Path::new("/nonexistent/accounts.csv"), b',', Hashes::Taken) else { panic!("a file that is not there read") };
        assert!(missing.to_string().contains("/nonexistent/accounts.csv"), "{missing}");
    }

    /// A byte that is not UTF-8 sends the file record by record, and the
    /// bytes are still all handed on (the manifest hashes what it read).
    #[test]
    fn bytes_that_are_not_utf8_take_the_record_path_and_are_still_hashed() {
        let text = b"id,name\n1,\x82\xa0\n2,b\n".to_vec();
        let mut handed = Vec::new();
        let scan = scan_bytes(&text, b',', |block, _| handed.extend_from_slice(block));
        assert_eq!(scan.slow, Some("not UTF-8"));
        assert_eq!(handed, text);
    }
}
