//! [`HyperTransport`]: the pooled hyper-util + rustls implementation of [`HttpClient`].

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::uri::{Authority, Scheme};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tracing::Instrument;

use crate::body::{declared_length, read_limited};
use crate::connect::{LocalhostResolver, TimeoutConnector};
use crate::error::summarize;
use crate::tls::{CustomRoot, RootOptions};
use crate::uri::check_uri;
use crate::{
    BoxFuture, BuildError, HttpClient, MaxResponseBody, RequestTimeout, TransportError, USER_AGENT,
};

type Connector = TimeoutConnector<HttpsConnector<HttpConnector<LocalhostResolver>>>;

/// The production [`HttpClient`]: a pooled hyper 1 client over rustls, HTTP/1.1 and HTTP/2
/// negotiated by ALPN.
///
/// Cheap to clone: clones share one connection pool and one TLS configuration, so build one
/// transport per process and hand clones (or an `Arc<dyn HttpClient>`) to every client.
///
/// What it does on every request:
///
/// - refuses, before any network access, URIs that are not absolute, carry user info, use a
///   scheme other than `https`/`http`, or use plain `http` to a host that is not loopback
///   (see [`is_loopback_host`](crate::is_loopback_host)) unless
///   [`allow_insecure_http`](HyperTransportBuilder::allow_insecure_http) was set;
/// - adds `User-Agent: airlock-rs/<version>` when the request has none, and `Host` (the
///   authority, without a default port) to a plain-http request that has none — what
///   hyper-util adds to every HTTP/1.1 request, done here without formatting it each time;
/// - bounds the whole exchange (connection, sending, reading the complete body) by the
///   request timeout, overridable per request with the [`RequestTimeout`] extension;
/// - caps the response body, overridable per request with [`MaxResponseBody`]: a larger
///   declared `Content-Length` fails at once, and a streamed body fails as soon as it grows
///   past the cap, so no more than the cap is ever buffered;
/// - never follows redirects: a `3xx` is returned to the caller as is (OAuth token endpoints
///   and the gateway client rely on this, so credentials never travel to another host);
/// - records a `tracing` span `http.request` with the method, scheme, host and path only —
///   never header values, the query string or bodies — and `debug` events for the status or
///   the error kind.
///
/// The version field of the request is ignored: HTTP/2 is used when the server selects it
/// through ALPN, HTTP/1.1 otherwise (always for plain `http`).
///
/// A transport can be built anywhere; sending requires a Tokio runtime (with the `time`
/// driver enabled), on which connection tasks are spawned.
#[derive(Clone)]
pub struct HyperTransport {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client<Connector, Full<Bytes>>,
    user_agent: HeaderValue,
    connect_timeout: Duration,
    request_timeout: Duration,
    max_response_body: usize,
    allow_insecure_http: bool,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: usize,
    /// The `Host` value of the last plain-http authority requested, reused while requests go
    /// to the same authority (a client talks to one gateway).
    last_host: Mutex<Option<(Authority, HeaderValue)>>,
}

impl HyperTransport {
    /// Default bound on establishing a connection (DNS, TCP and TLS handshake): 10 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default bound on a whole request, from checkout of a connection to the last byte of the
    /// response body: 30 s. Long-polls override it with [`RequestTimeout`].
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default cap on a response body: 8 MiB. Override per request with [`MaxResponseBody`].
    pub const DEFAULT_MAX_RESPONSE_BODY: usize = 8 * 1024 * 1024;
    /// Default time an idle pooled connection is kept: 90 s.
    pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
    /// Default maximum of idle pooled connections per host: 64.
    pub const DEFAULT_POOL_MAX_IDLE_PER_HOST: usize = 64;

    /// A transport with every default: web PKI roots, the default timeouts and body cap,
    /// `https` only (plain `http` to loopback hosts only).
    ///
    /// # Panics
    ///
    /// Never in practice: only if rustls' `ring` provider rejected its own safe default
    /// protocol versions. Use [`builder`](Self::builder) and `build()` to get that (and every
    /// other) failure as a [`BuildError`].
    pub fn new() -> Self {
        Self::builder()
            .build()
            .expect("the default transport configuration is valid")
    }

    /// A builder to configure roots, timeouts, the body cap, the pool and the user agent.
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder::new()
    }

    /// Checks `uri` against this transport's policy without any network access: absolute,
    /// no user info, `https` — or plain `http` when the host is loopback or
    /// [`allow_insecure_http`](HyperTransportBuilder::allow_insecure_http) was set.
    ///
    /// [`send`](HttpClient::send) applies the same check; call this to validate a configured
    /// base URL early.
    ///
    /// ```
    /// use airlock_http::HyperTransport;
    ///
    /// let transport = HyperTransport::new();
    /// assert!(transport.check_uri(&"https://gateway.example.com/v1".parse()?).is_ok());
    /// assert!(transport.check_uri(&"http://127.0.0.1:8080/v1".parse()?).is_ok());
    /// assert!(transport.check_uri(&"http://gateway.example.com/v1".parse()?).is_err());
    /// # Ok::<(), http::uri::InvalidUri>(())
    /// ```
    pub fn check_uri(&self, uri: &http::Uri) -> Result<(), TransportError> {
        check_uri(uri, self.inner.allow_insecure_http)
    }

    /// The `User-Agent` value added to requests that have none.
    pub fn user_agent(&self) -> &str {
        // Built from a `&str` of visible ASCII, so this cannot fail.
        self.inner.user_agent.to_str().unwrap_or(USER_AGENT)
    }

    /// Sends `request`: everything that does not wait (the URI check, the default headers,
    /// handing the request to the pool) is done at once, under the request's span; the
    /// returned future only waits for the answer. That keeps the future — boxed by
    /// [`HttpClient::send`] — small: the request itself is never part of its state.
    fn execute(
        &self,
        request: Request<Bytes>,
    ) -> impl Future<Output = Result<Response<Bytes>, TransportError>> + Send + 'static {
        let inner = &*self.inner;
        let (parts, body) = request.into_parts();
        let timeout = parts
            .extensions
            .get::<RequestTimeout>()
            .map_or(inner.request_timeout, |t| t.0);
        let limit = parts
            .extensions
            .get::<MaxResponseBody>()
            .map_or(inner.max_response_body, |m| m.0);
        let span = tracing::debug_span!(
            "http.request",
            method = %parts.method,
            scheme = parts.uri.scheme_str().unwrap_or(""),
            host = parts.uri.host().unwrap_or(""),
            path = parts.uri.path(),
        );
        let sent = span.in_scope(|| inner.dispatch(parts, body));
        async move {
            let result = match sent {
                Ok((response, is_head)) => {
                    tokio::time::timeout(timeout, receive(response, is_head, limit))
                        .await
                        .unwrap_or(Err(TransportError::Timeout(timeout)))
                }
                Err(error) => Err(error),
            };
            match &result {
                Ok(response) => tracing::debug!(
                    status = response.status().as_u16(),
                    version = ?response.version(),
                    body_len = response.body().len(),
                    "response received"
                ),
                Err(error) => tracing::debug!(kind = error_kind(error), %error, "request failed"),
            }
            result
        }
        .instrument(span)
    }
}

impl Inner {
    /// Checks the request and hands it to the pool; returns hyper-util's response future and
    /// whether this is a `HEAD` request (whose answer has no body).
    fn dispatch(
        &self,
        mut parts: http::request::Parts,
        body: Bytes,
    ) -> Result<(ResponseFuture, bool), TransportError> {
        check_uri(&parts.uri, self.allow_insecure_http)?;
        if !parts.headers.contains_key(header::USER_AGENT) {
            parts
                .headers
                .insert(header::USER_AGENT, self.user_agent.clone());
        }
        // Plain http is always HTTP/1.1 here, where hyper-util would add the same `Host`
        // through `format!` on every request. (Over https it is left to hyper-util, which adds
        // it only when the connection turns out to be HTTP/1.1.)
        if parts.uri.scheme() == Some(&Scheme::HTTP)
            && !parts.headers.contains_key(header::HOST)
            && let Some(host) = parts.uri.authority().and_then(|a| self.host_header(a))
        {
            parts.headers.insert(header::HOST, host);
        }
        parts.version = Version::HTTP_11;
        let is_head = parts.method == Method::HEAD;
        let request = Request::from_parts(parts, Full::new(body));
        Ok((self.client.request(request), is_head))
    }
}

impl Inner {
    /// The `Host` of a plain-http request to `authority`: the last one built when the
    /// authority is the same (byte for byte), else built now and remembered.
    fn host_header(&self, authority: &Authority) -> Option<HeaderValue> {
        let mut last = self
            .last_host
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((known, value)) = last.as_ref()
            && known.as_str() == authority.as_str()
        {
            return Some(value.clone());
        }
        let value = host_header(authority)?;
        *last = Some((authority.clone(), value.clone()));
        Some(value)
    }
}

/// The `Host` of a plain-http request to `authority` (already checked: no user info), as
/// hyper-util writes it: the host, and the port unless it is the default 80.
fn host_header(authority: &Authority) -> Option<HeaderValue> {
    let text = match authority.port_u16() {
        Some(80) => authority.host(),
        _ => authority.as_str(),
    };
    HeaderValue::from_str(text).ok()
}

/// Waits for the answer to a dispatched request and reads the whole body under `limit`.
async fn receive(
    response: ResponseFuture,
    is_head: bool,
    limit: usize,
) -> Result<Response<Bytes>, TransportError> {
    let response = response.await.map_err(client_error)?;
    let (parts, body) = response.into_parts();
    // HEAD answers and 1xx/204/304 carry no body, whatever their Content-Length says.
    let has_body = !is_head
        && !parts.status.is_informational()
        && parts.status != StatusCode::NO_CONTENT
        && parts.status != StatusCode::NOT_MODIFIED;
    let declared = if has_body {
        declared_length(&parts.headers)
    } else {
        None
    };
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(TransportError::BodyTooLarge { limit });
    }
    let body = read_limited(body, limit, declared).await?;
    Ok(Response::from_parts(parts, body))
}

/// Maps hyper-util's error: connect failures (DNS, TCP, TLS, connect timeout) to
/// [`TransportError::Connect`], everything else to [`TransportError::Dispatch`]. The message
/// describes the cause; the outer layer only names the phase (`client error (Connect)`).
fn client_error(error: hyper_util::client::legacy::Error) -> TransportError {
    let message = std::error::Error::source(&error).map_or_else(|| error.to_string(), summarize);
    let is_connect = error.is_connect();
    let source: Option<Box<dyn std::error::Error + Send + Sync>> = Some(Box::new(error));
    if is_connect {
        TransportError::Connect { message, source }
    } else {
        TransportError::Dispatch { message, source }
    }
}

/// A stable, secret-free label of the error for logs.
fn error_kind(error: &TransportError) -> &'static str {
    match error {
        TransportError::InvalidRequest { .. } => "invalid_request",
        TransportError::Connect { .. } => "connect",
        TransportError::Timeout(_) => "timeout",
        TransportError::BodyTooLarge { .. } => "body_too_large",
        TransportError::Dispatch { .. } => "dispatch",
    }
}

impl HttpClient for HyperTransport {
    fn send(
        &self,
        request: Request<Bytes>,
    ) -> BoxFuture<'_, Result<Response<Bytes>, TransportError>> {
        Box::pin(self.execute(request))
    }
}

impl Default for HyperTransport {
    /// Same as [`HyperTransport::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("HyperTransport")
            .field("user_agent", &inner.user_agent)
            .field("connect_timeout", &inner.connect_timeout)
            .field("request_timeout", &inner.request_timeout)
            .field("max_response_body", &inner.max_response_body)
            .field("allow_insecure_http", &inner.allow_insecure_http)
            .field("pool_idle_timeout", &inner.pool_idle_timeout)
            .field("pool_max_idle_per_host", &inner.pool_max_idle_per_host)
            .finish_non_exhaustive()
    }
}

/// Configures and builds a [`HyperTransport`]; from [`HyperTransport::builder`].
///
/// Every setting has a documented default (the `DEFAULT_*` constants of [`HyperTransport`]).
/// Root certificates: the Mozilla web PKI set compiled in (`webpki-roots`) by default; the
/// platform store ([`tls_native_roots`](Self::tls_native_roots)) and custom roots for
/// self-hosted gateways ([`add_root_certificate_der`](Self::add_root_certificate_der),
/// [`add_root_certificates_pem`](Self::add_root_certificates_pem)) add to it; or supply a
/// complete [`rustls::ClientConfig`] with [`tls_config`](Self::tls_config). Server
/// certificates are always verified; there is no option to turn that off.
#[must_use = "a builder does nothing until `build` is called"]
#[derive(Clone)]
pub struct HyperTransportBuilder {
    connect_timeout: Duration,
    request_timeout: Duration,
    max_response_body: usize,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: usize,
    allow_insecure_http: bool,
    user_agent_product: Option<String>,
    roots: RootOptions,
    roots_customized: bool,
    tls_config: Option<rustls::ClientConfig>,
}

impl HyperTransportBuilder {
    /// A builder with every default.
    pub fn new() -> Self {
        Self {
            connect_timeout: HyperTransport::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: HyperTransport::DEFAULT_REQUEST_TIMEOUT,
            max_response_body: HyperTransport::DEFAULT_MAX_RESPONSE_BODY,
            pool_idle_timeout: Some(HyperTransport::DEFAULT_POOL_IDLE_TIMEOUT),
            pool_max_idle_per_host: HyperTransport::DEFAULT_POOL_MAX_IDLE_PER_HOST,
            allow_insecure_http: false,
            user_agent_product: None,
            roots: RootOptions::default(),
            roots_customized: false,
            tls_config: None,
        }
    }

    /// Bound on establishing a connection: DNS, TCP connect and TLS handshake together.
    /// Exceeding it is a [`TransportError::Connect`] (nothing reached the server). Default
    /// [`HyperTransport::DEFAULT_CONNECT_TIMEOUT`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bound on a whole request — waiting for a connection, sending, and reading the complete
    /// response body. Exceeding it is a [`TransportError::Timeout`]. The [`RequestTimeout`]
    /// extension overrides it for one request. Default
    /// [`HyperTransport::DEFAULT_REQUEST_TIMEOUT`].
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Cap on a response body in bytes; a larger body is a [`TransportError::BodyTooLarge`].
    /// The [`MaxResponseBody`] extension overrides it for one request. Default
    /// [`HyperTransport::DEFAULT_MAX_RESPONSE_BODY`].
    pub fn max_response_body(mut self, bytes: usize) -> Self {
        self.max_response_body = bytes;
        self
    }

    /// How long an idle pooled connection is kept; `None` keeps it until the server closes
    /// it. Default [`HyperTransport::DEFAULT_POOL_IDLE_TIMEOUT`].
    pub fn pool_idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.pool_idle_timeout = timeout.into();
        self
    }

    /// Maximum number of idle pooled connections per host (`0` disables pooling of HTTP/1
    /// connections). Default [`HyperTransport::DEFAULT_POOL_MAX_IDLE_PER_HOST`].
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// Allows plain `http://` to any host, not only loopback ones. Off by default: bearer
    /// tokens and PATs would travel in clear. Meant for a gateway behind a TLS-terminating
    /// proxy on a trusted network.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Appends a product to the user agent: `airlock-rs/<version> <product>`, e.g.
    /// `my-enforcer/1.2`. Visible ASCII and spaces only (checked by `build`).
    pub fn user_agent_product(mut self, product: impl Into<String>) -> Self {
        self.user_agent_product = Some(product.into());
        self
    }

    /// Trusts the Mozilla web PKI roots compiled into the binary (`webpki-roots`). On by
    /// default; turn off to trust only the platform store and/or custom roots.
    pub fn tls_webpki_roots(mut self, enabled: bool) -> Self {
        self.roots.webpki = enabled;
        self.roots_customized = true;
        self
    }

    /// Also trusts the platform's root store (`rustls-native-certs`; honours `SSL_CERT_FILE`
    /// and `SSL_CERT_DIR`), read once by `build`. Off by default.
    pub fn tls_native_roots(mut self, enabled: bool) -> Self {
        self.roots.native = enabled;
        self.roots_customized = true;
        self
    }

    /// Also trusts this DER-encoded root certificate (e.g. a self-hosted gateway's CA, or its
    /// self-signed certificate). Parsed by `build`.
    pub fn add_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.roots.custom.push(CustomRoot::Der(der.into()));
        self.roots_customized = true;
        self
    }

    /// Also trusts every `CERTIFICATE` in this PEM bundle. Parsed by `build`, which fails when
    /// the bundle holds none.
    pub fn add_root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.roots
            .custom
            .push(CustomRoot::Pem(pem.as_ref().to_vec()));
        self.roots_customized = true;
        self
    }

    /// Uses this complete rustls configuration (roots, client certificates, crypto provider)
    /// instead of the root options above, which must then stay unset. Its ALPN protocols are
    /// replaced by `h2` and `http/1.1`.
    pub fn tls_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls_config = Some(config);
        self
    }

    /// Builds the transport. Fails when a custom root is invalid, native roots were asked
    /// for and none could be loaded, no root source is left, a [`tls_config`](Self::tls_config)
    /// is combined with root options, or the user agent product is not visible ASCII.
    pub fn build(self) -> Result<HyperTransport, BuildError> {
        let user_agent = match &self.user_agent_product {
            None => HeaderValue::from_static(USER_AGENT),
            Some(product) => {
                let product = product.trim();
                if product.is_empty() || !product.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
                {
                    return Err(BuildError::InvalidUserAgent);
                }
                HeaderValue::try_from(format!("{USER_AGENT} {product}"))
                    .map_err(|_| BuildError::InvalidUserAgent)?
            }
        };
        let mut tls = match self.tls_config {
            Some(_) if self.roots_customized => return Err(BuildError::ConflictingTlsOptions),
            Some(config) => config,
            None => self.roots.client_config()?,
        };
        // hyper-rustls sets ALPN from the enabled protocols and insists on an empty list.
        tls.alpn_protocols.clear();

        let mut http = HttpConnector::new_with_resolver(LocalhostResolver::new());
        http.enforce_http(false);
        http.set_nodelay(true);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let connector = TimeoutConnector::new(https, self.connect_timeout);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        Ok(HyperTransport {
            inner: Arc::new(Inner {
                client,
                user_agent,
                connect_timeout: self.connect_timeout,
                request_timeout: self.request_timeout,
                max_response_body: self.max_response_body,
                allow_insecure_http: self.allow_insecure_http,
                pool_idle_timeout: self.pool_idle_timeout,
                pool_max_idle_per_host: self.pool_max_idle_per_host,
                last_host: Mutex::new(None),
            }),
        })
    }
}

impl Default for HyperTransportBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HyperTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransportBuilder")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_response_body", &self.max_response_body)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("user_agent_product", &self.user_agent_product)
            .field("webpki_roots", &self.roots.webpki)
            .field("native_roots", &self.roots.native)
            .field("custom_roots", &self.roots.custom.len())
            .field("custom_tls_config", &self.tls_config.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_host_is_written_like_hyper_util() {
        for (authority, host) in [
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("localhost:80", "localhost"),
            ("[::1]:80", "[::1]"),
            ("[::1]:8443", "[::1]:8443"),
            ("gateway.example", "gateway.example"),
        ] {
            let authority: Authority = authority.parse().unwrap();
            assert_eq!(host_header(&authority).unwrap(), host);
        }
    }

    #[test]
    fn user_agent_defaults_and_product_suffix() {
        let transport = HyperTransport::new();
        assert_eq!(transport.user_agent(), USER_AGENT);
        assert!(USER_AGENT.starts_with("airlock-rs/"));
        let transport = HyperTransport::builder()
            .user_agent_product("my-enforcer/1.2")
            .build()
            .unwrap();
        assert_eq!(
            transport.user_agent(),
            format!("airlock-rs/{} my-enforcer/1.2", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn invalid_user_agent_products_are_refused() {
        for product in ["", "  ", "bad\r\nX-Injected: 1", "caf\u{e9}/1", "tab\there"] {
            let err = HyperTransport::builder()
                .user_agent_product(product)
                .build()
                .unwrap_err();
            assert!(matches!(err, BuildError::InvalidUserAgent), "{product:?}");
        }
    }

    #[test]
    fn tls_config_excludes_root_options() {
        let config = RootOptions::default().client_config().unwrap();
        let err = HyperTransport::builder()
            .tls_config(config.clone())
            .tls_native_roots(true)
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::ConflictingTlsOptions), "{err:?}");
        let mut with_alpn = config;
        with_alpn.alpn_protocols = vec![b"h2".to_vec()];
        // A caller's ALPN list is replaced, not a reason to panic.
        HyperTransport::builder()
            .tls_config(with_alpn)
            .build()
            .unwrap();
    }

    #[test]
    fn debug_shows_settings() {
        let transport = HyperTransport::builder()
            .request_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let debug = format!("{transport:?}");
        assert!(debug.contains("request_timeout: 5s"), "{debug}");
        let builder = format!("{:?}", HyperTransport::builder());
        assert!(builder.contains("webpki_roots: true"), "{builder}");
    }

    #[test]
    fn transport_is_send_sync_and_cheap_to_clone() {
        fn assert_bounds<T: Send + Sync + Clone + 'static>() {}
        assert_bounds::<HyperTransport>();
        assert_eq!(
            std::mem::size_of::<HyperTransport>(),
            std::mem::size_of::<usize>()
        );
    }
}
