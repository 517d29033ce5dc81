//! Do Not Disturb policies.

use serde::{Deserialize, Deserializer, Serialize};

use crate::macros::wire_enum;
use crate::serde_util::null_as_default;
use crate::timestamp::Timestamp;

wire_enum! {
    /// What a DND policy does.
    pub enum PolicyMode {
        /// Approve matching actions without asking.
        ApproveAll = "approve_all",
        /// Reject matching actions without asking.
        DenyAll = "deny_all",
    }
}

/// Which actions an action-scoped policy covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ActionSelector {
    /// The command family (e.g. `git`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_family: Option<String>,
    /// The leading argv tokens a command must start with (empty: not written; missing or
    /// `null`: read as empty).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub argv_prefix: Vec<String>,
}

impl ActionSelector {
    /// A selector matching commands whose argv starts with `argv_prefix`.
    #[must_use]
    pub fn argv_prefix<I, S>(argv_prefix: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            command_family: None,
            argv_prefix: argv_prefix.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether `argv_prefix` is non-empty and a prefix of `argv` (token by token, exact).
    #[must_use]
    pub fn matches_argv<S: AsRef<str>>(&self, argv: &[S]) -> bool {
        !self.argv_prefix.is_empty()
            && self.argv_prefix.len() <= argv.len()
            && self
                .argv_prefix
                .iter()
                .zip(argv)
                .all(|(want, have)| want == have.as_ref())
    }
}

/// A Do Not Disturb policy.
///
/// Readers are lenient so that one incomplete policy does not spoil a whole list: the id
/// fields read a missing or `null` value as empty and `expiresAt` is optional. Check
/// [`is_active`](Self::is_active) before applying a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DndPolicy {
    /// The policy's id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub request_id: String,
    /// [`DndPolicy::ACTION_OBJECT_TYPE`] for action-scoped policies; anything else is
    /// workspace-scoped.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object_type: String,
    /// The workspace the policy covers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub workspace_id: String,
    /// The session the policy is limited to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The enforcer the policy covers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub enforcer_id: String,
    /// Approve or deny (a missing or `null` mode reads as `Unknown("")`, incomplete).
    #[serde(default = "unknown_mode", deserialize_with = "mode_or_unknown")]
    pub policy_mode: PolicyMode,
    /// The artifact type the policy is limited to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_artifact_type: Option<String>,
    /// Which actions (action-scoped policies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_selector: Option<ActionSelector>,
    /// A hash of the selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector_hash: Option<String>,
    /// When the policy was created (newest wins among equals); an unreadable value reads
    /// as `None`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_timestamp"
    )]
    pub created_at: Option<Timestamp>,
    /// When the policy ends; a policy without one (or with an unreadable one, read as
    /// `None`) is incomplete.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_timestamp"
    )]
    pub expires_at: Option<Timestamp>,
}

fn unknown_mode() -> PolicyMode {
    PolicyMode::Unknown(String::new())
}

fn mode_or_unknown<'de, D: Deserializer<'de>>(d: D) -> Result<PolicyMode, D::Error> {
    Ok(Option::<PolicyMode>::deserialize(d)?.unwrap_or_else(unknown_mode))
}

/// Reads a timestamp; `null`, a non-string or an unreadable string reads as `None`.
fn lenient_timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(text) => Timestamp::parse(&text).ok(),
        _ => None,
    })
}

impl DndPolicy {
    /// The `objectType` of action-scoped policies.
    pub const ACTION_OBJECT_TYPE: &'static str = "airlock.dnd.action";
    /// The `objectType` this crate writes for workspace-scoped policies.
    pub const WORKSPACE_OBJECT_TYPE: &'static str = "airlock.dnd.workspace";

    /// A workspace-scoped policy.
    #[must_use]
    pub fn workspace(
        request_id: impl Into<String>,
        enforcer_id: impl Into<String>,
        workspace_id: impl Into<String>,
        policy_mode: PolicyMode,
        expires_at: Timestamp,
    ) -> Self {
        Self {
            request_id: request_id.into(),
            object_type: Self::WORKSPACE_OBJECT_TYPE.to_owned(),
            workspace_id: workspace_id.into(),
            session_id: None,
            enforcer_id: enforcer_id.into(),
            policy_mode,
            target_artifact_type: None,
            action_selector: None,
            selector_hash: None,
            created_at: None,
            expires_at: Some(expires_at),
        }
    }

    /// An action-scoped policy for the actions `selector` matches.
    #[must_use]
    pub fn action(
        request_id: impl Into<String>,
        enforcer_id: impl Into<String>,
        workspace_id: impl Into<String>,
        policy_mode: PolicyMode,
        selector: ActionSelector,
        expires_at: Timestamp,
    ) -> Self {
        let mut policy = Self::workspace(
            request_id,
            enforcer_id,
            workspace_id,
            policy_mode,
            expires_at,
        );
        policy.object_type = Self::ACTION_OBJECT_TYPE.to_owned();
        policy.action_selector = Some(selector);
        policy
    }

    /// Whether the policy is action-scoped (`objectType` is `airlock.dnd.action`).
    #[must_use]
    pub fn is_action_scoped(&self) -> bool {
        self.object_type == Self::ACTION_OBJECT_TYPE
    }

    /// Whether the policy has what it needs to apply: ids, a known mode, an expiry, and —
    /// when action-scoped — a selector with a non-empty argv prefix.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        let scoped_ok = !self.is_action_scoped()
            || self
                .action_selector
                .as_ref()
                .is_some_and(|s| !s.argv_prefix.is_empty());
        !self.workspace_id.is_empty()
            && !self.enforcer_id.is_empty()
            && !self.policy_mode.is_unknown()
            && self.expires_at.is_some()
            && scoped_ok
    }

    /// Whether the policy is complete and not expired at `now`.
    #[must_use]
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.is_complete() && self.expires_at.is_some_and(|expires| now < expires)
    }
}

/// `GET /v1/policy/dnd/effective`: the policies in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DndPoliciesResponse {
    /// The message type.
    #[serde(default, deserialize_with = "null_as_default")]
    pub msg_type: String,
    /// The request id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub request_id: String,
    /// The policies (a missing or `null` list reads as empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub body: Vec<DndPolicy>,
}

impl DndPoliciesResponse {
    /// The `msgType` this crate writes.
    pub const MSG_TYPE: &'static str = "dnd.policies";

    /// A response carrying `policies`.
    #[must_use]
    pub fn new(request_id: impl Into<String>, policies: Vec<DndPolicy>) -> Self {
        Self {
            msg_type: Self::MSG_TYPE.to_owned(),
            request_id: request_id.into(),
            body: policies,
        }
    }
}

/// The query of `GET /v1/policy/dnd/effective` — serialize it as a query string (e.g. with
/// `serde_urlencoded`, which percent-encodes the values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DndQuery {
    /// The enforcer's id.
    pub enforcer_id: String,
    /// The workspace's id.
    pub workspace_id: String,
    /// The session's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

impl DndQuery {
    /// A query without a session.
    #[must_use]
    pub fn new(enforcer_id: impl Into<String>, workspace_id: impl Into<String>) -> Self {
        Self {
            enforcer_id: enforcer_id.into(),
            workspace_id: workspace_id.into(),
            session_id: None,
        }
    }

    /// Sets the session.
    #[must_use]
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }
}
