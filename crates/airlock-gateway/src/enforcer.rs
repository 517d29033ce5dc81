//! The enforcer's main flow: encrypt and submit an artifact, then wait for a verified
//! decision.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use airlock_crypto::{
    Ed25519PublicKey, ExpectedDecision, TrustedSigners, VerifiedDecision, verify_decision,
};
use airlock_types::{
    AckBody, ArtifactAcceptedBody, ArtifactSubmitBody, Envelope, Timestamp, artifact_type,
    metadata_key, new_request_id,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::GatewayClient;
use crate::api::MAX_WAIT;
use crate::error::{Error, VerificationError};
use crate::pairing::Pairing;
use crate::raw::UnverifiedDecision;

/// How long an artifact waits for a decision unless told otherwise: 10 minutes.
pub const DEFAULT_ARTIFACT_TTL: Duration = Duration::from_secs(600);

/// How long [`GatewayClient::await_decision`] tries to withdraw the artifact after its
/// deadline: 5 seconds.
pub const WITHDRAW_GRACE: Duration = Duration::from_secs(5);

/// Options of [`GatewayClient::encrypt_and_submit`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SubmitOptions {
    /// The `artifactType` (default `command-approval`; see `airlock_types::artifact_type`).
    pub artifact_type: String,
    /// Cleartext metadata: routing and display keys only. The pairing's `routingToken` is
    /// added unless present.
    pub metadata: BTreeMap<String, String>,
    /// When the artifact expires (default: now + [`DEFAULT_ARTIFACT_TTL`]).
    pub expires_at: Option<Timestamp>,
    /// The exchange id (default: a new `req-<uuid>`). Reuse an id only to resubmit the
    /// same artifact.
    pub request_id: Option<String>,
}

impl Default for SubmitOptions {
    fn default() -> Self {
        Self {
            artifact_type: artifact_type::COMMAND_APPROVAL.to_owned(),
            metadata: BTreeMap::new(),
            expires_at: None,
            request_id: None,
        }
    }
}

impl SubmitOptions {
    /// The defaults: `command-approval`, no metadata, expiry in 10 minutes, new request id.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the artifact type.
    #[must_use]
    pub fn artifact_type(mut self, artifact_type: impl Into<String>) -> Self {
        self.artifact_type = artifact_type.into();
        self
    }
    /// Adds one cleartext metadata entry; `key` is one of
    /// [`metadata_key`](airlock_types::metadata_key)'s constants (or the setters below).
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
    /// The workspace name shown to the approver ([`metadata_key::WORKSPACE_NAME`]).
    #[must_use]
    pub fn workspace_name(self, name: impl Into<String>) -> Self {
        self.metadata(metadata_key::WORKSPACE_NAME, name)
    }
    /// The repository name shown to the approver ([`metadata_key::REPO_NAME`]).
    #[must_use]
    pub fn repo_name(self, name: impl Into<String>) -> Self {
        self.metadata(metadata_key::REPO_NAME, name)
    }
    /// A short label of the request ([`metadata_key::REQUEST_LABEL`], e.g. `Terminal Command`).
    #[must_use]
    pub fn request_label(self, label: impl Into<String>) -> Self {
        self.metadata(metadata_key::REQUEST_LABEL, label)
    }
    /// Sets the expiry.
    #[must_use]
    pub fn expires_at(mut self, expires_at: Timestamp) -> Self {
        self.expires_at = Some(expires_at);
        self
    }
    /// Sets the expiry relative to now (to the nanosecond: not rounded down, so the artifact
    /// never expires before a deadline it is meant to match).
    #[must_use]
    pub fn expires_in(mut self, ttl: Duration) -> Self {
        self.expires_at = Some(Timestamp::now_precise().saturating_add_std(ttl));
        self
    }
    /// Sets the request id.
    #[must_use]
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }
}

/// A submitted artifact waiting for its decision. Remembers what the decision must be
/// checked against: the request id, the artifact hash and the paired signers.
#[derive(Clone)]
pub struct PendingExchange {
    request_id: String,
    artifact_hash: String,
    expires_at: Timestamp,
    enforcer_id: String,
    signers: TrustedSigners,
    accepted: Envelope<ArtifactAcceptedBody>,
}

impl fmt::Debug for PendingExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingExchange")
            .field("request_id", &self.request_id)
            .field("artifact_hash", &self.artifact_hash)
            .field("expires_at", &self.expires_at)
            .field("enforcer_id", &self.enforcer_id)
            .field("signers", &self.signers.len())
            .finish_non_exhaustive()
    }
}

impl PendingExchange {
    /// The exchange id.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }
    /// SHA-256 of the canonical plaintext (64 lower-case hex digits).
    pub fn artifact_hash(&self) -> &str {
        &self.artifact_hash
    }
    /// When the artifact expires.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
    /// The enforcer that submitted it.
    pub fn enforcer_id(&self) -> &str {
        &self.enforcer_id
    }
    /// The signers a decision must come from.
    pub fn signers(&self) -> &TrustedSigners {
        &self.signers
    }
    /// The gateway's `artifact.accepted` answer.
    pub fn accepted(&self) -> &Envelope<ArtifactAcceptedBody> {
        &self.accepted
    }

    /// Writes the exchange to `path` atomically with owner-only permissions, so that a
    /// process that stops while waiting can [`load`](Self::load) it and wait again with
    /// [`GatewayClient::await_decision`] — the decision is still checked against the
    /// artifact hash and signers recorded at submission.
    ///
    /// The file holds no secret, but it says which keys may approve: protect it like the
    /// pairing file (whoever can rewrite it can make a forged decision pass). It is also
    /// `Serialize`/`Deserialize` for storing elsewhere.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        crate::store::save_json(self, path.as_ref(), "the pending exchange")
    }

    /// Reads an exchange written by [`PendingExchange::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        crate::store::load_json(path.as_ref(), "pending-exchange file")
    }
}

/// The stored form of a [`PendingExchange`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PendingFile {
    version: u32,
    request_id: String,
    artifact_hash: String,
    expires_at: Timestamp,
    enforcer_id: String,
    /// Signer key id → Ed25519 public key (base64url).
    signers: BTreeMap<String, Ed25519PublicKey>,
    accepted: Envelope<ArtifactAcceptedBody>,
}

const PENDING_FILE_VERSION: u32 = 1;

impl Serialize for PendingExchange {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PendingFile {
            version: PENDING_FILE_VERSION,
            request_id: self.request_id.clone(),
            artifact_hash: self.artifact_hash.clone(),
            expires_at: self.expires_at,
            enforcer_id: self.enforcer_id.clone(),
            signers: self
                .signers
                .iter()
                .map(|(id, key)| (id.to_owned(), *key))
                .collect(),
            accepted: self.accepted.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PendingExchange {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let file = PendingFile::deserialize(deserializer)?;
        if file.version != PENDING_FILE_VERSION {
            return Err(D::Error::custom(format!(
                "unsupported pending-exchange file version {}",
                file.version
            )));
        }
        if airlock_crypto::ArtifactHash::parse(&file.artifact_hash).is_err() {
            return Err(D::Error::custom("artifactHash is not a SHA-256 hex digest"));
        }
        if file.signers.is_empty() {
            return Err(D::Error::custom(
                "no trusted signer: no decision could verify",
            ));
        }
        let signers = file
            .signers
            .into_iter()
            .fold(TrustedSigners::new(), |signers, (id, key)| {
                signers.with(id, key)
            });
        Ok(PendingExchange {
            request_id: file.request_id,
            artifact_hash: file.artifact_hash,
            expires_at: file.expires_at,
            enforcer_id: file.enforcer_id,
            signers,
            accepted: file.accepted,
        })
    }
}

/// How [`GatewayClient::await_decision`] waits.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AwaitOptions {
    /// The total time to wait (default 10 minutes).
    pub timeout: Duration,
    /// The wait of each long-poll, at most 60 s (default 60 s).
    pub poll_wait: Duration,
    /// Withdraw the artifact when the deadline passes, so the approver is not left with a
    /// request nobody waits for (default `true`).
    pub withdraw_on_timeout: bool,
    /// Accept HARP-CORE decisions with `scope: "session"` bound to this session
    /// (`policyHints.sessionId`); without it they are refused (default `None`).
    pub session_id: Option<String>,
}

impl Default for AwaitOptions {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_ARTIFACT_TTL,
            poll_wait: MAX_WAIT,
            withdraw_on_timeout: true,
            session_id: None,
        }
    }
}

impl AwaitOptions {
    /// Wait up to `timeout` in all.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            ..Self::default()
        }
    }
    /// Sets the wait of each long-poll (clamped to 1..=60 s).
    #[must_use]
    pub fn poll_wait(mut self, wait: Duration) -> Self {
        self.poll_wait = wait;
        self
    }
    /// Whether to withdraw the artifact when the deadline passes (default `true`).
    #[must_use]
    pub fn withdraw_on_timeout(mut self, yes: bool) -> Self {
        self.withdraw_on_timeout = yes;
        self
    }
    /// Accept session-scoped HARP-CORE decisions bound to `session_id`.
    #[must_use]
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }
}

/// Nobody decided, and this call withdrew nothing.
const EXPIRED: DecisionOutcome = DecisionOutcome::Expired { withdrawn: false };

/// How an exchange ended. Only [`DecisionOutcome::Approved`] lets the action run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecisionOutcome {
    /// A verified approval.
    Approved(VerifiedDecision),
    /// A verified rejection.
    Rejected(VerifiedDecision),
    /// Nobody decided in time: the deadline of
    /// [`await_decision`](GatewayClient::await_decision) passed, or the artifact expired on
    /// the gateway. (A request that ran out of time is [`Error::Timeout`], not this.)
    Expired {
        /// Whether this call withdrew the artifact at the deadline (see
        /// [`AwaitOptions::withdraw_on_timeout`]); `false` when the withdrawal failed, was
        /// not asked for, or the gateway had closed the exchange already.
        withdrawn: bool,
    },
    /// The artifact was withdrawn.
    Withdrawn,
    /// The gateway or approver cancelled the exchange.
    Cancelled,
}

impl DecisionOutcome {
    /// True only for a verified approval.
    pub fn is_approved(&self) -> bool {
        matches!(self, Self::Approved(_))
    }
    /// The verified decision, when there is one.
    pub fn decision(&self) -> Option<&VerifiedDecision> {
        match self {
            Self::Approved(d) | Self::Rejected(d) => Some(d),
            _ => None,
        }
    }
}

/// A short account for logs and terminals: `approved by KEY`, `rejected by KEY`, `no
/// decision in time (withdrawn)`, `withdrawn`, `cancelled`. The approver's reason is not
/// included: it is free text; print it escaped, if at all.
impl fmt::Display for DecisionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Approved(d) => write!(f, "approved by {}", d.signer_key_id.escape_debug()),
            Self::Rejected(d) => write!(f, "rejected by {}", d.signer_key_id.escape_debug()),
            Self::Expired { withdrawn: true } => f.write_str("no decision in time (withdrawn)"),
            Self::Expired { withdrawn: false } => f.write_str("no decision in time"),
            Self::Withdrawn => f.write_str("withdrawn"),
            Self::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl GatewayClient {
    /// Canonicalizes (RFC 8785) the JSON `plaintext`, hashes it (SHA-256 → `artifactHash`),
    /// seals it with the pairing's end-to-end key, and submits it.
    ///
    /// The plaintext must be a JSON object (the approver shows its members). It is bound to
    /// its exchange by a `requestId` member ([`PLAINTEXT_REQUEST_ID`]), added when absent; a
    /// different `requestId` is refused. Without it, two submissions of the same plaintext
    /// would share a hash, and an old approval could be replayed onto a new request once the
    /// replay journal had forgotten it.
    ///
    /// The pairing's routing token goes into the metadata (unless set), and the pairing's
    /// enforcer id is the sender.
    pub async fn encrypt_and_submit_json(
        &self,
        pairing: &Pairing,
        plaintext_json: &[u8],
        options: SubmitOptions,
    ) -> Result<PendingExchange, Error> {
        let request_id = options.request_id.unwrap_or_else(new_request_id);
        let SealedArtifact {
            artifact_hash,
            ciphertext,
        } = seal_artifact(pairing.e2e_key(), &request_id, plaintext_json)?;
        let mut metadata = options.metadata;
        metadata
            .entry(metadata_key::ROUTING_TOKEN.to_owned())
            .or_insert_with(|| pairing.routing_token().to_owned());
        let expires_at = options
            .expires_at
            .unwrap_or_else(|| Timestamp::now().saturating_add_std(DEFAULT_ARTIFACT_TTL));
        let mut body = ArtifactSubmitBody::new(artifact_hash.clone(), ciphertext)
            .with_artifact_type(options.artifact_type)
            .with_expires_at(expires_at);
        body.metadata = metadata;
        let enforcer_id = self.resolve_enforcer_id(Some(pairing.enforcer_id()))?;
        let envelope = Envelope::artifact_submit(request_id.clone(), enforcer_id.clone(), body);
        let accepted = self.raw().submit_artifact(&envelope).await?;
        Ok(PendingExchange {
            request_id,
            artifact_hash,
            expires_at,
            enforcer_id,
            signers: pairing.trusted_signers(),
            accepted,
        })
    }

    /// [`encrypt_and_submit_json`](Self::encrypt_and_submit_json) for any `Serialize`
    /// plaintext (serialized to JSON first).
    pub async fn encrypt_and_submit<T: Serialize + ?Sized>(
        &self,
        pairing: &Pairing,
        plaintext: &T,
        options: SubmitOptions,
    ) -> Result<PendingExchange, Error> {
        let json =
            zeroize::Zeroizing::new(serde_json::to_vec(plaintext).map_err(|e| {
                Error::invalid_input(format!("plaintext cannot be serialized: {e}"))
            })?);
        self.encrypt_and_submit_json(pairing, &json, options).await
    }

    /// Waits for the decision on `pending` and verifies it.
    ///
    /// Long-polls (each at most 60 s) until the deadline, riding out transient failures
    /// (retryable statuses, connection failures, request timeouts) with backoff. After each
    /// empty poll the exchange status is checked, so an expired, withdrawn or cancelled
    /// exchange ends the wait at once. A long-poll answered with `409` or `410` (the exchange
    /// closed while we waited) also ends it with [`DecisionOutcome::Withdrawn`],
    /// [`DecisionOutcome::Expired`] or [`DecisionOutcome::Cancelled`]: the exchange status
    /// decides, else the answer's code (`withdrawn`, `cancelled`, `expired`), else `410`
    /// means expired. Any other `409` is returned as the error it is.
    ///
    /// A delivered decision is verified with `airlock_crypto::verify_decision` against the
    /// pending exchange's signers, request id and artifact hash and this client's replay
    /// journal. A verified decision is acknowledged (best effort: an ack failure is logged
    /// and never changes the outcome) and returned as [`DecisionOutcome::Approved`] or
    /// [`DecisionOutcome::Rejected`].
    ///
    /// A decision that fails verification is returned as [`Error::Verification`] and is
    /// **not** acknowledged: an ack tells the gateway the decision reached us intact, which
    /// a forged or corrupted one did not, and leaving it unacknowledged keeps the exchange
    /// visibly undelivered for audit. (Because of at-least-once delivery, the same forged
    /// message may be delivered again to a later call; it fails again.) The action must be
    /// blocked either way.
    ///
    /// At the deadline: `Ok(`[`DecisionOutcome::Expired`]`)` — the one answer for "nobody
    /// decided in time", whether our deadline passed or the gateway expired the artifact.
    /// By default ([`AwaitOptions::withdraw_on_timeout`]) the artifact is withdrawn first,
    /// within [`WITHDRAW_GRACE`], so the approver is not left with a request nobody waits
    /// for; `withdrawn` says whether that worked. If the withdrawal finds the exchange
    /// already closed, one last short poll fetches its decision, or the exchange status
    /// names how it closed (expired, withdrawn or cancelled). [`Error::Timeout`] is only
    /// ever a single request that ran out of time, and the wait rides those out.
    pub async fn await_decision(
        &self,
        pending: &PendingExchange,
        options: AwaitOptions,
    ) -> Result<DecisionOutcome, Error> {
        let span = tracing::debug_span!("airlock_await_decision", request_id = %pending.request_id);
        tracing::Instrument::instrument(self.await_inner(pending, options), span).await
    }

    async fn await_inner(
        &self,
        pending: &PendingExchange,
        options: AwaitOptions,
    ) -> Result<DecisionOutcome, Error> {
        let deadline = Instant::now() + options.timeout;
        let mut failures: u32 = 0;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return self.on_deadline(pending, &options).await;
            }
            let remaining = deadline - now;
            let wait = options.poll_wait.min(remaining);
            let polled = tokio::time::timeout(
                remaining,
                self.raw().wait_for_decision(&pending.request_id, wait),
            )
            .await;
            let result = match polled {
                Ok(r) => r,
                Err(_) => continue, // deadline reached mid-poll
            };
            // A gateway answering `204` at once must not make this loop spin: each empty
            // poll cycle takes at least `MIN_WAIT`.
            let min_cycle_end = now + crate::api::MIN_WAIT;
            match result {
                Ok(Some(delivery)) => {
                    return self.accept_delivery(pending, &options, &delivery).await;
                }
                Ok(None) => {
                    failures = 0;
                    if let Some(outcome) = self.closed_outcome(pending).await {
                        return Ok(outcome);
                    }
                    tokio::time::sleep_until(min_cycle_end.min(deadline)).await;
                }
                Err(e) if is_closed_signal(&e) => {
                    // `409`/`410` from the long-poll: the exchange ended without a decision
                    // for us (withdrawn, expired, cancelled). Report how, not an error.
                    return match self.terminal_outcome(pending, &e).await {
                        Some(outcome) => Ok(outcome),
                        None => Err(e),
                    };
                }
                Err(e) if e.is_transient() => {
                    failures = failures.saturating_add(1);
                    let delay = self.retry_policy().delay(e.retry_after(), failures);
                    tracing::debug!(error = %e, ?delay, "transient failure while waiting for a decision");
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    tokio::time::sleep(delay.min(remaining)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The outcome of an exchange that closed without a decision, if it did.
    async fn closed_outcome(&self, pending: &PendingExchange) -> Option<DecisionOutcome> {
        use airlock_types::ExchangeState as S;
        match self.raw().get_exchange_status(&pending.request_id).await {
            Ok(status) => match status.body.state {
                S::Expired => Some(EXPIRED),
                S::Withdrawn => Some(DecisionOutcome::Withdrawn),
                S::Cancelled => Some(DecisionOutcome::Cancelled),
                _ => None,
            },
            Err(e) if e.is_expired() => Some(EXPIRED),
            Err(e) => {
                tracing::debug!(error = %e, "exchange status check failed; still waiting");
                None
            }
        }
    }

    /// How an exchange ended, after the long-poll answered `409` or `410`: the exchange
    /// status when it names a terminal state, else the error's service code (`withdrawn`,
    /// `cancelled`, `expired`), else `410` as expiry. `None` when the answer is an ordinary
    /// conflict the caller must see.
    async fn terminal_outcome(
        &self,
        pending: &PendingExchange,
        error: &Error,
    ) -> Option<DecisionOutcome> {
        if let Some(outcome) = self.closed_outcome(pending).await {
            return Some(outcome);
        }
        outcome_of_closed_error(error)
    }

    async fn on_deadline(
        &self,
        pending: &PendingExchange,
        options: &AwaitOptions,
    ) -> Result<DecisionOutcome, Error> {
        if !options.withdraw_on_timeout {
            return Ok(EXPIRED);
        }
        let withdrawn = tokio::time::timeout(WITHDRAW_GRACE, self.withdraw(pending))
            .await
            .unwrap_or(Err(Error::Timeout {
                after: WITHDRAW_GRACE,
            }));
        match withdrawn {
            Ok(_) => Ok(DecisionOutcome::Expired { withdrawn: true }),
            Err(e) if e.is_conflict() => {
                // Already terminal: maybe decided at the last moment.
                match self
                    .raw()
                    .wait_for_decision(&pending.request_id, Duration::from_secs(1))
                    .await
                {
                    Ok(Some(delivery)) => self.accept_delivery(pending, options, &delivery).await,
                    // Closed without a decision for us: say how, if the gateway tells.
                    _ => Ok(self.closed_outcome(pending).await.unwrap_or(EXPIRED)),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "withdrawing the artifact at the deadline failed");
                Ok(EXPIRED)
            }
        }
    }

    /// Withdraws `pending` (`POST /v1/exchanges/{requestId}/withdraw`), e.g. when the user
    /// gave up waiting. `409` ([`Error::is_conflict`]) when the exchange is already closed.
    pub async fn withdraw(
        &self,
        pending: &PendingExchange,
    ) -> Result<airlock_types::Envelope<airlock_types::ExchangeWithdrawnBody>, Error> {
        self.raw().withdraw_exchange(&pending.request_id).await
    }

    /// Verifies a delivered decision, acks it when valid, and maps it to an outcome.
    async fn accept_delivery(
        &self,
        pending: &PendingExchange,
        options: &AwaitOptions,
        delivery: &UnverifiedDecision,
    ) -> Result<DecisionOutcome, Error> {
        if delivery.request_id() != pending.request_id {
            tracing::warn!("decision delivered for another exchange; not acknowledged");
            return Err(Error::Verification(Box::new(
                VerificationError::WrongExchange {
                    expected: pending.request_id.clone(),
                    delivered: delivery.request_id().to_owned(),
                },
            )));
        }
        let mut expected =
            ExpectedDecision::new(pending.artifact_hash.clone(), pending.request_id.clone());
        if let Some(session) = &options.session_id {
            expected = expected.with_session_id(session.clone());
        }
        let verified = verify_decision(
            delivery.body_json(),
            &expected,
            &pending.signers,
            self.replay_journal().as_ref(),
            time::OffsetDateTime::now_utc(),
        )
        .map_err(|e| {
            tracing::warn!(harp_code = %e.harp_code(), "decision failed verification; not acknowledged");
            Error::Verification(Box::new(VerificationError::Decision(e)))
        })?;
        let ack = Envelope::ack(
            pending.request_id.clone(),
            pending.enforcer_id.clone(),
            AckBody::delivered(delivery.msg_id()),
        );
        if let Err(e) = self.raw().submit_ack(&ack).await {
            tracing::warn!(error = %e, "acknowledging the decision failed (the decision stands)");
        }
        Ok(if verified.is_approved() {
            DecisionOutcome::Approved(verified)
        } else {
            DecisionOutcome::Rejected(verified)
        })
    }
}

/// A long-poll answer saying the exchange is closed: `409`, `410` or code `expired`.
fn is_closed_signal(e: &Error) -> bool {
    e.is_conflict() || e.is_expired()
}

/// The outcome named by a `409`/`410` answer itself (its service code, or `410`).
fn outcome_of_closed_error(e: &Error) -> Option<DecisionOutcome> {
    let code = e.code().map(|c| c.as_str().to_ascii_lowercase());
    match code.as_deref() {
        Some("withdrawn") => return Some(DecisionOutcome::Withdrawn),
        Some("cancelled" | "canceled") => return Some(DecisionOutcome::Cancelled),
        _ => {}
    }
    e.is_expired().then_some(EXPIRED)
}

/// The member of every submitted plaintext that binds it to its exchange.
pub const PLAINTEXT_REQUEST_ID: &str = "requestId";

/// A plaintext made ready for submission by [`seal_artifact`]: bound to its exchange,
/// canonicalized, hashed and sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealedArtifact {
    /// The `artifactHash`: lowercase hex SHA-256 of the canonical, bound plaintext.
    pub artifact_hash: String,
    /// The canonical plaintext sealed with the pairing's end-to-end key (the `ciphertext`).
    pub ciphertext: airlock_types::EncryptedPayload,
}

/// What [`GatewayClient::encrypt_and_submit_json`] does before it sends anything: binds the
/// JSON object `plaintext_json` to `request_id`, canonicalizes it (RFC 8785), hashes it and
/// seals it with `key` (the pairing's [`e2e_key`](Pairing::e2e_key)).
///
/// An Airlock-form decision signs `artifactHash|decision|nonce`, not the request id. Were
/// two submissions of the same plaintext to share a hash, a relay could replay the first
/// approval onto the second once the replay journal had forgotten it. So the plaintext must
/// be a JSON object and carries the exchange's `requestId` ([`PLAINTEXT_REQUEST_ID`];
/// added when absent, a different one is refused), which makes each exchange's hash its
/// own — as HARP-CORE artifacts carry `requestId`. Sealing again with the same request id
/// gives the same hash (resubmission is idempotent). One pass over the text; the canonical
/// plaintext is encrypted in place and never copied.
///
/// ```
/// use airlock_crypto::E2eKey;
/// use airlock_gateway::seal_artifact;
///
/// let key = E2eKey::from_bytes([7; 32]);
/// let sealed = seal_artifact(&key, "req-1", br#"{"commandText": "ls -la"}"#)?;
/// assert_eq!(
///     &key.open(&sealed.ciphertext)?[..],
///     br#"{"commandText":"ls -la","requestId":"req-1"}"#
/// );
/// assert_eq!(sealed.artifact_hash.len(), 64);
/// assert!(seal_artifact(&key, "req-1", br#"{"requestId": "req-2"}"#).is_err());
/// assert!(seal_artifact(&key, "req-1", b"[1, 2]").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::InvalidInput`] when the plaintext is not canonicalizable JSON (see
/// [`airlock_crypto::jcs`]), not an object, or has another `requestId`.
pub fn seal_artifact(
    key: &airlock_crypto::E2eKey,
    request_id: &str,
    plaintext_json: &[u8],
) -> Result<SealedArtifact, Error> {
    use airlock_crypto::jcs::{CanonicalizeError, Canonicalizer};

    let canonical = Canonicalizer::new()
        .canonicalize_with_member(plaintext_json, PLAINTEXT_REQUEST_ID, request_id)
        .map_err(|e| match e {
            CanonicalizeError::NotAnObject => {
                Error::invalid_input("the plaintext must be a JSON object")
            }
            CanonicalizeError::MemberMismatch { .. } => Error::invalid_input(format!(
                "the plaintext's `{PLAINTEXT_REQUEST_ID}` differs from the submission's request id"
            )),
            e => Error::invalid_input(format!("plaintext is not canonicalizable JSON: {e}")),
        })?;
    let hash = airlock_crypto::hash::ArtifactHash::of_canonical(&canonical);
    Ok(SealedArtifact {
        artifact_hash: hash.as_str().to_owned(),
        // Encrypted in place: the buffer holds only ciphertext when it is freed.
        ciphertext: key.seal_vec(canonical),
    })
}
