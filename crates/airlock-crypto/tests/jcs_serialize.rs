//! `canonicalize_serialize`: serde types straight to canonical JSON.

use std::collections::{BTreeMap, HashMap};

use airlock_crypto::jcs::{self, CanonicalizeError, Canonicalizer};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Signable<'a> {
    signer_key_id: &'a str,
    request_id: &'a str,
    decision: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    expires_at: &'a str,
    artifact_hash_alg: &'a str,
    artifact_hash: &'a str,
    nonce: &'a str,
    repo_ref: &'a str,
    scope: &'a str,
    sig_alg: &'a str,
}

#[test]
fn harp_core_decision_signable_from_a_struct() {
    let signable = Signable {
        signer_key_id: "ma-key-01",
        request_id: "01J2V8V3K6B2Z9X6G1V7Y2QK8H",
        decision: "approve",
        reason: None,
        expires_at: "2026-02-21T12:05:00Z",
        artifact_hash_alg: "SHA-256",
        artifact_hash: "8e326e1f69e5859a3b5b12965f06b5829f09b12d1748aa2fddb609fb44f831c1",
        nonce: "bm9uY2UtMDAx",
        repo_ref: "repo:acme/widgets",
        scope: "once",
        sig_alg: "Ed25519",
    };
    let expected = r#"{"artifactHash":"8e326e1f69e5859a3b5b12965f06b5829f09b12d1748aa2fddb609fb44f831c1","artifactHashAlg":"SHA-256","decision":"approve","expiresAt":"2026-02-21T12:05:00Z","nonce":"bm9uY2UtMDAx","repoRef":"repo:acme/widgets","requestId":"01J2V8V3K6B2Z9X6G1V7Y2QK8H","scope":"once","sigAlg":"Ed25519","signerKeyId":"ma-key-01"}"#;
    assert_eq!(
        jcs::canonicalize_serialize(&signable),
        Ok(expected.as_bytes().to_vec())
    );
}

#[derive(Serialize)]
enum Shape {
    Unit,
    Newtype(u8),
    Tuple(i32, f64),
    Struct { b: bool, a: Option<char> },
}

#[derive(Serialize)]
struct Wrapper(Vec<Shape>);

#[test]
fn serde_data_model_matches_serde_json() {
    let value = Wrapper(vec![
        Shape::Unit,
        Shape::Newtype(7),
        Shape::Tuple(-1, 2.5),
        Shape::Struct {
            b: true,
            a: Some('é'),
        },
        Shape::Struct { b: false, a: None },
    ]);
    let via_serde_json = jcs::canonicalize_value(&serde_json::to_value(&value).expect("to_value"));
    let direct = jcs::canonicalize_serialize(&value);
    assert_eq!(direct, via_serde_json);
    assert_eq!(
        String::from_utf8(direct.expect("ok")).expect("utf-8"),
        r#"["Unit",{"Newtype":7},{"Tuple":[-1,2.5]},{"Struct":{"a":"é","b":true}},{"Struct":{"a":null,"b":false}}]"#
    );
}

#[test]
fn numbers_and_keys() {
    let mut map = BTreeMap::new();
    map.insert(10u32, u128::MAX);
    map.insert(2u32, 1u128 << 53 | 1);
    assert_eq!(
        jcs::canonicalize_serialize(&map).map(String::from_utf8),
        Ok(Ok(
            r#"{"10":3.402823669209385e+38,"2":9007199254740992}"#.to_owned()
        ))
    );
    let bools: HashMap<bool, i128> = [(true, i128::MIN), (false, 5)].into_iter().collect();
    assert_eq!(
        jcs::canonicalize_serialize(&bools),
        Ok(br#"{"false":5,"true":-1.7014118346046923e+38}"#.to_vec())
    );
    assert_eq!(
        jcs::canonicalize_serialize(&(0.1f32, b"ab" as &[u8], ())),
        Ok(b"[0.10000000149011612,[97,98],null]".to_vec())
    );
}

#[test]
fn refuses_what_serde_json_would_paper_over() {
    // serde_json writes these as null.
    assert_eq!(
        serde_json::to_string(&[f64::NAN]).expect("serde_json"),
        "[null]"
    );
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(
            jcs::canonicalize_serialize(&[bad]),
            Err(CanonicalizeError::NonFiniteNumber)
        );
    }
    assert_eq!(
        jcs::canonicalize_serialize(&f32::NAN),
        Err(CanonicalizeError::NonFiniteNumber)
    );

    // Two keys that become the same member name.
    #[derive(Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[serde(untagged)]
    enum Key {
        Number(u8),
        Text(&'static str),
    }
    let map: BTreeMap<Key, u8> = [(Key::Number(1), 1), (Key::Text("1"), 2)]
        .into_iter()
        .collect();
    assert!(matches!(
        jcs::canonicalize_serialize(&map),
        Err(CanonicalizeError::Serialize { message }) if message.contains("duplicate")
    ));

    // Keys with no string form.
    let map: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
    assert!(matches!(
        jcs::canonicalize_serialize(&map),
        Err(CanonicalizeError::Serialize { .. })
    ));

    // A failing Serialize implementation.
    struct Failing;
    impl Serialize for Failing {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no way"))
        }
    }
    assert_eq!(
        jcs::canonicalize_serialize(&vec![Failing]),
        Err(CanonicalizeError::Serialize {
            message: "no way".into()
        })
    );
}

#[test]
fn depth_limit_applies() {
    let nested = vec![vec![vec![1]]];
    assert_eq!(
        Canonicalizer::new()
            .with_max_depth(3)
            .canonicalize_serialize(&nested),
        Ok(b"[[[1]]]".to_vec())
    );
    assert_eq!(
        Canonicalizer::new()
            .with_max_depth(2)
            .canonicalize_serialize(&nested),
        Err(CanonicalizeError::TooDeep {
            limit: 2,
            offset: None
        })
    );
}
