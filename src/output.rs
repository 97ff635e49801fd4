//! Writing: Parquet with column descriptions in the key-value metadata, the
//! manifest, and the report folder that appears whole or not at all.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};

/// Version of the output tables' schemas; bumped when a column changes.
pub const SCHEMA_VERSION: &str = "1";

/// An output table's documentation: what it holds and what each column means.
#[derive(Debug, Clone, Copy)]
pub struct TableDoc {
    pub name: &'static str,
    pub description: &'static str,
    /// `(column, description)` in output order.
    pub columns: &'static [(&'static str, &'static str)],
}

/// An output table's documentation as written into its metadata (built-in
/// tables convert from their `TableDoc`; query tables read it from the
/// query's header).
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub name: String,
    pub description: String,
    pub columns: Vec<(String, String)>,
}

impl From<&TableDoc> for Doc {
    fn from(d: &TableDoc) -> Doc {
        Doc {
            name: d.name.to_string(),
            description: d.description.to_string(),
            columns: d.columns.iter().map(|(c, t)| (c.to_string(), t.to_string())).collect(),
        }
    }
}

impl From<TableDoc> for Doc {
    fn from(d: TableDoc) -> Doc {
        Doc::from(&d)
    }
}

/// One written file, for the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub path: String,
    pub rows: usize,
    pub schema: Vec<(String, String)>,
}

/// Writes `df` to `path` as Parquet (zstd level 1) with the doc in the key-value
/// metadata: `salesrelay.schema_version`, `salesrelay.table`,
/// `salesrelay.description` and `salesrelay.columns` (JSON object).
pub fn write_parquet(df: &mut DataFrame, path: &Path, doc: &Doc) -> Result<()> {
    let columns: serde_json::Map<String, serde_json::Value> = doc
        .columns
        .iter()
        .map(|(c, d)| (c.to_string(), serde_json::Value::String(d.to_string())))
        .collect();
    let kv = vec![
        ("salesrelay.schema_version".to_string(), SCHEMA_VERSION.to_string()),
        ("salesrelay.table".to_string(), doc.name.clone()),
        ("salesrelay.description".to_string(), doc.description.clone()),
        ("salesrelay.columns".to_string(), serde_json::Value::Object(columns).to_string()),
    ];
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    // buffered: the writer hands the file's metadata over a few bytes at a
    // time (a run on sample_data made 78k write calls unbuffered)
    let mut out = BufWriter::with_capacity(1 << 16, file);
    // level 1, not zstd's default 3: the seven largest tables at scale 1000
    // (5.2M rows) encode in 2.99 s instead of 3.88 s on one core, 5% larger
    // (155 MiB against 148); every reader reads any level
    let level = polars_parquet::write::ZstdLevel::try_new(1).ok();
    ParquetWriter::new(&mut out)
        .with_compression(ParquetCompression::Zstd(level))
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(kv)))
        .finish(df)?;
    out.flush().map_err(|e| Error::io(path, e))?;
    Ok(())
}

/// The schema of a frame as `(column, dtype)` text pairs.
pub fn schema_of(df: &DataFrame) -> Vec<(String, String)> {
    df.schema().iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
}

/// A report folder being written. Files go to a hidden temporary folder
/// beside the target, `.<name>.tmp-<pid>`, which takes the target's name
/// only on `commit`, so a failed or killed run never leaves a half-written
/// folder under the report's name. While it lives, the run holds an OS lock
/// on `.<name>.tmp-<pid>.lock` (released by the OS even on SIGKILL), which
/// tells a later run which leftovers belong to a dead run (see
/// `clean_leftovers`).
pub struct ReportDir {
    target: PathBuf,
    temp: PathBuf,
    previous: PathBuf,
    lock_path: PathBuf,
    lock: Option<File>,
    committed: bool,
}

/// A committed report: where it is and the files the user had added to
/// the report it replaced, carried over (see `ReportDir::commit`).
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    pub folder: PathBuf,
    pub kept: Vec<Kept>,
}

/// A file the user added to the previous report, kept in the new one.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    /// Its path in the report folder (`/`-separated).
    pub path: String,
    /// Where it went when the new report writes a file of that name
    /// (`path.kept`); None when it kept its path.
    pub renamed: Option<String>,
}

/// The hidden names beside report `name`: its temporary folder and lock
/// file, and the replaced report while the new one is renamed in.
fn side_name(name: &str, kind: &str, pid: u32) -> String {
    match kind {
        "lock" => format!(".{name}.tmp-{pid}.lock"),
        _ => format!(".{name}.{kind}-{pid}"),
    }
}

impl ReportDir {
    /// Starts `parent/name`, writing into `parent/.name.tmp-<pid>`, after
    /// cleaning what dead runs left beside it.
    pub fn create(parent: &Path, name: &str) -> Result<ReportDir> {
        if parent.exists() && !parent.is_dir() {
            return Err(Error::Input(format!("--out {} is a file, not a folder: give the folder the report goes in", parent.display())));
        }
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        // a file of the report's name is the user's: nothing replaces it (checked before the tables are computed)
        let target = parent.join(name);
        if target.symlink_metadata().is_ok() && !target.is_dir() {
            return Err(Error::Input(format!(
                "{} is a file, not a report folder: move it, or give another --out, so the report can take its name",
                target.display()
            )));
        }
        let pid = std::process::id();
        let lock_path = parent.join(side_name(name, "lock", pid));
        let lock = File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
        // best effort: where the file system has no locks, only a concurrent
        // run writing the same report could take this one for dead
        let _ = lock.lock();
        clean_leftovers(parent, name, pid);
        let temp = parent.join(side_name(name, "tmp", pid));
        let dir = ReportDir {
            target: parent.join(name),
            previous: parent.join(side_name(name, "previous", pid)),
            temp,
            lock_path,
            lock: Some(lock),
            committed: false,
        };
        if dir.temp.exists() {
            std::fs::remove_dir_all(&dir.temp).map_err(|e| Error::io(&dir.temp, e))?;
        }
        std::fs::create_dir_all(dir.temp.join("tables")).map_err(|e| Error::io(&dir.temp, e))?;
        Ok(dir)
    }

    /// Where files go while the report is written.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Where the report will be once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Replaces the target with the finished folder. First the files the
    /// user added to the old report (any its manifest.json does not list)
    /// are linked (else copied) into the new one, so the old report stays
    /// whole until the swap; then the old report is renamed aside
    /// (`.<name>.previous-<pid>`), the new one renamed in, and the old one
    /// removed. A failure before the second rename leaves the old report as
    /// it was.
    pub fn commit(mut self) -> Result<Committed> {
        let kept = if self.target.is_dir() { carry_user_files(&self.target, &self.temp)? } else { Vec::new() };
        if self.target.exists() {
            std::fs::rename(&self.target, &self.previous).map_err(|e| Error::io(&self.target, e))?;
        }
        if let Err(e) = std::fs::rename(&self.temp, &self.target) {
            // put the previous report back before failing
            let _ = std::fs::rename(&self.previous, &self.target);
            return Err(Error::io(&self.target, e));
        }
        self.committed = true;
        if self.previous.exists() {
            std::fs::remove_dir_all(&self.previous).map_err(|e| Error::io(&self.previous, e))?;
        }
        Ok(Committed { folder: self.target.clone(), kept })
    }
}

impl Drop for ReportDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.temp);
        }
        // the lock goes last: while it is held, nobody takes our folders for leftovers
        drop(self.lock.take());
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

/// Removes what dead runs left beside report `name` in `parent`: their
/// temporary folders and lock files; a replaced report renamed aside is put
/// back when the run died before the new one took its name, else removed.
/// A run is dead when its lock file is gone or can be locked; the folders
/// of live runs (another `salesrelay run` writing the same report) are left
/// alone. Best effort: what cannot be removed stays for the next run.
fn clean_leftovers(parent: &Path, name: &str, own_pid: u32) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    let prefix = format!(".{name}.");
    let mut dead: Vec<(String, u32)> = Vec::new();
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else { continue };
        let rest = rest.strip_suffix(".lock").unwrap_or(rest);
        let Some((kind, pid)) = rest.split_once('-') else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if matches!(kind, "tmp" | "previous") && pid != own_pid && !dead.contains(&(kind.to_string(), pid)) && !is_alive(parent, name, pid) {
            dead.push((kind.to_string(), pid));
        }
    }
    let target = parent.join(name);
    for (kind, pid) in dead {
        let folder = parent.join(side_name(name, &kind, pid));
        if kind == "previous" && !target.exists() && folder.is_dir() {
            let _ = std::fs::rename(&folder, &target);
        } else {
            let _ = std::fs::remove_dir_all(&folder);
        }
        let _ = std::fs::remove_file(parent.join(side_name(name, "lock", pid)));
    }
}

/// Whether run `pid` writing report `name` still lives: it holds the lock
/// on its lock file from before its temporary folder exists until after it
/// is gone.
fn is_alive(parent: &Path, name: &str, pid: u32) -> bool {
    let Ok(file) = File::open(parent.join(side_name(name, "lock", pid))) else { return false };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// The files of an old report that the user added: every file under `old`
/// that its manifest.json does not list (outputs, files, the manifest
/// itself), as `/`-separated relative paths; every file when the folder
/// has no readable manifest (it was not written by salesrelay).
fn user_files(old: &Path) -> Result<Vec<String>> {
    let listed: Vec<String> = std::fs::read_to_string(old.join("manifest.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .map(|m| {
            let outputs = m["outputs"].as_array().into_iter().flatten().filter_map(|o| o["path"].as_str());
            let files = m["files"].as_array().into_iter().flatten().filter_map(|f| f.as_str());
            outputs.chain(files).chain(["manifest.json"]).map(str::to_string).collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    walk(old, "", &mut found)?;
    Ok(found.into_iter().filter(|f| !listed.contains(f)).collect())
}

/// Every file (and empty folder, with a trailing `/`) under `dir`, relative
/// to the walk's root; symbolic links are entries, never followed.
fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<()> {
    let mut entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    if entries.is_empty() && !rel.is_empty() {
        out.push(format!("{rel}/"));
    }
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        let kind = std::fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?.file_type();
        if kind.is_dir() {
            walk(&path, &rel, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// A second name for file `from` (a hard link, so nothing is copied and
/// the old report stays whole), else a copy; a symbolic link is recreated.
fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if from.symlink_metadata()?.file_type().is_symlink() {
        return std::os::unix::fs::symlink(std::fs::read_link(from)?, to);
    }
    std::fs::hard_link(from, to).or_else(|_| std::fs::copy(from, to).map(|_| ()))
}

/// Links (else copies) the user's files of report `old` into the new
/// report `new` at the same paths; a file whose path the new report writes
/// too goes to `<path>.kept` (`.kept-2`, ... when that is taken). Returns
/// what was kept, empty folders not counted.
fn carry_user_files(old: &Path, new: &Path) -> Result<Vec<Kept>> {
    let mut kept = Vec::new();
    for rel in user_files(old)? {
        if let Some(folder) = rel.strip_suffix('/') {
            let to = new.join(folder);
            std::fs::create_dir_all(&to).map_err(|e| Error::io(&to, e))?;
            continue;
        }
        let mut dest = rel.clone();
        let mut n = 1;
        while new.join(&dest).symlink_metadata().is_ok() {
            dest = if n == 1 { format!("{rel}.kept") } else { format!("{rel}.kept-{n}") };
            n += 1;
        }
        let (from, to) = (old.join(&rel), new.join(&dest));
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        link_or_copy(&from, &to).map_err(|e| Error::io(&from, e))?;
        kept.push(Kept { renamed: (dest != rel).then_some(dest), path: rel });
    }
    Ok(kept)
}

/// The unit of an output column, read from its name and type (the data
/// dictionary's unit column).
pub fn unit_of(column: &str, dtype: &DataType) -> &'static str {
    let c = column;
    match dtype {
        DataType::Datetime(_, _) => return "UTC timestamp",
        DataType::Date => return "local date",
        DataType::Boolean => return "flag",
        DataType::String => return "text",
        _ => {}
    }
    if c == "gap_pt" || c.ends_with("_pt") {
        "percentage points"
    } else if c == "latitude" || c == "longitude" {
        "degrees (WGS84)"
    } else if c.contains("km") {
        "km"
    } else if c.contains("seconds") {
        "seconds"
    } else if c.ends_with("_h") {
        "hours"
    } else if c.contains("days") {
        "days"
    } else if c == "lift" {
        "ratio to the base rate"
    } else if c.ends_with("_rate") || c.ends_with("_share") || c.contains("rate_") || c.contains("yield") || c == "share"
        || c == "conversion" || c == "sheet_completeness" || c.starts_with("sql_to_win") || c.starts_with("lead_to_win")
        || c.ends_with("_completeness")
    {
        "ratio (0-1)"
    } else if c.contains("amount") || c.contains("revenue") || c.contains("deal_size") || c.contains("pipeline") {
        "currency"
    } else if c == "value" || c == "prior_value" || c == "change" || c == "contribution" {
        "the row's unit"
    } else if dtype.is_integer() {
        "count"
    } else {
        "number"
    }
}

/// The data dictionary (Markdown) of written tables: every table and column
/// with its description, type, unit and the kpi_tree node it is, built
/// from the same docs the Parquet metadata carries; `nodes` are (name,
/// parent, kind, unit, definition) in tree order.
pub fn data_dictionary(tables: &[(Doc, Schema)], nodes: &[(&str, Option<&str>, &str, &str, &str)]) -> String {
    let metrics: Vec<&str> = nodes.iter().map(|n| n.0).collect();
    let mut out = String::from(
        "# salesrelay data dictionary\n\nGenerated with the report from the same descriptions the Parquet files carry \
         in their key-value metadata (`salesrelay.columns`). A column that is a kpi_tree node has the node's unit; other units are read from the column names and types.\n",
    );
    out.push_str(
        "\n## kpi_tree nodes\n\nThe `node` values of kpi_tree in tree order, with their definitions (`salesrelay metrics` prints the same, with the identities and the attribution rule).\n\n| node | parent | node_kind | unit | definition |\n|---|---|---|---|---|\n",
    );
    for (name, parent, kind, unit, definition) in nodes {
        out.push_str(&format!("| {name} | {} | {kind} | {unit} | {} |\n", parent.unwrap_or(""), definition.replace('|', "\\|")));
    }
    for (doc, schema) in tables {
        out.push_str(&format!("\n## {}\n\n{}\n\n| column | type | unit | description | metric |\n|---|---|---|---|---|\n", doc.name, doc.description));
        for (column, dtype) in schema.iter() {
            let desc = doc.columns.iter().find(|(c, _)| c == column.as_str()).map(|(_, d)| d.as_str()).unwrap_or("");
            let metric = if metrics.contains(&column.as_str()) { format!("kpi_tree node {column}") } else { String::new() };
            // a column that is a kpi_tree node has the node's unit; others are read from name and type
            let unit = match nodes.iter().find(|n| n.0 == column.as_str()).filter(|_| dtype.is_primitive_numeric()) {
                Some((_, _, _, "ratio", _)) => "ratio (0-1)",
                Some((_, _, _, unit, _)) => unit,
                None => unit_of(column, dtype),
            };
            out.push_str(&format!("| {column} | {dtype} | {unit} | {} | {metric} |\n", desc.replace('|', "\\|")));
        }
    }
    out
}

/// A column of an output table as text, empty where null: what the charts,
/// the report and the run summary read.
pub fn text_column(df: &DataFrame, c: &str) -> Result<Vec<String>> {
    Ok(df.column(c)?.cast(&DataType::String)?.str()?.iter().map(|s| s.unwrap_or("").to_string()).collect())
}

/// A column as numbers (any numeric type; null stays None).
pub fn number_column(df: &DataFrame, c: &str) -> Result<Vec<Option<f64>>> {
    Ok(df.column(c)?.cast(&DataType::Float64)?.f64()?.iter().collect())
}
