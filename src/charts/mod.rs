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

/// What every chart is drawn with besides its table: the folder its files
/// go to, the quarter reviewed, the first-contact SLA, the comparison the
/// report leads with and what money is in.
#[derive(Debug, Clone, Copy)]
pub struct Setting<'a> {
    pub dir: &'a Path,
    pub period: &'a str,
    pub sla_days: f64,
    pub compare: crate::config::Comparison,
    pub currency: &'a str,
}

/// What money is in, as the charts' axes and the report say it: the
/// configured `currency_label`, else the base currency the input's amounts
/// are in, else "input currency".
pub fn money(config: &crate::config::Config, base_currency: Option<&str>) -> String {
    config.currency_label.clone().or_else(|| base_currency.map(str::to_string)).unwrap_or_else(|| "input currency".into())
}

impl<'a> Setting<'a> {
    pub fn new(dir: &'a Path, period: &'a str, config: &crate::config::Config, currency: &'a str) -> Self {
        Setting { dir, period, sla_days: config.sla_business_days, compare: config.report.compare, currency }
    }
}

/// Charts planned: each written or left-out chart with its place in the
/// report's order, and the jobs that draw the written ones.
#[derive(Default)]
pub struct Planned<'a> {
    charts: Vec<(usize, Chart)>,
    left_out: Vec<(usize, LeftOut)>,
    /// The drawings not yet done, in the order planned.
    jobs: std::collections::VecDeque<Job<'a>>,
}

impl<'a> Planned<'a> {
    /// Draws the next planned chart (a map page, where a chart has
    /// several) on this thread; false when none is left.
    pub fn draw_next(&mut self) -> Result<bool> {
        match self.jobs.pop_front() {
            Some(job) => job().map(|_| true),
            None => Ok(false),
        }
    }

    /// Draws the planned charts one after another on this thread.
    pub fn draw_here(&mut self) -> Result<()> {
        while self.draw_next()? {}
        Ok(())
    }

    /// Draws the planned charts on every core.
    pub fn draw_on_every_core(&mut self) -> Result<()> {
        draw_all(std::mem::take(&mut self.jobs).into())
    }

    /// These charts and `other`'s together, `other`'s drawings after these.
    pub fn with(mut self, other: Planned<'a>) -> Planned<'a> {
        self.charts.extend(other.charts);
        self.left_out.extend(other.left_out);
        self.jobs.extend(other.jobs);
        self
    }

    /// The charts and the charts left out, each in the report's order
    /// (a chart's pages in the order they were planned).
    pub fn in_order(mut self) -> (Vec<Chart>, Vec<LeftOut>) {
        self.charts.sort_by_key(|(place, _)| *place);
        self.left_out.sort_by_key(|(place, _)| *place);
        (self.charts.into_iter().map(|(_, c)| c).collect(), self.left_out.into_iter().map(|(_, l)| l).collect())
    }
}

/// The output tables the charts read. Each chart reads one table and no
/// other, so a chart is drawn as soon as its table is written (the test
/// `each_chart_reads_only_its_table` holds every chart to that).
pub const CHART_TABLES: [&str; 12] = [
    "kpi_tree",
    "kpi_attribution",
    "plan_vs_actual",
    "pipeline_coverage",
    "meeting_pattern",
    "funnel_period",
    "loss_summary",
    "industry_visit_ratio",
    "is_reps",
    "handoffs",
    "engagement_effect",
    "visit_plan",
];

/// Plans every chart that reads a table `reads` accepts: reads its data
/// from `tables` (Polars reads the tables on every core) and lists its
/// drawing as a job; a chart whose data is not available is left out, with
/// the reason, for the report to say.
pub fn plan<'a>(tables: &Tables, s: Setting<'a>, reads: impl Fn(&str) -> bool) -> Result<Planned<'a>> {
    let Setting { dir, period, sla_days, compare, currency } = s;
    register_font();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut p = Planned::default();
    // each chart's place in the report's order is its number here
    macro_rules! chart {
        ($place:expr, $name:expr, $size:expr, $data:expr, $draw:path) => {
            match $data {
                Ok(data) => {
                    p.charts.push(($place, Chart { name: $name.to_string(), title: data.title.clone(), continues: None }));
                    p.jobs.push_back(Box::new(move || render(dir, $name, $size, |a| $draw(a, &data), |a| $draw(a, &data))));
                }
                Err(why) => p.left_out.push(($place, LeftOut { name: $name.to_string(), why })),
            }
        };
    }
    if reads("kpi_tree") {
        chart!(0, "kpi_tree", (1400, 560), present(draw::KpiTree::from_tables(tables, period, compare)?, tables, "kpi_tree", period), draw::kpi_tree);
        chart!(11, "trends", (1200, 820), present(draw::Trends::from_tables(tables, period)?, tables, "kpi_tree", period), draw::trends);
    }
    if reads("kpi_attribution") {
        chart!(1, "revenue_bridge", (1200, 620), draw::Bridge::from_tables(tables, period, compare, currency)?, draw::revenue_bridge);
    }
    if reads("plan_vs_actual") && tables.contains_key("plan_vs_actual") {
        chart!(2, "plan_bridge", (1200, 620), draw::Bridge::from_plan(tables, period, currency)?, draw::revenue_bridge);
    }
    // a chart left out is listed with the reason, never silently missing
    if reads("pipeline_coverage") {
        let coverage = draw::Coverage::from_tables(tables, currency)?.ok_or_else(|| match tables.contains_key("pipeline_coverage") {
            true => "no open deal is expected to close after the data's end (pipeline_coverage has no quarter ahead)".to_string(),
            false => no_data(tables, "pipeline_coverage", period),
        });
        chart!(3, "pipeline_coverage", (1100, 620), coverage, draw::pipeline_coverage);
    }
    if reads("meeting_pattern") {
        let meetings = draw::Meetings::from_tables(tables)?.ok_or_else(|| match tables.contains_key("meeting_pattern") {
            true => "no closed deal had an FS meeting (meeting_pattern counts 0 deals in every pattern)".to_string(),
            false => no_data(tables, "meeting_pattern", period),
        });
        chart!(4, "meeting_pattern", (1200, 560), meetings, draw::meeting_pattern);
    }
    if reads("funnel_period") {
        chart!(5, "funnel", (1200, 620), draw::Funnel::from_tables(tables, period)?, draw::funnel);
    }
    if reads("loss_summary") {
        chart!(6, "losses_by_quarter", (1200, 620), present(draw::LossesByQuarter::from_tables(tables, period)?, tables, "loss_summary", period), draw::losses_by_quarter);
        chart!(7, "losses_by_industry", (1200, 700), present(draw::LossesByIndustry::from_tables(tables, period)?, tables, "loss_summary", period), draw::losses_by_industry);
    }
    if reads("industry_visit_ratio") {
        chart!(8, "industry_visit_ratio", (1200, 700), present(draw::VisitRatio::from_tables(tables, period)?, tables, "industry_visit_ratio", period), draw::industry_visit_ratio);
    }
    if reads("is_reps") {
        let is_reps = match (draw::IsReps::from_tables(tables, period)?, tables.get("is_reps")) {
            (Some(d), _) => Ok(d),
            (None, Some(_)) => Err(format!(
                "no IS rep has both SQLs and a SQL-to-win in {period}: the input lacks qualified leads or their deals (see Data coverage)"
            )),
            (None, None) => Err(no_data(tables, "is_reps", period)),
        };
        chart!(9, "is_reps", (1100, 700), is_reps, draw::is_reps);
    }
    if reads("handoffs") {
        let sla = match draw::FirstContact::from_tables(tables, period, sla_days)? {
            Some(d) if d.unsupported => Err("it needs handoffs.first_fs_contact_at, which this input does not support (see Data coverage)".to_string()),
            d => present(d, tables, "handoffs", period),
        };
        chart!(10, "first_contact_sla", (1200, 620), sla, draw::first_contact_sla);
    }
    if reads("engagement_effect") {
        chart!(12, "engagement_effect", (1200, 620), present(draw::Engagement::from_tables(tables)?, tables, "engagement_effect", period), draw::engagement_effect);
    }
    if reads("visit_plan") {
        // the maps: a page per 12 reps, many at scale
        for (name, map) in draw::VisitMap::from_tables(tables)? {
            p.charts.push((13, Chart { name: name.clone(), title: map.title.clone(), continues: map.first_page.clone() }));
            p.jobs.push_back(Box::new(move || render(dir, &name, map.size(), |a| draw::visit_map(a, &map), |a| draw::visit_map(a, &map))));
        }
    }
    Ok(p)
}
