//! Gateway errors as `airlock_harp.errors.AirlockGatewayError`, with the predicates the
//! Rust error computes (never recomputed in Python).

use airlock::gateway::Error;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The Python exception for a gateway error (takes the GIL: call it where the error occurs,
/// on any thread).
pub(crate) fn gateway_error(e: Error) -> PyErr {
    Python::attach(|py| build(py, &e).unwrap_or_else(|err| err))
}

/// A gateway error without a Rust error behind it: how an exchange ended without a
/// verified decision (`decision_timeout`, `exchange_withdrawn`, `exchange_cancelled`);
/// nobody deciding in time is both `is_expired` and `is_timeout`.
pub(crate) fn outcome_error(code: &str, message: &str, expired: bool) -> PyErr {
    Python::attach(|py| {
        let kwargs = PyDict::new(py);
        let raise = || -> PyResult<PyErr> {
            kwargs.set_item("error_code", code)?;
            let predicates = [("is_expired", expired), ("is_timeout", expired)];
            kwargs.set_item("flags", flags(py, &predicates)?)?;
            instance(py, message, &kwargs)
        };
        raise().unwrap_or_else(|err| err)
    })
}

fn build(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("status_code", e.status().map(|s| s.as_u16()))?;
    kwargs.set_item("error_code", e.code().map(|c| c.as_str().to_owned()))?;
    let service = e.as_service();
    kwargs.set_item("request_id", service.and_then(|s| s.request_id()))?;
    kwargs.set_item("retry_after", e.retry_after().map(|d| d.as_secs_f64()))?;
    if let Some(consent) = e.consent() {
        kwargs.set_item("consent_url", consent.consent_url.as_deref())?;
        kwargs.set_item("app_name", consent.app_name.as_deref())?;
        kwargs.set_item("app_id", consent.app_id.as_deref())?;
    }
    let predicates = [
        ("is_quota_exceeded", e.is_quota_exceeded()),
        ("is_pairing_revoked", e.is_pairing_revoked()),
        ("is_expired", e.is_expired()),
        ("is_conflict", e.is_conflict()),
        ("is_not_found", e.is_not_found()),
        ("is_unauthorized", e.is_unauthorized()),
        ("is_consent_required", e.is_consent_required()),
        ("is_consent_pending", e.is_consent_pending()),
        ("is_consent_denied", e.is_consent_denied()),
        ("is_timeout", e.is_timeout()),
        ("is_verification", e.is_verification()),
        ("is_retryable", e.is_retryable()),
    ];
    kwargs.set_item("flags", flags(py, &predicates)?)?;
    instance(py, &error_chain(e), &kwargs)
}

fn flags<'py>(py: Python<'py>, predicates: &[(&str, bool)]) -> PyResult<Bound<'py, PyDict>> {
    let flags = PyDict::new(py);
    for (name, value) in predicates {
        flags.set_item(name, value)?;
    }
    Ok(flags)
}

fn instance(py: Python<'_>, message: &str, kwargs: &Bound<'_, PyDict>) -> PyResult<PyErr> {
    let class = py
        .import("airlock_harp.errors")?
        .getattr("AirlockGatewayError")?;
    Ok(PyErr::from_value(class.call((message,), Some(kwargs))?))
}

/// The error's message with its sources (`transport failure: connection refused`).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// A `ValueError` for input the binding refuses before calling the SDK.
pub(crate) fn value_error(message: impl Into<String>) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(message.into())
}
