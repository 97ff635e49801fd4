//! The one-screen summary and the words for the biggest movers, shared by
//! the run summary and the report.

use std::fmt::Write as _;

use polars::prelude::*;

use crate::config::Comparison;
use crate::error::Result;
use crate::metrics::tree::{label, Unit};
use crate::progress::thousands;

/// "1 FS rep", "2,400 FS reps": a count with its noun.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", crate::progress::thousands(n), if n == 1 { one } else { many })
}

/// A number rounded to a whole one with thousands separators: -1,234.
pub fn whole(x: f64) -> String {
    let s = thousands(x.abs().round() as u64);
    if x < 0.0 && x.round() != 0.0 {
        format!("-{s}")
    } else {
        s
    }
}

/// Money in a compact form: 12.4M, 850k, 920.
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

/// A node's value in its unit (from `NODES`): ratios as percentages,
/// money compact, hours and days with one decimal, counts whole; n/a for
/// a value the data cannot support.
pub fn node_value(node: &str, x: Option<f64>) -> String {
    let unit = crate::metrics::tree::find(node).map_or(Unit::Count, |n| n.unit);
    match x {
        None => "n/a".into(),
        Some(x) => match unit {
            Unit::Ratio => format!("{:.1}%", 100.0 * x),
            Unit::Currency => money(x),
            Unit::Hours => format!("{x:.1} h"),
            Unit::Days => format!("{x:.1} days"),
            Unit::Count if x.fract() != 0.0 && x.abs() < 100.0 => format!("{x:.2}"),
            Unit::Count => whole(x),
        },
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
        label(node),
        node_value(node, prior),
        node_value(node, value),
        money(contribution)
    )
}

/// One driver that moved revenue: its node, values and contribution.
#[derive(Debug, Clone, PartialEq)]
pub struct Mover {
    pub node: String,
    pub prior: f64,
    pub value: f64,
    pub contribution: f64,
}

impl Mover {
    /// "SQL rate fell from 31.0% to 26.0%: -12.4M".
    pub fn sentence(&self) -> String {
        mover_sentence(&self.node, Some(self.prior), Some(self.value), self.contribution)
    }
}

/// The revenue change of the total in the reviewed quarter and the drivers
/// that moved it, read from kpi_attribution.
#[derive(Debug, Clone, PartialEq)]
pub struct Movers {
    /// Revenue in the quarter compared with and in the reviewed quarter.
    pub base: Option<f64>,
    pub current: Option<f64>,
    /// The quarter compared with.
    pub compare_to: Option<String>,
    /// Drivers with a value in both quarters and a non-zero contribution,
    /// largest contribution (absolute) first; ties in tree order.
    pub ranked: Vec<Mover>,
    /// Why `ranked` is empty, or what it leaves out (a branch that could
    /// not be decomposed), in words.
    pub note: Option<String>,
}

/// The one ordering of the biggest movers, for the summary, the report and
/// the bridge's title. Not available is never ranked as zero: a driver
/// without a value in both quarters or without a contribution is left out,
/// and a change with nothing to attribute says why.
pub fn movers(attribution: &DataFrame, period: &str, comparison: Comparison) -> Result<Movers> {
    let total = attribution
        .clone()
        .lazy()
        .filter(
            col("segment_kind")
                .eq(lit("total"))
                .and(col("period").eq(lit(period.to_string())))
                .and(col("comparison").eq(lit(comparison.as_str()))),
        )
        .sort(["step"], Default::default())
        .collect()?;
    if total.height() == 0 {
        let note = format!("kpi_attribution has no {} bridge for {period}", comparison.as_str());
        return Ok(Movers { base: None, current: None, compare_to: None, ranked: Vec::new(), note: Some(note) });
    }
    let kinds = crate::output::text_column(&total, "kind")?;
    let items = crate::output::text_column(&total, "item")?;
    let amounts = crate::output::number_column(&total, "amount")?;
    let priors = crate::output::number_column(&total, "prior_value")?;
    let values = crate::output::number_column(&total, "value")?;
    let compare_to = total.column("compare_to")?.str()?.get(0).map(str::to_string);
    let mut out = Movers { base: None, current: None, compare_to, ranked: Vec::new(), note: None };
    let mut undecomposed = Vec::new();
    for i in 0..total.height() {
        match kinds[i].as_str() {
            "base" => out.base = amounts[i],
            "current" => out.current = amounts[i],
            "not_decomposed" => undecomposed.push(items[i].clone()),
            "driver" => {
                if let (Some(p), Some(v), Some(a)) = (priors[i], values[i], amounts[i]) {
                    if a != 0.0 {
                        out.ranked.push(Mover { node: items[i].clone(), prior: p, value: v, contribution: a });
                    }
                }
            }
            _ => {}
        }
    }
    // stable sort: equal contributions keep tree order
    out.ranked.sort_by(|x, y| y.contribution.abs().total_cmp(&x.contribution.abs()));
    let mut caveat = match undecomposed.as_slice() {
        [] => None,
        // the whole change: no IS/FS split (kpi_attribution's unsplit step)
        [whole] if whole == "revenue" => Some(
            "the input cannot tell IS- from FS-sourced deals (opportunities.lead_id is not available), so revenue cannot be split into drivers (see Data coverage)".to_string(),
        ),
        _ => Some(format!(
            "{} cannot be split into drivers with this input (see Data coverage)",
            undecomposed.iter().map(|n| label(n)).collect::<Vec<_>>().join(" and ")
        )),
    };
    // a partial quarter's changes compare part of a quarter with a whole one
    if let (Ok(complete), Ok(days)) = (total.column("complete"), total.column("days_covered")) {
        if let (Some(false), Some(d)) = (complete.bool()?.get(0), days.cast(&DataType::Int64)?.i64()?.get(0)) {
            let partial = format!("{period} covers only {d} days, so these changes compare part of a quarter with a whole one");
            caveat = Some(match caveat {
                Some(n) => format!("{partial}; {n}"),
                None => partial,
            });
        }
    }
    out.note = match (out.base, out.current, &out.compare_to) {
        (_, _, None) | (None, _, _) => Some(match comparison {
            Comparison::PriorQuarter => format!("there is no quarter before {period} in the data to compare with"),
            Comparison::YearAgo => format!("the data does not reach back to the same quarter a year before {period}"),
        }),
        (Some(b), Some(c), Some(q)) if b == 0.0 && c == 0.0 => Some(format!("revenue was 0 in both {q} and {period}: there is no change to attribute")),
        _ if out.ranked.is_empty() && caveat.is_some() => caveat,
        _ if out.ranked.is_empty() => Some("no driver moved revenue".to_string()),
        _ => caveat,
    };
    Ok(out)
}

/// The headline for the total: revenue and change against the quarter
/// before with the three drivers that moved it most, then against the same
/// quarter a year before with the driver that moved it most.
pub fn headline(attribution: &DataFrame, period: &str) -> Result<String> {
    let m = movers(attribution, period, Comparison::PriorQuarter)?;
    let mut out = String::new();
    match (m.base, m.current) {
        (Some(b), Some(c)) => {
            let _ = writeln!(out, "  revenue {} vs {} the quarter before: {}", money(c), money(b), change_words(b, c));
            for mover in m.ranked.iter().take(3) {
                let _ = writeln!(out, "  - {}", mover.sentence());
            }
            if let Some(note) = &m.note {
                let _ = writeln!(out, "  - biggest movers: {note}");
            }
        }
        (None, Some(c)) => {
            let _ = writeln!(out, "  revenue {} (no quarter before it in the data to compare with)", money(c));
        }
        _ => {}
    }
    let y = movers(attribution, period, Comparison::YearAgo)?;
    match (y.base, y.current, &y.compare_to) {
        (Some(b), Some(c), Some(q)) => {
            let most = y.ranked.first().map(|x| format!("; moved most by {}", x.sentence())).unwrap_or_default();
            let _ = writeln!(out, "  a year before ({q}): {}, so {}{most}", money(b), change_words(b, c));
        }
        _ if m.current.is_some() => {
            let _ = writeln!(out, "  a year before: {}", y.note.unwrap_or_default());
        }
        _ => {}
    }
    Ok(out)
}

/// "+1.2M (+4.0%)": a change in money and, from a positive base, in percent.
fn change_words(base: f64, current: f64) -> String {
    let pct = if base > 0.0 { format!(" ({:+.1}%)", 100.0 * (current - base) / base) } else { String::new() };
    format!("{}{}{pct}", if current >= base { "+" } else { "" }, money(current - base))
}

/// The plan in words for the reviewed quarter, from plan_vs_actual and
/// required_volumes (total): revenue against its target, the drivers of the
/// gap (or which targets would let it be split), and what the quarters
/// after it need. Empty without targets for the period.
pub fn plan_lines(tables: &std::collections::BTreeMap<String, LazyFrame>, period: &str) -> Result<Vec<String>> {
    let Some(pva) = tables.get("plan_vs_actual") else { return Ok(Vec::new()) };
    let total = pva
        .clone()
        .filter(col("segment_kind").eq(lit("total")).and(col("period").eq(lit(period.to_string()))))
        .collect()?;
    let nodes = crate::output::text_column(&total, "node")?;
    let (targets, actuals, gaps, contributions) = (
        crate::output::number_column(&total, "target")?,
        crate::output::number_column(&total, "actual")?,
        crate::output::number_column(&total, "gap")?,
        crate::output::number_column(&total, "contribution")?,
    );
    let at = |n: &str| nodes.iter().position(|x| x == n);
    let mut out = Vec::new();
    if let Some(i) = at("revenue") {
        match (targets[i], actuals[i], gaps[i]) {
            (Some(t), Some(a), Some(g)) => {
                let pct = if t > 0.0 { format!("{:.1}%, ", 100.0 * a / t) } else { String::new() };
                out.push(format!("against plan: revenue {} vs target {} ({pct}{}{})", money(a), money(t), if g >= 0.0 { "+" } else { "" }, money(g)));
            }
            (Some(t), _, _) => out.push(format!("against plan: revenue target {}, no actual to compare", money(t))),
            _ => {}
        }
        let drivers: Vec<(String, f64)> = crate::metrics::tree::drivers()
            .iter()
            .filter_map(|(d, _)| at(d).and_then(|j| contributions[j]).filter(|c| *c != 0.0).map(|c| (d.to_string(), c)))
            .collect();
        let mut ranked = drivers.clone();
        ranked.sort_by(|x, y| y.1.abs().total_cmp(&x.1.abs()));
        if !ranked.is_empty() {
            let words: Vec<String> = ranked.iter().take(3).map(|(d, c)| format!("{} {}{}", label(d), if *c >= 0.0 { "+" } else { "" }, money(*c))).collect();
            out.push(format!("- the gap by driver: {}", words.join(", ")));
        }
        let has_target = |n: &str| at(n).and_then(|j| targets[j]).is_some();
        let has_actual = |n: &str| at(n).and_then(|j| actuals[j]).is_some();
        for (branch, other) in [("revenue_is", "revenue_fs"), ("revenue_fs", "revenue_is")] {
            let factors = crate::metrics::tree::factors_of(branch);
            let decomposed = factors.iter().any(|f| at(f).and_then(|j| contributions[j]).is_some());
            if has_target("revenue") && !has_target(branch) && has_target(other) {
                // the other branch's drivers are only part of the gap: this branch's share is not split
                out.push(format!("- {}: no target for {period}, so its part of the gap is not split into drivers", label(branch)));
            } else if has_target(branch) && !decomposed {
                let missing: Vec<&str> = factors.iter().copied().filter(|f| !has_target(f)).collect();
                let unsupported: Vec<&str> = factors.iter().copied().filter(|f| !has_actual(f)).collect();
                let why = if !missing.is_empty() {
                    format!("add targets for {} to split its gap into drivers", missing.join(", "))
                } else if !unsupported.is_empty() {
                    format!("{} not available for this input (see Data coverage), so its gap is not split into drivers", unsupported.join(", "))
                } else {
                    "its factor targets do not multiply to its target".to_string()
                };
                out.push(format!("- {}: {why}", label(branch)));
            }
        }
    }
    if let Some(rv) = tables.get("required_volumes") {
        let ahead = rv
            .clone()
            .filter(col("segment_kind").eq(lit("total")).and(col("period").gt(lit(period.to_string()))))
            .collect()?;
        let (periods, nodes, required, so_far, bases) = (
            crate::output::text_column(&ahead, "period")?,
            crate::output::text_column(&ahead, "node")?,
            crate::output::number_column(&ahead, "required")?,
            crate::output::number_column(&ahead, "actual_to_date")?,
            crate::output::text_column(&ahead, "rate_basis")?,
        );
        let mut quarters: Vec<&String> = periods.iter().collect();
        quarters.dedup();
        for q in quarters.into_iter().take(1) {
            let get = |n: &str, v: &[Option<f64>]| (0..ahead.height()).find(|&i| &periods[i] == q && nodes[i] == n).and_then(|i| v[i]);
            let Some(target) = get("revenue", &required) else { continue };
            let steps: Vec<String> = [("leads", "leads"), ("sqls", "SQLs"), ("handoffs", "handoffs"), ("accepted", "accepted"), ("wins_is", "IS wins"), ("opps_fs", "FS opportunities")]
                .iter()
                .filter_map(|(n, w)| get(n, &required).map(|r| format!("{} {w}", whole(r.ceil()))))
                .collect();
            let window = (0..ahead.height())
                .find(|&i| &periods[i] == q && nodes[i] == "leads")
                .and_then(|i| bases[i].rsplit_once(", ").map(|(_, w)| w.to_string()))
                .unwrap_or_default();
            if !steps.is_empty() {
                let mut line = format!("- to reach {} in {q} at the rates of {window}: {}", money(target), steps.join(", "));
                let done: Vec<String> = [("leads", "leads"), ("sqls", "SQLs")]
                    .iter()
                    .filter_map(|(n, w)| get(n, &so_far).map(|a| format!("{} {w}", whole(a))))
                    .collect();
                if !done.is_empty() {
                    line.push_str(&format!("; so far {}", done.join(", ")));
                }
                out.push(line);
            }
        }
    }
    Ok(out)
}

/// The hybrid meeting pattern and the BDRs' target accounts in words, from
/// meeting_pattern (all quarters) and abm_coverage (the reviewed quarter).
pub fn hybrid_lines(tables: &std::collections::BTreeMap<String, LazyFrame>, period: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if let Some(p) = tables.get("meeting_pattern") {
        let all = p.clone().filter(col("period").eq(lit("all")).and(col("dimension").eq(lit("pattern")))).collect()?;
        let groups = crate::output::text_column(&all, "group")?;
        let (deals, rates) = (crate::output::number_column(&all, "deals")?, crate::output::number_column(&all, "win_rate")?);
        let at = |g: &str| groups.iter().position(|x| x == g).map(|i| (deals[i].unwrap_or(0.0), rates[i]));
        match (at("in_person_first_and_last"), at("online_first_and_last")) {
            (Some((n1, Some(r1))), Some((n2, Some(r2)))) => out.push(format!(
                "deals whose first and last FS meetings were in person won {:.0}% (n={}) against {:.0}% online first and last (n={}), all quarters",
                100.0 * r1,
                whole(n1),
                100.0 * r2,
                whole(n2)
            )),
            // said, not left out: a reader of earlier reviews looks for the line
            _ if deals.iter().all(|d| d.unwrap_or(0.0) == 0.0) => out.push("meeting pattern: no closed deal had an FS meeting, so no win rate by pattern".to_string()),
            (first_last, online) => out.push(format!(
                "meeting pattern: {} closed deal(s) met in person first and last and {} online first and last, all quarters: too few to compare their win rates",
                whole(first_last.map_or(0.0, |g| g.0)),
                whole(online.map_or(0.0, |g| g.0))
            )),
        }
    }
    if let Some(a) = tables.get("abm_coverage") {
        let row = a.clone().filter(col("period").eq(lit(period.to_string())).and(col("rep_id").eq(lit("all")))).collect()?;
        let n = |c: &str| crate::output::number_column(&row, c).ok().and_then(|v| v.first().copied().flatten());
        if let (Some(approached), Some(targets), Some(opps)) = (n("approached"), n("target_accounts"), n("opportunities")) {
            let share = if targets > 0.0 { format!(" ({:.0}%)", 100.0 * approached / targets) } else { String::new() };
            out.push(format!(
                "target accounts approached by BDRs in {period}: {} of {}{share}, {} opportunities created on target accounts",
                whole(approached),
                whole(targets),
                whole(opps)
            ));
        }
    }
    Ok(out)
}
