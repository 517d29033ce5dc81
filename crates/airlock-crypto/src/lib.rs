//! End-to-end crypto for Airlock. (Being filled in.)

pub mod jcs;
