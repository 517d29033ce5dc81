//! The agent hook's cost, whole-process and side by side in one run (issue 16.7):
//!
//! - `airlock hook claude-code` for a `Bash` call an auto-approve pattern approves (its only
//!   network use: the DND policy fetch from a local `airlock sandbox`), beside `true` (the
//!   process floor) and `node -e ''` (the start of any Node-based gate), in alternating
//!   rounds; the medians of each;
//! - the HTTP requests one gateway-decided call costs, by route, from the sandbox's request
//!   counters (target: submit, wait, ack, and at most one more).
//!
//! Release build of `airlock`; the sandbox is `airlock sandbox --json` on loopback.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{cargo, have, workspace_root};

/// The hook's median target, in milliseconds.
const TARGET_MS: f64 = 15.0;

/// A Claude Code `PreToolUse` payload for `command`.
fn payload(command: &str) -> String {
    format!(
        r#"{{"session_id":"bench","cwd":"/tmp","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{{"command":"{command}"}},"tool_use_id":"t"}}"#
    )
}

/// Kills the sandbox when the benchmark ends, however it ends.
struct Sandbox(Child);

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the hook benchmark and prints its table (or why it could not run).
pub(crate) fn run(quick: bool) {
    eprintln!("==> agent hook (airlock hook claude-code beside true and node)");
    if let Err(e) = measure(quick) {
        println!("\nagent hook: n/a ({e})");
    }
}

fn measure(quick: bool) -> Result<(), String> {
    let root = workspace_root();
    let status = cargo()
        .args(["build", "--release", "--locked", "-p", "airlock-cli"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building airlock (release) failed".to_owned());
    }
    let exe = root.join("target/release/airlock");
    let state = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let mut child = Command::new(&exe)
        .args(["sandbox", "--json"])
        .env("AIRLOCK_CONFIG_DIR", state.path().join("sandbox"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start airlock sandbox: {e}"))?;
    let stdout = child.stdout.take().ok_or("no sandbox stdout")?;
    let sandbox = Sandbox(child);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .map_err(|e| format!("reading the sandbox's first line: {e}"))?;
    let info = |key: &str| {
        let pattern = format!("\"{key}\":\"");
        first
            .split_once(&pattern)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(v, _)| v.to_owned())
    };
    let need = |key: &str| {
        info(key).ok_or_else(|| format!("the sandbox's first line has no {key}: {first}"))
    };
    let (gateway, control) = (need("gatewayUrl")?, need("controlToken")?);
    let env = [
        (
            "AIRLOCK_CONFIG_DIR",
            state.path().join("cli").display().to_string(),
        ),
        ("AIRLOCK_GATEWAY_URL", gateway.clone()),
        ("AIRLOCK_CLIENT_ID", need("clientId")?),
        ("AIRLOCK_CLIENT_SECRET", need("clientSecret")?),
        ("AIRLOCK_WORKSPACE", "bench".to_owned()),
        ("AIRLOCK_ENFORCER_ID", "bench-hook".to_owned()),
    ];
    let airlock = |args: &[&str]| {
        let mut cmd = Command::new(&exe);
        cmd.args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        cmd
    };
    let ok = |mut cmd: Command, what: &str| -> Result<(), String> {
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{what}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    ok(airlock(&["login", "--pat", &need("pat")?]), "airlock login")?;
    let mut pair = vec!["pair"];
    let fingerprint = info("approverFingerprint");
    if let Some(f) = &fingerprint {
        pair.extend(["--expect-fingerprint", f]);
    }
    ok(airlock(&pair), "airlock pair")?;
    ok(
        airlock(&["patterns", "add", "git status"]),
        "airlock patterns add",
    )?;

    let hook = |command: &str| -> Result<Duration, String> {
        let started = Instant::now();
        let mut child = airlock(&["hook", "claude-code"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("airlock hook: {e}"))?;
        child
            .stdin
            .take()
            .ok_or("no stdin")?
            .write_all(payload(command).as_bytes())
            .map_err(|e| format!("airlock hook stdin: {e}"))?;
        let out = child
            .wait_with_output()
            .map_err(|e| format!("airlock hook: {e}"))?;
        let took = started.elapsed();
        let answer = String::from_utf8_lossy(&out.stdout);
        if !answer.contains(r#""permissionDecision":"allow""#) {
            return Err(format!("the hook did not allow `{command}`: {answer}"));
        }
        Ok(took)
    };
    let time = |program: &str, args: &[&str]| -> Option<Duration> {
        let started = Instant::now();
        let status = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| started.elapsed())
    };
    let node = have("node", &["-e", ""]);
    let rounds = if quick { 5 } else { 40 };
    hook("git status")?; // warm the page cache
    let (mut ours, mut floor, mut nodes) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(hook("git status")?);
        floor.extend(time("true", &[]));
        if node {
            nodes.extend(time("node", &["-e", ""]));
        }
    }

    // One call decided by the approver: what it costs in requests.
    control_call(&gateway, &control, "DELETE")?;
    hook("cargo build --release")?;
    let counts = control_call(&gateway, &control, "GET")?;
    drop(sandbox);

    let hook_ms = median_ms(&mut ours);
    let mut table = String::from("\nagent hook (whole process, median of alternating rounds)\n");
    let mut line = |what: &str, ms: Option<f64>, note: &str| {
        let ms = ms.map_or_else(|| "n/a".to_owned(), |m| format!("{m:.2} ms"));
        table.push_str(&format!("  {what:<44} {ms:>10}  {note}\n"));
    };
    line(
        "airlock hook claude-code (pattern-approved)",
        Some(hook_ms),
        &format!(
            "target <= {TARGET_MS} ms: {}",
            if hook_ms <= TARGET_MS {
                "met"
            } else {
                "MISSED"
            }
        ),
    );
    line("true (process floor)", Some(median_ms(&mut floor)), "");
    let node_ms = node.then(|| median_ms(&mut nodes));
    line(
        "node -e '' (a Node gate's bare start)",
        node_ms,
        &node_ms.map_or_else(
            || "node is not installed".to_owned(),
            |n| format!("hook below it: {}", if hook_ms < n { "yes" } else { "NO" }),
        ),
    );
    table.push_str(&format!(
        "  requests of one gateway-decided call: {}\n",
        counts.trim()
    ));
    println!("{table}");
    Ok(())
}

fn median_ms(samples: &mut [Duration]) -> f64 {
    samples.sort_unstable();
    samples
        .get(samples.len() / 2)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

/// `METHOD /_sandbox/requests` on the sandbox's control API; the body.
fn control_call(gateway: &str, token: &str, method: &str) -> Result<String, String> {
    let host = gateway
        .strip_prefix("http://")
        .ok_or("the sandbox is not on http://")?;
    let mut stream =
        std::net::TcpStream::connect(host).map_err(|e| format!("connect {host}: {e}"))?;
    write!(
        stream,
        "{method} /_sandbox/requests HTTP/1.0\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("control API: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("control API: {e}"))?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no HTTP response")?;
    if !head.lines().next().is_some_and(|l| l.contains(" 200 ")) {
        return Err(format!("control API: {head}"));
    }
    Ok(body.to_owned())
}
