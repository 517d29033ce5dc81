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
pub(crate) fn venv() -> Result<PathBuf, String> {
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
pub(crate) fn bin(venv: &Path, program: &str) -> PathBuf {
    venv.join("bin").join(program)
}

/// Builds `airlock_harp` into the virtualenv (`maturin develop`, `--release` for benches).
pub(crate) fn build(venv: &Path, release: bool) -> Result<(), String> {
    let mut maturin = Command::new(bin(venv, "maturin"));
    maturin
        .args([
            "develop",
            "--locked",
            "--manifest-path",
            "bindings/python/Cargo.toml",
        ])
        .current_dir(workspace_root())
        .env("VIRTUAL_ENV", venv);
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
    let venv = match venv().and_then(|venv| build(&venv, false).map(|()| venv)) {
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
