//! Pairing: sessions started by enforcers (initiate, claim, status, revoke), their approver
//! side (resolve, complete, pre-generate), and the routes artifacts follow once paired.

use std::time::Duration;

use airlock_types::{
    PairingClaimResponse, PairingCompleteResponse, PairingInitiateResponse,
    PairingPreGenerateResponse, PairingResolveResponse, PairingRevokeResponse, PairingState,
    PairingStatusResponse,
};
use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::{Caller, Gateway, State, ts};
use crate::clock;
use crate::config::TamperMode;
use crate::web::{self, ApiError, HandlerResult, Req, random_token};

#[derive(Debug)]
pub(super) struct Pairing {
    pub(super) nonce: String,
    pub(super) code: String,
    pub(super) owner: (String, String),
    pub(super) device_id: Option<String>,
    pub(super) enforcer_id: Option<String>,
    pub(super) enforcer_label: Option<String>,
    pub(super) workspace_name: Option<String>,
    pub(super) enforcer_x25519: Option<String>,
    pub(super) expires_at: OffsetDateTime,
    pub(super) state: PairingState,
    /// For a claimed pre-generated code: the approver that generated it.
    pub(super) approver_id: Option<String>,
    pub(super) routing_token: Option<String>,
    pub(super) response_json: Option<String>,
    /// The relay's own pairing response, once a substituting relay handed it out in place of
    /// `response_json` ([`TamperMode::SubstitutePairing`]).
    pub(super) substituted: Option<String>,
}

impl Pairing {
    pub(super) fn refresh(&mut self, now: OffsetDateTime) {
        if self.state == PairingState::Pending && now >= self.expires_at {
            self.state = PairingState::Expired;
        }
    }
}

/// A code the approver pre-generated, waiting to be claimed.
#[derive(Debug)]
pub(super) struct PreCode {
    pub(super) approver_id: String,
    pub(super) expires_at: OffsetDateTime,
}

#[derive(Debug)]
pub(super) struct Route {
    pub(super) nonce: String,
    pub(super) approver_id: String,
    pub(super) revoked: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InPairing {
    #[serde(default)]
    pairing_code: Option<String>,
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    enforcer_id: Option<String>,
    #[serde(default)]
    enforcer_label: Option<String>,
    #[serde(default)]
    workspace_name: Option<String>,
    #[serde(default)]
    gateway_url: Option<String>,
    #[serde(default, alias = "x25519PublicKey")]
    x25519_public_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InRevoke {
    #[serde(default)]
    routing_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InComplete {
    #[serde(default, alias = "nonce")]
    pub(crate) pairing_nonce: Option<String>,
    #[serde(default)]
    pub(crate) approver_id: Option<String>,
    #[serde(default)]
    pub(crate) public_key: Option<String>,
    #[serde(default)]
    pub(crate) signer_key_id: Option<String>,
    #[serde(default)]
    pub(crate) response_json: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InPreGenerate {
    #[serde(default)]
    pub(crate) approver_id: Option<String>,
    #[serde(default)]
    pub(crate) ttl_seconds: Option<u64>,
}

impl Gateway {
    pub(super) fn initiate_pairing(&self, caller: &Caller, req: &Req) -> HandlerResult {
        let body: InPairing = req.json().map_err(ApiError::bad_request)?;
        let now = self.clock.now();
        let expires_at = clock::plus(now, self.settings.pairing_code_ttl);
        let mut state = self.lock();
        let code = fresh_code(&state);
        let nonce = random_token("pn_");
        let mut out = PairingInitiateResponse::new(nonce.clone(), code.clone(), ts(expires_at));
        out.device_id = body.device_id.clone();
        out.gateway_url = Some(
            body.gateway_url
                .clone()
                .unwrap_or_else(|| self.settings.base_url.clone()),
        );
        state.codes.insert(code.clone(), nonce.clone());
        state.pairings.insert(
            nonce.clone(),
            new_pairing(caller, body, nonce, code, expires_at, None),
        );
        drop(state);
        self.poke_approvers();
        Ok(web::json(StatusCode::OK, &out))
    }

    pub(super) fn claim_pairing(&self, caller: &Caller, req: &Req) -> HandlerResult {
        let body: InPairing = req.json().map_err(ApiError::bad_request)?;
        let code = body
            .pairing_code
            .as_deref()
            .map(normalize_code)
            .ok_or_else(|| ApiError::bad_request("pairingCode is required"))?;
        let now = self.clock.now();
        let mut state = self.lock();
        let pre = state
            .pre_codes
            .remove(&code)
            .ok_or_else(|| ApiError::not_found("unknown or already used pairing code"))?;
        if now >= pre.expires_at {
            return Err(ApiError::new(
                StatusCode::GONE,
                "expired",
                "the pairing code expired",
            ));
        }
        let nonce = random_token("pn_");
        let expires_at = clock::plus(now, self.settings.pairing_code_ttl);
        state.codes.insert(code.clone(), nonce.clone());
        let pairing = new_pairing(
            caller,
            body,
            nonce.clone(),
            code,
            expires_at,
            Some(pre.approver_id),
        );
        state.pairings.insert(nonce.clone(), pairing);
        drop(state);
        self.poke_approvers();
        Ok(web::json(
            StatusCode::OK,
            &PairingClaimResponse::new(nonce, ts(expires_at)),
        ))
    }

    pub(super) fn pairing_status(&self, caller: &Caller, nonce: &str) -> HandlerResult {
        let mut state = self.lock();
        let tamper = state.tamper;
        let p = state
            .pairings
            .get_mut(nonce)
            .filter(|p| p.owner == (caller.app_id.clone(), caller.user_id.clone()))
            .ok_or_else(|| ApiError::not_found("unknown pairing nonce"))?;
        let now = self.clock.now();
        p.refresh(now);
        // A substituting relay hands the enforcer its own keys instead of the approver's,
        // the same answer every time.
        if p.state == PairingState::Completed
            && p.substituted.is_none()
            && tamper == TamperMode::SubstitutePairing
        {
            p.substituted = Some(self.relay.pairing_response(&p.nonce, ts(now)));
            self.pairings_changed();
        }
        let mut out = PairingStatusResponse::new(p.nonce.clone(), p.state.clone());
        out.expires_at = Some(ts(p.expires_at));
        out.routing_token = p.routing_token.clone();
        out.response_json = p.substituted.clone().or_else(|| p.response_json.clone());
        Ok(web::json(StatusCode::OK, &out))
    }

    pub(super) fn revoke_pairing(&self, caller: &Caller, req: &Req) -> HandlerResult {
        let body: InRevoke = req.json().map_err(ApiError::bad_request)?;
        let token = body
            .routing_token
            .ok_or_else(|| ApiError::bad_request("routingToken is required"))?;
        let mut state = self.lock();
        let route = state
            .routes
            .get_mut(&token)
            .ok_or_else(|| ApiError::not_found("unknown routing token"))?;
        let nonce = route.nonce.clone();
        let owner_ok = state
            .pairings
            .get(&nonce)
            .is_some_and(|p| p.owner == (caller.app_id.clone(), caller.user_id.clone()));
        if !owner_ok {
            return Err(ApiError::not_found("unknown routing token"));
        }
        if let Some(r) = state.routes.get_mut(&token) {
            r.revoked = true;
        }
        let p = state.pairings.get_mut(&nonce);
        let enforcer_id = p.as_ref().and_then(|p| p.enforcer_id.clone());
        if let Some(p) = p {
            p.state = PairingState::Revoked;
        }
        drop(state);
        self.pairings_changed();
        Ok(web::json(
            StatusCode::OK,
            &PairingRevokeResponse::revoked(enforcer_id),
        ))
    }

    // -- approver side --------------------------------------------------------------------

    /// `GET /v1/pairing/resolve/{code}`.
    pub(crate) fn resolve_pairing(&self, code: &str) -> Result<PairingResolveResponse, ApiError> {
        let code = normalize_code(code);
        let now = self.clock.now();
        let mut state = self.lock();
        let nonce = state
            .codes
            .get(&code)
            .cloned()
            .ok_or_else(|| ApiError::not_found("unknown pairing code"))?;
        let p = state
            .pairings
            .get_mut(&nonce)
            .ok_or_else(|| ApiError::not_found("unknown pairing code"))?;
        p.refresh(now);
        if p.state == PairingState::Expired {
            return Err(ApiError::new(
                StatusCode::GONE,
                "expired",
                "the pairing code expired",
            ));
        }
        if p.state != PairingState::Pending {
            return Err(ApiError::conflict(
                "conflict",
                "the pairing code was already used",
            ));
        }
        let mut out = PairingResolveResponse::new(
            p.nonce.clone(),
            p.enforcer_id.clone().unwrap_or_default(),
            ts(p.expires_at),
        );
        out.device_id = p.device_id.clone();
        out.enforcer_label = p.enforcer_label.clone();
        out.workspace_name = p.workspace_name.clone();
        out.x25519_public_key = p.enforcer_x25519.clone();
        out.state = Some(PairingState::Pending);
        Ok(out)
    }

    /// `POST /v1/pairing/complete`.
    pub(crate) fn complete_pairing(
        &self,
        body: InComplete,
    ) -> Result<PairingCompleteResponse, ApiError> {
        let nonce = body
            .pairing_nonce
            .ok_or_else(|| ApiError::bad_request("pairingNonce is required"))?;
        let approver_id = body
            .approver_id
            .ok_or_else(|| ApiError::bad_request("approverId is required"))?;
        let response_json = body
            .response_json
            .ok_or_else(|| ApiError::bad_request("responseJson is required"))?;
        let parsed: Value = serde_json::from_str(&response_json)
            .map_err(|_| ApiError::bad_request("responseJson is not JSON"))?;
        if parsed.get("pairingNonce").and_then(Value::as_str) != Some(nonce.as_str()) {
            return Err(ApiError::bad_request(
                "responseJson is for another pairing nonce",
            ));
        }
        // The cleartext copies, when sent, must agree with the signed document.
        for (given, field) in [
            (&body.public_key, "publicKey"),
            (&body.signer_key_id, "signerKeyId"),
        ] {
            if given
                .as_ref()
                .is_some_and(|g| parsed.get(field).and_then(Value::as_str) != Some(g.as_str()))
            {
                return Err(ApiError::bad_request(format!(
                    "{field} differs from responseJson"
                )));
            }
        }
        let now = self.clock.now();
        let mut state = self.lock();
        let p = state
            .pairings
            .get_mut(&nonce)
            .ok_or_else(|| ApiError::not_found("unknown pairing nonce"))?;
        p.refresh(now);
        match p.state {
            PairingState::Pending => {}
            PairingState::Expired => {
                return Err(ApiError::new(
                    StatusCode::GONE,
                    "expired",
                    "the pairing expired",
                ));
            }
            _ => {
                return Err(ApiError::conflict(
                    "conflict",
                    "the pairing is no longer pending",
                ));
            }
        }
        if p.approver_id.as_ref().is_some_and(|a| *a != approver_id) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the code belongs to another approver",
            ));
        }
        let token = random_token("rt_");
        p.state = PairingState::Completed;
        p.routing_token = Some(token.clone());
        p.response_json = Some(response_json);
        p.approver_id = Some(approver_id.clone());
        let code = p.code.clone();
        state.codes.remove(&code);
        state.routes.insert(
            token.clone(),
            Route {
                nonce: nonce.clone(),
                approver_id,
                revoked: false,
            },
        );
        drop(state);
        self.pairings_changed();
        Ok(PairingCompleteResponse::completed(nonce, Some(token)))
    }

    /// `POST /v1/pairing/pre-generate`.
    pub(crate) fn pre_generate(
        &self,
        body: InPreGenerate,
    ) -> Result<PairingPreGenerateResponse, ApiError> {
        let approver_id = body
            .approver_id
            .ok_or_else(|| ApiError::bad_request("approverId is required"))?;
        let ttl = body
            .ttl_seconds
            .map_or(self.settings.pregenerated_code_ttl, Duration::from_secs);
        let expires_at = clock::plus(self.clock.now(), ttl);
        let mut state = self.lock();
        let code = fresh_code(&state);
        state.pre_codes.insert(
            code.clone(),
            PreCode {
                approver_id: approver_id.clone(),
                expires_at,
            },
        );
        let mut out = PairingPreGenerateResponse::new(code, ts(expires_at));
        out.approver_id = Some(approver_id);
        Ok(out)
    }

    /// Codes of the pairing sessions waiting for an approver: what a user would read off the
    /// enforcer's screen. Sessions claimed with a pre-generated code list only for its approver.
    pub(crate) fn pending_pairing_codes(&self, approver_id: &str) -> Vec<String> {
        self.pending_sessions(approver_id, |p| p.code.clone())
    }

    /// The pairing sessions waiting for an approver, soonest expiry first, without their
    /// codes (the approver page lists them; the user types the code the enforcer shows).
    pub(crate) fn pending_pairings(&self, approver_id: &str) -> Vec<PendingPairing> {
        let mut out = self.pending_sessions(approver_id, |p| PendingPairing {
            enforcer_id: p.enforcer_id.clone(),
            enforcer_label: p.enforcer_label.clone(),
            workspace_name: p.workspace_name.clone(),
            expires_at: p.expires_at,
        });
        out.sort_by_key(|p| p.expires_at);
        out
    }

    /// `view` of each pending session `approver_id` may complete.
    fn pending_sessions<T>(&self, approver_id: &str, view: impl Fn(&Pairing) -> T) -> Vec<T> {
        let now = self.clock.now();
        let mut state = self.lock();
        state
            .pairings
            .values_mut()
            .filter_map(|p| {
                p.refresh(now);
                let mine = p.approver_id.as_deref().is_none_or(|a| a == approver_id);
                (p.state == PairingState::Pending && mine).then(|| view(p))
            })
            .collect()
    }
}

/// A pairing session waiting for an approver, as [`Gateway::pending_pairings`] lists it.
#[derive(Debug, Clone)]
pub(crate) struct PendingPairing {
    pub(crate) enforcer_id: Option<String>,
    pub(crate) enforcer_label: Option<String>,
    pub(crate) workspace_name: Option<String>,
    pub(crate) expires_at: OffsetDateTime,
}

/// Finds where an artifact goes: by its routing token, else the newest pairing of the enforcer.
pub(super) fn route_for(
    state: &State,
    caller: &Caller,
    token: Option<&str>,
    enforcer_id: Option<&str>,
) -> Result<(String, String), ApiError> {
    let owner = (caller.app_id.clone(), caller.user_id.clone());
    let revoked = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "pairing_revoked",
            "the pairing was revoked",
        )
    };
    if let Some(token) = token {
        let route = state
            .routes
            .get(token)
            .filter(|r| {
                state
                    .pairings
                    .get(&r.nonce)
                    .is_some_and(|p| p.owner == owner)
            })
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "pairing_not_found",
                    "unknown routing token",
                )
            })?;
        if route.revoked {
            return Err(revoked());
        }
        return Ok((token.to_owned(), route.approver_id.clone()));
    }
    let mut candidates: Vec<(&String, &Route, &Pairing)> = state
        .routes
        .iter()
        .filter_map(|(t, r)| state.pairings.get(&r.nonce).map(|p| (t, r, p)))
        .filter(|(_, _, p)| {
            p.owner == owner && (enforcer_id.is_none() || p.enforcer_id.as_deref() == enforcer_id)
        })
        .collect();
    candidates.sort_by_key(|(_, _, p)| p.expires_at);
    match candidates.iter().rev().find(|(_, r, _)| !r.revoked) {
        Some((t, r, _)) => Ok(((*t).clone(), r.approver_id.clone())),
        None if !candidates.is_empty() => Err(revoked()),
        None => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_paired_approver",
            "no paired approver: pair first, or send metadata.routingToken",
        )),
    }
}

fn new_pairing(
    caller: &Caller,
    body: InPairing,
    nonce: String,
    code: String,
    expires_at: OffsetDateTime,
    approver_id: Option<String>,
) -> Pairing {
    Pairing {
        nonce,
        code,
        owner: (caller.app_id.clone(), caller.user_id.clone()),
        device_id: body.device_id,
        enforcer_id: body.enforcer_id,
        enforcer_label: body.enforcer_label,
        workspace_name: body.workspace_name,
        enforcer_x25519: body.x25519_public_key,
        expires_at,
        state: PairingState::Pending,
        approver_id,
        routing_token: None,
        response_json: None,
        substituted: None,
    }
}

/// A fresh `ABCD-1234` style code (no ambiguous letters), unused by any live code.
fn fresh_code(state: &State) -> String {
    use rand::Rng as _;
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::rngs::OsRng;
    loop {
        let letters: String = (0..4)
            .map(|_| LETTERS[rng.gen_range(0..LETTERS.len())] as char)
            .collect();
        let code = format!("{letters}-{:04}", rng.gen_range(0..10_000));
        if !state.codes.contains_key(&code) && !state.pre_codes.contains_key(&code) {
            return code;
        }
    }
}

/// Codes are compared upper-case, with or without the dash.
fn normalize_code(code: &str) -> String {
    let clean: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if clean.len() == 8 {
        format!("{}-{}", &clean[..4], &clean[4..])
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_normalize_case_and_dash() {
        assert_eq!(normalize_code("abcd1234"), "ABCD-1234");
        assert_eq!(normalize_code(" AbCd-1234 "), "ABCD-1234");
        assert_eq!(normalize_code("XYZ123"), "XYZ123");
    }

    #[test]
    fn fresh_codes_have_the_abcd_1234_shape() {
        let code = fresh_code(&State::default());
        let (letters, digits) = code.split_once('-').unwrap();
        assert!(letters.len() == 4 && letters.bytes().all(|b| b.is_ascii_uppercase()));
        assert!(digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()));
    }
}
