//! Wire models of the Airlock Integrations Gateway (HARP): plain serde types, no I/O, no
//! crypto.
//!
//! Every request, response and envelope of the protocol, for both the enforcer and the
//! approver side, plus the OAuth / OpenID Connect documents the sign-in flows read.
//!
//! * **Exact writers** — camelCase field names on gateway types (snake_case on OAuth
//!   types), unset optionals omitted (never `null`), timestamps in RFC 3339 UTC (`…Z`), ids
//!   `req-<uuid>` / `msg-<uuid>` / `ack-<uuid>`.
//! * **Tolerant readers** — unknown fields ignored; explicit `null` accepted for every
//!   optional field and read as empty for every list and map; timestamps with offsets and
//!   fractions normalized to UTC; states, decisions and error codes are enums with an
//!   `Unknown(String)` arm, read case-insensitively and written back unchanged.
//!
//! # Submitting an artifact (enforcer)
//!
//! ```
//! use airlock_types::{
//!     artifact_type, metadata_key, new_request_id, ArtifactSubmitBody, EncryptedPayload,
//!     Envelope,
//! };
//!
//! // The ciphertext and hash come from airlock-crypto.
//! let ciphertext = EncryptedPayload::new("Y2lwaGVy".into(), "bm9uY2Vub25jZQ==".into(), Some("dGFn".into()));
//! let body = ArtifactSubmitBody::new("ab".repeat(32), ciphertext)
//!     .with_artifact_type(artifact_type::COMMAND_APPROVAL)
//!     .with_metadata(metadata_key::ROUTING_TOKEN, "rt-123")
//!     .with_metadata(metadata_key::WORKSPACE_NAME, "widgets");
//! let envelope = Envelope::artifact_submit(new_request_id(), "enf-1", body);
//!
//! let json = serde_json::to_value(&envelope).unwrap();
//! assert_eq!(json["msgType"], "artifact.submit");
//! assert_eq!(json["sender"]["enforcerId"], "enf-1");
//! assert_eq!(json["body"]["metadata"]["routingToken"], "rt-123");
//! assert!(json["createdAt"].as_str().unwrap().ends_with('Z'));
//! ```
//!
//! # Reading a decision and acknowledging it (enforcer)
//!
//! ```
//! use airlock_types::{AckBody, Decision, DecisionBody, Envelope};
//!
//! let wire = r#"{"msgId":"msg-1","msgType":"decision.deliver","requestId":"req-1",
//!   "createdAt":"2026-02-24T12:00:00.250+02:00","unknownField":true,
//!   "body":{"artifactHash":"ab","decision":"Approve","reason":null,
//!           "signerKeyId":"key-1","nonce":"n1","signature":"sig"}}"#;
//! let delivered: Envelope<DecisionBody> = serde_json::from_str(wire).unwrap();
//! assert_eq!(delivered.body.decision, Decision::Approve);
//! assert_eq!(delivered.created_at.to_string(), "2026-02-24T10:00:00.25Z");
//! // Verify the decision (airlock-crypto) on the raw JSON before acting on it, then:
//! let ack = Envelope::ack(&delivered.request_id, "enf-1", AckBody::delivered(&delivered.msg_id));
//! assert!(ack.msg_id.starts_with("ack-"));
//! assert_eq!(serde_json::to_value(&ack).unwrap()["body"]["status"], "delivered");
//! ```
//!
//! # Pairing (enforcer)
//!
//! ```
//! use airlock_types::{PairingInitiateRequest, PairingState, PairingStatusResponse};
//!
//! let request = PairingInitiateRequest::new("dev-1", "enf-1").with_enforcer_label("CI bot");
//! assert_eq!(
//!     serde_json::to_string(&request).unwrap(),
//!     r#"{"deviceId":"dev-1","enforcerId":"enf-1","enforcerLabel":"CI bot"}"#
//! );
//!
//! let status: PairingStatusResponse = serde_json::from_str(
//!     r#"{"pairingNonce":"n1","state":"completed","routingToken":"rt-1",
//!        "responseJson":"{\"signerKeyId\":\"k1\",\"publicKey\":\"PUB\",\"pairingNonce\":\"n1\",\"timestamp\":\"t\",\"signature\":\"S\"}"}"#,
//! ).unwrap();
//! assert_eq!(status.state, PairingState::Completed);
//! let doc = status.response_document().unwrap().unwrap();
//! // Verify `doc.signature` over this string with `doc.public_key` (airlock-crypto):
//! assert_eq!(doc.signed_message(), "k1|PUB|n1|t");
//! ```
//!
//! # Errors
//!
//! ```
//! use airlock_types::{ErrorCode, ErrorEnvelope, FlatError, HarpErrorCode};
//!
//! let e: ErrorEnvelope = serde_json::from_str(
//!     r#"{"msgType":"error","requestId":"req-1","body":{"code":"HARP_ERR_REPLAY","message":"seen","details":null}}"#,
//! ).unwrap();
//! assert_eq!(e.body.code.harp(), Some(HarpErrorCode::Replay));
//!
//! let f: FlatError = serde_json::from_str(r#"{"error":"app_consent_required","consentUrl":"https://c"}"#).unwrap();
//! assert!(f.error.is_consent());
//! let odd: FlatError = serde_json::from_str(r#"{"error":"brand_new_code"}"#).unwrap();
//! assert_eq!(odd.error, ErrorCode::Unknown("brand_new_code".into()));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod macros;

mod action;
mod dnd;
mod envelope;
mod error;
mod exchange;
mod ids;
mod oauth;
mod pairing;
mod payload;
pub mod serde_util;
mod service;
mod timestamp;

pub use action::CommandAction;
pub use dnd::{ActionSelector, DndPoliciesResponse, DndPolicy, DndQuery, PolicyMode};
pub use envelope::{Envelope, Party, msg_type};
pub use error::{ErrorBody, ErrorCode, ErrorEnvelope, FlatError, HarpErrorCode};
pub use exchange::{
    AckBody, AckStatus, ArtifactAcceptedBody, ArtifactSubmitBody, Decision, DecisionAcceptedBody,
    DecisionBody, ExchangeState, ExchangeStatusBody, ExchangeWithdrawnBody, InboxItem,
    InboxResponse, artifact_type, metadata_key,
};
pub use ids::{new_ack_id, new_msg_id, new_request_id};
pub use oauth::{
    DeviceAuthorizationResponse, OAuthErrorCode, OAuthErrorResponse, OidcDiscovery, TokenResponse,
};
pub use pairing::{
    PairingClaimRequest, PairingClaimResponse, PairingCompleteRequest, PairingCompleteResponse,
    PairingInitiateRequest, PairingInitiateResponse, PairingPreGenerateRequest,
    PairingPreGenerateResponse, PairingResolveResponse, PairingResponseDocument,
    PairingRevokeRequest, PairingRevokeResponse, PairingState, PairingStatusResponse,
};
pub use payload::EncryptedPayload;
pub use service::{
    AuthInfo, ConsentStatus, ConsentStatusResponse, EchoResponse, HeartbeatRequest, IdpInfo,
    IntegrationsDiscovery,
};
/// The `time` crate, re-exported so that callers use the same version as [`Timestamp`].
pub use time;
pub use timestamp::{Timestamp, TimestampError};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
