//! `AuthCore`: an `airlock::auth::AuthSession` behind `airlock_harp.AirlockAuthClient`
//! (device grant, auth code + PKCE, refresh ahead of expiry, revocation on logout).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use airlock::auth::{
    AuthClient, AuthConfig, AuthError, AuthSession, FileTokenStore, MemoryTokenStore, PkceVerifier,
    TokenSet, TokenStore,
};
use pyo3::prelude::*;

use crate::{run, seconds};

/// The auth client of the Python package (not part of its public surface).
#[pyclass(module = "airlock_harp._native", frozen)]
pub(crate) struct AuthCore {
    session: Arc<AuthSession>,
    blocking: bool,
}

fn auth_error(e: AuthError) -> PyErr {
    Python::attach(|py| {
        let raise = || -> PyResult<PyErr> {
            let class = py
                .import("airlock_harp.errors")?
                .getattr("AirlockAuthError")?;
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("requires_sign_in", e.requires_sign_in())?;
            kwargs.set_item("is_timeout", e.is_timeout())?;
            kwargs.set_item("is_access_denied", e.is_access_denied())?;
            Ok(PyErr::from_value(
                class.call((e.to_string(),), Some(&kwargs))?,
            ))
        };
        raise().unwrap_or_else(|err| err)
    })
}

/// The seed's token response (snake_case keys), as JSON.
fn token_json(tokens: &TokenSet) -> String {
    let expires_in = tokens
        .expires_at()
        .and_then(|at| at.duration_since(SystemTime::now()).ok())
        .map_or(0, |d| d.as_secs());
    serde_json::json!({
        "access_token": tokens.access_token().expose_secret(),
        "refresh_token": tokens.refresh_token().map(|t| t.expose_secret()).unwrap_or_default(),
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": tokens.scopes().join(" "),
    })
    .to_string()
}

#[pymethods]
impl AuthCore {
    /// An auth client for `issuer` and `client_id`; tokens kept in memory, or in
    /// `token_store` (a file, owner-only, written atomically).
    #[new]
    #[pyo3(signature = (issuer, client_id, *, client_secret=None, token_store=None, blocking=false))]
    fn new(
        py: Python<'_>,
        issuer: &str,
        client_id: String,
        client_secret: Option<String>,
        token_store: Option<PathBuf>,
        blocking: bool,
    ) -> PyResult<Self> {
        let mut config = AuthConfig::new(issuer, client_id).map_err(auth_error)?;
        if let Some(secret) = client_secret {
            config = config.with_client_secret(airlock::auth::SecretToken::new(secret));
        }
        let store: Arc<dyn TokenStore> = match token_store {
            Some(path) => Arc::new(FileTokenStore::new(path)),
            None => Arc::new(MemoryTokenStore::new()),
        };
        let runtime = pyo3_async_runtimes::tokio::get_runtime();
        let session = py
            .detach(|| {
                runtime.block_on(async { AuthSession::open(AuthClient::new(config), store).await })
            })
            .map_err(auth_error)?;
        Ok(Self {
            session: Arc::new(session),
            blocking,
        })
    }

    /// OIDC discovery (fetched once; the issuer is checked), as JSON.
    fn discover<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session.clone();
        run(py, self.blocking, async move {
            let discovery = session.client().discover().await.map_err(auth_error)?;
            serde_json::to_string(&*discovery)
                .map_err(|e| crate::errors::value_error(e.to_string()))
        })
    }

    /// Device grant: `on_user_code(info)` shows the code, then the tokens are polled for
    /// and kept.
    fn login<'py>(&self, py: Python<'py>, on_user_code: Py<PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session.clone();
        run(py, self.blocking, async move {
            let client = session.client();
            let device = client
                .start_device_authorization()
                .await
                .map_err(auth_error)?;
            Python::attach(|py| {
                let info = pyo3::types::PyDict::new(py);
                info.set_item("device_code", "")?;
                info.set_item("user_code", device.user_code())?;
                info.set_item("verification_uri", device.verification_uri())?;
                info.set_item(
                    "verification_uri_complete",
                    device.verification_uri_complete(),
                )?;
                info.set_item("expires_in", device.expires_in().as_secs())?;
                info.set_item("interval", device.interval().as_secs())?;
                on_user_code.call1(py, (info,)).map(drop)
            })?;
            let tokens = client
                .poll_device_authorization(&device)
                .await
                .map_err(auth_error)?;
            let json = token_json(&tokens);
            session.sign_in(tokens).await.map_err(auth_error)?;
            Ok(json)
        })
    }

    /// Auth code + PKCE with a loopback redirect on an ephemeral port of 127.0.0.1.
    #[pyo3(signature = (on_browser_url, timeout=300.0))]
    fn login_with_auth_code<'py>(
        &self,
        py: Python<'py>,
        on_browser_url: Py<PyAny>,
        timeout: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let timeout: Duration = seconds(timeout, "timeout")?;
        let session = self.session.clone();
        run(py, self.blocking, async move {
            let mut failed = None;
            let result = session
                .client()
                .login_with_loopback(
                    |url| {
                        failed =
                            Python::attach(|py| on_browser_url.call1(py, (url.as_str(),))).err();
                    },
                    timeout,
                )
                .await;
            if let Some(e) = failed {
                return Err(e);
            }
            let tokens = result.map_err(auth_error)?;
            let json = token_json(&tokens);
            session.sign_in(tokens).await.map_err(auth_error)?;
            Ok(json)
        })
    }

    /// `(authorization_url, state, code_verifier, redirect_uri)` for a manual redirect.
    fn get_authorization_url<'py>(
        &self,
        py: Python<'py>,
        redirect_uri: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session.clone();
        run(py, self.blocking, async move {
            let request = session
                .client()
                .authorization_url(&redirect_uri)
                .await
                .map_err(auth_error)?;
            Ok((
                request.url.to_string(),
                request.state,
                request.verifier.expose_secret().to_owned(),
                request.redirect_uri,
            ))
        })
    }

    /// Exchanges an authorization code (checked against your `state` first) and keeps the
    /// tokens.
    fn exchange_code<'py>(
        &self,
        py: Python<'py>,
        code: String,
        redirect_uri: String,
        code_verifier: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session.clone();
        run(py, self.blocking, async move {
            let tokens = session
                .client()
                .exchange_code(&code, PkceVerifier::new(code_verifier), &redirect_uri)
                .await
                .map_err(auth_error)?;
            let json = token_json(&tokens);
            session.sign_in(tokens).await.map_err(auth_error)?;
            Ok(json)
        })
    }

    /// Refreshes now (a rotated refresh token is saved before use).
    fn refresh_token<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session.clone();
        run(py, self.blocking, async move {
            session.refresh().await.map_err(auth_error)?;
            let tokens = session.tokens().await;
            Ok(tokens.as_ref().map(token_json))
        })
    }

    /// A valid access token (refreshed ahead of expiry, single flight).
    fn get_access_token<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session.clone();
        run(py, self.blocking, async move {
            let token = session.access_token().await.map_err(auth_error)?;
            Ok(token.expose_secret().to_owned())
        })
    }

    fn is_logged_in<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session.clone();
        run(py, self.blocking, async move {
            Ok(session.is_signed_in().await)
        })
    }

    /// Forgets the tokens, then revokes them: `revoked`, `not_supported`,
    /// `nothing_to_revoke` or `failed`.
    fn logout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session.clone();
        run(py, self.blocking, async move {
            // `AuthSession::logout`'s future is not `Send` (the revocation request's form
            // encoder lives across an await): it runs on a blocking thread of its own.
            let handle = tokio::runtime::Handle::current();
            let outcome = tokio::task::spawn_blocking(move || handle.block_on(session.logout()))
                .await
                .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?
                .map_err(auth_error)?;
            Ok(match outcome {
                airlock::auth::RevocationOutcome::Revoked => "revoked",
                airlock::auth::RevocationOutcome::NotSupported => "not_supported",
                airlock::auth::RevocationOutcome::NothingToRevoke => "nothing_to_revoke",
                _ => "failed",
            })
        })
    }
}
