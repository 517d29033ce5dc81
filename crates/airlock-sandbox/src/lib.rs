//! A faithful Airlock platform on loopback: the gateway's HTTP binding (enforcer and approver
//! endpoints), a minimal OpenID Connect provider, and a simulated approver with real keys.
//!
//! It is what `airlock demo` runs on, what this SDK's integration tests run against, and what
//! you can put in your own enforcer's tests: no account, no network, real cryptography.
//!
//! # Run an enforcer against it
//!
//! Start a sandbox, point the SDK's `GatewayClient` at it, pair (the simulated approver
//! completes pairings by itself), submit an encrypted artifact and await the verified
//! decision:
//!
//! ```
//! use std::time::Duration;
//!
//! use airlock_gateway::{AwaitOptions, GatewayClient, PairingRequest, SecretToken, SubmitOptions};
//! use airlock_sandbox::{Sandbox, SandboxConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! let client = GatewayClient::builder(sandbox.gateway_url())
//!     .client_credentials(sandbox.client_id(), SecretToken::new(sandbox.client_secret()))
//!     .pat(SecretToken::new(sandbox.pat()))
//!     .build()?;
//!
//! let request = PairingRequest::new("enforcer-1").poll_interval(Duration::from_millis(50));
//! let pairing = client.start_pairing(request).await?.wait(Duration::from_secs(10)).await?;
//!
//! let command = serde_json::json!({ "actionType": "command", "commandText": "make deploy" });
//! let pending = client.encrypt_and_submit(&pairing, &command, SubmitOptions::new()).await?;
//! let outcome = client.await_decision(&pending, AwaitOptions::new(Duration::from_secs(10))).await?;
//! assert!(outcome.is_approved());
//!
//! // The approver decrypted exactly what was sent, bound to its exchange by `requestId`.
//! let seen = sandbox.approver().seen_artifact(pending.request_id()).expect("received");
//! let plaintext = seen.plaintext.expect("decrypted");
//! assert_eq!(plaintext["commandText"], command["commandText"]);
//! assert_eq!(plaintext["requestId"], pending.request_id());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Decide by hand, or play a compromised relay
//!
//! ```no_run
//! use airlock_sandbox::{ApproverPolicy, Sandbox, SandboxConfig, TamperMode};
//! use airlock_types::Decision;
//!
//! # async fn demo() -> Result<(), airlock_sandbox::SandboxError> {
//! let config = SandboxConfig::builder().approver_policy(ApproverPolicy::Manual).build();
//! let sandbox = Sandbox::start(config).await?;
//! // ... an enforcer submits; then:
//! for artifact in sandbox.approver().pending() {
//!     println!("{} wants to run {:?}", artifact.request_id, artifact.plaintext);
//!     sandbox.approver().decide(&artifact.request_id, Decision::Reject, Some("not today"))?;
//! }
//! // Enforcers must refuse every decision from now on:
//! sandbox.approver().set_tamper(TamperMode::ForgeSignature);
//! # Ok(()) }
//! ```
//!
//! # Restart with the same identity, prune memory
//!
//! ```
//! use std::time::Duration;
//!
//! use airlock_sandbox::{Sandbox, SandboxConfig, SandboxIdentity};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), airlock_sandbox::SandboxError> {
//! let identity = SandboxIdentity::from_seed(&[42; 32]);
//! let first = Sandbox::start(SandboxConfig::builder().identity(identity.clone()).build()).await?;
//! let (port, pat, key) = (first.local_addr().port(), first.pat().to_owned(), first.approver().public_key());
//! first.shutdown().await;
//!
//! // Same port, same identity: the same PAT and client secret work, the approver keeps its keys.
//! let config = SandboxConfig::builder()
//!     .port(port)
//!     .identity(identity)
//!     .retention(Duration::from_secs(60)) // closed exchanges are forgotten a minute later
//!     .build();
//! let second = Sandbox::start(config).await?;
//! assert_eq!(second.pat(), pat);
//! assert_eq!(second.approver().public_key(), key);
//! assert_eq!(second.prune().total(), 0); // nothing to forget yet
//! # Ok(()) }
//! ```
//!
//! # What it serves
//!
//! - The gateway (see the repository's PROTOCOL.md): `/echo`, `/v1/integrations/discovery`,
//!   `/v1/consent/status`, `/v1/artifacts`, `/v1/exchanges/{id}` (+ `/wait`, `/withdraw`),
//!   `/v1/acks`, `/v1/pairing/*`, `/v1/presence/heartbeat`, `/v1/policy/dnd/effective`, and
//!   the approver side: `/v1/pairing/resolve/{code}`, `/v1/pairing/complete`,
//!   `/v1/pairing/pre-generate`, `/v1/decisions`, `/v1/approvers/{id}/inbox` (bearer
//!   [`Sandbox::approver_token`]).
//! - The IdP under [`Sandbox::issuer_url`] (`{base}/idp`): OIDC discovery, device
//!   authorization, authorize (automatic consent, loopback redirects, PKCE S256 required),
//!   token (authorization code, device code, refresh with rotation), revocation, userinfo.
//!   Tokens are opaque random strings, **not JWTs**, and no `id_token` is issued.
//! - The control API under `/_sandbox/` (bearer [`Sandbox::control_token`]): approver
//!   policy, tamper mode, pairing, manual decisions, consent, DND policies, device approval;
//!   the crate README lists its routes. Every operation is also a method of [`Sandbox`] or
//!   [`ApproverControl`].
//!
//! The gateway part never holds plaintext or approver keys; the [`ApproverControl`] holds
//! the keys and reaches the gateway only through the approver endpoints' logic.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod approver;
mod clock;
mod config;
mod control;
mod counts;
mod error;
mod gateway;
mod identity;
mod idp;
mod page;
mod server;
mod signing;
mod state;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

pub use approver::{ApproverControl, PairedEnforcer, PreGeneratedCode, SeenArtifact};
pub use config::{
    ApproverPolicy, ConsentMode, ConsentState, DeviceApproval, RateLimit, SandboxConfig,
    SandboxConfigBuilder, TamperMode,
};
pub use counts::RequestCounts;
pub use error::SandboxError;
pub use identity::SandboxIdentity;

use gateway::{App, Gateway, GatewaySettings};
use idp::{Idp, IdpSettings};

/// The client id of the confidential enforcer app (`X-Client-Id` + `X-Client-Secret`).
pub const CLIENT_ID: &str = "airlock-sandbox-agent";
/// The client id of the public enforcer app (authenticates by a loopback `Origin`).
pub const PUBLIC_CLIENT_ID: &str = "airlock-sandbox-web";
/// The IdP's public client id, as gateway discovery names it.
pub const IDP_CLIENT_ID: &str = "airlock-integrations";
/// The id of the one sandbox user (PAT and IdP tokens both sign in as this user).
pub const SANDBOX_USER: &str = "sandbox-user";

/// Everything a client needs to talk to a sandbox, serializable as the one JSON line that
/// `airlock sandbox --json` prints (camelCase). Holds secrets: `Debug` redacts them.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SandboxInfo {
    /// The gateway base URL, `http://127.0.0.1:{port}`.
    pub gateway_url: String,
    /// The OIDC issuer, `{gatewayUrl}/idp`.
    pub issuer_url: String,
    /// The confidential app's client id.
    pub client_id: String,
    /// The confidential app's client secret.
    pub client_secret: String,
    /// The public app's client id (send a loopback `Origin`).
    pub public_client_id: String,
    /// The IdP client id (public; device and auth-code flows).
    pub idp_client_id: String,
    /// The sandbox user's personal access token.
    pub pat: String,
    /// The simulated approver's id.
    pub approver_id: String,
    /// The fingerprint of the simulated approver's signing key, as `airlock pair` shows it
    /// (`3F:A0:…:9C`): what to expect when pairing (`--expect-fingerprint`).
    pub approver_fingerprint: String,
    /// Bearer token of the approver endpoints.
    pub approver_token: String,
    /// Bearer token of the control API.
    pub control_token: String,
    /// A one-time login link to the approver page (`{gatewayUrl}/approver/login?token=…`);
    /// [`Sandbox::approver_login_url`] makes more.
    pub approver_url: String,
}

impl std::fmt::Debug for SandboxInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxInfo")
            .field("gateway_url", &self.gateway_url)
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("public_client_id", &self.public_client_id)
            .field("approver_id", &self.approver_id)
            .field("approver_fingerprint", &self.approver_fingerprint)
            .finish_non_exhaustive()
    }
}

impl Drop for SandboxInfo {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.client_secret.zeroize();
        self.pat.zeroize();
        self.approver_token.zeroize();
        self.control_token.zeroize();
        self.approver_url.zeroize();
    }
}

/// Presence of an enforcer, as its heartbeats left it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PresenceInfo {
    /// The last heartbeat.
    pub last_seen: time::OffsetDateTime,
    /// The workspace it reported.
    pub workspace_name: Option<String>,
    /// The label it reported.
    pub enforcer_label: Option<String>,
}

/// The state of an exchange at the sandbox gateway, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExchangeInfo {
    /// `Pending`, `Decided`, `Delivered`, `Expired` or `Withdrawn`.
    pub state: airlock_types::ExchangeState,
    /// How many times the decision was handed out by `/wait` (redeliveries included).
    pub deliveries: u32,
}

/// Shared by the server's handlers.
pub(crate) struct Platform {
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) idp: Arc<Idp>,
    pub(crate) approver: ApproverControl,
    pub(crate) info: SandboxInfo,
    pub(crate) control_token: Zeroizing<String>,
    pub(crate) identity: SandboxIdentity,
    pub(crate) retention: std::time::Duration,
    pub(crate) clock: Arc<clock::Clock>,
    pub(crate) requests: counts::RequestCounter,
    pub(crate) page: page::Page,
}

impl Platform {
    /// See [`Sandbox::advance_clock`].
    pub(crate) fn advance_clock(&self, by: std::time::Duration) {
        self.clock.advance(by);
        self.gateway.clock_moved();
    }

    /// One sweep of every part's memory (see [`Sandbox::prune`]).
    fn prune(&self) -> PruneReport {
        let now = self.clock.now();
        let gateway = self.gateway.prune(now, self.retention);
        let idp = self.idp.prune(now, self.retention);
        let approver = self.approver.prune();
        let report = PruneReport {
            exchanges: gateway.exchanges,
            pairing_sessions: gateway.pairings,
            pairing_codes: gateway.codes,
            presence: gateway.presence,
            idp_grants: idp,
            approver_artifacts: approver,
        };
        if report.total() > 0 {
            tracing::debug!(?report, "sandbox pruned its memory");
        }
        report
    }
}

/// Sweeps the platform's memory every `every` until shutdown.
async fn sweep(
    platform: Arc<Platform>,
    every: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(every.max(std::time::Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate: nothing to prune yet
    loop {
        tokio::select! {
            _ = ticker.tick() => { platform.prune(); }
            _ = shutdown.changed() => return,
        }
    }
}

/// Keeps the state file of [`SandboxConfig::state_dir`] up to date.
struct StateKeeper {
    dir: std::path::PathBuf,
    seed: Zeroizing<[u8; 32]>,
    port: u16,
    gateway: Arc<Gateway>,
}

impl StateKeeper {
    fn save(&self) -> Result<(), SandboxError> {
        let saved = state::SavedState::new(&self.seed, self.port, self.gateway.saved_pairings());
        state::save(&self.dir, &saved)
    }

    /// Writes the state after every pairing change until shutdown (and once more then).
    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut changes = self.gateway.pairing_changes();
        loop {
            let stop = tokio::select! {
                changed = changes.changed() => changed.is_err(),
                _ = shutdown.changed() => true,
            };
            if let Err(e) = self.save() {
                tracing::warn!(error = %e, "sandbox state not saved");
            }
            if stop {
                return;
            }
        }
    }
}

/// What one [`Sandbox::prune`] removed from memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PruneReport {
    /// Exchanges closed for longer than the retention.
    pub exchanges: usize,
    /// Pairing sessions that expired without being completed, past their expiry plus
    /// retention (completed pairings live until revoked).
    pub pairing_sessions: usize,
    /// Pairing codes no longer usable (used, expired, or pre-generated and expired).
    pub pairing_codes: usize,
    /// Enforcers whose presence TTL ran out.
    pub presence: usize,
    /// IdP device codes (expired longer than the retention), expired authorization codes
    /// and expired access and refresh tokens.
    pub idp_grants: usize,
    /// Artifacts the simulated approver remembered for exchanges that are gone.
    pub approver_artifacts: usize,
}

impl PruneReport {
    /// Everything removed.
    pub fn total(&self) -> usize {
        self.exchanges
            + self.pairing_sessions
            + self.pairing_codes
            + self.presence
            + self.idp_grants
            + self.approver_artifacts
    }
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only the redacted summary: the internals hold secrets.
        f.debug_struct("Platform")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// A running sandbox. Stops when dropped (or, with every connection closed first, at
/// [`shutdown`](Sandbox::shutdown)).
#[derive(Debug)]
pub struct Sandbox {
    platform: Arc<Platform>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    approver_task: Option<JoinHandle<()>>,
    sweeper: Option<JoinHandle<()>>,
    persister: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Binds 127.0.0.1 on the configured port (0 = a free one) and starts serving.
    ///
    /// Must be called within a tokio runtime (any flavour).
    ///
    /// # Errors
    ///
    /// [`SandboxError::Bind`] when the port cannot be bound.
    pub async fn start(config: SandboxConfig) -> Result<Self, SandboxError> {
        let saved = match &config.state_dir {
            Some(dir) => state::load(dir)?,
            None => None,
        };
        let port = match (config.port, &saved) {
            (0, Some(saved)) => saved.port,
            (port, _) => port,
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| SandboxError::Bind { port, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { port, source })?;
        let base = format!("http://127.0.0.1:{}", addr.port());
        let issuer = format!("{base}/idp");
        // With a state directory the identity comes from its seed (a new one the first time).
        let seed = config.state_dir.as_ref().map(|_| {
            saved
                .as_ref()
                .and_then(state::SavedState::seed)
                .unwrap_or_else(|| {
                    let mut seed = Zeroizing::new([0u8; 32]);
                    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, seed.as_mut());
                    seed
                })
        });
        let identity = match &seed {
            Some(seed) => SandboxIdentity::from_seed(seed),
            None => config
                .identity
                .clone()
                .unwrap_or_else(SandboxIdentity::generate),
        };
        let client_secret: String = identity.client_secret.as_str().to_owned();
        let pat: String = identity.pat.as_str().to_owned();
        let approver_token: String = identity.approver_token.as_str().to_owned();
        let control_token: String = identity.control_token.as_str().to_owned();

        let clock = Arc::new(clock::Clock::default());
        let idp = Arc::new(Idp::new(
            IdpSettings {
                issuer: issuer.clone(),
                public_client_id: IDP_CLIENT_ID.to_owned(),
                confidential_client: (CLIENT_ID.to_owned(), Zeroizing::new(client_secret.clone())),
                user_id: SANDBOX_USER.to_owned(),
                access_ttl: config.access_token_ttl,
                refresh_ttl: config.refresh_token_ttl,
                device_ttl: config.device_code_ttl,
                device_interval: config.device_poll_interval,
                device_approval: config.device_approval,
            },
            Arc::clone(&clock),
        ));
        let gateway = Arc::new(Gateway::new(
            GatewaySettings {
                base_url: base.clone(),
                issuer_url: issuer.clone(),
                idp_client_id: IDP_CLIENT_ID.to_owned(),
                apps: vec![
                    App {
                        client_id: CLIENT_ID.to_owned(),
                        name: "Airlock Sandbox Agent".to_owned(),
                        secret: Some(Zeroizing::new(client_secret.clone())),
                    },
                    App {
                        client_id: PUBLIC_CLIENT_ID.to_owned(),
                        name: "Airlock Sandbox Web".to_owned(),
                        secret: None,
                    },
                ],
                pats: vec![(Zeroizing::new(pat.clone()), SANDBOX_USER.to_owned())],
                approver_token: Zeroizing::new(approver_token.clone()),
                consent: config.consent,
                rate_limit: config.rate_limit,
                pairing_code_ttl: config.pairing_code_ttl,
                pregenerated_code_ttl: config.pregenerated_code_ttl,
                presence_ttl: config.presence_ttl,
                tamper: config.tamper,
            },
            Arc::clone(&idp),
            Arc::clone(&clock),
        ));
        let approver = approver::Approver::new(
            Arc::clone(&gateway),
            config.approver_policy,
            config.auto_pair,
            config.decision_delay,
            airlock_crypto::Ed25519SigningKey::from_bytes(*identity.approver_signing_seed),
            airlock_crypto::X25519SecretKey::from_bytes(*identity.approver_x25519),
        );
        if let (Some(saved), Some(dir)) = (&saved, &config.state_dir) {
            gateway
                .restore_pairings(&saved.pairings)
                .map_err(|message| SandboxError::state(&state::path(dir), message))?;
            approver.restore(&saved.pairings);
        }
        let control = ApproverControl::new(Arc::clone(&approver));
        let page = page::Page::new(base.clone(), addr.port());
        let info = SandboxInfo {
            approver_url: page.login_url(),
            gateway_url: base,
            issuer_url: issuer,
            client_id: CLIENT_ID.to_owned(),
            client_secret,
            public_client_id: PUBLIC_CLIENT_ID.to_owned(),
            idp_client_id: IDP_CLIENT_ID.to_owned(),
            pat,
            approver_id: control.approver_id().to_owned(),
            approver_fingerprint: control.public_key().fingerprint(),
            approver_token,
            control_token: control_token.clone(),
        };
        let platform = Arc::new(Platform {
            gateway: Arc::clone(&gateway),
            idp,
            approver: control,
            info,
            control_token: Zeroizing::new(control_token),
            identity,
            retention: config.retention,
            clock,
            requests: counts::RequestCounter::default(),
            page,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let server = tokio::spawn(server::serve(
            listener,
            Arc::clone(&platform),
            shutdown_rx.clone(),
        ));
        let approver_task =
            tokio::spawn(approver.run(gateway.approver_feed(), shutdown_rx.clone()));
        let persister = match (config.state_dir, seed) {
            (Some(dir), Some(seed)) => {
                let keeper = StateKeeper {
                    dir,
                    seed,
                    port: addr.port(),
                    gateway: Arc::clone(&gateway),
                };
                keeper.save()?;
                Some(tokio::spawn(keeper.run(shutdown_rx.clone())))
            }
            _ => None,
        };
        let sweeper = config
            .prune_interval
            .map(|every| tokio::spawn(sweep(Arc::clone(&platform), every, shutdown_rx)));
        tracing::info!(%addr, "airlock sandbox listening");
        Ok(Self {
            platform,
            addr,
            shutdown,
            server: Some(server),
            approver_task: Some(approver_task),
            sweeper,
            persister,
        })
    }

    /// Starts a sandbox with the default configuration.
    ///
    /// # Errors
    ///
    /// As [`Sandbox::start`].
    pub async fn start_default() -> Result<Self, SandboxError> {
        Self::start(SandboxConfig::default()).await
    }

    /// The credentials and keys in use; give them to
    /// [`SandboxConfigBuilder::identity`] to restart a sandbox the same clients still reach.
    pub fn identity(&self) -> &SandboxIdentity {
        &self.platform.identity
    }

    /// Sweeps memory now (the sandbox also does so every
    /// [`SandboxConfig::prune_interval`]): forgets exchanges closed — delivered, withdrawn or
    /// expired — for longer than [`SandboxConfig::retention`], pairing sessions that expired
    /// uncompleted (past their expiry plus the retention; completed pairings live until
    /// revoked), unusable pairing codes, presence past its TTL, expired DND
    /// policies, expired IdP codes and tokens, and what the simulated approver kept about
    /// forgotten exchanges. A forgotten exchange is `404 not_found` to its enforcer.
    pub fn prune(&self) -> PruneReport {
        self.platform.prune()
    }

    /// Moves the sandbox's clock forward by `by`, as if that much time had passed for the
    /// gateway and the IdP: pairing codes, tokens, device codes, exchanges, presence and DND
    /// policies expire by it, and the next sweep ([`prune`](Self::prune)) forgets by it.
    /// Rate-limit windows and the simulated approver's own clock do not move. Timestamps an
    /// enforcer sends (an artifact's `expiresAt`) are read on the sandbox's clock, so give
    /// artifacts submitted after a jump an expiry beyond it.
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.platform.advance_clock(by);
    }

    /// How far [`advance_clock`](Self::advance_clock) moved the sandbox's clock in all.
    pub fn clock_ahead(&self) -> std::time::Duration {
        self.platform.clock.ahead()
    }

    /// The listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The gateway base URL, `http://127.0.0.1:{port}` (no trailing slash).
    pub fn gateway_url(&self) -> &str {
        &self.platform.info.gateway_url
    }

    /// The OIDC issuer URL, `{gateway_url}/idp`.
    pub fn issuer_url(&self) -> &str {
        &self.platform.info.issuer_url
    }

    /// The confidential enforcer app's client id.
    pub fn client_id(&self) -> &str {
        &self.platform.info.client_id
    }

    /// The confidential enforcer app's client secret.
    pub fn client_secret(&self) -> &str {
        &self.platform.info.client_secret
    }

    /// The public enforcer app's client id (send a loopback `Origin` instead of a secret).
    pub fn public_client_id(&self) -> &str {
        &self.platform.info.public_client_id
    }

    /// The IdP client id gateway discovery announces (public client).
    pub fn idp_client_id(&self) -> &str {
        &self.platform.info.idp_client_id
    }

    /// The sandbox user's personal access token (`X-PAT`).
    pub fn pat(&self) -> &str {
        &self.platform.info.pat
    }

    /// Bearer token for the approver endpoints (for tests playing their own approver).
    pub fn approver_token(&self) -> &str {
        &self.platform.info.approver_token
    }

    /// Bearer token for the `/_sandbox/` control API.
    pub fn control_token(&self) -> &str {
        &self.platform.control_token
    }

    /// A new one-time login link to the approver page, `{gateway_url}/approver/login?token=…`:
    /// opening it signs a browser in (an HttpOnly, SameSite=Strict session cookie). The page
    /// also accepts the [`approver_token`](Self::approver_token) typed into its sign-in form.
    pub fn approver_login_url(&self) -> String {
        self.platform.page.login_url()
    }

    /// All of the above in one value (what `airlock sandbox --json` prints).
    pub fn info(&self) -> &SandboxInfo {
        &self.platform.info
    }

    /// Control of the simulated approver.
    pub fn approver(&self) -> &ApproverControl {
        &self.platform.approver
    }

    /// Sets the consent of every user for `app_id` (or for every app).
    pub fn set_consent(&self, app_id: Option<&str>, state: ConsentState) {
        self.platform.gateway.set_consent(app_id, state);
    }

    /// The URL a user opens to request consent for `app_id`.
    pub fn consent_url(&self, app_id: &str) -> String {
        self.platform.gateway.consent_url(app_id)
    }

    /// Adds a DND policy, served by `/v1/policy/dnd/effective` (filtered by the query's
    /// `enforcerId`, `workspaceId` and `sessionId`) until it expires.
    pub fn add_dnd_policy(&self, policy: airlock_types::DndPolicy) {
        self.platform.gateway.add_dnd_policy(policy);
    }

    /// Removes every DND policy.
    pub fn clear_dnd_policies(&self) {
        self.platform.gateway.clear_dnd_policies();
    }

    /// Approves a pending device authorization (manual [`DeviceApproval`]).
    ///
    /// # Errors
    ///
    /// [`SandboxError::InvalidInput`] when no pending authorization has that user code.
    pub fn approve_device(&self, user_code: &str) -> Result<(), SandboxError> {
        self.set_device(user_code, true)
    }

    /// Denies a pending device authorization: the client's next poll gets `access_denied`.
    ///
    /// # Errors
    ///
    /// [`SandboxError::InvalidInput`] when no pending authorization has that user code.
    pub fn deny_device(&self, user_code: &str) -> Result<(), SandboxError> {
        self.set_device(user_code, false)
    }

    fn set_device(&self, user_code: &str, approve: bool) -> Result<(), SandboxError> {
        if self.platform.idp.set_device_approval(user_code, approve) {
            Ok(())
        } else {
            Err(SandboxError::invalid(format!(
                "no pending device authorization with user code {user_code}"
            )))
        }
    }

    /// User codes of device authorizations waiting for approval.
    pub fn pending_device_codes(&self) -> Vec<String> {
        self.platform.idp.pending_device_codes()
    }

    /// Codes of pairing sessions waiting for the approver (what the enforcers display).
    pub fn pending_pairing_codes(&self) -> Vec<String> {
        self.platform
            .gateway
            .pending_pairing_codes(self.platform.approver.approver_id())
    }

    /// The enforcer's presence while its last heartbeat is within the presence TTL.
    pub fn presence(&self, enforcer_id: &str) -> Option<PresenceInfo> {
        self.platform.gateway.presence(enforcer_id)
    }

    /// The gateway's view of an exchange.
    pub fn exchange(&self, request_id: &str) -> Option<ExchangeInfo> {
        self.platform
            .gateway
            .exchange_state(request_id)
            .map(|(state, deliveries)| ExchangeInfo {
                state: airlock_types::ExchangeState::from_wire(state.as_str()),
                deliveries,
            })
    }

    /// The requests served so far, by route (the control API's are not counted). Take one
    /// before a flow and one after: [`RequestCounts::since`] is what the flow cost.
    pub fn request_counts(&self) -> RequestCounts {
        self.platform.requests.snapshot()
    }

    /// Sets every request counter back to zero.
    pub fn reset_request_counts(&self) {
        self.platform.requests.reset();
    }

    /// Stops serving: closes the listener and every open connection (in-flight long-polls
    /// see the connection close) and stops the approver.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        for task in [
            self.approver_task.take(),
            self.sweeper.take(),
            self.persister.take(),
        ]
        .into_iter()
        .flatten()
        {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in [
            self.server.take(),
            self.approver_task.take(),
            self.sweeper.take(),
            self.persister.take(),
        ]
        .into_iter()
        .flatten()
        {
            task.abort();
        }
    }
}
