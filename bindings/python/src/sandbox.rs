//! `airlock_harp.sandbox.Sandbox`: the embedded `airlock-sandbox` (gateway, identity
//! provider and simulated approver on 127.0.0.1), running on the extension's runtime.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use airlock::types::{Decision, DndPolicy};
use airlock_sandbox::{ApproverPolicy, ConsentState, Sandbox, SandboxConfig, TamperMode};
use pyo3::prelude::*;

use crate::errors::value_error;
use crate::seconds;

/// The sandbox behind `airlock_harp.sandbox.Sandbox` (not part of the public surface).
#[pyclass(module = "airlock_harp._native", frozen)]
pub(crate) struct SandboxCore(Mutex<Option<Sandbox>>);

fn sandbox_error(e: impl std::fmt::Display) -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err(format!("sandbox: {e}"))
}

fn parse<T>(value: &str, what: &str, parse: fn(&str) -> Option<T>) -> PyResult<T> {
    parse(value).ok_or_else(|| value_error(format!("unknown {what} `{value}`")))
}

impl SandboxCore {
    fn with<T>(&self, f: impl FnOnce(&Sandbox) -> PyResult<T>) -> PyResult<T> {
        let _runtime = pyo3_async_runtimes::tokio::get_runtime().enter();
        let guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let sandbox = guard.as_ref().ok_or_else(|| sandbox_error("stopped"))?;
        f(sandbox)
    }
}

#[pymethods]
impl SandboxCore {
    /// Starts a sandbox on a free loopback port.
    #[new]
    #[pyo3(signature = (*, approver_policy="approve", tamper="none", auto_pair=true,
                        decision_delay=0.0))]
    fn new(
        py: Python<'_>,
        approver_policy: &str,
        tamper: &str,
        auto_pair: bool,
        decision_delay: f64,
    ) -> PyResult<Self> {
        let config = SandboxConfig::builder()
            .port(0)
            .approver_policy(parse(
                approver_policy,
                "approver policy",
                ApproverPolicy::parse,
            )?)
            .tamper(parse(tamper, "tamper mode", TamperMode::parse)?)
            .auto_pair(auto_pair)
            .decision_delay(seconds(decision_delay, "decision_delay")?)
            .build();
        let runtime = pyo3_async_runtimes::tokio::get_runtime();
        let sandbox = py
            .detach(|| runtime.block_on(Sandbox::start(config)))
            .map_err(sandbox_error)?;
        Ok(Self(Mutex::new(Some(sandbox))))
    }

    /// Stops serving (idempotent).
    fn shutdown(&self, py: Python<'_>) {
        let taken = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(sandbox) = taken {
            let runtime = pyo3_async_runtimes::tokio::get_runtime();
            py.detach(|| runtime.block_on(sandbox.shutdown()));
        }
    }

    #[getter]
    fn gateway_url(&self) -> PyResult<String> {
        self.with(|s| Ok(s.gateway_url().to_owned()))
    }

    #[getter]
    fn issuer_url(&self) -> PyResult<String> {
        self.with(|s| Ok(s.issuer_url().to_owned()))
    }

    #[getter]
    fn client_id(&self) -> PyResult<String> {
        self.with(|s| Ok(s.client_id().to_owned()))
    }

    #[getter]
    fn client_secret(&self) -> PyResult<String> {
        self.with(|s| Ok(s.client_secret().to_owned()))
    }

    #[getter]
    fn public_client_id(&self) -> PyResult<String> {
        self.with(|s| Ok(s.public_client_id().to_owned()))
    }

    /// The identity provider's client id for enforcer sign-in.
    #[getter]
    fn idp_client_id(&self) -> PyResult<String> {
        self.with(|s| Ok(s.idp_client_id().to_owned()))
    }

    #[getter]
    fn pat(&self) -> PyResult<String> {
        self.with(|s| Ok(s.pat().to_owned()))
    }

    /// The approver signing key's fingerprint (what the Airlock app shows).
    #[getter]
    fn approver_fingerprint(&self) -> PyResult<String> {
        self.with(|s| Ok(s.approver().public_key().fingerprint().to_owned()))
    }

    fn set_policy(&self, policy: &str) -> PyResult<()> {
        let policy = parse(policy, "approver policy", ApproverPolicy::parse)?;
        self.with(|s| {
            s.approver().set_policy(policy);
            Ok(())
        })
    }

    fn set_tamper(&self, tamper: &str) -> PyResult<()> {
        let tamper = parse(tamper, "tamper mode", TamperMode::parse)?;
        self.with(|s| {
            s.approver().set_tamper(tamper);
            Ok(())
        })
    }

    fn set_auto_pair(&self, auto_pair: bool) -> PyResult<()> {
        self.with(|s| {
            s.approver().set_auto_pair(auto_pair);
            Ok(())
        })
    }

    /// Consent for the (app, user) pairs: `required`, `pending`, `allowed` or `denied`.
    #[pyo3(signature = (state, app_id=None))]
    fn set_consent(&self, state: &str, app_id: Option<&str>) -> PyResult<()> {
        let state = parse(state, "consent state", ConsentState::parse)?;
        self.with(|s| {
            s.set_consent(app_id, state);
            Ok(())
        })
    }

    /// The approver completes a pending pairing by its code.
    fn complete_pairing(&self, pairing_code: &str) -> PyResult<()> {
        self.with(|s| {
            s.approver()
                .complete_pairing(pairing_code)
                .map(drop)
                .map_err(sandbox_error)
        })
    }

    /// The approver pre-generates a code for `claim_pairing`.
    fn pre_generate_code(&self) -> PyResult<String> {
        self.with(|s| {
            s.approver()
                .pre_generate_code()
                .map(|c| c.pairing_code)
                .map_err(sandbox_error)
        })
    }

    /// Request ids the approver has received and not decided.
    fn pending(&self) -> PyResult<Vec<String>> {
        self.with(|s| {
            Ok(s.approver()
                .pending()
                .into_iter()
                .map(|a| a.request_id)
                .collect())
        })
    }

    /// What the approver decrypted for `request_id` (JSON text), after checking its hash;
    /// `None` if it has not received it.
    fn seen_plaintext(&self, request_id: &str) -> PyResult<Option<String>> {
        self.with(|s| {
            Ok(s.approver()
                .seen_artifact(request_id)
                .filter(|a| a.hash_matches())
                .and_then(|a| a.plaintext)
                .map(|p| p.to_string()))
        })
    }

    /// Waits (up to `timeout` seconds) until the approver has received `request_id`.
    fn wait_for_artifact(&self, py: Python<'_>, request_id: String, timeout: f64) -> PyResult<()> {
        let timeout: Duration = seconds(timeout, "timeout")?;
        let approver = self.with(|s| Ok(s.approver().clone()))?;
        let runtime = pyo3_async_runtimes::tokio::get_runtime();
        py.detach(|| runtime.block_on(approver.wait_for_artifact(&request_id, timeout)))
            .map(drop)
            .map_err(sandbox_error)
    }

    /// Decides a pending artifact by hand (policy `manual`).
    #[pyo3(signature = (request_id, approve, reason=None))]
    fn decide(&self, request_id: &str, approve: bool, reason: Option<&str>) -> PyResult<()> {
        let decision = if approve {
            Decision::Approve
        } else {
            Decision::Reject
        };
        self.with(|s| {
            s.approver()
                .decide(request_id, decision, reason)
                .map_err(sandbox_error)
        })
    }

    /// Adds a DND policy (its wire JSON).
    fn add_dnd_policy(&self, policy: &str) -> PyResult<()> {
        let policy: DndPolicy = serde_json::from_str(policy)
            .map_err(|e| value_error(format!("invalid DND policy: {e}")))?;
        self.with(|s| {
            s.add_dnd_policy(policy);
            Ok(())
        })
    }

    fn clear_dnd_policies(&self) -> PyResult<()> {
        self.with(|s| {
            s.clear_dnd_policies();
            Ok(())
        })
    }

    /// The gateway's state of an exchange (`pending`, `delivered`, ...), if it knows it.
    fn exchange_state(&self, request_id: &str) -> PyResult<Option<String>> {
        self.with(|s| Ok(s.exchange(request_id).map(|e| e.state.to_string())))
    }
}
