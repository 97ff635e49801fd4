//! What the input supports: which tables came in, which outputs and metrics
//! were computed, and which are not available and why. The metrics never
//! fill a gap with zeros; this module says where the gaps are.
//!
//! A need is a table (`handoffs`), a column (`leads.qualified_at`) or a
//! fact a mapping declares missing (`opportunities.not_won`: deals that were
//! not won are recorded). `Model::has` answers for one need.

use polars::prelude::*;

use crate::contract::TABLES;
use crate::error::Result;
use crate::metrics::tree::NODES;
use crate::contract::Need;
use crate::metrics::{Model, OUTPUT_TABLES};
use crate::output::TableDoc;
use crate::validate::Validated;

/// The first unmet need of `needs` and why, if any.
pub fn missing(m: &Model, needs: &[Need]) -> Option<(Need, String)> {
    needs.iter().find_map(|n| m.why_not(*n).map(|why| (*n, why)))
}

/// One data_coverage row: kind, name, status, rows, source, reason.
type CoverageRow = (String, String, String, Option<i64>, Option<String>, Option<String>);

/// data_coverage: one row per input table, output table, KPI node and
/// output column the input cannot support; `outputs` are the tables
/// written, by name, with their rows.
pub fn data_coverage(m: &Model, v: &Validated, outputs: &[(&str, usize)]) -> Result<DataFrame> {
    let mut rows: Vec<CoverageRow> = Vec::new();
    let mapping = v.mapping.as_ref().map(|a| a.name.clone());
    let set_aside = |table: &str| -> usize {
        v.findings
            .column("table")
            .ok()
            .and_then(|c| c.str().ok().map(|s| s.iter().filter(|t| *t == Some(table)).count()))
            .unwrap_or(0)
    };
    for spec in TABLES {
        match v.tables.get(spec.name) {
            Some(df) => {
                let mut files = v.files.get(spec.name).cloned().unwrap_or_default();
                files.dedup();
                let files = files.join(", ");
                let source = match &mapping {
                    Some(name) => format!("{files} (mapping {name})"),
                    None => files,
                };
                let mut notes = Vec::new();
                if let Some(applied) = &v.mapping {
                    for (t, file, read, kept, why) in &applied.sources {
                        if t == spec.name && read != kept {
                            notes.push(format!("{file}: {kept} of {read} rows ({why})"));
                        }
                    }
                }
                let problems = set_aside(spec.name);
                if problems > 0 {
                    notes.push(format!("{problems} problem(s), see data_quality"));
                }
                let note = (!notes.is_empty()).then(|| notes.join("; "));
                rows.push(("input".into(), spec.name.into(), "loaded".into(), Some(df.height() as i64), Some(source), note));
                for c in spec.columns.iter().filter(|c| !c.required) {
                    let need = format!("{}.{}", spec.name, c.name);
                    if let Some(why) = m.why_not_key(&need) {
                        rows.push(("input column".into(), need, "not available".into(), None, None, Some(why)));
                    }
                }
            }
            None => {
                let why = m.why_not_key(spec.name).unwrap_or_else(|| "not in the input".into());
                rows.push(("input".into(), spec.name.into(), "not available".into(), None, None, Some(why)));
            }
        }
    }
    if let Some(applied) = &v.mapping {
        for (k, why) in &v.unavailable {
            let is_column = k.split_once('.').is_some_and(|(t, c)| TABLES.iter().any(|s| s.name == t && s.column(c).is_some()));
            if k.contains('.') && !is_column {
                rows.push(("input fact".into(), k.clone(), "not available".into(), None, Some(format!("mapping {}", applied.name)), Some(why.clone())));
            }
        }
    }
    if let Some(applied) = &v.mapping {
        for (column, from, value, n, became) in &applied.fell_through {
            rows.push((
                "unmapped value".into(),
                column.clone(),
                if became.ends_with("(not named in the map)") { "not named in the map" } else { "not matched by the expression" }.into(),
                Some(*n as i64),
                Some(format!("{from} (mapping {})", applied.name)),
                Some(format!("{from}: '{value}' x {n} became {became}")),
            ));
        }
    }
    let produced: Vec<&str> = outputs.iter().map(|(name, _)| *name).collect();
    for (name, n) in outputs {
        rows.push(("output".into(), name.to_string(), "computed".into(), Some(*n as i64), None, None));
    }
    for t in OUTPUT_TABLES {
        if !produced.contains(&t.doc.name) {
            let why = missing(m, t.needs).map(|(n, why)| format!("needs {}: {why}", n.key()));
            rows.push(("output".into(), t.doc.name.to_string(), "not available".into(), None, None, why));
        }
    }
    for n in NODES {
        match missing(m, n.needs) {
            None => rows.push(("kpi node".into(), n.name.into(), "computed".into(), None, None, None)),
            Some((need, why)) => rows.push(("kpi node".into(), n.name.into(), "not available".into(), None, None, Some(format!("needs {}: {why}", need.key())))),
        }
    }
    for t in OUTPUT_TABLES.iter().filter(|t| produced.contains(&t.doc.name)) {
        for (columns, need) in t.column_needs {
            if let Some(why) = m.why_not(*need) {
                for c in *columns {
                    let name = format!("{}.{c}", t.doc.name);
                    rows.push(("output column".into(), name, "not available".into(), None, None, Some(format!("needs {}: {why}", need.key()))));
                }
            }
        }
    }
    Ok(df!(
        "kind" => rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        "name" => rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
        "status" => rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>(),
        "rows" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        "source" => rows.iter().map(|r| r.4.clone()).collect::<Vec<_>>(),
        "reason" => rows.iter().map(|r| r.5.clone()).collect::<Vec<_>>(),
    )?)
}

/// The gaps of a data_coverage table for the run summary: input tables,
/// facts and output tables not available, with the reason.
pub fn not_available_summary(coverage: &DataFrame) -> Result<Vec<(String, String)>> {
    let text = |name: &str| crate::output::text_column(coverage, name);
    let (kind, name, status, reason) = (text("kind")?, text("name")?, text("status")?, text("reason")?);
    Ok((0..coverage.height())
        .filter(|&i| status[i] == "not available" && matches!(kind[i].as_str(), "input" | "input fact" | "output"))
        .map(|i| (format!("{} {}", kind[i], name[i]), reason[i].clone()))
        .collect())
}

pub const DATA_COVERAGE_DOC: TableDoc = TableDoc {
    name: "data_coverage",
    description: "What the input supports: each input table (loaded, from which files, rows left out), each output table and KPI node (computed or not available), and each output column the input cannot support, with the reason. Not available means not computed, never zero.",
    columns: &[
        ("kind", "input, input column, input fact, unmapped value (a source value a mapping's map does not name, or its expression gives no valid value for), output, kpi node or output column"),
        ("name", "the table, table.column, fact or node"),
        ("status", "loaded, computed or not available; for an unmapped value, not named in the map or not matched by the expression"),
        ("rows", "rows loaded (input) or written (output); for an unmapped value, the source rows that hold it"),
        ("source", "the file(s) an input table came from, and the mapping if one was used"),
        ("reason", "why it is not available, or rows a mapping filter left out and problems found"),
    ],
};
