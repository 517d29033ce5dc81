//! The bridge between oauth2's `AsyncHttpClient` and the shared [`HttpClient`], and the
//! injectable [`Clock`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use airlock_http::{BoxFuture, Bytes, HttpClient, MaxResponseBody, RequestTimeout, TransportError};

/// The largest response accepted from the provider's endpoints (discovery documents and
/// token responses are a few kilobytes).
pub(crate) const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// Time and sleeping, injectable so that polling tests run in milliseconds.
///
/// [`SystemClock`] is the default. A test clock advances its `now()` when `sleep` is called.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
    /// Waits for `duration` without blocking the runtime.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The real clock: [`SystemTime::now`] and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// oauth2's `AsyncHttpClient` over the shared transport. Every request gets the
/// configured timeout and a response-size cap; the transport never follows redirects.
#[derive(Clone)]
pub(crate) struct OAuthHttp {
    pub(crate) inner: Arc<dyn HttpClient>,
    pub(crate) timeout: Duration,
}

impl fmt::Debug for OAuthHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthHttp")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OAuthHttp {
    pub(crate) fn new(inner: Arc<dyn HttpClient>, timeout: Duration) -> Self {
        Self { inner, timeout }
    }

    /// Sends one request with this client's timeout and size cap.
    pub(crate) async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(RequestTimeout(self.timeout));
        parts.extensions.insert(MaxResponseBody(MAX_RESPONSE_BODY));
        self.inner
            .send(http::Request::from_parts(parts, body))
            .await
    }

    async fn call_oauth(
        &self,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, TransportError> {
        let (parts, body) = request.into_parts();
        let response = self
            .send(http::Request::from_parts(parts, Bytes::from(body)))
            .await?;
        let (parts, body) = response.into_parts();
        Ok(http::Response::from_parts(parts, body.to_vec()))
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = TransportError;
    type Future = BoxFuture<'c, Result<oauth2::HttpResponse, TransportError>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.call_oauth(request))
    }
}

/// Device polling: oauth2 retries transport errors with backoff by itself and hides them;
/// this wrapper keeps the last one so a poll that ends at the deadline can report it.
#[derive(Debug)]
pub(crate) struct RecordingHttp<'a> {
    pub(crate) http: &'a OAuthHttp,
    pub(crate) last_error: Mutex<Option<TransportError>>,
}

impl<'a> RecordingHttp<'a> {
    pub(crate) fn new(http: &'a OAuthHttp) -> Self {
        Self {
            http,
            last_error: Mutex::new(None),
        }
    }

    fn record(&self, error: Option<TransportError>) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = error;
    }

    /// The transport error of the last request, if it failed.
    pub(crate) fn take_last_error(&self) -> Option<TransportError> {
        self.last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for RecordingHttp<'_> {
    type Error = TransportError;
    type Future = BoxFuture<'c, Result<oauth2::HttpResponse, TransportError>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            match self.http.call_oauth(request).await {
                Ok(response) => {
                    self.record(None);
                    Ok(response)
                }
                Err(error) => {
                    let stand_in = TransportError::Dispatch {
                        message: error.to_string(),
                        source: None,
                    };
                    self.record(Some(error));
                    Err(stand_in)
                }
            }
        })
    }
}
