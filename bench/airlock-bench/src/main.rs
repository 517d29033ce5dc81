//! Benchmarks of airlock-rs, run by `cargo xtask bench` (release profile, pinned to one
//! core with `taskset` where it works).
//!
//! Prints one line per measure, `bench <key> <value>` or `bench-na <key> <reason>`, which
//! `cargo xtask bench` joins with the lines of `bench/compare` (ours beside the published
//! `airlock-gateway` 0.4.8 crate, measured the same way) into one table of ratios.
//!
//! - `crypto.*` (MB/s of a deterministic 1 MiB command artifact): SHA-256 and AES-256-GCM
//!   of the same bytes (the floors), our RFC 8785 canonicalization beside serde_json's
//!   parse (alternating rounds: `crypto.canonicalize.{ours,serde_parse,ours_per_parse}`),
//!   and our whole pipeline as `encrypt_and_submit_json` runs it
//!   (`airlock_gateway::seal_artifact`: bind the request id, canonicalize, hash, seal).
//! - `gw.*` (requests/s over loopback against an in-process hyper server with canned
//!   answers): artifact submit and exchange status, by our `GatewayClient` and by a raw
//!   hyper-util client replaying the very bytes ours sent (the floor), sequentially and
//!   with 64 concurrent requests.
//!
//! `cargo run --release -p airlock-bench -- [crypto] [gateway]` runs a part alone;
//! `-- artifact` writes the 1 MiB crypto artifact to stdout (the Python benchmark's input).
//! `AIRLOCK_BENCH_ROUNDS` and `AIRLOCK_BENCH_REQUESTS` scale the runs.
#![allow(clippy::print_stdout)]

mod crypto;
mod gateway;

mod shared {
    pub(crate) mod floor;
    pub(crate) mod measure;
    pub(crate) mod ours;
    pub(crate) mod payload;
    pub(crate) mod server;
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "artifact") {
        use std::io::Write as _;
        let artifact = shared::payload::command_artifact(shared::payload::PIPELINE_BYTES);
        std::io::stdout()
            .write_all(&artifact)
            .expect("stdout is writable");
        return;
    }
    let wants = |part: &str| args.is_empty() || args.iter().any(|a| a == part);
    if wants("crypto") {
        crypto::run();
    }
    if wants("gateway") {
        gateway::run();
    }
}
