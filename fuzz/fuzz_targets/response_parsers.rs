//! cargo-fuzz target `response_parsers`: see `airlock_fuzz::response_parsers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| airlock_fuzz::response_parsers(data));
