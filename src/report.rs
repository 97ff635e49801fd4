//! report.md and report.html: the one-page review for executives, built from
//! the output tables and the charts (the HTML carries the SVGs inline, so it
//! is one self-contained file that needs no network).

use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::*;

use crate::charts::{table, Chart, Tables};
use crate::config::Comparison;
use crate::error::{Error, Result};
use crate::output::Written;
use crate::summary::{count, money};

/// One headline figure: label, value in the reviewed quarter, in the quarter
/// before and in the same quarter a year before.
type Headline = (String, String, String, String);

/// The headline figures of the reviewed quarter, from kpi_tree (total), and
/// the quarter a year before (None before the data).
fn headline_rows(tables: &Tables, period: &str) -> Result<(Vec<Headline>, Option<String>)> {
    let Some(kpi) = tables.get("kpi_tree") else { return Ok((Vec::new(), None)) };
    let df = kpi
        .clone()
        .filter(col("segment_kind").eq(lit("total")).and(col("period").eq(lit(period.to_string()))))
        .collect()?;
    let nodes = crate::output::text_column(&df, "node")?;
    let comparisons = crate::output::text_column(&df, "comparison")?;
    let year_ago = df.column("compare_to")?.str()?.iter().zip(&comparisons).find(|(_, c)| *c == "year_ago").and_then(|(q, _)| q.map(str::to_string));
    let values: Vec<Option<f64>> = df.column("value")?.f64()?.iter().collect();
    let priors: Vec<Option<f64>> = df.column("prior_value")?.f64()?.iter().collect();
    let mut out = Vec::new();
    for node in ["revenue", "revenue_is", "revenue_fs", "leads", "sql_rate", "win_rate", "sla_met_rate", "in_person_share"] {
        let row = |c: Comparison| (0..df.height()).find(|&i| nodes[i] == node && comparisons[i] == c.as_str());
        let (Some(i), Some(y)) = (row(Comparison::PriorQuarter), row(Comparison::YearAgo)) else { continue };
        let label = crate::metrics::tree::label(node);
        let fmt = |x: Option<f64>| crate::summary::node_value(node, x);
        out.push((label.to_string(), fmt(values[i]), fmt(priors[i]), fmt(priors[y])));
    }
    Ok((out, year_ago))
}

/// The biggest movers against one comparison: a heading, the three largest
/// driver contributions of the total in words, and a note saying why there
/// are none (or what they leave out).
struct Movers {
    heading: String,
    ranked: Vec<String>,
    note: Option<String>,
}

fn movers(tables: &Tables, period: &str, comparison: Comparison) -> Result<Movers> {
    let heading = |q: Option<&str>| match q {
        Some(q) => format!("Against {q} ({})", comparison.words()),
        None => format!("Against {}", comparison.words()),
    };
    let Some(a) = table(tables, "kpi_attribution")? else {
        return Ok(Movers { heading: heading(None), ranked: Vec::new(), note: Some("kpi_attribution is not available for this input".into()) });
    };
    let m = crate::summary::movers(&a, period, comparison)?;
    Ok(Movers { heading: heading(m.compare_to.as_deref()), ranked: m.ranked.iter().take(3).map(|x| x.sentence()).collect(), note: m.note })
}

/// The data-coverage section, read from the data_coverage table.
struct Coverage {
    intro: Vec<String>,
    /// table, status, rows, from, note
    inputs: Vec<[String; 5]>,
    /// what is not available (names sharing a reason together), and why
    gaps: Vec<(String, String)>,
    notes: Vec<(String, String)>,
}

fn coverage_section(tables: &Tables, mapping: Option<&crate::mapping::Applied>) -> Result<Coverage> {
    let mut c = Coverage { intro: Vec::new(), inputs: Vec::new(), gaps: Vec::new(), notes: Vec::new() };
    match mapping {
        Some(m) => c.intro.push(format!("Input read through the mapping {}: {}", m.name, m.description)),
        None => c.intro.push("Input in salesrelay's own format (one file per table).".into()),
    }
    let Some(df) = table(tables, "data_coverage")? else { return Ok(c) };
    let text = |name: &str| crate::output::text_column(&df, name);
    let (kind, name, status, source, reason) = (text("kind")?, text("name")?, text("status")?, text("source")?, text("reason")?);
    let rows: Vec<Option<i64>> = df.column("rows")?.i64()?.iter().collect();
    let mut by_reason: Vec<(String, Vec<String>)> = Vec::new();
    for i in 0..df.height() {
        if kind[i] == "input" {
            let n = rows[i].map(|r| crate::progress::thousands(r as u64)).unwrap_or_default();
            c.inputs.push([name[i].clone(), status[i].clone(), n, source[i].clone(), reason[i].clone()]);
        } else if status[i] == "not available" {
            let label = format!("{} {}", kind[i], name[i]);
            match by_reason.iter_mut().find(|(r, _)| *r == reason[i]) {
                Some((_, names)) => names.push(label),
                None => by_reason.push((reason[i].clone(), vec![label])),
            }
        }
    }
    c.gaps = by_reason.into_iter().map(|(why, names)| (names.join(", "), why)).collect();
    if let Some(m) = mapping {
        c.notes = m.notes.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    }
    // values the mapping's maps do not name: a picklist value of this org's own
    for i in (0..df.height()).filter(|&i| kind[i] == "unmapped value") {
        c.notes.push((format!("{} (a value the mapping does not name)", name[i]), reason[i].clone()));
    }
    Ok(c)
}

/// Deal rooms and next week's visits: the engagement effect in two
/// sentences, the top stalled deals and the visit plan's totals.
#[derive(Default)]
struct WeekAhead {
    engagement: Vec<String>,
    /// rank, deal, account, owner, amount, days quiet, last asset
    stalled: Vec<[String; 7]>,
    stalled_total: usize,
    plan: Vec<String>,
}

/// "62% (95% interval 55-68%, n=305)".
fn rate_text(rate: Option<f64>, low: Option<f64>, high: Option<f64>, n: Option<f64>) -> String {
    let p = |x: f64| format!("{:.0}%", 100.0 * x);
    match (rate, low, high) {
        (Some(r), Some(l), Some(h)) => format!("{} (95% interval {}-{}, n={})", p(r), p(l), p(h), crate::charts::theme::thousands(n.unwrap_or(0.0))),
        _ => "no closed deals".to_string(),
    }
}

fn week_ahead(tables: &Tables, period: &str) -> Result<WeekAhead> {
    let mut w = WeekAhead::default();
    let num = crate::output::number_column;
    if let Some(effect) = table(tables, "engagement_effect")? {
        let pick = |p: &str, g: &str| -> Result<String> {
            let df = effect.clone().lazy().filter(col("period").eq(lit(p.to_string())).and(col("group").eq(lit(g.to_string())))).collect()?;
            if df.height() == 0 {
                return Ok("no closed deals".into());
            }
            Ok(rate_text(num(&df, "win_rate")?[0], num(&df, "win_rate_low")?[0], num(&df, "win_rate_high")?[0], num(&df, "deals")?[0]))
        };
        let has_roles = effect.column("dimension")?.str()?.iter().any(|d| d == Some("decision_maker"));
        let dm_all = if has_roles {
            format!(", and deals a decision maker viewed won {} against {}", pick("all", "engaged")?, pick("all", "not_engaged")?)
        } else {
            " (the input has no viewer roles, so decision makers cannot be told apart)".to_string()
        };
        let dm_period = if has_roles {
            format!(" (decision maker: {} against {})", pick(period, "engaged")?, pick(period, "not_engaged")?)
        } else {
            String::new()
        };
        w.engagement.push(format!(
            "Over the whole history, deals whose room was used most (band high) won {} against {} for deals whose room was never viewed{dm_all}.",
            pick("all", "high")?,
            pick("all", "none")?,
        ));
        w.engagement.push(format!(
            "In {period} alone the same comparison is {} against {}{dm_period}; where an interval is wide the group is too small to read on its own.",
            pick(period, "high")?,
            pick(period, "none")?,
        ));
    }
    if let Some(stalled) = table(tables, "stalled_deals")? {
        w.stalled_total = stalled.height();
        let top = stalled.head(Some(5));
        let t = |c: &str| crate::output::text_column(&top, c);
        let (rank, opp, account, owner, asset) = (t("rank")?, t("opportunity_id")?, t("account_name")?, t("owner_name")?, t("last_asset")?);
        let (amount, days) = (num(&top, "amount")?, num(&top, "days_without_room_activity")?);
        for i in 0..top.height() {
            w.stalled.push([
                rank[i].clone(),
                opp[i].clone(),
                account[i].clone(),
                owner[i].clone(),
                amount[i].map(money).unwrap_or_default(),
                days[i].map(|d| format!("{d:.0}")).unwrap_or_default(),
                if asset[i].is_empty() { "never viewed".into() } else { asset[i].clone() },
            ]);
        }
    }
    if let Some(plan) = tables.get("visit_plan") {
        let totals = plan
            .clone()
            .select([
                col("rep_id").n_unique().cast(DataType::Int64).alias("reps"),
                crate::metrics::count_if(col("stop").eq(lit(1i64))).alias("rep_days"),
                crate::metrics::count_if(col("reason").eq(lit("priority_deal")).and(col("day").is_not_null())).alias("priority"),
                crate::metrics::count_if(col("day").is_null()).alias("unplanned"),
                crate::metrics::count_if(col("day").is_not_null().and(col("note").is_not_null())).alias("moved"),
                crate::metrics::count_if(col("reason").eq(lit("nearby_customer"))).alias("nearby"),
                col("road_km_from_previous").sum().alias("km"),
                col("day").min().cast(DataType::String).alias("first"),
                col("day").max().cast(DataType::String).alias("last"),
            ])
            .collect()?;
        let n = |c: &str| -> Result<u64> { Ok(num(&totals, c)?[0].unwrap_or(0.0) as u64) };
        let (first, last) = (crate::output::text_column(&totals, "first")?, crate::output::text_column(&totals, "last")?);
        let (rep_days, km) = (n("rep_days")?, num(&totals, "km")?[0].unwrap_or(0.0));
        let when = if first[0] == last[0] { format!("on {}", first[0]) } else { format!("{} to {}", first[0], last[0]) };
        w.plan.push(format!(
            "Visit plan {when}: {}, {}, {} and {} not visited lately; {} road km in all, {} km per rep-day on average.",
            count(n("reps")?, "FS rep", "FS reps"),
            count(rep_days, "rep-day", "rep-days"),
            count(n("priority")?, "priority-deal stop", "priority-deal stops"),
            count(n("nearby")?, "nearby customer", "nearby customers"),
            crate::charts::theme::thousands(km),
            if rep_days > 0 { format!("{:.0}", km / rep_days as f64) } else { "0".into() }
        ));
        let (moved, unplanned) = (n("moved")?, n("unplanned")?);
        if moved + unplanned > 0 {
            let mut parts = Vec::new();
            if moved > 0 {
                parts.push(format!("{} moved to another day", count(moved, "priority stop", "priority stops")));
            }
            if unplanned > 0 {
                parts.push(format!("{} left for the reps' judgement (no day of the week could take {})", count(unplanned, "priority stop", "priority stops"), if unplanned == 1 { "it" } else { "them" }));
            }
            w.plan.push(format!("No rep-day is planned above [visit_plan] max_road_km_per_day: {} (visit_plan's note column says which).", parts.join(" and ")));
        }
    }
    if let Some(needed) = table(tables, "locations_needed")? {
        if needed.height() > 0 {
            w.plan.push(format!(
                "{} with open deals or past wins {} no coordinates and could not be planned: see tables/locations_needed.parquet.",
                count(needed.height() as u64, "account", "accounts"),
                if needed.height() == 1 { "has" } else { "have" }
            ));
        }
    }
    Ok(w)
}

/// The further pages of chart `name` (a region's maps beyond its first 12 reps).
fn further_pages<'a>(charts: &'a [crate::charts::Chart], name: &str) -> Vec<&'a str> {
    charts.iter().filter(|p| p.continues.as_deref() == Some(name)).map(|p| p.name.as_str()).collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// What a report is written from (`write_report`).
#[derive(Clone, Copy)]
pub struct ReportParts<'a> {
    /// The output tables, by name.
    pub tables: &'a Tables,
    pub charts: &'a [Chart],
    /// The files written, for the list of outputs.
    pub outputs: &'a [Written],
    /// The quarter reviewed, as labelled.
    pub period: &'a str,
    /// The quarter compared with, where there is one.
    pub compare_to: Option<&'a str>,
    /// The comparison the configuration puts first.
    pub compare: Comparison,
    /// The loss classification's lines.
    pub loss_lines: &'a [String],
    pub mapping: Option<&'a crate::mapping::Applied>,
    /// What the run warns the reader of.
    pub warnings: &'a [String],
    /// The charts left out, and why.
    pub left_out: &'a [crate::charts::LeftOut],
}

/// Writes report.md and report.html into `dir` (which holds charts/ and tables/).
pub fn write_report(dir: &Path, parts: &ReportParts) -> Result<()> {
    let &ReportParts { tables, charts, outputs, period, compare_to, compare, loss_lines, mapping, warnings, left_out } = parts;
    let (heads, year_ago) = headline_rows(tables, period)?;
    let plan = crate::summary::plan_lines(tables, period)?;
    let hybrid = crate::summary::hybrid_lines(tables, period)?;

    // the configured comparison first, the other after it
    let order = match compare {
        Comparison::PriorQuarter => [Comparison::PriorQuarter, Comparison::YearAgo],
        Comparison::YearAgo => [Comparison::YearAgo, Comparison::PriorQuarter],
    };
    let moves: Vec<Movers> = order.iter().map(|c| movers(tables, period, *c)).collect::<Result<_>>()?;
    let year_ago = year_ago.unwrap_or_else(|| "a year before".into());
    let against = compare_to.map(|c| format!(" against {c}")).unwrap_or_default();
    let title = format!("Quarterly sales review {period}{against}");
    let coverage = coverage_section(tables, mapping)?;
    let ahead = week_ahead(tables, period)?;
    let stalled_header = ["#", "deal", "account", "owner", "amount", "days quiet", "last asset viewed"];

    let mut md = String::new();
    let _ = writeln!(md, "# {title}\n");
    for w in warnings {
        let _ = writeln!(md, "> **Read this first:** {}\n", md_text(w));
    }
    let _ = writeln!(md, "| | {period} | {} | {year_ago} |\n|---|---:|---:|---:|", compare_to.unwrap_or("before"));
    for (label, now, before, year) in &heads {
        let _ = writeln!(md, "| {label} | {now} | {before} | {year} |");
    }
    let _ = writeln!(md, "\n## The three biggest movers");
    for m in &moves {
        let _ = writeln!(md, "\n{}:\n", m.heading);
        for r in &m.ranked {
            let _ = writeln!(md, "- {r}");
        }
        if let Some(note) = &m.note {
            let lead = if m.ranked.is_empty() { "No driver is ranked" } else { "Note" };
            let _ = writeln!(md, "{}{lead}: {note}.", if m.ranked.is_empty() { "" } else { "\n" });
        }
    }
    if !hybrid.is_empty() {
        let _ = writeln!(md, "\n## Meetings and target accounts\n");
        for line in &hybrid {
            let _ = writeln!(md, "- {}", capitalised(line));
        }
    }
    if !plan.is_empty() {
        let _ = writeln!(md, "\n## Against plan\n");
        for line in &plan {
            match line.strip_prefix("- ") {
                Some(item) => { let _ = writeln!(md, "- {item}"); }
                None => { let _ = writeln!(md, "{}\n", capitalised(line.trim_start_matches("against plan: "))); }
            }
        }
    }
    for c in charts.iter().filter(|c| c.continues.is_none()) {
        let _ = writeln!(md, "\n## {}\n\n![{}](charts/{}.svg)", md_text(&c.title), md_text(&c.title), c.name);
        let pages = further_pages(charts, &c.name);
        if !pages.is_empty() {
            let links: Vec<String> = pages.iter().map(|p| format!("[{p}](charts/{p}.svg)")).collect();
            let _ = writeln!(md, "\nThe other reps' maps: {}.", links.join(", "));
        }
        if c.name == "losses_by_industry" {
            for line in loss_lines {
                let _ = writeln!(md, "\n{}", capitalised(line));
            }
        }
    }
    if !left_out.is_empty() {
        let _ = writeln!(md, "\n## Charts not drawn\n");
        for l in left_out {
            let _ = writeln!(md, "- {}: {}", l.name, md_text(&l.why));
        }
    }
    if !ahead.engagement.is_empty() || !ahead.plan.is_empty() {
        let _ = writeln!(md, "\n## Deal rooms and next week's visits\n");
        for line in ahead.engagement.iter().chain(&ahead.plan) {
            let _ = writeln!(md, "{}\n", md_text(line));
        }
        if !ahead.stalled.is_empty() {
            let _ = writeln!(md, "Stalled deals (no room views for the configured days), the largest five of {}:\n", ahead.stalled_total);
            let _ = writeln!(md, "| {} |\n|---|---|---|---|---:|---:|---|", stalled_header.join(" | "));
            for r in &ahead.stalled {
                let _ = writeln!(md, "| {} |", r.iter().map(|c| md_text(c)).collect::<Vec<_>>().join(" | "));
            }
        }
    }
    let _ = writeln!(md, "\n## Tables\n");
    for o in outputs {
        let _ = writeln!(md, "- [{}]({}) ({} rows)", o.path, o.path, o.rows);
    }
    let _ = writeln!(md, "\n## Data coverage\n");
    for line in &coverage.intro {
        let _ = writeln!(md, "{line}\n");
    }
    let _ = writeln!(md, "| input table | status | rows | from | note |\n|---|---|---:|---|---|");
    for r in &coverage.inputs {
        let _ = writeln!(md, "| {} | {} | {} | {} | {} |", md_text(&r[0]), md_text(&r[1]), md_text(&r[2]), md_text(&r[3]), md_text(&r[4]));
    }
    if !coverage.gaps.is_empty() {
        let _ = writeln!(md, "\nNot available (not computed, never shown as zero):\n");
        for (what, why) in &coverage.gaps {
            let _ = writeln!(md, "- {}: {}", md_text(what), md_text(why));
        }
    }
    for (what, note) in &coverage.notes {
        let _ = writeln!(md, "\n- note on {}: {}", md_text(what), md_text(note));
    }
    let md_path = dir.join("report.md");
    std::fs::write(&md_path, md).map_err(|e| Error::io(&md_path, e))?;

    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
         body{{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1240px;margin:24px auto;color:#282828}}\
         table{{border-collapse:collapse}}td,th{{padding:4px 14px;border-bottom:1px solid #e1e1e1;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}figure{{margin:28px 0}}svg{{max-width:100%;height:auto}}\
         .movers li{{font-size:1.1em;margin:4px 0}}\
         .warning{{background:#fff4e5;border-left:6px solid #d9822b;padding:10px 14px;font-size:1.05em}}</style></head><body>\n",
        esc(&title)
    );
    let _ = writeln!(html, "<h1>{}</h1>", esc(&title));
    for w in warnings {
        let _ = writeln!(html, "<p class=\"warning\"><b>Read this first:</b> {}</p>", esc(w));
    }
    let _ = writeln!(
        html,
        "<table><tr><th></th><th>{}</th><th>{}</th><th>{}</th></tr>",
        esc(period),
        esc(compare_to.unwrap_or("before")),
        esc(&year_ago)
    );
    for (label, now, before, year) in &heads {
        let _ = writeln!(html, "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", esc(label), esc(now), esc(before), esc(year));
    }
    let _ = writeln!(html, "</table>\n<h2>The three biggest movers</h2>");
    for m in &moves {
        let _ = writeln!(html, "<h3>{}</h3>\n<ul class=\"movers\">", esc(&m.heading));
        for r in &m.ranked {
            let _ = writeln!(html, "<li>{}</li>", esc(r));
        }
        let _ = writeln!(html, "</ul>");
        if let Some(note) = &m.note {
            let lead = if m.ranked.is_empty() { "No driver is ranked" } else { "Note" };
            let _ = writeln!(html, "<p>{lead}: {}.</p>", esc(note));
        }
    }
    if !hybrid.is_empty() {
        let _ = writeln!(html, "<h2>Meetings and target accounts</h2><ul>");
        for line in &hybrid {
            let _ = writeln!(html, "<li>{}</li>", esc(&capitalised(line)));
        }
        let _ = writeln!(html, "</ul>");
    }
    if !plan.is_empty() {
        let _ = writeln!(html, "<h2>Against plan</h2>");
        let (items, heads): (Vec<&String>, Vec<&String>) = plan.iter().partition(|l| l.starts_with("- "));
        for h in heads {
            let _ = writeln!(html, "<p>{}</p>", esc(&capitalised(h.trim_start_matches("against plan: "))));
        }
        let _ = writeln!(html, "<ul>");
        for i in items {
            let _ = writeln!(html, "<li>{}</li>", esc(&i[2..]));
        }
        let _ = writeln!(html, "</ul>");
    }
    for c in charts.iter().filter(|c| c.continues.is_none()) {
        let pages = further_pages(charts, &c.name);
        let path = dir.join("charts").join(format!("{}.svg", c.name));
        let svg = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let svg = svg.trim_start_matches(|c| c != '<').to_string();
        let _ = writeln!(html, "<figure id=\"{}\">{}</figure>", c.name, svg);
        if !pages.is_empty() {
            let links: Vec<String> = pages.iter().map(|p| format!("<a href=\"charts/{p}.svg\">{p}</a>")).collect();
            let _ = writeln!(html, "<p>The other reps' maps: {}.</p>", links.join(", "));
        }
        if c.name == "losses_by_industry" {
            for line in loss_lines {
                let _ = writeln!(html, "<p>{}</p>", esc(&capitalised(line)));
            }
        }
    }
    if !left_out.is_empty() {
        let _ = writeln!(html, "<h2 id=\"charts-not-drawn\">Charts not drawn</h2><ul>");
        for l in left_out {
            let _ = writeln!(html, "<li><b>{}</b>: {}</li>", esc(&l.name), esc(&l.why));
        }
        let _ = writeln!(html, "</ul>");
    }
    if !ahead.engagement.is_empty() || !ahead.plan.is_empty() {
        let _ = writeln!(html, "<h2 id=\"week-ahead\">Deal rooms and next week's visits</h2>");
        for line in ahead.engagement.iter().chain(&ahead.plan) {
            let _ = writeln!(html, "<p>{}</p>", esc(line));
        }
        if !ahead.stalled.is_empty() {
            let _ = writeln!(html, "<p>Stalled deals (no room views for the configured days), the largest five of {}:</p>", ahead.stalled_total);
            let _ = writeln!(html, "<table><tr>{}</tr>", stalled_header.iter().map(|h| format!("<th>{}</th>", esc(h))).collect::<String>());
            for r in &ahead.stalled {
                let _ = writeln!(html, "<tr>{}</tr>", r.iter().map(|c| format!("<td>{}</td>", esc(c))).collect::<String>());
            }
            let _ = writeln!(html, "</table>");
        }
    }
    let _ = writeln!(html, "<h2>Tables</h2><ul>");
    for o in outputs {
        let _ = writeln!(html, "<li><a href=\"{}\">{}</a> ({} rows)</li>", esc(&o.path), esc(&o.path), o.rows);
    }
    let _ = writeln!(html, "</ul>\n<h2 id=\"data-coverage\">Data coverage</h2>");
    for line in &coverage.intro {
        let _ = writeln!(html, "<p>{}</p>", esc(line));
    }
    let _ = writeln!(html, "<table><tr><th>input table</th><th>status</th><th>rows</th><th>from</th><th>note</th></tr>");
    for r in &coverage.inputs {
        let _ = writeln!(html, "<tr>{}</tr>", r.iter().map(|c| format!("<td>{}</td>", esc(c))).collect::<String>());
    }
    let _ = writeln!(html, "</table>");
    if !coverage.gaps.is_empty() {
        let _ = writeln!(html, "<p>Not available (not computed, never shown as zero):</p><ul>");
        for (what, why) in &coverage.gaps {
            let _ = writeln!(html, "<li><b>{}</b>: {}</li>", esc(what), esc(why));
        }
        let _ = writeln!(html, "</ul>");
    }
    if !coverage.notes.is_empty() {
        let _ = writeln!(html, "<ul>");
        for (what, note) in &coverage.notes {
            let _ = writeln!(html, "<li>note on {}: {}</li>", esc(what), esc(note));
        }
        let _ = writeln!(html, "</ul>");
    }
    let _ = writeln!(html, "</body></html>");
    let html_path = dir.join("report.html");
    std::fs::write(&html_path, html).map_err(|e| Error::io(&html_path, e))?;
    Ok(())
}

/// "Against plan: ..." from "against plan: ...".
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Text from the CRM (names, notes, file names) as Markdown that stays
/// text: `<`, `>` and `&` as entities (renderers in notebooks and wikis
/// pass HTML through), `|` escaped (table cells).
fn md_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('|', "\\|")
}
