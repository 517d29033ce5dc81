//! `airlock canonicalize` and `airlock hash` on files and stdin.

mod common;

use common::{airlock, data, describe, run, run_with_stdin};

const HARP_CORE_HASH: &str = "8e326e1f69e5859a3b5b12965f06b5829f09b12d1748aa2fddb609fb44f831c1";

#[test]
fn hash_of_the_harp_core_vector_from_a_file() {
    let mut cmd = airlock();
    cmd.arg("hash").arg(data("harp_core_artifact.json"));
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(out.stdout, format!("{HARP_CORE_HASH}\n").as_bytes());
    assert!(out.stderr.is_empty(), "{}", describe(&out));
}

#[test]
fn hash_from_stdin_with_and_without_dash() {
    let input = std::fs::read(data("harp_core_artifact.json")).unwrap();
    for args in [&["hash"][..], &["hash", "-"][..]] {
        let mut cmd = airlock();
        cmd.args(args);
        let out = run_with_stdin(cmd, &input);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        assert_eq!(out.stdout, format!("{HARP_CORE_HASH}\n").as_bytes());
    }
}

#[test]
fn canonicalize_prints_exactly_the_canonical_bytes() {
    let expected = std::fs::read(data("harp_core_artifact.canonical.json")).unwrap();
    let mut cmd = airlock();
    cmd.arg("canonicalize").arg(data("harp_core_artifact.json"));
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(out.stdout, expected, "no trailing newline, exact bytes");
}

#[test]
fn canonicalize_matches_the_rfc8785_reference_outputs() {
    for name in ["weird", "values"] {
        let input = std::fs::read(data(&format!("{name}.input.json"))).unwrap();
        let expected = std::fs::read(data(&format!("{name}.output.json"))).unwrap();
        let mut cmd = airlock();
        cmd.arg("canonicalize").arg("-");
        let out = run_with_stdin(cmd, &input);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", describe(&out));
        assert_eq!(out.stdout, expected, "{name}");
    }
}

#[test]
fn canonical_output_hashes_to_the_same_hash() {
    let canonical = std::fs::read(data("harp_core_artifact.canonical.json")).unwrap();
    let mut cmd = airlock();
    cmd.arg("hash");
    let out = run_with_stdin(cmd, &canonical);
    assert_eq!(out.stdout, format!("{HARP_CORE_HASH}\n").as_bytes());
}

#[test]
fn invalid_json_exits_65_with_the_offset_on_stderr() {
    for sub in ["canonicalize", "hash"] {
        let mut cmd = airlock();
        cmd.arg(sub);
        let out = run_with_stdin(cmd, b"{\"a\": 1,\n \"b\": }");
        assert_eq!(out.status.code(), Some(65), "{sub}: {}", describe(&out));
        assert!(out.stdout.is_empty(), "{sub}: stdout stays clean");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(
                "airlock: <stdin> is not canonicalizable JSON: invalid JSON at byte 15"
            ),
            "{stderr}"
        );
        assert!(stderr.contains("(line 2, column 7)"), "{stderr}");
    }
}

#[test]
fn rfc8785_violations_are_refused() {
    let cases: [(&[u8], &str); 4] = [
        (
            b"{\"a\":1,\"a\":2}",
            "duplicate member name \"a\" at byte 7",
        ),
        (b"\"\\ud800\"", "lone UTF-16 surrogate escape at byte 1"),
        (b"1e400", "outside the range of an IEEE-754 double"),
        (b"{} x", "unexpected data after the JSON value at byte 3"),
    ];
    for (input, message) in cases {
        let mut cmd = airlock();
        cmd.arg("hash");
        let out = run_with_stdin(cmd, input);
        assert_eq!(out.status.code(), Some(65), "{}", describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{}",
            describe(&out)
        );
    }
}

#[test]
fn invalid_utf8_is_refused() {
    let mut cmd = airlock();
    cmd.arg("canonicalize");
    let out = run_with_stdin(cmd, b"\"\xff\"");
    assert_eq!(out.status.code(), Some(65), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid UTF-8 at byte 1"));
}

#[test]
fn a_missing_file_exits_66() {
    let mut cmd = airlock();
    cmd.arg("hash").arg(data("does-not-exist.json"));
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(66), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read") && stderr.contains("does-not-exist.json"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn usage_errors_exit_64() {
    let mut cmd = airlock();
    cmd.arg("hash").arg("--no-such-flag");
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(64), "{}", describe(&out));
    let mut cmd = airlock();
    cmd.arg("--version");
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("airlock "));
}
