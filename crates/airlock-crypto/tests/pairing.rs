//! Pairing-response verification, in the 4- and 5-field forms.

use airlock_crypto::{
    Ed25519PublicKey, Ed25519SigningKey, PairingError, SignatureError, X25519PublicKey,
    X25519SecretKey, sign_pairing_response, verify_pairing_response,
};
use airlock_types::HarpErrorCode;
use proptest::prelude::*;
use serde_json::Value;

const NONCE: &str = "pn-7f3a";
const TIMESTAMP: &str = "2026-02-24T10:00:00Z";

#[test]
fn five_field_form_verifies() {
    let key = Ed25519SigningKey::generate();
    let x25519 = X25519SecretKey::generate().public_key();
    let json = sign_pairing_response(&key, "key-phone", NONCE, TIMESTAMP, Some(&x25519));
    let doc: Value = serde_json::from_str(&json).unwrap();
    // publicKey in standard base64, x25519PublicKey in unpadded base64url.
    assert_eq!(doc["publicKey"], key.public_key().to_base64());
    assert_eq!(doc["x25519PublicKey"], x25519.to_base64url());

    let approver = verify_pairing_response(&json, NONCE).unwrap();
    assert_eq!(approver.signer_key_id, "key-phone");
    assert_eq!(approver.signing_key, key.public_key());
    assert_eq!(approver.x25519_public_key, Some(x25519));
    assert_eq!(approver.fingerprint, key.public_key().fingerprint());
}

#[test]
fn four_field_form_verifies() {
    let key = Ed25519SigningKey::generate();
    let json = sign_pairing_response(&key, "key-phone", NONCE, TIMESTAMP, None);
    assert!(!json.contains("x25519PublicKey"));
    let approver = verify_pairing_response(&json, NONCE).unwrap();
    assert_eq!(approver.x25519_public_key, None);

    // An explicit null, or an empty string, is the four-field form as well.
    for x in [Value::Null, Value::String(String::new())] {
        let mut doc: Value = serde_json::from_str(&json).unwrap();
        doc["x25519PublicKey"] = x;
        assert!(
            verify_pairing_response(&doc.to_string(), NONCE)
                .unwrap()
                .x25519_public_key
                .is_none()
        );
    }
}

#[test]
fn signature_covers_the_exact_pipe_joined_strings() {
    // Built by hand, as another implementation would.
    let key = Ed25519SigningKey::from_bytes([9; 32]);
    let public = key.public_key().to_base64();
    let x = X25519SecretKey::from_bytes([5; 32])
        .public_key()
        .to_base64url();
    let message = format!("signer-1|{public}|{NONCE}|{TIMESTAMP}|{x}");
    let doc = serde_json::json!({
        "signerKeyId": "signer-1", "publicKey": public, "pairingNonce": NONCE,
        "timestamp": TIMESTAMP, "x25519PublicKey": x, "signature": key.sign(message.as_bytes()),
        "unrelated": 1,
    });
    verify_pairing_response(&doc.to_string(), NONCE).unwrap();

    // The same key in base64url is another string, so the signature no longer matches.
    let mut other = doc.clone();
    other["publicKey"] = Value::String(key.public_key().to_base64url());
    assert!(matches!(
        verify_pairing_response(&other.to_string(), NONCE),
        Err(PairingError::Signature(SignatureError::Invalid))
    ));
}

#[test]
fn fingerprint_format() {
    let key = Ed25519PublicKey::from_bytes(
        Ed25519SigningKey::from_bytes([1; 32])
            .public_key()
            .to_bytes(),
    )
    .unwrap();
    let fp = key.fingerprint();
    assert_eq!(fp.len(), 8 * 3 - 1);
    assert!(fp.split(':').all(|pair| {
        pair.len() == 2
            && pair
                .chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
    }));
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(key.to_bytes());
    assert_eq!(fp.replace(':', ""), hex::encode_upper(&digest[..8]));
}

#[test]
fn wrong_nonce_and_malformed_documents_are_refused() {
    let key = Ed25519SigningKey::generate();
    let json = sign_pairing_response(&key, "k", NONCE, TIMESTAMP, None);
    assert!(matches!(
        verify_pairing_response(&json, "pn-other"),
        Err(PairingError::NonceMismatch)
    ));
    assert!(matches!(
        verify_pairing_response(&json, ""),
        Err(PairingError::NonceMismatch)
    ));

    assert!(matches!(
        verify_pairing_response("not json", NONCE),
        Err(PairingError::Malformed(_))
    ));
    let mut doc: Value = serde_json::from_str(&json).unwrap();
    doc.as_object_mut().unwrap().remove("signature");
    assert!(matches!(
        verify_pairing_response(&doc.to_string(), NONCE),
        Err(PairingError::Malformed(_))
    ));
    let mut doc: Value = serde_json::from_str(&json).unwrap();
    doc["timestamp"] = Value::from(12);
    assert!(matches!(
        verify_pairing_response(&doc.to_string(), NONCE),
        Err(PairingError::Malformed(_))
    ));

    let mut doc: Value = serde_json::from_str(&json).unwrap();
    doc["publicKey"] = Value::String("AAAA".into());
    assert!(matches!(
        verify_pairing_response(&doc.to_string(), NONCE),
        Err(PairingError::InvalidSigningKey(_))
    ));
    let mut doc: Value = serde_json::from_str(&json).unwrap();
    doc["signature"] = Value::String("@@".into());
    assert!(matches!(
        verify_pairing_response(&doc.to_string(), NONCE),
        Err(PairingError::Signature(SignatureError::Encoding { .. }))
    ));
}

#[test]
fn a_bad_x25519_key_is_refused_even_when_signed() {
    let key = Ed25519SigningKey::generate();
    let public = key.public_key().to_base64();
    let message = format!("k|{public}|{NONCE}|{TIMESTAMP}|AAAA");
    let doc = serde_json::json!({
        "signerKeyId": "k", "publicKey": public, "pairingNonce": NONCE, "timestamp": TIMESTAMP,
        "x25519PublicKey": "AAAA", "signature": key.sign(message.as_bytes()),
    });
    assert!(matches!(
        verify_pairing_response(&doc.to_string(), NONCE),
        Err(PairingError::InvalidX25519Key(_))
    ));
}

/// The signed message joins fields with `|`, so a `|` inside a field could move a field
/// boundary: a relay could turn a signed five-field response into a four-field one (its
/// `x25519PublicKey` folded into `timestamp`, or into a `|`-bearing pairing nonce it chose)
/// that verifies with the same signature. Fields holding `|` are refused.
#[test]
fn pipe_in_a_field_cannot_shift_field_boundaries() {
    let key = Ed25519SigningKey::generate();
    let x25519 = X25519SecretKey::generate().public_key().to_base64url();
    let json = sign_pairing_response(
        &key,
        "k",
        NONCE,
        TIMESTAMP,
        Some(&X25519PublicKey::parse(&x25519).unwrap()),
    );
    let honest: Value = serde_json::from_str(&json).unwrap();

    // The x25519 key folded into the timestamp: same signed bytes, four-field form.
    let mut folded = honest.clone();
    folded.as_object_mut().unwrap().remove("x25519PublicKey");
    folded["timestamp"] = Value::String(format!("{TIMESTAMP}|{x25519}"));
    let err = verify_pairing_response(&folded.to_string(), NONCE).unwrap_err();
    assert!(
        matches!(err, PairingError::AmbiguousField { field: "timestamp" }),
        "{err:?}"
    );
    assert_eq!(err.harp_code(), HarpErrorCode::SignatureInvalid);

    // A relay-chosen nonce holding `|` that swallows the timestamp.
    let mut shifted = honest.clone();
    let nonce = format!("{NONCE}|{TIMESTAMP}");
    shifted.as_object_mut().unwrap().remove("x25519PublicKey");
    shifted["pairingNonce"] = Value::String(nonce.clone());
    shifted["timestamp"] = Value::String(x25519.clone());
    let err = verify_pairing_response(&shifted.to_string(), &nonce).unwrap_err();
    assert!(
        matches!(
            err,
            PairingError::AmbiguousField {
                field: "pairingNonce"
            }
        ),
        "{err:?}"
    );

    // A signer key id with `|`, even honestly signed, is refused.
    let json = sign_pairing_response(&key, "a|b", NONCE, TIMESTAMP, None);
    assert!(matches!(
        verify_pairing_response(&json, NONCE),
        Err(PairingError::AmbiguousField {
            field: "signerKeyId"
        })
    ));
}

const FIELDS: [&str; 6] = [
    "signerKeyId",
    "publicKey",
    "pairingNonce",
    "timestamp",
    "x25519PublicKey",
    "signature",
];

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn both_forms_verify_and_any_field_change_is_refused(
        seed in any::<[u8; 32]>(),
        // `|` is refused in these fields (see `pipe_in_a_field_cannot_shift_field_boundaries`);
        // the replacement below may still add one.
        signer in "[a-zA-Z0-9_ -]{1,24}",
        nonce in "[a-zA-Z0-9-]{1,24}",
        timestamp in "[0-9TZ:.+-]{1,30}",
        with_x25519 in any::<bool>(),
        field in 0usize..6,
        replacement in "[a-zA-Z0-9|]{1,8}",
    ) {
        let key = Ed25519SigningKey::from_bytes(seed);
        let x25519 = X25519SecretKey::from_bytes(seed).public_key();
        let json = sign_pairing_response(&key, &signer, &nonce, &timestamp, with_x25519.then_some(&x25519));
        let approver = verify_pairing_response(&json, &nonce).unwrap();
        prop_assert_eq!(&approver.signer_key_id, &signer);
        prop_assert_eq!(approver.x25519_public_key, with_x25519.then_some(x25519));

        let field = FIELDS[field];
        let mut doc: Value = serde_json::from_str(&json).unwrap();
        let old = doc[field].as_str().unwrap_or_default().to_owned();
        let new = format!("{old}{replacement}");
        doc[field] = Value::String(new.clone());
        // The caller expects the nonce in the document, so only the signature can refuse it.
        let expected_nonce = if field == "pairingNonce" { new } else { nonce.clone() };
        prop_assert!(verify_pairing_response(&doc.to_string(), &expected_nonce).is_err(), "{} changed", field);

        // And the wrong nonce is refused.
        let wrong = format!("{nonce}x");
        prop_assert!(matches!(verify_pairing_response(&json, &wrong), Err(PairingError::NonceMismatch)));
    }
}
