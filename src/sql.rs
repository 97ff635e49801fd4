//! queries/: each `*.sql` file is one output table, run with Polars SQL over
//! the validated input tables, every output table by name, and `review`
//! (one row: the reviewed `period`, `compare_to`, and `data_end`, the latest
//! event or room view). A header comment documents the table:
//!
//! ```sql
//! -- table: is_rep_leaderboard
//! -- description: IS reps of the reviewed quarter ranked by SQLs.
//! -- column rep_id: the rep
//! -- column sqls: leads qualified in the quarter
//! SELECT ...
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars::sql::SQLContext;

use crate::error::{Error, Result};

/// A query file's header: its table name, description and column docs.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryDoc {
    pub name: String,
    pub description: String,
    pub columns: Vec<(String, String)>,
}

/// One query file, read and parsed.
#[derive(Debug, Clone)]
pub struct Query {
    pub path: PathBuf,
    pub sql: String,
    pub doc: QueryDoc,
}

/// Parses the `-- table:`, `-- description:` and `-- column NAME:` lines at
/// the top of a query; the table name defaults to the file stem.
pub fn parse_header(sql: &str, stem: &str) -> QueryDoc {
    let mut doc = QueryDoc { name: stem.to_string(), description: String::new(), columns: Vec::new() };
    for line in sql.lines() {
        let Some(comment) = line.trim().strip_prefix("--") else {
            if line.trim().is_empty() {
                continue;
            }
            break;
        };
        let comment = comment.trim();
        if let Some(v) = comment.strip_prefix("table:") {
            doc.name = v.trim().to_string();
        } else if let Some(v) = comment.strip_prefix("description:") {
            doc.description = v.trim().to_string();
        } else if let Some(rest) = comment.strip_prefix("column ") {
            if let Some((name, desc)) = rest.split_once(':') {
                doc.columns.push((name.trim().to_string(), desc.trim().to_string()));
            }
        } else if !doc.description.is_empty() && doc.columns.is_empty() && !comment.is_empty() {
            // a description may run over several lines
            doc.description.push(' ');
            doc.description.push_str(comment);
        }
    }
    doc
}

/// Whether `name` can name a query's table: lower-case letters, digits and
/// `_` only, as it becomes `tables/<name>.parquet` (never a path) and a name
/// in SQL.
pub fn is_table_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Reads every `*.sql` in `dir`, sorted by file name; none when the folder is absent.
pub fn read_queries(dir: &Path) -> Result<Vec<Query>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("sql")))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let sql = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let doc = parse_header(&sql, &stem);
            Ok(Query { path, sql, doc })
        })
        .collect()
}

/// Whether query `sql` may read input column `column`: it names it (in
/// any case, a comment included), or asks for every column of a table
/// (a `*` other than `COUNT(*)`; a multiplication counts too). Erring
/// towards yes: a query told no must not read the column.
pub fn may_read_column(sql: &str, column: &str) -> bool {
    let text: String = sql.to_lowercase().split_whitespace().collect();
    text.contains(&column.to_lowercase()) || text.replace("count(*)", "").contains('*')
}

/// Whether query `sql` names `word` as a whole name (any case, a comment
/// included): `sla_met` in `NOT h.sla_met`, not in `sla_met_rate`.
pub fn names_word(sql: &str, word: &str) -> bool {
    let (text, word) = (sql.to_lowercase(), word.to_lowercase());
    let part = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(&word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

/// A SQL context with every table registered by name.
pub fn context(tables: &BTreeMap<String, LazyFrame>) -> SQLContext {
    let ctx = SQLContext::new();
    for (name, lf) in tables {
        ctx.register(name, lf.clone());
    }
    ctx
}

/// Runs one query; the error names the file and carries Polars' message.
pub fn run_query(ctx: &mut SQLContext, query: &Query) -> Result<DataFrame> {
    ctx.execute(&query.sql)
        .and_then(|lf| lf.collect())
        .map_err(|e| Error::Input(format!("{}: {e}", query.path.display())))
}

/// The one-row `review` table: `period`, `compare_to`, `data_end`.
pub fn review_table(period: &str, compare_to: Option<&str>, data_end: Option<i64>) -> Result<DataFrame> {
    let end = Series::new("data_end".into(), [data_end]).cast(&crate::typing::utc_type())?;
    Ok(DataFrame::new(
        1,
        vec![
            Column::new("period".into(), [period]),
            Column::new("compare_to".into(), [compare_to]),
            end.into_column(),
        ],
    )?)
}
