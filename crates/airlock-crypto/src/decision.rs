//! Decision verification (enforcer side) and decision signing (approver side).

use std::collections::HashMap;

use airlock_types::HarpErrorCode;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::ed25519::{Ed25519PublicKey, Ed25519SigningKey, SignatureError};
use crate::hash::ArtifactHash;
use crate::jcs::{self, CanonicalizeError};
use crate::pairing::VerifiedApprover;
use crate::replay::{ReplayError, ReplayJournal, ReplayKey};

/// Clock skew tolerated when checking a HARP-CORE decision's `expiresAt`.
pub const CLOCK_SKEW: Duration = Duration::seconds(60);

/// The shortest time a used decision is remembered by the replay journal.
pub const MIN_REPLAY_RETENTION: Duration = Duration::minutes(10);

/// The approvers' signing keys the enforcer trusts, by signer key id.
///
/// Lookups also try the id with and without a `key-` prefix, as approvers are not
/// consistent about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedSigners {
    keys: HashMap<String, Ed25519PublicKey>,
}

impl TrustedSigners {
    /// No trusted signers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` for `signer_key_id`; returns the key it replaces, if any.
    pub fn insert(
        &mut self,
        signer_key_id: impl Into<String>,
        key: Ed25519PublicKey,
    ) -> Option<Ed25519PublicKey> {
        self.keys.insert(signer_key_id.into(), key)
    }

    /// Builder form of [`insert`](Self::insert).
    #[must_use]
    pub fn with(mut self, signer_key_id: impl Into<String>, key: Ed25519PublicKey) -> Self {
        self.insert(signer_key_id, key);
        self
    }

    /// Trusts the signer of a verified pairing response.
    pub fn insert_approver(&mut self, approver: &VerifiedApprover) -> Option<Ed25519PublicKey> {
        self.insert(approver.signer_key_id.clone(), approver.signing_key)
    }

    /// Stops trusting `signer_key_id` (exactly as inserted).
    pub fn remove(&mut self, signer_key_id: &str) -> Option<Ed25519PublicKey> {
        self.keys.remove(signer_key_id)
    }

    /// Finds the key for `signer_key_id`, trying it as given, then without a `key-`
    /// prefix (or with one, when it has none). Returns the id as stored and the key.
    #[must_use]
    pub fn get(&self, signer_key_id: &str) -> Option<(&str, &Ed25519PublicKey)> {
        let lookup = |id: &str| self.keys.get_key_value(id).map(|(k, v)| (k.as_str(), v));
        lookup(signer_key_id).or_else(|| match signer_key_id.strip_prefix("key-") {
            Some(bare) => lookup(bare),
            None => lookup(&format!("key-{signer_key_id}")),
        })
    }

    /// Number of trusted signers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no signer is trusted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The trusted signers, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Ed25519PublicKey)> {
        self.keys.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl<K: Into<String>> FromIterator<(K, Ed25519PublicKey)> for TrustedSigners {
    fn from_iter<I: IntoIterator<Item = (K, Ed25519PublicKey)>>(iter: I) -> Self {
        Self {
            keys: iter.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }
}

impl<K: Into<String>> Extend<(K, Ed25519PublicKey)> for TrustedSigners {
    fn extend<I: IntoIterator<Item = (K, Ed25519PublicKey)>>(&mut self, iter: I) {
        self.keys
            .extend(iter.into_iter().map(|(k, v)| (k.into(), v)));
    }
}

/// What the enforcer knows about the decision it is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExpectedDecision {
    /// The artifact hash computed when the artifact was submitted (64 hex digits; a
    /// `sha256:` prefix is tolerated). A value that is not a hash matches no decision.
    pub artifact_hash: String,
    /// The exchange's `requestId`.
    pub request_id: String,
    /// The session a `session`-scoped HARP-CORE decision must be bound to (its
    /// `policyHints.sessionId`). Without it, session-scoped decisions are refused.
    pub session_id: Option<String>,
    /// How long a used decision is remembered, at least [`MIN_REPLAY_RETENTION`] (and
    /// always at least until the decision's `expiresAt` + [`CLOCK_SKEW`]).
    pub min_retention: Duration,
}

impl ExpectedDecision {
    /// Expect a decision on `artifact_hash` (an [`ArtifactHash`] or its wire string) for
    /// the exchange `request_id`.
    #[must_use]
    pub fn new(artifact_hash: impl AsRef<str>, request_id: impl Into<String>) -> Self {
        Self {
            artifact_hash: artifact_hash.as_ref().to_owned(),
            request_id: request_id.into(),
            session_id: None,
            min_retention: MIN_REPLAY_RETENTION,
        }
    }

    /// Accept `session`-scoped HARP-CORE decisions bound to `session_id`.
    #[must_use]
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// Remember used decisions for `retention` (never less than [`MIN_REPLAY_RETENTION`]).
    #[must_use]
    pub fn with_min_retention(mut self, retention: Duration) -> Self {
        self.min_retention = retention.max(MIN_REPLAY_RETENTION);
        self
    }
}

/// The approver's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The action may run.
    Approve,
    /// The action must not run.
    Reject,
}

impl Verdict {
    /// Reads `approve` or `reject` (Airlock approvers) and `allow` or `deny` (HARP-CORE
    /// approvers), ASCII case-insensitively. Anything else is `None`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let is = |word: &str| text.eq_ignore_ascii_case(word);
        if is("approve") || is("allow") {
            Some(Self::Approve)
        } else if is("reject") || is("deny") {
            Some(Self::Reject)
        } else {
            None
        }
    }

    /// The Airlock wire spelling: `approve` or `reject` (HARP-CORE uses `allow`/`deny`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }
}

/// Which signature form a decision used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureForm {
    /// Airlock approvers: Ed25519 over `artifactHash|decision|nonce`.
    Airlock,
    /// HARP-CORE approvers (`sigAlg` = `Ed25519`): Ed25519 over the RFC 8785 canonical
    /// JSON of the decision without `signature`.
    HarpCore,
}

/// A decision whose signature, artifact binding, expiry and freshness were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedDecision {
    /// Approve or reject.
    pub verdict: Verdict,
    /// The approver's reason, if any. In the [`SignatureForm::Airlock`] form it is not
    /// covered by the signature: show it, never act on it.
    pub reason: Option<String>,
    /// The signer key id as stored in [`TrustedSigners`] (the wire id may differ by a
    /// `key-` prefix).
    pub signer_key_id: String,
    /// The decision's nonce.
    pub nonce: String,
    /// The artifact hash as sent by the approver.
    pub artifact_hash: String,
    /// The signed `requestId` (HARP-CORE form only).
    pub request_id: Option<String>,
    /// The signed `scope` (HARP-CORE form only), e.g. `once`.
    pub scope: Option<String>,
    /// The signed `expiresAt` (HARP-CORE form only).
    pub expires_at: Option<OffsetDateTime>,
    /// Which signature form was verified.
    pub form: SignatureForm,
}

impl VerifiedDecision {
    /// Whether the action may run.
    #[must_use]
    pub fn is_approved(&self) -> bool {
        self.verdict == Verdict::Approve
    }
}

/// Why a decision was refused. The action must be blocked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecisionError {
    /// The decision body is not a JSON object.
    #[error("decision body is not a JSON object")]
    NotAnObject,
    /// A field is missing or has the wrong type or format.
    #[error("decision field `{field}` is missing or not {expected}")]
    MalformedField {
        /// The field's wire name.
        field: &'static str,
        /// What it should have been, e.g. `"a string"`.
        expected: &'static str,
    },
    /// `decision` is none of `approve`, `reject`, `allow`, `deny`.
    #[error("unknown decision value {value:?}")]
    UnknownDecision {
        /// The value received.
        value: String,
    },
    /// `sigAlg` or `artifactHashAlg` names an algorithm this SDK does not support.
    #[error("unsupported {field} {value:?}")]
    Unsupported {
        /// `sigAlg` or `artifactHashAlg`.
        field: &'static str,
        /// The value received.
        value: String,
    },
    /// The decision is about another artifact.
    #[error("decision is for artifact {actual:?}, expected {expected:?}")]
    HashMismatch {
        /// The hash the enforcer computed.
        expected: String,
        /// The hash in the decision.
        actual: String,
    },
    /// `signerKeyId` names no trusted signer.
    #[error("decision signed by unknown signer {signer_key_id:?}")]
    UnknownSigner {
        /// The id received.
        signer_key_id: String,
    },
    /// `signature` is not a base64 Ed25519 signature of 64 bytes.
    #[error("decision signature is malformed")]
    BadSignatureEncoding(#[source] SignatureError),
    /// The signature does not verify over the decision.
    #[error("decision signature does not verify")]
    SignatureInvalid,
    /// The decision's `expiresAt` (plus clock skew) is in the past.
    #[error("decision expired at {expires_at}")]
    Expired {
        /// The signed expiry.
        expires_at: OffsetDateTime,
    },
    /// The decision is for another exchange.
    #[error("decision is for request {actual:?}, expected {expected:?}")]
    RequestIdMismatch {
        /// The exchange's request id.
        expected: String,
        /// The request id in the decision.
        actual: String,
    },
    /// The decision's `scope` does not cover this action (unknown scope, or a `session`
    /// scope without a matching `policyHints.sessionId`).
    #[error("decision scope {scope:?} does not cover this action")]
    ScopeNotSatisfied {
        /// The signed scope.
        scope: String,
    },
    /// The decision (its signer and nonce, or its request and artifact) was used before.
    #[error("decision replayed: {key} already used")]
    Replay {
        /// The key found already used.
        key: ReplayKey,
    },
    /// The decision could not be canonicalized (RFC 8785) for verification.
    #[error("decision could not be canonicalized")]
    Canonicalization(#[source] CanonicalizeError),
    /// The replay journal failed, so freshness could not be established.
    #[error("replay journal failed")]
    Journal(#[source] ReplayError),
}

impl DecisionError {
    /// The HARP error code this failure maps onto.
    ///
    /// Malformed bodies, unknown decision values and unsupported algorithms map onto
    /// `HARP_ERR_UNSUPPORTED`; unknown signers and bad signature encodings onto
    /// `HARP_ERR_SIGNATURE_INVALID`; a request id mismatch onto `HARP_ERR_SCOPE`; a
    /// journal failure onto `HARP_ERR_REPLAY` (freshness could not be proven).
    #[must_use]
    pub fn harp_code(&self) -> HarpErrorCode {
        match self {
            Self::NotAnObject
            | Self::MalformedField { .. }
            | Self::UnknownDecision { .. }
            | Self::Unsupported { .. } => HarpErrorCode::Unsupported,
            Self::HashMismatch { .. } => HarpErrorCode::HashMismatch,
            Self::UnknownSigner { .. } | Self::BadSignatureEncoding(_) | Self::SignatureInvalid => {
                HarpErrorCode::SignatureInvalid
            }
            Self::Expired { .. } => HarpErrorCode::Expired,
            Self::RequestIdMismatch { .. } | Self::ScopeNotSatisfied { .. } => HarpErrorCode::Scope,
            Self::Replay { .. } | Self::Journal(_) => HarpErrorCode::Replay,
            Self::Canonicalization(_) => HarpErrorCode::Canonicalization,
        }
    }

    /// Whether the decision was refused as a replay.
    #[must_use]
    pub fn is_replay(&self) -> bool {
        matches!(self, Self::Replay { .. })
    }
}

fn str_field<'a>(
    obj: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, DecisionError> {
    obj.get(field)
        .and_then(Value::as_str)
        .ok_or(DecisionError::MalformedField {
            field,
            expected: "a string",
        })
}

/// An optional string field: absent or `null` is `None`, another type is an error.
fn opt_str_field<'a>(
    obj: &'a Map<String, Value>,
    field: &'static str,
) -> Result<Option<&'a str>, DecisionError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(DecisionError::MalformedField {
            field,
            expected: "a string",
        }),
    }
}

/// `t + d`, clamped to the largest representable time instead of panicking.
fn saturating_add(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    t.checked_add(d)
        .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_offset(t.offset()))
}

/// The HARP-CORE signed bytes: RFC 8785 of the decision object without `signature`.
fn harp_core_signable(obj: &Map<String, Value>) -> Result<Vec<u8>, DecisionError> {
    let mut signable = obj.clone();
    signable.remove("signature");
    jcs::canonicalize_value(&Value::Object(signable)).map_err(DecisionError::Canonicalization)
}

/// The Airlock signed bytes: `artifactHash|decision|nonce` as on the wire.
fn airlock_signable(artifact_hash: &str, decision: &str, nonce: &str) -> Vec<u8> {
    [artifact_hash, decision, nonce].join("|").into_bytes()
}

/// Verifies a `decision.deliver` body (PROTOCOL.md "Decision verification", steps 1–5).
///
/// In order: `decision` is `approve`/`reject` (Airlock) or `allow`/`deny` (HARP-CORE),
/// in any case; `artifactHash` equals `expected.artifact_hash` ([`ArtifactHash::matches`]:
/// a `sha256:` prefix and hex case tolerated); `signerKeyId` is in `signers`; the
/// signature verifies — over `artifactHash|decision|nonce` for
/// Airlock approvers, or, when the body has `sigAlg` (`Ed25519`), over the RFC 8785
/// canonical JSON of the whole body minus `signature` (so unknown fields are covered),
/// followed by the HARP-CORE checks (`expiresAt` + 60 s not passed, `requestId` equals
/// `expected.request_id`, `artifactHashAlg` is SHA-256, `scope` satisfied). A
/// `requestId` in an Airlock-form body must also match. Finally the replay journal
/// records (signer, nonce) and (requestId, artifactHash) — only now, after the
/// signature verified, so forged decisions cannot burn nonces — for at least
/// `expected.min_retention` and at least until `expiresAt` + skew.
///
/// A decision therefore verifies once: delivering the same decision again is
/// [`DecisionError::Replay`].
///
/// # Security: make every artifact unique
///
/// An Airlock-form signature covers only `artifactHash|decision|nonce`, not the exchange.
/// If the enforcer submits the *same* plaintext again after the journal forgot the first
/// decision (10 minutes by default), a relay can replay the old approval for the new
/// exchange: same hash, a signature that verifies, a nonce no longer remembered. Put
/// something unique to the submission in the plaintext (the `requestId`, a timestamp or a
/// random nonce) so that every artifact hash is new, or keep used decisions longer with
/// [`ExpectedDecision::with_min_retention`]. HARP-CORE decisions sign `requestId` and are
/// bound to their exchange.
///
/// # Errors
///
/// A typed [`DecisionError`]; [`DecisionError::harp_code`] gives its `HARP_ERR_*` code.
pub fn verify_decision(
    body: &Value,
    expected: &ExpectedDecision,
    signers: &TrustedSigners,
    journal: &dyn ReplayJournal,
    now: OffsetDateTime,
) -> Result<VerifiedDecision, DecisionError> {
    let obj = body.as_object().ok_or(DecisionError::NotAnObject)?;

    // 1. The verdict.
    let decision = str_field(obj, "decision")?;
    let verdict = Verdict::parse(decision).ok_or_else(|| DecisionError::UnknownDecision {
        value: decision.to_owned(),
    })?;

    // 2. The artifact binding.
    let artifact_hash = str_field(obj, "artifactHash")?;
    // An expected hash that is not a hash matches nothing: fail closed.
    let expected_hash = ArtifactHash::parse(&expected.artifact_hash)
        .ok()
        .filter(|hash| hash.matches(artifact_hash))
        .ok_or_else(|| DecisionError::HashMismatch {
            expected: expected.artifact_hash.clone(),
            actual: artifact_hash.to_owned(),
        })?;

    // 3. The signer.
    let wire_signer = str_field(obj, "signerKeyId")?;
    let (signer_key_id, key) =
        signers
            .get(wire_signer)
            .ok_or_else(|| DecisionError::UnknownSigner {
                signer_key_id: wire_signer.to_owned(),
            })?;

    // 4. The signature.
    let nonce = str_field(obj, "nonce")?;
    let signature = str_field(obj, "signature")?;
    let reason = opt_str_field(obj, "reason")?;
    let form = match opt_str_field(obj, "sigAlg")? {
        None => SignatureForm::Airlock,
        Some(alg) if alg.eq_ignore_ascii_case("Ed25519") => SignatureForm::HarpCore,
        Some(alg) => {
            return Err(DecisionError::Unsupported {
                field: "sigAlg",
                value: alg.to_owned(),
            });
        }
    };
    let message = match form {
        SignatureForm::Airlock => airlock_signable(artifact_hash, decision, nonce),
        SignatureForm::HarpCore => harp_core_signable(obj)?,
    };
    key.verify(&message, signature).map_err(|e| {
        if e.is_encoding() {
            DecisionError::BadSignatureEncoding(e)
        } else {
            DecisionError::SignatureInvalid
        }
    })?;

    // The checks on signed HARP-CORE fields.
    let body_request_id = opt_str_field(obj, "requestId")?;
    let (request_id, scope, expires_at) = match form {
        SignatureForm::Airlock => (None, None, None),
        SignatureForm::HarpCore => {
            let expires_at = check_harp_core(obj, expected, now)?;
            let request_id = body_request_id.ok_or(DecisionError::MalformedField {
                field: "requestId",
                expected: "a string",
            })?;
            let scope = opt_str_field(obj, "scope")?;
            (
                Some(request_id.to_owned()),
                scope.map(str::to_owned),
                Some(expires_at),
            )
        }
    };
    if let Some(actual) = body_request_id
        && actual != expected.request_id
    {
        return Err(DecisionError::RequestIdMismatch {
            expected: expected.request_id.clone(),
            actual: actual.to_owned(),
        });
    }

    // 5. Freshness, recorded only now that the signature verified.
    let keys = [
        ReplayKey::signer_nonce(signer_key_id, nonce),
        ReplayKey::request_artifact(&expected.request_id, expected_hash.as_str()),
    ];
    let mut retain_until = saturating_add(now, expected.min_retention.max(MIN_REPLAY_RETENTION));
    if let Some(expires_at) = expires_at {
        retain_until = retain_until.max(saturating_add(expires_at, CLOCK_SKEW));
    }
    journal
        .check_and_record(&keys, retain_until, now)
        .map_err(|e| match e {
            ReplayError::Replayed { key } => DecisionError::Replay { key },
            other => DecisionError::Journal(other),
        })?;

    Ok(VerifiedDecision {
        verdict,
        reason: reason.map(str::to_owned),
        signer_key_id: signer_key_id.to_owned(),
        nonce: nonce.to_owned(),
        artifact_hash: artifact_hash.to_owned(),
        request_id,
        scope,
        expires_at,
        form,
    })
}

/// Nesting allowed in a decision text read by [`verify_decision_json`]: far below
/// serde_json's own recursion limit (128), so a text that passes RFC 8785 always parses.
const DECISION_MAX_DEPTH: usize = 64;

/// Verifies a `decision.deliver` body given as JSON text, like [`verify_decision`], after
/// checking that the text is strict JSON that RFC 8785 accepts.
///
/// Prefer this over [`verify_decision`] when you hold the raw body (a verifier service, an
/// audit pipeline): a text with a member twice (`"decision":"reject", …, "decision":"approve"`),
/// a lone surrogate or a number out of range is refused, so no other reader of the same bytes
/// (one that keeps the *first* duplicate, say) can see a different decision than the one
/// verified. (With a parsed `serde_json::Value`, duplicates are already gone: the last one
/// won, and the signature is checked over that same value, so they cannot split the
/// signature from the verdict — they only go unnoticed.)
///
/// ```
/// use airlock_crypto::{
///     DecisionError, Ed25519SigningKey, ExpectedDecision, MemoryReplayJournal, TrustedSigners,
///     sign_decision, verify_decision_json,
/// };
///
/// let approver = Ed25519SigningKey::generate();
/// let signers = TrustedSigners::new().with("key-1", approver.public_key());
/// let hash = "8e326e1f69e5859a3b5b12965f06b5829f09b12d1748aa2fddb609fb44f831c1";
/// let expected = ExpectedDecision::new(hash, "req-1");
/// let journal = MemoryReplayJournal::new();
/// let now = time::OffsetDateTime::now_utc();
///
/// let signature = sign_decision(&approver, hash, "reject", "n-1");
/// let body = format!(
///     r#"{{"artifactHash":"{hash}","decision":"reject","signerKeyId":"key-1","nonce":"n-1","signature":"{signature}"}}"#
/// );
/// // A relay slips in a second `decision`: refused before any signature check.
/// let tampered = body.replacen('{', r#"{"decision":"approve","#, 1);
/// assert!(matches!(
///     verify_decision_json(tampered.as_bytes(), &expected, &signers, &journal, now),
///     Err(DecisionError::Canonicalization(_))
/// ));
/// let decision = verify_decision_json(body.as_bytes(), &expected, &signers, &journal, now)?;
/// assert!(!decision.is_approved());
/// # Ok::<(), DecisionError>(())
/// ```
///
/// # Errors
///
/// [`DecisionError::Canonicalization`] for text that is not strict JSON (including duplicate
/// member names and nesting deeper than 64), otherwise as [`verify_decision`].
pub fn verify_decision_json(
    body: &[u8],
    expected: &ExpectedDecision,
    signers: &TrustedSigners,
    journal: &dyn ReplayJournal,
    now: OffsetDateTime,
) -> Result<VerifiedDecision, DecisionError> {
    jcs::Canonicalizer::new()
        .with_max_depth(DECISION_MAX_DEPTH)
        .canonicalize(body)
        .map_err(DecisionError::Canonicalization)?;
    // Strict JSON within serde_json's recursion limit: parsing cannot fail; if it somehow
    // did, the body is refused all the same.
    let value: Value = serde_json::from_slice(body).map_err(|_| DecisionError::NotAnObject)?;
    verify_decision(&value, expected, signers, journal, now)
}

/// HARP-CORE checks after the signature verified: hash algorithm, expiry, scope.
/// Returns the signed expiry.
fn check_harp_core(
    obj: &Map<String, Value>,
    expected: &ExpectedDecision,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, DecisionError> {
    if let Some(alg) = opt_str_field(obj, "artifactHashAlg")?
        && !alg.eq_ignore_ascii_case("SHA-256")
    {
        return Err(DecisionError::Unsupported {
            field: "artifactHashAlg",
            value: alg.to_owned(),
        });
    }
    let expires_at =
        OffsetDateTime::parse(str_field(obj, "expiresAt")?, &Rfc3339).map_err(|_| {
            DecisionError::MalformedField {
                field: "expiresAt",
                expected: "an RFC 3339 timestamp",
            }
        })?;
    if now > saturating_add(expires_at, CLOCK_SKEW) {
        return Err(DecisionError::Expired { expires_at });
    }
    match opt_str_field(obj, "scope")? {
        None | Some("once" | "timebox") => {}
        Some("session") => {
            let bound = obj
                .get("policyHints")
                .and_then(|hints| hints.get("sessionId"))
                .and_then(Value::as_str);
            if bound.is_none() || bound != expected.session_id.as_deref() {
                return Err(DecisionError::ScopeNotSatisfied {
                    scope: "session".to_owned(),
                });
            }
        }
        Some(other) => {
            return Err(DecisionError::ScopeNotSatisfied {
                scope: other.to_owned(),
            });
        }
    }
    Ok(expires_at)
}

/// Signs a decision in the Airlock form (the approver side, used by the sandbox's
/// simulated approver): Ed25519 over `artifactHash|decision|nonce`, returned as base64url
/// without padding — the `signature` field.
#[must_use]
pub fn sign_decision(
    key: &Ed25519SigningKey,
    artifact_hash: &str,
    decision: &str,
    nonce: &str,
) -> String {
    key.sign(&airlock_signable(artifact_hash, decision, nonce))
}

/// Signs a HARP-CORE decision object: Ed25519 over the RFC 8785 canonical JSON of the
/// object without its `signature` member (if any). Returns the `signature` field
/// (base64url, no padding). Set `sigAlg` to `Ed25519` in the object before signing.
///
/// # Errors
///
/// [`DecisionError::NotAnObject`], or [`DecisionError::Canonicalization`].
pub fn sign_decision_harp_core(
    key: &Ed25519SigningKey,
    decision: &Value,
) -> Result<String, DecisionError> {
    let obj = decision.as_object().ok_or(DecisionError::NotAnObject)?;
    Ok(key.sign(&harp_core_signable(obj)?))
}
