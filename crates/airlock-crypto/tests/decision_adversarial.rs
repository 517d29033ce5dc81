//! Decision verification against a hostile relay: spelling tricks, look-alikes, duplicate
//! JSON members, signer-id aliasing and retention tampering. Every case must fail closed.

use airlock_crypto::{
    DecisionError, Ed25519SigningKey, ExpectedDecision, MemoryReplayJournal, SignatureForm,
    TrustedSigners, Verdict, VerifiedDecision, jcs, sign_decision, sign_decision_harp_core,
    verify_decision, verify_decision_json,
};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const HASH: &str = "8e326e1f69e5859a3b5b12965f06b5829f09b12d1748aa2fddb609fb44f831c1";
const REQUEST: &str = "req-0001";
const NOW: OffsetDateTime = datetime!(2026-02-24 10:00:00 UTC);

fn key() -> Ed25519SigningKey {
    Ed25519SigningKey::from_bytes([7; 32])
}

fn signers() -> TrustedSigners {
    TrustedSigners::new().with("key-phone", key().public_key())
}

fn verify_with(body: &Value, signers: &TrustedSigners) -> Result<VerifiedDecision, DecisionError> {
    verify_decision(
        body,
        &ExpectedDecision::new(HASH, REQUEST),
        signers,
        &MemoryReplayJournal::new(),
        NOW,
    )
}

fn verify(body: &Value) -> Result<VerifiedDecision, DecisionError> {
    verify_with(body, &signers())
}

/// An Airlock-form body whose signature covers exactly `decision` as given.
fn airlock(decision: &str) -> Value {
    json!({
        "artifactHash": HASH, "decision": decision, "signerKeyId": "key-phone", "nonce": "n-1",
        "signature": sign_decision(&key(), HASH, decision, "n-1"),
    })
}

fn harp_core_unsigned() -> Value {
    json!({
        "requestId": REQUEST, "artifactHashAlg": "SHA-256", "artifactHash": HASH,
        "decision": "approve", "scope": "once", "expiresAt": "2026-02-24T10:05:00Z",
        "nonce": "hn-1", "sigAlg": "Ed25519", "signerKeyId": "key-phone",
    })
}

fn harp_core(mut body: Value) -> Value {
    body["signature"] = Value::String(sign_decision_harp_core(&key(), &body).unwrap());
    body
}

#[test]
fn verdict_spelling_is_ascii_case_insensitive_and_nothing_else() {
    // Signed as sent, in any ASCII case: accepted, the verdict read case-insensitively.
    for word in ["APPROVE", "Approve", "aPpRoVe"] {
        assert_eq!(verify(&airlock(word)).unwrap().verdict, Verdict::Approve);
    }
    for word in ["REJECT", "Deny"] {
        assert_eq!(verify(&airlock(word)).unwrap().verdict, Verdict::Reject);
    }
    // Look-alikes, padding and near misses are unknown, even when genuinely signed.
    for word in [
        "\u{430}pprove",   // Cyrillic a
        "approv\u{435}",   // Cyrillic e
        "\u{ff41}pprove",  // fullwidth a
        "approve ",        // trailing space
        " approve",        // leading space
        "approve\u{0}",    // NUL
        "approve\u{200b}", // zero-width space
        "approved",
        "yes",
        "",
    ] {
        let err = verify(&airlock(word)).unwrap_err();
        assert!(
            matches!(err, DecisionError::UnknownDecision { .. }),
            "{word:?}: {err:?}"
        );
    }
}

#[test]
fn the_airlock_signature_pins_the_exact_wire_spelling() {
    // Signed "reject"; a relay re-cases or rewrites the verdict: the signature no longer covers it.
    let mut body = airlock("reject");
    for forged in ["Reject", "approve", "APPROVE", "allow"] {
        body["decision"] = json!(forged);
        assert!(
            matches!(verify(&body), Err(DecisionError::SignatureInvalid)),
            "{forged}"
        );
    }
    // Re-spelling the artifact hash (prefix, case) also breaks the Airlock signature.
    for hash in [format!("sha256:{HASH}"), HASH.to_uppercase()] {
        let mut body = airlock("approve");
        body["artifactHash"] = json!(hash);
        assert!(
            matches!(verify(&body), Err(DecisionError::SignatureInvalid)),
            "{hash}"
        );
    }
    // Whitespace around the hash is not a hash.
    let mut body = airlock("approve");
    body["artifactHash"] = json!(format!(" {HASH}"));
    assert!(matches!(
        verify(&body),
        Err(DecisionError::HashMismatch { .. })
    ));
}

#[test]
fn sig_alg_tricks() {
    // `sigAlg` is matched ASCII case-insensitively (it is signed in the HARP-CORE form).
    let mut body = harp_core_unsigned();
    body["sigAlg"] = json!("ED25519");
    assert_eq!(
        verify(&harp_core(body)).unwrap().form,
        SignatureForm::HarpCore
    );

    for alg in ["Ed25519 ", "Ed448", "EdDSA", "\u{395}d25519", ""] {
        let mut body = harp_core_unsigned();
        body["sigAlg"] = json!(alg);
        let err = verify(&harp_core(body)).unwrap_err();
        assert!(
            matches!(
                err,
                DecisionError::Unsupported {
                    field: "sigAlg",
                    ..
                }
            ),
            "{alg:?}: {err:?}"
        );
    }
    let mut body = harp_core_unsigned();
    body["sigAlg"] = json!(25519);
    assert!(matches!(
        verify(&harp_core(body)),
        Err(DecisionError::MalformedField {
            field: "sigAlg",
            ..
        })
    ));

    // Downgrade: dropping or nulling `sigAlg` of a HARP-CORE decision selects the Airlock
    // form, whose signed bytes differ: refused.
    let signed = harp_core(harp_core_unsigned());
    for downgrade in [None, Some(Value::Null)] {
        let mut body = signed.clone();
        let obj = body.as_object_mut().unwrap();
        match downgrade {
            None => {
                obj.remove("sigAlg");
            }
            Some(v) => {
                obj.insert("sigAlg".into(), v);
            }
        }
        assert!(matches!(
            verify(&body),
            Err(DecisionError::SignatureInvalid)
        ));
    }
    // Unsupported hash algorithm, even when signed.
    let mut body = harp_core_unsigned();
    body["artifactHashAlg"] = json!("SHA-1");
    assert!(matches!(
        verify(&harp_core(body)),
        Err(DecisionError::Unsupported {
            field: "artifactHashAlg",
            ..
        })
    ));
}

/// serde_json keeps the last of two members with the same name. Both the verdict and the
/// signed bytes come from that one parsed value, so a duplicate cannot make the signature
/// cover one verdict while the enforcer acts on another.
#[test]
fn duplicate_members_cannot_split_signature_and_verdict() {
    // HARP-CORE: the approver signed `reject`; the relay appends a second `decision`.
    let mut unsigned = harp_core_unsigned();
    unsigned["decision"] = json!("reject");
    let signed = harp_core(unsigned).to_string();
    assert!(signed.ends_with('}'));
    let forged = format!("{},\"decision\":\"approve\"}}", &signed[..signed.len() - 1]);
    let value: Value = serde_json::from_str(&forged).unwrap();
    assert_eq!(value["decision"], "approve");
    assert!(matches!(
        verify(&value),
        Err(DecisionError::SignatureInvalid)
    ));
    // RFC 8785 itself refuses such a text outright.
    assert!(matches!(
        jcs::canonicalize(forged.as_bytes()),
        Err(jcs::CanonicalizeError::DuplicateKey { .. })
    ));

    // Airlock form: same story.
    let signed = airlock("reject").to_string();
    let forged = format!("{},\"decision\":\"approve\"}}", &signed[..signed.len() - 1]);
    let value: Value = serde_json::from_str(&forged).unwrap();
    assert!(matches!(
        verify(&value),
        Err(DecisionError::SignatureInvalid)
    ));

    // The other order (relay puts its verdict first, the signed one last) reads the signed one.
    let signed = airlock("reject").to_string();
    let forged = format!("{{\"decision\":\"approve\",{}", &signed[1..]);
    let value: Value = serde_json::from_str(&forged).unwrap();
    assert_eq!(verify(&value).unwrap().verdict, Verdict::Reject);
}

#[test]
fn key_prefix_aliasing_never_maps_to_another_signer() {
    let phone = key();
    let tablet = Ed25519SigningKey::from_bytes([8; 32]);
    // Both spellings are trusted, for different keys.
    let signers = TrustedSigners::new()
        .with("key-a", phone.public_key())
        .with("a", tablet.public_key());

    // Signed by the tablet, but naming "key-a" (the phone): exact match wins, refused.
    let body = json!({
        "artifactHash": HASH, "decision": "approve", "signerKeyId": "key-a", "nonce": "n",
        "signature": sign_decision(&tablet, HASH, "approve", "n"),
    });
    assert!(matches!(
        verify_with(&body, &signers),
        Err(DecisionError::SignatureInvalid)
    ));
    // Signed by the phone, naming "a" (the tablet): refused.
    let body = json!({
        "artifactHash": HASH, "decision": "approve", "signerKeyId": "a", "nonce": "n",
        "signature": sign_decision(&phone, HASH, "approve", "n"),
    });
    assert!(matches!(
        verify_with(&body, &signers),
        Err(DecisionError::SignatureInvalid)
    ));
    // Case and look-alike spellings of the prefix do not alias.
    for id in [
        "KEY-phone",
        "Key-phone",
        "key_phone",
        "key-phone ",
        "phone-key",
    ] {
        let body = json!({
            "artifactHash": HASH, "decision": "approve", "signerKeyId": id, "nonce": "n",
            "signature": sign_decision(&phone, HASH, "approve", "n"),
        });
        assert!(
            matches!(verify(&body), Err(DecisionError::UnknownSigner { .. })),
            "{id:?}"
        );
    }
    // One `key-` is stripped (PROTOCOL.md: "with and without a `key-` prefix"), so
    // `key-key-phone` names `key-phone`: still that signer's key, and the same replay key.
    let journal = MemoryReplayJournal::new();
    let expected = ExpectedDecision::new(HASH, REQUEST);
    let mut body = json!({
        "artifactHash": HASH, "decision": "approve", "signerKeyId": "key-key-phone", "nonce": "n",
        "signature": sign_decision(&phone, HASH, "approve", "n"),
    });
    let trusted = self::signers();
    let verified = verify_decision(&body, &expected, &trusted, &journal, NOW).unwrap();
    assert_eq!(verified.signer_key_id, "key-phone");
    body["signerKeyId"] = json!("key-phone");
    let other = ExpectedDecision::new(HASH, "req-0002");
    let err = verify_decision(&body, &other, &trusted, &journal, NOW).unwrap_err();
    assert!(err.is_replay(), "{err:?}");
}

#[test]
fn retention_cannot_be_set_below_the_minimum() {
    let journal = MemoryReplayJournal::new();
    let mut expected = ExpectedDecision::new(HASH, REQUEST).with_min_retention(Duration::ZERO);
    // Even a field set directly (it is public) is raised to the minimum.
    expected.min_retention = -Duration::days(1);
    let body = airlock("approve");
    verify_decision(&body, &expected, &signers(), &journal, NOW).unwrap();
    let later = NOW + Duration::minutes(9) + Duration::seconds(59);
    let err = verify_decision(&body, &expected, &signers(), &journal, later).unwrap_err();
    assert!(err.is_replay(), "{err:?}");
}

/// A HARP-CORE decision may carry numbers (e.g. in `policyHints`); the approver signs their
/// RFC 8785 form. The enforcer sees a `serde_json::Value` parsed from the text: it must
/// canonicalize to the same bytes, which needs correctly rounded float parsing.
#[test]
fn harp_core_numbers_survive_the_value_round_trip() {
    let mut unsigned = harp_core_unsigned();
    unsigned["policyHints"] = json!({"ttl": 1});
    let text = unsigned.to_string().replace(
        "{\"ttl\":1}",
        "{\"ttl\":333333333.33333329,\"tiny\":5e-324,\"big\":1E+21,\"neg\":-0.0}",
    );
    // The approver signs the canonical form of its text.
    let canonical = jcs::canonicalize(text.as_bytes()).unwrap();
    let signature = key().sign(&canonical);
    let mut body: Value = serde_json::from_str(&text).unwrap();
    body["signature"] = json!(signature);
    let wire = body.to_string();
    let received: Value = serde_json::from_str(&wire).unwrap();
    verify(&received).unwrap();
}

/// From the raw text, a duplicate member is refused outright, even when the last copy is
/// the signed one (another reader could take the first).
#[test]
fn raw_text_with_duplicate_members_is_refused() {
    let expected = ExpectedDecision::new(HASH, REQUEST);
    let journal = MemoryReplayJournal::new();
    let signed = airlock("reject").to_string();
    let relay_first = format!("{{\"decision\":\"approve\",{}", &signed[1..]);
    let err = verify_decision_json(relay_first.as_bytes(), &expected, &signers(), &journal, NOW)
        .unwrap_err();
    assert!(
        matches!(
            &err,
            DecisionError::Canonicalization(jcs::CanonicalizeError::DuplicateKey { key, .. })
                if key == "decision"
        ),
        "{err:?}"
    );
    assert_eq!(
        err.harp_code(),
        airlock_types::HarpErrorCode::Canonicalization
    );
    // Other malformed texts.
    for text in [
        &b"{\"decision\":\"\\ud800\"}"[..],
        b"[1]x",
        b"\xff",
        b"{\"a\":1e400}",
    ] {
        assert!(matches!(
            verify_decision_json(text, &expected, &signers(), &journal, NOW),
            Err(DecisionError::Canonicalization(_))
        ));
    }
    assert!(matches!(
        verify_decision_json(b"[]", &expected, &signers(), &journal, NOW),
        Err(DecisionError::NotAnObject)
    ));
    let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
    assert!(matches!(
        verify_decision_json(deep.as_bytes(), &expected, &signers(), &journal, NOW),
        Err(DecisionError::Canonicalization(
            jcs::CanonicalizeError::TooDeep { .. }
        ))
    ));
    // The genuine text verifies, once.
    verify_decision_json(signed.as_bytes(), &expected, &signers(), &journal, NOW).unwrap();
    let again = verify_decision_json(signed.as_bytes(), &expected, &signers(), &journal, NOW);
    assert!(again.unwrap_err().is_replay());
}
