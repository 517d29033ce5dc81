//! Configuration of an [`AuthClient`](crate::AuthClient).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use airlock_http::SecretToken;

use crate::{AuthError, Clock, SystemClock};

/// The scopes requested when none are configured: `openid profile email`.
///
/// `offline_access` is not in the default: Keycloak (the production IdP) issues refresh
/// tokens without it, and there it would create long-lived offline sessions. Providers
/// that need it for refresh tokens (node-oidc-provider, Auth0, ...) get it through
/// [`AuthConfig::with_offline_access`].
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email"];

/// How a confidential client authenticates to the token and revocation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// Chosen from discovery's `token_endpoint_auth_methods_supported`:
    /// `client_secret_basic` when listed (or when the list is absent, as it is the
    /// default), else `client_secret_post`.
    #[default]
    Auto,
    /// HTTP Basic with the url-encoded client id and secret (RFC 6749 §2.3.1).
    SecretBasic,
    /// `client_id` and `client_secret` in the form body.
    SecretPost,
}

/// How an [`AuthClient`](crate::AuthClient) talks to the OpenID Provider.
///
/// ```
/// use airlock_auth::AuthConfig;
/// let config = AuthConfig::new("https://id.example.com/realms/airlock", "airlock-integrations")
///     .unwrap()
///     .with_offline_access();
/// assert_eq!(config.scopes(), ["openid", "profile", "email", "offline_access"]);
/// ```
#[derive(Clone)]
#[must_use]
pub struct AuthConfig {
    pub(crate) issuer: url::Url,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<SecretToken>,
    pub(crate) auth_method: ClientAuthMethod,
    pub(crate) scopes: Vec<String>,
    pub(crate) request_timeout: Duration,
    pub(crate) refresh_margin: Duration,
    pub(crate) clock: Arc<dyn Clock>,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("auth_method", &self.auth_method)
            .field("scopes", &self.scopes)
            .field("request_timeout", &self.request_timeout)
            .field("refresh_margin", &self.refresh_margin)
            .field("clock", &self.clock)
            .finish()
    }
}

impl AuthConfig {
    /// A public client of the provider at `issuer` (the realm URL; discovery is read from
    /// `{issuer}/.well-known/openid-configuration`).
    ///
    /// Defaults: [`DEFAULT_SCOPES`], 30 s per HTTP request, refresh 60 s before expiry.
    pub fn new(issuer: &str, client_id: impl Into<String>) -> Result<Self, AuthError> {
        let issuer = url::Url::parse(issuer).map_err(|e| AuthError::InvalidConfig {
            message: format!("issuer URL: {e}"),
        })?;
        if !matches!(issuer.scheme(), "https" | "http")
            || issuer.query().is_some()
            || issuer.fragment().is_some()
        {
            return Err(AuthError::InvalidConfig {
                message: "issuer must be an http(s) URL without query or fragment".into(),
            });
        }
        let client_id = client_id.into();
        if client_id.is_empty() {
            return Err(AuthError::InvalidConfig {
                message: "client id is empty".into(),
            });
        }
        Ok(Self {
            issuer,
            client_id,
            client_secret: None,
            auth_method: ClientAuthMethod::Auto,
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            request_timeout: Duration::from_secs(30),
            refresh_margin: Duration::from_secs(60),
            clock: Arc::new(SystemClock),
        })
    }

    /// A public client configured from the gateway's `/v1/integrations/discovery`: its
    /// realm URL (the issuer) and client id.
    pub fn from_discovery(
        discovery: &airlock_types::IntegrationsDiscovery,
    ) -> Result<Self, AuthError> {
        Self::new(&discovery.idp.base_url, discovery.idp.client_id.clone())
    }

    /// Makes this a confidential client authenticating with `secret`.
    pub fn with_client_secret(mut self, secret: SecretToken) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// How the client secret is sent (default [`ClientAuthMethod::Auto`]).
    pub fn with_client_auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// Replaces the requested scopes.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Adds `offline_access` (needed by some providers to issue refresh tokens; the
    /// authorization URL then also carries `prompt=consent`, OIDC Core §11).
    pub fn with_offline_access(mut self) -> Self {
        if !self.scopes.iter().any(|s| s == "offline_access") {
            self.scopes.push("offline_access".into());
        }
        self
    }

    /// The total time allowed for each HTTP request to the provider (default 30 s).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long before expiry an access token is refreshed (default 60 s).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Replaces the clock (tests inject one whose `sleep` returns at once).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }
    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
    /// The requested scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
    /// The discovery document's URL: `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.as_str().trim_end_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_issuer_and_client_id() {
        assert!(AuthConfig::new("not a url", "c").is_err());
        assert!(AuthConfig::new("ftp://x", "c").is_err());
        assert!(AuthConfig::new("https://x/?q=1", "c").is_err());
        assert!(AuthConfig::new("https://x", "").is_err());
        let c = AuthConfig::new("https://x/realms/r/", "c").unwrap();
        assert_eq!(
            c.discovery_url(),
            "https://x/realms/r/.well-known/openid-configuration"
        );
        assert_eq!(c.scopes(), DEFAULT_SCOPES);
    }

    #[test]
    fn from_gateway_discovery() {
        let discovery: airlock_types::IntegrationsDiscovery = serde_json::from_str(
            r#"{"idp":{"baseUrl":"https://id.example.com/realms/airlock"},"auth":{"patSupported":true}}"#,
        )
        .unwrap();
        let c = AuthConfig::from_discovery(&discovery).unwrap();
        assert_eq!(c.issuer(), "https://id.example.com/realms/airlock");
        assert_eq!(c.client_id(), "airlock-integrations");
    }

    #[test]
    fn debug_redacts_the_secret() {
        let c = AuthConfig::new("https://x", "c")
            .unwrap()
            .with_client_secret("hunter2".into());
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
