//! A minimal in-process gateway on 127.0.0.1 answering canned responses: `POST
//! /v1/artifacts` → `202 artifact.accepted`, `GET /v1/exchanges/{id}` → `200
//! exchange.status`. It runs on its own thread and single-threaded runtime, and keeps the
//! first request of each route so a raw client can replay exactly the same bytes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

const ACCEPTED: &str = concat!(
    r#"{"msgId":"msg-0b6c1c8e-bench","msgType":"artifact.accepted","requestId":"req-bench","#,
    r#""createdAt":"2026-02-24T10:00:00Z","sender":{"gatewayId":"gw-bench"},"#,
    r#""body":{"requestId":"req-bench","artifactHash":"8e326e1f69e5859a3b5b12965f06b5829f09b12d1748aa2fddb609fb44f831c1","#,
    r#""state":"Pending","expiresAt":"2026-02-24T10:10:00Z"}}"#
);

const STATUS: &str = concat!(
    r#"{"msgId":"msg-5d1f0a2b-bench","msgType":"exchange.status","requestId":"req-bench","#,
    r#""createdAt":"2026-02-24T10:00:01Z","sender":{"gatewayId":"gw-bench"},"#,
    r#""body":{"requestId":"req-bench","state":"Pending","artifactHash":"8e326e1f69e5859a3b5b12965f06b5829f09b12d1748aa2fddb609fb44f831c1","#,
    r#""artifactType":"command-approval","createdAt":"2026-02-24T10:00:00Z","expiresAt":"2026-02-24T10:10:00Z"}}"#
);

/// A request as it reached the server.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    /// Method.
    pub(crate) method: Method,
    /// Path and query.
    pub(crate) path: String,
    /// Every header, in order.
    pub(crate) headers: http::HeaderMap,
    /// The body bytes.
    pub(crate) body: Bytes,
}

#[derive(Default)]
struct Captures {
    submit: Option<Captured>,
    status: Option<Captured>,
}

/// The running server; stops when dropped.
pub(crate) struct CannedServer {
    addr: SocketAddr,
    captures: Arc<Mutex<Captures>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CannedServer {
    /// Binds 127.0.0.1 on a free port and serves on a thread of its own.
    pub(crate) fn start() -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let captures = Arc::new(Mutex::new(Captures::default()));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let shared = captures.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let _ = stream.set_nodelay(true);
                            let shared = shared.clone();
                            tokio::spawn(async move {
                                let service = hyper::service::service_fn(move |req| {
                                    handle(req, shared.clone())
                                });
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            });
                        }
                    }
                }
            });
        });
        Ok(Self {
            addr,
            captures,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The first artifact submission received.
    pub(crate) fn captured_submit(&self) -> Option<Captured> {
        self.captures.lock().ok()?.submit.clone()
    }

    /// The first exchange-status request received.
    pub(crate) fn captured_status(&self) -> Option<Captured> {
        self.captures.lock().ok()?.status.clone()
    }
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    captures: Arc<Mutex<Captures>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(respond(StatusCode::BAD_REQUEST, "")),
    };
    let path = parts.uri.path();
    let route = if parts.method == Method::POST && path == "/v1/artifacts" {
        Some((true, StatusCode::ACCEPTED, ACCEPTED))
    } else if parts.method == Method::GET && path.starts_with("/v1/exchanges/") {
        Some((false, StatusCode::OK, STATUS))
    } else {
        None
    };
    let Some((is_submit, status, answer)) = route else {
        return Ok(respond(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#));
    };
    if let Ok(mut captures) = captures.lock() {
        let slot = if is_submit {
            &mut captures.submit
        } else {
            &mut captures.status
        };
        if slot.is_none() {
            *slot = Some(Captured {
                method: parts.method.clone(),
                path: parts
                    .uri
                    .path_and_query()
                    .map_or_else(|| path.to_owned(), |pq| pq.as_str().to_owned()),
                headers: parts.headers.clone(),
                body,
            });
        }
    }
    Ok(respond(status, answer))
}

fn respond(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
