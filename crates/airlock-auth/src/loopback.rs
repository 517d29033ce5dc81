//! The loopback redirect listener of native-app sign-in (RFC 8252 §7.3).

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use zeroize::Zeroizing;

use crate::{AuthClient, AuthError, Clock, TokenSet};

/// The path the provider redirects to.
pub const CALLBACK_PATH: &str = "/callback";

/// How long the success page may take to reach the browser after the callback.
const RESPONSE_GRACE: Duration = Duration::from_secs(2);

const PAGE_SUCCESS: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Signed in</title></head>\
<body style=\"font-family:sans-serif;text-align:center;margin-top:4em\"><h1>Signed in to Airlock</h1>\
<p>You can close this window and return to the application.</p></body></html>";
const PAGE_FAILURE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>\
<body style=\"font-family:sans-serif;text-align:center;margin-top:4em\"><h1>Sign-in failed</h1>\
<p>Return to the application for details.</p></body></html>";
const PAGE_BAD_REQUEST: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Bad request</title></head>\
<body><h1>Bad request</h1><p>This is not a valid sign-in response.</p></body></html>";

/// An authorization code received on the redirect URI; secret (redacted, zeroized).
pub struct AuthorizationCode(Zeroizing<String>);

impl AuthorizationCode {
    /// The code itself; call only where it is sent.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthorizationCode(<redacted>)")
    }
}

/// A redirect listener on `127.0.0.1` with an ephemeral port, bound once and held open
/// until the callback arrives (no bind-then-close race for another process to win).
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    addr: SocketAddr,
    issuer: Option<String>,
}

impl LoopbackListener {
    /// Binds `127.0.0.1:0`.
    pub async fn bind() -> Result<Self, AuthError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(AuthError::Listener)?;
        let addr = listener.local_addr().map_err(AuthError::Listener)?;
        Ok(Self {
            listener,
            addr,
            issuer: None,
        })
    }

    /// Also checks the `iss` parameter of the callback (RFC 9207, against mix-up attacks):
    /// when present it must equal `issuer`, else [`AuthError::IssuerMismatch`].
    /// [`AuthClient::login_with_loopback`] sets it to the discovered issuer.
    #[must_use]
    pub fn with_expected_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The redirect URI to register in the authorization request:
    /// `http://127.0.0.1:{port}/callback`.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.addr.port())
    }

    /// Serves HTTP until a request to `/callback` arrives or `timeout` passes.
    ///
    /// Other paths (`/favicon.ico`, ...) get 404 and the wait goes on; a `/callback`
    /// without `code`, `state` or `error` gets 400 and the wait goes on. The first real
    /// callback ends the wait: `error=...` becomes [`AuthError::Callback`], a `state`
    /// that differs from `expected_state` (compared in constant time) becomes
    /// [`AuthError::StateMismatch`], otherwise the code is returned. The browser gets a
    /// small HTML page either way.
    pub async fn wait_for_code(
        self,
        expected_state: &str,
        timeout: Duration,
        clock: &dyn Clock,
    ) -> Result<AuthorizationCode, AuthError> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(tokio::task::Id, CallbackOutcome)>(1);
        let expected = Arc::new(Expected {
            state: Zeroizing::new(expected_state.to_owned()),
            issuer: self.issuer.clone(),
        });
        let done = Arc::new(Mutex::new(false));
        let mut connections = JoinSet::new();
        let deadline = clock.sleep(timeout);
        tokio::pin!(deadline);

        let (task_id, outcome) = loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let expected = expected.clone();
                    let tx = tx.clone();
                    let done = done.clone();
                    connections.spawn(async move {
                        let id = tokio::task::id();
                        let service = service_fn(move |req| {
                            let outcome = handle(&req, &expected, &done);
                            let tx = tx.clone();
                            async move {
                                let response = outcome.response();
                                if let Some(outcome) = outcome.into_final() {
                                    let _ = tx.send((id, outcome)).await;
                                }
                                Ok::<_, Infallible>(response)
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .keep_alive(false)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                Some(result) = rx.recv() => break result,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                () = &mut deadline => return Err(AuthError::Timeout(timeout)),
            }
        };
        drop(self.listener);
        // Let the connection that carried the callback deliver its page, then stop.
        let flush = async {
            while let Some(joined) = connections.join_next_with_id().await {
                if joined.map(|(id, ())| id).ok() == Some(task_id) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(RESPONSE_GRACE, flush).await;
        connections.abort_all();
        match outcome {
            CallbackOutcome::Code(code) => Ok(code),
            CallbackOutcome::Error(e) => Err(e),
        }
    }
}

impl AuthClient {
    /// Signs in through the system browser with a loopback redirect (RFC 8252): binds
    /// `127.0.0.1` on an ephemeral port, builds the authorization URL for it, hands the URL
    /// to `open` (launch a browser or print it; the library never launches one), waits up
    /// to `timeout` for the redirect, and exchanges the code.
    pub async fn login_with_loopback(
        &self,
        open: impl FnOnce(&url::Url),
        timeout: Duration,
    ) -> Result<TokenSet, AuthError> {
        let issuer = self.discover().await?.issuer.clone();
        let listener = LoopbackListener::bind().await?.with_expected_issuer(issuer);
        let redirect_uri = listener.redirect_uri();
        let request = self.authorization_url(&redirect_uri).await?;
        open(&request.url);
        let code = listener
            .wait_for_code(&request.state, timeout, &*self.config().clock)
            .await?;
        self.exchange_code(code.expose_secret(), request.verifier, &redirect_uri)
            .await
    }
}

enum CallbackOutcome {
    Code(AuthorizationCode),
    Error(AuthError),
}

enum Handled {
    NotFound,
    BadRequest,
    Final(CallbackOutcome),
}

impl Handled {
    fn response(&self) -> http::Response<Full<Bytes>> {
        let (status, page) = match self {
            Self::NotFound => (http::StatusCode::NOT_FOUND, "Not Found"),
            Self::BadRequest => (http::StatusCode::BAD_REQUEST, PAGE_BAD_REQUEST),
            Self::Final(CallbackOutcome::Code(_)) => (http::StatusCode::OK, PAGE_SUCCESS),
            Self::Final(CallbackOutcome::Error(
                AuthError::StateMismatch | AuthError::IssuerMismatch,
            )) => (http::StatusCode::BAD_REQUEST, PAGE_FAILURE),
            Self::Final(CallbackOutcome::Error(_)) => (http::StatusCode::OK, PAGE_FAILURE),
        };
        let mut response = http::Response::new(Full::new(Bytes::from_static(page.as_bytes())));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(if matches!(self, Self::NotFound) {
                "text/plain; charset=utf-8"
            } else {
                "text/html; charset=utf-8"
            }),
        );
        headers.insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        headers.insert(
            http::header::REFERRER_POLICY,
            http::HeaderValue::from_static("no-referrer"),
        );
        response
    }

    fn into_final(self) -> Option<CallbackOutcome> {
        match self {
            Self::Final(outcome) => Some(outcome),
            _ => None,
        }
    }
}

/// Classifies one request. Pure apart from `done`, which makes sure only the first
/// callback counts.
/// What a valid callback must carry.
struct Expected {
    state: Zeroizing<String>,
    issuer: Option<String>,
}

fn handle<B>(req: &http::Request<B>, expected: &Expected, done: &Mutex<bool>) -> Handled {
    if req.method() != http::Method::GET || req.uri().path() != CALLBACK_PATH {
        return Handled::NotFound;
    }
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    let mut iss = None;
    for (key, value) in url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
        let slot = match &*key {
            "code" => &mut code,
            "state" => &mut state,
            "error" => &mut error,
            "error_description" => &mut description,
            "iss" => &mut iss,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(Zeroizing::new(value.into_owned()));
        }
    }
    if error.is_none() && (code.is_none() || state.is_none()) {
        return Handled::BadRequest;
    }
    let mut done = done
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if *done {
        return Handled::BadRequest;
    }
    *done = true;
    let state_ok = state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(expected.state.as_bytes())));
    let issuer_ok = match (&expected.issuer, &iss) {
        (Some(want), Some(got)) => want.trim_end_matches('/') == got.as_str().trim_end_matches('/'),
        _ => true,
    };
    let outcome = match (error, code) {
        // An error redirect is reported even without a matching state: it carries no
        // credential and the user needs to know why sign-in failed.
        (Some(error), _) => CallbackOutcome::Error(AuthError::Callback {
            error: sanitize(&error),
            description: description.map(|d| sanitize(&d)),
        }),
        (None, Some(_)) if !state_ok => CallbackOutcome::Error(AuthError::StateMismatch),
        (None, Some(_)) if !issuer_ok => CallbackOutcome::Error(AuthError::IssuerMismatch),
        (None, Some(code)) => CallbackOutcome::Code(AuthorizationCode(code)),
        (None, None) => return Handled::BadRequest,
    };
    Handled::Final(outcome)
}

/// Keeps provider-supplied text printable and short.
fn sanitize(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(256).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(uri: &str) -> http::Request<()> {
        http::Request::get(uri).body(()).unwrap()
    }

    fn expected(state: &str, issuer: Option<&str>) -> Expected {
        Expected {
            state: Zeroizing::new(state.to_owned()),
            issuer: issuer.map(str::to_owned),
        }
    }

    fn run(uri: &str) -> Handled {
        handle(&get(uri), &expected("st&te=1", None), &Mutex::new(false))
    }

    #[test]
    fn checks_the_issuer_when_expected() {
        let want = expected("s", Some("https://id.test/realms/r"));
        let ok = handle(
            &get("/callback?code=a&state=s&iss=https%3A%2F%2Fid.test%2Frealms%2Fr"),
            &want,
            &Mutex::new(false),
        );
        assert!(matches!(ok, Handled::Final(CallbackOutcome::Code(_))));
        let absent = handle(&get("/callback?code=a&state=s"), &want, &Mutex::new(false));
        assert!(matches!(absent, Handled::Final(CallbackOutcome::Code(_))));
        let mixed_up = handle(
            &get("/callback?code=a&state=s&iss=https%3A%2F%2Fevil.test"),
            &want,
            &Mutex::new(false),
        );
        assert!(matches!(
            mixed_up,
            Handled::Final(CallbackOutcome::Error(AuthError::IssuerMismatch))
        ));
    }

    #[test]
    fn stray_requests_are_not_final() {
        assert!(matches!(run("/favicon.ico"), Handled::NotFound));
        assert!(matches!(run("/"), Handled::NotFound));
        assert!(matches!(run("/callback"), Handled::BadRequest));
        assert!(matches!(run("/callback?code=x"), Handled::BadRequest));
        assert_eq!(run("/favicon.ico").response().status(), 404);
    }

    #[test]
    fn decodes_parameters_and_checks_state() {
        match run("/callback?code=a%2Fb%2Bc&state=st%26te%3D1") {
            Handled::Final(CallbackOutcome::Code(code)) => {
                assert_eq!(code.expose_secret(), "a/b+c")
            }
            _ => panic!("expected a code"),
        }
        assert!(matches!(
            run("/callback?code=a&state=other"),
            Handled::Final(CallbackOutcome::Error(AuthError::StateMismatch))
        ));
        assert_eq!(run("/callback?code=a&state=x").response().status(), 400);
    }

    #[test]
    fn error_callbacks_are_typed() {
        match run("/callback?error=access_denied&error_description=User+said+no&state=x") {
            Handled::Final(CallbackOutcome::Error(e)) => {
                assert!(e.is_access_denied());
                assert_eq!(
                    e.to_string(),
                    "authorization failed: `access_denied`: User said no"
                );
            }
            _ => panic!("expected an error"),
        }
    }

    #[test]
    fn only_the_first_callback_counts() {
        let done = Mutex::new(false);
        let first = handle(
            &get("/callback?code=a&state=s"),
            &expected("s", None),
            &done,
        );
        assert!(matches!(first, Handled::Final(_)));
        let second = handle(
            &get("/callback?code=b&state=s"),
            &expected("s", None),
            &done,
        );
        assert!(matches!(second, Handled::BadRequest));
    }
}
