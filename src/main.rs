//! The binary's edge: parse the command line, run, map errors to exit codes
//! (0 ok, 1 bad input or failure, 2 usage). Output goes through `console`,
//! so a closed stdout (`| head`) never panics.

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
            .map(|stats| salesrelay::tell!("{stats}"))
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
        Command::Schema(a) => salesrelay::describe::schema(a.table.as_deref()).and_then(|text| salesrelay::console::out(format_args!("{text}"))).map_err(Into::into),
        Command::ParseFloor(a) => salesrelay::load::parse_floor(&a.input).and_then(|(rows, secs)| salesrelay::say!("{rows} rows in {secs:.3} s")).map_err(Into::into),
        Command::Metrics(a) => salesrelay::describe::metrics(a.node.as_deref()).and_then(|text| salesrelay::console::out(format_args!("{text}"))).map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            salesrelay::tell!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
