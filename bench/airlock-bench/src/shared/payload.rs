//! Deterministic, realistic JSON payloads: a command-approval artifact as an enforcer
//! would encrypt it (nested objects, unicode, numbers of every JSON form, long strings
//! with escapes). Shared by `airlock-bench` and `bench/compare` so that both measure the
//! same bytes.

use std::fmt::Write as _;

/// A small xorshift generator: the same bytes on every machine and run.
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

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "cargo",
    "build",
    "--release",
    "deploy",
    "staging",
    "kubectl",
    "apply",
    "-f",
    "rm",
    "-rf",
    "target/",
    "git",
    "push",
    "origin",
    "main",
    "npm",
    "ci",
    "terraform",
    "plan",
    "échec",
    "naïve",
    "Zürich",
    "東京",
    "데이터",
    "данные",
    "😀",
    "🚀",
    "\"quoted\"",
    "tab\there",
    "line\nbreak",
    "back\\slash",
    "ctrl\u{1}char",
    "π≈3.14159",
    "€100",
];

const KEYS: &[&str] = &[
    "zeta",
    "Alpha",
    "beta",
    "ñandú",
    "日本",
    "😀emoji",
    "\u{e9}t\u{e9}",
    "a\u{10000}",
    "\u{ff61}",
    "PATH",
    "HOME",
    "LANG",
    "_private",
    "1numeric",
    "camelCase",
    "snake_case",
];

/// JSON string literal of `s` (escaping as JSON requires; not canonical on purpose).
fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            // Some non-ASCII written as escapes, as other JSON writers do.
            'é' => out.push_str("\\u00e9"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A string of `min` to `min + spread - 1` words.
fn push_sentence(out: &mut String, rng: &mut Rng, min: usize, spread: u64) {
    let words = min + rng.below(spread) as usize;
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(rng.pick(WORDS));
    }
    push_string(out, &s);
}

/// Numbers in every form JSON allows, including ones whose canonical form differs from
/// the input (exponents, trailing zeros, `-0`, large integers).
fn push_number(out: &mut String, rng: &mut Rng) {
    match rng.below(8) {
        0 => {
            let _ = write!(out, "{}", rng.below(1_000_000));
        }
        1 => {
            let _ = write!(out, "-{}", rng.below(10_000));
        }
        2 => {
            let _ = write!(out, "{}.{:03}", rng.below(1000), rng.below(1000));
        }
        3 => {
            let _ = write!(out, "{}e{}", 1 + rng.below(9), rng.below(30));
        }
        4 => {
            let _ = write!(out, "{}.5E-{}", rng.below(10), 1 + rng.below(12));
        }
        5 => out.push_str("-0"),
        6 => {
            let _ = write!(out, "{}", rng.below(u64::MAX / 2));
        }
        _ => {
            let _ = write!(out, "{}.{}0", rng.below(100), rng.below(100));
        }
    }
}

fn push_entry(out: &mut String, rng: &mut Rng, seq: usize) {
    let _ = write!(out, "{{\"seq\":{seq},\"startedAt\":");
    push_string(out, "2026-02-24T10:00:00.123Z");
    out.push_str(",\"durationMs\":");
    push_number(out, rng);
    out.push_str(",\"exitCode\":");
    let _ = write!(out, "{}", rng.below(3) as i64 - 1);
    out.push_str(",\"command\":");
    push_sentence(out, rng, 6, 10);
    out.push_str(",\"env\":{");
    let n = 2 + rng.below(5) as usize;
    let start = rng.below(KEYS.len() as u64) as usize;
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        push_string(out, KEYS[(start + i) % KEYS.len()]);
        out.push(':');
        push_sentence(out, rng, 1, 4);
    }
    out.push_str("},\"metrics\":[");
    for i in 0..4 {
        if i > 0 {
            out.push(',');
        }
        push_number(out, rng);
    }
    out.push_str("],\"ok\":");
    out.push_str(if rng.below(2) == 0 { "true" } else { "false" });
    out.push_str(",\"parent\":null,\"output\":");
    push_sentence(out, rng, 20, 80);
    out.push('}');
}

/// A command-approval artifact of at least `min_len` bytes of JSON text.
pub(crate) fn command_artifact(min_len: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = String::with_capacity(min_len + 4096);
    out.push_str("{\"source\":\"airlock-bench\",\"actionType\":\"command\",\"commandText\":");
    push_string(
        &mut out,
        "cargo build --release && ./deploy.sh --env=staging",
    );
    out.push_str(",\"workspace\":\"/home/dev/widgets\",\"repoName\":\"acme/widgets\",\"cwd\":");
    push_string(&mut out, "/home/dev/widgets/crates/é-core");
    out.push_str(",\"shell\":\"bash\",\"host\":\"dev-box-01\",\"extensions\":{\"org.harp.requestedActions\":[");
    out.push_str("{\"id\":\"approve-once\",\"label\":\"Approve once\"},{\"id\":\"deny\",\"label\":\"Deny ✋\"}]}");
    out.push_str(",\"history\":[");
    let mut seq = 0;
    while out.len() < min_len {
        if seq > 0 {
            out.push(',');
        }
        push_entry(&mut out, &mut rng, seq);
        seq += 1;
    }
    out.push_str("]}");
    out.into_bytes()
}

/// The payload of the crypto benchmark: 1 MiB.
pub(crate) const PIPELINE_BYTES: usize = 1 << 20;

/// A typical single-command artifact (about 1 KiB), the plaintext of the request benchmark.
pub(crate) fn small_command() -> Vec<u8> {
    command_artifact(1024)
}
