//! The published `airlock-gateway` 0.4.8 crate under the benchmarks of
//! `bench/airlock-bench` (same payload, server and timing code), printing
//! `bench <key> <value>` / `bench-na <key> <reason>` lines for `cargo xtask bench`.
//!
//! - `crypto.published.canonicalize`, `crypto.published.pipeline`: MB/s of its
//!   `canonical_json::canonicalize`, and of canonicalize + `sha256_hex` +
//!   `aes_gcm_encrypt` (what its `encrypt_and_submit_artifact` does before sending).
//! - `gw.{submit,status}.{seq,c64}.published`: requests/s of its `submit_artifact` and
//!   `get_exchange_status` against the same canned loopback server.
#![allow(clippy::print_stdout)]

// The benchmark code shared with bench/airlock-bench (the server's request capture is
// used by airlock-bench's raw floor only).
#[allow(dead_code)]
#[path = "../../airlock-bench/src/shared/measure.rs"]
mod measure;
#[allow(dead_code)]
#[path = "../../airlock-bench/src/shared/payload.rs"]
mod payload;
#[allow(dead_code)]
#[path = "../../airlock-bench/src/shared/server.rs"]
mod server;

use std::collections::HashMap;
use std::hint::black_box;

use airlock_gateway::canonical_json::canonicalize;
use airlock_gateway::crypto::{aes_gcm_encrypt, sha256_hex, to_base64url};
use airlock_gateway::{AirlockGatewayClient, ArtifactSubmitRequest};

use measure::{megabytes_per_sec, report_na, report_result, requests_per_sec};
use payload::{PIPELINE_BYTES, command_artifact, small_command};
use server::CannedServer;

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
        report_na("crypto.published.pipeline", "the payload is not UTF-8");
        return;
    };
    let key = to_base64url(&[7u8; 32]);
    report_result(
        "crypto.published.canonicalize",
        megabytes_per_sec(n, || canonicalize(text).map(|c| drop(black_box(c)))),
    );
    report_result(
        "crypto.published.pipeline",
        megabytes_per_sec(n, || {
            let canonical = canonicalize(text)?;
            black_box(sha256_hex(&canonical));
            black_box(aes_gcm_encrypt(&key, &canonical)?);
            Ok::<(), String>(())
        }),
    );
}

fn gateway() {
    let keys = [
        "gw.submit.seq.published",
        "gw.status.seq.published",
        "gw.submit.c64.published",
        "gw.status.c64.published",
    ];
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no tokio runtime: {e}"))
        .and_then(|rt| rt.block_on(measure_gateway()));
    if let Err(e) = result {
        for key in keys {
            report_na(key, &e);
        }
    }
}

async fn measure_gateway() -> Result<(), String> {
    let server = CannedServer::start().map_err(|e| format!("cannot start the server: {e}"))?;
    let mut client = AirlockGatewayClient::with_credentials(
        server.base_url(),
        "bench-app",
        "bench-client-secret",
    );
    client.set_pat(Some("airpat_bench_token"));

    let key = to_base64url(&[7u8; 32]);
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
        report_result(
            &format!("gw.submit.{label}.published"),
            requests_per_sec(concurrency, submit).await,
        );
        report_result(
            &format!("gw.status.{label}.published"),
            requests_per_sec(concurrency, status).await,
        );
    }
    Ok(())
}
