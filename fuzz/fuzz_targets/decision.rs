//! cargo-fuzz target `decision`: see `airlock_fuzz::decision`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| airlock_fuzz::decision(data));
