//! Findings: one problem in the input (table, file, row, column, value,
//! rule, detail, effect), the frame they are kept in (data_quality), how
//! one vectorised check produces them, and their grouped text for the
//! screen. A leaf: loading, typing and validation all report through it.

use std::fmt::Write as _;

use polars::prelude::*;

use crate::contract::ROW;
use crate::error::Result;
use crate::output::TableDoc;
use crate::progress::thousands;

/// One problem in the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub table: String,
    /// The file the row is in (filled from the table's files when None).
    pub file: Option<String>,
    pub row: Option<i64>,
    pub column: Option<String>,
    pub value: Option<String>,
    pub rule: String,
    pub detail: String,
    /// What --lenient does about it (see `Effect`).
    pub effect: Effect,
    /// A fatal finding makes a whole table unusable, so even --lenient stops.
    pub fatal: bool,
}

/// What `--lenient` does about a finding: only problems with required
/// values, keys and references cost the row; a bad value in an optional
/// column (coordinates, durations, scores, dates that only refine a row)
/// is emptied and the row kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The row is set aside (and rows referring to it, in turn).
    SetAside,
    /// The value is emptied; the row stays.
    NullValue,
    /// The whole table cannot be used; even --lenient stops.
    Unusable,
    /// Nothing: an unusual order that can happen (see `DATE_ORDERS`). The
    /// row is kept as it is, counted in the run summary and listed in
    /// data_quality (`none`), never a problem that stops the run.
    Noted,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::SetAside => "set_aside",
            Effect::NullValue => "null_value",
            Effect::Unusable => "unusable",
            Effect::Noted => "none",
        }
    }

    /// The effect of `rule` on `column` of `table`: a value in an optional,
    /// non-reference column is emptied, except where emptying it would
    /// change what the row means (a won or lost deal's closed_at).
    pub fn of(table: &str, column: Option<&str>, rule: &str) -> Effect {
        let spec = crate::contract::table(table);
        let optional_value = column
            .and_then(|c| spec.and_then(|t| t.column(c).map(|col| (t, col))))
            .is_some_and(|(t, c)| !c.required && c.references.is_none() && !t.key.contains(&c.name));
        if optional_value
            && !matches!(rule, "closed_without_date" | "closed_before_created" | "duplicate_key" | "duplicate_row" | "no_exchange_rate" | "not_a_currency")
        {
            Effect::NullValue
        } else {
            Effect::SetAside
        }
    }
}

impl Finding {
    /// A problem with a whole file or column.
    pub fn fatal(table: &str, column: Option<String>, rule: &str, detail: String) -> Finding {
        Finding { table: table.into(), file: None, row: None, column, value: None, rule: rule.into(), detail, effect: Effect::Unusable, fatal: true }
    }
    /// A problem at one row that makes the whole file unreadable (e.g. encoding).
    pub fn fatal_at(table: &str, row: u64, rule: &str, detail: String) -> Finding {
        Finding { row: Some(row as i64), ..Finding::fatal(table, None, rule, detail) }
    }
    /// A problem with one row, which --lenient sets aside.
    pub fn row(table: &str, row: i64, column: Option<String>, value: Option<String>, rule: &str, detail: String) -> Finding {
        let effect = Effect::of(table, column.as_deref(), rule);
        Finding { table: table.into(), file: None, row: Some(row), column, value, rule: rule.into(), detail, effect, fatal: false }
    }
    /// The same finding, naming the file it is in.
    pub fn in_file(self, file: &str) -> Finding {
        Finding { file: Some(file.to_string()), ..self }
    }
}

/// Column names of the findings frame (and of data_quality.parquet).
pub const FINDING_COLUMNS: [&str; 9] = ["table", "file", "row", "column", "value", "rule", "detail", "effect", "fatal"];

/// Turns findings into a frame with the findings schema.
pub fn findings_frame(findings: &[Finding]) -> Result<DataFrame> {
    let df = df!(
        "table" => findings.iter().map(|f| f.table.clone()).collect::<Vec<_>>(),
        "file" => findings.iter().map(|f| f.file.clone()).collect::<Vec<_>>(),
        "row" => findings.iter().map(|f| f.row).collect::<Vec<_>>(),
        "column" => findings.iter().map(|f| f.column.clone()).collect::<Vec<_>>(),
        "value" => findings.iter().map(|f| f.value.clone()).collect::<Vec<_>>(),
        "rule" => findings.iter().map(|f| f.rule.clone()).collect::<Vec<_>>(),
        "detail" => findings.iter().map(|f| f.detail.clone()).collect::<Vec<_>>(),
        "effect" => findings.iter().map(|f| f.effect.as_str()).collect::<Vec<_>>(),
        "fatal" => findings.iter().map(|f| f.fatal).collect::<Vec<_>>(),
    )?;
    Ok(df)
}

/// One check as a findings frame: rows of `lf` where `bad` holds.
pub fn check(lf: &LazyFrame, table: &str, column: Option<&str>, value: Expr, bad: Expr, rule: &str, detail: &str) -> LazyFrame {
    lf.clone().filter(bad).select([
        lit(table.to_string()).alias("table"),
        lit(NULL).cast(DataType::String).alias("file"),
        col(ROW).cast(DataType::Int64).alias("row"),
        match column { Some(c) => lit(c.to_string()), None => lit(NULL).cast(DataType::String) }.alias("column"),
        value.cast(DataType::String).alias("value"),
        lit(rule.to_string()).alias("rule"),
        lit(detail.to_string()).alias("detail"),
        lit(Effect::of(table, column, rule).as_str()).alias("effect"),
        lit(false).alias("fatal"),
    ])
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

