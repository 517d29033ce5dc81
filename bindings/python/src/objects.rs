//! The SDK's own objects, handed to Python as they are: a verified `Pairing`, a
//! `PendingExchange`, a `VerifiedDecision`, a `DndVerdict`.

use std::path::PathBuf;

use airlock::gateway;
use pyo3::prelude::*;

use crate::errors::gateway_error;

/// A verified pairing with an approver: routing token, the approver's signing key (the only
/// key whose decisions are trusted) and the end-to-end key. Keep it with `save`; never
/// print it (it holds secrets; `repr` shows none).
#[pyclass(module = "airlock_harp._native", frozen)]
pub(crate) struct Pairing(pub(crate) gateway::Pairing);

#[pymethods]
impl Pairing {
    /// Loads a pairing saved by `save`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| gateway::Pairing::load(&path))
            .map(Self)
            .map_err(gateway_error)
    }

    /// Saves the pairing (atomically, owner-only permissions).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.0.save(&path)).map_err(gateway_error)
    }

    /// The approver signing key's fingerprint: compare it with the Airlock app.
    #[getter]
    fn fingerprint(&self) -> &str {
        self.0.fingerprint()
    }

    #[getter]
    fn routing_token(&self) -> &str {
        self.0.routing_token()
    }

    #[getter]
    fn enforcer_id(&self) -> &str {
        self.0.enforcer_id()
    }

    #[getter]
    fn signer_key_id(&self) -> &str {
        self.0.signer_key_id()
    }

    #[getter]
    fn workspace_name(&self) -> Option<&str> {
        self.0.workspace_name()
    }

    #[getter]
    fn enforcer_label(&self) -> Option<&str> {
        self.0.enforcer_label()
    }

    #[getter]
    fn paired_at(&self) -> String {
        self.0.paired_at().to_string()
    }

    /// This enforcer's X25519 public key (base64url).
    #[getter]
    fn x25519_public_key(&self) -> String {
        self.0.x25519_public_key().to_base64url()
    }

    fn __repr__(&self) -> String {
        format!(
            "Pairing(enforcer_id={:?}, signer_key_id={:?}, fingerprint={:?})",
            self.0.enforcer_id(),
            self.0.signer_key_id(),
            self.0.fingerprint()
        )
    }
}

/// A submitted artifact awaiting its decision: what the decision will be checked against
/// (request id, artifact hash, the paired signers).
#[pyclass(module = "airlock_harp._native", frozen)]
pub(crate) struct PendingExchange(pub(crate) gateway::PendingExchange);

#[pymethods]
impl PendingExchange {
    /// Loads a pending exchange saved by `save` (to await its decision in another process).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| gateway::PendingExchange::load(&path))
            .map(Self)
            .map_err(gateway_error)
    }

    /// Saves the pending exchange (atomically, owner-only permissions).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.0.save(&path)).map_err(gateway_error)
    }

    #[getter]
    fn request_id(&self) -> &str {
        self.0.request_id()
    }

    #[getter]
    fn artifact_hash(&self) -> &str {
        self.0.artifact_hash()
    }

    #[getter]
    fn enforcer_id(&self) -> &str {
        self.0.enforcer_id()
    }

    #[getter]
    fn expires_at(&self) -> String {
        self.0.expires_at().to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "PendingExchange(request_id={:?}, artifact_hash={:?})",
            self.0.request_id(),
            self.0.artifact_hash()
        )
    }
}

/// A decision whose signature, artifact hash, signer and nonce were verified (and that
/// was acknowledged). `approved` is the only thing that may let an action run.
#[pyclass(module = "airlock_harp._native", frozen, get_all)]
pub(crate) struct VerifiedDecision {
    approved: bool,
    decision: String,
    reason: Option<String>,
    signer_key_id: String,
    nonce: String,
    artifact_hash: String,
    request_id: String,
}

impl VerifiedDecision {
    pub(crate) fn new(request_id: &str, d: &airlock::crypto::VerifiedDecision) -> Self {
        let approved = d.is_approved();
        Self {
            approved,
            decision: if approved { "approve" } else { "reject" }.to_owned(),
            reason: d.reason.clone(),
            signer_key_id: d.signer_key_id.clone(),
            nonce: d.nonce.clone(),
            artifact_hash: d.artifact_hash.clone(),
            request_id: request_id.to_owned(),
        }
    }
}

#[pymethods]
impl VerifiedDecision {
    /// Same as `approved` (the seed's name).
    #[getter]
    fn is_approved(&self) -> bool {
        self.approved
    }

    #[getter]
    fn is_rejected(&self) -> bool {
        !self.approved
    }

    fn __repr__(&self) -> String {
        format!(
            "VerifiedDecision(request_id={:?}, decision={:?}, signer_key_id={:?})",
            self.request_id, self.decision, self.signer_key_id
        )
    }
}

/// What the Do-Not-Disturb policies say about an action: `"approve"`, `"deny"` or `"ask"`
/// (no policy applies, or it may not decide under the chosen trust), with the deciding
/// policy's id.
#[pyclass(module = "airlock_harp._native", frozen, get_all)]
pub(crate) struct DndVerdict {
    verdict: &'static str,
    policy_id: Option<String>,
}

impl DndVerdict {
    pub(crate) fn new(verdict: &gateway::DndVerdict) -> Self {
        let name = match verdict {
            gateway::DndVerdict::Approve(_) => "approve",
            gateway::DndVerdict::Deny(_) => "deny",
            _ => "ask",
        };
        Self {
            verdict: name,
            policy_id: verdict.policy().map(|p| p.request_id.clone()),
        }
    }
}

#[pymethods]
impl DndVerdict {
    fn __repr__(&self) -> String {
        format!(
            "DndVerdict(verdict={:?}, policy_id={:?})",
            self.verdict, self.policy_id
        )
    }
}
