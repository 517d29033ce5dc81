//! X25519 key pairs for the end-to-end key agreement.

use std::fmt;
use std::str::FromStr;

use rand_core::OsRng;
use zeroize::Zeroizing;

use crate::encoding;
use crate::error::CryptoError;

/// An X25519 private key (the enforcer's half of the end-to-end key agreement).
///
/// Zeroized on drop; `Debug` prints no key material; no `Clone`, no `PartialEq`.
pub struct X25519SecretKey(x25519_dalek::StaticSecret);

impl X25519SecretKey {
    /// Generates a fresh key from the operating system's random number generator.
    #[must_use]
    pub fn generate() -> Self {
        Self(x25519_dalek::StaticSecret::random_from_rng(OsRng))
    }

    /// Restores a key from its 32 raw bytes (as returned by [`to_bytes`](Self::to_bytes)).
    ///
    /// Every 32-byte value is a valid X25519 private key (it is clamped when used).
    #[must_use]
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let key = x25519_dalek::StaticSecret::from(bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        Self(key)
    }

    /// The 32 raw bytes, for storing the key. The copy is zeroized when dropped.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key, to send to the peer.
    #[must_use]
    pub fn public_key(&self) -> X25519PublicKey {
        X25519PublicKey(x25519_dalek::PublicKey::from(&self.0))
    }

    /// Raw Diffie-Hellman with the peer's key. The result is zeroized on drop.
    pub(crate) fn diffie_hellman(&self, peer: &X25519PublicKey) -> x25519_dalek::SharedSecret {
        self.0.diffie_hellman(&peer.0)
    }
}

impl fmt::Debug for X25519SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("X25519SecretKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// An X25519 public key: the peer's half of the end-to-end key agreement.
///
/// On the wire it is base64url without padding ([`to_base64url`](Self::to_base64url));
/// [`parse`](Self::parse) also accepts padded and standard base64. Serde uses that string.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct X25519PublicKey(x25519_dalek::PublicKey);

impl X25519PublicKey {
    /// Builds a key from its 32 raw bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(x25519_dalek::PublicKey::from(bytes))
    }

    /// Parses base64url (padded or not) or standard base64; exactly 32 bytes.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        encoding::decode_fixed::<32>(text.trim())
            .map(Self::from_bytes)
            .map_err(|e| CryptoError::from_fixed("X25519 public key", 32, e))
    }

    /// The 32 raw bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The raw bytes, borrowed.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The wire form: base64url without padding.
    #[must_use]
    pub fn to_base64url(&self) -> String {
        encoding::encode_url(self.0.as_bytes())
    }
}

impl fmt::Debug for X25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("X25519PublicKey")
            .field(&self.to_base64url())
            .finish()
    }
}

impl fmt::Display for X25519PublicKey {
    /// The wire form, base64url without padding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64url())
    }
}

impl FromStr for X25519PublicKey {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for X25519PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64url())
    }
}

impl<'de> serde::Deserialize<'de> for X25519PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}
