//! What the transport logs. In its own test binary: `tracing`'s per-thread default subscriber
//! must not race with other tests' callsite registrations.

mod common;

use std::sync::{Arc, Mutex};

use airlock_http::{Bytes, HttpClient, HyperTransport};
use common::{echo, get, plain_server, short_timeouts, silent_server};
use http::Request;

// ---------------------------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_span_logs_the_path_but_no_query_or_header_values() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let base = plain_server(echo).await;
    let request = Request::get(format!(
        "{base}/v1/exchanges/req_1?token=query-secret-value"
    ))
    .header(http::header::AUTHORIZATION, "Bearer header-secret-value")
    .body(Bytes::new())
    .unwrap();
    HyperTransport::new().send(request).await.unwrap();
    let silent = silent_server().await;
    let err = short_timeouts()
        .send(get(&format!(
            "http://{silent}/v1/slow?code=query-secret-value"
        )))
        .await
        .unwrap_err();
    assert!(err.is_timeout());

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("http.request"), "{logs}");
    assert!(logs.contains(r#"path="/v1/exchanges/req_1""#), "{logs}");
    assert!(logs.contains("status=200"), "{logs}");
    assert!(logs.contains("kind=\"timeout\""), "{logs}");
    assert!(!logs.contains("secret-value"), "{logs}");
    assert!(!logs.contains("token="), "{logs}");
}
