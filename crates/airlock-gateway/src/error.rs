//! The one error type of every gateway call.

use std::fmt;
use std::time::Duration;

use airlock_http::{TokenSourceError, TransportError};
use airlock_types::ErrorCode;
use http::StatusCode;

/// The most bytes of a response body quoted in a [`ProtocolError`].
pub const BODY_EXCERPT_LIMIT: usize = 512;

/// Every failure of every [`GatewayClient`](crate::GatewayClient) call, grouped by what the
/// caller does next.
///
/// Large payloads are boxed so the error stays small; third-party errors appear only as
/// [`source()`](std::error::Error::source). Use the `is_*` predicates rather than matching
/// on codes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The call was refused before anything was sent: an empty id, a bad base URL, a
    /// plaintext that is not JSON, ... Fix the input; retrying will not help.
    #[error("invalid input: {message}")]
    InvalidInput {
        /// What is wrong, without secrets.
        message: String,
    },
    /// A request ran out of time (connect, send, or reading the answer). A decision
    /// nobody made in time is not an error: it is
    /// [`DecisionOutcome::Expired`](crate::DecisionOutcome::Expired).
    #[error("timed out after {after:?}")]
    Timeout {
        /// The time limit that was exceeded.
        after: Duration,
    },
    /// The request could not be delivered or its response could not be read (connect,
    /// TLS, reset connection, oversized body). Its message names the URL and the root cause
    /// ("cannot reach the gateway at http://127.0.0.1:9/echo: connection refused"); the
    /// transport's error stays available as [`TransportFailure::error`] and as `source()`.
    #[error(transparent)]
    Transport(Box<TransportFailure>),
    /// The gateway answered something this SDK cannot use: an unexpected status or `204`,
    /// HTML from a proxy, invalid JSON.
    #[error(transparent)]
    Protocol(Box<ProtocolError>),
    /// The gateway answered with an error (4xx/5xx with an error body).
    #[error(transparent)]
    Service(Box<ServiceError>),
    /// A decision or pairing response failed verification: the action must be blocked.
    #[error(transparent)]
    Verification(Box<VerificationError>),
    /// The configured [`TokenSource`](airlock_http::TokenSource) could not produce a token.
    #[error("could not obtain a user access token")]
    Auth(#[source] Box<TokenSourceError>),
    /// A pairing session ended without completing.
    #[error("pairing {0}")]
    PairingEnded(PairingEnd),
    /// Local cryptography failed (key agreement, sealing).
    #[error("cryptographic operation failed: {message}")]
    Crypto {
        /// What failed, without key material.
        message: String,
    },
    /// Reading or writing local state (a saved pairing) failed.
    #[error("storage failure: {message}")]
    Storage {
        /// What failed (path and operation), without secrets.
        message: String,
        /// The underlying error (parse errors of a stored file appear as
        /// [`std::io::ErrorKind::InvalidData`]).
        #[source]
        source: std::io::Error,
    },
}

/// A transport failure of one request: the URL asked and the transport's error. Derefs
/// to the [`TransportError`] (`is_connect`, `is_unreachable`, `is_body_too_large`, …).
#[derive(Debug)]
pub struct TransportFailure {
    url: String,
    error: TransportError,
}

impl TransportFailure {
    pub(crate) fn new(url: impl Into<String>, error: TransportError) -> Self {
        Self {
            url: url.into(),
            error,
        }
    }
    /// The URL of the request (without its query).
    pub fn url(&self) -> &str {
        &self.url
    }
    /// The transport's error.
    pub fn error(&self) -> &TransportError {
        &self.error
    }
}

impl std::ops::Deref for TransportFailure {
    type Target = TransportError;
    fn deref(&self) -> &TransportError {
        &self.error
    }
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.url;
        match &self.error {
            TransportError::Connect { .. } => write!(f, "cannot reach the gateway at {url}")?,
            TransportError::BodyTooLarge { limit } => {
                return write!(
                    f,
                    "the answer from {url} is larger than the limit of {limit} bytes"
                );
            }
            _ => write!(f, "the request to {url} failed")?,
        }
        write!(f, ": {}", root_cause(&self.error))
    }
}

impl std::error::Error for TransportFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The useful part of an error chain: the innermost cause's message, without the
/// operating system's error number ("connection refused", "invalid peer certificate: …").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(next) = innermost.source() {
        innermost = next;
    }
    let text = innermost.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => text.as_str(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_owned(),
    }
}

/// How a pairing session ended without completing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PairingEnd {
    /// The code was not used in time.
    Expired,
    /// The pairing was revoked.
    Revoked,
}

impl fmt::Display for PairingEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        })
    }
}

/// What was wrong with a response the SDK could not use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolErrorKind {
    /// A status this endpoint does not answer with (including 1xx and 3xx: redirects are
    /// never followed).
    UnexpectedStatus,
    /// `204 No Content` from an endpoint that must return a body.
    UnexpectedNoContent,
    /// An error status whose body is not a gateway error (HTML from a proxy, empty, ...).
    UnrecognizedErrorBody,
    /// A success status whose body is not the expected JSON.
    InvalidBody,
}

/// The gateway's answer could not be used. Carries the status and a bounded excerpt of the
/// body (at most [`BODY_EXCERPT_LIMIT`] bytes).
#[derive(Debug)]
pub struct ProtocolError {
    pub(crate) kind: ProtocolErrorKind,
    pub(crate) status: StatusCode,
    pub(crate) excerpt: String,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) source: Option<serde_json::Error>,
}

impl ProtocolError {
    pub(crate) fn new(
        kind: ProtocolErrorKind,
        status: StatusCode,
        body: &[u8],
        source: Option<serde_json::Error>,
    ) -> Self {
        Self {
            kind,
            status,
            excerpt: excerpt(body),
            retry_after: None,
            source,
        }
    }
    /// What was wrong.
    pub fn kind(&self) -> ProtocolErrorKind {
        self.kind
    }
    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The start of the response body (lossy UTF-8, at most [`BODY_EXCERPT_LIMIT`] bytes).
    pub fn body_excerpt(&self) -> &str {
        &self.excerpt
    }
    /// The `Retry-After` of the response, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ProtocolErrorKind::UnexpectedStatus => "unexpected status",
            ProtocolErrorKind::UnexpectedNoContent => "unexpected empty (204) response",
            ProtocolErrorKind::UnrecognizedErrorBody => {
                "error response without a gateway error body"
            }
            ProtocolErrorKind::InvalidBody => "response body is not the expected JSON",
        };
        write!(
            f,
            "gateway protocol error: {what} (HTTP {})",
            self.status.as_u16()
        )?;
        if !self.excerpt.is_empty() {
            write!(f, "; body: {:?}", self.excerpt)?;
        }
        Ok(())
    }
}

impl std::error::Error for ProtocolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// The consent details of a `403 app_consent_*` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsentDetails {
    /// Where the user grants consent to the app.
    pub consent_url: Option<String>,
    /// The app's display name.
    pub app_name: Option<String>,
    /// The app's id.
    pub app_id: Option<String>,
}

/// An error answer of the gateway (either the HARP error envelope or the flat shape).
#[derive(Debug, Clone)]
pub struct ServiceError {
    pub(crate) status: StatusCode,
    pub(crate) code: Option<ErrorCode>,
    pub(crate) message: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) consent: Option<ConsentDetails>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) details: Option<serde_json::Value>,
}

impl ServiceError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The gateway's error code (`quota_exceeded`, `app_consent_required`, ...).
    pub fn code(&self) -> Option<&ErrorCode> {
        self.code.as_ref()
    }
    /// The gateway's human-readable message.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
    /// The request id the gateway reported (from the envelope or its body).
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
    /// Consent details, present on `app_consent_*` answers that carry any.
    pub fn consent(&self) -> Option<&ConsentDetails> {
        self.consent.as_ref()
    }
    /// How long the gateway asked us to wait (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
    /// The `details` object of a HARP error envelope, if any.
    pub fn details(&self) -> Option<&serde_json::Value> {
        self.details.as_ref()
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gateway error (HTTP {}", self.status.as_u16())?;
        if let Some(code) = &self.code {
            write!(f, ", {code}")?;
        }
        f.write_str(")")?;
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServiceError {}

/// A decision or pairing response that failed verification.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerificationError {
    /// The decision delivered for an exchange did not verify.
    #[error("decision verification failed ({})", .0.harp_code())]
    Decision(#[source] airlock_crypto::DecisionError),
    /// The approver's pairing response did not verify.
    #[error("pairing response verification failed")]
    Pairing(#[source] airlock_crypto::PairingError),
    /// The delivered decision message is not a decision at all.
    #[error("malformed decision delivery: {0}")]
    MalformedDecision(String),
    /// The decision was delivered in a message of another exchange.
    #[error("decision delivered for exchange {delivered:?}, expected {expected:?}")]
    WrongExchange {
        /// The exchange waited for.
        expected: String,
        /// The exchange named by the delivery.
        delivered: String,
    },
    /// A pairing session completed without what the enforcer needs (response document,
    /// X25519 key, routing token).
    #[error("incomplete pairing: {0}")]
    IncompletePairing(String),
}

impl VerificationError {
    /// The HARP error code of the failure (`HARP_ERR_SIGNATURE_INVALID`, ...).
    pub fn harp_code(&self) -> airlock_types::HarpErrorCode {
        match self {
            Self::Decision(e) => e.harp_code(),
            Self::Pairing(e) => e.harp_code(),
            Self::MalformedDecision(_) => airlock_types::HarpErrorCode::Canonicalization,
            Self::IncompletePairing(_) => airlock_types::HarpErrorCode::Unsupported,
            Self::WrongExchange { .. } => airlock_types::HarpErrorCode::Scope,
        }
    }
}

impl Error {
    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput {
            message: message.into(),
        }
    }

    pub(crate) fn storage(message: impl Into<String>, source: impl Into<std::io::Error>) -> Self {
        Self::Storage {
            message: message.into(),
            source: source.into(),
        }
    }

    pub(crate) fn from_transport(url: &http::Uri, e: TransportError) -> Self {
        match e {
            TransportError::Timeout(after) => Self::Timeout { after },
            TransportError::InvalidRequest { message } => Self::InvalidInput { message },
            other => {
                let mut url = url.clone().into_parts();
                url.path_and_query = url
                    .path_and_query
                    .and_then(|pq| pq.path().parse::<http::uri::PathAndQuery>().ok());
                let url =
                    http::Uri::from_parts(url).map_or_else(|_| String::new(), |u| u.to_string());
                Self::Transport(Box::new(TransportFailure::new(url, other)))
            }
        }
    }

    /// The HTTP status of the gateway's answer, for service and protocol errors.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Service(e) => Some(e.status),
            Self::Protocol(e) => Some(e.status),
            _ => None,
        }
    }

    /// The gateway's error code, for service errors.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Service(e) => e.code(),
            _ => None,
        }
    }

    /// The service error, when the gateway answered with one.
    pub fn as_service(&self) -> Option<&ServiceError> {
        match self {
            Self::Service(e) => Some(e),
            _ => None,
        }
    }

    /// The `Retry-After` the gateway sent with this error, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Service(e) => e.retry_after,
            Self::Protocol(e) => e.retry_after,
            _ => None,
        }
    }

    /// Consent details of a `403 app_consent_*` answer.
    pub fn consent(&self) -> Option<&ConsentDetails> {
        self.as_service().and_then(ServiceError::consent)
    }

    fn code_is(&self, codes: &[ErrorCode]) -> bool {
        self.code().is_some_and(|c| codes.contains(c))
    }

    /// Quota or rate limit exceeded: `429`, `quota_exceeded`, `workspace_limit_exceeded`.
    pub fn is_quota_exceeded(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
            || self.code().is_some_and(ErrorCode::is_quota_exceeded)
    }

    /// The pairing was revoked (`pairing_revoked`, or a pairing session that ended revoked).
    pub fn is_pairing_revoked(&self) -> bool {
        matches!(self, Self::PairingEnded(PairingEnd::Revoked))
            || self.code_is(&[ErrorCode::PairingRevoked])
    }

    /// Something expired: `410`, code `expired`, an expired pairing session, or a decision
    /// whose signed expiry has passed.
    pub fn is_expired(&self) -> bool {
        self.status() == Some(StatusCode::GONE)
            || self.code().is_some_and(ErrorCode::is_expired)
            || matches!(self, Self::PairingEnded(PairingEnd::Expired))
            || matches!(self, Self::Verification(v)
                if v.harp_code() == airlock_types::HarpErrorCode::Expired)
    }

    /// `409 Conflict` (e.g. the exchange is already terminal, or the request id was reused
    /// with another artifact hash).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(StatusCode::CONFLICT)
    }

    /// `404 Not Found` or code `not_found`: the gateway does not know the exchange, pairing
    /// session or route (e.g. a gateway that lost its state, or pruned a closed exchange).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND) || self.code_is(&[ErrorCode::NotFound])
    }

    /// `401 Unauthorized`: the app credentials or the user identity were refused.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(StatusCode::UNAUTHORIZED)
    }

    /// `403 app_consent_required`: send the user to [`Error::consent`]'s `consent_url`.
    pub fn is_consent_required(&self) -> bool {
        self.code_is(&[ErrorCode::AppConsentRequired])
    }

    /// `403 app_consent_pending`: the user has not decided yet.
    pub fn is_consent_pending(&self) -> bool {
        self.code_is(&[ErrorCode::AppConsentPending])
    }

    /// `403 app_consent_denied`: the user refused the app.
    pub fn is_consent_denied(&self) -> bool {
        self.code_is(&[ErrorCode::AppConsentDenied])
    }

    /// A request ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// Failures a waiting loop rides out: retryable statuses, connection failures and
    /// request timeouts (not an oversized body).
    pub(crate) fn is_transient(&self) -> bool {
        self.is_retryable()
            || self.is_timeout()
            || matches!(self, Self::Transport(t) if !t.is_body_too_large())
    }

    /// A decision or pairing response failed verification.
    pub fn is_verification(&self) -> bool {
        matches!(self, Self::Verification(_))
    }

    /// Worth retrying later: `429`, `502`, `503`, `504`, or a failure to connect.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(e) => e.is_connect(),
            _ => matches!(
                self.status().map(|s| s.as_u16()),
                Some(429 | 502 | 503 | 504)
            ),
        }
    }
}

/// The start of a body as text, at most [`BODY_EXCERPT_LIMIT`] bytes, cut at a character
/// boundary.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let cut = &body[..body.len().min(BODY_EXCERPT_LIMIT)];
    let mut text = String::from_utf8_lossy(cut).into_owned();
    // A multi-byte character cut in half became U+FFFD; keep the byte bound anyway.
    while text.len() > BODY_EXCERPT_LIMIT {
        text.pop();
    }
    text
}
