//! Tolerant base64 decoding shared by every key, signature and payload reader.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const INDIFFERENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);

/// URL-safe alphabet, padding optional.
const URL_SAFE_ANY: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, INDIFFERENT);
/// Standard alphabet, padding optional.
const STANDARD_ANY: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, INDIFFERENT);

/// Decodes base64url (padded or not) or standard base64 (padded or not).
///
/// Mixed alphabets (`-` together with `+`) are refused, as are non-canonical trailing bits.
pub(crate) fn decode_any(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    if text.bytes().any(|b| b == b'+' || b == b'/') {
        STANDARD_ANY.decode(text)
    } else {
        URL_SAFE_ANY.decode(text)
    }
}

/// Decodes like [`decode_any`] into exactly `N` bytes.
pub(crate) fn decode_fixed<const N: usize>(text: &str) -> Result<[u8; N], FixedDecodeError> {
    let bytes = decode_any(text).map_err(FixedDecodeError::Base64)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| FixedDecodeError::Length(bytes.len()))
}

/// Why [`decode_fixed`] failed.
#[derive(Debug)]
pub(crate) enum FixedDecodeError {
    Base64(base64::DecodeError),
    Length(usize),
}

/// Standard base64 with padding (the payload wire form), with SIMD where the CPU has it.
pub(crate) fn encode_standard(bytes: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(bytes)
}

/// Base64url without padding (keys and signatures).
pub(crate) fn encode_url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_all_four_forms() {
        let bytes: Vec<u8> = (0u8..=255).collect();
        for text in [
            encode_url(&bytes),
            encode_standard(&bytes),
            base64::engine::general_purpose::URL_SAFE.encode(&bytes),
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes),
        ] {
            assert_eq!(decode_any(&text).unwrap(), bytes, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn payload_encoding_is_standard_padded_base64(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            proptest::prop_assert_eq!(
                encode_standard(&bytes),
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            );
        }
    }

    #[test]
    fn refuses_mixed_alphabets_and_garbage() {
        assert!(decode_any("ab-+").is_err());
        assert!(decode_any("a b").is_err());
        assert!(decode_any("Zm9v!").is_err());
        // Non-canonical trailing bits.
        assert!(decode_any("Zm9=").is_err());
    }

    #[test]
    fn fixed_length() {
        assert!(matches!(
            decode_fixed::<4>("AAAA"),
            Err(FixedDecodeError::Length(3))
        ));
        assert_eq!(decode_fixed::<3>("AAAA").unwrap(), [0, 0, 0]);
    }
}
