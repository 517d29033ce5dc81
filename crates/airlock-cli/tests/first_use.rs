//! The first afternoon with `airlock` (#15): output into pipes and full disks, usage errors,
//! errors that name the gateway and the next step, `status --check`, and the workspace that
//! follows the current directory.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Output, Stdio};

use airlock_sandbox::{ApproverPolicy, SandboxConfig};
use common::{Env, airlock, airlock_in, describe, run};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A sandbox without rate limit, signed in with its PAT and paired.
async fn paired() -> Env {
    paired_deciding(ApproverPolicy::Approve).await
}

/// As [`paired`], the approver deciding by `policy`.
async fn paired_deciding(policy: ApproverPolicy) -> Env {
    let config = SandboxConfig::builder()
        .approver_policy(policy)
        .rate_limit(None)
        .build();
    let env = Env::start(config).await;
    let pat = env.sandbox().pat().to_owned();
    env.ok(&["login", "--pat", &pat]).await;
    env.pair().await;
    env
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_disk_exits_74() {
    // `airlock demo | head -1`: the reader goes after one line.
    let mut child = airlock()
        .arg("demo")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("the first line");
    assert!(first.starts_with("Airlock demo"), "{first}");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(141), "{}", describe(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", describe(&out));

    #[cfg(target_os = "linux")]
    for args in [&["hash", "-"][..], &["status"][..], &["--help"][..]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.json");
        std::fs::write(&input, b"{}").unwrap();
        let mut cmd = airlock_in(dir.path());
        cmd.args(args)
            .stdout(full)
            .stdin(std::fs::File::open(&input).unwrap());
        let out = cmd.output().expect("run airlock");
        assert_eq!(out.status.code(), Some(74), "{args:?}: {}", describe(&out));
        let text = stderr(&out);
        assert!(
            text.starts_with("airlock: cannot write the output: ") && !text.contains("panicked"),
            "{text}"
        );
    }
}

#[test]
fn usage_errors_are_one_line_and_a_hint() {
    for (args, first, hint) in [
        (
            &["approve"][..],
            "airlock: the following required arguments were not provided: --command <COMMAND>",
            "  usage: airlock approve --command <COMMAND> (see `airlock approve --help`)",
        ),
        (
            &["bogus"][..],
            "airlock: unrecognized subcommand 'bogus'",
            "see `airlock --help`",
        ),
        (
            &["approve", "--command", "ls", "--timeout", "0"][..],
            "airlock: invalid value '0' for '--timeout <SECONDS>'",
            "  see `airlock approve --help`",
        ),
    ] {
        let mut cmd = airlock();
        cmd.args(args);
        let out = run(cmd);
        assert_eq!(out.status.code(), Some(64), "{}", describe(&out));
        let text = stderr(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with(first), "{text}");
        assert!(lines[1].contains(hint), "{text}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn diagnostics_in_a_pipe_have_no_escape_codes() {
    let mut cmd = airlock();
    cmd.args([
        "-vvv",
        "login",
        "--pat",
        "airpat_x",
        "--gateway",
        "http://127.0.0.1:9",
        "--client-id",
        "app",
        "--client-secret",
        "secret",
    ]);
    let out = run(cmd);
    let text = stderr(&out);
    assert!(text.contains("DEBUG"), "-vvv logs: {text}");
    assert!(
        !text.contains('\u{1b}'),
        "no escape codes in a pipe: {text:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_gateway_and_the_next_step() {
    // Neither signed in nor paired: both, in the order to fix them.
    let env = Env::start(SandboxConfig::default()).await;
    let out = env.run(&["approve", "--command", "ls"]).await;
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    assert!(
        stderr(&out).contains(
            "not signed in and not paired: first run `airlock login --pat TOKEN` or `airlock login --device`, then run `airlock pair`"
        ),
        "{}",
        describe(&out)
    );

    // A pairing the gateway does not know: exit 5, pair again.
    let mut env = paired().await;
    env.stale_routing_token("rt-unknown");
    let out = env.run(&["approve", "--command", "ls"]).await;
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    assert!(
        stderr(&out).contains("run `airlock unpair && airlock pair`"),
        "{}",
        describe(&out)
    );

    // A restarted gateway with a new app secret: check the app credentials; a refused PAT:
    // sign in again.
    for (variable, value, next) in [
        (
            "AIRLOCK_CLIENT_SECRET",
            "not-the-secret",
            "— check the app credentials (--client-id, --client-secret)",
        ),
        (
            "AIRLOCK_PAT",
            "airpat_revoked",
            "— sign in again with `airlock login --pat TOKEN`",
        ),
    ] {
        let mut cmd = env.command(&["approve", "--command", "ls"]);
        cmd.env(variable, value);
        let out = run(cmd);
        assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
        assert!(stderr(&out).contains(next), "{}", describe(&out));
    }

    // The gateway is gone: its URL, what happened, what to do.
    env.stop_sandbox().await;
    let out = env.run(&["approve", "--command", "ls", "--json"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let expected = format!(
        "cannot reach the gateway at {}: connection refused — is it running? (`airlock status --check`)",
        env.gateway_url
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["outcome"], "unavailable");
    assert!(
        json["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&expected),
        "{}",
        describe(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_check_asks_the_gateway() {
    let mut env = paired().await;
    let out = env.ok(&["status", "--check"]).await;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("sign-in  valid"), "{text}");
    assert!(lines[1].starts_with("pairing  valid"), "{text}");

    // Revoked at the gateway while the local copy stays: the check says so.
    let path = env.dir.path().join("pairing.json");
    let copy = std::fs::read(&path).unwrap();
    let nonce = std::fs::read(env.dir.path().join("credentials.json")).unwrap();
    env.ok(&["unpair"]).await;
    std::fs::write(&path, copy).unwrap();
    std::fs::write(env.dir.path().join("credentials.json"), nonce).unwrap();
    let out = env.run(&["status", "--check"]).await;
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("sign-in  valid"), "{text}");
    assert!(
        text.contains("pairing  Revoked at the gateway: run `airlock unpair && airlock pair`"),
        "{text}"
    );

    // A refused PAT.
    let out = env
        .run(&["login", "--pat", "airpat_not-the-sandbox-s"])
        .await;
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));

    env.stop_sandbox().await;
    let out = env.run(&["status", "--check"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains(&format!("cannot reach the gateway at {}", env.gateway_url)),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workspace_follows_the_directory_unless_pinned() {
    let env = paired().await;
    let root = tempfile::tempdir().unwrap();
    let (alpha, beta) = (root.path().join("alpha"), root.path().join("beta"));
    std::fs::create_dir_all(&alpha).unwrap();
    std::fs::create_dir_all(&beta).unwrap();
    let in_dir = |dir: &std::path::Path, args: &[&str]| {
        let mut cmd = env.command(args);
        cmd.env_remove("AIRLOCK_WORKSPACE").current_dir(dir);
        run(cmd)
    };
    let workspace = |dir: &std::path::Path| {
        let out = in_dir(dir, &["status", "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        json["workspace"].as_str().unwrap_or_default().to_owned()
    };
    // Signed in (in the test's directory) does not freeze it.
    assert_eq!(workspace(&alpha), "alpha");
    assert_eq!(workspace(&beta), "beta");
    assert_eq!(
        in_dir(&alpha, &["patterns", "add", "make test"])
            .status
            .code(),
        Some(0)
    );
    let listed = in_dir(&beta, &["patterns", "list"]);
    assert!(
        listed.stdout.is_empty(),
        "alpha's patterns do not apply in beta"
    );

    // Pinned explicitly: everywhere, until unset; a flag still wins.
    assert_eq!(
        in_dir(&beta, &["config", "set", "workspace", "alpha"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(workspace(&beta), "alpha");
    let got = in_dir(&beta, &["config", "get", "workspace"]);
    assert_eq!(String::from_utf8_lossy(&got.stdout), "alpha\n");
    let listed = in_dir(&beta, &["patterns", "list"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "make test\n");
    let flagged = in_dir(&beta, &["status", "--json", "--workspace", "other"]);
    assert!(String::from_utf8_lossy(&flagged.stdout).contains("\"workspace\":\"other\""));
    assert_eq!(
        in_dir(&beta, &["config", "unset", "workspace"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(workspace(&beta), "beta");
    assert_eq!(
        in_dir(&beta, &["config", "get", "workspace"]).status.code(),
        Some(1)
    );
}

/// A gateway that accepts connections and never answers.
fn silent_gateway() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    (listener, url)
}

/// `outcome` always goes with `exitCode`.
#[track_caller]
fn assert_consistent(json: &serde_json::Value) {
    let expected = match json["exitCode"].as_u64() {
        Some(0) => "approved",
        Some(1) => "rejected",
        Some(2) => "verification_failed",
        Some(3) => "timeout",
        Some(4) => "unavailable",
        Some(5) => "not_ready",
        Some(6) => "withdrawn",
        Some(130) => "interrupted",
        _ => "error",
    };
    let outcome = json["outcome"].as_str().unwrap_or_default();
    assert!(
        outcome == expected || (expected == "withdrawn" && outcome == "cancelled"),
        "{json}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_before_the_submission_ends_at_once_with_130() {
    let env = paired().await;
    let (_listener, url) = silent_gateway();
    for signal in ["-INT", "-TERM"] {
        let mut cmd = env.command(&["approve", "--command", "make deploy", "--json"]);
        cmd.env("AIRLOCK_GATEWAY_URL", &url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().expect("spawn");
        // The DND fetch hangs on the silent gateway; nothing is submitted yet.
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        let started = std::time::Instant::now();
        let out = common::signal_and_wait(child, signal).await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "ended at once, not after the transport's timeouts"
        );
        assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert_eq!(json["outcome"], "interrupted");
        assert_eq!(json["approved"], false);
        assert_eq!(json["requestId"], serde_json::Value::Null);
        assert_consistent(&json);
    }
    assert!(env.sandbox().approver().pending().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_state_file_still_prints_the_json_object() {
    let env = paired().await;
    for file in ["config.json", "credentials.json"] {
        let path = env.dir.path().join(file);
        let good = std::fs::read(&path).unwrap();
        std::fs::write(&path, b"{not json").unwrap();
        let out = env.run(&["approve", "--command", "ls", "--json"]).await;
        assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert_eq!(json["outcome"], "error");
        assert!(
            json["message"].as_str().unwrap_or_default().contains(file),
            "{json}"
        );
        assert_consistent(&json);
        std::fs::write(&path, good).unwrap();
    }
    // Unreachable, refused, approved: outcome and exit code agree.
    let out = env.run(&["approve", "--command", "ls", "--json"]).await;
    assert_consistent(&serde_json::from_slice(&out.stdout).expect("JSON"));
    let mut cmd = env.command(&["approve", "--command", "ls", "--json"]);
    cmd.env("AIRLOCK_GATEWAY_URL", "http://127.0.0.1:9");
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert_consistent(&serde_json::from_slice(&out.stdout).expect("JSON"));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_shows_a_spinner_on_a_terminal_and_one_line_elsewhere() {
    let env = paired_deciding(ApproverPolicy::Manual).await;
    // Into a pipe: one line, nothing that moves.
    let out = env
        .run(&["approve", "--command", "make deploy", "--timeout", "1"])
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let text = stderr(&out);
    let waiting: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Waiting for approval of `make deploy` (request req-"))
        .collect();
    assert_eq!(waiting.len(), 1, "{text}");
    assert!(waiting[0].ends_with(", up to 1s..."), "{text}");
    assert!(!text.contains('\r') && !text.contains('\u{1b}'), "{text:?}");

    // On a terminal: the spinner, with the elapsed time and the time left.
    let cmd = env.command(&["approve", "--command", "make deploy", "--timeout", "3"]);
    let options = rexpect::reader::Options::new()
        .timeout_ms(Some(20_000))
        .strip_ansi_escape_codes(true);
    let mut p = tokio::task::spawn_blocking(move || {
        rexpect::session::spawn_with_options(cmd, options).expect("spawn in a pty")
    })
    .await
    .unwrap();
    let p = tokio::task::spawn_blocking(move || {
        p.exp_string("Waiting for approval of `make deploy` (request req-")
            .expect("the spinner's message");
        p.exp_regex(r"[0-9]+s elapsed, [0-9]s left")
            .expect("elapsed and left");
        p.exp_eof().expect("the end");
        p
    })
    .await
    .unwrap();
    let status = p.process().wait().expect("wait");
    assert!(format!("{status:?}").ends_with(", 3)"), "{status:?}");
}

/// On a terminal, diagnostics are coloured unless `NO_COLOR` is set.
#[cfg(unix)]
#[test]
fn no_color_is_honoured_on_a_terminal() {
    let mut seen = Vec::new();
    for no_color in [None, Some("1")] {
        let mut cmd = airlock();
        cmd.args([
            "-vvv",
            "login",
            "--pat",
            "airpat_x",
            "--gateway",
            "http://127.0.0.1:9",
            "--client-id",
            "app",
            "--client-secret",
            "secret",
        ]);
        if let Some(value) = no_color {
            cmd.env("NO_COLOR", value);
        }
        let options = rexpect::reader::Options::new()
            .timeout_ms(Some(20_000))
            .strip_ansi_escape_codes(false);
        let mut p = rexpect::session::spawn_with_options(cmd, options).expect("spawn in a pty");
        let text = p.exp_eof().expect("the end");
        assert!(text.contains("DEBUG"), "{text:?}");
        seen.push(text.contains('\u{1b}'));
    }
    assert_eq!(
        seen,
        [true, false],
        "coloured on a terminal, not with NO_COLOR"
    );
}
