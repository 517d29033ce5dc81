//! Ed25519 keys: the approver's signing key and the verifying key the enforcer trusts.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand_core::OsRng;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::encoding::{self, FixedDecodeError};
use crate::error::CryptoError;

/// Length of a raw Ed25519 signature, in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// An Ed25519 private key (the approver's signing key; the sandbox's simulated approver
/// and tests use it).
///
/// Zeroized on drop; `Debug` shows only the public key; no `Clone`, no `PartialEq`.
pub struct Ed25519SigningKey(SigningKey);

impl Ed25519SigningKey {
    /// Generates a fresh key from the operating system's random number generator.
    #[must_use]
    pub fn generate() -> Self {
        Self(SigningKey::generate(&mut OsRng))
    }

    /// Restores a key from its 32-byte seed (as returned by [`to_bytes`](Self::to_bytes)).
    #[must_use]
    pub fn from_bytes(mut seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        seed.zeroize();
        Self(key)
    }

    /// The 32-byte seed, for storing the key. The copy is zeroized when dropped.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key.
    #[must_use]
    pub fn public_key(&self) -> Ed25519PublicKey {
        Ed25519PublicKey(self.0.verifying_key())
    }

    /// Signs `message`; returns the 64-byte signature as base64url without padding.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> String {
        encoding::encode_url(&self.sign_raw(message))
    }

    /// Signs `message`; returns the raw 64-byte signature.
    #[must_use]
    pub fn sign_raw(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.0.sign(message).to_bytes()
    }
}

impl fmt::Debug for Ed25519SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519SigningKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// An Ed25519 public (verifying) key.
///
/// [`parse`](Self::parse) accepts base64url (padded or not) and standard base64; the key
/// must be 32 bytes, a valid curve point and not of small order. Serde uses standard
/// base64, the form of the pairing document's `publicKey`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ed25519PublicKey(VerifyingKey);

impl Ed25519PublicKey {
    /// Builds a key from its 32 raw bytes.
    ///
    /// # Errors
    ///
    /// [`CryptoError::InvalidEd25519Key`] when the bytes are not a curve point,
    /// [`CryptoError::WeakEd25519Key`] when the point has small order.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, CryptoError> {
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| CryptoError::InvalidEd25519Key)?;
        if key.is_weak() {
            return Err(CryptoError::WeakEd25519Key);
        }
        Ok(Self(key))
    }

    /// Parses base64url (padded or not) or standard base64 of the 32 raw bytes.
    ///
    /// # Errors
    ///
    /// A [`CryptoError`] for bad base64, a wrong length, or an invalid or weak key.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let bytes = encoding::decode_fixed::<32>(text.trim())
            .map_err(|e| CryptoError::from_fixed("Ed25519 public key", 32, e))?;
        Self::from_bytes(bytes)
    }

    /// The 32 raw bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Standard base64 with padding (the pairing document's `publicKey` form).
    #[must_use]
    pub fn to_base64(&self) -> String {
        encoding::encode_standard(self.0.as_bytes())
    }

    /// Base64url without padding (the HARP-CORE form).
    #[must_use]
    pub fn to_base64url(&self) -> String {
        encoding::encode_url(self.0.as_bytes())
    }

    /// The fingerprint shown to the user when pairing: SHA-256 of the raw key, first 8
    /// bytes, upper-case hex pairs joined by `:` (e.g. `3F:A0:…:9C`).
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        digest[..8]
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// Verifies `signature` (base64url, padded or not, or standard base64 of 64 bytes)
    /// over `message` with the strict rules of RFC 8032 (canonical `S`, no small-order
    /// `R`), so a signature cannot be altered into another valid one.
    ///
    /// # Errors
    ///
    /// [`SignatureError::Encoding`] or [`SignatureError::Length`] when the text is not a
    /// signature, [`SignatureError::Invalid`] when it does not verify.
    pub fn verify(&self, message: &[u8], signature: &str) -> Result<(), SignatureError> {
        let raw = decode_signature(signature)?;
        self.verify_raw(message, &raw)
    }

    /// Verifies a raw 64-byte signature, like [`verify`](Self::verify).
    ///
    /// # Errors
    ///
    /// [`SignatureError::Invalid`] when the signature does not verify.
    pub fn verify_raw(
        &self,
        message: &[u8],
        signature: &[u8; SIGNATURE_LEN],
    ) -> Result<(), SignatureError> {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0
            .verify_strict(message, &signature)
            .map_err(|_| SignatureError::Invalid)
    }
}

/// Decodes a signature: base64url (padded or not) or standard base64, exactly 64 bytes.
///
/// # Errors
///
/// [`SignatureError::Encoding`] or [`SignatureError::Length`].
pub fn decode_signature(text: &str) -> Result<[u8; SIGNATURE_LEN], SignatureError> {
    encoding::decode_fixed::<SIGNATURE_LEN>(text.trim()).map_err(|e| match e {
        FixedDecodeError::Base64(source) => SignatureError::Encoding { source },
        FixedDecodeError::Length(actual) => SignatureError::Length { actual },
    })
}

impl fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Ed25519PublicKey")
            .field(&self.to_base64url())
            .finish()
    }
}

impl fmt::Display for Ed25519PublicKey {
    /// Standard base64, as in the pairing document.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl FromStr for Ed25519PublicKey {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Ed25519PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> serde::Deserialize<'de> for Ed25519PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Why an Ed25519 signature was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature text is not base64.
    #[error("signature is not valid base64")]
    Encoding {
        /// The decoder's complaint.
        #[source]
        source: base64::DecodeError,
    },
    /// The signature does not decode to 64 bytes.
    #[error("signature must be 64 bytes, got {actual}")]
    Length {
        /// The decoded length.
        actual: usize,
    },
    /// The signature does not verify for this key and message.
    #[error("signature does not verify")]
    Invalid,
}

impl SignatureError {
    /// Whether the signature text was malformed (as opposed to well-formed but wrong).
    #[must_use]
    pub fn is_encoding(&self) -> bool {
        matches!(self, Self::Encoding { .. } | Self::Length { .. })
    }
}
