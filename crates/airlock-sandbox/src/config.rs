//! [`SandboxConfig`] and the modes it selects.

use std::time::Duration;

use crate::identity::SandboxIdentity;

/// How the simulated approver decides the artifacts it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ApproverPolicy {
    /// Approve every artifact whose hash checks out (the default).
    #[default]
    Approve,
    /// Reject every artifact.
    Reject,
    /// Keep artifacts pending until decided through [`crate::ApproverControl::decide`] or the
    /// control API.
    Manual,
}

impl ApproverPolicy {
    /// Every policy.
    pub const ALL: &'static [Self] = &[Self::Approve, Self::Reject, Self::Manual];

    /// Parses `approve`, `reject` or `manual` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "approve" => Some(Self::Approve),
            "reject" => Some(Self::Reject),
            "manual" => Some(Self::Manual),
            _ => None,
        }
    }

    /// The lower-case name, as `parse` reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Manual => "manual",
        }
    }
}

/// A compromised relay, for testing that enforcers fail closed: how it tampers with the
/// decisions, pairings and DND policies it hands to enforcers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TamperMode {
    /// Honest decisions (the default).
    #[default]
    None,
    /// Decisions signed by a key that is not the paired approver's (same `signerKeyId`).
    ForgeSignature,
    /// Correctly signed decisions for a different artifact hash.
    WrongHash,
    /// Earlier decisions are redelivered verbatim: for an artifact hash decided before, that
    /// decision (same nonce and signature); otherwise the first decision ever made. The very
    /// first decision of a sandbox is honest, since there is nothing to replay yet.
    Replay,
    /// Decisions without a `signature` field.
    Unsigned,
    /// `GET /v1/policy/dnd/effective` also answers unsigned `approve_all` policies for
    /// whatever enforcer, workspace and session the query names — one expiring in 2099, one
    /// in an hour (within any sane lifetime check): the gateway alone deciding that nobody
    /// need be asked.
    ForgeDnd,
    /// Pairings are answered with keys of the relay's own, in a pairing response validly
    /// signed by the relay's key: the enforcer sees a well-formed pairing whose fingerprint
    /// is not the approver's. Artifacts sent over such a pairing never reach the approver:
    /// the relay approves them, signed with its own key.
    SubstitutePairing,
}

impl TamperMode {
    /// Every mode, honest first (what a settings screen offers).
    pub const ALL: &'static [Self] = &[
        Self::None,
        Self::ForgeSignature,
        Self::WrongHash,
        Self::Replay,
        Self::Unsigned,
        Self::ForgeDnd,
        Self::SubstitutePairing,
    ];

    /// The names `parse` reads, `|`-separated, for error messages.
    pub(crate) fn names() -> String {
        Self::ALL
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join("|")
    }

    /// Parses `none`, `forge-signature`, `wrong-hash`, `replay`, `unsigned`, `forge-dnd` or
    /// `substitute-pairing` (case-insensitive; `_` is accepted for `-`; `off` is `none` and
    /// `forge` is `forge-signature`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "off" => Some(Self::None),
            "forge" => Some(Self::ForgeSignature),
            name => Self::ALL.iter().copied().find(|m| m.as_str() == name),
        }
    }

    /// The kebab-case name, as `parse` reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ForgeSignature => "forge-signature",
            Self::WrongHash => "wrong-hash",
            Self::Replay => "replay",
            Self::Unsigned => "unsigned",
            Self::ForgeDnd => "forge-dnd",
            Self::SubstitutePairing => "substitute-pairing",
        }
    }
}

/// How the gateway answers consent checks for a new (app, user) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ConsentMode {
    /// Consent is granted (the default).
    #[default]
    Allowed,
    /// Consent must be requested: `app_consent_required` until the user opens the consent
    /// URL, then `app_consent_pending` until granted or denied through the control API.
    Required,
    /// Consent is denied: `app_consent_denied`.
    Denied,
}

impl ConsentMode {
    /// Parses `allowed`, `required` or `denied` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "allowed" | "allow" => Some(Self::Allowed),
            "required" | "require" => Some(Self::Required),
            "denied" | "deny" => Some(Self::Denied),
            _ => None,
        }
    }
}

/// The consent of one (app, user) pair, as the control API sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsentState {
    /// Not asked yet: `403 app_consent_required`.
    Required,
    /// Asked, awaiting a decision: `403 app_consent_pending`.
    Pending,
    /// Granted.
    Allowed,
    /// Refused: `403 app_consent_denied`.
    Denied,
}

impl ConsentState {
    /// Parses `required`, `pending`, `allowed` or `denied` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "required" => Some(Self::Required),
            "pending" => Some(Self::Pending),
            "allowed" | "allow" | "approved" => Some(Self::Allowed),
            "denied" | "deny" => Some(Self::Denied),
            _ => None,
        }
    }

    /// Every state.
    pub const ALL: &'static [Self] = &[Self::Required, Self::Pending, Self::Allowed, Self::Denied];

    /// The lower-case name, as `parse` reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Pending => "pending",
            Self::Allowed => "allowed",
            Self::Denied => "denied",
        }
    }
}

/// How device-authorization requests (RFC 8628) at the sandbox IdP get approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeviceApproval {
    /// Approved as soon as they are issued (the default): the first poll gets tokens.
    #[default]
    Automatic,
    /// Pending until approved or denied through the control API (or the verification page
    /// with `action=approve|deny`).
    Manual,
}

/// A request budget per app: at most `requests` in any sliding window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window.
    pub per: Duration,
}

impl RateLimit {
    /// `requests` per `per`.
    pub fn new(requests: u32, per: Duration) -> Self {
        Self { requests, per }
    }
}

impl Default for RateLimit {
    /// 60 requests per 60 seconds, as the production gateway.
    fn default() -> Self {
        Self::new(60, Duration::from_secs(60))
    }
}

/// Configuration of a [`crate::Sandbox`]. Build with [`SandboxConfig::builder`] or take the
/// [`Default`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SandboxConfig {
    /// TCP port on 127.0.0.1; 0 (the default) picks a free one.
    pub port: u16,
    /// How the approver decides.
    pub approver_policy: ApproverPolicy,
    /// How decisions are tampered with.
    pub tamper: TamperMode,
    /// Consent for new (app, user) pairs.
    pub consent: ConsentMode,
    /// Per-app rate limit; `None` disables it.
    pub rate_limit: Option<RateLimit>,
    /// How device authorizations get approved.
    pub device_approval: DeviceApproval,
    /// Whether the approver completes every pending pairing by itself (default `true`).
    pub auto_pair: bool,
    /// Lifetime of a pairing code from `/v1/pairing/initiate` (default 10 minutes).
    pub pairing_code_ttl: Duration,
    /// Lifetime of a pre-generated pairing code (default 30 minutes).
    pub pregenerated_code_ttl: Duration,
    /// How long the approver "thinks" before deciding (default zero).
    pub decision_delay: Duration,
    /// Lifetime of access tokens (default 300 s).
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens (default 1 hour).
    pub refresh_token_ttl: Duration,
    /// Lifetime of device codes (default 10 minutes).
    pub device_code_ttl: Duration,
    /// Polling interval announced for device codes (default 1 s).
    pub device_poll_interval: Duration,
    /// How long a heartbeat keeps an enforcer online (default 90 s).
    pub presence_ttl: Duration,
    /// How long closed state stays in memory before pruning (default 10 minutes):
    /// exchanges after they were delivered, withdrawn or expired (their status stays
    /// readable until then), pairing sessions that expired uncompleted after their expiry, device codes after
    /// theirs. Expired pairing codes, tokens, authorization codes and presence go at the
    /// first sweep after they expire. See [`crate::Sandbox::prune`].
    pub retention: Duration,
    /// How often the sandbox sweeps its memory (default 30 s); `None` sweeps only when
    /// [`crate::Sandbox::prune`] is called.
    pub prune_interval: Option<Duration>,
    /// The credentials and keys (default: random). Reuse one to restart a sandbox that
    /// accepts the same clients and keeps its approver keys.
    pub identity: Option<SandboxIdentity>,
    /// A directory where the sandbox keeps what makes it itself across restarts (default
    /// none: everything lives in memory): the seed of its identity (client secret, PAT,
    /// tokens, approver keys), its port (reused when [`port`](Self::port) is 0) and its
    /// pairings, in `sandbox.json` (mode `0600`, written atomically after every pairing
    /// change). A file that does not read stops the start with [`crate::SandboxError::State`]
    /// rather than starting afresh. Takes precedence over [`identity`](Self::identity).
    /// IdP sign-ins (OAuth tokens), exchanges and consent are not kept.
    pub state_dir: Option<std::path::PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            port: 0,
            approver_policy: ApproverPolicy::default(),
            tamper: TamperMode::default(),
            consent: ConsentMode::default(),
            rate_limit: Some(RateLimit::default()),
            device_approval: DeviceApproval::default(),
            auto_pair: true,
            pairing_code_ttl: Duration::from_secs(600),
            pregenerated_code_ttl: Duration::from_secs(30 * 60),
            decision_delay: Duration::ZERO,
            access_token_ttl: Duration::from_secs(300),
            refresh_token_ttl: Duration::from_secs(3600),
            device_code_ttl: Duration::from_secs(600),
            device_poll_interval: Duration::from_secs(1),
            presence_ttl: Duration::from_secs(90),
            retention: Duration::from_secs(600),
            prune_interval: Some(Duration::from_secs(30)),
            identity: None,
            state_dir: None,
        }
    }
}

impl SandboxConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> SandboxConfigBuilder {
        SandboxConfigBuilder(Self::default())
    }
}

/// Builds a [`SandboxConfig`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SandboxConfigBuilder(SandboxConfig);

macro_rules! setter {
    ($(#[$doc:meta] $name:ident: $ty:ty),* $(,)?) => {
        $(#[$doc] pub fn $name(mut self, value: $ty) -> Self {
            self.0.$name = value;
            self
        })*
    };
}

impl SandboxConfigBuilder {
    setter! {
        /// TCP port on 127.0.0.1; 0 picks a free one.
        port: u16,
        /// How the approver decides.
        approver_policy: ApproverPolicy,
        /// How decisions are tampered with.
        tamper: TamperMode,
        /// Consent for new (app, user) pairs.
        consent: ConsentMode,
        /// Per-app rate limit; `None` disables it.
        rate_limit: Option<RateLimit>,
        /// How device authorizations get approved.
        device_approval: DeviceApproval,
        /// Whether the approver completes every pending pairing by itself.
        auto_pair: bool,
        /// Lifetime of a pairing code from `/v1/pairing/initiate`.
        pairing_code_ttl: Duration,
        /// Lifetime of a pre-generated pairing code.
        pregenerated_code_ttl: Duration,
        /// How long the approver waits before deciding.
        decision_delay: Duration,
        /// Lifetime of access tokens.
        access_token_ttl: Duration,
        /// Lifetime of refresh tokens.
        refresh_token_ttl: Duration,
        /// Lifetime of device codes.
        device_code_ttl: Duration,
        /// Polling interval announced for device codes.
        device_poll_interval: Duration,
        /// How long a heartbeat keeps an enforcer online.
        presence_ttl: Duration,
        /// How long closed state stays in memory before pruning.
        retention: Duration,
        /// How often memory is swept (`None`: only on [`crate::Sandbox::prune`]).
        prune_interval: Option<Duration>,
    }

    /// Fixed credentials and keys (see [`SandboxIdentity`]).
    pub fn identity(mut self, identity: SandboxIdentity) -> Self {
        self.0.identity = Some(identity);
        self
    }

    /// Keeps identity, port and pairings in `dir` across restarts (see
    /// [`SandboxConfig::state_dir`]).
    pub fn state_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.0.state_dir = Some(dir.into());
        self
    }

    /// The configuration.
    pub fn build(self) -> SandboxConfig {
        self.0
    }
}
