//! Writing: Parquet with column descriptions in the key-value metadata, the
//! manifest, and the report folder that appears whole or not at all.

use std::fs::File;
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

/// Writes `df` to `path` as Parquet (zstd) with the doc in the key-value
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
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Zstd(None))
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(kv)))
        .finish(df)?;
    Ok(())
}

/// The schema of a frame as `(column, dtype)` text pairs.
pub fn schema_of(df: &DataFrame) -> Vec<(String, String)> {
    df.schema().iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
}

/// A report folder being written: files go to a hidden temporary folder
/// beside the target, which replaces the target only on `commit`.
pub struct ReportDir {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl ReportDir {
    /// Starts `parent/name`, writing into `parent/.name.tmp-<pid>`.
    pub fn create(parent: &Path, name: &str) -> Result<ReportDir> {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let target = parent.join(name);
        let temp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if temp.exists() {
            std::fs::remove_dir_all(&temp).map_err(|e| Error::io(&temp, e))?;
        }
        std::fs::create_dir_all(temp.join("tables")).map_err(|e| Error::io(&temp, e))?;
        Ok(ReportDir { target, temp, committed: false })
    }

    /// Where files go while the report is written.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Where the report will be once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Replaces the target with the finished folder: the old report is
    /// renamed aside, the new one renamed in, then the old one removed.
    pub fn commit(mut self) -> Result<PathBuf> {
        let old = self.target.with_file_name(format!(
            ".{}.old-{}",
            self.target.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
            std::process::id()
        ));
        if self.target.exists() {
            std::fs::rename(&self.target, &old).map_err(|e| Error::io(&self.target, e))?;
        }
        if let Err(e) = std::fs::rename(&self.temp, &self.target) {
            // put the previous report back before failing
            let _ = std::fs::rename(&old, &self.target);
            return Err(Error::io(&self.target, e));
        }
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for ReportDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
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
         in their key-value metadata (`salesrelay.columns`). Units are read from the column names and types.\n",
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
            out.push_str(&format!("| {column} | {dtype} | {} | {} | {metric} |\n", unit_of(column, dtype), desc.replace('|', "\\|")));
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
