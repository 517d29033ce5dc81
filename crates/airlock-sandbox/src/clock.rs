//! Time: the sandbox's own clock (which tests can move forward), and helpers that read
//! timestamps tolerantly and write RFC 3339 UTC.

use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The sandbox's clock: the wall clock, plus however far it was moved forward
/// ([`crate::Sandbox::advance_clock`]). Every expiry the gateway and the IdP decide (codes,
/// tokens, exchanges, pairing sessions, presence, DND policies) and every sweep reads it.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    /// Nanoseconds ahead of the wall clock.
    ahead: AtomicU64,
}

impl Clock {
    /// Now, in UTC, at full precision (ordering and expiry); [`format`] truncates to seconds.
    pub(crate) fn now(&self) -> OffsetDateTime {
        plus(OffsetDateTime::now_utc(), self.ahead())
    }

    /// How far ahead of the wall clock it is.
    pub(crate) fn ahead(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.ahead.load(Ordering::Relaxed))
    }

    /// Moves the clock forward by `by` (saturating, about 584 years at most).
    pub(crate) fn advance(&self, by: std::time::Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .ahead
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |a| {
                Some(a.saturating_add(by))
            });
    }

    /// Time from now until `t` (zero when past).
    pub(crate) fn until(&self, t: OffsetDateTime) -> std::time::Duration {
        std::time::Duration::try_from(t - self.now()).unwrap_or_default()
    }
}

/// `2026-02-24T10:00:00Z` (whole seconds, UTC).
pub(crate) fn format(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// Reads RFC 3339 with any offset and fraction; tolerates a missing offset (taken as UTC) and
/// a space separator.
pub(crate) fn parse(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let fixed = s.replacen(' ', "T", 1).to_ascii_uppercase();
    if let Ok(t) = OffsetDateTime::parse(&fixed, &Rfc3339) {
        return Some(t);
    }
    OffsetDateTime::parse(&format!("{fixed}Z"), &Rfc3339).ok()
}

/// `t + d` for a std duration, saturating far in the future.
pub(crate) fn plus(t: OffsetDateTime, d: std::time::Duration) -> OffsetDateTime {
    let d = time::Duration::try_from(d).unwrap_or(time::Duration::days(365));
    t.checked_add(d).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_forward_only_when_advanced() {
        let clock = Clock::default();
        let wall = OffsetDateTime::now_utc();
        assert!(clock.now() - wall < time::Duration::minutes(1));
        clock.advance(std::time::Duration::from_secs(5 * 3600));
        assert!(clock.now() - wall >= time::Duration::hours(5));
        let ahead = clock.now() - OffsetDateTime::now_utc();
        assert!(ahead < time::Duration::hours(5) + time::Duration::minutes(1));
        assert_eq!(clock.until(wall), std::time::Duration::ZERO);
        clock.advance(std::time::Duration::MAX);
        assert!(clock.now() > wall);
    }

    #[test]
    fn reads_offsets_fractions_and_missing_zones() {
        let utc = |s: &str| parse(s).map(format);
        assert_eq!(
            utc("2026-02-24T12:00:00.123456+02:00").as_deref(),
            Some("2026-02-24T10:00:00Z")
        );
        assert_eq!(
            utc("2026-02-24 10:00:00z").as_deref(),
            Some("2026-02-24T10:00:00Z")
        );
        assert_eq!(
            utc("2026-02-24T10:00:00").as_deref(),
            Some("2026-02-24T10:00:00Z")
        );
        assert_eq!(utc("yesterday"), None);
    }
}
