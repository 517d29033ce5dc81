//! Output side of the canonicalizer: string escaping, number formatting and
//! the UTF-16 member-name order. Shared by the text parser and the
//! `serde_json::Value` walker so both produce byte-identical output.

use core::cmp::Ordering;

use super::CanonicalizeError;
use super::lex::{escape_of, find_special};

/// Appends `s` as a canonical JSON string literal (quotes included).
///
/// Only `"`, `\` and the controls below U+0020 are escaped; everything else
/// (DEL, U+2028, non-ASCII) is written literally as UTF-8.
pub(super) fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run_start = 0;
    loop {
        let special = find_special(bytes, run_start);
        out.extend_from_slice(&bytes[run_start..special]);
        let Some(&b) = bytes.get(special) else {
            break;
        };
        write_byte(out, b);
        run_start = special + 1;
    }
    out.push(b'"');
}

/// Appends the canonical form of one decoded character that came from an
/// escape sequence in the input (the surrounding quotes are not written).
pub(super) fn write_char(out: &mut Vec<u8>, c: char) {
    match u8::try_from(c) {
        Ok(b) if b.is_ascii() => write_byte(out, b),
        _ => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
    }
}

/// Appends one ASCII byte, escaped if RFC 8785 escapes it.
fn write_byte(out: &mut Vec<u8>, b: u8) {
    match escape_of(b) {
        Some(escape) => out.extend_from_slice(escape.as_bytes()),
        None => out.push(b),
    }
}

/// Appends `value` the way ECMAScript's `Number.prototype.toString` prints it.
///
/// Fails with [`CanonicalizeError::NonFiniteNumber`] for NaN and ±Infinity,
/// which have no JSON representation.
pub(super) fn write_f64(out: &mut Vec<u8>, value: f64) -> Result<(), CanonicalizeError> {
    if !value.is_finite() {
        return Err(CanonicalizeError::NonFiniteNumber);
    }
    if value == 0.0 {
        // Both +0 and -0 print as "0" (ECMAScript drops the sign of zero).
        out.push(b'0');
    } else {
        let mut buf = ryu_js::Buffer::new();
        out.extend_from_slice(buf.format_finite(value).as_bytes());
    }
    Ok(())
}

/// Orders member names as sequences of UTF-16 code units (RFC 8785 §3.2.3).
///
/// Works on the UTF-8 bytes without allocating: UTF-8 byte order equals code
/// point order, which equals UTF-16 order except when a character in
/// U+E000..=U+FFFF (lead byte `0xEE`/`0xEF`) meets a supplementary character
/// (lead byte `0xF0..=0xF4`, a surrogate pair `0xD800..` in UTF-16): there the
/// supplementary character sorts first. Both strings agree up to the first
/// differing byte, so that byte is either a lead byte in both or a
/// continuation byte of the same lead in both, and only the lead-byte case can
/// need the correction.
pub(super) fn cmp_utf16(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match a.iter().zip(b).position(|(x, y)| x != y) {
        None => a.len().cmp(&b.len()),
        Some(i) => {
            let (x, y) = (a[i], b[i]);
            let bmp_high = |v: u8| v == 0xEE || v == 0xEF;
            if x >= 0xF0 && bmp_high(y) {
                Ordering::Less
            } else if y >= 0xF0 && bmp_high(x) {
                Ordering::Greater
            } else {
                x.cmp(&y)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(a: &str, b: &str) -> Ordering {
        a.encode_utf16().cmp(b.encode_utf16())
    }

    #[test]
    fn utf16_order_matches_reference_on_tricky_pairs() {
        let samples = [
            "",
            "a",
            "ab",
            "\u{7f}",
            "\u{80}",
            "\u{ff}",
            "\u{7ff}",
            "\u{800}",
            "\u{d7ff}",
            "\u{e000}",
            "\u{fb33}",
            "\u{ffff}",
            "\u{10000}",
            "\u{1f600}",
            "\u{1f602}",
            "\u{10ffff}",
            "a\u{ffff}",
            "a\u{10000}",
            "\u{10000}a",
            "\u{ffff}a",
        ];
        for a in samples {
            for b in samples {
                assert_eq!(cmp_utf16(a, b), reference(a, b), "{a:?} vs {b:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn utf16_order_matches_reference(
            a in "[a\u{7f}\u{80}\u{d7ff}\u{e000}\u{ffff}\u{10000}\u{10ffff}]{0,4}|\\PC*",
            b in "[a\u{7f}\u{80}\u{d7ff}\u{e000}\u{ffff}\u{10000}\u{10ffff}]{0,4}|\\PC*",
        ) {
            proptest::prop_assert_eq!(cmp_utf16(&a, &b), reference(&a, &b));
        }
    }

    #[test]
    fn string_escaping_is_minimal() {
        let mut out = Vec::new();
        write_string(
            &mut out,
            "a\"\\\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}\u{2028}é😀/",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\u{7f}\u{2028}é😀/\""
        );
    }

    #[test]
    fn write_char_agrees_with_write_string() {
        for c in [
            '\0', '\u{1f}', '"', '\\', '/', 'a', '\u{7f}', 'é', '\u{2028}', '😀',
        ] {
            let mut by_char = vec![b'"'];
            write_char(&mut by_char, c);
            by_char.push(b'"');
            let mut by_string = Vec::new();
            write_string(&mut by_string, c.encode_utf8(&mut [0; 4]));
            assert_eq!(by_char, by_string, "{c:?}");
        }
    }

    #[test]
    fn zero_and_non_finite() {
        let mut out = Vec::new();
        write_f64(&mut out, -0.0).unwrap();
        assert_eq!(out, b"0");
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(matches!(
                write_f64(&mut Vec::new(), v),
                Err(CanonicalizeError::NonFiniteNumber)
            ));
        }
    }
}
