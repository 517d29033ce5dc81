//! Secrets and the user identity: [`SecretToken`], [`TokenSource`], [`TokenSourceError`].

use std::error::Error as StdError;
use std::fmt;

use crate::BoxFuture;

/// A secret string (PAT, access token, refresh token, client secret): redacted in `Debug`,
/// zeroized on drop, deliberately without `PartialEq` and `Display`.
///
/// ```
/// use airlock_http::SecretToken;
///
/// let token = SecretToken::new("pat_0123456789");
/// assert_eq!(format!("{token:?}"), "SecretToken(<redacted>)");
/// assert_eq!(token.expose_secret(), "pat_0123456789");
/// ```
#[derive(Clone)]
pub struct SecretToken(zeroize::Zeroizing<String>);

impl SecretToken {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(zeroize::Zeroizing::new(secret.into()))
    }

    /// The secret itself; call only where it is sent.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(<redacted>)")
    }
}

impl From<String> for SecretToken {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for SecretToken {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

/// A source of user access tokens (e.g. `airlock-auth`'s refreshing OAuth session).
///
/// The gateway client asks for a token before each request; after a `401` it asks once more
/// with `force_refresh = true` and retries once.
///
/// ```
/// use airlock_http::{BoxFuture, SecretToken, TokenSource, TokenSourceError};
///
/// /// A fixed token, e.g. read from the environment.
/// #[derive(Debug)]
/// struct Fixed(SecretToken);
///
/// impl TokenSource for Fixed {
///     fn access_token(&self, _force_refresh: bool) -> BoxFuture<'_, Result<SecretToken, TokenSourceError>> {
///         let token = self.0.clone();
///         Box::pin(async move { Ok(token) })
///     }
/// }
/// ```
pub trait TokenSource: Send + Sync + fmt::Debug + 'static {
    /// Returns a currently valid access token, refreshing it first when `force_refresh` is
    /// set or when it is about to expire.
    fn access_token(
        &self,
        force_refresh: bool,
    ) -> BoxFuture<'_, Result<SecretToken, TokenSourceError>>;
}

/// Why a [`TokenSource`] could not produce a token.
#[derive(Debug, thiserror::Error)]
#[error("could not obtain an access token: {message}")]
pub struct TokenSourceError {
    /// A description without secrets.
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn StdError + Send + Sync>>,
}

impl TokenSourceError {
    /// An error with a message and no underlying cause.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and the underlying cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}
