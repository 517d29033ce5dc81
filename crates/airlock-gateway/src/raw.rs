//! The protocol's endpoints one by one, unverified: [`RawClient`] (from
//! [`GatewayClient::raw`]).
//!
//! **An enforcer does not need this module.** The verified path is on [`GatewayClient`]:
//! [`pair`](GatewayClient::pair) (verifies the approver's signed pairing response),
//! [`encrypt_and_submit`](GatewayClient::encrypt_and_submit),
//! [`await_decision`](GatewayClient::await_decision) (verifies signature, artifact hash,
//! request binding and replay before reporting a decision),
//! [`do_not_disturb`](GatewayClient::do_not_disturb) and
//! [`spawn_heartbeat`](GatewayClient::spawn_heartbeat).
//!
//! Use a raw call only to build a tool the helpers do not cover (a status viewer, a test of
//! a gateway, a proxy). What a raw call returns is what the gateway — an untrusted relay —
//! sent: a [`UnverifiedDecision`] must go through `airlock_crypto::verify_decision`, a
//! completed pairing status's `responseJson` through
//! `airlock_crypto::verify_pairing_response`, and DND policies through
//! [`evaluate_dnd`](crate::evaluate_dnd), before anything acts on them.

use std::time::Duration;

use airlock_types::{
    AckBody, ArtifactAcceptedBody, ArtifactSubmitBody, DecisionBody, DndPoliciesResponse, DndQuery,
    Envelope, ExchangeStatusBody, ExchangeWithdrawnBody, HeartbeatRequest, PairingClaimRequest,
    PairingClaimResponse, PairingInitiateRequest, PairingInitiateResponse, PairingRevokeRequest,
    PairingRevokeResponse, PairingStatusResponse,
};
use serde::Deserialize;

use crate::GatewayClient;
use crate::api::endpoint;
use crate::error::Error;

/// The gateway's endpoints as the protocol defines them, each one request through the
/// client's one request path (credentials, retries, timeouts, error decoding) and nothing
/// more: no verification. See the [module documentation](self) for when to use it.
///
/// Borrowed from a [`GatewayClient`] by [`GatewayClient::raw`]; `Copy`, so its futures
/// borrow only the client.
#[derive(Debug, Clone, Copy)]
pub struct RawClient<'a> {
    client: &'a GatewayClient,
}

/// A `decision.deliver` message as received: **not verified**.
///
/// Never act on it directly: [`GatewayClient::await_decision`] verifies the signature, the
/// artifact hash binding and replay before reporting a decision. The body is kept as raw
/// JSON because a HARP-CORE signature covers every field the approver sent.
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedDecision {
    envelope: Envelope<serde_json::Value>,
}

impl UnverifiedDecision {
    /// The `msgId` of the delivery (acknowledge it with this id).
    pub fn msg_id(&self) -> &str {
        &self.envelope.msg_id
    }
    /// The exchange id.
    pub fn request_id(&self) -> &str {
        &self.envelope.request_id
    }
    /// The whole envelope, body as raw JSON.
    pub fn envelope(&self) -> &Envelope<serde_json::Value> {
        &self.envelope
    }
    /// The raw JSON body, the input of `airlock_crypto::verify_decision`.
    pub fn body_json(&self) -> &serde_json::Value {
        &self.envelope.body
    }
    /// The body read as a typed decision (still unverified).
    pub fn body(&self) -> Result<DecisionBody, Error> {
        DecisionBody::deserialize(&self.envelope.body).map_err(|e| {
            Error::Verification(Box::new(
                crate::error::VerificationError::MalformedDecision(e.to_string()),
            ))
        })
    }
}

impl<'a> RawClient<'a> {
    pub(crate) fn new(client: &'a GatewayClient) -> Self {
        Self { client }
    }

    /// `POST /v1/artifacts`: submits an `artifact.submit` envelope (already encrypted; see
    /// [`GatewayClient::encrypt_and_submit`]). Retried on transient failures: the gateway
    /// deduplicates by (requestId, artifactHash).
    pub async fn submit_artifact(
        self,
        envelope: &Envelope<ArtifactSubmitBody>,
    ) -> Result<Envelope<ArtifactAcceptedBody>, Error> {
        let call = endpoint::submit_artifact(envelope)?;
        self.client.execute_some(call).await.map(|j| j.0)
    }

    /// `GET /v1/exchanges/{requestId}`: the state of an exchange, as the gateway reports it.
    pub async fn get_exchange_status(
        self,
        request_id: &str,
    ) -> Result<Envelope<ExchangeStatusBody>, Error> {
        let call = endpoint::get_exchange_status(request_id)?;
        self.client.execute_some(call).await.map(|j| j.0)
    }

    /// `GET /v1/exchanges/{requestId}/wait?timeout=N`: long-polls for the decision.
    ///
    /// `wait` is clamped to 1..=60 s; the request's own timeout is `wait` plus
    /// [`WAIT_MARGIN`](crate::WAIT_MARGIN). `Ok(None)` (`204`) means no decision yet. The
    /// decision is **not verified**: an enforcer uses [`GatewayClient::await_decision`].
    pub async fn wait_for_decision(
        self,
        request_id: &str,
        wait: Duration,
    ) -> Result<Option<UnverifiedDecision>, Error> {
        let call = endpoint::wait_for_decision(request_id, wait)?;
        Ok(self
            .client
            .execute(call)
            .await?
            .map(|j| UnverifiedDecision { envelope: j.0 }))
    }

    /// `POST /v1/exchanges/{requestId}/withdraw`: withdraws a pending artifact. `409`
    /// ([`Error::is_conflict`]) when the exchange is already terminal. With a
    /// [`PendingExchange`](crate::PendingExchange), use [`GatewayClient::withdraw`].
    pub async fn withdraw_exchange(
        self,
        request_id: &str,
    ) -> Result<Envelope<ExchangeWithdrawnBody>, Error> {
        let call = endpoint::withdraw_exchange(request_id)?;
        self.client.execute_some(call).await.map(|j| j.0)
    }

    /// `POST /v1/acks`: acknowledges a delivered decision (acknowledge only what verified).
    pub async fn submit_ack(self, ack: &Envelope<AckBody>) -> Result<(), Error> {
        let call = endpoint::submit_ack(ack)?;
        self.client.execute(call).await.map(drop)
    }

    /// `POST /v1/pairing/initiate`: starts a pairing session (never retried once sent).
    /// [`GatewayClient::pair`] runs the whole, verified flow.
    pub async fn initiate_pairing(
        self,
        request: &PairingInitiateRequest,
    ) -> Result<PairingInitiateResponse, Error> {
        let call = endpoint::initiate_pairing(request)?;
        self.client.execute_some(call).await.map(|j| j.0)
    }

    /// `POST /v1/pairing/claim`: claims a code the approver generated.
    pub async fn claim_pairing(
        self,
        request: &PairingClaimRequest,
    ) -> Result<PairingClaimResponse, Error> {
        let call = endpoint::claim_pairing(request)?;
        self.client.execute_some(call).await.map(|j| j.0)
    }

    /// `GET /v1/pairing/{nonce}/status`: the state of a pairing session. A completed
    /// session's `responseJson` is **not verified**: `airlock_crypto::verify_pairing_response`
    /// (which [`PairingSession::wait`](crate::PairingSession::wait) runs) must accept it first.
    pub async fn get_pairing_status(self, nonce: &str) -> Result<PairingStatusResponse, Error> {
        let call = endpoint::get_pairing_status(nonce)?;
        self.client.execute_some(call).await.map(|j| j.0)
    }

    /// `POST /v1/pairing/revoke`: revokes a pairing by its routing token. With a
    /// [`Pairing`](crate::Pairing), use [`GatewayClient::unpair`].
    pub async fn revoke_pairing(
        self,
        request: &PairingRevokeRequest,
    ) -> Result<PairingRevokeResponse, Error> {
        let call = endpoint::revoke_pairing(request)?;
        self.client.execute_some(call).await.map(|j| j.0)
    }

    /// `POST /v1/presence/heartbeat`: reports the enforcer as online once.
    /// [`GatewayClient::spawn_heartbeat`] keeps doing it.
    pub async fn send_heartbeat(self, request: &HeartbeatRequest) -> Result<(), Error> {
        let call = endpoint::send_heartbeat(request)?;
        self.client.execute(call).await.map(drop)
    }

    /// `GET /v1/policy/dnd/effective`: the Do-Not-Disturb policies the gateway says are in
    /// force. They are **not signed** by the approver: evaluate them only with
    /// [`evaluate_dnd`](crate::evaluate_dnd), or let [`GatewayClient::do_not_disturb`] do it.
    pub async fn get_effective_dnd_policies(
        self,
        query: &DndQuery,
    ) -> Result<DndPoliciesResponse, Error> {
        let call = endpoint::get_effective_dnd_policies(query)?;
        self.client.execute_some(call).await.map(|j| j.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unverified_decision_exposes_typed_and_raw_bodies() {
        let env: Envelope<serde_json::Value> = serde_json::from_value(serde_json::json!({
            "msgId": "msg-1", "msgType": "decision.deliver", "requestId": "req-1",
            "createdAt": "2026-02-24T10:00:00Z",
            "body": {"artifactHash": "ab", "decision": "APPROVE", "signerKeyId": "k", "nonce": "n", "signature": "s"}
        }))
        .unwrap();
        let d = UnverifiedDecision { envelope: env };
        assert_eq!(d.msg_id(), "msg-1");
        assert_eq!(d.request_id(), "req-1");
        assert_eq!(d.body().unwrap().decision, airlock_types::Decision::Approve);
        assert_eq!(d.body_json()["decision"], "APPROVE");
        let bad = UnverifiedDecision {
            envelope: Envelope::new("decision.deliver", "r", serde_json::json!([1])),
        };
        assert!(bad.body().unwrap_err().is_verification());
    }
}
