//! The lexical rules of JSON strings, once for the parser and the writer: which
//! bytes end a run of plain content ([`is_special`], found a word at a time by
//! [`find_special`]), how an escape sequence decodes ([`decode_escape`],
//! surrogate pairs included) and how RFC 8785 escapes a character
//! ([`escape_of`]).

use super::CanonicalizeError;

/// Lower-case hex digits for `\u00xx` escapes.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// The RFC 8785 escape of one ASCII byte: at most six bytes (`\u00xx`).
#[derive(Clone, Copy)]
pub(super) struct Escape {
    bytes: [u8; 6],
    len: u8,
}

impl Escape {
    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// How RFC 8785 writes `b` inside a string: `\"`, `\\`, `\b`, `\f`, `\n`,
/// `\r`, `\t`, the other controls as `\u00xx` (lower-case hex); `None` for
/// every other byte, which is written as it is (`/`, DEL and non-ASCII too).
pub(super) fn escape_of(b: u8) -> Option<Escape> {
    let short = |c: u8| Escape {
        bytes: [b'\\', c, 0, 0, 0, 0],
        len: 2,
    };
    Some(match b {
        b'"' => short(b'"'),
        b'\\' => short(b'\\'),
        0x08 => short(b'b'),
        0x0c => short(b'f'),
        b'\n' => short(b'n'),
        b'\r' => short(b'r'),
        b'\t' => short(b't'),
        0x00..0x20 => Escape {
            bytes: [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ],
            len: 6,
        },
        _ => return None,
    })
}

/// Bytes that end a run of plain string content: `"`, `\` and the controls.
pub(super) const fn is_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// The index of the first `"`, `\` or control byte at or after `from`, or
/// `src.len()` if there is none.
///
/// Scans sixteen bytes per step, as two words; see [`special_mask`].
pub(super) fn find_special(src: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(block) = src.get(i..i + 16) {
        let (low, high) = block.split_at(8);
        let (low, high) = (special_mask(low), special_mask(high));
        if low != 0 {
            return i + (low.trailing_zeros() / 8) as usize;
        }
        if high != 0 {
            return i + 8 + (high.trailing_zeros() / 8) as usize;
        }
        i += 16;
    }
    while let Some(&b) = src.get(i) {
        if is_special(b) {
            return i;
        }
        i += 1;
    }
    src.len()
}

/// For eight bytes read as a little-endian word: the high bit of each byte
/// that is special (see [`is_special`]) is set, and possibly of bytes above a
/// special one (borrows of the subtractions only propagate upwards), so the
/// lowest set bit always marks the first special byte; 0 if there is none.
fn special_mask(bytes: &[u8]) -> u64 {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes);
    let x = u64::from_le_bytes(word);
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    ((quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash)
        | (x.wrapping_sub(ONES * 0x20) & !x))
        & HIGH
}

/// Decodes the escape sequence starting with the backslash at `at`; returns
/// the character and the number of input bytes it used.
pub(super) fn decode_escape(src: &[u8], at: usize) -> Result<(char, usize), CanonicalizeError> {
    let simple = match src.get(at + 1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => {
            let unit = hex4(src, at)?;
            return match unit {
                0xD800..=0xDBFF => {
                    let low_at = at + 6;
                    if src.get(low_at..low_at + 2) != Some(b"\\u") {
                        return Err(CanonicalizeError::LoneSurrogate { offset: at });
                    }
                    let low = hex4(src, low_at)?;
                    if !(0xDC00..=0xDFFF).contains(&low) {
                        return Err(CanonicalizeError::LoneSurrogate { offset: at });
                    }
                    let code =
                        0x1_0000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    char::from_u32(code)
                        .map(|c| (c, 12))
                        .ok_or(CanonicalizeError::LoneSurrogate { offset: at })
                }
                0xDC00..=0xDFFF => Err(CanonicalizeError::LoneSurrogate { offset: at }),
                _ => char::from_u32(u32::from(unit))
                    .map(|c| (c, 6))
                    .ok_or(CanonicalizeError::InvalidEscape { offset: at }),
            };
        }
        _ => return Err(CanonicalizeError::InvalidEscape { offset: at }),
    };
    Ok((simple, 2))
}

/// Reads the four hex digits of the `\uXXXX` escape starting at `at`.
fn hex4(src: &[u8], at: usize) -> Result<u16, CanonicalizeError> {
    let digits = src
        .get(at + 2..at + 6)
        .ok_or(CanonicalizeError::InvalidEscape { offset: at })?;
    digits.iter().try_fold(0u16, |acc, &d| {
        let nibble = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(CanonicalizeError::InvalidEscape { offset: at }),
        };
        Ok(acc << 4 | u16::from(nibble))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_special_finds_the_first_special_byte() {
        let specials = [b'"', b'\\', 0x00, 0x1f, 0x0a];
        let fillers = [b'a', b' ', b'!', b'#', 0x7f, 0x80, 0xff, 0x21, 0x5b, 0x5d];
        for len in 0..40 {
            for at in 0..=len {
                for &special in &specials {
                    for &filler in &fillers {
                        let mut bytes = vec![filler; len];
                        if at < len {
                            bytes[at] = special;
                            // A second special byte after the first one.
                            if at + 1 < len {
                                bytes[at + 1] = b'"';
                            }
                        }
                        for from in 0..=len.min(3) {
                            let expected = if at < len && at >= from {
                                at
                            } else {
                                bytes[from..]
                                    .iter()
                                    .position(|&b| is_special(b))
                                    .map_or(len, |p| p + from)
                            };
                            assert_eq!(find_special(&bytes, from), expected, "{bytes:?} {from}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn escape_of_is_needed_exactly_for_special_bytes() {
        for b in 0..=u8::MAX {
            assert_eq!(escape_of(b).is_some(), is_special(b), "{b:#04x}");
        }
    }

    #[test]
    fn every_escape_decodes_to_its_byte() {
        for b in (0..=u8::MAX).filter(|&b| is_special(b)) {
            let escape = escape_of(b).unwrap();
            let decoded = decode_escape(escape.as_bytes(), 0).unwrap();
            assert_eq!(
                decoded,
                (char::from(b), escape.as_bytes().len()),
                "{b:#04x}"
            );
        }
    }

    #[test]
    fn escapes_decode_surrogate_pairs_and_refuse_lone_ones() {
        assert_eq!(
            decode_escape(br"\ud83d\ude00", 0).unwrap(),
            ('\u{1f600}', 12)
        );
        assert_eq!(decode_escape(br"x\u00E9", 1).unwrap(), ('\u{e9}', 6));
        assert_eq!(decode_escape(br"\/", 0).unwrap(), ('/', 2));
        for lone in [&br"\ud800"[..], br"\ud800\u0041", br"\udc00", br"\ud800\n"] {
            assert!(
                matches!(
                    decode_escape(lone, 0),
                    Err(CanonicalizeError::LoneSurrogate { offset: 0 })
                ),
                "{lone:?}"
            );
        }
        for bad in [&br"\"[..], br"\x", br"\u12", br"\u12g4", br"\U0041"] {
            assert!(
                matches!(
                    decode_escape(bad, 0),
                    Err(CanonicalizeError::InvalidEscape { offset: 0 })
                ),
                "{bad:?}"
            );
        }
    }
}
