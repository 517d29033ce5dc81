//! The client of the Airlock Integrations Gateway (HARP) for enforcers.
//!
//! An *enforcer* intercepts an agent's action, encrypts it end to end for the human's
//! approver app, submits it to the (untrusted) gateway, waits for the approver's signed
//! decision, **verifies** it, and only then lets the action run. This crate does all of
//! that over a pooled hyper + rustls transport ([`airlock_http::HyperTransport`]):
//!
//! - [`GatewayClient`]: the verified enforcer path — [`GatewayClient::pair`] (the approver's
//!   signed response verified), [`GatewayClient::encrypt_and_submit`],
//!   [`GatewayClient::await_decision`] (verified, acknowledged), the heartbeat task
//!   ([`GatewayClient::spawn_heartbeat`]) and Do-Not-Disturb ([`GatewayClient::do_not_disturb`]) — over one
//!   generic request path (auth headers, retries with backoff, `Retry-After`, timeouts,
//!   error decoding) and one [`Error`] type with `is_*` predicates;
//! - [`raw`]: the protocol's endpoints one by one ([`GatewayClient::raw`]), returning what
//!   the gateway sent, unverified — for tools and tests, not for deciding.
//!
//! # The enforcer lifecycle
//!
//! ```no_run
//! use std::time::Duration;
//! use airlock_gateway::{
//!     AwaitOptions, DecisionOutcome, GatewayClient, Pairing, PairingRequest, SecretToken,
//!     SubmitOptions,
//! };
//! use airlock_types::CommandAction;
//!
//! # async fn run() -> Result<(), airlock_gateway::Error> {
//! let client = GatewayClient::builder("https://igw.airlocks.io")
//!     .client_credentials("my-enforcer-app", SecretToken::new("app-secret"))
//!     .pat(SecretToken::new("airpat_..."))
//!     .build()?;
//!
//! // Pair once (the user types the code into the approver app), then keep the pairing.
//! let path = "pairing.json";
//! let pairing = match Pairing::load(path) {
//!     Ok(pairing) => pairing,
//!     Err(_) => {
//!         let request = PairingRequest::new("enf-laptop-1").label("Laptop").workspace("acme");
//!         let pairing = client
//!             .pair(request, Duration::from_secs(300), |session| {
//!                 eprintln!("Enter code {} in the Airlock app", session.code().unwrap_or("?"));
//!             })
//!             .await?;
//!         eprintln!("Paired with approver key {}", pairing.fingerprint());
//!         pairing.save(path)?;
//!         pairing
//!     }
//! };
//!
//! // An action to approve: encrypted for the approver, hashed, submitted.
//! let action = CommandAction::new("git push --force").workspace("acme").cwd("/src/acme");
//! let pending = client
//!     .encrypt_and_submit(&pairing, &action, SubmitOptions::new().workspace_name("acme"))
//!     .await?;
//!
//! // Wait for a decision; it is verified (signature, artifact hash, replay) before you see it.
//! // Nobody deciding within 10 minutes is `DecisionOutcome::Expired` (the request is withdrawn).
//! match client.await_decision(&pending, AwaitOptions::new(Duration::from_secs(600))).await {
//!     Ok(DecisionOutcome::Approved(decision)) => {
//!         eprintln!("approved by {}", decision.signer_key_id);
//!         // run the action
//!     }
//!     Ok(other) => eprintln!("blocked: {other}"), // rejected, no decision in time, withdrawn
//!     Err(e) => eprintln!("blocked: {e}"),         // verification and gateway failures block too
//! }
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! Every call returns [`Error`]. Decide with the predicates rather than by matching codes:
//!
//! ```no_run
//! # use airlock_gateway::GatewayClient;
//! # async fn run(client: GatewayClient) {
//! match client.check_consent().await {
//!     Ok(status) if status.status.is_allowed() => {}
//!     Ok(status) => eprintln!("consent: {}", status.status),
//!     Err(e) if e.is_consent_required() => {
//!         let url = e.consent().and_then(|c| c.consent_url.as_deref());
//!         eprintln!("grant access at {}", url.unwrap_or("the Airlock portal"));
//!     }
//!     Err(e) if e.is_retryable() => eprintln!("try again later ({:?})", e.retry_after()),
//!     Err(e) => eprintln!("failed: {e}"),
//! }
//! # }
//! ```
//!
//! # Retries
//!
//! [`RetryPolicy`] is a pure function, so its behaviour can be checked without a network:
//!
//! ```
//! use std::time::Duration;
//! use airlock_gateway::{AttemptOutcome, RetryDecision, RetryPolicy};
//! use http::StatusCode;
//!
//! let policy = RetryPolicy::default().with_jitter(|| 1.0); // no randomness, for the example
//! let busy = AttemptOutcome::Response { status: StatusCode::SERVICE_UNAVAILABLE, retry_after: None };
//! assert_eq!(policy.decide(true, &busy, 1), RetryDecision::Retry(Duration::from_millis(200)));
//! assert_eq!(policy.decide(false, &busy, 1), RetryDecision::Stop); // not idempotent
//! assert_eq!(policy.decide(true, &busy, 3), RetryDecision::Stop);  // 3 attempts by default
//! ```
//!
//! # Do Not Disturb
//!
//! The gateway's DND policies are not signed by the approver, so denials are always
//! honoured and approvals only where the user opted in on this machine ([`DndTrust`]).
//! [`GatewayClient::do_not_disturb`] fetches, evaluates and records them in one call;
//! [`evaluate_dnd`] is the pure rule:
//!
//! ```
//! use airlock_gateway::{DndTrust, DndVerdict, evaluate_dnd};
//! use airlock_types::{ActionSelector, DndPolicy, DndQuery, PolicyMode, Timestamp};
//!
//! let in_an_hour = Timestamp::now().saturating_add(time::Duration::hours(1));
//! let policies = vec![
//!     DndPolicy::workspace("p1", "enf-1", "ws-1", PolicyMode::ApproveAll, in_an_hour),
//!     DndPolicy::action("p2", "enf-1", "ws-1", PolicyMode::DenyAll,
//!         ActionSelector::argv_prefix(["git", "push"]), in_an_hour),
//! ];
//! let query = DndQuery::new("enf-1", "ws-1");
//! let verdict = |command, trust| evaluate_dnd(&policies, &query, command, trust, Timestamp::now());
//! assert!(matches!(verdict("git push --force", DndTrust::DenyOnly), DndVerdict::Deny(_)));
//! assert!(matches!(verdict("git status", DndTrust::DenyOnly), DndVerdict::ApprovalIgnored(_)));
//! assert!(matches!(verdict("git status", DndTrust::Approvals), DndVerdict::Approve(_)));
//! ```
//!
//! # Heartbeat
//!
//! ```no_run
//! # use airlock_gateway::{GatewayClient, HeartbeatOptions};
//! # async fn run(client: GatewayClient) -> Result<(), airlock_gateway::Error> {
//! let options = HeartbeatOptions::new().enforcer_id("enf-laptop-1").workspace_name("acme");
//! let heartbeat = client.spawn_heartbeat(options)?;
//! // ... the enforcer runs; dropping `heartbeat` stops the task.
//! if heartbeat.status().stopped.is_some() {
//!     eprintln!("pairing revoked: pair again");
//! }
//! # Ok(()) }
//! ```
//!
//! # Testing your enforcer
//!
//! Any [`HttpClient`] can replace the transport, including a closure, so code built on
//! this client can be tested without a network:
//!
//! ```
//! use std::sync::Arc;
//! use airlock_gateway::GatewayClient;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let transport = |request: http::Request<bytes::Bytes>| async move {
//!     assert_eq!(request.uri().path(), "/v1/exchanges/req-1/wait");
//!     let mut response = http::Response::new(bytes::Bytes::new());
//!     *response.status_mut() = http::StatusCode::NO_CONTENT;
//!     Ok(response)
//! };
//! let client = GatewayClient::builder("https://gw.test").transport(Arc::new(transport)).build().unwrap();
//! let decision = client.raw().wait_for_decision("req-1", std::time::Duration::from_secs(30)).await.unwrap();
//! assert!(decision.is_none()); // 204: no decision yet
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod api;
mod call;
mod client;
pub mod command;
mod dnd;
mod enforcer;
mod error;
pub mod gate;
mod heartbeat;
mod pairing;
pub mod raw;
mod retry;
mod store;

pub use api::{MAX_WAIT, MIN_WAIT, WAIT_MARGIN};
pub use client::{DEFAULT_USER_AGENT, GatewayClient, GatewayClientBuilder};
pub use dnd::{DND_AUDIT_TTL, DND_MAX_HORIZON, DndTrust, DndVerdict, evaluate_dnd};
pub use enforcer::{
    AwaitOptions, DEFAULT_ARTIFACT_TTL, DecisionOutcome, PLAINTEXT_REQUEST_ID, PendingExchange,
    SealedArtifact, SubmitOptions, WITHDRAW_GRACE, seal_artifact,
};
pub use error::{
    BODY_EXCERPT_LIMIT, ConsentDetails, Error, PairingEnd, ProtocolError, ProtocolErrorKind,
    ServiceError, TransportFailure, VerificationError,
};
pub use heartbeat::{
    DEFAULT_HEARTBEAT_INTERVAL, HeartbeatHandle, HeartbeatOptions, HeartbeatStatus, HeartbeatStop,
};
pub use pairing::{
    DEFAULT_PAIRING_POLL_INTERVAL, Pairing, PairingMode, PairingRequest, PairingSession,
};
pub use raw::RawClient;
pub use retry::{AttemptOutcome, JitterSource, RetryDecision, RetryPolicy, parse_retry_after};

pub use airlock_http::{HttpClient, SecretToken, TokenSource};
