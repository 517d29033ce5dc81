//! RFC 8785 test vectors: the reference implementation's input/output pairs,
//! the number table, the RFC's own examples and the HARP-CORE vectors.

use std::fs;
use std::path::{Path, PathBuf};

use airlock_crypto::jcs::{self, CanonicalizeError};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc8785")
}

#[test]
fn reference_input_output_pairs() {
    let mut names: Vec<_> = fs::read_dir(data_dir().join("input"))
        .expect("input directory")
        .map(|entry| entry.expect("directory entry").file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 6, "all six reference cases are present");
    for name in names {
        let input = fs::read(data_dir().join("input").join(&name)).expect("input file");
        let expected = fs::read(data_dir().join("output").join(&name)).expect("output file");
        let actual = jcs::canonicalize(&input)
            .unwrap_or_else(|error| panic!("{name:?} failed to canonicalize: {error}"));
        assert_eq!(
            String::from_utf8_lossy(&actual),
            String::from_utf8_lossy(&expected),
            "{name:?}"
        );
        assert_eq!(actual, expected, "{name:?} (exact bytes)");
        // The output is a fixed point.
        assert_eq!(
            jcs::canonicalize(&actual).expect("canonical input"),
            actual,
            "{name:?}"
        );
        // The serde_json::Value path agrees.
        let value: serde_json::Value = serde_json::from_slice(&input).expect("serde_json parses");
        assert_eq!(
            jcs::canonicalize_value(&value).expect("value"),
            expected,
            "{name:?} (value)"
        );
    }
}

/// Each row of `numbers.tsv`: the double's bits and its canonical text, or
/// `ERROR` for NaN and the infinities.
fn number_rows() -> Vec<(u64, Option<String>)> {
    let table = fs::read_to_string(data_dir().join("numbers.tsv")).expect("numbers.tsv");
    let rows: Vec<_> = table
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (hex, expected) = line.split_once('\t').expect("tab-separated row");
            let bits = u64::from_str_radix(hex, 16).expect("hex double");
            let expected = (!expected.starts_with("ERROR")).then(|| expected.to_owned());
            (bits, expected)
        })
        .collect();
    assert_eq!(rows.len(), 31, "every row of the table is read");
    rows
}

#[test]
fn number_table_through_the_formatter() {
    for (bits, expected) in number_rows() {
        let value = f64::from_bits(bits);
        match expected {
            Some(expected) => assert_eq!(
                jcs::canonicalize_number(value).as_deref(),
                Ok(expected.as_str()),
                "{bits:016x}"
            ),
            None => assert_eq!(
                jcs::canonicalize_number(value),
                Err(CanonicalizeError::NonFiniteNumber),
                "{bits:016x}"
            ),
        }
    }
}

/// Feeds each finite double to the text parser as the shortest decimal that
/// round-trips (Rust's `{:e}`), and also in the RFC's expected form, which
/// must be a fixed point. Non-finite rows have no JSON text: the literals
/// `NaN`/`Infinity` and overflowing decimals are rejected instead.
#[test]
fn number_table_through_the_parser() {
    for (bits, expected) in number_rows() {
        let value = f64::from_bits(bits);
        match expected {
            Some(expected) => {
                for text in [format!("{value:e}"), format!("{value:?}"), expected.clone()] {
                    assert_eq!(
                        jcs::canonicalize_str(&text).as_deref(),
                        Ok(expected.as_str()),
                        "{bits:016x} given as {text}"
                    );
                    let wrapped = format!("[{text}]");
                    assert_eq!(
                        jcs::canonicalize_str(&wrapped),
                        Ok(format!("[{expected}]")),
                        "{bits:016x} given as {wrapped}"
                    );
                }
                // The serde_json::Value path formats the same double.
                let number = serde_json::Number::from_f64(value).expect("finite");
                assert_eq!(
                    jcs::canonicalize_value(&serde_json::Value::Number(number)),
                    Ok(expected.into_bytes()),
                    "{bits:016x} as a Value"
                );
            }
            None => {
                let literal = if value.is_nan() {
                    "NaN"
                } else if value > 0.0 {
                    "Infinity"
                } else {
                    "-Infinity"
                };
                assert!(jcs::canonicalize_str(literal).is_err(), "{literal}");
                // serde_json::Value cannot hold a non-finite number at all.
                assert!(serde_json::Number::from_f64(value).is_none());
                if !value.is_nan() {
                    let overflow = if value > 0.0 { "1e400" } else { "-1e400" };
                    assert_eq!(
                        jcs::canonicalize_str(overflow),
                        Err(CanonicalizeError::NumberOutOfRange { offset: 0 })
                    );
                }
            }
        }
    }
}

#[test]
fn more_ecmascript_numbers() {
    let cases = [
        ("1e21", "1e+21"),
        ("1e-7", "1e-7"),
        ("0.000001", "0.000001"),
        ("123456789012345678901", "123456789012345680000"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("0e10", "0"),
        ("1e-400", "0"),
        ("-1e-400", "0"),
        ("1.0", "1"),
        ("100", "100"),
        ("999999999999999", "999999999999999"),
        ("9007199254740993", "9007199254740992"),
        ("-9007199254740993", "-9007199254740992"),
        ("0.1e1", "1"),
        ("12.5E-1", "1.25"),
        ("1E+2", "100"),
        ("4.50", "4.5"),
        ("0.5", "0.5"),
        ("2e-3", "0.002"),
        ("333333333.33333329", "333333333.3333333"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("4.9406564584124654e-324", "5e-324"),
        // More digits than a double holds: correctly rounded, then shortest.
        ("0.30000000000000004441", "0.30000000000000004"),
        ("3.00000000000000000000000000000000000000000000000001", "3"),
    ];
    for (input, expected) in cases {
        assert_eq!(
            jcs::canonicalize_str(input).as_deref(),
            Ok(expected),
            "{input}"
        );
    }
}

/// RFC 8785 §3.2.3: member names sorted as UTF-16 code units.
#[test]
fn rfc8785_sorting_example() {
    let input = r#"{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"#;
    let expected = concat!(
        "{",
        r#""\r":"Carriage Return","#,
        r#""1":"One","#,
        "\"\u{80}\":\"Control\",",
        "\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",",
        "\"\u{20ac}\":\"Euro Sign\",",
        "\"\u{1f600}\":\"Emoji: Grinning Face\",",
        "\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"",
        "}"
    );
    assert_eq!(jcs::canonicalize_str(input).as_deref(), Ok(expected));
}

/// RFC 8785 §3.2.4: the main example, compared byte for byte with the UTF-8
/// dump given in the RFC.
#[test]
fn rfc8785_main_example() {
    let input = r#"{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
    let rfc_dump = "
        7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
        75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
        5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
        65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
        5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
        30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d";
    let expected: Vec<u8> = rfc_dump
        .split_whitespace()
        .map(|byte| u8::from_str_radix(byte, 16).expect("hex byte"))
        .collect();
    assert_eq!(jcs::canonicalize(input.as_bytes()), Ok(expected));
}

const HARP_ARTIFACT: &str = r#"{"requestId":"01J2V8V3K6B2Z9X6G1V7Y2QK8H","sessionId":"01J2V8V3M2YF0KX9Q0Z7E6H9R1","artifactType":"plan.review","repoRef":"repo:acme/widgets","baseRevision":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","createdAt":"2026-02-21T12:00:00Z","expiresAt":"2026-02-21T12:10:00Z","payload":{"kind":"plan","title":"Refactor Parser","steps":["Extract tokenizer","Add unit tests","Replace recursive descent with Pratt parser"],"risk":"medium"},"artifactHashAlg":"SHA-256"}"#;

/// HARP-CORE: the artifact's canonical member order.
#[test]
fn harp_core_artifact_order() {
    let canonical = jcs::canonicalize_str(HARP_ARTIFACT).expect("artifact");
    let expected = concat!(
        r#"{"artifactHashAlg":"SHA-256","artifactType":"plan.review","#,
        r#""baseRevision":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","#,
        r#""createdAt":"2026-02-21T12:00:00Z","expiresAt":"2026-02-21T12:10:00Z","#,
        r#""payload":{"kind":"plan","risk":"medium","steps":["Extract tokenizer","Add unit tests","#,
        r#""Replace recursive descent with Pratt parser"],"title":"Refactor Parser"},"#,
        r#""repoRef":"repo:acme/widgets","requestId":"01J2V8V3K6B2Z9X6G1V7Y2QK8H","#,
        r#""sessionId":"01J2V8V3M2YF0KX9Q0Z7E6H9R1"}"#
    );
    assert_eq!(canonical, expected);
}

/// HARP-CORE: the DecisionSignable is already canonical.
#[test]
fn harp_core_decision_signable_is_a_fixed_point() {
    let signable = r#"{"artifactHash":"8e326e1f69e5859a3b5b12965f06b5829f09b12d1748aa2fddb609fb44f831c1","artifactHashAlg":"SHA-256","decision":"approve","expiresAt":"2026-02-21T12:05:00Z","nonce":"bm9uY2UtMDAx","repoRef":"repo:acme/widgets","requestId":"01J2V8V3K6B2Z9X6G1V7Y2QK8H","scope":"once","sigAlg":"Ed25519","signerKeyId":"ma-key-01"}"#;
    assert_eq!(jcs::canonicalize_str(signable).as_deref(), Ok(signable));
}
