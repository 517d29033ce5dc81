//! `GatewayCore`: one `airlock::gateway::GatewayClient` behind the Python clients
//! (`airlock_harp.AirlockGatewayClient` and `airlock_harp.sync.AirlockGatewayClient`).
//!
//! Requests arrive as the wire JSON of the seed's models, answers leave as wire JSON; the
//! Python layer only renames fields. Verified operations (pairing, encrypt-and-submit,
//! awaiting a decision, DND) hand back the SDK's own objects.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use airlock::crypto::{E2eKey, FileReplayJournal};
use airlock::gateway::command::Pattern;
use airlock::gateway::gate::{DndTrust, Gate};
use airlock::gateway::{
    self, AwaitOptions, DecisionOutcome, GatewayClient, PairingRequest, SecretToken, SubmitOptions,
};
use airlock::types::{
    AckBody, ArtifactSubmitBody, DndQuery, EncryptedPayload, Envelope, HeartbeatRequest,
    PairingClaimRequest, PairingInitiateRequest, PairingRevokeRequest, Timestamp,
};
use pyo3::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::{gateway_error, outcome_error, value_error};
use crate::objects::{GateVerdict, Pairing, PendingExchange, VerifiedDecision};
use crate::{run, seconds};

/// Exchanges submitted by `encrypt_and_submit`, by request id: `wait_for_decision` verifies
/// their decisions.
type Pending = Arc<Mutex<HashMap<String, gateway::PendingExchange>>>;

/// The gateway client of the Python package (not part of its public surface).
#[pyclass(module = "airlock_harp._native", frozen)]
pub(crate) struct GatewayCore {
    client: GatewayClient,
    blocking: bool,
    pending: Pending,
}

fn wire<T: DeserializeOwned>(json: &str, what: &str) -> PyResult<T> {
    serde_json::from_str(json).map_err(|e| value_error(format!("invalid {what}: {e}")))
}

fn to_json<T: Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| value_error(format!("cannot encode: {e}")))
}

fn timestamp(text: Option<&str>) -> PyResult<Option<Timestamp>> {
    text.map(|t| Timestamp::parse(t).map_err(|e| value_error(format!("expires_at: {e}"))))
        .transpose()
}

/// The seed's `ArtifactSubmitRequest` / `EncryptedArtifactRequest` members we read.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubmitFields {
    enforcer_id: String,
    artifact_type: Option<String>,
    artifact_hash: Option<String>,
    ciphertext: Option<EncryptedPayload>,
    plaintext_payload: Option<String>,
    encryption_key_base64_url: Option<String>,
    expires_at: Option<String>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    request_id: Option<String>,
}

impl SubmitFields {
    /// The request id given, or a fresh one.
    fn request_id(&self) -> String {
        self.request_id
            .clone()
            .unwrap_or_else(airlock::types::new_request_id)
    }

    fn envelope(
        self,
        request_id: String,
        artifact_hash: String,
        ciphertext: EncryptedPayload,
    ) -> PyResult<Envelope<ArtifactSubmitBody>> {
        let mut body = ArtifactSubmitBody::new(artifact_hash, ciphertext);
        if let Some(t) = self.artifact_type {
            body = body.with_artifact_type(t);
        }
        if let Some(at) = timestamp(self.expires_at.as_deref())? {
            body = body.with_expires_at(at);
        }
        for (k, v) in self.metadata.unwrap_or_default() {
            body = body.with_metadata(k, v);
        }
        Ok(Envelope::artifact_submit(
            request_id,
            self.enforcer_id,
            body,
        ))
    }
}

impl GatewayCore {
    /// Runs `call` on a clone of the client; its answer leaves as wire JSON.
    fn json<'py, F, Fut, T>(&self, py: Python<'py>, call: F) -> PyResult<Bound<'py, PyAny>>
    where
        F: FnOnce(GatewayClient) -> Fut,
        Fut: Future<Output = Result<T, gateway::Error>> + Send + 'static,
        T: Serialize,
    {
        let answer = call(self.client.clone());
        run(py, self.blocking, async move {
            to_json(&answer.await.map_err(gateway_error)?)
        })
    }

    /// Submits `envelope`; the awaitable (or the blocking call) returns its request id.
    fn submit<'py>(
        &self,
        py: Python<'py>,
        envelope: Envelope<ArtifactSubmitBody>,
        request_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client.clone();
        run(py, self.blocking, async move {
            client
                .raw()
                .submit_artifact(&envelope)
                .await
                .map_err(gateway_error)?;
            Ok(request_id)
        })
    }
}

#[pymethods]
impl GatewayCore {
    #[new]
    #[pyo3(signature = (base_url, *, token=None, pat=None, client_id=None, client_secret=None,
                        timeout=None, enforcer_id=None, replay_journal=None, blocking=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        base_url: &str,
        token: Option<String>,
        pat: Option<String>,
        client_id: Option<String>,
        client_secret: Option<String>,
        timeout: Option<f64>,
        enforcer_id: Option<String>,
        replay_journal: Option<std::path::PathBuf>,
        blocking: bool,
    ) -> PyResult<Self> {
        let _runtime = pyo3_async_runtimes::tokio::get_runtime().enter();
        let mut builder = GatewayClient::builder(base_url);
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            builder = builder.bearer_token(SecretToken::new(token));
        }
        if let Some(pat) = pat.filter(|t| !t.is_empty()) {
            builder = builder.pat(SecretToken::new(pat));
        }
        match (client_id, client_secret) {
            (Some(id), Some(secret)) => {
                builder = builder.client_credentials(id, SecretToken::new(secret));
            }
            (None, None) => {}
            _ => return Err(value_error("client_id and client_secret go together")),
        }
        if let Some(timeout) = timeout {
            builder = builder.timeout(seconds(timeout, "timeout")?);
        }
        if let Some(id) = enforcer_id {
            builder = builder.enforcer_id(id);
        }
        if let Some(path) = replay_journal {
            let journal = FileReplayJournal::open(path)
                .map_err(|e| value_error(format!("replay journal: {e}")))?;
            builder = builder.replay_journal(Arc::new(journal));
        }
        Ok(Self {
            client: builder.build().map_err(gateway_error)?,
            blocking,
            pending: Pending::default(),
        })
    }

    #[pyo3(signature = (pat=None))]
    fn set_pat(&self, pat: Option<String>) {
        self.client
            .set_pat(pat.filter(|t| !t.is_empty()).map(SecretToken::new));
    }

    #[pyo3(signature = (token=None))]
    fn set_bearer_token(&self, token: Option<String>) {
        self.client
            .set_bearer_token(token.filter(|t| !t.is_empty()).map(SecretToken::new));
    }

    fn echo<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.json(py, |c| async move { c.echo().await })
    }

    fn discover<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.json(py, |c| async move { c.discover().await })
    }

    /// The consent status string (`approved`); a missing consent raises.
    fn check_consent<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client.clone();
        run(py, self.blocking, async move {
            let consent = client.check_consent().await.map_err(gateway_error)?;
            Ok(consent.status.to_string())
        })
    }

    /// Submits a sealed artifact (the seed's `ArtifactSubmitRequest`); returns its request id.
    fn submit_artifact<'py>(&self, py: Python<'py>, request: &str) -> PyResult<Bound<'py, PyAny>> {
        let fields: SubmitFields = wire(request, "ArtifactSubmitRequest")?;
        let (Some(hash), Some(ciphertext)) =
            (fields.artifact_hash.clone(), fields.ciphertext.clone())
        else {
            return Err(value_error("artifact_hash and ciphertext are required"));
        };
        let request_id = fields.request_id();
        let envelope = fields.envelope(request_id.clone(), hash, ciphertext)?;
        self.submit(py, envelope, request_id)
    }

    /// The seed's `encrypt_and_submit_artifact`: binds the JSON object to its request id,
    /// canonicalizes, hashes and seals it with the given key, submits; returns the id.
    fn encrypt_and_submit_artifact<'py>(
        &self,
        py: Python<'py>,
        request: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fields: SubmitFields = wire(request, "EncryptedArtifactRequest")?;
        let (Some(plaintext), Some(key)) = (
            fields.plaintext_payload.clone(),
            fields.encryption_key_base64_url.clone(),
        ) else {
            return Err(value_error(
                "plaintext_payload and encryption_key_base64url are required",
            ));
        };
        let key = E2eKey::from_bytes(crate::crypto::key_bytes(&key, "encryption_key_base64url")?);
        let request_id = fields.request_id();
        let sealed = py
            .detach(|| gateway::seal_artifact(&key, &request_id, plaintext.as_bytes()))
            .map_err(gateway_error)?;
        let envelope =
            fields.envelope(request_id.clone(), sealed.artifact_hash, sealed.ciphertext)?;
        self.submit(py, envelope, request_id)
    }

    fn get_exchange_status<'py>(
        &self,
        py: Python<'py>,
        request_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.json(py, |c| async move {
            c.raw().get_exchange_status(&request_id).await
        })
    }

    /// One long-poll. An exchange this client submitted with `encrypt_and_submit` gets a
    /// verified, acknowledged decision (body `verified: true`); any other gets the gateway's
    /// unverified message (body `verified: false`). `None`: no decision in time.
    fn wait_for_decision<'py>(
        &self,
        py: Python<'py>,
        request_id: String,
        timeout_seconds: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let wait = seconds(timeout_seconds, "timeout_seconds")?;
        let client = self.client.clone();
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&request_id)
            .cloned();
        run(py, self.blocking, async move {
            let Some(pending) = pending else {
                let raw = client
                    .raw()
                    .wait_for_decision(&request_id, wait)
                    .await
                    .map_err(gateway_error)?;
                return raw
                    .map(|d| {
                        let mut envelope = serde_json::to_value(d.envelope())
                            .map_err(|e| value_error(e.to_string()))?;
                        if let Some(body) = envelope.get_mut("body").and_then(|b| b.as_object_mut())
                        {
                            body.insert("verified".to_owned(), false.into());
                        }
                        to_json(&envelope)
                    })
                    .transpose();
            };
            match client
                .await_decision(&pending, AwaitOptions::new(wait))
                .await
            {
                Ok(outcome) => verified_envelope(&request_id, &outcome).map(Some),
                Err(e) if e.is_timeout() => Ok(None),
                Err(e) => Err(gateway_error(e)),
            }
        })
    }

    fn withdraw_exchange<'py>(
        &self,
        py: Python<'py>,
        request_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.json(py, |c| async move {
            c.raw().withdraw_exchange(&request_id).await
        })
    }

    #[pyo3(signature = (msg_id, request_id=None))]
    fn submit_ack<'py>(
        &self,
        py: Python<'py>,
        msg_id: String,
        request_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request_id = request_id.unwrap_or_else(|| msg_id.clone());
        let enforcer_id = self.client.enforcer_id().unwrap_or_default().to_owned();
        let ack = Envelope::ack(request_id, enforcer_id, AckBody::delivered(msg_id));
        self.json(py, |c| async move { c.raw().submit_ack(&ack).await })
    }

    fn initiate_pairing<'py>(&self, py: Python<'py>, request: &str) -> PyResult<Bound<'py, PyAny>> {
        let request: PairingInitiateRequest = wire(request, "PairingInitiateRequest")?;
        self.json(
            py,
            |c| async move { c.raw().initiate_pairing(&request).await },
        )
    }

    fn claim_pairing<'py>(&self, py: Python<'py>, request: &str) -> PyResult<Bound<'py, PyAny>> {
        let request: PairingClaimRequest = wire(request, "PairingClaimRequest")?;
        self.json(py, |c| async move { c.raw().claim_pairing(&request).await })
    }

    fn get_pairing_status<'py>(
        &self,
        py: Python<'py>,
        nonce: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.json(
            py,
            |c| async move { c.raw().get_pairing_status(&nonce).await },
        )
    }

    fn revoke_pairing<'py>(
        &self,
        py: Python<'py>,
        routing_token: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = PairingRevokeRequest::new(routing_token);
        self.json(
            py,
            |c| async move { c.raw().revoke_pairing(&request).await },
        )
    }

    fn send_heartbeat<'py>(&self, py: Python<'py>, request: &str) -> PyResult<Bound<'py, PyAny>> {
        let request: HeartbeatRequest = wire(request, "PresenceHeartbeatRequest")?;
        self.json(
            py,
            |c| async move { c.raw().send_heartbeat(&request).await },
        )
    }

    #[pyo3(signature = (enforcer_id, workspace_id, session_id=None))]
    fn get_effective_dnd_policies<'py>(
        &self,
        py: Python<'py>,
        enforcer_id: String,
        workspace_id: String,
        session_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut query = DndQuery::new(enforcer_id, workspace_id);
        if let Some(s) = session_id {
            query = query.with_session_id(s);
        }
        self.json(py, |c| async move {
            c.raw().get_effective_dnd_policies(&query).await
        })
    }

    // ── What the seed lacks: verified pairing, submission and decisions ──────────────────

    /// Starts pairing, calls `on_code(code)` (`None` when claiming a pre-generated code),
    /// waits for the approver and verifies its signed response.
    #[pyo3(signature = (enforcer_id, *, on_code=None, claim_code=None, workspace=None,
                        label=None, timeout=300.0, poll_interval=None))]
    #[allow(clippy::too_many_arguments)]
    fn pair<'py>(
        &self,
        py: Python<'py>,
        enforcer_id: String,
        on_code: Option<Py<PyAny>>,
        claim_code: Option<String>,
        workspace: Option<String>,
        label: Option<String>,
        timeout: f64,
        poll_interval: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let timeout = seconds(timeout, "timeout")?;
        let mut request = match claim_code {
            Some(code) => PairingRequest::claim(enforcer_id, code),
            None => PairingRequest::new(enforcer_id),
        };
        if let Some(workspace) = workspace {
            request = request.workspace(workspace);
        }
        if let Some(label) = label {
            request = request.label(label);
        }
        if let Some(interval) = poll_interval {
            request = request.poll_interval(seconds(interval, "poll_interval")?);
        }
        let client = self.client.clone();
        run(py, self.blocking, async move {
            let session = client.start_pairing(request).await.map_err(gateway_error)?;
            if let Some(on_code) = on_code {
                Python::attach(|py| on_code.call1(py, (session.code(),)).map(drop))?;
            }
            let pairing = session.wait(timeout).await.map_err(gateway_error)?;
            Ok(Pairing(pairing))
        })
    }

    /// Revokes a pairing.
    fn unpair<'py>(&self, py: Python<'py>, pairing: &Pairing) -> PyResult<Bound<'py, PyAny>> {
        let pairing = pairing.0.clone();
        self.json(py, |c| async move { c.unpair(&pairing).await })
    }

    /// Binds the JSON object `plaintext` to a new exchange, canonicalizes, hashes and seals
    /// it for the paired approver, and submits it.
    #[pyo3(signature = (pairing, plaintext, *, metadata=None, artifact_type=None,
                        request_id=None, expires_in=None))]
    #[allow(clippy::too_many_arguments)]
    fn encrypt_and_submit<'py>(
        &self,
        py: Python<'py>,
        pairing: &Pairing,
        plaintext: String,
        metadata: Option<BTreeMap<String, String>>,
        artifact_type: Option<String>,
        request_id: Option<String>,
        expires_in: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut options = SubmitOptions::new();
        for (k, v) in metadata.unwrap_or_default() {
            options = options.metadata(k, v);
        }
        if let Some(t) = artifact_type {
            options = options.artifact_type(t);
        }
        if let Some(id) = request_id {
            options = options.request_id(id);
        }
        if let Some(ttl) = expires_in {
            options = options.expires_in(seconds(ttl, "expires_in")?);
        }
        let pairing = pairing.0.clone();
        let client = self.client.clone();
        let remembered = self.pending.clone();
        run(py, self.blocking, async move {
            let pending = client
                .encrypt_and_submit_json(&pairing, plaintext.as_bytes(), options)
                .await
                .map_err(gateway_error)?;
            remembered
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(pending.request_id().to_owned(), pending.clone());
            Ok(PendingExchange(pending))
        })
    }

    /// Waits up to `timeout` seconds in all for the verified decision of `pending`; at the
    /// deadline the artifact is withdrawn (unless `withdraw_on_timeout=False`) and the
    /// error says so.
    #[pyo3(signature = (pending, timeout, *, withdraw_on_timeout=true))]
    fn await_decision<'py>(
        &self,
        py: Python<'py>,
        pending: &PendingExchange,
        timeout: f64,
        withdraw_on_timeout: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = AwaitOptions::new(seconds(timeout, "timeout")?)
            .withdraw_on_timeout(withdraw_on_timeout);
        let pending = pending.0.clone();
        let client = self.client.clone();
        let remembered = self.pending.clone();
        run(py, self.blocking, async move {
            let outcome = client.await_decision(&pending, options).await;
            remembered
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(pending.request_id());
            verified(pending.request_id(), &outcome.map_err(gateway_error)?)
        })
    }

    /// The one decision path in front of an action (`airlock_gateway::gate`): DND policies
    /// (deny blocks; approve only with `dnd_trust="approvals"`), the local auto-approve
    /// `patterns`, then the approver, verified — all within `timeout` seconds; a request
    /// nobody decided on is withdrawn. Never raises for the gateway: failures are verdicts.
    #[pyo3(signature = (pairing, action, *, workspace, timeout, patterns=Vec::new(),
                        dnd_trust="deny-only", fail_open=false, session_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn gate<'py>(
        &self,
        py: Python<'py>,
        pairing: &Pairing,
        action: &str,
        workspace: String,
        timeout: f64,
        patterns: Vec<String>,
        dnd_trust: &str,
        fail_open: bool,
        session_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let action: serde_json::Value = wire(action, "action")?;
        let patterns = patterns
            .iter()
            .map(|p| {
                p.parse::<Pattern>()
                    .map_err(|e| value_error(format!("pattern {p:?}: {e}")))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let trust = match dnd_trust {
            "deny-only" => DndTrust::DenyOnly,
            "approvals" => DndTrust::Approvals,
            other => {
                return Err(value_error(format!(
                    "dnd_trust: `deny-only` or `approvals`, not `{other}`"
                )));
            }
        };
        let timeout = seconds(timeout, "timeout")?;
        let pairing = pairing.0.clone();
        let client = self.client.clone();
        run(py, self.blocking, async move {
            // `Gate::decide`'s future is not `Send` (it holds the `on_event` box, which is not
            // `Sync`, across awaits): it runs on a blocking thread of its own. Cancelling the
            // Python call drops `_cancel`, which interrupts the gate: a submitted request is
            // withdrawn within the gate's grace.
            let (_cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
            let interrupt = async move {
                let _ = cancelled.await;
                "cancelled".to_owned()
            };
            let handle = tokio::runtime::Handle::current();
            let verdict = tokio::task::spawn_blocking(move || {
                let mut gate = Gate::new(&client, &pairing, workspace, timeout)
                    .patterns(patterns)
                    .dnd_trust(trust)
                    .fail_open(fail_open);
                if let Some(s) = session_id {
                    gate = gate.session_id(s);
                }
                handle.block_on(gate.decide(&action, interrupt))
            })
            .await
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
            Ok(GateVerdict::new(&verdict))
        })
    }
}

/// A verified decision, or the error that says how the exchange ended without one.
fn verified(request_id: &str, outcome: &DecisionOutcome) -> PyResult<VerifiedDecision> {
    match outcome.decision() {
        Some(d) => Ok(VerifiedDecision::new(request_id, d)),
        None => Err(ended(outcome)),
    }
}

fn ended(outcome: &DecisionOutcome) -> PyErr {
    let code = match outcome {
        DecisionOutcome::Expired { .. } => "decision_timeout",
        DecisionOutcome::Withdrawn => "exchange_withdrawn",
        _ => "exchange_cancelled",
    };
    let in_time = !matches!(outcome, DecisionOutcome::Expired { .. });
    outcome_error(code, &format!("no decision: {outcome}"), !in_time)
}

/// A verified outcome in the seed's decision-envelope shape, marked `verified`.
fn verified_envelope(request_id: &str, outcome: &DecisionOutcome) -> PyResult<String> {
    let Some(d) = outcome.decision() else {
        return Err(ended(outcome));
    };
    to_json(&serde_json::json!({
        "msgType": "decision.deliver",
        "requestId": request_id,
        "body": {
            "verified": true,
            "artifactHash": d.artifact_hash,
            "decision": if d.is_approved() { "approve" } else { "reject" },
            "reason": d.reason,
            "signerKeyId": d.signer_key_id,
            "nonce": d.nonce,
        },
    }))
}
