//! `airlock_harp._native`: the airlock-rs SDK as a CPython extension module.
//!
//! Everything here calls the workspace crates (through the façade `airlock` and the
//! embedded `airlock-sandbox`); no protocol logic lives in this crate or in the Python
//! package around it. The Python package (`python/airlock_harp/`) adds the seed SDK's
//! names and data classes on top.
//!
//! Every network call runs on one Tokio runtime (pyo3-async-runtimes'). A client made with
//! `blocking=False` returns asyncio awaitables (cancelling the Python task drops the Rust
//! future); one made with `blocking=True` (`airlock_harp.sync`) blocks the calling thread
//! without holding the GIL, and still answers Ctrl-C.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;

mod auth;
mod client;
mod crypto;
mod errors;
mod objects;
mod sandbox;

/// How often a blocking call looks for a pending signal (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Runs `fut` on the shared runtime: an awaitable, or (`blocking`) its value.
pub(crate) fn run<'py, F, T>(py: Python<'py>, blocking: bool, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    if !blocking {
        return pyo3_async_runtimes::tokio::future_into_py(py, fut);
    }
    let runtime = pyo3_async_runtimes::tokio::get_runtime();
    let mut fut = pin!(fut);
    loop {
        let polled = py.detach(|| {
            runtime.block_on(async { tokio::time::timeout(SIGNAL_CHECK, fut.as_mut()).await })
        });
        match polled {
            Ok(result) => return result?.into_bound_py_any(py),
            // A KeyboardInterrupt (or any signal handler's exception) drops the future.
            Err(_elapsed) => py.check_signals()?,
        }
    }
}

/// Seconds from Python as a `Duration` (finite, not negative).
pub(crate) fn seconds(value: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "{what} must be a finite, non-negative number of seconds (got {value})"
        ))
    })
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    crypto::register(m)?;
    m.add_class::<auth::AuthCore>()?;
    m.add_class::<client::GatewayCore>()?;
    m.add_class::<objects::Pairing>()?;
    m.add_class::<objects::PendingExchange>()?;
    m.add_class::<objects::VerifiedDecision>()?;
    m.add_class::<objects::GateVerdict>()?;
    m.add_class::<sandbox::SandboxCore>()?;
    Ok(())
}
