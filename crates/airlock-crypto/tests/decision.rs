//! Decision verification in both signature forms, and replay protection.

use airlock_crypto::{
    DecisionError, Ed25519SigningKey, ExpectedDecision, FileReplayJournal, MemoryReplayJournal,
    ReplayError, ReplayJournal, ReplayKey, SignatureForm, TrustedSigners, Verdict, sign_decision,
    sign_decision_harp_core, verify_decision,
};
use airlock_types::HarpErrorCode;
use proptest::prelude::*;
use std::sync::LazyLock;

use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const HASH: &str = "8e326e1f69e5859a3b5b12965f06b5829f09b12d1748aa2fddb609fb44f831c1";
const REQUEST: &str = "req-0001";
const NOW: OffsetDateTime = datetime!(2026-02-24 10:00:00 UTC);

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

static APPROVER: LazyLock<Ed25519SigningKey> =
    LazyLock::new(|| Ed25519SigningKey::from_bytes([7; 32]));
static SIGNERS: LazyLock<TrustedSigners> =
    LazyLock::new(|| TrustedSigners::new().with("key-phone", APPROVER.public_key()));

fn approver() -> &'static Ed25519SigningKey {
    &APPROVER
}

fn signers() -> TrustedSigners {
    SIGNERS.clone()
}

fn expected() -> ExpectedDecision {
    ExpectedDecision::new(HASH, REQUEST)
}

fn airlock_body(decision: &str, nonce: &str) -> Value {
    json!({
        "artifactHash": HASH,
        "decision": decision,
        "reason": "looks fine",
        "signerKeyId": "key-phone",
        "nonce": nonce,
        "signature": sign_decision(approver(), HASH, decision, nonce),
    })
}

fn harp_body(decision: &str, nonce: &str) -> Value {
    let mut body = json!({
        "requestId": REQUEST,
        "artifactHashAlg": "SHA-256",
        "artifactHash": HASH,
        "repoRef": "repo:acme/widgets",
        "decision": decision,
        "scope": "once",
        "expiresAt": "2026-02-24T10:05:00Z",
        "nonce": nonce,
        "sigAlg": "Ed25519",
        "signerKeyId": "key-phone",
        "policyHints": {"note": "unknown fields are signed too"},
    });
    body["signature"] = Value::String(sign_decision_harp_core(approver(), &body).unwrap());
    body
}

fn verify(body: &Value) -> Result<airlock_crypto::VerifiedDecision, DecisionError> {
    verify_decision(
        body,
        &expected(),
        &signers(),
        &MemoryReplayJournal::new(),
        NOW,
    )
}

#[test]
fn airlock_form_verifies() {
    let decision = verify(&airlock_body("approve", "n-1")).unwrap();
    assert_eq!(decision.verdict, Verdict::Approve);
    assert!(decision.is_approved());
    assert_eq!(decision.form, SignatureForm::Airlock);
    assert_eq!(decision.reason.as_deref(), Some("looks fine"));
    assert_eq!(decision.signer_key_id, "key-phone");
    assert_eq!(decision.nonce, "n-1");
    assert_eq!(decision.artifact_hash, HASH);
    assert_eq!(decision.request_id, None);

    let decision = verify(&airlock_body("reject", "n-2")).unwrap();
    assert_eq!(decision.verdict, Verdict::Reject);
    assert!(!decision.is_approved());

    // Case-insensitive values, verified over the string as sent.
    assert!(
        verify(&airlock_body("APPROVE", "n-3"))
            .unwrap()
            .is_approved()
    );
}

#[test]
fn airlock_signature_is_over_pipe_joined_wire_fields() {
    let key = approver();
    let message = format!("sha256:{HASH}|Approve|n-9");
    let body = json!({
        "artifactHash": format!("sha256:{HASH}"), "decision": "Approve", "signerKeyId": "key-phone",
        "nonce": "n-9", "signature": key.sign(message.as_bytes()),
    });
    assert!(verify(&body).unwrap().is_approved());
}

#[test]
fn harp_core_form_verifies() {
    let decision = verify(&harp_body("allow", "hn-1")).unwrap();
    assert!(decision.is_approved());
    assert_eq!(decision.form, SignatureForm::HarpCore);
    assert_eq!(decision.request_id.as_deref(), Some(REQUEST));
    assert_eq!(decision.scope.as_deref(), Some("once"));
    assert_eq!(
        decision.expires_at,
        Some(datetime!(2026-02-24 10:05:00 UTC))
    );
    assert_eq!(
        verify(&harp_body("deny", "hn-2")).unwrap().verdict,
        Verdict::Reject
    );
}

#[test]
fn signer_lookup_tolerates_key_prefix() {
    let body = airlock_body("approve", "n-1");
    let bare = TrustedSigners::new().with("phone", approver().public_key());
    let d = verify_decision(&body, &expected(), &bare, &MemoryReplayJournal::new(), NOW).unwrap();
    assert_eq!(d.signer_key_id, "phone");

    let mut body = json!({
        "artifactHash": HASH, "decision": "approve", "signerKeyId": "phone", "nonce": "n-2",
        "signature": sign_decision(approver(), HASH, "approve", "n-2"),
    });
    let d = verify(&body).unwrap();
    assert_eq!(d.signer_key_id, "key-phone");

    body["signerKeyId"] = Value::String("tablet".into());
    let err = verify(&body).unwrap_err();
    assert!(
        matches!(err, DecisionError::UnknownSigner { .. }),
        "{err:?}"
    );
    assert_eq!(err.harp_code(), HarpErrorCode::SignatureInvalid);
}

#[test]
fn typed_errors_and_harp_codes() {
    type Case = (Value, fn(&DecisionError) -> bool, HarpErrorCode);
    let cases: Vec<Case> = vec![
        (
            json!([1]),
            |e| matches!(e, DecisionError::NotAnObject),
            HarpErrorCode::Unsupported,
        ),
        (
            {
                let mut b = airlock_body("approve", "n");
                b.as_object_mut().unwrap().remove("nonce");
                b
            },
            |e| matches!(e, DecisionError::MalformedField { field: "nonce", .. }),
            HarpErrorCode::Unsupported,
        ),
        (
            {
                let mut b = airlock_body("approve", "n");
                b["reason"] = json!(5);
                b
            },
            |e| {
                matches!(
                    e,
                    DecisionError::MalformedField {
                        field: "reason",
                        ..
                    }
                )
            },
            HarpErrorCode::Unsupported,
        ),
        (
            airlock_body("maybe", "n"),
            |e| matches!(e, DecisionError::UnknownDecision { .. }),
            HarpErrorCode::Unsupported,
        ),
        (
            {
                let mut b = airlock_body("approve", "n");
                b["artifactHash"] = json!("ab".repeat(32));
                b
            },
            |e| matches!(e, DecisionError::HashMismatch { .. }),
            HarpErrorCode::HashMismatch,
        ),
        (
            {
                let mut b = airlock_body("approve", "n");
                b["signature"] = json!("***");
                b
            },
            |e| matches!(e, DecisionError::BadSignatureEncoding(_)),
            HarpErrorCode::SignatureInvalid,
        ),
        (
            {
                let mut b = airlock_body("approve", "n");
                b["signature"] = json!("AAAA");
                b
            },
            |e| matches!(e, DecisionError::BadSignatureEncoding(_)),
            HarpErrorCode::SignatureInvalid,
        ),
        (
            {
                let mut b = airlock_body("approve", "n");
                b["nonce"] = json!("m");
                b
            },
            |e| matches!(e, DecisionError::SignatureInvalid),
            HarpErrorCode::SignatureInvalid,
        ),
        (
            {
                let mut b = harp_body("allow", "n");
                b["sigAlg"] = json!("ES256");
                b
            },
            |e| {
                matches!(
                    e,
                    DecisionError::Unsupported {
                        field: "sigAlg",
                        ..
                    }
                )
            },
            HarpErrorCode::Unsupported,
        ),
        (
            {
                let mut b = airlock_body("approve", "n");
                b["requestId"] = json!("req-other");
                b
            },
            |e| matches!(e, DecisionError::RequestIdMismatch { .. }),
            HarpErrorCode::Scope,
        ),
        (
            {
                let mut b = harp_body("allow", "n");
                b["expiresAt"] = json!("2026-02-24T09:58:59Z");
                b["signature"] = json!(resign(&b));
                b
            },
            |e| matches!(e, DecisionError::Expired { .. }),
            HarpErrorCode::Expired,
        ),
        (
            {
                let mut b = harp_body("allow", "n");
                b["expiresAt"] = json!("tomorrow");
                b["signature"] = json!(resign(&b));
                b
            },
            |e| {
                matches!(
                    e,
                    DecisionError::MalformedField {
                        field: "expiresAt",
                        ..
                    }
                )
            },
            HarpErrorCode::Unsupported,
        ),
        (
            {
                let mut b = harp_body("allow", "n");
                b["artifactHashAlg"] = json!("SHA-1");
                b["signature"] = json!(resign(&b));
                b
            },
            |e| {
                matches!(
                    e,
                    DecisionError::Unsupported {
                        field: "artifactHashAlg",
                        ..
                    }
                )
            },
            HarpErrorCode::Unsupported,
        ),
        (
            {
                let mut b = harp_body("allow", "n");
                b["scope"] = json!("forever");
                b["signature"] = json!(resign(&b));
                b
            },
            |e| matches!(e, DecisionError::ScopeNotSatisfied { .. }),
            HarpErrorCode::Scope,
        ),
        (
            {
                let mut b = harp_body("allow", "n");
                b["scope"] = json!("session");
                b["signature"] = json!(resign(&b));
                b
            },
            |e| matches!(e, DecisionError::ScopeNotSatisfied { .. }),
            HarpErrorCode::Scope,
        ),
        (
            {
                let mut b = harp_body("allow", "n");
                b.as_object_mut().unwrap().remove("requestId");
                b["signature"] = json!(resign(&b));
                b
            },
            |e| {
                matches!(
                    e,
                    DecisionError::MalformedField {
                        field: "requestId",
                        ..
                    }
                )
            },
            HarpErrorCode::Unsupported,
        ),
        (
            {
                let mut b = harp_body("allow", "n");
                b["requestId"] = json!("req-other");
                b["signature"] = json!(resign(&b));
                b
            },
            |e| matches!(e, DecisionError::RequestIdMismatch { .. }),
            HarpErrorCode::Scope,
        ),
        (
            {
                let mut b = harp_body("allow", "n");
                b["added"] = json!(1);
                b
            },
            |e| matches!(e, DecisionError::SignatureInvalid),
            HarpErrorCode::SignatureInvalid,
        ),
    ];
    for (i, (body, check, code)) in cases.into_iter().enumerate() {
        let err = verify(&body).unwrap_err();
        assert!(check(&err), "case {i}: {err:?}");
        assert_eq!(err.harp_code(), code, "case {i}: {err:?}");
        assert!(!err.to_string().is_empty());
    }
}

fn resign(body: &Value) -> String {
    sign_decision_harp_core(approver(), body).unwrap()
}

#[test]
fn session_scope_needs_the_expected_session() {
    let mut body = harp_body("allow", "s-1");
    body["scope"] = json!("session");
    body["policyHints"] = json!({"sessionId": "sess-1"});
    body["signature"] = json!(resign(&body));
    let in_session = expected().with_session_id("sess-1");
    let d = verify_decision(
        &body,
        &in_session,
        &signers(),
        &MemoryReplayJournal::new(),
        NOW,
    )
    .unwrap();
    assert_eq!(d.scope.as_deref(), Some("session"));

    let other = expected().with_session_id("sess-2");
    let err =
        verify_decision(&body, &other, &signers(), &MemoryReplayJournal::new(), NOW).unwrap_err();
    assert!(
        matches!(err, DecisionError::ScopeNotSatisfied { .. }),
        "{err:?}"
    );
    let err = verify(&body).unwrap_err();
    assert!(
        matches!(err, DecisionError::ScopeNotSatisfied { .. }),
        "{err:?}"
    );
}

#[test]
fn replays_are_refused_by_nonce_and_by_request_and_hash() {
    let journal = MemoryReplayJournal::new();
    let body = airlock_body("approve", "n-1");
    verify_decision(&body, &expected(), &signers(), &journal, NOW).unwrap();

    // The same decision again.
    let err = verify_decision(&body, &expected(), &signers(), &journal, NOW).unwrap_err();
    assert!(err.is_replay(), "{err:?}");
    assert_eq!(err.harp_code(), HarpErrorCode::Replay);

    // Another nonce, same (requestId, artifactHash): still a replay.
    let err = verify_decision(
        &airlock_body("approve", "n-2"),
        &expected(),
        &signers(),
        &journal,
        NOW,
    )
    .unwrap_err();
    assert!(
        matches!(&err, DecisionError::Replay { key } if *key == ReplayKey::request_artifact(REQUEST, HASH)),
        "{err:?}"
    );

    // Same nonce under the other spelling of the signer id, for another request: replay.
    let mut aliased = airlock_body("approve", "n-1");
    aliased["signerKeyId"] = json!("phone");
    let other_request = ExpectedDecision::new(HASH, "req-0002");
    let err = verify_decision(&aliased, &other_request, &signers(), &journal, NOW).unwrap_err();
    assert!(
        matches!(&err, DecisionError::Replay { key } if *key == ReplayKey::signer_nonce("key-phone", "n-1")),
        "{err:?}"
    );

    // A `sha256:` prefix does not make the same artifact look new.
    let prefixed = ExpectedDecision::new(format!("sha256:{HASH}"), REQUEST);
    let err = verify_decision(
        &airlock_body("approve", "n-3"),
        &prefixed,
        &signers(),
        &journal,
        NOW,
    )
    .unwrap_err();
    assert!(err.is_replay(), "{err:?}");

    // After the retention window (10 minutes) the journal has forgotten them.
    let later = NOW + Duration::minutes(10);
    verify_decision(&body, &expected(), &signers(), &journal, later).unwrap();
}

#[test]
fn retention_covers_the_decision_expiry_and_skew() {
    let journal = MemoryReplayJournal::new();
    let mut body = harp_body("allow", "long-1");
    body["expiresAt"] = json!("2026-02-24T11:00:00Z");
    body["signature"] = json!(resign(&body));
    verify_decision(&body, &expected(), &signers(), &journal, NOW).unwrap();
    // Half an hour later the decision is still valid, so it must still be remembered.
    let err = verify_decision(
        &body,
        &expected(),
        &signers(),
        &journal,
        NOW + Duration::minutes(30),
    )
    .unwrap_err();
    assert!(err.is_replay(), "{err:?}");
    // Just before expiry + skew: still remembered.
    let err = verify_decision(
        &body,
        &expected(),
        &signers(),
        &journal,
        datetime!(2026-02-24 11:00:59 UTC),
    )
    .unwrap_err();
    assert!(err.is_replay(), "{err:?}");

    // A caller may ask for longer retention, never shorter.
    let e = expected().with_min_retention(Duration::minutes(1));
    assert_eq!(e.min_retention, Duration::minutes(10));
}

#[test]
fn far_future_expiry_does_not_overflow() {
    let mut body = harp_body("allow", "far-1");
    body["expiresAt"] = json!("9999-12-31T23:59:59Z");
    body["signature"] = json!(resign(&body));
    let journal = MemoryReplayJournal::new();
    verify_decision(&body, &expected(), &signers(), &journal, NOW).unwrap();
    let huge = expected().with_min_retention(Duration::MAX);
    let err = verify_decision(&body, &huge, &signers(), &journal, NOW).unwrap_err();
    assert!(err.is_replay(), "{err:?}");
}

#[test]
fn forged_decisions_do_not_burn_nonces() {
    let journal = MemoryReplayJournal::new();
    let mut forged = airlock_body("approve", "n-1");
    forged["signature"] = json!(Ed25519SigningKey::generate().sign(b"whatever"));
    assert!(matches!(
        verify_decision(&forged, &expected(), &signers(), &journal, NOW),
        Err(DecisionError::SignatureInvalid)
    ));
    assert!(journal.is_empty());
    verify_decision(
        &airlock_body("approve", "n-1"),
        &expected(),
        &signers(),
        &journal,
        NOW,
    )
    .unwrap();
}

/// A journal whose storage always fails.
#[derive(Debug)]
struct BrokenJournal;

impl ReplayJournal for BrokenJournal {
    fn check_and_record(
        &self,
        _: &[ReplayKey],
        _: OffsetDateTime,
        _: OffsetDateTime,
    ) -> Result<(), ReplayError> {
        Err(ReplayError::Io {
            path: "/nowhere".into(),
            source: std::io::Error::other("disk full"),
        })
    }
}

#[test]
fn journal_failure_blocks_the_decision() {
    let err = verify_decision(
        &airlock_body("approve", "n"),
        &expected(),
        &signers(),
        &BrokenJournal,
        NOW,
    )
    .unwrap_err();
    assert!(
        matches!(err, DecisionError::Journal(ReplayError::Io { .. })),
        "{err:?}"
    );
    assert_eq!(err.harp_code(), HarpErrorCode::Replay);
}

#[test]
fn replay_is_refused_across_a_restart_with_a_file_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replay.json");
    let body = harp_body("allow", "n-1");
    {
        let journal = FileReplayJournal::open(&path).unwrap();
        verify_decision(&body, &expected(), &signers(), &journal, NOW).unwrap();
    }
    let journal = FileReplayJournal::open(&path).unwrap();
    let err = verify_decision(&body, &expected(), &signers(), &journal, NOW).unwrap_err();
    assert!(err.is_replay(), "{err:?}");
}

#[test]
fn error_is_send_sync_and_small() {
    fn check<T: std::error::Error + Send + Sync + 'static>() {}
    check::<DecisionError>();
    check::<ReplayError>();
    assert!(
        std::mem::size_of::<DecisionError>() <= 64,
        "{}",
        std::mem::size_of::<DecisionError>()
    );
}

#[test]
fn harp_core_signer_refuses_non_objects() {
    assert!(matches!(
        sign_decision_harp_core(approver(), &json!("x")),
        Err(DecisionError::NotAnObject)
    ));
}

/// Changes one field of a body: a different string, or a different type.
fn mutate(body: &mut Value, field: &str, suffix: &str, to_number: bool) {
    let obj = body.as_object_mut().unwrap();
    let new = if to_number {
        json!(42)
    } else {
        match &obj[field] {
            Value::String(s) => Value::String(format!("{s}{suffix}")),
            other => json!({"was": other.clone(), "x": suffix}),
        }
    };
    obj.insert(field.to_owned(), new);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn any_change_to_any_signed_field_is_refused(
        harp in any::<bool>(),
        approve in any::<bool>(),
        nonce in "[a-zA-Z0-9_-]{1,32}",
        field_index in any::<prop::sample::Index>(),
        suffix in "[a-zA-Z0-9|]{1,8}",
        to_number in any::<bool>(),
    ) {
        let (body, signed_fields): (Value, &[&str]) = if harp {
            let body = harp_body(if approve { "allow" } else { "deny" }, &nonce);
            (body, &["requestId", "artifactHashAlg", "artifactHash", "repoRef", "decision", "scope",
                     "expiresAt", "nonce", "sigAlg", "signerKeyId", "policyHints", "signature"])
        } else {
            (airlock_body(if approve { "approve" } else { "reject" }, &nonce),
             // signerKeyId only selects the key in this form: see signer_lookup_tolerates_key_prefix.
             &["artifactHash", "decision", "nonce", "signature"])
        };
        prop_assert!(verify(&body).is_ok());

        let field = *field_index.get(signed_fields);
        let mut changed = body.clone();
        mutate(&mut changed, field, &suffix, to_number);
        // Follow the change where the caller's expectations would, so the signature is
        // what has to refuse it.
        let mut expected = expected();
        if field == "artifactHash" && !to_number {
            expected.artifact_hash = changed[field].as_str().unwrap().to_owned();
        }
        if field == "requestId" && !to_number {
            expected.request_id = changed[field].as_str().unwrap().to_owned();
        }
        let mut signers = signers();
        if field == "signerKeyId" && !to_number {
            signers.insert(changed[field].as_str().unwrap(), approver().public_key());
        }
        let result = verify_decision(&changed, &expected, &signers, &MemoryReplayJournal::new(), NOW);
        prop_assert!(result.is_err(), "{} changed: {:?}", field, result);
    }

    #[test]
    fn a_replayed_decision_is_refused(
        harp in any::<bool>(),
        nonce in "[a-zA-Z0-9_-]{1,32}",
        other_nonce in "[a-zA-Z0-9_-]{1,32}",
        minutes in 0i64..10,
    ) {
        let make = |n: &str| if harp { harp_body("allow", n) } else { airlock_body("approve", n) };
        let journal = MemoryReplayJournal::new();
        verify_decision(&make(&nonce), &expected(), &signers(), &journal, NOW).unwrap();
        let later = NOW + Duration::seconds(minutes * 60 + 5).min(Duration::minutes(6));
        // Same nonce (so also same requestId + hash).
        let err = verify_decision(&make(&nonce), &expected(), &signers(), &journal, later).unwrap_err();
        prop_assert!(err.is_replay());
        // Fresh nonce, same requestId + hash.
        let err = verify_decision(&make(&other_nonce), &expected(), &signers(), &journal, later).unwrap_err();
        prop_assert!(err.is_replay());
        // Same nonce for another request.
        let other = ExpectedDecision::new(HASH, "req-other");
        let mut body = make(&nonce);
        if harp {
            body["requestId"] = json!("req-other");
            body["signature"] = json!(resign(&body));
        }
        let err = verify_decision(&body, &other, &signers(), &journal, later).unwrap_err();
        prop_assert!(err.is_replay());
    }
}
