//! OAuth 2.0 / OpenID Connect documents (snake_case on the wire).

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use zeroize::Zeroize;

use crate::macros::wire_enum;
use crate::serde_util::null_as_default;

/// `GET {realm}/.well-known/openid-configuration` (the fields this SDK uses).
///
/// Lists read a missing or `null` value as empty and are not written when empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OidcDiscovery {
    /// The issuer identifier.
    pub issuer: String,
    /// The authorization endpoint (auth code + PKCE).
    pub authorization_endpoint: String,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The device authorization endpoint (RFC 8628).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// The revocation endpoint (RFC 7009).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// The introspection endpoint (RFC 7662).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// The userinfo endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// The RP-initiated logout endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// The JSON Web Key Set URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Supported grant types.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub grant_types_supported: Vec<String>,
    /// Supported response types.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub response_types_supported: Vec<String>,
    /// Supported scopes.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scopes_supported: Vec<String>,
    /// Supported PKCE methods.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub code_challenge_methods_supported: Vec<String>,
    /// Supported client authentication methods at the token endpoint.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Supported subject identifier types.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub subject_types_supported: Vec<String>,
    /// Supported ID token signing algorithms.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub id_token_signing_alg_values_supported: Vec<String>,
}

impl OidcDiscovery {
    /// The device grant's `grant_type`.
    pub const DEVICE_CODE_GRANT: &'static str = "urn:ietf:params:oauth:grant-type:device_code";

    /// A document with the three required endpoints and nothing else.
    #[must_use]
    pub fn new(
        issuer: impl Into<String>,
        authorization_endpoint: impl Into<String>,
        token_endpoint: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            authorization_endpoint: authorization_endpoint.into(),
            token_endpoint: token_endpoint.into(),
            device_authorization_endpoint: None,
            revocation_endpoint: None,
            introspection_endpoint: None,
            userinfo_endpoint: None,
            end_session_endpoint: None,
            jwks_uri: None,
            grant_types_supported: Vec::new(),
            response_types_supported: Vec::new(),
            scopes_supported: Vec::new(),
            code_challenge_methods_supported: Vec::new(),
            token_endpoint_auth_methods_supported: Vec::new(),
            subject_types_supported: Vec::new(),
            id_token_signing_alg_values_supported: Vec::new(),
        }
    }

    /// Whether the provider advertises PKCE with `S256`.
    #[must_use]
    pub fn supports_pkce_s256(&self) -> bool {
        self.code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
    }

    /// Whether the provider has a device authorization endpoint.
    #[must_use]
    pub fn supports_device_grant(&self) -> bool {
        self.device_authorization_endpoint.is_some()
    }
}

/// The device authorization response (RFC 8628 §3.2).
///
/// `device_code` is a credential: it is redacted in `Debug` and zeroized on drop.
#[derive(Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeviceAuthorizationResponse {
    /// The device verification code (secret).
    pub device_code: String,
    /// The code the user enters.
    pub user_code: String,
    /// Where the user enters it (also read from `verification_url`).
    #[serde(alias = "verification_url")]
    pub verification_uri: String,
    /// A URI that includes the user code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri_complete: Option<String>,
    /// Lifetime of the codes, in seconds (a numeric string is accepted).
    #[serde(deserialize_with = "lenient_u64")]
    pub expires_in: u64,
    /// The minimum polling interval in seconds; see
    /// [`interval_or_default`](Self::interval_or_default).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_u64"
    )]
    pub interval: Option<u64>,
}

impl DeviceAuthorizationResponse {
    /// The polling interval when the server gives none: 5 seconds.
    pub const DEFAULT_INTERVAL_SECS: u64 = 5;

    /// A response with the required fields.
    #[must_use]
    pub fn new(
        device_code: impl Into<String>,
        user_code: impl Into<String>,
        verification_uri: impl Into<String>,
        expires_in: u64,
    ) -> Self {
        Self {
            device_code: device_code.into(),
            user_code: user_code.into(),
            verification_uri: verification_uri.into(),
            verification_uri_complete: None,
            expires_in,
            interval: None,
        }
    }

    /// The polling interval in seconds (5 when absent).
    #[must_use]
    pub fn interval_or_default(&self) -> u64 {
        self.interval.unwrap_or(Self::DEFAULT_INTERVAL_SECS)
    }
}

impl fmt::Debug for DeviceAuthorizationResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorizationResponse")
            .field("device_code", &Redacted)
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("verification_uri_complete", &self.verification_uri_complete)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish()
    }
}

impl Drop for DeviceAuthorizationResponse {
    fn drop(&mut self) {
        self.device_code.zeroize();
    }
}

/// A successful token response (RFC 6749 §5.1; OIDC adds `id_token`).
///
/// The tokens are credentials: redacted in `Debug` and zeroized on drop. There is no
/// `PartialEq`, so tokens are not compared by accident in non-constant time.
#[derive(Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token (secret).
    pub access_token: String,
    /// The token type, normally `Bearer`.
    #[serde(default = "bearer", deserialize_with = "token_type_or_bearer")]
    pub token_type: String,
    /// Lifetime of the access token in seconds (a numeric string is accepted).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_u64"
    )]
    pub expires_in: Option<u64>,
    /// The refresh token (secret); absent when the provider keeps the old one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Lifetime of the refresh token in seconds (Keycloak's `refresh_expires_in`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_u64"
    )]
    pub refresh_expires_in: Option<u64>,
    /// The OIDC ID token (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl TokenResponse {
    /// A `Bearer` token response with only an access token.
    #[must_use]
    pub fn bearer(access_token: impl Into<String>) -> Self {
        Self {
            access_token: access_token.into(),
            token_type: bearer(),
            expires_in: None,
            refresh_token: None,
            refresh_expires_in: None,
            id_token: None,
            scope: None,
        }
    }
}

fn bearer() -> String {
    "Bearer".to_owned()
}

fn token_type_or_bearer<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_else(bearer))
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &Redacted)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| Redacted),
            )
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("id_token", &self.id_token.as_ref().map(|_| Redacted))
            .field("scope", &self.scope)
            .finish()
    }
}

impl Drop for TokenResponse {
    fn drop(&mut self) {
        self.access_token.zeroize();
        self.refresh_token.zeroize();
        self.id_token.zeroize();
    }
}

/// Prints `<redacted>` in place of a secret.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

wire_enum! {
    /// OAuth error codes (RFC 6749 §5.2, RFC 8628 §3.5).
    pub enum OAuthErrorCode {
        /// Device grant: the user has not finished yet; keep polling.
        AuthorizationPending = "authorization_pending",
        /// Device grant: poll more slowly (interval + 5 s).
        SlowDown = "slow_down",
        /// The user or server denied the request.
        AccessDenied = "access_denied",
        /// Device grant: the device code expired.
        ExpiredToken = "expired_token",
        /// The grant (code, refresh token, device code) is invalid, expired or revoked.
        InvalidGrant = "invalid_grant",
        /// Client authentication failed.
        InvalidClient = "invalid_client",
        /// The request is malformed.
        InvalidRequest = "invalid_request",
        /// The client may not use this grant type.
        UnauthorizedClient = "unauthorized_client",
        /// The grant type is not supported.
        UnsupportedGrantType = "unsupported_grant_type",
        /// The requested scope is invalid.
        InvalidScope = "invalid_scope",
    }
}

/// An OAuth error response (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OAuthErrorResponse {
    /// The error code.
    pub error: OAuthErrorCode,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// A page about the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
}

impl OAuthErrorResponse {
    /// An error without description or URI.
    #[must_use]
    pub fn new(error: OAuthErrorCode) -> Self {
        Self {
            error,
            error_description: None,
            error_uri: None,
        }
    }
}

/// A `u64` given as a JSON number or a numeric string (some providers quote numbers).
#[derive(Deserialize)]
#[serde(untagged)]
enum U64OrString {
    Number(u64),
    Text(String),
}

impl U64OrString {
    fn into_u64<E: serde::de::Error>(self) -> Result<u64, E> {
        match self {
            Self::Number(n) => Ok(n),
            Self::Text(text) => text
                .trim()
                .parse()
                .map_err(|_| E::custom(format!("expected a non-negative integer, got {text:?}"))),
        }
    }
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    U64OrString::deserialize(d)?.into_u64()
}

fn lenient_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Option::<U64OrString>::deserialize(d)?
        .map(U64OrString::into_u64)
        .transpose()
}
