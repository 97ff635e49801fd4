//! Mapping files: another CRM's export onto the contract's tables.
//!
//! A mapping (TOML) says, per contract table, which source file(s) feed it
//! and how each contract column is made from the source's columns: a
//! rename, an SQL expression (Polars SQL: CASE, COALESCE, LIKE, ||, ...),
//! a constant, date formats, a value map and a default. Lookups join
//! another file by key (Salesforce keeps the lead -> opportunity link on the
//! lead only), filters keep the rows that belong to the table, `distinct`
//! keeps the first row per key, `rows` adds literal rows. The result is
//! text columns shaped like a native CSV, typed and checked as one.
//!
//! Built-in mappings (src/mappings/*.toml) are compiled in and chosen by
//! name; a path to a file works the same way. Every mapping error names the
//! mapping key (`activities[1].columns.kind`) and the source column.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Deserialize;

use crate::config::Config;
use crate::contract::{normalize_name, TableSpec, ROW, TABLES};
use crate::error::{Error, Result};
use crate::load::{contract_frame, RawInput, RawTable, SourceFile, SOURCE_SHIFT};
use crate::findings::Finding;

/// The mappings compiled into the binary, by name.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("salesforce", include_str!("mappings/salesforce.toml")),
    ("olist", include_str!("mappings/olist.toml")),
    ("hubspot", include_str!("mappings/hubspot.toml")),
];

/// The mapping file's keys, in brief (`salesrelay mapping`).
const KEYS: &str = "\
A mapping file (TOML) reads another CRM's export onto the input contract
(salesrelay schema); pass it with --mapping FILE. Keys:

  description = \"...\"               what the mapping reads
  base_currency = { file, column, filter }   the export names its base currency
  [config]                          defaults for salesrelay.toml keys (salesrelay.toml wins)
  [unavailable]                     table, table.column or fact = \"why the export lacks it\"
  [notes]                           table = \"shown in the report's data-coverage notes\"
  [defaults] date_format = [...]    chrono formats for timestamps without their own
  [defaults] deleted = \"IsDeleted\"  rows where this flag is true are left out, and counted
  [defaults] ids = \"salesforce\"     ids in Salesforce's 15- or 18-character form match either
                                    way (a *_id column or lookup holding a 15-character id
                                    takes the 18-character form)
  [passthrough] opportunities = [\"Segment__c\"]   the export's own fields, as text,
                                    into every output table with an opportunity_id
  [[TABLE]]                         one per source file of a contract table (stacked):
    file = \"Deals\"                  Deals.csv or Deals.parquet (names match ignoring case and _)
    rows = [{ ... }]                literal rows instead of a file
    lookups = [{ as, file, key, on }]   join another file's first row where key = on
    filter = \"SQL predicate\"        only rows where it holds (the others are counted)
    distinct = true                 keep the first row per table key
    fallback = true                 read only when the earlier sources are all missing
    [TABLE.columns]                 per contract column, exactly one of:
      col = \"SourceColumn\"          a rename
      col = { column = \"C\" | expr = \"SQL\" | value = \"constant\",
              format = [...], map = { \"from\" = \"to\" }, others = \"...\", default = \"...\",
              optional = true }
    _row is each record's line in its file (for exports without ids).

Values no map names and values an expression leaves without a valid value
are counted and listed in the run summary and data_coverage.
";

/// `salesrelay mapping [NAME]`: a built-in mapping's text, to copy and
/// edit, or the list of built-ins and the mapping file's keys.
pub fn describe(name: Option<&str>) -> String {
    match name.and_then(|n| BUILT_IN.iter().find(|(b, _)| b.eq_ignore_ascii_case(n))) {
        Some((_, text)) => text.to_string(),
        None => {
            let mut out = String::from("Built-in mappings (salesrelay mapping NAME prints one to copy and edit):\n");
            for (n, text) in BUILT_IN {
                let description = Mapping::parse(text, n).map(|m| m.description).unwrap_or_default();
                out.push_str(&format!("  {n:<11} {description}\n"));
            }
            out.push('\n');
            out.push_str(KEYS);
            out
        }
    }
}

/// A parsed mapping file.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The built-in name or the file's path, for messages.
    pub name: String,
    pub description: String,
    /// Defaults for salesrelay.toml keys (the user's config wins).
    pub config: toml::Table,
    /// Facts the export lacks that no column shows, with the reason.
    pub unavailable: BTreeMap<String, String>,
    /// Notes for the report's data-coverage section, by table.
    pub notes: BTreeMap<String, String>,
    pub tables: BTreeMap<&'static str, Vec<Source>>,
    /// `[defaults] deleted`: a flag column (Salesforce's IsDeleted); rows
    /// where it is true are left out of every file that has it, and counted.
    pub deleted: Option<String>,
    /// `[passthrough] opportunities = [...]`: the export's own columns
    /// carried as text into every output table with an opportunity_id.
    pub passthrough: Vec<String>,
    /// `base_currency = { file, column, filter }`: the export names its
    /// base (corporate) currency (Salesforce's CurrencyType.IsCorporate).
    pub base_currency: Option<BaseCurrency>,
    /// `[defaults] ids = "salesforce"`: record ids come in Salesforce's
    /// 15- and 18-character forms (`salesforce_id_18`).
    pub salesforce_ids: bool,
}

/// Where the export names its base currency: the value of `column` in the
/// rows of `file` where `filter` holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseCurrency {
    pub file: String,
    pub column: String,
    pub filter: Option<String>,
}

/// One source of a contract table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Source file stem (`Task` reads Task.csv or Task.parquet; names match ignoring case and _).
    pub file: Option<String>,
    /// Literal rows instead of a file.
    pub rows: Option<Vec<BTreeMap<String, toml::Value>>>,
    #[serde(default)]
    pub lookups: Vec<Lookup>,
    /// SQL predicate: only rows where it holds belong to the table.
    pub filter: Option<String>,
    /// Keep the first row per table key (e.g. reps named on every deal).
    #[serde(default)]
    pub distinct: bool,
    /// Read only when every earlier source of the table is missing from
    /// the input (CurrencyType's static rates where there are no dated ones).
    #[serde(default)]
    pub fallback: bool,
    #[serde(default)]
    pub columns: BTreeMap<String, toml::Value>,
    /// `columns` as checked by `Mapping::parse`, by contract column.
    #[serde(skip)]
    rules: Vec<(&'static str, Rule)>,
}

/// Joins another file's row whose `key` equals this row's `on`; its
/// columns are then `as.Column`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    #[serde(rename = "as")]
    pub alias: String,
    pub file: String,
    pub key: String,
    pub on: String,
}

/// How one contract column is made.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    column: Option<String>,
    expr: Option<String>,
    value: Option<toml::Value>,
    format: Option<Formats>,
    #[serde(default)]
    map: BTreeMap<String, toml::Value>,
    others: Option<toml::Value>,
    default: Option<toml::Value>,
    /// `optional = true`: an export without `column` leaves the contract
    /// column unsupplied (not available) instead of being an error.
    #[serde(default)]
    optional: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Formats {
    One(String),
    Many(Vec<String>),
}

pub use crate::load::Applied;

fn mapping_error(name: &str, key: &str, msg: impl std::fmt::Display) -> Error {
    Error::Config(format!("mapping {name}: {key}: {msg}"))
}

/// A value as a map's keys are matched: surrounding whitespace trimmed,
/// lower-cased (what Polars' `strip_chars(NULL)` then `to_lowercase` give).
fn folded(value: &str) -> String {
    value.trim().to_lowercase()
}

/// Text column `e` through a rule's `map` and `others`: a value whose
/// `folded` text a key of the map folds to takes that key's value (the
/// first such key in the map's order); any other value takes `others`
/// where it is given (empty: null) and stays as it is where not; a null
/// stays null. One pass, each distinct value folded and looked up once
/// (`typing::each_distinct_or_null`): a chain of when/then over the folded
/// text lower-cased every row again for each key of the map (HubSpot's
/// industry map has 18 keys; lower-casing took 18% of the CPU of
/// `validate --mapping hubspot` at 20,000 copies).
fn mapped(e: Expr, map: &BTreeMap<String, toml::Value>, others: Option<&toml::Value>) -> Expr {
    let mut keys: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (from, to) in map {
        keys.entry(folded(from)).or_insert_with(|| value_text(to));
    }
    // None: a value the map does not name stays as it is; Some(None): it becomes null
    let others: Option<Option<String>> = others.map(value_text).map(|o| (!o.is_empty()).then_some(o));
    crate::typing::each_distinct_or_null(e, move |value| match (keys.get(&folded(value)), &others) {
        (Some(to), _) => Some(to.clone()),
        (None, Some(other)) => other.clone(),
        (None, None) => Some(value.to_string()),
    })
}

fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Mapping {
    /// A built-in mapping by name, or a mapping file by path.
    pub fn resolve(arg: &str) -> Result<Mapping> {
        let path = Path::new(arg);
        if path.is_file() {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            return Mapping::parse(&text, &path.display().to_string());
        }
        match BUILT_IN.iter().find(|(n, _)| n.eq_ignore_ascii_case(arg)) {
            Some((n, text)) => Mapping::parse(text, n),
            None => Err(Error::Config(format!(
                "--mapping {arg}: no such file, and not a built-in mapping ({})",
                BUILT_IN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// Parses a mapping; `name` labels its errors.
    pub fn parse(text: &str, name: &str) -> Result<Mapping> {
        let mut doc: toml::Table = text.parse().map_err(|e: toml::de::Error| mapping_error(name, "TOML", e.message()))?;
        let take_str = |doc: &mut toml::Table, key: &str| -> Result<Option<String>> {
            match doc.remove(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(mapping_error(name, key, "expected a string")),
            }
        };
        let description = take_str(&mut doc, "description")?.unwrap_or_default();
        let config = match doc.remove("config") {
            None => toml::Table::new(),
            Some(toml::Value::Table(t)) => t,
            Some(_) => return Err(mapping_error(name, "config", "expected a table of salesrelay.toml keys")),
        };
        let mut string_table = |key: &str| -> Result<BTreeMap<String, String>> {
            match doc.remove(key) {
                None => Ok(BTreeMap::new()),
                Some(toml::Value::Table(t)) => t
                    .into_iter()
                    .map(|(k, v)| match v {
                        toml::Value::String(s) => Ok((k, s)),
                        _ => Err(mapping_error(name, &format!("{key}.{k}"), "expected a string (the reason)")),
                    })
                    .collect(),
                Some(_) => Err(mapping_error(name, key, "expected a table of strings")),
            }
        };
        let unavailable = string_table("unavailable")?;
        // a misspelt key would declare nothing missing, silently
        for k in unavailable.keys() {
            let known = TABLES.iter().any(|t| t.name == k.as_str())
                || k.split_once('.').is_some_and(|(t, c)| TABLES.iter().any(|s| s.name == t && s.column(c).is_some()))
                || crate::contract::Need::ALL.iter().any(|n| n.key() == k.as_str());
            if !known {
                return Err(mapping_error(
                    name,
                    &format!("unavailable.{k}"),
                    "not a contract table, a table.column or a known fact (such as opportunities.not_won)",
                ));
            }
        }
        let notes = string_table("notes")?;
        // [defaults] date_format: the formats of every timestamp column without its own (a report export with US dates);
        // deleted: the flag column of rows the CRM keeps but has deleted
        let (date_format, deleted, salesforce_ids): (Option<Formats>, Option<String>, bool) = match doc.remove("defaults") {
            None => (None, None, false),
            Some(toml::Value::Table(mut t)) => {
                let f = t.remove("date_format").map(|v| v.try_into::<Formats>().map_err(|e| mapping_error(name, "defaults.date_format", e.message()))).transpose()?;
                let d = match t.remove("deleted") {
                    None => None,
                    Some(toml::Value::String(s)) => Some(s),
                    Some(_) => return Err(mapping_error(name, "defaults.deleted", "expected the name of a flag column such as \"IsDeleted\"")),
                };
                let ids = match t.remove("ids") {
                    None => false,
                    Some(toml::Value::String(s)) if s == "salesforce" => true,
                    Some(_) => return Err(mapping_error(name, "defaults.ids", "expected \"salesforce\" (record ids in Salesforce's 15- and 18-character forms)")),
                };
                if let Some(k) = t.keys().next() {
                    return Err(mapping_error(name, &format!("defaults.{k}"), "unknown key (defaults has date_format, deleted and ids)"));
                }
                (f, d, ids)
            }
            Some(_) => return Err(mapping_error(name, "defaults", "expected a table such as [defaults] date_format = \"%m/%d/%Y\"")),
        };
        let passthrough: Vec<String> = match doc.remove("passthrough") {
            None => Vec::new(),
            Some(toml::Value::Table(t)) => {
                let mut out = Vec::new();
                for (table, v) in t {
                    if table != "opportunities" {
                        return Err(mapping_error(name, &format!("passthrough.{table}"), "only opportunities' columns can be passed through (into every output table with an opportunity_id)"));
                    }
                    let cols: Vec<String> = v.try_into().map_err(|e: toml::de::Error| mapping_error(name, "passthrough.opportunities", format!("expected a list of source column names: {}", e.message())))?;
                    for c in cols {
                        // DuckDB and pandas users select columns ignoring case: a name like a contract column's would clash
                        if crate::contract::TABLES.iter().flat_map(|t| t.columns).any(|k| k.name.eq_ignore_ascii_case(&c)) || c.starts_with('_') {
                            return Err(mapping_error(name, "passthrough.opportunities", format!("{c} is also the name of a salesrelay column: pass through the export's own fields (such as Segment__c)")));
                        }
                        if out.iter().any(|o: &String| o.eq_ignore_ascii_case(&c)) {
                            return Err(mapping_error(name, "passthrough.opportunities", format!("{c} is named twice")));
                        }
                        out.push(c);
                    }
                }
                out
            }
            Some(_) => return Err(mapping_error(name, "passthrough", "expected a table such as [passthrough] opportunities = [\"Segment__c\"]")),
        };
        let base_currency: Option<BaseCurrency> = doc
            .remove("base_currency")
            .map(|v| v.try_into().map_err(|e: toml::de::Error| mapping_error(name, "base_currency", format!("expected {{ file, column, filter }}: {}", e.message()))))
            .transpose()?;
        let mut tables = BTreeMap::new();
        for spec in TABLES {
            let Some(value) = doc.remove(spec.name) else { continue };
            let toml::Value::Array(items) = value else {
                return Err(mapping_error(name, spec.name, format!("expected [[{}]] (one entry per source)", spec.name)));
            };
            let mut sources = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let key = format!("{}[{i}]", spec.name);
                let mut source: Source = item.try_into().map_err(|e: toml::de::Error| mapping_error(name, &key, e.message()))?;
                if source.file.is_some() == source.rows.is_some() {
                    return Err(mapping_error(name, &key, "give either file = \"...\" or rows = [...]"));
                }
                for (col_name, rule) in &source.columns {
                    let ckey = format!("{key}.columns.{col_name}");
                    let Some(c) = spec.column(col_name) else {
                        let names: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
                        return Err(mapping_error(name, &ckey, format!("{} has no column {col_name} (columns: {})", spec.name, names.join(", "))));
                    };
                    let mut rule = parse_rule(rule).map_err(|m| mapping_error(name, &ckey, m))?;
                    if rule.format.is_none() && rule.value.is_none() && c.ty == crate::contract::ColType::Timestamp {
                        rule.format = date_format.clone();
                    }
                    source.rules.push((c.name, rule));
                }
                if source.file.is_some() {
                    for c in spec.columns.iter().filter(|c| c.required) {
                        if !source.columns.contains_key(c.name) {
                            return Err(mapping_error(name, &format!("{key}.columns"), format!("maps nothing to the required column {}", c.name)));
                        }
                    }
                }
                sources.push(source);
            }
            tables.insert(spec.name, sources);
        }
        if let Some(extra) = doc.keys().next() {
            let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
            return Err(mapping_error(
                name,
                extra,
                format!(
                    "unknown key (a mapping has description, config, unavailable, notes, defaults, passthrough, base_currency and one [[table]] per contract table: {})",
                    names.join(", ")
                ),
            ));
        }
        Ok(Mapping { name: name.to_string(), description, config, unavailable, notes, tables, deleted, passthrough, base_currency, salesforce_ids })
    }
}

fn parse_rule(v: &toml::Value) -> std::result::Result<Rule, String> {
    let rule = match v {
        toml::Value::String(s) => Rule { column: Some(s.clone()), ..Rule::default() },
        toml::Value::Table(_) => v.clone().try_into::<Rule>().map_err(|e| e.message().to_string())?,
        _ => return Err("expected a source column name or a table with column, expr or value".into()),
    };
    let given = [rule.column.is_some(), rule.expr.is_some(), rule.value.is_some()].iter().filter(|b| **b).count();
    if given != 1 {
        return Err("give exactly one of column, expr or value".into());
    }
    Ok(rule)
}

fn stem_key(file: &str) -> String {
    let stem = file.strip_suffix(".csv").or_else(|| file.strip_suffix(".parquet")).unwrap_or(file);
    normalize_name(stem)
}

/// A source file's name without its extension, as messages name its columns (`Lead.LeadSource`).
fn file_stem(file_name: &str) -> &str {
    file_name.rsplit_once('.').map_or(file_name, |(s, _)| s)
}

/// A source file as read: its frame (all text, `_row`) or why it is unusable.
enum Loaded {
    Frame(DataFrame, String),
    Missing,
    Unusable,
}

/// Reads source files once each, remembering which tables read them.
struct Reader<'a> {
    config: &'a Config,
    /// Whether the source files are hashed (for the manifest).
    hashes: crate::load::Hashes,
    files: BTreeMap<String, Vec<PathBuf>>,
    loaded: BTreeMap<String, Loaded>,
    sources: BTreeMap<PathBuf, SourceFile>,
    findings: Vec<Finding>,
    /// How source files were decoded, where worth saying.
    notes: Vec<String>,
    /// Source values the maps did not name (see `Applied::fell_through`).
    fell_through: Vec<(String, String, String, u64, String)>,
    /// `[defaults] deleted`: the flag column of deleted rows.
    deleted_flag: Option<String>,
    /// `[defaults] ids = "salesforce"`.
    salesforce_ids: bool,
    /// Per source file name, the flag column and the deleted rows left out.
    deleted: BTreeMap<String, (String, usize)>,
}

impl Reader<'_> {
    fn load(&mut self, file: &str, table: &str) -> Result<&Loaded> {
        let key = stem_key(file);
        if !self.loaded.contains_key(&key) {
            let mut found = self.files.get(&key).cloned().unwrap_or_default();
            found.sort();
            let loaded = match found.len() {
                0 => Loaded::Missing,
                1 => self.read(&found[0], table)?,
                _ => {
                    let names: Vec<String> = found.iter().map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
                    self.findings.push(Finding::fatal(table, None, "ambiguous_table", format!("{} is given twice: which one is meant? Remove one", names.join(" and "))));
                    Loaded::Unusable
                }
            };
            self.loaded.insert(key.clone(), loaded);
        }
        if let Some(Loaded::Frame(_, _)) = self.loaded.get(&key) {
            let path = self.files[&key][0].clone();
            if let Some(s) = self.sources.get_mut(&path) {
                if !s.table.split(", ").any(|t| t == table) {
                    s.table.push_str(&format!(", {table}"));
                }
            }
        }
        Ok(&self.loaded[&key])
    }

    fn read(&mut self, path: &Path, table: &str) -> Result<Loaded> {
        let file_name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let is_parquet = crate::load::is_parquet(path);
        let (df, records, sha256, bytes) = if is_parquet {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let df = match ParquetReader::new(file).finish() {
                Ok(df) => {
                    let height = df.height();
                    let mut columns = vec![Column::new(ROW.into(), (1..=height as i64).collect::<Vec<i64>>())];
                    for c in df.columns() {
                        columns.push(c.cast(&DataType::String)?);
                    }
                    Some(DataFrame::new(height, columns)?)
                }
                Err(e) => {
                    self.findings.push(Finding::fatal(table, None, "malformed_parquet", format!("{file_name}: {e}")).in_file(&file_name));
                    None
                }
            };
            let records = df.as_ref().map(|d| d.height() as u64).unwrap_or(0);
            let (sha256, bytes) = crate::load::file_digest(path, self.hashes)?;
            (df, records, sha256, bytes)
        } else {
            let (df, summary) = crate::load::read_source_csv(path, table, self.config, self.hashes)?;
            self.findings.extend(summary.findings);
            self.notes.extend(summary.note);
            (df, summary.records, summary.sha256, summary.bytes)
        };
        self.sources.insert(path.to_path_buf(), SourceFile { table: table.to_string(), path: path.to_path_buf(), sha256, bytes, records });
        // rows the CRM has deleted (kept in its recycle bin and in full exports) are not history
        let df = match (df, &self.deleted_flag) {
            (Some(df), Some(flag)) => {
                let columns: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).collect();
                match find_column(&columns, flag) {
                    Some(c) => {
                        // read as the contract reads booleans (true/false, 1/0, yes/no, ...)
                        let is_deleted = crate::typing::parse_expr(c, crate::contract::ColType::Bool, &DataType::String, "UTC").fill_null(lit(false));
                        let before = df.height();
                        let kept = df.lazy().filter(is_deleted.not()).collect()?;
                        if kept.height() < before {
                            self.deleted.insert(file_name.clone(), (c.clone(), before - kept.height()));
                        }
                        Some(kept)
                    }
                    None => Some(df),
                }
            }
            (df, _) => df,
        };
        let df = match df {
            Some(df) => Some(self.without_repeated_headers(df, table, &file_name)?),
            None => None,
        };
        Ok(match df {
            Some(df) => Loaded::Frame(df, file_name),
            None => Loaded::Unusable,
        })
    }

    /// `df` without the rows that are its header line again (two exports
    /// pasted into one file: every cell its column's name, ignoring case and
    /// surrounding space), each one `repeated_header` finding of `table`
    /// rather than a row of source column names read as values (one
    /// finding a column).
    fn without_repeated_headers(&mut self, df: DataFrame, table: &str, file_name: &str) -> Result<DataFrame> {
        let columns: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).filter(|c| c != ROW).collect();
        if columns.len() < 2 {
            return Ok(df);
        }
        let named = |c: &String| {
            let v = col(c.as_str()).cast(DataType::String);
            v.clone().is_null().or(v.str().strip_chars(lit(NULL)).str().to_lowercase().eq(lit(c.trim().to_lowercase())))
        };
        let some_value = columns.iter().map(|c| col(c.as_str()).is_not_null()).fold(lit(false), |a, b| a.or(b));
        let header = columns.iter().map(named).fold(some_value, |a, b| a.and(b)).fill_null(lit(false));
        // first the rows whose first value is its column's name as written, in lower or in upper
        // case (one comparison a row), so the whole check folds the text of a few rows, not of
        // every cell of the file (that took a fifth of a HubSpot export's load)
        let first = columns[0].trim();
        let spellings = [first.to_string(), first.to_lowercase(), first.to_uppercase()];
        let spellings: Vec<&str> = spellings.iter().map(String::as_str).collect();
        let near = col(columns[0].as_str()).cast(DataType::String).str().strip_chars(lit(NULL)).is_in(crate::typing::str_list(&spellings), false).fill_null(lit(false));
        // (collected apart: one filter of both would fold every cell anyway)
        let near = df.clone().lazy().filter(near).collect()?;
        if near.height() == 0 {
            return Ok(df);
        }
        let rows = near.lazy().filter(header.clone()).select([col(ROW).cast(DataType::Int64)]).collect()?;
        if rows.height() == 0 {
            return Ok(df);
        }
        for row in rows.column(ROW)?.i64()?.iter().flatten() {
            let finding = Finding::row(table, row, None, None, "repeated_header", "the header line again (two exports pasted into one file?)".to_string());
            self.findings.push(finding.in_file(file_name));
        }
        let rows = rows.column(ROW)?.as_materialized_series().clone();
        Ok(df.lazy().filter(col(ROW).cast(DataType::Int64).is_in(lit(rows).implode(true), false).not()).collect()?)
    }
}

/// `column` of `columns`, matched as the contract matches headers (ignoring case and _).
/// The candidate within two edits of `name` (names normalised as for
/// matching, fewer edits than half the name), nearest first: a typo's
/// likely meaning.
fn nearest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c String>) -> Option<&'c String> {
    candidates
        .into_iter()
        .filter_map(|c| crate::contract::typo_distance(name, c).map(|d| (c, d)))
        .min_by_key(|(c, d)| (*d, (*c).clone()))
        .map(|(c, _)| c)
}

fn find_column<'c>(columns: &'c [String], name: &str) -> Option<&'c String> {
    columns.iter().find(|c| *c == name).or_else(|| {
        let n = normalize_name(name);
        columns.iter().find(|c| normalize_name(c) == n)
    })
}

/// Quotes `alias.Column` references (outside string literals) so Polars
/// SQL reads them as one column name.
fn quote_lookups(sql: &str, aliases: &[String]) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            let end = chars[i + 1..].iter().position(|d| *d == c).map(|p| i + 1 + p).unwrap_or(chars.len() - 1);
            out.extend(&chars[i..=end]);
            i = end + 1;
            continue;
        }
        let starts_word = (c.is_alphabetic() || c == '_') && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'));
        if starts_word {
            let mut j = i;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '.') {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            match word.split_once('.') {
                Some((a, rest)) if aliases.iter().any(|x| x == a) && !rest.is_empty() => out.push_str(&format!("\"{word}\"")),
                _ => out.push_str(&word),
            }
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// An SQL expression over `columns`; every column it names must exist.
fn sql(text: &str, aliases: &[String], columns: &[String], file: &str) -> std::result::Result<(Expr, Vec<String>), String> {
    let mut expr = polars::sql::sql_expr(quote_lookups(text, aliases)).map_err(|e| format!("{text:?} is not an SQL expression: {e}"))?.map_expr(unanchored_like).map_expr(case_by_distinct);
    let mut used = Vec::new();
    for root in expr.clone().meta().root_names() {
        let root = root.to_string();
        let read = if columns.contains(&root) {
            root
        } else if let Some(found) = find_column(columns, &root) {
            // the file spells the column in another case or with _ (as headers match): the
            // expression reads it as the file spells it
            let (from, to) = (root, found.clone());
            expr = expr.map_expr(|e| match e {
                Expr::Column(name) if name.as_str() == from => col(to.as_str()),
                e => e,
            });
            found.clone()
        } else {
            let hint = match nearest(&root, columns.iter().filter(|c| *c != ROW)) {
                Some(c) => format!(" (did you mean {c}?)"),
                None => format!(" (columns: {})", columns.iter().filter(|c| *c != ROW).cloned().collect::<Vec<_>>().join(", ")),
            };
            return Err(format!("{text:?} names column {root}, which {file} does not have{hint}"));
        };
        if !used.contains(&read) {
            used.push(read);
        }
    }
    Ok((expr, used))
}

/// `e` with the regex Polars' SQL makes of `x ILIKE '%text%'` (and of
/// LIKE: `^(?is).*text.*$`, or `^(?s)...`) searched for unanchored, as
/// `(?is)text`: the same values match (an unanchored search finds the text
/// anywhere, as the leading and trailing `.*` let the anchored one), but
/// the regex engine can then look for the text itself, where the anchored
/// form ran its automaton over every value from the first byte (the
/// built-in mappings' ILIKEs on titles and meeting locations were the
/// largest share of an export's load). Any other expression as it is.
fn unanchored_like(e: Expr) -> Expr {
    let Expr::Function { input, function: FunctionExpr::StringExpr(StringFunction::Contains { literal: false, strict }) } = &e else { return e };
    let pattern = match input.get(1) {
        Some(Expr::Literal(value)) => value.extract_str(),
        _ => None,
    };
    let Some(pattern) = pattern else { return e };
    // (ILIKE's form, LIKE's form) -> the flags they keep
    let forms = [("^(?is).*", "(?is)"), ("^(?s).*", "(?s)")];
    let text = forms.iter().find_map(|(start, flags)| Some((*flags, pattern.strip_prefix(start)?.strip_suffix(".*$")?)));
    match text.map(|(flags, text)| format!("{flags}{text}")) {
        Some(unanchored) if input.len() == 2 => Expr::Function {
            input: vec![input[0].clone(), lit(unanchored)],
            function: FunctionExpr::StringExpr(StringFunction::Contains { literal: false, strict: *strict }),
        },
        _ => e,
    }
}

/// `e` with SQL's LOWER(x) and UPPER(x) worked out once for each distinct
/// value of x (`typing::each_distinct`, the same text): the built-in
/// mappings lower-case flags (`LOWER(IsClosed) IN ('true', '1')`) on every
/// deal, where Polars' own allocates a new string a value. Any other
/// expression as it is.
fn case_by_distinct(e: Expr) -> Expr {
    let Expr::Function { input, function: FunctionExpr::StringExpr(f) } = &e else { return e };
    let fold: fn(&str) -> String = match f {
        StringFunction::Lowercase => str::to_lowercase,
        StringFunction::Uppercase => str::to_uppercase,
        _ => return e,
    };
    match input.as_slice() {
        [x] => crate::typing::each_distinct(x.clone(), fold),
        _ => e,
    }
}

fn parse_dates(e: Expr, formats: &[String]) -> Expr {
    let mut parsed: Vec<Expr> = formats
        .iter()
        .map(|f| {
            let options = StrptimeOptions { format: Some(f.as_str().into()), strict: false, exact: true, cache: true };
            let with_offset = f.contains("%z") || f.contains("%:z") || f.contains("%#z");
            let dt = e.clone().str().to_datetime(Some(TimeUnit::Microseconds), None, options, lit("raise"));
            let has_time = ["%H", "%I", "%k", "%l", "%T", "%R", "%X", "%c", "%s"].iter().any(|d| f.contains(d));
            if with_offset {
                dt.dt().convert_time_zone(TimeZone::UTC).dt().strftime("%Y-%m-%dT%H:%M:%S%.fZ")
            } else if has_time {
                dt.dt().strftime("%Y-%m-%dT%H:%M:%S%.f")
            } else {
                // a date stays a date: local midnight, or the day's first local time in a DST gap
                dt.dt().strftime("%Y-%m-%d")
            }
        })
        .collect();
    // text no format reads stays as it is, so validation names the row
    parsed.push(e);
    coalesce(&parsed)
}

/// The contract column made by `rule` and the source columns it reads.
/// Also the value before the `map`, where there is one (to report what
/// the map does not name).
#[allow(clippy::type_complexity)]
fn column_expr(rule: &Rule, aliases: &[String], columns: &[String], file: &str) -> std::result::Result<(Expr, Vec<String>, Option<Expr>), String> {
    let (mut e, used) = if let Some(c) = &rule.column {
        let found = find_column(columns, c).ok_or_else(|| {
            let guess = nearest(c, columns.iter().filter(|c| *c != ROW)).map(|g| format!(" (did you mean {g}?)")).unwrap_or_default();
            format!("{file} has no column {c}{guess} (columns: {})", columns.iter().filter(|c| *c != ROW).cloned().collect::<Vec<_>>().join(", "))
        })?;
        (col(found.as_str()), vec![found.clone()])
    } else if let Some(text) = &rule.expr {
        sql(text, aliases, columns, file)?
    } else {
        (lit(value_text(rule.value.as_ref().expect("parse_rule checked"))), Vec::new())
    };
    e = e.cast(DataType::String);
    if let Some(formats) = &rule.format {
        let formats = match formats {
            Formats::One(f) => vec![f.clone()],
            Formats::Many(v) => v.clone(),
        };
        e = parse_dates(e, &formats);
    }
    let before_map = (!rule.map.is_empty()).then(|| e.clone());
    if !rule.map.is_empty() || rule.others.is_some() {
        e = mapped(e, &rule.map, rule.others.as_ref());
    }
    if let Some(d) = &rule.default {
        e = e.fill_null(lit(value_text(d)));
    }
    Ok((e, used, before_map))
}

/// Literal rows as a text frame with `_row` counting from 1.
fn literal_rows(rows: &[BTreeMap<String, toml::Value>]) -> Result<DataFrame> {
    let names: BTreeSet<&String> = rows.iter().flat_map(|r| r.keys()).collect();
    let height = rows.len();
    let mut columns = vec![Column::new(ROW.into(), (1..=height as i64).collect::<Vec<i64>>())];
    for n in names {
        let values: Vec<Option<String>> = rows.iter().map(|r| r.get(n).map(value_text)).collect();
        columns.push(Column::new(n.as_str().into(), values));
    }
    Ok(DataFrame::new(height, columns)?)
}

/// Reads the export in `input` through `mapping` into raw contract tables,
/// typed and with their row findings, like `load::read_input` does for
/// native files.
pub fn read_mapped(input: &Path, mapping: &Mapping, config: &Config, hashes: crate::load::Hashes) -> Result<RawInput> {
    if !input.is_dir() {
        return Err(Error::Input(format!("input folder {} does not exist", input.display())));
    }
    let name = mapping.name.as_str();
    let mut reader = Reader {
        config,
        hashes,
        files: crate::load::input_files(input)?,
        loaded: BTreeMap::new(),
        sources: BTreeMap::new(),
        findings: Vec::new(),
        notes: Vec::new(),
        fell_through: Vec::new(),
        deleted_flag: mapping.deleted.clone(),
        salesforce_ids: mapping.salesforce_ids,
        deleted: BTreeMap::new(),
    };
    let mut out = RawInput { base_currency: config.base_currency.clone(), ..RawInput::default() };
    let mut applied = Applied {
        name: name.to_string(),
        description: mapping.description.clone(),
        notes: mapping.notes.clone(),
        sources: Vec::new(),
        fell_through: Vec::new(),
        deleted: Vec::new(),
        lookups_missing: Vec::new(),
    };
    let mut passthrough: Vec<DataFrame> = Vec::new();
    let mut passthrough_origins: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for spec in TABLES {
        // the plan is never in a CRM export: a native targets.csv beside it is read as it is
        if crate::contract::PLAN_TABLES.contains(&spec.name) && !mapping.tables.contains_key(spec.name) {
            let found = crate::load::input_files(input)?.remove(&crate::contract::normalize_name(spec.name)).unwrap_or_default();
            crate::load::read_native(spec, found, input, config, hashes, &mut out)?;
            continue;
        }
        let Some(sources) = mapping.tables.get(spec.name) else {
            let reason = format!("the mapping {name} maps nothing to {}", spec.name);
            if spec.required {
                out.findings.push(Finding::fatal(spec.name, None, "missing_table", format!("required table {}: {reason}", spec.name)));
            } else {
                out.missing.push(spec.name);
                out.unavailable.insert(spec.name.to_string(), reason);
            }
            continue;
        };
        let mut frames = Vec::new();
        let mut files = Vec::new();
        let mut origins = Vec::new();
        let mut supplied: BTreeSet<&'static str> = BTreeSet::new();
        let mut absent = Vec::new();
        let mut unusable = false;
        // why a column read only from lookups whose file the input lacks is not available
        let mut emptied_reason: BTreeMap<&'static str, String> = BTreeMap::new();
        for (i, source) in sources.iter().enumerate() {
            let key = format!("{}[{i}]", spec.name);
            // a fallback stands in only for earlier sources the input lacks
            if source.fallback && !frames.is_empty() {
                continue;
            }
            let (base, file_name) = match (&source.file, &source.rows) {
                (Some(file), _) => match reader.load(file, spec.name)? {
                    Loaded::Frame(df, f) => (df.clone(), f.clone()),
                    Loaded::Missing => {
                        // name the file, the key and the folder's file it most likely meant
                        let stems: Vec<String> = reader.files.values().flatten().filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned())).collect();
                        // else a file the mapping reads for nothing whose name starts with it (a
                        // browser's second download, `Opportunity (1).csv`)
                        let read_by_mapping = |stem: &str| mapping.tables.values().flatten().flat_map(|s| s.file.iter().chain(s.lookups.iter().map(|l| &l.file))).any(|f| stem_key(f) == normalize_name(stem));
                        let longer = || stems.iter().find(|g| normalize_name(g).starts_with(&stem_key(file)) && !read_by_mapping(g));
                        let guess = nearest(file, stems.iter()).or_else(longer).map(|g| format!(", did you mean {g}.csv?")).unwrap_or_default();
                        absent.push(format!("{file}.csv (mapping key {key}.file{guess})"));
                        continue;
                    }
                    Loaded::Unusable => {
                        unusable = true;
                        continue;
                    }
                },
                (None, Some(rows)) => (literal_rows(rows)?, format!("mapping {name} ({key}.rows)")),
                (None, None) => unreachable!("parse checks file or rows"),
            };
            let pass: &[String] = if spec.name == "opportunities" { &mapping.passthrough } else { &[] };
            let made = map_source(spec, source, &key, base, &file_name, name, i as i64, pass, &mut reader)?;
            let Some(MappedSource { df, read, kept, why, used, emptied }) = made else {
                unusable = true;
                continue;
            };
            if !pass.is_empty() {
                let stem = file_stem(&file_name);
                let mut frame = df.select(["opportunity_id"])?;
                for c in pass {
                    match df.column(c) {
                        Ok(v) => {
                            frame.with_column(v.clone())?;
                            passthrough_origins.entry(c.clone()).or_default().push(format!("{stem}.{c}"));
                        }
                        // literal rows have none
                        Err(_) => {
                            frame.with_column(Column::full_null(c.as_str().into(), df.height(), &DataType::String))?;
                        }
                    }
                }
                passthrough.push(frame);
            }
            applied.sources.push((spec.name.to_string(), file_name.clone(), read, kept, why));
            // a column read only from lookups whose file the input lacks is not supplied (not
            // available, with the reason); one read partly from them is a warning
            let from_emptied = |r: &String| emptied.iter().any(|(alias, _)| r.starts_with(&format!("{alias}.")));
            // the missing files a column reads, as "Lead.csv" or "Lead.csv and Contact.csv"
            let lacking = |cols: &[String]| -> String {
                let files: BTreeSet<String> =
                    emptied.iter().filter(|(alias, _)| cols.iter().any(|r| r.starts_with(&format!("{alias}.")))).map(|(_, f)| format!("{f}.csv")).collect();
                files.into_iter().collect::<Vec<_>>().join(" and ")
            };
            for (c, cols) in used {
                let lacking = lacking(&cols);
                if !cols.is_empty() && cols.iter().all(from_emptied) {
                    if spec.column(c).is_some_and(|s| s.required) {
                        let what = format!("{file_name} looks up {lacking} ({key}, mapping {name}) for the required {}.{c}, which is not in the input", spec.name);
                        reader.findings.push(Finding::fatal(spec.name, None, "missing_table", what).in_file(&file_name));
                        unusable = true;
                    }
                    emptied_reason.entry(c).or_insert(format!("{lacking} not in the input (the mapping {name} looks it up there for {file_name})"));
                    continue;
                }
                if !spec.column(c).is_some_and(|s| s.required) {
                    supplied.insert(c);
                }
                let mut what = if cols.is_empty() { String::from("a constant") } else { format!("column {}", cols.join(", ")) };
                if !lacking.is_empty() {
                    what.push_str(&format!(" ({lacking} not in the input: empty)"));
                    let rest: Vec<&str> = cols.iter().filter(|r| !from_emptied(r)).map(String::as_str).collect();
                    applied.lookups_missing.push(format!(
                        "{}.{c} reads {lacking}, which is not in the input: its values come from {file_name}'s {} alone (mapping {name} key {key}.columns.{c}); add {lacking} to the input",
                        spec.name,
                        rest.join(", ")
                    ));
                }
                origins.push((c, i as i64, format!("from {file_name} {what}, mapping {name} key {key}.columns.{c}")));
            }
            frames.push(contract_frame(df, spec)?);
            files.push(file_name);
        }
        if frames.is_empty() || unusable {
            if !unusable {
                let reason = format!("{} not in the input (mapping {name})", absent.join(" and "));
                if spec.required {
                    out.findings.push(Finding::fatal(spec.name, None, "missing_table", format!("required table {}: {reason}", spec.name)));
                } else {
                    out.missing.push(spec.name);
                    out.unavailable.insert(spec.name.to_string(), reason);
                }
            }
            continue;
        }
        if !absent.is_empty() {
            applied.notes.insert(
                format!("{} (partial)", spec.name),
                format!("{} not in the input: {} comes from {} only", absent.join(" and "), spec.name, files.join(", ")),
            );
        }
        let mut df = frames.remove(0);
        for f in frames {
            df.vstack_mut(&f)?;
        }
        df.rechunk_mut();
        let (typed, findings) = crate::typing::type_chunk(df, spec, config)?;
        for c in spec.columns.iter().filter(|c| !c.required && !supplied.contains(c.name)) {
            let reason = emptied_reason.remove(c.name).unwrap_or_else(|| format!("not in the export (the mapping {name} maps no source column to it)"));
            out.unavailable.insert(format!("{}.{}", spec.name, c.name), reason);
        }
        let supplied = supplied.into_iter().collect();
        out.tables.insert(spec.name, RawTable { spec, files, df: typed, findings, supplied, origins });
    }
    for (k, v) in &mapping.unavailable {
        out.unavailable.insert(k.clone(), v.clone());
    }
    if !passthrough.is_empty() {
        let mut frame = passthrough.remove(0);
        for f in passthrough {
            frame.vstack_mut(&f)?;
        }
        // one row per deal (a repeated id is a duplicate_key finding already)
        let frame = frame
            .lazy()
            .filter(col("opportunity_id").is_not_null())
            .unique_stable_generic(Some(vec![col("opportunity_id")]), UniqueKeepStrategy::First)
            .collect()?;
        let columns = mapping
            .passthrough
            .iter()
            .map(|c| {
                let from = passthrough_origins.get(c).map(|o| o.join(", ")).unwrap_or_default();
                (c.clone(), format!("the export's own field {from}, as text (passed through by the mapping {name}'s [passthrough])"))
            })
            .collect();
        out.passthrough = Some(crate::contract::Passthrough { frame, columns });
    }
    if let Some(b) = &mapping.base_currency {
        base_currency_from_export(b, name, &mut reader, &mut out, &mut applied)?;
    }
    applied.deleted = reader.deleted.iter().map(|(f, (c, n))| (f.clone(), c.clone(), *n)).collect();
    out.findings.append(&mut reader.findings);
    out.notes.append(&mut reader.notes);
    applied.fell_through = std::mem::take(&mut reader.fell_through);
    out.sources = reader.sources.into_values().collect();
    out.mapping = Some(applied);
    Ok(out)
}

/// The base currency the export names (`base_currency` in the mapping):
/// the export's when salesrelay.toml sets none; a different configured
/// one is a problem, since the export's rates are per unit of its own.
fn base_currency_from_export(b: &BaseCurrency, name: &str, reader: &mut Reader, out: &mut RawInput, applied: &mut Applied) -> Result<()> {
    let Loaded::Frame(df, file_name) = reader.load(&b.file, "exchange_rates")? else { return Ok(()) };
    let (df, file_name) = (df.clone(), file_name.clone());
    let columns: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).collect();
    let mut lf = df.lazy();
    if let Some(filter) = &b.filter {
        let (e, _) = sql(filter, &[], &columns, &file_name).map_err(|m| mapping_error(name, "base_currency.filter", m))?;
        lf = lf.filter(e.fill_null(lit(false)));
    }
    let c = find_column(&columns, &b.column).ok_or_else(|| mapping_error(name, "base_currency.column", format!("{file_name} has no column {}", b.column)))?;
    let codes = lf
        .select([col(c.as_str()).str().strip_chars(lit(NULL)).str().to_uppercase().alias("c")])
        .filter(col("c").is_not_null().and(col("c").neq(lit(""))))
        .unique(None, UniqueKeepStrategy::Any)
        .sort(["c"], Default::default())
        .collect()?;
    let codes: Vec<String> = codes.column("c")?.str()?.iter().flatten().map(str::to_string).collect();
    let stem = file_stem(&file_name);
    let filter = b.filter.as_ref().map(|f| format!(" where {f}")).unwrap_or_default();
    match (codes.as_slice(), &out.base_currency) {
        ([], _) => {}
        ([one], None) => {
            applied.notes.insert("base currency".into(), format!("{one}: the export's own ({stem}.{}{filter}, mapping {name})", b.column));
            out.base_currency = Some(one.clone());
        }
        ([one], Some(configured)) if one.eq_ignore_ascii_case(configured) => {}
        ([one], Some(configured)) => out.findings.push(Finding::fatal(
            "exchange_rates",
            Some("currency".into()),
            "base_currency_conflict",
            format!("salesrelay.toml says base_currency = \"{configured}\" but the export's base currency is {one} ({stem}.{}{filter}) and its rates are per one {one}: set base_currency = \"{one}\" or remove it", b.column),
        )),
        (many, _) => out.findings.push(Finding::fatal(
            "exchange_rates",
            Some("currency".into()),
            "base_currency_conflict",
            format!("the export names {} base currencies ({}: {stem}.{}{filter}): one is needed; set base_currency in salesrelay.toml", many.len(), many.join(", "), b.column),
        )),
    }
    Ok(())
}

/// The source values an expression (a CASE without ELSE, say) leaves
/// without a value the contract accepts, for a required or enum column:
/// rows whose source columns hold something but whose result is empty or
/// not one of the column's values. Reported like a map's fall-through,
/// with the values, so the user sees what to name.
#[allow(clippy::too_many_arguments)]
fn expr_fell_through(
    spec: &TableSpec,
    c: &str,
    e: &Expr,
    cols_read: &[String],
    lf: &LazyFrame,
    file_name: &str,
    ckey: &str,
    reader: &mut Reader,
) -> Result<()> {
    let Some(column) = spec.column(c) else { return Ok(()) };
    let values = match column.ty {
        crate::contract::ColType::Enum(values) => Some(values),
        _ if column.required => None,
        // (any other column: `no_row_valued`, once the mapped frame is made)
        _ => return Ok(()),
    };
    let result = e.clone().cast(DataType::String).str().strip_chars(lit(NULL));
    let mut bad = result.clone().is_null().or(result.clone().eq(lit("")));
    if let Some(values) = values {
        let ok = result.clone().is_in(crate::typing::str_list(values), false).or(crate::typing::enum_key(result).is_in(crate::typing::str_list(values), false));
        bad = bad.or(ok.not());
    }
    let any_read = cols_read.iter().map(|r| col(r.as_str()).is_not_null()).reduce(|a, b| a.or(b)).unwrap_or(lit(false));
    let shown: Vec<Expr> = cols_read.iter().map(|r| col(r.as_str()).cast(DataType::String).fill_null(lit("(empty)"))).collect();
    let Ok(found) = lf
        .clone()
        .filter(bad.fill_null(lit(true)).and(any_read))
        .group_by(shown.clone())
        .agg([len().alias("__n")])
        .sort_by_exprs([col("__n")], SortMultipleOptions::default().with_order_descending(true))
        .limit(50)
        .collect()
    else {
        // the engine rejects the expression: the mapped frame's collect names it
        return Ok(());
    };
    let stem = file_stem(file_name);
    let counts = found.column("__n")?.u32()?.clone();
    let mut sorted: Vec<(String, u64)> = Vec::new();
    for i in 0..found.height() {
        let parts: Vec<String> = cols_read
            .iter()
            .map(|r| {
                let v = found.column(r).ok().and_then(|s| s.str().ok().and_then(|s| s.get(i).map(str::to_string))).unwrap_or_default();
                if cols_read.len() == 1 { v } else { format!("{r} = {v}") }
            })
            .collect();
        sorted.push((parts.join(", "), counts.get(i).unwrap_or(0) as u64));
    }
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let from = format!("{stem}.{} ({ckey})", cols_read.join(", "));
    let became = match values {
        Some(v) => format!("empty: {}.{c} must be one of {}", spec.name, v.join(", ")),
        None => format!("empty: {}.{c} is required", spec.name),
    };
    for (value, n) in sorted {
        reader.fell_through.push((format!("{}.{c}", spec.name), from.clone(), value, n, became.clone()));
    }
    Ok(())
}

/// A Salesforce record id in its 18-character form: a 15-character id
/// (case-sensitive, as reports show it) gets the three characters that
/// spell its capitals (for each five characters, the bits of the capital
/// letters A-Z, read from the first, index `ABCDEFGHIJKLMNOPQRSTUVWXYZ012345`),
/// as Data Loader and the API give it. Any other value (18 characters
/// already, or no Salesforce id: `lead-company:Acme`) stays as it is.
pub fn salesforce_id_18_of(id: &str) -> String {
    const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let bytes = id.as_bytes();
    if bytes.len() != 15 || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return id.to_string();
    }
    let mut out = id.to_string();
    for chunk in bytes.chunks(5) {
        let bits = chunk.iter().enumerate().filter(|(_, b)| b.is_ascii_uppercase()).fold(0usize, |acc, (i, _)| acc | (1 << i));
        out.push(SUFFIX[bits] as char);
    }
    out
}

/// Whether text column `c` of `lf` holds a value of 15 characters (a
/// Salesforce id in its short form, as reports show it).
fn has_short_ids(lf: &LazyFrame, c: &str) -> Result<bool> {
    let found = lf.clone().select([col(c).cast(DataType::String).str().len_bytes().eq(lit(15u32)).any(true).alias("short")]).collect()?;
    Ok(found.column("short")?.bool()?.get(0).unwrap_or(false))
}

/// `salesforce_id_18_of` on each distinct value of text column `e`.
fn salesforce_id_18(e: Expr) -> Expr {
    crate::typing::each_distinct(e.cast(DataType::String), salesforce_id_18_of)
}

/// One source as mapped (see `map_source`).
struct MappedSource {
    df: DataFrame,
    /// Rows read (with the deleted ones) and kept.
    read: usize,
    kept: usize,
    /// Why rows were left out.
    why: String,
    /// Per contract column, the source columns it reads.
    used: Vec<(&'static str, Vec<String>)>,
    /// The lookups whose file the input lacks, `(alias, file)`: their
    /// columns read as empty.
    emptied: Vec<(String, String)>,
}

/// The columns of lookup `alias` that `texts` (a mapping's expressions,
/// columns, filters) name, as `alias.Column`: where the lookup's file is
/// not in the input, these read as empty. A name inside a string literal
/// counts too, which only adds an unread empty column.
fn lookup_columns_named<'t>(alias: &str, texts: impl IntoIterator<Item = &'t str>) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    for text in texts {
        let prefix = format!("{alias}.");
        let mut from = 0;
        while let Some(at) = text[from..].find(&prefix).map(|i| from + i) {
            let starts_word = !text[..at].chars().next_back().is_some_and(|c| word(c) || c == '.');
            let rest = &text[at + prefix.len()..];
            let end = rest.find(|c: char| !word(c)).unwrap_or(rest.len());
            if starts_word && end > 0 {
                named.insert(format!("{prefix}{}", &rest[..end]));
            }
            from = at + prefix.len();
        }
    }
    named
}

/// How many distinct values a source column may have for `no_row_valued`
/// to list them (and fewer than its rows): a column a CASE tests (a
/// status, a flag), not a date or an id.
const FEW_VALUES: usize = 20;

/// An optional column's expression that gave no row of the file a value
/// (the caller knows from the mapped frame) while its source columns
/// (in `lf`, the rows before mapping) hold some: a CASE whose WHEN names a value the
/// export spells otherwise (Salesforce's Lead Status translated, so
/// 'Closed - Not Converted' matches nothing and no lead is disqualified).
/// Reported like a map's fall-through, with the values of the columns it
/// tests (those of at most `FEW_VALUES` distinct values), ten at most.
#[allow(clippy::too_many_arguments)]
fn no_row_valued(spec: &TableSpec, c: &str, cols_read: &[String], lf: &LazyFrame, file_name: &str, ckey: &str, reader: &mut Reader) -> Result<()> {
    let stem = file_stem(file_name);
    let became = format!("empty: the expression gives {}.{c} a value in no row", spec.name);
    for r in cols_read {
        let found = lf
            .clone()
            .filter(col(r.as_str()).is_not_null())
            .group_by([col(r.as_str()).cast(DataType::String).alias("__v")])
            .agg([len().alias("__n")])
            .sort_by_exprs([col("__n"), col("__v")], SortMultipleOptions::default().with_order_descending_multi([true, false]))
            .collect()?;
        // a column a CASE tests repeats its values; a date or an id does not
        let rows: u64 = found.column("__n")?.u32()?.iter().flatten().map(u64::from).sum();
        if found.height() > FEW_VALUES || found.height() as u64 >= rows {
            continue;
        }
        let (values, counts) = (found.column("__v")?.str()?.clone(), found.column("__n")?.u32()?.clone());
        for i in 0..found.height().min(10) {
            if let (Some(v), Some(n)) = (values.get(i), counts.get(i)) {
                reader.fell_through.push((format!("{}.{c}", spec.name), format!("{stem}.{r} ({ckey})"), v.to_string(), n as u64, became.clone()));
            }
        }
    }
    Ok(())
}

/// The mapped frame of one source, with what `MappedSource` holds. None if
/// a lookup file is unusable.
#[allow(clippy::too_many_arguments)]
fn map_source(
    spec: &'static TableSpec,
    source: &Source,
    key: &str,
    base: DataFrame,
    file_name: &str,
    name: &str,
    index: i64,
    passthrough: &[String],
    reader: &mut Reader,
) -> Result<Option<MappedSource>> {
    let mut why = Vec::new();
    let mut read = base.height();
    if let Some((flag, n)) = reader.deleted.get(file_name) {
        read += n;
        why.push(format!("{n} deleted ({flag} = true)"));
    }
    let mut columns: Vec<String> = base.get_column_names().iter().map(|s| s.to_string()).collect();
    // a file whose first line is not its header (Excel's sep=, a report's title above the data):
    // said of the file, not blamed on the mapping's first column it lacks
    if let [only] = columns.iter().filter(|c| *c != ROW).collect::<Vec<_>>().as_slice() {
        // (a file of one column the mapping reads, or literal rows of one, is as it should be)
        let lacks = source.rules.iter().any(|(_, r)| !r.optional && r.column.as_ref().is_some_and(|c| find_column(&columns, c).is_none()));
        if source.file.is_some() && lacks {
            return Err(Error::Input(if only.trim().to_lowercase().starts_with("sep=") {
                format!("{file_name} starts with Excel's {only:?} line, above its header: delete that line (or save the file again without it)")
            } else {
                format!("{file_name}'s first line holds one column ({only:?}), not the export's header: a report's title lines above the data? Delete the lines above the header")
            }));
        }
    }
    let mut lf = base.lazy();
    let mut aliases = Vec::new();
    let mut emptied: Vec<(String, String)> = Vec::new();
    for (j, l) in source.lookups.iter().enumerate() {
        let lkey = format!("{key}.lookups[{j}]");
        // a lookup on a column of one whose file is missing finds nothing either (Salesforce's
        // company of a task's lead, without Lead.csv)
        let upstream = emptied.iter().find(|(alias, _)| l.on.starts_with(&format!("{alias}."))).map(|(_, file)| file.clone());
        let loaded = match upstream {
            Some(_) => &Loaded::Missing,
            None => reader.load(&l.file, spec.name)?,
        };
        let (other, other_name) = match loaded {
            Loaded::Frame(df, f) => (df.clone(), f.clone()),
            Loaded::Missing => {
                // an optional file of the export (Salesforce's Lead.csv, HubSpot's contacts.csv):
                // what is looked up in it reads as empty, and `read_mapped` says so, rather than
                // the whole table lost
                let texts = source.rules.iter().flat_map(|(_, r)| [r.column.as_deref(), r.expr.as_deref()]).chain([source.filter.as_deref()]);
                let texts = texts.flatten().chain(source.lookups.iter().map(|l| l.on.as_str()));
                let named = lookup_columns_named(&l.alias, texts);
                lf = lf.with_columns(named.iter().map(|c| lit(NULL).cast(DataType::String).alias(c.as_str())).collect::<Vec<_>>());
                columns.extend(named);
                aliases.push(l.alias.clone());
                emptied.push((l.alias.clone(), upstream.unwrap_or_else(|| l.file.clone())));
                continue;
            }
            Loaded::Unusable => return Ok(None),
        };
        let other_cols: Vec<String> = other.get_column_names().iter().map(|s| s.to_string()).filter(|c| c != ROW).collect();
        let on = find_column(&columns, &l.on)
            .ok_or_else(|| mapping_error(name, &format!("{lkey}.on"), format!("{file_name} has no column {} (columns: {})", l.on, columns.join(", "))))?
            .clone();
        let lk = find_column(&other_cols, &l.key)
            .ok_or_else(|| mapping_error(name, &format!("{lkey}.key"), format!("{other_name} has no column {} (columns: {})", l.key, other_cols.join(", "))))?
            .clone();
        let renamed: Vec<Expr> = other_cols.iter().map(|c| col(c.as_str()).alias(format!("{}.{c}", l.alias))).collect();
        // a Salesforce id matches in either of its forms (a report's 15 characters, Data Loader's 18):
        // both sides in the 18-character form, where either has an id of 15
        let short = reader.salesforce_ids && (has_short_ids(&lf, &on)? || has_short_ids(&other.clone().lazy(), &lk)?);
        let id_form = |e: Expr| if short { salesforce_id_18(e) } else { e };
        let right = other
            .lazy()
            .with_column(id_form(col(lk.as_str())).alias("__lookup_key"))
            .filter(col("__lookup_key").is_not_null())
            .unique_stable_generic(Some(vec![col("__lookup_key")]), UniqueKeepStrategy::First)
            .select(renamed.into_iter().chain([col("__lookup_key")]).collect::<Vec<_>>());
        lf = lf.with_column(id_form(col(on.as_str())).alias("__lookup_on")).join(right, [col("__lookup_on")], [col("__lookup_key")], crate::typing::in_order()).drop(by_name(["__lookup_on"], true, false));
        columns.extend(other_cols.iter().map(|c| format!("{}.{c}", l.alias)));
        aliases.push(l.alias.clone());
    }
    if let Some(filter) = &source.filter {
        let (e, _) = sql(filter, &aliases, &columns, file_name).map_err(|m| mapping_error(name, &format!("{key}.filter"), m))?;
        lf = lf.filter(e.fill_null(lit(false)));
        why.push(format!("filter {filter}"));
    }
    let mut exprs = vec![(col(ROW) + lit(index * SOURCE_SHIFT)).alias(ROW)];
    // each column's expression by its contract column, to name one the engine rejects
    let mut keyed: Vec<(&str, Expr)> = Vec::new();
    let mut used = Vec::new();
    // optional columns made by an expression: said where it gives no row a value (`no_row_valued`)
    let mut unvalued: Vec<(&str, Vec<String>, String)> = Vec::new();
    for (c, rule) in &source.rules {
        let ckey = format!("{key}.columns.{c}");
        // a standard field some exports leave out
        if rule.optional && rule.column.as_ref().is_some_and(|name| find_column(&columns, name).is_none()) {
            continue;
        }
        let (e, cols_read, before_map) = column_expr(rule, &aliases, &columns, file_name).map_err(|m| mapping_error(name, &ckey, m))?;
        if let Some(v) = before_map {
            // the values the map does not name: they fell through to `others` or passed as they are
            let named: Vec<String> = rule.map.keys().map(|k| folded(k)).collect();
            let named: Vec<&str> = named.iter().map(String::as_str).collect();
            let key = col("__v").str().strip_chars(lit(NULL)).str().to_lowercase();
            // each distinct value counted, then those the map does not name kept (the
            // same rows as keeping them first, folding only the distinct values)
            let unnamed = lf
                .clone()
                .select([v.alias("__v")])
                .filter(col("__v").is_not_null())
                .group_by([col("__v")])
                .agg([len().alias("__n")])
                .filter(key.is_in(crate::typing::str_list(&named), false).not())
                .sort_by_exprs([col("__n"), col("__v")], SortMultipleOptions::default().with_order_descending_multi([true, false]))
                .collect()?;
            let became = match rule.others.as_ref().map(value_text) {
                Some(o) if o.is_empty() => "empty".to_string(),
                Some(o) => o,
                None => "itself (passed through unchanged)".to_string(),
            };
            let stem = file_stem(file_name);
            let from = match (&rule.column, &rule.expr) {
                (Some(c), _) => format!("{stem}.{c}"),
                _ => format!("{stem} ({ckey})"),
            };
            let (values, counts) = (unnamed.column("__v")?.str()?.clone(), unnamed.column("__n")?.u32()?.clone());
            for i in 0..unnamed.height() {
                if let (Some(v), Some(n)) = (values.get(i), counts.get(i)) {
                    reader.fell_through.push((format!("{}.{c}", spec.name), from.clone(), v.to_string(), n as u64, format!("{became} (not named in the map)")));
                }
            }
        }
        if rule.expr.is_some() && !cols_read.is_empty() {
            expr_fell_through(spec, c, &e, &cols_read, &lf, file_name, &ckey, reader)?;
            let column = spec.column(c);
            if column.is_some_and(|k| !k.required && !matches!(k.ty, crate::contract::ColType::Enum(_))) {
                unvalued.push((*c, cols_read.clone(), ckey.clone()));
            }
        }
        // an empty source value the mapping's default fills (an empty Amount read as 0): counted
        // and said, as a value the map does not name is
        if let (Some(d), Some(source_column), [read]) = (&rule.default, &rule.column, cols_read.as_slice()) {
            let empty = lf.clone().select([col(read.as_str()).cast(DataType::String).str().strip_chars(lit(NULL)).str().len_bytes().eq(lit(0u32)).fill_null(lit(true)).sum().alias("n")]).collect()?;
            let n = empty.column("n")?.cast(&DataType::UInt64)?.u64()?.get(0).unwrap_or(0);
            if n > 0 {
                let from = format!("{}.{source_column}", file_stem(file_name));
                reader.fell_through.push((format!("{}.{c}", spec.name), from, "(empty)".to_string(), n, format!("{} (the mapping's default)", value_text(d))));
            }
        }
        exprs.push(e.alias(*c));
        keyed.push((*c, exprs[exprs.len() - 1].clone()));
        used.push((*c, cols_read));
    }
    // the export's own fields, carried as text into the deal-level tables
    if source.file.is_some() {
        for c in passthrough {
            let found = find_column(&columns, c).ok_or_else(|| {
                let guess = nearest(c, columns.iter().filter(|c| *c != ROW)).map(|g| format!(" (did you mean {g}?)")).unwrap_or_default();
                mapping_error(name, "passthrough.opportunities", format!("{file_name} ({key}) has no column {c}{guess}"))
            })?;
            exprs.push(col(found.as_str()).cast(DataType::String).alias(c.as_str()));
        }
    }
    let before = lf.clone();
    lf = lf.select(exprs.clone());
    let filtered = match lf.collect() {
        Ok(df) => df,
        Err(e) => {
            // name the column whose expression the engine cannot evaluate, once
            let culprit = keyed.iter().find(|(_, e)| before.clone().select([e.clone()]).limit(1).collect().is_err());
            let first = e.to_string().lines().next().unwrap_or_default().to_string();
            return Err(match culprit {
                Some((c, _)) => mapping_error(name, &format!("{key}.columns.{c}"), format!("cannot be computed from {file_name}: {first}")),
                None => mapping_error(name, key, format!("cannot be read from {file_name}: {first}")),
            });
        }
    };
    // every id in its 18-character form, so a reference matches its key whichever form each file
    // has: only in the columns that hold a 15-character one (a whole export of 18 is left as it is;
    // converting every id took a third of a Salesforce export's validate)
    let mut filtered = filtered;
    if reader.salesforce_ids {
        let ids: Vec<String> = filtered.get_column_names().iter().map(|c| c.to_string()).filter(|c| c.ends_with("_id")).collect();
        let lf = filtered.clone().lazy();
        let short: Vec<Expr> = ids.iter().filter(|c| has_short_ids(&lf, c).unwrap_or(false)).map(|c| salesforce_id_18(col(c.as_str())).alias(c.as_str())).collect();
        if !short.is_empty() {
            filtered = lf.with_columns(short).collect()?;
        }
    }
    for (c, cols_read, ckey) in &unvalued {
        if filtered.height() > 0 && filtered.column(c).is_ok_and(|v| v.null_count() == v.len()) {
            no_row_valued(spec, c, cols_read, &before, file_name, ckey, reader)?;
        }
    }
    let after_filter = filtered.height();
    let df = if source.distinct {
        let key_cols: Vec<&str> = spec.key.iter().copied().filter(|k| source.columns.contains_key(*k)).collect();
        let out = filtered.lazy().unique_stable_generic(Some(key_cols.iter().map(|k| col(*k)).collect()), UniqueKeepStrategy::First).collect()?;
        if out.height() < after_filter {
            why.push(format!("{} repeated {}", after_filter - out.height(), key_cols.join(", ")));
        }
        out
    } else {
        filtered
    };
    let kept = df.height();
    Ok(Some(MappedSource { df, read, kept, why: why.join("; "), used, emptied }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Salesforce's 18-character ids by hand: "001A0000006Vm9r" has one
    /// capital in each of its first and last five characters, A at 3 (bit
    /// 8: I) and V at 1 (bit 2: C), none in the middle five (A): IAC.
    /// "0065g00000AbCdE": none, none, then A, C, E at 0, 2, 4 (1 + 4 + 16 =
    /// 21: V). An 18-character id, another length or a character outside
    /// A-Z, a-z, 0-9 stays as it is.
    #[test]
    fn salesforce_ids_in_their_18_character_form_by_hand() {
        assert_eq!(salesforce_id_18_of("001A0000006Vm9r"), "001A0000006Vm9rIAC");
        assert_eq!(salesforce_id_18_of("0065g00000AbCdE"), "0065g00000AbCdEAAV");
        for same in ["001A0000006Vm9rIAC", "006D1", "lead-company:Acme", "0065g00000AbCd-", ""] {
            assert_eq!(salesforce_id_18_of(same), same);
        }
    }

    /// A column through `mapped`, by hand: a value's trimmed, lower-cased
    /// text matched against the keys' (two keys fold to `no answer`: the
    /// first in the map's order, " No answer", wins); values the map does
    /// not name stay as they are, become `others`, or become null where
    /// `others` is empty; a null stays null.
    #[test]
    fn mapped_values_by_hand() {
        let map: BTreeMap<String, toml::Value> = [("Connected", "connected"), (" No answer", "no_answer"), ("NO ANSWER", "never"), ("Left voicemail", "no_answer")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string())))
            .collect();
        let values = [Some("  connected "), Some("No Answer"), Some("LEFT VOICEMAIL"), Some("Busy"), None, Some("Connected")];
        let df = df!("t" => values.to_vec()).unwrap();
        let read = |others: Option<&str>| -> Vec<Option<String>> {
            let others = others.map(|o| toml::Value::String(o.to_string()));
            let out = df.clone().lazy().select([mapped(col("t"), &map, others.as_ref())]).collect().unwrap();
            out.column("t").unwrap().str().unwrap().iter().map(|v| v.map(str::to_string)).collect()
        };
        let s = |v: &str| Some(v.to_string());
        assert_eq!(read(None), [s("connected"), s("no_answer"), s("no_answer"), s("Busy"), None, s("connected")]);
        assert_eq!(read(Some("other")), [s("connected"), s("no_answer"), s("no_answer"), s("other"), None, s("connected")]);
        assert_eq!(read(Some("")), [s("connected"), s("no_answer"), s("no_answer"), None, None, s("connected")]);
    }

    /// SQL's LOWER and UPPER, worked out by distinct value
    /// (`case_by_distinct`), give what Polars' SQL gives, value for value,
    /// inside a larger expression too.
    #[test]
    fn lower_and_upper_give_what_polars_sql_gives() {
        let values = [Some("TRUE"), Some(" True "), Some("ΟΔΟΣ"), Some("straße"), Some("İ"), None, Some(""), Some("TRUE")];
        let df = df!("t" => values.to_vec()).unwrap();
        for text in ["LOWER(t)", "UPPER(t)", "CASE WHEN LOWER(t) IN ('true', '1') THEN 'yes' ELSE 'no' END"] {
            let polars = polars::sql::sql_expr(text).unwrap();
            let (ours, _) = sql(text, &[], &["t".to_string()], "f.csv").unwrap();
            // the fold is ours, not Polars' own any more (which its plan names)
            let (plan, theirs) = (format!("{ours:?}").to_lowercase(), format!("{polars:?}").to_lowercase());
            assert!(theirs.contains("lowercase") || theirs.contains("uppercase"), "{theirs}");
            assert!(!plan.contains("lowercase") && !plan.contains("uppercase"), "{plan}");
            let read = |e: Expr| df.clone().lazy().select([e.alias("out")]).collect().unwrap();
            assert_eq!(read(ours), read(polars), "{text}");
        }
    }

    /// LIKE and ILIKE patterns give the same matches searched unanchored
    /// as Polars' SQL gives them, value by value (case, a newline, the
    /// text at either end, `_`, two wildcards, NOT, a regex character); a
    /// pattern without a leading and trailing `%` is left as it is.
    #[test]
    fn like_patterns_match_the_same_searched_unanchored() {
        let values = [
            Some("Inside Sales Rep"),
            Some("inside sales"),
            Some("INSIDE"),
            Some("Field\nSales, inside"),
            Some("https://zoom.us/j/1"),
            Some("Zoom Room 3"),
            Some("a.b"),
            Some("axb"),
            Some(""),
            None,
        ];
        let df = df!("t" => values.to_vec()).unwrap();
        let sqls = [
            "t ILIKE '%inside%'",
            "t ILIKE '%SALES%'",
            "t LIKE '%Sales%'",
            "t ILIKE '%zoom%' OR t ILIKE '%room%'",
            "t NOT ILIKE '%inside%'",
            "t ILIKE '%in_ide%'",
            "t ILIKE '%field%inside%'",
            "t ILIKE '%a.b%'",
            "t ILIKE '%'",
            "t ILIKE 'inside%'",
            "t LIKE '%Rep'",
        ];
        for sql in sqls {
            let anchored = polars::sql::sql_expr(sql).unwrap();
            let unanchored = anchored.clone().map_expr(unanchored_like);
            let read = |e: Expr| df.clone().lazy().select([e.alias("m")]).collect().unwrap().column("m").unwrap().bool().unwrap().iter().collect::<Vec<_>>();
            assert_eq!(read(unanchored.clone()), read(anchored.clone()), "{sql}");
            let rewritten = format!("{unanchored:?}") != format!("{anchored:?}");
            assert_eq!(rewritten, sql.contains("'%") && !sql.ends_with("'%'") && sql.contains("%'"), "{sql}: {unanchored:?}");
        }
        // worked by hand: '%inside%' case-insensitively takes rows 0 to 3
        let matched = df.clone().lazy().select([polars::sql::sql_expr("t ILIKE '%inside%'").unwrap().map_expr(unanchored_like).alias("m")]).collect().unwrap();
        let matched: Vec<Option<bool>> = matched.column("m").unwrap().bool().unwrap().iter().collect();
        assert_eq!(matched, [Some(true), Some(true), Some(true), Some(true), Some(false), Some(false), Some(false), Some(false), Some(false), None]);
    }
}
