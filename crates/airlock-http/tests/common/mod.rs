//! Shared helpers for the integration tests: in-process hyper servers on 127.0.0.1 (plain and
//! TLS with an rcgen self-signed certificate) and a configurable response body.
// Each test binary uses a different subset of the helpers.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use airlock_http::{Bytes, HyperTransport};
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

// ---------------------------------------------------------------------------------------------
// Test servers
// ---------------------------------------------------------------------------------------------

/// A response body: `count` copies of `chunk`, then the end — or, with `hang`, a body that
/// never ends. `exact` announces the length (Content-Length) instead of chunked encoding.
pub(crate) struct TestBody {
    chunk: Bytes,
    count: usize,
    hang: bool,
    exact: bool,
}

impl TestBody {
    pub(crate) fn full(data: impl Into<Bytes>) -> Self {
        Self {
            chunk: data.into(),
            count: 1,
            hang: false,
            exact: true,
        }
    }

    pub(crate) fn empty() -> Self {
        Self::full(Bytes::new())
    }

    /// A chunked body (no Content-Length) of `count` chunks of `size` bytes.
    pub(crate) fn chunked(size: usize, count: usize) -> Self {
        Self {
            chunk: Bytes::from(vec![b'x'; size]),
            count,
            hang: false,
            exact: false,
        }
    }

    /// A chunked body that keeps streaming (bounded at 1 GiB so no loop is unbounded; the
    /// client gives up long before).
    pub(crate) fn endless() -> Self {
        Self::chunked(16 * 1024, 64 * 1024)
    }

    /// `size` bytes, then nothing, ever.
    pub(crate) fn hanging(size: usize) -> Self {
        Self {
            chunk: Bytes::from(vec![b'x'; size]),
            count: 1,
            hang: true,
            exact: false,
        }
    }
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.count > 0 {
            self.count -= 1;
            Poll::Ready(Some(Ok(Frame::data(self.chunk.clone()))))
        } else if self.hang {
            Poll::Pending
        } else {
            Poll::Ready(None)
        }
    }

    fn is_end_stream(&self) -> bool {
        self.count == 0 && !self.hang
    }

    fn size_hint(&self) -> SizeHint {
        if self.exact {
            SizeHint::with_exact((self.chunk.len() * self.count) as u64)
        } else {
            SizeHint::default()
        }
    }
}

pub(crate) trait Handler:
    Fn(Request<Incoming>) -> Self::Fut + Clone + Send + Sync + 'static
{
    type Fut: Future<Output = Response<TestBody>> + Send + 'static;
}

impl<F, Fut> Handler for F
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<TestBody>> + Send + 'static,
{
    type Fut = Fut;
}

/// Serves one connection (HTTP/1 or HTTP/2, detected from the preface) with `handler`.
pub(crate) async fn serve_connection<IO, H>(io: IO, handler: H)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    let service = service_fn(move |request| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(handler(request).await) }
    });
    // Connection errors (the client hanging up mid-body) are expected in some tests.
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// A plain HTTP server on 127.0.0.1; returns its base URL.
pub(crate) async fn plain_server(handler: impl Handler) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_connection(stream, handler.clone()));
        }
    });
    format!("http://{addr}")
}

/// A self-signed certificate for `localhost` and 127.0.0.1.
pub(crate) struct TestCert {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) pem: String,
    pub(crate) key: PrivatePkcs8KeyDer<'static>,
}

pub(crate) fn test_cert() -> TestCert {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    TestCert {
        der: certified.cert.der().clone(),
        pem: certified.cert.pem(),
        key: PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()),
    }
}

/// A TLS server on 127.0.0.1 offering `alpn`; returns its base URL.
pub(crate) async fn tls_server(cert: &TestCert, alpn: &[&[u8]], handler: impl Handler) -> String {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der.clone()], cert.key.clone_key().into())
    .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let handler = handler.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    serve_connection(tls, handler).await;
                }
            });
        }
    });
    format!("https://{addr}")
}

/// A TCP server that accepts connections and never writes a byte; returns its address.
pub(crate) async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

/// Echoes the request: body back, and the HTTP version and User-Agent in headers.
pub(crate) async fn echo(request: Request<Incoming>) -> Response<TestBody> {
    let version = format!("{:?}", request.version());
    let user_agent = request
        .headers()
        .get(http::header::USER_AGENT)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let host = request
        .headers()
        .get(http::header::HOST)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = request.into_body().collect().await.unwrap().to_bytes();
    Response::builder()
        .header("x-version", version)
        .header("x-user-agent", user_agent)
        .header("x-host", host)
        .body(TestBody::full(body))
        .unwrap()
}

pub(crate) fn get(url: &str) -> Request<Bytes> {
    Request::get(url).body(Bytes::new()).unwrap()
}

pub(crate) fn post(url: &str, body: impl Into<Bytes>) -> Request<Bytes> {
    Request::post(url).body(body.into()).unwrap()
}

pub(crate) fn header<'a>(response: &'a Response<Bytes>, name: &str) -> &'a str {
    response.headers()[name].to_str().unwrap()
}

pub(crate) fn short_timeouts() -> HyperTransport {
    HyperTransport::builder()
        .connect_timeout(Duration::from_millis(200))
        .request_timeout(Duration::from_millis(200))
        .build()
        .unwrap()
}
