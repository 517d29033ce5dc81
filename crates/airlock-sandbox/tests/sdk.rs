//! The SDK (`airlock-gateway`'s `GatewayClient`) against the sandbox: the full lifecycle,
//! 200 concurrent enforcers, a restart in the middle of a wait, expiry, withdraw racing a
//! decision, every tamper mode refused by `await_decision`, and memory pruning.

mod common;

use std::sync::Arc;
use std::time::Duration;

use airlock_gateway::{DecisionOutcome, Error, HttpClient, SubmitOptions};
use airlock_sandbox::{ApproverPolicy, Sandbox, SandboxConfig, SandboxIdentity, TamperMode};
use airlock_types::{Decision, ErrorCode, HeartbeatRequest};
use common::sdk::{SdkEnforcer, pair, quick, sandbox, sdk_client};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_lifecycle() {
    let sandbox = sandbox(SandboxConfig::builder()).await;
    let client = sdk_client(&sandbox, None);
    client.echo().await.unwrap();
    let discovery = client.discover().await.unwrap();
    assert_eq!(discovery.idp.base_url, sandbox.issuer_url());
    assert!(client.check_consent().await.unwrap().status.is_allowed());

    let pairing = pair(&client, "enf-lifecycle").await;
    assert_eq!(pairing.signer_key_id(), sandbox.approver().signer_key_id());
    assert_eq!(
        pairing.signer_public_key().to_bytes(),
        sandbox.approver().public_key().to_bytes()
    );
    client
        .raw()
        .send_heartbeat(&HeartbeatRequest::new("enf-lifecycle").with_workspace_name("ws"))
        .await
        .unwrap();
    assert!(sandbox.presence("enf-lifecycle").is_some());

    let plaintext = json!({ "actionType": "command", "commandText": "cargo test", "cwd": "/src" });
    let pending = client
        .encrypt_and_submit(&pairing, &plaintext, SubmitOptions::new())
        .await
        .unwrap();
    let outcome = client.await_decision(&pending, quick()).await.unwrap();
    assert!(outcome.is_approved(), "{outcome:?}");
    let seen = sandbox
        .approver()
        .seen_artifact(pending.request_id())
        .unwrap();
    // The approver sees the plaintext, bound to its exchange by `requestId`.
    let mut bound = plaintext.clone();
    bound["requestId"] = json!(pending.request_id());
    assert_eq!(seen.plaintext.as_ref(), Some(&bound));
    // The SDK acked: the exchange is delivered.
    assert_eq!(state_of(&sandbox, pending.request_id()), "Delivered");

    sandbox.approver().set_policy(ApproverPolicy::Reject);
    let enforcer = SdkEnforcer { client, pairing };
    let pending = enforcer.submit("rm -rf ~").await;
    let outcome = enforcer.outcome(&pending).await.unwrap();
    assert!(
        matches!(outcome, DecisionOutcome::Rejected(_)),
        "{outcome:?}"
    );

    enforcer.client.unpair(&enforcer.pairing).await.unwrap();
    let err = enforcer
        .client
        .encrypt_and_submit(
            &enforcer.pairing,
            &json!({ "commandText": "ls" }),
            SubmitOptions::new(),
        )
        .await
        .unwrap_err();
    assert!(err.is_pairing_revoked(), "{err:?}");
}

/// The sandbox's state of an exchange, as its wire name.
fn state_of(sandbox: &Sandbox, request_id: &str) -> String {
    sandbox
        .exchange(request_id)
        .expect("exchange known")
        .state
        .as_str()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_enforcers() {
    let sandbox = sandbox(SandboxConfig::builder()).await;
    let transport: Arc<dyn HttpClient> = Arc::new(airlock_http::HyperTransport::new());
    let client = sdk_client(&sandbox, Some(transport));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let client = client.clone();
        tasks.spawn(async move {
            let enforcer_id = format!("enf-{i}");
            let pairing = pair(&client, &enforcer_id).await;
            let enforcer = SdkEnforcer { client, pairing };
            let pending = enforcer.submit(&format!("echo {i}")).await;
            enforcer.outcome(&pending).await
        });
    }
    let mut approved = 0;
    let all = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(result) = tasks.join_next().await {
            let outcome = result.expect("task").expect("decision");
            assert!(outcome.is_approved());
            approved += 1;
        }
    });
    all.await.expect("200 enforcers finish");
    assert_eq!(approved, 200);
    assert_eq!(sandbox.approver().seen().len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_restarted_in_the_middle_of_a_wait() {
    let identity = SandboxIdentity::generate();
    let config = || {
        SandboxConfig::builder()
            .approver_policy(ApproverPolicy::Manual)
            .identity(identity.clone())
    };
    let first = sandbox(config()).await;
    let port = first.local_addr().port();
    let enforcer = SdkEnforcer::paired(&first, "enf-restart").await;
    let pending = enforcer.submit("sleep").await;
    first
        .approver()
        .wait_for_artifact(pending.request_id(), Duration::from_secs(5))
        .await
        .unwrap();
    let approver_key = first.approver().public_key().to_bytes();
    let signer_key_id = first.approver().signer_key_id().to_owned();
    let waiter = {
        let client = enforcer.client.clone();
        tokio::spawn(async move { client.await_decision(&pending, quick()).await })
    };
    // Let the long-poll reach the server, then restart on the same port with the same
    // identity: the credentials and approver keys survive, the exchange does not.
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.shutdown().await;
    let second = sandbox(config().port(port)).await;
    let result = tokio::time::timeout(Duration::from_secs(30), waiter)
        .await
        .expect("no hang")
        .unwrap();
    // The client rode out the restart (its app credentials and PAT are still accepted) and
    // got the typed answer for an exchange the new platform does not know.
    let err = result.expect_err("cannot be decided by a platform that lost it");
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.code(), Some(&ErrorCode::NotFound), "{err:?}");
    assert!(matches!(err, Error::Service(_)), "{err:?}");

    // Same client, same PAT, same approver keys.
    assert!(
        enforcer
            .client
            .check_consent()
            .await
            .unwrap()
            .status
            .is_allowed()
    );
    assert_eq!(second.approver().public_key().to_bytes(), approver_key);
    assert_eq!(second.approver().signer_key_id(), signer_key_id);
    // Re-pairing gives the same signer: a stored pairing's trust stays valid.
    let again = pair(&enforcer.client, "enf-restart").await;
    assert_eq!(again.signer_public_key().to_bytes(), approver_key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_ends_the_wait() {
    let sandbox = sandbox(SandboxConfig::builder().approver_policy(ApproverPolicy::Manual)).await;
    let enforcer = SdkEnforcer::paired(&sandbox, "enf-expiry").await;
    let options = SubmitOptions::new().expires_in(Duration::from_secs(2));
    let pending = enforcer.submit_with("x", options).await;
    let outcome = enforcer.outcome(&pending).await.unwrap();
    assert_eq!(outcome, DecisionOutcome::Expired { withdrawn: false });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdraw_racing_a_decision() {
    let sandbox = sandbox(SandboxConfig::builder().approver_policy(ApproverPolicy::Manual)).await;
    let enforcer = SdkEnforcer::paired(&sandbox, "enf-race").await;
    for round in 0..10 {
        let pending = enforcer.submit(&format!("race {round}")).await;
        let id = pending.request_id().to_owned();
        sandbox
            .approver()
            .wait_for_artifact(&id, Duration::from_secs(5))
            .await
            .unwrap();
        let approver = sandbox.approver().clone();
        let decide = tokio::task::spawn_blocking({
            let id = id.clone();
            move || approver.decide(&id, Decision::Approve, None)
        });
        let withdraw = enforcer.client.withdraw(&pending).await;
        let decided = decide.await.unwrap();
        // Exactly one of them wins.
        assert_ne!(
            withdraw.is_ok(),
            decided.is_ok(),
            "round {round}: {withdraw:?} / {decided:?}"
        );
        // The wait ends as exactly the winner says: withdrawn, or a verified approval of
        // this artifact — never an error.
        let outcome = enforcer.outcome(&pending).await;
        match (&decided, outcome) {
            (Err(refused), Ok(DecisionOutcome::Withdrawn)) => {
                assert_eq!(refused.status(), Some(409));
            }
            (Ok(()), Ok(DecisionOutcome::Approved(verified))) => {
                assert!(withdraw.as_ref().unwrap_err().is_conflict());
                assert_eq!(verified.artifact_hash, pending.artifact_hash());
                assert_eq!(verified.verdict, airlock_crypto::Verdict::Approve);
            }
            (decided, other) => {
                panic!(
                    "round {round}: decided {decided:?}, withdraw {withdraw:?}, outcome {other:?}"
                )
            }
        }
    }
}

async fn refused(tamper: TamperMode) -> Error {
    let sandbox = sandbox(SandboxConfig::builder().tamper(tamper)).await;
    let enforcer = SdkEnforcer::paired(&sandbox, "enf-tamper").await;
    let pending = enforcer.submit("same").await;
    if tamper == TamperMode::Replay {
        // The first decision is honest (nothing to replay yet); the same content again
        // gets that decision replayed.
        assert!(enforcer.outcome(&pending).await.unwrap().is_approved());
        let again = enforcer.submit("same").await;
        return enforcer.outcome(&again).await.expect_err("replay refused");
    }
    let err = enforcer
        .outcome(&pending)
        .await
        .expect_err("tampered decision refused");
    // Refused decisions are not acked.
    assert_eq!(state_of(&sandbox, pending.request_id()), "Decided");
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tamper_mode_is_refused_by_await_decision() {
    for mode in [
        TamperMode::ForgeSignature,
        TamperMode::WrongHash,
        TamperMode::Unsigned,
        TamperMode::Replay,
    ] {
        let err = refused(mode).await;
        assert!(err.is_verification(), "{mode:?}: {err:?}");
    }
}

/// Submits `command`, waits until the approver holds it, and returns the pending exchange.
async fn submitted(
    sandbox: &Sandbox,
    enforcer: &SdkEnforcer,
    command: &str,
) -> airlock_gateway::PendingExchange {
    let pending = enforcer.submit(command).await;
    sandbox
        .approver()
        .wait_for_artifact(pending.request_id(), Duration::from_secs(5))
        .await
        .unwrap();
    pending
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_state_is_pruned_after_the_retention() {
    // Retention zero and no periodic sweep: what is closed goes at the sweep the test calls.
    let sandbox = sandbox(
        SandboxConfig::builder()
            .approver_policy(ApproverPolicy::Manual)
            .retention(Duration::ZERO)
            .prune_interval(None)
            .presence_ttl(Duration::ZERO)
            .pregenerated_code_ttl(Duration::ZERO)
            .device_code_ttl(Duration::ZERO),
    )
    .await;
    let enforcer = SdkEnforcer::paired(&sandbox, "enf-prune").await;
    let delivered = submitted(&sandbox, &enforcer, "delivered").await;
    sandbox
        .approver()
        .decide(delivered.request_id(), Decision::Approve, None)
        .unwrap();
    assert!(enforcer.outcome(&delivered).await.unwrap().is_approved());
    let withdrawn = submitted(&sandbox, &enforcer, "withdrawn").await;
    enforcer.withdraw(&withdrawn).await;
    let live = submitted(&sandbox, &enforcer, "still pending").await;
    enforcer
        .client
        .raw()
        .send_heartbeat(&HeartbeatRequest::new("enf-prune"))
        .await
        .unwrap();
    sandbox.approver().pre_generate_code().unwrap();
    let device = common::send(
        &common::client(),
        http::Method::POST,
        &format!("{}/device", sandbox.issuer_url()),
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(format!("client_id={}&scope=openid", sandbox.idp_client_id()).into_bytes()),
    )
    .await;
    assert_eq!(device.status, http::StatusCode::OK);

    let report = sandbox.prune();
    assert_eq!(report.exchanges, 2, "{report:?}");
    assert_eq!(report.approver_artifacts, 2, "{report:?}");
    assert_eq!(report.presence, 1, "{report:?}");
    assert!(report.pairing_codes >= 1, "{report:?}");
    assert_eq!(report.idp_grants, 1, "{report:?}");
    for gone in [&delivered, &withdrawn] {
        assert!(sandbox.exchange(gone.request_id()).is_none());
        assert!(
            sandbox
                .approver()
                .seen_artifact(gone.request_id())
                .is_none()
        );
        let e = enforcer
            .client
            .raw()
            .get_exchange_status(gone.request_id())
            .await
            .unwrap_err();
        assert!(e.is_not_found(), "{e:?}");
    }
    // The live exchange and the pairing stay.
    assert_eq!(state_of(&sandbox, live.request_id()), "Pending");
    assert!(
        sandbox
            .approver()
            .seen_artifact(live.request_id())
            .is_some()
    );
    enforcer.withdraw(&live).await;
    assert_eq!(sandbox.prune().exchanges, 1);
    assert_eq!(sandbox.prune(), airlock_sandbox::PruneReport::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_exchanges_stay_readable_within_the_retention() {
    let sandbox = sandbox(
        SandboxConfig::builder()
            .approver_policy(ApproverPolicy::Manual)
            .prune_interval(Some(Duration::from_millis(10))),
    )
    .await;
    let enforcer = SdkEnforcer::paired(&sandbox, "enf-retained").await;
    let withdrawn = submitted(&sandbox, &enforcer, "withdrawn").await;
    enforcer.withdraw(&withdrawn).await;
    // Default retention (10 minutes): neither an explicit sweep nor the periodic one
    // forgets it.
    assert_eq!(sandbox.prune().exchanges, 0);
    assert_eq!(state_of(&sandbox, withdrawn.request_id()), "Withdrawn");
    assert_eq!(
        enforcer.outcome(&withdrawn).await.unwrap(),
        DecisionOutcome::Withdrawn
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_pairing_sessions_and_their_codes_are_pruned() {
    let sandbox = sandbox(
        SandboxConfig::builder()
            .auto_pair(false)
            .pairing_code_ttl(Duration::ZERO)
            .retention(Duration::ZERO)
            .prune_interval(None),
    )
    .await;
    let client = sdk_client(&sandbox, None);
    let session = client
        .start_pairing(airlock_gateway::PairingRequest::new("enf-late"))
        .await
        .unwrap();
    let nonce = session.nonce().to_owned();
    // Expired on arrival: the status says so until the sweep forgets the session.
    assert_eq!(
        client.raw().get_pairing_status(&nonce).await.unwrap().state,
        airlock_types::PairingState::Expired
    );
    let report = sandbox.prune();
    assert_eq!(report.pairing_sessions, 1, "{report:?}");
    assert_eq!(report.pairing_codes, 1, "{report:?}");
    let e = client.raw().get_pairing_status(&nonce).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}

/// Completed pairings live until revoked (#15.1): hours of sandbox time and sweeps later, a
/// paired enforcer still gets its commands approved; only the session nobody completed goes,
/// and a revoked pairing still says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_pairings_live_until_revoked_however_long_ago() {
    let sandbox = sandbox(
        SandboxConfig::builder()
            .retention(Duration::from_secs(60))
            .prune_interval(None),
    )
    .await;
    let kept = SdkEnforcer::paired(&sandbox, "enf-kept").await;
    let revoked = SdkEnforcer::paired(&sandbox, "enf-revoked").await;
    revoked.client.unpair(&revoked.pairing).await.unwrap();
    sandbox.approver().set_auto_pair(false);
    let abandoned = kept
        .client
        .start_pairing(airlock_gateway::PairingRequest::new("enf-abandoned"))
        .await
        .unwrap();

    let mut pruned = airlock_sandbox::PruneReport::default();
    for _ in 0..5 {
        sandbox.advance_clock(Duration::from_secs(3600));
        let report = sandbox.prune();
        pruned.pairing_sessions += report.pairing_sessions;
    }
    assert!(sandbox.clock_ahead() >= Duration::from_secs(5 * 3600));
    assert_eq!(
        pruned.pairing_sessions, 1,
        "only the abandoned session goes"
    );
    let e = kept
        .client
        .raw()
        .get_pairing_status(abandoned.nonce())
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");

    // Artifacts submitted now must outlive the jump of the sandbox's clock.
    let later = || SubmitOptions::new().expires_in(Duration::from_secs(6 * 3600));
    let pending = kept.submit_with("cargo test", later()).await;
    assert!(kept.outcome(&pending).await.unwrap().is_approved());
    let err = revoked
        .client
        .encrypt_and_submit(&revoked.pairing, &json!({ "commandText": "x" }), later())
        .await
        .unwrap_err();
    assert!(err.is_pairing_revoked(), "{err:?}");
}

/// What a pairing and one gated command cost, route by route; the control API (which also
/// reports the counts) is not counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_counts_show_what_a_flow_costs() {
    let sandbox = sandbox(SandboxConfig::builder()).await;
    let client = sdk_client(&sandbox, None);
    let before_pairing = sandbox.request_counts();
    assert_eq!(before_pairing.total(), 0);
    let pairing = pair(&client, "enf-counted").await;
    let paired = sandbox.request_counts();
    let cost = paired.since(&before_pairing);
    assert_eq!(cost.get("POST /v1/pairing/initiate"), 1, "{cost:?}");
    let polls = cost.get("GET /v1/pairing/{nonce}/status");
    assert!(polls >= 1, "{cost:?}");
    assert_eq!(cost.total(), 1 + polls, "{cost:?}");

    let enforcer = SdkEnforcer { client, pairing };
    let pending = enforcer.submit("make deploy").await;
    assert!(enforcer.outcome(&pending).await.unwrap().is_approved());
    let cost = sandbox.request_counts().since(&paired);
    assert_eq!(cost.get("POST /v1/artifacts"), 1, "{cost:?}");
    assert!(cost.get("GET /v1/exchanges/{id}/wait") >= 1, "{cost:?}");
    assert_eq!(cost.get("POST /v1/acks"), 1, "{cost:?}");
    assert_eq!(cost.with_prefix("POST /v1/pairing/"), 0, "{cost:?}");

    // The same counts over the control API, which does not count itself.
    let c = common::client();
    let url = format!("{}/_sandbox/requests", sandbox.gateway_url());
    let auth = format!("Bearer {}", sandbox.control_token());
    let h = [("authorization", auth.as_str())];
    let total = sandbox.request_counts().total();
    let r = common::send(&c, http::Method::GET, &url, &h, None).await;
    r.assert_ok();
    let body = r.json();
    assert_eq!(body["total"], total);
    assert_eq!(body["routes"]["POST /v1/artifacts"], 1);
    assert_eq!(sandbox.request_counts().total(), total);
    let r = common::send(&c, http::Method::DELETE, &url, &h, None).await;
    r.assert_ok();
    assert_eq!(sandbox.request_counts().total(), 0);
}

/// `state_dir`: a restarted sandbox is the same sandbox — same URL, client secret and PAT,
/// same approver keys, and the pairings it made still route (#15.3). A state file that does
/// not read stops the start instead of silently starting afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_restarted_on_its_state_dir_keeps_sign_in_and_pairings() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let first = sandbox(SandboxConfig::builder().state_dir(&state)).await;
    let enforcer = SdkEnforcer::paired(&first, "enf-restarted").await;
    let pending = enforcer.submit("before").await;
    assert!(enforcer.outcome(&pending).await.unwrap().is_approved());
    let info = first.info().clone();
    first.shutdown().await;
    let file = state.join("sandbox.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    let second = sandbox(SandboxConfig::builder().state_dir(&state)).await;
    assert_eq!(second.gateway_url(), info.gateway_url);
    assert_eq!(second.client_secret(), info.client_secret);
    assert_eq!(second.pat(), info.pat);
    assert_eq!(
        second.info().approver_fingerprint,
        info.approver_fingerprint
    );
    // The enforcer's client and pairing from before the restart work as they were.
    let pending = enforcer.submit("after").await;
    assert!(enforcer.outcome(&pending).await.unwrap().is_approved());
    let seen = second
        .approver()
        .seen_artifact(pending.request_id())
        .unwrap();
    assert_eq!(seen.plaintext.unwrap()["commandText"], "after");
    assert_eq!(second.approver().paired().len(), 1);
    second.shutdown().await;

    std::fs::write(&file, b"{\"version\":1,").unwrap();
    let err = Sandbox::start(SandboxConfig::builder().state_dir(&state).build())
        .await
        .unwrap_err();
    assert!(
        matches!(err, airlock_sandbox::SandboxError::State { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("sandbox.json"), "{err}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        b"{\"version\":1,",
        "left as it was"
    );
}
