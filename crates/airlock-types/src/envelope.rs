//! The message envelope that wraps gateway messages.

use serde::{Deserialize, Serialize};

use crate::ids::{new_ack_id, new_msg_id};
use crate::timestamp::Timestamp;

/// The `msgType` values of the gateway protocol.
pub mod msg_type {
    /// Enforcer → gateway: a new encrypted artifact (`POST /v1/artifacts`).
    pub const ARTIFACT_SUBMIT: &str = "artifact.submit";
    /// Gateway → enforcer: the artifact was stored.
    pub const ARTIFACT_ACCEPTED: &str = "artifact.accepted";
    /// Gateway → enforcer: the state of an exchange.
    pub const EXCHANGE_STATUS: &str = "exchange.status";
    /// Gateway → enforcer: the approver's signed decision.
    pub const DECISION_DELIVER: &str = "decision.deliver";
    /// Approver → gateway: a signed decision (`POST /v1/decisions`).
    pub const DECISION_SUBMIT: &str = "decision.submit";
    /// Gateway → approver: the decision was stored.
    pub const DECISION_ACCEPTED: &str = "decision.accepted";
    /// Enforcer → gateway: acknowledgement of a delivered decision (`POST /v1/acks`).
    pub const ACK_SUBMIT: &str = "ack.submit";
    /// Gateway → enforcer: the exchange was withdrawn.
    pub const EXCHANGE_WITHDRAWN: &str = "exchange.withdrawn";
    /// Gateway → anyone: an error envelope.
    pub const ERROR: &str = "error";
}

/// One side of a message: an enforcer, an approver or the gateway.
///
/// Usually exactly one id is set; build it with [`Party::enforcer`], [`Party::approver`]
/// or [`Party::gateway`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Party {
    /// The enforcer's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcer_id: Option<String>,
    /// The approver's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver_id: Option<String>,
    /// The gateway's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<String>,
}

impl Party {
    /// An enforcer, `{"enforcerId": id}`.
    #[must_use]
    pub fn enforcer(id: impl Into<String>) -> Self {
        Self {
            enforcer_id: Some(id.into()),
            ..Self::default()
        }
    }

    /// An approver, `{"approverId": id}`.
    #[must_use]
    pub fn approver(id: impl Into<String>) -> Self {
        Self {
            approver_id: Some(id.into()),
            ..Self::default()
        }
    }

    /// The gateway, `{"gatewayId": id}`.
    #[must_use]
    pub fn gateway(id: impl Into<String>) -> Self {
        Self {
            gateway_id: Some(id.into()),
            ..Self::default()
        }
    }
}

/// A gateway message: routing data around a typed `body`.
///
/// ```
/// use airlock_types::{msg_type, new_request_id, Envelope, Party};
///
/// let env = Envelope::new(msg_type::ARTIFACT_ACCEPTED, new_request_id(), serde_json::json!({}))
///     .with_sender(Party::gateway("gw-1"));
/// assert!(env.msg_id.starts_with("msg-"));
/// let json = serde_json::to_value(&env).unwrap();
/// assert_eq!(json["sender"]["gatewayId"], "gw-1");
/// assert!(json.get("expiresAt").is_none()); // unset optionals are omitted
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Envelope<B> {
    /// This message's id (`msg-<uuid>`, `ack-<uuid>` for acks).
    pub msg_id: String,
    /// What the body is; see [`msg_type`].
    pub msg_type: String,
    /// The exchange this message belongs to.
    pub request_id: String,
    /// When the message was created.
    pub created_at: Timestamp,
    /// When the message stops being meaningful.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Who sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Party>,
    /// Who it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Party>,
    /// The message body.
    pub body: B,
}

impl<B> Envelope<B> {
    /// A new envelope with a fresh `msg-<uuid>` id, created now, no expiry and no parties.
    #[must_use]
    pub fn new(msg_type: impl Into<String>, request_id: impl Into<String>, body: B) -> Self {
        Self {
            msg_id: new_msg_id(),
            msg_type: msg_type.into(),
            request_id: request_id.into(),
            created_at: Timestamp::now(),
            expires_at: None,
            sender: None,
            recipient: None,
            body,
        }
    }

    /// Sets the message id.
    #[must_use]
    pub fn with_msg_id(mut self, msg_id: impl Into<String>) -> Self {
        self.msg_id = msg_id.into();
        self
    }

    /// Sets the creation time.
    #[must_use]
    pub fn with_created_at(mut self, created_at: Timestamp) -> Self {
        self.created_at = created_at;
        self
    }

    /// Sets the expiry.
    #[must_use]
    pub fn with_expires_at(mut self, expires_at: Timestamp) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Sets the sender.
    #[must_use]
    pub fn with_sender(mut self, sender: Party) -> Self {
        self.sender = Some(sender);
        self
    }

    /// Sets the recipient.
    #[must_use]
    pub fn with_recipient(mut self, recipient: Party) -> Self {
        self.recipient = Some(recipient);
        self
    }

    /// Replaces the body, keeping the routing data.
    pub fn map_body<C>(self, f: impl FnOnce(B) -> C) -> Envelope<C> {
        Envelope {
            msg_id: self.msg_id,
            msg_type: self.msg_type,
            request_id: self.request_id,
            created_at: self.created_at,
            expires_at: self.expires_at,
            sender: self.sender,
            recipient: self.recipient,
            body: f(self.body),
        }
    }
}

impl Envelope<crate::exchange::ArtifactSubmitBody> {
    /// An `artifact.submit` envelope from `enforcer_id`; its expiry is the artifact's.
    #[must_use]
    pub fn artifact_submit(
        request_id: impl Into<String>,
        enforcer_id: impl Into<String>,
        body: crate::exchange::ArtifactSubmitBody,
    ) -> Self {
        let expires_at = body.expires_at;
        Self::new(msg_type::ARTIFACT_SUBMIT, request_id, body)
            .with_expires_at(expires_at)
            .with_sender(Party::enforcer(enforcer_id))
    }
}

impl Envelope<crate::exchange::AckBody> {
    /// An `ack.submit` envelope from `enforcer_id`, with a fresh `ack-<uuid>` message id.
    #[must_use]
    pub fn ack(
        request_id: impl Into<String>,
        enforcer_id: impl Into<String>,
        body: crate::exchange::AckBody,
    ) -> Self {
        Self::new(msg_type::ACK_SUBMIT, request_id, body)
            .with_msg_id(new_ack_id())
            .with_sender(Party::enforcer(enforcer_id))
    }
}

impl Envelope<crate::exchange::DecisionBody> {
    /// A `decision.submit` envelope from `approver_id` (the approver's side).
    #[must_use]
    pub fn decision_submit(
        request_id: impl Into<String>,
        approver_id: impl Into<String>,
        body: crate::exchange::DecisionBody,
    ) -> Self {
        Self::new(msg_type::DECISION_SUBMIT, request_id, body)
            .with_sender(Party::approver(approver_id))
    }
}
