//! RFC 3339 timestamps, always in UTC.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// A point in time on the wire: RFC 3339, always normalized to UTC.
///
/// * Writes `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (the fraction only when non-zero, without
///   trailing zeros).
/// * Reads any RFC 3339 form — offsets (`+02:00`), fractions of any length, lower-case
///   `t`/`z`, a space separator — and, tolerantly, a timestamp without an offset, which is
///   taken as UTC. The value is converted to UTC.
/// * Holds years 0000 through 9999 only (what RFC 3339 can write), so formatting never
///   fails; constructors that could leave that range return [`TimestampError`].
///
/// ```
/// use airlock_types::Timestamp;
/// use airlock_types::time::Duration;
///
/// let t: Timestamp = "2026-02-24T12:00:00.500+02:00".parse().unwrap();
/// assert_eq!(t.to_string(), "2026-02-24T10:00:00.5Z");
/// let later = t.checked_add(Duration::minutes(10)).unwrap();
/// assert_eq!(later - t, Duration::minutes(10));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// Why a [`Timestamp`] could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The text is not an RFC 3339 timestamp.
    #[error("not an RFC 3339 timestamp: {0}")]
    Parse(#[source] time::error::Parse),
    /// The instant is outside years 0000..=9999 in UTC.
    #[error("timestamp outside years 0000..=9999 (UTC)")]
    OutOfRange,
}

impl Timestamp {
    /// The earliest representable timestamp, `0000-01-01T00:00:00Z`.
    pub const MIN: Self = Self(time::macros::datetime!(0000-01-01 00:00:00 UTC));
    /// The latest representable timestamp, `9999-12-31T23:59:59.999999999Z`.
    pub const MAX: Self = Self(time::macros::datetime!(9999-12-31 23:59:59.999_999_999 UTC));
    /// The Unix epoch, `1970-01-01T00:00:00Z`.
    pub const UNIX_EPOCH: Self = Self(OffsetDateTime::UNIX_EPOCH);

    /// The current time, truncated to whole seconds (the precision the protocol's examples
    /// use; use [`Timestamp::now_precise`] to keep the fraction).
    #[must_use]
    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        Self(now.replace_nanosecond(0).unwrap_or(now))
    }

    /// The current time with the system clock's full precision.
    #[must_use]
    pub fn now_precise() -> Self {
        Self(OffsetDateTime::now_utc())
    }

    /// The timestamp `seconds` after the Unix epoch (negative: before).
    pub fn from_unix_seconds(seconds: i64) -> Result<Self, TimestampError> {
        OffsetDateTime::from_unix_timestamp(seconds)
            .map_err(|_| TimestampError::OutOfRange)
            .and_then(Self::from_offset_date_time)
    }

    /// Converts any `OffsetDateTime` to UTC.
    pub fn from_offset_date_time(value: OffsetDateTime) -> Result<Self, TimestampError> {
        let utc = value
            .checked_to_offset(UtcOffset::UTC)
            .ok_or(TimestampError::OutOfRange)?;
        if (0..=9999).contains(&utc.year()) {
            Ok(Self(utc))
        } else {
            Err(TimestampError::OutOfRange)
        }
    }

    /// Reads an RFC 3339 timestamp (see the type docs for what is accepted).
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let parsed = match OffsetDateTime::parse(text, &Rfc3339) {
            Ok(value) => value,
            Err(err) => {
                // Tolerate a missing offset ("2026-02-24T10:00:00"), taken as UTC.
                let ends_in_digit = text.bytes().last().is_some_and(|b| b.is_ascii_digit());
                let with_utc = ends_in_digit
                    .then(|| OffsetDateTime::parse(&format!("{text}Z"), &Rfc3339).ok())
                    .flatten();
                with_utc.ok_or(TimestampError::Parse(err))?
            }
        };
        Self::from_offset_date_time(parsed)
    }

    /// The instant as a UTC `OffsetDateTime`.
    #[must_use]
    pub fn as_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    /// Seconds since the Unix epoch (fractions truncated).
    #[must_use]
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// `self + duration`, or `None` outside the representable range.
    #[must_use]
    pub fn checked_add(self, duration: Duration) -> Option<Self> {
        self.0
            .checked_add(duration)
            .and_then(|t| Self::from_offset_date_time(t).ok())
    }

    /// `self - duration`, or `None` outside the representable range.
    #[must_use]
    pub fn checked_sub(self, duration: Duration) -> Option<Self> {
        self.0
            .checked_sub(duration)
            .and_then(|t| Self::from_offset_date_time(t).ok())
    }

    /// `self + duration`, clamped to [`Timestamp::MIN`]..=[`Timestamp::MAX`].
    #[must_use]
    pub fn saturating_add(self, duration: Duration) -> Self {
        self.checked_add(duration)
            .unwrap_or(if duration.is_negative() {
                Self::MIN
            } else {
                Self::MAX
            })
    }

    /// `self + duration` for a `std::time::Duration`, clamped to [`Timestamp::MAX`].
    #[must_use]
    pub fn saturating_add_std(self, duration: core::time::Duration) -> Self {
        Duration::try_from(duration).map_or(Self::MAX, |d| self.saturating_add(d))
    }

    /// Whether this instant is strictly before `now`.
    #[must_use]
    pub fn is_before(&self, now: Timestamp) -> bool {
        *self < now
    }
}

impl core::ops::Sub for Timestamp {
    type Output = Duration;

    /// The signed duration from `rhs` to `self`.
    fn sub(self, rhs: Self) -> Duration {
        self.0 - rhs.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.format(&Rfc3339).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl TryFrom<OffsetDateTime> for Timestamp {
    type Error = TimestampError;

    fn try_from(value: OffsetDateTime) -> Result<Self, Self::Error> {
        Self::from_offset_date_time(value)
    }
}

impl From<Timestamp> for OffsetDateTime {
    fn from(value: Timestamp) -> Self {
        value.0
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.0.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;

        impl serde::de::Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp string")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Timestamp, E> {
                Timestamp::parse(value).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(TimestampVisitor)
    }
}
