//! salesrelay: a CRM's pipeline history -> one linked inside-sales / field-sales
//! KPI tree with exact driver attribution, as Parquet tables, charts and a report.
//!
//! Data flows one way: load (through a mapping) -> validate -> prepare ->
//! metrics (the output-table registry, `metrics::OUTPUT_TABLES`) -> coverage
//! -> output, charts, report; `commands` drive it and return what to print.

pub mod calendar;
pub mod charts;
pub mod cli;
pub mod commands;
pub mod config;
pub mod console;
pub mod contract;
pub mod currency;
pub mod coverage;
pub mod describe;
pub mod error;
pub mod findings;
pub mod generate;
pub mod ids;
pub mod industries;
pub mod load;
pub mod mapping;
pub mod metrics;
pub mod output;
pub mod prepare;
pub mod progress;
pub mod report;
pub mod rules;
pub mod sql;
pub mod summary;
pub mod sync;
pub mod typing;
pub mod validate;

/// The proptest settings of the unit tests in `src/`: failing cases kept in
/// `tests/proptest-regressions/<file>` beside the integration tests' (the
/// crate's top level holds none), the rest proptest's defaults.
#[cfg(test)]
pub(crate) fn unit_proptest_config(file: &'static str) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct(file))),
        ..Default::default()
    }
}
