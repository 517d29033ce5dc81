//! The HTTP transport shared by the Airlock SDK crates.
//!
//! `airlock-gateway` and `airlock-auth` are siblings that never depend on each other, yet
//! they must share one connection pool and one TLS configuration. This crate is the meeting
//! point: a small, object-safe [`HttpClient`] trait over `http::Request<Bytes>` →
//! `http::Response<Bytes>` (with a blanket impl for closures, so a test can be a closure),
//! the [`TokenSource`] trait through which a user identity (e.g. refreshing OAuth tokens)
//! reaches the gateway client, and [`SecretToken`], a redacted, zeroized string.
//!
//! Per-request options travel in the request's extensions: [`RequestTimeout`] overrides the
//! transport's default total timeout (long-polls), [`MaxResponseBody`] overrides the cap.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use bytes::Bytes;

/// A boxed, `Send` future, as returned by the object-safe traits of this crate.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends one HTTP request and returns the whole response.
///
/// Implementations never follow redirects and must honour [`RequestTimeout`] and
/// [`MaxResponseBody`] when they appear in the request's extensions.
pub trait HttpClient: Send + Sync + 'static {
    /// Sends `request` and reads the complete response body.
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'_, Result<http::Response<Bytes>, TransportError>>;
}

impl<F, Fut> HttpClient for F
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<http::Response<Bytes>, TransportError>> + Send + 'static,
{
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'_, Result<http::Response<Bytes>, TransportError>> {
        Box::pin(self(request))
    }
}

impl<T: HttpClient + ?Sized> HttpClient for Arc<T> {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'_, Result<http::Response<Bytes>, TransportError>> {
        (**self).send(request)
    }
}

/// Request extension: the total time allowed for this request (connect, send, and reading the
/// whole response), overriding the transport's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTimeout(pub Duration);

/// Request extension: the largest response body accepted for this request, in bytes,
/// overriding the transport's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxResponseBody(pub usize);

/// What went wrong moving bytes. Grouped by what the caller does next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The request was refused before anything was sent (bad URI, plain `http` to a
    /// non-loopback host without opt-in, ...).
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What is wrong with the request.
        message: String,
    },
    /// No connection could be made (DNS, TCP connect, TLS handshake, connect timeout).
    #[error("could not connect: {message}")]
    Connect {
        /// A description without secrets.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The request did not complete within its timeout.
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    /// The response body exceeded the cap.
    #[error("response body larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The connection failed after the request was (maybe) sent.
    #[error("request failed: {message}")]
    Dispatch {
        /// A description without secrets.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl TransportError {
    /// True for failures to connect (nothing reached the server).
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect { .. })
    }
    /// True for timeouts.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }
}

/// A secret string (PAT, access token, refresh token, client secret): redacted in `Debug`,
/// zeroized on drop, deliberately without `PartialEq` and `Display`.
#[derive(Clone)]
pub struct SecretToken(zeroize::Zeroizing<String>);

impl SecretToken {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(zeroize::Zeroizing::new(secret.into()))
    }
    /// The secret itself; call only where it is sent.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(<redacted>)")
    }
}

impl From<String> for SecretToken {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for SecretToken {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

/// A source of user access tokens (e.g. `airlock-auth`'s refreshing OAuth session).
///
/// The gateway client asks for a token before each request; after a `401` it asks once more
/// with `force_refresh = true` and retries once.
pub trait TokenSource: Send + Sync + fmt::Debug + 'static {
    /// Returns a currently valid access token, refreshing it first when `force_refresh` is
    /// set or when it is about to expire.
    fn access_token(
        &self,
        force_refresh: bool,
    ) -> BoxFuture<'_, Result<SecretToken, TokenSourceError>>;
}

/// Why a [`TokenSource`] could not produce a token.
#[derive(Debug, thiserror::Error)]
#[error("could not obtain an access token: {message}")]
pub struct TokenSourceError {
    /// A description without secrets.
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}
