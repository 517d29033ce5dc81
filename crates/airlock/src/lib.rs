//! `airlock`: the façade crate re-exporting the Airlock SDK crates behind features.

#[cfg(feature = "auth")]
pub use airlock_auth as auth;
#[cfg(feature = "crypto")]
pub use airlock_crypto as crypto;
#[cfg(feature = "gateway")]
pub use airlock_gateway as gateway;
#[cfg(any(feature = "gateway", feature = "auth"))]
pub use airlock_http as http;
#[cfg(feature = "types")]
pub use airlock_types as types;
