//! `airlock approve`, `airlock run` and `airlock patterns`: a human approval in front of a
//! command.
//!
//! Order of decision: DND policies (fetched from the gateway, precedence of the protocol) →
//! the workspace's auto-approve patterns → the approver. A failed policy fetch counts as
//! "no policy". Fail closed: only `--fail-open` lets a command through, and only when the
//! gateway cannot be reached to submit it (never after a timeout or a failed verification).

use std::time::Duration;

use airlock::gateway::command::{CommandLine, Pattern};
use airlock::gateway::{
    AwaitOptions, DecisionOutcome, DndVerdict, Error as GatewayError, SubmitOptions,
    dnd_audit_artifact,
};
use airlock::types::DndQuery;
use serde_json::{Value, json};

use crate::connect::Context;
use crate::exit::{CliError, Exit, chain, is_unreachable};
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

/// Who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecidedBy {
    Approver,
    Dnd,
    Pattern,
    FailOpen,
}

impl DecidedBy {
    fn as_str(self) -> &'static str {
        match self {
            Self::Approver => "approver",
            Self::Dnd => "dnd",
            Self::Pattern => "pattern",
            Self::FailOpen => "fail-open",
        }
    }
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

    fn by(mut self, who: DecidedBy) -> Self {
        self.decided_by = Some(who);
        self
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

/// The first of the stored auto-approve `patterns` that approves `command`. Only a plain
/// command (no operator, redirection, substitution, expansion) can match; a stored pattern
/// that is no longer valid approves nothing.
pub(crate) fn matching_pattern(patterns: &[String], command: &str) -> Option<Pattern> {
    let command = match CommandLine::parse(command) {
        Ok(c) => c,
        Err(why) => {
            tracing::info!("no auto-approve pattern applies: {why}");
            return None;
        }
    };
    patterns
        .iter()
        .filter_map(|p| {
            Pattern::parse(p)
                .inspect_err(|e| tracing::warn!("ignoring the stored pattern {p:?}: {e}"))
                .ok()
        })
        .find(|p| p.matches(&command))
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
    // First: an interrupt from now on withdraws the request instead of killing us.
    let mut interrupt = crate::signals::Interrupt::install();
    let (pairing, client) = ctx.ready().await.map_err(failed)?;
    let artifact = plaintext(req, ctx);

    // 1. Do Not Disturb policies.
    let mut query = DndQuery::new(pairing.enforcer_id(), ctx.workspace.clone());
    if let Some(id) = &req.session_id {
        query = query.with_session_id(id.clone());
    }
    let verdict = client.dnd_verdict(&query, &req.command).await;
    if let Some(audit) = dnd_audit_artifact(artifact.clone(), &verdict) {
        // Best effort: the policy decided, the audit only records it.
        if let Err(e) = client
            .encrypt_and_submit(&pairing, &audit.plaintext, audit.options)
            .await
        {
            tracing::warn!(error = %e, "submitting the DND audit artifact failed");
        }
        let id = verdict
            .policy()
            .map(|p| p.request_id.clone())
            .unwrap_or_default();
        return Ok(match verdict {
            DndVerdict::Approve(_) => Verdict::new(
                Exit::Success,
                "approved",
                format!("approved by Do-Not-Disturb policy {id}"),
            ),
            _ => Verdict::new(
                Exit::Rejected,
                "rejected",
                format!("rejected by Do-Not-Disturb policy {id}"),
            ),
        }
        .by(DecidedBy::Dnd));
    }

    // 2. Auto-approve patterns of the workspace.
    let patterns = ctx.state.patterns().map_err(failed)?;
    let list = patterns
        .workspaces
        .get(&ctx.workspace)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if let Some(p) = matching_pattern(list, &req.command) {
        return Ok(Verdict::new(
            Exit::Success,
            "approved",
            format!("approved by the auto-approve pattern {:?}", p.as_str()),
        )
        .by(DecidedBy::Pattern));
    }

    // 3. The approver.
    let options = SubmitOptions::new()
        .metadata("workspaceName", ctx.workspace.clone())
        .expires_in(req.timeout);
    let pending = match client
        .encrypt_and_submit(&pairing, &artifact, options)
        .await
    {
        Ok(p) => p,
        Err(e) if req.fail_open && is_unreachable(&e) => {
            return Ok(Verdict::new(
                Exit::Success,
                "approved",
                format!(
                    "gateway unreachable ({}); allowed because of --fail-open",
                    chain(&e)
                ),
            )
            .by(DecidedBy::FailOpen));
        }
        Err(e) => {
            return Err(failed(CliError::gateway(
                "cannot submit the approval request",
                &e,
            )));
        }
    };
    let _progress =
        crate::progress::waiting_for_decision(&req.command, pending.request_id(), req.timeout);
    let options = AwaitOptions::new(req.timeout);
    let awaited = tokio::select! {
        awaited = client.await_decision(&pending, options) => awaited,
        signal = interrupt.wait() => {
            // Nobody is waiting any more: an approval now would be for nothing.
            let withdrawn = client.withdraw(&pending).await;
            let mut v = Verdict::new(Exit::Interrupted, "interrupted", match withdrawn {
                Ok(_) => format!("interrupted by {signal}; the request was withdrawn"),
                Err(e) => format!("interrupted by {signal}; withdrawing the request failed: {e}"),
            });
            v.request_id = Some(pending.request_id().to_owned());
            v.artifact_hash = Some(pending.artifact_hash().to_owned());
            return Ok(v);
        }
    };
    let mut v = match awaited {
        Ok(DecisionOutcome::Approved(d)) => {
            let mut v = Verdict::new(
                Exit::Success,
                "approved",
                format!("approved by {}", d.signer_key_id),
            );
            v.signer_key_id = Some(d.signer_key_id.clone());
            v.reason.clone_from(&d.reason);
            v.by(DecidedBy::Approver)
        }
        Ok(DecisionOutcome::Rejected(d)) => {
            let why = d
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            let mut v = Verdict::new(
                Exit::Rejected,
                "rejected",
                format!("rejected by {}{why}", d.signer_key_id),
            );
            v.signer_key_id = Some(d.signer_key_id.clone());
            v.reason.clone_from(&d.reason);
            v.by(DecidedBy::Approver)
        }
        Ok(DecisionOutcome::Expired { withdrawn }) => Verdict::new(
            Exit::Timeout,
            "timeout",
            if withdrawn {
                format!(
                    "no decision within {}s; the request was withdrawn",
                    req.timeout.as_secs()
                )
            } else {
                "the request expired without a decision".to_owned()
            },
        ),
        Ok(DecisionOutcome::Withdrawn) => {
            Verdict::new(Exit::Withdrawn, "withdrawn", "the request was withdrawn")
        }
        Ok(DecisionOutcome::Cancelled) => {
            Verdict::new(Exit::Withdrawn, "cancelled", "the request was cancelled")
        }
        Ok(other) => Verdict::new(
            Exit::Failure,
            "error",
            format!("unexpected outcome {other:?}"),
        ),
        Err(e) => verdict_of_error(&e),
    };
    v.request_id = Some(pending.request_id().to_owned());
    v.artifact_hash = Some(pending.artifact_hash().to_owned());
    Ok(v)
}

fn verdict_of_error(e: &GatewayError) -> Verdict {
    match e {
        GatewayError::Verification(v) => {
            let mut out = Verdict::new(
                Exit::Verification,
                "verification_failed",
                format!("the decision failed verification; blocked: {}", chain(e)),
            );
            out.harp_code = Some(v.harp_code().to_string());
            out
        }
        // The gateway answers 409 to a wait on a withdrawn exchange.
        _ if e.is_conflict() => Verdict::new(
            Exit::Withdrawn,
            "withdrawn",
            format!("the request was closed: {e}"),
        ),
        _ => failed(CliError::gateway("waiting for the decision failed", e)),
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
