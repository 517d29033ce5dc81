//! The tokens a sign-in produces.

use std::time::{Duration, SystemTime};

use airlock_http::SecretToken;
use oauth2::TokenResponse as _;

/// Extra token-response fields: the OIDC `id_token`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct IdTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id_token: Option<String>,
}
impl oauth2::ExtraTokenFields for IdTokenFields {}

/// The token endpoint's response as oauth2 parses it.
pub(crate) type OidcTokenResponse =
    oauth2::StandardTokenResponse<IdTokenFields, oauth2::basic::BasicTokenType>;

/// An access token with its refresh token, ID token, expiry and scopes.
///
/// Every token is a [`SecretToken`]: redacted in `Debug`, zeroized on drop.
#[derive(Debug, Clone)]
pub struct TokenSet {
    access_token: SecretToken,
    refresh_token: Option<SecretToken>,
    id_token: Option<SecretToken>,
    expires_at: Option<SystemTime>,
    scopes: Vec<String>,
}

impl TokenSet {
    /// A token set holding only an access token (no expiry known, no refresh token).
    pub fn new(access_token: SecretToken) -> Self {
        Self {
            access_token,
            refresh_token: None,
            id_token: None,
            expires_at: None,
            scopes: Vec::new(),
        }
    }

    /// Sets the refresh token.
    #[must_use]
    pub fn with_refresh_token(mut self, refresh_token: SecretToken) -> Self {
        self.refresh_token = Some(refresh_token);
        self
    }

    /// Sets the OIDC ID token.
    #[must_use]
    pub fn with_id_token(mut self, id_token: SecretToken) -> Self {
        self.id_token = Some(id_token);
        self
    }

    /// Sets when the access token expires.
    #[must_use]
    pub fn with_expires_at(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Sets the granted scopes.
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The access token (send it as `Authorization: Bearer`).
    pub fn access_token(&self) -> &SecretToken {
        &self.access_token
    }
    /// The refresh token, if the provider issued one.
    pub fn refresh_token(&self) -> Option<&SecretToken> {
        self.refresh_token.as_ref()
    }
    /// The OIDC ID token, if the provider issued one.
    pub fn id_token(&self) -> Option<&SecretToken> {
        self.id_token.as_ref()
    }
    /// When the access token expires, if the provider said (`expires_in`).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }
    /// The granted scopes (as the provider reported them, else as requested).
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// True when the access token expires within `margin` of `now` (never, when no
    /// expiry is known).
    pub fn expires_within(&self, now: SystemTime, margin: Duration) -> bool {
        match self.expires_at {
            Some(at) => now.checked_add(margin).is_none_or(|limit| limit >= at),
            None => false,
        }
    }

    /// Builds a token set from a token response. `previous` supplies the refresh token
    /// when the provider did not rotate it, and `requested_scopes` the scopes when the
    /// response omits them (RFC 6749 §5.1: omitted means "as requested").
    pub(crate) fn from_response(
        response: OidcTokenResponse,
        now: SystemTime,
        previous: Option<&TokenSet>,
        requested_scopes: &[String],
    ) -> Result<Self, crate::AuthError> {
        if !response
            .token_type()
            .as_ref()
            .eq_ignore_ascii_case("bearer")
        {
            return Err(crate::AuthError::BadResponse {
                message: format!(
                    "unsupported token_type `{}` (expected Bearer)",
                    response.token_type().as_ref()
                ),
            });
        }
        let refresh_token = response
            .refresh_token()
            .map(|t| SecretToken::new(t.secret().as_str()))
            .or_else(|| previous.and_then(|p| p.refresh_token.clone()));
        let id_token = response
            .extra_fields()
            .id_token
            .as_deref()
            .map(SecretToken::new)
            .or_else(|| previous.and_then(|p| p.id_token.clone()));
        let scopes = match response.scopes() {
            Some(scopes) => scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            None => match previous {
                Some(p) if !p.scopes.is_empty() => p.scopes.clone(),
                _ => requested_scopes.to_vec(),
            },
        };
        Ok(Self {
            access_token: SecretToken::new(response.access_token().secret().as_str()),
            refresh_token,
            id_token,
            expires_at: response.expires_in().and_then(|d| now.checked_add(d)),
            scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> OidcTokenResponse {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn keeps_old_refresh_token_when_not_rotated() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let old = TokenSet::new("a0".into())
            .with_refresh_token("r0".into())
            .with_scopes(["openid"]);
        let set = TokenSet::from_response(
            parse(r#"{"access_token":"a1","token_type":"Bearer","expires_in":60}"#),
            now,
            Some(&old),
            &[],
        )
        .unwrap();
        assert_eq!(set.access_token().expose_secret(), "a1");
        assert_eq!(set.refresh_token().unwrap().expose_secret(), "r0");
        assert_eq!(set.expires_at(), Some(now + Duration::from_secs(60)));
        assert_eq!(set.scopes(), ["openid"]);
        assert!(set.expires_within(now, Duration::from_secs(60)));
        assert!(!set.expires_within(now, Duration::from_secs(59)));
    }

    #[test]
    fn rotated_refresh_token_replaces_the_old_one() {
        let old = TokenSet::new("a0".into()).with_refresh_token("r0".into());
        let set = TokenSet::from_response(
            parse(
                r#"{"access_token":"a1","token_type":"bearer","refresh_token":"r1","id_token":"i1","scope":"openid email"}"#,
            ),
            SystemTime::UNIX_EPOCH,
            Some(&old),
            &["x".into()],
        )
        .unwrap();
        assert_eq!(set.refresh_token().unwrap().expose_secret(), "r1");
        assert_eq!(set.id_token().unwrap().expose_secret(), "i1");
        assert_eq!(set.scopes(), ["openid", "email"]);
        assert_eq!(set.expires_at(), None);
        assert!(!set.expires_within(SystemTime::now(), Duration::from_secs(1_000_000)));
    }

    #[test]
    fn rejects_non_bearer_tokens() {
        let err = TokenSet::from_response(
            parse(r#"{"access_token":"a1","token_type":"DPoP"}"#),
            SystemTime::UNIX_EPOCH,
            None,
            &[],
        )
        .unwrap_err();
        assert!(matches!(err, crate::AuthError::BadResponse { .. }));
    }

    #[test]
    fn debug_is_redacted() {
        let set = TokenSet::new("access-secret".into()).with_refresh_token("refresh-secret".into());
        let dbg = format!("{set:?}");
        assert!(!dbg.contains("access-secret") && !dbg.contains("refresh-secret"));
    }
}
