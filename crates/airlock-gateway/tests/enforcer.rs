//! Enforcer helpers against a scripted gateway + approver: pairing, encrypt_and_submit,
//! await_decision (verified), heartbeat, DND.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use airlock_crypto::E2eKey;
use airlock_gateway::{
    AwaitOptions, DecisionOutcome, DndTrust, DndVerdict, Error, GatewayClient, HeartbeatOptions,
    HeartbeatStop, Pairing, PairingEnd, PairingRequest, RetryPolicy, SubmitOptions,
};
use airlock_types::{CommandAction, HarpErrorCode};
use serde_json::json;
use support::scripted::{
    Answer, Paired, PairingScript, fast_pairing, plain_client, setup, ten_seconds,
};
use support::{Reply, TestServer};

#[tokio::test]
async fn pairing_verifies_the_response_and_derives_the_e2e_key() {
    let Paired {
        server,
        approver,
        pairing,
        ..
    } = Paired::new().await;
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
    let pairing = Paired::new().await.pairing;
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
        let e = pairing_failure(script).await;
        let Error::Verification(v) = &e else {
            panic!("{script:?}: {e:?}")
        };
        assert_eq!(v.harp_code(), check, "{script:?}");
    }
    let e = pairing_failure(PairingScript::Expired).await;
    assert!(matches!(e, Error::PairingEnded(PairingEnd::Expired)) && e.is_expired());

    let e = pairing_failure(PairingScript::NoX25519).await;
    assert!(e.is_verification(), "{e:?}");
}

/// Pairs as `enf-1` against an approver following `script`; the pairing must fail.
async fn pairing_failure(script: PairingScript) -> Error {
    let (_server, client, approver) = setup().await;
    *approver.pairing.lock().unwrap() = script;
    client
        .pair(
            fast_pairing(PairingRequest::new("enf-1")),
            Duration::from_secs(5),
            |_| {},
        )
        .await
        .unwrap_err()
}

#[tokio::test]
async fn encrypt_and_submit_sends_a_ciphertext_the_approver_can_open() {
    let Paired {
        client,
        approver,
        pairing,
        ..
    } = Paired::new().await;
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
    // Canonical, and bound to its exchange by `requestId`.
    assert_eq!(
        std::str::from_utf8(&opened).unwrap(),
        format!(
            r#"{{"actionType":"command","commandText":"rm -rf build","cwd":"/w","n":1,"requestId":"{}"}}"#,
            pending.request_id()
        )
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

/// An expiry relative to now is not rounded down to the second: the gate sets it to its
/// deadline and withdraws shortly before; a second lost here expired the artifact first.
#[test]
fn expires_in_keeps_the_fraction_of_a_second() {
    let before = airlock_types::Timestamp::now_precise();
    let options = SubmitOptions::new().expires_in(Duration::from_secs(3));
    let ttl = options.expires_at.expect("set") - before;
    assert!(
        ttl >= time::Duration::seconds(3) && ttl < time::Duration::milliseconds(3500),
        "{ttl}"
    );
}

#[tokio::test]
async fn a_signed_approval_is_verified_acked_and_approved() {
    let paired = Paired::answering(Answer::Approve).await;
    let pending = paired.submit().await;
    let outcome = paired.outcome(&pending).await.unwrap();
    let DecisionOutcome::Approved(d) = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(outcome.is_approved());
    assert_eq!(d.signer_key_id, "key-phone-1");
    let acks = paired.acks();
    assert_eq!(acks.len(), 1);
    let ack = acks[0].json();
    assert_eq!(ack["requestId"], pending.request_id());
    assert_eq!(
        ack["body"]["msgId"],
        format!("msg-dec-{}", pending.request_id())
    );
    assert_eq!(ack["body"]["status"], "delivered");

    // The same decision delivered again is a replay, never a second approval.
    let e = paired.outcome(&pending).await.unwrap_err();
    let Error::Verification(v) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(v.harp_code(), HarpErrorCode::Replay);
    assert_eq!(paired.acks().len(), 1, "a refused decision is not acked");
}

#[tokio::test]
async fn a_saved_pending_exchange_resumes_the_wait_with_the_same_checks() {
    let paired = Paired::answering(Answer::Approve).await;
    let pending = paired.submit().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pending.json");
    pending.save(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "owner-only");
    }

    // As if a new process: everything the decision is checked against comes from the file.
    let resumed = airlock_gateway::PendingExchange::load(&path).unwrap();
    assert_eq!(resumed.request_id(), pending.request_id());
    assert_eq!(resumed.artifact_hash(), pending.artifact_hash());
    assert_eq!(resumed.expires_at(), pending.expires_at());
    assert_eq!(resumed.enforcer_id(), pending.enforcer_id());
    assert_eq!(resumed.signers(), pending.signers());
    assert_eq!(resumed.accepted(), pending.accepted());
    let outcome = paired.outcome(&resumed).await.unwrap();
    assert!(outcome.is_approved(), "{outcome:?}");

    // A file whose signer was swapped verifies nothing: the approver's signature no
    // longer matches a trusted key.
    let paired = Paired::answering(Answer::Approve).await;
    let pending = paired.submit().await;
    let mut stored: serde_json::Value = serde_json::to_value(&pending).unwrap();
    let other = airlock_crypto::Ed25519SigningKey::generate().public_key();
    stored["signers"]["key-phone-1"] = serde_json::to_value(other).unwrap();
    let swapped: airlock_gateway::PendingExchange = serde_json::from_value(stored).unwrap();
    let e = paired.outcome(&swapped).await.unwrap_err();
    assert!(matches!(e, Error::Verification(_)), "{e:?}");

    // Damaged or foreign files are typed errors.
    for bad in [
        json!({ "version": 2 }),
        json!({ "version": 1, "requestId": "r", "artifactHash": "zz", "expiresAt": "2026-01-01T00:00:00Z",
                "enforcerId": "e", "signers": {}, "accepted": {} }),
    ] {
        std::fs::write(&path, bad.to_string()).unwrap();
        let e = airlock_gateway::PendingExchange::load(&path).unwrap_err();
        assert!(matches!(e, Error::Storage { .. }), "{e:?}");
    }
}

#[tokio::test]
async fn a_signed_rejection_is_rejected() {
    let paired = Paired::answering(Answer::Reject).await;
    let pending = paired.submit().await;
    let outcome = paired.outcome(&pending).await.unwrap();
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
        let paired = Paired::answering(answer).await;
        let pending = paired.submit().await;
        let e = paired.outcome(&pending).await.unwrap_err();
        let Error::Verification(v) = &e else {
            panic!("{answer:?}: {e:?}")
        };
        assert_eq!(v.harp_code(), code, "{answer:?}: {e}");
        assert!(
            paired.acks().is_empty(),
            "{answer:?}: forged decisions are not acked"
        );
    }
}

#[tokio::test]
async fn transient_failures_are_ridden_out() {
    let paired = Paired::answering(Answer::FlakyThenApprove).await;
    let pending = paired.submit().await;
    // The client's own retries are off, so the waiting loop must ride out the 503s.
    let client = plain_client(
        &paired.client.base_url(),
        RetryPolicy::none()
            .with_base_delay(Duration::from_millis(1))
            .with_max_delay(Duration::from_millis(5)),
    );
    let outcome = client
        .await_decision(&pending, ten_seconds())
        .await
        .unwrap();
    assert!(outcome.is_approved());
}

#[tokio::test]
async fn a_retry_after_while_waiting_is_capped_by_the_retry_policy() {
    let paired = Paired::answering(Answer::RateLimitedThenApprove).await;
    let pending = paired.submit().await;
    // The waiting loop (not the request retries, which are off) meets the 429 asking for an
    // hour; it waits at most the policy's maximum delay, well inside the 10 s deadline.
    let client = plain_client(
        &paired.client.base_url(),
        RetryPolicy::none().with_max_delay(Duration::from_millis(20)),
    );
    let outcome = client.await_decision(&pending, ten_seconds()).await;
    assert!(
        outcome.as_ref().is_ok_and(DecisionOutcome::is_approved),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn an_expired_exchange_ends_the_wait() {
    let paired = Paired::new().await;
    let pending = paired.submit().await;
    *paired.approver.exchange_state.lock().unwrap() = "Expired";
    let outcome = paired.outcome(&pending).await.unwrap();
    assert_eq!(outcome, DecisionOutcome::Expired { withdrawn: false });
}

#[tokio::test]
async fn the_deadline_is_one_outcome_and_withdraws_by_default() {
    let paired = Paired::new().await;
    let client = &paired.client;
    let pending = paired.submit().await;
    // Nobody decides: `Expired`, not an error, and the request is withdrawn by default.
    let outcome = client
        .await_decision(&pending, AwaitOptions::new(Duration::from_millis(300)))
        .await
        .unwrap();
    assert_eq!(outcome, DecisionOutcome::Expired { withdrawn: true });
    assert_eq!(outcome.to_string(), "no decision in time (withdrawn)");
    let withdraws = paired.requests_ending("/withdraw");
    assert_eq!(withdraws.len(), 1);
    assert_eq!(
        withdraws[0].path,
        format!("/v1/exchanges/{}/withdraw", pending.request_id())
    );
    // Without the withdrawal: the same outcome, nothing withdrawn.
    let outcome = client
        .await_decision(
            &pending,
            AwaitOptions::new(Duration::from_millis(300)).withdraw_on_timeout(false),
        )
        .await
        .unwrap();
    assert_eq!(outcome, DecisionOutcome::Expired { withdrawn: false });
    assert_eq!(paired.requests_ending("/withdraw").len(), 1);
    // A withdrawal the gateway refuses is not reported as done.
    *paired.approver.withdraw_status.lock().unwrap() = 500;
    let outcome = client
        .await_decision(&pending, AwaitOptions::new(Duration::from_millis(300)))
        .await
        .unwrap();
    assert_eq!(outcome, DecisionOutcome::Expired { withdrawn: false });
}

#[tokio::test]
async fn a_decision_racing_the_withdrawal_is_still_verified() {
    let paired = Paired::new().await;
    let pending = paired.submit().await;
    *paired.approver.withdraw_status.lock().unwrap() = 409;
    let a = paired.approver.clone();
    // The decision lands just as the deadline passes: withdraw answers 409, the final poll
    // fetches it.
    let e_or_o = {
        let wait = paired.client.await_decision(
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
async fn a_withdrawal_at_the_deadline_that_finds_the_exchange_closed_names_how() {
    let paired = Paired::new().await;
    let pending = paired.submit().await;
    *paired.approver.withdraw_status.lock().unwrap() = 409;
    let a = paired.approver.clone();
    // The exchange expires while the waiter sleeps out its last cycle: the withdrawal at the
    // deadline answers 409, the last poll has no decision, the status says expired. (Should
    // the flip come before a status check, the loop reports the same outcome earlier.)
    let wait = paired.client.await_decision(
        &pending,
        AwaitOptions::new(Duration::from_millis(250)).withdraw_on_timeout(true),
    );
    let flip = async {
        tokio::time::sleep(Duration::from_millis(180)).await;
        *a.exchange_state.lock().unwrap() = "Expired";
    };
    let (outcome, ()) = tokio::join!(wait, flip);
    assert_eq!(
        outcome.unwrap(),
        DecisionOutcome::Expired { withdrawn: false }
    );
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
    let client = plain_client(&server.url(), RetryPolicy::none());
    let handle = client
        .spawn_heartbeat(
            HeartbeatOptions::new()
                .enforcer_id("enf-1")
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
    let client = plain_client(&server.url(), RetryPolicy::default());
    let handle = client
        .spawn_heartbeat(
            HeartbeatOptions::new()
                .enforcer_id("enf-1")
                .interval(Duration::from_millis(5)),
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
    let paired = Paired::new().await;
    let server = TestServer::start(|_| Reply::text(500, "down")).await;
    let client = plain_client(&server.url(), RetryPolicy::none());
    let action = CommandAction::new("git push");
    let verdict = client
        .do_not_disturb(&paired.pairing, "ws-1", &action, DndTrust::Approvals)
        .await;
    assert_eq!(verdict, DndVerdict::None);
    assert_eq!(server.count(), 1);
}

/// A relay answering the DND query with `policies` (and accepting artifacts).
async fn dnd_relay(policies: serde_json::Value) -> TestServer {
    TestServer::start(move |r| {
        if r.path == "/v1/policy/dnd/effective" {
            Reply::json(
                200,
                json!({"msgType": "dnd.policies", "body": policies.clone()}),
            )
        } else {
            support::happy_gateway(r)
        }
    })
    .await
}

#[tokio::test]
async fn do_not_disturb_honours_an_approval_only_when_trusted_and_records_what_decided() {
    let paired = Paired::new().await;
    let in_an_hour = airlock_types::Timestamp::now().saturating_add(time::Duration::hours(1));
    let policy = |id: &str, mode: &str, enforcer: &str| {
        json!({"requestId": id, "objectType": "airlock.dnd.workspace", "workspaceId": "acme",
               "enforcerId": enforcer, "policyMode": mode, "expiresAt": in_an_hour})
    };
    let action = CommandAction::new("ls -la")
        .workspace("acme")
        .session_id("s-1");
    let audits = |server: &TestServer| {
        server
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/artifacts")
            .map(|r| r.json()["body"]["metadata"]["dndDecision"].clone())
            .collect::<Vec<_>>()
    };

    // An approving policy: ignored by default (no audit: the approver will be asked) ...
    let relay = dnd_relay(json!([policy("p-approve", "approve_all", "enf-1")])).await;
    let client = plain_client(&relay.url(), RetryPolicy::none());
    let ignored = client
        .do_not_disturb(&paired.pairing, "acme", &action, DndTrust::default())
        .await;
    assert!(matches!(&ignored, DndVerdict::ApprovalIgnored(p) if p.request_id == "p-approve"));
    assert!(ignored.asks_approver());
    assert_eq!(
        relay.last().query.as_deref(),
        Some("enforcerId=enf-1&workspaceId=acme&sessionId=s-1")
    );
    assert!(audits(&relay).is_empty());
    // ... honoured, and recorded, when the user trusts DND approvals.
    let approved = client
        .do_not_disturb(&paired.pairing, "acme", &action, DndTrust::Approvals)
        .await;
    assert!(matches!(approved, DndVerdict::Approve(_)));
    assert_eq!(audits(&relay), [json!("approve")]);

    // A forged approval for another enforcer never counts; a deny always does.
    let relay = dnd_relay(json!([
        policy("p-forged", "approve_all", "enf-other"),
        policy("p-deny", "deny_all", "enf-1"),
    ]))
    .await;
    let client = plain_client(&relay.url(), RetryPolicy::none());
    for trust in [DndTrust::DenyOnly, DndTrust::Approvals] {
        let denied = client
            .do_not_disturb(&paired.pairing, "acme", &action, trust)
            .await;
        assert!(matches!(&denied, DndVerdict::Deny(p) if p.request_id == "p-deny"));
    }
    assert_eq!(audits(&relay), [json!("reject"), json!("reject")]);
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
    let action = CommandAction::new("ls");
    send(client.do_not_disturb(&pairing, "w", &action, DndTrust::default()));
    send(client.unpair(&pairing));
    fn shared<T: Send + Sync + Clone + 'static>(_: &T) {}
    shared(&client);
    shared(&pairing);
    shared(&pending);
}

#[tokio::test]
async fn a_harp_core_approval_is_verified() {
    let paired = Paired::answering(Answer::HarpCore).await;
    let pending = paired.submit().await;
    let outcome = paired.outcome(&pending).await.unwrap();
    let DecisionOutcome::Approved(d) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(d.request_id.as_deref(), Some(pending.request_id()));
    assert_eq!(d.scope.as_deref(), Some("once"));
}

#[tokio::test]
async fn a_file_replay_journal_catches_replays_across_restarts() {
    let paired = Paired::answering(Answer::Approve).await;
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("replay.journal");
    let client_with_journal = || {
        GatewayClient::builder(paired.server.url())
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
            &paired.pairing,
            &json!({"commandText": "ls"}),
            SubmitOptions::new(),
        )
        .await
        .unwrap();
    let options = ten_seconds();
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

#[tokio::test]
async fn a_closed_exchange_during_the_wait_is_an_outcome_not_an_error() {
    // (long-poll answer, exchange status, expected outcome): the status decides when it
    // names a terminal state, else the answer's code, else 410 = expired.
    for (status, code, state, expected) in [
        (409, "withdrawn", "Withdrawn", DecisionOutcome::Withdrawn),
        (409, "conflict", "Withdrawn", DecisionOutcome::Withdrawn),
        (409, "withdrawn", "Pending", DecisionOutcome::Withdrawn),
        (409, "cancelled", "Pending", DecisionOutcome::Cancelled),
        (409, "conflict", "Cancelled", DecisionOutcome::Cancelled),
        (
            410,
            "expired",
            "Expired",
            DecisionOutcome::Expired { withdrawn: false },
        ),
        (
            410,
            "gone",
            "Pending",
            DecisionOutcome::Expired { withdrawn: false },
        ),
    ] {
        let paired = Paired::answering(Answer::Closed { status, code }).await;
        *paired.approver.exchange_state.lock().unwrap() = state;
        let pending = paired.submit().await;
        let outcome = paired.outcome(&pending).await;
        assert_eq!(
            outcome.as_ref().ok(),
            Some(&expected),
            "{status} {code} / {state}: {outcome:?}"
        );
        assert!(paired.acks().is_empty());
    }
    // A 409 that names no closed state stays the conflict it is.
    let paired = Paired::answering(Answer::Closed {
        status: 409,
        code: "conflict",
    })
    .await;
    let pending = paired.submit().await;
    let e = paired.outcome(&pending).await.unwrap_err();
    assert!(e.is_conflict(), "{e:?}");
}

#[tokio::test]
async fn the_builder_enforcer_id_is_the_default_and_explicit_ids_win() {
    let server = TestServer::start(support::happy_gateway).await;
    let with_default = |id: Option<&str>| {
        let mut b = GatewayClient::builder(server.url())
            .retry_policy(RetryPolicy::none())
            .transport(Arc::new(airlock_http::HyperTransport::new()));
        if let Some(id) = id {
            b = b.enforcer_id(id);
        }
        b.build().unwrap()
    };
    let client = with_default(Some("enf-default"));
    assert_eq!(client.enforcer_id(), Some("enf-default"));
    let last_json = |path: &str| {
        server
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.path == path)
            .unwrap()
            .json()
    };

    // Pairing: `PairingRequest::default()` uses the default.
    let session = client
        .start_pairing(PairingRequest::default())
        .await
        .unwrap();
    assert_eq!(
        last_json("/v1/pairing/initiate")["enforcerId"],
        "enf-default"
    );
    assert_eq!(last_json("/v1/pairing/initiate")["deviceId"], "enf-default");
    drop(session);
    client
        .start_pairing(PairingRequest::default().claiming("XYZ-999"))
        .await
        .unwrap();
    assert_eq!(last_json("/v1/pairing/claim")["enforcerId"], "enf-default");
    client
        .start_pairing(PairingRequest::new("enf-explicit"))
        .await
        .unwrap();
    assert_eq!(
        last_json("/v1/pairing/initiate")["enforcerId"],
        "enf-explicit"
    );

    // Heartbeat: options without an enforcer id use the default.
    let handle = client
        .spawn_heartbeat(HeartbeatOptions::new().interval(Duration::from_secs(60)))
        .unwrap();
    let mut rx = handle.subscribe();
    while rx.borrow_and_update().sent == 0 {
        rx.changed().await.unwrap();
    }
    assert_eq!(
        last_json("/v1/presence/heartbeat"),
        json!({"enforcerId": "enf-default"})
    );
    drop(handle);

    // Without a default, no id (or an empty one) is refused before anything is sent.
    let bare = with_default(None);
    let before = server.count();
    let e = bare
        .start_pairing(PairingRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    let e = client
        .start_pairing(PairingRequest::new(""))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    assert!(matches!(
        bare.spawn_heartbeat(HeartbeatOptions::new()),
        Err(Error::InvalidInput { .. })
    ));
    let e = bare
        .raw()
        .get_effective_dnd_policies(&airlock_types::DndQuery::new("", "ws-1"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    assert_eq!(server.count(), before);
}

#[tokio::test]
async fn every_submission_is_bound_to_its_request_id() {
    // An Airlock-form signature covers `artifactHash|decision|nonce`, not the request id:
    // if the same plaintext hashed the same twice, a relay could replay an old approval onto
    // a new request once the replay journal had forgotten it. Binding the plaintext to its
    // request id gives every exchange its own hash.
    let paired = Paired::answering(Answer::Approve).await;
    let plaintext = json!({"commandText": "deploy prod"});
    let submit = |options: SubmitOptions| {
        paired
            .client
            .encrypt_and_submit(&paired.pairing, &plaintext, options)
    };
    let first = submit(SubmitOptions::new()).await.unwrap();
    let second = submit(SubmitOptions::new()).await.unwrap();
    assert_ne!(first.artifact_hash(), second.artifact_hash());

    // The first exchange's signed approval, replayed onto the second with a journal that has
    // forgotten it, fails on the hash.
    let approver = airlock_crypto::Ed25519SigningKey::generate();
    let signature =
        airlock_crypto::sign_decision(&approver, first.artifact_hash(), "approve", "n-1");
    let old_decision = json!({
        "artifactHash": first.artifact_hash(), "decision": "approve",
        "signerKeyId": "key-a", "nonce": "n-1", "signature": signature,
    });
    let signers = airlock_crypto::TrustedSigners::new().with("key-a", approver.public_key());
    let fresh_journal = airlock_crypto::MemoryReplayJournal::new();
    let e = airlock_crypto::verify_decision(
        &old_decision,
        &airlock_crypto::ExpectedDecision::new(second.artifact_hash(), second.request_id()),
        &signers,
        &fresh_journal,
        time::OffsetDateTime::now_utc(),
    )
    .unwrap_err();
    assert_eq!(e.harp_code(), HarpErrorCode::HashMismatch);

    // Resubmitting under the same request id is idempotent: the same hash.
    let again = submit(SubmitOptions::new().request_id(first.request_id()))
        .await
        .unwrap();
    assert_eq!(again.artifact_hash(), first.artifact_hash());

    // A plaintext naming another request, or one that is not an object, is refused locally.
    for bad in [
        json!({"commandText": "ls", "requestId": "req-other"}),
        json!({"commandText": "ls", "requestId": 7}),
        json!(["ls"]),
    ] {
        let e = paired
            .client
            .encrypt_and_submit(
                &paired.pairing,
                &bad,
                SubmitOptions::new().request_id("req-mine"),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{bad}: {e:?}");
    }
    // The plaintext's own matching `requestId` is kept as it is.
    let own = paired
        .client
        .encrypt_and_submit(
            &paired.pairing,
            &json!({"commandText": "ls", "requestId": "req-mine"}),
            SubmitOptions::new().request_id("req-mine"),
        )
        .await
        .unwrap();
    assert_eq!(
        own.artifact_hash(),
        airlock_crypto::hash::ArtifactHash::of_canonical(
            br#"{"commandText":"ls","requestId":"req-mine"}"#
        )
        .as_str()
    );
}

#[tokio::test]
async fn pairing_polls_on_the_gateways_terms() {
    // The default interval: one pairing (answered on the second status poll) is one
    // initiate and two status requests, at least two seconds apart — a 60 requests a minute
    // budget is never at risk.
    let (server, client, _approver) = setup().await;
    let started = std::time::Instant::now();
    client
        .pair(
            PairingRequest::new("enf-1"),
            Duration::from_secs(10),
            |_| {},
        )
        .await
        .unwrap();
    assert!(started.elapsed() >= airlock_gateway::DEFAULT_PAIRING_POLL_INTERVAL);
    assert_one_initiate_and_two_polls(&server);
}

#[tokio::test]
async fn pairing_honours_a_retry_after_and_asks_once_more() {
    // The gateway answers a status poll `429, Retry-After: 3`: nothing more is sent before
    // those 3 s, and the pairing then completes: initiate, the refused poll, one more poll.
    let (server, _, approver) = setup().await;
    *approver.pairing.lock().unwrap() = PairingScript::RateLimited;
    let client = plain_client(&server.url(), RetryPolicy::default());
    let started = std::time::Instant::now();
    client
        .pair(
            PairingRequest::new("enf-1"),
            Duration::from_secs(20),
            |_| {},
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_one_initiate_and_two_polls(&server);
}

/// The requests of one pairing answered on its second status poll: the initiate and two
/// status polls, nothing else.
fn assert_one_initiate_and_two_polls(server: &TestServer) {
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert_eq!(paths[0], "/v1/pairing/initiate");
    assert!(
        paths[1..].iter().all(|p| p.ends_with("/status")),
        "{paths:?}"
    );
}
