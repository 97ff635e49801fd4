//! salesrelay: a CRM's pipeline history -> one linked inside-sales / field-sales
//! KPI tree with exact driver attribution, as Parquet tables, charts and a report.
//!
//! Data flows one way: load -> validate -> metrics -> output -> charts -> report.

pub mod calendar;
pub mod charts;
pub mod cli;
pub mod config;
pub mod console;
pub mod contract;
pub mod coverage;
pub mod describe;
pub mod error;
pub mod generate;
pub mod industries;
pub mod load;
pub mod mapping;
pub mod metrics;
pub mod output;
pub mod progress;
pub mod report;
pub mod rules;
pub mod run;
pub mod sql;
pub mod summary;
pub mod typing;
pub mod validate;
