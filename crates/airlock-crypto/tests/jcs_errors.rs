//! Every way a JSON text can be refused, with the kind and offset.

use airlock_crypto::jcs::{self, CanonicalizeError as E, Canonicalizer, DEFAULT_MAX_DEPTH};

fn err(json: &[u8]) -> E {
    match jcs::canonicalize(json) {
        Ok(out) => panic!(
            "{:?} was accepted as {:?}",
            String::from_utf8_lossy(json),
            String::from_utf8_lossy(&out)
        ),
        Err(error) => error,
    }
}

fn syntax_offset(json: &str) -> usize {
    match err(json.as_bytes()) {
        E::Syntax { offset, message } => {
            assert!(!message.is_empty());
            offset
        }
        other => panic!("{json:?}: expected a syntax error, got {other:?}"),
    }
}

#[test]
fn duplicate_keys() {
    assert_eq!(
        err(br#"{"a":1,"b":2,"a":3}"#),
        E::DuplicateKey {
            key: "a".into(),
            offset: 13
        }
    );
    // Compared after unescaping.
    assert_eq!(
        err(r#"{"\u00e9":1,"é":2}"#.as_bytes()),
        E::DuplicateKey {
            key: "é".into(),
            offset: 12
        }
    );
    assert_eq!(
        err(br#"{"\/":1, "/":2}"#),
        E::DuplicateKey {
            key: "/".into(),
            offset: 9
        }
    );
    // The first repeat in document order is reported, also when nested.
    assert_eq!(
        err(br#"[{"x":{"b":1,"a":2,"b":3,"a":4}}]"#),
        E::DuplicateKey {
            key: "b".into(),
            offset: 19
        }
    );
    assert_eq!(
        err(br#"{"a":1,"a":1,"a":1}"#),
        E::DuplicateKey {
            key: "a".into(),
            offset: 7
        }
    );
    // Names that differ only in case or normalization are distinct.
    assert!(jcs::canonicalize(br#"{"a":1,"A":2,"\u00c5":3,"A\u030a":4}"#).is_ok());
}

#[test]
fn lone_surrogates() {
    assert_eq!(err(br#""\ud800""#), E::LoneSurrogate { offset: 1 });
    assert_eq!(err(br#""ab\uDBFF""#), E::LoneSurrogate { offset: 3 });
    assert_eq!(err(br#""\udc00""#), E::LoneSurrogate { offset: 1 });
    assert_eq!(err(br#""\uDFFF\uD800""#), E::LoneSurrogate { offset: 1 });
    assert_eq!(err(br#""\ud800\u0041""#), E::LoneSurrogate { offset: 1 });
    assert_eq!(err(br#""\ud800\ud800""#), E::LoneSurrogate { offset: 1 });
    assert_eq!(err(br#""\ud800\n""#), E::LoneSurrogate { offset: 1 });
    assert_eq!(err(br#"{"\ud83d":1}"#), E::LoneSurrogate { offset: 2 });
    // A proper pair is fine, in either hex case.
    assert_eq!(
        jcs::canonicalize_str(r#""\uD83D\uDE00""#).as_deref(),
        Ok("\"😀\"")
    );
}

#[test]
fn numbers_out_of_range() {
    assert_eq!(err(b"1e400"), E::NumberOutOfRange { offset: 0 });
    assert_eq!(err(b"-1e400"), E::NumberOutOfRange { offset: 0 });
    assert_eq!(err(b"[1, 1.8e308]"), E::NumberOutOfRange { offset: 4 });
    assert_eq!(
        err(b"{\"a\": 1e99999999999999999999}"),
        E::NumberOutOfRange { offset: 6 }
    );
    let huge = format!("1{}", "0".repeat(400));
    assert_eq!(err(huge.as_bytes()), E::NumberOutOfRange { offset: 0 });
}

#[test]
fn invalid_numbers() {
    for (json, offset) in [
        ("01", 0),
        ("-01", 0),
        ("[00]", 1),
        ("+1", 0),
        (".5", 0),
        ("1.", 0),
        ("1.e5", 0),
        ("1e", 0),
        ("1e+", 0),
        ("-", 0),
        ("-a", 0),
        ("[1,-]", 3),
    ] {
        match err(json.as_bytes()) {
            E::InvalidNumber {
                offset: found,
                message,
            } => {
                assert_eq!(found, offset, "{json}");
                assert!(!message.is_empty());
            }
            other => panic!("{json}: {other:?}"),
        }
    }
    // Not numbers at all.
    for json in ["NaN", "Infinity", "-Infinity", "0x10", "1_000"] {
        assert!(jcs::canonicalize_str(json).is_err(), "{json}");
    }
}

#[test]
fn invalid_utf8() {
    assert_eq!(err(b"\"\xff\""), E::InvalidUtf8 { offset: 1 });
    assert_eq!(err(b"[\"ok\", \"\xc3\"]"), E::InvalidUtf8 { offset: 8 });
    // Overlong encoding and an encoded surrogate are invalid UTF-8 too.
    assert_eq!(err(b"\"\xc0\xaf\""), E::InvalidUtf8 { offset: 1 });
    assert_eq!(err(b"\"\xed\xa0\x80\""), E::InvalidUtf8 { offset: 1 });
}

#[test]
fn trailing_data() {
    assert_eq!(err(b"{} {}"), E::TrailingData { offset: 3 });
    assert_eq!(err(b"1 2"), E::TrailingData { offset: 2 });
    assert_eq!(err(b"truex"), E::TrailingData { offset: 4 });
    assert_eq!(err(b"[]]"), E::TrailingData { offset: 2 });
    assert_eq!(err(b"null\0"), E::TrailingData { offset: 4 });
    // Surrounding whitespace is fine.
    assert_eq!(
        jcs::canonicalize(b" \t\r\n[ 1 ]\n\t ").as_deref(),
        Ok(&b"[1]"[..])
    );
}

#[test]
fn too_deep() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let at_limit = nested(DEFAULT_MAX_DEPTH);
    assert_eq!(
        jcs::canonicalize_str(&at_limit).as_deref(),
        Ok(at_limit.as_str())
    );
    assert_eq!(
        err(nested(DEFAULT_MAX_DEPTH + 1).as_bytes()),
        E::TooDeep {
            limit: DEFAULT_MAX_DEPTH,
            offset: Some(DEFAULT_MAX_DEPTH)
        }
    );
    // Objects count too, and hostile depth fails fast instead of overflowing.
    let objects = r#"{"a":"#.repeat(200_000);
    assert_eq!(
        err(objects.as_bytes()),
        E::TooDeep {
            limit: DEFAULT_MAX_DEPTH,
            offset: Some(5 * DEFAULT_MAX_DEPTH)
        }
    );

    let shallow = Canonicalizer::new().with_max_depth(2);
    assert_eq!(shallow.max_depth(), 2);
    assert_eq!(
        shallow.canonicalize(br#"{"a":[1]}"#).as_deref(),
        Ok(&br#"{"a":[1]}"#[..])
    );
    assert_eq!(
        shallow.canonicalize(br#"{"a":[{}]}"#),
        Err(E::TooDeep {
            limit: 2,
            offset: Some(6)
        })
    );
    let scalars_only = Canonicalizer::new().with_max_depth(0);
    assert_eq!(scalars_only.canonicalize(b" 7 ").as_deref(), Ok(&b"7"[..]));
    assert_eq!(
        scalars_only.canonicalize(b"[]"),
        Err(E::TooDeep {
            limit: 0,
            offset: Some(0)
        })
    );

    // The iterative parser handles a large configured limit without recursion.
    let deep = nested(100_000);
    let unlimited = Canonicalizer::new().with_max_depth(usize::MAX);
    assert_eq!(
        unlimited.canonicalize(deep.as_bytes()).map(|out| out.len()),
        Ok(deep.len())
    );

    // The Value path applies the same limit.
    let value: serde_json::Value = serde_json::from_str(&nested(3)).expect("json");
    assert_eq!(
        Canonicalizer::new()
            .with_max_depth(2)
            .canonicalize_value(&value),
        Err(E::TooDeep {
            limit: 2,
            offset: None
        })
    );
    assert!(
        Canonicalizer::new()
            .with_max_depth(3)
            .canonicalize_value(&value)
            .is_ok()
    );
}

#[test]
fn syntax_errors() {
    let cases = [
        ("", 0),
        ("   ", 3),
        ("[", 1),
        ("[1", 2),
        ("[1,", 3),
        ("[1,]", 3),
        ("[,1]", 1),
        ("[1 2]", 3),
        ("{", 1),
        ("{\"a\"", 4),
        ("{\"a\":", 5),
        ("{\"a\":1,}", 7),
        ("{\"a\" 1}", 5),
        ("{a:1}", 1),
        ("{'a':1}", 1),
        ("{1:1}", 1),
        ("{\"a\":1 \"b\":2}", 7),
        ("[1}", 2),
        ("{\"a\":1]", 6),
        ("\"abc", 0),
        ("[\"abc]", 1),
        ("tru", 0),
        ("nul", 0),
        ("True", 0),
        ("[1] // comment", 4),
        ("/* c */ 1", 0),
        ("\u{feff}1", 0),
        ("\"a\nb\"", 2),
        ("\"tab\there\"", 4),
        ("\"\u{1f}\"", 1),
        ("{\"a\u{0}\":1}", 3),
    ];
    for (json, offset) in cases {
        if json.starts_with("[1] //") {
            assert_eq!(err(json.as_bytes()), E::TrailingData { offset }, "{json:?}");
        } else {
            assert_eq!(syntax_offset(json), offset, "{json:?}");
        }
    }
}

#[test]
fn invalid_escapes() {
    for (json, offset) in [
        (r#""\x""#, 1),
        (r#""ab\'""#, 3),
        (r#""\u12""#, 1),
        (r#""\u12G4""#, 1),
        (r#""\U0041""#, 1),
        (r#"{"\a":1}"#, 2),
        (r#""\ud800\uZZZZ""#, 7),
        ("\"\\", 1),
    ] {
        assert_eq!(err(json.as_bytes()), E::InvalidEscape { offset }, "{json}");
    }
}

#[test]
fn error_offsets_and_messages() {
    let error = err(b"[1,]");
    assert_eq!(error.offset(), Some(3));
    assert!(error.to_string().contains("byte 3"), "{error}");
    assert_eq!(E::NonFiniteNumber.offset(), None);
    assert_eq!(
        E::TooDeep {
            limit: 1,
            offset: None
        }
        .offset(),
        None
    );
    fn assert_traits<T: std::error::Error + Send + Sync + 'static>() {}
    assert_traits::<E>();
}

#[test]
fn output_buffer_is_untouched_on_error() {
    let mut out = b"prefix".to_vec();
    let canonicalizer = Canonicalizer::default();
    assert!(
        canonicalizer
            .canonicalize_to(br#"{"b":[1,2,3],"a":1,"a":2}"#, &mut out)
            .is_err()
    );
    assert_eq!(out, b"prefix");
    canonicalizer
        .canonicalize_to(br#"{"b":1,"a":2}"#, &mut out)
        .expect("valid");
    assert_eq!(out, br#"prefix{"a":2,"b":1}"#);
    let value = serde_json::json!({"z": [1], "y": null});
    canonicalizer
        .canonicalize_value_to(&value, &mut out)
        .expect("value");
    assert_eq!(out, br#"prefix{"a":2,"b":1}{"y":null,"z":[1]}"#);
}
