//! cargo-fuzz target `aes_gcm_open`: see `airlock_fuzz::aes_gcm_open`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| airlock_fuzz::aes_gcm_open(data));
