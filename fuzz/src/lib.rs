//! The bodies of the cargo-fuzz targets of airlock-rs: every parser that reads untrusted
//! bytes, with the properties each must keep on *any* input.
//!
//! | target | input | property |
//! |---|---|---|
//! | [`canonicalize`] | JSON text | no panic; output is canonical (idempotent) and is the value serde_json reads |
//! | [`response_parsers`] | JSON text | no panic in any response type's reader; what is read writes back stably |
//! | [`pairing_response`] | `responseJson` text, or edits of a signed one | no panic; accepted only with the signed keys |
//! | [`decision`] | `decision.deliver` body, or edits of signed ones (both forms) | no panic; accepted only as signed |
//! | [`aes_gcm_open`] | payload wire form, raw fields, or edits of a sealed one | no panic; opens only to the sealed plaintext |
//!
//! The first byte of the structured targets picks a mode (raw input, or edits of a valid
//! signed/sealed fixture, see [`mutate`]), so the fuzzer explores both garbage and
//! near-valid inputs. A violated property panics: that is the crash the fuzzer reports.

use std::sync::OnceLock;

use airlock_crypto::{
    ArtifactHash, E2eKey, Ed25519SigningKey, ExpectedDecision, MemoryReplayJournal, TrustedSigners,
    X25519SecretKey, jcs, sign_decision, sign_decision_harp_core, sign_pairing_response,
    verify_decision, verify_pairing_response,
};
use airlock_types as t;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Applies `edits` to `base`, four bytes per edit: `[op, pos_hi, pos_lo, byte]` where `op`
/// overwrites, inserts, deletes or flips one bit at `pos` (modulo the length).
#[must_use]
pub fn mutate(base: &[u8], edits: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    for chunk in edits.chunks_exact(4) {
        let (op, byte) = (chunk[0], chunk[3]);
        let pos = usize::from(u16::from_be_bytes([chunk[1], chunk[2]]));
        match op % 4 {
            1 => {
                let at = pos % (out.len() + 1);
                out.insert(at, byte);
            }
            _ if out.is_empty() => {}
            0 => {
                let at = pos % out.len();
                out[at] = byte;
            }
            2 => {
                let at = pos % out.len();
                out.remove(at);
            }
            _ => {
                let at = pos % out.len();
                out[at] ^= 1 << (byte % 8);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Canonicalization

/// RFC 8785 canonicalization of arbitrary bytes: never panics; whatever it accepts
/// canonicalizes to itself again (idempotence), and is the same value serde_json reads
/// from the input (canonicalizing that value gives the same bytes).
pub fn canonicalize(data: &[u8]) {
    let Ok(canonical) = jcs::canonicalize(data) else {
        return;
    };
    let again = jcs::canonicalize(&canonical).expect("canonical output must be valid input");
    assert_eq!(again, canonical, "canonicalization must be idempotent");
    if let Ok(s) = std::str::from_utf8(data) {
        let from_str = jcs::canonicalize_str(s).expect("&str and bytes must agree");
        assert_eq!(from_str.as_bytes(), canonical.as_slice());
    }
    // serde_json (last duplicate wins, depth limit 128) may refuse what we accept, never
    // read another value from it.
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let from_value = jcs::canonicalize_value(&value)
            .expect("a value serde_json read from accepted text must canonicalize");
        assert_eq!(
            String::from_utf8_lossy(&from_value),
            String::from_utf8_lossy(&canonical),
            "text and serde_json::Value must canonicalize alike"
        );
        bound(data, value);
    }
}

/// `canonicalize_with_member` (how a plaintext is bound to its request) against the
/// `Value` path with the member inserted by hand.
fn bound(data: &[u8], value: Value) {
    const NAME: &str = "requestId";
    const ID: &str = "req-fuzz";
    let result = jcs::Canonicalizer::new().canonicalize_with_member(data, NAME, ID);
    let Value::Object(mut object) = value else {
        assert_eq!(result, Err(jcs::CanonicalizeError::NotAnObject));
        return;
    };
    match object.get(NAME) {
        Some(Value::String(id)) if id == ID => {}
        Some(_) => {
            assert!(
                matches!(result, Err(jcs::CanonicalizeError::MemberMismatch { .. })),
                "another {NAME} must be refused: {result:?}"
            );
            return;
        }
        None => {
            object.insert(NAME.to_owned(), Value::String(ID.to_owned()));
        }
    }
    let expected = jcs::canonicalize_value(&Value::Object(object)).expect("valid value");
    assert_eq!(
        String::from_utf8_lossy(&result.expect("an object with the member or without it")),
        String::from_utf8_lossy(&expected),
        "binding must equal inserting the member"
    );
}

// ---------------------------------------------------------------------------------------
// Response parsers

/// Reads `data` as `T`; if that works, what we write must read back and write the same.
fn parses<T: DeserializeOwned + Serialize>(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let written = serde_json::to_vec(&value).expect("a parsed message must serialize");
    let again: T = serde_json::from_slice(&written).unwrap_or_else(|e| {
        panic!(
            "{}: what we write must read back: {e}\n{}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(&written)
        )
    });
    let rewritten = serde_json::to_vec(&again).expect("serialize again");
    assert_eq!(
        String::from_utf8_lossy(&written),
        String::from_utf8_lossy(&rewritten),
        "{}: writing must be stable",
        std::any::type_name::<T>()
    );
}

/// Every response type of `airlock-types` (gateway, approver side, OAuth/OIDC, errors)
/// over the same bytes.
pub fn response_parsers(data: &[u8]) {
    parses::<t::EchoResponse>(data);
    parses::<t::IntegrationsDiscovery>(data);
    parses::<t::ConsentStatusResponse>(data);
    parses::<t::Envelope<t::ArtifactAcceptedBody>>(data);
    parses::<t::Envelope<t::ExchangeStatusBody>>(data);
    parses::<t::Envelope<t::DecisionBody>>(data);
    parses::<t::Envelope<t::ExchangeWithdrawnBody>>(data);
    parses::<t::Envelope<t::DecisionAcceptedBody>>(data);
    parses::<t::Envelope<Value>>(data);
    parses::<t::DecisionBody>(data);
    parses::<t::PairingInitiateResponse>(data);
    parses::<t::PairingClaimResponse>(data);
    parses::<t::PairingStatusResponse>(data);
    parses::<t::PairingRevokeResponse>(data);
    parses::<t::PairingResolveResponse>(data);
    parses::<t::PairingCompleteResponse>(data);
    parses::<t::PairingPreGenerateResponse>(data);
    parses::<t::PairingResponseDocument>(data);
    parses::<t::InboxResponse>(data);
    parses::<t::DndPoliciesResponse>(data);
    parses::<t::ErrorEnvelope>(data);
    parses::<t::FlatError>(data);
    parses::<t::EncryptedPayload>(data);
    parses::<t::OidcDiscovery>(data);
    parses::<t::DeviceAuthorizationResponse>(data);
    parses::<t::TokenResponse>(data);
    parses::<t::OAuthErrorResponse>(data);
}

// ---------------------------------------------------------------------------------------
// Signed and sealed fixtures

const SIGNER: &str = "key-fuzz";
const PAIRING_NONCE: &str = "pn-fuzz";
const DECISION_NONCE: &str = "bm9uY2UtMDAx";
const REQUEST_ID: &str = "req-fuzz";
const PLAINTEXT: &[u8] = br#"{"actionType":"command","commandText":"rm -rf build/"}"#;
/// 2030-01-01T00:00:00Z: the verification clock (the HARP-CORE decision expires 5 min later).
const NOW_UNIX: i64 = 1_893_456_000;

struct Fixtures {
    signing_public: [u8; 32],
    x25519_public: [u8; 32],
    pairing_json: String,
    artifact_hash: ArtifactHash,
    signers: TrustedSigners,
    airlock_decision: Vec<u8>,
    harp_core_decision: Vec<u8>,
    key: E2eKey,
    sealed: Vec<u8>,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let signing = Ed25519SigningKey::from_bytes([0x11; 32]);
        let x25519 = X25519SecretKey::from_bytes([0x22; 32]).public_key();
        let pairing_json = sign_pairing_response(
            &signing,
            SIGNER,
            PAIRING_NONCE,
            "2029-12-31T23:59:00Z",
            Some(&x25519),
        );
        let (_, artifact_hash) = ArtifactHash::of_json(PLAINTEXT).expect("fixture artifact");
        let signers = TrustedSigners::new().with(SIGNER, signing.public_key());
        let airlock = json!({
            "artifactHash": artifact_hash.as_str(),
            "decision": "approve",
            "reason": "looks fine",
            "signerKeyId": SIGNER,
            "nonce": DECISION_NONCE,
            "signature": sign_decision(&signing, artifact_hash.as_str(), "approve", DECISION_NONCE),
        });
        let mut harp = json!({
            "artifactHash": artifact_hash.as_str(),
            "artifactHashAlg": "SHA-256",
            "decision": "approve",
            "expiresAt": "2030-01-01T00:05:00Z",
            "nonce": DECISION_NONCE,
            "repoRef": "repo:acme/widgets",
            "requestId": REQUEST_ID,
            "scope": "once",
            "sigAlg": "Ed25519",
            "signerKeyId": SIGNER,
        });
        let signature = sign_decision_harp_core(&signing, &harp).expect("fixture decision");
        harp["signature"] = Value::String(signature);
        let key = E2eKey::from_bytes([0x33; 32]);
        let sealed = serde_json::to_vec(&key.seal(PLAINTEXT)).expect("fixture payload");
        Fixtures {
            signing_public: signing.public_key().to_bytes(),
            x25519_public: x25519.to_bytes(),
            pairing_json,
            artifact_hash,
            signers,
            airlock_decision: serde_json::to_vec(&airlock).expect("fixture"),
            harp_core_decision: serde_json::to_vec(&harp).expect("fixture"),
            key,
            sealed,
        }
    })
}

/// The valid fixtures, for seeding corpora: (target, file name, bytes).
#[must_use]
pub fn fixture_seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let f = fixtures();
    let raw = |bytes: &[u8]| [&[0u8][..], bytes].concat();
    vec![
        ("pairing_response", "signed", raw(f.pairing_json.as_bytes())),
        ("decision", "airlock-form", raw(&f.airlock_decision)),
        ("decision", "harp-core-form", raw(&f.harp_core_decision)),
        ("aes_gcm_open", "sealed", raw(&f.sealed)),
    ]
}

// ---------------------------------------------------------------------------------------
// Pairing-response verification

/// Pairing `responseJson` verification: mode 0 reads the rest as the document, mode 1
/// edits the signed fixture. Never panics; an accepted document carries exactly the
/// signed signer id and keys.
pub fn pairing_response(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixtures();
    let text = match mode % 2 {
        0 => rest.to_vec(),
        _ => mutate(f.pairing_json.as_bytes(), rest),
    };
    let text = String::from_utf8_lossy(&text);
    if let Ok(approver) = verify_pairing_response(&text, PAIRING_NONCE) {
        assert_eq!(
            approver.signer_key_id, SIGNER,
            "accepted a changed signer id"
        );
        assert_eq!(
            approver.signing_key.to_bytes(),
            f.signing_public,
            "accepted another signing key"
        );
        assert_eq!(
            approver.x25519_public_key.map(|k| k.to_bytes()),
            Some(f.x25519_public),
            "accepted another X25519 key"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Decision verification

/// Decision verification: mode 0 reads the rest as the `decision.deliver` body, mode 1
/// edits the signed Airlock-form fixture, mode 2 the signed HARP-CORE one. Never panics;
/// an accepted decision is the signed one (verdict, signer, nonce, hash, request, scope).
pub fn decision(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixtures();
    let text = match mode % 3 {
        0 => rest.to_vec(),
        1 => mutate(&f.airlock_decision, rest),
        _ => mutate(&f.harp_core_decision, rest),
    };
    let Ok(body) = serde_json::from_slice::<Value>(&text) else {
        return;
    };
    let expected = ExpectedDecision::new(f.artifact_hash.as_str(), REQUEST_ID);
    let journal = MemoryReplayJournal::new();
    let now = time::OffsetDateTime::from_unix_timestamp(NOW_UNIX).expect("fixed clock");
    if let Ok(decision) = verify_decision(&body, &expected, &f.signers, &journal, now) {
        assert!(decision.is_approved(), "accepted a changed verdict");
        assert_eq!(decision.signer_key_id, SIGNER);
        assert_eq!(decision.nonce, DECISION_NONCE, "accepted a changed nonce");
        assert!(
            f.artifact_hash.matches(&decision.artifact_hash),
            "accepted another artifact hash"
        );
        if let Some(request_id) = &decision.request_id {
            assert_eq!(request_id, REQUEST_ID);
        }
        if let Some(scope) = &decision.scope {
            assert_eq!(scope, "once");
        }
        // Verified once: the same body again is a replay.
        assert!(
            verify_decision(&body, &expected, &f.signers, &journal, now).is_err(),
            "a decision verified twice"
        );
    }
}

// ---------------------------------------------------------------------------------------
// AES-GCM wire form

/// `E2eKey::open` on arbitrary payloads: mode 0 reads the rest as the JSON wire form,
/// mode 1 builds one from raw bytes (nonce ‖ tag ‖ data, standard base64), mode 2 edits
/// the sealed fixture. Never panics; anything that opens is the sealed plaintext.
pub fn aes_gcm_open(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixtures();
    let wire = match mode % 3 {
        0 => rest.to_vec(),
        1 => {
            let (nonce, more) = rest.split_at(rest.len().min(12));
            let (tag, ciphertext) = more.split_at(more.len().min(16));
            let mut payload = json!({
                "alg": "AES-256-GCM",
                "data": STANDARD.encode(ciphertext),
                "nonce": STANDARD.encode(nonce),
            });
            // An empty tag: the tag-appended-to-data form.
            if !tag.is_empty() {
                payload["tag"] = Value::String(STANDARD.encode(tag));
            }
            serde_json::to_vec(&payload).expect("serialize")
        }
        _ => mutate(&f.sealed, rest),
    };
    let Ok(payload) = serde_json::from_slice::<t::EncryptedPayload>(&wire) else {
        return;
    };
    if let Ok(plaintext) = f.key.open(&payload) {
        assert_eq!(&plaintext[..], PLAINTEXT, "opened to another plaintext");
    }
}

/// Whether the verifier accepts a [`fixture_seeds`] input as it is (the seeds' check).
#[must_use]
pub fn fixture_is_accepted(target: &str, seed: &[u8]) -> bool {
    let f = fixtures();
    let Some((_, rest)) = seed.split_first() else {
        return false;
    };
    let now = time::OffsetDateTime::from_unix_timestamp(NOW_UNIX).expect("fixed clock");
    match target {
        "pairing_response" => std::str::from_utf8(rest)
            .is_ok_and(|text| verify_pairing_response(text, PAIRING_NONCE).is_ok()),
        "decision" => serde_json::from_slice::<Value>(rest).is_ok_and(|body| {
            let expected = ExpectedDecision::new(f.artifact_hash.as_str(), REQUEST_ID);
            verify_decision(
                &body,
                &expected,
                &f.signers,
                &MemoryReplayJournal::new(),
                now,
            )
            .is_ok()
        }),
        "aes_gcm_open" => serde_json::from_slice::<t::EncryptedPayload>(rest)
            .is_ok_and(|payload| f.key.open(&payload).is_ok_and(|p| &p[..] == PLAINTEXT)),
        _ => false,
    }
}
