//! Time helpers: the sandbox reads timestamps tolerantly and writes RFC 3339 UTC.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, in UTC, at full precision (ordering and expiry); [`format`] truncates to seconds.
pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
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

/// Time from now until `t` (zero when past).
pub(crate) fn until(t: OffsetDateTime) -> std::time::Duration {
    std::time::Duration::try_from(t - now()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

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
