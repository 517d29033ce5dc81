//! Who may call: app authentication (client secret or loopback `Origin`), the user's PAT or
//! access token, the approver's bearer token, the per-app rate limit, and app consent.

use std::time::Instant;

use airlock_types::{ConsentStatus, ConsentStatusResponse};
use http::StatusCode;
use serde_json::{Map, json};

use super::{Caller, Gateway};
use crate::config::{ConsentMode, ConsentState};
use crate::web::{self, ApiError, HandlerResult, Req, secret_eq};

impl Gateway {
    pub(super) fn authenticate(&self, req: &Req) -> Result<Caller, ApiError> {
        let client_id = req.header("x-client-id").ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "missing X-Client-Id",
            )
        })?;
        let app = self
            .settings
            .apps
            .iter()
            .find(|a| a.client_id == client_id)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "unknown client id",
                )
            })?;
        match &app.secret {
            Some(secret) => {
                let given = req.header("x-client-secret").unwrap_or("");
                if !secret_eq(given, secret) {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        "invalid client secret",
                    ));
                }
            }
            None => {
                if !req
                    .header("origin")
                    .is_some_and(airlock_http::is_loopback_url)
                {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        "public apps must send a loopback Origin",
                    ));
                }
            }
        }
        self.rate_limit(&app.client_id)?;
        let user_id = if let Some(pat) = req.header("x-pat") {
            self.settings
                .pats
                .iter()
                .find(|(p, _)| secret_eq(pat, p))
                .map(|(_, user)| user.clone())
                .ok_or_else(|| ApiError::unauthorized("invalid personal access token"))?
        } else if let Some(token) = bearer(req) {
            self.idp
                .validate_access_token(token)
                .ok_or_else(|| ApiError::unauthorized("invalid or expired access token"))?
        } else {
            return Err(ApiError::unauthorized(
                "missing user credentials (X-PAT or Authorization: Bearer)",
            ));
        };
        Ok(Caller {
            app_id: app.client_id.clone(),
            user_id,
        })
    }

    pub(super) fn approver_auth(&self, req: &Req) -> Result<(), ApiError> {
        match bearer(req) {
            Some(token) if secret_eq(token, &self.settings.approver_token) => Ok(()),
            _ => Err(ApiError::unauthorized(
                "approver endpoints need the approver's bearer token",
            )),
        }
    }

    fn rate_limit(&self, app_id: &str) -> Result<(), ApiError> {
        let Some(limit) = self.settings.rate_limit else {
            return Ok(());
        };
        let now = Instant::now();
        let mut state = self.lock();
        let window = state.rate.entry(app_id.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= limit.per)
        {
            window.pop_front();
        }
        if window.len() >= limit.requests as usize {
            let oldest = window.front().copied().unwrap_or(now);
            let wait = limit.per.saturating_sub(now.duration_since(oldest));
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "quota_exceeded",
                format!(
                    "rate limit of {} requests per {:?} exceeded",
                    limit.requests, limit.per
                ),
            )
            .with_details(json!({
                "limit": limit.requests,
                "windowSeconds": limit.per.as_secs(),
                "retryAfterSeconds": secs.max(1),
            }))
            .with_retry_after(secs.max(1)));
        }
        window.push_back(now);
        Ok(())
    }

    // -- consent --------------------------------------------------------------------------

    /// The consent of an (app, user) pair nobody set yet.
    fn initial_consent(&self) -> ConsentState {
        match self.settings.consent {
            ConsentMode::Allowed => ConsentState::Allowed,
            ConsentMode::Required => ConsentState::Required,
            ConsentMode::Denied => ConsentState::Denied,
        }
    }

    fn consent_of(&self, caller: &Caller) -> ConsentState {
        let initial = self.initial_consent();
        *self
            .lock()
            .consent
            .entry((caller.app_id.clone(), caller.user_id.clone()))
            .or_insert(initial)
    }

    fn consent_error(&self, caller: &Caller, state: ConsentState) -> ApiError {
        let (code, message) = match state {
            ConsentState::Required => (
                "app_consent_required",
                "this app needs your consent: open the consent URL",
            ),
            ConsentState::Pending => ("app_consent_pending", "consent for this app is pending"),
            _ => ("app_consent_denied", "consent for this app was denied"),
        };
        let app_name = self
            .settings
            .apps
            .iter()
            .find(|a| a.client_id == caller.app_id)
            .map_or_else(|| caller.app_id.clone(), |a| a.name.clone());
        let mut flat = Map::new();
        flat.insert("consentUrl".into(), self.consent_url(&caller.app_id).into());
        flat.insert("appName".into(), app_name.into());
        flat.insert("appId".into(), caller.app_id.clone().into());
        ApiError::new(StatusCode::FORBIDDEN, code, message).with_flat_fields(flat)
    }

    pub(crate) fn consent_url(&self, app_id: &str) -> String {
        let q = serde_urlencoded::to_string([("appId", app_id)]).unwrap_or_default();
        format!("{}/consent?{q}", self.settings.base_url)
    }

    pub(super) fn check_consent(&self, caller: &Caller) -> Result<(), ApiError> {
        match self.consent_of(caller) {
            ConsentState::Allowed => Ok(()),
            other => Err(self.consent_error(caller, other)),
        }
    }

    pub(super) fn consent_status(&self, caller: &Caller) -> HandlerResult {
        self.check_consent(caller)?;
        let mut out = ConsentStatusResponse::new(ConsentStatus::Allowed);
        out.app_id = Some(caller.app_id.clone());
        Ok(web::json(StatusCode::OK, &out))
    }

    /// The user opened the consent URL: `Required` becomes `Pending`.
    pub(crate) fn open_consent_page(&self, app_id: &str) -> Option<&'static str> {
        let mut state = self.lock();
        let mut touched = None;
        for ((app, _), consent) in state.consent.iter_mut() {
            if app == app_id {
                if *consent == ConsentState::Required {
                    *consent = ConsentState::Pending;
                }
                touched = Some(match consent {
                    ConsentState::Required | ConsentState::Pending => "pending",
                    ConsentState::Allowed => "allowed",
                    ConsentState::Denied => "denied",
                });
            }
        }
        touched
    }

    /// Each app's id, name and consent state for the sandbox user (the approver page).
    pub(crate) fn consent_states(&self) -> Vec<(String, String, ConsentState)> {
        let initial = self.initial_consent();
        let user = self.settings.pats.first().map(|(_, u)| u.clone());
        let state = self.lock();
        self.settings
            .apps
            .iter()
            .map(|app| {
                let consent = user
                    .as_ref()
                    .and_then(|u| state.consent.get(&(app.client_id.clone(), u.clone())))
                    .copied()
                    .unwrap_or(initial);
                (app.client_id.clone(), app.name.clone(), consent)
            })
            .collect()
    }

    /// Sets consent for every user of `app_id` (or every app when `None`), including users
    /// that have not asked yet.
    pub(crate) fn set_consent(&self, app_id: Option<&str>, value: ConsentState) {
        let mut state = self.lock();
        let users: Vec<String> = self.settings.pats.iter().map(|(_, u)| u.clone()).collect();
        for app in &self.settings.apps {
            if app_id.is_none_or(|a| a == app.client_id) {
                for user in &users {
                    state
                        .consent
                        .insert((app.client_id.clone(), user.clone()), value);
                }
            }
        }
    }
}

fn bearer(req: &Req) -> Option<&str> {
    let v = req.header("authorization")?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
