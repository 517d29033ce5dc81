//! The gateway: an untrusted relay. It authenticates apps and users, keeps exchanges, pairing
//! sessions, presence, consent and DND policies, and moves ciphertext and signed decisions
//! between enforcers and approvers. It never sees plaintext nor any approver private key.

use std::collections::{BTreeMap, HashMap, VecDeque};

use airlock_types::{
    ArtifactAcceptedBody, ArtifactSubmitBody, AuthInfo, ConsentStatus, ConsentStatusResponse,
    DecisionAcceptedBody, DndPoliciesResponse, DndPolicy, EchoResponse, EncryptedPayload, Envelope,
    ExchangeStatusBody, ExchangeWithdrawnBody, IdpInfo, InboxItem, IntegrationsDiscovery,
    PairingClaimResponse, PairingCompleteResponse, PairingInitiateResponse,
    PairingPreGenerateResponse, PairingResolveResponse, PairingRevokeResponse, PairingState,
    PairingStatusResponse, Party, Timestamp, msg_type,
};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::clock;
use crate::config::{ConsentMode, ConsentState, RateLimit};
use crate::idp::Idp;
use crate::web::{self, ApiError, HandlerResult, Req, Secret, random_token, secret_eq};

/// The gateway id used as `sender` of the gateway's own envelopes.
pub(crate) const GATEWAY_ID: &str = "airlock-sandbox-gateway";

/// A registered enforcer app.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) client_id: String,
    pub(crate) name: String,
    /// `Some` for confidential apps; public apps authenticate by a loopback `Origin`.
    pub(crate) secret: Option<Secret>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("confidential", &self.secret.is_some())
            .finish()
    }
}

/// Who is calling an enforcer endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) app_id: String,
    pub(crate) user_id: String,
}

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
struct Exchange {
    request_id: String,
    owner: (String, String),
    enforcer_id: Option<String>,
    approver_id: String,
    routing_token: String,
    artifact_type: String,
    artifact_hash: String,
    ciphertext: EncryptedPayload,
    metadata: Map<String, Value>,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    state: ExchangeState,
    decision: Option<StoredDecision>,
    withdrawn_at: Option<OffsetDateTime>,
    /// When the enforcer acknowledged the decision.
    delivered_at: Option<OffsetDateTime>,
    deliveries: u32,
    /// Bumped on every state change; long-polls wait on it.
    changed: watch::Sender<u64>,
}

#[derive(Debug, Clone)]
struct StoredDecision {
    msg_id: String,
    body: Value,
    decided_at: OffsetDateTime,
}

impl Exchange {
    /// When the exchange stopped needing the gateway: delivered (acked), withdrawn, or past
    /// its expiry (expired, or decided but never acknowledged). `None` while it is live.
    fn closed_at(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
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
    fn refresh(&mut self, now: OffsetDateTime) {
        if self.state == ExchangeState::Pending && now >= self.expires_at {
            self.state = ExchangeState::Expired;
            self.changed.send_modify(|v| *v += 1);
        }
    }
}

#[derive(Debug)]
struct Pairing {
    nonce: String,
    code: String,
    owner: (String, String),
    device_id: Option<String>,
    enforcer_id: Option<String>,
    enforcer_label: Option<String>,
    workspace_name: Option<String>,
    enforcer_x25519: Option<String>,
    expires_at: OffsetDateTime,
    state: PairingState,
    /// For a claimed pre-generated code: the approver that generated it.
    approver_id: Option<String>,
    routing_token: Option<String>,
    response_json: Option<String>,
}

impl Pairing {
    fn refresh(&mut self, now: OffsetDateTime) {
        if self.state == PairingState::Pending && now >= self.expires_at {
            self.state = PairingState::Expired;
        }
    }
}

/// A code the approver pre-generated, waiting to be claimed.
#[derive(Debug)]
struct PreCode {
    approver_id: String,
    expires_at: OffsetDateTime,
}

#[derive(Debug)]
struct Route {
    nonce: String,
    approver_id: String,
    revoked: bool,
}

#[derive(Debug, Clone)]
struct Presence {
    last_seen: OffsetDateTime,
    workspace_name: Option<String>,
    enforcer_label: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    exchanges: HashMap<String, Exchange>,
    pairings: HashMap<String, Pairing>,
    /// Pairing code → nonce, while the code is usable.
    codes: HashMap<String, String>,
    pre_codes: HashMap<String, PreCode>,
    routes: HashMap<String, Route>,
    presence: HashMap<(String, String), Presence>,
    consent: HashMap<(String, String), ConsentState>,
    dnd: Vec<DndPolicy>,
    rate: HashMap<String, VecDeque<Instant>>,
}

/// What one [`Gateway::prune`] removed.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct GatewayPruned {
    pub(crate) exchanges: usize,
    pub(crate) pairings: usize,
    pub(crate) codes: usize,
    pub(crate) presence: usize,
}

/// Settings the gateway reads.
#[derive(Debug, Clone)]
pub(crate) struct GatewaySettings {
    pub(crate) base_url: String,
    pub(crate) issuer_url: String,
    pub(crate) idp_client_id: String,
    pub(crate) apps: Vec<App>,
    pub(crate) pats: Vec<(Secret, String)>,
    pub(crate) approver_token: Secret,
    pub(crate) consent: ConsentMode,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) pairing_code_ttl: Duration,
    pub(crate) pregenerated_code_ttl: Duration,
    pub(crate) presence_ttl: Duration,
}

/// The gateway.
#[derive(Debug)]
pub(crate) struct Gateway {
    settings: GatewaySettings,
    idp: Arc<Idp>,
    state: Mutex<State>,
    /// Bumped whenever an approver may have something new to look at (an artifact in an
    /// inbox, a pairing session waiting for a code).
    approver_feed: watch::Sender<u64>,
}

// ---------------------------------------------------------------------------------------------
// Tolerant request models (unknown fields ignored, explicit nulls accepted).

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InEnvelope<B> {
    #[serde(default)]
    msg_id: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    sender: Option<Value>,
    #[serde(default = "none")]
    body: Option<B>,
}

fn none<T>() -> Option<T> {
    None
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
struct InHeartbeat {
    #[serde(default)]
    enforcer_id: Option<String>,
    #[serde(default)]
    workspace_name: Option<String>,
    #[serde(default)]
    enforcer_label: Option<String>,
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

// ---------------------------------------------------------------------------------------------
// Response models.

/// A gateway envelope (sender: the gateway).
fn envelope<B>(msg_type: &str, request_id: &str, body: B) -> Envelope<B> {
    Envelope::new(msg_type, request_id, body).with_sender(Party::gateway(GATEWAY_ID))
}

/// A wire timestamp (whole seconds, UTC).
fn ts(t: OffsetDateTime) -> Timestamp {
    Timestamp::from_offset_date_time(t.replace_nanosecond(0).unwrap_or(t)).unwrap_or(Timestamp::MAX)
}

fn wire_state(state: ExchangeState) -> airlock_types::ExchangeState {
    airlock_types::ExchangeState::from_wire(state.as_str())
}

// ---------------------------------------------------------------------------------------------

impl Gateway {
    pub(crate) fn new(settings: GatewaySettings, idp: Arc<Idp>) -> Self {
        Self {
            settings,
            idp,
            state: Mutex::new(State::default()),
            approver_feed: watch::Sender::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters for a test platform; keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A receiver that changes whenever approvers may have work.
    pub(crate) fn approver_feed(&self) -> watch::Receiver<u64> {
        self.approver_feed.subscribe()
    }

    pub(crate) fn poke_approvers(&self) {
        self.approver_feed.send_modify(|v| *v += 1);
    }

    /// Routes a request under `/echo` or `/v1`. Returns `None` for paths it does not serve.
    pub(crate) async fn handle(&self, req: &Req) -> Option<web::Resp> {
        let path = req.path();
        let result = match (&req.method, path.as_slice()) {
            (&Method::GET, ["echo"]) => Ok(echo()),
            (&Method::GET, ["v1", "integrations", "discovery"]) => Ok(self.discovery()),
            (_, ["v1", "pairing", "resolve", code]) if req.method == Method::GET => self
                .approver_auth(req)
                .and_then(|_| self.resolve_pairing(code))
                .map(|r| web::json(StatusCode::OK, &r)),
            (&Method::POST, ["v1", "pairing", "complete"]) => match self.approver_auth(req) {
                Ok(()) => req
                    .json::<InComplete>()
                    .map_err(ApiError::bad_request)
                    .and_then(|b| self.complete_pairing(b))
                    .map(ok_json),
                Err(e) => Err(e),
            },
            (&Method::POST, ["v1", "pairing", "pre-generate"]) => match self.approver_auth(req) {
                Ok(()) => req
                    .json::<InPreGenerate>()
                    .map_err(ApiError::bad_request)
                    .and_then(|b| self.pre_generate(b))
                    .map(ok_json),
                Err(e) => Err(e),
            },
            (&Method::POST, ["v1", "decisions"]) => match self.approver_auth(req) {
                Ok(()) => req
                    .json::<Value>()
                    .map_err(ApiError::bad_request)
                    .and_then(|b| self.submit_decision(b))
                    .map(ok_json),
                Err(e) => Err(e),
            },
            (&Method::GET, ["v1", "approvers", approver_id, "inbox"]) => {
                self.approver_auth(req).map(|()| {
                    web::json(
                        StatusCode::OK,
                        &json!({ "approverId": approver_id, "items": self.inbox(approver_id) }),
                    )
                })
            }
            (_, ["v1", ..]) => self.enforcer(req, &path).await,
            _ => return None,
        };
        Some(result.unwrap_or_else(ApiError::into_response))
    }

    async fn enforcer(&self, req: &Req, path: &[&str]) -> HandlerResult {
        let caller = self.authenticate(req)?;
        let m = &req.method;
        if let (&Method::GET, ["v1", "consent", "status"]) = (m, path) {
            return self.consent_status(&caller);
        }
        self.check_consent(&caller)?;
        match (m, path) {
            (&Method::POST, ["v1", "artifacts"]) => self.submit_artifact(&caller, req),
            (&Method::GET, ["v1", "exchanges", id]) => self.exchange_status(&caller, id),
            (&Method::GET, ["v1", "exchanges", id, "wait"]) => {
                let timeout = req
                    .query("timeout")
                    .and_then(|t| t.parse::<f64>().ok())
                    .filter(|t| t.is_finite())
                    .map_or(30, |t| t.ceil().clamp(1.0, 60.0) as u64);
                self.wait(&caller, id, Duration::from_secs(timeout)).await
            }
            (&Method::POST, ["v1", "exchanges", id, "withdraw"]) => self.withdraw(&caller, id),
            (&Method::POST, ["v1", "acks"]) => self.ack(&caller, req),
            (&Method::POST, ["v1", "pairing", "initiate"]) => self.initiate_pairing(&caller, req),
            (&Method::POST, ["v1", "pairing", "claim"]) => self.claim_pairing(&caller, req),
            (&Method::GET, ["v1", "pairing", nonce, "status"]) => {
                self.pairing_status(&caller, nonce)
            }
            (&Method::POST, ["v1", "pairing", "revoke"]) => self.revoke_pairing(&caller, req),
            (&Method::POST, ["v1", "presence", "heartbeat"]) => self.heartbeat(&caller, req),
            (&Method::GET, ["v1", "policy", "dnd", "effective"]) => Ok(self.dnd_effective(req)),
            _ => Err(ApiError::not_found(format!(
                "no such endpoint: {} /{}",
                m,
                path.join("/")
            ))),
        }
    }

    // -- authentication -------------------------------------------------------------------

    fn authenticate(&self, req: &Req) -> Result<Caller, ApiError> {
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
                if !req.header("origin").is_some_and(is_loopback_origin) {
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

    fn approver_auth(&self, req: &Req) -> Result<(), ApiError> {
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

    fn consent_of(&self, caller: &Caller) -> ConsentState {
        let initial = match self.settings.consent {
            ConsentMode::Allowed => ConsentState::Allowed,
            ConsentMode::Required => ConsentState::Required,
            ConsentMode::Denied => ConsentState::Denied,
        };
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

    fn check_consent(&self, caller: &Caller) -> Result<(), ApiError> {
        match self.consent_of(caller) {
            ConsentState::Allowed => Ok(()),
            other => Err(self.consent_error(caller, other)),
        }
    }

    fn consent_status(&self, caller: &Caller) -> HandlerResult {
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

    // -- discovery ------------------------------------------------------------------------

    fn discovery(&self) -> web::Resp {
        let idp = IdpInfo::new(&self.settings.issuer_url, &self.settings.idp_client_id);
        web::json(
            StatusCode::OK,
            &IntegrationsDiscovery::new(idp, AuthInfo::new(true)),
        )
    }

    // -- exchanges ------------------------------------------------------------------------

    fn submit_artifact(&self, caller: &Caller, req: &Req) -> HandlerResult {
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
        let now = clock::now();
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
            state: ExchangeState::Pending,
            decision: None,
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

    fn exchange_status(&self, caller: &Caller, id: &str) -> HandlerResult {
        let mut state = self.lock();
        let ex = own_exchange(&mut state, caller, id)?;
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

    async fn wait(&self, caller: &Caller, id: &str, timeout: Duration) -> HandlerResult {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Subscribe before looking, so a change between the look and the wait wakes us.
            let (mut rx, expires_in) = {
                let mut state = self.lock();
                let ex = own_exchange(&mut state, caller, id)?;
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
                    ExchangeState::Pending => (rx, clock::until(ex.expires_at)),
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
                        let ex = own_exchange(&mut state, caller, id)?;
                        if ex.state == ExchangeState::Pending {
                            return Ok(web::empty(StatusCode::NO_CONTENT));
                        }
                    }
                }
            }
        }
    }

    fn withdraw(&self, caller: &Caller, id: &str) -> HandlerResult {
        let mut state = self.lock();
        let ex = own_exchange(&mut state, caller, id)?;
        if ex.state != ExchangeState::Pending {
            return Err(ApiError::conflict(
                "conflict",
                format!("cannot withdraw an exchange in state {}", ex.state.as_str()),
            )
            .with_request_id(id)
            .with_details(json!({ "state": ex.state.as_str() })));
        }
        let now = clock::now();
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

    fn ack(&self, caller: &Caller, req: &Req) -> HandlerResult {
        let env: InEnvelope<InAck> = req.json().map_err(ApiError::bad_request)?;
        let id = env
            .request_id
            .ok_or_else(|| ApiError::bad_request("requestId is required"))?;
        let body = env
            .body
            .ok_or_else(|| ApiError::bad_request("body is required").with_request_id(&id))?;
        let mut state = self.lock();
        let ex = own_exchange(&mut state, caller, &id)?;
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
            ex.delivered_at = Some(clock::now());
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

    // -- pairing --------------------------------------------------------------------------

    fn initiate_pairing(&self, caller: &Caller, req: &Req) -> HandlerResult {
        let body: InPairing = req.json().map_err(ApiError::bad_request)?;
        let now = clock::now();
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

    fn claim_pairing(&self, caller: &Caller, req: &Req) -> HandlerResult {
        let body: InPairing = req.json().map_err(ApiError::bad_request)?;
        let code = body
            .pairing_code
            .as_deref()
            .map(normalize_code)
            .ok_or_else(|| ApiError::bad_request("pairingCode is required"))?;
        let now = clock::now();
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

    fn pairing_status(&self, caller: &Caller, nonce: &str) -> HandlerResult {
        let mut state = self.lock();
        let p = state
            .pairings
            .get_mut(nonce)
            .filter(|p| p.owner == (caller.app_id.clone(), caller.user_id.clone()))
            .ok_or_else(|| ApiError::not_found("unknown pairing nonce"))?;
        p.refresh(clock::now());
        let mut out = PairingStatusResponse::new(p.nonce.clone(), p.state.clone());
        out.expires_at = Some(ts(p.expires_at));
        out.routing_token = p.routing_token.clone();
        out.response_json = p.response_json.clone();
        Ok(web::json(StatusCode::OK, &out))
    }

    fn revoke_pairing(&self, caller: &Caller, req: &Req) -> HandlerResult {
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
        Ok(web::json(
            StatusCode::OK,
            &PairingRevokeResponse::revoked(enforcer_id),
        ))
    }

    // -- approver side --------------------------------------------------------------------

    /// `GET /v1/pairing/resolve/{code}`.
    pub(crate) fn resolve_pairing(&self, code: &str) -> Result<PairingResolveResponse, ApiError> {
        let code = normalize_code(code);
        let now = clock::now();
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
        let now = clock::now();
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
        let expires_at = clock::plus(clock::now(), ttl);
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
        let now = clock::now();
        let mut state = self.lock();
        state
            .pairings
            .values_mut()
            .filter_map(|p| {
                p.refresh(now);
                let mine = p.approver_id.as_deref().is_none_or(|a| a == approver_id);
                (p.state == PairingState::Pending && mine).then(|| p.code.clone())
            })
            .collect()
    }

    /// `GET /v1/approvers/{id}/inbox`: pending artifacts routed to the approver.
    pub(crate) fn inbox(&self, approver_id: &str) -> Vec<InboxItem> {
        let now = clock::now();
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
        let now = clock::now();
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

    // -- presence and DND -----------------------------------------------------------------

    fn heartbeat(&self, caller: &Caller, req: &Req) -> HandlerResult {
        let body: InHeartbeat = req.json().map_err(ApiError::bad_request)?;
        let enforcer_id = body
            .enforcer_id
            .ok_or_else(|| ApiError::bad_request("enforcerId is required"))?;
        let now = clock::now();
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
        let now = clock::now();
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

    pub(crate) fn add_dnd_policy(&self, policy: DndPolicy) {
        self.lock().dnd.push(policy);
    }

    pub(crate) fn clear_dnd_policies(&self) {
        self.lock().dnd.clear();
    }

    fn dnd_effective(&self, req: &Req) -> web::Resp {
        let now = Timestamp::now();
        // A query value, when given, must equal the policy's. A policy without a session
        // applies to every session of its workspace, so a `sessionId` query keeps it.
        let wanted =
            |key: &str, value: Option<&str>| req.query(key).is_none_or(|q| value == Some(q));
        let session_matches = |value: Option<&str>| {
            value.is_none_or(|s| req.query("sessionId").is_none_or(|q| q == s))
        };
        let policies: Vec<DndPolicy> = self
            .lock()
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
        let out = DndPoliciesResponse::new(airlock_types::new_request_id(), policies);
        web::json(StatusCode::OK, &out)
    }

    // -- pruning --------------------------------------------------------------------------

    /// Forgets what no client can use any more, as of `now`:
    ///
    /// - exchanges closed (delivered, withdrawn, expired, or decided but past their expiry)
    ///   for at least `retention` — until then their status and terminal answers stay
    ///   available;
    /// - pairing sessions no longer pending whose expiry is at least `retention` ago, and
    ///   every code of a session that is no longer pending;
    /// - pre-generated codes past their expiry;
    /// - presence past its TTL, expired DND policies, and empty rate-limit windows.
    ///
    /// Routes (routing tokens) are kept: a revoked pairing must keep answering
    /// `pairing_revoked`.
    pub(crate) fn prune(&self, now: OffsetDateTime, retention: Duration) -> GatewayPruned {
        let cutoff = |t: OffsetDateTime| clock::plus(t, retention) <= now;
        let mut state = self.lock();
        let mut out = GatewayPruned::default();

        let before = state.exchanges.len();
        state.exchanges.retain(|_, ex| {
            ex.refresh(now);
            !ex.closed_at(now).is_some_and(cutoff)
        });
        out.exchanges = before - state.exchanges.len();

        let before = state.pairings.len();
        state.pairings.retain(|_, p| {
            p.refresh(now);
            p.state == PairingState::Pending || !cutoff(p.expires_at)
        });
        out.pairings = before - state.pairings.len();

        let State {
            codes,
            pairings,
            pre_codes,
            presence,
            dnd,
            rate,
            ..
        } = &mut *state;
        let before = codes.len() + pre_codes.len();
        codes.retain(|_, nonce| {
            pairings
                .get(nonce)
                .is_some_and(|p| p.state == PairingState::Pending)
        });
        pre_codes.retain(|_, pre| now < pre.expires_at);
        out.codes = before - codes.len() - pre_codes.len();

        let ttl = self.settings.presence_ttl;
        let before = presence.len();
        presence.retain(|_, p| clock::plus(p.last_seen, ttl) > now);
        out.presence = before - presence.len();

        let stamp = Timestamp::from_offset_date_time(now).unwrap_or(Timestamp::MAX);
        dnd.retain(|p| p.expires_at.is_none_or(|t| t > stamp));
        if let Some(limit) = self.settings.rate_limit {
            let instant = Instant::now();
            rate.retain(|_, window| {
                window.retain(|t| instant.duration_since(*t) < limit.per);
                !window.is_empty()
            });
        } else {
            rate.clear();
        }
        out
    }

    /// Whether the gateway still holds the exchange.
    pub(crate) fn has_exchange(&self, request_id: &str) -> bool {
        self.lock().exchanges.contains_key(request_id)
    }

    // -- sandbox inspection ---------------------------------------------------------------

    /// The state of an exchange, for tests.
    pub(crate) fn exchange_state(&self, request_id: &str) -> Option<(ExchangeState, u32)> {
        let mut state = self.lock();
        let ex = state.exchanges.get_mut(request_id)?;
        ex.refresh(clock::now());
        Some((ex.state, ex.deliveries))
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

fn ok_json<T: serde::Serialize>(v: T) -> web::Resp {
    web::json(StatusCode::OK, &v)
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
) -> Result<&'a mut Exchange, ApiError> {
    let ex = state
        .exchanges
        .get_mut(id)
        .filter(|ex| ex.owner.0 == caller.app_id && ex.owner.1 == caller.user_id)
        .ok_or_else(|| ApiError::not_found("unknown requestId").with_request_id(id))?;
    ex.refresh(clock::now());
    Ok(ex)
}

/// Finds where an artifact goes: by its routing token, else the newest pairing of the enforcer.
fn route_for(
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

fn bearer(req: &Req) -> Option<&str> {
    let v = req.header("authorization")?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// `http://127.0.0.1:*`, `http://localhost:*`, `http://[::1]:*`.
pub(crate) fn is_loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

fn echo() -> web::Resp {
    web::json(StatusCode::OK, &EchoResponse::utc(Timestamp::now()))
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
    fn loopback_origins_only() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "http://[::1]:3000/x",
            "https://localhost:1",
        ] {
            assert!(is_loopback_origin(ok), "{ok}");
        }
        for bad in [
            "http://127.0.0.1.evil.com",
            "http://localhost.evil.com:80",
            "file://localhost",
            "null",
            "",
        ] {
            assert!(!is_loopback_origin(bad), "{bad}");
        }
    }

    #[test]
    fn fresh_codes_have_the_abcd_1234_shape() {
        let code = fresh_code(&State::default());
        let (letters, digits) = code.split_once('-').unwrap();
        assert!(letters.len() == 4 && letters.bytes().all(|b| b.is_ascii_uppercase()));
        assert!(digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()));
    }
}
