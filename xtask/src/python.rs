//! The Python package `airlock_harp` (bindings/python): a virtualenv under `target/` with
//! the pinned tools of `bindings/python/requirements-dev.txt`, the extension built into it
//! by maturin (from the workspace's lockfile and target directory), then pytest and
//! `mypy --strict` (`cargo xtask test`), or the side-by-side benchmark (`cargo xtask bench`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::test::{Counts, Step};
use crate::util::workspace_root;

const REQUIREMENTS: &str = "bindings/python/requirements-dev.txt";

/// `target/python-venv` with the pinned tools; (re)installed only when the requirements
/// file changed since the last install.
fn venv() -> Result<PathBuf, String> {
    let root = workspace_root();
    let venv = root.join("target").join("python-venv");
    let wanted = std::fs::read_to_string(root.join(REQUIREMENTS))
        .map_err(|e| format!("cannot read {REQUIREMENTS}: {e}"))?;
    let stamp = venv.join("airlock-requirements.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|had| had == wanted)
        && bin(&venv, "python").exists()
    {
        return Ok(venv);
    }
    let python = std::env::var("AIRLOCK_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run(
        Command::new(&python)
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        "python -m venv",
    )?;
    run(
        Command::new(bin(&venv, "python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(root.join(REQUIREMENTS)),
        "pip install",
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(venv)
}

/// A program of the virtualenv.
fn bin(venv: &Path, program: &str) -> PathBuf {
    venv.join("bin").join(program)
}

/// Builds `airlock_harp` into the virtualenv `into` with the maturin of `tools`
/// (`maturin develop`; `--release` for the benchmark).
fn build(tools: &Path, into: &Path, release: bool) -> Result<(), String> {
    let mut maturin = Command::new(bin(tools, "maturin"));
    maturin
        .args([
            "develop",
            "--locked",
            "--manifest-path",
            "bindings/python/Cargo.toml",
        ])
        .current_dir(workspace_root())
        .env("VIRTUAL_ENV", into);
    if release {
        maturin.arg("--release");
    }
    run(&mut maturin, "maturin develop")
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{what} failed ({s})")),
        Err(e) => Err(format!("{what} could not start: {e}")),
    }
}

/// The `python` step of `cargo xtask test`: build, pytest (its counts join the summary),
/// then `mypy --strict` over the package and its examples.
pub(crate) fn test(counts: &mut Counts) -> Step {
    eprintln!("==> python");
    let fail = |note: String| Step {
        name: "python",
        ok: false,
        note,
    };
    let venv = match venv().and_then(|venv| build(&venv, &venv, false).map(|()| venv)) {
        Ok(venv) => venv,
        Err(e) => return fail(e),
    };
    let dir = workspace_root().join("bindings/python");
    let pytest = Command::new(bin(&venv, "python"))
        .args(["-m", "pytest", "-p", "no:cacheprovider"])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output();
    let out = match pytest {
        Ok(out) => out,
        Err(e) => return fail(format!("pytest could not start: {e}")),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    let Some(ran) = PytestCounts::of(&text) else {
        return fail(format!("pytest printed no result line ({})", out.status));
    };
    counts.passed += ran.passed;
    counts.failed += ran.failed;
    counts.ignored += ran.skipped;
    // Exit 5 is "no tests collected": a failure here, like any other non-zero exit.
    if !out.status.success() || ran.passed == 0 {
        return fail(format!(
            "pytest: {} passed, {} failed ({})",
            ran.passed, ran.failed, out.status
        ));
    }
    let mypy = Command::new(bin(&venv, "python"))
        .args([
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "python/airlock_harp",
            "examples",
        ])
        .current_dir(&dir)
        .status();
    match mypy {
        Ok(s) if s.success() => Step {
            name: "python",
            ok: true,
            note: String::new(),
        },
        Ok(s) => fail(format!("mypy --strict failed ({s})")),
        Err(e) => fail(format!("mypy could not start: {e}")),
    }
}

/// The `python` part of `cargo xtask bench`: canonicalize + SHA-256 + AES-256-GCM of the
/// bench's 1 MiB artifact (`airlock-bench artifact`) through `airlock_harp` (release build)
/// beside the published seed SDK (`bench/requirements.txt`), both in one throwaway venv,
/// alternating rounds in one process. Prints its own rows after the main table.
pub(crate) fn bench(quick: bool) {
    eprintln!("==> python: airlock_harp beside the published airlock-gateway (PyPI)");
    let (ours, seed, ratio) = match bench_run(quick) {
        Ok(results) => {
            let get = |key: &str| {
                results
                    .iter()
                    .find(|(k, _)| k == key)
                    .map_or_else(|| "n/a".to_owned(), |(_, v)| v.clone())
            };
            (
                get("python.pipeline.ours"),
                get("python.pipeline.seed"),
                get("python.pipeline.ours_per_seed"),
            )
        }
        Err(reason) => {
            println!("python pipeline: n/a ({reason})");
            return;
        }
    };
    let met = match ratio.parse::<f64>() {
        Ok(r) if r >= 10.0 => "yes",
        Ok(_) => "NO",
        Err(_) => "n/a",
    };
    println!();
    println!(
        "Python: canonicalize + hash + encrypt, 1 MiB (the seed's encrypt_and_submit pipeline)"
    );
    println!("  airlock_harp                    {ours:>10} MB/s");
    println!("  airlock_gateway (published)     {seed:>10} MB/s");
    println!("  ratio (median of pairs)         {ratio:>10}x   target >= 10x   met {met}");
}

fn bench_run(quick: bool) -> Result<Vec<(String, String)>, String> {
    let root = workspace_root();
    let tools = venv()?;
    let throwaway = root.join("target").join("python-bench-venv");
    let _ = std::fs::remove_dir_all(&throwaway);
    let python = std::env::var("AIRLOCK_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run(
        Command::new(&python).args(["-m", "venv"]).arg(&throwaway),
        "python -m venv",
    )?;
    run(
        Command::new(bin(&throwaway, "python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(root.join("bindings/python/bench/requirements.txt")),
        "pip install airlock-gateway",
    )?;
    build(&tools, &throwaway, true)?;

    // The artifact of the Rust benchmark (its binary is built by the steps before this one).
    let bench_target = root.join("target").join("bench");
    run(
        crate::util::cargo()
            .args([
                "build",
                "--release",
                "--locked",
                "-p",
                "airlock-bench",
                "--target-dir",
            ])
            .arg(&bench_target),
        "cargo build airlock-bench",
    )?;
    let artifact = Command::new(bench_target.join("release").join("airlock-bench"))
        .arg("artifact")
        .output()
        .map_err(|e| format!("airlock-bench artifact: {e}"))?;
    let artifact_path = throwaway.join("artifact.json");
    std::fs::write(&artifact_path, &artifact.stdout).map_err(|e| e.to_string())?;

    let out = Command::new(bin(&throwaway, "python"))
        .arg(root.join("bindings/python/bench/pipeline.py"))
        .arg(&artifact_path)
        .arg(if quick { "3" } else { "15" })
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("the Python benchmark could not start: {e}"))?;
    let _ = std::fs::remove_dir_all(&throwaway);
    if !out.status.success() {
        return Err(format!("the Python benchmark failed ({})", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some("bench"), Some(key), Some(value)) => Some((key.to_owned(), value.to_owned())),
                _ => None,
            }
        })
        .collect())
}

/// The counts of pytest's closing line (`=== 3 failed, 40 passed, 1 skipped in 2.1s ===`).
#[derive(Debug, Default, PartialEq, Eq)]
struct PytestCounts {
    passed: u64,
    failed: u64,
    skipped: u64,
}

impl PytestCounts {
    fn of(output: &str) -> Option<Self> {
        let line = output.lines().rev().find(|l| {
            let l = l.trim();
            l.starts_with('=') && l.ends_with('=') && l.contains(" in ")
        })?;
        let mut counts = Self::default();
        let words: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        for pair in words.windows(2) {
            let Ok(n) = pair[0].parse::<u64>() else {
                continue;
            };
            match pair[1] {
                "passed" => counts.passed += n,
                "failed" | "error" | "errors" => counts.failed += n,
                "skipped" | "xfailed" | "deselected" => counts.skipped += n,
                _ => {}
            }
        }
        Some(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::PytestCounts;

    #[test]
    fn reads_pytest_closing_lines() {
        let out =
            "tests/test_x.py ....\n==== 2 failed, 40 passed, 1 skipped, 1 error in 2.10s ====\n";
        assert_eq!(
            PytestCounts::of(out),
            Some(PytestCounts {
                passed: 40,
                failed: 3,
                skipped: 1
            })
        );
        assert_eq!(
            PytestCounts::of("===== no tests ran in 0.01s =====\n"),
            Some(PytestCounts::default())
        );
        assert_eq!(PytestCounts::of("ImportError: boom\n"), None);
    }
}
