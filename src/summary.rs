//! The one-screen summary and the words for the biggest movers, shared by
//! the run summary and the report.

use std::fmt::Write as _;

use polars::prelude::*;

use crate::error::Result;
use crate::progress::thousands;

/// A driver's name in words.
pub fn driver_label(node: &str) -> &str {
    match node {
        "leads" => "Leads",
        "sql_rate" => "SQL rate",
        "handoff_rate" => "Handoff rate",
        "acceptance_rate" => "FS acceptance rate",
        "win_yield_is" => "IS win yield",
        "deal_size_is" => "IS deal size",
        "opps_fs" => "FS-sourced opportunities",
        "win_yield_fs" => "FS win yield",
        "deal_size_fs" => "FS deal size",
        other => other,
    }
}

/// Money in a compact form: 12.4M, 850k, 920.
/// "1 FS rep", "2,400 FS reps": a count with its noun.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", crate::progress::thousands(n), if n == 1 { one } else { many })
}

pub fn money(x: f64) -> String {
    let a = x.abs();
    let sign = if x < 0.0 { "-" } else { "" };
    if a >= 1e9 {
        format!("{sign}{:.2}B", a / 1e9)
    } else if a >= 1e6 {
        format!("{sign}{:.1}M", a / 1e6)
    } else if a >= 1e4 {
        format!("{sign}{:.0}k", a / 1e3)
    } else {
        format!("{sign}{}", thousands(a.round() as u64))
    }
}

/// A driver's value in its unit: rates as percentages, counts whole, money compact.
pub fn driver_value(node: &str, x: Option<f64>) -> String {
    match x {
        None => "n/a".into(),
        Some(x) if node.ends_with("_rate") || node.starts_with("win_yield") => format!("{:.1}%", 100.0 * x),
        Some(x) if node.starts_with("deal_size") => money(x),
        Some(x) => thousands(x.round().max(0.0) as u64),
    }
}

/// One mover in words: "SQL rate fell from 31.0% to 26.0%: -12.4M".
pub fn mover_sentence(node: &str, prior: Option<f64>, value: Option<f64>, contribution: f64) -> String {
    let verb = match (prior, value) {
        (Some(p), Some(v)) if v > p => "rose",
        (Some(p), Some(v)) if v < p => "fell",
        (Some(_), Some(_)) => "held",
        _ => "changed",
    };
    let sign = if contribution >= 0.0 { "+" } else { "" };
    format!(
        "{} {verb} from {} to {}: {sign}{}",
        driver_label(node),
        driver_value(node, prior),
        driver_value(node, value),
        money(contribution)
    )
}

/// The headline for the total: revenue and change, then the three drivers
/// with the largest contributions in words.
pub fn headline(attribution: &DataFrame, period: &str) -> Result<String> {
    let total = attribution
        .clone()
        .lazy()
        .filter(col("segment_kind").eq(lit("total")).and(col("period").eq(lit(period.to_string()))))
        .collect()?;
    let kinds = total.column("kind")?.str()?.clone();
    let items = total.column("item")?.str()?.clone();
    let amounts = total.column("amount")?.f64()?.clone();
    let priors = total.column("prior_value")?.f64()?.clone();
    let values = total.column("value")?.f64()?.clone();
    let mut out = String::new();
    let mut base = None;
    let mut current = None;
    let mut drivers = Vec::new();
    for i in 0..total.height() {
        match kinds.get(i) {
            Some("base") => base = amounts.get(i),
            Some("current") => current = amounts.get(i),
            Some("driver") => {
                if let (Some(item), Some(a)) = (items.get(i), amounts.get(i)) {
                    drivers.push((item.to_string(), priors.get(i), values.get(i), a));
                }
            }
            _ => {}
        }
    }
    match (base, current) {
        (Some(b), Some(c)) => {
            let pct = if b > 0.0 { format!(" ({:+.1}%)", 100.0 * (c - b) / b) } else { String::new() };
            let _ = writeln!(out, "  revenue {} vs {} the quarter before: {}{}{pct}", money(c), money(b), if c >= b { "+" } else { "" }, money(c - b));
            drivers.sort_by(|x, y| y.3.abs().total_cmp(&x.3.abs()).then(x.0.cmp(&y.0)));
            for (node, p, v, a) in drivers.iter().take(3) {
                let _ = writeln!(out, "  - {}", mover_sentence(node, *p, *v, *a));
            }
        }
        (None, Some(c)) => {
            let _ = writeln!(out, "  revenue {} (no quarter before it in the data to compare with)", money(c));
        }
        _ => {}
    }
    Ok(out)
}
