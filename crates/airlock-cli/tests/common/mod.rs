//! Runs the built `airlock` binary.

#![allow(dead_code, unreachable_pub)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub fn airlock() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
    // Never read or write the user's real configuration or environment.
    for var in [
        "AIRLOCK_GATEWAY_URL",
        "AIRLOCK_CLIENT_ID",
        "AIRLOCK_CLIENT_SECRET",
        "AIRLOCK_PAT",
        "AIRLOCK_ENFORCER_ID",
        "AIRLOCK_WORKSPACE",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env(
        "AIRLOCK_CONFIG_DIR",
        std::env::temp_dir().join("airlock-cli-tests-unset"),
    );
    cmd
}

/// Runs `cmd` with `stdin` as its input.
pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn airlock");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("wait for airlock")
}

/// Runs `cmd` to completion.
pub fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run airlock")
}

/// The test data folder.
pub fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Stdout and stderr as text, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
