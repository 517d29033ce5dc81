//! `airlock::Profile` over what the `airlock` binary stored: `airlock login` and `airlock
//! pair` in a private config directory, then an SDK program gating an action with
//! `Profile::load_from(dir)?.client()?` alone.

mod common;

use std::time::Duration;

use airlock::ProfileError;
use airlock::prelude::*;
use airlock_sandbox::{ApproverPolicy, SandboxConfig};
use common::{ENFORCER, Env};

async fn env() -> Env {
    let config = SandboxConfig::builder()
        .approver_policy(ApproverPolicy::Approve)
        .rate_limit(None)
        .build();
    Env::start(config).await
}

/// Submits a command through the profile's client; the verified outcome.
async fn gate(env: &Env) -> DecisionOutcome {
    let profile = Profile::load_from(env.dir.path()).expect("load the profile");
    assert_eq!(profile.gateway_url(), env.gateway_url);
    assert_eq!(profile.enforcer_id(), ENFORCER);
    let client = profile.client().expect("a signed-in client");
    let pending = client
        .encrypt_and_submit(
            profile.pairing().expect("paired"),
            &CommandAction::new("cargo publish"),
            SubmitOptions::new(),
        )
        .await
        .expect("submit");
    client
        .await_decision(&pending, AwaitOptions::new(Duration::from_secs(30)))
        .await
        .expect("a verified decision")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_gates_with_what_login_pat_and_pair_stored() {
    let env = env().await;
    let pat = env.sandbox().pat().to_owned();
    env.ok(&["login", "--pat", &pat]).await;
    env.pair().await;
    let journal = env.dir.path().join("replay-journal");
    let before = std::fs::read(&journal).unwrap_or_default();

    let outcome = gate(&env).await;
    assert!(outcome.is_approved(), "{outcome:?}");
    let decision = outcome.decision().expect("verified");
    assert_eq!(
        decision.signer_key_id,
        env.sandbox().approver().signer_key_id()
    );
    // The decision went into the CLI's journal, where `airlock approve` checks replays.
    let after = std::fs::read(&journal).expect("the CLI's replay journal");
    assert!(after.len() > before.len(), "the decision was recorded");

    // No secret in Debug.
    let profile = Profile::load_from(env.dir.path()).unwrap();
    let shown = format!("{profile:?}");
    assert!(!shown.contains(&pat), "{shown}");
    assert!(!shown.contains(&env.client_secret), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_gates_with_the_refreshing_oauth_session_of_login_device() {
    let env = env().await;
    env.ok(&["login", "--device"]).await;
    env.pair().await;
    assert!(gate(&env).await.is_approved());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_but_not_paired_says_not_paired() {
    let env = env().await;
    let pat = env.sandbox().pat().to_owned();
    env.ok(&["login", "--pat", &pat]).await;
    let profile = Profile::load_from(env.dir.path()).unwrap();
    profile.client().expect("signed in");
    let err = profile.pairing().unwrap_err();
    assert!(matches!(err, ProfileError::NotPaired { .. }), "{err:?}");
    assert!(err.to_string().contains("not paired"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_file_is_named() {
    let env = env().await;
    let pat = env.sandbox().pat().to_owned();
    env.ok(&["login", "--pat", &pat]).await;
    env.pair().await;
    for name in ["credentials.json", "config.json", "pairing.json"] {
        let path = env.dir.path().join(name);
        let good = std::fs::read(&path).unwrap();
        std::fs::write(&path, b"{not json").unwrap();
        let err = Profile::load_from(env.dir.path()).unwrap_err();
        match &err {
            ProfileError::Corrupt { file, .. } => assert_eq!(file, &path),
            other => panic!("{name}: {other:?}"),
        }
        assert!(err.to_string().contains(name), "{err}");
        std::fs::write(&path, good).unwrap();
    }
    Profile::load_from(env.dir.path()).expect("restored");
}

#[test]
fn no_directory_and_nobody_signed_in_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let err = Profile::load_from(&missing).unwrap_err();
    assert!(
        matches!(&err, ProfileError::MissingDirectory { dir } if *dir == missing),
        "{err:?}"
    );
    let profile = Profile::load_from(dir.path()).expect("an empty directory loads");
    let err = profile.client().unwrap_err();
    assert!(matches!(err, ProfileError::NotSignedIn { .. }), "{err:?}");
    assert!(matches!(
        profile.pairing().unwrap_err(),
        ProfileError::NotPaired { .. }
    ));
}
