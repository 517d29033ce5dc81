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
