//! Errors of key parsing and key agreement.

/// Why a key could not be parsed, or a key agreement was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The text is not base64 (base64url or standard, padded or not).
    #[error("{what} is not valid base64")]
    InvalidBase64 {
        /// Which value was being decoded, e.g. `"X25519 public key"`.
        what: &'static str,
        /// The decoder's complaint.
        #[source]
        source: base64::DecodeError,
    },
    /// The decoded value has the wrong number of bytes.
    #[error("{what} must be {expected} bytes, got {actual}")]
    InvalidLength {
        /// Which value was being decoded.
        what: &'static str,
        /// The required length.
        expected: usize,
        /// The decoded length.
        actual: usize,
    },
    /// 32 bytes that are not the encoding of an Ed25519 curve point.
    #[error("not a valid Ed25519 public key")]
    InvalidEd25519Key,
    /// An Ed25519 public key of small order: any signature could be forged for it.
    #[error("weak (small-order) Ed25519 public key refused")]
    WeakEd25519Key,
    /// X25519 with the peer's key gave the all-zero shared secret: the peer key has low
    /// order, so the "shared" key would be known to anyone.
    #[error("X25519 key agreement gave an all-zero shared secret (low-order peer key)")]
    NonContributory,
}

impl CryptoError {
    pub(crate) fn from_fixed(
        what: &'static str,
        expected: usize,
        err: crate::encoding::FixedDecodeError,
    ) -> Self {
        match err {
            crate::encoding::FixedDecodeError::Base64(source) => {
                Self::InvalidBase64 { what, source }
            }
            crate::encoding::FixedDecodeError::Length(actual) => Self::InvalidLength {
                what,
                expected,
                actual,
            },
        }
    }
}
