//! [`AuthSession`]: held tokens that refresh themselves, persisted in a [`TokenStore`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use airlock_http::{BoxFuture, SecretToken, TokenSource, TokenSourceError, TransportError};

use crate::{AuthClient, AuthError, TokenKind, TokenSet, TokenStore};

/// A signed-in user: the [`TokenSet`] of one sign-in, refreshed ahead of expiry and kept in
/// a [`TokenStore`]. Implements [`TokenSource`], so the gateway client gets fresh tokens
/// (and, after a `401`, a forced refresh) by itself.
///
/// - [`access_token`](Self::access_token) refreshes when the token expires within the
///   configured margin (default 60 s). Refreshes are single-flight: concurrent callers
///   wait for one refresh and share its result.
/// - A rotated refresh token is saved to the store before it is returned or used.
/// - A refresh answered with `invalid_grant` (revoked, reused or expired grant) clears the
///   session and the store: the user must sign in again.
pub struct AuthSession {
    client: AuthClient,
    store: Arc<dyn TokenStore>,
    tokens: Arc<tokio::sync::Mutex<Option<TokenSet>>>,
    /// Bumped whenever `tokens` changes, so a forced refresh that waited for another
    /// one does not refresh a second time.
    generation: Arc<AtomicU64>,
}

impl fmt::Debug for AuthSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthSession")
            .field("client", &self.client)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// What [`AuthSession::logout`] managed to revoke at the provider.
#[derive(Debug)]
#[non_exhaustive]
pub enum RevocationOutcome {
    /// Every held token was revoked.
    Revoked,
    /// The provider has no revocation endpoint; the tokens stay valid until they expire.
    NotSupported,
    /// There were no tokens to revoke.
    NothingToRevoke,
    /// Some revocations failed (the local state is cleared anyway).
    Failed(Vec<(TokenKind, AuthError)>),
}

impl AuthSession {
    /// A session over `store`, holding whatever tokens it already contains.
    pub async fn open(client: AuthClient, store: Arc<dyn TokenStore>) -> Result<Self, AuthError> {
        let tokens = store.load().await?;
        Ok(Self {
            client,
            store,
            tokens: Arc::new(tokio::sync::Mutex::new(tokens)),
            generation: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The client this session refreshes and revokes with.
    pub fn client(&self) -> &AuthClient {
        &self.client
    }

    /// Holds the tokens of a new sign-in, saving them first.
    pub async fn sign_in(&self, tokens: TokenSet) -> Result<(), AuthError> {
        let mut held = self.tokens.lock().await;
        self.store.save(&tokens).await?;
        *held = Some(tokens);
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// True while tokens are held.
    pub async fn is_signed_in(&self) -> bool {
        self.tokens.lock().await.is_some()
    }

    /// A copy of the held tokens.
    pub async fn tokens(&self) -> Option<TokenSet> {
        self.tokens.lock().await.clone()
    }

    /// A valid access token, refreshed first when it expires within the refresh margin.
    ///
    /// When a refresh ahead of expiry fails for a transient reason (transport, provider
    /// error other than `invalid_grant`) and the current token has not expired yet, the
    /// current token is returned.
    pub async fn access_token(&self) -> Result<SecretToken, AuthError> {
        self.get(false).await
    }

    /// Refreshes now (unless another caller refreshed while this one waited) and returns
    /// the new access token.
    pub async fn refresh(&self) -> Result<SecretToken, AuthError> {
        self.get(true).await
    }

    async fn get(&self, force: bool) -> Result<SecretToken, AuthError> {
        let seen = self.generation.load(Ordering::Acquire);
        let held = self.tokens.clone().lock_owned().await;
        let tokens = held.as_ref().ok_or(AuthError::NotSignedIn)?;
        let config = self.client.config();
        let now = config.clock.now();
        let due = tokens.expires_within(now, config.refresh_margin);
        let refreshed_meanwhile = self.generation.load(Ordering::Acquire) != seen;
        if !due && (!force || refreshed_meanwhile) {
            return Ok(tokens.access_token().clone());
        }
        let expired = tokens.expires_within(now, Duration::ZERO);
        if tokens.refresh_token().is_none() {
            return if force || expired {
                Err(AuthError::NotSignedIn)
            } else {
                Ok(tokens.access_token().clone())
            };
        }
        // The refresh and the save run in their own task, holding the lock: if the caller
        // is cancelled after the provider rotated the refresh token, the new one is still
        // saved (reusing the old one would make the provider revoke the grant).
        let current = tokens.clone();
        let refresh = Refresh {
            client: self.client.clone(),
            store: self.store.clone(),
            generation: self.generation.clone(),
        };
        let task = tokio::spawn(refresh.run(held, current, force || expired));
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(AuthError::Transport(TransportError::Dispatch {
                message: "the token refresh was cancelled (runtime shutting down)".into(),
                source: None,
            })),
        }
    }

    /// Signs out: forgets the tokens (memory and store) and revokes the refresh and access
    /// tokens where the provider offers revocation. The local state is cleared even when
    /// revocation fails; only a failure to clear the store is an error.
    pub async fn logout(&self) -> Result<RevocationOutcome, AuthError> {
        let tokens = {
            let mut held = self.tokens.lock().await;
            self.generation.fetch_add(1, Ordering::AcqRel);
            held.take()
        };
        let cleared = self.store.clear().await;
        let outcome = match tokens {
            None => RevocationOutcome::NothingToRevoke,
            Some(tokens) => self.revoke_all(&tokens).await,
        };
        cleared?;
        Ok(outcome)
    }

    async fn revoke_all(&self, tokens: &TokenSet) -> RevocationOutcome {
        match self.client.supports_revocation().await {
            Ok(true) => {}
            Ok(false) => return RevocationOutcome::NotSupported,
            Err(e) => return RevocationOutcome::Failed(vec![(TokenKind::RefreshToken, e)]),
        }
        let mut failures = Vec::new();
        // The refresh token first: revoking it ends the grant.
        let held = [
            (TokenKind::RefreshToken, tokens.refresh_token()),
            (TokenKind::AccessToken, Some(tokens.access_token())),
        ];
        for (kind, token) in held
            .into_iter()
            .filter_map(|(kind, token)| Some((kind, token?)))
        {
            if let Err(e) = self.client.revoke(token, kind).await {
                failures.push((kind, e));
            }
        }
        if failures.is_empty() {
            RevocationOutcome::Revoked
        } else {
            RevocationOutcome::Failed(failures)
        }
    }
}

/// One refresh, run as its own task.
struct Refresh {
    client: AuthClient,
    store: Arc<dyn TokenStore>,
    generation: Arc<AtomicU64>,
}

impl Refresh {
    async fn run(
        self,
        mut held: tokio::sync::OwnedMutexGuard<Option<TokenSet>>,
        current: TokenSet,
        must_succeed: bool,
    ) -> Result<SecretToken, AuthError> {
        // One refresh at a time across processes: under the store's lock, load the tokens
        // again; another process may have rotated them meanwhile. Its fresh tokens are used
        // as they are, or refreshed with *its* refresh token, never the spent one.
        let _lock = self.store.lock_refresh().await?;
        let current = match self.store.load().await? {
            Some(latest) if !same_grant_state(&latest, &current) => {
                let config = self.client.config();
                if !latest.expires_within(config.clock.now(), config.refresh_margin) {
                    let access = latest.access_token().clone();
                    *held = Some(latest);
                    self.generation.fetch_add(1, Ordering::AcqRel);
                    return Ok(access);
                }
                latest
            }
            _ => current,
        };
        match self.client.refresh(&current).await {
            Ok(fresh) => {
                // Save before use: the old refresh token may already be invalid.
                let saved = self.store.save(&fresh).await;
                let access = fresh.access_token().clone();
                *held = Some(fresh);
                self.generation.fetch_add(1, Ordering::AcqRel);
                saved?;
                Ok(access)
            }
            Err(e) if e.is_invalid_grant() => {
                *held = None;
                self.generation.fetch_add(1, Ordering::AcqRel);
                if let Err(store_error) = self.store.clear().await {
                    tracing::warn!(error = %store_error, "could not clear the token store");
                }
                Err(e)
            }
            Err(e) if !must_succeed => {
                tracing::warn!(error = %e, "token refresh failed; using the current token");
                Ok(current.access_token().clone())
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether `a` and `b` hold the same refresh token (and so the same point of the grant).
fn same_grant_state(a: &TokenSet, b: &TokenSet) -> bool {
    use subtle::ConstantTimeEq as _;
    match (a.refresh_token(), b.refresh_token()) {
        (Some(x), Some(y)) => bool::from(
            x.expose_secret()
                .as_bytes()
                .ct_eq(y.expose_secret().as_bytes()),
        ),
        (None, None) => a.access_token().expose_secret() == b.access_token().expose_secret(),
        _ => false,
    }
}

impl TokenSource for AuthSession {
    fn access_token(
        &self,
        force_refresh: bool,
    ) -> BoxFuture<'_, Result<SecretToken, TokenSourceError>> {
        Box::pin(async move {
            self.get(force_refresh).await.map_err(|e| TokenSourceError {
                message: e.to_string(),
                source: Some(Box::new(e)),
            })
        })
    }
}
