//! `airlock enforcer`: the interactive test enforcer. It walks a person through the whole
//! enforcer lifecycle with the SDK: setup (a gateway, or an embedded sandbox), sign-in (PAT
//! or the device grant), consent, pairing with the approver's fingerprint to confirm, the
//! presence heartbeat, submitting an artifact and waiting for its verified decision,
//! withdrawing, unpairing and signing out.
//!
//! The configuration and the session live in the config directory (`state.rs`: owner-only,
//! atomic writes) and are restored on the next start: a stored PAT first, else the OAuth
//! session, refreshed. Sign-in, the consent check, starting a pairing, sign-out, unpair and
//! the status table are the same code as `airlock login`, `pair`, `logout`, `unpair` and
//! `status` (`account.rs`), and say the same things, through the enforcer's terminal.
//!
//! The terminal sits behind [`term::Terminal`], so the menu logic is tested with a script;
//! the binary itself is tested end to end in a pseudo-terminal (`tests/enforcer.rs`).

mod menu;
mod report;
mod term;
mod wizard;

use std::time::{Duration, Instant};

use airlock::gateway::{
    AwaitOptions, GatewayClient, HeartbeatHandle, HeartbeatOptions, HeartbeatStop, Pairing,
    PendingExchange, SubmitOptions,
};
use airlock_sandbox::{ApproverPolicy, Sandbox, SandboxConfig};
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use self::menu::{Action, Snapshot};
use self::term::{EndOfInput, StdTerminal, Terminal};
use self::wizard::{Setup, Target};
use crate::account::{self, Login};
use crate::connect::{ConnArgs, Context, Identity, host_name};
use crate::exit::{CliError, Exit, chain};
use crate::signals::Interrupt;
use crate::state::StateDir;

/// The enforcer's own settings file in the config directory (next to `config.json`).
const SETTINGS_FILE: &str = "enforcer.json";

/// How much longer than the wait for its decision an artifact lives.
const EXPIRY_GRACE: Duration = Duration::from_secs(10);

/// How long a pairing code is waited for at most.
const MAX_PAIRING_WAIT: Duration = Duration::from_secs(30 * 60);

/// Settings of the interactive enforcer that `config.json` does not hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    /// Start an embedded sandbox on every start (its URL and credentials change each time).
    #[serde(default)]
    embedded_sandbox: bool,
}

impl Settings {
    fn load(state: &StateDir) -> Result<Self, CliError> {
        let path = state.root().join(SETTINGS_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                CliError::new(
                    Exit::Failure,
                    format!("{} is not valid: {e} (fix or delete it)", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(CliError::new(
                Exit::Failure,
                format!("cannot read {}: {e}", path.display()),
            )),
        }
    }

    fn save(&self, state: &StateDir) -> Result<(), CliError> {
        let path = state.root().join(SETTINGS_FILE);
        let json = serde_json::to_vec_pretty(self).map_err(|e| {
            CliError::new(
                Exit::Failure,
                format!("cannot encode {}: {e}", path.display()),
            )
        })?;
        airlock::crypto::fs::atomic_write(&path, &json).map_err(|e| {
            CliError::new(
                Exit::Failure,
                format!("cannot write {}: {e}", path.display()),
            )
        })
    }
}

/// Runs the interactive enforcer on this process's terminal until the user exits (or the
/// input ends). Ctrl-C or SIGTERM, at a menu or while waiting, ends it with 130 (after
/// withdrawing the request being waited for).
pub(crate) async fn run() -> Result<(), CliError> {
    let mut term = StdTerminal::new();
    let mut app = App::new(StateDir::locate()?)?;
    let mut interrupt = Interrupt::install();
    let result = tokio::select! {
        result = app.main(&mut term) => result,
        signal = interrupt.wait() => Err(Stop::Interrupted(signal)),
    };
    if let Err(Stop::Interrupted(signal)) = result {
        term.print("");
        term.print(&format!("Interrupted ({signal})."));
        app.withdraw_in_flight(&mut term).await;
    }
    app.close().await;
    match result {
        Ok(()) | Err(Stop::EndOfInput) => Ok(()),
        // Said above already: the exit code is all that is left.
        Err(Stop::Interrupted(_)) => Err(CliError::silent(Exit::Interrupted)),
        Err(Stop::Fatal(e)) => Err(e),
    }
}

/// Why the main loop ended early.
#[derive(Debug)]
enum Stop {
    EndOfInput,
    /// Ctrl-C or SIGTERM: the request being waited for is withdrawn, then the enforcer exits.
    Interrupted(&'static str),
    Fatal(CliError),
}

impl From<EndOfInput> for Stop {
    fn from(_: EndOfInput) -> Self {
        Self::EndOfInput
    }
}

/// An action's result: `Err(EndOfInput)` ends the enforcer; a `CliError` is shown and the
/// menu comes back.
type Step = Result<Result<(), CliError>, EndOfInput>;

/// The interactive enforcer's state in this process.
#[derive(Debug)]
struct App {
    state: StateDir,
    settings: Settings,
    sandbox: Option<Sandbox>,
    heartbeat: Option<HeartbeatHandle>,
    revocation_reported: bool,
    /// The last request the user stopped waiting for.
    pending: Option<PendingExchange>,
    /// The request whose decision is being waited for right now.
    waiting: Option<PendingExchange>,
}

/// No flags: everything comes from the stored configuration.
fn stored_only() -> ConnArgs {
    ConnArgs {
        gateway_url: None,
        client_id: None,
        client_secret: None,
        enforcer_id: None,
        workspace: None,
    }
}

fn label() -> String {
    format!("airlock test enforcer on {}", host_name())
}

impl App {
    fn new(state: StateDir) -> Result<Self, CliError> {
        let settings = Settings::load(&state)?;
        Ok(Self {
            state,
            settings,
            sandbox: None,
            heartbeat: None,
            revocation_reported: false,
            pending: None,
            waiting: None,
        })
    }

    fn context(&self) -> Result<Context, CliError> {
        Context::resolve(&stored_only())
    }

    /// The stored context and a client signed in as the stored user.
    async fn client(&self) -> Result<(Context, GatewayClient), CliError> {
        let ctx = self.context()?;
        let client = ctx.signed_in_client().await?;
        Ok((ctx, client))
    }

    async fn main(&mut self, term: &mut impl Terminal) -> Result<(), Stop> {
        term.print("Airlock test enforcer");
        term.print(&format!("Configuration: {}", self.state.root().display()));
        if self.settings.embedded_sandbox {
            self.start_sandbox(term).await.map_err(Stop::Fatal)?;
        } else if !self.configured()? {
            term.print("No configuration yet: let's set one up.");
            let ctx = self.context().map_err(Stop::Fatal)?;
            loop {
                let setup = wizard::ask(term, &current_values(&ctx)).await?;
                match self.apply(term, setup).await {
                    Ok(()) => break,
                    Err(e) => term.print(&format!("Error: {e}")),
                }
            }
        }
        self.restore(term).await;
        loop {
            self.report_heartbeat(term);
            let snapshot = self.snapshot().await.map_err(Stop::Fatal)?;
            let action = menu::choose(term, &snapshot).await?;
            if action == Action::Exit {
                term.print("Bye.");
                return Ok(());
            }
            if let Err(e) = self.perform(term, action).await? {
                term.print(&format!("Error: {e}"));
            }
        }
    }

    /// Whether a gateway and the app credentials are stored.
    fn configured(&self) -> Result<bool, Stop> {
        let config = self.state.config().map_err(Stop::Fatal)?;
        let credentials = self.state.credentials().map_err(Stop::Fatal)?;
        Ok(config.gateway_url.is_some()
            && config.client_id.is_some()
            && credentials.client_secret.is_some())
    }

    async fn snapshot(&self) -> Result<Snapshot, CliError> {
        let ctx = self.context()?;
        Ok(Snapshot {
            signed_in: ctx.identity().await?.as_ref().map(Identity::method),
            paired: ctx.state.pairing()?.is_some(),
            sandbox_policy: self.sandbox.as_ref().map(|s| s.approver().policy()),
        })
    }

    async fn perform(&mut self, term: &mut impl Terminal, action: Action) -> Step {
        if let Some((question, kept)) = action.confirmation()
            && !term.confirm(question, false).await?
        {
            term.print(kept);
            return Ok(Ok(()));
        }
        match action {
            Action::SetPat => self.set_pat(term).await,
            Action::DeviceLogin => {
                let how = Login::Device {
                    issuer: None,
                    scopes: Vec::new(),
                };
                Ok(self.signed_in(term, how).await)
            }
            Action::Reconfigure => self.reconfigure(term).await,
            Action::PairNew => self.pair(term, false).await,
            Action::PairWithCode => self.pair(term, true).await,
            Action::Submit => self.submit(term).await,
            Action::Withdraw => self.withdraw(term).await,
            Action::Unpair => Ok(self.unpair(term).await),
            Action::Status => Ok(self.status(term).await),
            Action::SandboxPolicy => self.sandbox_policy(term).await,
            Action::SignOut => Ok(self.sign_out(term).await),
            Action::Exit => Ok(Ok(())),
        }
    }

    // ---- setup --------------------------------------------------------------------------

    async fn reconfigure(&mut self, term: &mut impl Terminal) -> Step {
        let ctx = match self.context() {
            Ok(ctx) => ctx,
            Err(e) => return Ok(Err(e)),
        };
        let mut current = current_values(&ctx);
        current.embedded_sandbox = self.settings.embedded_sandbox;
        let setup = wizard::ask(term, &current).await?;
        Ok(self.apply(term, setup).await)
    }

    /// Saves the wizard's answers; a new gateway or app forgets the identity and pairing of
    /// the old one.
    async fn apply(&mut self, term: &mut impl Terminal, setup: Setup) -> Result<(), CliError> {
        let Setup {
            target,
            enforcer_id,
            workspace,
        } = setup;
        let mut config = self.state.config()?;
        config.enforcer_id = Some(enforcer_id);
        // A name other than the current directory's pins the workspace (as `airlock config
        // set workspace` does); the directory's own name leaves it following the directory.
        config.workspace =
            (crate::connect::current_dir_name().as_ref() != Some(&workspace)).then_some(workspace);
        self.state.save_config(&config)?;
        match target {
            Target::EmbeddedSandbox => {
                self.settings.embedded_sandbox = true;
                self.settings.save(&self.state)?;
                self.start_sandbox(term).await
            }
            Target::Gateway {
                url,
                client_id,
                client_secret,
            } => {
                self.stop_sandbox().await;
                self.settings.embedded_sandbox = false;
                self.settings.save(&self.state)?;
                self.connect_to(term, url, client_id, client_secret)
            }
        }
    }

    /// Stores the gateway and app credentials; forgets what belonged to another gateway.
    fn connect_to(
        &mut self,
        term: &mut impl Terminal,
        url: String,
        client_id: String,
        client_secret: Option<Zeroizing<String>>,
    ) -> Result<(), CliError> {
        let mut config = self.state.config()?;
        let changed = config.gateway_url.as_deref() != Some(url.as_str())
            || config.client_id.as_deref() != Some(client_id.as_str());
        config.gateway_url = Some(url);
        config.client_id = Some(client_id);
        let mut credentials = self.state.credentials()?;
        if let Some(secret) = client_secret {
            credentials.client_secret = Some(secret);
        }
        if changed {
            let had_identity =
                credentials.pat.take().is_some() || self.state.tokens_path().exists();
            let had_pairing = self.state.pairing_path().exists();
            config.issuer_url = None;
            config.oauth_client_id = None;
            config.oauth_confidential = false;
            self.state.remove(&self.state.tokens_path())?;
            self.state.remove(&self.state.pairing_path())?;
            self.heartbeat = None;
            self.pending = None;
            if had_identity || had_pairing {
                term.print("The gateway changed: the sign-in and pairing of the previous one were cleared.");
            }
        }
        self.state.save_credentials(&credentials)?;
        self.state.save_config(&config)?;
        term.print(&format!(
            "Saved the configuration in {}.",
            self.state.root().display()
        ));
        Ok(())
    }

    /// Starts the embedded sandbox (unless it runs already) and points the configuration at it.
    async fn start_sandbox(&mut self, term: &mut impl Terminal) -> Result<(), CliError> {
        if self.sandbox.is_none() {
            let sandbox = Sandbox::start(SandboxConfig::default())
                .await
                .map_err(|e| {
                    CliError::new(
                        Exit::Failure,
                        format!("cannot start the embedded sandbox: {}", chain(&e)),
                    )
                })?;
            term.print(&format!(
                "Embedded sandbox running at {}",
                sandbox.gateway_url()
            ));
            term.print("  It starts fresh on every run: sign in and pair again after a restart.");
            term.print(&format!(
                "  Its approver ({}) completes pairings by itself and decides by policy (now: {}).",
                sandbox.info().approver_id,
                sandbox.approver().policy().as_str()
            ));
            self.sandbox = Some(sandbox);
        }
        let Some(sandbox) = &self.sandbox else {
            return Ok(());
        };
        let (url, client_id) = (
            sandbox.gateway_url().to_owned(),
            sandbox.client_id().to_owned(),
        );
        let secret = Zeroizing::new(sandbox.client_secret().to_owned());
        self.connect_to(term, url, client_id, Some(secret))
    }

    async fn stop_sandbox(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            self.heartbeat = None;
            self.pending = None;
            sandbox.shutdown().await;
        }
    }

    async fn sandbox_policy(&mut self, term: &mut impl Terminal) -> Step {
        let Some(sandbox) = &self.sandbox else {
            return Ok(Ok(()));
        };
        let policies = [
            ApproverPolicy::Approve,
            ApproverPolicy::Reject,
            ApproverPolicy::Manual,
        ];
        let labels = [
            "approve: approve every artifact whose hash checks out".to_owned(),
            "reject: reject every artifact".to_owned(),
            "manual: decide nothing (requests wait until withdrawn or expired)".to_owned(),
        ];
        let index = term.select("Sandbox approver policy", &labels).await?;
        sandbox.approver().set_policy(policies[index]);
        term.print(&format!(
            "The sandbox approver's policy is now {}.",
            policies[index].as_str()
        ));
        Ok(Ok(()))
    }

    async fn close(&mut self) {
        self.heartbeat = None;
        self.stop_sandbox().await;
    }

    // ---- session ------------------------------------------------------------------------

    /// Restores the stored session: a PAT first, else the OAuth session (refreshed now);
    /// then checks consent and resumes the heartbeat when paired.
    async fn restore(&mut self, term: &mut impl Terminal) {
        let ctx = match self.context() {
            Ok(ctx) => ctx,
            Err(e) => return term.print(&format!("Error: {e}")),
        };
        let identity = match ctx.identity().await {
            Ok(identity) => identity,
            Err(e) => return term.print(&format!("Error: {e}")),
        };
        match identity {
            None => {
                term.print("Not signed in.");
                return;
            }
            Some(Identity::Pat(_)) => term.print("Restored the session: personal access token."),
            Some(Identity::OAuth(session)) => match session.refresh().await {
                Ok(_) => term.print("Restored the OAuth session (tokens refreshed)."),
                Err(e) if e.requires_sign_in() => {
                    term.print(&format!("The OAuth session has ended ({}): sign in again.", chain(&e)));
                    return;
                }
                Err(e) => term.print(&format!(
                    "Restored the OAuth session, but refreshing it failed ({}); it is retried when needed.",
                    chain(&e)
                )),
            },
        }
        let client = match ctx.signed_in_client().await {
            Ok(client) => client,
            Err(e) => return term.print(&format!("Error: {e}")),
        };
        if let Err(e) = account::check_identity(&client, term).await {
            term.print(&format!("Error: {e}"));
        }
        match ctx.state.pairing() {
            Ok(Some(pairing)) => {
                term.print(&format!(
                    "Paired with signer {} (fingerprint {}).",
                    pairing.signer_key_id(),
                    pairing.fingerprint()
                ));
                self.start_heartbeat(term, &client, &pairing, &ctx);
            }
            Ok(None) => term.print("Not paired."),
            Err(e) => term.print(&format!("Error: {e}")),
        }
    }

    async fn set_pat(&mut self, term: &mut impl Terminal) -> Step {
        let sandbox_pat = self
            .sandbox
            .as_ref()
            .map(|s| Zeroizing::new(s.pat().to_owned()));
        let hint = sandbox_pat
            .as_ref()
            .map(|_| "Enter uses the embedded sandbox's token");
        let typed = term
            .secret("Personal access token (airpat_...)", hint)
            .await?;
        let Some(pat) = typed.or(sandbox_pat) else {
            return Ok(Ok(()));
        };
        Ok(self.signed_in(term, Login::Pat(pat)).await)
    }

    /// Signs in as `airlock login` does, then resumes the heartbeat when paired.
    async fn signed_in(&mut self, term: &mut impl Terminal, how: Login) -> Result<(), CliError> {
        account::login(self.context()?, how, term).await?;
        self.resume_heartbeat(term).await;
        Ok(())
    }

    /// Starts the heartbeat when signed in and paired (after a sign-in).
    async fn resume_heartbeat(&mut self, term: &mut impl Terminal) {
        let Ok(ctx) = self.context() else { return };
        let (Ok(client), Ok(Some(pairing))) = (ctx.signed_in_client().await, ctx.state.pairing())
        else {
            return;
        };
        self.start_heartbeat(term, &client, &pairing, &ctx);
    }

    async fn sign_out(&mut self, term: &mut impl Terminal) -> Result<(), CliError> {
        self.heartbeat = None;
        self.pending = None;
        account::logout(self.context()?, term).await
    }

    // ---- pairing ------------------------------------------------------------------------

    async fn pair(&mut self, term: &mut impl Terminal, claim: bool) -> Step {
        let (ctx, client) = match self.client().await {
            Ok(signed_in) => signed_in,
            Err(e) => return Ok(Err(e)),
        };
        let code = if claim {
            let prompt = "Pairing code shown by the Airlock app";
            Some(term.prompt(prompt, None).await?)
        } else {
            None
        };
        let session = match account::start_pairing(&ctx, &client, code, label(), term).await {
            Ok(session) => session,
            Err(e) => {
                return Ok(explain(
                    term,
                    report::gateway_error("Cannot start pairing", &e),
                ));
            }
        };
        let remaining =
            session.expires_at().unix_seconds() - airlock::types::Timestamp::now().unix_seconds();
        let timeout =
            Duration::from_secs(u64::try_from(remaining).unwrap_or(0).max(1)).min(MAX_PAIRING_WAIT);
        let waited = {
            let _spinner = term.spinner("Waiting for the approver (press Enter to cancel)", None);
            tokio::select! {
                result = session.wait(timeout) => Some(result),
                () = term.interrupted() => None,
            }
        };
        let pairing = match waited {
            None => {
                term.print("Pairing cancelled.");
                return Ok(Ok(()));
            }
            Some(Err(e)) => return Ok(explain(term, report::gateway_error("Pairing failed", &e))),
            Some(Ok(pairing)) => pairing,
        };
        term.print(&format!(
            "The approver's signing key: {}",
            pairing.signer_key_id()
        ));
        term.print(&format!("Fingerprint: {}", pairing.fingerprint()));
        if !term
            .confirm("Does the Airlock app show the same fingerprint?", true)
            .await?
        {
            // Not trusted: tell the gateway to drop the routing, keep nothing.
            if let Err(e) = client.unpair(&pairing).await {
                tracing::warn!(error = %e, "revoking a pairing with an unconfirmed fingerprint failed");
            }
            term.print("Pairing discarded: nothing was saved. Pair again and compare carefully.");
            return Ok(Ok(()));
        }
        if let Err(e) = account::save_pairing(&ctx, &pairing) {
            return Ok(Err(e));
        }
        term.print(&format!("Paired with signer {}.", pairing.signer_key_id()));
        self.start_heartbeat(term, &client, &pairing, &ctx);
        Ok(Ok(()))
    }

    fn start_heartbeat(
        &mut self,
        term: &mut impl Terminal,
        client: &GatewayClient,
        pairing: &Pairing,
        ctx: &Context,
    ) {
        let options = HeartbeatOptions::new()
            .enforcer_id(pairing.enforcer_id())
            .workspace_name(ctx.workspace.clone())
            .enforcer_label(label());
        match client.spawn_heartbeat(options) {
            Ok(handle) => {
                self.heartbeat = Some(handle);
                self.revocation_reported = false;
                term.print("Presence heartbeat started (every 30 s).");
            }
            Err(e) => term.print(&format!("Cannot start the heartbeat: {}", chain(&e))),
        }
    }

    /// Tells the user once when the heartbeat learned that the pairing was revoked.
    fn report_heartbeat(&mut self, term: &mut impl Terminal) {
        let revoked = self
            .heartbeat
            .as_ref()
            .is_some_and(|h| h.status().stopped == Some(HeartbeatStop::PairingRevoked));
        if revoked && !self.revocation_reported {
            self.revocation_reported = true;
            term.print("The gateway reports this pairing as revoked (heartbeat stopped): unpair, then pair again.");
        }
    }

    async fn unpair(&mut self, term: &mut impl Terminal) -> Result<(), CliError> {
        // Tolerates a stale routing token: the local pairing goes whenever the gateway no
        // longer knows it.
        account::unpair(self.context()?, term).await?;
        self.heartbeat = None;
        self.pending = None;
        Ok(())
    }

    // ---- artifacts ----------------------------------------------------------------------

    async fn submit(&mut self, term: &mut impl Terminal) -> Step {
        let ctx = match self.context() {
            Ok(ctx) => ctx,
            Err(e) => return Ok(Err(e)),
        };
        let (pairing, client) = match (ctx.require_pairing(), ctx.signed_in_client().await) {
            (Ok(p), Ok(c)) => (p, c),
            (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
        };
        let command = term
            .prompt("Command to approve", Some("git push --force origin main"))
            .await?;
        let timeout = loop {
            let text = term
                .prompt("Seconds to wait for a decision", Some("120"))
                .await?;
            match report::parse_seconds(&text) {
                Some(t) => break t,
                None => term.print("  Please enter a whole number of seconds from 1 to 86400."),
            }
        };
        let artifact = json!({
            "actionType": "command",
            "commandText": command,
            "workspace": ctx.workspace,
            "cwd": std::env::current_dir().ok().map(|d| d.display().to_string()),
            "shell": std::env::var("SHELL").ok(),
            "host": host_name(),
            "source": "airlock-test-enforcer",
        });
        let options = SubmitOptions::new()
            .workspace_name(ctx.workspace.clone())
            .request_label(label())
            // The artifact outlives the wait a little, so it is withdrawn at the deadline rather
            // than expiring under the wait (expiry times have whole seconds).
            .expires_in(timeout + EXPIRY_GRACE);
        let pending = match client
            .encrypt_and_submit(&pairing, &artifact, options)
            .await
        {
            Ok(pending) => pending,
            Err(e) => {
                return Ok(explain(
                    term,
                    report::gateway_error("Cannot submit the artifact", &e),
                ));
            }
        };
        term.print(&format!("Submitted request {}", pending.request_id()));
        term.print(&format!("  artifact hash {}", pending.artifact_hash()));
        let started = Instant::now();
        self.waiting = Some(pending.clone());
        let outcome = {
            let _spinner = term.spinner(
                "Waiting for the approver's decision (press Enter to stop waiting)",
                Some(timeout),
            );
            let options = AwaitOptions::new(timeout);
            tokio::select! {
                outcome = client.await_decision(&pending, options) => Some(outcome),
                () = term.interrupted() => None,
            }
        };
        self.waiting = None;
        match outcome {
            Some(outcome) => {
                for line in report::outcome(&outcome, timeout) {
                    term.print(&line);
                }
                term.print(&format!("  after {:.1} s", started.elapsed().as_secs_f64()));
                self.pending = None;
            }
            None => {
                term.print(&format!(
                    "Stopped waiting: request {} stays pending until {}.",
                    pending.request_id(),
                    pending.expires_at()
                ));
                term.print("Choose \"Withdraw a pending request\" to cancel it.");
                self.pending = Some(pending);
            }
        }
        Ok(Ok(()))
    }

    async fn withdraw(&mut self, term: &mut impl Terminal) -> Step {
        let default = self.pending.as_ref().map(|p| p.request_id().to_owned());
        let id = term
            .prompt("Request id to withdraw", default.as_deref())
            .await?;
        let client = match self.client().await {
            Ok((_, client)) => client,
            Err(e) => return Ok(Err(e)),
        };
        match client.raw().withdraw_exchange(&id).await {
            Ok(_) => term.print(&format!("Request {id} withdrawn.")),
            Err(e) if e.is_conflict() => {
                term.print(&format!("Request {id} is already decided or closed."))
            }
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => {
                term.print(&format!("The gateway does not know request {id}."));
            }
            Err(e) => return Ok(explain(term, report::gateway_error("Cannot withdraw", &e))),
        }
        if default.as_deref() == Some(id.as_str()) {
            self.pending = None;
        }
        Ok(Ok(()))
    }

    /// After Ctrl-C: withdraws the request whose decision was being waited for, if any.
    async fn withdraw_in_flight(&mut self, term: &mut impl Terminal) {
        let Some(pending) = self.waiting.take() else {
            return;
        };
        let result = match self.client().await {
            Ok((_, client)) => client.withdraw(&pending).await,
            Err(e) => return term.print(&format!("Cannot withdraw {}: {e}", pending.request_id())),
        };
        match result {
            Ok(_) => term.print(&format!("Withdrew request {}.", pending.request_id())),
            Err(e) if e.is_conflict() => {
                term.print(&format!(
                    "Request {} was already decided or closed.",
                    pending.request_id()
                ));
            }
            Err(e) => {
                for line in
                    report::gateway_error(&format!("Cannot withdraw {}", pending.request_id()), &e)
                {
                    term.print(&line);
                }
            }
        }
    }

    // ---- status -------------------------------------------------------------------------

    async fn status(&mut self, term: &mut impl Terminal) -> Result<(), CliError> {
        account::status(self.context()?, false).await?;
        let heartbeat = match &self.heartbeat {
            None => "not running".to_owned(),
            Some(h) => {
                let s = h.status();
                let mut text = format!("{} sent", s.sent);
                if let Some(at) = s.last_success {
                    text.push_str(&format!(", last at {at}"));
                }
                if let Some(e) = &s.last_error {
                    text.push_str(&format!(", last error: {}", chain(e.as_ref())));
                }
                if s.stopped == Some(HeartbeatStop::PairingRevoked) {
                    text.push_str(" (stopped: pairing revoked)");
                }
                text
            }
        };
        term.print(&format!("heartbeat    {heartbeat}"));
        if let Some(p) = &self.pending {
            term.print(&format!(
                "pending      {} (until {})",
                p.request_id(),
                p.expires_at()
            ));
        }
        if let Some(s) = &self.sandbox {
            term.print(&format!(
                "sandbox      embedded at {} (approver policy {})",
                s.gateway_url(),
                s.approver().policy().as_str()
            ));
        }
        Ok(())
    }
}

/// Shows why an action failed, with guidance; the failure is then handled (`Ok`).
fn explain(term: &mut impl Terminal, lines: Vec<String>) -> Result<(), CliError> {
    for line in lines {
        term.print(&line);
    }
    Ok(())
}

/// The stored (or default) values, as the wizard's defaults.
fn current_values(ctx: &Context) -> wizard::Current {
    wizard::Current {
        embedded_sandbox: false,
        gateway_url: ctx.config.gateway_url.clone(),
        client_id: ctx.client_id.clone(),
        has_client_secret: ctx.client_secret.is_some(),
        enforcer_id: ctx.enforcer_id.clone(),
        workspace: ctx.workspace.clone(),
    }
}
