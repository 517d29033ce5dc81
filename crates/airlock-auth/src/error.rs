//! The crate's error type.

use std::time::Duration;

use airlock_http::TransportError;

/// Everything that can go wrong signing in, refreshing or signing out.
///
/// Grouped by what the caller does next: the user refused or the grant is gone (sign in
/// again), configuration or provider problems (fix the setup), transient failures (retry).
/// Messages never contain tokens, codes or client secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The configuration is unusable (malformed issuer URL, redirect URI, ...).
    #[error("invalid configuration: {message}")]
    InvalidConfig {
        /// What is wrong.
        message: String,
    },
    /// The OpenID Provider's discovery document could not be fetched or is unusable.
    #[error("OIDC discovery failed: {message}")]
    Discovery {
        /// What went wrong, without secrets.
        message: String,
    },
    /// The provider does not offer an endpoint this flow needs.
    #[error("the provider has no {endpoint} endpoint")]
    MissingEndpoint {
        /// Which endpoint (`device_authorization`, `authorization`, `revocation`, `token`).
        endpoint: &'static str,
    },
    /// The user (or the provider on their behalf) refused the authorization
    /// (`access_denied`).
    #[error("access denied{}", fmt_description(.description))]
    AccessDenied {
        /// The provider's `error_description`, if any.
        description: Option<String>,
    },
    /// The device code expired before the user approved it (`expired_token`, or the
    /// `expires_in` deadline passed while polling).
    #[error("the device code expired before it was approved")]
    ExpiredToken,
    /// The grant (authorization code, device code or refresh token) is invalid, expired,
    /// revoked or was already used (`invalid_grant`). Sign in again.
    #[error("invalid grant{}", fmt_description(.description))]
    InvalidGrant {
        /// The provider's `error_description`, if any.
        description: Option<String>,
    },
    /// The provider did not accept the client's credentials (`invalid_client`).
    #[error("invalid client{}", fmt_description(.description))]
    InvalidClient {
        /// The provider's `error_description`, if any.
        description: Option<String>,
    },
    /// Any other OAuth error response (`invalid_request`, `invalid_scope`,
    /// `unauthorized_client`, ...).
    #[error("the provider returned `{error}`{}", fmt_description(.description))]
    OAuth {
        /// The `error` code.
        error: String,
        /// The provider's `error_description`, if any.
        description: Option<String>,
    },
    /// The `state` returned to the redirect URI does not match the one sent (possible CSRF).
    #[error("the authorization response carried an unexpected state")]
    StateMismatch,
    /// The redirect's `iss` parameter names another issuer (RFC 9207: possible mix-up
    /// attack).
    #[error("the authorization response came from an unexpected issuer")]
    IssuerMismatch,
    /// The authorization server redirected back with `error=...`.
    #[error("authorization failed: `{error}`{}", fmt_description(.description))]
    Callback {
        /// The `error` code from the redirect (e.g. `access_denied`).
        error: String,
        /// The `error_description` from the redirect, if any.
        description: Option<String>,
    },
    /// Waiting for the browser redirect took longer than allowed.
    #[error("timed out after {0:?} waiting for the authorization redirect")]
    Timeout(Duration),
    /// The loopback redirect listener could not be started.
    #[error("could not start the loopback redirect listener")]
    Listener(#[source] std::io::Error),
    /// The HTTP request could not be completed.
    #[error("HTTP transport failed")]
    Transport(#[source] TransportError),
    /// The provider answered with something that is not a valid response.
    #[error("unexpected response from the provider: {message}")]
    BadResponse {
        /// What was wrong, without the body (it may contain tokens).
        message: String,
    },
    /// The token store failed.
    #[error("token store failed")]
    Store(#[source] crate::store::StoreError),
    /// No tokens are held (never signed in, signed out, or the grant was revoked), or the
    /// access token expired and there is no refresh token. Sign in again.
    #[error("not signed in")]
    NotSignedIn,
}

fn fmt_description(description: &Option<String>) -> String {
    match description {
        Some(d) if !d.is_empty() => format!(": {d}"),
        _ => String::new(),
    }
}

impl AuthError {
    /// True when the user refused (`access_denied`, from the token endpoint or the redirect).
    pub fn is_access_denied(&self) -> bool {
        matches!(self, Self::AccessDenied { .. })
            || matches!(self, Self::Callback { error, .. } if error == "access_denied")
    }
    /// True when the device code expired.
    pub fn is_expired_token(&self) -> bool {
        matches!(self, Self::ExpiredToken)
    }
    /// True for `invalid_grant`.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Self::InvalidGrant { .. })
    }
    /// True for `invalid_client`.
    pub fn is_invalid_client(&self) -> bool {
        matches!(self, Self::InvalidClient { .. })
    }
    /// True when a timeout expired (the redirect wait, or an HTTP request).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_)) || matches!(self, Self::Transport(t) if t.is_timeout())
    }
    /// True for transport failures (worth retrying later).
    pub fn is_transport(&self) -> bool {
        matches!(self, Self::Transport(_))
    }
    /// True when the user has to sign in again: no tokens, or the grant is gone
    /// (`invalid_grant`, `expired_token`, `access_denied`).
    pub fn requires_sign_in(&self) -> bool {
        matches!(self, Self::NotSignedIn | Self::ExpiredToken)
            || self.is_invalid_grant()
            || self.is_access_denied()
    }

    /// Maps an OAuth `error` code and description to the typed variant.
    pub(crate) fn from_oauth(error: &str, description: Option<String>) -> Self {
        match error {
            "access_denied" => Self::AccessDenied { description },
            "expired_token" => Self::ExpiredToken,
            "invalid_grant" => Self::InvalidGrant { description },
            "invalid_client" => Self::InvalidClient { description },
            other => Self::OAuth {
                error: other.to_owned(),
                description,
            },
        }
    }

    /// Maps any of oauth2's request errors through one path.
    pub(crate) fn from_request<T>(
        err: oauth2::RequestTokenError<TransportError, oauth2::StandardErrorResponse<T>>,
    ) -> Self
    where
        T: oauth2::ErrorResponseType + AsRef<str> + std::fmt::Display + 'static,
    {
        match err {
            oauth2::RequestTokenError::ServerResponse(resp) => {
                Self::from_oauth(resp.error().as_ref(), resp.error_description().cloned())
            }
            oauth2::RequestTokenError::Request(transport) => Self::Transport(transport),
            // The body is deliberately dropped: a successful token response that fails to
            // parse still carries tokens.
            oauth2::RequestTokenError::Parse(e, _body) => Self::BadResponse {
                message: format!("malformed JSON at `{}`", e.path()),
            },
            oauth2::RequestTokenError::Other(message) => Self::BadResponse { message },
        }
    }
}

impl From<TransportError> for AuthError {
    fn from(e: TransportError) -> Self {
        Self::Transport(e)
    }
}

impl From<crate::store::StoreError> for AuthError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Store(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_static_and_small() {
        fn assert_traits<T: Send + Sync + 'static + std::error::Error>() {}
        assert_traits::<AuthError>();
        assert!(std::mem::size_of::<AuthError>() <= 64);
    }

    #[test]
    fn oauth_codes_map_to_typed_variants() {
        assert!(AuthError::from_oauth("access_denied", None).is_access_denied());
        assert!(AuthError::from_oauth("expired_token", None).is_expired_token());
        assert!(AuthError::from_oauth("invalid_grant", None).is_invalid_grant());
        assert!(AuthError::from_oauth("invalid_client", None).is_invalid_client());
        let other = AuthError::from_oauth("invalid_scope", Some("nope".into()));
        assert!(matches!(&other, AuthError::OAuth { error, .. } if error == "invalid_scope"));
        assert_eq!(
            other.to_string(),
            "the provider returned `invalid_scope`: nope"
        );
        assert!(AuthError::from_oauth("invalid_grant", None).requires_sign_in());
        assert!(!AuthError::from_oauth("invalid_client", None).requires_sign_in());
    }
}
