//! Property tests: idempotence, value preservation, member-order independence,
//! agreement of the text and `Value` paths, and no panics on any bytes.
//!
//! Documents are generated as a small tree and rendered to JSON text with
//! varied whitespace, escapes, number spellings and member orders.

use std::collections::BTreeMap;

use airlock_crypto::jcs;
use proptest::prelude::*;
use serde_json::Value;

#[derive(Debug, Clone)]
enum Doc {
    Null,
    Bool(bool),
    Number(f64),
    Integer(i64),
    String(String),
    Array(Vec<Doc>),
    Object(BTreeMap<String, Doc>),
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |v| v.is_finite()),
        (-1_000_000i64..1_000_000, 0u32..8).prop_map(|(m, e)| m as f64 / 10f64.powi(e as i32)),
        Just(0.0),
        Just(-0.0),
        Just(1e21),
        Just(1e-7),
    ]
}

fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-c\u{e000}\u{ffff}\u{10000}\u{1f600}\"\\\\/\n\u{1}\u{7f}\u{2028}]{0,4}",
    ]
}

fn doc() -> impl Strategy<Value = Doc> {
    let leaf = prop_oneof![
        Just(Doc::Null),
        any::<bool>().prop_map(Doc::Bool),
        finite_f64().prop_map(Doc::Number),
        any::<i64>().prop_map(Doc::Integer),
        any_string().prop_map(Doc::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Doc::Array),
            prop::collection::btree_map(any_string(), inner, 0..6).prop_map(Doc::Object),
        ]
    })
}

/// A tiny deterministic generator for rendering choices.
struct Choices(u64);

impl Choices {
    fn next(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn render(doc: &Doc, seed: u64) -> String {
    let mut out = String::new();
    let mut choices = Choices(seed | 1);
    render_into(doc, &mut choices, &mut out);
    out
}

fn whitespace(choices: &mut Choices, out: &mut String) {
    for _ in 0..choices.next(3) {
        out.push([' ', '\t', '\n', '\r'][choices.next(4) as usize]);
    }
}

fn render_string(s: &str, choices: &mut Choices, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        let must_escape = c == '"' || c == '\\' || c < ' ';
        match (must_escape, choices.next(4)) {
            (false, 0..=2) => out.push(c),
            (true, 0) | (true, 1) if matches!(c, '"' | '\\' | '\n' | '\t') => {
                out.push_str(match c {
                    '"' => "\\\"",
                    '\\' => "\\\\",
                    '\n' => "\\n",
                    _ => "\\t",
                });
            }
            _ if c == '/' && choices.next(2) == 0 => out.push_str("\\/"),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    if choices.next(2) == 0 {
                        out.push_str(&format!("\\u{unit:04x}"));
                    } else {
                        out.push_str(&format!("\\u{unit:04X}"));
                    }
                }
            }
        }
    }
    out.push('"');
}

fn render_into(doc: &Doc, choices: &mut Choices, out: &mut String) {
    whitespace(choices, out);
    match doc {
        Doc::Null => out.push_str("null"),
        Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Doc::Integer(i) => out.push_str(&i.to_string()),
        Doc::Number(v) => {
            let text = match choices.next(3) {
                0 => format!("{v:e}"),
                1 => format!("{v:E}"),
                _ => format!("{v:?}"),
            };
            out.push_str(&text);
        }
        Doc::String(s) => render_string(s, choices, out),
        Doc::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                render_into(item, choices, out);
            }
            whitespace(choices, out);
            out.push(']');
        }
        Doc::Object(members) => {
            // A random permutation of the members.
            let mut order: Vec<_> = members.iter().collect();
            for i in (1..order.len()).rev() {
                order.swap(i, choices.next(i as u64 + 1) as usize);
            }
            out.push('{');
            for (index, (name, item)) in order.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                whitespace(choices, out);
                render_string(name, choices, out);
                whitespace(choices, out);
                out.push(':');
                render_into(item, choices, out);
            }
            whitespace(choices, out);
            out.push('}');
        }
    }
    whitespace(choices, out);
}

/// Structural equality with numbers compared as doubles.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(name, x)| y.get(name).is_some_and(|y| same_value(x, y)))
        }
        _ => a == b,
    }
}

proptest! {
    #[test]
    fn canonicalization_is_idempotent(doc in doc(), seed in any::<u64>()) {
        let text = render(&doc, seed);
        let once = jcs::canonicalize(text.as_bytes()).expect("generated JSON is valid");
        let twice = jcs::canonicalize(&once).expect("canonical JSON is valid");
        prop_assert_eq!(&twice, &once);
        prop_assert!(!has_whitespace_outside_strings(&once), "{}", String::from_utf8_lossy(&once));
    }

    #[test]
    fn canonicalization_preserves_the_value(doc in doc(), seed in any::<u64>()) {
        let text = render(&doc, seed);
        let canonical = jcs::canonicalize(text.as_bytes()).expect("valid");
        let before: Value = serde_json::from_str(&text).expect("serde_json parses input");
        let after: Value = serde_json::from_slice(&canonical).expect("serde_json parses output");
        prop_assert!(same_value(&before, &after), "{} -> {}", text, String::from_utf8_lossy(&canonical));
    }

    #[test]
    fn member_order_and_formatting_do_not_matter(doc in doc(), seed_a in any::<u64>(), seed_b in any::<u64>()) {
        let a = jcs::canonicalize(render(&doc, seed_a).as_bytes()).expect("valid");
        let b = jcs::canonicalize(render(&doc, seed_b).as_bytes()).expect("valid");
        prop_assert_eq!(a, b);
    }

    #[test]
    fn text_and_value_paths_agree(doc in doc(), seed in any::<u64>()) {
        let text = render(&doc, seed);
        let value: Value = serde_json::from_str(&text).expect("serde_json parses input");
        let from_text = jcs::canonicalize(text.as_bytes()).expect("valid");
        let from_value = jcs::canonicalize_value(&value).expect("valid value");
        prop_assert_eq!(
            String::from_utf8_lossy(&from_text),
            String::from_utf8_lossy(&from_value)
        );
        let from_serialize = jcs::canonicalize_serialize(&value).expect("serializable");
        prop_assert_eq!(from_serialize, from_value);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = jcs::canonicalize(&bytes);
    }

    #[test]
    fn mutated_json_never_panics(doc in doc(), seed in any::<u64>(), edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut bytes = render(&doc, seed).into_bytes();
        for (index, byte) in edits {
            if bytes.is_empty() {
                break;
            }
            let at = index.index(bytes.len());
            bytes[at] = byte;
        }
        if let Ok(out) = jcs::canonicalize(&bytes) {
            // Whatever is accepted is canonical and valid JSON.
            prop_assert_eq!(jcs::canonicalize(&out).expect("canonical"), out.clone());
            prop_assert!(serde_json::from_slice::<Value>(&out).is_ok());
        }
    }

    #[test]
    fn duplicates_are_always_found(names in prop::collection::vec(any_string(), 1..6), seed in any::<u64>()) {
        // An object listing `names` twice, in a shuffled order.
        let mut choices = Choices(seed | 1);
        let mut all: Vec<&String> = names.iter().chain(names.iter()).collect();
        for i in (1..all.len()).rev() {
            all.swap(i, choices.next(i as u64 + 1) as usize);
        }
        let mut text = String::from("{");
        for (index, name) in all.iter().enumerate() {
            if index > 0 {
                text.push(',');
            }
            render_string(name, &mut choices, &mut text);
            text.push_str(":0");
        }
        text.push('}');
        let is_duplicate = matches!(
            jcs::canonicalize(text.as_bytes()),
            Err(jcs::CanonicalizeError::DuplicateKey { .. })
        );
        prop_assert!(is_duplicate, "{}", text);
    }
}

/// `doc` as a `serde_json::Value` (through its own rendering, which serde_json parses).
fn to_value(doc: &Doc) -> Value {
    serde_json::from_str(&render(doc, 1)).expect("serde_json parses generated JSON")
}

// `canonicalize_with_member`: the one-pass binding of a plaintext to its request.
proptest! {
    #[test]
    fn a_missing_member_is_added(
        members in prop::collection::btree_map(any_string(), doc(), 0..6),
        name in any_string(),
        value in any_string(),
        seed in any::<u64>(),
    ) {
        let mut members = members;
        members.remove(&name);
        let doc = Doc::Object(members);
        let text = render(&doc, seed);
        let mut expected = to_value(&doc);
        expected
            .as_object_mut()
            .expect("an object")
            .insert(name.clone(), Value::String(value.clone()));
        let bound = jcs::Canonicalizer::new()
            .canonicalize_with_member(text.as_bytes(), &name, &value)
            .expect("valid");
        let expected = jcs::canonicalize_value(&expected).expect("valid");
        prop_assert_eq!(String::from_utf8_lossy(&bound), String::from_utf8_lossy(&expected));
    }

    #[test]
    fn a_member_with_the_same_value_is_kept(
        members in prop::collection::btree_map(any_string(), doc(), 0..6),
        name in any_string(),
        value in any_string(),
        seed in any::<u64>(),
    ) {
        let mut members = members;
        members.insert(name.clone(), Doc::String(value.clone()));
        // Rendered with random escapes, so equal values are compared decoded.
        let text = render(&Doc::Object(members), seed);
        let bound = jcs::Canonicalizer::new()
            .canonicalize_with_member(text.as_bytes(), &name, &value)
            .expect("valid");
        prop_assert_eq!(bound, jcs::canonicalize(text.as_bytes()).expect("valid"));
    }

    #[test]
    fn a_member_with_another_value_is_refused(
        members in prop::collection::btree_map(any_string(), doc(), 0..6),
        name in any_string(),
        value in any_string(),
        other in doc(),
        seed in any::<u64>(),
    ) {
        prop_assume!(!matches!(&other, Doc::String(s) if *s == value));
        let mut members = members;
        members.insert(name.clone(), other);
        let text = render(&Doc::Object(members), seed);
        let result = jcs::Canonicalizer::new().canonicalize_with_member(text.as_bytes(), &name, &value);
        prop_assert!(
            matches!(&result, Err(jcs::CanonicalizeError::MemberMismatch { name: n, .. }) if *n == name),
            "{:?} for {}", result, text
        );
    }

    #[test]
    fn only_objects_can_be_bound(doc in doc(), seed in any::<u64>()) {
        let text = render(&doc, seed);
        let result = jcs::Canonicalizer::new().canonicalize_with_member(text.as_bytes(), "requestId", "r");
        prop_assert_eq!(result.is_ok(), matches!(doc, Doc::Object(_)));
        if !matches!(doc, Doc::Object(_)) {
            prop_assert_eq!(result, Err(jcs::CanonicalizeError::NotAnObject));
        }
    }
}

#[test]
fn binding_edge_cases() {
    let jcs = jcs::Canonicalizer::new();
    let bind = |text: &str| jcs.canonicalize_with_member(text.as_bytes(), "requestId", "r-1");
    assert_eq!(bind("{}").unwrap(), br#"{"requestId":"r-1"}"#);
    assert_eq!(bind(" \n{ \t} ").unwrap(), br#"{"requestId":"r-1"}"#);
    assert_eq!(
        bind(r#"{"z":{"b":1,"a":2},"a":[]}"#).unwrap(),
        br#"{"a":[],"requestId":"r-1","z":{"a":2,"b":1}}"#
    );
    // A nested member of that name is not the binding.
    assert_eq!(
        bind(r#"{"x":{"requestId":"other"}}"#).unwrap(),
        br#"{"requestId":"r-1","x":{"requestId":"other"}}"#
    );
    assert!(matches!(
        bind(r#"{"requestId":"r-1","requestId":"r-1"}"#),
        Err(jcs::CanonicalizeError::DuplicateKey { .. })
    ));
    assert!(matches!(
        bind(r#"{"requestId":"r-2"}"#),
        Err(jcs::CanonicalizeError::MemberMismatch { offset: 1, .. })
    ));
    // Invalid JSON is still reported as such.
    assert!(matches!(
        bind(r#"{"a":}"#),
        Err(jcs::CanonicalizeError::Syntax { .. })
    ));
    assert!(matches!(
        bind("{} x"),
        Err(jcs::CanonicalizeError::TrailingData { .. })
    ));
    assert_eq!(bind(""), Err(jcs::CanonicalizeError::NotAnObject));
    assert_eq!(bind("\"r-1\""), Err(jcs::CanonicalizeError::NotAnObject));
}

/// Whether JSON text has whitespace between tokens.
fn has_whitespace_outside_strings(json: &[u8]) -> bool {
    let (mut in_string, mut escaped) = (false, false);
    for &byte in json {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if byte == b'"' {
            in_string = true;
        } else if matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            return true;
        }
    }
    false
}
