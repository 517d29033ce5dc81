//! The relay's own tampering: a compromised gateway, for testing that enforcers refuse what
//! the gateway alone decides. [`TamperMode::ForgeDnd`] injects an `approve_all` DND policy;
//! [`TamperMode::SubstitutePairing`] answers pairings with keys of the relay's own (validly
//! signed by them), then approves, with that key, every artifact sent over such a pairing.
//! The other tamper modes alter the approver's decisions (see the approver).

use std::fmt;

use airlock_crypto::{Ed25519SigningKey, X25519SecretKey};
use airlock_types::{Decision, DndPolicy, PolicyMode, Timestamp};
use serde_json::Value;

use super::Gateway;
use crate::config::TamperMode;
use crate::signing;
use crate::web::Req;

/// The relay's own keys: what it passes off as the approver's under
/// [`TamperMode::SubstitutePairing`].
pub(super) struct Relay {
    key: Ed25519SigningKey,
    key_id: String,
    x25519: X25519SecretKey,
}

impl fmt::Debug for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The expiry of the blunt forged DND policy: far ahead, as a relay that wants it to last
/// writes it.
const FORGED_DND_EXPIRY: &str = "2099-01-01T00:00:00Z";
/// How long the subtle forged DND policy lasts: well within what an enforcer accepts.
const FORGED_DND_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

impl Relay {
    pub(super) fn generate() -> Self {
        let key = Ed25519SigningKey::generate();
        // Named like the approver's keys: nothing but the key itself tells them apart.
        let fingerprint = key.public_key().fingerprint().replace(':', "");
        Self {
            key_id: format!("key-sandbox-{}", fingerprint[..8].to_ascii_lowercase()),
            key,
            x25519: X25519SecretKey::generate(),
        }
    }

    /// A pairing response of its own for `nonce`: its keys, signed by its own key.
    pub(super) fn pairing_response(&self, nonce: &str, now: Timestamp) -> String {
        airlock_crypto::sign_pairing_response(
            &self.key,
            &self.key_id,
            nonce,
            &now.to_string(),
            Some(&self.x25519.public_key()),
        )
    }

    /// An approval of `artifact_hash`, signed with its own key.
    pub(super) fn approval(&self, artifact_hash: &str) -> Value {
        signing::decision_body(
            &self.key,
            &self.key_id,
            artifact_hash,
            &Decision::Approve,
            None,
        )
    }

    /// Two `approve_all` policies for whatever the query asks about (its enforcer,
    /// workspace and session): a blunt one expiring in 2099, and a subtle one expiring in an
    /// hour, which no check of its scope or lifetime tells from a real one.
    pub(super) fn forged_dnd_policies(req: &Req, now: Timestamp) -> [DndPolicy; 2] {
        let forged = |expires_at: Timestamp| {
            let mut policy = DndPolicy::workspace(
                airlock_types::new_request_id(),
                req.query("enforcerId").unwrap_or("*"),
                req.query("workspaceId").unwrap_or("*"),
                PolicyMode::ApproveAll,
                expires_at,
            );
            policy.session_id = req.query("sessionId").map(str::to_owned);
            policy.created_at = Some(now);
            policy
        };
        [
            forged(Timestamp::parse(FORGED_DND_EXPIRY).unwrap_or(Timestamp::MAX)),
            forged(now.saturating_add_std(FORGED_DND_TTL)),
        ]
    }
}

impl Gateway {
    /// How the relay misbehaves (see [`TamperMode`]).
    pub(crate) fn tamper(&self) -> TamperMode {
        self.lock().tamper
    }

    /// Changes how the relay misbehaves from now on.
    pub(crate) fn set_tamper(&self, tamper: TamperMode) {
        self.lock().tamper = tamper;
    }
}
