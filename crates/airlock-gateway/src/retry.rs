//! The retry policy: a pure function of (idempotency, outcome, attempt).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

/// What an attempt produced, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// The gateway answered with this status (and maybe a `Retry-After`, already parsed by
    /// [`parse_retry_after`]).
    Response {
        /// The HTTP status.
        status: StatusCode,
        /// The delay the gateway asked for.
        retry_after: Option<Duration>,
    },
    /// No connection could be made: nothing reached the gateway.
    ConnectFailed,
    /// The connection failed after the request was (maybe) sent.
    DispatchFailed,
    /// The request timed out.
    TimedOut,
    /// Any other local failure (invalid request, oversized body, ...).
    Other,
}

impl AttemptOutcome {
    /// The outcome of a transport error.
    pub fn from_transport(error: &airlock_http::TransportError) -> Self {
        use airlock_http::TransportError as T;
        match error {
            T::Connect { .. } => Self::ConnectFailed,
            T::Dispatch { .. } => Self::DispatchFailed,
            T::Timeout(_) => Self::TimedOut,
            _ => Self::Other,
        }
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Send the request again after this delay.
    Retry(Duration),
    /// Give up and report the outcome.
    Stop,
}

/// A source of uniformly distributed numbers in `[0, 1)` for jitter.
pub type JitterSource = Arc<dyn Fn() -> f64 + Send + Sync>;

/// Exponential backoff with full jitter for idempotent calls.
///
/// Retried, for idempotent calls only: connect failures, dispatch failures (a pooled
/// connection reset under the request), `429`, `502`, `503` and `504`. Non-idempotent calls
/// (pairing initiate/claim/revoke) are retried only when the connection could not even be
/// made, since then nothing was sent. Never retried: timeouts, other statuses (no other
/// 4xx, no `500`), local failures.
///
/// The delay before retry `n` (1-based) is uniform in `[0, min(max_delay, base_delay ·
/// 2^(n-1))]`; a `Retry-After` from the gateway replaces it. A `Retry-After` longer than
/// `max_delay` stops the retries: the call fails at once with the gateway's answer (and its
/// [`retry_after`](crate::Error::retry_after)) instead of asking again before the gateway
/// said to. Defaults: 3 attempts in all, base delay 200 ms, cap 10 s.
#[derive(Clone)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    jitter: JitterSource,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .finish_non_exhaustive()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            jitter: Arc::new(rand::random::<f64>),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self::default().with_max_attempts(1)
    }

    /// Total attempts including the first (at least 1).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first backoff bound; it doubles with each retry.
    #[must_use]
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest delay ever waited, including one asked for by `Retry-After`.
    #[must_use]
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Replaces the random source of the jitter (values in `[0, 1)`); for tests.
    #[must_use]
    pub fn with_jitter(mut self, source: impl Fn() -> f64 + Send + Sync + 'static) -> Self {
        self.jitter = Arc::new(source);
        self
    }

    /// Total attempts including the first.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Decides whether to retry after attempt number `attempt` (1-based) produced `outcome`.
    pub fn decide(
        &self,
        idempotent: bool,
        outcome: &AttemptOutcome,
        attempt: u32,
    ) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::Stop;
        }
        let retry_after = match *outcome {
            AttemptOutcome::ConnectFailed => None,
            AttemptOutcome::DispatchFailed if idempotent => None,
            AttemptOutcome::Response {
                status,
                retry_after,
            } if idempotent && matches!(status.as_u16(), 429 | 502 | 503 | 504) => retry_after,
            _ => return RetryDecision::Stop,
        };
        if retry_after.is_some_and(|asked| asked > self.max_delay) {
            return RetryDecision::Stop;
        }
        RetryDecision::Retry(self.delay(retry_after, attempt))
    }

    /// The delay before retry number `attempt` (1-based): the gateway's `Retry-After`
    /// capped at the maximum delay, else the jittered backoff. Shared by the request retries
    /// and the waiting loops of the helpers.
    pub(crate) fn delay(&self, retry_after: Option<Duration>, attempt: u32) -> Duration {
        match retry_after {
            Some(asked) => asked.min(self.max_delay),
            None => self.backoff_delay(attempt),
        }
    }

    /// The full-jitter backoff before retry number `attempt` (1-based).
    pub(crate) fn backoff_delay(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        let bound = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let r = (self.jitter)();
        let r = if r.is_finite() {
            r.clamp(0.0, 1.0)
        } else {
            0.0
        };
        bound.mul_f64(r)
    }
}

/// Parses a `Retry-After` header: delay seconds or an HTTP-date (relative to `now`).
/// A date in the past means "now" (zero); an unparsable value is ignored.
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(jitter: f64) -> RetryPolicy {
        RetryPolicy::default()
            .with_max_attempts(4)
            .with_base_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(1))
            .with_jitter(move || jitter)
    }

    fn status(code: u16) -> AttemptOutcome {
        AttemptOutcome::Response {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: None,
        }
    }

    #[test]
    fn table_of_statuses_and_idempotency() {
        let p = policy(1.0);
        let d100 = RetryDecision::Retry(Duration::from_millis(100));
        // (idempotent, outcome, expected)
        let mut table: Vec<(bool, AttemptOutcome, RetryDecision)> = vec![
            (true, AttemptOutcome::ConnectFailed, d100),
            (false, AttemptOutcome::ConnectFailed, d100),
            (true, AttemptOutcome::DispatchFailed, d100),
            (false, AttemptOutcome::DispatchFailed, RetryDecision::Stop),
            (true, AttemptOutcome::TimedOut, RetryDecision::Stop),
            (false, AttemptOutcome::TimedOut, RetryDecision::Stop),
            (true, AttemptOutcome::Other, RetryDecision::Stop),
            (false, AttemptOutcome::Other, RetryDecision::Stop),
        ];
        for code in 100..=599u16 {
            let retryable = matches!(code, 429 | 502 | 503 | 504);
            table.push((
                true,
                status(code),
                if retryable { d100 } else { RetryDecision::Stop },
            ));
            table.push((false, status(code), RetryDecision::Stop));
        }
        for (idempotent, outcome, expected) in table {
            assert_eq!(
                p.decide(idempotent, &outcome, 1),
                expected,
                "idempotent={idempotent} outcome={outcome:?}"
            );
        }
    }

    #[test]
    fn stops_after_max_attempts() {
        let p = policy(1.0);
        for attempt in 1..4 {
            assert!(matches!(
                p.decide(true, &status(503), attempt),
                RetryDecision::Retry(_)
            ));
        }
        assert_eq!(p.decide(true, &status(503), 4), RetryDecision::Stop);
        assert_eq!(p.decide(true, &status(503), 40), RetryDecision::Stop);
        assert_eq!(
            RetryPolicy::none().decide(true, &AttemptOutcome::ConnectFailed, 1),
            RetryDecision::Stop
        );
    }

    #[test]
    fn exponential_backoff_is_capped_and_jittered() {
        let full = policy(1.0).with_max_attempts(100);
        let expected_ms = [100, 200, 400, 800, 1000, 1000];
        for (i, ms) in expected_ms.iter().enumerate() {
            assert_eq!(
                full.decide(true, &status(502), i as u32 + 1),
                RetryDecision::Retry(Duration::from_millis(*ms))
            );
        }
        // Huge attempt numbers neither overflow nor exceed the cap.
        assert_eq!(
            full.decide(true, &status(502), 99),
            RetryDecision::Retry(Duration::from_secs(1))
        );
        let half = policy(0.5);
        assert_eq!(
            half.decide(true, &status(504), 2),
            RetryDecision::Retry(Duration::from_millis(100))
        );
        let zero = policy(0.0);
        assert_eq!(
            zero.decide(true, &status(504), 3),
            RetryDecision::Retry(Duration::ZERO)
        );
        // A broken random source cannot produce a negative or endless delay.
        for bad in [f64::NAN, -3.0, 7.0, f64::INFINITY] {
            let RetryDecision::Retry(d) = policy(bad).decide(true, &status(503), 1) else {
                panic!("expected a retry");
            };
            assert!(d <= Duration::from_millis(100));
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = policy(0.0);
        let ask = |secs: u64, code: u16| AttemptOutcome::Response {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: Some(Duration::from_millis(secs)),
        };
        assert_eq!(
            p.decide(true, &ask(300, 429), 1),
            RetryDecision::Retry(Duration::from_millis(300))
        );
        assert_eq!(
            p.decide(true, &ask(1_000, 503), 1),
            RetryDecision::Retry(Duration::from_secs(1))
        );
        // Asked to come back later than we would wait: no retry before the gateway said.
        assert_eq!(p.decide(true, &ask(60_000, 503), 1), RetryDecision::Stop);
        assert_eq!(p.decide(true, &ask(1_001, 429), 1), RetryDecision::Stop);
        assert_eq!(p.decide(false, &ask(300, 429), 1), RetryDecision::Stop);
        assert_eq!(p.decide(true, &ask(300, 400), 1), RetryDecision::Stop);
    }

    #[test]
    fn parses_retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // 06 Nov 1994 08:49:37
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(http::header::RETRY_AFTER, v.parse().unwrap());
            m
        };
        assert_eq!(
            parse_retry_after(&h("120"), now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(&h(" 0 "), now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(&h("Sun, 06 Nov 1994 08:49:47 GMT"), now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after(&h("Sun, 06 Nov 1994 08:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(&h("-5"), now), None);
        assert_eq!(parse_retry_after(&h("soon"), now), None);
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }
}
