//! The ten reference industries of the survey, the benchmark in-person
//! shares, and the mapping of free-text account industries onto them.

use std::path::Path;

use polars::prelude::*;

use crate::config::Config;
use crate::error::{Error, Result};

/// The built-in survey benchmark and industry mapping, used when the input
/// folder has no copies of its own (and written by `generate`).
pub const BENCHMARK_CSV: &str = include_str!("reference/industry_benchmark.csv");
pub const MAPPING_CSV: &str = include_str!("reference/industry_mapping.csv");

/// The built-in survey's in-person share of reference industry `name`
/// (0 for a name the survey does not have).
pub fn survey_share(name: &str) -> f64 {
    static SHARES: std::sync::OnceLock<Vec<(String, f64)>> = std::sync::OnceLock::new();
    let shares = SHARES.get_or_init(|| {
        let rows = read_csv_text(BENCHMARK_CSV, "built-in benchmark").unwrap_or_default();
        rows.into_iter().filter_map(|row| Some((row.first()?.clone(), row.get(1)?.parse().ok()?))).collect()
    });
    shares.iter().find(|(n, _)| n == name).map_or(0.0, |(_, share)| *share)
}

/// Where text not covered by the mapping goes.
pub const OTHER: &str = "Other services";

/// The benchmark and the mapping, ready to join.
#[derive(Debug, Clone)]
pub struct Industries {
    /// `reference_industry` (the ten names, benchmark order), `benchmark_share`, `benchmark_n`, `benchmark_source`.
    pub benchmark: DataFrame,
    /// `industry_key` (lower-cased, trimmed text), `reference_industry`.
    pub mapping: DataFrame,
    /// The reference industry names in benchmark order.
    pub names: Vec<String>,
}

fn read_csv_text(text: &str, origin: &str) -> Result<Vec<Vec<String>>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| Error::Config(format!("{origin} row {}: {e}", i + 2)))?;
        rows.push(rec.iter().map(|s| s.trim().to_string()).collect());
    }
    Ok(rows)
}

fn source(input: &Path, rel: &Path, builtin: &'static str) -> Result<(String, String)> {
    let path = input.join(rel);
    if path.is_file() {
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Ok((text.trim_start_matches('\u{feff}').to_string(), path.display().to_string()))
    } else {
        Ok((builtin.to_string(), format!("built-in {}", rel.display())))
    }
}

/// The matching key of an industry text: lower-cased and trimmed.
pub fn industry_key(e: Expr) -> Expr {
    crate::typing::each_distinct(e, |v| v.trim().to_lowercase())
}

impl Industries {
    /// Reads the configured mapping and benchmark from the input folder, or
    /// the built-in copies when the files are not there.
    pub fn load(input: &Path, config: &Config) -> Result<Industries> {
        let (bench_text, bench_origin) = source(input, &config.industries.benchmark, BENCHMARK_CSV)?;
        let bench = read_csv_text(&bench_text, &bench_origin)?;
        let mut names = Vec::new();
        let mut shares = Vec::new();
        let mut ns = Vec::new();
        let mut sources = Vec::new();
        for (i, row) in bench.iter().enumerate() {
            let share = row.get(1).and_then(|s| s.parse::<f64>().ok()).filter(|s| (0.0..=1.0).contains(s));
            let (Some(name), Some(share)) = (row.first(), share) else {
                return Err(Error::Config(format!(
                    "{bench_origin} row {}: expected reference_industry,in_person_share (a share 0-1)",
                    i + 2
                )));
            };
            names.push(name.clone());
            shares.push(share);
            ns.push(row.get(2).and_then(|s| s.parse::<i64>().ok()));
            sources.push(row.get(3).cloned());
        }
        if !names.iter().any(|n| n == OTHER) {
            return Err(Error::Config(format!("{bench_origin}: must list {OTHER:?}, where unmapped industries go")));
        }
        let (map_text, map_origin) = source(input, &config.industries.mapping, MAPPING_CSV)?;
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (i, row) in read_csv_text(&map_text, &map_origin)?.iter().enumerate() {
            let (Some(raw), Some(reference)) = (row.first(), row.get(1)) else {
                return Err(Error::Config(format!("{map_origin} row {}: expected industry,reference_industry", i + 2)));
            };
            pairs.push((raw.clone(), reference.clone()));
        }
        for (raw, reference) in &config.industries.extra {
            pairs.push((raw.clone(), reference.clone()));
        }
        for (raw, reference) in &pairs {
            if !names.contains(reference) {
                return Err(Error::Config(format!(
                    "industry mapping: {raw:?} maps to {reference:?}, which is not a reference industry ({})",
                    names.join("; ")
                )));
            }
        }
        let benchmark = df!(
            "reference_industry" => names.clone(),
            "benchmark_share" => shares,
            "benchmark_n" => ns,
            "benchmark_source" => sources,
        )?;
        // later entries (the config's extra) win over the file's
        let mapping = df!(
            "industry_key" => pairs.iter().map(|p| p.0.trim().to_lowercase()).collect::<Vec<_>>(),
            "reference_industry" => pairs.iter().map(|p| p.1.clone()).collect::<Vec<_>>(),
        )?
        .lazy()
        .unique_stable(Some(cols(["industry_key"])), UniqueKeepStrategy::Last)
        .collect()?;
        Ok(Industries { benchmark, mapping, names })
    }

    /// Adds `reference_industry` to a frame with a free-text `industry` column;
    /// text the mapping does not cover goes to "Other services".
    pub fn map(&self, lf: LazyFrame) -> LazyFrame {
        lf.with_column(industry_key(col("industry")).alias("__industry_key"))
            .join(
                self.mapping.clone().lazy(),
                [col("__industry_key")],
                [col("industry_key")],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(col("reference_industry").fill_null(lit(OTHER)))
            .drop(by_name(["__industry_key"], true, false))
    }
}
