//! The hyper server: accepts connections on the loopback listener and routes each request to
//! the IdP, the control API, the approver page, the consent page or the gateway.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::Platform;
use crate::control;
use crate::page;
use crate::web::{self, ApiError, MAX_BODY, Req};

/// Serves until `shutdown` flips; then every open connection is dropped (in-flight
/// long-polls end with a closed connection, as when a real gateway restarts).
pub(crate) async fn serve(
    listener: TcpListener,
    platform: Arc<Platform>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let platform = Arc::clone(&platform);
                    conns.spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let platform = Arc::clone(&platform);
                            async move { Ok::<_, Infallible>(route(&platform, req).await) }
                        });
                        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                        if let Err(e) = builder.serve_connection(TokioIo::new(stream), service).await {
                            tracing::debug!(error = %e, "sandbox connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly, keep serving.
                    tracing::warn!(error = %e, "sandbox accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

async fn route(platform: &Platform, req: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let segments = web::segments(parts.uri.path());
    // The control API and the approver page (which polls) are not gateway traffic.
    if segments
        .first()
        .is_none_or(|s| s != "_sandbox" && s != "approver")
    {
        platform.requests.count(&parts.method, &segments);
    }
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body too large or unreadable",
            )
            .into_response();
        }
    };
    let req = Req::new(parts, segments, body);
    if let Some(resp) = platform.idp.handle(&req) {
        return resp;
    }
    if req.segments.first().is_some_and(|s| s == "_sandbox") {
        return control::handle(platform, &req).await;
    }
    if req.segments.first().is_some_and(|s| s == "approver") {
        return page::handle(platform, &req);
    }
    if let ["consent"] = req.path().as_slice() {
        let app = req.query("appId").unwrap_or_default();
        return match platform.gateway.open_consent_page(app) {
            Some(state) => web::text(StatusCode::OK, format!("Consent for {app}: {state}.\n")),
            None => web::text(StatusCode::NOT_FOUND, "No consent request for that app.\n"),
        };
    }
    if let Some(resp) = platform.gateway.handle(&req).await {
        return resp;
    }
    ApiError::not_found(format!("no such endpoint: /{}", req.segments.join("/"))).into_response()
}
