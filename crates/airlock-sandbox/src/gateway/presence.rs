//! Enforcer presence (heartbeats).

use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::{Caller, Gateway};
use crate::clock;
use crate::web::{self, ApiError, HandlerResult, Req};

#[derive(Debug, Clone)]
pub(super) struct Presence {
    pub(super) last_seen: OffsetDateTime,
    pub(super) workspace_name: Option<String>,
    pub(super) enforcer_label: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InHeartbeat {
    #[serde(default)]
    enforcer_id: Option<String>,
    #[serde(default)]
    workspace_name: Option<String>,
    #[serde(default)]
    enforcer_label: Option<String>,
}

impl Gateway {
    pub(super) fn heartbeat(&self, caller: &Caller, req: &Req) -> HandlerResult {
        let body: InHeartbeat = req.json().map_err(ApiError::bad_request)?;
        let enforcer_id = body
            .enforcer_id
            .ok_or_else(|| ApiError::bad_request("enforcerId is required"))?;
        let now = self.clock.now();
        let online_until = clock::plus(now, self.settings.presence_ttl);
        self.lock().presence.insert(
            (caller.user_id.clone(), enforcer_id.clone()),
            Presence {
                last_seen: now,
                workspace_name: body.workspace_name,
                enforcer_label: body.enforcer_label,
            },
        );
        Ok(web::json(
            StatusCode::OK,
            &json!({ "status": "online", "enforcerId": enforcer_id, "expiresAt": clock::format(online_until) }),
        ))
    }

    /// Presence of an enforcer: `Some((last_seen, label, workspace))` while within the TTL.
    pub(crate) fn presence(&self, enforcer_id: &str) -> Option<crate::PresenceInfo> {
        let now = self.clock.now();
        let state = self.lock();
        state
            .presence
            .iter()
            .filter(|((_, e), p)| {
                e == enforcer_id && clock::plus(p.last_seen, self.settings.presence_ttl) > now
            })
            .map(|(_, p)| crate::PresenceInfo {
                last_seen: p.last_seen,
                workspace_name: p.workspace_name.clone(),
                enforcer_label: p.enforcer_label.clone(),
            })
            .max_by_key(|p| p.last_seen)
    }
}
