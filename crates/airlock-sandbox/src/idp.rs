//! A minimal OpenID Connect provider for the sandbox user: discovery, device authorization
//! (RFC 8628), authorization code with PKCE S256 (RFC 7636, loopback redirects per RFC 8252),
//! refresh with rotation, and revocation (RFC 7009).
//!
//! Tokens are opaque random strings, not JWTs: the gateway validates them against this
//! provider's memory. There is no `id_token` and no JWKS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use http::{Method, StatusCode};
use serde_json::json;
use sha2::Digest as _;
use time::OffsetDateTime;

use airlock_types::{
    DeviceAuthorizationResponse, OAuthErrorCode, OAuthErrorResponse, OidcDiscovery, TokenResponse,
};

use crate::clock::{self, Clock};

/// The device-code grant type (RFC 8628).
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
use crate::config::DeviceApproval;
use crate::web::{self, Req, Secret, random_token, secret_eq};

/// Settings of the provider.
#[derive(Clone)]
pub(crate) struct IdpSettings {
    pub(crate) issuer: String,
    /// Public client (no secret), the one gateway discovery names.
    pub(crate) public_client_id: String,
    /// A confidential client: id and secret.
    pub(crate) confidential_client: (String, Secret),
    pub(crate) user_id: String,
    pub(crate) access_ttl: Duration,
    pub(crate) refresh_ttl: Duration,
    pub(crate) device_ttl: Duration,
    pub(crate) device_interval: Duration,
    pub(crate) device_approval: DeviceApproval,
}

impl std::fmt::Debug for IdpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpSettings")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeviceState {
    Pending,
    Approved,
    Denied,
    Used,
}

#[derive(Debug)]
struct DeviceGrant {
    user_code: String,
    client_id: String,
    scope: String,
    expires_at: OffsetDateTime,
    interval: Duration,
    last_poll: Option<OffsetDateTime>,
    state: DeviceState,
}

#[derive(Debug)]
struct AuthCode {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    scope: String,
    expires_at: OffsetDateTime,
}

#[derive(Debug)]
struct Token {
    user_id: String,
    client_id: String,
    scope: String,
    /// The grant family (one per sign-in); revoking a refresh token ends its family.
    family: String,
    expires_at: OffsetDateTime,
}

/// Issued codes and tokens, keyed by the SHA-256 of the secret ([`digest`]): the provider
/// keeps no usable copy of what it handed out.
#[derive(Debug, Default)]
struct IdpState {
    devices: HashMap<String, DeviceGrant>,
    codes: HashMap<String, AuthCode>,
    access: HashMap<String, Token>,
    refresh: HashMap<String, Token>,
}

/// The provider.
#[derive(Debug)]
pub(crate) struct Idp {
    settings: IdpSettings,
    clock: Arc<Clock>,
    state: Mutex<IdpState>,
}

/// The client could not be authenticated (`401 invalid_client`).
#[derive(Debug)]
struct InvalidClient;

impl InvalidClient {
    fn response(self) -> web::Resp {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        )
    }
}

/// An OAuth error response.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> web::Resp {
    let mut body = OAuthErrorResponse::new(OAuthErrorCode::from_wire(error));
    body.error_description = Some(description.to_owned());
    web::json(status, &body)
}

impl Idp {
    pub(crate) fn new(settings: IdpSettings, clock: Arc<Clock>) -> Self {
        Self {
            settings,
            clock,
            state: Mutex::new(IdpState::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, IdpState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The user an access token belongs to, if it is valid and unexpired.
    pub(crate) fn validate_access_token(&self, token: &str) -> Option<String> {
        let now = self.clock.now();
        let state = self.lock();
        state
            .access
            .get(&digest(token))
            .filter(|t| t.expires_at > now)
            .map(|t| t.user_id.clone())
    }

    /// Forgets device authorizations expired for at least `retention` (until then a poll
    /// still gets `expired_token`), and expired authorization codes, access and refresh
    /// tokens. Returns how many entries went.
    pub(crate) fn prune(&self, now: OffsetDateTime, retention: Duration) -> usize {
        let mut state = self.lock();
        let before =
            state.devices.len() + state.codes.len() + state.access.len() + state.refresh.len();
        state
            .devices
            .retain(|_, d| clock::plus(d.expires_at, retention) > now);
        state.codes.retain(|_, c| c.expires_at > now);
        state.access.retain(|_, t| t.expires_at > now);
        state.refresh.retain(|_, t| t.expires_at > now);
        before
            - (state.devices.len() + state.codes.len() + state.access.len() + state.refresh.len())
    }

    /// Approves (or denies) a pending device authorization by its user code.
    pub(crate) fn set_device_approval(&self, user_code: &str, approve: bool) -> bool {
        let code = user_code.trim().to_ascii_uppercase();
        let mut state = self.lock();
        match state
            .devices
            .values_mut()
            .find(|d| d.user_code == code && d.state == DeviceState::Pending)
        {
            Some(d) => {
                d.state = if approve {
                    DeviceState::Approved
                } else {
                    DeviceState::Denied
                };
                true
            }
            None => false,
        }
    }

    /// User codes of device authorizations waiting for approval.
    pub(crate) fn pending_device_codes(&self) -> Vec<String> {
        let now = self.clock.now();
        self.lock()
            .devices
            .values()
            .filter(|d| d.state == DeviceState::Pending && d.expires_at > now)
            .map(|d| d.user_code.clone())
            .collect()
    }

    /// Routes a request under `/idp`.
    pub(crate) fn handle(&self, req: &Req) -> Option<web::Resp> {
        let path = req.path();
        let rest = match path.as_slice() {
            ["idp", rest @ ..] => rest,
            _ => return None,
        };
        Some(match (&req.method, rest) {
            (&Method::GET, [".well-known", "openid-configuration"]) => self.discovery(),
            (&Method::POST, ["device"]) => self.device_authorization(req),
            (&Method::GET, ["device", "verify"]) => self.device_verify(req),
            (&Method::GET, ["authorize"]) => self.authorize(req),
            (&Method::POST, ["token"]) => self.token(req),
            (&Method::POST, ["revoke"]) => self.revoke(req),
            (&Method::GET, ["userinfo"]) => self.userinfo(req),
            (&Method::GET, ["jwks"]) => web::json(StatusCode::OK, &json!({ "keys": [] })),
            _ => oauth_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint"),
        })
    }

    fn discovery(&self) -> web::Resp {
        let i = &self.settings.issuer;
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let mut doc = OidcDiscovery::new(i, format!("{i}/authorize"), format!("{i}/token"));
        doc.device_authorization_endpoint = Some(format!("{i}/device"));
        doc.revocation_endpoint = Some(format!("{i}/revoke"));
        doc.userinfo_endpoint = Some(format!("{i}/userinfo"));
        doc.jwks_uri = Some(format!("{i}/jwks"));
        doc.response_types_supported = strings(&["code"]);
        doc.grant_types_supported = strings(&["authorization_code", "refresh_token", DEVICE_GRANT]);
        doc.code_challenge_methods_supported = strings(&["S256"]);
        doc.token_endpoint_auth_methods_supported =
            strings(&["none", "client_secret_post", "client_secret_basic"]);
        doc.scopes_supported = strings(&["openid", "profile", "email", "offline_access"]);
        doc.subject_types_supported = strings(&["public"]);
        doc.id_token_signing_alg_values_supported = strings(&["none"]);
        web::json(StatusCode::OK, &doc)
    }

    /// Authenticates the client of a token-endpoint request: a known client id, and for the
    /// confidential client its secret (form or HTTP Basic).
    fn client(&self, req: &Req, form: &HashMap<String, String>) -> Result<String, InvalidClient> {
        let basic = req
            .header("authorization")
            .and_then(|v| {
                v.strip_prefix("Basic ")
                    .or_else(|| v.strip_prefix("basic "))
            })
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                let (id, secret) = s.split_once(':')?;
                let dec = |x: &str| {
                    percent_encoding::percent_decode_str(x)
                        .decode_utf8_lossy()
                        .into_owned()
                };
                Some((dec(id), dec(secret)))
            });
        let (id, secret) = match basic {
            Some((id, secret)) => (Some(id), Some(secret)),
            None => (
                form.get("client_id").cloned(),
                form.get("client_secret").cloned(),
            ),
        };
        let id = id.ok_or(InvalidClient)?;
        if id == self.settings.public_client_id {
            return Ok(id);
        }
        let (cid, csecret) = &self.settings.confidential_client;
        if id == *cid && secret.as_deref().is_some_and(|s| secret_eq(s, csecret)) {
            return Ok(id);
        }
        Err(InvalidClient)
    }

    fn known_client(&self, id: &str) -> bool {
        id == self.settings.public_client_id || id == self.settings.confidential_client.0
    }

    fn device_authorization(&self, req: &Req) -> web::Resp {
        let form = req.form();
        let client_id = match self.client(req, &form) {
            Ok(c) => c,
            Err(e) => return e.response(),
        };
        let device_code = random_token("dc_");
        let user_code = {
            use rand::Rng as _;
            const L: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
            let mut rng = rand::rngs::OsRng;
            let s: String = (0..8)
                .map(|_| L[rng.gen_range(0..L.len())] as char)
                .collect();
            format!("{}-{}", &s[..4], &s[4..])
        };
        let now = self.clock.now();
        let state = match self.settings.device_approval {
            DeviceApproval::Automatic => DeviceState::Approved,
            DeviceApproval::Manual => DeviceState::Pending,
        };
        let verification_uri = format!("{}/device/verify", self.settings.issuer);
        let complete = format!(
            "{verification_uri}?{}",
            serde_urlencoded::to_string([("user_code", user_code.as_str())]).unwrap_or_default()
        );
        self.lock().devices.insert(
            digest(&device_code),
            DeviceGrant {
                user_code: user_code.clone(),
                client_id,
                scope: form
                    .get("scope")
                    .cloned()
                    .unwrap_or_else(|| "openid".to_owned()),
                expires_at: clock::plus(now, self.settings.device_ttl),
                interval: self.settings.device_interval,
                last_poll: None,
                state,
            },
        );
        let mut out = DeviceAuthorizationResponse::new(
            device_code,
            user_code,
            verification_uri,
            self.settings.device_ttl.as_secs(),
        );
        out.verification_uri_complete = Some(complete);
        out.interval = Some(self.settings.device_interval.as_secs().max(1));
        web::json(StatusCode::OK, &out)
    }

    /// The "browser" page of the device flow: `?user_code=…&action=approve|deny`.
    fn device_verify(&self, req: &Req) -> web::Resp {
        let Some(code) = req.query("user_code") else {
            return web::text(
                StatusCode::OK,
                "Airlock sandbox: enter the code with ?user_code=XXXX-XXXX\n",
            );
        };
        match req.query("action") {
            Some("approve") | Some("deny") => {
                let approve = req.query("action") == Some("approve");
                if self.set_device_approval(code, approve) {
                    web::text(
                        StatusCode::OK,
                        if approve {
                            "Device approved.\n"
                        } else {
                            "Device denied.\n"
                        },
                    )
                } else {
                    web::text(StatusCode::NOT_FOUND, "No pending device with that code.\n")
                }
            }
            _ => web::text(
                StatusCode::OK,
                format!(
                    "Airlock sandbox: approve device {code} with &action=approve, or deny with &action=deny.\n"
                ),
            ),
        }
    }

    fn authorize(&self, req: &Req) -> web::Resp {
        let q = |k: &str| req.query(k).map(str::to_owned);
        let (Some(client_id), Some(redirect_uri)) = (q("client_id"), q("redirect_uri")) else {
            return web::text(
                StatusCode::BAD_REQUEST,
                "client_id and redirect_uri are required\n",
            );
        };
        if !self.known_client(&client_id) {
            return web::text(StatusCode::BAD_REQUEST, "unknown client_id\n");
        }
        // Loopback redirects only (RFC 8252 §7.3), any port; never redirect elsewhere.
        if !redirect_uri.starts_with("http://") || !airlock_http::is_loopback_url(&redirect_uri) {
            return web::text(
                StatusCode::BAD_REQUEST,
                "redirect_uri must be a loopback http URI\n",
            );
        }
        let state = q("state");
        let fail = |error: &str, description: &str| {
            let mut params = vec![
                ("error", error.to_owned()),
                ("error_description", description.to_owned()),
            ];
            if let Some(s) = &state {
                params.push(("state", s.clone()));
            }
            web::redirect(&with_query(&redirect_uri, &params))
        };
        if q("response_type").as_deref() != Some("code") {
            return fail("unsupported_response_type", "only response_type=code");
        }
        let Some(challenge) = q("code_challenge") else {
            return fail("invalid_request", "PKCE code_challenge is required");
        };
        if q("code_challenge_method").as_deref() != Some("S256") {
            return fail("invalid_request", "code_challenge_method must be S256");
        }
        let code = random_token("ac_");
        self.lock().codes.insert(
            digest(&code),
            AuthCode {
                client_id,
                redirect_uri: redirect_uri.clone(),
                challenge,
                scope: q("scope").unwrap_or_else(|| "openid".to_owned()),
                expires_at: clock::plus(self.clock.now(), Duration::from_secs(60)),
            },
        );
        let mut params = vec![("code", code)];
        if let Some(s) = &state {
            params.push(("state", s.clone()));
        }
        web::redirect(&with_query(&redirect_uri, &params))
    }

    fn token(&self, req: &Req) -> web::Resp {
        let form = req.form();
        let client_id = match self.client(req, &form) {
            Ok(c) => c,
            Err(e) => return e.response(),
        };
        let bad = |error: &str, d: &str| oauth_error(StatusCode::BAD_REQUEST, error, d);
        let now = self.clock.now();
        let mut state = self.lock();
        let (scope, family) = match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                let Some(code) = form
                    .get("code")
                    .and_then(|c| state.codes.remove(&digest(c)))
                else {
                    return bad("invalid_grant", "unknown or used authorization code");
                };
                if code.expires_at <= now || code.client_id != client_id {
                    return bad(
                        "invalid_grant",
                        "authorization code expired or issued to another client",
                    );
                }
                if form.get("redirect_uri") != Some(&code.redirect_uri) {
                    return bad("invalid_grant", "redirect_uri does not match");
                }
                let Some(verifier) = form.get("code_verifier") else {
                    return bad("invalid_request", "code_verifier is required");
                };
                let valid_len = (43..=128).contains(&verifier.len());
                let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(sha2::Sha256::digest(verifier));
                if !valid_len || !secret_eq(&computed, &code.challenge) {
                    return bad("invalid_grant", "PKCE verification failed");
                }
                (code.scope, random_token("fam_"))
            }
            Some(DEVICE_GRANT) => {
                let Some(dc) = form.get("device_code") else {
                    return bad("invalid_request", "device_code is required");
                };
                let Some(grant) = state
                    .devices
                    .get_mut(&digest(dc))
                    .filter(|g| g.client_id == client_id)
                else {
                    return bad("invalid_grant", "unknown device_code");
                };
                if grant.expires_at <= now {
                    return bad("expired_token", "the device code expired");
                }
                let too_fast = grant
                    .last_poll
                    .is_some_and(|t| clock::plus(t, grant.interval) > now);
                grant.last_poll = Some(now);
                match grant.state {
                    DeviceState::Denied => {
                        return bad("access_denied", "the user denied the request");
                    }
                    DeviceState::Used => return bad("invalid_grant", "device code already used"),
                    DeviceState::Pending if too_fast => {
                        grant.interval += Duration::from_secs(5);
                        return bad("slow_down", "polling too fast");
                    }
                    DeviceState::Pending => {
                        return bad("authorization_pending", "waiting for the user");
                    }
                    DeviceState::Approved => {
                        grant.state = DeviceState::Used;
                        (grant.scope.clone(), random_token("fam_"))
                    }
                }
            }
            Some("refresh_token") => {
                let Some(old) = form
                    .get("refresh_token")
                    .and_then(|t| state.refresh.remove(&digest(t)))
                else {
                    return bad(
                        "invalid_grant",
                        "unknown, revoked or already used refresh token",
                    );
                };
                if old.expires_at <= now || old.client_id != client_id {
                    return bad(
                        "invalid_grant",
                        "refresh token expired or issued to another client",
                    );
                }
                (old.scope, old.family)
            }
            Some(_) => return bad("unsupported_grant_type", "unsupported grant_type"),
            None => return bad("invalid_request", "grant_type is required"),
        };
        let access = random_token("sbx_at_");
        let refresh = random_token("sbx_rt_");
        let token = |ttl| Token {
            user_id: self.settings.user_id.clone(),
            client_id: client_id.clone(),
            scope: scope.clone(),
            family: family.clone(),
            expires_at: clock::plus(now, ttl),
        };
        state
            .access
            .insert(digest(&access), token(self.settings.access_ttl));
        state
            .refresh
            .insert(digest(&refresh), token(self.settings.refresh_ttl));
        let mut out = TokenResponse::bearer(access);
        out.expires_in = Some(self.settings.access_ttl.as_secs());
        out.refresh_token = Some(refresh);
        out.refresh_expires_in = Some(self.settings.refresh_ttl.as_secs());
        out.scope = Some(scope);
        web::json(StatusCode::OK, &out)
    }

    /// RFC 7009: always 200 for a well-formed request; revoking a refresh token ends its
    /// whole grant (its access tokens too).
    fn revoke(&self, req: &Req) -> web::Resp {
        let form = req.form();
        if let Err(e) = self.client(req, &form) {
            return e.response();
        }
        let Some(token) = form.get("token") else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "token is required",
            );
        };
        let mut state = self.lock();
        if let Some(t) = state.refresh.remove(&digest(token)) {
            let family = t.family;
            state.access.retain(|_, a| a.family != family);
            state.refresh.retain(|_, r| r.family != family);
        } else {
            state.access.remove(&digest(token));
        }
        web::empty(StatusCode::OK)
    }

    fn userinfo(&self, req: &Req) -> web::Resp {
        let token = req
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "));
        match token.and_then(|t| self.validate_access_token(t.trim())) {
            Some(user) => web::json(
                StatusCode::OK,
                &json!({ "sub": user, "preferred_username": user, "email": format!("{user}@sandbox.invalid") }),
            ),
            None => oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "invalid or expired access token",
            ),
        }
    }
}

/// The key under which a code or token is stored: hex SHA-256 of it.
fn digest(secret: &str) -> String {
    sha2::Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `uri` with `params` appended to its query.
fn with_query(uri: &str, params: &[(&str, String)]) -> String {
    let q = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{q}")
}
