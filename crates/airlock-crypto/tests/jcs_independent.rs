//! Canonicalization compared with an independent RFC 8785 implementation (ECMAScript's
//! own `JSON.parse` and number printing, with the npm package `canonicalize`).
//!
//! - `checked_in_vectors`: 200 documents generated once (tests/data/independent/SOURCE.md);
//!   always runs.
//! - `live_crosscheck_with_node`: a few thousand fresh documents when `node` and the
//!   `canonicalize` package are available (set `CANONICALIZE_MODULE` to the package's
//!   `lib/canonicalize.js`); otherwise it says so and passes.

use std::path::{Path, PathBuf};
use std::process::Command;

use airlock_crypto::jcs;

#[derive(serde::Deserialize)]
struct Vector {
    input: String,
    canonical: String,
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn parse_vectors(jsonl: &str) -> Vec<Vector> {
    jsonl
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("a vector line"))
        .collect()
}

/// Checks every vector through both entry points (text and `serde_json::Value`).
fn check(vectors: &[Vector], origin: &str) {
    assert!(!vectors.is_empty(), "{origin}: no vectors");
    for (index, vector) in vectors.iter().enumerate() {
        let actual = jcs::canonicalize_str(&vector.input)
            .unwrap_or_else(|e| panic!("{origin} #{index}: {e}\ninput: {}", vector.input));
        assert_eq!(
            actual, vector.canonical,
            "{origin} #{index} (text)\ninput: {}",
            vector.input
        );
        // The canonical form is a fixed point.
        assert_eq!(
            jcs::canonicalize_str(&actual).as_deref(),
            Ok(actual.as_str()),
            "{origin} #{index} (fixed point)"
        );
        // A `Value` parsed by serde_json (float_roundtrip is on: see Cargo.toml) agrees.
        let value: serde_json::Value = serde_json::from_str(&vector.input)
            .unwrap_or_else(|e| panic!("{origin} #{index}: serde_json: {e}"));
        assert_eq!(
            String::from_utf8(jcs::canonicalize_value(&value).expect("value")).unwrap(),
            vector.canonical,
            "{origin} #{index} (value)\ninput: {}",
            vector.input
        );
    }
}

#[test]
fn checked_in_vectors() {
    let path = crate_dir().join("tests/data/independent/jcs_vectors.jsonl");
    let vectors = parse_vectors(&std::fs::read_to_string(&path).expect("vector file"));
    assert_eq!(vectors.len(), 200);
    check(&vectors, "jcs_vectors.jsonl");
}

/// Runs the generator script with node, or returns why it cannot.
fn generate_with_node(script: &Path, count: u32, seed: u32) -> Result<String, String> {
    let output = Command::new("node")
        .arg(script)
        .arg(count.to_string())
        .arg(seed.to_string())
        .output()
        .map_err(|e| format!("cannot run `node`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the generator failed (is the npm package `canonicalize` installed? set \
             CANONICALIZE_MODULE): {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .next()
                .unwrap_or("")
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("generator output is not UTF-8: {e}"))
}

#[test]
#[allow(
    clippy::print_stderr,
    reason = "a skipped cross-check must say so in the test output"
)]
fn live_crosscheck_with_node() {
    let count = std::env::var("AIRLOCK_JCS_CROSSCHECK_COUNT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let seed = std::env::var("AIRLOCK_JCS_CROSSCHECK_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.subsec_nanos())
        });
    let script = crate_dir().join("tests/tools/jcs_reference.mjs");
    match generate_with_node(&script, count, seed) {
        Ok(jsonl) => {
            let vectors = parse_vectors(&jsonl);
            assert_eq!(vectors.len(), count as usize);
            check(
                &vectors,
                &format!("node canonicalize, AIRLOCK_JCS_CROSSCHECK_SEED={seed}"),
            );
        }
        Err(why) => eprintln!("skipping the live RFC 8785 cross-check: {why}"),
    }
}

/// Number edge cases named by the review brief; expected values printed by Node.js 20
/// (`canonicalize(JSON.parse(text))`).
#[test]
fn number_edge_cases_match_ecmascript() {
    let cases = [
        (r#"1E+2"#, r#"100"#),
        (r#"0.1e1"#, r#"1"#),
        (r#"1e2"#, r#"100"#),
        (r#"-0"#, r#"0"#),
        (
            r#"[-0.0,{"a":-0e5,"b":[[-0]]}]"#,
            r#"[0,{"a":0,"b":[[0]]}]"#,
        ),
        (r#"5e-324"#, r#"5e-324"#),
        (r#"4.9406564584124654e-324"#, r#"5e-324"#),
        (r#"2.2250738585072009e-308"#, r#"2.225073858507201e-308"#),
        (r#"2.2250738585072014e-308"#, r#"2.2250738585072014e-308"#),
        (r#"9007199254740991"#, r#"9007199254740991"#),
        (r#"9007199254740992"#, r#"9007199254740992"#),
        (r#"9007199254740993"#, r#"9007199254740992"#),
        (r#"-9007199254740993"#, r#"-9007199254740992"#),
        (r#"9007199254740995"#, r#"9007199254740996"#),
        (r#"999999999999999999999"#, r#"1e+21"#),
        (r#"1e21"#, r#"1e+21"#),
        (r#"1e+21"#, r#"1e+21"#),
        (r#"100000000000000000000"#, r#"100000000000000000000"#),
        (r#"999999999999999900000"#, r#"999999999999999900000"#),
        (r#"1e-6"#, r#"0.000001"#),
        (r#"1e-7"#, r#"1e-7"#),
        (r#"0.0000001"#, r#"1e-7"#),
        (r#"1.7976931348623157e308"#, r#"1.7976931348623157e+308"#),
        (r#"2.4703282292062328e-324"#, r#"5e-324"#),
        (r#"2.4703282292062327e-324"#, r#"0"#),
        (r#"0.000001000"#, r#"0.000001"#),
        (r#"123456789012345678901"#, r#"123456789012345680000"#),
        (r#"1e-400"#, r#"0"#),
        (r#"-1e-400"#, r#"0"#),
        (r#"0e99999"#, r#"0"#),
    ];
    for (input, expected) in cases {
        assert_eq!(
            jcs::canonicalize_str(input).as_deref(),
            Ok(expected),
            "{input} (text)"
        );
        let value: serde_json::Value = serde_json::from_str(input).unwrap();
        assert_eq!(
            jcs::canonicalize_value(&value).map(String::from_utf8),
            Ok(Ok(expected.to_owned())),
            "{input} (value)"
        );
    }
}
