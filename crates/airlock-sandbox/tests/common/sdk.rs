//! SDK-level helpers: a `GatewayClient` of a sandbox, pairing, and submitting commands.

use std::sync::Arc;
use std::time::Duration;

use airlock_gateway::{
    AwaitOptions, DecisionOutcome, Error, GatewayClient, HttpClient, Pairing, PairingRequest,
    PendingExchange, SecretToken, SubmitOptions,
};
use airlock_sandbox::{Sandbox, SandboxConfigBuilder};
use serde_json::json;

/// A client of `sandbox` with its app credentials and PAT (and `transport`, if given).
pub fn sdk_client(sandbox: &Sandbox, transport: Option<Arc<dyn HttpClient>>) -> GatewayClient {
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

/// Pairs `enforcer_id` (the simulated approver completes the pairing by itself).
pub async fn pair(client: &GatewayClient, enforcer_id: &str) -> Pairing {
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

/// Up to 20 s in all, 5 s long-polls.
pub fn quick() -> AwaitOptions {
    AwaitOptions::new(Duration::from_secs(20)).poll_wait(Duration::from_secs(5))
}

/// A sandbox of `config` without rate limit.
pub async fn sandbox(config: SandboxConfigBuilder) -> Sandbox {
    Sandbox::start(config.rate_limit(None).build())
        .await
        .expect("sandbox starts")
}

/// A paired SDK enforcer.
pub struct SdkEnforcer {
    pub client: GatewayClient,
    pub pairing: Pairing,
}

impl SdkEnforcer {
    /// A client of `sandbox` paired as `enforcer_id`.
    pub async fn paired(sandbox: &Sandbox, enforcer_id: &str) -> Self {
        let client = sdk_client(sandbox, None);
        let pairing = pair(&client, enforcer_id).await;
        Self { client, pairing }
    }

    /// Submits `{"commandText": command}` with `options`.
    pub async fn submit_with(&self, command: &str, options: SubmitOptions) -> PendingExchange {
        self.client
            .encrypt_and_submit(&self.pairing, &json!({ "commandText": command }), options)
            .await
            .expect("artifact submitted")
    }

    /// Submits `{"commandText": command}`.
    pub async fn submit(&self, command: &str) -> PendingExchange {
        self.submit_with(command, SubmitOptions::new()).await
    }

    /// Withdraws `pending`; it must succeed.
    pub async fn withdraw(&self, pending: &PendingExchange) {
        self.client
            .raw()
            .withdraw_exchange(pending.request_id())
            .await
            .expect("withdrawn");
    }

    /// `await_decision` with [`quick`].
    pub async fn outcome(&self, pending: &PendingExchange) -> Result<DecisionOutcome, Error> {
        self.client.await_decision(pending, quick()).await
    }
}
