//! `airlock hook claude-code|cursor|copilot`: the gate a coding agent runs before each tool
//! call. Reads the call from stdin, maps it to an artifact the approver can judge, takes the
//! same decision path as `airlock approve`, and answers in the agent's format.
//!
//! Fail closed, always: agents let a tool call proceed when a hook crashes, exits with a
//! code other than 0 or 2, or is killed at its timeout. So every failure here is a `deny`
//! answer (exit 0) with the reason and what to run in the user's own terminal; the hook
//! answers before its own deadline (`--timeout`, under the agent's), withdrawing a pending
//! request; and a panic writes the `deny` answer from the panic hook and exits 2.

mod action;
mod decide;
mod payload;
mod policy;

use std::io::Write as _;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncReadExt as _;
use tokio::time::Instant;

use crate::connect::{ConnArgs, Context};
use crate::exit::Exit;

pub(crate) use payload::Agent;
pub(crate) use policy::HookSettings;

/// The agent's hook timeout `airlock install` writes, in seconds.
pub(crate) const AGENT_TIMEOUT: u64 = 600;
/// The hook's own deadline by default: a little under [`AGENT_TIMEOUT`], so the hook
/// answers (and withdraws the request) before the agent gives up on it.
pub(crate) const DEFAULT_DEADLINE: u64 = AGENT_TIMEOUT - 10;
/// The state file with the per-workspace hook settings.
pub(crate) const SETTINGS_FILE: &str = "hooks.json";

/// Exit code of a hook that could not answer normally: agents block the call on 2.
const BLOCK: Exit = Exit::Verification;

/// `airlock hook` options.
#[derive(Debug, clap::Args)]
pub(crate) struct HookArgs {
    /// The agent calling: its payload and answer formats.
    #[arg(value_enum)]
    pub(crate) agent: Agent,
    /// Seconds until the hook answers `deny` on its own and withdraws the request; keep it
    /// under the agent's hook timeout.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_DEADLINE,
          value_parser = clap::value_parser!(u64).range(2..=86_400))]
    pub(crate) timeout: u64,
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
}

/// The hook's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Approved: the call runs.
    Allow(String),
    /// Blocked, with the reason (shown to the model and the user).
    Deny(String),
    /// Not gated: no opinion, the agent's own permission rules apply.
    Pass,
}

impl Answer {
    fn deny(reason: impl std::fmt::Display) -> Self {
        Self::Deny(format!("Airlock denied this: {reason}"))
    }

    /// The answer in `agent`'s format (`None`: print nothing).
    pub(crate) fn render(&self, agent: Agent) -> Option<Value> {
        let (permission, reason) = match self {
            Self::Allow(r) => ("allow", r.as_str()),
            Self::Deny(r) => ("deny", r.as_str()),
            Self::Pass => match agent {
                Agent::Cursor => ("allow", ""),
                Agent::ClaudeCode | Agent::Copilot => return None,
            },
        };
        Some(match agent {
            Agent::ClaudeCode | Agent::Copilot => json!({"hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": permission,
                "permissionDecisionReason": reason,
            }}),
            Agent::Cursor if reason.is_empty() => json!({"permission": permission}),
            Agent::Cursor => json!({
                "permission": permission, "userMessage": reason, "agentMessage": reason,
            }),
        })
    }

    /// Writes the answer on stdout.
    fn write(&self, agent: Agent) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        if let Some(json) = self.render(agent) {
            writeln!(out, "{json}")?;
        }
        out.flush()
    }
}

/// Runs the hook; the exit code is 0 when the answer was written, else 2.
pub(crate) fn run(args: HookArgs) -> Exit {
    let agent = args.agent;
    std::panic::set_hook(Box::new(move |info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let answer = Answer::deny(format!(
            "the hook failed ({what}); run `airlock doctor` in your own terminal"
        ));
        let _ = answer.write(agent);
        errln!("airlock: the hook panicked: {what}");
        std::process::exit(i32::from(BLOCK.code()));
    }));
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let answer = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => {
            let answer = rt.block_on(answer_before(agent, &args, deadline));
            // Never wait for a blocked stdin read: the answer is ready.
            rt.shutdown_background();
            answer
        }
        Err(e) => Answer::deny(format!("cannot start the async runtime: {e}")),
    };
    match answer.write(agent) {
        Ok(()) => Exit::Success,
        Err(e) => {
            errln!("airlock: cannot write the hook's answer: {e}");
            BLOCK
        }
    }
}

/// The answer, by the deadline whatever happens.
async fn answer_before(agent: Agent, args: &HookArgs, deadline: Instant) -> Answer {
    match tokio::time::timeout_at(deadline, answer(agent, args, deadline)).await {
        Ok(answer) => answer,
        Err(_) => Answer::deny(format!(
            "no decision within the hook's {}s; ask again, or raise `--timeout` and the \
             agent's hook timeout together",
            args.timeout
        )),
    }
}

async fn answer(agent: Agent, args: &HookArgs, deadline: Instant) -> Answer {
    let bytes = match read_stdin().await {
        Ok(bytes) => bytes,
        Err(e) => return Answer::deny(format!("cannot read the agent's request: {e}")),
    };
    let call = match payload::parse(agent, &bytes) {
        Ok(call) => call,
        Err(e) => return Answer::deny(format!("the agent's request is not valid: {e}")),
    };
    #[cfg(debug_assertions)]
    if std::env::var_os("AIRLOCK_TEST_HOOK_PANIC").is_some() {
        panic!("AIRLOCK_TEST_HOOK_PANIC is set");
    }
    let ctx = match Context::resolve(&args.conn) {
        Ok(ctx) => ctx,
        Err(e) => return Answer::deny(e.message),
    };
    let settings: HookSettings = match ctx.state.read(SETTINGS_FILE) {
        Ok(settings) => settings,
        Err(e) => return Answer::deny(e.message),
    };
    let rules = policy::Rules::new(&settings, &ctx.workspace, ctx.state.root());
    let need = rules.need(&call);
    if need == policy::Need::Nothing {
        return Answer::Pass;
    }
    let action = action::Action::of(&call, agent, &ctx.workspace);
    // Leave time to withdraw the request before the deadline.
    let margin = Duration::from_secs(args.timeout.min(12) / 4);
    let outcome = decide::decide(
        &ctx,
        &action,
        &call,
        need == policy::Need::Approver,
        deadline - margin,
    )
    .await;
    outcome.answer()
}

/// Reads stdin to its end, at most [`payload::MAX_PAYLOAD`] bytes.
async fn read_stdin() -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(payload::MAX_PAYLOAD).unwrap_or(u64::MAX);
    tokio::io::stdin()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .await?;
    if bytes.len() > payload::MAX_PAYLOAD {
        return Err(std::io::Error::other(format!(
            "more than {} bytes",
            payload::MAX_PAYLOAD
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_have_each_agents_shape() {
        let deny = Answer::deny("x").render(Agent::ClaudeCode).unwrap();
        assert_eq!(deny["hookSpecificOutput"]["permissionDecision"], "deny");
        assert_eq!(deny["hookSpecificOutput"]["hookEventName"], "PreToolUse");
        assert_eq!(
            deny["hookSpecificOutput"]["permissionDecisionReason"],
            "Airlock denied this: x"
        );
        let allow = Answer::Allow("ok".into()).render(Agent::Cursor).unwrap();
        assert_eq!(
            allow,
            json!({"permission": "allow", "userMessage": "ok", "agentMessage": "ok"})
        );
        assert_eq!(Answer::Pass.render(Agent::ClaudeCode), None);
        assert_eq!(
            Answer::Pass.render(Agent::Cursor),
            Some(json!({"permission": "allow"}))
        );
    }
}
