//! Our side of the benchmarks: what `airlock-bench` measures beside its floors and
//! `bench/compare` beside the published crate — one definition, so that both measure the
//! same thing.

use std::hint::black_box;
use std::time::Duration;

use airlock_crypto::{ArtifactHash, E2eKey};
use airlock_gateway::{GatewayClient, SecretToken};
use airlock_types::{ArtifactSubmitBody, Envelope, Timestamp, new_request_id};

use super::payload::small_command;

/// The key the artifacts are sealed with.
pub(crate) const KEY: [u8; 32] = [7u8; 32];

/// `airlock_crypto::jcs::canonicalize` of `payload`.
pub(crate) fn canonicalize(payload: &[u8]) -> Result<(), String> {
    airlock_crypto::jcs::canonicalize(payload)
        .map(|c| drop(black_box(c)))
        .map_err(|e| e.to_string())
}

/// What `encrypt_and_submit_json` does before it sends: bind the plaintext to its request
/// id, canonicalize, hash, seal (the same function, not a re-creation of it).
pub(crate) fn seal(key: &E2eKey, payload: &[u8]) -> Result<(), String> {
    airlock_gateway::seal_artifact(key, "req-bench", payload)
        .map(|sealed| drop(black_box(sealed)))
        .map_err(|e| e.to_string())
}

/// Our client of the canned server, and the one submission it sends.
pub(crate) struct Gateway {
    client: GatewayClient,
    envelope: Envelope<ArtifactSubmitBody>,
}

impl Gateway {
    /// A client of `base` with app credentials and a PAT, and a sealed submission of the
    /// small command.
    pub(crate) fn new(base: &str) -> Result<Self, String> {
        let client = GatewayClient::builder(base)
            .client_credentials("bench-app", SecretToken::new("bench-client-secret"))
            .pat(SecretToken::new("airpat_bench_token"))
            .build()
            .map_err(|e| format!("cannot build the GatewayClient: {e}"))?;
        let key = E2eKey::from_bytes(KEY);
        let (canonical, hash) =
            ArtifactHash::of_json(&small_command()).map_err(|e| format!("canonicalize: {e}"))?;
        let expires = Timestamp::now().saturating_add_std(Duration::from_secs(600));
        let mut body =
            ArtifactSubmitBody::new(hash.as_str(), key.seal(&canonical)).with_expires_at(expires);
        body.metadata
            .insert("routingToken".into(), "rt-bench-routing-token".into());
        // One envelope, sent again and again — as the floor sends the same bytes again and
        // again. Building an envelope (two fresh ids, the clock) is the caller's work, not
        // the request path's; the gateway deduplicates by (requestId, artifactHash) anyway.
        let envelope = Envelope::artifact_submit(new_request_id(), "enf-bench", body);
        Ok(Self { client, envelope })
    }

    /// One artifact submission.
    pub(crate) async fn submit(&self) -> Result<(), String> {
        self.client
            .raw()
            .submit_artifact(&self.envelope)
            .await
            .map(|accepted| drop(black_box(accepted)))
            .map_err(|e| e.to_string())
    }

    /// One exchange status request.
    pub(crate) async fn status(&self) -> Result<(), String> {
        self.client
            .raw()
            .get_exchange_status("req-bench")
            .await
            .map(|status| drop(black_box(status)))
            .map_err(|e| e.to_string())
    }
}
