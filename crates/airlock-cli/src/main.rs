//! The `airlock` command: a guided demo, the local sandbox platform, a scriptable approval
//! gate for any command, and RFC 8785 tools. Thin: every capability it shows is a call into
//! the `airlock` SDK or `airlock-sandbox`.
//!
//! See the crate README for the commands, their output and their exit codes.

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)] // A CLI prints.

mod cli;
mod demo;
mod exit;
mod jcs_cmd;
mod sandbox_cmd;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::exit::{CliError, Exit};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` print to stdout and succeed; usage errors exit 64 so
            // they can never be mistaken for a decision's exit code.
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage.into()
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_tracing(cli.verbose);
    match run(cli.command) {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("airlock: {e}");
            e.exit.into()
        }
    }
}

/// Diagnostics go to stderr: errors only by default, more with `-v`; `RUST_LOG` overrides.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "error",
        1 => "warn",
        2 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(Exit::Failure, format!("cannot start the async runtime: {e}")))
}

fn run(command: Command) -> Result<Exit, CliError> {
    match command {
        Command::Demo => runtime()?.block_on(demo::run()).map(|()| Exit::Success),
        Command::Sandbox(args) => runtime()?
            .block_on(sandbox_cmd::run(args.into_options()))
            .map(|()| Exit::Success),
        Command::Canonicalize(args) => {
            jcs_cmd::run_canonicalize(&jcs_cmd::Input::from_arg(args.file)).map(|()| Exit::Success)
        }
        Command::Hash(args) => {
            jcs_cmd::run_hash(&jcs_cmd::Input::from_arg(args.file)).map(|()| Exit::Success)
        }
    }
}
