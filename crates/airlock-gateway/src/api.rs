//! Every endpoint of the gateway as a pure description ([`Call`]), and the informational
//! calls of [`GatewayClient`] (echo, discovery, consent). The other endpoints run through
//! [`RawClient`](crate::raw::RawClient) or the verified helpers built on it.

use std::time::Duration;

use crate::GatewayClient;
use crate::call::{Call, Discard, Json, check_segment, query, segment};
use crate::error::Error;
use airlock_types::{
    AckBody, ArtifactAcceptedBody, ArtifactSubmitBody, ConsentStatusResponse, DndPoliciesResponse,
    DndQuery, EchoResponse, Envelope, ExchangeStatusBody, ExchangeWithdrawnBody, HeartbeatRequest,
    IntegrationsDiscovery, PairingClaimRequest, PairingClaimResponse, PairingInitiateRequest,
    PairingInitiateResponse, PairingRevokeRequest, PairingRevokeResponse, PairingStatusResponse,
};

/// The longest long-poll the gateway accepts, in seconds.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// The shortest long-poll, in seconds.
pub const MIN_WAIT: Duration = Duration::from_secs(1);
/// Added to a long-poll's wait to get its HTTP timeout.
pub const WAIT_MARGIN: Duration = Duration::from_secs(10);

/// The wait of a long-poll, clamped to `1..=60` s (sub-second parts round up).
pub(crate) fn clamp_wait(wait: Duration) -> Duration {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Duration::from_secs(secs).clamp(MIN_WAIT, MAX_WAIT)
}

#[derive(serde::Serialize)]
struct WaitQuery {
    timeout: u64,
}

/// The pure descriptions of every endpoint.
pub(crate) mod endpoint {
    use super::*;

    pub(crate) fn echo() -> Call<Json<EchoResponse>> {
        Call::get("echo", "/echo")
    }

    pub(crate) fn discover() -> Call<Json<IntegrationsDiscovery>> {
        Call::get("discover", "/v1/integrations/discovery")
    }

    pub(crate) fn check_consent() -> Call<Json<ConsentStatusResponse>> {
        Call::get("check_consent", "/v1/consent/status")
    }

    pub(crate) fn submit_artifact(
        envelope: &Envelope<ArtifactSubmitBody>,
    ) -> Result<Call<Json<Envelope<ArtifactAcceptedBody>>>, Error> {
        check_segment("request id", &envelope.request_id)?;
        Ok(Call::post("submit_artifact", "/v1/artifacts", envelope)?
            // The gateway keys artifacts by (requestId, artifactHash): resending is safe.
            .idempotent(true)
            .success(&[200, 201, 202])
            .request_id(&envelope.request_id))
    }

    pub(crate) fn get_exchange_status(
        request_id: &str,
    ) -> Result<Call<Json<Envelope<ExchangeStatusBody>>>, Error> {
        let path = ["/v1/exchanges/", &segment("request id", request_id)?].concat();
        Ok(Call::get("get_exchange_status", path).request_id(request_id))
    }

    pub(crate) fn wait_for_decision(
        request_id: &str,
        wait: Duration,
    ) -> Result<Call<Json<Envelope<serde_json::Value>>>, Error> {
        let wait = clamp_wait(wait);
        let path = [
            "/v1/exchanges/",
            &segment("request id", request_id)?,
            "/wait",
        ]
        .concat();
        let mut call = Call::get("wait_for_decision", path).request_id(request_id);
        call.query = query(&WaitQuery {
            timeout: wait.as_secs(),
        })?;
        call.no_content_is_none = true;
        call.timeout = Some(wait + WAIT_MARGIN);
        Ok(call)
    }

    pub(crate) fn withdraw_exchange(
        request_id: &str,
    ) -> Result<Call<Json<Envelope<ExchangeWithdrawnBody>>>, Error> {
        let path = [
            "/v1/exchanges/",
            &segment("request id", request_id)?,
            "/withdraw",
        ]
        .concat();
        Ok(Call::new("withdraw_exchange", http::Method::POST, path)
            .idempotent(true)
            .request_id(request_id))
    }

    pub(crate) fn submit_ack(ack: &Envelope<AckBody>) -> Result<Call<Discard>, Error> {
        Ok(Call::post("submit_ack", "/v1/acks", ack)?
            .idempotent(true)
            .success(&[200, 202, 204])
            .request_id(&ack.request_id))
    }

    pub(crate) fn initiate_pairing(
        request: &PairingInitiateRequest,
    ) -> Result<Call<Json<PairingInitiateResponse>>, Error> {
        Ok(Call::post("initiate_pairing", "/v1/pairing/initiate", request)?.success(&[200, 201]))
    }

    pub(crate) fn claim_pairing(
        request: &PairingClaimRequest,
    ) -> Result<Call<Json<PairingClaimResponse>>, Error> {
        Ok(Call::post("claim_pairing", "/v1/pairing/claim", request)?.success(&[200, 201]))
    }

    pub(crate) fn get_pairing_status(
        nonce: &str,
    ) -> Result<Call<Json<PairingStatusResponse>>, Error> {
        let path = ["/v1/pairing/", &segment("pairing nonce", nonce)?, "/status"].concat();
        Ok(Call::get("get_pairing_status", path))
    }

    pub(crate) fn revoke_pairing(
        request: &PairingRevokeRequest,
    ) -> Result<Call<Json<PairingRevokeResponse>>, Error> {
        Call::post("revoke_pairing", "/v1/pairing/revoke", request)
    }

    pub(crate) fn send_heartbeat(request: &HeartbeatRequest) -> Result<Call<Discard>, Error> {
        Ok(
            Call::post("send_heartbeat", "/v1/presence/heartbeat", request)?
                .idempotent(true)
                .success(&[200, 202, 204]),
        )
    }

    pub(crate) fn get_effective_dnd_policies(
        q: &DndQuery,
    ) -> Result<Call<Json<DndPoliciesResponse>>, Error> {
        if q.enforcer_id.is_empty() || q.workspace_id.is_empty() {
            return Err(Error::invalid_input(
                "a DND query needs an enforcer id and a workspace id",
            ));
        }
        let mut call = Call::get("get_effective_dnd_policies", "/v1/policy/dnd/effective");
        call.query = query(q)?;
        Ok(call)
    }
}

impl GatewayClient {
    /// `GET /echo`: the gateway's clock; a cheap connectivity check.
    pub async fn echo(&self) -> Result<EchoResponse, Error> {
        self.execute_some(endpoint::echo()).await.map(|j| j.0)
    }

    /// `GET /v1/integrations/discovery`: the identity provider and auth options.
    pub async fn discover(&self) -> Result<IntegrationsDiscovery, Error> {
        self.execute_some(endpoint::discover()).await.map(|j| j.0)
    }

    /// `GET /v1/consent/status`: whether the user consented to this app. A missing consent
    /// is an error: see [`Error::is_consent_required`] and [`Error::consent`].
    pub async fn check_consent(&self) -> Result<ConsentStatusResponse, Error> {
        self.execute_some(endpoint::check_consent())
            .await
            .map(|j| j.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{BaseUrl, ResponseBody};
    use airlock_types::{EncryptedPayload, PairingState};
    use http::Method;

    fn check<R: ResponseBody>(call: Call<R>, method: Method, uri: &str, idempotent: bool) {
        let base = BaseUrl::parse("https://gw.example/p").unwrap();
        let req = call.build(&base, http::HeaderMap::new()).unwrap();
        assert_eq!(req.method(), method, "{}", call.name);
        assert_eq!(req.uri().to_string(), uri, "{}", call.name);
        assert_eq!(call.idempotent, idempotent, "{}", call.name);
    }

    #[test]
    fn the_endpoint_table() {
        use endpoint as e;
        let artifact = Envelope::artifact_submit(
            "req-1",
            "enf",
            ArtifactSubmitBody::new(
                "ab".repeat(32),
                EncryptedPayload::new("d".into(), "n".into(), None),
            ),
        );
        let ack = Envelope::ack("req-1", "enf", AckBody::delivered("msg-1"));
        check(e::echo(), Method::GET, "https://gw.example/p/echo", true);
        check(
            e::discover(),
            Method::GET,
            "https://gw.example/p/v1/integrations/discovery",
            true,
        );
        check(
            e::check_consent(),
            Method::GET,
            "https://gw.example/p/v1/consent/status",
            true,
        );
        check(
            e::submit_artifact(&artifact).unwrap(),
            Method::POST,
            "https://gw.example/p/v1/artifacts",
            true,
        );
        check(
            e::get_exchange_status("a b").unwrap(),
            Method::GET,
            "https://gw.example/p/v1/exchanges/a%20b",
            true,
        );
        check(
            e::wait_for_decision("r", Duration::from_secs(600)).unwrap(),
            Method::GET,
            "https://gw.example/p/v1/exchanges/r/wait?timeout=60",
            true,
        );
        check(
            e::withdraw_exchange("r").unwrap(),
            Method::POST,
            "https://gw.example/p/v1/exchanges/r/withdraw",
            true,
        );
        check(
            e::submit_ack(&ack).unwrap(),
            Method::POST,
            "https://gw.example/p/v1/acks",
            true,
        );
        check(
            e::initiate_pairing(&PairingInitiateRequest::new("d", "e")).unwrap(),
            Method::POST,
            "https://gw.example/p/v1/pairing/initiate",
            false,
        );
        check(
            e::claim_pairing(&PairingClaimRequest::new("c", "d", "e", "l", "w")).unwrap(),
            Method::POST,
            "https://gw.example/p/v1/pairing/claim",
            false,
        );
        check(
            e::get_pairing_status("n/1").unwrap(),
            Method::GET,
            "https://gw.example/p/v1/pairing/n%2F1/status",
            true,
        );
        check(
            e::revoke_pairing(&PairingRevokeRequest::new("rt")).unwrap(),
            Method::POST,
            "https://gw.example/p/v1/pairing/revoke",
            false,
        );
        check(
            e::send_heartbeat(&HeartbeatRequest::new("e")).unwrap(),
            Method::POST,
            "https://gw.example/p/v1/presence/heartbeat",
            true,
        );
        check(
            e::get_effective_dnd_policies(&DndQuery::new("e", "w")).unwrap(),
            Method::GET,
            "https://gw.example/p/v1/policy/dnd/effective?enforcerId=e&workspaceId=w",
            true,
        );
        let _ = PairingState::Pending;
    }

    #[test]
    fn long_poll_timeout_is_wait_plus_margin() {
        for (asked, wait) in [(0, 1), (1, 1), (30, 30), (60, 60), (61, 60), (u64::MAX, 60)] {
            let call = endpoint::wait_for_decision("r", Duration::from_secs(asked)).unwrap();
            assert_eq!(
                call.query.as_deref(),
                Some(format!("timeout={wait}").as_str())
            );
            assert_eq!(call.timeout, Some(Duration::from_secs(wait) + WAIT_MARGIN));
            assert!(call.no_content_is_none);
        }
        assert_eq!(clamp_wait(Duration::from_millis(1)), Duration::from_secs(1));
        assert_eq!(
            clamp_wait(Duration::from_millis(2001)),
            Duration::from_secs(3)
        );
    }
}
