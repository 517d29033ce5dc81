//! The SDK's own objects, handed to Python as they are: a verified `Pairing`, a
//! `PendingExchange`, a `VerifiedDecision`, a `GateVerdict`.

use std::path::PathBuf;

use airlock::gateway::{self, gate};
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

/// The gate's answer: `outcome` (`approved`, `rejected`, `timeout`, `withdrawn`,
/// `cancelled`, `verification-failed`, `interrupted`, `failed`) and who decided
/// (`approver`, `dnd`, `pattern`, `fail-open`). Only `approved` lets the action run.
#[pyclass(module = "airlock_harp._native", frozen, get_all)]
pub(crate) struct GateVerdict {
    outcome: &'static str,
    decided_by: Option<&'static str>,
    request_id: Option<String>,
    artifact_hash: Option<String>,
    signer_key_id: Option<String>,
    reason: Option<String>,
    harp_code: Option<String>,
    message: String,
    withdrawn: Option<bool>,
}

impl GateVerdict {
    pub(crate) fn new(v: &gate::Verdict) -> Self {
        use gate::Outcome as O;
        let outcome = match v.outcome {
            O::Approved => "approved",
            O::Rejected => "rejected",
            O::Timeout => "timeout",
            O::Withdrawn => "withdrawn",
            O::Cancelled => "cancelled",
            O::VerificationFailed => "verification-failed",
            O::Interrupted => "interrupted",
            _ => "failed",
        };
        Self {
            outcome,
            decided_by: v.decided_by.map(gate::DecidedBy::as_str),
            request_id: v.request_id.clone(),
            artifact_hash: v.artifact_hash.clone(),
            signer_key_id: v.signer_key_id.clone(),
            reason: v.reason.clone(),
            harp_code: v.harp_code.clone(),
            message: v.message.clone(),
            withdrawn: v
                .withdrawal
                .as_ref()
                .map(|w| matches!(w, gate::Withdrawal::Done)),
        }
    }
}

#[pymethods]
impl GateVerdict {
    /// True only when the action may run.
    #[getter]
    fn approved(&self) -> bool {
        self.outcome == "approved"
    }

    fn __repr__(&self) -> String {
        format!(
            "GateVerdict(outcome={:?}, decided_by={:?}, request_id={:?})",
            self.outcome, self.decided_by, self.request_id
        )
    }
}
