//! The crypto pipeline of an artifact submission, beside its floors.

use std::hint::black_box;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use airlock_crypto::E2eKey;
use sha2::{Digest, Sha256};

use crate::shared::measure::{
    megabytes_per_sec, paired_megabytes_per_sec, report, report_paired, report_result,
};
use crate::shared::ours;
use crate::shared::payload::{PIPELINE_BYTES, command_artifact};

pub(crate) fn run() {
    let payload = command_artifact(PIPELINE_BYTES);
    let n = payload.len();
    report("crypto.payload_bytes", n as f64);

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
    // Canonicalization beside parsing, in alternating rounds: the target is a ratio.
    report_paired(
        "crypto.canonicalize",
        ["ours", "serde_parse", "ours_per_parse"],
        paired_megabytes_per_sec(
            n,
            || ours::canonicalize(&payload),
            || {
                serde_json::from_slice::<serde_json::Value>(&payload)
                    .map(|v| drop(black_box(v)))
                    .map_err(|e| e.to_string())
            },
        ),
    );
    let key = E2eKey::from_bytes(ours::KEY);
    report_result(
        "crypto.pipeline",
        megabytes_per_sec(n, || ours::seal(&key, &payload)),
    );
}
