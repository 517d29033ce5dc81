//! [`GatewayClient`], its builder, and the one generic request path.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use airlock_crypto::{MemoryReplayJournal, ReplayJournal};
use airlock_http::{HttpClient, SecretToken, TokenSource};
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, HeaderName, HeaderValue, ORIGIN, USER_AGENT};
use http::{HeaderMap, StatusCode};
use tracing::Instrument;

use crate::call::{ACCEPT_VALUE, BaseUrl, Call, ResponseBody};
use crate::error::Error;
use crate::raw::RawClient;
use crate::retry::{AttemptOutcome, RetryDecision, RetryPolicy, parse_retry_after};

const X_CLIENT_ID: HeaderName = HeaderName::from_static("x-client-id");
const X_CLIENT_SECRET: HeaderName = HeaderName::from_static("x-client-secret");
const X_PAT: HeaderName = HeaderName::from_static("x-pat");

/// The `User-Agent` sent by default: `airlock-rs/<version>`.
pub const DEFAULT_USER_AGENT: &str = airlock_http::USER_AGENT;

/// The client of the Airlock Integrations Gateway.
///
/// Cheap to clone: clones share one transport (one connection pool), one credential set and
/// one replay journal. Built by [`GatewayClient::builder`].
///
/// User identity, in order of precedence: a PAT (`X-PAT`), a bearer token, a
/// [`TokenSource`] (`Authorization: Bearer`). Only one is sent. After a `401` on a request
/// that used the token source, the client asks it for a fresh token once
/// (`access_token(true)`) and sends the request once more.
#[derive(Clone)]
pub struct GatewayClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    base: BaseUrl,
    transport: Arc<dyn HttpClient>,
    client_id: Option<HeaderValue>,
    has_client_secret: bool,
    origin: Option<HeaderValue>,
    /// The headers every request starts with: user agent, `Accept` and app credentials,
    /// built once.
    app_headers: HeaderMap,
    identity: RwLock<Identity>,
    token_source: Option<Arc<dyn TokenSource>>,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    pub(crate) enforcer_id: Option<String>,
    pub(crate) journal: Arc<dyn ReplayJournal>,
}

impl fmt::Debug for GatewayClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("GatewayClient")
            .field("base_url", &i.base.to_string())
            .field("client_id", &i.client_id)
            .field(
                "client_secret",
                &i.has_client_secret.then_some("<redacted>"),
            )
            .field("origin", &i.origin)
            .field("pat", &i.identity().pat.as_ref().map(|_| "<redacted>"))
            .field(
                "bearer",
                &i.identity().bearer.as_ref().map(|_| "<redacted>"),
            )
            .field("token_source", &i.token_source.is_some())
            .field("retry", &i.retry)
            .field("timeout", &i.timeout)
            .field("enforcer_id", &i.enforcer_id)
            .finish_non_exhaustive()
    }
}

/// A user credential as it is sent: its header value, built once when the credential is set
/// (a `Bytes` clone per request), or what it is when it cannot be a header value — which
/// fails each request, as if the value were built then.
#[derive(Clone)]
struct Credential(Result<HeaderValue, &'static str>);

impl Credential {
    fn new(what: &'static str, prefix: &str, secret: &SecretToken) -> Self {
        Self(secret_header(what, prefix, secret).map_err(|_| what))
    }
}

/// The user credentials of a client (a PAT, a bearer token, both or neither) and the
/// headers of a request that uses them, built whenever they change and cloned per request.
struct Identity {
    pat: Option<Credential>,
    bearer: Option<Credential>,
    /// The app headers plus `X-PAT`, or (without a PAT) `Authorization` with the bearer
    /// token; what the credential in use is when it cannot be a header value.
    headers: Result<HeaderMap, &'static str>,
}

impl Identity {
    fn new(app_headers: &HeaderMap, pat: Option<Credential>, bearer: Option<Credential>) -> Self {
        let in_use = match (&pat, &bearer) {
            (Some(pat), _) => Some((X_PAT, pat)),
            (None, Some(bearer)) => Some((AUTHORIZATION, bearer)),
            (None, None) => None,
        };
        let headers = match in_use {
            None => Ok(app_headers.clone()),
            Some((name, Credential(value))) => value.clone().map(|value| {
                let mut headers = app_headers.clone();
                headers.insert(name, value);
                headers
            }),
        };
        Self {
            pat,
            bearer,
            headers,
        }
    }
}

impl Inner {
    fn identity(&self) -> std::sync::RwLockReadGuard<'_, Identity> {
        self.identity.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the PAT and bearer token through `change`, rebuilding the headers.
    fn change_identity(
        &self,
        change: impl FnOnce(&mut Option<Credential>, &mut Option<Credential>),
    ) {
        let mut identity = self
            .identity
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let (mut pat, mut bearer) = (identity.pat.take(), identity.bearer.take());
        change(&mut pat, &mut bearer);
        *identity = Identity::new(&self.app_headers, pat, bearer);
    }
}

fn not_a_header(what: &str) -> Error {
    Error::invalid_input(format!(
        "{what} contains characters not allowed in a header"
    ))
}

/// The header value `prefix` + `secret`, marked sensitive. Its bytes are zeroized when the
/// last clone of the value is dropped, like the [`SecretToken`] they come from.
fn secret_header(what: &str, prefix: &str, secret: &SecretToken) -> Result<HeaderValue, Error> {
    let secret = secret.expose_secret();
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(prefix.len() + secret.len()));
    bytes.extend_from_slice(prefix.as_bytes());
    bytes.extend_from_slice(secret.as_bytes());
    let mut value =
        HeaderValue::from_maybe_shared(Bytes::from_owner(bytes)).map_err(|_| not_a_header(what))?;
    value.set_sensitive(true);
    Ok(value)
}

impl GatewayClient {
    /// Starts building a client for the gateway at `base_url` (e.g.
    /// `https://igw.airlocks.io`; a path prefix such as `https://host/gw` is kept).
    pub fn builder(base_url: impl Into<String>) -> GatewayClientBuilder {
        GatewayClientBuilder {
            base_url: base_url.into(),
            transport: None,
            client_id: None,
            client_secret: None,
            origin: None,
            user_agent: None,
            pat: None,
            bearer: None,
            token_source: None,
            retry: RetryPolicy::default(),
            timeout: None,
            enforcer_id: None,
            journal: None,
        }
    }

    /// Replaces (or with `None` removes) the Personal Access Token.
    pub fn set_pat(&self, pat: Option<SecretToken>) {
        let pat = pat.map(|p| Credential::new("PAT", "", &p));
        self.inner.change_identity(|old, _| *old = pat);
    }

    /// Replaces (or with `None` removes) the bearer token.
    pub fn set_bearer_token(&self, token: Option<SecretToken>) {
        let bearer = token.map(|t| Credential::new("bearer token", "Bearer ", &t));
        self.inner.change_identity(|_, old| *old = bearer);
    }

    /// The base URL, as configured (without a trailing `/`).
    pub fn base_url(&self) -> String {
        self.inner.base.to_string()
    }

    /// The default enforcer id configured on the builder.
    pub fn enforcer_id(&self) -> Option<&str> {
        self.inner.enforcer_id.as_deref()
    }

    /// The enforcer id a call uses: `explicit` when given, else the builder's default
    /// ([`GatewayClientBuilder::enforcer_id`]). An empty id, or none at all, is
    /// [`Error::InvalidInput`].
    pub(crate) fn resolve_enforcer_id(&self, explicit: Option<&str>) -> Result<String, Error> {
        let id = explicit.or(self.inner.enforcer_id.as_deref()).ok_or_else(|| {
            Error::invalid_input(
                "no enforcer id: name one, or set a default with GatewayClientBuilder::enforcer_id",
            )
        })?;
        if id.is_empty() {
            return Err(Error::invalid_input("the enforcer id must not be empty"));
        }
        Ok(id.to_owned())
    }

    /// The protocol's endpoints one by one, for tools and tests: see [`RawClient`]. An
    /// enforcer uses the verified helpers of `GatewayClient` instead.
    pub fn raw(&self) -> RawClient<'_> {
        RawClient::new(self)
    }

    /// The replay journal used by [`GatewayClient::await_decision`].
    pub fn replay_journal(&self) -> &Arc<dyn ReplayJournal> {
        &self.inner.journal
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The headers of every request: user agent and app credentials, then exactly one user
    /// identity. Returns whether the token source supplied the identity.
    async fn auth_headers(&self, force_refresh: bool) -> Result<(HeaderMap, bool), Error> {
        let i = &self.inner;
        let (headers, user_credential) = {
            let identity = i.identity();
            let set = identity.pat.is_some() || identity.bearer.is_some();
            (identity.headers.clone(), set)
        };
        let mut h = headers.map_err(not_a_header)?;
        if user_credential {
            return Ok((h, false));
        }
        if let Some(source) = &i.token_source {
            let token = source
                .access_token(force_refresh)
                .await
                .map_err(|e| Error::Auth(Box::new(e)))?;
            h.insert(
                AUTHORIZATION,
                secret_header("access token", "Bearer ", &token)?,
            );
            return Ok((h, true));
        }
        Ok((h, false))
    }

    /// The one request path of every endpoint: headers, retries, `401` refresh, status
    /// handling, error and body decoding.
    ///
    /// Not an `async fn` itself: the request's future is returned as it is, not moved into
    /// one more state machine.
    pub(crate) fn execute<'a, R: ResponseBody + 'a>(
        &'a self,
        call: Call<R>,
    ) -> impl Future<Output = Result<Option<R>, Error>> + 'a {
        let span = tracing::debug_span!(
            "airlock_gateway",
            endpoint = call.name,
            request_id = call.request_id.as_deref(),
        );
        self.execute_inner(call).instrument(span)
    }

    async fn execute_inner<R: ResponseBody>(&self, mut call: Call<R>) -> Result<Option<R>, Error> {
        let i = &self.inner;
        if call.timeout.is_none() {
            call.timeout = i.timeout;
        }
        let mut attempt: u32 = 1;
        let mut refreshed = false;
        loop {
            let (headers, from_source) = self.auth_headers(refreshed).await?;
            let request = call.build(&i.base, headers)?;
            let uri = request.uri().clone();
            let (outcome, error) = match i.transport.send(request).await {
                Ok(response) => {
                    let status = response.status();
                    tracing::debug!(status = status.as_u16(), attempt, "response");
                    if status == StatusCode::UNAUTHORIZED && from_source && !refreshed {
                        tracing::debug!("401 with a token source: refreshing the token once");
                        refreshed = true;
                        continue;
                    }
                    let now = SystemTime::now();
                    match call.read(&response, now) {
                        Ok(value) => return Ok(value),
                        Err(e) => (
                            AttemptOutcome::Response {
                                status,
                                retry_after: parse_retry_after(response.headers(), now),
                            },
                            e,
                        ),
                    }
                }
                Err(e) => {
                    tracing::debug!(attempt, error = %e, "transport failure");
                    (
                        AttemptOutcome::from_transport(&e),
                        Error::from_transport(&uri, e),
                    )
                }
            };
            match i.retry.decide(call.idempotent, &outcome, attempt) {
                RetryDecision::Retry(delay) => {
                    tracing::debug!(attempt, ?delay, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                RetryDecision::Stop => return Err(error),
            }
        }
    }

    /// Like [`execute`](Self::execute) for endpoints that always answer with a body.
    pub(crate) async fn execute_some<R: ResponseBody>(&self, call: Call<R>) -> Result<R, Error> {
        // Only calls with `no_content_is_none` can yield `None`; treat it as protocol error.
        self.execute(call).await?.ok_or_else(|| {
            Error::Protocol(Box::new(crate::error::ProtocolError::new(
                crate::error::ProtocolErrorKind::UnexpectedNoContent,
                StatusCode::NO_CONTENT,
                b"",
                None,
            )))
        })
    }
}

/// Builds a [`GatewayClient`]. Created by [`GatewayClient::builder`].
#[must_use]
pub struct GatewayClientBuilder {
    base_url: String,
    transport: Option<Arc<dyn HttpClient>>,
    client_id: Option<String>,
    client_secret: Option<SecretToken>,
    origin: Option<String>,
    user_agent: Option<String>,
    pat: Option<SecretToken>,
    bearer: Option<SecretToken>,
    token_source: Option<Arc<dyn TokenSource>>,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    enforcer_id: Option<String>,
    journal: Option<Arc<dyn ReplayJournal>>,
}

impl fmt::Debug for GatewayClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayClientBuilder")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("origin", &self.origin)
            .field("pat", &self.pat)
            .field("bearer", &self.bearer)
            .field("token_source", &self.token_source)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("enforcer_id", &self.enforcer_id)
            .finish_non_exhaustive()
    }
}

impl GatewayClientBuilder {
    /// The transport (default: a new [`airlock_http::HyperTransport`]). Share one transport
    /// between clients (and `airlock-auth`) to share its connection pool.
    pub fn transport(mut self, transport: Arc<dyn HttpClient>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// A confidential app's credentials: `X-Client-Id` and `X-Client-Secret`.
    pub fn client_credentials(mut self, client_id: impl Into<String>, secret: SecretToken) -> Self {
        self.client_id = Some(client_id.into());
        self.client_secret = Some(secret);
        self.origin = None;
        self
    }

    /// A public app's credentials: `X-Client-Id` and `Origin` instead of a secret.
    pub fn public_client(
        mut self,
        client_id: impl Into<String>,
        origin: impl Into<String>,
    ) -> Self {
        self.client_id = Some(client_id.into());
        self.origin = Some(origin.into());
        self.client_secret = None;
        self
    }

    /// The user's Personal Access Token (`X-PAT`), checked before any bearer token.
    pub fn pat(mut self, pat: SecretToken) -> Self {
        self.pat = Some(pat);
        self
    }

    /// A fixed bearer access token (`Authorization: Bearer`).
    pub fn bearer_token(mut self, token: SecretToken) -> Self {
        self.bearer = Some(token);
        self
    }

    /// A source of refreshing access tokens (e.g. an `airlock-auth` session).
    pub fn token_source(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.token_source = Some(source);
        self
    }

    /// The retry policy (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The default total timeout of each request (default: the transport's). Long-polls
    /// always use their wait plus a margin.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The default enforcer id: used wherever a call names none —
    /// [`PairingRequest::default`](crate::PairingRequest), a
    /// [`HeartbeatOptions`](crate::HeartbeatOptions) without
    /// [`enforcer_id`](crate::HeartbeatOptions::enforcer_id). An id given explicitly always
    /// wins. Without a default, a call that names no enforcer is [`Error::InvalidInput`].
    pub fn enforcer_id(mut self, enforcer_id: impl Into<String>) -> Self {
        self.enforcer_id = Some(enforcer_id.into());
        self
    }

    /// The replay journal for decision verification (default: in memory). Give a
    /// `FileReplayJournal` so replays are caught across restarts.
    pub fn replay_journal(mut self, journal: Arc<dyn ReplayJournal>) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Replaces the `User-Agent` (default [`DEFAULT_USER_AGENT`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Builds the client. Fails on an invalid base URL or header values.
    pub fn build(self) -> Result<GatewayClient, Error> {
        let base = BaseUrl::parse(&self.base_url)?;
        let header = |what: &str, v: &str| {
            HeaderValue::from_str(v)
                .map_err(|_| Error::invalid_input(format!("{what} is not a valid header value")))
        };
        let client_id = self
            .client_id
            .as_deref()
            .map(|v| header("client id", v))
            .transpose()?;
        let origin = self
            .origin
            .as_deref()
            .map(|v| header("origin", v))
            .transpose()?;
        let user_agent = header(
            "user agent",
            self.user_agent.as_deref().unwrap_or(DEFAULT_USER_AGENT),
        )?;
        let mut app_headers = HeaderMap::with_capacity(8);
        app_headers.insert(USER_AGENT, user_agent);
        app_headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_VALUE));
        if let Some(id) = &client_id {
            app_headers.insert(X_CLIENT_ID, id.clone());
        }
        if let Some(secret) = &self.client_secret {
            app_headers.insert(X_CLIENT_SECRET, secret_header("client secret", "", secret)?);
        }
        if let Some(origin) = &origin {
            app_headers.insert(ORIGIN, origin.clone());
        }
        let identity = RwLock::new(Identity::new(
            &app_headers,
            self.pat.map(|p| Credential::new("PAT", "", &p)),
            self.bearer
                .map(|t| Credential::new("bearer token", "Bearer ", &t)),
        ));
        let transport = match self.transport {
            Some(t) => t,
            None => Arc::new(airlock_http::HyperTransport::new()) as Arc<dyn HttpClient>,
        };
        Ok(GatewayClient {
            inner: Arc::new(Inner {
                base,
                transport,
                client_id,
                has_client_secret: self.client_secret.is_some(),
                origin,
                app_headers,
                identity,
                token_source: self.token_source,
                retry: self.retry,
                timeout: self.timeout,
                enforcer_id: self.enforcer_id,
                journal: self
                    .journal
                    .unwrap_or_else(|| Arc::new(MemoryReplayJournal::new())),
            }),
        })
    }
}
