//! The end-to-end AES-256-GCM key and the payload wire form.

use std::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use airlock_types::EncryptedPayload;
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::encoding;
use crate::error::CryptoError;
use crate::x25519::{X25519PublicKey, X25519SecretKey};

/// The HKDF `info` string of the HARP end-to-end key.
pub const E2E_HKDF_INFO: &[u8] = b"HARP-E2E-AES256GCM";
/// Length of an AES-GCM nonce on the wire, in bytes.
pub const NONCE_LEN: usize = 12;
/// Length of an AES-GCM tag on the wire, in bytes.
pub const TAG_LEN: usize = 16;

/// HKDF-SHA256 (RFC 5869) extract-and-expand into `okm`.
fn hkdf_sha256(
    salt: Option<&[u8]>,
    ikm: &[u8],
    info: &[u8],
    okm: &mut [u8],
) -> Result<(), hkdf::InvalidLength> {
    Hkdf::<Sha256>::new(salt, ikm).expand(info, okm)
}

/// The AES-256-GCM key shared by the enforcer and the approver.
///
/// Zeroized on drop; `Debug` prints no key material; no `PartialEq`. Cloning copies the
/// secret (both copies are zeroized on drop).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct E2eKey([u8; 32]);

impl E2eKey {
    /// Derives the shared key: HKDF-SHA256 with IKM = X25519(`secret`, `peer`), no salt,
    /// info `HARP-E2E-AES256GCM`, 32 bytes of output.
    ///
    /// # Errors
    ///
    /// [`CryptoError::NonContributory`] when the shared secret is all zeros (a low-order
    /// peer key, which would make the key public).
    pub fn derive(secret: &X25519SecretKey, peer: &X25519PublicKey) -> Result<Self, CryptoError> {
        let shared = secret.diffie_hellman(peer);
        if !shared.was_contributory() {
            return Err(CryptoError::NonContributory);
        }
        Ok(Self::from_shared_secret(shared.as_bytes()))
    }

    /// HKDF-SHA256 (no salt, `HARP-E2E-AES256GCM`) of a raw shared secret.
    fn from_shared_secret(ikm: &[u8; 32]) -> Self {
        let mut okm = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 255 * 32 bytes, so this cannot fail.
        if hkdf_sha256(None, ikm, E2E_HKDF_INFO, &mut okm).is_err() {
            unreachable!("HKDF-SHA256 can always produce 32 bytes");
        }
        Self(okm)
    }

    /// Restores a key from its 32 raw bytes (as returned by [`to_bytes`](Self::to_bytes)).
    #[must_use]
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let key = Self(bytes);
        bytes.zeroize();
        key
    }

    /// The 32 raw bytes, for storing the key. The copy is zeroized when dropped.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.0).into())
    }

    /// Encrypts `plaintext` with a fresh random 12-byte nonce, without AAD.
    ///
    /// The result is the wire form: `alg` `AES-256-GCM`, `data`/`nonce`/`tag` in standard
    /// padded base64, the 16-byte tag separate.
    ///
    /// Every call draws its nonce from the operating system's random number generator; there
    /// is no counter to get wrong, so clones of a key (or keys restored from storage) never
    /// coordinate. Random 96-bit nonces keep the chance of a repeat negligible for up to
    /// 2^32 messages under one key (NIST SP 800-38D), far beyond one pairing's traffic.
    ///
    /// # Panics
    ///
    /// Only if `plaintext` exceeds AES-GCM's limit of 2^36 − 32 bytes (64 GiB).
    #[must_use]
    pub fn seal(&self, plaintext: &[u8]) -> EncryptedPayload {
        self.seal_inner(plaintext.to_vec(), None)
    }

    /// Like [`seal`](Self::seal), but encrypts in `plaintext`'s own buffer instead of a
    /// copy (for large payloads, one allocation and one pass less). The buffer holds only
    /// ciphertext when it is dropped.
    ///
    /// ```
    /// use airlock_crypto::E2eKey;
    ///
    /// let key = E2eKey::from_bytes([7; 32]);
    /// let sealed = key.seal_vec(br#"{"commandText":"ls"}"#.to_vec());
    /// assert_eq!(&key.open(&sealed)?[..], br#"{"commandText":"ls"}"#);
    /// # Ok::<(), airlock_crypto::OpenError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// Only if `plaintext` exceeds AES-GCM's limit of 2^36 − 32 bytes (64 GiB).
    #[must_use]
    pub fn seal_vec(&self, plaintext: Vec<u8>) -> EncryptedPayload {
        self.seal_inner(plaintext, None)
    }

    /// Like [`seal`](Self::seal), and also authenticates `aad` (sent in the `aad` field,
    /// standard base64). The approver must use the same AAD to open it.
    ///
    /// # Panics
    ///
    /// Only if `plaintext` exceeds AES-GCM's limit of 2^36 − 32 bytes (64 GiB).
    #[must_use]
    pub fn seal_with_aad(&self, plaintext: &[u8], aad: &[u8]) -> EncryptedPayload {
        self.seal_inner(plaintext.to_vec(), Some(aad))
    }

    fn seal_inner(&self, mut buffer: Vec<u8>, aad: Option<&[u8]>) -> EncryptedPayload {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let tag = self
            .cipher()
            .encrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                aad.unwrap_or_default(),
                &mut buffer,
            )
            .expect("plaintext within AES-GCM's 64 GiB limit");
        let mut payload = EncryptedPayload::new(
            encoding::encode_standard(&buffer),
            encoding::encode_standard(&nonce),
            Some(encoding::encode_standard(&tag)),
        );
        payload.aad = aad.map(encoding::encode_standard);
        payload
    }

    /// Decrypts a payload in the wire form.
    ///
    /// Accepts the tag in `tag`, or appended to `data` when `tag` is absent; honours `aad`
    /// when present. Base64 may be standard or URL-safe, padded or not. The plaintext is
    /// zeroized when dropped.
    ///
    /// # Errors
    ///
    /// A typed [`OpenError`]. Note that AES-GCM cannot tell a wrong key from a tampered
    /// ciphertext, nonce, tag or AAD: all of them are [`OpenError::Decrypt`].
    pub fn open(&self, payload: &EncryptedPayload) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        if !payload
            .alg
            .eq_ignore_ascii_case(EncryptedPayload::ALG_AES_256_GCM)
        {
            return Err(OpenError::UnsupportedAlgorithm {
                alg: payload.alg.clone(),
            });
        }
        let decode = |field: &'static str, text: &str| {
            encoding::decode_any(text).map_err(|source| OpenError::BadBase64 { field, source })
        };
        let nonce = decode("nonce", &payload.nonce)?;
        if nonce.len() != NONCE_LEN {
            return Err(OpenError::BadNonceLength {
                actual: nonce.len(),
            });
        }
        let mut data = Zeroizing::new(decode("data", &payload.data)?);
        let tag = match &payload.tag {
            Some(tag) => {
                let tag = decode("tag", tag)?;
                if tag.len() != TAG_LEN {
                    return Err(OpenError::BadTagLength { actual: tag.len() });
                }
                tag
            }
            None => {
                let Some(split) = data.len().checked_sub(TAG_LEN) else {
                    return Err(OpenError::BadTagLength { actual: data.len() });
                };
                data.split_off(split)
            }
        };
        let aad = match &payload.aad {
            Some(aad) => decode("aad", aad)?,
            None => Vec::new(),
        };
        self.cipher()
            .decrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                &aad,
                &mut data,
                Tag::from_slice(&tag),
            )
            .map_err(|_| OpenError::Decrypt)?;
        Ok(data)
    }
}

impl fmt::Debug for E2eKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("E2eKey(<redacted>)")
    }
}

/// Why [`E2eKey::open`] refused a payload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// `alg` is not `AES-256-GCM`.
    #[error("unsupported payload algorithm {alg:?} (expected AES-256-GCM)")]
    UnsupportedAlgorithm {
        /// The algorithm named by the payload.
        alg: String,
    },
    /// A field is not base64.
    #[error("payload field `{field}` is not valid base64")]
    BadBase64 {
        /// `data`, `nonce`, `tag` or `aad`.
        field: &'static str,
        /// The decoder's complaint.
        #[source]
        source: base64::DecodeError,
    },
    /// The nonce is not 12 bytes.
    #[error("payload nonce must be 12 bytes, got {actual}")]
    BadNonceLength {
        /// The decoded length.
        actual: usize,
    },
    /// The tag is not 16 bytes (or, with the tag appended, `data` is shorter than 16 bytes).
    #[error("payload tag must be 16 bytes, got {actual}")]
    BadTagLength {
        /// The decoded length.
        actual: usize,
    },
    /// Authentication failed: the key is wrong, or the ciphertext, nonce, tag or AAD was
    /// changed. AES-GCM cannot tell these apart.
    #[error("payload failed to decrypt: wrong key or tampered ciphertext")]
    Decrypt,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5869 test cases, checked through the same HKDF helper the key derivation uses.
    #[test]
    fn rfc5869_vectors() {
        let data: serde_json::Value =
            serde_json::from_str(include_str!("../tests/vectors/rfc5869.json")).unwrap();
        let vectors = data["vectors"].as_array().unwrap();
        assert_eq!(vectors.len(), 2);
        for v in vectors {
            let hex = |field: &str| hex::decode(v[field].as_str().unwrap()).unwrap();
            let salt = v["salt"].as_str().map(|s| hex::decode(s).unwrap());
            let mut okm = vec![0u8; usize::try_from(v["length"].as_u64().unwrap()).unwrap()];
            hkdf_sha256(salt.as_deref(), &hex("ikm"), &hex("info"), &mut okm).unwrap();
            assert_eq!(okm, hex("okm"), "{}", v["name"]);
        }
    }

    #[test]
    fn derivation_uses_harp_info_and_no_salt() {
        let ikm = [7u8; 32];
        let key = E2eKey::from_shared_secret(&ikm);
        let mut okm = [0u8; 32];
        hkdf_sha256(None, &ikm, b"HARP-E2E-AES256GCM", &mut okm).unwrap();
        assert_eq!(*key.to_bytes(), okm);
        hkdf_sha256(Some(&[]), &ikm, b"HARP-E2E-AES256GCM", &mut okm).unwrap();
        // RFC 5869: an absent salt is HashLen zero bytes, same as an empty salt.
        assert_eq!(*key.to_bytes(), okm);
    }

    #[test]
    fn debug_is_redacted() {
        let key = E2eKey::from_bytes([0xAB; 32]);
        let text = format!("{key:?}");
        assert!(
            !text.contains("171") && !text.to_lowercase().contains("ab"),
            "{text}"
        );
    }
}
