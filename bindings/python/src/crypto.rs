//! `canonical_json` and `crypto_helpers`: RFC 8785, SHA-256, X25519 + HKDF, AES-256-GCM,
//! all from `airlock::crypto`. Keys cross the boundary as base64url text, as in the seed
//! SDK; large inputs are processed without holding the GIL.

use airlock::crypto::hash::ArtifactHash;
use airlock::crypto::{E2eKey, EncryptedPayload, X25519PublicKey, X25519SecretKey, jcs};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use pyo3::prelude::*;

use crate::errors::value_error;

/// base64url, with or without padding (what the seed accepts).
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(sha256_hex, m)?)?;
    m.add_function(wrap_pyfunction!(generate_x25519_keypair, m)?)?;
    m.add_function(wrap_pyfunction!(derive_shared_key, m)?)?;
    m.add_function(wrap_pyfunction!(aes_gcm_encrypt, m)?)?;
    m.add_function(wrap_pyfunction!(aes_gcm_decrypt, m)?)?;
    Ok(())
}

/// RFC 8785 canonical form of a JSON text.
#[pyfunction]
fn canonicalize(py: Python<'_>, json_str: String) -> PyResult<String> {
    py.detach(|| jcs::canonicalize_str(&json_str))
        .map_err(|e| value_error(format!("not canonicalizable JSON: {e}")))
}

/// Lowercase hex SHA-256 of the UTF-8 text.
#[pyfunction]
fn sha256_hex(py: Python<'_>, s: String) -> String {
    py.detach(|| ArtifactHash::of_canonical(s.as_bytes()).as_str().to_owned())
}

/// A fresh X25519 key pair: `(public_key, private_key)`, raw 32 bytes each, base64url.
#[pyfunction]
fn generate_x25519_keypair() -> (String, String) {
    let secret = X25519SecretKey::generate();
    let public = secret.public_key().to_base64url();
    (public, BASE64URL.encode(*secret.to_bytes()))
}

/// X25519 + HKDF-SHA256 (`HARP-E2E-AES256GCM`): the shared AES-256 key, base64url.
#[pyfunction]
fn derive_shared_key(my_private_base64url: &str, peer_public_base64url: &str) -> PyResult<String> {
    let secret = X25519SecretKey::from_bytes(key_bytes(my_private_base64url, "my_private")?);
    let peer = X25519PublicKey::parse(peer_public_base64url)
        .map_err(|e| value_error(format!("peer_public: {e}")))?;
    let key = E2eKey::derive(&secret, &peer).map_err(|e| value_error(e.to_string()))?;
    Ok(BASE64URL.encode(*key.to_bytes()))
}

/// AES-256-GCM with a fresh nonce: `(alg, data, nonce, tag)`, standard base64.
#[pyfunction]
fn aes_gcm_encrypt(
    py: Python<'_>,
    key_base64url: &str,
    plaintext: String,
) -> PyResult<(String, String, String, Option<String>)> {
    let key = E2eKey::from_bytes(key_bytes(key_base64url, "key")?);
    let sealed = py.detach(|| key.seal_vec(plaintext.into_bytes()));
    Ok((sealed.alg, sealed.data, sealed.nonce, sealed.tag))
}

/// Opens an AES-256-GCM payload; a wrong key or a tampered payload is a `ValueError`.
#[pyfunction]
#[pyo3(signature = (key_base64url, alg, data, nonce, tag=None, aad=None))]
fn aes_gcm_decrypt(
    py: Python<'_>,
    key_base64url: &str,
    alg: String,
    data: String,
    nonce: String,
    tag: Option<String>,
    aad: Option<String>,
) -> PyResult<String> {
    let key = E2eKey::from_bytes(key_bytes(key_base64url, "key")?);
    let mut payload = EncryptedPayload::new(data, nonce, tag);
    payload.alg = alg;
    payload.aad = aad;
    let plaintext = py
        .detach(|| key.open(&payload))
        .map_err(|e| value_error(format!("decryption failed: {e}")))?;
    String::from_utf8(plaintext.to_vec())
        .map_err(|_| value_error("decryption failed: the plaintext is not UTF-8"))
}

/// A 32-byte key from base64url.
pub(crate) fn key_bytes(text: &str, what: &str) -> PyResult<[u8; 32]> {
    let bytes = BASE64URL
        .decode(text.trim())
        .map_err(|_| value_error(format!("{what} is not base64url")))?;
    let len = bytes.len();
    bytes
        .try_into()
        .map_err(|_| value_error(format!("{what} must be 32 bytes, got {len}")))
}
