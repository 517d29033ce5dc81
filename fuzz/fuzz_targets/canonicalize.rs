//! cargo-fuzz target `canonicalize`: see `airlock_fuzz::canonicalize`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| airlock_fuzz::canonicalize(data));
