//! The gateway over raw HTTP: state machine, idempotency, long-poll, delivery, pairing,
//! authentication, rate limit, consent, presence, DND.

mod common;

use std::time::Duration;

use airlock_sandbox::{ApproverPolicy, ConsentMode, ConsentState, RateLimit};
use airlock_types::Decision;
use common::*;
use http::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn echo_and_discovery_need_no_credentials() {
    let sandbox = start(config().build()).await;
    let c = client();
    let r = send(
        &c,
        Method::GET,
        &format!("{}/echo", sandbox.gateway_url()),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["utc"].as_str().unwrap().ends_with('Z'));
    let r = send(
        &c,
        Method::GET,
        &format!("{}/v1/integrations/discovery", sandbox.gateway_url()),
        &[],
        None,
    )
    .await;
    let v = r.json();
    assert_eq!(v["idp"]["baseUrl"], sandbox.issuer_url());
    assert_eq!(v["idp"]["clientId"], sandbox.idp_client_id());
    assert_eq!(v["auth"]["patSupported"], true);
}

#[tokio::test]
async fn full_lifecycle_with_at_least_once_delivery() {
    let sandbox = start(config().build()).await;
    let mut e = Enforcer::new(&sandbox);
    let approver = e.pair().await;
    assert_eq!(approver.signer_key_id, sandbox.approver().signer_key_id());

    let id = new_request_id();
    let (r, hash) = e.submit(&id, &command("ls -la")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let v = r.json();
    assert_eq!(v["msgType"], "artifact.accepted");
    assert_eq!(v["requestId"], id.as_str());

    let r = e.wait(&id, 10).await;
    assert_eq!(r.status, StatusCode::OK);
    let first = r.json();
    assert_eq!(first["msgType"], "decision.deliver");
    assert_eq!(first["body"]["artifactHash"], hash.as_str());
    assert_eq!(first["body"]["decision"], "approve");

    // Not acked: delivered again, same message.
    let again = e.wait(&id, 5).await.json();
    assert_eq!(again["msgId"], first["msgId"]);
    assert_eq!(again["body"], first["body"]);
    let info = sandbox.exchange(&id).unwrap();
    assert_eq!(info.state.as_str(), "Decided");
    assert_eq!(info.deliveries, 2);

    let r = e.ack(&id, first["msgId"].as_str().unwrap()).await;
    r.assert_ok();
    assert_eq!(sandbox.exchange(&id).unwrap().state.as_str(), "Delivered");
    let status = e.get(&format!("/v1/exchanges/{id}")).await.json();
    assert_eq!(status["msgType"], "exchange.status");
    assert_eq!(status["body"]["state"], "Delivered");

    // Terminal: withdraw is a conflict.
    let r = e
        .call(Method::POST, &format!("/v1/exchanges/{id}/withdraw"), None)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["msgType"], "error");
}

#[tokio::test]
async fn ack_of_an_unknown_delivery_is_refused() {
    let sandbox = start(config().build()).await;
    let mut e = Enforcer::new(&sandbox);
    e.pair().await;
    let id = new_request_id();
    e.submit(&id, &command("true")).await;
    assert_eq!(e.wait(&id, 10).await.status, StatusCode::OK);
    let r = e.ack(&id, "msg-not-the-delivery").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(sandbox.exchange(&id).unwrap().state.as_str(), "Decided");
}

#[tokio::test]
async fn submit_is_idempotent_by_request_id_and_hash() {
    let sandbox = start(config().approver_policy(ApproverPolicy::Manual).build()).await;
    let mut e = Enforcer::new(&sandbox);
    e.pair().await;
    let id = new_request_id();
    let (env, _) = e.artifact(&id, &command("make"), None);
    let a = e.post("/v1/artifacts", env.clone()).await;
    let b = e.post("/v1/artifacts", env).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(b.status, StatusCode::ACCEPTED);
    assert_eq!(a.json()["body"]["requestId"], b.json()["body"]["requestId"]);
    sandbox
        .approver()
        .wait_for_artifact(&id, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(sandbox.approver().seen().len(), 1, "no duplicate");

    // Same request id, other content → 409.
    let (other, _) = e.artifact(&id, &command("make install"), None);
    let r = e.post("/v1/artifacts", other).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["body"]["requestId"], id.as_str());
}

#[tokio::test]
async fn expired_artifacts_are_refused_with_422_and_pending_ones_expire() {
    let sandbox = start(config().approver_policy(ApproverPolicy::Manual).build()).await;
    let mut e = Enforcer::new(&sandbox);
    e.pair().await;
    let (env, _) = e.artifact(
        &new_request_id(),
        &command("x"),
        Some("2020-01-01T00:00:00.000001+01:00"),
    );
    let r = e.post("/v1/artifacts", env).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "expired");

    // Expires two seconds from now; a wait longer than that answers 410 at expiry.
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let soon = soon
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let id = new_request_id();
    let (env, _) = e.artifact(&id, &command("y"), Some(&soon));
    assert_eq!(
        e.post("/v1/artifacts", env).await.status,
        StatusCode::ACCEPTED
    );
    let r = e.wait(&id, 30).await;
    assert_eq!(r.status, StatusCode::GONE);
    assert_eq!(r.code(), "expired");
    assert_eq!(sandbox.exchange(&id).unwrap().state.as_str(), "Expired");
    // The approver cannot decide an expired exchange any more.
    let err = sandbox
        .approver()
        .decide(&id, Decision::Approve, None)
        .unwrap_err();
    assert_eq!(err.status(), Some(410));
}

#[tokio::test]
async fn long_poll_answers_when_the_decision_arrives_and_204_at_timeout() {
    let sandbox = start(config().approver_policy(ApproverPolicy::Manual).build()).await;
    let mut e = Enforcer::new(&sandbox);
    e.pair().await;
    let id = new_request_id();
    e.submit(&id, &command("deploy")).await;

    let r = e.wait(&id, 1).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.body.is_empty());

    let waiter = {
        let path = format!("/v1/exchanges/{id}/wait?timeout=60");
        let e2 = Enforcer {
            ..Enforcer::new(&sandbox)
        };
        tokio::spawn(async move { e2.get(&path).await })
    };
    sandbox
        .approver()
        .wait_for_artifact(&id, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(sandbox.approver().pending().len(), 1);
    sandbox
        .approver()
        .decide(&id, Decision::Reject, Some("not now"))
        .unwrap();
    // The waiter was woken by the decision (well before its 60 s timeout; the test would
    // otherwise take a minute).
    let r = tokio::time::timeout(Duration::from_secs(20), waiter)
        .await
        .expect("woken")
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["body"]["decision"], "reject");
    assert_eq!(v["body"]["reason"], "not now");
    assert!(sandbox.approver().pending().is_empty());
}

#[tokio::test]
async fn withdraw_then_conflicts_and_wait_reports_it() {
    let sandbox = start(config().approver_policy(ApproverPolicy::Manual).build()).await;
    let mut e = Enforcer::new(&sandbox);
    e.pair().await;
    let id = new_request_id();
    e.submit(&id, &command("rm -rf /")).await;
    sandbox
        .approver()
        .wait_for_artifact(&id, Duration::from_secs(5))
        .await
        .unwrap();
    let r = e
        .call(Method::POST, &format!("/v1/exchanges/{id}/withdraw"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["msgType"], "exchange.withdrawn");
    let r = e
        .call(Method::POST, &format!("/v1/exchanges/{id}/withdraw"), None)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = e.wait(&id, 5).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "withdrawn");
    let err = sandbox
        .approver()
        .decide(&id, Decision::Approve, None)
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    // Unknown ids are 404, whatever their spelling.
    let r = e.get("/v1/exchanges/req-..%2F..%2Fnope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn authentication_is_required() {
    let sandbox = start(config().build()).await;
    let c = client();
    let url = format!("{}/v1/consent/status", sandbox.gateway_url());
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![
            ("x-client-id", sandbox.client_id()),
            ("x-pat", sandbox.pat()),
        ],
        vec![
            ("x-client-id", sandbox.client_id()),
            ("x-client-secret", "wrong"),
            ("x-pat", sandbox.pat()),
        ],
        vec![
            ("x-client-id", sandbox.client_id()),
            ("x-client-secret", sandbox.client_secret()),
        ],
        vec![
            ("x-client-id", sandbox.client_id()),
            ("x-client-secret", sandbox.client_secret()),
            ("x-pat", "airpat_nope"),
        ],
        vec![
            ("x-client-id", sandbox.client_id()),
            ("x-client-secret", sandbox.client_secret()),
            ("authorization", "Bearer not-a-token"),
        ],
    ];
    // A public app authenticates by a loopback Origin: look-alikes are not one.
    let cases = cases.into_iter().chain(
        [
            "https://evil.example",
            "http://localhost:1@evil.example",
            "http://localhost.evil.com",
            "http://127.0.0.1.nip.io",
            "http://127.1",
            "null",
        ]
        .into_iter()
        .map(|origin| {
            vec![
                ("x-client-id", sandbox.public_client_id()),
                ("origin", origin),
                ("x-pat", sandbox.pat()),
            ]
        }),
    );
    for headers in cases {
        let r = send(&c, Method::GET, &url, &headers, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(r.json()["msgType"], "error");
    }
    // A public app with a loopback Origin, no Accept header.
    let ok = [
        ("x-client-id", sandbox.public_client_id()),
        ("origin", "http://localhost:5173"),
        ("x-pat", sandbox.pat()),
    ];
    let r = send(&c, Method::GET, &url, &ok, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "Allowed");
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let sandbox = start(
        config()
            .rate_limit(Some(RateLimit::new(3, Duration::from_secs(60))))
            .build(),
    )
    .await;
    let e = Enforcer::new(&sandbox);
    for _ in 0..3 {
        assert_eq!(e.get("/v1/consent/status").await.status, StatusCode::OK);
    }
    let r = e.get("/v1/consent/status").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "quota_exceeded");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test]
async fn default_rate_limit_is_60_per_minute() {
    let sandbox = start(airlock_sandbox::SandboxConfig::default()).await;
    let e = Enforcer::new(&sandbox);
    for i in 0..60 {
        assert_eq!(
            e.get("/v1/consent/status").await.status,
            StatusCode::OK,
            "request {i}"
        );
    }
    assert_eq!(
        e.get("/v1/consent/status").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn consent_required_then_pending_then_allowed() {
    let sandbox = start(config().consent(ConsentMode::Required).build()).await;
    let e = Enforcer::new(&sandbox);
    let r = e.get("/v1/consent/status").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let v = r.json();
    assert_eq!(v["error"], "app_consent_required");
    assert_eq!(v["appId"], sandbox.client_id());
    assert!(v["appName"].is_string() && v["message"].is_string());
    // Other endpoints are gated too.
    assert_eq!(
        e.post("/v1/pairing/initiate", json!({})).await.json()["error"],
        "app_consent_required"
    );

    let url = v["consentUrl"].as_str().unwrap();
    let page = send(&client(), Method::GET, url, &[], None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        e.get("/v1/consent/status").await.json()["error"],
        "app_consent_pending"
    );

    sandbox.set_consent(Some(sandbox.client_id()), ConsentState::Allowed);
    let r = e.get("/v1/consent/status").await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn consent_denied() {
    let sandbox = start(config().consent(ConsentMode::Denied).build()).await;
    let r = Enforcer::new(&sandbox).get("/v1/consent/status").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"], "app_consent_denied");
}

#[tokio::test]
async fn pairing_codes_are_single_use_and_expire() {
    let sandbox = start(
        config()
            .auto_pair(false)
            .pairing_code_ttl(Duration::from_secs(1))
            .build(),
    )
    .await;
    let mut e = Enforcer::new(&sandbox);
    let (nonce, code) = e.initiate().await;
    assert_eq!(code.len(), 9, "ABCD-1234 style: {code}");
    assert_eq!(sandbox.pending_pairing_codes(), vec![code.clone()]);
    // Lower case and without the dash still resolves.
    let loose = code.replace('-', "").to_lowercase();
    let paired = sandbox.approver().complete_pairing(&loose).unwrap();
    assert_eq!(paired.enforcer_id.as_deref(), Some(e.enforcer_id.as_str()));
    e.finish_pairing(&nonce).await;
    let err = sandbox.approver().complete_pairing(&code).unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");

    let (nonce2, code2) = e.initiate().await;
    // Wait out the 1 s TTL with margin.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let err = sandbox.approver().complete_pairing(&code2).unwrap_err();
    assert_eq!(err.status(), Some(410), "{err}");
    assert_eq!(
        e.get(&format!("/v1/pairing/{nonce2}/status")).await.json()["state"],
        "Expired"
    );
}

#[tokio::test]
async fn pre_generated_codes_are_claimed_once() {
    let sandbox = start(config().build()).await;
    let mut e = Enforcer::new(&sandbox);
    let code = sandbox.approver().pre_generate_code().unwrap();
    let claim = json!({
        "pairingCode": code.pairing_code, "deviceId": "d", "enforcerId": e.enforcer_id,
        "enforcerLabel": "l", "workspaceName": "w", "gatewayUrl": null,
        "x25519PublicKey": e.x25519.public_key().to_base64url(),
    });
    let r = e.post("/v1/pairing/claim", claim.clone()).await;
    r.assert_ok();
    let nonce = r.json()["pairingNonce"].as_str().unwrap().to_owned();
    e.finish_pairing(&nonce).await;
    let r = e.post("/v1/pairing/claim", claim).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The claimed pairing routes artifacts.
    let id = new_request_id();
    assert_eq!(
        e.submit(&id, &command("ok")).await.0.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(e.wait(&id, 10).await.status, StatusCode::OK);
}

#[tokio::test]
async fn revoked_pairings_refuse_submissions() {
    let sandbox = start(config().build()).await;
    let mut e = Enforcer::new(&sandbox);
    e.pair().await;
    let token = e.routing_token.clone().unwrap();
    let r = e
        .post("/v1/pairing/revoke", json!({ "routingToken": token }))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["enforcerId"], e.enforcer_id.as_str());
    let (r, _) = e.submit(&new_request_id(), &command("x")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "pairing_revoked");
    // Without a routing token the enforcer's pairings are looked up: still revoked.
    let (mut env, _) = e.artifact(&new_request_id(), &command("x"), None);
    env["body"]["metadata"] = Value::Null;
    assert_eq!(e.post("/v1/artifacts", env).await.code(), "pairing_revoked");
}

#[tokio::test]
async fn presence_has_a_ttl() {
    let sandbox = start(config().presence_ttl(Duration::from_secs(1)).build()).await;
    let e = Enforcer::new(&sandbox);
    let r = e
        .post(
            "/v1/presence/heartbeat",
            json!({ "enforcerId": "enf-p", "workspaceName": "ws", "enforcerLabel": null }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let p = sandbox.presence("enf-p").expect("online");
    assert_eq!(p.workspace_name.as_deref(), Some("ws"));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(sandbox.presence("enf-p").is_none());
    assert_eq!(
        e.post("/v1/presence/heartbeat", json!({})).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn dnd_policies_are_served_filtered() {
    let sandbox = start(config().build()).await;
    use airlock_types::{DndPolicy, PolicyMode, Timestamp};
    let far = Timestamp::parse("2999-01-01T00:00:00Z").unwrap();
    let policy = |enf: &str, ws: &str, expires: Timestamp| {
        DndPolicy::workspace(new_request_id(), enf, ws, PolicyMode::ApproveAll, expires)
    };
    sandbox.add_dnd_policy(policy("enf a/b", "ws1", far));
    sandbox.add_dnd_policy(policy("enf-2", "ws1", far));
    let past = Timestamp::parse("2001-01-01T00:00:00Z").unwrap();
    sandbox.add_dnd_policy(policy("enf a/b", "ws1", past));
    let e = Enforcer::new(&sandbox);
    let r = e
        .get("/v1/policy/dnd/effective?enforcerId=enf%20a%2Fb&workspaceId=ws1")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["body"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["body"][0]["enforcerId"], "enf a/b");
    // A session query keeps the workspace-wide policy and the session's own, not another
    // session's.
    let mut own = policy("enf a/b", "ws1", far);
    own.session_id = Some("s-1".into());
    let mut other = policy("enf a/b", "ws1", far);
    other.session_id = Some("s-2".into());
    sandbox.add_dnd_policy(own);
    sandbox.add_dnd_policy(other);
    let v = e
        .get("/v1/policy/dnd/effective?enforcerId=enf%20a%2Fb&workspaceId=ws1&sessionId=s-1")
        .await
        .json();
    let sessions: Vec<_> = v["body"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.get("sessionId")
                .and_then(|s| s.as_str())
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(sessions, [None, Some("s-1".to_owned())], "{v}");
    sandbox.clear_dnd_policies();
    assert!(
        e.get("/v1/policy/dnd/effective?enforcerId=enf-2")
            .await
            .json()["body"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn tolerant_reader_accepts_nulls_offsets_and_unknown_fields() {
    let sandbox = start(config().approver_policy(ApproverPolicy::Manual).build()).await;
    let mut e = Enforcer::new(&sandbox);
    e.pair().await;
    let id = new_request_id();
    let (mut env, _) = e.artifact(&id, &command("x"), Some("2999-01-01T10:00:00.123456+05:30"));
    env["expiresAt"] = Value::Null;
    env["recipient"] = Value::Null;
    env["someFutureField"] = json!({ "x": 1 });
    env["body"]["artifactType"] = Value::Null;
    env["body"]["ciphertext"]["aad"] = Value::Null;
    let r = e.post("/v1/artifacts", env).await;
    assert_eq!(
        r.status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["body"]["expiresAt"], "2999-01-01T04:30:00Z");
    let r = e
        .post(
            "/v1/artifacts",
            json!({ "requestId": "req-x", "body": null }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["body"]["requestId"], "req-x");
}

#[tokio::test]
async fn debug_output_redacts_secrets_and_drop_stops_serving() {
    let sandbox = start(config().build()).await;
    let debug = format!("{sandbox:?} {:?} {:?}", sandbox.info(), sandbox.approver());
    for secret in [
        sandbox.pat(),
        sandbox.client_secret(),
        sandbox.control_token(),
        sandbox.approver_token(),
    ] {
        assert!(!debug.contains(secret), "{debug}");
    }
    let url = format!("{}/echo", sandbox.gateway_url());
    let c = client();
    assert_eq!(
        send(&c, Method::GET, &url, &[], None).await.status,
        StatusCode::OK
    );
    drop(sandbox);
    tokio::task::yield_now().await;
    let fresh = client(); // no pooled connection
    let req = http::Request::get(&url)
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), fresh.request(req))
        .await
        .expect("no hang");
    assert!(result.is_err(), "still serving after drop");
}

/// Moving the sandbox's clock expires what is due, and a long-poll in progress sees it at once.
#[tokio::test]
async fn advancing_the_clock_expires_exchanges_and_wakes_waits() {
    let sandbox = start(config().approver_policy(ApproverPolicy::Manual).build()).await;
    let mut e = Enforcer::new(&sandbox);
    e.pair().await;
    let id = new_request_id();
    e.submit(&id, &command("sleep 1"))
        .await
        .0
        .assert_status(StatusCode::ACCEPTED);
    let started = std::time::Instant::now();
    let (reply, ()) = tokio::join!(e.wait(&id, 30), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        sandbox.advance_clock(Duration::from_secs(3600));
    });
    reply.assert_status(StatusCode::GONE);
    assert_eq!(reply.code(), "expired");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the wait was not woken"
    );
    assert!(sandbox.clock_ahead() >= Duration::from_secs(3600));
}
