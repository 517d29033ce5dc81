//! cargo-fuzz target `pairing_response`: see `airlock_fuzz::pairing_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| airlock_fuzz::pairing_response(data));
