//! Requests per second of artifact submit and exchange status: our `GatewayClient`
//! against a raw hyper-util client replaying the same bytes (the floor), in alternating
//! rounds.

use std::hint::black_box;
use std::time::Duration;

use airlock_crypto::{ArtifactHash, E2eKey};
use airlock_gateway::{GatewayClient, SecretToken};
use airlock_types::{ArtifactSubmitBody, Envelope, Timestamp, new_request_id};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::shared::measure::{Paired, paired_requests_per_sec, report_na, report_result};
use crate::shared::payload::small_command;
use crate::shared::server::{CannedServer, Captured};

/// The keys this part reports.
const KEYS: [&str; 12] = [
    "gw.submit.seq.ours",
    "gw.submit.seq.floor",
    "gw.submit.seq.ours_per_floor",
    "gw.status.seq.ours",
    "gw.status.seq.floor",
    "gw.status.seq.ours_per_floor",
    "gw.submit.c64.ours",
    "gw.submit.c64.floor",
    "gw.submit.c64.ours_per_floor",
    "gw.status.c64.ours",
    "gw.status.c64.floor",
    "gw.status.c64.ours_per_floor",
];

pub(crate) fn run() {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return all_na(&format!("no tokio runtime: {e}")),
    };
    if let Err(e) = runtime.block_on(measure_all()) {
        all_na(&e);
    }
}

fn all_na(reason: &str) {
    for key in KEYS {
        report_na(key, reason);
    }
}

async fn measure_all() -> Result<(), String> {
    let server = CannedServer::start().map_err(|e| format!("cannot start the server: {e}"))?;
    let base = server.base_url();
    let client = GatewayClient::builder(base.clone())
        .client_credentials("bench-app", SecretToken::new("bench-client-secret"))
        .pat(SecretToken::new("airpat_bench_token"))
        .build()
        .map_err(|e| format!("cannot build the GatewayClient: {e}"))?;

    let key = E2eKey::from_bytes([7u8; 32]);
    let (canonical, hash) =
        ArtifactHash::of_json(&small_command()).map_err(|e| format!("canonicalize: {e}"))?;
    let expires = Timestamp::now().saturating_add_std(Duration::from_secs(600));
    let mut body =
        ArtifactSubmitBody::new(hash.as_str(), key.seal(&canonical)).with_expires_at(expires);
    body.metadata
        .insert("routingToken".into(), "rt-bench-routing-token".into());

    // One envelope, sent again and again — as the floor sends the same bytes again and
    // again. Building an envelope (two fresh ids, the clock) is the caller's work, not the
    // request path's; the gateway deduplicates by (requestId, artifactHash) anyway.
    let envelope = Envelope::artifact_submit(new_request_id(), "enf-bench", body);
    let submit = || async {
        client
            .submit_artifact(&envelope)
            .await
            .map(|accepted| drop(black_box(accepted)))
            .map_err(|e| e.to_string())
    };
    let status = || async {
        client
            .get_exchange_status("req-bench")
            .await
            .map(|status| drop(black_box(status)))
            .map_err(|e| e.to_string())
    };
    // One request each, so that the server has captured what ours sends.
    submit().await?;
    status().await?;
    let captured_submit = server.captured_submit().ok_or("no submission captured")?;
    let captured_status = server
        .captured_status()
        .ok_or("no status request captured")?;

    let raw: Client<HttpConnector, Full<Bytes>> = {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Client::builder(TokioExecutor::new()).build(connector)
    };
    let replay = |captured: &Captured| {
        let request = replay_request(&base, captured);
        let raw = &raw;
        async move {
            let response = raw.request(request?).await.map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            if !status.is_success() {
                return Err(format!("status {status}"));
            }
            black_box(body);
            Ok(())
        }
    };

    for (label, concurrency) in [("seq", 1), ("c64", 64)] {
        report_paired(
            &format!("gw.submit.{label}"),
            paired_requests_per_sec(concurrency, submit, || replay(&captured_submit)).await,
        );
        report_paired(
            &format!("gw.status.{label}"),
            paired_requests_per_sec(concurrency, status, || replay(&captured_status)).await,
        );
    }
    Ok(())
}

/// `<prefix>.ours`, `<prefix>.floor` (medians) and `<prefix>.ours_per_floor` (the median
/// of the paired rounds' ratios), each with its spread; n/a for all three on an error.
fn report_paired(prefix: &str, result: Result<Paired, String>) {
    let keys = ["ours", "floor", "ours_per_floor"].map(|k| format!("{prefix}.{k}"));
    match result {
        Ok(p) => {
            for (key, stats) in keys.iter().zip([p.a, p.b, p.ratio]) {
                report_result::<String>(key, Ok(stats));
            }
        }
        Err(e) => {
            for key in &keys {
                report_na(key, &e);
            }
        }
    }
}

/// The captured request again, byte for byte (hyper sets `content-length` itself).
fn replay_request(base: &str, captured: &Captured) -> Result<http::Request<Full<Bytes>>, String> {
    let mut builder = http::Request::builder()
        .method(captured.method.clone())
        .uri(format!("{base}{}", captured.path));
    for (name, value) in &captured.headers {
        if name != http::header::CONTENT_LENGTH {
            builder = builder.header(name, value);
        }
    }
    builder
        .body(Full::new(captured.body.clone()))
        .map_err(|e| e.to_string())
}
