//! The approver's inbox and the decisions it submits.

use std::collections::BTreeMap;

use airlock_types::{
    ArtifactSubmitBody, DecisionAcceptedBody, Envelope, InboxItem, Timestamp, msg_type,
};
use http::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::exchanges::{Exchange, ExchangeState, StoredDecision};
use super::{Gateway, InEnvelope, envelope, ts};
use crate::web::ApiError;

impl Gateway {
    /// `GET /v1/approvers/{id}/inbox`: pending artifacts routed to the approver.
    pub(crate) fn inbox(&self, approver_id: &str) -> Vec<InboxItem> {
        let now = self.clock.now();
        let mut state = self.lock();
        let mut items: Vec<(OffsetDateTime, InboxItem)> = state
            .exchanges
            .values_mut()
            .filter_map(|ex| {
                ex.refresh(now);
                (ex.approver_id == approver_id && ex.state == ExchangeState::Pending)
                    .then(|| (ex.created_at, inbox_item(ex)))
            })
            .collect();
        items.sort_by_key(|(t, _)| *t);
        items.into_iter().map(|(_, i)| i).collect()
    }

    /// `POST /v1/decisions` (envelope `decision.submit`). The relay stores the body as given
    /// and delivers it; verification is the enforcer's duty.
    pub(crate) fn submit_decision(
        &self,
        env: Value,
    ) -> Result<Envelope<DecisionAcceptedBody>, ApiError> {
        let env: InEnvelope<Value> =
            serde_json::from_value(env).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let id = env
            .request_id
            .ok_or_else(|| ApiError::bad_request("requestId is required"))?;
        let body = env
            .body
            .filter(Value::is_object)
            .ok_or_else(|| ApiError::bad_request("body is required"))?;
        let approver_id = env
            .sender
            .as_ref()
            .and_then(|s| s.get("approverId"))
            .and_then(Value::as_str);
        let now = self.clock.now();
        let mut state = self.lock();
        let ex = state
            .exchanges
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found("unknown requestId").with_request_id(&id))?;
        if approver_id.is_some_and(|a| a != ex.approver_id) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "not routed to this approver",
            )
            .with_request_id(&id));
        }
        ex.refresh(now);
        match ex.state {
            ExchangeState::Pending => {}
            ExchangeState::Expired => {
                return Err(
                    ApiError::new(StatusCode::GONE, "expired", "the exchange expired")
                        .with_request_id(&id),
                );
            }
            other => {
                return Err(ApiError::conflict(
                    "conflict",
                    format!("already {}", other.as_str().to_ascii_lowercase()),
                )
                .with_request_id(&id)
                .with_details(json!({ "state": other.as_str() })));
            }
        }
        let msg_id = airlock_types::new_msg_id();
        ex.decision = Some(StoredDecision {
            msg_id: msg_id.clone(),
            body,
            decided_at: now,
        });
        ex.state = ExchangeState::Decided;
        ex.changed.send_modify(|v| *v += 1);
        let artifact_hash = ex.artifact_hash.clone();
        let mut out = DecisionAcceptedBody::new(id.clone());
        out.artifact_hash = Some(artifact_hash);
        out.state = Some(airlock_types::ExchangeState::Decided);
        out.decided_at = Some(ts(now));
        Ok(envelope(msg_type::DECISION_ACCEPTED, &id, out))
    }
}

/// The approver's view of an exchange: ciphertext and cleartext metadata (with the routing
/// token the gateway routed it by).
fn inbox_item(ex: &Exchange) -> InboxItem {
    let ts = |t: OffsetDateTime| Timestamp::from_offset_date_time(t).unwrap_or(Timestamp::MAX);
    let mut metadata: BTreeMap<String, String> = ex
        .metadata
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    metadata.insert("routingToken".to_owned(), ex.routing_token.clone());
    let body = ArtifactSubmitBody::new(ex.artifact_hash.clone(), ex.ciphertext.clone())
        .with_artifact_type(ex.artifact_type.clone())
        .with_expires_at(ts(ex.expires_at));
    let mut item = InboxItem::new(ex.request_id.clone(), body);
    item.metadata = metadata;
    item.enforcer_id = ex.enforcer_id.clone();
    item.created_at = Some(ts(ex.created_at));
    item.state = Some(airlock_types::ExchangeState::Pending);
    item
}
