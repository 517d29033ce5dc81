//! The crypto pipeline of an artifact submission, beside its floors.

use std::hint::black_box;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use airlock_crypto::E2eKey;
use sha2::{Digest, Sha256};

use crate::shared::measure::{megabytes_per_sec, report, report_result};
use crate::shared::payload::{PIPELINE_BYTES, command_artifact};

pub(crate) fn run() {
    let payload = command_artifact(PIPELINE_BYTES);
    let n = payload.len();
    report("crypto.payload_bytes", n as f64);

    report_result(
        "crypto.serde_parse",
        megabytes_per_sec(n, || {
            serde_json::from_slice::<serde_json::Value>(&payload).map(|v| drop(black_box(v)))
        }),
    );
    report_result(
        "crypto.sha256",
        megabytes_per_sec(n, || {
            black_box(Sha256::digest(&payload));
            Ok::<(), String>(())
        }),
    );
    let cipher = Aes256Gcm::new(&[7u8; 32].into());
    let nonce = Nonce::from([9u8; 12]);
    report_result(
        "crypto.aes_gcm",
        megabytes_per_sec(n, || {
            cipher
                .encrypt(&nonce, payload.as_slice())
                .map(|c| drop(black_box(c)))
                .map_err(|e| e.to_string())
        }),
    );
    report_result(
        "crypto.canonicalize",
        megabytes_per_sec(n, || {
            airlock_crypto::jcs::canonicalize(&payload).map(|c| drop(black_box(c)))
        }),
    );
    // What `encrypt_and_submit_json` does before it sends: bind the plaintext to its
    // request id, canonicalize, hash, seal (the same function, not a re-creation of it).
    let key = E2eKey::from_bytes([7u8; 32]);
    report_result(
        "crypto.pipeline",
        megabytes_per_sec(n, || {
            airlock_gateway::seal_artifact(&key, "req-bench", &payload)
                .map(|sealed| drop(black_box(sealed)))
        }),
    );
}
