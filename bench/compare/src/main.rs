//! Ours beside the published `airlock-gateway` 0.4.8 crate, in alternating rounds of the
//! measures of `bench/airlock-bench` (same payload, server, timing code and our side),
//! printing `bench <key> <value>` / `bench-na <key> <reason>` lines for `cargo xtask bench`.
//!
//! Each measure is reported as `pub.<measure>.ours`, `pub.<measure>.published` and
//! `pub.<measure>.ours_per_published` (the median of the per-pair ratios):
//! - `crypto.canonicalize`: MB/s of our `jcs::canonicalize` and its
//!   `canonical_json::canonicalize`;
//! - `crypto.pipeline`: MB/s of our `seal_artifact` and its canonicalize + `sha256_hex` +
//!   `aes_gcm_encrypt` (what its `encrypt_and_submit_artifact` does before sending);
//! - `gw.{submit,status}.{seq,c64}`: requests/s of artifact submit and exchange status
//!   against the same canned loopback server.
//!
//! And, sequentially, the raw hyper-util floor of `bench/airlock-bench` beside the published
//! crate (`pub.gw.<op>.seq.{floor,published_beside_floor,floor_per_published}`): how far
//! any client on hyper-util's pooled client could be ahead of it on this machine.
#![allow(clippy::print_stdout)]

// The benchmark code shared with bench/airlock-bench (each program uses part of it).
#[path = "../../airlock-bench/src/shared/floor.rs"]
mod floor;
#[allow(dead_code)]
#[path = "../../airlock-bench/src/shared/measure.rs"]
mod measure;
#[path = "../../airlock-bench/src/shared/ours.rs"]
mod ours;
#[allow(dead_code)]
#[path = "../../airlock-bench/src/shared/payload.rs"]
mod payload;
#[allow(dead_code)]
#[path = "../../airlock-bench/src/shared/server.rs"]
mod server;

use std::collections::HashMap;
use std::hint::black_box;

use airlock_crypto::E2eKey;
use published::canonical_json::canonicalize;
use published::crypto::{aes_gcm_encrypt, sha256_hex, to_base64url};
use published::{AirlockGatewayClient, ArtifactSubmitRequest};

use measure::{paired_megabytes_per_sec, paired_requests_per_sec, report_na, report_paired};
use payload::{PIPELINE_BYTES, command_artifact, small_command};
use server::CannedServer;

/// The names of a paired measure's three keys.
const NAMES: [&str; 3] = ["ours", "published", "ours_per_published"];

/// The names of the keys of the raw floor measured beside the published crate.
const FLOOR_NAMES: [&str; 3] = ["floor", "published_beside_floor", "floor_per_published"];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wants = |part: &str| args.is_empty() || args.iter().any(|a| a == part);
    if wants("crypto") {
        crypto();
    }
    if wants("gateway") {
        gateway();
    }
}

fn crypto() {
    let payload = command_artifact(PIPELINE_BYTES);
    let n = payload.len();
    // Its API takes `&str`; the UTF-8 check is done once, outside the timing.
    let Ok(text) = std::str::from_utf8(&payload) else {
        for measure in ["canonicalize", "pipeline"] {
            for name in NAMES {
                report_na(
                    &format!("pub.crypto.{measure}.{name}"),
                    "the payload is not UTF-8",
                );
            }
        }
        return;
    };
    report_paired(
        "pub.crypto.canonicalize",
        NAMES,
        paired_megabytes_per_sec(
            n,
            || ours::canonicalize(&payload),
            || canonicalize(text).map(|c| drop(black_box(c))),
        ),
    );
    let ours_key = E2eKey::from_bytes(ours::KEY);
    let key = to_base64url(&ours::KEY);
    report_paired(
        "pub.crypto.pipeline",
        NAMES,
        paired_megabytes_per_sec(
            n,
            || ours::seal(&ours_key, &payload),
            || {
                let canonical = canonicalize(text)?;
                black_box(sha256_hex(&canonical));
                black_box(aes_gcm_encrypt(&key, &canonical)?);
                Ok::<(), String>(())
            },
        ),
    );
}

fn gateway() {
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no tokio runtime: {e}"))
        .and_then(|rt| rt.block_on(measure_gateway()));
    if let Err(e) = result {
        for op in ["submit", "status"] {
            for label in ["seq", "c64"] {
                for name in NAMES {
                    report_na(&format!("pub.gw.{op}.{label}.{name}"), &e);
                }
            }
            for name in FLOOR_NAMES {
                report_na(&format!("pub.gw.{op}.seq.{name}"), &e);
            }
        }
    }
}

async fn measure_gateway() -> Result<(), String> {
    let server = CannedServer::start().map_err(|e| format!("cannot start the server: {e}"))?;
    let ours = ours::Gateway::new(&server.base_url())?;
    let floor = floor::Floor::capture(&server, &ours).await?;
    let mut client = AirlockGatewayClient::with_credentials(
        server.base_url(),
        "bench-app",
        "bench-client-secret",
    );
    client.set_pat(Some("airpat_bench_token"));

    let key = to_base64url(&ours::KEY);
    let plaintext = String::from_utf8(small_command()).map_err(|e| e.to_string())?;
    let canonical = canonicalize(&plaintext)?;
    let request = ArtifactSubmitRequest {
        enforcer_id: "enf-bench".into(),
        artifact_type: None,
        artifact_hash: sha256_hex(&canonical),
        ciphertext: aes_gcm_encrypt(&key, &canonical)?,
        expires_at: Some("2099-01-01T00:00:00Z".into()),
        metadata: Some(HashMap::from([(
            "routingToken".to_owned(),
            "rt-bench-routing-token".to_owned(),
        )])),
        request_id: None,
    };
    // Its API takes the request by value: a clone per call is the least it costs a caller.
    let submit = || {
        let request = request.clone();
        let client = &client;
        async move {
            client
                .submit_artifact(request)
                .await
                .map(|id| drop(black_box(id)))
                .map_err(|e| e.to_string())
        }
    };
    let status = || async {
        client
            .get_exchange_status("req-bench")
            .await
            .map(|s| drop(black_box(s)))
            .map_err(|e| e.to_string())
    };
    submit().await?;
    status().await?;
    for (label, concurrency) in [("seq", 1), ("c64", 64)] {
        report_paired(
            &format!("pub.gw.submit.{label}"),
            NAMES,
            paired_requests_per_sec(concurrency, || ours.submit(), submit).await,
        );
        report_paired(
            &format!("pub.gw.status.{label}"),
            NAMES,
            paired_requests_per_sec(concurrency, || ours.status(), status).await,
        );
    }
    // What no SDK on hyper-util's pooled client can beat, beside the published crate: the
    // bound of `ours_per_published` on this machine.
    report_paired(
        "pub.gw.submit.seq",
        FLOOR_NAMES,
        paired_requests_per_sec(1, || floor.submit(), submit).await,
    );
    report_paired(
        "pub.gw.status.seq",
        FLOOR_NAMES,
        paired_requests_per_sec(1, || floor.status(), status).await,
    );
    Ok(())
}
