//! The simulated approver: the human's mobile app, with its own keys.
//!
//! It talks to the gateway only through the approver endpoints' logic (resolve, complete,
//! pre-generate, inbox, decision submit) — in process, but with no other access to gateway
//! state — and the gateway never sees its keys or the plaintext it decrypts.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use airlock_crypto::{
    E2eKey, Ed25519PublicKey, Ed25519SigningKey, X25519PublicKey, X25519SecretKey,
};
use airlock_types::{Decision, EncryptedPayload, Envelope, InboxItem, Timestamp};
use serde::Serialize;
use serde_json::Value;
use sha2::Digest as _;
use tokio::sync::watch;

use crate::config::{ApproverPolicy, TamperMode};
use crate::error::SandboxError;
use crate::gateway::{Gateway, InComplete, InPreGenerate, SavedPairing};
use crate::signing;

/// What the approver saw of one artifact: the decrypted plaintext and whether its hash
/// matched. Available to tests through [`ApproverControl::seen`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SeenArtifact {
    /// The exchange id.
    pub request_id: String,
    /// The artifact type.
    pub artifact_type: String,
    /// The hash the enforcer claimed.
    pub artifact_hash: String,
    /// The SHA-256 of the RFC 8785 form of the decrypted plaintext, when it decrypted and
    /// parsed.
    pub computed_hash: Option<String>,
    /// The decrypted plaintext, when it decrypted and parsed as JSON.
    pub plaintext: Option<Value>,
    /// Why the artifact could not be read, if it could not.
    pub error: Option<String>,
    /// Cleartext metadata the gateway passed on.
    pub metadata: BTreeMap<String, String>,
    /// The submitting enforcer, when it said.
    pub enforcer_id: Option<String>,
    /// The decision the approver made, once made (`None` while pending).
    pub decision: Option<String>,
    /// The reason given with the decision, if any.
    pub reason: Option<String>,
    /// When the enforcer submitted it, as the inbox said.
    pub created_at: Option<Timestamp>,
    /// When the exchange expires.
    pub expires_at: Timestamp,
}

impl SeenArtifact {
    /// Whether the plaintext decrypted and its recomputed hash equals the claimed one.
    pub fn hash_matches(&self) -> bool {
        self.computed_hash.as_deref() == Some(normalize_hash(&self.artifact_hash).as_str())
    }
}

/// An enforcer paired with the approver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PairedEnforcer {
    /// The pairing session nonce.
    pub pairing_nonce: String,
    /// The routing token the gateway issued.
    pub routing_token: String,
    /// The enforcer's id, when it sent one.
    pub enforcer_id: Option<String>,
    /// The enforcer's label, when it sent one.
    pub enforcer_label: Option<String>,
}

/// A pairing code the approver generated for an enforcer to claim.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreGeneratedCode {
    /// The code to give the enforcer.
    pub pairing_code: String,
    /// When it stops being claimable.
    pub expires_at: Timestamp,
}

struct Peer {
    key: E2eKey,
}

#[derive(Default)]
struct State {
    policy: ApproverPolicy,
    auto_pair: bool,
    peers: HashMap<String, Peer>,
    paired: Vec<PairedEnforcer>,
    /// Codes this approver tried and failed to complete; not retried automatically.
    failed_codes: HashSet<String>,
    seen: Vec<SeenArtifact>,
    seen_ids: HashSet<String>,
    /// Manual mode: request ids waiting for [`ApproverControl::decide`].
    waiting: Vec<String>,
    /// Honest decisions by artifact hash, and the first one ever: material for replays.
    by_hash: HashMap<String, Value>,
    first: Option<Value>,
}

pub(crate) struct Approver {
    gateway: Arc<Gateway>,
    approver_id: String,
    signer_key_id: String,
    signing_key: Ed25519SigningKey,
    /// A key that is not the paired one, for [`TamperMode::ForgeSignature`].
    forger: Ed25519SigningKey,
    x25519: X25519SecretKey,
    decision_delay: Duration,
    state: Mutex<State>,
    /// Bumped whenever `seen` or `paired` changes.
    changed: watch::Sender<u64>,
}

impl fmt::Debug for Approver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Approver")
            .field("approver_id", &self.approver_id)
            .field("signer_key_id", &self.signer_key_id)
            .field("public_key", &self.signing_key.public_key())
            .finish_non_exhaustive()
    }
}

/// Control of the simulated approver: policy, tamper mode, pairing, manual decisions, and
/// what it saw. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ApproverControl {
    inner: Arc<Approver>,
}

impl Approver {
    pub(crate) fn new(
        gateway: Arc<Gateway>,
        policy: ApproverPolicy,
        auto_pair: bool,
        decision_delay: Duration,
        signing_key: Ed25519SigningKey,
        x25519: X25519SecretKey,
    ) -> Arc<Self> {
        let fp = hex_prefix(&signing_key.public_key().to_bytes());
        Arc::new(Self {
            gateway,
            approver_id: format!("approver-sandbox-{fp}"),
            signer_key_id: format!("key-sandbox-{fp}"),
            signing_key,
            forger: Ed25519SigningKey::generate(),
            x25519,
            decision_delay,
            state: Mutex::new(State {
                policy,
                auto_pair,
                ..State::default()
            }),
            changed: watch::Sender::new(0),
        })
    }

    /// Forgets the artifacts whose exchanges the gateway no longer holds (their decisions
    /// kept for replays go with them, except the very first decision) and failed pairing
    /// codes that are no longer pending. Returns how many artifacts went.
    pub(crate) fn prune(&self) -> usize {
        let pending_codes: HashSet<String> = self
            .gateway
            .pending_pairing_codes(&self.approver_id)
            .into_iter()
            .collect();
        let mut state = self.lock();
        state.failed_codes.retain(|c| pending_codes.contains(c));
        let (keep, gone): (Vec<SeenArtifact>, Vec<SeenArtifact>) = std::mem::take(&mut state.seen)
            .into_iter()
            .partition(|a| self.gateway.has_exchange(&a.request_id));
        state.seen = keep;
        for artifact in &gone {
            state.seen_ids.remove(&artifact.request_id);
            state.waiting.retain(|r| *r != artifact.request_id);
            let hash = normalize_hash(&artifact.artifact_hash);
            if !state
                .seen
                .iter()
                .any(|a| normalize_hash(&a.artifact_hash) == hash)
            {
                state.by_hash.remove(&hash);
            }
        }
        drop(state);
        if !gone.is_empty() {
            self.bump();
        }
        gone.len()
    }

    /// Takes back this approver's live pairings from the state file, re-deriving each
    /// end-to-end key from the enforcer's X25519 key.
    pub(crate) fn restore(&self, saved: &[SavedPairing]) {
        let mut state = self.lock();
        for s in saved
            .iter()
            .filter(|s| s.approver_id == self.approver_id && !s.revoked)
        {
            let key = s
                .enforcer_x25519
                .as_deref()
                .and_then(|k| X25519PublicKey::parse(k).ok())
                .and_then(|k| E2eKey::derive(&self.x25519, &k).ok());
            let Some(key) = key else { continue };
            state.peers.insert(s.routing_token.clone(), Peer { key });
            state.paired.push(PairedEnforcer {
                pairing_nonce: s.nonce.clone(),
                routing_token: s.routing_token.clone(),
                enforcer_id: s.enforcer_id.clone(),
                enforcer_label: s.enforcer_label.clone(),
            });
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v += 1);
    }

    /// Runs until `shutdown` flips: reacts to every change of the gateway's approver feed.
    pub(crate) async fn run(
        self: Arc<Self>,
        mut feed: watch::Receiver<u64>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            self.process().await;
            tokio::select! {
                changed = feed.changed() => if changed.is_err() { return },
                _ = shutdown.changed() => return,
            }
        }
    }

    /// One pass: pair what waits (in auto mode), then read the inbox.
    async fn process(self: &Arc<Self>) {
        let auto_pair = self.lock().auto_pair;
        if auto_pair {
            for code in self.gateway.pending_pairing_codes(&self.approver_id) {
                if self.lock().failed_codes.contains(&code) {
                    continue;
                }
                if let Err(e) = self.complete_pairing(&code) {
                    tracing::warn!(error = %e, "sandbox approver could not complete a pairing");
                    self.lock().failed_codes.insert(code);
                }
            }
        }
        for item in self.gateway.inbox(&self.approver_id) {
            if !self.lock().seen_ids.insert(item.request_id.clone()) {
                continue;
            }
            self.receive(item);
        }
    }

    fn complete_pairing(&self, code: &str) -> Result<PairedEnforcer, SandboxError> {
        let session = self
            .gateway
            .resolve_pairing(code)
            .map_err(SandboxError::from_api)?;
        let enforcer_key = session.x25519_public_key.as_deref().ok_or_else(|| {
            SandboxError::invalid(
                "the enforcer sent no x25519PublicKey: no end-to-end key possible",
            )
        })?;
        let enforcer_key = X25519PublicKey::parse(enforcer_key).map_err(|e| {
            SandboxError::invalid(format!("the enforcer's x25519PublicKey is invalid: {e}"))
        })?;
        let key = E2eKey::derive(&self.x25519, &enforcer_key)
            .map_err(|e| SandboxError::invalid(format!("key agreement failed: {e}")))?;
        let response_json = airlock_crypto::sign_pairing_response(
            &self.signing_key,
            &self.signer_key_id,
            &session.pairing_nonce,
            &Timestamp::now().to_string(),
            Some(&self.x25519.public_key()),
        );
        let done = self
            .gateway
            .complete_pairing(InComplete {
                pairing_nonce: Some(session.pairing_nonce.clone()),
                approver_id: Some(self.approver_id.clone()),
                public_key: Some(self.signing_key.public_key().to_base64()),
                signer_key_id: Some(self.signer_key_id.clone()),
                response_json: Some(response_json),
            })
            .map_err(SandboxError::from_api)?;
        let routing_token = done
            .routing_token
            .ok_or_else(|| SandboxError::invalid("the gateway returned no routing token"))?;
        let paired = PairedEnforcer {
            pairing_nonce: session.pairing_nonce,
            routing_token: routing_token.clone(),
            enforcer_id: Some(session.enforcer_id).filter(|e| !e.is_empty()),
            enforcer_label: session.enforcer_label,
        };
        {
            let mut state = self.lock();
            state.peers.insert(routing_token, Peer { key });
            state.paired.push(paired.clone());
        }
        self.bump();
        Ok(paired)
    }

    /// Decrypts, checks the hash, records, and decides by policy.
    fn receive(self: &Arc<Self>, item: InboxItem) {
        let token = item
            .metadata
            .get("routingToken")
            .cloned()
            .unwrap_or_default();
        let mut seen = SeenArtifact {
            request_id: item.request_id.clone(),
            artifact_type: item.artifact_type.clone(),
            artifact_hash: item.artifact_hash.clone(),
            computed_hash: None,
            plaintext: None,
            error: None,
            metadata: item.metadata.clone(),
            enforcer_id: item.enforcer_id.clone(),
            decision: None,
            reason: None,
            created_at: item.created_at,
            expires_at: item.expires_at,
        };
        let read = {
            let state = self.lock();
            match state.peers.get(&token) {
                Some(peer) => read_artifact(&peer.key, &item.ciphertext),
                None => Err("no pairing known for this artifact's routing token".to_owned()),
            }
        };
        match read {
            Ok((plaintext, hash)) => {
                seen.plaintext = Some(plaintext);
                seen.computed_hash = Some(hash);
            }
            Err(e) => seen.error = Some(e),
        }
        let verdict = if !seen.hash_matches() {
            let reason = seen
                .error
                .clone()
                .unwrap_or_else(|| "artifact hash does not match its content".to_owned());
            Some((Decision::Reject, Some(reason)))
        } else {
            match self.lock().policy {
                ApproverPolicy::Approve => Some((Decision::Approve, None)),
                ApproverPolicy::Reject => Some((
                    Decision::Reject,
                    Some("rejected by sandbox policy".to_owned()),
                )),
                ApproverPolicy::Manual => None,
            }
        };
        let request_id = item.request_id.clone();
        {
            let mut state = self.lock();
            state.seen.push(seen);
            if verdict.is_none() {
                state.waiting.push(request_id.clone());
            }
        }
        self.bump();
        let Some((decision, reason)) = verdict else {
            return;
        };
        let hash = item.artifact_hash;
        if self.decision_delay.is_zero() {
            if let Err(e) = self.submit(&request_id, &hash, decision, reason) {
                tracing::debug!(error = %e, request_id, "sandbox approver decision not accepted");
            }
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(this.decision_delay).await;
            if let Err(e) = this.submit(&request_id, &hash, decision, reason) {
                tracing::debug!(error = %e, request_id, "sandbox approver decision not accepted");
            }
        });
    }

    /// Signs (or, in a tamper mode, mis-signs) a decision and submits it through the
    /// approver endpoint.
    fn submit(
        &self,
        request_id: &str,
        artifact_hash: &str,
        decision: Decision,
        reason: Option<String>,
    ) -> Result<(), SandboxError> {
        let honest = |hash: &str, key: &Ed25519SigningKey| {
            signing::decision_body(key, &self.signer_key_id, hash, &decision, reason.clone())
        };
        let tamper = self.gateway.tamper();
        let body = match tamper {
            // The relay's own tampering (DND, pairing) leaves the approver's decisions alone.
            TamperMode::None | TamperMode::ForgeDnd | TamperMode::SubstitutePairing => {
                honest(artifact_hash, &self.signing_key)
            }
            TamperMode::ForgeSignature => honest(artifact_hash, &self.forger),
            TamperMode::WrongHash => {
                let other = hex(&sha2::Sha256::digest(format!("tampered:{artifact_hash}")));
                honest(&other, &self.signing_key)
            }
            TamperMode::Unsigned => {
                let mut body = honest(artifact_hash, &self.signing_key);
                if let Some(obj) = body.as_object_mut() {
                    obj.remove("signature");
                }
                body
            }
            TamperMode::Replay => {
                let earlier = {
                    let state = self.lock();
                    state
                        .by_hash
                        .get(&normalize_hash(artifact_hash))
                        .or(state.first.as_ref())
                        .cloned()
                };
                earlier.unwrap_or_else(|| honest(artifact_hash, &self.signing_key))
            }
        };
        let is_honest_signature = !matches!(
            tamper,
            TamperMode::ForgeSignature | TamperMode::WrongHash | TamperMode::Unsigned
        );
        let envelope = Envelope::new(
            airlock_types::msg_type::DECISION_SUBMIT,
            request_id,
            body.clone(),
        )
        .with_sender(airlock_types::Party::approver(&self.approver_id));
        let envelope =
            serde_json::to_value(envelope).map_err(|e| SandboxError::invalid(e.to_string()))?;
        self.gateway
            .submit_decision(envelope)
            .map_err(SandboxError::from_api)?;
        let mut state = self.lock();
        if is_honest_signature {
            if let Some(h) = body.get("artifactHash").and_then(Value::as_str) {
                state
                    .by_hash
                    .entry(normalize_hash(h))
                    .or_insert_with(|| body.clone());
            }
            if state.first.is_none() {
                state.first = Some(body);
            }
        }
        state.waiting.retain(|r| r != request_id);
        if let Some(s) = state.seen.iter_mut().find(|s| s.request_id == request_id) {
            s.decision = Some(decision.as_str().to_owned());
            s.reason = reason;
        }
        drop(state);
        self.bump();
        Ok(())
    }
}

/// Decrypts and hashes: the plaintext JSON and the SHA-256 (hex) of its RFC 8785 form.
fn read_artifact(key: &E2eKey, ciphertext: &EncryptedPayload) -> Result<(Value, String), String> {
    let plaintext = key
        .open(ciphertext)
        .map_err(|e| format!("could not decrypt: {e}"))?;
    let canonical = airlock_crypto::canonicalize(&plaintext)
        .map_err(|e| format!("plaintext is not canonicalizable JSON: {e}"))?;
    let value =
        serde_json::from_slice(&plaintext).map_err(|e| format!("plaintext is not JSON: {e}"))?;
    Ok((value, hex(&sha2::Sha256::digest(&canonical))))
}

fn normalize_hash(h: &str) -> String {
    h.strip_prefix("sha256:").unwrap_or(h).to_ascii_lowercase()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_prefix(bytes: &[u8]) -> String {
    hex(&bytes[..4.min(bytes.len())])
}

impl ApproverControl {
    pub(crate) fn new(inner: Arc<Approver>) -> Self {
        Self { inner }
    }

    /// See [`Approver::prune`].
    pub(crate) fn prune(&self) -> usize {
        self.inner.prune()
    }

    /// The approver's id at the gateway.
    pub fn approver_id(&self) -> &str {
        &self.inner.approver_id
    }

    /// The id of its signing key (`signerKeyId`).
    pub fn signer_key_id(&self) -> &str {
        &self.inner.signer_key_id
    }

    /// Its Ed25519 public key (what enforcers pin when pairing).
    pub fn public_key(&self) -> Ed25519PublicKey {
        self.inner.signing_key.public_key()
    }

    /// Its X25519 public key (the approver's half of the end-to-end key).
    pub fn x25519_public_key(&self) -> X25519PublicKey {
        self.inner.x25519.public_key()
    }

    /// The current decision policy.
    pub fn policy(&self) -> ApproverPolicy {
        self.inner.lock().policy
    }

    /// Changes the decision policy for artifacts received from now on.
    pub fn set_policy(&self, policy: ApproverPolicy) {
        self.inner.lock().policy = policy;
    }

    /// The current tamper mode (of the relay between enforcers and this approver).
    pub fn tamper(&self) -> TamperMode {
        self.inner.gateway.tamper()
    }

    /// Changes the tamper mode for what is decided, paired or asked from now on.
    pub fn set_tamper(&self, tamper: TamperMode) {
        self.inner.gateway.set_tamper(tamper);
    }

    /// Whether pairing sessions are completed automatically.
    pub fn auto_pair(&self) -> bool {
        self.inner.lock().auto_pair
    }

    /// Turns automatic pairing on or off.
    pub fn set_auto_pair(&self, auto_pair: bool) {
        self.inner.lock().auto_pair = auto_pair;
        self.inner.gateway_poke();
    }

    /// Completes the pairing session showing `pairing_code` (what a user types into the
    /// approver app): resolves it, derives the end-to-end key with the enforcer's X25519 key
    /// and sends a signed 5-field `responseJson`.
    ///
    /// # Errors
    ///
    /// [`SandboxError::Gateway`] when the code is unknown, used or expired;
    /// [`SandboxError::InvalidInput`] when the enforcer sent no usable X25519 key.
    pub fn complete_pairing(&self, pairing_code: &str) -> Result<PairedEnforcer, SandboxError> {
        self.inner.complete_pairing(pairing_code)
    }

    /// Pre-generates a pairing code (30 minutes by default) for an enforcer to claim with
    /// `POST /v1/pairing/claim`. The approver completes the claimed session automatically
    /// when auto-pairing is on; otherwise call [`complete_pairing`](Self::complete_pairing)
    /// with the same code after the claim.
    ///
    /// # Errors
    ///
    /// [`SandboxError::Gateway`] if the gateway refuses.
    pub fn pre_generate_code(&self) -> Result<PreGeneratedCode, SandboxError> {
        let out = self
            .inner
            .gateway
            .pre_generate(InPreGenerate {
                approver_id: Some(self.inner.approver_id.clone()),
                ttl_seconds: None,
            })
            .map_err(SandboxError::from_api)?;
        Ok(PreGeneratedCode {
            pairing_code: out.pairing_code,
            expires_at: out.expires_at,
        })
    }

    /// Enforcers paired so far.
    pub fn paired(&self) -> Vec<PairedEnforcer> {
        self.inner.lock().paired.clone()
    }

    /// Everything the approver received, in arrival order, with the decrypted plaintext.
    pub fn seen(&self) -> Vec<SeenArtifact> {
        self.inner.lock().seen.clone()
    }

    /// What the approver saw of one exchange.
    pub fn seen_artifact(&self, request_id: &str) -> Option<SeenArtifact> {
        self.inner
            .lock()
            .seen
            .iter()
            .find(|s| s.request_id == request_id)
            .cloned()
    }

    /// Artifacts waiting for a manual decision (policy [`ApproverPolicy::Manual`]) that can
    /// still be decided: those withdrawn, expired or decided meanwhile are left out.
    pub fn pending(&self) -> Vec<SeenArtifact> {
        let state = self.inner.lock();
        state
            .waiting
            .iter()
            .filter(|id| {
                self.inner
                    .gateway
                    .exchange_state(id)
                    .is_some_and(|(s, _)| s == crate::gateway::ExchangeState::Pending)
            })
            .filter_map(|id| state.seen.iter().find(|s| s.request_id == *id).cloned())
            .collect()
    }

    /// Waits until the approver has received the artifact `request_id` (bounded by
    /// `timeout`) and returns what it saw.
    ///
    /// # Errors
    ///
    /// [`SandboxError::Timeout`] if it did not arrive in time.
    pub async fn wait_for_artifact(
        &self,
        request_id: &str,
        timeout: Duration,
    ) -> Result<SeenArtifact, SandboxError> {
        let mut rx = self.inner.changed.subscribe();
        let wait = async {
            loop {
                if let Some(s) = self.seen_artifact(request_id) {
                    return Ok(s);
                }
                if rx.changed().await.is_err() {
                    return Err(SandboxError::Stopped);
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| SandboxError::Timeout(timeout))?
    }

    /// Decides a pending artifact by hand: signs `artifactHash|decision|nonce` (or mis-signs,
    /// in a tamper mode) and submits through the approver endpoint.
    ///
    /// # Errors
    ///
    /// [`SandboxError::InvalidInput`] for an unknown request id or a decision other than
    /// approve/reject; [`SandboxError::Gateway`] if the gateway refuses (e.g. 409 when the
    /// exchange was withdrawn or already decided, 410 when it expired).
    pub fn decide(
        &self,
        request_id: &str,
        decision: Decision,
        reason: Option<&str>,
    ) -> Result<(), SandboxError> {
        if !matches!(decision, Decision::Approve | Decision::Reject) {
            return Err(SandboxError::invalid("a decision is approve or reject"));
        }
        let hash = self
            .seen_artifact(request_id)
            .map(|s| s.artifact_hash)
            .ok_or_else(|| {
                SandboxError::invalid(format!("the approver has not received {request_id}"))
            })?;
        self.inner
            .submit(request_id, &hash, decision, reason.map(str::to_owned))
    }
}

impl Approver {
    fn gateway_poke(&self) {
        // Re-run a pass: a no-op change of the approver's own feed is not visible to the
        // worker, so nudge through the gateway's feed.
        self.gateway.poke_approvers();
    }
}
