//! Enforcer helpers against a scripted gateway + approver: pairing, encrypt_and_submit,
//! await_decision (verified), heartbeat, DND.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airlock_crypto::{
    E2eKey, Ed25519SigningKey, X25519PublicKey, X25519SecretKey, sign_decision,
    sign_decision_harp_core, sign_pairing_response,
};
use airlock_gateway::{
    AwaitOptions, DecisionOutcome, Error, GatewayClient, HeartbeatOptions, HeartbeatStop, Pairing,
    PairingEnd, PairingRequest, SubmitOptions,
};
use airlock_types::HarpErrorCode;
use serde_json::{Value, json};
use support::{Recorded, Reply, TestServer, fast_retries};

/// How the scripted approver answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Answer {
    None,
    Approve,
    Reject,
    Forged,
    WrongHash,
    UnknownSigner,
    /// 503 twice, then approve.
    FlakyThenApprove,
    /// A correctly signed approval inside an envelope of another exchange.
    OtherExchange,
    /// A HARP-CORE approval (canonical JSON signature, bound to the request id).
    HarpCore,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PairingScript {
    Good,
    WrongNonce,
    BadSignature,
    Expired,
    NoX25519,
}

struct Approver {
    signing: Ed25519SigningKey,
    x25519: X25519SecretKey,
    enforcer_x25519: Mutex<Option<X25519PublicKey>>,
    pairing: Mutex<PairingScript>,
    status_polls: AtomicUsize,
    answer: Mutex<Answer>,
    exchange_state: Mutex<&'static str>,
    withdraw_status: Mutex<u16>,
    flaky: AtomicUsize,
    artifacts: Mutex<Vec<Value>>,
}

impl Approver {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            signing: Ed25519SigningKey::generate(),
            x25519: X25519SecretKey::generate(),
            enforcer_x25519: Mutex::new(None),
            pairing: Mutex::new(PairingScript::Good),
            status_polls: AtomicUsize::new(0),
            answer: Mutex::new(Answer::None),
            exchange_state: Mutex::new("Pending"),
            withdraw_status: Mutex::new(200),
            flaky: AtomicUsize::new(0),
            artifacts: Mutex::new(Vec::new()),
        })
    }

    fn handle(&self, r: &Recorded) -> Reply {
        let segs = r.decoded_segments();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        match (r.method.as_str(), segs.as_slice()) {
            ("POST", ["v1", "pairing", "initiate" | "claim"]) => {
                let body = r.json();
                let pk = body["x25519PublicKey"].as_str().unwrap();
                *self.enforcer_x25519.lock().unwrap() = Some(X25519PublicKey::parse(pk).unwrap());
                if segs[2] == "claim" {
                    Reply::json(
                        200,
                        json!({"pairingNonce": "pn-claim", "expiresAt": "2030-01-01T00:00:00Z", "routingToken": "rt-claim"}),
                    )
                } else {
                    Reply::json(
                        200,
                        json!({"pairingNonce": "pn-1", "pairingCode": "ABC123", "expiresAt": "2030-01-01T00:00:00Z"}),
                    )
                }
            }
            ("GET", ["v1", "pairing", nonce, "status"]) => {
                let script = *self.pairing.lock().unwrap();
                if self.status_polls.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Reply::json(200, json!({"pairingNonce": nonce, "state": "Pending"}));
                }
                if script == PairingScript::Expired {
                    return Reply::json(200, json!({"pairingNonce": nonce, "state": "Expired"}));
                }
                let signed_nonce = if script == PairingScript::WrongNonce {
                    "pn-other"
                } else {
                    nonce
                };
                let x = self.x25519.public_key();
                let mut doc = sign_pairing_response(
                    &self.signing,
                    "key-phone-1",
                    signed_nonce,
                    "2026-02-24T10:00:00Z",
                    (script != PairingScript::NoX25519).then_some(&x),
                );
                if script == PairingScript::BadSignature {
                    let mut v: Value = serde_json::from_str(&doc).unwrap();
                    v["signerKeyId"] = json!("key-evil");
                    doc = v.to_string();
                }
                let mut status =
                    json!({"pairingNonce": nonce, "state": "Completed", "responseJson": doc});
                if *nonce == "pn-1" {
                    status["routingToken"] = json!("rt-1");
                }
                Reply::json(200, status)
            }
            ("POST", ["v1", "artifacts"]) => {
                let body = r.json();
                self.artifacts.lock().unwrap().push(body.clone());
                let id = body["requestId"].as_str().unwrap().to_owned();
                Reply::json(
                    202,
                    json!({"msgId": "msg-acc", "msgType": "artifact.accepted", "requestId": id,
                    "createdAt": "2026-02-24T10:00:00Z", "body": {"requestId": id, "state": "Pending"}}),
                )
            }
            ("GET", ["v1", "exchanges", id, "wait"]) => self.deliver(id),
            ("GET", ["v1", "exchanges", id]) => {
                let state = *self.exchange_state.lock().unwrap();
                Reply::json(
                    200,
                    json!({"msgId": "msg-st", "msgType": "exchange.status", "requestId": id,
                    "createdAt": "2026-02-24T10:00:00Z", "body": {"requestId": id, "state": state}}),
                )
            }
            ("POST", ["v1", "exchanges", id, "withdraw"]) => {
                let status = *self.withdraw_status.lock().unwrap();
                if status == 200 {
                    Reply::json(
                        200,
                        json!({"msgId": "msg-w", "msgType": "exchange.withdrawn", "requestId": id,
                        "createdAt": "2026-02-24T10:00:00Z", "body": {"requestId": id, "state": "Withdrawn"}}),
                    )
                } else {
                    Reply::json(
                        status,
                        json!({"msgType": "error", "body": {"code": "conflict"}}),
                    )
                }
            }
            ("POST", ["v1", "acks"]) => Reply::json(200, json!({})),
            ("POST", ["v1", "presence", "heartbeat"]) => Reply::empty(200),
            _ => Reply::json(404, json!({"error": "not_found"})),
        }
    }

    fn deliver(&self, request_id: &str) -> Reply {
        let answer = *self.answer.lock().unwrap();
        let hash = {
            let artifacts = self.artifacts.lock().unwrap();
            artifacts
                .iter()
                .rev()
                .find(|a| a["requestId"] == request_id)
                .map(|a| a["body"]["artifactHash"].as_str().unwrap().to_owned())
        };
        let Some(hash) = hash else {
            return Reply::json(404, json!({"error": "not_found"}));
        };
        if answer == Answer::HarpCore {
            let mut body = json!({
                "artifactHash": hash, "artifactHashAlg": "SHA-256", "decision": "approve",
                "expiresAt": "2099-01-01T00:00:00Z", "nonce": format!("hc-{request_id}"),
                "requestId": request_id, "scope": "once", "sigAlg": "Ed25519",
                "signerKeyId": "key-phone-1",
            });
            body["signature"] = json!(sign_decision_harp_core(&self.signing, &body).unwrap());
            return Reply::json(
                200,
                json!({"msgId": "msg-hc", "msgType": "decision.deliver", "requestId": request_id,
                "createdAt": "2026-02-24T10:00:00Z", "body": body}),
            );
        }
        let (verdict, key, signer, signed_hash) = match answer {
            Answer::HarpCore => unreachable!(),
            Answer::None => return Reply::empty(204).delayed(Duration::from_millis(100)),
            Answer::FlakyThenApprove if self.flaky.fetch_add(1, Ordering::SeqCst) < 2 => {
                return Reply::text(503, "upstream busy");
            }
            Answer::Approve | Answer::FlakyThenApprove | Answer::OtherExchange => {
                ("approve", None, "key-phone-1", hash.clone())
            }
            Answer::Reject => ("reject", None, "key-phone-1", hash.clone()),
            Answer::Forged => (
                "approve",
                Some(Ed25519SigningKey::generate()),
                "key-phone-1",
                hash.clone(),
            ),
            Answer::WrongHash => ("approve", None, "key-phone-1", "0".repeat(64)),
            Answer::UnknownSigner => ("approve", None, "key-tablet-9", hash.clone()),
        };
        let key = key.as_ref().unwrap_or(&self.signing);
        let nonce = format!("n-{request_id}");
        let body = json!({
            "artifactHash": signed_hash,
            "decision": verdict,
            "reason": "looks fine",
            "signerKeyId": signer,
            "nonce": nonce,
            "signature": sign_decision(key, &signed_hash, verdict, &nonce),
        });
        let envelope_id = if answer == Answer::OtherExchange {
            "req-other"
        } else {
            request_id
        };
        Reply::json(
            200,
            json!({"msgId": format!("msg-dec-{request_id}"), "msgType": "decision.deliver", "requestId": envelope_id,
            "createdAt": "2026-02-24T10:00:00Z", "sender": {"approverId": "appr-1"}, "body": body}),
        )
    }
}

async fn setup() -> (TestServer, GatewayClient, Arc<Approver>) {
    let approver = Approver::new();
    let a = approver.clone();
    let server = TestServer::start(move |r| a.handle(r)).await;
    let client = GatewayClient::builder(server.url())
        .pat(airlock_gateway::SecretToken::new("airpat_SECRET_PAT"))
        .retry_policy(fast_retries(3))
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();
    (server, client, approver)
}

fn fast_pairing(req: PairingRequest) -> PairingRequest {
    req.poll_interval(Duration::from_millis(5))
}

async fn paired() -> (TestServer, GatewayClient, Arc<Approver>, Pairing) {
    let (server, client, approver) = setup().await;
    let mut code = None;
    let pairing = client
        .pair(
            fast_pairing(
                PairingRequest::new("enf-1")
                    .label("Laptop")
                    .workspace("acme"),
            ),
            Duration::from_secs(5),
            |session| code = session.code().map(str::to_owned),
        )
        .await
        .unwrap();
    assert_eq!(code.as_deref(), Some("ABC123"));
    (server, client, approver, pairing)
}

fn acks(server: &TestServer) -> Vec<Recorded> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/acks")
        .collect()
}

#[tokio::test]
async fn pairing_verifies_the_response_and_derives_the_e2e_key() {
    let (server, _client, approver, pairing) = paired().await;
    assert_eq!(pairing.routing_token(), "rt-1");
    assert_eq!(pairing.enforcer_id(), "enf-1");
    assert_eq!(pairing.signer_key_id(), "key-phone-1");
    assert_eq!(
        pairing.fingerprint(),
        approver.signing.public_key().fingerprint()
    );
    assert_eq!(*pairing.signer_public_key(), approver.signing.public_key());
    // Both sides derive the same key.
    let enforcer_pk = approver.enforcer_x25519.lock().unwrap().unwrap();
    assert_eq!(pairing.x25519_public_key(), enforcer_pk);
    let approver_key = E2eKey::derive(&approver.x25519, &enforcer_pk).unwrap();
    let sealed = pairing.e2e_key().seal(b"hello");
    assert_eq!(&approver_key.open(&sealed).unwrap()[..], b"hello");
    // The initiate request carried the label, workspace and our X25519 key.
    let init = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/pairing/initiate")
        .unwrap()
        .json();
    assert_eq!(init["enforcerId"], "enf-1");
    assert_eq!(init["deviceId"], "enf-1");
    assert_eq!(init["enforcerLabel"], "Laptop");
    assert_eq!(init["workspaceName"], "acme");
    // Secrets are not in Debug.
    let debug = format!("{pairing:?}");
    assert!(!debug.contains("rt-1"));
    let stored = serde_json::to_value(&pairing).unwrap();
    let secret = stored["enforcerX25519SecretKey"].as_str().unwrap();
    assert!(!debug.contains(secret));
}

#[tokio::test]
async fn pairing_save_and_load_round_trip() {
    let (_server, _client, _approver, pairing) = paired().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("pairing.json");
    pairing.save(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let loaded = Pairing::load(&path).unwrap();
    assert_eq!(loaded.routing_token(), pairing.routing_token());
    assert_eq!(loaded.signer_key_id(), pairing.signer_key_id());
    assert_eq!(loaded.x25519_public_key(), pairing.x25519_public_key());
    let sealed = pairing.e2e_key().seal(b"x");
    assert_eq!(&loaded.e2e_key().open(&sealed).unwrap()[..], b"x");
    // A corrupt file is a typed storage error.
    std::fs::write(&path, b"{\"version\":1}").unwrap();
    assert!(matches!(Pairing::load(&path), Err(Error::Storage { .. })));
    assert!(matches!(
        Pairing::load(dir.path().join("missing")),
        Err(Error::Storage { .. })
    ));
}

#[tokio::test]
async fn claim_mode_uses_the_claim_routing_token() {
    let (server, client, _approver) = setup().await;
    let session = client
        .start_pairing(fast_pairing(PairingRequest::claim("enf-2", "XYZ-999")))
        .await
        .unwrap();
    assert_eq!(session.code(), None);
    assert_eq!(session.nonce(), "pn-claim");
    let pairing = session.wait(Duration::from_secs(5)).await.unwrap();
    assert_eq!(pairing.routing_token(), "rt-claim");
    let claim = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/pairing/claim")
        .unwrap()
        .json();
    assert_eq!(claim["pairingCode"], "XYZ-999");
    assert_eq!(claim["enforcerLabel"], "enf-2");
}

#[tokio::test]
async fn pairing_refuses_bad_responses() {
    for (script, check) in [
        (PairingScript::WrongNonce, HarpErrorCode::Replay),
        (PairingScript::BadSignature, HarpErrorCode::SignatureInvalid),
    ] {
        let (_server, client, approver) = setup().await;
        *approver.pairing.lock().unwrap() = script;
        let e = client
            .pair(
                fast_pairing(PairingRequest::new("enf-1")),
                Duration::from_secs(5),
                |_| {},
            )
            .await
            .unwrap_err();
        let Error::Verification(v) = &e else {
            panic!("{script:?}: {e:?}")
        };
        assert_eq!(v.harp_code(), check, "{script:?}");
    }
    let (_server, client, approver) = setup().await;
    *approver.pairing.lock().unwrap() = PairingScript::Expired;
    let e = client
        .pair(
            fast_pairing(PairingRequest::new("enf-1")),
            Duration::from_secs(5),
            |_| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PairingEnded(PairingEnd::Expired)) && e.is_expired());

    let (_server, client, approver) = setup().await;
    *approver.pairing.lock().unwrap() = PairingScript::NoX25519;
    let e = client
        .pair(
            fast_pairing(PairingRequest::new("enf-1")),
            Duration::from_secs(5),
            |_| {},
        )
        .await
        .unwrap_err();
    assert!(e.is_verification(), "{e:?}");
}

#[tokio::test]
async fn encrypt_and_submit_sends_a_ciphertext_the_approver_can_open() {
    let (_server, client, approver, pairing) = paired().await;
    let plaintext =
        json!({"commandText": "rm -rf build", "actionType": "command", "cwd": "/w", "n": 1.0});
    let pending = client
        .encrypt_and_submit(
            &pairing,
            &plaintext,
            SubmitOptions::new().metadata("workspaceName", "acme"),
        )
        .await
        .unwrap();
    let submitted = approver.artifacts.lock().unwrap().last().cloned().unwrap();
    assert_eq!(submitted["requestId"], pending.request_id());
    assert!(pending.request_id().starts_with("req-"));
    assert_eq!(submitted["sender"]["enforcerId"], "enf-1");
    let body = &submitted["body"];
    assert_eq!(body["artifactHash"], pending.artifact_hash());
    assert_eq!(body["artifactType"], "command-approval");
    assert_eq!(body["metadata"]["routingToken"], "rt-1");
    assert_eq!(body["metadata"]["workspaceName"], "acme");
    assert!(
        body.to_string().find("rm -rf").is_none(),
        "no plaintext on the wire"
    );
    // Expiry defaults to ~10 minutes from now.
    let ttl = pending.expires_at() - airlock_types::Timestamp::now();
    assert!(ttl > time::Duration::minutes(9) && ttl <= time::Duration::minutes(10));

    let payload: airlock_types::EncryptedPayload =
        serde_json::from_value(body["ciphertext"].clone()).unwrap();
    let enforcer_pk = approver.enforcer_x25519.lock().unwrap().unwrap();
    let key = E2eKey::derive(&approver.x25519, &enforcer_pk).unwrap();
    let opened = key.open(&payload).unwrap();
    assert_eq!(
        &opened[..],
        br#"{"actionType":"command","commandText":"rm -rf build","cwd":"/w","n":1}"#
    );
    let hash = airlock_crypto::hash::ArtifactHash::of_canonical(&opened);
    assert_eq!(hash.as_str(), pending.artifact_hash());

    // Bad plaintext JSON is refused locally.
    let e = client
        .encrypt_and_submit_json(&pairing, b"{\"a\":1,\"a\":2}", SubmitOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }));
}

#[tokio::test]
async fn a_signed_approval_is_verified_acked_and_approved() {
    let (server, client, approver, pairing) = paired().await;
    *approver.answer.lock().unwrap() = Answer::Approve;
    let pending = client
        .encrypt_and_submit(
            &pairing,
            &json!({"commandText": "ls"}),
            SubmitOptions::new(),
        )
        .await
        .unwrap();
    let outcome = client
        .await_decision(&pending, AwaitOptions::new(Duration::from_secs(10)))
        .await
        .unwrap();
    let DecisionOutcome::Approved(d) = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(outcome.is_approved());
    assert_eq!(d.signer_key_id, "key-phone-1");
    let acks = acks(&server);
    assert_eq!(acks.len(), 1);
    let ack = acks[0].json();
    assert_eq!(ack["requestId"], pending.request_id());
    assert_eq!(
        ack["body"]["msgId"],
        format!("msg-dec-{}", pending.request_id())
    );
    assert_eq!(ack["body"]["status"], "delivered");

    // The same decision delivered again is a replay, never a second approval.
    let e = client
        .await_decision(&pending, AwaitOptions::new(Duration::from_secs(10)))
        .await
        .unwrap_err();
    let Error::Verification(v) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(v.harp_code(), HarpErrorCode::Replay);
    assert_eq!(acks_len(&server), 1, "a refused decision is not acked");
}

fn acks_len(server: &TestServer) -> usize {
    acks(server).len()
}

#[tokio::test]
async fn a_signed_rejection_is_rejected() {
    let (_server, client, approver, pairing) = paired().await;
    *approver.answer.lock().unwrap() = Answer::Reject;
    let pending = client
        .encrypt_and_submit(
            &pairing,
            &json!({"commandText": "ls"}),
            SubmitOptions::new(),
        )
        .await
        .unwrap();
    let outcome = client
        .await_decision(&pending, AwaitOptions::new(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(matches!(outcome, DecisionOutcome::Rejected(_)));
    assert!(!outcome.is_approved());
}

#[tokio::test]
async fn forged_or_mismatched_decisions_are_typed_errors_never_approved() {
    for (answer, code) in [
        (Answer::Forged, HarpErrorCode::SignatureInvalid),
        (Answer::WrongHash, HarpErrorCode::HashMismatch),
        (Answer::UnknownSigner, HarpErrorCode::SignatureInvalid),
        (Answer::OtherExchange, HarpErrorCode::Scope),
    ] {
        let (server, client, approver, pairing) = paired().await;
        *approver.answer.lock().unwrap() = answer;
        let pending = client
            .encrypt_and_submit(
                &pairing,
                &json!({"commandText": "ls"}),
                SubmitOptions::new(),
            )
            .await
            .unwrap();
        let e = client
            .await_decision(&pending, AwaitOptions::new(Duration::from_secs(10)))
            .await
            .unwrap_err();
        let Error::Verification(v) = &e else {
            panic!("{answer:?}: {e:?}")
        };
        assert_eq!(v.harp_code(), code, "{answer:?}: {e}");
        assert_eq!(
            acks_len(&server),
            0,
            "{answer:?}: forged decisions are not acked"
        );
    }
}

#[tokio::test]
async fn transient_failures_are_ridden_out() {
    let (_server, client, approver, pairing) = paired().await;
    *approver.answer.lock().unwrap() = Answer::FlakyThenApprove;
    let pending = client
        .encrypt_and_submit(
            &pairing,
            &json!({"commandText": "ls"}),
            SubmitOptions::new(),
        )
        .await
        .unwrap();
    // The client's own retries are off, so the waiting loop must ride out the 503s.
    let client = GatewayClient::builder(client.base_url())
        .retry_policy(
            airlock_gateway::RetryPolicy::none()
                .with_base_delay(Duration::from_millis(1))
                .with_max_delay(Duration::from_millis(5)),
        )
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();
    let outcome = client
        .await_decision(&pending, AwaitOptions::new(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(outcome.is_approved());
}

#[tokio::test]
async fn an_expired_exchange_ends_the_wait() {
    let (_server, client, approver, pairing) = paired().await;
    let pending = client
        .encrypt_and_submit(
            &pairing,
            &json!({"commandText": "ls"}),
            SubmitOptions::new(),
        )
        .await
        .unwrap();
    *approver.exchange_state.lock().unwrap() = "Expired";
    let outcome = client
        .await_decision(&pending, AwaitOptions::new(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(outcome, DecisionOutcome::Expired);
}

#[tokio::test]
async fn the_deadline_is_a_timeout_with_optional_withdraw() {
    let (server, client, _approver, pairing) = paired().await;
    let pending = client
        .encrypt_and_submit(
            &pairing,
            &json!({"commandText": "ls"}),
            SubmitOptions::new(),
        )
        .await
        .unwrap();
    let e = client
        .await_decision(
            &pending,
            AwaitOptions::new(Duration::from_millis(300)).poll_wait(Duration::from_secs(1)),
        )
        .await
        .unwrap_err();
    assert!(e.is_timeout());
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/withdraw"))
    );
    let e = client
        .await_decision(
            &pending,
            AwaitOptions::new(Duration::from_millis(300)).withdraw_on_timeout(true),
        )
        .await
        .unwrap_err();
    assert!(e.is_timeout());
    let withdraws: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/withdraw"))
        .collect();
    assert_eq!(withdraws.len(), 1);
    assert_eq!(
        withdraws[0].path,
        format!("/v1/exchanges/{}/withdraw", pending.request_id())
    );
}

#[tokio::test]
async fn a_decision_racing_the_withdrawal_is_still_verified() {
    let (_server, client, approver, pairing) = paired().await;
    let pending = client
        .encrypt_and_submit(
            &pairing,
            &json!({"commandText": "ls"}),
            SubmitOptions::new(),
        )
        .await
        .unwrap();
    *approver.withdraw_status.lock().unwrap() = 409;
    let a = approver.clone();
    // The decision lands just as the deadline passes: withdraw answers 409, the final poll
    // fetches it.
    let e_or_o = {
        let wait = client.await_decision(
            &pending,
            AwaitOptions::new(Duration::from_millis(250)).withdraw_on_timeout(true),
        );
        let flip = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            *a.answer.lock().unwrap() = Answer::Approve;
        };
        let (r, ()) = tokio::join!(wait, flip);
        r
    };
    // Either the last long-poll or the post-withdraw poll delivered the verified approval.
    assert!(e_or_o.unwrap().is_approved());
}

#[tokio::test]
async fn heartbeat_reports_and_stops_on_revocation_or_cancel() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let server = TestServer::start(move |r| {
        assert_eq!(r.path, "/v1/presence/heartbeat");
        let n = h.fetch_add(1, Ordering::SeqCst);
        match n {
            0 | 1 => Reply::empty(200),
            2 => Reply::text(503, "busy"),
            _ => Reply::json(403, json!({"error": "pairing_revoked"})),
        }
    })
    .await;
    let client = GatewayClient::builder(server.url())
        .retry_policy(airlock_gateway::RetryPolicy::none())
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();
    let handle = client
        .spawn_heartbeat(
            "enf-1",
            HeartbeatOptions::new()
                .interval(Duration::from_millis(10))
                .workspace_name("acme")
                .enforcer_label("Laptop"),
        )
        .unwrap();
    let mut rx = handle.subscribe();
    let mut saw_failure = false;
    for _ in 0..100 {
        if rx.changed().await.is_err() {
            break;
        }
        let s = rx.borrow().clone();
        saw_failure |= s.consecutive_failures > 0 && s.last_error.is_some();
        if s.stopped.is_some() {
            break;
        }
    }
    let status = handle.status();
    assert_eq!(status.stopped, Some(HeartbeatStop::PairingRevoked));
    assert_eq!(status.sent, 2);
    assert!(saw_failure);
    assert!(status.last_error.as_ref().unwrap().is_pairing_revoked());
    let body = server.requests()[0].json();
    assert_eq!(
        body,
        json!({"enforcerId": "enf-1", "workspaceName": "acme", "enforcerLabel": "Laptop"})
    );
    assert_eq!(hits.load(Ordering::SeqCst), 4);

    // Cancel stops a running task.
    let server = TestServer::start(|_| Reply::empty(200)).await;
    let client = GatewayClient::builder(server.url())
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();
    let handle = client
        .spawn_heartbeat(
            "enf-1",
            HeartbeatOptions::new().interval(Duration::from_millis(5)),
        )
        .unwrap();
    let mut rx = handle.subscribe();
    rx.changed().await.unwrap();
    handle.cancel();
    // Updates sent before the abort may still be unseen; then the sender is gone.
    let mut ended = false;
    for _ in 0..10_000 {
        if rx.changed().await.is_err() {
            ended = true;
            break;
        }
    }
    assert!(ended, "the task ended and dropped its sender");
}

#[tokio::test]
async fn a_failed_dnd_fetch_means_no_policy() {
    let server = TestServer::start(|_| Reply::text(500, "down")).await;
    let client = GatewayClient::builder(server.url())
        .retry_policy(airlock_gateway::RetryPolicy::none())
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();
    let verdict = client
        .dnd_verdict(&airlock_types::DndQuery::new("enf-1", "ws-1"), "git push")
        .await;
    assert_eq!(verdict, airlock_gateway::DndVerdict::None);
}

/// Every helper's future can be spawned on a multi-threaded runtime.
#[allow(dead_code, clippy::let_underscore_future)]
fn futures_are_send(
    client: GatewayClient,
    pairing: Pairing,
    pending: airlock_gateway::PendingExchange,
) {
    fn send<T: Send>(_: T) {}
    send(client.pair(PairingRequest::new("e"), Duration::from_secs(1), |_| {}));
    send(client.encrypt_and_submit(&pairing, &json!({}), SubmitOptions::new()));
    send(client.await_decision(&pending, AwaitOptions::default()));
    send(client.dnd_verdict(&airlock_types::DndQuery::new("e", "w"), "ls"));
    send(client.unpair(&pairing));
    fn shared<T: Send + Sync + Clone + 'static>(_: &T) {}
    shared(&client);
    shared(&pairing);
    shared(&pending);
}

#[tokio::test]
async fn a_harp_core_approval_is_verified() {
    let (_server, client, approver, pairing) = paired().await;
    *approver.answer.lock().unwrap() = Answer::HarpCore;
    let pending = client
        .encrypt_and_submit(
            &pairing,
            &json!({"commandText": "ls"}),
            SubmitOptions::new(),
        )
        .await
        .unwrap();
    let outcome = client
        .await_decision(&pending, AwaitOptions::new(Duration::from_secs(10)))
        .await
        .unwrap();
    let DecisionOutcome::Approved(d) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(d.request_id.as_deref(), Some(pending.request_id()));
    assert_eq!(d.scope.as_deref(), Some("once"));
}

#[tokio::test]
async fn a_file_replay_journal_catches_replays_across_restarts() {
    let (server, _client, approver, pairing) = paired().await;
    *approver.answer.lock().unwrap() = Answer::Approve;
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("replay.journal");
    let client_with_journal = || {
        GatewayClient::builder(server.url())
            .replay_journal(Arc::new(
                airlock_crypto::FileReplayJournal::open(&journal_path).unwrap(),
            ))
            .transport(Arc::new(airlock_http::HyperTransport::new()))
            .build()
            .unwrap()
    };
    let first = client_with_journal();
    let pending = first
        .encrypt_and_submit(
            &pairing,
            &json!({"commandText": "ls"}),
            SubmitOptions::new(),
        )
        .await
        .unwrap();
    let options = AwaitOptions::new(Duration::from_secs(10));
    assert!(
        first
            .await_decision(&pending, options.clone())
            .await
            .unwrap()
            .is_approved()
    );
    drop(first);
    // A "restarted" enforcer with the same journal file refuses the redelivered decision.
    let second = client_with_journal();
    let e = second.await_decision(&pending, options).await.unwrap_err();
    let Error::Verification(v) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(v.harp_code(), HarpErrorCode::Replay);
}
