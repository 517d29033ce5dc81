//! Any representable timestamp survives writing and reading, in any offset.

use airlock_types::Timestamp;
use airlock_types::time::{OffsetDateTime, UtcOffset};
use proptest::prelude::*;

const MIN_UNIX: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
const MAX_UNIX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (MIN_UNIX..=MAX_UNIX, 0u32..1_000_000_000).prop_map(|(secs, nanos)| {
        let t = OffsetDateTime::from_unix_timestamp(secs)
            .and_then(|t| t.replace_nanosecond(nanos))
            .expect("in range");
        Timestamp::try_from(t).expect("in range")
    })
}

proptest! {
    #[test]
    fn json_round_trip(t in timestamp()) {
        let json = serde_json::to_string(&t).unwrap();
        prop_assert!(json.ends_with("Z\""), "{}", json);
        let back: Timestamp = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, t);
        prop_assert_eq!(back.to_string().parse::<Timestamp>().unwrap(), t);
    }

    #[test]
    fn any_offset_reads_as_the_same_instant(
        t in timestamp(),
        offset_minutes in -(23 * 60 + 59)..=(23 * 60 + 59i32),
    ) {
        let offset = UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap();
        let Some(shifted) = t.as_offset_date_time().checked_to_offset(offset) else {
            return Ok(());
        };
        // Offsets that push the local year outside 0000..=9999 cannot be written in RFC 3339.
        let Ok(text) = shifted.format(&airlock_types::time::format_description::well_known::Rfc3339) else {
            return Ok(());
        };
        let back = Timestamp::parse(&text).unwrap();
        prop_assert_eq!(back, t);
        prop_assert_eq!(back.as_offset_date_time().offset(), UtcOffset::UTC);
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,40}") {
        let _ = Timestamp::parse(&text);
    }
}

/// What the `time` crate's general RFC 3339 code reads from `text`, as a `Timestamp`.
fn reference_parse(text: &str) -> Option<Timestamp> {
    use airlock_types::time::format_description::well_known::Rfc3339;
    let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    Timestamp::try_from(parsed).ok()
}

proptest! {
    /// `Timestamp` writes and reads its usual `…Z` form without the `time` crate's general RFC
    /// 3339 code; the result must be exactly that code's.
    #[test]
    fn utc_form_is_written_like_the_time_crate(t in timestamp()) {
        use airlock_types::time::format_description::well_known::Rfc3339;
        let reference = t.as_offset_date_time().format(&Rfc3339).unwrap();
        prop_assert_eq!(t.to_string(), reference.clone());
        prop_assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{reference}\""));
    }

    #[test]
    fn utc_form_is_read_like_the_time_crate(
        year in 0u32..=9999,
        month in 0u32..=13,
        day in 0u32..=32,
        hour in 0u32..=25,
        minute in 0u32..=60,
        second in 0u32..=61,
        fraction in "[0-9]{0,12}",
        dot in any::<bool>(),
        zone in prop::sample::select(vec!["Z", "z", "+00:00", "", "ZZ"]),
    ) {
        let dot = if dot || !fraction.is_empty() { "." } else { "" };
        let text = format!(
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{dot}{fraction}{zone}"
        );
        let ours = Timestamp::parse(&text).ok();
        if zone.is_empty() {
            // Without an offset, the tolerant reader takes the time as UTC.
            prop_assert_eq!(ours, reference_parse(&format!("{text}Z")), "{}", text);
        } else {
            prop_assert_eq!(ours, reference_parse(&text), "{}", text);
        }
    }

    #[test]
    fn near_misses_of_the_utc_form_are_read_like_the_time_crate(
        t in timestamp(),
        at in 0usize..30,
        byte in prop::sample::select(b"0123456789-:.TtZz +x".to_vec()),
    ) {
        let mut text = t.to_string().into_bytes();
        if at < text.len() {
            text[at] = byte;
        }
        let text = String::from_utf8(text).unwrap();
        let reference = reference_parse(&text).or_else(|| {
            let ends_in_digit = text.bytes().last().is_some_and(|b| b.is_ascii_digit());
            ends_in_digit.then(|| reference_parse(&format!("{text}Z"))).flatten()
        });
        prop_assert_eq!(Timestamp::parse(&text).ok(), reference, "{}", text);
    }
}
