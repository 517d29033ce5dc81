//! `airlock approve`, `airlock run` and `airlock patterns`: a human approval in front of a
//! command.
//!
//! Order of decision: DND policies (fetched from the gateway, precedence of the protocol) →
//! the workspace's auto-approve patterns → the approver. A failed policy fetch counts as
//! "no policy". Fail closed: only `--fail-open` lets a command through, and only when the
//! gateway cannot be reached to submit it (never after a timeout or a failed verification).

use std::path::{Path, PathBuf};
use std::time::Duration;

use airlock::gateway::SubmitOptions;
use airlock::gateway::command::Pattern;
use airlock::gateway::gate::{self, DecidedBy, DndTrust, Failure, Gate, GateEvent, Outcome};
use serde_json::{Value, json};

use crate::connect::Context;
use crate::exit::{CliError, Exit};
use crate::inert::inert;

/// What to ask approval for.
#[derive(Debug, Clone)]
pub(crate) struct ApproveRequest {
    pub(crate) command: String,
    pub(crate) cwd: Option<String>,
    pub(crate) shell: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) fail_open: bool,
    pub(crate) json: bool,
    /// For `airlock run`: the program, resolved before anyone is asked (no shell).
    pub(crate) exec: Option<Executable>,
}

/// The result of `approve`, printed as one JSON object with `--json`.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    pub(crate) exit: Exit,
    outcome: &'static str,
    decided_by: Option<DecidedBy>,
    request_id: Option<String>,
    artifact_hash: Option<String>,
    signer_key_id: Option<String>,
    reason: Option<String>,
    harp_code: Option<String>,
    message: String,
}

impl Verdict {
    fn new(exit: Exit, outcome: &'static str, message: impl Into<String>) -> Self {
        Self {
            exit,
            outcome,
            decided_by: None,
            request_id: None,
            artifact_hash: None,
            signer_key_id: None,
            reason: None,
            harp_code: None,
            message: message.into(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "outcome": self.outcome,
            "approved": self.exit == Exit::Success,
            "exitCode": self.exit.code(),
            "decidedBy": self.decided_by.map(DecidedBy::as_str),
            "requestId": self.request_id,
            "artifactHash": self.artifact_hash,
            "signerKeyId": self.signer_key_id,
            "reason": self.reason,
            "harpCode": self.harp_code,
            "message": self.message,
        })
    }

    /// The human-readable summary.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// Prints the verdict: JSON on stdout, or a line on stderr.
    pub(crate) fn report(&self, json: bool) {
        if json {
            outln!("{}", self.to_json());
        } else {
            errln!("airlock: {}", inert(&self.message));
        }
    }
}

/// A failure before any decision, as a verdict (its outcome follows the exit code).
pub(crate) fn failed(e: CliError) -> Verdict {
    Verdict::new(e.exit, e.exit.outcome(), e.message)
}

/// The command artifact the approver sees (each top-level key is a labelled row).
/// For `airlock run`, what is executed is what was approved: the `argv`, the program's
/// absolute path and SHA-256, and the working directory actually used; no `shell` row (none
/// is used).
fn plaintext(req: &ApproveRequest, ctx: &Context) -> Value {
    let host = req.host.clone().unwrap_or_else(crate::connect::host_name);
    let mut artifact = json!({
        "actionType": "command",
        "commandText": req.command,
        "workspace": ctx.workspace,
        "host": host,
        "source": "airlock-cli",
    });
    let Some(obj) = artifact.as_object_mut() else {
        return artifact;
    };
    match &req.exec {
        Some(exe) => {
            obj.insert("argv".to_owned(), json!(exe.argv));
            obj.insert(
                "executable".to_owned(),
                json!(exe.path.display().to_string()),
            );
            obj.insert("executableSha256".to_owned(), json!(exe.sha256));
            obj.insert("cwd".to_owned(), json!(exe.cwd.display().to_string()));
        }
        None => {
            let cwd = req.cwd.clone().or_else(|| {
                std::env::current_dir()
                    .ok()
                    .map(|d| d.display().to_string())
            });
            let shell = req.shell.clone().or_else(|| std::env::var("SHELL").ok());
            obj.insert("cwd".to_owned(), json!(cwd));
            obj.insert("shell".to_owned(), json!(shell));
        }
    }
    if let Some(id) = &req.session_id {
        obj.insert("sessionId".to_owned(), Value::String(id.clone()));
    }
    artifact
}

/// The stored auto-approve patterns of the workspace. A stored pattern that is no longer
/// valid (written by an older version) approves nothing.
fn patterns(ctx: &Context) -> Result<Vec<Pattern>, CliError> {
    let all = ctx.state.patterns()?;
    Ok(all
        .workspaces
        .get(&ctx.workspace)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Pattern::parse(p)
                .inspect_err(|e| tracing::warn!("ignoring the stored pattern {p:?}: {e}"))
                .ok()
        })
        .collect())
}

/// `airlock dnd trust on|off`: whether DND approvals count for the workspace, on this
/// machine.
pub(crate) fn dnd_trust(conn: &crate::connect::ConnArgs, on: bool) -> Result<(), CliError> {
    let ctx = Context::resolve(conn)?;
    let mut trust = ctx.state.dnd_trust()?;
    if on {
        trust.workspaces.insert(ctx.workspace.clone());
    } else {
        trust.workspaces.remove(&ctx.workspace);
    }
    ctx.state.save_dnd_trust(&trust)?;
    errln!(
        "Do-Not-Disturb approvals are {} for workspace {}{}",
        if on { "trusted" } else { "ignored" },
        inert(&ctx.workspace),
        if on {
            ": the gateway's approve policies let commands through without the approver."
        } else {
            " (deny policies still block)."
        }
    );
    Ok(())
}

/// Asks for approval; never fails, the verdict carries the exit code.
pub(crate) async fn approve(ctx: &Context, req: &ApproveRequest) -> Verdict {
    if req.command.trim().is_empty() {
        return Verdict::new(Exit::Usage, "error", "the command is empty");
    }
    decide_action(ctx, req, &plaintext(req, ctx), true, SubmitOptions::new()).await
}

/// The gate's decision on `artifact` (`req` gives the label, timeout, session and
/// fail-open choice). `local_choices`: whether the workspace's patterns and trusted DND
/// approvals may approve it (else only the approver can). `submit`: the artifact type and
/// metadata of the submission. Shared by `approve`, `run` and the agent hooks.
pub(crate) async fn decide_action(
    ctx: &Context,
    req: &ApproveRequest,
    artifact: &Value,
    local_choices: bool,
    submit: SubmitOptions,
) -> Verdict {
    match gate_verdict(ctx, req, artifact, local_choices, submit).await {
        Ok(v) | Err(v) => v,
    }
}

async fn gate_verdict(
    ctx: &Context,
    req: &ApproveRequest,
    artifact: &Value,
    local_choices: bool,
    submit: SubmitOptions,
) -> Result<Verdict, Verdict> {
    let (pairing, client) = ctx.ready().await.map_err(failed)?;
    let trust = if local_choices && ctx.state.dnd_trusted(&ctx.workspace).map_err(failed)? {
        DndTrust::Approvals
    } else {
        DndTrust::DenyOnly
    };
    let patterns = if local_choices {
        patterns(ctx).map_err(failed)?
    } else {
        Vec::new()
    };
    // Shown from the submission until the verdict.
    let progress = std::sync::Mutex::new(None);
    let mut gate = Gate::new(&client, &pairing, ctx.workspace.clone(), req.timeout)
        .patterns(patterns)
        .dnd_trust(trust)
        .submit_options(submit)
        .fail_open(req.fail_open)
        .on_event(|event| match event {
            GateEvent::DndApprovalIgnored { policy_id } => tracing::warn!(
                "Do-Not-Disturb policy {} would approve; ignored (DND approvals are not \
                 trusted for this workspace: `airlock dnd trust on`)",
                inert(policy_id)
            ),
            GateEvent::Submitted { request_id, .. } => {
                let spinner =
                    crate::progress::waiting_for_decision(&req.command, request_id, req.timeout);
                *progress
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(spinner);
            }
            _ => {}
        });
    if let Some(id) = &req.session_id {
        gate = gate.session_id(id.clone());
    }
    let mut interrupt = crate::signals::Interrupt::install();
    let verdict = gate
        .decide(artifact, async move { interrupt.wait().await.to_owned() })
        .await;
    Ok(Verdict::of_gate(verdict))
}

impl Verdict {
    /// The CLI's verdict (exit code, outcome) of the gate's.
    fn of_gate(v: gate::Verdict) -> Self {
        let (exit, outcome) = match v.outcome {
            Outcome::Approved => (Exit::Success, "approved"),
            Outcome::Rejected => (Exit::Rejected, "rejected"),
            Outcome::Timeout => (Exit::Timeout, "timeout"),
            Outcome::Withdrawn => (Exit::Withdrawn, "withdrawn"),
            Outcome::Cancelled => (Exit::Withdrawn, "cancelled"),
            Outcome::VerificationFailed => (Exit::Verification, "verification_failed"),
            Outcome::Interrupted => (Exit::Interrupted, "interrupted"),
            _ => (Exit::Failure, "error"),
        };
        let (exit, message) = match &v.failure {
            Some(Failure::Gateway { doing, error }) => {
                let e = CliError::gateway(doing, error);
                let message = match &v.withdrawal {
                    Some(w) => format!("{}; {w}", e.message),
                    None => e.message,
                };
                (e.exit, message)
            }
            _ => (exit, v.message),
        };
        Self {
            exit,
            outcome: if v.failure.is_some() {
                exit.outcome()
            } else {
                outcome
            },
            decided_by: v.decided_by,
            request_id: v.request_id,
            artifact_hash: v.artifact_hash,
            signer_key_id: v.signer_key_id,
            reason: v.reason,
            harp_code: v.harp_code,
            message,
        }
    }
}

/// `airlock run` after the gate: runs the approved program, or reports why not. The exit
/// code is airlock's own (`endedBy: "airlock"`) unless the program ran: then it is the
/// program's (`endedBy: "child"`).
pub(crate) fn run_approved(request: &ApproveRequest, verdict: Verdict) -> Exit {
    let Some(exe) = request
        .exec
        .as_ref()
        .filter(|_| verdict.exit == Exit::Success)
    else {
        return ran(request.json, verdict, None);
    };
    if !request.json {
        errln!(
            "airlock: {}; running {}",
            inert(verdict.message()),
            inert(&request.command)
        );
    }
    match exe.exec() {
        Ok(status) => ran(request.json, verdict, Some(status)),
        Err(e) => ran(request.json, failed(e), None),
    }
}

/// Reports how `airlock run` ended (with `--json`: one object, `endedBy` saying whose exit
/// code it is) and returns the exit code.
pub(crate) fn ran(json: bool, verdict: Verdict, child: Option<u8>) -> Exit {
    let exit = child.map_or(verdict.exit, Exit::Child);
    if json {
        let mut value = verdict.to_json();
        value["approved"] = json!(verdict.exit == Exit::Success);
        value["exitCode"] = json!(exit.code());
        value["endedBy"] = json!(if child.is_some() { "child" } else { "airlock" });
        outln!("{value}");
    } else if child.is_none() {
        verdict.report(false);
    }
    exit
}

/// The program `airlock run` executes, resolved once before anyone is asked.
#[derive(Debug, Clone)]
pub(crate) struct Executable {
    /// The command line as given (`argv[0]` as typed).
    pub(crate) argv: Vec<String>,
    /// The program's absolute path, symlinks resolved.
    pub(crate) path: PathBuf,
    /// The program file's SHA-256 (hex), when it is a regular file.
    pub(crate) sha256: Option<String>,
    /// The working directory it runs in.
    pub(crate) cwd: PathBuf,
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    meta.is_file()
}

impl Executable {
    /// Resolves `argv[0]` as a shell would (a name with `/` as a path from `cwd`, else the
    /// first executable file of that name on `PATH`), in `cwd` (default: the current
    /// directory). Exit 127 when there is no such program, 126 when it is not executable,
    /// 64 when `cwd` is not a directory.
    pub(crate) fn resolve(argv: &[String], cwd: Option<&str>) -> Result<Self, CliError> {
        let program = argv
            .first()
            .ok_or_else(|| CliError::new(Exit::Usage, "no command to run"))?;
        let here = std::env::current_dir()
            .map_err(|e| CliError::new(Exit::Failure, format!("no current directory: {e}")))?;
        let cwd = match cwd {
            Some(dir) => here
                .join(dir)
                .canonicalize()
                .ok()
                .filter(|d| d.is_dir())
                .ok_or_else(|| {
                    CliError::new(
                        Exit::Usage,
                        format!("--cwd {}: no such directory", inert(dir)),
                    )
                })?,
            None => here,
        };
        let candidates: Vec<PathBuf> = if program.contains('/') {
            vec![cwd.join(program)]
        } else {
            let path = std::env::var_os("PATH").unwrap_or_default();
            std::env::split_paths(&path)
                .map(|dir| cwd.join(dir).join(program))
                .collect()
        };
        let mut not_executable = None;
        for candidate in candidates {
            let Ok(meta) = std::fs::metadata(&candidate) else {
                continue;
            };
            if !is_executable(&meta) {
                not_executable.get_or_insert(candidate);
                continue;
            }
            let path = candidate.canonicalize().map_err(|e| {
                CliError::new(
                    Exit::CannotExecute,
                    format!("cannot run {}: {e}", inert(program)),
                )
            })?;
            let sha256 = if meta.is_file() {
                Some(sha256_file(&path).map_err(|e| {
                    CliError::new(
                        Exit::CannotExecute,
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?)
            } else {
                None
            };
            return Ok(Self {
                argv: argv.to_vec(),
                path,
                sha256,
                cwd,
            });
        }
        Err(match not_executable {
            Some(path) => CliError::new(
                Exit::CannotExecute,
                format!(
                    "cannot run {}: {} is not an executable file",
                    inert(program),
                    path.display()
                ),
            ),
            None => CliError::new(
                Exit::NotFound,
                format!("{}: command not found", inert(program)),
            ),
        })
    }

    /// Runs the approved program: exactly that file, in that directory, after checking that
    /// it is still the file that was approved (exit 2 when it changed). Returns the child's
    /// exit status (128 + N when killed by signal N).
    pub(crate) fn exec(&self) -> Result<u8, CliError> {
        if let Some(approved) = &self.sha256 {
            let now = sha256_file(&self.path).ok();
            if now.as_deref() != Some(approved.as_str()) {
                return Err(CliError::new(
                    Exit::Verification,
                    format!(
                        "{} changed after it was approved; not run",
                        self.path.display()
                    ),
                ));
            }
        }
        let mut command = std::process::Command::new(&self.path);
        command.args(&self.argv[1..]).current_dir(&self.cwd);
        #[cfg(unix)]
        std::os::unix::process::CommandExt::arg0(&mut command, &self.argv[0]);
        let status = command.status().map_err(|e| {
            let exit = match e.kind() {
                std::io::ErrorKind::NotFound => Exit::NotFound,
                _ => Exit::CannotExecute,
            };
            CliError::new(exit, format!("cannot run {}: {e}", self.path.display()))
        })?;
        if let Some(code) = status.code() {
            return Ok(u8::try_from(code & 0xff).unwrap_or(1));
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt as _;
            if let Some(signal) = status.signal() {
                return Ok(u8::try_from(128 + (signal & 0x7f)).unwrap_or(1));
            }
        }
        Ok(1)
    }
}

/// The command line as the approver sees it: arguments quoted where a shell would need it.
pub(crate) fn display_command(program: &str, args: &[String]) -> String {
    std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                a.to_owned()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_display_quotes_what_a_shell_would_split() {
        let args = vec![
            "-c".to_owned(),
            "echo hi; rm x".to_owned(),
            "it's".to_owned(),
            String::new(),
        ];
        assert_eq!(
            display_command("sh", &args),
            r#"sh -c 'echo hi; rm x' 'it'\''s' ''"#
        );
    }

    #[test]
    fn verdict_json_has_the_documented_keys() {
        let v = Verdict::new(Exit::Verification, "verification_failed", "x");
        let j = v.to_json();
        assert_eq!(j["exitCode"], 2);
        assert_eq!(j["approved"], false);
        assert_eq!(j["outcome"], "verification_failed");
    }
}
