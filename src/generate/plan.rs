//! A plausible plan for a generated history: targets.csv, worked out from
//! the history itself through the same KPI tree the review computes (no
//! second definition of any node). Each quarter with a quarter a year
//! before it, up to two quarters after the data, gets:
//! - the total's revenue, with its IS and FS branches and every factor:
//!   5% more leads and FS opportunities than a year before, the year-ago
//!   rates, and the deal sizes that make the round branch targets (IS
//!   revenue 8% above a year before, FS 5%, rounded to 100k) exactly, so the
//!   plan's gap decomposes;
//! - revenue for the inbound and outbound segments, 8% above a year before.

use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::industries::Industries;
use crate::metrics::Model;
use crate::prepare::{data_span, load_validated, InputOptions};
use crate::progress::Progress;

/// Rounds to a multiple of `step`.
fn round_to(x: f64, step: f64) -> f64 {
    (x / step).round() * step
}

/// Writes `targets.csv` into the generated folder `out`.
pub fn write_targets(out: &Path) -> Result<u64> {
    let (config, v) = load_validated(&InputOptions::new(out), false, &Progress::new(true))?;
    let span = data_span(&v, &config)?.ok_or_else(|| Error::Input("the generated history holds no events".into()))?;
    let industries = Industries::load(out, &config)?;
    let m = Model::new(&config, &v.tables, &v.ids, &industries, span, span.last, &v.unavailable);
    let cols = ["revenue_is", "revenue_fs", "leads", "sql_rate", "handoff_rate", "acceptance_rate", "win_yield_is", "opps_fs", "win_yield_fs"];
    let wide = m
        .wide()?
        .filter(col("segment_kind").is_in(crate::typing::str_list(&["total", "source"]), false))
        .select(
            [col("period"), col("segment")]
                .into_iter()
                .chain(cols.iter().map(|c| col(*c).cast(DataType::Float64)))
                .collect::<Vec<_>>(),
        )
        .collect()?;
    let periods: Vec<Option<i32>> = wide.column("period")?.i32()?.iter().collect();
    let segments: Vec<String> = crate::output::text_column(&wide, "segment")?;
    let values: Vec<Vec<Option<f64>>> = cols.iter().map(|c| crate::output::number_column(&wide, c)).collect::<Result<_>>()?;
    let at = |q: i32, segment: &str, c: &str| -> Option<f64> {
        let i = (0..wide.height()).find(|&i| periods[i] == Some(q) && segments[i] == segment)?;
        values[cols.iter().position(|x| *x == c)?][i]
    };
    let mut text = String::from("period,segment_kind,segment,node,target\n");
    let mut rows = 0u64;
    let mut line = |period: &str, kind: &str, segment: &str, node: &str, target: f64| {
        let _ = writeln!(text, "{period},{kind},{segment},{node},{target}");
        rows += 1;
    };
    for q in span.first.0 + 4..=span.last.0 + 2 {
        let (y, label) = (q - 4, crate::calendar::Quarter(q).label(&config));
        let (Some(is), Some(fs)) = (at(y, "all", "revenue_is"), at(y, "all", "revenue_fs")) else { continue };
        let revenue_is = round_to(is * 1.08, 100_000.0);
        let revenue_fs = round_to(fs * 1.05, 100_000.0);
        line(&label, "total", "all", "revenue", revenue_is + revenue_fs);
        line(&label, "total", "all", "revenue_is", revenue_is);
        line(&label, "total", "all", "revenue_fs", revenue_fs);
        let rates: Option<Vec<f64>> = ["sql_rate", "handoff_rate", "acceptance_rate", "win_yield_is"].iter().map(|c| at(y, "all", c)).collect();
        if let (Some(leads), Some(rates)) = (at(y, "all", "leads"), rates) {
            let leads = (leads * 1.05).round();
            let rates: Vec<f64> = rates.iter().map(|r| (r * 1000.0).round() / 1000.0).collect();
            let volume = leads * rates.iter().product::<f64>();
            if volume > 0.0 {
                line(&label, "total", "all", "leads", leads);
                for (c, r) in ["sql_rate", "handoff_rate", "acceptance_rate", "win_yield_is"].iter().zip(&rates) {
                    line(&label, "total", "all", c, *r);
                }
                line(&label, "total", "all", "deal_size_is", revenue_is / volume);
            }
        }
        if let (Some(opps), Some(yield_fs)) = (at(y, "all", "opps_fs"), at(y, "all", "win_yield_fs")) {
            let opps = (opps * 1.05).round();
            let yield_fs = (yield_fs * 1000.0).round() / 1000.0;
            if opps * yield_fs > 0.0 {
                line(&label, "total", "all", "opps_fs", opps);
                line(&label, "total", "all", "win_yield_fs", yield_fs);
                line(&label, "total", "all", "deal_size_fs", revenue_fs / (opps * yield_fs));
            }
        }
        for source in ["inbound", "outbound"] {
            if let (Some(is), Some(fs)) = (at(y, source, "revenue_is"), at(y, source, "revenue_fs")) {
                line(&label, "source", source, "revenue", round_to((is + fs) * 1.08, 100_000.0));
            }
        }
    }
    let path = out.join("targets.csv");
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    Ok(rows)
}
