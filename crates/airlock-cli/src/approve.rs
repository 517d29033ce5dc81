//! `airlock approve`, `airlock run` and `airlock patterns`: a human approval in front of a
//! command.
//!
//! Order of decision: DND policies (fetched from the gateway, precedence of the protocol) →
//! the workspace's auto-approve patterns → the approver. A failed policy fetch counts as
//! "no policy". Fail closed: only `--fail-open` lets a command through, and only when the
//! gateway cannot be reached to submit it (never after a timeout or a failed verification).

use std::time::Duration;

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
fn plaintext(req: &ApproveRequest, ctx: &Context) -> Value {
    let cwd = req.cwd.clone().or_else(|| {
        std::env::current_dir()
            .ok()
            .map(|d| d.display().to_string())
    });
    let shell = req.shell.clone().or_else(|| std::env::var("SHELL").ok());
    let host = req.host.clone().unwrap_or_else(crate::connect::host_name);
    let mut artifact = json!({
        "actionType": "command",
        "commandText": req.command,
        "workspace": ctx.workspace,
        "cwd": cwd,
        "shell": shell,
        "host": host,
        "source": "airlock-cli",
    });
    if let (Some(id), Some(obj)) = (&req.session_id, artifact.as_object_mut()) {
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
    match decide(ctx, req).await {
        Ok(v) | Err(v) => v,
    }
}

async fn decide(ctx: &Context, req: &ApproveRequest) -> Result<Verdict, Verdict> {
    if req.command.trim().is_empty() {
        return Err(Verdict::new(Exit::Usage, "error", "the command is empty"));
    }
    let (pairing, client) = ctx.ready().await.map_err(failed)?;
    let artifact = plaintext(req, ctx);
    let trust = if ctx.state.dnd_trusted(&ctx.workspace).map_err(failed)? {
        DndTrust::Approvals
    } else {
        DndTrust::DenyOnly
    };
    // Shown from the submission until the verdict.
    let progress = std::sync::Mutex::new(None);
    let mut gate = Gate::new(&client, &pairing, ctx.workspace.clone(), req.timeout)
        .patterns(patterns(ctx).map_err(failed)?)
        .dnd_trust(trust)
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
        .decide(&artifact, async move { interrupt.wait().await.to_owned() })
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

/// Runs `program` with `args` (no shell) and returns its exit status as ours.
pub(crate) fn exec(program: &str, args: &[String]) -> Result<u8, CliError> {
    let status = std::process::Command::new(program)
        .args(args)
        .status()
        .map_err(|e| {
            let exit = match e.kind() {
                std::io::ErrorKind::NotFound => Exit::NotFound,
                _ => Exit::CannotExecute,
            };
            CliError::new(exit, format!("cannot run {program}: {e}"))
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
