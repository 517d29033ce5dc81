//! Raw-HTTP helpers for the sandbox tests: a plain hyper-util client and an enforcer that
//! speaks the wire protocol by hand (so the sandbox is tested independently of the SDK).

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use airlock_crypto::{E2eKey, X25519SecretKey};
use airlock_sandbox::{Sandbox, SandboxConfig};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

pub mod sdk;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A response read in full.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The HARP error code of an error envelope.
    /// Asserts the status, showing the body when it differs.
    pub fn assert_status(&self, status: StatusCode) -> &Self {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Asserts `200 OK`, showing the body when not.
    pub fn assert_ok(&self) -> &Self {
        self.assert_status(StatusCode::OK)
    }

    pub fn code(&self) -> String {
        self.json()["body"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// One call of the sandbox's control API (`path` under `/_sandbox`, e.g. `/approver/pending`).
pub async fn control(sandbox: &Sandbox, method: Method, path: &str, body: Option<Value>) -> Reply {
    let url = format!("{}/_sandbox{path}", sandbox.gateway_url());
    let auth = format!("Bearer {}", sandbox.control_token());
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let body = body.map(|b| serde_json::to_vec(&b).unwrap());
    send(&client(), method, &url, &headers, body).await
}

/// Sends one request with the given headers and raw body.
pub async fn send(
    client: &HttpClient,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Reply {
    let mut builder = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let req = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .expect("request");
    let resp = tokio::time::timeout(Duration::from_secs(90), client.request(req))
        .await
        .expect("request did not hang")
        .expect("request sent");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// An enforcer speaking raw HTTP with the confidential app and the PAT.
pub struct Enforcer {
    pub client: HttpClient,
    pub base: String,
    pub client_id: String,
    pub client_secret: String,
    pub pat: String,
    pub enforcer_id: String,
    pub x25519: X25519SecretKey,
    pub key: Option<E2eKey>,
    pub routing_token: Option<String>,
}

impl Enforcer {
    pub fn new(sandbox: &Sandbox) -> Self {
        Self {
            client: client(),
            base: sandbox.gateway_url().to_owned(),
            client_id: sandbox.client_id().to_owned(),
            client_secret: sandbox.client_secret().to_owned(),
            pat: sandbox.pat().to_owned(),
            enforcer_id: format!("enf-{}", uuid::Uuid::new_v4()),
            x25519: X25519SecretKey::generate(),
            key: None,
            routing_token: None,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let url = format!("{}{}", self.base, path);
        let headers = [
            ("x-client-id", self.client_id.as_str()),
            ("x-client-secret", self.client_secret.as_str()),
            ("x-pat", self.pat.as_str()),
            ("content-type", "application/json"),
        ];
        send(
            &self.client,
            method,
            &url,
            &headers,
            body.map(|b| serde_json::to_vec(&b).unwrap()),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Initiates a pairing; returns (nonce, code).
    pub async fn initiate(&self) -> (String, String) {
        let r = self
            .post(
                "/v1/pairing/initiate",
                json!({
                    "deviceId": "dev-1",
                    "enforcerId": self.enforcer_id,
                    "x25519PublicKey": self.x25519.public_key().to_base64url(),
                    "enforcerLabel": "test enforcer",
                    "workspaceName": "ws",
                }),
            )
            .await;
        r.assert_ok();
        let v = r.json();
        (
            v["pairingNonce"].as_str().unwrap().to_owned(),
            v["pairingCode"].as_str().unwrap().to_owned(),
        )
    }

    /// Reads the pairing status until it is no longer pending (bounded), verifies the
    /// response and keeps the E2E key and routing token.
    pub async fn finish_pairing(&mut self, nonce: &str) -> airlock_crypto::VerifiedApprover {
        for _ in 0..200 {
            let v = self
                .get(&format!("/v1/pairing/{nonce}/status"))
                .await
                .json();
            if v["state"] == "Completed" {
                let approver = airlock_crypto::verify_pairing_response(
                    v["responseJson"].as_str().unwrap(),
                    nonce,
                )
                .expect("pairing response verifies");
                let peer = approver.x25519_public_key.as_ref().expect("x25519 key");
                self.key = Some(E2eKey::derive(&self.x25519, peer).unwrap());
                self.routing_token = Some(v["routingToken"].as_str().unwrap().to_owned());
                return approver;
            }
            assert_eq!(v["state"], "Pending", "{v}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("pairing did not complete");
    }

    /// Pairs through the auto-pairing approver.
    pub async fn pair(&mut self) -> airlock_crypto::VerifiedApprover {
        let (nonce, _) = self.initiate().await;
        self.finish_pairing(&nonce).await
    }

    /// Encrypts `plaintext` and builds an `artifact.submit` envelope; returns (envelope, hash).
    pub fn artifact(
        &self,
        request_id: &str,
        plaintext: &Value,
        expires_at: Option<&str>,
    ) -> (Value, String) {
        let canonical = airlock_crypto::canonicalize_value(plaintext).unwrap();
        let hash = sha256_hex(&canonical);
        let ct = self.key.as_ref().expect("paired").seal(&canonical);
        let mut body = json!({
            "artifactType": "command-approval",
            "artifactHash": hash,
            "ciphertext": ct,
            "metadata": { "routingToken": self.routing_token, "workspaceName": "ws" },
        });
        if let Some(e) = expires_at {
            body["expiresAt"] = e.into();
        }
        let env = json!({
            "msgId": format!("msg-{}", uuid::Uuid::new_v4()),
            "msgType": "artifact.submit",
            "requestId": request_id,
            "createdAt": "2026-02-24T10:00:00Z",
            "sender": { "enforcerId": self.enforcer_id },
            "body": body,
        });
        (env, hash)
    }

    pub async fn submit(&self, request_id: &str, plaintext: &Value) -> (Reply, String) {
        let (env, hash) = self.artifact(request_id, plaintext, None);
        (self.post("/v1/artifacts", env).await, hash)
    }

    pub async fn wait(&self, request_id: &str, timeout: u32) -> Reply {
        self.get(&format!(
            "/v1/exchanges/{request_id}/wait?timeout={timeout}"
        ))
        .await
    }

    pub async fn ack(&self, request_id: &str, msg_id: &str) -> Reply {
        self.post(
            "/v1/acks",
            json!({
                "msgId": format!("ack-{}", uuid::Uuid::new_v4()),
                "msgType": "ack.submit",
                "requestId": request_id,
                "createdAt": "2026-02-24T10:00:00.123456+02:00",
                "sender": { "enforcerId": self.enforcer_id },
                "body": { "msgId": msg_id, "status": "delivered", "ackAt": "2026-02-24T10:00:00Z" },
            }),
        )
        .await
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn command(text: &str) -> Value {
    json!({ "actionType": "command", "commandText": text, "cwd": "/tmp", "shell": "bash" })
}

pub async fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).await.expect("sandbox starts")
}

/// A sandbox without rate limit and without auto pairing disabled.
pub fn config() -> airlock_sandbox::SandboxConfigBuilder {
    SandboxConfig::builder().rate_limit(None)
}

pub fn new_request_id() -> String {
    format!("req-{}", uuid::Uuid::new_v4())
}
