//! `cargo xtask bench [--quick]`: every benchmark in one run, one table of ratios.
//!
//! 1. `bench/airlock-bench` (workspace member): our crypto pipeline beside its floors (and
//!    canonicalization beside serde_json's parse), our `GatewayClient` beside a raw
//!    hyper-util client replaying the same bytes, on a canned loopback server;
//! 2. `bench/compare` (its own Cargo project: the published `airlock-gateway` 0.4.8 pulls
//!    reqwest and OpenSSL, and has our crate's package name): the same measures of ours
//!    beside the published crate's;
//! 3. the dependency footprint: crates pulled by `bench/pat-enforcer` (a PAT-only enforcer
//!    using only our `airlock-gateway`) against `bench/published-footprint` (a binary using
//!    only the published crate), and whether either links the system OpenSSL
//!    (`cargo tree -i openssl-sys`, `ldd` of the release binary).
//!
//! Every ratio with a target is measured side by side: the two sides run in alternating
//! rounds in one process and the ratio is the median of the per-pair ratios (this VM's
//! speed swings within seconds; a ratio of medians taken apart would measure that too).
//! Both benchmark processes run in release mode under `taskset -c 0` when it works
//! (server and client then share one core). They print `bench <key> <value>` or
//! `bench-na <key> <reason>` lines; a side that cannot run is shown as n/a with its
//! reason, never as a number. `--quick` runs fewer rounds (a smoke test, not a result).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{cargo, have, workspace_root};

/// The published crate's dependency count, as issue 3 states it.
const PUBLISHED_CRATES_STATED: f64 = 157.0;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut quick = false;
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            other => {
                return Err(format!(
                    "usage: cargo xtask bench [--quick] (got `{other}`)"
                ));
            }
        }
    }
    let root = workspace_root();
    let pinned = have("taskset", &["-c", "0", "true"]);
    if !pinned {
        eprintln!("note: `taskset -c 0` does not work here: the benchmarks run unpinned");
    }
    let env: &[(&str, &str)] = if quick {
        &[
            ("AIRLOCK_BENCH_ROUNDS", "3"),
            ("AIRLOCK_BENCH_REQUESTS", "256"),
        ]
    } else {
        &[]
    };
    let target = root.join("target");
    let compare = root.join("bench/compare/Cargo.toml");
    let enforcer = root.join("bench/pat-enforcer/Cargo.toml");
    let published = root.join("bench/published-footprint/Cargo.toml");

    let mut results = Results::default();
    step("bench/airlock-bench (ours)");
    // A target directory of its own: release builds of other packages in the shared one
    // (other feature sets) would otherwise rebuild the dependencies between runs.
    let ours_target = target.join("bench");
    results.absorb_run(
        cargo()
            .args([
                "build",
                "--release",
                "--locked",
                "-p",
                "airlock-bench",
                "--target-dir",
            ])
            .arg(&ours_target),
        bench_process(
            pinned,
            &ours_target.join("release").join("airlock-bench"),
            env,
        ),
        OURS_KEYS,
    );
    step("bench/compare (published airlock-gateway 0.4.8)");
    let compare_target = target.join("bench-compare");
    results.absorb_run(
        cargo()
            .args(["build", "--release", "--locked", "--manifest-path"])
            .arg(&compare)
            .arg("--target-dir")
            .arg(&compare_target),
        bench_process(
            pinned,
            &compare_target.join("release").join("airlock-bench-compare"),
            env,
        ),
        PUBLISHED_KEYS,
    );

    step("dependency footprint");
    let enforcer_target = target.join("pat-enforcer");
    results.insert("deps.ours", crate_count(&enforcer));
    results.insert("deps.published", crate_count(&published));
    results.insert(
        "openssl.ours",
        openssl_links(&enforcer, &enforcer_target, "airlock-pat-enforcer"),
    );
    results.insert(
        "openssl.published",
        openssl_links(
            &published,
            &target.join("published-footprint"),
            "airlock-published-footprint",
        ),
    );

    println!();
    println!("{}", render(&rows(), &results.0));
    crate::python::bench(quick);
    if quick {
        println!("(--quick: few rounds; a smoke test, not a result)");
    }
    if !pinned {
        println!("(not pinned to one core: taskset is not available)");
    }
    crate::bench_hook::run(quick);
    Ok(())
}

fn step(what: &str) {
    eprintln!("==> {what}");
}

/// The benchmark binary, under `taskset -c 0` when pinning works.
fn bench_process(pinned: bool, exe: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.current_dir(workspace_root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

const OURS_KEYS: &[&str] = &[
    "crypto.canonicalize.ours",
    "crypto.canonicalize.serde_parse",
    "crypto.canonicalize.ours_per_parse",
    "crypto.sha256",
    "crypto.aes_gcm",
    "crypto.pipeline",
    "gw.submit.seq.ours",
    "gw.submit.seq.floor",
    "gw.submit.seq.ours_per_floor",
    "gw.status.seq.ours",
    "gw.status.seq.floor",
    "gw.status.seq.ours_per_floor",
    "gw.submit.c64.ours",
    "gw.submit.c64.floor",
    "gw.submit.c64.ours_per_floor",
    "gw.status.c64.ours",
    "gw.status.c64.floor",
    "gw.status.c64.ours_per_floor",
];

const PUBLISHED_KEYS: &[&str] = &[
    "pub.crypto.canonicalize.ours",
    "pub.crypto.canonicalize.published",
    "pub.crypto.canonicalize.ours_per_published",
    "pub.crypto.pipeline.ours",
    "pub.crypto.pipeline.published",
    "pub.crypto.pipeline.ours_per_published",
    "pub.gw.submit.seq.ours",
    "pub.gw.submit.seq.published",
    "pub.gw.submit.seq.ours_per_published",
    "pub.gw.status.seq.ours",
    "pub.gw.status.seq.published",
    "pub.gw.status.seq.ours_per_published",
    "pub.gw.submit.c64.ours",
    "pub.gw.submit.c64.published",
    "pub.gw.submit.c64.ours_per_published",
    "pub.gw.status.c64.ours",
    "pub.gw.status.c64.published",
    "pub.gw.status.c64.ours_per_published",
    "pub.gw.submit.seq.floor",
    "pub.gw.submit.seq.published_beside_floor",
    "pub.gw.submit.seq.floor_per_published",
    "pub.gw.status.seq.floor",
    "pub.gw.status.seq.published_beside_floor",
    "pub.gw.status.seq.floor_per_published",
];

/// A measure: a value, or why there is none.
type Measure = Result<f64, String>;

#[derive(Debug, Default)]
struct Results(BTreeMap<String, Measure>);

impl Results {
    fn insert(&mut self, key: &str, measure: Measure) {
        self.0.insert(key.to_owned(), measure);
    }

    /// Builds, then runs a benchmark process and takes its result lines; on failure every
    /// key it should have reported becomes n/a with the reason.
    fn absorb_run(&mut self, build: &mut Command, mut run: Command, keys: &[&str]) {
        let outcome = status_of(build, "build").and_then(|()| {
            let out = run
                .stderr(Stdio::inherit())
                .output()
                .map_err(|e| format!("could not start: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if !out.status.success() {
                return Err(format!("the benchmark failed ({})", out.status));
            }
            Ok(text)
        });
        match outcome {
            Ok(text) => {
                for (key, measure) in parse_results(&text) {
                    self.0.insert(key, measure);
                }
                for key in keys {
                    self.0
                        .entry((*key).to_owned())
                        .or_insert_with(|| Err("not reported".into()));
                }
            }
            Err(reason) => {
                for key in keys {
                    self.insert(key, Err(reason.clone()));
                }
            }
        }
    }
}

fn status_of(cmd: &mut Command, what: &str) -> Result<(), String> {
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{what} failed ({s})")),
        Err(e) => Err(format!("{what} could not start: {e}")),
    }
}

/// Reads `bench <key> <value>` and `bench-na <key> <reason>` lines; other lines are ignored.
fn parse_results(text: &str) -> Vec<(String, Measure)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut words = line.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some("bench"), Some(key), Some(value)) => {
                let measure = value
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| format!("unreadable value `{value}`"));
                out.push((key.to_owned(), measure));
            }
            (Some("bench-na"), Some(key), reason) => {
                out.push((
                    key.to_owned(),
                    Err(reason.unwrap_or("no reason given").to_owned()),
                ));
            }
            _ => {}
        }
    }
    out
}

/// The number of distinct crates in the normal dependency graph of a project's package,
/// itself included (`cargo tree -e normal --prefix none`, deduplicated): counted this way a
/// binary using only the published crate has the 157 that issue 3 states.
fn crate_count(manifest: &Path) -> Measure {
    let mut cmd = cargo();
    cmd.args([
        "tree",
        "--locked",
        "-e",
        "normal",
        "--prefix",
        "none",
        "--manifest-path",
    ])
    .arg(manifest);
    let out = cmd
        .output()
        .map_err(|e| format!("cargo tree could not start: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or_default()
        ));
    }
    Ok(count_crates(&String::from_utf8_lossy(&out.stdout)) as f64)
}

/// Distinct `name vX.Y.Z` entries of `cargo tree --prefix none` output.
fn count_crates(tree: &str) -> usize {
    let mut seen: Vec<String> = tree
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(crate_id)
        .collect();
    seen.sort();
    seen.dedup();
    seen.len()
}

/// `name vX.Y.Z` of a `cargo tree` line (without its path, `(*)` or `(proc-macro)`).
fn crate_id(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// How many ways the package reaches the system OpenSSL: `openssl-sys` in its graph (0 or
/// 1) plus `libssl`/`libcrypto` in `ldd` of its release binary (built here).
fn openssl_links(manifest: &Path, target_dir: &Path, binary: &str) -> Measure {
    let mut tree = cargo();
    tree.args([
        "tree",
        "--locked",
        "-e",
        "normal",
        "-i",
        "openssl-sys",
        "--manifest-path",
    ])
    .arg(manifest)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let in_graph = tree.status().map_err(|e| e.to_string())?.success();

    let mut build = cargo();
    build
        .args(["build", "--release", "--locked", "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir);
    status_of(&mut build, "release build for ldd")?;
    let path = target_dir.join("release").join(binary);
    if !have("ldd", &["--version"]) {
        return Err("ldd is not available".into());
    }
    let out = Command::new("ldd")
        .arg(&path)
        .output()
        .map_err(|e| format!("ldd could not start: {e}"))?;
    let libs = String::from_utf8_lossy(&out.stdout);
    let linked = libs
        .lines()
        .any(|l| l.contains("libssl") || l.contains("libcrypto"));
    Ok(f64::from(u8::from(in_graph) + u8::from(linked)))
}

// ---------------------------------------------------------------------------------------
// The table

/// What a row must show to meet its target.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    /// `ours / other` at least this.
    RatioAtLeast(f64),
    /// `ours` at most this.
    ValueAtMost(f64),
}

#[derive(Debug, Clone)]
struct Row {
    measure: &'static str,
    ours: &'static str,
    other_label: &'static str,
    other: &'static str,
    /// The key of a ratio measured directly (paired rounds), used instead of `ours / other`.
    paired_ratio: Option<&'static str>,
    target: Option<Target>,
    target_note: &'static str,
}

const fn row(
    measure: &'static str,
    ours: &'static str,
    other_label: &'static str,
    other: &'static str,
    target: Option<Target>,
    target_note: &'static str,
) -> Row {
    Row {
        measure,
        ours,
        other_label,
        other,
        paired_ratio: None,
        target,
        target_note,
    }
}

/// A row of a measure made side by side with `other_label` in alternating rounds: the
/// ratio shown is the median of the paired rounds' ratios (`keys[2]`), not the ratio of the
/// medians `keys[0]` and `keys[1]`.
const fn paired_row(
    measure: &'static str,
    other_label: &'static str,
    keys: [&'static str; 3],
    target: Option<Target>,
    target_note: &'static str,
) -> Row {
    Row {
        measure,
        ours: keys[0],
        other_label,
        other: keys[1],
        paired_ratio: Some(keys[2]),
        target,
        target_note,
    }
}

const FLOOR: &str = "raw hyper floor";
const PUBLISHED: &str = "published 0.4.8";

fn rows() -> Vec<Row> {
    use Target::{RatioAtLeast, ValueAtMost};
    // The request rows (submit, status) are information without a target: the SDK's CPU
    // per request is microseconds beside a network round trip and a human's decision.
    vec![
        paired_row(
            "canonicalize 1 MiB (MB/s)",
            "serde_json parse",
            [
                "crypto.canonicalize.ours",
                "crypto.canonicalize.serde_parse",
                "crypto.canonicalize.ours_per_parse",
            ],
            Some(RatioAtLeast(1.0 / 1.5)),
            "time <= 1.5x parse",
        ),
        paired_row(
            "canonicalize 1 MiB (MB/s)",
            PUBLISHED,
            [
                "pub.crypto.canonicalize.ours",
                "pub.crypto.canonicalize.published",
                "pub.crypto.canonicalize.ours_per_published",
            ],
            None,
            "",
        ),
        paired_row(
            "seal_artifact 1 MiB (MB/s)",
            PUBLISHED,
            [
                "pub.crypto.pipeline.ours",
                "pub.crypto.pipeline.published",
                "pub.crypto.pipeline.ours_per_published",
            ],
            Some(RatioAtLeast(3.0)),
            ">= 3x published",
        ),
        row(
            "seal_artifact 1 MiB (MB/s)",
            "crypto.pipeline",
            "SHA-256 floor",
            "crypto.sha256",
            None,
            "",
        ),
        row(
            "seal_artifact 1 MiB (MB/s)",
            "crypto.pipeline",
            "AES-256-GCM floor",
            "crypto.aes_gcm",
            None,
            "",
        ),
        paired_row(
            "submit, sequential (req/s)",
            FLOOR,
            [
                "gw.submit.seq.ours",
                "gw.submit.seq.floor",
                "gw.submit.seq.ours_per_floor",
            ],
            None,
            "",
        ),
        paired_row(
            "submit, sequential (req/s)",
            PUBLISHED,
            [
                "pub.gw.submit.seq.ours",
                "pub.gw.submit.seq.published",
                "pub.gw.submit.seq.ours_per_published",
            ],
            None,
            "",
        ),
        paired_row(
            "status, sequential (req/s)",
            FLOOR,
            [
                "gw.status.seq.ours",
                "gw.status.seq.floor",
                "gw.status.seq.ours_per_floor",
            ],
            None,
            "",
        ),
        paired_row(
            "status, sequential (req/s)",
            PUBLISHED,
            [
                "pub.gw.status.seq.ours",
                "pub.gw.status.seq.published",
                "pub.gw.status.seq.ours_per_published",
            ],
            None,
            "",
        ),
        paired_row(
            "submit, 64 concurrent (req/s)",
            FLOOR,
            [
                "gw.submit.c64.ours",
                "gw.submit.c64.floor",
                "gw.submit.c64.ours_per_floor",
            ],
            None,
            "",
        ),
        paired_row(
            "submit, 64 concurrent (req/s)",
            PUBLISHED,
            [
                "pub.gw.submit.c64.ours",
                "pub.gw.submit.c64.published",
                "pub.gw.submit.c64.ours_per_published",
            ],
            None,
            "",
        ),
        paired_row(
            "status, 64 concurrent (req/s)",
            FLOOR,
            [
                "gw.status.c64.ours",
                "gw.status.c64.floor",
                "gw.status.c64.ours_per_floor",
            ],
            None,
            "",
        ),
        paired_row(
            "status, 64 concurrent (req/s)",
            PUBLISHED,
            [
                "pub.gw.status.c64.ours",
                "pub.gw.status.c64.published",
                "pub.gw.status.c64.ours_per_published",
            ],
            None,
            "",
        ),
        // What no SDK on hyper-util's pooled client can beat: a raw one beside the
        // published crate (the bound of `ours / published` on this machine).
        paired_row(
            "submit, seq: raw floor (req/s)",
            PUBLISHED,
            [
                "pub.gw.submit.seq.floor",
                "pub.gw.submit.seq.published_beside_floor",
                "pub.gw.submit.seq.floor_per_published",
            ],
            None,
            "",
        ),
        paired_row(
            "status, seq: raw floor (req/s)",
            PUBLISHED,
            [
                "pub.gw.status.seq.floor",
                "pub.gw.status.seq.published_beside_floor",
                "pub.gw.status.seq.floor_per_published",
            ],
            None,
            "",
        ),
        row(
            "crates, PAT-only enforcer",
            "deps.ours",
            PUBLISHED,
            "deps.published",
            Some(ValueAtMost(PUBLISHED_CRATES_STATED - 1.0)),
            "< 157 crates",
        ),
        row(
            "system OpenSSL links",
            "openssl.ours",
            PUBLISHED,
            "openssl.published",
            Some(ValueAtMost(0.0)),
            "none",
        ),
    ]
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The table of ratios, then the reasons for every n/a.
fn render(rows: &[Row], results: &BTreeMap<String, Measure>) -> String {
    let missing: Measure = Err("not measured".into());
    let get = |key: &str| results.get(key).unwrap_or(&missing);
    let header = ["measure", "ours", "vs", "other", "ratio", "target", "met"].map(String::from);
    let mut table: Vec<[String; 7]> = vec![header];
    let mut reasons: BTreeMap<&str, &str> = BTreeMap::new();
    for r in rows {
        let (ours, other) = (get(r.ours), get(r.other));
        for (key, m) in [(r.ours, ours), (r.other, other)] {
            if let Err(reason) = m {
                reasons.insert(key, reason);
            }
        }
        let cell = |m: &Measure| m.as_ref().map_or_else(|_| "n/a".to_owned(), |v| number(*v));
        let ratio = match (r.paired_ratio.map(get), ours, other) {
            (Some(paired), _, _) => paired.as_ref().ok().copied(),
            (None, Ok(a), Ok(b)) if *b != 0.0 => Some(a / b),
            _ => None,
        };
        if let Some(Err(reason)) = r.paired_ratio.map(get) {
            reasons.insert(r.paired_ratio.unwrap_or_default(), reason);
        }
        let met = match r.target {
            None => "-",
            Some(Target::RatioAtLeast(t)) => match ratio {
                Some(x) if x >= t => "yes",
                Some(_) => "NO",
                None => "n/a",
            },
            Some(Target::ValueAtMost(t)) => match ours {
                Ok(v) if *v <= t => "yes",
                Ok(_) => "NO",
                Err(_) => "n/a",
            },
        };
        table.push([
            r.measure.to_owned(),
            cell(ours),
            r.other_label.to_owned(),
            cell(other),
            ratio.map_or_else(|| "n/a".to_owned(), |x| format!("{x:.2}x")),
            r.target_note.to_owned(),
            met.to_owned(),
        ]);
    }
    let mut widths = [0usize; 7];
    for line in &table {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (i, line) in table.iter().enumerate() {
        let mut text = String::new();
        for (col, (cell, w)) in line.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            // Numbers right-aligned, words left-aligned.
            if matches!(col, 1 | 3 | 4) {
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            }
            text.push_str("  ");
        }
        out.push_str(text.trim_end());
        out.push('\n');
        if i == 0 {
            let rule: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
            out.push_str(&"-".repeat(rule));
            out.push('\n');
        }
    }
    let met: Vec<&[String; 7]> = table[1..].iter().filter(|l| l[6] != "-").collect();
    let _ = writeln!(
        out,
        "targets: {} met, {} missed, {} not measured (ratio: the median of ours / other over \
         rounds run in alternation in one process; against the SHA-256 and AES-256-GCM floors \
         ours / other of the medians; MB/s = 10^6 bytes/s)",
        met.iter().filter(|l| l[6] == "yes").count(),
        met.iter().filter(|l| l[6] == "NO").count(),
        met.iter().filter(|l| l[6] == "n/a").count(),
    );
    for (key, reason) in reasons {
        let _ = writeln!(out, "n/a {key}: {reason}");
    }
    let noisy: Vec<String> = results
        .iter()
        .filter_map(|(key, m)| {
            let measure = key.strip_suffix(".spread")?;
            let spread = *m.as_ref().ok()?;
            (spread > NOISY_SPREAD).then(|| format!("{measure} ({:.0}%)", spread * 100.0))
        })
        .collect();
    if !noisy.is_empty() {
        let _ = writeln!(
            out,
            "noisy (rounds spread over {:.0}% of the median; rerun on an idle machine): {}",
            NOISY_SPREAD * 100.0,
            noisy.join(", ")
        );
    }
    out
}

/// Above this `(max - min) / median` of a measure's rounds, it is flagged as noisy.
const NOISY_SPREAD: f64 = 0.25;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines() {
        let text = "noise\nbench crypto.sha256 1553.735\nbench-na gw.submit.seq.ours server down: refused\nbench x nan\nbench-na y\n";
        let got = parse_results(text);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], ("crypto.sha256".into(), Ok(1553.735)));
        assert_eq!(
            got[1],
            (
                "gw.submit.seq.ours".into(),
                Err("server down: refused".into())
            )
        );
        assert!(got[2].1.is_err());
        assert_eq!(got[3], ("y".into(), Err("no reason given".into())));
    }

    #[test]
    fn crate_counting() {
        let tree = "airlock-pat-enforcer v0.0.0 (/x)\nairlock-gateway v0.1.0 (/y)\nserde v1.0.1\nserde_derive v1.0.1 (proc-macro)\nserde v1.0.1\nbytes v1.1.0 (*)\nbytes v1.1.0\nsyn v2.0.0\nsyn v1.0.0\n";
        // enforcer, gateway, serde, serde_derive, bytes, syn 2, syn 1.
        assert_eq!(count_crates(tree), 7);
        assert_eq!(count_crates(""), 0);
    }

    #[test]
    fn table_ratios_targets_and_na() {
        let rows = vec![
            row(
                "pipeline (MB/s)",
                "a",
                "published",
                "b",
                Some(Target::RatioAtLeast(3.0)),
                ">= 3x",
            ),
            row(
                "pipeline (MB/s)",
                "a",
                "floor",
                "c",
                Some(Target::RatioAtLeast(0.9)),
                ">= 0.9x",
            ),
            row(
                "crates",
                "d",
                "published",
                "e",
                Some(Target::ValueAtMost(156.0)),
                "< 157",
            ),
            row("info", "a", "missing", "zzz", None, ""),
        ];
        let results: BTreeMap<String, Measure> = [
            ("a", Ok(120.0)),
            ("b", Ok(30.0)),
            ("c", Ok(200.0)),
            ("d", Ok(98.0)),
            ("e", Err("compare project did not build".to_owned())),
            ("a.spread", Ok(0.05)),
            ("c.spread", Ok(0.6)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let out = render(&rows, &results);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("measure"), "{out}");
        assert!(lines[1].chars().all(|c| c == '-'));
        assert!(
            lines[2].contains("4.00x") && lines[2].trim_end().ends_with("yes"),
            "{out}"
        );
        assert!(
            lines[3].contains("0.60x") && lines[3].trim_end().ends_with("NO"),
            "{out}"
        );
        assert!(
            lines[4].contains(" 98 ")
                && lines[4].contains("n/a")
                && lines[4].trim_end().ends_with("yes"),
            "{out}"
        );
        assert!(lines[5].trim_end().ends_with('-'), "{out}");
        assert!(
            out.contains("targets: 2 met, 1 missed, 0 not measured"),
            "{out}"
        );
        assert!(out.contains("n/a e: compare project did not build"));
        assert!(out.contains("n/a zzz: not measured"));
        assert!(
            out.contains(
                "noisy (rounds spread over 25% of the median; rerun on an idle machine): c (60%)"
            ),
            "{out}"
        );
        // Columns line up: every row as wide as the rule or less.
        let width = lines[1].len();
        assert!(lines.iter().take(6).all(|l| l.chars().count() <= width));
    }

    #[test]
    fn paired_rows_show_the_paired_ratio() {
        let rows = vec![
            paired_row(
                "submit",
                FLOOR,
                ["s.ours", "s.floor", "s.ratio"],
                Some(Target::RatioAtLeast(0.9)),
                ">= 0.9x",
            ),
            paired_row(
                "status",
                FLOOR,
                ["t.ours", "t.floor", "t.ratio"],
                Some(Target::RatioAtLeast(0.9)),
                ">= 0.9x",
            ),
        ];
        // Medians of 60 and 100 would say 0.60x; the paired rounds say 0.95x.
        let results: BTreeMap<String, Measure> = [
            ("s.ours", Ok(60.0)),
            ("s.floor", Ok(100.0)),
            ("s.ratio", Ok(0.95)),
            ("t.ours", Ok(60.0)),
            ("t.floor", Ok(100.0)),
            ("t.ratio", Err("server down".to_owned())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let out = render(&rows, &results);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[2].contains("0.95x") && lines[2].trim_end().ends_with("yes"),
            "{out}"
        );
        // No paired ratio: no ratio at all (not the ratio of the medians).
        assert!(
            !lines[3].contains("0.60x") && lines[3].trim_end().ends_with("n/a"),
            "{out}"
        );
        assert!(out.contains("n/a t.ratio: server down"), "{out}");
    }

    /// Targets remain for canonicalization, the sealing pipeline and the footprint; the
    /// request rows (ours, the raw floor, the published crate) are information only.
    #[test]
    fn only_crypto_and_footprint_rows_have_targets() {
        let with_target: Vec<(&str, &str)> = rows()
            .iter()
            .filter(|r| r.target.is_some())
            .map(|r| (r.measure, r.other_label))
            .collect();
        assert_eq!(
            with_target,
            [
                ("canonicalize 1 MiB (MB/s)", "serde_json parse"),
                ("seal_artifact 1 MiB (MB/s)", PUBLISHED),
                ("crates, PAT-only enforcer", PUBLISHED),
                ("system OpenSSL links", PUBLISHED),
            ]
        );
        assert!(
            rows()
                .iter()
                .all(|r| r.target.is_some() != r.target_note.is_empty())
        );
    }

    #[test]
    fn every_reported_key_has_a_row() {
        let keys: Vec<&str> = rows()
            .iter()
            .flat_map(|r| [Some(r.ours), Some(r.other), r.paired_ratio])
            .flatten()
            .collect();
        for key in OURS_KEYS.iter().chain(PUBLISHED_KEYS) {
            assert!(keys.contains(key), "{key} is measured but not shown");
        }
    }
}
