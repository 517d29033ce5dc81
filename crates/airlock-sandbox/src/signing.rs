//! Signed decision bodies, as an approver (or a relay holding a key of its own) makes them.

use airlock_crypto::Ed25519SigningKey;
use airlock_types::{Decision, DecisionBody};
use base64::Engine as _;
use rand::RngCore as _;
use serde_json::Value;

/// A `decision.submit` body: `artifactHash|decision|nonce` signed by `key`, with a fresh
/// nonce.
pub(crate) fn decision_body(
    key: &Ed25519SigningKey,
    signer_key_id: &str,
    artifact_hash: &str,
    decision: &Decision,
    reason: Option<String>,
) -> Value {
    let nonce = random_nonce();
    let signature = airlock_crypto::sign_decision(key, artifact_hash, decision.as_str(), &nonce);
    let mut body = DecisionBody::new(
        artifact_hash,
        decision.clone(),
        signer_key_id,
        &nonce,
        signature,
    );
    body.reason = reason;
    serde_json::to_value(body).unwrap_or(Value::Null)
}

fn random_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
