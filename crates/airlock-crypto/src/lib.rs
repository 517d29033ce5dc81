//! End-to-end crypto for Airlock (HARP): RFC 8785 canonical JSON, artifact hashes,
//! X25519 + HKDF key agreement, AES-256-GCM payloads, Ed25519 pairing and decision
//! verification, and a replay journal.
//!
//! Everything an enforcer needs to trust a human's decision without trusting the gateway
//! that relays it. Verification fails closed: every check returns a typed error, never a
//! `bool`. Secret keys are zeroized on drop and print nothing in `Debug`.
//!
//! # Seal and open a payload
//!
//! ```
//! use airlock_crypto::{E2eKey, X25519SecretKey};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Each side keeps its secret key and learns the other's public key when pairing.
//! let enforcer = X25519SecretKey::generate();
//! let approver = X25519SecretKey::generate();
//! let key = E2eKey::derive(&enforcer, &approver.public_key())?;
//!
//! let payload = key.seal(br#"{"commandText":"rm -rf build"}"#);
//! assert_eq!(payload.alg, "AES-256-GCM");
//!
//! // The approver derives the same key from its side.
//! let same_key = E2eKey::derive(&approver, &enforcer.public_key())?;
//! let plaintext = same_key.open(&payload)?;
//! assert_eq!(&plaintext[..], br#"{"commandText":"rm -rf build"}"#);
//! # Ok(()) }
//! ```
//!
//! # Verify a pairing response, then a decision
//!
//! ```
//! use airlock_crypto::{
//!     ArtifactHash, Ed25519SigningKey, ExpectedDecision, MemoryReplayJournal, TrustedSigners,
//!     X25519SecretKey, sign_decision, sign_pairing_response, verify_decision,
//!     verify_pairing_response,
//! };
//! use time::OffsetDateTime;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The approver app (here simulated) answers the pairing session `pn-123`.
//! let approver_key = Ed25519SigningKey::generate();
//! let approver_x25519 = X25519SecretKey::generate();
//! let response_json = sign_pairing_response(
//!     &approver_key, "key-phone-1", "pn-123", "2026-02-24T10:00:00Z",
//!     Some(&approver_x25519.public_key()),
//! );
//!
//! // The enforcer verifies it before trusting any key in it.
//! let approver = verify_pairing_response(&response_json, "pn-123")?;
//! // Show the user `approver.fingerprint` (e.g. `3F:A0:5B:…`) to compare with the phone.
//! assert_eq!(approver.fingerprint, approver_key.public_key().fingerprint());
//! let mut signers = TrustedSigners::new();
//! signers.insert_approver(&approver);
//!
//! // The enforcer hashes the artifact it submits (RFC 8785 + SHA-256) ...
//! let (canonical, artifact_hash) = ArtifactHash::of_json(br#"{"commandText":"make deploy"}"#)?;
//! # let _ = canonical;
//!
//! // ... and later a `decision.deliver` body arrives for it.
//! let body = serde_json::json!({
//!     "artifactHash": artifact_hash.as_str(),
//!     "decision": "approve",
//!     "signerKeyId": "key-phone-1",
//!     "nonce": "n-42",
//!     "signature": sign_decision(&approver_key, artifact_hash.as_str(), "approve", "n-42"),
//! });
//!
//! let journal = MemoryReplayJournal::new(); // or FileReplayJournal::open(path)?
//! let expected = ExpectedDecision::new(artifact_hash, "req-1");
//! let decision = verify_decision(&body, &expected, &signers, &journal, OffsetDateTime::now_utc())?;
//! assert!(decision.is_approved());
//!
//! // The same decision delivered again is a replay.
//! let again = verify_decision(&body, &expected, &signers, &journal, OffsetDateTime::now_utc());
//! assert!(again.unwrap_err().is_replay());
//! # Ok(()) }
//! ```
//!
//! # Modules
//!
//! - [`jcs`]: RFC 8785 canonicalization; [`hash`]: artifact hashes.
//! - [`fs`]: the atomic, owner-only file write used for every state file.
//! - Keys ([`X25519SecretKey`], [`X25519PublicKey`], [`E2eKey`], [`Ed25519SigningKey`],
//!   [`Ed25519PublicKey`]), pairing ([`verify_pairing_response`]), decisions
//!   ([`verify_decision`], or [`verify_decision_json`] from the raw text) and replay
//!   journals ([`ReplayJournal`]) are at the root.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod decision;
mod e2e;
mod ed25519;
mod encoding;
mod error;
pub mod fs;
pub mod hash;
pub mod jcs;
mod pairing;
mod replay;
mod x25519;

pub use decision::{
    CLOCK_SKEW, DecisionError, ExpectedDecision, MIN_REPLAY_RETENTION, SignatureForm,
    TrustedSigners, Verdict, VerifiedDecision, sign_decision, sign_decision_harp_core,
    verify_decision, verify_decision_json,
};
pub use e2e::{E2E_HKDF_INFO, E2eKey, NONCE_LEN, OpenError, TAG_LEN};
pub use ed25519::{
    Ed25519PublicKey, Ed25519SigningKey, SIGNATURE_LEN, SignatureError, decode_signature,
};
pub use error::CryptoError;
pub use hash::{ArtifactHash, ParseArtifactHashError};
pub use jcs::{
    CanonicalizeError, Canonicalizer, canonicalize, canonicalize_str, canonicalize_value,
};
pub use pairing::{PairingError, VerifiedApprover, sign_pairing_response, verify_pairing_response};
pub use replay::{FileReplayJournal, MemoryReplayJournal, ReplayError, ReplayJournal, ReplayKey};
pub use x25519::{X25519PublicKey, X25519SecretKey};

/// The payload wire form, re-exported from `airlock-types`.
pub use airlock_types::EncryptedPayload;
