//! `cargo xtask test`: the whole check suite CI runs, with one summary line at the end.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::util::{cargo, have, workspace_root};

/// Counts from `cargo test` result lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) passed: u64,
    pub(crate) failed: u64,
    pub(crate) ignored: u64,
}

impl Counts {
    /// Adds the counts of one `test result: ...` line of libtest output, if it is one.
    pub(crate) fn add_line(&mut self, line: &str) -> bool {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return false;
        };
        let mut found = false;
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(number)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = number.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => continue,
            }
            found = true;
        }
        found
    }
}

pub(crate) struct Step {
    pub(crate) name: &'static str,
    pub(crate) ok: bool,
    pub(crate) note: String,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!(
            "`cargo xtask test` takes no arguments (got `{arg}`)"
        ));
    }
    let mut steps = Vec::new();
    let mut counts = Counts::default();

    steps.push(simple("fmt", cargo().args(["fmt", "--all", "--check"])));
    steps.push(simple(
        "clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    ));

    // The API documentation builds without a warning: no broken intra-doc link, no bare
    // URL, no stray HTML. The CLI is left out: its doc comments are clap's `--help` text, and
    // its binary `airlock` would overwrite the façade library's pages of the same name.
    steps.push(simple(
        "docs",
        cargo()
            .args([
                "doc",
                "--workspace",
                "--no-deps",
                "--locked",
                "--all-features",
                "--exclude",
                "airlock-cli",
                "--exclude",
                "airlock-bench",
                "--exclude",
                "xtask",
            ])
            .env("RUSTDOCFLAGS", "-D warnings"),
    ));

    // The façade's features each build on their own (a verifier needs `crypto` alone).
    let mut features_ok = true;
    for features in ["", "types", "crypto", "gateway", "auth"] {
        let mut check = cargo();
        check.args([
            "check",
            "--locked",
            "-p",
            "airlock",
            "--no-default-features",
        ]);
        if !features.is_empty() {
            check.args(["--features", features]);
        }
        eprintln!("==> features [{features}]");
        features_ok &= check.status().is_ok_and(|s| s.success());
    }
    steps.push(Step {
        name: "features",
        ok: features_ok,
        note: if features_ok {
            String::new()
        } else {
            "a feature subset of `airlock` does not build".into()
        },
    });

    // Chromium and chromedriver for the approver page's browser test (which fails under CI
    // without them): installed from Debian's packages when missing.
    steps.push(simple(
        "browser",
        Command::new("bash").arg(workspace_root().join("scripts/install-browser.sh")),
    ));

    // Unit, integration, doc and interop tests (the OIDC interop tests start their own
    // provider; they fail rather than skip when `CI` is set and Node.js is missing).
    let mut test = cargo();
    test.args(["test", "--workspace", "--locked", "--no-fail-fast"]);
    if std::env::var_os("PROPTEST_CASES").is_none() {
        test.env("PROPTEST_CASES", "64");
    }
    steps.push(counted("tests", &mut test, &mut counts));

    // The fuzz targets as ordinary tests on stable Rust (fuzz/ is its own Cargo project):
    // seeds, regression inputs and generated inputs through every target's checks.
    let mut fuzz = cargo();
    fuzz.args([
        "test",
        "--locked",
        "--no-default-features",
        "--manifest-path",
        "fuzz/Cargo.toml",
    ]);
    steps.push(counted("fuzz", &mut fuzz, &mut counts));

    steps.push(crate::python::test(&mut counts));

    // Licences, bans and sources need no network. The advisory database is fetched from
    // GitHub, which CI cannot reach: run `cargo deny check advisories` where it can.
    if have("cargo-deny", &["--version"]) {
        steps.push(simple(
            "deny",
            cargo().args(["deny", "--locked", "check", "bans", "licenses", "sources"]),
        ));
    } else {
        steps.push(Step {
            name: "deny",
            ok: true,
            note: "skipped: cargo-deny is not installed (cargo install cargo-deny --locked)".into(),
        });
    }

    println!();
    println!("xtask test summary:");
    for step in &steps {
        let status = if step.ok { "ok  " } else { "FAIL" };
        println!("  {status} {:<7} {}", step.name, step.note);
    }
    let failed_steps = steps.iter().filter(|s| !s.ok).count();
    println!(
        "summary: {} passed, {} failed, {} skipped",
        counts.passed, counts.failed, counts.ignored
    );
    if failed_steps > 0 {
        return Err(format!("{failed_steps} step(s) failed"));
    }
    Ok(())
}

fn simple(name: &'static str, cmd: &mut Command) -> Step {
    eprintln!("==> {name}");
    match cmd.status() {
        Ok(status) => Step {
            name,
            ok: status.success(),
            note: status_note(status),
        },
        Err(e) => Step {
            name,
            ok: false,
            note: format!("could not start: {e}"),
        },
    }
}

/// Runs a `cargo test` command, echoing its output while counting its result lines.
fn counted(name: &'static str, cmd: &mut Command, counts: &mut Counts) -> Step {
    eprintln!("==> {name}");
    let mut child = match cmd.stdout(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(e) => {
            return Step {
                name,
                ok: false,
                note: format!("could not start: {e}"),
            };
        }
    };
    let before = *counts;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            counts.add_line(&line);
        }
    }
    let ok_status = child.wait();
    let ran = counts.passed + counts.failed - before.passed - before.failed;
    match ok_status {
        Ok(status) => {
            // A green exit with no test executed is not a pass.
            let ok = status.success() && ran > 0 && counts.failed == before.failed;
            let note = if ran == 0 {
                "no test ran".to_owned()
            } else {
                status_note(status)
            };
            Step { name, ok, note }
        }
        Err(e) => Step {
            name,
            ok: false,
            note: format!("could not wait: {e}"),
        },
    }
}

fn status_note(status: std::process::ExitStatus) -> String {
    if status.success() {
        String::new()
    } else {
        status.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn counts_libtest_result_lines() {
        let mut c = Counts::default();
        assert!(c.add_line(
            "test result: ok. 12 passed; 0 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.01s"
        ));
        assert!(c.add_line(
            "test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 5 filtered out"
        ));
        assert!(!c.add_line("running 3 tests"));
        assert!(!c.add_line("test foo ... ok"));
        assert_eq!(
            c,
            Counts {
                passed: 13,
                failed: 2,
                ignored: 3
            }
        );
    }
}
