//! Wire models of the Airlock Integrations Gateway (HARP). (Being filled in.)

mod payload;
pub use payload::EncryptedPayload;
