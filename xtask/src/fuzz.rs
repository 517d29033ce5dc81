//! `cargo xtask fuzz [TARGET] [--seconds N] [--check]`.
//!
//! - Without `--check`: runs the cargo-fuzz targets of `fuzz/` (every target, or the one
//!   named) for `N` seconds each (default 60) with libFuzzer. cargo-fuzz needs a nightly
//!   compiler for `-Zsanitizer=address`; on a stable toolchain this sets
//!   `RUSTC_BOOTSTRAP=1` (the stable compiler then accepts the `-Z` flags; this works with
//!   rustc 1.95). The signed and sealed fixtures are written into `fuzz/corpus/<target>/`
//!   first and the committed seeds (`fuzz/seeds/<target>/`) are read as a second corpus.
//!   A crash input is copied into `fuzz/regressions/<target>/`, where the `--check` tests
//!   run it from then on: commit it with the fix.
//! - `--check`: no libFuzzer, stable Rust: `cargo test` of `fuzz/` runs every target's
//!   body over its seeds, every regression input and deterministic edits of the seeds
//!   (`AIRLOCK_FUZZ_CASES` per target, default 1000).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{cargo, have, workspace_root};

const TARGETS: &[&str] = &[
    "canonicalize",
    "response_parsers",
    "pairing_response",
    "decision",
    "aes_gcm_open",
];

const USAGE: &str = "usage: cargo xtask fuzz [TARGET] [--seconds N] [--check]";

#[derive(Debug, PartialEq, Eq)]
struct Options {
    targets: Vec<&'static str>,
    seconds: u64,
    check: bool,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut targets = Vec::new();
    let mut seconds = 60;
    let mut check = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--seconds" => {
                let value = args.next().ok_or(USAGE)?;
                seconds =
                    value.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                        format!("--seconds wants a positive number, not `{value}`")
                    })?;
            }
            name => {
                let target = TARGETS.iter().find(|t| **t == name).ok_or_else(|| {
                    format!(
                        "unknown target `{name}` (targets: {})\n{USAGE}",
                        TARGETS.join(", ")
                    )
                })?;
                targets.push(*target);
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    Ok(Options {
        targets,
        seconds,
        check,
    })
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let opts = parse_args(args)?;
    let fuzz_dir = workspace_root().join("fuzz");
    let manifest = fuzz_dir.join("Cargo.toml");
    if opts.check {
        let mut test = cargo();
        test.args(["test", "--no-default-features", "--manifest-path"])
            .arg(&manifest);
        if opts.targets.len() < TARGETS.len() {
            test.args(["--test", "targets", "--"]).args(&opts.targets);
        }
        return status(&mut test, "the fuzz targets' tests");
    }

    if !have("cargo", &["fuzz", "--version"]) {
        return Err(
            "cargo-fuzz is not installed: `cargo install cargo-fuzz --locked` \
                    (or run `cargo xtask fuzz --check`, the targets as tests on stable Rust)"
                .into(),
        );
    }
    let stable = !Command::new("rustc")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("nightly"))
        .unwrap_or(false);
    if stable {
        eprintln!("note: no nightly compiler: using RUSTC_BOOTSTRAP=1 for cargo-fuzz's -Z flags");
    }
    let corpus_root = fuzz_dir.join("corpus");
    let mut seeds = cargo();
    seeds
        .args([
            "run",
            "-q",
            "--no-default-features",
            "--example",
            "write_seeds",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--")
        .arg(&corpus_root);
    status(&mut seeds, "writing the fixture seeds")?;

    let mut failed = Vec::new();
    for target in &opts.targets {
        eprintln!("==> fuzz {target} for {} s", opts.seconds);
        let corpus = corpus_root.join(target);
        std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        let artifacts = fuzz_dir.join("artifacts").join(target);
        let before = list(&artifacts);
        let mut fuzz = cargo();
        if stable {
            fuzz.env("RUSTC_BOOTSTRAP", "1");
        }
        fuzz.args(["fuzz", "run", "--fuzz-dir"])
            .arg(&fuzz_dir)
            .arg(target)
            .arg(&corpus)
            .arg(fuzz_dir.join("seeds").join(target))
            .arg("--")
            .arg(format!("-max_total_time={}", opts.seconds))
            .args(["-timeout=10", "-rss_limit_mb=2048"]);
        if let Err(e) = status(&mut fuzz, &format!("fuzzing {target}")) {
            let crashes = keep_crashes(target, &before, &list(&artifacts), &fuzz_dir)?;
            failed.push(format!("{target}: {e}; crash inputs kept in {crashes}"));
        }
    }
    if failed.is_empty() {
        eprintln!(
            "fuzz: {} target(s), {} s each: no crash",
            opts.targets.len(),
            opts.seconds
        );
        Ok(())
    } else {
        Err(format!(
            "fuzzing found crashes (now regression inputs; fix, then commit them):\n  {}",
            failed.join("\n  ")
        ))
    }
}

fn status(cmd: &mut Command, what: &str) -> Result<(), String> {
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{what} failed ({s})")),
        Err(e) => Err(format!("{what} could not start: {e}")),
    }
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Copies the artifacts that appeared during the run into `fuzz/regressions/<target>/`.
fn keep_crashes(
    target: &str,
    before: &[PathBuf],
    after: &[PathBuf],
    fuzz_dir: &Path,
) -> Result<String, String> {
    let dest = fuzz_dir.join("regressions").join(target);
    std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    for path in after.iter().filter(|p| !before.contains(p)) {
        if let Some(name) = path.file_name() {
            std::fs::copy(path, dest.join(name))
                .map_err(|e| format!("cannot keep {}: {e}", path.display()))?;
        }
    }
    Ok(dest.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Options, String> {
        parse_args(&a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn arguments() {
        assert_eq!(
            args(&[]).unwrap(),
            Options {
                targets: TARGETS.to_vec(),
                seconds: 60,
                check: false
            }
        );
        assert_eq!(
            args(&["decision", "--seconds", "600"]).unwrap(),
            Options {
                targets: vec!["decision"],
                seconds: 600,
                check: false
            }
        );
        assert!(args(&["--check"]).unwrap().check);
        assert!(args(&["nope"]).unwrap_err().contains("unknown target"));
        assert!(args(&["--seconds"]).is_err());
        assert!(args(&["--seconds", "0"]).is_err());
        assert!(args(&["--seconds", "x"]).is_err());
    }

    #[test]
    fn every_target_exists_in_fuzz() {
        let dir = workspace_root().join("fuzz").join("fuzz_targets");
        for target in TARGETS {
            assert!(dir.join(format!("{target}.rs")).is_file(), "{target}");
        }
        assert_eq!(list(&dir).len(), TARGETS.len());
    }
}
