//! The gateway: an untrusted relay. It authenticates apps and users, keeps exchanges, pairing
//! sessions, presence, consent and DND policies, and moves ciphertext and signed decisions
//! between enforcers and approvers. It never sees plaintext nor any approver private key.

mod auth;
mod decisions;
mod dnd;
mod exchanges;
mod pairing;
mod presence;
mod saved;
mod tamper;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use airlock_types::{
    AuthInfo, DndPolicy, EchoResponse, Envelope, IdpInfo, IntegrationsDiscovery, PairingState,
    Party, Timestamp,
};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::clock::{self, Clock};
use crate::config::{ConsentMode, ConsentState, RateLimit, TamperMode};
use crate::idp::Idp;
use crate::web::{self, ApiError, HandlerResult, Req, Secret};

pub(crate) use exchanges::ExchangeState;
pub(crate) use pairing::{InComplete, InPreGenerate};
pub(crate) use saved::SavedPairing;

use exchanges::Exchange;
use pairing::{Pairing, PreCode, Route};
use presence::Presence;
use tamper::Relay;

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
    tamper: TamperMode,
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
    /// How the relay misbehaves at first.
    pub(crate) tamper: TamperMode,
}

/// The gateway.
#[derive(Debug)]
pub(crate) struct Gateway {
    settings: GatewaySettings,
    idp: Arc<Idp>,
    clock: Arc<Clock>,
    /// Keys of the relay's own, for [`TamperMode::SubstitutePairing`].
    relay: Relay,
    state: Mutex<State>,
    /// Bumped whenever an approver may have something new to look at (an artifact in an
    /// inbox, a pairing session waiting for a code).
    approver_feed: watch::Sender<u64>,
    /// Bumped whenever a pairing is completed, substituted or revoked (the state file
    /// follows it).
    pairings_changed: watch::Sender<u64>,
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

// ---------------------------------------------------------------------------------------------
// Shared by the handlers.

/// A gateway envelope (sender: the gateway).
fn envelope<B>(msg_type: &str, request_id: &str, body: B) -> Envelope<B> {
    Envelope::new(msg_type, request_id, body).with_sender(Party::gateway(GATEWAY_ID))
}

/// A wire timestamp (whole seconds, UTC).
fn ts(t: OffsetDateTime) -> Timestamp {
    Timestamp::from_offset_date_time(t.replace_nanosecond(0).unwrap_or(t)).unwrap_or(Timestamp::MAX)
}

impl Gateway {
    pub(crate) fn new(settings: GatewaySettings, idp: Arc<Idp>, clock: Arc<Clock>) -> Self {
        let tamper = settings.tamper;
        Self {
            settings,
            idp,
            clock,
            relay: Relay::generate(),
            state: Mutex::new(State {
                tamper,
                ..State::default()
            }),
            approver_feed: watch::Sender::new(0),
            pairings_changed: watch::Sender::new(0),
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
            (&Method::GET, ["echo"]) => Ok(self.echo()),
            (&Method::GET, ["v1", "integrations", "discovery"]) => Ok(self.discovery()),
            (_, ["v1", "pairing", "resolve", code]) if req.method == Method::GET => self
                .approver_auth(req)
                .and_then(|_| self.resolve_pairing(code))
                .map(|r| web::json(StatusCode::OK, &r)),
            (&Method::POST, ["v1", "pairing", "complete"]) => self
                .approver_auth(req)
                .and_then(|()| req.json::<InComplete>().map_err(ApiError::bad_request))
                .and_then(|b| self.complete_pairing(b))
                .map(ok_json),
            (&Method::POST, ["v1", "pairing", "pre-generate"]) => self
                .approver_auth(req)
                .and_then(|()| req.json::<InPreGenerate>().map_err(ApiError::bad_request))
                .and_then(|b| self.pre_generate(b))
                .map(ok_json),
            (&Method::POST, ["v1", "decisions"]) => self
                .approver_auth(req)
                .and_then(|()| req.json::<Value>().map_err(ApiError::bad_request))
                .and_then(|b| self.submit_decision(b))
                .map(ok_json),
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

    // -- discovery ------------------------------------------------------------------------

    fn echo(&self) -> web::Resp {
        web::json(StatusCode::OK, &EchoResponse::utc(ts(self.clock.now())))
    }

    fn discovery(&self) -> web::Resp {
        let idp = IdpInfo::new(&self.settings.issuer_url, &self.settings.idp_client_id);
        web::json(
            StatusCode::OK,
            &IntegrationsDiscovery::new(idp, AuthInfo::new(true)),
        )
    }

    // -- pruning --------------------------------------------------------------------------

    /// Forgets what no client can use any more, as of `now`:
    ///
    /// - exchanges closed (delivered, withdrawn, expired, or decided but past their expiry)
    ///   for at least `retention` — until then their status and terminal answers stay
    ///   available;
    /// - pairing sessions that expired without being completed, `retention` after their
    ///   expiry, and every code of a session that is no longer pending;
    /// - pre-generated codes past their expiry;
    /// - presence past its TTL, expired DND policies, and empty rate-limit windows.
    ///
    /// Completed pairings and their routes live until revoked, however old their code is;
    /// revoked ones are kept too, so that their routing token keeps answering
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
            !(p.state == PairingState::Expired && cutoff(p.expires_at))
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

    /// The clock moved forward: exchanges past their expiry expire now, and every long-poll
    /// looks again (its wake-up time was computed on the old clock).
    pub(crate) fn clock_moved(&self) {
        let now = self.clock.now();
        for ex in self.lock().exchanges.values_mut() {
            ex.refresh(now);
            ex.changed.send_modify(|v| *v += 1);
        }
        self.poke_approvers();
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
        ex.refresh(self.clock.now());
        Some((ex.state, ex.deliveries))
    }
}

fn ok_json<T: serde::Serialize>(v: T) -> web::Resp {
    web::json(StatusCode::OK, &v)
}
