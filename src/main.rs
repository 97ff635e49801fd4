//! The binary's edge: parse the command line, run, map errors to exit codes
//! (0 ok, 1 bad input or failure, 2 usage). Output goes through `console`,
//! so a closed stdout (`| head`) never panics.

use std::process::ExitCode;

use clap::Parser;
use salesrelay::cli::{Cli, Command};
use salesrelay::commands::query::query_command;
use salesrelay::commands::run::{run_command, RunOptions};
use salesrelay::commands::validate::validate_command;
use salesrelay::console::out;
use salesrelay::error::Error;

/// Polars allocates and frees many short-lived buffers from several
/// threads; mimalloc hands memory back to the system sooner than glibc's
/// per-thread arenas (README, "Development").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), Error> = match cli.command {
        Command::Run(a) => run_command(&RunOptions {
            input: a.input.options(),
            out: a.out,
            period: a.period,
            lenient: a.lenient,
            quiet: false,
            queries: a.queries,
            strict: a.strict,
        })
        .and_then(|report| out(format_args!("{}", report.summary))),
        Command::Validate(a) => validate_command(&a.options(), false).and_then(|summary| out(format_args!("{summary}"))),
        Command::Generate(a) => salesrelay::generate::generate(&a.out, a.scale, a.seed).map(|stats| salesrelay::tell!("{stats}")),
        Command::Query(a) => query_command(
            &a.file,
            &a.input.options(),
            a.period.as_deref(),
            a.out.as_deref(),
            false,
        )
        .and_then(|result| if a.out.is_none() { salesrelay::say!("{result}") } else { Ok(()) }),
        Command::Schema(a) => salesrelay::describe::schema(a.table.as_deref()).and_then(|text| out(format_args!("{text}"))),
        Command::ParseFloor(a) => salesrelay::load::parse_floor(&a.input).and_then(|(rows, secs)| salesrelay::say!("{rows} rows in {secs:.3} s")),
        Command::Mapping(a) => out(format_args!("{}", salesrelay::mapping::describe(a.name.as_deref()))),
        Command::Metrics(a) => salesrelay::describe::metrics(a.node.as_deref()).and_then(|text| out(format_args!("{text}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Problems { summary, problems, reason }) => {
            // what was loaded on stdout, the problems then the reason on stderr
            let _ = out(format_args!("{summary}"));
            salesrelay::console::err(format_args!("{problems}"));
            fail(anyhow::Error::from(*reason))
        }
        Err(e) => fail(e.into()),
    }
}

/// Says why the command failed; exit status 1.
fn fail(e: anyhow::Error) -> ExitCode {
    salesrelay::tell!("error: {e:#}");
    ExitCode::from(1)
}
