//! App consent: the gateway's `app_consent_*` errors and [`wait_for_consent`].

use std::future::Future;
use std::time::Duration;

use airlock_types::{ConsentStatus, ConsentStatusResponse, ErrorCode, ErrorEnvelope, FlatError};

use crate::{Clock, SystemClock};

/// Which consent error the gateway returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsentErrorKind {
    /// The user has not been asked yet (`app_consent_required`).
    Required,
    /// The user was asked and has not answered (`app_consent_pending`).
    Pending,
    /// The user refused (`app_consent_denied`).
    Denied,
}

impl ConsentErrorKind {
    /// Maps the gateway's error code; `None` for other codes.
    pub fn from_code(code: &ErrorCode) -> Option<Self> {
        match code {
            ErrorCode::AppConsentRequired => Some(Self::Required),
            ErrorCode::AppConsentPending => Some(Self::Pending),
            ErrorCode::AppConsentDenied => Some(Self::Denied),
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
    pub kind: ConsentErrorKind,
    /// The gateway's message.
    pub message: Option<String>,
    /// Where the user grants consent.
    pub consent_url: Option<String>,
    /// The app's display name.
    pub app_name: Option<String>,
    /// The app's id.
    pub app_id: Option<String>,
}

impl ConsentError {
    /// Parses a consent error from a response. `None` unless the status is 403 and the
    /// body is a consent error.
    pub fn from_response(status: http::StatusCode, body: &[u8]) -> Option<Self> {
        if status != http::StatusCode::FORBIDDEN {
            return None;
        }
        Self::from_body(body)
    }

    /// Parses a consent error body regardless of the status code: the flat shape
    /// ([`FlatError`]), or a HARP error envelope ([`ErrorEnvelope`]) whose `details`
    /// carry `consentUrl`, `appName` and `appId`.
    pub fn from_body(body: &[u8]) -> Option<Self> {
        if let Ok(flat) = serde_json::from_slice::<FlatError>(body) {
            return Some(Self {
                kind: ConsentErrorKind::from_code(&flat.error)?,
                message: flat.message,
                consent_url: flat.consent_url,
                app_name: flat.app_name,
                app_id: flat.app_id,
            });
        }
        let envelope = serde_json::from_slice::<ErrorEnvelope>(body).ok()?;
        let body = envelope.body;
        let detail = |key: &str| {
            body.details
                .get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        Some(Self {
            kind: ConsentErrorKind::from_code(&body.code)?,
            message: Some(body.message.clone()).filter(|m| !m.is_empty()),
            consent_url: detail("consentUrl"),
            app_name: detail("appName"),
            app_id: detail("appId"),
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
        match e.kind {
            ConsentErrorKind::Denied => Self::Denied(e),
            ConsentErrorKind::Required | ConsentErrorKind::Pending => Self::Waiting(e),
        }
    }
}

impl From<ConsentStatusResponse> for ConsentState {
    /// A successful `GET /v1/consent/status`: `Allowed` is granted; `Denied` and `Revoked`
    /// are denied; `Required`, `Pending` and unknown statuses keep waiting.
    fn from(response: ConsentStatusResponse) -> Self {
        let error = |kind| ConsentError {
            kind,
            message: None,
            consent_url: response.consent_url.clone(),
            app_name: response.app_name.clone(),
            app_id: response.app_id.clone(),
        };
        match response.status {
            ConsentStatus::Allowed => Self::Granted,
            ConsentStatus::Denied | ConsentStatus::Revoked => {
                Self::Denied(error(ConsentErrorKind::Denied))
            }
            ConsentStatus::Required => Self::Waiting(error(ConsentErrorKind::Required)),
            _ => Self::Waiting(error(ConsentErrorKind::Pending)),
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
