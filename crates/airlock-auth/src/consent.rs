//! App consent: the gateway's `app_consent_*` errors and [`wait_for_consent`].

use std::future::Future;
use std::time::Duration;

use crate::{Clock, SystemClock};

/// Where the user's consent for the app stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsentStatus {
    /// The user has not been asked yet (`app_consent_required`).
    Required,
    /// The user was asked and has not answered (`app_consent_pending`).
    Pending,
    /// The user refused (`app_consent_denied`).
    Denied,
}

impl ConsentStatus {
    /// Maps the gateway's error code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "app_consent_required" => Some(Self::Required),
            "app_consent_pending" => Some(Self::Pending),
            "app_consent_denied" => Some(Self::Denied),
            _ => None,
        }
    }
}

/// A consent error from the gateway (HTTP 403), e.g.
/// `{"error":"app_consent_required","message":"…","consentUrl":"…","appName":"…","appId":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsentError {
    /// Required, pending or denied.
    pub status: ConsentStatus,
    /// The gateway's message.
    pub message: Option<String>,
    /// Where the user grants consent.
    pub consent_url: Option<String>,
    /// The app's display name.
    pub app_name: Option<String>,
    /// The app's id.
    pub app_id: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct FlatError {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    consent_url: Option<String>,
    #[serde(default)]
    app_name: Option<String>,
    #[serde(default)]
    app_id: Option<String>,
    /// HARP error envelope: `{"msgType":"error","body":{"code":…,"details":{…}}}`.
    #[serde(default)]
    body: Option<Box<FlatError>>,
    #[serde(default)]
    details: Option<Box<FlatError>>,
}

impl ConsentError {
    /// Parses a consent error from a response. `None` unless the status is 403 and the
    /// body is a consent error (flat shape, or a HARP error envelope with the same code).
    pub fn from_response(status: http::StatusCode, body: &[u8]) -> Option<Self> {
        if status != http::StatusCode::FORBIDDEN {
            return None;
        }
        Self::from_body(body)
    }

    /// Parses a consent error body regardless of the status code.
    pub fn from_body(body: &[u8]) -> Option<Self> {
        let parsed: FlatError = serde_json::from_slice(body).ok()?;
        let parsed = match parsed.body {
            Some(inner) if parsed.error.is_none() => *inner,
            _ => parsed,
        };
        let code = parsed.error.as_deref().or(parsed.code.as_deref())?;
        let status = ConsentStatus::from_code(code)?;
        let details = parsed.details.as_deref();
        let pick = |own: &Option<String>, f: fn(&FlatError) -> &Option<String>| {
            own.clone().or_else(|| details.and_then(|d| f(d).clone()))
        };
        Some(Self {
            status,
            message: parsed.message.clone(),
            consent_url: pick(&parsed.consent_url, |d| &d.consent_url),
            app_name: pick(&parsed.app_name, |d| &d.app_name),
            app_id: pick(&parsed.app_id, |d| &d.app_id),
        })
    }
}

/// The answer of one consent check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsentState {
    /// Consent is granted: go on.
    Granted,
    /// Consent is required or pending: keep waiting (show `consent_url` to the user).
    Waiting(ConsentError),
    /// The user refused.
    Denied(ConsentError),
}

impl From<ConsentError> for ConsentState {
    fn from(e: ConsentError) -> Self {
        match e.status {
            ConsentStatus::Denied => Self::Denied(e),
            ConsentStatus::Required | ConsentStatus::Pending => Self::Waiting(e),
        }
    }
}

/// How [`wait_for_consent`] spaces its checks: `initial`, multiplied by `factor` after each
/// check, capped at `max`. Default: 2 s, ×2, at most 30 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsentBackoff {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
    /// The multiplier (1 = constant).
    pub factor: u32,
}

impl ConsentBackoff {
    /// A backoff from `initial` to `max`, doubling.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            factor: 2,
        }
    }
}

impl Default for ConsentBackoff {
    fn default() -> Self {
        Self::new(Duration::from_secs(2), Duration::from_secs(30))
    }
}

/// Why [`wait_for_consent`] stopped without consent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsentWaitError<E> {
    /// The user refused.
    #[error("the user denied consent for the app")]
    Denied(ConsentError),
    /// The deadline passed while consent was still required or pending.
    #[error("timed out after {timeout:?} waiting for consent")]
    TimedOut {
        /// The wait's limit.
        timeout: Duration,
        /// The last consent error seen.
        last: Option<ConsentError>,
    },
    /// The check itself failed.
    #[error("consent check failed")]
    Check(#[source] E),
}

/// Calls `check` until consent is granted or denied, or `timeout` passes, waiting with
/// `backoff` between checks. Generic over the check (e.g. a closure around the gateway
/// client's consent-status call), so it needs no gateway dependency.
pub async fn wait_for_consent<F, Fut, E>(
    check: F,
    timeout: Duration,
    backoff: ConsentBackoff,
) -> Result<(), ConsentWaitError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<ConsentState, E>>,
{
    wait_for_consent_with_clock(&SystemClock, check, timeout, backoff).await
}

/// [`wait_for_consent`] with an injected clock.
pub async fn wait_for_consent_with_clock<F, Fut, E>(
    clock: &dyn Clock,
    mut check: F,
    timeout: Duration,
    backoff: ConsentBackoff,
) -> Result<(), ConsentWaitError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<ConsentState, E>>,
{
    let start = clock.now();
    let mut delay = backoff.initial.max(Duration::from_millis(1));
    loop {
        let last = match check().await.map_err(ConsentWaitError::Check)? {
            ConsentState::Granted => return Ok(()),
            ConsentState::Denied(e) => return Err(ConsentWaitError::Denied(e)),
            ConsentState::Waiting(e) => e,
        };
        let elapsed = clock.now().duration_since(start).unwrap_or_default();
        let Some(remaining) = timeout.checked_sub(elapsed).filter(|r| !r.is_zero()) else {
            return Err(ConsentWaitError::TimedOut {
                timeout,
                last: Some(last),
            });
        };
        clock.sleep(delay.min(remaining)).await;
        delay = delay
            .checked_mul(backoff.factor.max(1))
            .unwrap_or(backoff.max)
            .min(backoff.max);
    }
}
