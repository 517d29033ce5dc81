//! The floor of the request benchmarks: a raw hyper-util client (no SDK at all) replaying,
//! byte for byte, a request that ours sent and the canned server captured.

use std::hint::black_box;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::ours;
use super::server::{CannedServer, Captured};

/// A default hyper-util pooled client (with `TCP_NODELAY`, as ours sets) of the canned
/// server, and the requests it replays.
pub(crate) struct Floor {
    base: String,
    raw: Client<HttpConnector, Full<Bytes>>,
    submit: Captured,
    status: Captured,
}

impl Floor {
    /// Has `ours` send one submission and one status request, which `server` captures
    /// for the floor to replay.
    pub(crate) async fn capture(
        server: &CannedServer,
        ours: &ours::Gateway,
    ) -> Result<Self, String> {
        ours.submit().await?;
        ours.status().await?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Ok(Self {
            base: server.base_url(),
            raw: Client::builder(TokioExecutor::new()).build(connector),
            submit: server.captured_submit().ok_or("no submission captured")?,
            status: server
                .captured_status()
                .ok_or("no status request captured")?,
        })
    }

    /// The artifact submission that ours sent, again.
    pub(crate) async fn submit(&self) -> Result<(), String> {
        self.replay(&self.submit).await
    }

    /// The exchange status request that ours sent, again.
    pub(crate) async fn status(&self) -> Result<(), String> {
        self.replay(&self.status).await
    }

    /// Sends `captured` again and reads the whole answer; an error unless it is a 2xx.
    async fn replay(&self, captured: &Captured) -> Result<(), String> {
        let response = self
            .raw
            .request(self.request(captured)?)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("status {status}"));
        }
        black_box(body);
        Ok(())
    }

    /// The captured request again, byte for byte (hyper sets `content-length` itself).
    fn request(&self, captured: &Captured) -> Result<http::Request<Full<Bytes>>, String> {
        let mut builder = http::Request::builder()
            .method(captured.method.clone())
            .uri(format!("{}{}", self.base, captured.path));
        for (name, value) in &captured.headers {
            if name != http::header::CONTENT_LENGTH {
                builder = builder.header(name, value);
            }
        }
        builder
            .body(Full::new(captured.body.clone()))
            .map_err(|e| e.to_string())
    }
}
