//! Pairing-response verification (enforcer side) and signing (approver side).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::ed25519::{Ed25519PublicKey, Ed25519SigningKey, SignatureError};
use crate::error::CryptoError;
use crate::x25519::X25519PublicKey;

/// The approver a verified pairing response introduced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedApprover {
    /// The approver's signer key id (`signerKeyId`): decisions name it.
    pub signer_key_id: String,
    /// The approver's Ed25519 key: decisions must verify with it.
    pub signing_key: Ed25519PublicKey,
    /// The approver's X25519 key for the end-to-end key, when the response carried one.
    pub x25519_public_key: Option<X25519PublicKey>,
    /// The signing key's fingerprint to show the user
    /// ([`Ed25519PublicKey::fingerprint`]).
    pub fingerprint: String,
}

/// Why a pairing response was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PairingError {
    /// `responseJson` is not JSON, or a field is missing or not a string.
    #[error("pairing response is malformed")]
    Malformed(#[source] serde_json::Error),
    /// `pairingNonce` is not the nonce of this pairing session.
    #[error("pairing response is for another pairing session (nonce mismatch)")]
    NonceMismatch,
    /// `publicKey` is not a valid Ed25519 public key.
    #[error("pairing response `publicKey` is invalid")]
    InvalidSigningKey(#[source] CryptoError),
    /// `x25519PublicKey` is not a valid X25519 public key.
    #[error("pairing response `x25519PublicKey` is invalid")]
    InvalidX25519Key(#[source] CryptoError),
    /// The signature is malformed or does not verify.
    #[error("pairing response signature refused")]
    Signature(#[source] SignatureError),
    /// A field of the signed message contains `|`, the separator of the signed message, so
    /// the signature would not pin down where one field ends and the next begins (a relay
    /// could, for example, fold `x25519PublicKey` into `timestamp`).
    #[error("pairing response field `{field}` contains `|`, the signed message separator")]
    AmbiguousField {
        /// The field's wire name: `signerKeyId`, `pairingNonce` or `timestamp`.
        field: &'static str,
    },
}

impl PairingError {
    /// The HARP error code this failure maps onto.
    #[must_use]
    pub fn harp_code(&self) -> airlock_types::HarpErrorCode {
        use airlock_types::HarpErrorCode as Code;
        match self {
            Self::Malformed(_) | Self::InvalidX25519Key(_) => Code::Unsupported,
            Self::NonceMismatch => Code::Replay,
            Self::InvalidSigningKey(_) | Self::Signature(_) | Self::AmbiguousField { .. } => {
                Code::SignatureInvalid
            }
        }
    }
}

/// The pairing `responseJson` document, field names as on the wire.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct PairingDocument<'a> {
    signer_key_id: Cow<'a, str>,
    public_key: Cow<'a, str>,
    pairing_nonce: Cow<'a, str>,
    timestamp: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x25519_public_key: Option<Cow<'a, str>>,
    signature: Cow<'a, str>,
}

/// The signed message: `signerKeyId|publicKey|pairingNonce|timestamp[|x25519PublicKey]`.
fn signed_message(doc: &PairingDocument<'_>, x25519: Option<&str>) -> String {
    let mut message = [
        &*doc.signer_key_id,
        &*doc.public_key,
        &*doc.pairing_nonce,
        &*doc.timestamp,
    ]
    .join("|");
    if let Some(x) = x25519 {
        message.push('|');
        message.push_str(x);
    }
    message
}

/// Verifies the pairing `responseJson` of a completed pairing session.
///
/// Checks, in order: the document parses (`signerKeyId`, `publicKey`, `pairingNonce`,
/// `timestamp`, `signature` strings; `x25519PublicKey` optional; no field twice);
/// `pairingNonce` equals `expected_nonce` (constant time); no free-text field of the
/// signed message (`signerKeyId`, `pairingNonce`, `timestamp`) contains the separator `|`
/// (the key fields cannot: they must be base64); `publicKey` is a valid Ed25519 key; the signature
/// by `publicKey` verifies over `signerKeyId|publicKey|pairingNonce|timestamp|x25519PublicKey`
/// (the strings exactly as sent), or over the four-field form when `x25519PublicKey` is
/// absent, `null` or empty; `x25519PublicKey` is a valid 32-byte key.
///
/// # Errors
///
/// A typed [`PairingError`]; never trust any of the document's keys after an error.
pub fn verify_pairing_response(
    response_json: &str,
    expected_nonce: &str,
) -> Result<VerifiedApprover, PairingError> {
    let doc: PairingDocument<'_> =
        serde_json::from_str(response_json).map_err(PairingError::Malformed)?;
    let nonce_matches: bool = doc
        .pairing_nonce
        .as_bytes()
        .ct_eq(expected_nonce.as_bytes())
        .into();
    if !nonce_matches {
        return Err(PairingError::NonceMismatch);
    }
    for (field, text) in [
        ("signerKeyId", &doc.signer_key_id),
        ("pairingNonce", &doc.pairing_nonce),
        ("timestamp", &doc.timestamp),
    ] {
        if text.contains('|') {
            return Err(PairingError::AmbiguousField { field });
        }
    }
    let signing_key =
        Ed25519PublicKey::parse(&doc.public_key).map_err(PairingError::InvalidSigningKey)?;
    let x25519_text = doc.x25519_public_key.as_deref().filter(|x| !x.is_empty());
    signing_key
        .verify(signed_message(&doc, x25519_text).as_bytes(), &doc.signature)
        .map_err(PairingError::Signature)?;
    let x25519_public_key = x25519_text
        .map(X25519PublicKey::parse)
        .transpose()
        .map_err(PairingError::InvalidX25519Key)?;
    Ok(VerifiedApprover {
        signer_key_id: doc.signer_key_id.into_owned(),
        fingerprint: signing_key.fingerprint(),
        signing_key,
        x25519_public_key,
    })
}

/// Builds and signs a pairing `responseJson` (the approver side, used by the sandbox's
/// simulated approver and by tests).
///
/// `publicKey` is written in standard base64 and `x25519PublicKey` in base64url without
/// padding, as the Airlock approver app does; the five-field form is signed when
/// `x25519` is given, the four-field form otherwise.
#[must_use]
pub fn sign_pairing_response(
    key: &Ed25519SigningKey,
    signer_key_id: &str,
    pairing_nonce: &str,
    timestamp: &str,
    x25519: Option<&X25519PublicKey>,
) -> String {
    let public_key = key.public_key().to_base64();
    let x25519 = x25519.map(X25519PublicKey::to_base64url);
    let mut doc = PairingDocument {
        signer_key_id: signer_key_id.into(),
        public_key: public_key.into(),
        pairing_nonce: pairing_nonce.into(),
        timestamp: timestamp.into(),
        x25519_public_key: x25519.map(Into::into),
        signature: "".into(),
    };
    let message = signed_message(&doc, doc.x25519_public_key.as_deref());
    doc.signature = key.sign(message.as_bytes()).into();
    // A struct of strings always serializes.
    serde_json::to_string(&doc).unwrap_or_default()
}
