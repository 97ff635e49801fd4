//! The commands and their flags, with the help text beside each.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// salesrelay: the linked inside-sales / field-sales KPI tree, loss reasons and
/// visit ratios from a CRM's pipeline history, as Parquet, charts and a report.
#[derive(Debug, Parser)]
#[command(name = "salesrelay", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load, validate and review a quarter: writes <out>/<period>/.
    ///
    /// Example: salesrelay run --input exports/2026-10 --period FY2026-Q2 --out reports
    Run(RunArgs),
    /// Write a deterministic synthetic pipeline history (same seed, same bytes).
    ///
    /// Example: salesrelay generate --out /tmp/big --scale 100 --seed 7
    Generate(GenerateArgs),
    /// Check the input only and list every problem found (exit 1 if any).
    ///
    /// Example: salesrelay validate --input exports/2026-10
    Validate(InputArgs),
    /// Run one SQL file (Polars SQL) over the input and output tables.
    ///
    /// The validated inputs (accounts, leads, ...), every output table of the
    /// review (kpi_tree, losses, ...) and `review` (period, compare_to,
    /// data_end) are registered by name.
    /// Example: salesrelay query my_cut.sql --input sample_data --out cut.csv
    Query(QueryArgs),
    /// Print the input contract: every table's columns, types, keys,
    /// references and allowed values, and how files are read.
    ///
    /// Example: salesrelay schema --table handoffs
    Schema(SchemaArgs),
    /// Print the 40 kpi_tree nodes with parent, kind, unit and definition,
    /// the revenue identities and the attribution rule (LMDI-I).
    ///
    /// Example: salesrelay metrics --node win_yield_is
    Metrics(MetricsArgs),
    /// Print a built-in mapping (TOML) to copy and edit, or, without a
    /// name, the built-in mappings and the mapping file's keys.
    ///
    /// Example: salesrelay mapping salesforce > my_salesforce.toml
    Mapping(MappingArgs),
    /// Benchmark helper: read every CSV of a folder with Polars' own
    /// multi-threaded CSV reader, no validation, and print the seconds (the
    /// parse floor tests/bench/run.sh compares the review with).
    #[command(hide = true)]
    ParseFloor(ParseFloorArgs),
}

/// Where the input is and how to read it.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Folder with one NAME.csv or NAME.parquet per table (accounts, reps,
    /// opportunities required; leads, activities, handoffs, stage_history,
    /// dsr_views optional).
    #[arg(long, default_value = "sample_data", value_name = "DIR")]
    pub input: PathBuf,
    /// salesrelay.toml to use; default: salesrelay.toml in the input folder
    /// if there is one, else built-in defaults. Example: --config fy-jan.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Read another CRM's export through a mapping: a built-in one by name
    /// (salesforce, hubspot, olist) or a mapping file (TOML). Example: --mapping
    /// salesforce, or --mapping my_crm.toml
    #[arg(long, value_name = "NAME|FILE")]
    pub mapping: Option<String>,
}

impl InputArgs {
    /// The library's input options.
    pub fn options(self) -> crate::prepare::InputOptions {
        crate::prepare::InputOptions { input: self.input, config: self.config, mapping: self.mapping, hashes: crate::load::Hashes::Taken }
    }
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Folder the report goes into, as <out>/<period>/. The report is written
    /// to a temporary folder first and renamed, so a failed run leaves the
    /// previous report untouched; files you added to the previous report
    /// folder are kept in the new one.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub out: PathBuf,
    /// Fiscal quarter to review, e.g. FY2026-Q2 (named as fiscal_year_label
    /// says). Default: the last complete quarter in the data.
    #[arg(long, value_name = "FYyyyy-Qn")]
    pub period: Option<String>,
    /// Set rows with problems aside into data_quality.parquet and go on,
    /// instead of stopping with the list of problems.
    #[arg(long)]
    pub lenient: bool,
    /// Folder of *.sql files, each run over every table and written as a
    /// table of its own. Example: --queries my_queries
    #[arg(long, default_value = "queries", value_name = "DIR")]
    pub queries: PathBuf,
    /// Stop when a query fails, instead of reporting it and writing the rest.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Folder to write the tables (CSV), salesrelay.toml and reference/ into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Size: 1 is sample_data (about 3,000 leads, 20,000 activities); 1000
    /// is about 20 million activities. Rows are streamed to disk.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub scale: u32,
    /// Random seed; the same seed and scale give the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// SQL file; the input tables are registered by name (accounts, leads, ...).
    #[arg(value_name = "FILE.sql")]
    pub file: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// Fiscal quarter the output tables review (default: the last complete one).
    #[arg(long, value_name = "FYyyyy-Qn")]
    pub period: Option<String>,
    /// Write the result to FILE.parquet or FILE.csv instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Print only this table. Example: --table leads
    #[arg(long, value_name = "NAME",
          value_parser = clap::builder::PossibleValuesParser::new(crate::describe::table_choices()))]
    pub table: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct MappingArgs {
    /// A built-in mapping's name (salesforce, hubspot, olist).
    #[arg(value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(crate::mapping::BUILT_IN.iter().map(|(n, _)| *n)))]
    pub name: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// Print only this node, as kpi_tree names it (`salesrelay metrics`
    /// lists them). Example: --node sql_rate
    #[arg(long, value_name = "NAME", hide_possible_values = true,
          value_parser = clap::builder::PossibleValuesParser::new(crate::describe::node_choices()))]
    pub node: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ParseFloorArgs {
    /// Folder of CSV files.
    #[arg(long, value_name = "DIR")]
    pub input: PathBuf,
}
