//! `airlock demo` and `airlock sandbox --json`.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{airlock, describe, run};

#[test]
fn demo_walks_every_step_and_exits_0() {
    let mut cmd = airlock();
    cmd.arg("demo");
    let out = run(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    for step in [
        " 1. Start the local sandbox",
        " 2. Gateway discovery",
        " 3. Sign in with the device grant",
        " 4. Sign in with a personal access token",
        " 5. Consent check",
        " 6. Pair with the approver",
        " 7. Heartbeat",
        " 8. Encrypt and submit a command artifact",
        " 9. Wait for the decision and verify it",
        "10. Acknowledge the decision",
        "11. A rejected request",
        "12. A withdrawn request",
        "13. A forged decision is refused",
        "14. Unpair",
        "15. Sign out",
        "All 15 steps behaved as expected.",
    ] {
        assert!(
            stdout.contains(step),
            "missing {step:?}\n{}",
            describe(&out)
        );
    }
    assert!(!stdout.contains('✗'), "{}", describe(&out));
    assert!(
        stdout.contains("and enter the code "),
        "the device code is shown"
    );
    assert!(
        stdout.contains("approver key fingerprint "),
        "the fingerprint is shown"
    );
    assert!(
        stdout.contains("HARP_ERR_SIGNATURE_INVALID"),
        "the forgery is named"
    );
}

/// A child process killed when the test ends, whatever happens.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(base: &str, path: &str) -> String {
    let authority = base.strip_prefix("http://").expect("http URL");
    let mut stream = TcpStream::connect(authority).expect("connect to the sandbox");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    response
}

#[test]
fn sandbox_json_prints_its_info_first_serves_and_stops_on_sigterm() {
    let mut cmd: Command = airlock();
    cmd.args([
        "sandbox",
        "--json",
        "--approver",
        "manual",
        "--tamper",
        "replay",
        "--consent",
        "required",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = Child(cmd.spawn().expect("spawn airlock sandbox"));
    let stdout = child.0.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("read the first line");
    let info: serde_json::Value = serde_json::from_str(&first).expect("the first line is JSON");
    for key in ["gatewayUrl", "issuerUrl", "clientId", "clientSecret", "pat"] {
        assert!(
            info[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key} in {first}"
        );
    }
    let gateway = info["gatewayUrl"].as_str().unwrap();
    assert!(gateway.starts_with("http://127.0.0.1:"), "{gateway}");
    // The approver key's fingerprint, as `airlock pair` shows it: eight hex pairs.
    let fingerprint = info["approverFingerprint"].as_str().unwrap();
    let pairs: Vec<&str> = fingerprint.split(':').collect();
    assert_eq!(pairs.len(), 8, "{fingerprint}");
    assert!(
        pairs.iter().all(|p| p.len() == 2
            && p.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())),
        "{fingerprint}"
    );
    assert_eq!(
        info["issuerUrl"].as_str().unwrap(),
        format!("{gateway}/idp")
    );

    let echo = http_get(gateway, "/echo");
    assert!(echo.starts_with("HTTP/1.1 200"), "{echo}");
    assert!(echo.contains("\"utc\""), "{echo}");

    let pid = child.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());
    // Bounded wait for the exit (at most 20 s).
    let mut status = None;
    for _ in 0..200 {
        if let Some(s) = child.0.try_wait().expect("try_wait") {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = status.expect("the sandbox stops on SIGTERM");
    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("policy manual, tamper replay"), "{stderr}");
    assert!(stderr.contains("Received SIGTERM"), "{stderr}");
}

#[test]
fn sandbox_refuses_an_unknown_mode() {
    let mut cmd = airlock();
    cmd.args(["sandbox", "--tamper", "sometimes"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(64), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("forge-signature"));
}

#[test]
fn sandbox_on_a_busy_port_exits_1() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().unwrap().port().to_string();
    let mut cmd = airlock();
    cmd.args(["sandbox", "--port", &port, "--json"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(out.stdout.is_empty(), "no JSON line when nothing is served");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot start the sandbox"),
        "{}",
        describe(&out)
    );
}

/// A background sandbox started by `--env`, stopped when the test ends.
struct Background(u32);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.to_string()])
            .status();
    }
}

/// Runs `airlock sandbox --env --state DIR`; returns its exports and a guard that stops it.
fn sandbox_env(state: &std::path::Path) -> (std::collections::HashMap<String, String>, Background) {
    let mut cmd = airlock();
    cmd.args(["sandbox", "--env", "--approver", "manual", "--state"])
        .arg(state);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let exports: std::collections::HashMap<String, String> = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| {
            let (name, value) = l
                .strip_prefix("export ")
                .and_then(|l| l.split_once('='))
                .unwrap_or_else(|| panic!("not an export line: {l:?}"));
            (name.to_owned(), value.to_owned())
        })
        .collect();
    let pid = exports["AIRLOCK_SANDBOX_PID"].parse().unwrap();
    (exports, Background(pid))
}

/// `eval "$(airlock sandbox --env)"` returns at once with the sandbox serving in the
/// background; with `--state DIR` a restarted sandbox is the same one (URL, client secret,
/// PAT), so what was configured against it keeps working.
#[test]
fn sandbox_env_serves_in_the_background_and_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sandbox-state");
    let (first, guard) = sandbox_env(&state);
    for name in [
        "AIRLOCK_GATEWAY_URL",
        "AIRLOCK_CLIENT_ID",
        "AIRLOCK_CLIENT_SECRET",
        "AIRLOCK_PAT",
    ] {
        assert!(
            first.get(name).is_some_and(|v| !v.is_empty()),
            "{name}: {first:?}"
        );
    }
    let gateway = &first["AIRLOCK_GATEWAY_URL"];
    assert!(http_get(gateway, "/echo").starts_with("HTTP/1.1 200"));
    drop(guard);
    // Bounded wait until the first one is gone (its port is free again).
    for _ in 0..100 {
        if TcpStream::connect(gateway.strip_prefix("http://").unwrap()).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (second, _guard) = sandbox_env(&state);
    for name in [
        "AIRLOCK_GATEWAY_URL",
        "AIRLOCK_CLIENT_SECRET",
        "AIRLOCK_PAT",
    ] {
        assert_eq!(first[name], second[name], "{name}");
    }
    assert_ne!(first["AIRLOCK_SANDBOX_PID"], second["AIRLOCK_SANDBOX_PID"]);
    assert!(http_get(gateway, "/echo").starts_with("HTTP/1.1 200"));
    // While it serves, the same line prints its settings again instead of starting another.
    let mut cmd = airlock();
    cmd.args(["sandbox", "--env", "--state"]).arg(&state);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let again = String::from_utf8(out.stdout).unwrap();
    assert!(
        again.contains(&format!(
            "export AIRLOCK_SANDBOX_PID={}\n",
            second["AIRLOCK_SANDBOX_PID"]
        )),
        "{again}"
    );
    assert!(again.contains(&format!("export AIRLOCK_PAT={}\n", first["AIRLOCK_PAT"])));
    // The manual approver's banner, in the log, shows how to decide by hand.
    let log = std::fs::read_to_string(state.join("sandbox.log")).unwrap();
    assert!(log.contains("/_sandbox/approver/decide"), "{log}");
    assert!(log.contains("\"approve\" or \"reject\""), "{log}");
}

#[test]
fn sandbox_with_a_corrupt_state_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sandbox.json"), "not json").unwrap();
    let mut cmd = airlock();
    cmd.args(["sandbox", "--json", "--state"]).arg(dir.path());
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sandbox.json"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sandbox.json")).unwrap(),
        "not json"
    );
}
