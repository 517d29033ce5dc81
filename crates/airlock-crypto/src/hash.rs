//! Artifact hashes: SHA-256 of an artifact's RFC 8785 canonical JSON, written
//! as 64 lower-case hex digits (the wire's `artifactHash`).
//!
//! ```
//! use airlock_crypto::hash::ArtifactHash;
//!
//! let (canonical, hash) = ArtifactHash::of_json(br#"{"b": 1, "a": "x"}"#)?;
//! assert_eq!(canonical, br#"{"a":"x","b":1}"#);
//! assert_eq!(hash, ArtifactHash::of_canonical(&canonical));
//!
//! // Wire values are compared tolerantly: `sha256:` prefix, upper-case hex.
//! let wire = format!("sha256:{}", hash.as_str().to_uppercase());
//! assert!(hash.matches(&wire));
//! assert_eq!(wire.parse::<ArtifactHash>()?, hash);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use core::hash::{Hash, Hasher};
use core::str::FromStr;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::jcs::{self, CanonicalizeError};

const HEX: &[u8; 16] = b"0123456789abcdef";
/// The prefix tolerated in front of a hash on the wire (any case).
const PREFIX: &str = "sha256:";

/// A SHA-256 artifact hash, held as the digest and its lower-case hex form.
///
/// Equality compares the digests in constant time. `Display`, `Serialize`
/// and [`as_str`](Self::as_str) give the 64-digit lower-case hex string;
/// parsing and `Deserialize` also accept a `sha256:` prefix and upper-case
/// hex, and normalize them away.
#[derive(Clone, Copy)]
pub struct ArtifactHash {
    digest: [u8; 32],
    hex: [u8; 64],
}

/// Why a string is not an artifact hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseArtifactHashError {
    /// After an optional `sha256:` prefix, the string is not 64 bytes long.
    #[error("an artifact hash has 64 hex digits, found {length} bytes")]
    InvalidLength {
        /// Length in bytes of the part after the prefix.
        length: usize,
    },
    /// A character is not a hex digit.
    #[error("an artifact hash has only hex digits, found another character at byte {offset}")]
    InvalidCharacter {
        /// Byte offset of the character in the parsed string (prefix included).
        offset: usize,
    },
}

impl ArtifactHash {
    /// Hashes bytes that are already canonical JSON (for example the output
    /// of [`jcs::canonicalize`]). Nothing is checked: to hash arbitrary JSON
    /// text, use [`of_json`](Self::of_json).
    #[must_use]
    pub fn of_canonical(canonical: &[u8]) -> Self {
        Self::from_digest(Sha256::digest(canonical).into())
    }

    /// Canonicalizes a JSON text and hashes it; returns the canonical bytes
    /// (what gets encrypted and sent) with their hash.
    pub fn of_json(json: &[u8]) -> Result<(Vec<u8>, Self), CanonicalizeError> {
        let canonical = jcs::canonicalize(json)?;
        let hash = Self::of_canonical(&canonical);
        Ok((canonical, hash))
    }

    /// Canonicalizes a `serde_json::Value` and hashes it; returns the
    /// canonical bytes with their hash.
    pub fn of_value(value: &serde_json::Value) -> Result<(Vec<u8>, Self), CanonicalizeError> {
        let canonical = jcs::canonicalize_value(value)?;
        let hash = Self::of_canonical(&canonical);
        Ok((canonical, hash))
    }

    /// Wraps a raw SHA-256 digest.
    #[must_use]
    pub fn from_digest(digest: [u8; 32]) -> Self {
        let mut hex = [0u8; 64];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(digest) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0xf)];
        }
        ArtifactHash { digest, hex }
    }

    /// Parses a wire value: 64 hex digits in any case, optionally prefixed by
    /// `sha256:` (in any case).
    pub fn parse(wire: &str) -> Result<Self, ParseArtifactHashError> {
        let prefix_len = match wire.get(..PREFIX.len()) {
            Some(prefix) if prefix.eq_ignore_ascii_case(PREFIX) => PREFIX.len(),
            _ => 0,
        };
        let digits = &wire.as_bytes()[prefix_len..];
        if digits.len() != 64 {
            return Err(ParseArtifactHashError::InvalidLength {
                length: digits.len(),
            });
        }
        let mut digest = [0u8; 32];
        for (index, (byte, pair)) in digest.iter_mut().zip(digits.chunks_exact(2)).enumerate() {
            let offset = prefix_len + 2 * index;
            let high =
                nibble(pair[0]).ok_or(ParseArtifactHashError::InvalidCharacter { offset })?;
            let low = nibble(pair[1])
                .ok_or(ParseArtifactHashError::InvalidCharacter { offset: offset + 1 })?;
            *byte = high << 4 | low;
        }
        Ok(Self::from_digest(digest))
    }

    /// The 64 lower-case hex digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // `hex` holds ASCII hex digits only, so this never falls back.
        core::str::from_utf8(&self.hex).unwrap_or_default()
    }

    /// The raw SHA-256 digest.
    #[must_use]
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Whether a wire value (for example a decision's `artifactHash`) names
    /// this hash, tolerating a `sha256:` prefix and upper-case hex. A value
    /// that is not a hash at all does not match.
    #[must_use]
    pub fn matches(&self, wire: &str) -> bool {
        Self::parse(wire).is_ok_and(|other| other == *self)
    }
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl PartialEq for ArtifactHash {
    fn eq(&self, other: &Self) -> bool {
        self.digest.ct_eq(&other.digest).into()
    }
}

impl Eq for ArtifactHash {}

impl Hash for ArtifactHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.digest.hash(state);
    }
}

impl fmt::Debug for ArtifactHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ArtifactHash").field(&self.as_str()).finish()
    }
}

impl fmt::Display for ArtifactHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for ArtifactHash {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for ArtifactHash {
    type Err = ParseArtifactHashError;

    fn from_str(wire: &str) -> Result<Self, Self::Err> {
        Self::parse(wire)
    }
}

impl TryFrom<&str> for ArtifactHash {
    type Error = ParseArtifactHashError;

    fn try_from(wire: &str) -> Result<Self, Self::Error> {
        Self::parse(wire)
    }
}

impl serde::Serialize for ArtifactHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ArtifactHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HashVisitor;

        impl serde::de::Visitor<'_> for HashVisitor {
            type Value = ArtifactHash;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a SHA-256 artifact hash (64 hex digits, optionally `sha256:`-prefixed)",
                )
            }

            fn visit_str<E: serde::de::Error>(self, wire: &str) -> Result<ArtifactHash, E> {
                ArtifactHash::parse(wire).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(HashVisitor)
    }
}
