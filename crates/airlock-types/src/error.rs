//! Error documents returned by the gateway with 4xx/5xx statuses.

use serde::{Deserialize, Serialize};

use crate::envelope::msg_type;
use crate::macros::wire_enum;
use crate::serde_util::null_as_default;

wire_enum! {
    /// The HARP protocol error codes (`HARP_ERR_*`).
    ///
    /// Verification failures in `airlock-crypto` map onto these.
    pub enum HarpErrorCode {
        /// The JSON could not be canonicalized (RFC 8785).
        Canonicalization = "HARP_ERR_CANONICALIZATION",
        /// The artifact hash does not match.
        HashMismatch = "HARP_ERR_HASH_MISMATCH",
        /// The signature does not verify.
        SignatureInvalid = "HARP_ERR_SIGNATURE_INVALID",
        /// The artifact or decision has expired.
        Expired = "HARP_ERR_EXPIRED",
        /// The nonce or exchange was seen before.
        Replay = "HARP_ERR_REPLAY",
        /// The decision's scope does not cover the action.
        Scope = "HARP_ERR_SCOPE",
        /// A policy denied the action.
        PolicyDeny = "HARP_ERR_POLICY_DENY",
        /// The transport failed.
        Transport = "HARP_ERR_TRANSPORT",
        /// The message uses an unsupported feature or algorithm.
        Unsupported = "HARP_ERR_UNSUPPORTED",
    }
}

wire_enum! {
    /// The `code` of an error envelope, or the `error` of a flat error.
    pub enum ErrorCode {
        /// The plan's quota is used up.
        QuotaExceeded = "quota_exceeded",
        /// Too many workspaces for the plan.
        WorkspaceLimitExceeded = "workspace_limit_exceeded",
        /// The pairing was revoked; pair again.
        PairingRevoked = "pairing_revoked",
        /// The exchange or pairing expired.
        Expired = "expired",
        /// The user has to consent to the app (see `consentUrl`).
        AppConsentRequired = "app_consent_required",
        /// The user's consent is pending.
        AppConsentPending = "app_consent_pending",
        /// The user denied consent.
        AppConsentDenied = "app_consent_denied",
        /// No such resource.
        NotFound = "not_found",
        /// The request conflicts with the current state (e.g. already decided).
        Conflict = "conflict",
        /// Missing or invalid credentials.
        Unauthorized = "unauthorized",
        /// Authenticated but not allowed.
        Forbidden = "forbidden",
        /// Too many requests.
        RateLimited = "rate_limited",
        /// The request is malformed.
        InvalidRequest = "invalid_request",
        /// `HARP_ERR_CANONICALIZATION`.
        HarpCanonicalization = "HARP_ERR_CANONICALIZATION",
        /// `HARP_ERR_HASH_MISMATCH`.
        HarpHashMismatch = "HARP_ERR_HASH_MISMATCH",
        /// `HARP_ERR_SIGNATURE_INVALID`.
        HarpSignatureInvalid = "HARP_ERR_SIGNATURE_INVALID",
        /// `HARP_ERR_EXPIRED`.
        HarpExpired = "HARP_ERR_EXPIRED",
        /// `HARP_ERR_REPLAY`.
        HarpReplay = "HARP_ERR_REPLAY",
        /// `HARP_ERR_SCOPE`.
        HarpScope = "HARP_ERR_SCOPE",
        /// `HARP_ERR_POLICY_DENY`.
        HarpPolicyDeny = "HARP_ERR_POLICY_DENY",
        /// `HARP_ERR_TRANSPORT`.
        HarpTransport = "HARP_ERR_TRANSPORT",
        /// `HARP_ERR_UNSUPPORTED`.
        HarpUnsupported = "HARP_ERR_UNSUPPORTED",
    }
}

impl ErrorCode {
    /// The HARP code, when this is one of the `HARP_ERR_*` codes (also an unknown
    /// `HARP_ERR_…` one).
    #[must_use]
    pub fn harp(&self) -> Option<HarpErrorCode> {
        let code = HarpErrorCode::from_wire(self.as_str());
        match &code {
            HarpErrorCode::Unknown(text) if !starts_with_ignore_case(text, "HARP_ERR_") => None,
            _ => Some(code),
        }
    }

    /// `quota_exceeded` or `workspace_limit_exceeded`.
    #[must_use]
    pub fn is_quota_exceeded(&self) -> bool {
        matches!(self, Self::QuotaExceeded | Self::WorkspaceLimitExceeded)
    }

    /// One of the `app_consent_*` codes.
    #[must_use]
    pub fn is_consent(&self) -> bool {
        matches!(
            self,
            Self::AppConsentRequired | Self::AppConsentPending | Self::AppConsentDenied
        )
    }

    /// `expired` or `HARP_ERR_EXPIRED`.
    #[must_use]
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired | Self::HarpExpired)
    }
}

impl From<HarpErrorCode> for ErrorCode {
    fn from(code: HarpErrorCode) -> Self {
        match code {
            HarpErrorCode::Unknown(text) => Self::from(text),
            known => Self::from_wire(known.as_str()),
        }
    }
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// The body of a HARP error envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ErrorBody {
    /// The error code.
    pub code: ErrorCode,
    /// A human-readable message.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
    /// The request the error is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Extra details (a missing or `null` object reads as empty; empty is not written).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "serde_json::Map::is_empty"
    )]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl ErrorBody {
    /// An error body with no request id and no details.
    #[must_use]
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            request_id: None,
            details: serde_json::Map::new(),
        }
    }
}

/// A HARP error envelope:
/// `{"msgType":"error","requestId":"…","body":{"code":"…","message":"…",…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ErrorEnvelope {
    /// Always `error` when written by this crate.
    #[serde(default = "error_msg_type", deserialize_with = "msg_type_or_error")]
    pub msg_type: String,
    /// The request the error is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The error.
    pub body: ErrorBody,
}

fn error_msg_type() -> String {
    msg_type::ERROR.to_owned()
}

fn msg_type_or_error<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_else(error_msg_type))
}

impl ErrorEnvelope {
    /// An error envelope; the body's `requestId` is set to the same id.
    #[must_use]
    pub fn new(request_id: Option<String>, mut body: ErrorBody) -> Self {
        if body.request_id.is_none() {
            body.request_id.clone_from(&request_id);
        }
        Self {
            msg_type: error_msg_type(),
            request_id,
            body,
        }
    }
}

/// The flat error shape:
/// `{"error":"app_consent_required","message":"…","consentUrl":"…","appName":"…","appId":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FlatError {
    /// The error code.
    pub error: ErrorCode,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Where the user grants consent (consent errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_url: Option<String>,
    /// The app's display name (consent errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// The app's id (consent errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
}

impl FlatError {
    /// A flat error with only a code and message.
    #[must_use]
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error,
            message: Some(message.into()),
            consent_url: None,
            app_name: None,
            app_id: None,
        }
    }
}
