//! One data struct and one drawing function per chart. The data comes from
//! the output tables; the title states the finding.

use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::*;

use super::theme::{self, category_colour, direction, money, pct, thousands, text, title};
use super::Tables;
use crate::error::Result;
use crate::config::Comparison;
use crate::metrics::tree::label as node_label;
use crate::summary::{count, node_value};

type DrawResult = std::result::Result<(), String>;

macro_rules! t {
    ($e:expr) => {
        $e.map_err(|e| e.to_string())?
    };
}

fn rows(tables: &Tables, name: &str, filter: Expr) -> Result<Option<DataFrame>> {
    match tables.get(name) {
        Some(lf) => Ok(Some(lf.clone().filter(filter).collect()?)),
        None => Ok(None),
    }
}

use crate::output::number_column as nums;
use crate::output::text_column as strs;

/// The distinct values of `values` in their first-seen order.
fn unique_in_order(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

/// The label of band `i` (drawn over `i..i+1`) at its centre and nothing at
/// other ticks; `top_down` counts bands from the top of a vertical axis.
fn band_label(labels: &[String], at: f64, top_down: bool) -> String {
    let i = at.floor() as usize;
    if (at - at.floor() - 0.5).abs() >= 0.01 || i >= labels.len() {
        return String::new();
    }
    labels[if top_down { labels.len() - 1 - i } else { i }].clone()
}

/// The item with the largest key; on a tie the first, in the chart's own
/// order, so a title never depends on how a sort broke ties.
/// A round number at or below `x` (1, 2 or 5 times a power of ten).
fn nice_floor(x: f64) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    let m = [5.0, 2.0, 1.0].into_iter().find(|m| m * p <= x).unwrap_or(1.0);
    m * p
}

fn first_max<T>(items: impl Iterator<Item = T>, key: impl Fn(&T) -> f64) -> Option<T> {
    let mut best: Option<(f64, T)> = None;
    for item in items {
        let k = key(&item);
        if best.as_ref().is_none_or(|(b, _)| k > *b) {
            best = Some((k, item));
        }
    }
    best.map(|(_, item)| item)
}

fn total_in(period: &str) -> Expr {
    col("segment_kind").eq(lit("total")).and(col("period").eq(lit(period.to_string())))
}

/// The total's rows of kpi_tree or kpi_attribution in `period` and `comparison`.
fn total_compared(period: &str, comparison: Comparison) -> Expr {
    total_in(period).and(col("comparison").eq(lit(comparison.as_str())))
}

/// Splits a label into at most two lines near its middle space.
fn two_lines(label: &str) -> (String, String) {
    if label.len() < 14 {
        return (label.to_string(), String::new());
    }
    let mid = label.len() / 2;
    let split = label.char_indices().filter(|(_, c)| *c == ' ').map(|(i, _)| i).min_by_key(|i| i.abs_diff(mid));
    match split {
        Some(i) => (label[..i].to_string(), label[i + 1..].to_string()),
        None => (label.to_string(), String::new()),
    }
}

// ---------------------------------------------------------------- kpi tree

pub struct KpiTree {
    pub title: String,
    nodes: Vec<TreeNode>,
    period: String,
}

/// One kpi_tree node's row of the total segment.
struct TreeNode {
    name: String,
    value: Option<f64>,
    prior: Option<f64>,
    change: Option<f64>,
    unit: String,
}

impl KpiTree {
    pub fn from_tables(tables: &Tables, period: &str, compare: Comparison) -> Result<Option<KpiTree>> {
        let Some(df) = rows(tables, "kpi_tree", total_compared(period, compare))? else { return Ok(None) };
        let against = compare.words();
        let names = strs(&df, "node")?;
        let (v, p, c, u) = (nums(&df, "value")?, nums(&df, "prior_value")?, nums(&df, "change")?, strs(&df, "unit")?);
        let nodes: Vec<_> =
            (0..df.height()).map(|i| TreeNode { name: names[i].clone(), value: v[i], prior: p[i], change: c[i], unit: u[i].clone() }).collect();
        let title = match nodes.iter().find(|n| n.name == "revenue").map(|n| (n.value, n.prior)) {
            Some((Some(v), Some(p))) if p > 0.0 => {
                format!("{period}: revenue {} ({:+.1}% vs {against}), driver by driver", money(v), 100.0 * (v - p) / p)
            }
            Some((Some(v), _)) => format!("{period}: revenue {}, driver by driver", money(v)),
            _ => format!("{period}: the KPI tree"),
        };
        Ok(Some(KpiTree { title, nodes, period: period.to_string() }))
    }

    fn get(&self, name: &str) -> Option<&TreeNode> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

fn node_text(name: &str, unit: &str, x: Option<f64>) -> String {
    match (unit, x) {
        (_, None) => "n/a".into(),
        ("currency", Some(v)) => money(v),
        ("ratio", Some(v)) => format!("{:.1}%", 100.0 * v),
        ("count", Some(v)) if name.contains("per") => format!("{v:.2}"),
        (_, Some(v)) => thousands(v),
    }
}

/// A change that shows as zero at the precision it is printed with is flat.
fn shown_change(unit: &str, c: Option<f64>) -> Option<f64> {
    c.map(|v| match unit {
        "ratio" if (1000.0 * v).round() == 0.0 => 0.0,
        "currency" | "count" if v.round() == 0.0 => 0.0,
        _ => v,
    })
}

fn change_text(unit: &str, c: Option<f64>) -> String {
    let c = shown_change(unit, c);
    match (unit, c) {
        (_, None) => "no prior quarter".into(),
        ("currency", Some(v)) => format!("{}{}", if v >= 0.0 { "+" } else { "" }, money(v)),
        ("ratio", Some(0.0)) => "0.0 pt".into(),
        ("ratio", Some(v)) => format!("{:+.1} pt", 100.0 * v),
        (_, Some(v)) => format!("{:+}", v.round() as i64),
    }
}

pub fn kpi_tree<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &KpiTree) -> DrawResult {
    t!(area.draw(&Text::new(d.title.clone(), (24, 16), title(24))));
    let (w, _) = area.dim_in_pixel();
    let bw = 138;
    let bh = 84;
    let level = |names: &[&str], y: i32, x0: i32, span: i32| -> Vec<(String, i32, i32)> {
        let n = names.len() as i32;
        names.iter().enumerate().map(|(i, s)| (s.to_string(), x0 + span * (2 * i as i32 + 1) / (2 * n), y)).collect()
    };
    let w = w as i32;
    let top = level(&["revenue"], 90, 0, w);
    let mid = level(&["revenue_is", "revenue_fs"], 230, 0, w);
    let split = w * 2 / 3;
    let is = level(&["leads", "sql_rate", "handoff_rate", "acceptance_rate", "win_yield_is", "deal_size_is"], 400, 0, split);
    let fs = level(&["opps_fs", "win_yield_fs", "deal_size_fs"], 400, split, w - split);
    let link = |from: &(String, i32, i32), to: &(String, i32, i32)| {
        PathElement::new(vec![(from.1, from.2 + bh / 2), (to.1, to.2 - bh / 2)], theme::GRID.stroke_width(2))
    };
    for m in &mid {
        t!(area.draw(&link(&top[0], m)));
    }
    for f in &is {
        t!(area.draw(&link(&mid[0], f)));
    }
    for f in &fs {
        t!(area.draw(&link(&mid[1], f)));
    }
    for (name, x, y) in top.iter().chain(&mid).chain(&is).chain(&fs) {
        let corners = [(x - bw / 2, y - bh / 2), (x + bw / 2, y + bh / 2)];
        let (l1, l2) = two_lines(node_label(name));
        // a node the input cannot support: a box that says so, never a gap or a 0
        let Some(TreeNode { value, change, unit, .. }) = d.get(name) else {
            t!(area.draw(&Rectangle::new(corners, theme::GRID.stroke_width(2))));
            t!(area.draw(&Text::new(l1, (x - bw / 2 + 8, y - bh / 2 + 6), title(13).color(&theme::FLAT))));
            if !l2.is_empty() {
                t!(area.draw(&Text::new(l2, (x - bw / 2 + 8, y - bh / 2 + 21), title(13).color(&theme::FLAT))));
            }
            t!(area.draw(&Text::new("not available", (x - bw / 2 + 8, y + 4), text(13).color(&theme::FLAT))));
            continue;
        };
        let colour = direction(shown_change(unit, *change));
        let fill = colour.mix(0.12);
        t!(area.draw(&Rectangle::new(corners, fill.filled())));
        t!(area.draw(&Rectangle::new(corners, colour.stroke_width(2))));
        t!(area.draw(&Text::new(l1, (x - bw / 2 + 8, y - bh / 2 + 6), title(13))));
        if !l2.is_empty() {
            t!(area.draw(&Text::new(l2, (x - bw / 2 + 8, y - bh / 2 + 21), title(13))));
        }
        t!(area.draw(&Text::new(node_text(name, unit, *value), (x - bw / 2 + 8, y + 4), text(17))));
        t!(area.draw(&Text::new(change_text(unit, *change), (x - bw / 2 + 8, y + 24), text(13).color(&colour))));
    }
    let note = format!(
        "{}: revenue = IS-sourced (leads x SQL rate x handoff rate x acceptance x win yield x deal size) + FS-sourced (opportunities x win yield x deal size). Green rose, red fell, grey held.",
        d.period
    );
    t!(area.draw(&Text::new(note, (24, 500), text(13))));
    Ok(())
}

// ---------------------------------------------------------------- revenue bridge

pub struct Bridge {
    pub title: String,
    /// What money is in, for the axis (JPY, or "input currency").
    currency: String,
    /// (label, start, end, kind, branch)
    steps: Vec<(String, f64, f64, String, String)>,
}

impl Bridge {
    /// The bridge, or why it is left out (no quarter to compare with, no
    /// revenue in either quarter).
    pub fn from_tables(tables: &Tables, period: &str, compare: Comparison, currency: &str) -> Result<std::result::Result<Bridge, String>> {
        let Some(df) = rows(tables, "kpi_attribution", total_compared(period, compare))? else {
            return Ok(Err("kpi_attribution is not available for this input".into()));
        };
        let movers = crate::summary::movers(&df, period, compare)?;
        let (Some(base), Some(current)) = (movers.base, movers.current) else {
            return Ok(Err(movers.note.unwrap_or_else(|| format!("there is no quarter before {period} to compare with"))));
        };
        if base == 0.0 && current == 0.0 {
            return Ok(Err(movers.note.unwrap_or_default()));
        }
        let (items, kinds, branches) = (strs(&df, "item")?, strs(&df, "kind")?, strs(&df, "branch")?);
        let (amounts, running) = (nums(&df, "amount")?, nums(&df, "running_total")?);
        let compare_to = movers.compare_to.clone().unwrap_or_else(|| "prior".into());
        let mut steps = Vec::new();
        for i in 0..df.height() {
            // a driver without a contribution is not drawn: its branch has a not-decomposed step
            let Some(a) = amounts[i] else { continue };
            let end = running[i].unwrap_or(a);
            let label = match kinds[i].as_str() {
                "base" => format!("{compare_to} revenue"),
                "current" => format!("{period} revenue"),
                // the whole change of an input without an IS/FS split
                "not_decomposed" if items[i] == "revenue" => "change, not split".to_string(),
                "not_decomposed" => format!("{}, not decomposed", node_label(&items[i])),
                _ => node_label(&items[i]).to_string(),
            };
            let start = if matches!(kinds[i].as_str(), "base" | "current") { 0.0 } else { end - a };
            steps.push((label, start, end, kinds[i].clone(), branches[i].clone()));
        }
        let verb = if current > base { "rose" } else if current < base { "fell" } else { "held" };
        let title = match movers.ranked.first() {
            Some(m) => format!(
                "Revenue {verb} {} to {}: {} moved it most ({} -> {}, {}{})",
                money(base),
                money(current),
                node_label(&m.node),
                node_value(&m.node, Some(m.prior)),
                node_value(&m.node, Some(m.value)),
                if m.contribution >= 0.0 { "+" } else { "" },
                money(m.contribution)
            ),
            // the note is a sentence for the summary: too long for a title
            None if items.iter().zip(&kinds).any(|(i, k)| i == "revenue" && k == "not_decomposed") => {
                format!("Revenue {verb} {} to {}: no IS/FS split in this input to attribute it", money(base), money(current))
            }
            None => format!("Revenue {verb} {} to {}: {}", money(base), money(current), movers.note.unwrap_or_default()),
        };
        Ok(Ok(Bridge { title, steps, currency: currency.to_string() }))
    }
}

pub fn revenue_bridge<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &Bridge) -> DrawResult {
    let (area, note) = area.split_vertically(area.dim_in_pixel().1 - 30);
    let area = &area;
    t!(note.draw(&Rectangle::new([(110, 6), (124, 20)], theme::IS.stroke_width(2))));
    t!(note.draw(&Text::new("IS-sourced branch", (130, 6), text(13))));
    t!(note.draw(&Rectangle::new([(290, 6), (304, 20)], theme::FS.stroke_width(2))));
    t!(note.draw(&Text::new("FS-sourced branch", (310, 6), text(13))));
    t!(note.draw(&Text::new("green: the driver added revenue, red: it took revenue away, grey: a branch's change the input cannot split (LMDI, exact)", (480, 6), text(13))));
    let n = d.steps.len();
    let top = d.steps.iter().map(|s| s.1.max(s.2)).fold(0.0f64, f64::max) * 1.12;
    // the axis starts near the lowest running total, so the drivers' steps are
    // not slivers on top of two tall bars; base and current are cut (marked)
    let lowest = d.steps.iter().map(|s| if matches!(s.3.as_str(), "base" | "current") { s.2 } else { s.1.min(s.2) }).fold(f64::INFINITY, f64::min);
    let floor = if lowest.is_finite() && lowest > 0.0 { (lowest - 0.15 * (top - lowest)).max(0.0) } else { lowest.min(0.0) };
    let bottom = if floor > 0.0 { nice_floor(floor) } else { floor };
    let mut chart = t!(ChartBuilder::on(area)
        .caption(d.title.clone(), title(20))
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..n as f64, bottom..top.max(1.0)));
    t!(chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .x_labels(0)
        .y_desc(if bottom > 0.0 { format!("revenue ({}), axis from {}", d.currency, money(bottom)) } else { format!("revenue ({})", d.currency) })
        .y_label_formatter(&|v| money(*v))
        .label_style(text(14))
        .light_line_style(TRANSPARENT)
        .draw());
    for (i, (label, start, end, kind, branch)) in d.steps.iter().enumerate() {
        let colour = match kind.as_str() {
            "driver" if end >= start => theme::UP,
            "driver" => theme::DOWN,
            "not_decomposed" => theme::GRID,
            _ => theme::FLAT,
        };
        let x0 = i as f64 + 0.15;
        let x1 = i as f64 + 0.85;
        t!(chart.draw_series(std::iter::once(Rectangle::new([(x0, *start), (x1, *end)], colour.filled()))));
        let edge = if branch == "fs" { theme::FS } else if branch == "is" { theme::IS } else { theme::INK };
        t!(chart.draw_series(std::iter::once(Rectangle::new([(x0, *start), (x1, *end)], edge.stroke_width(2)))));
        let value = if matches!(kind.as_str(), "driver" | "not_decomposed") {
            format!("{}{}", if end >= start { "+" } else { "" }, money(end - start))
        } else {
            money(*end)
        };
        t!(chart.draw_series(std::iter::once(
            EmptyElement::at((i as f64 + 0.5, start.max(*end))) + Text::new(value, (-22, -18), text(13))
        )));
        let (l1, l2) = two_lines(label);
        t!(chart.draw_series(std::iter::once(
            EmptyElement::at((i as f64 + 0.5, bottom)) + Text::new(l1, (-45, 8), text(12)) + Text::new(l2, (-45, 24), text(12))
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------- against plan

impl Bridge {
    /// The bridge from the plan to the actual revenue of `period`: the
    /// revenue target, each driver's share of the gap (plan_vs_actual), a
    /// branch the targets cannot split as one step, the actual revenue.
    pub fn from_plan(tables: &Tables, period: &str, currency: &str) -> Result<std::result::Result<Bridge, String>> {
        let Some(df) = rows(tables, "plan_vs_actual", total_in(period))? else {
            return Ok(Err("no targets in the input (targets.csv)".into()));
        };
        let (nodes, targets, actuals, gaps, contributions) =
            (strs(&df, "node")?, nums(&df, "target")?, nums(&df, "actual")?, nums(&df, "gap")?, nums(&df, "contribution")?);
        let at = |n: &str| nodes.iter().position(|x| x == n);
        let (Some(target), Some(actual)) = (at("revenue").and_then(|i| targets[i]), at("revenue").and_then(|i| actuals[i])) else {
            return Ok(Err(format!("no revenue target with an actual for {period}")));
        };
        let mut steps = vec![(format!("{period} plan"), 0.0, target, "base".to_string(), String::new())];
        let mut running = target;
        let mut push = |label: String, amount: f64, kind: &str, branch: &str, steps: &mut Vec<_>| {
            steps.push((label, running, running + amount, kind.to_string(), branch.to_string()));
            running += amount;
        };
        let mut split = false;
        for (revenue, branch) in [("revenue_is", "is"), ("revenue_fs", "fs")] {
            let factors = crate::metrics::tree::factors_of(revenue);
            let parts: Vec<(&str, f64)> = factors.iter().filter_map(|f| at(f).and_then(|i| contributions[i]).map(|c| (*f, c))).collect();
            if parts.len() == factors.len() {
                split = true;
                for (f, c) in parts {
                    push(node_label(f).to_string(), c, "driver", branch, &mut steps);
                }
            } else if let Some(gap) = at(revenue).and_then(|i| gaps[i]) {
                split = true;
                push(format!("{}, not decomposed", node_label(revenue)), gap, "not_decomposed", branch, &mut steps);
            }
        }
        if !split {
            push("Revenue, not decomposed".to_string(), actual - target, "not_decomposed", "", &mut steps);
        } else if let Some(reached) = steps.last().map(|s| s.2).filter(|r| (actual - r).abs() > 1e-6 * actual.abs().max(1.0)) {
            // a branch without a target (or targets that do not add up to the plan): the rest of the
            // gap in one step, so the steps reach the actual
            let unplanned: Vec<&str> = ["revenue_is", "revenue_fs"].into_iter().filter(|n| at(n).and_then(|i| targets[i]).is_none()).collect();
            let label = match unplanned.as_slice() {
                [one] => format!("{}, no target", node_label(one)),
                _ => "The rest, not decomposed".to_string(),
            };
            push(label, actual - reached, "not_decomposed", "", &mut steps);
        }
        steps.push((format!("{period} revenue"), 0.0, actual, "current".to_string(), String::new()));
        let gap = actual - target;
        let verb = if gap >= 0.0 { "above" } else { "below" };
        let most = steps
            .iter()
            .filter(|s| s.3 == "driver" && s.2 != s.1)
            .max_by(|a, b| (a.2 - a.1).abs().total_cmp(&(b.2 - b.1).abs()))
            .map(|s| format!(": {} moved it most ({}{})", s.0, if s.2 >= s.1 { "+" } else { "" }, money(s.2 - s.1)))
            .unwrap_or_default();
        let title = format!("Revenue {} is {} {verb} the plan of {}{most}", money(actual), money(gap.abs()), money(target));
        Ok(Ok(Bridge { title, steps, currency: currency.to_string() }))
    }
}

pub struct Coverage {
    pub title: String,
    currency: String,
    /// per quarter: (label, pipeline, weighted pipeline, target remaining)
    quarters: Vec<(String, f64, f64, Option<f64>)>,
}

impl Coverage {
    /// The open pipeline of the next two quarters against what their
    /// revenue targets still need, from pipeline_coverage (total, all
    /// forecast categories).
    pub fn from_tables(tables: &Tables, currency: &str) -> Result<Option<Coverage>> {
        let filter = col("segment_kind").eq(lit("total")).and(col("forecast_category").eq(lit("all")));
        let Some(df) = rows(tables, "pipeline_coverage", filter)? else { return Ok(None) };
        let (periods, pipeline, weighted, remaining) =
            (strs(&df, "period")?, nums(&df, "pipeline")?, nums(&df, "weighted_pipeline")?, nums(&df, "target_remaining")?);
        let quarters: Vec<(String, f64, f64, Option<f64>)> =
            (0..df.height()).map(|i| (periods[i].clone(), pipeline[i].unwrap_or(0.0), weighted[i].unwrap_or(0.0), remaining[i])).collect();
        let Some(first) = quarters.first() else { return Ok(None) };
        let title = match first.3 {
            Some(r) if r > 0.0 => format!(
                "{}: open pipeline {} covers {:.1}x of the {} still to win ({:.1}x weighted by stage win rates)",
                first.0,
                money(first.1),
                first.1 / r,
                money(r),
                first.2 / r
            ),
            Some(_) => format!("{}: the revenue target is already won; {} more is open", first.0, money(first.1)),
            None => format!("{}: {} of open pipeline expected to close (no revenue target to cover)", first.0, money(first.1)),
        };
        Ok(Some(Coverage { title, quarters, currency: currency.to_string() }))
    }
}

pub fn pipeline_coverage<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &Coverage) -> DrawResult {
    let n = d.quarters.len();
    let top = d.quarters.iter().map(|q| q.1.max(q.3.unwrap_or(0.0))).fold(1.0, f64::max) * 1.15;
    let mut chart = t!(ChartBuilder::on(area)
        .caption(d.title.clone(), title(20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..n as f64, 0f64..top));
    let labels: Vec<String> = d.quarters.iter().map(|q| q.0.clone()).collect();
    t!(chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x| band_label(&labels, *x, false))
        .y_desc(format!("amount ({})", d.currency))
        .y_label_formatter(&|v| money(*v))
        .label_style(text(14))
        .light_line_style(TRANSPARENT)
        .draw());
    for (i, (_, pipeline, weighted, remaining)) in d.quarters.iter().enumerate() {
        let x = i as f64;
        t!(chart.draw_series([
            Rectangle::new([(x + 0.15, 0.0), (x + 0.45, *pipeline)], theme::IS.mix(0.35).filled()),
            Rectangle::new([(x + 0.15, 0.0), (x + 0.45, *weighted)], theme::IS.filled()),
        ]));
        t!(chart.draw_series(std::iter::once(EmptyElement::at((x + 0.3, *pipeline)) + Text::new(money(*pipeline), (-20, -18), text(13)))));
        if let Some(r) = remaining.filter(|r| *r > 0.0) {
            t!(chart.draw_series(std::iter::once(Rectangle::new([(x + 0.55, 0.0), (x + 0.85, r)], theme::FLAT.mix(0.5).filled()))));
            t!(chart.draw_series(std::iter::once(EmptyElement::at((x + 0.7, r)) + Text::new(money(r), (-20, -18), text(13)))));
        }
    }
    let legend = [(theme::IS.mix(0.35), "open pipeline"), (theme::IS.mix(1.0), "weighted by stage win rate"), (theme::FLAT.mix(0.5), "target still to win")];
    for (k, (colour, label)) in legend.iter().enumerate() {
        let x = 110 + 260 * k as i32;
        let y = area.dim_in_pixel().1 as i32 - 24;
        t!(area.draw(&Rectangle::new([(x, y), (x + 14, y + 14)], colour.filled())));
        t!(area.draw(&Text::new(*label, (x + 20, y), text(13))));
    }
    Ok(())
}

// ---------------------------------------------------------------- meeting pattern

pub struct Meetings {
    pub title: String,
    /// A bar a meeting pattern (in words), over all quarters.
    bars: Vec<RateBar>,
}

/// One bar of a win-rate chart: a group, its closed deals, their win rate
/// and its 95% interval.
struct RateBar {
    group: String,
    deals: f64,
    rate: Option<f64>,
    low: Option<f64>,
    high: Option<f64>,
}

impl Meetings {
    /// Win rate by meeting pattern over all quarters (meeting_pattern).
    pub fn from_tables(tables: &Tables) -> Result<Option<Meetings>> {
        let Some(df) = rows(tables, "meeting_pattern", col("period").eq(lit("all")).and(col("dimension").eq(lit("pattern"))))? else { return Ok(None) };
        let (groups, deals, rate, low, high) = (strs(&df, "group")?, nums(&df, "deals")?, nums(&df, "win_rate")?, nums(&df, "win_rate_low")?, nums(&df, "win_rate_high")?);
        let words = |g: &str| g.replace('_', " ");
        let bars: Vec<_> = (0..df.height())
            .map(|i| RateBar { group: words(&groups[i]), deals: deals[i].unwrap_or(0.0), rate: rate[i], low: low[i], high: high[i] })
            .collect();
        if bars.iter().all(|b| b.deals == 0.0) {
            return Ok(None);
        }
        let at = |g: &str| bars.iter().find(|b| b.group == words(g));
        let title = match (at("in_person_first_and_last"), at("online_first_and_last")) {
            (Some(RateBar { deals: n1, rate: Some(r1), .. }), Some(RateBar { deals: n2, rate: Some(r2), .. })) => format!(
                "In person first and last won {:.0}% (n={}), online first and last {:.0}% (n={})",
                100.0 * r1,
                thousands(*n1),
                100.0 * r2,
                thousands(*n2)
            ),
            _ => "Win rate by FS meeting pattern, all quarters".to_string(),
        };
        Ok(Some(Meetings { title, bars }))
    }
}

pub fn meeting_pattern<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &Meetings) -> DrawResult {
    let n = d.bars.len();
    let mut chart = t!(ChartBuilder::on(area)
        .caption(d.title.clone(), title(20))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(260)
        .build_cartesian_2d(0f64..1.0, 0f64..n as f64));
    let names: Vec<String> = d.bars.iter().map(|b| format!("{} (n={})", b.group, thousands(b.deals))).collect();
    t!(chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n * 2 + 1)
        .y_label_formatter(&|y| band_label(&names, *y, true))
        .x_desc("win rate of closed deals with FS meetings, all quarters (bar: Wilson 95% interval)")
        .x_label_formatter(&|v| format!("{:.0}%", 100.0 * v))
        .label_style(text(14))
        .light_line_style(TRANSPARENT)
        .draw());
    for (row, RateBar { rate, low, high, .. }) in d.bars.iter().enumerate() {
        let y = (n - 1 - row) as f64;
        if let Some(r) = rate {
            t!(chart.draw_series(std::iter::once(Rectangle::new([(0.0, y + 0.25), (*r, y + 0.75)], theme::FS.filled()))));
        }
        if let (Some(l), Some(h)) = (low, high) {
            t!(chart.draw_series(std::iter::once(PathElement::new(vec![(*l, y + 0.5), (*h, y + 0.5)], theme::INK.stroke_width(2)))));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- funnel

pub struct Funnel {
    pub title: String,
    quarters: Vec<String>,
    /// per stage: (name, values per quarter)
    stages: Vec<(&'static str, Vec<f64>)>,
}

impl Funnel {
    /// The funnel of the stages the input supports, or why there is none
    /// (a stage that is not available is left out, never drawn as 0).
    pub fn from_tables(tables: &Tables, period: &str) -> Result<std::result::Result<Funnel, String>> {
        let Some(df) = rows(tables, "funnel_period", col("segment_kind").eq(lit("total")).and(col("period").lt_eq(lit(period.to_string()))))? else {
            return Ok(Err("funnel_period is not available for this input".into()));
        };
        let df = df.tail(Some(8));
        let quarters = strs(&df, "period")?;
        let mut stages = Vec::new();
        let mut missing = Vec::new();
        for (label, c) in [("Leads", "leads"), ("SQLs", "sqls"), ("Handoffs", "handoffs"), ("Accepted", "accepted"), ("IS wins", "wins_is")] {
            let values = nums(&df, c)?;
            if values.iter().all(Option::is_none) {
                missing.push(label);
                continue;
            }
            stages.push((label, values.into_iter().map(|x| x.unwrap_or(0.0)).collect::<Vec<_>>()));
        }
        if stages.len() < 2 {
            return Ok(Err(format!("the input supports too few funnel stages ({} not available; see Data coverage)", missing.join(", "))));
        }
        let last = |k: usize| stages[k].1.last().copied().unwrap_or(0.0);
        let ratio = |a: f64, b: f64| if b > 0.0 { format!(" ({})", pct(a / b)) } else { String::new() };
        let mut parts = Vec::new();
        for k in 0..stages.len() {
            // the two conversions an executive asks for: qualification and FS acceptance
            let step = match (k.checked_sub(1).map(|j| stages[j].0), stages[k].0) {
                (Some("Leads"), "SQLs") | (Some("Handoffs"), "Accepted") => ratio(last(k), last(k - 1)),
                _ => String::new(),
            };
            let noun = match stages[k].0 {
                "Leads" => "leads",
                "Handoffs" => "handoffs",
                "Accepted" => "accepted",
                other => other,
            };
            parts.push(format!("{} {noun}{step}", thousands(last(k))));
        }
        let title = format!("{period}: {}", parts.join(" -> "));
        Ok(Ok(Funnel { title, quarters, stages }))
    }
}

pub fn funnel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &Funnel) -> DrawResult {
    let nq = d.quarters.len();
    // head room above the bars for the legend
    let top = d.stages.iter().flat_map(|s| s.1.iter().copied()).fold(1.0f64, f64::max) * 1.5;
    let mut chart = t!(ChartBuilder::on(area)
        .caption(d.title.clone(), title(19))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..nq as f64, 0f64..top));
    let quarters = d.quarters.clone();
    t!(chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(nq * 2 + 1)
        .x_label_formatter(&|x| band_label(&quarters, *x, false))
        .y_desc("count")
        .y_label_formatter(&|v| thousands(*v))
        .label_style(text(14))
        .light_line_style(TRANSPARENT)
        .draw());
    let ns = d.stages.len() as f64;
    for (k, (name, values)) in d.stages.iter().enumerate() {
        let colour = theme::STAGE_COLOURS[k % theme::STAGE_COLOURS.len()];
        let w = 0.8 / ns;
        t!(chart
            .draw_series(values.iter().enumerate().map(|(q, v)| {
                let x0 = q as f64 + 0.1 + k as f64 * w;
                Rectangle::new([(x0, 0.0), (x0 + w * 0.9, *v)], colour.filled())
            }))
            .map(|s| s.label(*name).legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()))));
    }
    t!(chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(text(14))
        .background_style(WHITE.mix(0.9))
        .border_style(theme::GRID)
        .draw());
    Ok(())
}

// ---------------------------------------------------------------- losses

pub struct LossesByQuarter {
    pub title: String,
    quarters: Vec<String>,
    /// (category, losses per quarter)
    series: Vec<(String, Vec<f64>)>,
}

// the loss categories, in the order the charts stack them (the classifier's)
use crate::rules::CATEGORIES;

impl LossesByQuarter {
    pub fn from_tables(tables: &Tables, period: &str) -> Result<Option<LossesByQuarter>> {
        let filter = col("segment_kind").eq(lit("total")).and(col("level").eq(lit("category"))).and(col("period").lt_eq(lit(period.to_string())));
        let Some(df) = rows(tables, "loss_summary", filter)? else { return Ok(None) };
        let periods = strs(&df, "period")?;
        let cats = strs(&df, "category")?;
        let losses = nums(&df, "losses")?;
        let quarters = unique_in_order(&periods);
        let quarters: Vec<String> = quarters.iter().rev().take(8).rev().cloned().collect();
        let series: Vec<(String, Vec<f64>)> = CATEGORIES
            .iter()
            .map(|c| {
                let v = quarters
                    .iter()
                    .map(|q| (0..df.height()).find(|&i| &periods[i] == q && cats[i] == *c).and_then(|i| losses[i]).unwrap_or(0.0))
                    .collect();
                (c.to_string(), v)
            })
            .collect();
        let last = quarters.len().saturating_sub(1);
        let total: f64 = series.iter().map(|s| s.1.get(last).copied().unwrap_or(0.0)).sum();
        let top = first_max(series.iter(), |s| s.1.get(last).copied().unwrap_or(0.0));
        let title = match top {
            Some((c, v)) if total > 0.0 => format!(
                "{period}: {} deals lost; {} reasons lead with {} of them",
                thousands(total),
                c,
                pct(v.get(last).copied().unwrap_or(0.0) / total)
            ),
            _ => format!("{period}: no deals lost"),
        };
        Ok(Some(LossesByQuarter { title, quarters, series }))
    }
}

fn stacked_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, x: i32, y: i32) -> DrawResult {
    for (i, c) in CATEGORIES.iter().enumerate() {
        let x = x + i as i32 * 150;
        t!(area.draw(&Rectangle::new([(x, y), (x + 14, y + 14)], category_colour(c).filled())));
        t!(area.draw(&Text::new(c.to_string(), (x + 20, y), text(14))));
    }
    Ok(())
}

pub fn losses_by_quarter<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &LossesByQuarter) -> DrawResult {
    let nq = d.quarters.len();
    let totals: Vec<f64> = (0..nq).map(|q| d.series.iter().map(|s| s.1[q]).sum()).collect();
    let top = totals.iter().copied().fold(1.0, f64::max) * 1.15;
    let (plot, legend) = area.split_vertically(area.dim_in_pixel().1 - 40);
    let mut chart = t!(ChartBuilder::on(&plot)
        .caption(d.title.clone(), title(20))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..nq as f64, 0f64..top));
    let quarters = d.quarters.clone();
    t!(chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(nq * 2 + 1)
        .x_label_formatter(&|x| band_label(&quarters, *x, false))
        .y_desc("lost deals")
        .y_label_formatter(&|v| thousands(*v))
        .label_style(text(14))
        .light_line_style(TRANSPARENT)
        .draw());
    let mut base = vec![0.0; nq];
    for (cat, values) in &d.series {
        let colour = category_colour(cat);
        t!(chart.draw_series(values.iter().enumerate().map(|(q, v)| {
            let r = Rectangle::new([(q as f64 + 0.2, base[q]), (q as f64 + 0.8, base[q] + v)], colour.filled());
            base[q] += v;
            r
        })));
    }
    stacked_legend(&legend, 40, 8)
}

pub struct LossesByIndustry {
    pub title: String,
    /// (industry, losses per category)
    bars: Vec<(String, Vec<f64>)>,
}

impl LossesByIndustry {
    pub fn from_tables(tables: &Tables, period: &str) -> Result<Option<LossesByIndustry>> {
        let filter = col("segment_kind").eq(lit("industry")).and(col("level").eq(lit("category"))).and(col("period").eq(lit(period.to_string())));
        let Some(df) = rows(tables, "loss_summary", filter)? else { return Ok(None) };
        let (segs, cats, losses) = (strs(&df, "segment")?, strs(&df, "category")?, nums(&df, "losses")?);
        let industries = unique_in_order(&segs);
        let bars: Vec<(String, Vec<f64>)> = industries
            .iter()
            .map(|ind| {
                let v = CATEGORIES
                    .iter()
                    .map(|c| (0..df.height()).find(|&i| &segs[i] == ind && cats[i] == *c).and_then(|i| losses[i]).unwrap_or(0.0))
                    .collect();
                (ind.clone(), v)
            })
            .collect();
        // most losses first; ties keep the benchmark order
        let mut bars = bars;
        bars.sort_by(|a, b| b.1.iter().sum::<f64>().total_cmp(&a.1.iter().sum::<f64>()));
        let most = bars.first().map(|b| b.1.iter().sum::<f64>()).unwrap_or(0.0);
        let tied: Vec<&str> = bars.iter().filter(|b| b.1.iter().sum::<f64>() == most).map(|b| b.0.as_str()).collect();
        let title = match tied.as_slice() {
            _ if most <= 0.0 => format!("{period}: losses by industry"),
            [one] => format!("{period}: {one} lost the most deals ({})", thousands(most)),
            [init @ .., last] => format!("{period}: {} and {last} lost the most deals, {} each", init.join(", "), thousands(most)),
            [] => format!("{period}: losses by industry"),
        };
        Ok(Some(LossesByIndustry { title, bars }))
    }
}

pub fn losses_by_industry<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &LossesByIndustry) -> DrawResult {
    let n = d.bars.len();
    let top = d.bars.iter().map(|b| b.1.iter().sum::<f64>()).fold(1.0, f64::max) * 1.1;
    let (plot, legend) = area.split_vertically(area.dim_in_pixel().1 - 40);
    let mut chart = t!(ChartBuilder::on(&plot)
        .caption(d.title.clone(), title(20))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(420)
        .build_cartesian_2d(0f64..top, 0f64..n as f64));
    let names: Vec<String> = d.bars.iter().map(|b| b.0.clone()).collect();
    t!(chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n * 2 + 1)
        .y_label_formatter(&|y| band_label(&names, *y, true))
        .x_desc("lost deals in the quarter")
        .x_label_formatter(&|v| thousands(*v))
        .label_style(text(14))
        .light_line_style(TRANSPARENT)
        .draw());
    for (row, (_, values)) in d.bars.iter().enumerate() {
        let y = (n - 1 - row) as f64;
        let mut x = 0.0;
        for (k, v) in values.iter().enumerate() {
            t!(chart.draw_series(std::iter::once(Rectangle::new([(x, y + 0.2), (x + v, y + 0.8)], category_colour(CATEGORIES[k]).filled()))));
            x += v;
        }
    }
    stacked_legend(&legend, 40, 8)
}

// ---------------------------------------------------------------- visit ratio

pub struct VisitRatio {
    pub title: String,
    /// (industry, share, benchmark)
    bars: Vec<(String, Option<f64>, f64)>,
}

impl VisitRatio {
    /// Bars and title from industry_visit_ratio. The title counts industries
    /// by the rule the recommendation column uses (a gap beyond
    /// +/-GAP_THRESHOLD_PT points), so chart and table agree.
    pub fn from_tables(tables: &Tables, period: &str) -> Result<Option<VisitRatio>> {
        let Some(df) = rows(tables, "industry_visit_ratio", col("period").eq(lit(period.to_string())))? else { return Ok(None) };
        let (names, share, bench) = (strs(&df, "industry")?, nums(&df, "in_person_share")?, nums(&df, "benchmark_share")?);
        let bars: Vec<_> = (0..df.height()).map(|i| (names[i].clone(), share[i], bench[i].unwrap_or(0.0))).collect();
        let threshold = crate::metrics::visits::GAP_THRESHOLD_PT;
        let gap = |b: &(String, Option<f64>, f64)| b.1.map(|s| 100.0 * (s - b.2));
        let above = bars.iter().filter(|b| gap(b).is_some_and(|g| g > threshold)).count();
        let below = bars.iter().filter(|b| gap(b).is_some_and(|g| g < -threshold)).count();
        let measured = bars.iter().filter(|b| b.1.is_some()).count();
        let widest = first_max(bars.iter().filter_map(|b| gap(b).map(|g| (b.0.clone(), g))), |w| w.1.abs());
        let title = match widest {
            Some((ind, g)) => format!(
                "{period}: of {measured} industries, {above} visit in person more than the survey and {below} less (beyond {threshold:.0} pt), {} in line; widest gap {ind} ({g:+.0} pt)",
                measured - above - below
            ),
            None => format!("{period}: no FS meetings recorded"),
        };
        Ok(Some(VisitRatio { title, bars }))
    }
}

pub fn industry_visit_ratio<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &VisitRatio) -> DrawResult {
    let n = d.bars.len();
    let (plot, legend) = area.split_vertically(area.dim_in_pixel().1 - 40);
    let mut chart = t!(ChartBuilder::on(&plot)
        .caption(d.title.clone(), title(18))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(420)
        .build_cartesian_2d(0f64..1f64, 0f64..n as f64));
    let names: Vec<String> = d.bars.iter().map(|b| b.0.clone()).collect();
    t!(chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n * 2 + 1)
        .y_label_formatter(&|y| band_label(&names, *y, true))
        .x_desc("in-person share of FS meetings (visits / (visits + online meetings))")
        .x_label_formatter(&|v| pct(*v))
        .label_style(text(14))
        .light_line_style(TRANSPARENT)
        .draw());
    for (row, (_, share, bench)) in d.bars.iter().enumerate() {
        let y = (n - 1 - row) as f64;
        if let Some(s) = share {
            // the colour says what the recommendation column says: above, in line or below the survey
            let threshold = crate::metrics::visits::GAP_THRESHOLD_PT / 100.0;
            let fill = if *s - bench > threshold {
                theme::FS
            } else if bench - *s > threshold {
                theme::IS
            } else {
                theme::FLAT
            };
            t!(chart.draw_series(std::iter::once(Rectangle::new([(0.0, y + 0.2), (*s, y + 0.8)], fill.filled()))));
            let inside = if *s > 0.08 { -40 } else { 6 };
            let colour = if *s > 0.08 { WHITE } else { theme::INK };
            t!(chart.draw_series(std::iter::once(EmptyElement::at((*s, y + 0.5)) + Text::new(pct(*s), (inside, -7), text(13).color(&colour)))));
        }
        t!(chart.draw_series(std::iter::once(PathElement::new(vec![(*bench, y + 0.05), (*bench, y + 0.95)], theme::BENCH.stroke_width(3)))));
    }
    for (k, (colour, label)) in [(theme::FS, "above the survey"), (theme::FLAT, "in line (within 10 pt)"), (theme::IS, "below the survey")].iter().enumerate() {
        let x = 40 + 190 * k as i32;
        t!(legend.draw(&Rectangle::new([(x, 10), (x + 14, 24)], colour.filled())));
        t!(legend.draw(&Text::new(*label, (x + 20, 10), text(14))));
    }
    t!(legend.draw(&PathElement::new(vec![(620, 8), (620, 26)], theme::BENCH.stroke_width(3))));
    t!(legend.draw(&Text::new("survey benchmark (n=1,817 sales professionals, May 2026)", (630, 10), text(14))));
    Ok(())
}

// ---------------------------------------------------------------- IS reps

pub struct IsReps {
    pub title: String,
    /// (role, sqls, sql_to_win, mature)
    points: Vec<(String, f64, f64, bool)>,
    /// Names at each distinct point, joined where reps share a point; all of
    /// them up to 15 points, else the five with the most and the fewest SQLs.
    labels: Vec<(f64, f64, String)>,
}

impl IsReps {
    pub fn from_tables(tables: &Tables, period: &str) -> Result<Option<IsReps>> {
        let Some(df) = rows(tables, "is_reps", col("period").eq(lit(period.to_string())))? else { return Ok(None) };
        let (roles, sqls, win) = (strs(&df, "role")?, nums(&df, "sqls")?, nums(&df, "sql_to_win")?);
        let names = if df.schema().contains("rep_name") { strs(&df, "rep_name")? } else { strs(&df, "rep_id")? };
        let ids = strs(&df, "rep_id")?;
        let mature: Vec<Option<bool>> = df.column("sql_to_win_mature")?.bool()?.iter().collect();
        let open: f64 = nums(&df, "sql_to_win_open_deals")?.iter().flatten().sum();
        let points: Vec<_> = (0..df.height())
            .filter_map(|i| Some((roles[i].clone(), sqls[i]?, win[i]?, mature[i] == Some(true))))
            .collect();
        // nothing to place: an empty scatter would pass for reps at zero
        if points.is_empty() {
            return Ok(None);
        }
        let mean = |role: &dyn Fn(&str) -> bool| {
            let v: Vec<&(String, f64, f64, bool)> = points.iter().filter(|p| role(&p.0)).collect();
            let s: f64 = v.iter().map(|p| p.1).sum();
            let w: f64 = v.iter().map(|p| p.1 * p.2).sum();
            (v.len(), if s > 0.0 { Some(w / s) } else { None }, if v.is_empty() { 0.0 } else { s / v.len() as f64 })
        };
        let (ai_n, ai_win, ai_sqls) = mean(&|r| r == "ai_sdr");
        let (hu_n, hu_win, hu_sqls) = mean(&|r| r != "ai_sdr");
        let all_mature = points.iter().all(|p| p.3);
        // an immature cohort's SQL-to-win is a lower bound: never ranked on
        let title = if ai_n > 0 && hu_n > 0 && all_mature {
            format!(
                "{period}: AI SDRs averaged {:.0} SQLs at {} SQL-to-win; human reps {:.0} at {}",
                ai_sqls,
                ai_win.map(pct).unwrap_or("n/a".into()),
                hu_sqls,
                hu_win.map(pct).unwrap_or("n/a".into())
            )
        } else if ai_n > 0 && hu_n > 0 {
            format!(
                "{period}: AI SDRs averaged {:.0} SQLs, human reps {:.0}; SQL-to-win not final ({} still open)",
                ai_sqls,
                hu_sqls,
                count(open as u64, "deal", "deals")
            )
        } else if all_mature {
            format!("{period}: IS reps by volume (SQLs) and quality (SQL-to-win)")
        } else {
            format!("{period}: IS reps by volume (SQLs); SQL-to-win not final ({} still open)", count(open as u64, "deal", "deals"))
        };
        // one label per distinct point, the reps on it named together
        let mut at: Vec<(f64, f64, Vec<String>)> = Vec::new();
        for i in 0..df.height() {
            let (Some(x), Some(y)) = (sqls[i], win[i]) else { continue };
            let name = if names[i].is_empty() { ids[i].clone() } else { names[i].clone() };
            match at.iter_mut().find(|p| p.0 == x && p.1 == y) {
                Some(p) => p.2.push(name),
                None => at.push((x, y, vec![name])),
            }
        }
        at.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
        let keep = |i: usize| at.len() <= 15 || i < 5 || i >= at.len() - 5;
        let labels = at.iter().enumerate().filter(|(i, _)| keep(*i)).map(|(_, p)| (p.0, p.1, p.2.join(", "))).collect();
        Ok(Some(IsReps { title, points, labels }))
    }
}

pub fn is_reps<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &IsReps) -> DrawResult {
    let xmax = d.points.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let ymax = d.points.iter().map(|p| p.2).fold(0.1, f64::max).min(1.0) * 1.1;
    let any_immature = d.points.iter().any(|p| !p.3);
    let y_desc = if any_immature { "SQL-to-win (quality); hollow = not final, deals still open" } else { "SQL-to-win (quality)" };
    let mut chart = t!(ChartBuilder::on(area)
        .caption(d.title.clone(), title(18))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..xmax, 0f64..ymax));
    t!(chart
        .configure_mesh()
        .x_desc("SQLs in the quarter (volume)")
        .y_desc(y_desc)
        .x_label_formatter(&|v| thousands(*v))
        .y_label_formatter(&|v| pct(*v))
        .label_style(text(14))
        .light_line_style(TRANSPARENT)
        .draw());
    let roles = [("sdr", "SDR", theme::IS), ("bdr", "BDR", RGBColor(44, 160, 44)), ("ai_sdr", "AI SDR", theme::DOWN)];
    for (role, label, colour) in roles {
        let pts: Vec<(f64, f64, bool)> = d.points.iter().filter(|p| p.0 == role).map(|p| (p.1, p.2, p.3)).collect();
        // a mature point is filled; an immature one (its cohort still open) hollow
        let style = move |mature: bool| if mature { colour.filled() } else { colour.stroke_width(2) };
        if role == "ai_sdr" {
            t!(chart
                .draw_series(pts.iter().map(|p| TriangleMarker::new((p.0, p.1), 10, style(p.2))))
                .map(|s| s.label(label).legend(move |(x, y)| TriangleMarker::new((x + 7, y), 8, colour.filled()))));
        } else {
            t!(chart
                .draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 6, style(p.2))))
                .map(|s| s.label(label).legend(move |(x, y)| Circle::new((x + 7, y), 6, colour.filled()))));
        }
    }
    for (x, y, name) in &d.labels {
        t!(chart.draw_series(std::iter::once(EmptyElement::at((*x, *y)) + Text::new(name.clone(), (9, -14), text(12)))));
    }
    t!(chart.configure_series_labels().label_font(text(14)).background_style(WHITE.mix(0.9)).border_style(theme::GRID).draw());
    Ok(())
}

// ---------------------------------------------------------------- first contact

pub struct FirstContact {
    pub title: String,
    /// per 12-hour bin of elapsed time (the last holding everything beyond):
    /// handoffs that met the SLA and that missed it, by their own `sla_met`
    /// (business time), so the bars and the title agree with the table
    bins: Vec<(f64, f64)>,
    no_contact: f64,
    sla_hours: f64,
    /// Accepted handoffs without any `sla_met`: the input has no first FS
    /// contact times (handoffs.first_fs_contact_at), so no SLA to draw.
    pub unsupported: bool,
}

const BIN_H: f64 = 12.0;
const BINS: usize = 21;

impl FirstContact {
    pub fn from_tables(tables: &Tables, period: &str, sla_days: f64) -> Result<Option<FirstContact>> {
        let Some(df) = rows(tables, "handoffs", col("period").eq(lit(period.to_string())).and(col("accepted")))? else { return Ok(None) };
        let hours = nums(&df, "hours_to_first_contact")?;
        let met: Vec<Option<bool>> = df.column("sla_met")?.bool()?.iter().collect();
        let mut bins = vec![(0.0, 0.0); BINS];
        let mut no_contact = 0.0;
        for (h, m) in hours.iter().zip(&met) {
            match h {
                Some(h) => {
                    let bin = &mut bins[((h.max(0.0) / BIN_H) as usize).min(BINS - 1)];
                    if *m == Some(true) {
                        bin.0 += 1.0;
                    } else {
                        bin.1 += 1.0;
                    }
                }
                None => no_contact += 1.0,
            }
        }
        let n = met.len();
        let met_n = met.iter().filter(|m| **m == Some(true)).count();
        let title = if n > 0 {
            format!(
                "{period}: {} of {} accepted handoffs got a first FS contact within {} business days ({})",
                met_n,
                n,
                sla_days,
                pct(met_n as f64 / n as f64)
            )
        } else {
            format!("{period}: no accepted handoffs")
        };
        let unsupported = n > 0 && met.iter().all(Option::is_none);
        Ok(Some(FirstContact { title, bins, no_contact, sla_hours: sla_days * 24.0, unsupported }))
    }
}

pub fn first_contact_sla<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &FirstContact) -> DrawResult {
    let top = d.bins.iter().map(|(m, x)| m + x).fold(1.0, f64::max) * 1.15;
    let xmax = BIN_H * BINS as f64;
    let mut chart = t!(ChartBuilder::on(area)
        .caption(d.title.clone(), title(18))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..xmax, 0f64..top));
    t!(chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(format!("elapsed hours from handoff to first FS contact (last bar: {}+ h)", xmax - BIN_H))
        .y_desc("accepted handoffs")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| thousands(*v))
        .label_style(text(14))
        .light_line_style(TRANSPARENT)
        .draw());
    // met (dark) below missed (light): a Friday handoff contacted on Tuesday met
    // the SLA in business time although more elapsed hours passed
    t!(chart.draw_series(d.bins.iter().enumerate().flat_map(|(i, (met, missed))| {
        let x0 = i as f64 * BIN_H;
        [
            Rectangle::new([(x0 + 0.8, 0.0), (x0 + BIN_H - 0.8, *met)], theme::FS.mix(1.0).filled()),
            Rectangle::new([(x0 + 0.8, *met), (x0 + BIN_H - 0.8, met + missed)], theme::FS.mix(0.3).filled()),
        ]
    })));
    t!(chart.draw_series(std::iter::once(PathElement::new(vec![(d.sla_hours, 0.0), (d.sla_hours, top)], theme::DOWN.stroke_width(2)))));
    t!(chart.draw_series(std::iter::once(
        EmptyElement::at((d.sla_hours, top * 0.95))
            + Text::new(
                format!("{:.0} h: the SLA on weekdays; dark = met in business time, light = missed", d.sla_hours),
                (8, 0),
                text(14).color(&theme::DOWN),
            )
    )));
    t!(chart.draw_series(std::iter::once(
        EmptyElement::at((xmax * 0.55, top * 0.85)) + Text::new(format!("no contact yet: {}", thousands(d.no_contact)), (0, 0), text(14))
    )));
    Ok(())
}

// ---------------------------------------------------------------- trends

pub struct Trends {
    pub title: String,
    quarters: Vec<String>,
    /// per quarter: the data covers it only partly (drawn hollow)
    partial: Vec<bool>,
    /// (panel title, unit, series)
    panels: Vec<(String, &'static str, Vec<TrendLine>)>,
}

/// One line of a trend panel: (label, colour, a value a quarter).
type TrendLine = (&'static str, RGBColor, Vec<Option<f64>>);

impl Trends {
    pub fn from_tables(tables: &Tables, period: &str) -> Result<Option<Trends>> {
        let filter = col("segment_kind")
            .eq(lit("total"))
            .and(col("period").lt_eq(lit(period.to_string())))
            .and(col("comparison").eq(lit(Comparison::PriorQuarter.as_str())));
        let Some(df) = rows(tables, "kpi_tree", filter)? else { return Ok(None) };
        let (periods, nodes, values) = (strs(&df, "period")?, strs(&df, "node")?, nums(&df, "value")?);
        let quarters = unique_in_order(&periods);
        let complete: Vec<Option<bool>> = df.column("complete")?.bool()?.iter().collect();
        let partial: Vec<bool> = quarters.iter().map(|q| (0..df.height()).any(|i| &periods[i] == q && complete[i] == Some(false))).collect();
        let series = |node: &str| -> Vec<Option<f64>> {
            quarters.iter().map(|q| (0..df.height()).find(|&i| &periods[i] == q && nodes[i] == node).and_then(|i| values[i])).collect()
        };
        let panels = vec![
            ("Revenue".to_string(), "currency", vec![("IS-sourced", theme::IS, series("revenue_is")), ("FS-sourced", theme::FS, series("revenue_fs"))]),
            ("SQL rate".to_string(), "ratio", vec![("SQLs / leads", theme::IS, series("sql_rate"))]),
            ("Win yield".to_string(), "ratio", vec![("IS: wins / accepted", theme::IS, series("win_yield_is")), ("FS: wins / opportunities", theme::FS, series("win_yield_fs"))]),
            ("In-person share".to_string(), "ratio", vec![("FS visits / meetings", theme::FS, series("in_person_share"))]),
        ];
        let rev: Vec<f64> = series("revenue").into_iter().flatten().collect();
        let title = match (rev.first(), rev.last()) {
            (Some(a), Some(b)) if *a > 0.0 => format!(
                "Quarterly trends to {period}: revenue {} from {} to {} over {} quarters{}",
                if b >= a { "up" } else { "down" },
                money(*a),
                money(*b),
                quarters.len(),
                if partial.last() == Some(&true) { format!(" ({period} partial: hollow points)") } else { String::new() }
            ),
            _ => format!("Quarterly trends to {period}"),
        };
        Ok(Some(Trends { title, quarters, partial, panels }))
    }
}

pub fn trends<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &Trends) -> DrawResult {
    let (head, body) = area.split_vertically(50);
    t!(head.draw(&Text::new(d.title.clone(), (24, 14), title(20))));
    let cells = body.split_evenly((2, 2));
    let nq = d.quarters.len();
    for (cell, (name, unit, series)) in cells.iter().zip(&d.panels) {
        let vals: Vec<f64> = series.iter().flat_map(|s| s.2.iter().flatten().copied()).collect();
        let top = vals.iter().copied().fold(0.0, f64::max) * 1.15;
        let top = if top > 0.0 { top } else { 1.0 };
        let mut chart = t!(ChartBuilder::on(cell)
            .caption(name.clone(), title(16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.3f64..(nq.max(2) - 1) as f64 + 0.3, 0f64..top));
        let quarters = d.quarters.clone();
        let step = nq.div_ceil(6).max(1);
        let unit = *unit;
        t!(chart
            .configure_mesh()
            .x_labels(nq)
            .x_label_formatter(&|x| {
                let i = x.round() as usize;
                let partial = d.partial.get(i) == Some(&true);
                if (x - x.round()).abs() < 0.01 && i < quarters.len() && (i.is_multiple_of(step) || partial) {
                    if partial { format!("{} (partial)", quarters[i]) } else { quarters[i].clone() }
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| if unit == "currency" { money(*v) } else { pct(*v) })
            .label_style(text(12))
            .light_line_style(TRANSPARENT)
            .draw());
        // what the input cannot support is said, never drawn as an empty axis that reads as zero
        if vals.is_empty() {
            let (w, h) = cell.dim_in_pixel();
            let words = "not available in this input (see Data coverage)";
            t!(cell.draw(&Text::new(words, (w as i32 / 2 - words.len() as i32 * 7 / 2, h as i32 / 2), (theme::FAMILY, 15).into_font().color(&theme::FLAT))));
            continue;
        }
        for (label, colour, values) in series {
            let colour = *colour;
            let pts: Vec<(f64, f64)> = values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i as f64, v))).collect();
            let label = if pts.is_empty() { format!("{label} (not available)") } else { label.to_string() };
            t!(chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(3)))
                .map(|s| s.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(3)))));
            // a partial quarter's point is hollow and larger: its sums are not comparable
            t!(chart.draw_series(pts.iter().map(|p| {
                if d.partial.get(p.0 as usize) == Some(&true) {
                    Circle::new(*p, 6, colour.stroke_width(2))
                } else {
                    Circle::new(*p, 3, colour.filled())
                }
            })));
        }
        let position = if unit == "currency" { SeriesLabelPosition::UpperLeft } else { SeriesLabelPosition::LowerRight };
        t!(chart.configure_series_labels().position(position).label_font(text(12)).background_style(WHITE.mix(0.9)).border_style(theme::GRID).draw());
    }
    Ok(())
}

// ---------------------------------------------------------------- engagement effect

pub struct Engagement {
    pub title: String,
    /// A bar a group, beside its dimension's label.
    bars: Vec<(&'static str, RateBar)>,
}

impl Engagement {
    /// The whole history ("all"): the bands and decision-maker groups.
    pub fn from_tables(tables: &Tables) -> Result<Option<Engagement>> {
        let filter = col("period").eq(lit("all")).and(col("dimension").neq(lit("viewing_data_at_handoff")));
        let Some(df) = rows(tables, "engagement_effect", filter)? else { return Ok(None) };
        let (dims, groups) = (strs(&df, "dimension")?, strs(&df, "group")?);
        let (deals, rate, low, high) = (nums(&df, "deals")?, nums(&df, "win_rate")?, nums(&df, "win_rate_low")?, nums(&df, "win_rate_high")?);
        let bars: Vec<_> = (0..df.height())
            .map(|i| {
                let dim = if dims[i] == "engagement_band" { "room engagement" } else { "decision maker viewed" };
                (dim, RateBar { group: groups[i].clone(), deals: deals[i].unwrap_or(0.0), rate: rate[i], low: low[i], high: high[i] })
            })
            .collect();
        let find = |g: &str| bars.iter().map(|(_, b)| b).find(|b| b.group == g);
        let title = match (find("high"), find("none")) {
            (Some(RateBar { deals: n_high, rate: Some(high), .. }), Some(RateBar { deals: n_none, rate: Some(none), .. })) => format!(
                "Deals whose room was used most won {} (n={}) vs {} with no views (n={}), all closed deals",
                pct(*high),
                thousands(*n_high),
                pct(*none),
                thousands(*n_none)
            ),
            _ => "Win rate by room engagement (all closed deals)".to_string(),
        };
        Ok(Some(Engagement { title, bars }))
    }
}

pub fn engagement_effect<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &Engagement) -> DrawResult {
    let n = d.bars.len();
    let (plot, legend) = area.split_vertically(area.dim_in_pixel().1 - 40);
    let mut chart = t!(ChartBuilder::on(&plot)
        .caption(d.title.clone(), title(18))
        .margin(20)
        .x_label_area_size(70)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..n as f64, 0f64..1f64));
    let labels: Vec<String> = d.bars.iter().map(|(_, b)| format!("{} (n={})", b.group.replace('_', " "), thousands(b.deals))).collect();
    t!(chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x| band_label(&labels, *x, false))
        .y_desc("win rate (won / closed), 95% Wilson interval")
        .y_label_formatter(&|v| pct(*v))
        .label_style(text(13))
        .light_line_style(TRANSPARENT)
        .draw());
    for (i, (dim, RateBar { rate, low, high, .. })) in d.bars.iter().enumerate() {
        let x = i as f64;
        let colour = if *dim == "room engagement" { theme::IS } else { theme::FS };
        if let Some(r) = rate {
            t!(chart.draw_series(std::iter::once(Rectangle::new([(x + 0.2, 0.0), (x + 0.8, *r)], colour.filled()))));
            t!(chart.draw_series(std::iter::once(EmptyElement::at((x + 0.5, *r)) + Text::new(pct(*r), (-44, -20), text(13)))));
        }
        if let (Some(l), Some(h)) = (low, high) {
            let ink = theme::INK.stroke_width(2);
            t!(chart.draw_series(std::iter::once(PathElement::new(vec![(x + 0.5, *l), (x + 0.5, *h)], ink))));
            t!(chart.draw_series(std::iter::once(PathElement::new(vec![(x + 0.4, *l), (x + 0.6, *l)], ink))));
            t!(chart.draw_series(std::iter::once(PathElement::new(vec![(x + 0.4, *h), (x + 0.6, *h)], ink))));
        }
    }
    t!(legend.draw(&Rectangle::new([(40, 10), (54, 24)], theme::IS.filled())));
    t!(legend.draw(&Text::new("by room views (none / low / medium / high)", (60, 10), text(14))));
    t!(legend.draw(&Rectangle::new([(420, 10), (434, 24)], theme::FS.filled())));
    t!(legend.draw(&Text::new("by whether a decision maker viewed; whiskers: 95% interval (wide = few deals)", (440, 10), text(14))));
    Ok(())
}

// ---------------------------------------------------------------- visit plan map

/// One colour per rep of a map page, in panel order.
const REP_COLOURS: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
    RGBColor(31, 60, 136),
    RGBColor(120, 120, 120),
    RGBColor(0, 128, 96),
];
/// Reps per map page (a 4 x 3 grid at most).
const REPS_PER_MAP: usize = 12;
/// Map pages per region at most: beyond 60 reps a region's plan is read
/// in tables/visit_plan.parquet (thousands of pictures help no one).
pub const MAX_MAP_PAGES: usize = 5;
const COAST: RGBColor = RGBColor(70, 130, 180);
const BORDER: RGBColor = RGBColor(110, 110, 110);
const STATE_BORDER: RGBColor = RGBColor(175, 175, 175);
const PLACE: RGBColor = RGBColor(150, 150, 150);

/// A stop on the map: (lon, lat, whether it is a priority deal's).
type Stop = (f64, f64, bool);

/// One rep's week on the map.
struct RepPanel {
    name: String,
    /// Days in order: (weekday, stops in route order).
    days: Vec<(String, Vec<Stop>)>,
    /// Stops left for the rep's judgement (no day could take them).
    unplanned: Vec<(f64, f64)>,
    road_km: f64,
}

pub struct VisitMap {
    pub title: String,
    panels: Vec<RepPanel>,
    /// For a region's second and later pages, the first page's chart name.
    pub first_page: Option<String>,
}

/// A file-name part for a region.
pub fn slug(region: &str) -> String {
    let s: String = region.chars().map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if s.is_empty() { "unknown".into() } else { s }
}

impl VisitMap {
    /// Per rep region, one map page per REPS_PER_MAP reps: (chart name, map).
    pub fn from_tables(tables: &Tables) -> Result<Vec<(String, VisitMap)>> {
        let Some(df) = tables.get("visit_plan") else { return Ok(Vec::new()) };
        let df = df
            .clone()
            .filter(col("latitude").is_not_null().and(col("longitude").is_not_null()))
            .with_columns([col("rep_region").fill_null(lit("unknown")), col("day").cast(DataType::String).alias("__day"), col("rep_name").fill_null(col("rep_id"))])
            .sort(["rep_region", "rep_name", "rep_id", "day", "stop"], SortMultipleOptions::default().with_nulls_last(true))
            .collect()?;
        let (regions, reps, names, days) = (strs(&df, "rep_region")?, strs(&df, "rep_id")?, strs(&df, "rep_name")?, strs(&df, "__day")?);
        let reasons = strs(&df, "reason")?;
        let (lat, lon, road) = (nums(&df, "latitude")?, nums(&df, "longitude")?, nums(&df, "road_km_from_previous")?);
        let mut by_region: Vec<(String, Vec<RepPanel>, [usize; 3])> = Vec::new();
        for i in 0..df.height() {
            if by_region.last().is_none_or(|r| r.0 != regions[i]) {
                by_region.push((regions[i].clone(), Vec::new(), [0; 3]));
            }
            let (_, panels, counts) = by_region.last_mut().expect("pushed");
            if i == 0 || reps[i] != reps[i - 1] || regions[i] != regions[i - 1] {
                panels.push(RepPanel { name: names[i].clone(), days: Vec::new(), unplanned: Vec::new(), road_km: 0.0 });
            }
            let panel = panels.last_mut().expect("pushed");
            let (x, y, priority) = (lon[i].unwrap_or(0.0), lat[i].unwrap_or(0.0), reasons[i] == "priority_deal");
            if days[i].is_empty() {
                panel.unplanned.push((x, y));
                counts[2] += 1;
                continue;
            }
            counts[if priority { 0 } else { 1 }] += 1;
            panel.road_km += road[i].unwrap_or(0.0);
            let weekday = chrono::NaiveDate::parse_from_str(&days[i], "%Y-%m-%d").map(|d| d.format("%a").to_string()).unwrap_or_else(|_| days[i].clone());
            if panel.days.last().is_none_or(|d| d.0 != weekday) {
                panel.days.push((weekday, Vec::new()));
            }
            panel.days.last_mut().expect("pushed").1.push((x, y, priority));
        }
        let mut out = Vec::new();
        for (region, panels, [priority, nearby, unplanned]) in by_region {
            let km: f64 = panels.iter().map(|p| p.road_km).sum();
            let n = panels.len();
            let pages = n.div_ceil(REPS_PER_MAP).min(MAX_MAP_PAGES);
            let mut panels = panels.into_iter();
            for page in 0..pages {
                let these: Vec<RepPanel> = panels.by_ref().take(REPS_PER_MAP).collect();
                let mut title = format!(
                    "{region}: {}, {} and {} over the week, {} road km",
                    count(n as u64, "FS rep", "FS reps"),
                    count(priority as u64, "priority deal", "priority deals"),
                    count(nearby as u64, "nearby customer", "nearby customers"),
                    thousands(km)
                );
                if unplanned > 0 {
                    title.push_str(&format!("; {} left for the rep's judgement", count(unplanned as u64, "stop", "stops")));
                }
                if pages > 1 || these.len() < n {
                    title.push_str(&format!(" (reps {}-{} of {n}", page * REPS_PER_MAP + 1, page * REPS_PER_MAP + these.len()));
                    if page + 1 == pages && page * REPS_PER_MAP + these.len() < n {
                        title.push_str("; every rep's plan is in tables/visit_plan.parquet");
                    }
                    title.push(')');
                }
                let first = format!("visit_plan_{}", slug(&region));
                let (name, first_page) = if page == 0 { (first, None) } else { (format!("{first}_{}", page + 1), Some(first)) };
                out.push((name, VisitMap { title, panels: these, first_page }));
            }
        }
        Ok(out)
    }

    /// Columns of the panel grid.
    fn columns(&self) -> usize {
        match self.panels.len() {
            0..=1 => 1,
            2 | 4 => 2,
            3 | 5 | 6 | 9 => 3,
            _ => 4,
        }
    }

    /// The picture's size: panels of about 440 x 400 px, a title and a legend.
    pub fn size(&self) -> (u32, u32) {
        let cols = self.columns();
        let rows = self.panels.len().div_ceil(cols).max(1);
        let width = if cols == 1 { 1000 } else { (cols as u32 * 440).max(1000) };
        let panel_h = if cols == 1 { 760 } else { 400 };
        (width, 60 + rows as u32 * panel_h + 50)
    }
}

/// A round distance for a scale bar about `target` km long.
fn scale_km(target: f64) -> f64 {
    let step = 10f64.powf(target.max(0.001).log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * step).rfind(|k| *k <= target).unwrap_or(step)
}

/// One rep's week: the underlay, each day's route and stops in the rep's
/// colour, the weekday at each day's first stop, and a scale bar.
fn rep_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &RepPanel, colour: RGBColor) -> DrawResult {
    use super::geo::{labels_in, lines_in, Bbox, LabelKind, LineKind};
    let stops: usize = p.days.iter().map(|d| d.1.len()).sum();
    let (head, body) = area.split_vertically(28);
    let heading = format!("{}: {}, {} road km", p.name, count(stops as u64, "stop", "stops"), thousands(p.road_km));
    t!(head.draw(&Text::new(heading, (10, 6), (theme::FAMILY, 16, FontStyle::Bold).into_font().color(&colour))));
    let pts: Vec<(f64, f64)> = p.days.iter().flat_map(|d| d.1.iter().map(|s| (s.0, s.1))).chain(p.unplanned.iter().copied()).collect();
    let (mut x0, mut x1, mut y0, mut y1) = pts.iter().fold((f64::MAX, f64::MIN, f64::MAX, f64::MIN), |b, p| (b.0.min(p.0), b.1.max(p.0), b.2.min(p.1), b.3.max(p.1)));
    if pts.is_empty() {
        (x0, x1, y0, y1) = (0.0, 0.0, 0.0, 0.0);
    }
    // equal km per pixel across and up, at least 12 km tall, 15% margin around the stops
    let (w, h) = body.dim_in_pixel();
    let (w, h) = ((w as f64 - 12.0).max(50.0), (h as f64 - 12.0).max(50.0));
    let k = ((y0 + y1) / 2.0).to_radians().cos().max(0.05);
    let (mut sx, mut sy) = (((x1 - x0) * k * 1.3).max(0.11), ((y1 - y0) * 1.3).max(0.11));
    if sx / w > sy / h {
        sy = sx / w * h;
    } else {
        sx = sy / h * w;
    }
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let view = Bbox { lon0: cx - sx / k / 2.0, lon1: cx + sx / k / 2.0, lat0: cy - sy / 2.0, lat1: cy + sy / 2.0 };
    let mut chart = t!(ChartBuilder::on(&body).margin(6).build_cartesian_2d(view.lon0..view.lon1, view.lat0..view.lat1));
    let (px, py) = chart.plotting_area().get_pixel_range();
    let base = body.get_base_pixel();
    // the plot's corners in the panel's own pixels
    let (left, top, right, bottom) = (px.start - base.0, py.start - base.1, px.end - base.0, py.end - base.1);
    t!(body.draw(&Rectangle::new([(left, top), (right, bottom)], RGBColor(200, 200, 200).stroke_width(1))));
    for run in lines_in(&view, LineKind::State) {
        t!(chart.draw_series(std::iter::once(plotters::element::DashedPathElement::new(run, 5, 4, STATE_BORDER.stroke_width(1)))));
    }
    for run in lines_in(&view, LineKind::Country) {
        t!(chart.draw_series(std::iter::once(PathElement::new(run, BORDER.stroke_width(2)))));
    }
    for run in lines_in(&view, LineKind::Coast) {
        t!(chart.draw_series(std::iter::once(PathElement::new(run, COAST.stroke_width(1)))));
    }
    // place names inside the frame that overlap neither each other, the weekdays nor the scale bar:
    // divisions (grey capitals), then cities
    let km_across = sx * 111.195;
    let bar = scale_km(km_across / 5.0);
    let bar_px = (bar / km_across * (px.end - px.start) as f64).round() as i32;
    let mut taken: Vec<(i32, i32, i32, i32)> = vec![(px.start, py.end - 30, px.start + bar_px + 70, py.end)];
    // the stops themselves
    for s in p.days.iter().flat_map(|d| d.1.iter().map(|s| (s.0, s.1))).chain(p.unplanned.iter().copied()) {
        let (x, y) = chart.backend_coord(&s);
        taken.push((x - 6, y - 6, x + 6, y + 6));
    }
    let inside = |r: (i32, i32, i32, i32)| r.0 >= px.start && r.2 <= px.end && r.1 >= py.start && r.3 <= py.end;
    let free = |taken: &Vec<(i32, i32, i32, i32)>, r: (i32, i32, i32, i32)| inside(r) && taken.iter().all(|t| r.2 < t.0 || t.2 < r.0 || r.3 < t.1 || t.3 < r.1);
    // each day's weekday beside its first stop, where it overlaps nothing drawn so far
    // (weekday, its first stop, where its label goes in pixels)
    type Placed = (String, (f64, f64), (i32, i32));
    let mut weekdays: Vec<Placed> = Vec::new();
    for (weekday, route) in &p.days {
        let Some(first) = route.first() else { continue };
        let (x, y) = chart.backend_coord(&(first.0, first.1));
        let width = weekday.chars().count() as i32 * 9;
        let offsets = [(8, -18), (8, 4), (-8 - width, -18), (-8 - width, 4), (-width / 2, -24), (-width / 2, 8)];
        let at = offsets.iter().copied().find(|(dx, dy)| free(&taken, (x + dx, y + dy, x + dx + width, y + dy + 14))).unwrap_or(offsets[0]);
        taken.push((x + at.0, y + at.1, x + at.0 + width, y + at.1 + 14));
        weekdays.push((weekday.clone(), (first.0, first.1), at));
    }
    let mut divisions = 0;
    for l in labels_in(&view, LabelKind::Division).take(12) {
        let (x, y) = chart.backend_coord(&(l.lon, l.lat));
        let name = l.name.to_uppercase();
        let half = (name.chars().count() as i32 * 7) / 2;
        let r = (x - half, y - 7, x + half, y + 7);
        if free(&taken, r) && divisions < 3 {
            divisions += 1;
            t!(chart.draw_series(std::iter::once(EmptyElement::at((l.lon, l.lat)) + Text::new(name, (-half, -7), (theme::FAMILY, 11).into_font().color(&PLACE)))));
            taken.push(r);
        }
    }
    let mut cities = 0;
    for l in labels_in(&view, LabelKind::City) {
        if cities >= 6 {
            break;
        }
        let (x, y) = chart.backend_coord(&(l.lon, l.lat));
        let width = l.name.chars().count() as i32 * 7;
        // the name right of its dot, else left of it
        let right = (x - 3, y - 8, x + 6 + width, y + 8);
        let left = (x - 6 - width, y - 8, x + 3, y + 8);
        let Some((r, dx)) = [(right, 6), (left, -6 - width)].into_iter().find(|(r, _)| free(&taken, *r)) else { continue };
        t!(chart.draw_series(std::iter::once(
            EmptyElement::at((l.lon, l.lat)) + Circle::new((0, 0), 3, theme::INK.filled()) + Text::new(l.name.clone(), (dx, -8), text(12))
        )));
        taken.push(r);
        cities += 1;
    }
    for (_, route) in &p.days {
        t!(chart.draw_series(std::iter::once(PathElement::new(route.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>(), colour.stroke_width(2)))));
        for s in route {
            if s.2 {
                t!(chart.draw_series(std::iter::once(TriangleMarker::new((s.0, s.1), 8, colour.filled()))));
            } else {
                t!(chart.draw_series(std::iter::once(Circle::new((s.0, s.1), 4, colour.stroke_width(2)))));
            }
        }
    }
    for (weekday, at, offset) in weekdays {
        t!(chart.draw_series(std::iter::once(EmptyElement::at(at) + Text::new(weekday, offset, (theme::FAMILY, 13, FontStyle::Bold).into_font().color(&colour)))));
    }
    for s in &p.unplanned {
        t!(chart.draw_series(std::iter::once(Cross::new((s.0, s.1), 6, theme::DOWN.stroke_width(3)))));
    }
    // a scale bar about a fifth of the width
    let (bx, by) = (left + 10, bottom - 12);
    t!(body.draw(&PathElement::new(vec![(bx, by), (bx + bar_px, by)], theme::INK.stroke_width(3))));
    t!(body.draw(&Text::new(format!("{} km", thousands(bar)), (bx + bar_px + 6, by - 8), text(12))));
    Ok(())
}

pub fn visit_map<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &VisitMap) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let (head, rest) = area.split_vertically(60);
    let (grid, legend) = rest.split_vertically(h as i32 - 60 - 50);
    t!(head.draw(&Text::new(d.title.clone(), (20, 18), title(18))));
    let cols = d.columns();
    let rows = d.panels.len().div_ceil(cols).max(1);
    let cells = grid.split_evenly((rows, cols));
    for (i, (panel, cell)) in d.panels.iter().zip(cells.iter()).enumerate() {
        rep_panel(&cell.margin(4, 4, 8, 8), panel, REP_COLOURS[i % REP_COLOURS.len()])?;
    }
    let y = 18;
    let mut x = 20;
    t!(legend.draw(&TriangleMarker::new((x + 6, y + 6), 7, theme::INK.filled())));
    t!(legend.draw(&Text::new("priority deal", (x + 18, y - 2), text(13))));
    x += 130;
    t!(legend.draw(&Circle::new((x + 6, y + 6), 4, theme::INK.stroke_width(2))));
    t!(legend.draw(&Text::new("nearby customer", (x + 16, y - 2), text(13))));
    x += 160;
    t!(legend.draw(&Cross::new((x + 6, y + 6), 5, theme::DOWN.stroke_width(3))));
    t!(legend.draw(&Text::new("left for the rep's judgement", (x + 16, y - 2), text(13))));
    x += 230;
    t!(legend.draw(&Text::new("Mon: the day's first stop", (x, y - 2), text(13))));
    x += 200;
    t!(legend.draw(&PathElement::new(vec![(x, y + 6), (x + 20, y + 6)], COAST.stroke_width(2))));
    t!(legend.draw(&Text::new("coast", (x + 26, y - 2), text(13))));
    let credit = "map: Natural Earth";
    t!(legend.draw(&Text::new(credit, (w as i32 - 20 - credit.len() as i32 * 7, y - 2), (theme::FAMILY, 12).into_font().color(&PLACE))));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SLA chart splits each bar by the handoffs' own `sla_met` (business
    /// time), so a Friday 18:00 handoff contacted Tuesday 18:00 (96 elapsed
    /// hours, 2 business days) is met in the chart as in the table.
    #[test]
    fn first_contact_bars_follow_sla_met() {
        let handoffs = df!(
            "period" => ["Q", "Q", "Q"],
            "accepted" => [true, true, true],
            "hours_to_first_contact" => [Some(96.0), Some(60.0), None],
            "sla_met" => [true, false, false],
        )
        .unwrap();
        let tables: Tables = [("handoffs".to_string(), handoffs.lazy())].into_iter().collect();
        let d = FirstContact::from_tables(&tables, "Q", 2.0).unwrap().unwrap();
        assert_eq!(d.bins[8], (1.0, 0.0), "96 h: met");
        assert_eq!(d.bins[5], (0.0, 1.0), "60 h: missed");
        assert_eq!(d.no_contact, 1.0);
        assert_eq!(d.title, "Q: 1 of 3 accepted handoffs got a first FS contact within 2 business days (33%)");
    }

    /// Losses by industry: most first, ties in the table's order and named
    /// in full in the title.
    #[test]
    fn losses_by_industry_sorted_and_ties_named() {
        let summary = df!(
            "period" => ["Q"; 4],
            "segment_kind" => ["industry"; 4],
            "level" => ["category"; 4],
            "segment" => ["Alpha", "Beta", "Beta", "Gamma"],
            "category" => ["customer", "customer", "competitor", "self"],
            "losses" => [2.0, 3.0, 2.0, 5.0],
        )
        .unwrap();
        let tables: Tables = [("loss_summary".to_string(), summary.lazy())].into_iter().collect();
        let d = LossesByIndustry::from_tables(&tables, "Q").unwrap().unwrap();
        let order: Vec<&str> = d.bars.iter().map(|b| b.0.as_str()).collect();
        // Beta 3 + 2 = 5 and Gamma 5 tie, in table order; Alpha 2 last
        assert_eq!(order, ["Beta", "Gamma", "Alpha"]);
        assert_eq!(d.title, "Q: Beta and Gamma lost the most deals, 5 each");
    }
}
