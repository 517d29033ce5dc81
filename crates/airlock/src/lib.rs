//! The Rust SDK for the **Airlock Integrations Gateway** (the HARP protocol): human approval
//! of AI-agent actions, end to end encrypted and verified.
//!
//! An *enforcer* intercepts an agent's action (a shell command, a patch), seals it for the
//! human's approver app, submits it through the gateway — an untrusted relay — waits for
//! the approver's Ed25519-signed decision, **verifies it itself**, and only then lets the
//! action run. This crate re-exports the SDK's layers behind features, with a
//! [`prelude`] of the names an enforcer uses:
//!
//! | feature | default | module | what it brings |
//! |---|---|---|---|
//! | `gateway` | yes | `airlock::gateway` | `GatewayClient`: every enforcer endpoint, pairing, encrypt-and-submit, verified decisions, heartbeat, DND. Implies `crypto` and `airlock::http`. |
//! | `auth` | yes | `airlock::auth` | OIDC sign-in: device grant, auth code + PKCE, refreshing sessions, token stores. Implies `types` and `airlock::http`. |
//! | `crypto` | via `gateway` | `airlock::crypto` | RFC 8785, artifact hashes, X25519/HKDF, AES-256-GCM, Ed25519, pairing and decision verification, replay journals. Implies `types`. |
//! | `types` | via the others | `airlock::types` | The wire models (serde only). |
//! | `profile` | yes | `airlock::profile` | `Profile`: what `airlock login` / `airlock pair` stored, as a signed-in client. Implies `gateway` and `auth`. |
//!
//! `airlock::http` (the shared transport: `HttpClient`, `HyperTransport`, `SecretToken`,
//! `TokenSource`) comes with `gateway` or `auth`. Take only what you need:
//!
//! ```toml
//! # A headless enforcer with a personal access token: no OAuth code compiled in.
//! airlock = { version = "0.1", default-features = false, features = ["gateway"] }
//! # A service that only verifies decisions: no HTTP stack at all.
//! airlock = { version = "0.1", default-features = false, features = ["crypto"] }
//! ```
//!
//! The individual crates (`airlock-types`, `airlock-crypto`, `airlock-http`,
//! `airlock-gateway`, `airlock-auth`) can be used directly as well; this crate adds only
//! [`profile`]. `airlock-sandbox` is a complete local Airlock platform for tests and
//! demos; `examples/enforcer.rs` runs the whole lifecycle against it
//! (`cargo run -p airlock --example enforcer`).
#![cfg_attr(feature = "profile", doc = include_str!("../guide/profile.md"))]
#![cfg_attr(
    all(feature = "gateway", feature = "auth"),
    doc = include_str!("../guide/lifecycle.md")
)]
#![cfg_attr(feature = "crypto", doc = include_str!("../guide/verifying.md"))]
#![cfg_attr(
    any(feature = "gateway", feature = "auth"),
    doc = include_str!("../guide/testing.md")
)]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

#[cfg(feature = "auth")]
pub use airlock_auth as auth;
#[cfg(feature = "crypto")]
pub use airlock_crypto as crypto;
#[cfg(feature = "gateway")]
pub use airlock_gateway as gateway;
#[cfg(any(feature = "gateway", feature = "auth"))]
pub use airlock_http as http;
#[cfg(feature = "types")]
pub use airlock_types as types;

#[cfg(feature = "profile")]
pub mod profile;
#[cfg(feature = "profile")]
pub use profile::{Profile, ProfileError};

/// The names an enforcer author needs, for `use airlock::prelude::*;`.
///
/// The gateway's error type is exported as `GatewayError` so that the glob import does not
/// shadow `std`'s or your own `Error`. Everything else stays at its full path
/// (`airlock::gateway::…`, `airlock::crypto::…`, …).
pub mod prelude {
    #[cfg(feature = "profile")]
    pub use crate::profile::{Profile, ProfileError};
    #[cfg(feature = "auth")]
    pub use airlock_auth::{AuthClient, AuthConfig, AuthError, AuthSession, FileTokenStore};
    #[cfg(feature = "crypto")]
    pub use airlock_crypto::{ArtifactHash, FileReplayJournal, Verdict, VerifiedDecision};
    #[cfg(feature = "gateway")]
    pub use airlock_gateway::{
        AwaitOptions, DecisionOutcome, DndTrust, DndVerdict, Error as GatewayError, GatewayClient,
        HeartbeatOptions, Pairing, PairingRequest, PendingExchange, SubmitOptions,
    };
    #[cfg(any(feature = "gateway", feature = "auth"))]
    pub use airlock_http::{HyperTransport, SecretToken};
    #[cfg(feature = "types")]
    pub use airlock_types::CommandAction;
}

/// Compiles the README's example as a doc test.
#[cfg(all(doctest, feature = "gateway"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
