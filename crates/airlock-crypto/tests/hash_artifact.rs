//! Artifact hash: the HARP-CORE vector, parsing, normalization and serde.

use airlock_crypto::hash::{ArtifactHash, ParseArtifactHashError};
use airlock_crypto::jcs::{self, CanonicalizeError};

const HARP_ARTIFACT: &str = r#"{"requestId":"01J2V8V3K6B2Z9X6G1V7Y2QK8H","sessionId":"01J2V8V3M2YF0KX9Q0Z7E6H9R1","artifactType":"plan.review","repoRef":"repo:acme/widgets","baseRevision":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","createdAt":"2026-02-21T12:00:00Z","expiresAt":"2026-02-21T12:10:00Z","payload":{"kind":"plan","title":"Refactor Parser","steps":["Extract tokenizer","Add unit tests","Replace recursive descent with Pratt parser"],"risk":"medium"},"artifactHashAlg":"SHA-256"}"#;
const HARP_HASH: &str = "8e326e1f69e5859a3b5b12965f06b5829f09b12d1748aa2fddb609fb44f831c1";

#[test]
fn harp_core_artifact_hash() {
    let (canonical, hash) = ArtifactHash::of_json(HARP_ARTIFACT.as_bytes()).expect("artifact");
    assert_eq!(hash.as_str(), HARP_HASH);
    assert_eq!(hash.to_string(), HARP_HASH);
    assert_eq!(
        canonical,
        jcs::canonicalize(HARP_ARTIFACT.as_bytes()).expect("canonical")
    );
    assert_eq!(ArtifactHash::of_canonical(&canonical), hash);
    // Hashing the non-canonical text directly gives something else.
    assert_ne!(ArtifactHash::of_canonical(HARP_ARTIFACT.as_bytes()), hash);

    let value: serde_json::Value = serde_json::from_str(HARP_ARTIFACT).expect("json");
    let (value_canonical, value_hash) = ArtifactHash::of_value(&value).expect("value");
    assert_eq!(value_canonical, canonical);
    assert_eq!(value_hash, hash);
}

#[test]
fn sha256_of_empty_input() {
    // FIPS 180-4 / well-known digest of the empty string.
    assert_eq!(
        ArtifactHash::of_canonical(b"").as_str(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn parse_normalizes_prefix_and_case() {
    let expected = ArtifactHash::parse(HARP_HASH).expect("plain");
    assert_eq!(expected.as_str(), HARP_HASH);
    for wire in [
        HARP_HASH.to_owned(),
        HARP_HASH.to_uppercase(),
        format!("sha256:{HARP_HASH}"),
        format!("SHA256:{}", HARP_HASH.to_uppercase()),
        format!("Sha256:{HARP_HASH}"),
    ] {
        let parsed: ArtifactHash = wire.parse().expect("tolerated form");
        assert_eq!(parsed, expected, "{wire}");
        assert_eq!(parsed.as_str(), HARP_HASH, "normalized: {wire}");
        assert!(expected.matches(&wire), "{wire}");
    }
    assert_eq!(ArtifactHash::try_from(HARP_HASH), Ok(expected));
    assert_eq!(hex::encode(expected.digest()), HARP_HASH);
    assert_eq!(ArtifactHash::from_digest(*expected.digest()), expected);
}

#[test]
fn parse_errors_are_typed() {
    let cases: [(String, ParseArtifactHashError); 8] = [
        (
            String::new(),
            ParseArtifactHashError::InvalidLength { length: 0 },
        ),
        (
            "sha256:".into(),
            ParseArtifactHashError::InvalidLength { length: 0 },
        ),
        (
            HARP_HASH[..63].into(),
            ParseArtifactHashError::InvalidLength { length: 63 },
        ),
        (
            format!("{HARP_HASH}0"),
            ParseArtifactHashError::InvalidLength { length: 65 },
        ),
        (
            format!(" {}", &HARP_HASH[1..]),
            ParseArtifactHashError::InvalidCharacter { offset: 0 },
        ),
        (
            format!("sha256:{}g", &HARP_HASH[..63]),
            ParseArtifactHashError::InvalidCharacter { offset: 70 },
        ),
        // Another algorithm's prefix is not stripped.
        (
            format!("sha512:{HARP_HASH}"),
            ParseArtifactHashError::InvalidLength { length: 71 },
        ),
        // A multi-byte character is reported at its byte offset.
        (
            format!("é{}", &HARP_HASH[2..]),
            ParseArtifactHashError::InvalidCharacter { offset: 0 },
        ),
    ];
    for (wire, expected) in cases {
        assert_eq!(
            ArtifactHash::parse(&wire),
            Err(expected.clone()),
            "{wire:?}"
        );
        assert!(!expected.to_string().is_empty());
    }
}

#[test]
fn matches_rejects_other_hashes_and_garbage() {
    let hash = ArtifactHash::parse(HARP_HASH).expect("hash");
    let mut other = HARP_HASH.to_owned();
    other.replace_range(63.., "0");
    assert!(!hash.matches(&other));
    assert!(!hash.matches(""));
    assert!(!hash.matches("sha256:"));
    assert!(!hash.matches(&format!("{HARP_HASH} ")));
    assert_ne!(hash, ArtifactHash::parse(&other).expect("other hash"));
}

#[test]
fn serde_uses_the_plain_string() {
    let hash = ArtifactHash::parse(HARP_HASH).expect("hash");
    let json = serde_json::to_string(&hash).expect("serialize");
    assert_eq!(json, format!("\"{HARP_HASH}\""));
    let back: ArtifactHash = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, hash);
    let tolerant: ArtifactHash =
        serde_json::from_str(&format!("\"sha256:{}\"", HARP_HASH.to_uppercase()))
            .expect("tolerant");
    assert_eq!(tolerant.as_str(), HARP_HASH);
    assert!(serde_json::from_str::<ArtifactHash>("\"abc\"").is_err());
    assert!(serde_json::from_str::<ArtifactHash>("42").is_err());
}

#[test]
fn debug_shows_the_hex() {
    let hash = ArtifactHash::parse(HARP_HASH).expect("hash");
    assert_eq!(
        format!("{hash:?}"),
        format!("ArtifactHash(\"{HARP_HASH}\")")
    );
}

#[test]
fn invalid_json_is_not_hashed() {
    assert_eq!(
        ArtifactHash::of_json(br#"{"a":1,"a":2}"#).map(|(_, hash)| hash),
        Err(CanonicalizeError::DuplicateKey {
            key: "a".into(),
            offset: 7
        })
    );
}
