//! `salesrelay schema` and `salesrelay metrics`: the input contract and the
//! kpi_tree nodes as plain text, read from `contract::TABLES` and
//! `metrics::tree::NODES`, so what is printed is what the loader and the
//! metrics use.

use crate::contract::{ColumnSpec, TableSpec, TABLES};
use crate::error::{Error, Result};
use crate::metrics::tree::{factors_of, Node, NodeKind, NODES};

/// How every input file is read, whatever the table.
const READING_RULES: &[&str] = &[
    "one file per table in the input folder: NAME.csv or NAME.parquet (not both)",
    "column names match ignoring case and `_` (AccountId = account_id); other columns are ignored",
    "CSV: UTF-8 or Shift_JIS/CP932, told apart per file (encoding in salesrelay.toml fixes one),",
    "  separated by `,` ([csv] delimiter for `;`, tab or `|`), quoted fields allowed",
    "timestamps: ISO-8601, e.g. 2026-07-01T09:30:00+09:00, 2026-07-01 09:30 or 2026-07-01;",
    "  without an offset they are local time in the configured time_zone",
    "booleans: true/false, t/f, yes/no, y/n, 1/0 (any case)",
    "enum values match ignoring case, with spaces and hyphens read as `_`",
    "an empty field is null; a required column needs a value in every row",
    "key: unique in its table; -> table.column: each non-empty value must exist there",
];

/// The input contract: reading rules and every table (or only `table`).
/// An unknown table name is a `Config` error naming the tables.
pub fn schema(table: Option<&str>) -> Result<String> {
    if let Some(name) = table {
        let spec = TABLES.iter().find(|t| t.name == name).ok_or_else(|| {
            Error::Config(format!("--table {name:?} is not an input table; the tables: {}", table_names()))
        })?;
        return Ok(table_block(spec));
    }
    let required: Vec<&str> = TABLES.iter().filter(|t| t.required).map(|t| t.name).collect();
    let optional: Vec<&str> = TABLES.iter().filter(|t| !t.required).map(|t| t.name).collect();
    let mut out = format!(
        "Input contract: {} tables.\n\
         Required: {}.\n\
         Optional: {}\n\
         (what needs a missing table is reported as not available, never invented).\n\
         \nReading rules:\n",
        TABLES.len(),
        required.join(", "),
        optional.join(", "),
    );
    for rule in READING_RULES {
        match rule.strip_prefix("  ") {
            Some(continued) => out.push_str(&format!("    {continued}\n")),
            None => out.push_str(&format!("  - {rule}\n")),
        }
    }
    for spec in TABLES {
        out.push('\n');
        out.push_str(&table_block(spec));
    }
    Ok(out)
}

fn table_names() -> String {
    TABLES.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

/// One table: its name, whether required, its key, then one aligned line
/// per column (name, required/optional, reference, type) and its order checks.
fn table_block(spec: &TableSpec) -> String {
    let mut out = format!(
        "{} ({})  key: {}\n",
        spec.name,
        if spec.required { "required" } else { "optional" },
        spec.key.join(" + "),
    );
    let rows: Vec<Vec<String>> = spec.columns.iter().map(column_row).collect();
    out.push_str(&aligned(&rows, "  "));
    for rule in spec.order_rules {
        out.push_str(&format!("  check: {} not before {}\n", rule.later, rule.earlier));
    }
    out
}

fn column_row(c: &ColumnSpec) -> Vec<String> {
    vec![
        c.name.to_string(),
        if c.required { "required" } else { "optional" }.to_string(),
        c.references.map(|(t, col)| format!("-> {t}.{col}")).unwrap_or_default(),
        c.ty.describe(),
    ]
}

/// Rows as lines, every cell but the last padded to its column's width;
/// a column empty in every row takes no space.
fn aligned(rows: &[Vec<String>], indent: &str) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let mut line = indent.to_string();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else if widths[i] > 0 {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The kpi_tree nodes: identities, attribution and rules, then every node
/// (or only `node`) in tree order with parent, kind, unit and definition.
/// An unknown node name is a `Config` error.
pub fn metrics(node: Option<&str>) -> Result<String> {
    if let Some(name) = node {
        let n = NODES.iter().find(|n| n.name == name).ok_or_else(|| {
            Error::Config(format!(
                "--node {name:?} is not a kpi_tree node; `salesrelay metrics` lists the {}",
                NODES.len()
            ))
        })?;
        return Ok(node_lines(&[n]));
    }
    let sum = |parent: &str, kind: NodeKind| {
        NODES.iter().filter(|n| n.parent == Some(parent) && n.kind == kind).map(|n| n.name).collect::<Vec<_>>().join(" + ")
    };
    let identities = [
        ("revenue", sum("revenue", NodeKind::Identity)),
        ("revenue_is", factors_of("revenue_is").join(" x ")),
        ("revenue_fs", factors_of("revenue_fs").join(" x ")),
        ("leads", sum("leads", NodeKind::Factor)),
    ];
    let mut out = format!(
        "kpi_tree: {} nodes, each per fiscal quarter and segment (total, source,\n\
         industry, region), compared with the quarter before (comparison\n\
         prior_quarter) and with the same quarter a year earlier (year_ago).\n\nIdentities:\n",
        NODES.len()
    );
    let rows: Vec<Vec<String>> =
        identities.iter().map(|(left, right)| vec![left.to_string(), format!("= {right}")]).collect();
    out.push_str(&aligned(&rows, "  "));
    out.push_str(
        "\nAttribution (kpi_tree's contribution column): each factor of a product\n\
         (revenue_is, revenue_fs) gets its LMDI-I share of the product's change V1 - V0,\n\
         L(V1, V0) x ln(x1 / x0) with L(a, b) = (a - b) / ln(a / b), so the shares add\n\
         up to the change exactly; revenue_is, revenue_fs (under revenue) and\n\
         leads_inbound, leads_outbound (under leads) get their own change; the root,\n\
         counts and indicators get none, and so does the first quarter. Zeros: a\n\
         product zero in both quarters gives every factor 0; zero in one quarter,\n\
         the whole change goes to the first factor, in tree order, that is zero or\n\
         undefined in that quarter; non-zero in both but with a factor zero or\n\
         undefined (flow ratios can break the product), to the first such factor.\n\
         A branch with a factor the input cannot support is not decomposed: its\n\
         contributions are null and kpi_attribution gives its whole change one\n\
         not_decomposed step.\n\
         \n\
         Rules: a ratio with denominator 0 is null; medians are lower medians (one of\n\
         the values); flow ratios count each event in its own quarter, so they can\n\
         exceed 1; IS and FS are the rep's team; IS-sourced means the opportunity has\n\
         a lead_id, FS-sourced that it has none.\n\nNodes:\n",
    );
    let all: Vec<&Node> = NODES.iter().collect();
    out.push_str(&node_lines(&all));
    Ok(out)
}

/// A header, then per node an aligned line (node, parent, node_kind, unit) and
/// its definition indented below it.
fn node_lines(nodes: &[&Node]) -> String {
    let mut rows = vec![vec!["node".to_string(), "parent".into(), "node_kind".into(), "unit".into()]];
    rows.extend(nodes.iter().map(|n| {
        vec![n.name.to_string(), n.parent.unwrap_or("-").to_string(), n.kind.as_str().to_string(), n.unit.as_str().to_string()]
    }));
    let lines = aligned(&rows, "  ");
    let mut lines = lines.lines();
    let mut out = format!("{}\n", lines.next().unwrap_or_default());
    for (line, n) in lines.zip(nodes) {
        out.push_str(&format!("{line}\n      {}\n", n.definition));
    }
    out
}

/// The names `--table` accepts, in contract order.
pub fn table_choices() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|t| t.name)
}

/// The names `--node` accepts, in tree order.
pub fn node_choices() -> impl Iterator<Item = &'static str> {
    NODES.iter().map(|n| n.name)
}
