//! One integration test binary (modules below), so the suite links once.

mod util;

mod config;
mod generate;
mod kpi;
mod load;
mod run;
mod validate;
