//! RFC 3339 timestamps, always in UTC.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

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
        if let Some(utc) = parse_utc(text.as_bytes()) {
            return Ok(Self(utc));
        }
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

/// The form the gateway writes, `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with 1 to 9 fraction
/// digits and no leap second, read without the general RFC 3339 parser; `None` for anything
/// else, which [`Timestamp::parse`] then reads the general way (to the same value).
fn parse_utc(text: &[u8]) -> Option<OffsetDateTime> {
    fn digit(b: u8) -> Option<u8> {
        let d = b.wrapping_sub(b'0');
        (d < 10).then_some(d)
    }
    fn number(digits: &[u8]) -> Option<u32> {
        let mut value = 0;
        for &b in digits {
            value = value * 10 + u32::from(digit(b)?);
        }
        Some(value)
    }
    let (head, zone) = text.split_at_checked(19)?;
    let fraction: &[u8] = match zone {
        b"Z" => b"",
        [b'.', fraction @ .., b'Z'] if (1..=9).contains(&fraction.len()) => fraction,
        _ => return None,
    };
    let [
        y0,
        y1,
        y2,
        y3,
        b'-',
        m0,
        m1,
        b'-',
        d0,
        d1,
        b'T',
        h0,
        h1,
        b':',
        n0,
        n1,
        b':',
        s0,
        s1,
    ] = *head
    else {
        return None;
    };
    let two = |a: u8, b: u8| Some(digit(a)? * 10 + digit(b)?);
    let year = i32::from(two(y0, y1)?) * 100 + i32::from(two(y2, y3)?);
    let month = Month::try_from(two(m0, m1)?).ok()?;
    let date = Date::from_calendar_date(year, month, two(d0, d1)?).ok()?;
    // 9 - len is 0..=8: the fraction scaled to nanoseconds.
    let nanosecond = number(fraction)? * 10u32.pow(9 - fraction.len() as u32);
    let time = Time::from_hms_nano(two(h0, h1)?, two(n0, n1)?, two(s0, s1)?, nanosecond).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// Longest text [`write_utc`] writes: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const MAX_TEXT: usize = 30;

/// Writes `t` (UTC, year 0000..=9999) as RFC 3339 exactly as the `time` crate does — the
/// fraction only when non-zero, without trailing zeros, and `Z` — into `out`; returns the
/// length. `None` outside those years (which `time` refuses to write as RFC 3339 anyway).
fn write_utc(t: OffsetDateTime, out: &mut [u8; MAX_TEXT]) -> Option<usize> {
    /// `value` (< 100) as two digits at `at`.
    fn two(out: &mut [u8], at: usize, value: u8) {
        out[at] = b'0' + value / 10;
        out[at + 1] = b'0' + value % 10;
    }
    let (year, month, day) = t.to_calendar_date();
    let year = u16::try_from(year).ok().filter(|&y| y <= 9999)?;
    let (hour, minute, second, mut nanos) = t.to_hms_nano();
    out[..20].copy_from_slice(b"0000-00-00T00:00:00Z");
    two(out, 0, (year / 100) as u8);
    two(out, 2, (year % 100) as u8);
    two(out, 5, u8::from(month));
    two(out, 8, day);
    two(out, 11, hour);
    two(out, 14, minute);
    two(out, 17, second);
    if nanos == 0 {
        return Some(20);
    }
    let mut len = 9;
    while nanos.is_multiple_of(10) {
        nanos /= 10;
        len -= 1;
    }
    out[19] = b'.';
    for i in (20..20 + len).rev() {
        out[i] = b'0' + (nanos % 10) as u8;
        nanos /= 10;
    }
    out[20 + len] = b'Z';
    Some(21 + len)
}

impl Timestamp {
    /// Calls `f` with the RFC 3339 text of this timestamp, written without allocating.
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> Result<R, time::error::Format> {
        let mut buffer = [0u8; MAX_TEXT];
        match write_utc(self.0, &mut buffer) {
            // Only ASCII digits and punctuation were written.
            Some(len) => Ok(f(core::str::from_utf8(&buffer[..len]).unwrap_or_default())),
            None => self.0.format(&Rfc3339).map(|text| f(&text)),
        }
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
        self.with_text(|text| f.write_str(text))
            .map_err(|_| fmt::Error)?
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
        self.with_text(|text| serializer.serialize_str(text))
            .map_err(serde::ser::Error::custom)?
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
