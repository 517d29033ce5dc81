//! Do-Not-Disturb policies, as the relay serves them.

use airlock_types::{DndPoliciesResponse, DndPolicy};
use http::StatusCode;

use super::{Gateway, Relay};
use crate::config::TamperMode;
use crate::web::{self, Req};

impl Gateway {
    pub(crate) fn add_dnd_policy(&self, policy: DndPolicy) {
        self.lock().dnd.push(policy);
    }

    pub(crate) fn clear_dnd_policies(&self) {
        self.lock().dnd.clear();
    }

    /// The DND policies not expired yet, in the order they were added (the approver page).
    pub(crate) fn dnd_policies(&self) -> Vec<DndPolicy> {
        let now = super::ts(self.clock.now());
        self.lock()
            .dnd
            .iter()
            .filter(|p| p.expires_at.is_none_or(|t| t > now))
            .cloned()
            .collect()
    }

    /// Removes the DND policy with id `request_id`; whether there was one.
    pub(crate) fn remove_dnd_policy(&self, request_id: &str) -> bool {
        let mut state = self.lock();
        let before = state.dnd.len();
        state.dnd.retain(|p| p.request_id != request_id);
        before != state.dnd.len()
    }

    pub(super) fn dnd_effective(&self, req: &Req) -> web::Resp {
        let now = super::ts(self.clock.now());
        // A query value, when given, must equal the policy's. A policy without a session
        // applies to every session of its workspace, so a `sessionId` query keeps it.
        let wanted =
            |key: &str, value: Option<&str>| req.query(key).is_none_or(|q| value == Some(q));
        let session_matches = |value: Option<&str>| {
            value.is_none_or(|s| req.query("sessionId").is_none_or(|q| q == s))
        };
        let state = self.lock();
        let mut policies: Vec<DndPolicy> = state
            .dnd
            .iter()
            .filter(|p| {
                p.expires_at.is_none_or(|t| t > now)
                    && wanted("enforcerId", Some(&p.enforcer_id))
                    && wanted("workspaceId", Some(&p.workspace_id))
                    && session_matches(p.session_id.as_deref())
            })
            .cloned()
            .collect();
        if state.tamper == TamperMode::ForgeDnd {
            policies.extend(Relay::forged_dnd_policies(req, now));
        }
        drop(state);
        let out = DndPoliciesResponse::new(airlock_types::new_request_id(), policies);
        web::json(StatusCode::OK, &out)
    }
}
