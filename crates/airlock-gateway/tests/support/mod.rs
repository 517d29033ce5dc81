//! A small recording HTTP server on 127.0.0.1 for the integration tests: HTTP/1.1 and
//! HTTP/2 (hyper-util auto), optionally over TLS with a self-signed certificate.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub mod scripted;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub version: Version,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The path's segments, percent-decoded.
    pub fn decoded_segments(&self) -> Vec<String> {
        self.path.split('/').skip(1).map(percent_decode).collect()
    }
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// Never answer (the client must time out).
    pub hang: bool,
    /// Answer after this delay (a long-poll holding the request).
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn json(status: u16, value: serde_json::Value) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(serde_json::to_vec(&value).unwrap()),
            hang: false,
            delay: None,
        }
    }
    pub fn text(status: u16, body: &str) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap(),
            headers: vec![("content-type".into(), "text/html".into())],
            body: Bytes::from(body.to_owned()),
            hang: false,
            delay: None,
        }
    }
    pub fn empty(status: u16) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap(),
            headers: vec![],
            body: Bytes::new(),
            hang: false,
            delay: None,
        }
    }
    pub fn hang() -> Self {
        Self {
            hang: true,
            ..Self::empty(200)
        }
    }
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

pub type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

pub struct TestServer {
    pub addr: SocketAddr,
    pub tls: bool,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_inner(Arc::new(handler), None).await
    }

    pub async fn start_tls(
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
        acceptor: tokio_rustls::TlsAcceptor,
    ) -> Self {
        Self::start_inner(Arc::new(handler), Some(acceptor)).await
    }

    async fn start_inner(handler: Handler, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let is_tls = tls.is_some();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let recorded = recorded.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let handler = handler.clone();
                        let recorded = recorded.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let rec = Recorded {
                                method: parts.method,
                                path: parts.uri.path().to_owned(),
                                query: parts.uri.query().map(str::to_owned),
                                headers: parts.headers,
                                body,
                                version: parts.version,
                            };
                            recorded.lock().unwrap().push(rec.clone());
                            let reply = handler(&rec);
                            if reply.hang {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                            }
                            if let Some(delay) = reply.delay {
                                tokio::time::sleep(delay).await;
                            }
                            let mut resp = Response::new(Full::new(reply.body));
                            *resp.status_mut() = reply.status;
                            for (k, v) in reply.headers {
                                resp.headers_mut().append(
                                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                                    v.parse().unwrap(),
                                );
                            }
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let builder = auto::Builder::new(TokioExecutor::new());
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let _ = builder
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            }
                        }
                        None => {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                });
            }
        });
        Self {
            addr,
            tls: is_tls,
            requests,
            task,
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests()
            .last()
            .cloned()
            .expect("a request was recorded")
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

/// A self-signed certificate for 127.0.0.1 and localhost: (TLS acceptor, certificate DER).
pub fn self_signed() -> (tokio_rustls::TlsAcceptor, Vec<u8>) {
    use tokio_rustls::rustls;
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let cert_der = certified.cert.der().to_vec();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![rustls::pki_types::CertificateDer::from(cert_der.clone())],
        key,
    )
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    (tokio_rustls::TlsAcceptor::from(Arc::new(config)), cert_der)
}

/// A gateway that answers every enforcer endpoint with a plausible success.
pub fn happy_gateway(r: &Recorded) -> Reply {
    use serde_json::json;
    let segs: Vec<String> = r.decoded_segments();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let envelope = |msg_type: &str, request_id: &str, body: serde_json::Value| {
        json!({"msgId": "msg-srv", "msgType": msg_type, "requestId": request_id,
               "createdAt": "2026-02-24T10:00:00Z", "sender": {"gatewayId": "gw"}, "body": body})
    };
    match (r.method.as_str(), segs.as_slice()) {
        ("GET", ["echo"]) => Reply::json(
            200,
            json!({"utc": "2026-02-24T10:00:00Z", "local": "2026-02-24T11:00:00+01:00", "timezone": "Europe/Paris", "offsetMinutes": 60}),
        ),
        ("GET", ["v1", "integrations", "discovery"]) => Reply::json(
            200,
            json!({"idp": {"baseUrl": "https://idp.example/realms/airlock", "clientId": "airlock-integrations"}, "auth": {"patSupported": true}}),
        ),
        ("GET", ["v1", "consent", "status"]) => Reply::json(200, json!({"status": "Allowed"})),
        ("POST", ["v1", "artifacts"]) => {
            let body = r.json();
            let id = body["requestId"].as_str().unwrap_or_default().to_owned();
            Reply::json(
                202,
                envelope(
                    "artifact.accepted",
                    &id,
                    json!({"requestId": id, "artifactHash": body["body"]["artifactHash"], "state": "Pending"}),
                ),
            )
        }
        ("GET", ["v1", "exchanges", id]) => Reply::json(
            200,
            envelope(
                "exchange.status",
                id,
                json!({"requestId": id, "state": "PendingApproval"}),
            ),
        ),
        ("GET", ["v1", "exchanges", _, "wait"]) => Reply::empty(204),
        ("POST", ["v1", "exchanges", id, "withdraw"]) => Reply::json(
            200,
            envelope(
                "exchange.withdrawn",
                id,
                json!({"requestId": id, "state": "Withdrawn"}),
            ),
        ),
        ("POST", ["v1", "acks"]) => Reply::json(200, json!({"status": "ok"})),
        ("POST", ["v1", "pairing", "initiate"]) => Reply::json(
            200,
            json!({"pairingNonce": "pn-1", "pairingCode": "ABCD-1234", "deviceId": "dev", "expiresAt": "2030-01-01T00:00:00Z"}),
        ),
        ("POST", ["v1", "pairing", "claim"]) => Reply::json(
            200,
            json!({"pairingNonce": "pn-2", "expiresAt": "2030-01-01T00:00:00Z", "routingToken": "rt-claim"}),
        ),
        ("GET", ["v1", "pairing", nonce, "status"]) => {
            Reply::json(200, json!({"pairingNonce": nonce, "state": "Pending"}))
        }
        ("POST", ["v1", "pairing", "revoke"]) => {
            Reply::json(200, json!({"status": "Revoked", "enforcerId": "enf-1"}))
        }
        ("POST", ["v1", "presence", "heartbeat"]) => Reply::empty(200),
        ("GET", ["v1", "policy", "dnd", "effective"]) => Reply::json(
            200,
            json!({"msgType": "dnd.policies", "requestId": "req-dnd", "body": []}),
        ),
        _ => Reply::json(
            404,
            json!({"msgType": "error", "body": {"code": "not_found", "message": "no route"}}),
        ),
    }
}

/// A fast retry policy for tests (no real waiting).
pub fn fast_retries(attempts: u32) -> airlock_gateway::RetryPolicy {
    airlock_gateway::RetryPolicy::default()
        .with_max_attempts(attempts)
        .with_base_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(20))
}

/// A client of `server` with a PAT, app credentials, fast retries and the real transport.
pub fn client_for(server: &TestServer) -> airlock_gateway::GatewayClient {
    airlock_gateway::GatewayClient::builder(server.url())
        .client_credentials(
            "app-1",
            airlock_gateway::SecretToken::new("client-secret-XYZ"),
        )
        .pat(airlock_gateway::SecretToken::new("airpat_SECRET_PAT"))
        .retry_policy(fast_retries(3))
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap()
}
