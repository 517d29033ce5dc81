//! `airlock doctor`: is this machine ready to gate an agent? One line per check: signed in,
//! paired, gateway reachable, and for each agent where our hook is installed and with which
//! timeouts. Exits non-zero when something is missing.

use std::path::Path;
use std::time::Duration;

use crate::connect::{ConnArgs, Context};
use crate::exit::{CliError, Exit, chain, is_unreachable};
use crate::hook::{Agent, DEFAULT_DEADLINE};
use crate::inert::inert;
use crate::install::{Installed, config_paths, find_installed};

/// `airlock doctor` options.
#[derive(Debug, clap::Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
}

/// One check: fine or not, and the line to print.
struct Check {
    ok: bool,
    line: String,
}

impl Check {
    fn new(ok: bool, label: &str, text: impl std::fmt::Display) -> Self {
        Self {
            ok,
            line: format!("{:<4} {label:<12} {text}", if ok { "ok" } else { "FAIL" }),
        }
    }
}

/// Runs every check and prints one line each on stdout.
pub(crate) async fn run(args: &DoctorArgs) -> Result<Exit, CliError> {
    let ctx = Context::resolve(&args.conn)?;
    let mut checks = Vec::new();
    let identity = ctx.identity().await;
    let signed_in = matches!(identity, Ok(Some(_)));
    checks.push(match &identity {
        Ok(Some(id)) => Check::new(true, "signed in", format!("yes ({})", id.method().as_str())),
        Ok(None) => Check::new(
            false,
            "signed in",
            "no: run `airlock login` in your terminal",
        ),
        Err(e) => Check::new(false, "signed in", inert(&e.message)),
    });
    checks.push(match ctx.state.pairing() {
        Ok(Some(p)) => Check::new(
            true,
            "paired",
            format!(
                "yes (signer {}, fingerprint {})",
                inert(p.signer_key_id()),
                p.fingerprint()
            ),
        ),
        Ok(None) => Check::new(false, "paired", "no: run `airlock pair` in your terminal"),
        Err(e) => Check::new(false, "paired", inert(&e.message)),
    });
    checks.push(gateway(&ctx, signed_in).await);
    let mut any = false;
    for agent in [Agent::ClaudeCode, Agent::Cursor, Agent::Copilot] {
        let found = hooks(agent);
        any |= !found.is_empty();
        if found.is_empty() {
            checks.push(Check::new(
                true,
                agent.name(),
                format!("not installed (airlock install {})", agent.name()),
            ));
        }
        checks.extend(found);
    }
    if !any {
        checks.push(Check::new(
            false,
            "hooks",
            "no agent has the Airlock hook: run `airlock install claude-code` (or cursor, copilot)",
        ));
    }
    for check in &checks {
        outln!("{}", check.line);
    }
    Ok(if checks.iter().all(|c| c.ok) {
        Exit::Success
    } else {
        Exit::NotReady
    })
}

/// Whether the gateway answers (`GET /echo`, with the user's identity when signed in).
async fn gateway(ctx: &Context, signed_in: bool) -> Check {
    let url = inert(&ctx.gateway_url).into_owned();
    let client = if signed_in {
        ctx.signed_in_client().await
    } else {
        ctx.app_builder().and_then(|b| {
            b.build()
                .map_err(|e| CliError::gateway("cannot configure the gateway client", &e))
        })
    };
    let client = match client {
        Ok(client) => client,
        Err(e) => return Check::new(false, "gateway", format!("{url}: {}", inert(&e.message))),
    };
    match tokio::time::timeout(Duration::from_secs(10), client.echo()).await {
        Ok(Ok(_)) => Check::new(true, "gateway", format!("reachable ({url})")),
        Ok(Err(e)) if is_unreachable(&e) => Check::new(
            false,
            "gateway",
            format!("unreachable ({url}): {}", inert(&chain(&e))),
        ),
        Ok(Err(e)) => Check::new(
            false,
            "gateway",
            format!("answers but refused ({url}): {}", inert(&chain(&e))),
        ),
        Err(_) => Check::new(false, "gateway", format!("no answer within 10s ({url})")),
    }
}

/// One check per configuration file of `agent` that holds our hook.
fn hooks(agent: Agent) -> Vec<Check> {
    let mut checks = Vec::new();
    for (scope, path) in config_paths(agent) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let found = find_installed(agent, &text);
        if found.commands.is_empty() {
            continue;
        }
        let (ok, text) = assess(&found);
        checks.push(Check::new(
            ok,
            agent.name(),
            format!(
                "{} {}: {text}",
                scope.name(),
                inert(&path.display().to_string()),
            ),
        ));
    }
    checks
}

/// Whether an installed hook can answer in time: its deadline under the agent's timeout,
/// its program present, every event covered.
fn assess(found: &Installed) -> (bool, String) {
    let mut problems = Vec::new();
    let mut parts = Vec::new();
    for (command, timeout) in found.commands.iter().zip(&found.timeouts) {
        let deadline = hook_deadline(command);
        match timeout {
            Some(t) if deadline < *t => parts.push(format!("agent timeout {t}s, hook deadline {deadline}s")),
            Some(t) => problems.push(format!(
                "hook deadline {deadline}s is not under the agent's timeout {t}s (the agent would proceed when it kills the hook)"
            )),
            None => problems.push("no agent timeout set (the agent's default may kill the hook before it answers)".to_owned()),
        }
        let program = command
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .trim_matches(['\'', '"']);
        if Path::new(program).is_absolute() && !Path::new(program).exists() {
            problems.push(format!("{} does not exist", inert(program)));
        }
    }
    parts.dedup();
    let events = found.events.join(", ");
    if problems.is_empty() {
        (true, format!("installed ({events}), {}", parts.join("; ")))
    } else {
        (
            false,
            format!(
                "installed ({events}) but {}: reinstall with `airlock install`",
                problems.join("; ")
            ),
        )
    }
}

/// The `--timeout` of a hook command, else the default.
fn hook_deadline(command: &str) -> u64 {
    let mut words = command.split_whitespace();
    while let Some(w) = words.next() {
        if let Some(v) = w.strip_prefix("--timeout=") {
            return v.parse().unwrap_or(DEFAULT_DEADLINE);
        }
        if w == "--timeout" {
            return words
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(DEFAULT_DEADLINE);
        }
    }
    DEFAULT_DEADLINE
}
