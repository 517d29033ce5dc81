//! A scripted gateway + approver for the enforcer-helper tests: pairing that signs (or
//! mis-signs) its response, artifacts recorded, decisions answered as scripted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airlock_crypto::{
    Ed25519SigningKey, X25519PublicKey, X25519SecretKey, sign_decision, sign_decision_harp_core,
    sign_pairing_response,
};
use airlock_gateway::{
    AwaitOptions, DecisionOutcome, Error, GatewayClient, Pairing, PairingRequest, PendingExchange,
    RetryPolicy, SubmitOptions,
};
use serde_json::{Value, json};

use super::{Recorded, Reply, TestServer, fast_retries};

/// How the scripted approver answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Answer {
    None,
    Approve,
    Reject,
    Forged,
    WrongHash,
    UnknownSigner,
    /// 503 twice, then approve.
    FlakyThenApprove,
    /// 429 with `Retry-After: 3600` once, then approve.
    RateLimitedThenApprove,
    /// A correctly signed approval inside an envelope of another exchange.
    OtherExchange,
    /// A HARP-CORE approval (canonical JSON signature, bound to the request id).
    HarpCore,
    /// The long-poll answers this status with a HARP error envelope of this code (the
    /// exchange closed while the enforcer waited).
    Closed {
        status: u16,
        code: &'static str,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PairingScript {
    Good,
    WrongNonce,
    BadSignature,
    Expired,
    NoX25519,
    /// The first status poll is answered `429` with `Retry-After: 3`, the next one paired.
    RateLimited,
}

pub struct Approver {
    pub signing: Ed25519SigningKey,
    pub x25519: X25519SecretKey,
    pub enforcer_x25519: Mutex<Option<X25519PublicKey>>,
    pub pairing: Mutex<PairingScript>,
    pub status_polls: AtomicUsize,
    pub answer: Mutex<Answer>,
    pub exchange_state: Mutex<&'static str>,
    pub withdraw_status: Mutex<u16>,
    pub flaky: AtomicUsize,
    pub artifacts: Mutex<Vec<Value>>,
}

impl Approver {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            signing: Ed25519SigningKey::generate(),
            x25519: X25519SecretKey::generate(),
            enforcer_x25519: Mutex::new(None),
            pairing: Mutex::new(PairingScript::Good),
            status_polls: AtomicUsize::new(0),
            answer: Mutex::new(Answer::None),
            exchange_state: Mutex::new("Pending"),
            withdraw_status: Mutex::new(200),
            flaky: AtomicUsize::new(0),
            artifacts: Mutex::new(Vec::new()),
        })
    }

    pub fn handle(&self, r: &Recorded) -> Reply {
        let segs = r.decoded_segments();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        match (r.method.as_str(), segs.as_slice()) {
            ("POST", ["v1", "pairing", "initiate" | "claim"]) => {
                let body = r.json();
                let pk = body["x25519PublicKey"].as_str().unwrap();
                *self.enforcer_x25519.lock().unwrap() = Some(X25519PublicKey::parse(pk).unwrap());
                if segs[2] == "claim" {
                    Reply::json(
                        200,
                        json!({"pairingNonce": "pn-claim", "expiresAt": "2030-01-01T00:00:00Z", "routingToken": "rt-claim"}),
                    )
                } else {
                    Reply::json(
                        200,
                        json!({"pairingNonce": "pn-1", "pairingCode": "ABC123", "expiresAt": "2030-01-01T00:00:00Z"}),
                    )
                }
            }
            ("GET", ["v1", "pairing", nonce, "status"]) => {
                let script = *self.pairing.lock().unwrap();
                if script == PairingScript::RateLimited {
                    if self.status_polls.fetch_add(1, Ordering::SeqCst) == 0 {
                        return Reply::json(
                            429,
                            json!({"msgType": "error", "body": {"code": "quota_exceeded", "message": "slow down"}}),
                        )
                        .header("retry-after", "3");
                    }
                } else if self.status_polls.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Reply::json(200, json!({"pairingNonce": nonce, "state": "Pending"}));
                }
                if script == PairingScript::Expired {
                    return Reply::json(200, json!({"pairingNonce": nonce, "state": "Expired"}));
                }
                let signed_nonce = if script == PairingScript::WrongNonce {
                    "pn-other"
                } else {
                    nonce
                };
                let x = self.x25519.public_key();
                let mut doc = sign_pairing_response(
                    &self.signing,
                    "key-phone-1",
                    signed_nonce,
                    "2026-02-24T10:00:00Z",
                    (script != PairingScript::NoX25519).then_some(&x),
                );
                if script == PairingScript::BadSignature {
                    let mut v: Value = serde_json::from_str(&doc).unwrap();
                    v["signerKeyId"] = json!("key-evil");
                    doc = v.to_string();
                }
                let mut status =
                    json!({"pairingNonce": nonce, "state": "Completed", "responseJson": doc});
                if *nonce == "pn-1" {
                    status["routingToken"] = json!("rt-1");
                }
                Reply::json(200, status)
            }
            ("POST", ["v1", "artifacts"]) => {
                let body = r.json();
                self.artifacts.lock().unwrap().push(body.clone());
                let id = body["requestId"].as_str().unwrap().to_owned();
                Reply::json(
                    202,
                    json!({"msgId": "msg-acc", "msgType": "artifact.accepted", "requestId": id,
                    "createdAt": "2026-02-24T10:00:00Z", "body": {"requestId": id, "state": "Pending"}}),
                )
            }
            ("GET", ["v1", "exchanges", id, "wait"]) => self.deliver(id),
            ("GET", ["v1", "exchanges", id]) => {
                let state = *self.exchange_state.lock().unwrap();
                Reply::json(
                    200,
                    json!({"msgId": "msg-st", "msgType": "exchange.status", "requestId": id,
                    "createdAt": "2026-02-24T10:00:00Z", "body": {"requestId": id, "state": state}}),
                )
            }
            ("POST", ["v1", "exchanges", id, "withdraw"]) => {
                let status = *self.withdraw_status.lock().unwrap();
                if status == 200 {
                    Reply::json(
                        200,
                        json!({"msgId": "msg-w", "msgType": "exchange.withdrawn", "requestId": id,
                        "createdAt": "2026-02-24T10:00:00Z", "body": {"requestId": id, "state": "Withdrawn"}}),
                    )
                } else {
                    Reply::json(
                        status,
                        json!({"msgType": "error", "body": {"code": "conflict"}}),
                    )
                }
            }
            ("POST", ["v1", "acks"]) => Reply::json(200, json!({})),
            ("POST", ["v1", "presence", "heartbeat"]) => Reply::empty(200),
            _ => Reply::json(404, json!({"error": "not_found"})),
        }
    }

    fn deliver(&self, request_id: &str) -> Reply {
        let answer = *self.answer.lock().unwrap();
        let hash = {
            let artifacts = self.artifacts.lock().unwrap();
            artifacts
                .iter()
                .rev()
                .find(|a| a["requestId"] == request_id)
                .map(|a| a["body"]["artifactHash"].as_str().unwrap().to_owned())
        };
        let Some(hash) = hash else {
            return Reply::json(404, json!({"error": "not_found"}));
        };
        if let Answer::Closed { status, code } = answer {
            return Reply::json(
                status,
                json!({"msgType": "error", "requestId": request_id,
                "body": {"code": code, "message": "the exchange is closed", "requestId": request_id}}),
            );
        }
        if answer == Answer::HarpCore {
            let mut body = json!({
                "artifactHash": hash, "artifactHashAlg": "SHA-256", "decision": "approve",
                "expiresAt": "2099-01-01T00:00:00Z", "nonce": format!("hc-{request_id}"),
                "requestId": request_id, "scope": "once", "sigAlg": "Ed25519",
                "signerKeyId": "key-phone-1",
            });
            body["signature"] = json!(sign_decision_harp_core(&self.signing, &body).unwrap());
            return Reply::json(
                200,
                json!({"msgId": "msg-hc", "msgType": "decision.deliver", "requestId": request_id,
                "createdAt": "2026-02-24T10:00:00Z", "body": body}),
            );
        }
        let (verdict, key, signer, signed_hash) = match answer {
            Answer::HarpCore | Answer::Closed { .. } => unreachable!(),
            Answer::None => return Reply::empty(204).delayed(Duration::from_millis(100)),
            Answer::FlakyThenApprove if self.flaky.fetch_add(1, Ordering::SeqCst) < 2 => {
                return Reply::text(503, "upstream busy");
            }
            Answer::RateLimitedThenApprove if self.flaky.fetch_add(1, Ordering::SeqCst) < 1 => {
                return Reply::json(
                    429,
                    json!({"msgType": "error", "body": {"code": "quota_exceeded", "message": "slow down"}}),
                )
                .header("retry-after", "3600");
            }
            Answer::Approve
            | Answer::FlakyThenApprove
            | Answer::RateLimitedThenApprove
            | Answer::OtherExchange => ("approve", None, "key-phone-1", hash.clone()),
            Answer::Reject => ("reject", None, "key-phone-1", hash.clone()),
            Answer::Forged => (
                "approve",
                Some(Ed25519SigningKey::generate()),
                "key-phone-1",
                hash.clone(),
            ),
            Answer::WrongHash => ("approve", None, "key-phone-1", "0".repeat(64)),
            Answer::UnknownSigner => ("approve", None, "key-tablet-9", hash.clone()),
        };
        let key = key.as_ref().unwrap_or(&self.signing);
        let nonce = format!("n-{request_id}");
        let body = json!({
            "artifactHash": signed_hash,
            "decision": verdict,
            "reason": "looks fine",
            "signerKeyId": signer,
            "nonce": nonce,
            "signature": sign_decision(key, &signed_hash, verdict, &nonce),
        });
        let envelope_id = if answer == Answer::OtherExchange {
            "req-other"
        } else {
            request_id
        };
        Reply::json(
            200,
            json!({"msgId": format!("msg-dec-{request_id}"), "msgType": "decision.deliver", "requestId": envelope_id,
            "createdAt": "2026-02-24T10:00:00Z", "sender": {"approverId": "appr-1"}, "body": body}),
        )
    }
}

/// A client of `url` with the given retry policy and the real transport.
pub fn plain_client(url: &str, retry: RetryPolicy) -> GatewayClient {
    GatewayClient::builder(url)
        .retry_policy(retry)
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap()
}

/// The scripted server and a PAT client of it.
pub async fn setup() -> (TestServer, GatewayClient, Arc<Approver>) {
    let approver = Approver::new();
    let a = approver.clone();
    let server = TestServer::start(move |r| a.handle(r)).await;
    let client = GatewayClient::builder(server.url())
        .pat(airlock_gateway::SecretToken::new("airpat_SECRET_PAT"))
        .retry_policy(fast_retries(3))
        .transport(Arc::new(airlock_http::HyperTransport::new()))
        .build()
        .unwrap();
    (server, client, approver)
}

/// Polls pairing status every 5 ms.
pub fn fast_pairing(req: PairingRequest) -> PairingRequest {
    req.poll_interval(Duration::from_millis(5))
}

/// Waiting up to 10 s, the default long-poll.
pub fn ten_seconds() -> AwaitOptions {
    AwaitOptions::new(Duration::from_secs(10))
}

/// A client paired as `enf-1` (label `Laptop`, workspace `acme`) with the scripted approver.
pub struct Paired {
    pub server: TestServer,
    pub client: GatewayClient,
    pub approver: Arc<Approver>,
    pub pairing: Pairing,
}

impl Paired {
    pub async fn new() -> Self {
        let (server, client, approver) = setup().await;
        let mut code = None;
        let pairing = client
            .pair(
                fast_pairing(
                    PairingRequest::new("enf-1")
                        .label("Laptop")
                        .workspace("acme"),
                ),
                Duration::from_secs(5),
                |session| code = session.code().map(str::to_owned),
            )
            .await
            .unwrap();
        assert_eq!(code.as_deref(), Some("ABC123"));
        Self {
            server,
            client,
            approver,
            pairing,
        }
    }

    /// Paired, with the approver answering `answer`.
    pub async fn answering(answer: Answer) -> Self {
        let paired = Self::new().await;
        paired.answer(answer);
        paired
    }

    pub fn answer(&self, answer: Answer) {
        *self.approver.answer.lock().unwrap() = answer;
    }

    /// Submits the artifact `{"commandText": "ls"}`.
    pub async fn submit(&self) -> PendingExchange {
        self.client
            .encrypt_and_submit(
                &self.pairing,
                &json!({"commandText": "ls"}),
                SubmitOptions::new(),
            )
            .await
            .unwrap()
    }

    /// `await_decision` with [`ten_seconds`].
    pub async fn outcome(&self, pending: &PendingExchange) -> Result<DecisionOutcome, Error> {
        self.client.await_decision(pending, ten_seconds()).await
    }

    /// The acks the server received.
    pub fn acks(&self) -> Vec<Recorded> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/acks")
            .collect()
    }

    /// The requests whose path ends with `suffix`.
    pub fn requests_ending(&self, suffix: &str) -> Vec<Recorded> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with(suffix))
            .collect()
    }
}
