//! Artifacts, exchanges, decisions and acknowledgements.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::macros::wire_enum;
use crate::payload::EncryptedPayload;
use crate::serde_util::null_as_default;
use crate::timestamp::Timestamp;

/// Well-known `artifactType` values. The field is a free string; these are the names in use.
pub mod artifact_type {
    /// The Airlock default: a command waiting for approval.
    pub const COMMAND_APPROVAL: &str = "command-approval";
    /// HARP: review of a command.
    pub const COMMAND_REVIEW: &str = "command.review";
    /// HARP: review of a plan.
    pub const PLAN_REVIEW: &str = "plan.review";
    /// HARP: review of a patch.
    pub const PATCH_REVIEW: &str = "patch.review";
    /// HARP: review of a task.
    pub const TASK_REVIEW: &str = "task.review";
    /// HARP: review at a checkpoint.
    pub const CHECKPOINT_REVIEW: &str = "checkpoint.review";
}

/// Well-known keys of the cleartext artifact `metadata`.
pub mod metadata_key {
    /// Routing: the pairing's routing token (consumed by the gateway).
    pub const ROUTING_TOKEN: &str = "routingToken";
    /// Routing: the approver to route to.
    pub const APPROVER_ID: &str = "approverId";
    /// Routing: the tenant.
    pub const TENANT_ID: &str = "tenantId";
    /// Display: the workspace name shown to the approver.
    pub const WORKSPACE_NAME: &str = "workspaceName";
    /// Display: the repository name shown to the approver.
    pub const REPO_NAME: &str = "repoName";
    /// Display: a short label for the request.
    pub const REQUEST_LABEL: &str = "requestLabel";
    /// DND audit artifacts: `"true"`.
    pub const DND_AUDIT: &str = "dndAudit";
    /// DND audit artifacts: `"approve"` or `"reject"`.
    pub const DND_DECISION: &str = "dndDecision";
}

/// The body of `artifact.submit`: an encrypted artifact waiting for a decision.
///
/// `metadata` is cleartext for the gateway — routing and display keys only (see
/// [`metadata_key`]); anything secret belongs in the ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ArtifactSubmitBody {
    /// What kind of artifact; see [`artifact_type`].
    pub artifact_type: String,
    /// SHA-256 of the canonical plaintext, 64 lower-case hex digits.
    pub artifact_hash: String,
    /// The encrypted canonical plaintext.
    pub ciphertext: EncryptedPayload,
    /// When the artifact stops waiting for a decision.
    pub expires_at: Timestamp,
    /// Cleartext routing and display keys.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: BTreeMap<String, String>,
}

impl ArtifactSubmitBody {
    /// How long an artifact waits by default: 10 minutes.
    pub const DEFAULT_TTL: time::Duration = time::Duration::minutes(10);

    /// A `command-approval` artifact expiring in [`Self::DEFAULT_TTL`], with no metadata.
    #[must_use]
    pub fn new(artifact_hash: impl Into<String>, ciphertext: EncryptedPayload) -> Self {
        Self {
            artifact_type: artifact_type::COMMAND_APPROVAL.to_owned(),
            artifact_hash: artifact_hash.into(),
            ciphertext,
            expires_at: Timestamp::now().saturating_add(Self::DEFAULT_TTL),
            metadata: BTreeMap::new(),
        }
    }

    /// Sets the artifact type.
    #[must_use]
    pub fn with_artifact_type(mut self, artifact_type: impl Into<String>) -> Self {
        self.artifact_type = artifact_type.into();
        self
    }

    /// Sets the expiry.
    #[must_use]
    pub fn with_expires_at(mut self, expires_at: Timestamp) -> Self {
        self.expires_at = expires_at;
        self
    }

    /// Adds (or replaces) one metadata entry.
    #[must_use]
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

wire_enum! {
    /// The state of an exchange. Read case-insensitively; unknown states are kept.
    pub enum ExchangeState {
        /// Waiting for the approver (`Pending`; `PendingApproval` reads as this too).
        Pending = "Pending" | "PendingApproval",
        /// The approver decided; the decision is waiting for the enforcer.
        Decided = "Decided",
        /// The decision was delivered to the enforcer.
        Delivered = "Delivered",
        /// Nobody decided in time.
        Expired = "Expired",
        /// The enforcer withdrew the artifact.
        Withdrawn = "Withdrawn",
        /// Cancelled by the gateway or the approver.
        Cancelled = "Cancelled" | "Canceled",
    }
}

impl ExchangeState {
    /// Whether no decision can arrive any more (`Expired`, `Withdrawn`, `Cancelled`).
    #[must_use]
    pub fn is_closed_without_decision(&self) -> bool {
        matches!(self, Self::Expired | Self::Withdrawn | Self::Cancelled)
    }

    /// Whether the exchange has a decision (`Decided` or `Delivered`).
    #[must_use]
    pub fn has_decision(&self) -> bool {
        matches!(self, Self::Decided | Self::Delivered)
    }
}

/// The body of `artifact.accepted`: the gateway stored the artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ArtifactAcceptedBody {
    /// The exchange id (optional: the envelope carries it too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The stored artifact's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_hash: Option<String>,
    /// The exchange state after accepting (normally `Pending`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ExchangeState>,
    /// When the artifact expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl ArtifactAcceptedBody {
    /// An acceptance of `request_id` with every optional field unset.
    #[must_use]
    pub fn new(request_id: impl Into<String>) -> Self {
        Self {
            request_id: Some(request_id.into()),
            artifact_hash: None,
            state: None,
            expires_at: None,
        }
    }
}

/// The body of `exchange.status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExchangeStatusBody {
    /// The exchange id (optional: the envelope carries it too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The state.
    pub state: ExchangeState,
    /// The artifact's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_hash: Option<String>,
    /// The artifact's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// When the artifact was submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When the artifact expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// When the approver decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    /// The decision, when there is one. Verify it before acting on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionBody>,
}

impl ExchangeStatusBody {
    /// A status of `request_id` in `state`, every optional field unset.
    #[must_use]
    pub fn new(request_id: impl Into<String>, state: ExchangeState) -> Self {
        Self {
            request_id: Some(request_id.into()),
            state,
            artifact_hash: None,
            artifact_type: None,
            created_at: None,
            expires_at: None,
            decided_at: None,
            decision: None,
        }
    }
}

/// The body of `exchange.withdrawn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExchangeWithdrawnBody {
    /// The exchange id (optional: the envelope carries it too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The state after withdrawal (normally `Withdrawn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ExchangeState>,
    /// When it was withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<Timestamp>,
}

impl ExchangeWithdrawnBody {
    /// A withdrawal of `request_id` in state `Withdrawn`.
    #[must_use]
    pub fn new(request_id: impl Into<String>) -> Self {
        Self {
            request_id: Some(request_id.into()),
            state: Some(ExchangeState::Withdrawn),
            withdrawn_at: None,
        }
    }
}

wire_enum! {
    /// The approver's verdict. Read case-insensitively; written `approve` / `reject`.
    pub enum Decision {
        /// Let the action run.
        Approve = "approve",
        /// Block the action.
        Reject = "reject",
    }
}

/// The body of `decision.deliver` (gateway → enforcer) and `decision.submit`
/// (approver → gateway).
///
/// This type is for reading and writing. It is **not** the input of signature
/// verification: a HARP-CORE signature covers the canonical JSON of every field the
/// approver sent, so verification works on the raw JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DecisionBody {
    /// The hash of the artifact decided on (a `sha256:` prefix may appear).
    pub artifact_hash: String,
    /// Approve or reject.
    pub decision: Decision,
    /// The approver's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Which paired signing key signed.
    pub signer_key_id: String,
    /// The approver's nonce (replay protection).
    pub nonce: String,
    /// The Ed25519 signature, base64url.
    pub signature: String,
    /// A hash of the decision, when the approver sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_hash: Option<String>,
    /// HARP-CORE: the exchange id the decision is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// HARP-CORE: the scope of the decision (e.g. `once`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// HARP-CORE: when the decision stops being valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// HARP-CORE: the signature algorithm (`Ed25519`); marks a HARP-CORE decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig_alg: Option<String>,
    /// HARP-CORE: the artifact hash algorithm (`SHA-256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_hash_alg: Option<String>,
    /// HARP-CORE: the repository reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_ref: Option<String>,
}

impl DecisionBody {
    /// The `sigAlg` value of HARP-CORE decisions.
    pub const SIG_ALG_ED25519: &'static str = "Ed25519";

    /// A decision with the required fields; every HARP-CORE extra unset.
    #[must_use]
    pub fn new(
        artifact_hash: impl Into<String>,
        decision: Decision,
        signer_key_id: impl Into<String>,
        nonce: impl Into<String>,
        signature: impl Into<String>,
    ) -> Self {
        Self {
            artifact_hash: artifact_hash.into(),
            decision,
            reason: None,
            signer_key_id: signer_key_id.into(),
            nonce: nonce.into(),
            signature: signature.into(),
            decision_hash: None,
            request_id: None,
            scope: None,
            expires_at: None,
            sig_alg: None,
            artifact_hash_alg: None,
            repo_ref: None,
        }
    }

    /// Whether the approver used the HARP-CORE signing scheme (`sigAlg` is `Ed25519`,
    /// case-insensitive).
    #[must_use]
    pub fn is_harp_core(&self) -> bool {
        self.sig_alg
            .as_deref()
            .is_some_and(|alg| alg.eq_ignore_ascii_case(Self::SIG_ALG_ED25519))
    }
}

/// The body of `decision.accepted` (gateway → approver).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DecisionAcceptedBody {
    /// The exchange id (optional: the envelope carries it too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The artifact decided on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_hash: Option<String>,
    /// The exchange state after accepting (normally `Decided`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ExchangeState>,
    /// When the gateway stored the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
}

impl DecisionAcceptedBody {
    /// An acceptance of the decision on `request_id`, state `Decided`.
    #[must_use]
    pub fn new(request_id: impl Into<String>) -> Self {
        Self {
            request_id: Some(request_id.into()),
            artifact_hash: None,
            state: Some(ExchangeState::Decided),
            decided_at: None,
        }
    }
}

wire_enum! {
    /// The status carried by an acknowledgement.
    ///
    /// The Airlock SDKs send `delivered` (the default); HARP-GW also lists `received` and
    /// `processed`.
    #[derive(Default)]
    pub enum AckStatus {
        /// The decision reached the enforcer (default).
        #[default]
        Delivered = "delivered",
        /// HARP-GW: received.
        Received = "received",
        /// HARP-GW: processed.
        Processed = "processed",
    }
}

/// The body of `ack.submit`: the enforcer got the decision message `msg_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AckBody {
    /// The `msgId` of the acknowledged `decision.deliver` message.
    pub msg_id: String,
    /// The acknowledgement status; `delivered` when absent.
    #[serde(default)]
    pub status: AckStatus,
    /// When the enforcer acknowledged.
    pub ack_at: Timestamp,
}

impl AckBody {
    /// A `delivered` acknowledgement of `msg_id`, now.
    #[must_use]
    pub fn delivered(msg_id: impl Into<String>) -> Self {
        Self::new(msg_id, AckStatus::Delivered)
    }

    /// An acknowledgement of `msg_id` with `status`, now.
    #[must_use]
    pub fn new(msg_id: impl Into<String>, status: AckStatus) -> Self {
        Self {
            msg_id: msg_id.into(),
            status,
            ack_at: Timestamp::now(),
        }
    }
}

/// One pending artifact in an approver's inbox (`GET /v1/approvers/{approverId}/inbox`).
///
/// Approver side; this shape is this SDK's design (the sandbox serves it): the
/// `artifact.submit` body plus the exchange and enforcer it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InboxItem {
    /// The exchange id.
    pub request_id: String,
    /// The artifact type.
    pub artifact_type: String,
    /// The artifact hash the decision must name.
    pub artifact_hash: String,
    /// The encrypted artifact.
    pub ciphertext: EncryptedPayload,
    /// Cleartext metadata as submitted.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: BTreeMap<String, String>,
    /// When the artifact expires.
    pub expires_at: Timestamp,
    /// The submitting enforcer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcer_id: Option<String>,
    /// When the artifact was submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// The exchange state (normally `Pending`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ExchangeState>,
}

impl InboxItem {
    /// An inbox item for the artifact `body` of exchange `request_id`.
    #[must_use]
    pub fn new(request_id: impl Into<String>, body: ArtifactSubmitBody) -> Self {
        Self {
            request_id: request_id.into(),
            artifact_type: body.artifact_type,
            artifact_hash: body.artifact_hash,
            ciphertext: body.ciphertext,
            metadata: body.metadata,
            expires_at: body.expires_at,
            enforcer_id: None,
            created_at: None,
            state: None,
        }
    }
}

/// An approver's inbox: the artifacts waiting for a decision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InboxResponse {
    /// The pending items (a missing or `null` list reads as empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub items: Vec<InboxItem>,
}

impl InboxResponse {
    /// An inbox holding `items`.
    #[must_use]
    pub fn new(items: Vec<InboxItem>) -> Self {
        Self { items }
    }
}
