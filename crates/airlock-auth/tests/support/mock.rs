//! A scripted mock provider (closure transport) and a fake clock.

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use airlock_auth::{AuthClient, AuthConfig, Clock};
use airlock_http::{BoxFuture, Bytes, HttpClient, TransportError};

pub const ISSUER: &str = "https://id.example.test/realms/airlock";

/// A clock whose `sleep` returns at once and moves `now` forward; records every sleep.
#[derive(Debug, Default)]
pub struct FakeClock {
    millis: AtomicU64,
    pub sleeps: Mutex<Vec<Duration>>,
}

impl FakeClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            millis: AtomicU64::new(1_700_000_000_000),
            sleeps: Mutex::new(Vec::new()),
        })
    }
    pub fn advance(&self, d: Duration) {
        self.millis
            .fetch_add(d.as_millis() as u64, Ordering::SeqCst);
    }
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.millis.load(Ordering::SeqCst))
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.sleeps.lock().unwrap().push(duration);
        self.advance(duration);
        Box::pin(async {})
    }
}

/// One scripted answer: a status and a JSON body, or a transport error.
pub enum Reply {
    Json(u16, String),
    Raw(u16, &'static str, String),
    Fail,
}

pub fn json(status: u16, body: serde_json::Value) -> Reply {
    Reply::Json(status, body.to_string())
}

/// A recorded request: method, path, headers, form body.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub form: Vec<(String, String)>,
}

impl Seen {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Answers discovery with `discovery`, and other paths from per-path queues.
#[derive(Default)]
pub struct MockProvider {
    pub discovery: Mutex<Option<serde_json::Value>>,
    pub queues: Mutex<Vec<(String, VecDeque<Reply>)>>,
    pub seen: Mutex<Vec<Seen>>,
    /// Real delay before each token response (lets concurrent callers pile up).
    pub token_delay: Mutex<Option<Duration>>,
}

pub fn discovery_doc() -> serde_json::Value {
    serde_json::json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/auth"),
        "token_endpoint": format!("{ISSUER}/token"),
        "device_authorization_endpoint": format!("{ISSUER}/device"),
        "revocation_endpoint": format!("{ISSUER}/revoke"),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "unknown_field": {"is": "ignored"}
    })
}

impl MockProvider {
    pub fn new() -> Arc<Self> {
        let p = Self::default();
        *p.discovery.lock().unwrap() = Some(discovery_doc());
        Arc::new(p)
    }

    pub fn push(&self, path: &str, reply: Reply) {
        let mut queues = self.queues.lock().unwrap();
        if let Some((_, q)) = queues.iter_mut().find(|(p, _)| p == path) {
            q.push_back(reply);
        } else {
            queues.push((path.to_owned(), VecDeque::from([reply])));
        }
    }

    pub fn seen(&self, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }

    pub fn http(self: &Arc<Self>) -> Arc<dyn HttpClient> {
        let me = self.clone();
        Arc::new(move |req: http::Request<Bytes>| {
            let me = me.clone();
            async move { me.answer(req).await }
        })
    }

    async fn answer(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let path = req
            .uri()
            .path()
            .trim_start_matches("/realms/airlock")
            .to_owned();
        assert!(
            req.extensions()
                .get::<airlock_http::RequestTimeout>()
                .is_some(),
            "every request carries a timeout"
        );
        self.seen.lock().unwrap().push(Seen {
            method: req.method().to_string(),
            path: path.clone(),
            authorization: req
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap().to_owned()),
            form: url::form_urlencoded::parse(req.body())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        });
        if path == "/.well-known/openid-configuration" {
            let doc = self.discovery.lock().unwrap().clone();
            return Ok(match doc {
                Some(doc) => response(200, "application/json", doc.to_string()),
                None => response(404, "text/html", "<h1>nope</h1>".into()),
            });
        }
        if path == "/token" {
            let delay = *self.token_delay.lock().unwrap();
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
        }
        let reply = self
            .queues
            .lock()
            .unwrap()
            .iter_mut()
            .find(|(p, _)| *p == path)
            .and_then(|(_, q)| q.pop_front());
        match reply {
            Some(Reply::Json(status, body)) => Ok(response(status, "application/json", body)),
            Some(Reply::Raw(status, ct, body)) => Ok(response(status, ct, body)),
            Some(Reply::Fail) => Err(TransportError::Connect {
                message: "connection refused".into(),
                source: None,
            }),
            None => panic!("no scripted reply left for {path}"),
        }
    }
}

fn response(status: u16, content_type: &str, body: String) -> http::Response<Bytes> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Bytes::from(body))
        .unwrap()
}

pub fn client(provider: &Arc<MockProvider>, clock: &Arc<FakeClock>) -> AuthClient {
    client_with(provider, clock, |c| c)
}

pub fn client_with(
    provider: &Arc<MockProvider>,
    clock: &Arc<FakeClock>,
    configure: impl FnOnce(AuthConfig) -> AuthConfig,
) -> AuthClient {
    let config = AuthConfig::new(ISSUER, "airlock-integrations")
        .unwrap()
        .with_clock(clock.clone());
    AuthClient::with_http_client(configure(config), provider.http())
}

pub fn device_response(interval: Option<u64>) -> Reply {
    let mut body = serde_json::json!({
        "device_code": "dev-code-secret",
        "user_code": "ABCD-EFGH",
        "verification_uri": format!("{ISSUER}/device"),
        "verification_uri_complete": format!("{ISSUER}/device?user_code=ABCD-EFGH"),
        "expires_in": 600
    });
    if let Some(i) = interval {
        body["interval"] = i.into();
    }
    json(200, body)
}

pub fn token_response(access: &str, refresh: Option<&str>, expires_in: u64) -> Reply {
    let mut body = serde_json::json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "id_token": "header.payload.sig",
        "scope": "openid profile email"
    });
    if let Some(r) = refresh {
        body["refresh_token"] = r.into();
    }
    json(200, body)
}

pub fn oauth_error(status: u16, code: &str) -> Reply {
    json(
        status,
        serde_json::json!({"error": code, "error_description": format!("{code} happened")}),
    )
}
