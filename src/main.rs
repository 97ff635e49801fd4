//! The binary's edge: parse the command line, run, map errors to exit codes
//! (0 ok, 1 bad input or failure, 2 usage).

use std::process::ExitCode;

use clap::Parser;
use salesrelay::cli::{Cli, Command};
use salesrelay::run::{query_command, run_command, validate_command, RunOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {
        Command::Run(a) => run_command(&RunOptions {
            input: a.input.options(),
            out: a.out,
            period: a.period,
            lenient: a.lenient,
            quiet: false,
            queries: a.queries,
            strict: a.strict,
        })
        .map(|_| ())
        .map_err(Into::into),
        Command::Validate(a) => {
            validate_command(&a.options(), false).map_err(Into::into)
        }
        Command::Generate(a) => salesrelay::generate::generate(&a.out, a.scale, a.seed)
            .map(|stats| eprintln!("{stats}"))
            .map_err(Into::into),
        Command::Query(a) => query_command(
            &a.file,
            &a.input.options(),
            a.period.as_deref(),
            a.out.as_deref(),
            false,
        )
        .map(|_| ())
        .map_err(Into::into),
        Command::Schema(a) => salesrelay::describe::schema(a.table.as_deref()).map(|text| print!("{text}")).map_err(Into::into),
        Command::ParseFloor(a) => salesrelay::load::parse_floor(&a.input).map(|(rows, secs)| println!("{rows} rows in {secs:.3} s")).map_err(Into::into),
        Command::Metrics(a) => salesrelay::describe::metrics(a.node.as_deref()).map(|text| print!("{text}")).map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
