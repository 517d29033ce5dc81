//! Exchanges: artifact submission, status, the decision long-poll, withdrawal and acks.

use std::time::Duration;

use airlock_types::{
    ArtifactAcceptedBody, EncryptedPayload, Envelope, ExchangeStatusBody, ExchangeWithdrawnBody,
    Party, msg_type,
};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::pairing::route_for;
use super::{Caller, Gateway, InEnvelope, State, envelope, ts};
use crate::clock;
use crate::web::{self, ApiError, HandlerResult, Req};

/// Exchange state, as written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExchangeState {
    Pending,
    Decided,
    Delivered,
    Expired,
    Withdrawn,
}

impl ExchangeState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Decided => "Decided",
            Self::Delivered => "Delivered",
            Self::Expired => "Expired",
            Self::Withdrawn => "Withdrawn",
        }
    }
}

#[derive(Debug)]
pub(super) struct Exchange {
    pub(super) request_id: String,
    pub(super) owner: (String, String),
    pub(super) enforcer_id: Option<String>,
    pub(super) approver_id: String,
    pub(super) routing_token: String,
    pub(super) artifact_type: String,
    pub(super) artifact_hash: String,
    pub(super) ciphertext: EncryptedPayload,
    pub(super) metadata: Map<String, Value>,
    pub(super) created_at: OffsetDateTime,
    pub(super) expires_at: OffsetDateTime,
    pub(super) state: ExchangeState,
    pub(super) decision: Option<StoredDecision>,
    pub(super) withdrawn_at: Option<OffsetDateTime>,
    /// When the enforcer acknowledged the decision.
    pub(super) delivered_at: Option<OffsetDateTime>,
    pub(super) deliveries: u32,
    /// Bumped on every state change; long-polls wait on it.
    pub(super) changed: watch::Sender<u64>,
}

#[derive(Debug, Clone)]
pub(super) struct StoredDecision {
    pub(super) msg_id: String,
    pub(super) body: Value,
    pub(super) decided_at: OffsetDateTime,
}

impl Exchange {
    /// When the exchange stopped needing the gateway: delivered (acked), withdrawn, or past
    /// its expiry (expired, or decided but never acknowledged). `None` while it is live.
    pub(super) fn closed_at(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match self.state {
            ExchangeState::Delivered => self.delivered_at.or(Some(self.expires_at)),
            ExchangeState::Withdrawn => self.withdrawn_at.or(Some(self.expires_at)),
            ExchangeState::Expired => Some(self.expires_at),
            ExchangeState::Decided | ExchangeState::Pending => {
                (now >= self.expires_at).then_some(self.expires_at)
            }
        }
    }

    /// Moves a pending exchange past its `expiresAt` to `Expired`.
    pub(super) fn refresh(&mut self, now: OffsetDateTime) {
        if self.state == ExchangeState::Pending && now >= self.expires_at {
            self.state = ExchangeState::Expired;
            self.changed.send_modify(|v| *v += 1);
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InArtifact {
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    artifact_hash: Option<String>,
    #[serde(default)]
    ciphertext: Option<Value>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InAck {
    #[serde(default)]
    msg_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

fn wire_state(state: ExchangeState) -> airlock_types::ExchangeState {
    airlock_types::ExchangeState::from_wire(state.as_str())
}

impl Gateway {
    pub(super) fn submit_artifact(&self, caller: &Caller, req: &Req) -> HandlerResult {
        let env: InEnvelope<InArtifact> = req.json().map_err(ApiError::bad_request)?;
        let request_id = env
            .request_id
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ApiError::bad_request("requestId is required"))?;
        let bad = |m: &str| ApiError::bad_request(m.to_owned()).with_request_id(&request_id);
        let body = env.body.ok_or_else(|| bad("body is required"))?;
        let hash = body
            .artifact_hash
            .ok_or_else(|| bad("body.artifactHash is required"))?;
        let hash = hash
            .strip_prefix("sha256:")
            .unwrap_or(&hash)
            .to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("body.artifactHash must be 64 hex digits"));
        }
        let ciphertext = body
            .ciphertext
            .ok_or_else(|| bad("body.ciphertext is required"))?;
        let ciphertext: EncryptedPayload = serde_json::from_value(ciphertext)
            .map_err(|e| bad(&format!("body.ciphertext is not an encrypted payload: {e}")))?;
        let now = self.clock.now();
        let expires_at = match body.expires_at.or(env.expires_at) {
            Some(s) => {
                clock::parse(&s).ok_or_else(|| bad("expiresAt is not an RFC 3339 timestamp"))?
            }
            None => clock::plus(now, Duration::from_secs(600)),
        };
        let metadata = body.metadata.unwrap_or_default();
        let enforcer_id = env
            .sender
            .as_ref()
            .and_then(|s| s.get("enforcerId"))
            .and_then(Value::as_str)
            .map(str::to_owned);

        let mut state = self.lock();
        if let Some(existing) = state.exchanges.get(&request_id) {
            if existing.owner != (caller.app_id.clone(), caller.user_id.clone()) {
                return Err(ApiError::conflict("conflict", "requestId already used")
                    .with_request_id(&request_id));
            }
            if existing.artifact_hash != hash {
                return Err(ApiError::conflict(
                    "conflict",
                    "requestId already submitted with a different artifactHash",
                )
                .with_request_id(&request_id)
                .with_details(json!({ "artifactHash": existing.artifact_hash })));
            }
            let out = accepted(existing);
            return Ok(web::json(StatusCode::ACCEPTED, &out));
        }
        if expires_at <= now {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "expired",
                "artifact already expired",
            )
            .with_request_id(&request_id)
            .with_details(json!({ "expiresAt": clock::format(expires_at) })));
        }
        let token = metadata
            .get("routingToken")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (routing_token, approver_id) =
            route_for(&state, caller, token.as_deref(), enforcer_id.as_deref())
                .map_err(|e| e.with_request_id(&request_id))?;
        // Over a pairing the relay substituted, the relay reads the command and approves it
        // with its own key: the approver never hears of it.
        let substituted = state
            .routes
            .get(&routing_token)
            .and_then(|r| state.pairings.get(&r.nonce))
            .is_some_and(|p| p.substituted.is_some());
        let decision = substituted.then(|| StoredDecision {
            msg_id: airlock_types::new_msg_id(),
            body: self.relay.approval(&hash),
            decided_at: now,
        });
        let exchange = Exchange {
            request_id: request_id.clone(),
            owner: (caller.app_id.clone(), caller.user_id.clone()),
            enforcer_id,
            approver_id,
            routing_token,
            artifact_type: body
                .artifact_type
                .unwrap_or_else(|| "command-approval".to_owned()),
            artifact_hash: hash,
            ciphertext,
            metadata,
            created_at: now,
            expires_at,
            state: if substituted {
                ExchangeState::Decided
            } else {
                ExchangeState::Pending
            },
            decision,
            withdrawn_at: None,
            delivered_at: None,
            deliveries: 0,
            changed: watch::Sender::new(0),
        };
        let out = accepted(&exchange);
        state.exchanges.insert(request_id, exchange);
        drop(state);
        self.poke_approvers();
        Ok(web::json(StatusCode::ACCEPTED, &out))
    }

    pub(super) fn exchange_status(&self, caller: &Caller, id: &str) -> HandlerResult {
        let mut state = self.lock();
        let ex = own_exchange(&mut state, caller, id, self.clock.now())?;
        let mut body = ExchangeStatusBody::new(id, wire_state(ex.state));
        body.artifact_hash = Some(ex.artifact_hash.clone());
        body.artifact_type = Some(ex.artifact_type.clone());
        body.created_at = Some(ts(ex.created_at));
        body.expires_at = Some(ts(ex.expires_at));
        // The decision itself is delivered by `/wait` only: a relay's copy here could be
        // anything (e.g. unsigned), and typed readers of the status must not choke on it.
        body.decided_at = ex.decision.as_ref().map(|d| ts(d.decided_at));
        Ok(web::json(
            StatusCode::OK,
            &envelope(msg_type::EXCHANGE_STATUS, id, body),
        ))
    }

    pub(super) async fn wait(&self, caller: &Caller, id: &str, timeout: Duration) -> HandlerResult {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Subscribe before looking, so a change between the look and the wait wakes us.
            let (mut rx, expires_in) = {
                let mut state = self.lock();
                let ex = own_exchange(&mut state, caller, id, self.clock.now())?;
                let rx = ex.changed.subscribe();
                match ex.state {
                    ExchangeState::Decided | ExchangeState::Delivered => {
                        ex.deliveries += 1;
                        let Some(d) = &ex.decision else {
                            return Err(ApiError::new(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                "internal",
                                "decision missing",
                            ));
                        };
                        let mut out = envelope(msg_type::DECISION_DELIVER, id, d.body.clone())
                            .with_msg_id(d.msg_id.clone());
                        if let Some(e) = &ex.enforcer_id {
                            out = out.with_recipient(Party::enforcer(e.clone()));
                        }
                        return Ok(web::json(StatusCode::OK, &out));
                    }
                    ExchangeState::Expired => {
                        return Err(ApiError::new(
                            StatusCode::GONE,
                            "expired",
                            "the exchange expired without a decision",
                        )
                        .with_request_id(id));
                    }
                    ExchangeState::Withdrawn => {
                        return Err(
                            ApiError::conflict("withdrawn", "the exchange was withdrawn")
                                .with_request_id(id),
                        );
                    }
                    ExchangeState::Pending => (rx, self.clock.until(ex.expires_at)),
                }
            };
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(web::empty(StatusCode::NO_CONTENT));
            }
            // Wake at the long-poll deadline, at the exchange's expiry, or on any change.
            let wake = deadline.min(now + expires_in + Duration::from_millis(5));
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        return Err(ApiError::not_found("exchange gone").with_request_id(id));
                    }
                }
                () = tokio::time::sleep_until(wake) => {
                    if wake == deadline {
                        // One last look, then 204.
                        let mut state = self.lock();
                        let ex = own_exchange(&mut state, caller, id, self.clock.now())?;
                        if ex.state == ExchangeState::Pending {
                            return Ok(web::empty(StatusCode::NO_CONTENT));
                        }
                    }
                }
            }
        }
    }

    pub(super) fn withdraw(&self, caller: &Caller, id: &str) -> HandlerResult {
        let mut state = self.lock();
        let ex = own_exchange(&mut state, caller, id, self.clock.now())?;
        if ex.state != ExchangeState::Pending {
            return Err(ApiError::conflict(
                "conflict",
                format!("cannot withdraw an exchange in state {}", ex.state.as_str()),
            )
            .with_request_id(id)
            .with_details(json!({ "state": ex.state.as_str() })));
        }
        let now = self.clock.now();
        ex.state = ExchangeState::Withdrawn;
        ex.withdrawn_at = Some(now);
        ex.changed.send_modify(|v| *v += 1);
        let mut body = ExchangeWithdrawnBody::new(id);
        body.withdrawn_at = Some(ts(now));
        Ok(web::json(
            StatusCode::OK,
            &envelope(msg_type::EXCHANGE_WITHDRAWN, id, body),
        ))
    }

    pub(super) fn ack(&self, caller: &Caller, req: &Req) -> HandlerResult {
        let env: InEnvelope<InAck> = req.json().map_err(ApiError::bad_request)?;
        let id = env
            .request_id
            .ok_or_else(|| ApiError::bad_request("requestId is required"))?;
        let body = env
            .body
            .ok_or_else(|| ApiError::bad_request("body is required").with_request_id(&id))?;
        let mut state = self.lock();
        let ex = own_exchange(&mut state, caller, &id, self.clock.now())?;
        let Some(decision) = &ex.decision else {
            return Err(
                ApiError::conflict("conflict", "nothing was delivered for this exchange")
                    .with_request_id(&id),
            );
        };
        if let Some(acked) = body.msg_id.as_ref().filter(|a| **a != decision.msg_id) {
            return Err(
                ApiError::not_found(format!("no delivery {acked} for this exchange"))
                    .with_request_id(&id),
            );
        }
        if ex.state == ExchangeState::Decided {
            ex.state = ExchangeState::Delivered;
            ex.delivered_at = Some(self.clock.now());
            ex.changed.send_modify(|v| *v += 1);
        }
        let out = json!({
            "requestId": id,
            "msgId": decision.msg_id,
            "ackMsgId": env.msg_id,
            "status": body.status.unwrap_or_else(|| "delivered".to_owned()),
            "state": ex.state.as_str(),
        });
        Ok(web::json(
            StatusCode::OK,
            &envelope("ack.accepted", &id, out),
        ))
    }
}

fn accepted(ex: &Exchange) -> Envelope<ArtifactAcceptedBody> {
    let mut body = ArtifactAcceptedBody::new(ex.request_id.clone());
    body.artifact_hash = Some(ex.artifact_hash.clone());
    body.state = Some(wire_state(ex.state));
    body.expires_at = Some(ts(ex.expires_at));
    envelope(msg_type::ARTIFACT_ACCEPTED, &ex.request_id, body)
}

fn own_exchange<'a>(
    state: &'a mut State,
    caller: &Caller,
    id: &str,
    now: OffsetDateTime,
) -> Result<&'a mut Exchange, ApiError> {
    let ex = state
        .exchanges
        .get_mut(id)
        .filter(|ex| ex.owner.0 == caller.app_id && ex.owner.1 == caller.user_id)
        .ok_or_else(|| ApiError::not_found("unknown requestId").with_request_id(id))?;
    ex.refresh(now);
    Ok(ex)
}
