//! The client of the Airlock Integrations Gateway (HARP).
//!
//! TODO-DOCS
#![forbid(unsafe_code)]

mod api;
mod call;
mod client;
mod dnd;
mod enforcer;
mod error;
mod heartbeat;
mod pairing;
mod retry;

pub use api::{MAX_WAIT, MIN_WAIT, UnverifiedDecision, WAIT_MARGIN};
pub use client::{DEFAULT_USER_AGENT, GatewayClient, GatewayClientBuilder};
pub use dnd::{DND_AUDIT_TTL, DndAudit, DndVerdict, dnd_audit_artifact, evaluate_dnd};
pub use enforcer::{AwaitOptions, DEFAULT_ARTIFACT_TTL, DecisionOutcome, PendingExchange, SubmitOptions};
pub use error::{
    BODY_EXCERPT_LIMIT, ConsentDetails, Error, PairingEnd, ProtocolError, ProtocolErrorKind,
    ServiceError, VerificationError,
};
pub use heartbeat::{
    DEFAULT_HEARTBEAT_INTERVAL, HeartbeatHandle, HeartbeatOptions, HeartbeatStatus, HeartbeatStop,
};
pub use pairing::{
    DEFAULT_PAIRING_POLL_INTERVAL, Pairing, PairingMode, PairingRequest, PairingSession,
};
pub use retry::{JitterSource, Outcome, RetryDecision, RetryPolicy, parse_retry_after};

pub use airlock_http::{HttpClient, SecretToken, TokenSource};
