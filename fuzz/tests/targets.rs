//! Every fuzz target's body as an ordinary test (stable Rust, no libFuzzer): over the
//! committed seeds (`seeds/<target>/`), every regression input (`regressions/<target>/`:
//! crashes found by fuzzing, kept forever), the signed/sealed fixtures, and a bounded
//! number of deterministic pseudo-random inputs and edits of those seeds.
//!
//! `AIRLOCK_FUZZ_CASES` sets the number of generated inputs per target (default 1000).

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("canonicalize", airlock_fuzz::canonicalize),
    ("response_parsers", airlock_fuzz::response_parsers),
    ("pairing_response", airlock_fuzz::pairing_response),
    ("decision", airlock_fuzz::decision),
    ("aes_gcm_open", airlock_fuzz::aes_gcm_open),
];

/// The files of `dir` (none if it does not exist), sorted for a stable order.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            let bytes = std::fs::read(e.path()).expect("read a seed");
            (e.path().display().to_string(), bytes)
        })
        .collect();
    out.sort();
    out
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let len = (self.next() as usize) % (max_len + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// JSON-ish bytes: random picks from JSON tokens, so that parsers get past the first byte.
fn json_ish(rng: &mut Rng) -> Vec<u8> {
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"a\"",
        "\"\\u00e9\"",
        "\"\\ud83d\\ude00\"",
        "\"\\ud800\"",
        "1",
        "-0",
        "1e400",
        "0.1",
        "1E+21",
        "123456789012345678901234567890",
        "true",
        "null",
        "\"msgType\"",
        "\"body\"",
        "\"state\"",
        "\"Pending\"",
        "\"decision\"",
        "\"approve\"",
        "\"expiresAt\"",
        "\"2026-02-24T10:00:00+02:00\"",
        "\"error\"",
        "\"code\"",
        " ",
        "\"",
    ];
    let n = (rng.next() % 24) as usize;
    let mut out = Vec::new();
    for _ in 0..n {
        out.extend_from_slice(TOKENS[(rng.next() as usize) % TOKENS.len()].as_bytes());
    }
    out
}

fn cases() -> usize {
    std::env::var("AIRLOCK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

fn run_target(name: &str, target: Target) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = files(&root.join("seeds").join(name));
    let regressions = files(&root.join("regressions").join(name));
    for (seed_target, file, bytes) in airlock_fuzz::fixture_seeds() {
        if seed_target == name {
            seeds.push((format!("fixture {file}"), bytes));
        }
    }
    for (file, bytes) in seeds.iter().chain(&regressions) {
        eprintln!("{name}: {file}");
        target(bytes);
    }
    let mut rng = Rng(0x5EED_0000_0000_0001 ^ name.len() as u64);
    for i in 0..cases() {
        let input = match i % 3 {
            0 => rng.bytes(256),
            1 => [&[(rng.next() % 3) as u8][..], &json_ish(&mut rng)].concat(),
            _ if !seeds.is_empty() => {
                let (_, seed) = &seeds[(rng.next() as usize) % seeds.len()];
                // Keep the mode byte; edit the rest.
                let edits = rng.bytes(16);
                match seed.split_first() {
                    Some((&mode, rest)) if name != "canonicalize" && name != "response_parsers" => {
                        [&[mode][..], &airlock_fuzz::mutate(rest, &edits)].concat()
                    }
                    _ => airlock_fuzz::mutate(seed, &edits),
                }
            }
            _ => rng.bytes(64),
        };
        target(&input);
    }
}

#[test]
fn canonicalize() {
    run_target(TARGETS[0].0, TARGETS[0].1);
}

#[test]
fn response_parsers() {
    run_target(TARGETS[1].0, TARGETS[1].1);
}

#[test]
fn pairing_response() {
    run_target(TARGETS[2].0, TARGETS[2].1);
}

#[test]
fn decision() {
    run_target(TARGETS[3].0, TARGETS[3].1);
}

#[test]
fn aes_gcm_open() {
    run_target(TARGETS[4].0, TARGETS[4].1);
}

/// The fixtures really are valid: the edits of a signed or sealed input start from
/// something the verifier accepts (otherwise the "accepted only as signed" checks would
/// pass vacuously).
#[test]
fn fixtures_are_accepted() {
    for (target, file, bytes) in airlock_fuzz::fixture_seeds() {
        assert!(
            airlock_fuzz::fixture_is_accepted(target, &bytes),
            "{target}/{file} is not accepted"
        );
    }
}

#[test]
fn mutate_edits() {
    use airlock_fuzz::mutate;
    assert_eq!(mutate(b"abc", &[]), b"abc");
    assert_eq!(mutate(b"abc", &[0, 0, 1, b'X']), b"aXc");
    assert_eq!(mutate(b"abc", &[1, 0, 3, b'X']), b"abcX");
    assert_eq!(mutate(b"abc", &[2, 0, 0, 0]), b"bc");
    assert_eq!(mutate(b"abc", &[3, 0, 2, 0]), b"abb");
    assert_eq!(mutate(b"", &[0, 0, 0, 1, 2, 0, 0, 0]), b"");
    // An incomplete edit is ignored.
    assert_eq!(mutate(b"abc", &[0, 0]), b"abc");
}

#[test]
fn every_target_has_a_test_and_a_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, _) in TARGETS {
        assert!(
            root.join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "{name}"
        );
    }
    let bins = std::fs::read_dir(root.join("fuzz_targets"))
        .unwrap()
        .count();
    assert_eq!(bins, TARGETS.len(), "a fuzz target without a test");
}
