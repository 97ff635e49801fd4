//! Charts for executives, drawn with plotters as SVG and PNG from the output
//! tables (a chart never computes a metric: it reads what the tables say).
//! PNG text uses DejaVu Sans, compiled in, so a bare machine renders the same.

mod draw;
pub mod geo;
pub mod theme;

use std::collections::BTreeMap;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::*;

use crate::error::{Error, Result};

/// A written chart: its file stem and the title that states its finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub name: String,
    pub title: String,
    /// A further page of the chart named here (a region's maps beyond its
    /// first 12 reps): the report links it instead of showing it inline.
    pub continues: Option<String>,
}

/// Registers the compiled-in font under "sans-serif" (once).
pub fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, theme::FONT);
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, theme::FONT);
    });
}

fn chart_err(name: &str, e: impl std::fmt::Display) -> Error {
    Error::Input(format!("chart {name}: {e}"))
}

/// Draws one chart twice, as `<name>.svg` and `<name>.png`.
fn render<F, G>(dir: &Path, name: &str, size: (u32, u32), svg: F, png: G) -> Result<()>
where
    F: FnOnce(&DrawingArea<SVGBackend, Shift>) -> std::result::Result<(), String>,
    G: FnOnce(&DrawingArea<BitMapBackend, Shift>) -> std::result::Result<(), String>,
{
    let svg_path = dir.join(format!("{name}.svg"));
    {
        let root = SVGBackend::new(&svg_path, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| chart_err(name, e))?;
        svg(&root).map_err(|e| chart_err(name, e))?;
        root.present().map_err(|e| chart_err(name, e))?;
    }
    let png_path = dir.join(format!("{name}.png"));
    {
        let root = BitMapBackend::new(&png_path, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| chart_err(name, e))?;
        png(&root).map_err(|e| chart_err(name, e))?;
        root.present().map_err(|e| chart_err(name, e))?;
    }
    Ok(())
}

/// The output tables a chart, the report or the run summary may read, by
/// name: in a run, scans of the Parquet files already written (each reader
/// reads only the rows and columns it asks for); in tests, frames.
pub type Tables = BTreeMap<String, LazyFrame>;

/// Table `name` whole, if the input supports it.
pub fn table(tables: &Tables, name: &str) -> Result<Option<DataFrame>> {
    Ok(tables.get(name).map(|lf| lf.clone().collect()).transpose()?)
}

/// A chart that was not drawn, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LeftOut {
    pub name: String,
    pub why: String,
}

/// Why a chart reading `table` has nothing to draw.
fn no_data(tables: &Tables, table: &str, period: &str) -> String {
    if tables.contains_key(table) {
        format!("{table} has no rows for {period}")
    } else {
        format!("it needs {table}, which this input does not support (see Data coverage)")
    }
}

/// The chart's data, or why a chart reading `table` has none.
fn present<T>(data: Option<T>, tables: &Tables, table: &str, period: &str) -> std::result::Result<T, String> {
    data.ok_or_else(|| no_data(tables, table, period))
}

/// A chart to draw: its data, and the drawing into its files.
type Job<'a> = Box<dyn FnOnce() -> Result<()> + Send + 'a>;

/// Runs `jobs` on every core, each thread taking the next job not yet
/// taken (the charts differ in cost: the KPI tree, the maps); the first
/// error, if any, once every thread is done.
fn draw_all(jobs: Vec<Job>) -> Result<()> {
    let threads = crate::sync::cores().clamp(1, jobs.len().max(1));
    let queue = std::sync::Mutex::new(jobs.into_iter());
    let next = || crate::sync::locked(&queue).next();
    let drawn: Vec<Result<()>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    while let Some(job) = next() {
                        job()?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_else(|_| Err(Error::Input("a chart's drawing thread panicked".into())))).collect()
    });
    drawn.into_iter().collect()
}

/// Renders every chart the tables support into `dir`; a chart whose data is
/// not available is left out, with the reason, for the report to say.
pub fn render_all(dir: &Path, tables: &Tables, period: &str, config: &crate::config::Config, currency: &str) -> Result<(Vec<Chart>, Vec<LeftOut>)> {
    let (sla_days, compare) = (config.sla_business_days, config.report.compare);
    register_font();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    let mut left_out = Vec::new();
    // each chart's data is read here, one after another (Polars reads the tables on every core);
    // the drawing, a chart at a time on a single thread, is done below on every core
    let mut jobs: Vec<Job> = Vec::new();
    macro_rules! chart {
        ($name:expr, $size:expr, $data:expr, $draw:path) => {
            match $data {
                Ok(data) => {
                    out.push(Chart { name: $name.to_string(), title: data.title.clone(), continues: None });
                    jobs.push(Box::new(move || render(dir, $name, $size, |a| $draw(a, &data), |a| $draw(a, &data))));
                }
                Err(why) => left_out.push(LeftOut { name: $name.to_string(), why }),
            }
        };
    }
    chart!("kpi_tree", (1400, 560), present(draw::KpiTree::from_tables(tables, period, compare)?, tables, "kpi_tree", period), draw::kpi_tree);
    chart!("revenue_bridge", (1200, 620), draw::Bridge::from_tables(tables, period, compare, currency)?, draw::revenue_bridge);
    if tables.contains_key("plan_vs_actual") {
        chart!("plan_bridge", (1200, 620), draw::Bridge::from_plan(tables, period, currency)?, draw::revenue_bridge);
    }
    if let Some(coverage) = draw::Coverage::from_tables(tables, currency)? {
        chart!("pipeline_coverage", (1100, 620), Ok::<_, String>(coverage), draw::pipeline_coverage);
    }
    if let Some(meetings) = draw::Meetings::from_tables(tables)? {
        chart!("meeting_pattern", (1200, 560), Ok::<_, String>(meetings), draw::meeting_pattern);
    }
    chart!("funnel", (1200, 620), draw::Funnel::from_tables(tables, period)?, draw::funnel);
    chart!("losses_by_quarter", (1200, 620), present(draw::LossesByQuarter::from_tables(tables, period)?, tables, "loss_summary", period), draw::losses_by_quarter);
    chart!("losses_by_industry", (1200, 700), present(draw::LossesByIndustry::from_tables(tables, period)?, tables, "loss_summary", period), draw::losses_by_industry);
    chart!("industry_visit_ratio", (1200, 700), present(draw::VisitRatio::from_tables(tables, period)?, tables, "industry_visit_ratio", period), draw::industry_visit_ratio);
    let is_reps = match (draw::IsReps::from_tables(tables, period)?, tables.get("is_reps")) {
        (Some(d), _) => Ok(d),
        (None, Some(_)) => Err(format!(
            "no IS rep has both SQLs and a SQL-to-win in {period}: the input lacks qualified leads or their deals (see Data coverage)"
        )),
        (None, None) => Err(no_data(tables, "is_reps", period)),
    };
    chart!("is_reps", (1100, 700), is_reps, draw::is_reps);
    chart!("first_contact_sla", (1200, 620), present(draw::FirstContact::from_tables(tables, period, sla_days)?, tables, "handoffs", period), draw::first_contact_sla);
    chart!("trends", (1200, 820), present(draw::Trends::from_tables(tables, period)?, tables, "kpi_tree", period), draw::trends);
    chart!("engagement_effect", (1200, 620), present(draw::Engagement::from_tables(tables)?, tables, "engagement_effect", period), draw::engagement_effect);
    // the maps: a page per 12 reps, many at scale
    for (name, map) in draw::VisitMap::from_tables(tables)? {
        out.push(Chart { name: name.clone(), title: map.title.clone(), continues: map.first_page.clone() });
        jobs.push(Box::new(move || render(dir, &name, map.size(), |a| draw::visit_map(a, &map), |a| draw::visit_map(a, &map))));
    }
    draw_all(jobs)?;
    Ok((out, left_out))
}
