//! The HTTP transport shared by the Airlock SDK crates.
//!
//! `airlock-gateway` and `airlock-auth` are siblings that never depend on each other, yet
//! they must share one connection pool and one TLS configuration. This crate is the meeting
//! point: a small, object-safe [`HttpClient`] trait over `http::Request<Bytes>` →
//! `http::Response<Bytes>` (with a blanket impl for closures, so a test can be a closure),
//! the production implementation [`HyperTransport`] (hyper 1 + hyper-util's pooled client +
//! rustls, HTTP/1.1 and HTTP/2 by ALPN), the [`TokenSource`] trait through which a user
//! identity (e.g. refreshing OAuth tokens) reaches the gateway client, and [`SecretToken`], a
//! redacted, zeroized string.
//!
//! Per-request options travel in the request's extensions: [`RequestTimeout`] overrides the
//! transport's default total timeout (long-polls), [`MaxResponseBody`] overrides the cap.
//!
//! # Sending a request to a self-hosted gateway
//!
//! Trust the gateway's own CA next to the web PKI roots, name your product in the user agent,
//! and give a long-poll its own timeout:
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use airlock_http::{Bytes, HttpClient, HyperTransport, RequestTimeout};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let transport = HyperTransport::builder()
//!     .add_root_certificates_pem(std::fs::read("/etc/airlock/gateway-ca.pem")?)
//!     .user_agent_product("my-enforcer/1.0")
//!     .build()?;
//!
//! let mut request = http::Request::get("https://airlock.internal.example/v1/integrations/discovery")
//!     .header(http::header::ACCEPT, "application/json")
//!     .body(Bytes::new())?;
//! request.extensions_mut().insert(RequestTimeout(Duration::from_secs(75)));
//!
//! let response = transport.send(request).await?;
//! assert!(response.status().is_success());
//! let _json: &[u8] = response.body();
//! # Ok(())
//! # }
//! ```
//!
//! A [`HyperTransport`] is cheap to clone; share one per process, e.g. as an
//! `Arc<dyn HttpClient>` handed to both the gateway and the auth client.
//!
//! # A closure as the transport (tests)
//!
//! Any `Fn(Request<Bytes>) -> impl Future<Output = Result<Response<Bytes>, TransportError>>`
//! is an [`HttpClient`]:
//!
//! ```
//! use std::sync::Arc;
//!
//! use airlock_http::{Bytes, HttpClient, TransportError};
//!
//! let fake = |request: http::Request<Bytes>| async move {
//!     assert_eq!(request.uri().path(), "/v1/ping");
//!     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(b"pong")))
//! };
//! let client: Arc<dyn HttpClient> = Arc::new(fake);
//!
//! let request = http::Request::get("https://gateway.example/v1/ping").body(Bytes::new())?;
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let response = runtime.block_on(client.send(request))?;
//! assert_eq!(response.body(), "pong");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Security defaults
//!
//! - Server certificates are always verified (web PKI roots by default; native and custom
//!   roots as options); there is no switch to disable verification.
//! - Plain `http://` is refused before any connection unless the host is loopback or the
//!   caller opted in with [`HyperTransportBuilder::allow_insecure_http`]. The name
//!   `localhost` is resolved by the transport itself to `127.0.0.1` and `::1`, never by DNS.
//! - Redirects are never followed.
//! - Every request is bounded in time and every response body in size.
//! - Logs (`tracing`) carry the method, scheme, host and path only.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use bytes::Bytes;
/// The `http` crate, whose `Request` and `Response` types this crate's API uses.
pub use http;

mod body;
mod connect;
mod error;
mod secret;
mod tls;
mod transport;
mod uri;

pub use error::{BuildError, TransportError};
pub use secret::{SecretToken, TokenSource, TokenSourceError};
pub use transport::{HyperTransport, HyperTransportBuilder};
pub use uri::{is_loopback_host, is_loopback_url};

/// The `User-Agent` sent when a request has none: `airlock-rs/<crate version>`.
pub const USER_AGENT: &str = concat!("airlock-rs/", env!("CARGO_PKG_VERSION"));

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
///
/// ```
/// use std::time::Duration;
///
/// use airlock_http::{Bytes, RequestTimeout};
///
/// let mut request = http::Request::get("https://gateway.example/v1/exchanges/req_1/wait?timeout=60")
///     .body(Bytes::new())?;
/// // The server may hold the request for 60 s: allow for that plus a margin.
/// request.extensions_mut().insert(RequestTimeout(Duration::from_secs(75)));
/// # Ok::<(), http::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTimeout(pub Duration);

/// Request extension: the largest response body accepted for this request, in bytes,
/// overriding the transport's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxResponseBody(pub usize);
