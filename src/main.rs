//! The `anomalyforge` operator CLI: accounts now; training, evaluation, scoring and benchmarks of the
//! detection engine; API tokens for integrators.

use anomalyforge::cli;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
