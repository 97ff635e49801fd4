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
use crate::metrics::Model;
use crate::output::{Doc, TableDoc};
use crate::validate::Validated;

/// What each output table needs beyond the required tables.
pub const TABLE_NEEDS: &[(&str, &[&str])] = &[
    ("funnel_cohort", &["leads"]),
    ("losses", &["opportunities.not_won"]),
    ("loss_summary", &["opportunities.not_won"]),
    ("loss_feedback", &["opportunities.not_won", "handoffs"]),
    ("handoffs", &["handoffs"]),
    ("handoff_quality", &["handoffs"]),
    ("industry_visit_ratio", &["activities"]),
    ("visit_mix_reps", &["activities"]),
    ("pipeline_movement", &["stage_history", "opportunities.not_won"]),
    ("stage_conversion", &["stage_history", "opportunities.not_won"]),
    ("dsr_engagement", &["dsr_views"]),
    ("engagement_effect", &["dsr_views", "opportunities.not_won"]),
    ("stalled_deals", &["dsr_views", "opportunities.not_won"]),
    ("priority_deals", &["opportunities.not_won"]),
    ("visit_plan", &["opportunities.not_won", "accounts.latitude", "accounts.longitude", "activities"]),
    ("locations_needed", &["opportunities.not_won", "accounts.latitude", "accounts.longitude"]),
];

/// Columns of output tables that need more than their table does: null
/// (with the reason in data_coverage) where the input cannot support them.
pub const COLUMN_NEEDS: &[(&str, &[&str], &str)] = &[
    ("is_reps", &["sqls", "sql_to_win", "sql_to_win_open_deals", "sql_to_win_mature"], "leads.qualified_at"),
    ("is_reps", &["sql_to_win_open_deals", "sql_to_win_mature"], "opportunities.not_won"),
    ("is_reps", &["connected_calls", "connect_rate", "appointments", "appointment_rate"], "activities.outcome"),
    ("is_reps", &["dm_connects", "dm_connect_rate"], "activities.with_decision_maker"),
    ("is_reps", &["pipeline_created"], "opportunities.not_won"),
    ("fs_reps", &["sla_met_rate", "days_to_first_contact_median"], "handoffs.first_fs_contact_at"),
    ("fs_reps", &["send_backs", "send_back_rate"], "handoffs.sent_back_at"),
    (
        "fs_reps",
        &["opportunities", "opportunities_is", "opportunities_fs", "losses", "lost_amount", "win_rate", "win_rate_amount"],
        "opportunities.not_won",
    ),
    ("funnel_cohort", &["sqls", "sql_rate", "handoff_rate", "sql_to_win"], "leads.qualified_at"),
    ("funnel_cohort", &["handed_off", "accepted", "acceptance_rate", "win_yield"], "handoffs"),
    ("funnel_cohort", &["opportunities", "open_opportunities", "deals", "open_deals", "mature"], "opportunities.not_won"),
    ("handoff_quality", &["open_deals", "mature"], "opportunities.not_won"),
    ("dsr_engagement", &["seconds", "pricing_seconds"], "dsr_views.seconds"),
    ("dsr_engagement", &["distinct_assets", "pricing_seconds", "last_asset"], "dsr_views.asset"),
    (
        "dsr_engagement",
        &["views_decision_maker", "views_contact", "views_other", "dm_viewed", "first_dm_view_at", "days_to_first_dm_view"],
        "dsr_views.viewer_role",
    ),
    ("stalled_deals", &["last_asset"], "dsr_views.asset"),
    ("priority_deals", &["last_fs_touch_at"], "activities"),
];

/// The needs of output table `name`.
pub fn table_needs(name: &str) -> &'static [&'static str] {
    TABLE_NEEDS.iter().find(|(n, _)| *n == name).map(|(_, needs)| *needs).unwrap_or(&[])
}

/// The first unmet need of `needs` and why, if any.
pub fn missing(m: &Model, needs: &[&str]) -> Option<(String, String)> {
    needs.iter().find_map(|n| m.why_not(n).map(|why| (n.to_string(), why)))
}

/// Nulls the columns of `df` (output table `name`) the input cannot support.
pub fn null_unsupported(m: &Model, name: &str, mut df: DataFrame) -> Result<DataFrame> {
    for (table, columns, need) in COLUMN_NEEDS {
        if *table != name || m.has(need) {
            continue;
        }
        for c in *columns {
            if let Ok(existing) = df.column(c) {
                let nulls = Column::full_null((*c).into(), df.height(), existing.dtype());
                df.with_column(nulls)?;
            }
        }
    }
    Ok(df)
}

/// data_coverage: one row per input table, output table, KPI node and
/// output column the input cannot support.
pub fn data_coverage(m: &Model, v: &Validated, outputs: &[(Doc, DataFrame)]) -> Result<DataFrame> {
    let mut rows: Vec<(String, String, String, Option<i64>, Option<String>, Option<String>)> = Vec::new();
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
                    if let Some(why) = m.why_not(&need) {
                        rows.push(("input column".into(), need, "not available".into(), None, None, Some(why)));
                    }
                }
            }
            None => {
                let why = m.why_not(spec.name).unwrap_or_else(|| "not in the input".into());
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
    let produced: Vec<&str> = outputs.iter().map(|(d, _)| d.name.as_str()).collect();
    for (doc, df) in outputs {
        rows.push(("output".into(), doc.name.clone(), "computed".into(), Some(df.height() as i64), None, None));
    }
    for (name, needs) in TABLE_NEEDS {
        if !produced.contains(name) {
            let why = missing(m, needs).map(|(n, why)| format!("needs {n}: {why}"));
            rows.push(("output".into(), name.to_string(), "not available".into(), None, None, why));
        }
    }
    for n in NODES {
        match missing(m, n.needs) {
            None => rows.push(("kpi node".into(), n.name.into(), "computed".into(), None, None, None)),
            Some((need, why)) => rows.push(("kpi node".into(), n.name.into(), "not available".into(), None, None, Some(format!("needs {need}: {why}")))),
        }
    }
    for (table, columns, need) in COLUMN_NEEDS {
        if !produced.contains(table) {
            continue;
        }
        if let Some(why) = m.why_not(need) {
            for c in *columns {
                rows.push(("output column".into(), format!("{table}.{c}"), "not available".into(), None, None, Some(format!("needs {need}: {why}"))));
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
        ("kind", "input, input column, input fact, output, kpi node or output column"),
        ("name", "the table, table.column, fact or node"),
        ("status", "loaded, computed or not available"),
        ("rows", "rows loaded (input) or written (output)"),
        ("source", "the file(s) an input table came from, and the mapping if one was used"),
        ("reason", "why it is not available, or rows a mapping filter left out and problems found"),
    ],
};
