//! Wire format, errors, retries, timeouts, TLS and HTTP/2 against an in-process server.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use airlock_gateway::{Error, GatewayClient, ProtocolErrorKind, SecretToken};
use airlock_types::{
    AckBody, ArtifactSubmitBody, DndQuery, EncryptedPayload, Envelope, ErrorCode, HeartbeatRequest,
    PairingClaimRequest, PairingInitiateRequest, PairingRevokeRequest,
};
use serde_json::json;
use support::{Reply, TestServer, client_for, fast_retries, happy_gateway};

const SECRETS: [&str; 3] = ["airpat_SECRET_PAT", "client-secret-XYZ", "BEARER_SECRET"];

fn assert_no_secret(text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "secret {s} leaked in {text}");
    }
}

fn sample_artifact(request_id: &str) -> Envelope<ArtifactSubmitBody> {
    let payload = EncryptedPayload::new(
        "ZGF0YQ==".into(),
        "bm9uY2Vub25jZTE=".into(),
        Some("dGFn".into()),
    );
    let body =
        ArtifactSubmitBody::new("ab".repeat(32), payload).with_metadata("routingToken", "rt-1");
    Envelope::artifact_submit(request_id, "enf-1", body)
}

#[tokio::test]
async fn every_endpoint_sends_the_documented_request() {
    let server = TestServer::start(happy_gateway).await;
    let client = client_for(&server);

    client.echo().await.unwrap();
    let d = client.discover().await.unwrap();
    assert!(d.auth.pat_supported);
    assert!(client.check_consent().await.unwrap().status.is_allowed());
    let accepted = client
        .raw()
        .submit_artifact(&sample_artifact("req-1"))
        .await
        .unwrap();
    assert_eq!(accepted.body.request_id.as_deref(), Some("req-1"));
    let status = client.raw().get_exchange_status("req-1").await.unwrap();
    assert_eq!(status.body.state, airlock_types::ExchangeState::Pending);
    assert!(
        client
            .raw()
            .wait_for_decision("req-1", Duration::from_secs(90))
            .await
            .unwrap()
            .is_none()
    );
    client.raw().withdraw_exchange("req-1").await.unwrap();
    client
        .raw()
        .submit_ack(&Envelope::ack(
            "req-1",
            "enf-1",
            AckBody::delivered("msg-d"),
        ))
        .await
        .unwrap();
    let init = client
        .raw()
        .initiate_pairing(
            &PairingInitiateRequest::new("dev-1", "enf-1").with_x25519_public_key("pk"),
        )
        .await
        .unwrap();
    assert_eq!(init.pairing_code, "ABCD-1234");
    let claim = client
        .raw()
        .claim_pairing(&PairingClaimRequest::new(
            "CODE-1", "dev-1", "enf-1", "Laptop", "ws",
        ))
        .await
        .unwrap();
    assert_eq!(claim.routing_token.as_deref(), Some("rt-claim"));
    client.raw().get_pairing_status("pn-1").await.unwrap();
    client
        .raw()
        .revoke_pairing(&PairingRevokeRequest::new("rt-1"))
        .await
        .unwrap();
    client
        .raw()
        .send_heartbeat(&HeartbeatRequest::new("enf-1").with_workspace_name("ws"))
        .await
        .unwrap();
    client
        .raw()
        .get_effective_dnd_policies(&DndQuery::new("enf 1", "ws/1&x").with_session_id("s?1"))
        .await
        .unwrap();

    let reqs = server.requests();
    let summary: Vec<(String, String, Option<String>)> = reqs
        .iter()
        .map(|r| (r.method.to_string(), r.path.clone(), r.query.clone()))
        .collect();
    let expected = [
        ("GET", "/echo", None),
        ("GET", "/v1/integrations/discovery", None),
        ("GET", "/v1/consent/status", None),
        ("POST", "/v1/artifacts", None),
        ("GET", "/v1/exchanges/req-1", None),
        ("GET", "/v1/exchanges/req-1/wait", Some("timeout=60")),
        ("POST", "/v1/exchanges/req-1/withdraw", None),
        ("POST", "/v1/acks", None),
        ("POST", "/v1/pairing/initiate", None),
        ("POST", "/v1/pairing/claim", None),
        ("GET", "/v1/pairing/pn-1/status", None),
        ("POST", "/v1/pairing/revoke", None),
        ("POST", "/v1/presence/heartbeat", None),
        (
            "GET",
            "/v1/policy/dnd/effective",
            Some("enforcerId=enf+1&workspaceId=ws%2F1%26x&sessionId=s%3F1"),
        ),
    ];
    assert_eq!(summary.len(), expected.len());
    for (got, want) in summary.iter().zip(expected) {
        assert_eq!((got.0.as_str(), got.1.as_str(), got.2.as_deref()), want);
    }

    for r in &reqs {
        // Headers of every request.
        assert_eq!(r.header("x-client-id"), Some("app-1"));
        assert_eq!(r.header("x-client-secret"), Some("client-secret-XYZ"));
        assert_eq!(r.header("x-pat"), Some("airpat_SECRET_PAT"));
        assert!(r.header("authorization").is_none(), "PAT wins over bearer");
        assert_eq!(
            r.header("accept"),
            Some("application/json, application/harp+json")
        );
        assert!(r.header("user-agent").unwrap().starts_with("airlock-rs/"));
        if r.body.is_empty() {
            assert!(
                r.header("content-type").is_none(),
                "{} {}",
                r.method,
                r.path
            );
        } else {
            assert_eq!(r.header("content-type"), Some("application/json"));
        }
    }
    // The withdraw request carries no body.
    assert!(reqs[6].body.is_empty());

    // Body fields, camelCase as PROTOCOL.md says.
    let submit = reqs[3].json();
    assert_eq!(submit["msgType"], "artifact.submit");
    assert_eq!(submit["requestId"], "req-1");
    assert_eq!(submit["sender"]["enforcerId"], "enf-1");
    assert!(submit["msgId"].as_str().unwrap().starts_with("msg-"));
    assert_eq!(submit["body"]["artifactType"], "command-approval");
    assert_eq!(submit["body"]["artifactHash"], "ab".repeat(32));
    assert_eq!(submit["body"]["ciphertext"]["alg"], "AES-256-GCM");
    assert_eq!(submit["body"]["metadata"]["routingToken"], "rt-1");
    assert!(submit["body"]["expiresAt"].is_string());

    let ack = reqs[7].json();
    assert_eq!(ack["msgType"], "ack.submit");
    assert!(ack["msgId"].as_str().unwrap().starts_with("ack-"));
    assert_eq!(ack["requestId"], "req-1");
    assert_eq!(ack["sender"]["enforcerId"], "enf-1");
    assert_eq!(ack["body"]["msgId"], "msg-d");
    assert_eq!(ack["body"]["status"], "delivered");
    assert!(ack["body"]["ackAt"].is_string());

    let init = reqs[8].json();
    assert_eq!(
        init,
        json!({"deviceId": "dev-1", "enforcerId": "enf-1", "x25519PublicKey": "pk"})
    );
    let claim = reqs[9].json();
    assert_eq!(
        claim,
        json!({"pairingCode": "CODE-1", "deviceId": "dev-1", "enforcerId": "enf-1", "enforcerLabel": "Laptop", "workspaceName": "ws"})
    );
    assert_eq!(reqs[11].json(), json!({"routingToken": "rt-1"}));
    assert_eq!(
        reqs[12].json(),
        json!({"enforcerId": "enf-1", "workspaceName": "ws"})
    );
}

#[tokio::test]
async fn base_url_prefix_and_wait_clamp() {
    let server = TestServer::start(|_| Reply::empty(204)).await;
    let client = GatewayClient::builder(format!("{}/gw/", server.url()))
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();
    assert!(
        client
            .raw()
            .wait_for_decision("r", Duration::ZERO)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        client
            .raw()
            .wait_for_decision("r", Duration::from_millis(1500))
            .await
            .unwrap()
            .is_none()
    );
    let reqs = server.requests();
    assert_eq!(reqs[0].path, "/gw/v1/exchanges/r/wait");
    assert_eq!(reqs[0].query.as_deref(), Some("timeout=1"));
    assert_eq!(reqs[1].query.as_deref(), Some("timeout=2"));
    // No credentials configured: none sent.
    assert!(reqs[0].header("x-client-id").is_none() && reqs[0].header("x-pat").is_none());
}

#[tokio::test]
async fn public_app_sends_origin_and_bearer() {
    let server = TestServer::start(happy_gateway).await;
    let client = GatewayClient::builder(server.url())
        .public_client("web-app", "https://app.example")
        .bearer_token(SecretToken::new("BEARER_SECRET"))
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();
    client.echo().await.unwrap();
    client.set_pat(Some(SecretToken::new("airpat_SECRET_PAT")));
    client.echo().await.unwrap();
    client.set_pat(None);
    client.set_bearer_token(None);
    client.echo().await.unwrap();
    let reqs = server.requests();
    assert_eq!(reqs[0].header("origin"), Some("https://app.example"));
    assert!(reqs[0].header("x-client-secret").is_none());
    assert_eq!(
        reqs[0].header("authorization"),
        Some("Bearer BEARER_SECRET")
    );
    assert_eq!(reqs[1].header("x-pat"), Some("airpat_SECRET_PAT"));
    assert!(reqs[1].header("authorization").is_none());
    assert!(reqs[2].header("authorization").is_none() && reqs[2].header("x-pat").is_none());
}

#[tokio::test]
async fn both_error_shapes_html_and_empty_bodies() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/v1/consent/status" => Reply::json(
            403,
            json!({"error": "app_consent_required", "message": "consent needed", "consentUrl": "https://consent", "appName": "CLI", "appId": "app-1"}),
        ),
        "/v1/exchanges/gone" => Reply::json(
            410,
            json!({"msgType": "error", "requestId": "req-x", "body": {"code": "expired", "message": "expired", "requestId": "req-x"}}),
        ),
        "/v1/exchanges/quota" => Reply::json(429, json!({"msgType": "error", "body": {"code": "quota_exceeded", "message": "slow down"}}))
            .header("retry-after", "120"),
        "/v1/exchanges/html" => Reply::text(502, "<html><body>Bad gateway</body></html>"),
        "/v1/exchanges/empty" => Reply::empty(500),
        "/v1/exchanges/garbage" => Reply::text(200, "not json"),
        "/v1/exchanges/nocontent" => Reply::empty(204),
        "/v1/exchanges/redirect" => Reply::empty(302).header("location", "https://evil.example/"),
        "/v1/exchanges/revoked" => Reply::json(403, json!({"error": "pairing_revoked"})),
        "/v1/exchanges/conflict" => Reply::json(409, json!({"msgType": "error", "body": {"code": "conflict"}})),
        "/v1/exchanges/unauth" => Reply::json(401, json!({"error": "unauthorized", "message": "bad PAT"})),
        "/v1/exchanges/unknown" => Reply::json(404, json!({"msgType": "error", "body": {"code": "not_found", "message": "no such exchange"}})),
        _ => Reply::empty(404),
    })
    .await;
    let client = GatewayClient::builder(server.url())
        .pat(SecretToken::new("airpat_SECRET_PAT"))
        .retry_policy(airlock_gateway::RetryPolicy::none())
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();

    let e = client.check_consent().await.unwrap_err();
    assert!(e.is_consent_required() && !e.is_retryable());
    let c = e.consent().unwrap();
    assert_eq!(c.consent_url.as_deref(), Some("https://consent"));
    assert_eq!(c.app_name.as_deref(), Some("CLI"));
    assert_eq!(c.app_id.as_deref(), Some("app-1"));
    assert_eq!(e.as_service().unwrap().message(), Some("consent needed"));

    let e = client.raw().get_exchange_status("gone").await.unwrap_err();
    assert!(e.is_expired());
    assert_eq!(e.as_service().unwrap().request_id(), Some("req-x"));

    let e = client.raw().get_exchange_status("quota").await.unwrap_err();
    assert!(e.is_quota_exceeded() && e.is_retryable());
    assert_eq!(e.code(), Some(&ErrorCode::QuotaExceeded));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(120)));

    let e = client.raw().get_exchange_status("html").await.unwrap_err();
    let Error::Protocol(p) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(p.kind(), ProtocolErrorKind::UnrecognizedErrorBody);
    assert_eq!(p.status().as_u16(), 502);
    assert!(p.body_excerpt().contains("Bad gateway"));
    assert!(e.is_retryable());

    let e = client.raw().get_exchange_status("empty").await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(500));
    assert!(!e.is_retryable());

    let e = client
        .raw()
        .get_exchange_status("garbage")
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Protocol(p) if p.kind() == ProtocolErrorKind::InvalidBody));
    assert!(std::error::Error::source(&e).is_some());

    let e = client
        .raw()
        .get_exchange_status("nocontent")
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Protocol(p) if p.kind() == ProtocolErrorKind::UnexpectedNoContent));

    let e = client
        .raw()
        .get_exchange_status("redirect")
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Protocol(p) if p.kind() == ProtocolErrorKind::UnexpectedStatus));
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.path.contains("redirect"))
            .count(),
        1
    );

    assert!(
        client
            .raw()
            .get_exchange_status("revoked")
            .await
            .unwrap_err()
            .is_pairing_revoked()
    );
    assert!(
        client
            .raw()
            .get_exchange_status("conflict")
            .await
            .unwrap_err()
            .is_conflict()
    );
    let e = client
        .raw()
        .get_exchange_status("unknown")
        .await
        .unwrap_err();
    assert!(
        e.is_not_found() && !e.is_conflict() && !e.is_retryable(),
        "{e:?}"
    );
    assert_eq!(e.code(), Some(&ErrorCode::NotFound));
    let e = client
        .raw()
        .get_exchange_status("unauth")
        .await
        .unwrap_err();
    assert!(e.is_unauthorized() && !e.is_not_found());
    assert_no_secret(&format!("{e} {e:?}"));

    // Invalid ids never reach the server.
    let before = server.count();
    for bad in ["", ".", ".."] {
        assert!(matches!(
            client.raw().get_exchange_status(bad).await,
            Err(Error::InvalidInput { .. })
        ));
        assert!(matches!(
            client.raw().get_pairing_status(bad).await,
            Err(Error::InvalidInput { .. })
        ));
    }
    assert_eq!(server.count(), before);
}

#[tokio::test]
async fn retries_transient_failures_of_idempotent_calls_only() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let server = TestServer::start(move |r| {
        let n = h.fetch_add(1, Ordering::SeqCst);
        match (r.path.as_str(), n % 3) {
            ("/v1/pairing/initiate", _) => Reply::empty(503),
            (_, 0) => Reply::text(503, "busy"),
            (_, 1) => Reply::json(429, json!({"error": "rate_limited"})).header("retry-after", "0"),
            _ => happy_gateway(r),
        }
    })
    .await;
    let client = client_for(&server);
    // GET: 503, 429 (Retry-After: 0), then success.
    client.echo().await.unwrap();
    assert_eq!(server.count(), 3);
    // Artifact submit is idempotent by (requestId, artifactHash): retried too.
    client
        .raw()
        .submit_artifact(&sample_artifact("req-r"))
        .await
        .unwrap();
    assert_eq!(server.count(), 6);
    let submits: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/artifacts")
        .collect();
    assert_eq!(submits.len(), 3);
    assert!(
        submits.windows(2).all(|w| w[0].body == w[1].body),
        "the same bytes are resent"
    );
    // Non-idempotent: a 503 is not retried.
    let e = client
        .raw()
        .initiate_pairing(&PairingInitiateRequest::new("d", "e"))
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.count(), 7);
}

#[tokio::test]
async fn gives_up_after_max_attempts_and_never_retries_other_4xx() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/echo" => Reply::text(504, "timeout"),
        _ => Reply::json(400, json!({"error": "invalid_request"})),
    })
    .await;
    let client = client_for(&server);
    let e = client.echo().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(504));
    assert_eq!(server.count(), 3);
    let e = client.raw().get_exchange_status("x").await.unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InvalidRequest));
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn connect_errors_are_retried_even_for_non_idempotent_calls() {
    // Reserve a port, then close it: connections are refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let transport = move |req: http::Request<bytes::Bytes>| {
        c.fetch_add(1, Ordering::SeqCst);
        let inner = airlock_http::HyperTransport::new();
        async move { airlock_http::HttpClient::send(&inner, req).await }
    };
    let client = GatewayClient::builder(format!("http://127.0.0.1:{port}"))
        .retry_policy(fast_retries(3))
        .transport(Arc::new(transport))
        .build()
        .unwrap();
    let e = client
        .raw()
        .initiate_pairing(&PairingInitiateRequest::new("d", "e"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = TestServer::start(|_| Reply::hang()).await;
    let client = GatewayClient::builder(server.url())
        .timeout(Duration::from_millis(300))
        .retry_policy(fast_retries(2))
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();
    let e = client.echo().await.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert_eq!(server.count(), 1, "timeouts are not retried");
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let big = "x".repeat(64 * 1024);
    let server = TestServer::start(move |_| Reply::json(200, json!({ "utc": big.clone() }))).await;
    let transport = airlock_http::HyperTransport::builder()
        .max_response_body(16 * 1024)
        .build()
        .unwrap();
    let client = GatewayClient::builder(server.url())
        .transport(Arc::new(transport))
        .build()
        .unwrap();
    let e = client.echo().await.unwrap_err();
    let Error::Transport(t) = &e else {
        panic!("{e:?}")
    };
    assert!(t.is_body_too_large());
}

#[tokio::test]
async fn tls_with_a_self_signed_root_and_http2() {
    let (acceptor, cert) = support::self_signed();
    let server = TestServer::start_tls(happy_gateway, acceptor).await;
    let transport = airlock_http::HyperTransport::builder()
        .tls_webpki_roots(false)
        .add_root_certificate_der(cert)
        .build()
        .unwrap();
    let client = GatewayClient::builder(server.url())
        .pat(SecretToken::new("airpat_SECRET_PAT"))
        .transport(Arc::new(transport))
        .build()
        .unwrap();
    client.echo().await.unwrap();
    client
        .raw()
        .submit_artifact(&sample_artifact("req-tls"))
        .await
        .unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs.iter().all(|r| r.version == http::Version::HTTP_2),
        "ALPN picks h2"
    );
    assert_eq!(reqs[0].header("x-pat"), Some("airpat_SECRET_PAT"));

    // Without the custom root the certificate is refused.
    let untrusting = GatewayClient::builder(server.url())
        .retry_policy(fast_retries(1))
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();
    let e = untrusting.echo().await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_tasks_share_one_client() {
    let server = TestServer::start(happy_gateway).await;
    let client = client_for(&server);
    let mut tasks = Vec::new();
    for i in 0..64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("req-{i}");
            client
                .raw()
                .submit_artifact(&sample_artifact(&id))
                .await
                .unwrap();
            client
                .raw()
                .get_exchange_status(&id)
                .await
                .unwrap()
                .body
                .request_id
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap(), Some(format!("req-{i}")));
    }
    assert_eq!(server.count(), 128);
}

#[derive(Debug)]
struct CountingSource {
    calls: AtomicUsize,
    forced: AtomicUsize,
}

impl airlock_http::TokenSource for CountingSource {
    fn access_token(
        &self,
        force_refresh: bool,
    ) -> airlock_http::BoxFuture<'_, Result<SecretToken, airlock_http::TokenSourceError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if force_refresh {
            self.forced.fetch_add(1, Ordering::SeqCst);
        }
        let token = if self.forced.load(Ordering::SeqCst) > 0 {
            "fresh"
        } else {
            "stale"
        };
        Box::pin(async move { Ok(SecretToken::new(token)) })
    }
}

#[tokio::test]
async fn a_401_with_a_token_source_refreshes_once_and_retries_once() {
    let server = TestServer::start(|r| match r.header("authorization") {
        Some("Bearer fresh") if r.path == "/echo" => happy_gateway(r),
        _ => Reply::json(401, json!({"error": "unauthorized"})),
    })
    .await;
    let source = Arc::new(CountingSource {
        calls: AtomicUsize::new(0),
        forced: AtomicUsize::new(0),
    });
    let client = GatewayClient::builder(server.url())
        .token_source(source.clone())
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();
    client.echo().await.unwrap();
    assert_eq!(server.count(), 2);
    assert_eq!(source.forced.load(Ordering::SeqCst), 1);
    // A 401 that persists after the refresh is returned, after exactly one more attempt.
    let e = client.check_consent().await.unwrap_err();
    assert!(e.is_unauthorized());
    assert_eq!(server.count(), 4);
    assert_eq!(source.forced.load(Ordering::SeqCst), 2);

    // A PAT takes precedence, and a 401 then is not "refreshed".
    client.set_pat(Some(SecretToken::new("airpat_SECRET_PAT")));
    assert!(client.echo().await.unwrap_err().is_unauthorized());
    assert_eq!(server.count(), 5);
}

#[tokio::test]
async fn no_secret_in_debug_output_or_errors() {
    let server = TestServer::start(|_| Reply::json(401, json!({"error": "unauthorized"}))).await;
    let client = GatewayClient::builder(server.url())
        .client_credentials("app-1", SecretToken::new("client-secret-XYZ"))
        .pat(SecretToken::new("airpat_SECRET_PAT"))
        .bearer_token(SecretToken::new("BEARER_SECRET"))
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();
    assert_no_secret(&format!("{client:?}"));
    let builder = GatewayClient::builder("https://x")
        .client_credentials("app-1", SecretToken::new("client-secret-XYZ"))
        .pat(SecretToken::new("airpat_SECRET_PAT"))
        .bearer_token(SecretToken::new("BEARER_SECRET"));
    assert_no_secret(&format!("{builder:?}"));
    let e = client.echo().await.unwrap_err();
    assert_no_secret(&format!("{e} {e:?} {:?}", std::error::Error::source(&e)));
    // A secret that cannot be a header value is refused without being echoed.
    client.set_pat(Some(SecretToken::new("airpat_SECRET_PAT\n")));
    let e = client.echo().await.unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }));
    assert_no_secret(&format!("{e} {e:?}"));
}

#[test]
fn error_is_send_sync_static_and_small() {
    fn assert_traits<T: Send + Sync + 'static + std::error::Error>() {}
    assert_traits::<Error>();
    assert!(
        std::mem::size_of::<Error>() <= 32,
        "{}",
        std::mem::size_of::<Error>()
    );
    assert!(std::mem::size_of::<Result<(), Error>>() <= 32);
}

#[test]
fn builder_refuses_bad_input() {
    for bad in [
        "",
        "ftp://host",
        "not a url",
        "https://user:pw@host",
        "https://host/?q",
    ] {
        assert!(
            matches!(
                GatewayClient::builder(bad).build(),
                Err(Error::InvalidInput { .. })
            ),
            "{bad}"
        );
    }
    let e = GatewayClient::builder("https://host")
        .client_credentials("app", SecretToken::new("bad\nsecret"))
        .build()
        .unwrap_err();
    assert!(!format!("{e} {e:?}").contains("bad\nsecret"));
}

mod paths {
    use super::*;
    use proptest::prelude::*;

    fn recording_client() -> (GatewayClient, Arc<std::sync::Mutex<Vec<http::Uri>>>) {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        let transport = move |req: http::Request<bytes::Bytes>| {
            s.lock().unwrap().push(req.uri().clone());
            async move {
                let mut r = http::Response::new(bytes::Bytes::new());
                *r.status_mut() = http::StatusCode::NO_CONTENT;
                Ok(r)
            }
        };
        let client = GatewayClient::builder("https://gw.example/base")
            .transport(Arc::new(transport))
            .build()
            .unwrap();
        (client, seen)
    }

    proptest! {
        #[test]
        fn any_id_reaches_exactly_the_intended_path(id in any::<String>(), nonce in "\\PC*") {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let (client, seen) = recording_client();
            rt.block_on(async {
                let r = client.raw().wait_for_decision(&id, Duration::from_secs(5)).await;
                let _ = client.raw().get_pairing_status(&nonce).await;
                if id.is_empty() || id == "." || id == ".." {
                    let refused = matches!(r, Err(Error::InvalidInput { .. }));
                    prop_assert!(refused);
                } else {
                    prop_assert!(r.unwrap().is_none());
                }
                Ok(())
            })?;
            let seen = seen.lock().unwrap();
            let mut i = 0;
            if !(id.is_empty() || id == "." || id == "..") {
                let uri = &seen[i];
                i += 1;
                let segs: Vec<String> = uri.path().split('/').skip(1).map(support::percent_decode).collect();
                prop_assert_eq!(segs, vec!["base".to_owned(), "v1".into(), "exchanges".into(), id.clone(), "wait".into()]);
                prop_assert_eq!(uri.query(), Some("timeout=5"));
                prop_assert_eq!(uri.host(), Some("gw.example"));
            }
            if !(nonce.is_empty() || nonce == "." || nonce == "..") {
                let uri = &seen[i];
                let segs: Vec<String> = uri.path().split('/').skip(1).map(support::percent_decode).collect();
                prop_assert_eq!(segs, vec!["base".to_owned(), "v1".into(), "pairing".into(), nonce.clone(), "status".into()]);
                prop_assert_eq!(uri.query(), None);
            }
        }
    }

    #[test]
    fn hostile_ids_stay_in_their_segment() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (client, seen) = recording_client();
        rt.block_on(async {
            for id in [
                "../../admin",
                "a/b",
                "a?b=c",
                "a#frag",
                "%2e%2e",
                "a b",
                "..%2f",
                "...",
                "x/../../y",
            ] {
                let _ = client
                    .raw()
                    .wait_for_decision(id, Duration::from_secs(1))
                    .await;
            }
        });
        for uri in seen.lock().unwrap().iter() {
            let path = uri.path();
            assert!(
                path.starts_with("/base/v1/exchanges/") && path.ends_with("/wait"),
                "{path}"
            );
            assert_eq!(path.matches('/').count(), 5, "{path}");
            assert_eq!(uri.query(), Some("timeout=1"));
        }
    }
}

#[tokio::test]
async fn a_transport_failure_names_the_url_and_the_root_cause() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = GatewayClient::builder(format!("http://127.0.0.1:{port}"))
        .retry_policy(airlock_gateway::RetryPolicy::none())
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();
    let e = client.echo().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("cannot reach the gateway at http://127.0.0.1:{port}/echo: connection refused")
    );
    let Error::Transport(t) = &e else {
        panic!("{e:?}")
    };
    assert!(t.is_connect());
    assert_eq!(t.url(), format!("http://127.0.0.1:{port}/echo"));
    // The whole chain is still there for whoever wants it.
    let source = std::error::Error::source(&e).unwrap();
    assert!(source.is::<airlock_http::TransportError>(), "{source:?}");
    assert!(std::error::Error::source(source).is_some());

    // The query is left out of the URL; an oversized answer says so.
    let big = "x".repeat(64 * 1024);
    let server = TestServer::start(move |_| Reply::json(200, json!({ "utc": big.clone() }))).await;
    let transport = airlock_http::HyperTransport::builder()
        .max_response_body(16 * 1024)
        .build()
        .unwrap();
    let client = GatewayClient::builder(server.url())
        .transport(Arc::new(transport))
        .build()
        .unwrap();
    let e = client
        .raw()
        .wait_for_decision("req-1", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "the answer from {}/v1/exchanges/req-1/wait is larger than the limit of 16384 bytes",
            server.url()
        )
    );
}
