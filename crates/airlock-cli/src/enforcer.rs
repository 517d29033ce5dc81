//! `airlock enforcer`: the interactive test enforcer. A setup wizard, then a menu that follows
//! the state (signed out → signed in → paired), over the same library calls as the scripted
//! commands. Line-based (numbered choices, Enter to confirm), so it works in any terminal,
//! through `ssh`, and under test in a pseudo-terminal.

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use airlock::gateway::{
    AwaitOptions, DecisionOutcome, GatewayClient, HeartbeatHandle, HeartbeatOptions, Pairing,
    PendingExchange, SubmitOptions,
};
use airlock_sandbox::{Sandbox, SandboxConfig};
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines, Stdin};
use tokio::time::Instant;

use crate::account::{self, Login};
use crate::connect::{ConnArgs, Context, host_name};
use crate::exit::{CliError, chain};
use crate::state::{Config, Credentials, StateDir};

/// How long the interactive pairing waits for the approver.
const PAIRING_TIMEOUT: Duration = Duration::from_secs(600);
/// The default time an artifact waits for its decision.
const DEFAULT_DECISION_TIMEOUT: u64 = 120;

/// Lines typed by the user.
struct Input {
    lines: Lines<BufReader<Stdin>>,
}

impl Input {
    fn new() -> Self {
        Self {
            lines: BufReader::new(tokio::io::stdin()).lines(),
        }
    }

    /// The next line, trimmed; `None` at end of input.
    async fn line(&mut self) -> Option<String> {
        match self.lines.next_line().await {
            Ok(Some(line)) => Some(line.trim().to_owned()),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the terminal");
                None
            }
        }
    }

    /// Asks `question`; an empty answer takes `default` (when there is one).
    async fn ask(&mut self, question: &str, default: Option<&str>) -> Result<String, Quit> {
        loop {
            match default {
                Some(d) if !d.is_empty() => print!("{question} [{d}]: "),
                _ => print!("{question}: "),
            }
            flush();
            let answer = self.line().await.ok_or(Quit)?;
            if !answer.is_empty() {
                return Ok(answer);
            }
            if let Some(d) = default {
                return Ok(d.to_owned());
            }
        }
    }

    /// A numbered menu; returns the index of the choice.
    async fn choose(&mut self, title: &str, options: &[&str]) -> Result<usize, Quit> {
        println!();
        println!("{title}");
        for (i, option) in options.iter().enumerate() {
            println!("  {}) {option}", i + 1);
        }
        loop {
            print!("Choose 1-{}: ", options.len());
            flush();
            let answer = self.line().await.ok_or(Quit)?;
            match answer.parse::<usize>() {
                Ok(n) if (1..=options.len()).contains(&n) => return Ok(n - 1),
                _ => println!("Please type a number between 1 and {}.", options.len()),
            }
        }
    }

    /// Yes or no, `default` on an empty answer.
    async fn confirm(&mut self, question: &str, default: bool) -> Result<bool, Quit> {
        let hint = if default { "Y/n" } else { "y/N" };
        loop {
            print!("{question} [{hint}]: ");
            flush();
            let answer = self.line().await.ok_or(Quit)?.to_ascii_lowercase();
            match answer.as_str() {
                "" => return Ok(default),
                "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => println!("Please answer y or n."),
            }
        }
    }
}

/// The user closed the input (Ctrl-D) or chose Exit.
#[derive(Debug)]
struct Quit;

fn flush() {
    let _ = std::io::stdout().flush();
}

/// The state of the interactive session.
struct Session {
    ctx: Context,
    /// The in-process sandbox, when chosen in the wizard (its state lives in a scratch
    /// directory, removed at exit).
    sandbox: Option<Sandbox>,
    heartbeat: Option<HeartbeatHandle>,
    last_request: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("ctx", &self.ctx)
            .field("sandbox", &self.sandbox.is_some())
            .field("last_request", &self.last_request)
            .finish_non_exhaustive()
    }
}

/// The scratch state directory of a sandbox session.
fn sandbox_state(root: &StateDir) -> StateDir {
    StateDir::at(root.root().join("sandbox-session"))
}

/// Runs the interactive enforcer until Exit or end of input.
pub(crate) async fn run(args: ConnArgs) -> Result<(), CliError> {
    let mut input = Input::new();
    println!("Airlock test enforcer");
    let ctx = Context::resolve(&args)?;
    let configured = ctx.client_id.is_some() && ctx.client_secret.is_some();
    let mut session = Session {
        ctx,
        sandbox: None,
        heartbeat: None,
        last_request: None,
    };
    if !configured {
        println!("No gateway is configured yet.");
        if setup(&mut session, &args, &mut input).await.is_err() {
            return finish(session).await;
        }
    }
    let result = menu_loop(&mut session, &args, &mut input).await;
    finish(session).await?;
    match result {
        Ok(()) | Err(Outcome::Quit) => Ok(()),
        Err(Outcome::Error(e)) => Err(e),
    }
}

async fn finish(mut session: Session) -> Result<(), CliError> {
    session.heartbeat = None;
    if let Some(sandbox) = session.sandbox.take() {
        sandbox.shutdown().await;
        let scratch = session.ctx.state.root().to_owned();
        let _ = std::fs::remove_dir_all(scratch);
    }
    println!("Bye.");
    Ok(())
}

/// Why the menu loop ended.
enum Outcome {
    Quit,
    Error(CliError),
}

impl From<Quit> for Outcome {
    fn from(_: Quit) -> Self {
        Self::Quit
    }
}

/// The setup wizard: the local sandbox, or a gateway with app credentials.
async fn setup(session: &mut Session, args: &ConnArgs, input: &mut Input) -> Result<(), Quit> {
    let choice = input
        .choose(
            "Where is the gateway?",
            &[
                "A local sandbox, started now (no account needed)",
                "An Airlock gateway (URL and app credentials)",
            ],
        )
        .await?;
    let enforcer_default = session.ctx.enforcer_id.clone();
    let workspace_default = session.ctx.workspace.clone();
    if choice == 0 {
        let sandbox = match Sandbox::start(SandboxConfig::default()).await {
            Ok(s) => s,
            Err(e) => {
                println!("✗ cannot start the sandbox: {}", chain(&e));
                return Err(Quit);
            }
        };
        let state = sandbox_state(&session.ctx.state);
        let _ = std::fs::remove_dir_all(state.root());
        let mut ctx = Context::resolve(args).map_err(|_| Quit)?;
        ctx.state = state;
        ctx.config = Config::default();
        ctx.gateway_url = sandbox.gateway_url().to_owned();
        ctx.client_id = Some(sandbox.client_id().to_owned());
        ctx.client_secret = Some(zeroize::Zeroizing::new(sandbox.client_secret().to_owned()));
        println!("✓ sandbox running at {}", sandbox.gateway_url());
        println!("  its personal access token: {}", sandbox.pat());
        println!("  (the sandbox and this session's state go away when you exit)");
        session.ctx = ctx;
        session.sandbox = Some(sandbox);
        save_settings(session, enforcer_default, workspace_default);
        return Ok(());
    }
    let gateway = input
        .ask("Gateway URL", Some(&session.ctx.gateway_url.clone()))
        .await?;
    let client_id = input
        .ask("App client id", session.ctx.client_id.clone().as_deref())
        .await?;
    let client_secret = input.ask("App client secret", None).await?;
    let enforcer_id = input.ask("Enforcer id", Some(&enforcer_default)).await?;
    let workspace = input.ask("Workspace name", Some(&workspace_default)).await?;
    session.ctx.gateway_url = gateway;
    session.ctx.client_id = Some(client_id);
    session.ctx.client_secret = Some(zeroize::Zeroizing::new(client_secret));
    save_settings(session, enforcer_id, workspace);
    Ok(())
}

/// Stores the connection settings (owner-only, atomic) in the session's state directory.
fn save_settings(session: &mut Session, enforcer_id: String, workspace: String) {
    let ctx = &mut session.ctx;
    ctx.enforcer_id = enforcer_id;
    ctx.workspace = workspace;
    let mut config = ctx.state.config().unwrap_or_default();
    config.gateway_url = Some(ctx.gateway_url.clone());
    config.client_id.clone_from(&ctx.client_id);
    config.enforcer_id = Some(ctx.enforcer_id.clone());
    config.workspace_name = Some(ctx.workspace.clone());
    let saved = ctx.state.save_config(&config).and_then(|()| {
        let mut credentials: Credentials = ctx.state.credentials().unwrap_or_default();
        credentials.client_secret.clone_from(&ctx.client_secret);
        ctx.state.save_credentials(&credentials)
    });
    match saved {
        Ok(()) => {
            ctx.config = config;
            println!("✓ configuration saved in {}", ctx.state.root().display());
        }
        Err(e) => println!("✗ {e}"),
    }
}

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    SignedOut,
    SignedIn,
    Paired,
}

async fn stage(ctx: &Context) -> Result<Stage, CliError> {
    if ctx.identity().await?.is_none() {
        return Ok(Stage::SignedOut);
    }
    Ok(if ctx.state.pairing()?.is_some() {
        Stage::Paired
    } else {
        Stage::SignedIn
    })
}

/// Prints a failure of one action; the session goes on.
fn report(result: Result<(), CliError>) {
    if let Err(e) = result {
        println!("✗ {e}");
    }
}

async fn menu_loop(session: &mut Session, args: &ConnArgs, input: &mut Input) -> Result<(), Outcome> {
    // Session restore: say what was found, start the heartbeat when paired.
    match stage(&session.ctx).await.map_err(Outcome::Error)? {
        Stage::SignedOut => println!("Not signed in."),
        s => {
            let method = session.ctx.identity().await.map_err(Outcome::Error)?.map(|i| i.method().as_str());
            println!("✓ session restored (signed in with {})", method.unwrap_or("?"));
            if s == Stage::Paired {
                start_heartbeat(session).await;
            }
        }
    }
    loop {
        let current = stage(&session.ctx).await.map_err(Outcome::Error)?;
        match current {
            Stage::SignedOut => {
                let choice = input
                    .choose(
                        "Not signed in",
                        &[
                            "Set a personal access token (recommended)",
                            "Sign in with your browser (device grant)",
                            "Reconfigure",
                            "Exit",
                        ],
                    )
                    .await?;
                match choice {
                    0 => {
                        let pat = input.ask("Personal access token", None).await?;
                        let result = account::login(&mut session.ctx, Login::Pat(zeroize::Zeroizing::new(pat))).await;
                        report(result);
                    }
                    1 => {
                        let result = account::login(
                            &mut session.ctx,
                            Login::Device {
                                issuer: None,
                                scopes: Vec::new(),
                            },
                        )
                        .await;
                        report(result);
                    }
                    2 => {
                        session.heartbeat = None;
                        if let Some(sandbox) = session.sandbox.take() {
                            sandbox.shutdown().await;
                        }
                        session.ctx = Context::resolve(args).map_err(Outcome::Error)?;
                        setup(session, args, input).await?;
                    }
                    _ => return Err(Outcome::Quit),
                }
            }
            Stage::SignedIn => {
                let choice = input
                    .choose(
                        "Signed in, not paired",
                        &[
                            "Pair with a new code",
                            "Pair with a code from the Airlock app",
                            "Status",
                            "Sign out",
                            "Exit",
                        ],
                    )
                    .await?;
                match choice {
                    0 => pair(session, input, None).await?,
                    1 => {
                        let code = input.ask("Pairing code from the app", None).await?;
                        pair(session, input, Some(code)).await?;
                    }
                    2 => status(session).await,
                    3 => report(account::logout(&mut session.ctx).await),
                    _ => return Err(Outcome::Quit),
                }
            }
            Stage::Paired => {
                let choice = input
                    .choose(
                        "Paired",
                        &[
                            "Submit an artifact",
                            "Withdraw a request",
                            "Unpair",
                            "Status",
                            "Sign out",
                            "Exit",
                        ],
                    )
                    .await?;
                match choice {
                    0 => submit(session, input).await?,
                    1 => withdraw(session, input).await?,
                    2 => {
                        session.heartbeat = None;
                        report(account::unpair(&session.ctx).await);
                    }
                    3 => status(session).await,
                    4 => {
                        session.heartbeat = None;
                        report(account::logout(&mut session.ctx).await);
                    }
                    _ => return Err(Outcome::Quit),
                }
            }
        }
    }
}

async fn client(session: &Session) -> Result<GatewayClient, CliError> {
    session.ctx.signed_in_client().await
}

async fn start_heartbeat(session: &mut Session) {
    let Ok(pairing) = session.ctx.require_pairing() else {
        return;
    };
    match client(session).await.map_err(|e| e.message).and_then(|c| {
        c.spawn_heartbeat(
            pairing.enforcer_id(),
            HeartbeatOptions::new()
                .workspace_name(session.ctx.workspace.clone())
                .enforcer_label(format!("airlock enforcer on {}", host_name())),
        )
        .map_err(|e| chain(&e))
    }) {
        Ok(handle) => {
            println!("✓ heartbeat running (every 30 s)");
            session.heartbeat = Some(handle);
        }
        Err(e) => println!("✗ heartbeat not started: {e}"),
    }
}

async fn check_consent(session: &Session) {
    let Ok(c) = client(session).await else { return };
    match c.check_consent().await {
        Ok(s) if s.status.is_allowed() => println!("✓ consent: the app may act for you"),
        Ok(s) => println!("! consent is {:?}{}", s.status, s.consent_url.map(|u| format!(": open {u}")).unwrap_or_default()),
        Err(e) if e.consent().is_some() => {
            let url = e.consent().and_then(|c| c.consent_url.clone()).unwrap_or_default();
            println!("! this app needs your consent before it can submit: open {url}");
            println!("  then come back and pair");
        }
        Err(e) => println!("! cannot check consent: {}", chain(&e)),
    }
}

async fn pair(session: &mut Session, input: &mut Input, code: Option<String>) -> Result<(), Outcome> {
    check_consent(session).await;
    println!("Pairing; waiting for the approver (up to {} min)...", PAIRING_TIMEOUT.as_secs() / 60);
    let pairing: Pairing = match account::pair(&session.ctx, code, PAIRING_TIMEOUT).await {
        Ok(p) => p,
        Err(e) => {
            println!("✗ {e}");
            return Ok(());
        }
    };
    println!("The approver's signing key fingerprint is {}", pairing.fingerprint());
    if !input.confirm("Does the Airlock app show the same fingerprint?", true).await? {
        println!("Not trusted: revoking this pairing.");
        if let Ok(c) = client(session).await {
            if let Err(e) = c.unpair(&pairing).await {
                println!("✗ revoking failed: {}", chain(&e));
            }
        }
        return Ok(());
    }
    match account::save_pairing(&session.ctx, &pairing) {
        Ok(()) => {
            println!("✓ paired with signer {}", pairing.signer_key_id());
            start_heartbeat(session).await;
        }
        Err(e) => println!("✗ {e}"),
    }
    Ok(())
}

/// Shows a spinner with the elapsed time (on a terminal) until `until` resolves (`Ok`) or
/// Enter is pressed (`Err(())`).
async fn wait_with_spinner<F: std::future::Future>(input: &mut Input, until: F) -> Result<Result<F::Output, ()>, Quit> {
    let started = Instant::now();
    let animate = std::io::stdout().is_terminal();
    let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tokio::pin!(until);
    let mut frame = 0usize;
    println!("Waiting for the decision; press Enter to withdraw.");
    loop {
        tokio::select! {
            out = &mut until => {
                if animate { print!("\r\x1b[2K"); flush(); }
                return Ok(Ok(out));
            }
            line = input.line() => {
                if animate { print!("\r\x1b[2K"); flush(); }
                return match line { Some(_) => Ok(Err(())), None => Err(Quit) };
            }
            _ = tick.tick() => {
                if animate {
                    frame = (frame + 1) % frames.len();
                    print!("\r{} waiting for the approver... {}s", frames[frame], started.elapsed().as_secs());
                    flush();
                }
            }
        }
    }
}

async fn submit(session: &mut Session, input: &mut Input) -> Result<(), Outcome> {
    let command = input.ask("Command to approve", Some("echo hello")).await?;
    let timeout = input
        .ask("Seconds to wait for the decision", Some(&DEFAULT_DECISION_TIMEOUT.to_string()))
        .await?
        .parse::<u64>()
        .unwrap_or(DEFAULT_DECISION_TIMEOUT)
        .clamp(1, 86_400);
    let timeout = Duration::from_secs(timeout);
    let (c, pairing) = match (client(session).await, session.ctx.require_pairing()) {
        (Ok(c), Ok(p)) => (c, p),
        (Err(e), _) | (_, Err(e)) => {
            println!("✗ {e}");
            return Ok(());
        }
    };
    let artifact = json!({
        "actionType": "command",
        "commandText": command,
        "workspace": session.ctx.workspace,
        "cwd": std::env::current_dir().ok().map(|d| d.display().to_string()),
        "host": host_name(),
        "source": "airlock enforcer",
    });
    let options = SubmitOptions::new()
        .metadata("workspaceName", session.ctx.workspace.clone())
        .expires_in(timeout);
    let pending: PendingExchange = match c.encrypt_and_submit(&pairing, &artifact, options).await {
        Ok(p) => p,
        Err(e) => {
            println!("✗ submitting failed: {}", chain(&e));
            return Ok(());
        }
    };
    println!("✓ submitted {} (hash {})", pending.request_id(), pending.artifact_hash());
    session.last_request = Some(pending.request_id().to_owned());
    // Withdrawn automatically at the deadline.
    let options = AwaitOptions::new(timeout).withdraw_on_timeout(true);
    let waited = wait_with_spinner(input, c.await_decision(&pending, options)).await?;
    let outcome = match waited {
        Ok(outcome) => outcome,
        Err(()) => {
            match c.withdraw_exchange(pending.request_id()).await {
                Ok(_) => println!("✓ withdrawn"),
                Err(e) => println!("✗ withdrawing failed: {}", chain(&e)),
            }
            return Ok(());
        }
    };
    match outcome {
        Ok(DecisionOutcome::Approved(d)) | Ok(DecisionOutcome::Rejected(d)) => {
            let verdict = if d.is_approved() { "APPROVED" } else { "REJECTED" };
            println!("✓ {verdict} — signature verified");
            println!("  signer  {} ({})", d.signer_key_id, pairing.fingerprint());
            println!("  reason  {}", d.reason.as_deref().unwrap_or("(none)"));
        }
        Ok(DecisionOutcome::Expired) => println!("✗ expired without a decision"),
        Ok(DecisionOutcome::Withdrawn) => println!("✗ withdrawn"),
        Ok(other) => println!("✗ {other:?}"),
        Err(e) if e.is_timeout() => println!("✗ no decision in {}s: withdrawn", timeout.as_secs()),
        Err(e) if e.is_verification() => println!("✗ BLOCKED — the decision failed verification: {}", chain(&e)),
        Err(e) => println!("✗ {}", chain(&e)),
    }
    Ok(())
}

async fn withdraw(session: &mut Session, input: &mut Input) -> Result<(), Outcome> {
    let id = input.ask("Request id", session.last_request.clone().as_deref()).await?;
    match client(session).await {
        Ok(c) => match c.withdraw_exchange(&id).await {
            Ok(_) => println!("✓ withdrawn {id}"),
            Err(e) if e.is_conflict() => println!("✗ {id} is already decided, expired or withdrawn"),
            Err(e) => println!("✗ {}", chain(&e)),
        },
        Err(e) => println!("✗ {e}"),
    }
    Ok(())
}

async fn status(session: &Session) {
    let ctx = &session.ctx;
    let identity = ctx.identity().await.ok().flatten();
    let pairing = ctx.state.pairing().ok().flatten();
    let rows: Vec<(&str, String)> = vec![
        ("gateway", ctx.gateway_url.clone()),
        ("client id", ctx.client_id.clone().unwrap_or_else(|| "(not set)".into())),
        ("enforcer id", ctx.enforcer_id.clone()),
        ("workspace", ctx.workspace.clone()),
        ("signed in", identity.map_or_else(|| "no".into(), |i| format!("yes ({})", i.method().as_str()))),
        (
            "paired",
            pairing.map_or_else(|| "no".into(), |p| format!("yes ({}, {})", p.signer_key_id(), p.fingerprint())),
        ),
        (
            "heartbeat",
            session.heartbeat.as_ref().map_or_else(
                || "off".into(),
                |h| {
                    let s = h.status();
                    match (&s.last_error, s.last_success) {
                        (Some(e), _) => format!("failing: {e}"),
                        (None, Some(t)) => format!("{} sent, last {t}", s.sent),
                        (None, None) => "starting".into(),
                    }
                },
            ),
        ),
        ("last request", session.last_request.clone().unwrap_or_else(|| "-".into())),
        ("config dir", ctx.state.root().display().to_string()),
    ];
    println!();
    for (k, v) in rows {
        println!("  {k:<13} {v}");
    }
}
