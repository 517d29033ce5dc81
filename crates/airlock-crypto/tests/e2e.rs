//! End-to-end keys and AES-256-GCM payloads in the wire form.

use airlock_crypto::{
    CryptoError, E2eKey, EncryptedPayload, OpenError, X25519PublicKey, X25519SecretKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use proptest::prelude::*;

fn pair() -> (E2eKey, E2eKey) {
    let a = X25519SecretKey::generate();
    let b = X25519SecretKey::generate();
    let ab = E2eKey::derive(&a, &b.public_key()).unwrap();
    let ba = E2eKey::derive(&b, &a.public_key()).unwrap();
    (ab, ba)
}

fn key() -> E2eKey {
    E2eKey::from_bytes([0x42; 32])
}

#[test]
fn both_sides_derive_the_same_key() {
    let (ab, ba) = pair();
    assert_eq!(*ab.to_bytes(), *ba.to_bytes());
    let payload = ab.seal(b"hello");
    assert_eq!(&ba.open(&payload).unwrap()[..], b"hello");
}

#[test]
fn wire_form_is_standard_base64_with_separate_tag() {
    let payload = key().seal(b"some plaintext of 27 bytes.");
    assert_eq!(payload.alg, "AES-256-GCM");
    assert_eq!(STANDARD.decode(&payload.nonce).unwrap().len(), 12);
    assert_eq!(
        STANDARD
            .decode(payload.tag.as_ref().unwrap())
            .unwrap()
            .len(),
        16
    );
    assert_eq!(STANDARD.decode(&payload.data).unwrap().len(), 27);
    assert!(payload.aad.is_none());
    let json = serde_json::to_value(&payload).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 4, "{json}");
}

#[test]
fn nonces_are_fresh() {
    let key = key();
    assert_ne!(key.seal(b"x").nonce, key.seal(b"x").nonce);
}

#[test]
fn wrong_key_is_decrypt_error() {
    let payload = key().seal(b"secret");
    let other = E2eKey::from_bytes([0x43; 32]);
    assert!(matches!(other.open(&payload), Err(OpenError::Decrypt)));
}

#[test]
fn tag_appended_to_data_is_accepted() {
    let key = key();
    let sealed = key.seal(b"appended tag");
    let mut joined = STANDARD.decode(&sealed.data).unwrap();
    joined.extend(STANDARD.decode(sealed.tag.as_ref().unwrap()).unwrap());
    let appended = EncryptedPayload::new(STANDARD.encode(&joined), sealed.nonce.clone(), None);
    assert_eq!(&key.open(&appended).unwrap()[..], b"appended tag");

    // Shorter than a tag: a length error, not a panic.
    let short = EncryptedPayload::new(STANDARD.encode([0u8; 15]), sealed.nonce, None);
    assert!(matches!(
        key.open(&short),
        Err(OpenError::BadTagLength { actual: 15 })
    ));
}

#[test]
fn empty_plaintext_in_both_tag_forms() {
    let key = key();
    let sealed = key.seal(b"");
    assert_eq!(sealed.data, "");
    assert!(key.open(&sealed).unwrap().is_empty());

    // Tag appended to an empty ciphertext: `data` is exactly the 16-byte tag.
    let appended = EncryptedPayload::new(sealed.tag.clone().unwrap(), sealed.nonce.clone(), None);
    assert!(key.open(&appended).unwrap().is_empty());

    // An empty `tag` field is a zero-length tag, not "tag appended": refused by length.
    let mut empty_tag = sealed.clone();
    empty_tag.tag = Some(String::new());
    assert!(matches!(
        key.open(&empty_tag),
        Err(OpenError::BadTagLength { actual: 0 })
    ));
    // Neither data nor tag: too short for the appended form.
    let nothing = EncryptedPayload::new(String::new(), sealed.nonce, None);
    assert!(matches!(
        key.open(&nothing),
        Err(OpenError::BadTagLength { actual: 0 })
    ));
}

#[test]
fn a_payload_moved_to_another_key_or_nonce_fails() {
    let (enforcer, _) = pair();
    let other = key();
    let a = enforcer.seal(b"one");
    let b = enforcer.seal(b"two");
    // Same key, the nonce of another payload.
    let mut swapped = a.clone();
    swapped.nonce = b.nonce.clone();
    assert!(matches!(enforcer.open(&swapped), Err(OpenError::Decrypt)));
    // Another pairing's key.
    assert!(matches!(other.open(&a), Err(OpenError::Decrypt)));
    // Whitespace in base64 is not tolerated.
    let mut spaced = a;
    spaced.data = format!(" {}", spaced.data);
    assert!(matches!(
        enforcer.open(&spaced),
        Err(OpenError::BadBase64 { field: "data", .. })
    ));
}

#[test]
fn url_safe_and_unpadded_base64_are_accepted() {
    let key = key();
    let sealed = key.seal(b"\xff\xfe\xfd any bytes");
    let recode = |s: &str| URL_SAFE_NO_PAD.encode(STANDARD.decode(s).unwrap());
    let payload = EncryptedPayload::new(
        recode(&sealed.data),
        recode(&sealed.nonce),
        Some(recode(sealed.tag.as_ref().unwrap())),
    );
    assert_eq!(&key.open(&payload).unwrap()[..], b"\xff\xfe\xfd any bytes");
}

#[test]
fn aad_is_authenticated() {
    let key = key();
    let sealed = key.seal_with_aad(b"body", b"request-1");
    assert_eq!(
        STANDARD.decode(sealed.aad.as_ref().unwrap()).unwrap(),
        b"request-1"
    );
    assert_eq!(&key.open(&sealed).unwrap()[..], b"body");

    let mut changed = sealed.clone();
    changed.aad = Some(STANDARD.encode(b"request-2"));
    assert!(matches!(key.open(&changed), Err(OpenError::Decrypt)));

    let mut removed = sealed;
    removed.aad = None;
    assert!(matches!(key.open(&removed), Err(OpenError::Decrypt)));
}

#[test]
fn malformed_payloads_get_typed_errors() {
    let key = key();
    let good = key.seal(b"x");

    let mut p = good.clone();
    p.alg = "AES-128-CBC".into();
    assert!(
        matches!(key.open(&p), Err(OpenError::UnsupportedAlgorithm { alg }) if alg == "AES-128-CBC")
    );

    let mut p = good.clone();
    p.alg = "aes-256-gcm".into();
    assert!(key.open(&p).is_ok(), "algorithm names are case-insensitive");

    for field in ["data", "nonce", "tag", "aad"] {
        let mut p = good.clone();
        match field {
            "data" => p.data = "not base64!".into(),
            "nonce" => p.nonce = "not base64!".into(),
            "tag" => p.tag = Some("not base64!".into()),
            _ => p.aad = Some("not base64!".into()),
        }
        match key.open(&p) {
            Err(OpenError::BadBase64 { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }

    let mut p = good.clone();
    p.nonce = STANDARD.encode([0u8; 16]);
    assert!(matches!(
        key.open(&p),
        Err(OpenError::BadNonceLength { actual: 16 })
    ));

    let mut p = good;
    p.tag = Some(STANDARD.encode([0u8; 12]));
    assert!(matches!(
        key.open(&p),
        Err(OpenError::BadTagLength { actual: 12 })
    ));
}

#[test]
fn low_order_peer_key_is_refused() {
    let secret = X25519SecretKey::generate();
    // The all-zero point and the point of order 8 below give an all-zero shared secret.
    let zero = X25519PublicKey::from_bytes([0; 32]);
    assert!(matches!(
        E2eKey::derive(&secret, &zero),
        Err(CryptoError::NonContributory)
    ));
    let mut one = [0u8; 32];
    one[0] = 1;
    assert!(matches!(
        E2eKey::derive(&secret, &X25519PublicKey::from_bytes(one)),
        Err(CryptoError::NonContributory)
    ));
}

#[test]
fn x25519_public_key_parsing() {
    let key = X25519SecretKey::generate().public_key();
    let raw = key.to_bytes();
    for text in [
        URL_SAFE_NO_PAD.encode(raw),
        base64::engine::general_purpose::URL_SAFE.encode(raw),
        STANDARD.encode(raw),
    ] {
        assert_eq!(X25519PublicKey::parse(&text).unwrap(), key);
    }
    assert!(matches!(
        X25519PublicKey::parse(&URL_SAFE_NO_PAD.encode([0u8; 31])),
        Err(CryptoError::InvalidLength {
            expected: 32,
            actual: 31,
            ..
        })
    ));
    assert!(matches!(
        X25519PublicKey::parse("***"),
        Err(CryptoError::InvalidBase64 { .. })
    ));

    // Serde uses the unpadded base64url wire form.
    let json = serde_json::to_string(&key).unwrap();
    assert_eq!(json, format!("\"{}\"", key.to_base64url()));
    assert_eq!(serde_json::from_str::<X25519PublicKey>(&json).unwrap(), key);
    assert!(serde_json::from_str::<X25519PublicKey>("\"AAAA\"").is_err());
}

#[test]
fn secret_keys_round_trip_through_bytes_and_are_redacted() {
    let secret = X25519SecretKey::generate();
    let restored = X25519SecretKey::from_bytes(*secret.to_bytes());
    assert_eq!(restored.public_key(), secret.public_key());
    let secret_hex = hex::encode(*secret.to_bytes());
    let debug = format!("{secret:?}");
    assert!(
        !debug.contains(&secret_hex)
            && !debug.contains(&URL_SAFE_NO_PAD.encode(*secret.to_bytes())),
        "{debug}"
    );

    let e2e = key();
    assert_eq!(*E2eKey::from_bytes(*e2e.to_bytes()).to_bytes(), [0x42; 32]);
    assert_eq!(format!("{e2e:?}"), "E2eKey(<redacted>)");
}

#[test]
fn errors_are_send_sync_static_and_small() {
    fn check<T: std::error::Error + Send + Sync + 'static>() {}
    check::<OpenError>();
    check::<CryptoError>();
    assert!(std::mem::size_of::<OpenError>() <= 40);
    assert!(std::mem::size_of::<CryptoError>() <= 40);
}

/// Which part of the payload a bit flip hits.
#[derive(Debug, Clone, Copy)]
enum Part {
    Data,
    Nonce,
    Tag,
}

fn flip(text: &str, bit: usize) -> String {
    let mut bytes = STANDARD.decode(text).unwrap();
    let bit = bit % (bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
    STANDARD.encode(bytes)
}

proptest! {
    #[test]
    fn seal_open_round_trips(plaintext in proptest::collection::vec(any::<u8>(), 0..2048), aad in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64))) {
        let key = key();
        let payload = match &aad {
            Some(aad) => key.seal_with_aad(&plaintext, aad),
            None => key.seal(&plaintext),
        };
        // Through JSON, as on the wire.
        let wire: EncryptedPayload = serde_json::from_str(&serde_json::to_string(&payload).unwrap()).unwrap();
        prop_assert_eq!(&key.open(&wire).unwrap()[..], &plaintext[..]);
    }

    #[test]
    fn any_one_bit_change_is_refused(
        plaintext in proptest::collection::vec(any::<u8>(), 0..512),
        part in prop_oneof![Just(Part::Data), Just(Part::Nonce), Just(Part::Tag)],
        bit in any::<usize>(),
    ) {
        let key = key();
        let mut payload = key.seal(&plaintext);
        let part = if plaintext.is_empty() && matches!(part, Part::Data) { Part::Tag } else { part };
        match part {
            Part::Data => payload.data = flip(&payload.data, bit),
            Part::Nonce => payload.nonce = flip(&payload.nonce, bit),
            Part::Tag => payload.tag = Some(flip(payload.tag.as_ref().unwrap(), bit)),
        }
        prop_assert!(matches!(key.open(&payload), Err(OpenError::Decrypt)));
    }
}
