//! Pairings as a state file keeps them ([`crate::SandboxConfig::state_dir`]): the completed
//! and revoked ones, with their routes, so that a restarted sandbox still routes and refuses
//! what it did before.

use airlock_types::PairingState;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::Gateway;
use super::pairing::{Pairing, Route};
use crate::clock;

/// One pairing in the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SavedPairing {
    pub(crate) nonce: String,
    pub(crate) app_id: String,
    pub(crate) user_id: String,
    pub(crate) code: String,
    pub(crate) device_id: Option<String>,
    pub(crate) enforcer_id: Option<String>,
    pub(crate) enforcer_label: Option<String>,
    pub(crate) workspace_name: Option<String>,
    pub(crate) enforcer_x25519: Option<String>,
    pub(crate) expires_at: String,
    pub(crate) revoked: bool,
    pub(crate) approver_id: String,
    pub(crate) routing_token: String,
    pub(crate) response_json: String,
    pub(crate) substituted: Option<String>,
}

impl Gateway {
    /// A receiver that changes whenever a pairing is completed, substituted or revoked.
    pub(crate) fn pairing_changes(&self) -> watch::Receiver<u64> {
        self.pairings_changed.subscribe()
    }

    pub(super) fn pairings_changed(&self) {
        self.pairings_changed.send_modify(|v| *v += 1);
    }

    /// The completed and revoked pairings, for the state file.
    pub(crate) fn saved_pairings(&self) -> Vec<SavedPairing> {
        let state = self.lock();
        let mut saved: Vec<SavedPairing> = state
            .pairings
            .values()
            .filter_map(|p| {
                let token = p.routing_token.clone()?;
                let route = state.routes.get(&token)?;
                Some(SavedPairing {
                    nonce: p.nonce.clone(),
                    app_id: p.owner.0.clone(),
                    user_id: p.owner.1.clone(),
                    code: p.code.clone(),
                    device_id: p.device_id.clone(),
                    enforcer_id: p.enforcer_id.clone(),
                    enforcer_label: p.enforcer_label.clone(),
                    workspace_name: p.workspace_name.clone(),
                    enforcer_x25519: p.enforcer_x25519.clone(),
                    expires_at: clock::format(p.expires_at),
                    revoked: route.revoked,
                    approver_id: route.approver_id.clone(),
                    routing_token: token,
                    response_json: p.response_json.clone()?,
                    substituted: p.substituted.clone(),
                })
            })
            .collect();
        saved.sort_by(|a, b| a.nonce.cmp(&b.nonce));
        saved
    }

    /// Takes back pairings from the state file.
    ///
    /// # Errors
    ///
    /// A message naming the first pairing that does not read.
    pub(crate) fn restore_pairings(&self, saved: &[SavedPairing]) -> Result<(), String> {
        let mut state = self.lock();
        for s in saved {
            let expires_at = clock::parse(&s.expires_at)
                .ok_or_else(|| format!("pairing {}: expiresAt does not read", s.nonce))?;
            state.routes.insert(
                s.routing_token.clone(),
                Route {
                    nonce: s.nonce.clone(),
                    approver_id: s.approver_id.clone(),
                    revoked: s.revoked,
                },
            );
            state.pairings.insert(
                s.nonce.clone(),
                Pairing {
                    nonce: s.nonce.clone(),
                    code: s.code.clone(),
                    owner: (s.app_id.clone(), s.user_id.clone()),
                    device_id: s.device_id.clone(),
                    enforcer_id: s.enforcer_id.clone(),
                    enforcer_label: s.enforcer_label.clone(),
                    workspace_name: s.workspace_name.clone(),
                    enforcer_x25519: s.enforcer_x25519.clone(),
                    expires_at,
                    state: if s.revoked {
                        PairingState::Revoked
                    } else {
                        PairingState::Completed
                    },
                    approver_id: Some(s.approver_id.clone()),
                    routing_token: Some(s.routing_token.clone()),
                    response_json: Some(s.response_json.clone()),
                    substituted: s.substituted.clone(),
                },
            );
        }
        Ok(())
    }
}
