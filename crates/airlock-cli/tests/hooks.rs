//! `airlock hook claude-code|cursor|copilot` against an in-process sandbox: every agent and
//! event, and every way it ends (approve, reject, tamper, undecided, not signed in, not
//! paired, unreachable, garbage on stdin, a stalled stdin, a panic) — all but an approval
//! end in `deny`.

mod common;

use std::io::Write as _;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use airlock::types::ExchangeState;
use airlock_sandbox::{ApproverPolicy, SandboxConfig, TamperMode};
use common::{Env, WORKSPACE, describe};
use serde_json::Value;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(common::data(&format!("agents/{name}"))).expect("sample payload")
}

async fn start(policy: ApproverPolicy, tamper: TamperMode) -> Env {
    let config = SandboxConfig::builder()
        .approver_policy(policy)
        .tamper(tamper)
        .rate_limit(None)
        .build();
    Env::start(config).await
}

/// Signed in with the PAT and paired.
async fn paired(policy: ApproverPolicy, tamper: TamperMode) -> Env {
    let env = signed_in(policy, tamper).await;
    env.pair().await;
    env
}

async fn signed_in(policy: ApproverPolicy, tamper: TamperMode) -> Env {
    let env = start(policy, tamper).await;
    let pat = env.sandbox().pat().to_owned();
    env.ok(&["login", "--pat", &pat]).await;
    env
}

impl Env {
    /// `airlock hook AGENT --timeout S` with `stdin`; its output.
    async fn hook(&self, agent: &str, timeout: &str, stdin: Vec<u8>) -> Output {
        let cmd = self.command(&["hook", agent, "--timeout", timeout]);
        tokio::task::spawn_blocking(move || feed(cmd, &stdin))
            .await
            .expect("join")
    }
}

/// Runs `cmd` with `stdin` as its input; the hook may stop reading early (a payload over
/// its limit), so a broken pipe is no failure here.
fn feed(mut cmd: std::process::Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn airlock");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Err(e) = pipe.write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    drop(pipe);
    child.wait_with_output().expect("wait for airlock")
}

/// The one JSON answer on stdout, after checking the exit code is 0.
fn answer(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", describe(out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    let json = serde_json::from_str(lines.next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("stdout is one JSON object ({e}): {}", describe(out)));
    assert!(lines.next().is_none(), "one line: {}", describe(out));
    json
}

/// Claude Code's decision and reason.
fn claude(out: &Output) -> (String, String) {
    let a = answer(out);
    let o = &a["hookSpecificOutput"];
    assert_eq!(o["hookEventName"], "PreToolUse", "{a}");
    (
        o["permissionDecision"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        o["permissionDecisionReason"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Cursor's permission and message (the same text for the user and the agent).
fn cursor(out: &Output) -> (String, String) {
    let a = answer(out);
    assert_eq!(a["userMessage"], a["agentMessage"], "{a}");
    (
        a["permission"].as_str().unwrap_or_default().to_owned(),
        a["userMessage"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_bash_approved_by_the_approver_is_allowed() {
    let env = paired(ApproverPolicy::Approve, TamperMode::None).await;
    let out = env
        .hook("claude-code", "30", sample("claude-code-bash.json"))
        .await;
    let (decision, reason) = claude(&out);
    assert_eq!(decision, "allow", "{}", describe(&out));
    assert!(reason.contains("approved by"), "{reason}");
    let seen = env.sandbox().approver().seen();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].hash_matches());
    // What the Airlock app renders: the official enforcers' keys, and the tool's details.
    assert_eq!(seen[0].artifact_type, "command.review");
    assert_eq!(seen[0].metadata["workspaceName"], WORKSPACE);
    assert_eq!(seen[0].metadata["repoName"], "widgets");
    assert_eq!(seen[0].metadata["requestLabel"], "Terminal Command");
    let p = seen[0].plaintext.as_ref().expect("decrypted");
    assert_eq!(p["actionType"], "terminal_command");
    assert_eq!(p["commandText"], "git push --force origin main");
    assert_eq!(p["description"], "Force-push the rewritten history");
    assert_eq!(p["workspace"], WORKSPACE);
    assert_eq!(p["repoName"], "widgets");
    assert_eq!(p["source"], "airlock/claude-code");
    assert_eq!(p["tool"], "Bash");
    assert_eq!(p["cwd"], "/home/dev/widgets");
    assert_eq!(
        p["extensions"]["org.harp.requestedActions"]["actions"][0]["id"],
        "approve"
    );

    // An edit shows the approver a unified diff, labelled an agent step.
    let out = env
        .hook("claude-code", "30", sample("claude-code-edit.json"))
        .await;
    assert_eq!(claude(&out).0, "allow", "{}", describe(&out));
    let edit = env.sandbox().approver().seen().pop().expect("submitted");
    assert_eq!(edit.metadata["requestLabel"], "Agent Step");
    let p = edit.plaintext.expect("decrypted");
    assert_eq!(p["source"], "airlock/claude-code");
    assert!(
        p["diff"]
            .as_str()
            .unwrap()
            .contains("+// expiry check disabled for testing")
    );
}

/// A Claude Code `Bash` payload for `command`.
fn bash(command: &str) -> Vec<u8> {
    serde_json::json!({"hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": command}, "cwd": "/home/dev/widgets", "session_id": "s"})
    .to_string()
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patterns_approve_plain_commands_but_never_the_hook_config_or_airlocks_state() {
    let env = paired(ApproverPolicy::Reject, TamperMode::None).await;
    env.ok(&["patterns", "add", "git status"]).await;
    env.ok(&["patterns", "add", "cp"]).await;
    let out = env.hook("claude-code", "30", bash("git status -s")).await;
    let (decision, reason) = claude(&out);
    assert_eq!(decision, "allow", "{}", describe(&out));
    assert!(reason.contains("pattern"), "{reason}");
    let out = env
        .hook("cursor", "30", bash_cursor("cp a.txt b.txt"))
        .await;
    assert_eq!(cursor(&out).0, "allow", "{}", describe(&out));
    assert!(env.sandbox().approver().seen().is_empty());

    // The approver (who rejects) is asked for everything else: shell syntax, the agent's
    // hook configuration, airlock's state, and text that merely mentions airlock.
    let state = env.dir.path().join("pairing.json");
    for command in [
        "git status; rm -rf ~".to_owned(),
        "cp evil.json .claude/settings.json".to_owned(),
        "cp evil.json /home/dev/.cursor/hooks.json".to_owned(),
        format!("cp evil.json {}", state.display()),
        "rm -rf ~ # airlock hook claude-code".to_owned(),
    ] {
        let out = env.hook("claude-code", "30", bash(&command)).await;
        let (decision, reason) = claude(&out);
        assert_eq!(decision, "deny", "{command}: {}", describe(&out));
        assert!(reason.contains("rejected by"), "{command}: {reason}");
    }
    assert_eq!(env.sandbox().approver().seen().len(), 5);
}

/// A Cursor `beforeShellExecution` payload for `command`.
fn bash_cursor(command: &str) -> Vec<u8> {
    serde_json::json!({"hook_event_name": "beforeShellExecution", "command": command,
        "cwd": "/home/dev/widgets", "workspace_roots": ["/home/dev/widgets"]})
    .to_string()
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_tampered_and_undecided_calls_are_denied() {
    let env = paired(ApproverPolicy::Reject, TamperMode::None).await;
    for (agent, name) in [
        ("claude-code", "claude-code-write.json"),
        ("copilot", "claude-code-edit.json"),
    ] {
        let out = env.hook(agent, "30", sample(name)).await;
        let (decision, reason) = claude(&out);
        assert_eq!(decision, "deny", "{name}: {}", describe(&out));
        assert!(reason.contains("rejected by"), "{reason}");
    }
    let out = env.hook("cursor", "30", sample("cursor-mcp.json")).await;
    let (permission, message) = cursor(&out);
    assert_eq!(permission, "deny", "{}", describe(&out));
    assert!(message.contains("rejected by"), "{message}");

    // A relay forging the approver's signature: the "approval" fails verification.
    env.sandbox().approver().set_policy(ApproverPolicy::Approve);
    env.sandbox()
        .approver()
        .set_tamper(TamperMode::ForgeSignature);
    let out = env.hook("cursor", "30", sample("cursor-shell.json")).await;
    let (permission, message) = cursor(&out);
    assert_eq!(permission, "deny", "{}", describe(&out));
    assert!(message.contains("verification"), "{message}");

    // Nobody decides: denied by the hook's deadline, and the request withdrawn.
    env.sandbox().approver().set_tamper(TamperMode::None);
    env.sandbox().approver().set_policy(ApproverPolicy::Manual);
    let started = Instant::now();
    let out = env
        .hook("claude-code", "4", sample("claude-code-bash.json"))
        .await;
    let (decision, reason) = claude(&out);
    assert_eq!(decision, "deny", "{}", describe(&out));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "answered in time"
    );
    assert!(
        reason.contains("no decision") || reason.contains("expired"),
        "{reason}"
    );
    let pending = env.sandbox().approver().seen();
    let last = pending.last().expect("submitted");
    // Withdrawn, or expired with the deadline: whichever came first, it is closed.
    let state = env.sandbox().exchange(&last.request_id).map(|e| e.state);
    assert!(
        matches!(
            state,
            Some(ExchangeState::Withdrawn | ExchangeState::Expired)
        ),
        "{state:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_events_each_reach_the_approver() {
    let env = paired(ApproverPolicy::Approve, TamperMode::None).await;
    for name in ["cursor-shell.json", "cursor-mcp.json", "cursor-read.json"] {
        let out = env.hook("cursor", "30", sample(name)).await;
        let (permission, message) = cursor(&out);
        assert_eq!(permission, "allow", "{name}: {}", describe(&out));
        assert!(message.contains("approved by"), "{message}");
    }
    // The read of `.env` went to the approver too; its content never left the machine.
    let seen = env.sandbox().approver().seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| {
        !s.plaintext
            .as_ref()
            .unwrap()
            .to_string()
            .contains("hunter2")
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_tools_pass_without_a_request() {
    let env = paired(ApproverPolicy::Reject, TamperMode::None).await;
    let out = env
        .hook("claude-code", "30", sample("claude-code-read.json"))
        .await;
    // No opinion: nothing on stdout, exit 0, Claude Code's own permission rules apply.
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(out.stdout.is_empty(), "{}", describe(&out));
    assert!(env.sandbox().approver().seen().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_signed_in_not_paired_or_unreachable_is_denied_with_what_to_run() {
    let mut env = start(ApproverPolicy::Approve, TamperMode::None).await;
    let out = env
        .hook("claude-code", "30", sample("claude-code-bash.json"))
        .await;
    let (decision, reason) = claude(&out);
    assert_eq!(decision, "deny", "{}", describe(&out));
    assert!(
        reason.contains("airlock pair") || reason.contains("airlock login"),
        "{reason}"
    );
    assert!(reason.contains("your own terminal"), "{reason}");

    let pat = env.sandbox().pat().to_owned();
    env.ok(&["login", "--pat", &pat]).await;
    let out = env.hook("cursor", "30", sample("cursor-shell.json")).await;
    let (permission, message) = cursor(&out);
    assert_eq!(permission, "deny", "{}", describe(&out));
    assert!(message.contains("airlock pair"), "{message}");

    env.pair().await;
    env.stop_sandbox().await;
    let out = env
        .hook("claude-code", "30", sample("claude-code-bash.json"))
        .await;
    let (decision, reason) = claude(&out);
    assert_eq!(decision, "deny", "{}", describe(&out));
    assert!(reason.contains("airlock doctor"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_stdin_is_denied() {
    let env = paired(ApproverPolicy::Approve, TamperMode::None).await;
    let oversized = vec![b' '; 9 << 20];
    for garbage in [
        b"".to_vec(),
        b"not json".to_vec(),
        b"[1,2]".to_vec(),
        br#"{"tool_name":"Bash","tool_input":{"cmd":"ls"}}"#.to_vec(),
        b"\xff\xfe{}".to_vec(),
        oversized,
    ] {
        let out = env.hook("claude-code", "30", garbage.clone()).await;
        assert_eq!(claude(&out).0, "deny", "{}", describe(&out));
        let out = env.hook("cursor", "30", garbage).await;
        assert_eq!(cursor(&out).0, "deny", "{}", describe(&out));
    }
    assert!(env.sandbox().approver().seen().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stdin_is_denied_by_the_deadline() {
    let env = paired(ApproverPolicy::Approve, TamperMode::None).await;
    let mut cmd = env.command(&["hook", "claude-code", "--timeout", "2"]);
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Half a payload, and stdin left open.
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(br#"{"tool_name":"Bash","#).expect("write");
        let out = child.wait_with_output().expect("wait");
        drop(stdin);
        out
    })
    .await
    .expect("join");
    assert!(started.elapsed() < Duration::from_secs(10));
    let (decision, reason) = claude(&out);
    assert_eq!(decision, "deny", "{}", describe(&out));
    assert!(reason.contains("no decision within"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_ends_in_deny_and_exit_2() {
    let env = paired(ApproverPolicy::Approve, TamperMode::None).await;
    for (agent, field) in [
        ("claude-code", "/hookSpecificOutput/permissionDecision"),
        ("cursor", "/permission"),
    ] {
        let mut cmd = env.command(&["hook", agent]);
        cmd.env("AIRLOCK_TEST_HOOK_PANIC", "1");
        let stdin = sample(if agent == "cursor" {
            "cursor-shell.json"
        } else {
            "claude-code-bash.json"
        });
        let out = tokio::task::spawn_blocking(move || feed(cmd, &stdin))
            .await
            .expect("join");
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("a JSON answer ({e}): {}", describe(&out)));
        assert_eq!(json.pointer(field).and_then(Value::as_str), Some("deny"));
    }
    assert!(env.sandbox().approver().seen().is_empty());
}
