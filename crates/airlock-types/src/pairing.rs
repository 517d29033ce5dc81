//! Pairing an enforcer with an approver, both sides.

use serde::{Deserialize, Deserializer, Serialize};

use crate::macros::wire_enum;
use crate::timestamp::Timestamp;

/// `POST /v1/pairing/initiate`: the enforcer starts a pairing session and gets a code to
/// show the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PairingInitiateRequest {
    /// A stable id of the enforcer's device.
    pub device_id: String,
    /// The enforcer's id.
    pub enforcer_id: String,
    /// The gateway URL the approver should use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_url: Option<String>,
    /// The enforcer's X25519 public key (base64url, no padding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x25519_public_key: Option<String>,
    /// A label for the enforcer shown to the approver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcer_label: Option<String>,
    /// The workspace name shown to the approver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_name: Option<String>,
}

impl PairingInitiateRequest {
    /// A request with only the required ids.
    #[must_use]
    pub fn new(device_id: impl Into<String>, enforcer_id: impl Into<String>) -> Self {
        Self {
            device_id: device_id.into(),
            enforcer_id: enforcer_id.into(),
            gateway_url: None,
            x25519_public_key: None,
            enforcer_label: None,
            workspace_name: None,
        }
    }

    /// Sets the gateway URL.
    #[must_use]
    pub fn with_gateway_url(mut self, gateway_url: impl Into<String>) -> Self {
        self.gateway_url = Some(gateway_url.into());
        self
    }

    /// Sets the enforcer's X25519 public key (base64url).
    #[must_use]
    pub fn with_x25519_public_key(mut self, key: impl Into<String>) -> Self {
        self.x25519_public_key = Some(key.into());
        self
    }

    /// Sets the enforcer label.
    #[must_use]
    pub fn with_enforcer_label(mut self, label: impl Into<String>) -> Self {
        self.enforcer_label = Some(label.into());
        self
    }

    /// Sets the workspace name.
    #[must_use]
    pub fn with_workspace_name(mut self, name: impl Into<String>) -> Self {
        self.workspace_name = Some(name.into());
        self
    }
}

/// The pairing session created by `POST /v1/pairing/initiate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PairingInitiateResponse {
    /// The session nonce, used to poll the status.
    pub pairing_nonce: String,
    /// The code the user types into the approver app.
    pub pairing_code: String,
    /// The device id from the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The gateway URL, when the gateway echoes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_url: Option<String>,
    /// When the code stops working.
    pub expires_at: Timestamp,
}

impl PairingInitiateResponse {
    /// A session with every optional field unset.
    #[must_use]
    pub fn new(
        pairing_nonce: impl Into<String>,
        pairing_code: impl Into<String>,
        expires_at: Timestamp,
    ) -> Self {
        Self {
            pairing_nonce: pairing_nonce.into(),
            pairing_code: pairing_code.into(),
            device_id: None,
            gateway_url: None,
            expires_at,
        }
    }
}

/// `POST /v1/pairing/claim`: the enforcer claims a code the approver pre-generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PairingClaimRequest {
    /// The code shown by the approver app.
    pub pairing_code: String,
    /// A stable id of the enforcer's device.
    pub device_id: String,
    /// The enforcer's id.
    pub enforcer_id: String,
    /// A label for the enforcer shown to the approver.
    pub enforcer_label: String,
    /// The workspace name shown to the approver.
    pub workspace_name: String,
    /// The gateway URL the approver should use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_url: Option<String>,
    /// The enforcer's X25519 public key (base64url, no padding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x25519_public_key: Option<String>,
}

impl PairingClaimRequest {
    /// A claim with the required fields.
    #[must_use]
    pub fn new(
        pairing_code: impl Into<String>,
        device_id: impl Into<String>,
        enforcer_id: impl Into<String>,
        enforcer_label: impl Into<String>,
        workspace_name: impl Into<String>,
    ) -> Self {
        Self {
            pairing_code: pairing_code.into(),
            device_id: device_id.into(),
            enforcer_id: enforcer_id.into(),
            enforcer_label: enforcer_label.into(),
            workspace_name: workspace_name.into(),
            gateway_url: None,
            x25519_public_key: None,
        }
    }

    /// Sets the gateway URL.
    #[must_use]
    pub fn with_gateway_url(mut self, gateway_url: impl Into<String>) -> Self {
        self.gateway_url = Some(gateway_url.into());
        self
    }

    /// Sets the enforcer's X25519 public key (base64url).
    #[must_use]
    pub fn with_x25519_public_key(mut self, key: impl Into<String>) -> Self {
        self.x25519_public_key = Some(key.into());
        self
    }
}

/// The answer to a claim: poll the status with `pairing_nonce`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PairingClaimResponse {
    /// The session nonce.
    pub pairing_nonce: String,
    /// When the session stops working.
    pub expires_at: Timestamp,
    /// The routing token, when the gateway already has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_token: Option<String>,
}

impl PairingClaimResponse {
    /// A claim answer without a routing token.
    #[must_use]
    pub fn new(pairing_nonce: impl Into<String>, expires_at: Timestamp) -> Self {
        Self {
            pairing_nonce: pairing_nonce.into(),
            expires_at,
            routing_token: None,
        }
    }
}

wire_enum! {
    /// The state of a pairing session. Read case-insensitively; unknown states are kept.
    pub enum PairingState {
        /// Waiting for the approver.
        Pending = "Pending",
        /// The approver completed it; `responseJson` is present.
        Completed = "Completed",
        /// Nobody completed it in time.
        Expired = "Expired",
        /// The pairing was revoked.
        Revoked = "Revoked",
    }
}

/// `GET /v1/pairing/{nonce}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PairingStatusResponse {
    /// The session nonce.
    pub pairing_nonce: String,
    /// The session state.
    pub state: PairingState,
    /// The routing token to put in artifact metadata, once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_token: Option<String>,
    /// The approver's signed [`PairingResponseDocument`] as a JSON string, once completed.
    /// A JSON object in its place is also accepted (kept as its JSON text).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json_text"
    )]
    pub response_json: Option<String>,
    /// When the session expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl PairingStatusResponse {
    /// A status with every optional field unset.
    #[must_use]
    pub fn new(pairing_nonce: impl Into<String>, state: PairingState) -> Self {
        Self {
            pairing_nonce: pairing_nonce.into(),
            state,
            routing_token: None,
            response_json: None,
            expires_at: None,
        }
    }

    /// Parses `response_json`; `None` when there is none. The document still has to be
    /// verified (signature, nonce) before its keys are trusted.
    pub fn response_document(&self) -> Option<Result<PairingResponseDocument, serde_json::Error>> {
        self.response_json
            .as_deref()
            .map(PairingResponseDocument::from_json)
    }
}

/// Reads a string, or any other JSON value as its JSON text; `null` as `None`.
fn json_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Option::<serde_json::Value>::deserialize(deserializer)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(text)) => Ok(Some(text)),
        Some(other) => Ok(Some(other.to_string())),
    }
}

/// The approver's signed pairing answer (the `responseJson` string).
///
/// The signature is by `public_key` over [`signed_message`](Self::signed_message); verify it
/// (and that `pairing_nonce` is the session's) before trusting the keys. Every field is kept
/// as the exact string received, because the signature covers those strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PairingResponseDocument {
    /// The id of the approver's signing key.
    pub signer_key_id: String,
    /// The Ed25519 public key, base64 (32 bytes).
    pub public_key: String,
    /// The pairing session's nonce.
    pub pairing_nonce: String,
    /// The approver's timestamp, kept as the exact signed string.
    pub timestamp: String,
    /// The approver's X25519 public key, base64url (32 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x25519_public_key: Option<String>,
    /// The Ed25519 signature, base64url (64 bytes).
    pub signature: String,
}

impl PairingResponseDocument {
    /// A document; `signature` is usually filled in after signing
    /// [`signed_message`](Self::signed_message).
    #[must_use]
    pub fn new(
        signer_key_id: impl Into<String>,
        public_key: impl Into<String>,
        pairing_nonce: impl Into<String>,
        timestamp: impl Into<String>,
        x25519_public_key: Option<String>,
    ) -> Self {
        Self {
            signer_key_id: signer_key_id.into(),
            public_key: public_key.into(),
            pairing_nonce: pairing_nonce.into(),
            timestamp: timestamp.into(),
            x25519_public_key,
            signature: String::new(),
        }
    }

    /// Reads the document from the `responseJson` string.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The document as the `responseJson` string.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// The exact UTF-8 string the signature covers:
    /// `signerKeyId|publicKey|pairingNonce|timestamp|x25519PublicKey`, or the first four
    /// fields when there is no X25519 key (absent or empty, as the verifier reads it).
    ///
    /// `|` is the separator, so no field may contain one: `airlock_crypto`'s verifier refuses
    /// such a document, since a `|` inside a field would let a relay move field boundaries
    /// under the same signature.
    ///
    /// ```
    /// use airlock_types::PairingResponseDocument;
    ///
    /// let doc = PairingResponseDocument::new("k1", "PUB", "n1", "2026-02-24T10:00:00Z", Some("X".into()));
    /// assert_eq!(doc.signed_message(), "k1|PUB|n1|2026-02-24T10:00:00Z|X");
    ///
    /// let four = PairingResponseDocument::new("k1", "PUB", "n1", "2026-02-24T10:00:00Z", Some(String::new()));
    /// assert_eq!(four.signed_message(), "k1|PUB|n1|2026-02-24T10:00:00Z");
    /// ```
    #[must_use]
    pub fn signed_message(&self) -> String {
        let mut parts = vec![
            self.signer_key_id.as_str(),
            self.public_key.as_str(),
            self.pairing_nonce.as_str(),
            self.timestamp.as_str(),
        ];
        if let Some(x25519) = self.x25519_public_key.as_deref().filter(|x| !x.is_empty()) {
            parts.push(x25519);
        }
        parts.join("|")
    }
}

/// `POST /v1/pairing/revoke`: ends a pairing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PairingRevokeRequest {
    /// The pairing's routing token.
    pub routing_token: String,
}

impl PairingRevokeRequest {
    /// A revocation of the pairing behind `routing_token`.
    #[must_use]
    pub fn new(routing_token: impl Into<String>) -> Self {
        Self {
            routing_token: routing_token.into(),
        }
    }
}

/// The answer to a revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PairingRevokeResponse {
    /// The pairing's state afterwards (normally `Revoked`).
    pub status: PairingState,
    /// The enforcer whose pairing was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcer_id: Option<String>,
}

impl PairingRevokeResponse {
    /// A `Revoked` answer for `enforcer_id`.
    #[must_use]
    pub fn revoked(enforcer_id: Option<String>) -> Self {
        Self {
            status: PairingState::Revoked,
            enforcer_id,
        }
    }
}

/// Approver side, `GET /v1/pairing/resolve/{code}`: what the approver app shows before the
/// user confirms a pairing. This shape is this SDK's design (the sandbox serves it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PairingResolveResponse {
    /// The session nonce the approver must sign.
    pub pairing_nonce: String,
    /// The enforcer asking to pair.
    pub enforcer_id: String,
    /// The enforcer's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcer_label: Option<String>,
    /// The enforcer's workspace name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_name: Option<String>,
    /// The enforcer's device id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The enforcer's X25519 public key (base64url), for the E2E key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x25519_public_key: Option<String>,
    /// The gateway URL the enforcer gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_url: Option<String>,
    /// The session state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<PairingState>,
    /// When the session expires.
    pub expires_at: Timestamp,
}

impl PairingResolveResponse {
    /// A resolution with every optional field unset.
    #[must_use]
    pub fn new(
        pairing_nonce: impl Into<String>,
        enforcer_id: impl Into<String>,
        expires_at: Timestamp,
    ) -> Self {
        Self {
            pairing_nonce: pairing_nonce.into(),
            enforcer_id: enforcer_id.into(),
            enforcer_label: None,
            workspace_name: None,
            device_id: None,
            x25519_public_key: None,
            gateway_url: None,
            state: None,
            expires_at,
        }
    }
}

/// Approver side, `POST /v1/pairing/complete`: the approver's signed answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PairingCompleteRequest {
    /// The session nonce (also read from `nonce`, the name PROTOCOL.md uses here).
    #[serde(alias = "nonce")]
    pub pairing_nonce: String,
    /// The approver's id.
    pub approver_id: String,
    /// The approver's Ed25519 public key, base64.
    pub public_key: String,
    /// The signed [`PairingResponseDocument`] as a JSON string (relayed as-is to the
    /// enforcer).
    pub response_json: String,
    /// The approver's signing key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_key_id: Option<String>,
    /// The approver's X25519 public key, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x25519_public_key: Option<String>,
}

impl PairingCompleteRequest {
    /// A completion carrying `document` (serialized into `responseJson`); the key fields
    /// are copied from the document.
    pub fn from_document(
        approver_id: impl Into<String>,
        document: &PairingResponseDocument,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            pairing_nonce: document.pairing_nonce.clone(),
            approver_id: approver_id.into(),
            public_key: document.public_key.clone(),
            response_json: document.to_json()?,
            signer_key_id: Some(document.signer_key_id.clone()),
            x25519_public_key: document.x25519_public_key.clone(),
        })
    }
}

/// Approver side: the answer to `POST /v1/pairing/complete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PairingCompleteResponse {
    /// The session nonce.
    pub pairing_nonce: String,
    /// The session state (normally `Completed`).
    pub state: PairingState,
    /// The routing token of the new pairing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_token: Option<String>,
}

impl PairingCompleteResponse {
    /// A `Completed` answer.
    #[must_use]
    pub fn completed(pairing_nonce: impl Into<String>, routing_token: Option<String>) -> Self {
        Self {
            pairing_nonce: pairing_nonce.into(),
            state: PairingState::Completed,
            routing_token,
        }
    }
}

/// Approver side, `POST /v1/pairing/pre-generate`: the approver asks for a code that an
/// enforcer can claim (30-minute TTL by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PairingPreGenerateRequest {
    /// The approver's id.
    pub approver_id: String,
    /// A label for the approver's device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver_label: Option<String>,
    /// The requested lifetime of the code, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
}

impl PairingPreGenerateRequest {
    /// The default lifetime of a pre-generated code: 30 minutes.
    pub const DEFAULT_TTL_SECONDS: u64 = 30 * 60;

    /// A request for `approver_id` with the default lifetime.
    #[must_use]
    pub fn new(approver_id: impl Into<String>) -> Self {
        Self {
            approver_id: approver_id.into(),
            approver_label: None,
            ttl_seconds: None,
        }
    }
}

/// Approver side: the pre-generated code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PairingPreGenerateResponse {
    /// The code the user types into the enforcer.
    pub pairing_code: String,
    /// When the code stops working.
    pub expires_at: Timestamp,
    /// The approver's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver_id: Option<String>,
}

impl PairingPreGenerateResponse {
    /// A code without the optional fields.
    #[must_use]
    pub fn new(pairing_code: impl Into<String>, expires_at: Timestamp) -> Self {
        Self {
            pairing_code: pairing_code.into(),
            expires_at,
            approver_id: None,
        }
    }
}
