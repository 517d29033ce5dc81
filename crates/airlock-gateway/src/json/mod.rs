//! JSON for the gateway's request and response bodies, with `serde_json`'s exact results.
//!
//! - [`write`](mod@write): request bodies, byte for byte what `serde_json::to_vec` writes.
//! - [`read`](mod@read): response bodies, the value (or the error) `serde_json::from_str`
//!   returns; a fast reader for the usual documents that hands anything unusual to
//!   `serde_json`.
//!
//! Both spend most of their time inside strings, looking for the same bytes: `"`, `\` and
//! the control characters (the writer must escape them, the reader stops at them). The scan
//! that finds them, [`scan_blocks`], is shared: 16 or 32 bytes per step, in safe code that
//! the compiler turns into a handful of vector compares and one `pmovmskb` per block.

mod read;
mod write;

pub(crate) use read::from_str;
pub(crate) use write::to_vec;

/// Bytes examined per step by the writer, which scans long strings (base64 ciphertext).
const BLOCK: usize = 32;

/// Whether `byte` is special inside a JSON string: a control character (`< 0x20`), `"` or
/// `\`. The writer escapes exactly these; the reader stops at them.
fn is_special(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The offset of the first special byte of `block` (16 or 32 bytes), if any.
///
/// A flag per byte (`0xFF` or `0`), OR-ed together without an early exit, so that the
/// compiler computes and tests all of them with a few vector compares and one `pmovmskb`.
/// Only a block that has one is looked at again: the position is the count of trailing zero
/// bits of its flags, read as little-endian integers, divided by 8.
#[inline(always)]
fn first_special<const N: usize>(block: &[u8; N]) -> Option<usize> {
    let mut flags = [0u8; N];
    for (flag, &b) in flags.iter_mut().zip(block) {
        *flag = if is_special(b) { 0xFF } else { 0 };
    }
    if flags.iter().fold(0, |any, &flag| any | flag) == 0 {
        return None;
    }
    let (lanes, _) = flags.as_chunks::<16>();
    let (last, lanes) = lanes.split_last()?;
    let mut at = 0;
    for lane in lanes {
        let bits = u128::from_le_bytes(*lane);
        if bits != 0 {
            return Some(at + bits.trailing_zeros() as usize / 8);
        }
        at += 16;
    }
    // Some flag is set, and not in an earlier lane.
    Some(at + u128::from_le_bytes(*last).trailing_zeros() as usize / 8)
}

/// Looks for the first special byte of `bytes` in whole blocks of `N` bytes (16 or 32):
/// `Ok(offset)` when a block holds one, else `Err(offset)` of the remaining bytes (fewer
/// than a block) it did not look at.
#[inline(always)]
fn scan_blocks<const N: usize>(bytes: &[u8]) -> Result<usize, usize> {
    let (blocks, _) = bytes.as_chunks::<N>();
    for (i, block) in blocks.iter().enumerate() {
        if let Some(at) = first_special(block) {
            return Ok(i * N + at);
        }
    }
    Err(blocks.len() * N)
}

/// Arbitrary JSON values for the property tests of the writer and the reader: every kind of
/// number (floats included), strings with and without escapes, keys that need escaping.
#[cfg(test)]
mod test_values {
    use proptest::prelude::*;
    use serde_json::Value;

    pub(super) fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1000i64..1000).prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\\x00-\\x7f]{0,40}".prop_map(Value::String),
            "[a-z/\"\\\\\u{e9}\u{1f600}]{0,40}".prop_map(Value::String),
        ];
        let key = prop_oneof![any::<String>(), "[a-z\u{e9}\"]{0,12}"];
        leaf.prop_recursive(5, 64, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(key.clone(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_special_is_exact<const N: usize>() {
        for byte in 0..=u8::MAX {
            for at in 0..N {
                let mut block = [b'x'; N];
                block[at] = byte;
                let expected = is_special(byte).then_some(at);
                assert_eq!(first_special(&block), expected, "{byte:#x} at {at} of {N}");
                // The first of two.
                if at + 1 < N {
                    block[N - 1] = b'"';
                    let expected = if is_special(byte) { at } else { N - 1 };
                    assert_eq!(first_special(&block), Some(expected), "{byte:#x} at {at}");
                }
            }
        }
    }

    fn scan_blocks_is_exact<const N: usize>() {
        for len in 0..(3 * N) {
            let clean = vec![b'a'; len];
            assert_eq!(scan_blocks::<N>(&clean), Err(len / N * N));
            for at in 0..len {
                let mut bytes = clean.clone();
                bytes[at] = b'\\';
                let expected = if at < len / N * N {
                    Ok(at)
                } else {
                    Err(len / N * N)
                };
                assert_eq!(scan_blocks::<N>(&bytes), expected, "len {len} at {at}");
            }
        }
    }

    #[test]
    fn first_special_finds_every_byte_at_every_offset() {
        first_special_is_exact::<16>();
        first_special_is_exact::<32>();
    }

    #[test]
    fn scan_blocks_reports_the_unscanned_tail() {
        scan_blocks_is_exact::<16>();
        scan_blocks_is_exact::<32>();
    }
}
