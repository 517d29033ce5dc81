//! Shared test support.

#![allow(dead_code, unreachable_pub)]

pub mod browser;
pub mod mock;
pub mod provider;
