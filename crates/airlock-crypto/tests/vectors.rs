//! Published test vectors, checked in as data under `tests/vectors/`:
//! RFC 8032 (Ed25519), RFC 7748 (X25519), HARP-CORE (DecisionSignable).
//! RFC 5869 (HKDF-SHA256) is checked by the unit tests of the key derivation.

use airlock_crypto::{
    DecisionError, E2eKey, Ed25519PublicKey, Ed25519SigningKey, ExpectedDecision,
    MemoryReplayJournal, SignatureError, SignatureForm, TrustedSigners, Verdict, X25519PublicKey,
    X25519SecretKey, verify_decision,
};
use base64::Engine as _;
use serde_json::Value;
use time::macros::datetime;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn hex32(v: &Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn rfc8032_ed25519() {
    let data = load("rfc8032.json");
    let vectors = data["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let key = Ed25519SigningKey::from_bytes(hex32(&v["secretKey"]));
        let public = key.public_key();
        assert_eq!(public.to_bytes(), hex32(&v["publicKey"]), "{name}");
        let message = hex::decode(v["message"].as_str().unwrap()).unwrap();
        let signature = hex::decode(v["signature"].as_str().unwrap()).unwrap();
        assert_eq!(key.sign_raw(&message).to_vec(), signature, "{name}");

        // Verification accepts base64url (unpadded, padded) and standard base64.
        let engines = [
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
        ];
        for engine in &engines {
            public.verify(&message, &engine.encode(&signature)).unwrap();
        }
        assert_eq!(key.sign(&message), engines[0].encode(&signature));

        // Any other message is refused.
        let mut other = message.clone();
        other.push(0);
        assert!(matches!(
            public.verify(&other, &key.sign(&message)),
            Err(SignatureError::Invalid)
        ));

        // The public key parses from hex-decoded base64 forms too.
        let parsed = Ed25519PublicKey::parse(&public.to_base64()).unwrap();
        assert_eq!(parsed, public);
        assert_eq!(
            Ed25519PublicKey::parse(&public.to_base64url()).unwrap(),
            public
        );
    }
}

#[test]
fn rfc7748_x25519_and_harp_key_derivation() {
    let v = load("rfc7748.json");
    let alice = X25519SecretKey::from_bytes(hex32(&v["alicePrivate"]));
    let bob = X25519SecretKey::from_bytes(hex32(&v["bobPrivate"]));
    assert_eq!(alice.public_key().to_bytes(), hex32(&v["alicePublic"]));
    assert_eq!(bob.public_key().to_bytes(), hex32(&v["bobPublic"]));

    // E2eKey = HKDF-SHA256(IKM = the RFC's shared secret K, no salt, HARP info, 32 bytes).
    let k = hex32(&v["sharedSecret"]);
    let mut expected = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, &k)
        .expand(b"HARP-E2E-AES256GCM", &mut expected)
        .unwrap();
    let from_alice = E2eKey::derive(&alice, &bob.public_key()).unwrap();
    let from_bob = E2eKey::derive(&bob, &alice.public_key()).unwrap();
    assert_eq!(*from_alice.to_bytes(), expected);
    assert_eq!(*from_bob.to_bytes(), expected);

    // The wire form of a public key round-trips.
    let wire = alice.public_key().to_base64url();
    assert!(!wire.contains('='));
    assert_eq!(X25519PublicKey::parse(&wire).unwrap(), alice.public_key());
}

fn harp_vector() -> (Value, Ed25519PublicKey, String) {
    let v = load("harp_core_decision.json");
    let signable: Value = serde_json::from_str(v["signable"].as_str().unwrap()).unwrap();
    let key = Ed25519PublicKey::parse(v["publicKey"].as_str().unwrap()).unwrap();
    (signable, key, v["signature"].as_str().unwrap().to_owned())
}

fn harp_body() -> (Value, TrustedSigners, ExpectedDecision) {
    let (mut body, key, signature) = harp_vector();
    body["signature"] = Value::String(signature);
    let signers = TrustedSigners::new().with("ma-key-01", key);
    let expected = ExpectedDecision::new(
        "8e326e1f69e5859a3b5b12965f06b5829f09b12d1748aa2fddb609fb44f831c1",
        "01J2V8V3K6B2Z9X6G1V7Y2QK8H",
    );
    (body, signers, expected)
}

#[test]
fn harp_core_signature_over_the_canonical_signable() {
    let (signable, key, signature) = harp_vector();
    let v = load("harp_core_decision.json");
    // The signable is already canonical: the signature is over exactly these bytes, and
    // canonicalizing the parsed object gives them back.
    let text = v["signable"].as_str().unwrap();
    key.verify(text.as_bytes(), &signature).unwrap();
    assert_eq!(
        airlock_crypto::canonicalize_value(&signable).unwrap(),
        text.as_bytes()
    );
    // PROTOCOL.md quotes the vector with "approve" instead of "allow": that text does not
    // verify, so the published "allow" form is the one checked in.
    let misquoted = v["protocolMdSignable"].as_str().unwrap();
    assert!(matches!(
        key.verify(misquoted.as_bytes(), &signature),
        Err(SignatureError::Invalid)
    ));
}

#[test]
fn harp_core_decision_vector_verifies() {
    let (body, signers, expected) = harp_body();
    let journal = MemoryReplayJournal::new();
    let now = datetime!(2026-02-21 12:01:00 UTC);
    let decision = verify_decision(&body, &expected, &signers, &journal, now).unwrap();
    assert_eq!(decision.verdict, Verdict::Approve);
    assert!(decision.is_approved());
    assert_eq!(decision.form, SignatureForm::HarpCore);
    assert_eq!(decision.signer_key_id, "ma-key-01");
    assert_eq!(decision.nonce, "bm9uY2UtMDAx");
    assert_eq!(
        decision.request_id.as_deref(),
        Some("01J2V8V3K6B2Z9X6G1V7Y2QK8H")
    );
    assert_eq!(decision.scope.as_deref(), Some("once"));
    assert_eq!(
        decision.expires_at,
        Some(datetime!(2026-02-21 12:05:00 UTC))
    );

    // Delivered again: a replay.
    let err = verify_decision(&body, &expected, &signers, &journal, now).unwrap_err();
    assert!(err.is_replay(), "{err:?}");
    assert_eq!(err.harp_code(), airlock_types::HarpErrorCode::Replay);
}

#[test]
fn harp_core_decision_vector_fails_when_any_field_changes() {
    let (body, signers, expected) = harp_body();
    let now = datetime!(2026-02-21 12:01:00 UTC);
    let fields: Vec<String> = body
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "signature")
        .cloned()
        .collect();
    assert_eq!(fields.len(), 10);
    for field in &fields {
        let mut changed = body.clone();
        let old = changed[field].as_str().unwrap().to_owned();
        // Keep the value well-formed where it has to be, so that the signature is what fails.
        let new = match field.as_str() {
            "decision" => "deny".to_owned(),
            "sigAlg" => "ed25519".to_owned(),
            "artifactHashAlg" => "sha-256".to_owned(),
            "expiresAt" => "2026-02-21T12:06:00Z".to_owned(),
            "artifactHash" => format!("{}0", &old[..63]),
            _ => format!("{old}x"),
        };
        changed[field] = Value::String(new);
        // The expected values follow the change, so only the signature can refuse it.
        let mut expected = expected.clone();
        if field == "artifactHash" {
            expected.artifact_hash = changed[field].as_str().unwrap().to_owned();
        }
        if field == "requestId" {
            expected.request_id = changed[field].as_str().unwrap().to_owned();
        }
        let mut signers = signers.clone();
        if field == "signerKeyId" {
            let key = *signers.get("ma-key-01").unwrap().1;
            signers.insert(changed[field].as_str().unwrap(), key);
        }
        let err = verify_decision(
            &changed,
            &expected,
            &signers,
            &MemoryReplayJournal::new(),
            now,
        )
        .unwrap_err();
        assert!(
            matches!(err, DecisionError::SignatureInvalid),
            "{field}: {err:?}"
        );
    }

    // An added field is covered too.
    let mut added = body.clone();
    added["extra"] = Value::Bool(true);
    let err = verify_decision(
        &added,
        &expected,
        &signers,
        &MemoryReplayJournal::new(),
        now,
    )
    .unwrap_err();
    assert!(matches!(err, DecisionError::SignatureInvalid), "{err:?}");
}

#[test]
fn harp_core_decision_vector_expiry_and_binding() {
    let (body, signers, expected) = harp_body();
    let journal = MemoryReplayJournal::new();
    // Within the 60 s skew after expiresAt: accepted.
    verify_decision(
        &body,
        &expected,
        &signers,
        &journal,
        datetime!(2026-02-21 12:06:00 UTC),
    )
    .unwrap();
    // After: expired.
    let err = verify_decision(
        &body,
        &expected,
        &signers,
        &MemoryReplayJournal::new(),
        datetime!(2026-02-21 12:06:01 UTC),
    )
    .unwrap_err();
    assert!(matches!(err, DecisionError::Expired { .. }), "{err:?}");
    assert_eq!(err.harp_code(), airlock_types::HarpErrorCode::Expired);

    let now = datetime!(2026-02-21 12:01:00 UTC);
    let other_request = ExpectedDecision::new(expected.artifact_hash.clone(), "another-request");
    let err = verify_decision(
        &body,
        &other_request,
        &signers,
        &MemoryReplayJournal::new(),
        now,
    )
    .unwrap_err();
    assert!(
        matches!(err, DecisionError::RequestIdMismatch { .. }),
        "{err:?}"
    );

    let other_hash = ExpectedDecision::new("0".repeat(64), expected.request_id.clone());
    let err = verify_decision(
        &body,
        &other_hash,
        &signers,
        &MemoryReplayJournal::new(),
        now,
    )
    .unwrap_err();
    assert!(matches!(err, DecisionError::HashMismatch { .. }), "{err:?}");
    assert_eq!(err.harp_code(), airlock_types::HarpErrorCode::HashMismatch);

    // A `sha256:` prefix on the expected hash is tolerated.
    let prefixed = ExpectedDecision::new(
        format!("sha256:{}", expected.artifact_hash),
        expected.request_id.clone(),
    );
    verify_decision(&body, &prefixed, &signers, &MemoryReplayJournal::new(), now).unwrap();
}
