//! Project automation for airlock-rs: `cargo xtask <command>`.
//!
//! - `test`    — everything CI checks, in one command, with a summary line at the end.
//! - `release` — version bump, changelog, packaging checks, release commit and tag.
//! - `bench`   — every benchmark, including the comparison with the published crate.
//! - `fuzz`    — run the cargo-fuzz targets in `fuzz/`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod bench_hook;
mod fuzz;
mod python;
mod release;
mod test;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test       fmt --check, clippy -D warnings, all tests (unit, integration, doc, interop),
             the Python package's pytest and mypy --strict, cargo deny when installed; prints a summary line; non-zero on any failure.
             PROPTEST_CASES sets the proptest case count (default 64).
  release    [patch|minor|major|X.Y.Z] [--dry-run [--skip-tests] [--no-verify]]: tests,
             version bump, changelog, cargo publish --dry-run, release commit and tag
             (--dry-run: all of it in a temporary clone of HEAD).
  bench      [--quick]: every benchmark (ours, the raw floors, the published crate) and
             the dependency footprint, in one table of ratios.
  fuzz       [TARGET] [--seconds N] [--check]: the cargo-fuzz targets of fuzz/ (N s each,
             default 60); --check runs their bodies as tests on stable Rust instead.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::run(&args[1..]),
        Some("release") => release::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
