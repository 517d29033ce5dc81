//! The SDK (`airlock-gateway`'s `GatewayClient`) against the sandbox: the full lifecycle,
//! 200 concurrent enforcers, a restart in the middle of a wait, expiry, withdraw racing a
//! decision, and every tamper mode refused by `await_decision`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use airlock_gateway::{
    AwaitOptions, DecisionOutcome, Error, GatewayClient, HttpClient, Pairing, PairingRequest,
    SecretToken, SubmitOptions,
};
use airlock_sandbox::{ApproverPolicy, Sandbox, SandboxConfig, TamperMode};
use airlock_types::{Decision, HeartbeatRequest};
use serde_json::json;

fn sdk_client(sandbox: &Sandbox, transport: Option<Arc<dyn HttpClient>>) -> GatewayClient {
    let mut builder = GatewayClient::builder(sandbox.gateway_url())
        .client_credentials(
            sandbox.client_id(),
            SecretToken::new(sandbox.client_secret()),
        )
        .pat(SecretToken::new(sandbox.pat()));
    if let Some(t) = transport {
        builder = builder.transport(t);
    }
    builder.build().expect("client builds")
}

async fn pair(client: &GatewayClient, enforcer_id: &str) -> Pairing {
    let session = client
        .start_pairing(
            PairingRequest::new(enforcer_id)
                .label("sdk test")
                .workspace("ws")
                .poll_interval(Duration::from_millis(20)),
        )
        .await
        .expect("pairing starts");
    session
        .wait(Duration::from_secs(20))
        .await
        .expect("pairing completes")
}

fn quick() -> AwaitOptions {
    AwaitOptions::new(Duration::from_secs(20)).poll_wait(Duration::from_secs(5))
}

async fn sandbox(config: airlock_sandbox::SandboxConfigBuilder) -> Sandbox {
    Sandbox::start(config.rate_limit(None).build())
        .await
        .expect("sandbox starts")
}

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
    assert_eq!(seen.plaintext.as_ref(), Some(&plaintext));
    // The SDK acked: the exchange is delivered.
    assert_eq!(
        sandbox
            .exchange(pending.request_id())
            .unwrap()
            .state
            .as_str(),
        "Delivered"
    );

    sandbox.approver().set_policy(ApproverPolicy::Reject);
    let pending = client
        .encrypt_and_submit(
            &pairing,
            &json!({ "commandText": "rm -rf ~" }),
            SubmitOptions::new(),
        )
        .await
        .unwrap();
    let outcome = client.await_decision(&pending, quick()).await.unwrap();
    assert!(
        matches!(outcome, DecisionOutcome::Rejected(_)),
        "{outcome:?}"
    );

    client.unpair(&pairing).await.unwrap();
    let err = client
        .encrypt_and_submit(
            &pairing,
            &json!({ "commandText": "ls" }),
            SubmitOptions::new(),
        )
        .await
        .unwrap_err();
    assert!(err.is_pairing_revoked(), "{err:?}");
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
            let plaintext = json!({ "commandText": format!("echo {i}") });
            let pending = client
                .encrypt_and_submit(&pairing, &plaintext, SubmitOptions::new())
                .await?;
            client.await_decision(&pending, quick()).await
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
    let first = sandbox(SandboxConfig::builder().approver_policy(ApproverPolicy::Manual)).await;
    let port = first.local_addr().port();
    let client = sdk_client(&first, None);
    let pairing = pair(&client, "enf-restart").await;
    let pending = client
        .encrypt_and_submit(
            &pairing,
            &json!({ "commandText": "sleep" }),
            SubmitOptions::new(),
        )
        .await
        .unwrap();
    first
        .approver()
        .wait_for_artifact(pending.request_id(), Duration::from_secs(5))
        .await
        .unwrap();
    let waiter = {
        let client = client.clone();
        tokio::spawn(async move { client.await_decision(&pending, quick()).await })
    };
    // Let the long-poll reach the server, then restart on the same port (state is gone).
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.shutdown().await;
    let second = Sandbox::start(SandboxConfig::builder().port(port).rate_limit(None).build())
        .await
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), waiter)
        .await
        .expect("no hang")
        .unwrap();
    // The new platform knows neither the old credentials nor the exchange: a typed failure.
    let err = result.expect_err("cannot be decided by a platform that lost it");
    assert!(
        err.is_unauthorized() || err.status() == Some(http::StatusCode::NOT_FOUND),
        "{err:?}"
    );
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_ends_the_wait() {
    let sandbox = sandbox(SandboxConfig::builder().approver_policy(ApproverPolicy::Manual)).await;
    let client = sdk_client(&sandbox, None);
    let pairing = pair(&client, "enf-expiry").await;
    let options = SubmitOptions::new().expires_in(Duration::from_secs(2));
    let pending = client
        .encrypt_and_submit(&pairing, &json!({ "commandText": "x" }), options)
        .await
        .unwrap();
    let outcome = client.await_decision(&pending, quick()).await.unwrap();
    assert_eq!(outcome, DecisionOutcome::Expired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdraw_racing_a_decision() {
    let sandbox = sandbox(SandboxConfig::builder().approver_policy(ApproverPolicy::Manual)).await;
    let client = sdk_client(&sandbox, None);
    let pairing = pair(&client, "enf-race").await;
    for round in 0..10 {
        let pending = client
            .encrypt_and_submit(
                &pairing,
                &json!({ "commandText": format!("race {round}") }),
                SubmitOptions::new(),
            )
            .await
            .unwrap();
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
        let withdraw = client.withdraw_exchange(&id).await;
        let decided = decide.await.unwrap();
        // Exactly one of them wins.
        assert_ne!(
            withdraw.is_ok(),
            decided.is_ok(),
            "round {round}: {withdraw:?} / {decided:?}"
        );
        let outcome = client.await_decision(&pending, quick()).await;
        if let Err(refused) = decided {
            assert_eq!(refused.status(), Some(409));
            match outcome {
                Ok(DecisionOutcome::Withdrawn) => {}
                Err(e) if e.is_conflict() => {}
                other => panic!("round {round}: a withdrawn exchange ended as {other:?}"),
            }
        } else {
            assert!(withdraw.unwrap_err().is_conflict());
            assert!(outcome.unwrap().is_approved());
        }
    }
}

async fn refused(tamper: TamperMode) -> Error {
    let sandbox = sandbox(SandboxConfig::builder().tamper(tamper)).await;
    let client = sdk_client(&sandbox, None);
    let pairing = pair(&client, "enf-tamper").await;
    let pending = client
        .encrypt_and_submit(
            &pairing,
            &json!({ "commandText": "same" }),
            SubmitOptions::new(),
        )
        .await
        .unwrap();
    if tamper == TamperMode::Replay {
        // The first decision is honest (nothing to replay yet); the same content again
        // gets that decision replayed.
        assert!(
            client
                .await_decision(&pending, quick())
                .await
                .unwrap()
                .is_approved()
        );
        let again = client
            .encrypt_and_submit(
                &pairing,
                &json!({ "commandText": "same" }),
                SubmitOptions::new(),
            )
            .await
            .unwrap();
        return client
            .await_decision(&again, quick())
            .await
            .expect_err("replay refused");
    }
    let err = client
        .await_decision(&pending, quick())
        .await
        .expect_err("tampered decision refused");
    // Refused decisions are not acked.
    assert_eq!(
        sandbox
            .exchange(pending.request_id())
            .unwrap()
            .state
            .as_str(),
        "Decided"
    );
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
