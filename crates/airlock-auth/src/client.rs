//! [`AuthClient`]: discovery, device grant, authorization code + PKCE, refresh, revocation.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use airlock_http::{Bytes, HttpClient, SecretToken};
use airlock_types::OidcDiscovery;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
};
use oauth2::{
    AuthType, EmptyExtraDeviceAuthorizationFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    StandardRevocableToken,
};

use crate::pkce::{AuthorizationRequest, PkceVerifier};
use crate::tokens::OidcTokenResponse;
use crate::transport::{OAuthHttp, RecordingHttp};
use crate::{AuthConfig, AuthError, ClientAuthMethod, TokenSet};

/// The longest wait between device-grant polls after transport errors (oauth2 doubles
/// the interval on each failure up to this).
const MAX_DEVICE_BACKOFF: Duration = Duration::from_secs(30);

pub(crate) type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    OidcTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointMaybeSet,
    EndpointMaybeSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The discovery document with the oauth2 client built from it.
#[derive(Debug)]
struct Provider {
    metadata: Arc<OidcDiscovery>,
    oauth: OAuthClient,
    /// How the client authenticates, resolved once for oauth2's requests and ours.
    auth_type: AuthType,
}

/// What the user must do to approve a device sign-in: open a URI and (unless the URI
/// already carries it) enter the user code.
#[derive(Debug)]
pub struct DeviceAuthorization {
    inner: oauth2::DeviceAuthorizationResponse<EmptyExtraDeviceAuthorizationFields>,
}

impl DeviceAuthorization {
    /// The code the user enters at [`verification_uri`](Self::verification_uri).
    pub fn user_code(&self) -> &str {
        self.inner.user_code().secret()
    }
    /// Where the user enters the code.
    pub fn verification_uri(&self) -> &str {
        self.inner.verification_uri().as_str()
    }
    /// A URI that already carries the user code, when the provider offers one.
    pub fn verification_uri_complete(&self) -> Option<&str> {
        self.inner
            .verification_uri_complete()
            .map(|u| u.secret().as_str())
    }
    /// The URI to show or open: [`verification_uri_complete`](Self::verification_uri_complete)
    /// when present, else [`verification_uri`](Self::verification_uri).
    pub fn uri_to_open(&self) -> &str {
        self.verification_uri_complete()
            .unwrap_or_else(|| self.verification_uri())
    }
    /// How long the codes are valid.
    pub fn expires_in(&self) -> Duration {
        self.inner.expires_in()
    }
    /// The polling interval (the provider's `interval`, default 5 s).
    pub fn interval(&self) -> Duration {
        self.inner.interval()
    }
}

/// Which token [`AuthClient::revoke`] revokes (sent as `token_type_hint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenKind {
    /// An access token.
    AccessToken,
    /// A refresh token (revoking it ends the grant at most providers).
    RefreshToken,
}

impl TokenKind {
    /// The RFC 7009 `token_type_hint` for this kind.
    pub fn type_hint(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
        }
    }
}

/// An OpenID Connect client: discovery, device grant, authorization code + PKCE, refresh
/// and revocation, with every HTTP call made through the shared [`HttpClient`].
///
/// Cheap to clone (an `Arc` inside); clones share the cached discovery document.
#[derive(Clone)]
pub struct AuthClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: AuthConfig,
    http: OAuthHttp,
    provider: tokio::sync::OnceCell<Arc<Provider>>,
}

impl fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthClient")
            .field("config", &self.inner.config)
            .field("discovered", &self.inner.provider.initialized())
            .finish()
    }
}

impl AuthClient {
    /// A client with its own default transport ([`airlock_http::HyperTransport::new`]:
    /// `https`, plain `http` to loopback only, no redirects followed).
    ///
    /// Prefer [`with_http_client`](Self::with_http_client) with the gateway client's
    /// transport, so both share one connection pool.
    pub fn new(config: AuthConfig) -> Self {
        Self::with_http_client(config, Arc::new(airlock_http::HyperTransport::new()))
    }

    /// A client sending its requests through `http` (share the gateway's transport; any
    /// [`HttpClient`], including a closure in tests).
    pub fn with_http_client(config: AuthConfig, http: Arc<dyn HttpClient>) -> Self {
        let http = OAuthHttp::new(http, config.request_timeout);
        Self {
            inner: Arc::new(Inner {
                config,
                http,
                provider: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// Fetches (once, then cached) and returns the provider's discovery document
    /// (`{issuer}/.well-known/openid-configuration`). Its `issuer` must equal the
    /// configured issuer (trailing `/` aside). A failed fetch is not cached.
    pub async fn discover(&self) -> Result<Arc<OidcDiscovery>, AuthError> {
        Ok(self.provider().await?.metadata.clone())
    }

    async fn provider(&self) -> Result<&Provider, AuthError> {
        self.inner
            .provider
            .get_or_try_init(|| async { self.fetch_provider().await.map(Arc::new) })
            .await
            .map(|p| &**p)
    }

    async fn fetch_provider(&self) -> Result<Provider, AuthError> {
        let config = &self.inner.config;
        let url = config.discovery_url();
        let request = http::Request::get(&url)
            .header(http::header::ACCEPT, "application/json")
            .body(Bytes::new())
            .map_err(|e| AuthError::InvalidConfig {
                message: format!("discovery URL: {e}"),
            })?;
        let response = self.inner.http.send(request).await?;
        if response.status() != http::StatusCode::OK {
            return Err(AuthError::Discovery {
                message: format!("GET {url} returned {}", response.status()),
            });
        }
        let metadata: OidcDiscovery =
            serde_json::from_slice(response.body()).map_err(|e| AuthError::Discovery {
                message: format!("invalid discovery document: {e}"),
            })?;
        if metadata.issuer.trim_end_matches('/') != config.issuer.as_str().trim_end_matches('/') {
            return Err(AuthError::Discovery {
                message: format!(
                    "issuer mismatch: configured {}, document says {}",
                    config.issuer, metadata.issuer
                ),
            });
        }
        let auth_type = client_auth_type(config, &metadata);
        let oauth = build_oauth_client(config, &metadata, auth_type.clone())?;
        Ok(Provider {
            metadata: Arc::new(metadata),
            oauth,
            auth_type,
        })
    }

    fn scopes(&self) -> impl Iterator<Item = oauth2::Scope> + '_ {
        self.inner
            .config
            .scopes
            .iter()
            .map(|s| oauth2::Scope::new(s.clone()))
    }

    fn token_set(
        &self,
        response: OidcTokenResponse,
        previous: Option<&TokenSet>,
    ) -> Result<TokenSet, AuthError> {
        TokenSet::from_response(
            response,
            self.inner.config.clock.now(),
            previous,
            &self.inner.config.scopes,
        )
    }

    // ----- Device Authorization Grant (RFC 8628) -----

    /// Starts a device sign-in: returns the user code and URIs to show the user.
    /// Then call [`poll_device_authorization`](Self::poll_device_authorization).
    pub async fn start_device_authorization(&self) -> Result<DeviceAuthorization, AuthError> {
        let provider = self.provider().await?;
        let inner = provider
            .oauth
            .exchange_device_code()
            .map_err(|_| AuthError::MissingEndpoint {
                endpoint: "device_authorization",
            })?
            .add_scopes(self.scopes())
            .request_async(&self.inner.http)
            .await
            .map_err(AuthError::from_request)?;
        Ok(DeviceAuthorization { inner })
    }

    /// Polls the token endpoint until the user approves or refuses, or the code expires.
    ///
    /// Waits `interval` between polls, 5 s longer after each `slow_down`; transport errors
    /// are retried with a doubling interval (at most 30 s). Stops at `expires_in` with
    /// [`AuthError::ExpiredToken`] (or the last transport error, if the last poll failed).
    /// Cancel by dropping the future.
    pub async fn poll_device_authorization(
        &self,
        authorization: &DeviceAuthorization,
    ) -> Result<TokenSet, AuthError> {
        let provider = self.provider().await?;
        let clock = self.inner.config.clock.clone();
        let sleep_clock = clock.clone();
        let recording = RecordingHttp::new(&self.inner.http);
        let result = provider
            .oauth
            .exchange_device_access_token(&authorization.inner)
            .set_time_fn(move || chrono::DateTime::<chrono::Utc>::from(clock.now()))
            .set_max_backoff_interval(MAX_DEVICE_BACKOFF)
            .request_async(&recording, move |d| sleep_clock.sleep(d), None)
            .await;
        match result {
            Ok(response) => self.token_set(response, None),
            Err(e) => {
                let error = AuthError::from_request(e);
                match (error, recording.take_last_error()) {
                    (AuthError::ExpiredToken, Some(transport)) => {
                        Err(AuthError::Transport(transport))
                    }
                    (error, _) => Err(error),
                }
            }
        }
    }

    /// The whole device sign-in: starts it, hands the codes to `show` (display
    /// [`DeviceAuthorization::uri_to_open`] and the user code), then polls until done.
    pub async fn device_login(
        &self,
        show: impl FnOnce(&DeviceAuthorization),
    ) -> Result<TokenSet, AuthError> {
        let authorization = self.start_device_authorization().await?;
        show(&authorization);
        self.poll_device_authorization(&authorization).await
    }

    // ----- Authorization Code + PKCE (RFC 7636) -----

    /// Builds the authorization URL for `redirect_uri` with a fresh `state` and an S256
    /// PKCE challenge. Keep the returned verifier for [`exchange_code`](Self::exchange_code).
    ///
    /// When the scopes include `offline_access`, `prompt=consent` is added (OIDC Core §11).
    pub async fn authorization_url(
        &self,
        redirect_uri: &str,
    ) -> Result<AuthorizationRequest, AuthError> {
        let provider = self.provider().await?;
        let redirect = parse_redirect(redirect_uri)?;
        let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
        let mut request = provider
            .oauth
            .authorize_url(oauth2::CsrfToken::new_random)
            .map_err(|_| AuthError::MissingEndpoint {
                endpoint: "authorization",
            })?
            .add_scopes(self.scopes())
            .set_pkce_challenge(challenge)
            .set_redirect_uri(Cow::Owned(redirect));
        if self
            .inner
            .config
            .scopes
            .iter()
            .any(|s| s == "offline_access")
        {
            request = request.add_extra_param("prompt", "consent");
        }
        let (url, state) = request.url();
        Ok(AuthorizationRequest {
            url,
            state: state.into_secret(),
            verifier: PkceVerifier::new(verifier.into_secret()),
            redirect_uri: redirect_uri.to_owned(),
        })
    }

    /// Exchanges an authorization `code` (with the PKCE verifier and the same redirect
    /// URI that was in the authorization URL) for tokens.
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: PkceVerifier,
        redirect_uri: &str,
    ) -> Result<TokenSet, AuthError> {
        let provider = self.provider().await?;
        let redirect = parse_redirect(redirect_uri)?;
        let response = provider
            .oauth
            .exchange_code(oauth2::AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(oauth2::PkceCodeVerifier::new(
                verifier.expose_secret().to_owned(),
            ))
            .set_redirect_uri(Cow::Owned(redirect))
            .request_async(&self.inner.http)
            .await
            .map_err(AuthError::from_request)?;
        self.token_set(response, None)
    }

    // ----- Refresh and revocation -----

    /// Refreshes `tokens`. The result keeps the old refresh token when the provider does
    /// not return a new one. Without a refresh token: [`AuthError::NotSignedIn`].
    pub async fn refresh(&self, tokens: &TokenSet) -> Result<TokenSet, AuthError> {
        let refresh_token = tokens.refresh_token().ok_or(AuthError::NotSignedIn)?;
        let provider = self.provider().await?;
        let refresh_token = oauth2::RefreshToken::new(refresh_token.expose_secret().to_owned());
        let response = provider
            .oauth
            .exchange_refresh_token(&refresh_token)
            .request_async(&self.inner.http)
            .await
            .map_err(AuthError::from_request)?;
        self.token_set(response, Some(tokens))
    }

    /// True when the provider has a revocation endpoint.
    pub async fn supports_revocation(&self) -> Result<bool, AuthError> {
        let provider = self.provider().await?;
        Ok(provider
            .metadata
            .revocation_endpoint
            .as_deref()
            .is_some_and(|u| !u.is_empty()))
    }

    /// Revokes `token` (RFC 7009) with the client's authentication.
    ///
    /// [`AuthError::MissingEndpoint`] when the provider has no revocation endpoint;
    /// [`AuthError::InvalidConfig`] when the endpoint is not `https` — RFC 7009 §2 requires
    /// the client to check — unless it is plain `http` on a loopback host (a local provider
    /// such as the Airlock sandbox; the same rule the transport applies). The request is made
    /// here rather than by `oauth2`, which refuses every non-`https` revocation URL.
    pub async fn revoke(&self, token: &SecretToken, kind: TokenKind) -> Result<(), AuthError> {
        let provider = self.provider().await?;
        let endpoint = provider
            .metadata
            .revocation_endpoint
            .as_deref()
            .filter(|u| !u.is_empty())
            .ok_or(AuthError::MissingEndpoint {
                endpoint: "revocation",
            })?;
        let url = url::Url::parse(endpoint).map_err(|e| AuthError::Discovery {
            message: format!("invalid revocation endpoint: {e}"),
        })?;
        let loopback_http =
            url.scheme() == "http" && url.host_str().is_some_and(airlock_http::is_loopback_host);
        if url.scheme() != "https" && !loopback_http {
            return Err(AuthError::InvalidConfig {
                message: "the revocation endpoint must be https (RFC 7009 section 2)".to_owned(),
            });
        }

        let config = &self.inner.config;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("token", token.expose_secret());
        form.append_pair("token_type_hint", kind.type_hint());
        let mut request = http::Request::post(url.as_str())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json");
        match (&config.client_secret, &provider.auth_type) {
            (Some(secret), AuthType::BasicAuth) => {
                // RFC 6749 §2.3.1: form-urlencode id and secret, then Basic.
                let encode = |v: &str| {
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                };
                let credentials = zeroize::Zeroizing::new(format!(
                    "{}:{}",
                    encode(&config.client_id),
                    encode(secret.expose_secret())
                ));
                let mut value = http::HeaderValue::try_from(format!(
                    "Basic {}",
                    base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        credentials.as_bytes()
                    )
                ))
                .map_err(|_| AuthError::InvalidConfig {
                    message: "client credentials cannot form an HTTP header".to_owned(),
                })?;
                value.set_sensitive(true);
                request = request.header(http::header::AUTHORIZATION, value);
            }
            (Some(secret), _) => {
                form.append_pair("client_id", &config.client_id);
                form.append_pair("client_secret", secret.expose_secret());
            }
            (None, _) => {
                form.append_pair("client_id", &config.client_id);
            }
        }
        let body = zeroize::Zeroizing::new(form.finish());
        let request = request
            .body(Bytes::copy_from_slice(body.as_bytes()))
            .map_err(|e| AuthError::InvalidConfig {
                message: format!("revocation request: {e}"),
            })?;
        let response = self.inner.http.send(request).await?;
        if response.status().is_success() {
            return Ok(());
        }
        // An OAuth error body names the error; anything else is reported by status alone
        // (never echoing the body, which could carry a token).
        match serde_json::from_slice::<airlock_types::OAuthErrorResponse>(response.body()) {
            Ok(error) => Err(AuthError::from_oauth(
                error.error.as_str(),
                error.error_description.clone(),
            )),
            Err(_) => Err(AuthError::BadResponse {
                message: format!("revocation endpoint returned {}", response.status()),
            }),
        }
    }
}

fn parse_redirect(redirect_uri: &str) -> Result<oauth2::RedirectUrl, AuthError> {
    oauth2::RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| AuthError::InvalidConfig {
        message: format!("redirect URI: {e}"),
    })
}

fn endpoint<T>(
    name: &'static str,
    url: Option<&String>,
    make: impl FnOnce(String) -> Result<T, url::ParseError>,
) -> Result<Option<T>, AuthError> {
    url.map(|u| {
        make(u.clone()).map_err(|e| AuthError::Discovery {
            message: format!("invalid {name} endpoint: {e}"),
        })
    })
    .transpose()
}

/// The client authentication method: configured, or chosen from discovery.
fn client_auth_type(config: &AuthConfig, metadata: &OidcDiscovery) -> AuthType {
    match config.auth_method {
        ClientAuthMethod::SecretBasic => AuthType::BasicAuth,
        ClientAuthMethod::SecretPost => AuthType::RequestBody,
        ClientAuthMethod::Auto => {
            let methods = &metadata.token_endpoint_auth_methods_supported;
            if !methods.iter().any(|m| m == "client_secret_basic")
                && methods.iter().any(|m| m == "client_secret_post")
            {
                AuthType::RequestBody
            } else {
                AuthType::BasicAuth
            }
        }
    }
}

fn build_oauth_client(
    config: &AuthConfig,
    metadata: &OidcDiscovery,
    auth_type: AuthType,
) -> Result<OAuthClient, AuthError> {
    let token = endpoint(
        "token",
        Some(&metadata.token_endpoint),
        oauth2::TokenUrl::new,
    )?
    .ok_or(AuthError::MissingEndpoint { endpoint: "token" })?;
    let mut client = oauth2::Client::new(oauth2::ClientId::new(config.client_id.clone()))
        .set_auth_type(auth_type)
        .set_token_uri(token)
        .set_auth_uri_option(endpoint(
            "authorization",
            Some(&metadata.authorization_endpoint).filter(|u| !u.is_empty()),
            oauth2::AuthUrl::new,
        )?)
        .set_device_authorization_url_option(endpoint(
            "device_authorization",
            metadata.device_authorization_endpoint.as_ref(),
            oauth2::DeviceAuthorizationUrl::new,
        )?);
    if let Some(secret) = &config.client_secret {
        client =
            client.set_client_secret(oauth2::ClientSecret::new(secret.expose_secret().to_owned()));
    }
    Ok(client)
}
