//! One integration test binary (modules below), so the suite links once.

mod util;

mod breaks;
mod charts;
mod config;
mod currency;
mod describe;
mod engagement;
mod example;
mod fuzz;
mod generate;
mod group_agg;
mod hubspot;
mod hybrid;
mod ids;
mod interop;
mod kpi;
mod lmdi;
mod loss_corpus;
mod losses;
mod mapping;
mod plan;
mod load;
mod quarters;
mod queries;
mod registry;
mod run;
mod runs;
mod salesforce_export;
mod tables;
mod trust;
mod validate;
mod visit_plan;
mod visits;
