//! The authorization request of the authorization code flow and its PKCE verifier.

use std::fmt;

use zeroize::Zeroizing;

/// A PKCE code verifier (RFC 7636): secret, redacted in `Debug`, zeroized on drop, and
/// deliberately not `Clone` — it is used for exactly one code exchange.
pub struct PkceVerifier(Zeroizing<String>);

impl PkceVerifier {
    /// Wraps a verifier (e.g. one kept across a manual redirect on mobile).
    pub fn new(secret: impl Into<String>) -> Self {
        Self(Zeroizing::new(secret.into()))
    }
    /// The verifier itself; call only where it is sent.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier(<redacted>)")
    }
}

/// An authorization request: the URL to open in a browser, the `state` to expect back,
/// and the PKCE verifier for [`AuthClient::exchange_code`](crate::AuthClient::exchange_code).
#[derive(Debug)]
#[non_exhaustive]
pub struct AuthorizationRequest {
    /// The authorization URL (with `response_type=code`, `client_id`, `redirect_uri`,
    /// `scope`, `state`, `code_challenge`, `code_challenge_method=S256`).
    pub url: url::Url,
    /// The `state` value the redirect must carry back.
    pub state: String,
    /// The PKCE code verifier.
    pub verifier: PkceVerifier,
    /// The redirect URI in the URL (pass it again to `exchange_code`).
    pub redirect_uri: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_is_redacted() {
        let v = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(format!("{v:?}"), "PkceVerifier(<redacted>)");
        assert_eq!(
            v.expose_secret(),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
    }

    #[test]
    fn rfc7636_appendix_b_challenge() {
        // oauth2 computes the S256 challenge; check it against RFC 7636 Appendix B.
        let verifier =
            oauth2::PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        let challenge = oauth2::PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        assert_eq!(
            challenge.as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(challenge.method().as_str(), "S256");
    }
}
