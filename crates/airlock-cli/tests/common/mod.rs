//! Runs the built `airlock` binary, alone or against a sandbox with a private state
//! directory.

#![allow(dead_code, unreachable_pub)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use airlock_sandbox::{Sandbox, SandboxConfig};

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

/// `airlock` with its state in `dir`.
pub fn airlock_in(dir: &Path) -> Command {
    let mut cmd = airlock();
    cmd.env("AIRLOCK_CONFIG_DIR", dir);
    cmd
}

/// The enforcer id and workspace of [`Env::command`].
pub const ENFORCER: &str = "gate-test-enforcer";
pub const WORKSPACE: &str = "gate-test-ws";

/// A sandbox on loopback and a private state directory for the binary; nobody signed in.
pub struct Env {
    sandbox: Option<Sandbox>,
    /// The sandbox's URL and app credentials (kept when it stops).
    pub gateway_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub async fn start(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::start(config).await.expect("start the sandbox");
        Self {
            gateway_url: sandbox.gateway_url().to_owned(),
            client_id: sandbox.client_id().to_owned(),
            client_secret: sandbox.client_secret().to_owned(),
            sandbox: Some(sandbox),
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().expect("the sandbox is running")
    }

    /// Stops the sandbox: nothing listens on the gateway URL any more.
    pub async fn stop_sandbox(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            sandbox.shutdown().await;
        }
    }

    /// `airlock ARGS` with its state in `dir` and the sandbox, the app credentials,
    /// [`ENFORCER`] and [`WORKSPACE`] in the environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = airlock_in(self.dir.path());
        cmd.args(args)
            .env("AIRLOCK_GATEWAY_URL", &self.gateway_url)
            .env("AIRLOCK_CLIENT_ID", &self.client_id)
            .env("AIRLOCK_CLIENT_SECRET", &self.client_secret)
            .env("AIRLOCK_ENFORCER_ID", ENFORCER)
            .env("AIRLOCK_WORKSPACE", WORKSPACE);
        cmd
    }

    /// Runs `airlock ARGS` off the runtime's threads (the sandbox keeps serving).
    pub async fn run(&self, args: &[&str]) -> Output {
        let cmd = self.command(args);
        tokio::task::spawn_blocking(move || run(cmd))
            .await
            .expect("join")
    }

    /// Runs `airlock ARGS` and checks that it succeeds.
    pub async fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args).await;
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", describe(&out));
        out
    }

    /// `airlock pair --expect-fingerprint FP` with the sandbox approver's fingerprint, which
    /// succeeds.
    pub async fn pair(&self) -> Output {
        let fingerprint = self.sandbox().info().approver_fingerprint.clone();
        self.ok(&["pair", "--expect-fingerprint", &fingerprint])
            .await
    }

    /// Replaces the stored pairing's routing token with `token`, one the gateway does not
    /// know (forgotten, or from an older gateway); returns the pairing file.
    pub fn stale_routing_token(&self, token: &str) -> PathBuf {
        let path = self.dir.path().join("pairing.json");
        let mut stored: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        stored["routingToken"] = token.into();
        std::fs::write(&path, serde_json::to_vec(&stored).unwrap()).unwrap();
        path
    }
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

/// Sends `signal` (`-INT`, `-TERM`) to `child`, then waits for its output (off the
/// runtime's threads).
pub async fn signal_and_wait(child: std::process::Child, signal: &str) -> Output {
    let killed = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait for airlock")
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
