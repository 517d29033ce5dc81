//! OpenID Connect sign-in for Airlock enforcers that do not use a personal access token.
//!
//! Built on the [`oauth2`] crate, with every HTTP call made through the shared
//! [`airlock_http::HttpClient`] (one connection pool and TLS configuration with the
//! gateway client; redirects are never followed). Flows:
//!
//! - **Device Authorization Grant** (RFC 8628) for agents, CLIs and desktop apps:
//!   [`AuthClient::device_login`].
//! - **Authorization Code + PKCE** (RFC 7636, S256) with a loopback redirect (RFC 8252):
//!   [`AuthClient::login_with_loopback`], or [`AuthClient::authorization_url`] +
//!   [`AuthClient::exchange_code`] for a manual redirect.
//! - **Refresh, revocation and persistence**: [`AuthSession`] refreshes ahead of expiry
//!   (single flight), saves rotated refresh tokens to a [`TokenStore`] before using them,
//!   revokes on [`logout`](AuthSession::logout), and implements
//!   [`airlock_http::TokenSource`] for the gateway client.
//! - **Consent**: [`ConsentError`] parses the gateway's `app_consent_*` errors;
//!   [`wait_for_consent`] polls a check with backoff until a deadline.
//!
//! # Device sign-in
//!
//! ```no_run
//! use std::sync::Arc;
//! use airlock_auth::{AuthClient, AuthConfig, AuthSession, FileTokenStore, IntegrationsDiscovery};
//! # async fn run(
//! #     discovery: IntegrationsDiscovery,
//! #     http: Arc<dyn airlock_http::HttpClient>,
//! # ) -> Result<(), airlock_auth::AuthError> {
//! // Realm URL and client id from the gateway's `/v1/integrations/discovery`; the
//! // gateway client's transport, so both share one connection pool.
//! let config = AuthConfig::from_discovery(&discovery)?;
//! let client = AuthClient::with_http_client(config, http);
//! let tokens = client
//!     .device_login(|device| {
//!         eprintln!("Open {} and confirm the code {}", device.uri_to_open(), device.user_code());
//!     })
//!     .await?;
//! let session = AuthSession::open(client, Arc::new(FileTokenStore::new("tokens.json"))).await?;
//! session.sign_in(tokens).await?;
//! let access_token = session.access_token().await?; // refreshed when about to expire
//! # let _ = access_token;
//! # Ok(()) }
//! ```
//!
//! # Browser sign-in with a loopback redirect
//!
//! ```no_run
//! use std::time::Duration;
//! use airlock_auth::{AuthClient, AuthConfig};
//! # async fn run() -> Result<(), airlock_auth::AuthError> {
//! // With its own default transport (`airlock_http::HyperTransport`).
//! let client = AuthClient::new(AuthConfig::new("https://id.example.com/realms/airlock", "my-app")?);
//! let tokens = client
//!     .login_with_loopback(|url| eprintln!("Open {url} in your browser"), Duration::from_secs(300))
//!     .await?;
//! # let _ = tokens;
//! # Ok(()) }
//! ```
//!
//! # Manual redirect (mobile, web)
//!
//! ```no_run
//! use airlock_auth::{AuthClient, AuthConfig};
//! # async fn run(client: AuthClient, code_from_redirect: &str) -> Result<(), airlock_auth::AuthError> {
//! let request = client.authorization_url("com.example.app:/oauth/callback").await?;
//! // Send the user to `request.url`; check the redirect's `state` against `request.state`.
//! let tokens = client
//!     .exchange_code(code_from_redirect, request.verifier, &request.redirect_uri)
//!     .await?;
//! # let _ = tokens;
//! # Ok(()) }
//! ```
//!
//! # Waiting for app consent
//!
//! ```no_run
//! use std::time::Duration;
//! use airlock_auth::{ConsentBackoff, ConsentState, wait_for_consent};
//! # async fn check_consent() -> Result<ConsentState, std::io::Error> { Ok(ConsentState::Granted) }
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // `check_consent` wraps the gateway's consent-status call, mapping a 403 body with
//! // `ConsentError::from_response` into `ConsentState::from`.
//! wait_for_consent(check_consent, Duration::from_secs(600), ConsentBackoff::default()).await?;
//! # Ok(()) }
//! ```
//!
//! # Testing
//!
//! [`AuthConfig::with_clock`] injects a [`Clock`] whose `sleep` can return at once, so
//! device polling and consent waits run in milliseconds; the transport is any
//! [`airlock_http::HttpClient`], including a closure.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod client;
mod config;
mod consent;
mod error;
mod loopback;
mod pkce;
mod session;
mod store;
mod tokens;
mod transport;

pub use client::{AuthClient, DeviceAuthorization, TokenKind};
pub use config::{AuthConfig, ClientAuthMethod, DEFAULT_SCOPES};
pub use consent::{
    ConsentBackoff, ConsentError, ConsentErrorKind, ConsentState, ConsentWaitError,
    wait_for_consent, wait_for_consent_with_clock,
};
pub use error::AuthError;
pub use loopback::{AuthorizationCode, CALLBACK_PATH, LoopbackListener};
pub use pkce::{AuthorizationRequest, PkceVerifier};
pub use session::{AuthSession, RevocationOutcome};
pub use store::{FileTokenStore, MemoryTokenStore, RefreshLock, StoreError, TokenStore};
pub use tokens::TokenSet;
pub use transport::{Clock, SystemClock};

pub use airlock_http::{HttpClient, SecretToken, TokenSource};
pub use airlock_types::{IntegrationsDiscovery, OidcDiscovery};

/// Compiles the README's example as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
